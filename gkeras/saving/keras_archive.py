"""Keras 3's ``.keras`` archive: a zip holding ``metadata.json``, ``config.json`` (the model's
config, ``build_config`` and ``compile_config``) and ``model.weights.h5`` (the Keras 3 weights
layout, plus ``optimizer/vars/<i>``: the optimizer's variables in order).

gkeras writes Keras 3's configs (``module``/``registered_name`` on every object, ``__lambda__``
and ``function`` dicts for Lambda functions) and reads archives written by Keras 3 or gkeras.
"""
import datetime
import io
import json
import os
import zipfile
import zlib

import h5py
import numpy

from . import compat, safety
from .files import atomic_path, naming_file
from .hdf5 import (_compile_from_config, _training_config, from_tf_keras,
                   set_optimizer_state)
from .weights_h5 import _load_keras3_file, _write_keras3_object

# the Keras version whose archive format gkeras writes
KERAS3_VERSION = "3.15.1"
_CONFIG, _METADATA, _WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
_EXPECTED = ("a Keras '.keras' archive (a zip file holding config.json, metadata.json and "
             "model.weights.h5)")


# --- writing ----------------------------------------------------------------------------------
def _module_for(key, class_name):
    if class_name in ("Sequential", "Model"):
        return "keras"
    if class_name == "Functional":
        return "keras.src.models.functional"
    if class_name in ("DTypePolicy", "Policy"):
        return "keras"
    for suffix, module in (("initializer", "keras.initializers"),
                           ("regularizer", "keras.regularizers"),
                           ("constraint", "keras.constraints")):
        if key and key.endswith(suffix):
            return module
    return "keras.layers"


def _function_to_keras3(spec, kind, module):
    if kind == "lambda":
        code, defaults, closure = (list(spec) + [None, None])[:3]
        return {"class_name": "__lambda__",
                "config": {"code": code, "defaults": defaults, "closure": closure}}
    return {"module": module or "builtins", "class_name": "function", "config": spec,
            "registered_name": "function"}


def _lambda_to_keras3(config):
    out = {k: v for k, v in config.items() if not k.endswith(("_type", "module"))}
    for role, kind, spec, module in safety.function_specs(config):
        out[role] = _function_to_keras3(spec, kind, module)
    if out.get("output_shape") is None:
        out.pop("output_shape", None)
    return out


def _input_shapes_to_keras3(layers):
    """Keras 3 layers take no ``batch_input_shape``: an ``InputLayer`` holds it (as
    ``batch_shape``)."""
    layers = [dict(spec, config=dict(spec["config"])) for spec in layers]
    first = layers[0] if layers else None
    if first is not None and first["class_name"] != "InputLayer" and \
            "batch_input_shape" in first["config"]:
        layers.insert(0, {"class_name": "InputLayer", "config": {
            "batch_input_shape": first["config"]["batch_input_shape"],
            "dtype": first["config"].get("dtype"), "name": first["config"]["name"] + "_input"}})
    for spec in layers:
        config = spec["config"]
        shape = config.pop("batch_input_shape", None)
        if spec["class_name"] == "InputLayer" and shape is not None:
            config["batch_shape"] = shape
    return layers


def to_keras3_config(value, key=None, module=None):
    """gkeras's (Keras 2 style) config with Keras 3's object fields added; ``module`` is the
    one of every serialized object in ``value`` (losses, metrics), else found from the key."""
    if isinstance(value, list):
        return [to_keras3_config(v, key, module) for v in value]
    if not isinstance(value, dict):
        return value
    if module is not None:
        out = {k: to_keras3_config(v, k, module) for k, v in value.items()}
        if "class_name" in value and "config" in value and "module" not in value:
            out = {"module": module, **out, "registered_name": None}
        return out
    if "class_name" in value and "config" in value and "module" not in value:
        class_name = value["class_name"]
        if class_name == "Model":
            class_name = "Functional" if "input_layers" in (value["config"] or {}) \
                else "Model"
        inner = value["config"]
        if class_name in ("Sequential", "Functional", "Model") and "layers" in inner:
            inner = {**inner, "layers": _input_shapes_to_keras3(inner["layers"])}
        if class_name == "Lambda":
            inner = _lambda_to_keras3(inner)
        return {"module": _module_for(key, class_name), "class_name": class_name,
                "config": to_keras3_config(inner, key),
                "registered_name": None,
                **{k: v for k, v in value.items() if k not in ("class_name", "config")}}
    return {k: to_keras3_config(v, k) for k, v in value.items()}


def _single_refs_unnested(model, config):
    """Keras 3 writes the input (output) of a model built on one tensor, not on a list of one,
    as a single ``[layer, node, tensor]``; it warns when the structure differs from a call's."""
    for key, structure in (("input_layers", getattr(model, "_nested_inputs", None)),
                           ("output_layers", getattr(model, "_nested_outputs", None))):
        refs = config.get(key)
        if structure is not None and not isinstance(structure, (list, tuple, dict)) and \
                isinstance(refs, list) and len(refs) == 1 and isinstance(refs[0], list):
            config[key] = refs[0]


