"""Global configuration, read once from ``$KERAS_HOME/keras.json`` and ``KERAS_BACKEND``.

Precedence follows Keras: built-in defaults, then the file, then the environment variable.
"""
import json
import os

VALID_BACKENDS = ("numpy", "cupy")
VALID_FLOATX = ("float16", "float32", "float64")
VALID_DATA_FORMATS = ("channels_last", "channels_first")

_DEFAULTS = {
    "floatx": "float32",
    "epsilon": 1e-7,
    "image_data_format": "channels_last",
    "backend": "numpy",
}

_config = dict(_DEFAULTS)


def keras_home():
    """The directory holding keras.json: ``$KERAS_HOME`` or ``~/.keras``."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def _check_choice(key, value, choices, source):
    if value not in choices:
        raise ValueError(
            f"Invalid {key} {value!r} in {source}. Valid choices: {', '.join(choices)}.")
    return value


def _check_epsilon(value, source):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"Invalid epsilon {value!r} in {source}: expected a positive number.")
    return float(value)


def _validate(cfg, source):
    out = {}
    for key, value in cfg.items():
        if key == "floatx":
            out[key] = _check_choice(key, value, VALID_FLOATX, source)
        elif key == "epsilon":
            out[key] = _check_epsilon(value, source)
        elif key == "image_data_format":
            out[key] = _check_choice(key, value, VALID_DATA_FORMATS, source)
        elif key == "backend":
            out[key] = _check_choice(key, value, VALID_BACKENDS, source)
    return out


def load():
    """(Re)read keras.json and KERAS_BACKEND into the global configuration."""
    cfg = dict(_DEFAULTS)
    path = os.path.join(keras_home(), "keras.json")
    if os.path.exists(path):
        try:
            with open(path) as f:
                from_file = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f"Could not read {path}: {e}") from None
        if not isinstance(from_file, dict):
            raise ValueError(f"{path} must hold a JSON object, got {type(from_file).__name__}.")
        cfg.update(_validate(from_file, path))
    else:
        _write_default(path)
    if os.environ.get("KERAS_BACKEND"):
        cfg["backend"] = _check_choice(
            "backend", os.environ["KERAS_BACKEND"], VALID_BACKENDS, "$KERAS_BACKEND")
    _config.clear()
    _config.update(cfg)


def _write_default(path):
    # Keras writes a default keras.json for the user to edit; never fail if we cannot.
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(_DEFAULTS, f, indent=4)
    except OSError:
        pass


def floatx():
    """The default float dtype name, e.g. ``'float32'``."""
    return _config["floatx"]


def set_floatx(value):
    _config["floatx"] = _check_choice("floatx", str(value), VALID_FLOATX, "set_floatx")


def epsilon():
    """The fuzz factor used in numeric expressions."""
    return _config["epsilon"]


def set_epsilon(value):
    _config["epsilon"] = _check_epsilon(value, "set_epsilon")


def image_data_format():
    return _config["image_data_format"]


def set_image_data_format(value):
    _config["image_data_format"] = _check_choice(
        "image_data_format", value, VALID_DATA_FORMATS, "set_image_data_format")


def backend():
    """The name of the array backend chosen at import: ``'numpy'`` or ``'cupy'``."""
    return _config["backend"]


load()
