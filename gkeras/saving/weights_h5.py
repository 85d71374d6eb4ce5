"""Weights files (``save_weights``/``load_weights``) in both of Keras's HDF5 layouts.

* Keras 2 (``x.h5``, also inside ``model.save`` files under ``model_weights``): one group per
  layer with attribute ``weight_names`` and one dataset per weight (``dense/kernel:0``), root
  attribute ``layer_names``. Weights are listed as Keras lists them: trainable, then frozen.
* Keras 3 (``x.weights.h5``, also ``model.weights.h5`` inside a ``.keras`` archive):
  ``layers/<class_name_snake>[_<n>]/vars/<i>``, nested models under ``layers/<key>/layers/...``,
  the layer's name in attribute ``name`` of ``vars``.
"""
import os
import re
import warnings

import h5py
import numpy

from .files import (_atomic_write, _check_h5_name, _decode, _is_keras3_weights_name,
                    _open_hdf5, _shapes, _text, naming_file)

KERAS_VERSION = "2.15.0"


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


def _weights_in_cell(layer):
    """Keras 3 (and tf_keras) keep a recurrent layer's weights in its ``cell``: they are saved
    under ``<layer>/cell/vars``; gkeras's recurrent layers own them directly."""
    from ..layers.recurrent import Recurrent
    return isinstance(layer, Recurrent)


def _write_keras3_object(group, obj, visited):
    own = group.create_group("vars")
    own.attrs["name"] = obj.name
    if _weights_in_cell(obj):
        own = group.create_group("cell/vars")
        own.attrs["name"] = f"{_keras_snake_case(type(obj).__name__)}_cell"
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
    used.add(group.name)
    source = group
    if _weights_in_cell(obj) and "cell" in group:
        source = group["cell"]
        used.add(source.name)
    values = _read_vars(source)
    pairs = _match(obj, own, values, f"'{source.name}/vars'", skip_mismatch) \
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
    with naming_file(filepath, "load_weights", "a Keras weights file"), \
            _open_hdf5(filepath, "load_weights") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in group.attrs:
            _load_keras2_group(group, model, by_name, skip_mismatch)
        elif "layers" in f or "vars" in f:
            _load_keras3_file(f, model, by_name, skip_mismatch)
        else:
            raise ValueError(f"load_weights: {os.fspath(filepath)!r} is an HDF5 file but not "
                             "a Keras weights file (neither the Keras 2 'layer_names' layout "
                             "nor the Keras 3 'layers/<name>/vars' layout).")
