"""Whole models in Keras's HDF5 file (``save``/``load_model`` with a ``.h5`` name): the
architecture as JSON, the Keras 2 weight layout under ``model_weights``, the compile settings
and the optimizer's state.

Files are written atomically (see ``files.atomic_path``). Loading parses JSON and looks classes
up in a registry: no pickle, no eval; code in a file (Lambda) runs only with
``safe_mode=False`` (see ``safety``).
"""
import json
import os
import warnings

import h5py
import numpy

from . import compat, safety
from .files import (_atomic_write, _check_h5_name, _is_keras3_weights_name, _open_hdf5,
                    _read_names, _text, _write_names, naming_file)
from .weights_h5 import KERAS_VERSION, _load_keras2_group, _write_keras2_weights


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Architecture (JSON), weights, compile settings and (``include_optimizer``) the
    optimizer's state, in Keras 2's HDF5 model layout."""
    name = _check_h5_name(filepath, "save")
    if _is_keras3_weights_name(name):
        raise ValueError(f"save: {name!r} names a weights file; use save_weights for "
                         "'.weights.h5', or a plain '.h5' name for a whole model.")
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f"save: model '{model.name}' is a subclassed (or unbuilt) model whose "
                         "architecture is Python code; use save_weights instead.")
    model_config = json.dumps({"class_name": type(model).__name__, "config": model.get_config()})
    training_config = _training_config(model) if include_optimizer else None
    if training_config is not None:
        try:
            training_config = json.dumps(training_config)
        except TypeError as e:
            raise ValueError(f"save: the compile settings of model '{model.name}' cannot be "
                             f"written as JSON ({e}), e.g. a callable learning rate. Pass "
                             "include_optimizer=False to save the model without them.") from e

    def write(f):
        f.attrs["model_config"] = model_config.encode("utf8")
        f.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
        f.attrs["backend"] = b"gkeras"
        if training_config is not None:
            f.attrs["training_config"] = training_config.encode("utf8")
        _write_keras2_weights(f.create_group("model_weights"), model)
        if training_config is not None:
            _write_optimizer_weights(f, model.optimizer)
    _atomic_write(name, overwrite, write)


def _write_optimizer_weights(f, optimizer):
    """Keras's ``optimizer_weights`` group: attribute ``weight_names`` (``optimizer.variables``
    order) and one dataset per name (a ``/`` in a name makes subgroups, as in Keras)."""
    variables = optimizer.variables
    if not variables:
        return
    names, used = [], set()
    for variable in variables:
        name, n = variable.path, 0
        while name in used:  # two weights with one path (layers named alike in nested models)
            n += 1
            name = f"{variable.path}_{n}"
        used.add(name)
        names.append(name)
    group = f.create_group("optimizer_weights")
    _write_names(group, "weight_names", names)
    for name, value in zip(names, optimizer.get_weights()):
        group.create_dataset(name, data=value)


def _loss_config(loss):
    from .. import losses
    if loss is None:
        return None
    fn = getattr(loss, "fn", None)
    if isinstance(loss, losses.LossFunctionWrapper) and not loss._fn_kwargs and \
            loss.reduction == "sum_over_batch_size" and \
            getattr(fn, "__name__", None) == loss.name:
        return loss.name  # a built-in loss function: saved by name, as Keras 2 does
    return losses.serialize(loss)


def _metric_config(metric):
    from .. import metrics
    if isinstance(metric, str):
        return metric
    if isinstance(metric, metrics.Metric):
        return metrics.serialize(metric)
    name = getattr(metric, "__name__", None)
    if name is None:
        raise ValueError(f"save: cannot serialize metric {metric!r}.")
    return name


def _training_config(model):
    if not getattr(model, "_compiled", False):
        return None
    from .. import optimizers
    outputs = model._outputs
    loss = {o.name: _loss_config(o.loss) for o in outputs}
    metrics = {o.name: [_metric_config(m) for m in o.metric_ids] for o in outputs}
    weights = {o.name: o.weight for o in outputs}
    if len(outputs) == 1:  # a single output is saved as Keras saves `compile(loss='mse')`
        (name,) = loss
        loss, metrics = loss[name], metrics[name]
        weights = None if weights[name] == 1.0 else [weights[name]]
    return {"loss": loss, "metrics": metrics, "weighted_metrics": None, "loss_weights": weights,
            "optimizer_config": optimizers.serialize(model.optimizer)}


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``model.save`` (gkeras, Keras 2, or Keras 3's legacy ``.h5``), compiled
    as it was if ``compile`` and the file has a training configuration, with the optimizer's
    saved state (step count, slots) restored. Code in the file (Lambda) runs only with
    ``safe_mode=False``."""
    from ..models import model_from_config
    with naming_file(filepath, "load_model", "a Keras model file written by save"), \
            _open_hdf5(filepath, "load_model") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ValueError(f"load_model: {os.fspath(filepath)!r} holds no model config: it "
                             "is a weights-only file; build the model in Python and call "
                             "model.load_weights.")
        config = _parse_json(raw, filepath, "model_config")
        safety.check_config(config, filepath, safe_mode, custom_objects)
        config = compat.activations_for(config, _text(f.attrs.get("keras_version", "2")))
        with safety.loading(safe_mode, custom_objects):
            model = model_from_config(config, custom_objects=custom_objects)
        if "model_weights" not in f:
            raise ValueError(f"load_model: {os.fspath(filepath)!r} has a model config but no "
                             "'model_weights' group; the file is damaged or incomplete.")
        _load_keras2_group(f["model_weights"], model, by_name=False, skip_mismatch=False)
        training = f.attrs.get("training_config")
        if compile and training is not None:
            _compile_from_config(model, _parse_json(training, filepath, "training_config"),
                                 custom_objects, filepath)
            if "optimizer_weights" in f:
                _load_optimizer_weights(f["optimizer_weights"], model, filepath)
    return model


