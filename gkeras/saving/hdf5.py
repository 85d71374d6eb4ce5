"""Keras's HDF5 files: weights (``save_weights``/``load_weights``) and whole models
(``save``/``load_model``).

Two weight layouts are read and written:

* Keras 2 (``x.h5``, also inside ``model.save`` files under ``model_weights``): one group per
  layer with attribute ``weight_names`` and one dataset per weight (``dense/kernel:0``), root
  attribute ``layer_names``. Weights are listed as Keras lists them: trainable, then frozen.
* Keras 3 (``x.weights.h5``): ``layers/<class_name_snake>[_<n>]/vars/<i>``, nested models
  under ``layers/<key>/layers/...``, the layer's name in attribute ``name`` of ``vars``.

Files are written to a temporary file in the same folder, flushed to disk, then renamed over
the target, so a failed save (or a crash) never destroys the previous file. Loading parses
JSON and looks classes up in a registry: no pickle, no eval, no code from the file runs.
"""
import json
import os
import re
import secrets
import warnings

import h5py
import numpy

KERAS_VERSION = "2.15.0"
_CODE_CLASSES = ("Lambda", "__lambda__", "TFOpLambda", "SlicingOpLambda")


# --- names and files ---------------------------------------------------------------------------
def _check_h5_name(filepath, what):
    name = os.fspath(filepath)
    if not name.endswith((".h5", ".hdf5")):
        raise ValueError(f"{what}: only HDF5 files are supported; the file name must end in "
                         f".h5, .weights.h5 or .hdf5, received {name!r}.")
    return name


def _is_keras3_weights_name(name):
    return name.endswith(".weights.h5")


