"""Keras 2's HDF5 layout: one group per layer, holding attribute ``weight_names`` and a
dataset per weight (``dense/kernel:0``); full models add ``model_config`` (JSON) and put the
weights under ``model_weights``. Files are written to a temporary file, then renamed, so a
failed save never destroys the previous file. Loading parses JSON only: no code runs."""
import json
import os
import tempfile

import h5py
import numpy

KERAS_VERSION = "2.15.0"


def _weight_name(variable):
    return f"{variable.path}:0"


def _write_weights(group, model):
    layers = model.layers
    group.attrs["layer_names"] = numpy.array([layer.name.encode("utf8") for layer in layers])
    group.attrs["backend"] = b"gkeras"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in layers:
        g = group.create_group(layer.name)
        weights = layer.weights
        g.attrs["weight_names"] = numpy.array([_weight_name(w).encode("utf8") for w in weights])
        for w in weights:
            g.create_dataset(_weight_name(w), data=w.numpy())


def _atomic_write(filepath, overwrite, write):
    filepath = os.fspath(filepath)
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".gkeras-", suffix=".h5.tmp")
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            write(f)
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_weights(model, filepath, overwrite=True):
    """Write every layer's weights to ``filepath`` in Keras 2's HDF5 weights layout."""
    _check_h5_name(filepath, "save_weights")
    _atomic_write(filepath, overwrite, lambda f: _write_weights(f, model))


def _check_h5_name(filepath, what):
    name = os.fspath(filepath)
    if not name.endswith((".h5", ".hdf5", ".keras.h5")):
        raise ValueError(f"{what}: only the HDF5 format is supported; the file name must end "
                         f"in .h5 or .hdf5, received {name!r}.")


def _decode(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _read_layer_weights(group, name):
    g = group[name]
    return [numpy.asarray(g[n]) for n in _decode(g.attrs.get("weight_names", []))]


def _load_weights_from_group(group, model, by_name, skip_mismatch):
    saved_names = _decode(group.attrs["layer_names"])
    if by_name:
        by = {layer.name: layer for layer in model.layers}
        for name in saved_names:
            layer = by.get(name)
            if layer is None:
                continue
            values = _read_layer_weights(group, name)
            if len(values) != len(layer.weights) or any(
                    v.shape != w.shape for v, w in zip(values, layer.weights)):
                if skip_mismatch:
                    continue
            layer.set_weights(values)
        return
    saved = [n for n in saved_names if len(_decode(group[n].attrs.get("weight_names", [])))]
    targets = [layer for layer in model.layers if layer.weights]
    if len(saved) != len(targets):
        raise ValueError(
            f"Weight file holds weights for {len(saved)} layer(s) ({saved}), but model "
            f"'{model.name}' has {len(targets)} layer(s) with weights "
            f"({[layer.name for layer in targets]}). Use by_name=True to load by layer name.")
    pairs = [(layer, _read_layer_weights(group, name)) for layer, name in zip(targets, saved)]
    for layer, values in pairs:
        if len(values) != len(layer.weights) or any(
                v.shape != w.shape for v, w in zip(values, layer.weights)):
            raise ValueError(
                f"Layer '{layer.name}' expects weights of shapes "
                f"{[w.shape for w in layer.weights]}, but the file holds "
                f"{[v.shape for v in values]}.")
    for layer, values in pairs:
        layer.set_weights(values)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Load weights saved by ``save_weights`` (or Keras 2) into ``model``.

    By default layers are matched in order (topology); ``by_name=True`` matches layer names
    and leaves layers missing from the file unchanged."""
    with h5py.File(os.fspath(filepath), "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(f"{filepath} is not a Keras HDF5 weights file (no layer_names).")
        _load_weights_from_group(group, model, by_name, skip_mismatch)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Architecture (JSON), weights and compile settings, in Keras 2's HDF5 model layout."""
    _check_h5_name(filepath, "save")
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f"save: model '{model.name}' is a subclassed (or unbuilt) model whose "
                         "architecture is Python code; use save_weights instead.")

    def write(f):
        f.attrs["model_config"] = json.dumps(
            {"class_name": type(model).__name__, "config": model.get_config()}).encode("utf8")
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        f.attrs["backend"] = b"gkeras"
        training_config = _training_config(model)
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        _write_weights(f.create_group("model_weights"), model)
    _atomic_write(filepath, overwrite, write)


def _training_config(model):
    if not getattr(model, "_compiled", False):
        return None
    from .. import losses, optimizers
    outputs = model._outputs
    loss = {o.name: losses.serialize(o.loss) if o.loss is not None else None for o in outputs}
    metrics = {o.name: [m if isinstance(m, str) else getattr(m, "__name__", str(m))
                        for m in o.metric_ids] for o in outputs}
    weights = {o.name: o.weight for o in outputs}
    return {"optimizer_config": optimizers.serialize(model.optimizer), "loss": loss,
            "metrics": metrics, "loss_weights": weights}


def load_model(filepath, custom_objects=None, compile=True):
    """A model saved by ``model.save`` (or Keras 2's ``.h5``), compiled if it was."""
    from ..models import model_from_config
    with h5py.File(os.fspath(filepath), "r") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ValueError(f"{filepath} holds no model config: it is a weights-only file; "
                             "build the model and call load_weights.")
        model = model_from_config(json.loads(_text(raw)), custom_objects=custom_objects)
        _load_weights_from_group(f["model_weights"], model, by_name=False, skip_mismatch=False)
        training = f.attrs.get("training_config")
        if compile and training is not None:
            _compile_from_config(model, json.loads(_text(training)), custom_objects)
    return model


def _text(raw):
    return raw.decode("utf8") if isinstance(raw, bytes) else str(raw)


def _compile_from_config(model, training, custom_objects):
    from .. import losses, optimizers
    names = model.output_names

    def per_output(value, convert):
        if isinstance(value, dict):
            return {k: None if v is None else convert(v) for k, v in value.items()
                    if k in names}
        return None if value is None else convert(value)

    loss = per_output(training["loss"], lambda v: losses.get(v))
    metrics = training.get("metrics")
    if isinstance(metrics, dict):
        metrics = {k: v for k, v in metrics.items() if k in names}
    model.compile(optimizer=optimizers.deserialize(training["optimizer_config"]), loss=loss,
                  metrics=metrics, loss_weights=per_output(training.get("loss_weights"), float))