def _parse_json(raw, filepath, what):
    try:
        return json.loads(_text(raw))
    except ValueError as e:
        raise ValueError(f"{os.fspath(filepath)!r}: its {what} is not valid JSON ({e}); the "
                         "file is damaged or was not written by Keras.") from None


def _load_optimizer_weights(group, model, filepath):
    """Restore the optimizer's state from Keras's ``optimizer_weights`` group."""
    try:
        names = _read_names(group, "weight_names")
        missing = [name for name in names if not isinstance(group.get(name), h5py.Dataset)]
        if missing:
            raise ValueError(f"the file lists {missing} but holds no such dataset")
        values = [numpy.asarray(group[name]) for name in names]
    except ValueError as e:
        _optimizer_state_warning(model, filepath, e)
        return
    set_optimizer_state(model, _with_learning_rate(names, values, model.optimizer), filepath)


def _with_learning_rate(names, values, optimizer):
    """Keras 2 on TensorFlow (``tf_keras``) saves ``iteration:0`` and the slots (``Adam/m/...``,
    in gkeras's order) but no learning rate: the compiled one is kept, as Keras 2 does."""
    if not names or names[0].split(":")[0] != "iteration" or \
            any("learning_rate" in name for name in names):
        return values
    return from_tf_keras(values, optimizer)


def from_tf_keras(values, optimizer):
    """``tf_keras``'s optimizer state (``[iteration, *slots]``) in gkeras's order: the learning
    rate (not saved) is the compiled one, and SGD without momentum drops the momentum slots
    ``tf_keras`` creates but never uses."""
    if type(optimizer).__name__ == "SGD" and not getattr(optimizer, "momentum", 0):
        values = values[:1]
    return insert_learning_rate(values, optimizer)


def insert_learning_rate(values, optimizer):
    """``values`` with the optimizer's own learning rate put where gkeras keeps it."""
    paths = [variable.path for variable in optimizer.variables]
    position = next((i for i, path in enumerate(paths) if path.endswith("/learning_rate")),
                    None)
    if position is None:
        return values
    return values[:position] + [optimizer.variables[position].numpy()] + values[position:]