def _open_hdf5(filepath, what):
    name = os.fspath(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{what}: no such file: {name!r}.")
    if not h5py.is_hdf5(name):
        hint = " (the Keras 3 '.keras' zip format is not supported)" \
            if name.endswith(".keras") else ""
        raise ValueError(f"{what}: {name!r} is not an HDF5 file{hint}.")
    return h5py.File(name, "r")


def _new_temporary_file(directory):
    """An empty, uniquely named file in ``directory`` with the umask's permissions (mkstemp's
    0600 would carry over to the saved file)."""
    while True:
        path = os.path.join(directory, f".gkeras-{secrets.token_hex(8)}.h5.tmp")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def _fsync(path):
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(filepath, overwrite, write):
    filepath = os.fspath(filepath)
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: the directory {directory!r} "
                                "does not exist.")
    tmp = _new_temporary_file(directory)
    try:
        with h5py.File(tmp, "w") as f:
            write(f)
        _fsync(tmp)  # on disk before the rename: a crash never leaves a truncated file
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _decode(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _text(raw):
    return raw.decode("utf8") if isinstance(raw, bytes) else str(raw)


def _shapes(arrays):
    return [tuple(a.shape) for a in arrays]


# HDF5 refuses attributes over 64 KiB: Keras splits a long name list into `name0`, `name1`, ...
_HDF5_ATTRIBUTE_LIMIT = 64512


def _write_names(group, key, names):
    data = numpy.array([n.encode("utf8") for n in names])
    chunks = 1
    while data.nbytes / chunks > _HDF5_ATTRIBUTE_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[key] = data
    else:
        for i, part in enumerate(numpy.array_split(data, chunks)):
            group.attrs[f"{key}{i}"] = part


def _read_names(group, key):
    if key in group.attrs:
        return _decode(group.attrs[key])
    names, i = [], 0
    while f"{key}{i}" in group.attrs:
        names += _decode(group.attrs[f"{key}{i}"])
        i += 1
    return names


# --- Keras 2 layout ---------------------------------------------------------------------------
def _legacy_weights(layer):
    """A layer's weights in the order Keras's HDF5 files list them."""
    return layer.trainable_weights + layer.non_trainable_weights


def _write_keras2_weights(group, model):
    layers = model.layers
    group.attrs["layer_names"] = numpy.array([layer.name.encode("utf8") for layer in layers])
    group.attrs["backend"] = b"gkeras"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in layers:
        g = group.create_group(layer.name)
        weights = _legacy_weights(layer)
        names = [f"{w.path}:0" for w in weights]
        if len(set(names)) != len(names):
            raise ValueError(f"save: layer '{layer.name}' has several weights named alike "
                             f"({names}); give its sublayers unique names.")
        g.attrs["weight_names"] = numpy.array([n.encode("utf8") for n in names])
        for name, w in zip(names, weights):
            g.create_dataset(name, data=w.numpy())


def _saved_keras2_layers(group):
    """``[(layer_name, [arrays])]`` for the layers of a Keras 2 group that hold weights."""
    out = []
    for name in _decode(group.attrs["layer_names"]):
        g = group[name]
        weight_names = _decode(g.attrs.get("weight_names", []))
        if weight_names:
            out.append((name, [numpy.asarray(g[n]) for n in weight_names]))
    return out


def _match(layer, variables, values, source, skip_mismatch):
    """``[(variable, value)]`` if ``values`` fit ``variables``; else skip (warn) or raise."""
    problem = None
    if len(values) != len(variables):
        problem = (f"expects {len(variables)} weight(s) {_shapes(variables)}, but {source} "
                   f"holds {len(values)} {_shapes(values)}")
    else:
        for v, a in zip(variables, values):
            if tuple(v.shape) != tuple(a.shape):
                problem = (f"weight '{v.name}' has shape {tuple(v.shape)}, but {source} holds "
                           f"shape {tuple(a.shape)}")
                break
    if problem is None:
        return list(zip(variables, values))
    message = f"Layer '{layer.name}' ({type(layer).__name__}): {problem}."
    if skip_mismatch:
        warnings.warn(f"Skipping loading weights: {message}", stacklevel=4)
        return []
    raise ValueError(message)


def _load_keras2_group(group, model, by_name, skip_mismatch):
    saved = _saved_keras2_layers(group)
    pairs = []
    if by_name:
        values_by_name = dict(saved)
        for layer in model.layers:
            if layer.name in values_by_name:
                pairs += _match(layer, _legacy_weights(layer), values_by_name[layer.name],
                                f"the file's layer '{layer.name}'", skip_mismatch)
    else:
        targets = [layer for layer in model.layers if _legacy_weights(layer)]
        if len(saved) != len(targets):
            raise ValueError(
                f"Layer count mismatch: the weight file holds weights for {len(saved)} "
                f"layer(s) {[name for name, _ in saved]}, but model '{model.name}' has "
                f"{len(targets)} layer(s) with weights {[layer.name for layer in targets]}. "
                "Use by_name=True to load by layer name.")
        for layer, (name, values) in zip(targets, saved):
            pairs += _match(layer, _legacy_weights(layer), values,
                            f"the file's layer '{name}'", skip_mismatch)
    _assign(pairs)


def _assign(pairs):
    # everything was checked before this point: a failed load changes no weight
    for variable, value in pairs:
        variable.assign(value)


# --- Keras 3 layout ---------------------------------------------------------------------------
def _keras_snake_case(name):
    """``keras.src.utils.naming.to_snake_case``: the key Keras 3 files use for an object."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras3_class_name(layer):
    from ..models import Model, Sequential
    if type(layer) is Model and layer._is_graph_network:
        return "Functional"
    if type(layer) is Sequential:
        return "Sequential"
    return type(layer).__name__


def _keras3_entries(obj, visited):
    """``[(path, sublayer)]`` below ``obj`` in the order and under the names Keras 3's
    ``saving_lib`` uses: a graph model's ``layers`` list first, then public attributes in
    sorted order; layers in a list are keyed ``dense``, ``dense_1``, ... by class."""
    from ..models import Model
    attributes = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
    candidates = []
    if isinstance(obj, Model):
        if obj._is_graph_network:
            candidates.append(("layers", obj.layers))
        else:
            attributes["layers"] = obj.layers
    candidates += sorted(attributes.items())
    out = []
    for name, value in candidates:
        if _is_layer(value):
            if id(value) not in visited:
                visited.add(id(value))
                out.append((name, value))
        elif isinstance(value, (list, tuple)) and value and all(_is_layer(v) for v in value):
            used = {}
            for layer in value:
                key = _keras_snake_case(_keras3_class_name(layer))
                used[key] = used[key] + 1 if key in used else 0
                key = f"{key}_{used[key]}" if used[key] else key
                if id(layer) not in visited:
                    visited.add(id(layer))
                    out.append((f"{name}/{key}", layer))
    return out


def _own_variables(layer):
    return layer._trainable_weights + layer._non_trainable_weights


def _is_layer(value):
    from ..layers.base import Layer
    return isinstance(value, Layer)


def _write_keras3_object(group, obj, visited):
    own = group.create_group("vars")
    own.attrs["name"] = obj.name
    for i, w in enumerate(_own_variables(obj)):
        own.create_dataset(str(i), data=w.numpy())
    for path, layer in _keras3_entries(obj, visited):
        _write_keras3_object(group.create_group(path), layer, visited)


def _read_vars(group):
    if "vars" not in group:
        return []
    own = group["vars"]
    return [numpy.asarray(own[str(i)]) for i in range(len(own))]


def _keras3_pairs(group, obj, path, skip_mismatch, visited, used):
    """Check ``obj``'s weights against ``group`` (recursively) and list what to assign."""
    own = _own_variables(obj)
    values = _read_vars(group)
    used.add(group.name)
    pairs = _match(obj, own, values, f"'{group.name}/vars'", skip_mismatch) \
        if own or values else []
    for sub, layer in _keras3_entries(obj, visited):
        if sub in group:
            pairs += _keras3_pairs(group[sub], layer, f"{path}/{sub}", skip_mismatch, visited,
                                   used)
        elif layer.weights:
            message = (f"Layer '{layer.name}' ({type(layer).__name__}) has weights, but the "
                       f"file has no group '{path}/{sub}'.")
            if not skip_mismatch:
                raise ValueError(message)
            warnings.warn(f"Skipping loading weights: {message}", stacklevel=4)
    return pairs


# training state Keras 3 saves next to the layers; gkeras does not restore it
_KERAS3_TRAINING_STATE = ("optimizer", "compile_metrics", "compile_loss", "metrics", "loss")


def _unused_weight_groups(f, used):
    found = []

    def visit(name, item):
        top = name.split("/", 1)[0]
        if isinstance(item, h5py.Group) and name.rsplit("/", 1)[-1] == "vars" and len(item) and \
                top not in _KERAS3_TRAINING_STATE and f[name].parent.name not in used:
            found.append(f[name].parent.name)
    f.visititems(visit)
    return found


def _load_keras3_file(f, model, by_name, skip_mismatch):
    used = set()
    if by_name:
        saved = f["layers"] if "layers" in f else {}
        by_saved_name = {_text(saved[key]["vars"].attrs.get("name", key)): key
                         for key in saved if "vars" in saved[key]}
        pairs, visited = [], {id(model)}
        for layer in model.layers:
            key = by_saved_name.get(layer.name)
            if key is not None:
                pairs += _keras3_pairs(saved[key], layer, f"/layers/{key}", skip_mismatch,
                                       visited, used)
        _assign(pairs)
        return
    pairs = _keras3_pairs(f, model, "", skip_mismatch, {id(model)}, used)
    unused = _unused_weight_groups(f, used)
    if unused and not skip_mismatch:
        raise ValueError(f"Model '{model.name}' has no layer for the weights the file holds "
                         f"under {unused}; use by_name=True or skip_mismatch=True.")
    _assign(pairs)


# --- public weight functions -------------------------------------------------------------------
def save_weights(model, filepath, overwrite=True):
    """Write the model's weights: Keras 3's layout for ``*.weights.h5``, else Keras 2's."""
    name = _check_h5_name(filepath, "save_weights")
    if _is_keras3_weights_name(name):
        _atomic_write(name, overwrite, lambda f: _write_keras3_object(f, model, {id(model)}))
    else:
        _atomic_write(name, overwrite, lambda f: _write_keras2_weights(f, model))


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Load weights saved by ``save_weights``/``save`` (gkeras, Keras 2 or Keras 3) into
    ``model``; the layout is read from the file, not its name.

    Layers are matched in order (Keras 2 layout) or by position among layers of the same class
    (Keras 3 layout); ``by_name=True`` matches layer names and leaves the others unchanged.
    ``skip_mismatch=True`` skips (with a warning) layers whose weight count or shapes differ.
    Nothing is changed when an error is raised."""
    _check_h5_name(filepath, "load_weights")
    with _open_hdf5(filepath, "load_weights") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in group.attrs:
            _load_keras2_group(group, model, by_name, skip_mismatch)
        elif "layers" in f or "vars" in f:
            _load_keras3_file(f, model, by_name, skip_mismatch)
        else:
            raise ValueError(f"load_weights: {os.fspath(filepath)!r} is an HDF5 file but not "
                             "a Keras weights file (neither the Keras 2 'layer_names' layout "
                             "nor the Keras 3 'layers/<name>/vars' layout).")


# --- whole models ------------------------------------------------------------------------------
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


def _reject_code(config, filepath):
    """Refuse configs whose objects are Python code (Lambda layers, lambdas)."""
    if isinstance(config, dict):
        if config.get("class_name") in _CODE_CLASSES:
            raise ValueError(
                f"load_model: {os.fspath(filepath)!r} contains a {config['class_name']!r} "
                "object, which is Python code; gkeras never runs code from a file. Rebuild "
                "that part of the model in Python and load only its weights.")
        for value in config.values():
            _reject_code(value, filepath)
    elif isinstance(config, list):
        for value in config:
            _reject_code(value, filepath)


def load_model(filepath, custom_objects=None, compile=True):
    """A model saved by ``model.save`` (gkeras, Keras 2, or Keras 3's legacy ``.h5``), compiled
    as it was if ``compile`` and the file has a training configuration, with the optimizer's
    saved state (step count, slots) restored."""
    from ..models import model_from_config
    with _open_hdf5(filepath, "load_model") as f:
        raw = f.attrs.get("model_config")
        if raw is None:
            raise ValueError(f"load_model: {os.fspath(filepath)!r} holds no model config: it "
                             "is a weights-only file; build the model in Python and call "
                             "model.load_weights.")
        config = json.loads(_text(raw))
        _reject_code(config, filepath)
        model = model_from_config(config, custom_objects=custom_objects)
        _load_keras2_group(f["model_weights"], model, by_name=False, skip_mismatch=False)
        training = f.attrs.get("training_config")
        if compile and training is not None:
            _compile_from_config(model, json.loads(_text(training)), custom_objects, filepath)
            if "optimizer_weights" in f:
                _load_optimizer_weights(f["optimizer_weights"], model, filepath)
    return model


def _load_optimizer_weights(group, model, filepath):
    """Restore the optimizer's state as Keras's loader does: build the optimizer on the model's
    trainable weights, then set its variables in order. A file that does not fit (another
    optimizer, other shapes) gives a warning and leaves the optimizer fresh."""
    optimizer = model.optimizer
    try:
        names = _read_names(group, "weight_names")
        missing = [name for name in names if not isinstance(group.get(name), h5py.Dataset)]
        if missing:
            raise ValueError(f"the file lists {missing} but holds no such dataset")
        values = [numpy.asarray(group[name]) for name in names]
        # a file saved before any training holds only the step count and learning rate
        if not optimizer.built and len(values) != len(optimizer.variables):
            optimizer.build(model.trainable_weights)
        optimizer.set_weights(values)
    except ValueError as e:
        warnings.warn(f"load_model: the optimizer state saved in {os.fspath(filepath)!r} does "
                      f"not fit the model's {type(optimizer).__name__} optimizer "
                      f"({str(e).rstrip('.')}); it starts freshly initialized.", stacklevel=4)


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


def _compile_from_config(model, training, custom_objects, filepath):
    from .. import losses, metrics, optimizers
    names = model.output_names

    def loss(value):
        return losses.deserialize(value, custom_objects) if isinstance(value, dict) \
            else losses.get((custom_objects or {}).get(value, value))

    def metric_list(value):
        items = value if isinstance(value, list) else [value]
        return [metrics.deserialize(m, custom_objects) if isinstance(m, dict) else m
                for m in items]

    def metric_spec(value):
        if isinstance(value, dict) and "class_name" not in value:
            return {k: metric_list(v) for k, v in value.items() if k in names and v}
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            return [metric_list(v) for v in value]
        return None if value is None else metric_list(value)

    try:
        optimizer = optimizers.deserialize(training["optimizer_config"], custom_objects)
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