def _compile_config(model):
    training = _training_config(model)
    if training is None:
        return None
    return {"optimizer": to_keras3_config(training["optimizer_config"],
                                          module="keras.optimizers"),
            "loss": to_keras3_config(training["loss"], module="keras.losses"),
            "loss_weights": training["loss_weights"],
            "metrics": to_keras3_config(training["metrics"], module="keras.metrics"),
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


def _weights_bytes(model, optimizer):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        _write_keras3_object(f, model, {id(model)})
        if optimizer is not None and optimizer.variables:
            _write_optimizer_vars(f, "optimizer", optimizer)
            inner = getattr(optimizer, "inner_optimizer", None)
            if inner is not None:  # Keras 3 also saves a LossScaleOptimizer's inner one
                _write_optimizer_vars(f, "optimizer/inner_optimizer", inner)
    return buffer.getvalue()


def _write_optimizer_vars(f, path, optimizer):
    group = f.create_group(f"{path}/vars")
    group.attrs["name"] = optimizer.name
    for i, value in enumerate(optimizer.get_weights()):
        group.create_dataset(str(i), data=value)


def save_archive(model, filepath, overwrite=True, include_optimizer=True):
    """Write ``model`` as a Keras 3 ``.keras`` archive (atomically)."""
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f"save: model '{model.name}' is a subclassed (or unbuilt) model whose "
                         "architecture is Python code; use save_weights instead.")
    config = to_keras3_config({"class_name": type(model).__name__,
                               "config": model.get_config()})
    config = compat.activations_to_keras3(config)
    _single_refs_unnested(model, config["config"])
    input_shape = model.input_shape
    config["build_config"] = {"input_shape": list(input_shape)
                              if isinstance(input_shape, tuple) else input_shape}
    compile_config = _compile_config(model) if include_optimizer else None
    if compile_config is not None:
        config["compile_config"] = compile_config
    try:
        config_text = json.dumps(config)
    except TypeError as e:
        raise ValueError(f"save: the config of model '{model.name}' cannot be written as JSON "
                         f"({e}). Pass include_optimizer=False if it is a compile setting.") from e
    metadata = json.dumps({"keras_version": KERAS3_VERSION,
                           "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                           "saved_by": "gkeras"})
    weights = _weights_bytes(model, model.optimizer if compile_config is not None else None)
    with atomic_path(filepath, overwrite) as tmp:
        with zipfile.ZipFile(tmp, "w") as z:
            z.writestr(_METADATA, metadata)
            z.writestr(_CONFIG, config_text)
            z.writestr(_WEIGHTS, weights)


# --- reading ----------------------------------------------------------------------------------
def is_archive(filepath):
    name = os.fspath(filepath)
    return name.endswith(".keras") or (os.path.isfile(name) and zipfile.is_zipfile(name))


def _read_archive(filepath, what):
    """``(config, metadata, weights_bytes)`` with clear errors for foreign or damaged files."""
    name = os.fspath(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{what}: no such file: {name!r}.")
    expected = _EXPECTED
    if not zipfile.is_zipfile(name):
        raise ValueError(f"{what}: {name!r} is not a zip file; expected {expected}.")
    try:
        with zipfile.ZipFile(name) as z:
            names = set(z.namelist())
            for required in (_CONFIG, _WEIGHTS):
                if required not in names:
                    raise ValueError(f"{what}: {name!r} is a zip file without '{required}'; "
                                     f"expected {expected}.")
            config = json.loads(z.read(_CONFIG))
            metadata = json.loads(z.read(_METADATA)) if _METADATA in names else {}
            weights = z.read(_WEIGHTS)
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{what}: {name!r} is damaged or truncated ({e}); expected "
                         f"{expected}.") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{what}: {name!r} holds a config that is not valid JSON ({e}).") \
            from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"{what}: {name!r}: config.json holds no model config (expected "
                         "'class_name' and 'config').")
    return config, metadata, weights


def _open_weights(weights, filepath, what):
    try:
        return h5py.File(io.BytesIO(weights), "r")
    except OSError as e:
        raise ValueError(f"{what}: {os.fspath(filepath)!r}: model.weights.h5 is not a valid "
                         f"HDF5 file ({e}).") from None


def load_archive(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a ``.keras`` archive (Keras 3 or gkeras), compiled as saved when
    ``compile``, with the optimizer's variables restored."""
    from ..models import model_from_config
    config, metadata, weights = _read_archive(filepath, "load_model")
    safety.check_config(config, filepath, safe_mode, custom_objects)
    version = metadata.get("keras_version", KERAS3_VERSION)
    config = compat.activations_for(config, version)
    with safety.loading(safe_mode, custom_objects):
        model = model_from_config(config, custom_objects=custom_objects)
    with naming_file(filepath, "load_model", _EXPECTED), \
            _open_weights(weights, filepath, "load_model") as f:
        _load_keras3_file(f, model, by_name=False, skip_mismatch=False)
        compile_config = config.get("compile_config")
        if compile and compile_config:
            training = {"optimizer_config": compile_config.get("optimizer"),
                        "loss": compile_config.get("loss"),
                        "metrics": compile_config.get("metrics"),
                        "loss_weights": compile_config.get("loss_weights"),
                        "weighted_metrics": compile_config.get("weighted_metrics")}
            _compile_from_config(model, training, custom_objects, filepath)
            if "optimizer/vars" in f and len(f["optimizer/vars"]):
                group = f["optimizer/vars"]
                values = [numpy.asarray(group[str(i)]) for i in range(len(group))]
                if not compat.is_keras3(version):  # tf_keras saves no learning rate
                    values = from_tf_keras(values, model.optimizer)
                set_optimizer_state(model, values, filepath)
    return model


def load_archive_weights(model, filepath, by_name=False, skip_mismatch=False):
    """``model.load_weights('x.keras')``: the layer weights of an archive."""
    _, _, weights = _read_archive(filepath, "load_weights")
    with naming_file(filepath, "load_weights", _EXPECTED), \
            _open_weights(weights, filepath, "load_weights") as f:
        _load_keras3_file(f, model, by_name, skip_mismatch)