def _optimizer_state_warning(model, filepath, error):
    warnings.warn(f"load_model: the optimizer state saved in {os.fspath(filepath)!r} does "
                  f"not fit the model's {type(model.optimizer).__name__} optimizer "
                  f"({str(error).rstrip('.')}); it starts freshly initialized.", stacklevel=5)


def set_optimizer_state(model, values, filepath):
    """Set the optimizer's variables in order, as Keras's loader does: build the optimizer on
    the model's trainable weights first. A state that does not fit (another optimizer, other
    shapes) gives a warning and leaves the optimizer fresh."""
    optimizer = model.optimizer
    try:
        # a file saved before any training holds only the step count and learning rate
        if not optimizer.built and len(values) != len(optimizer.variables):
            optimizer.build(model.trainable_weights)
        optimizer.set_weights(values)
    except ValueError as e:
        _optimizer_state_warning(model, filepath, e)


def _per_output(value, names, convert):
    """Apply ``convert`` to one value, to each of a list, or to each value of a dict keyed by
    output name (a serialized object, with 'class_name', counts as one value)."""
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {k: None if v is None else convert(v) for k, v in value.items() if k in names}
    if isinstance(value, list):
        return [None if v is None else convert(v) for v in value]
    return convert(value)


def _unprefixed(metric, prefix):
    if isinstance(metric, dict) and isinstance(metric.get("config"), dict) and \
            str(metric["config"].get("name", "")).startswith(prefix):
        return {**metric, "config": {**metric["config"],
                                     "name": metric["config"]["name"][len(prefix):]}}
    return metric


def _optimizer_from_config(config, custom_objects):
    from .. import optimizers
    if isinstance(config, str):  # tf_keras's .keras archives keep compile("adam") so
        return optimizers.get(config)
    config = dict(config)
    class_name = str(config.get("class_name"))
    if class_name.startswith("Custom>"):  # tf_keras registers its optimizers so
        config["class_name"] = class_name[len("Custom>"):]
    # tf_keras's flags for XLA and for its pre-2.11 optimizers: no meaning in gkeras
    config["config"] = {k: v for k, v in (config.get("config") or {}).items()
                        if k not in ("jit_compile", "is_legacy_optimizer")}
    return optimizers.deserialize(config, custom_objects)


def _compile_from_config(model, training, custom_objects, filepath):
    from .. import losses, metrics
    names = model.output_names

    def loss(value):
        return losses.deserialize(value, custom_objects) if isinstance(value, dict) \
            else losses.get((custom_objects or {}).get(value, value))

    def metric_list(value):
        items = value if isinstance(value, list) else [value]
        return [metrics.deserialize(m, custom_objects) if isinstance(m, dict) else m
                for m in items if m is not None]  # Keras 2: [None] for an output without

    def metric_spec(value):
        if isinstance(value, dict) and "class_name" not in value:
            return {k: metric_list(v) for k, v in value.items() if k in names and v}
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            if len(value) == len(names) > 1:  # Keras 2 prefixed the output's name
                value = [[_unprefixed(m, f"{name}_") for m in v] for name, v in zip(names, value)]
            return [metric_list(v) for v in value]
        return None if value is None else metric_list(value)

    try:
        optimizer = _optimizer_from_config(training["optimizer_config"], custom_objects)
        kwargs = {"loss": _per_output(training.get("loss"), names, loss),
                  "metrics": metric_spec(training.get("metrics")),
                  "loss_weights": _per_output(training.get("loss_weights"), names, float)}
        if training.get("weighted_metrics"):
            kwargs["weighted_metrics"] = metric_spec(training["weighted_metrics"])
        model.compile(optimizer=optimizer, **kwargs)
    except (ValueError, TypeError, KeyError) as e:
        raise ValueError(f"load_model: could not restore the compile settings saved in "
                         f"{os.fspath(filepath)!r}: {e} Pass compile=False to load the model "
                         "uncompiled.") from e
