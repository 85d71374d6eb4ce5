"""Models: ``Sequential``, functional ``Model``, and (de)serialization helpers."""
import json

from .functional import Model
from .sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved with ``model.save`` (``.keras`` archive or HDF5). ``safe_mode=False``
    allows code stored in the file (Lambda layers) to run."""
    from ..saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def model_from_config(config, custom_objects=None):
    from ..layers import deserialize
    return deserialize(config, custom_objects=custom_objects)


def model_from_json(json_string, custom_objects=None):
    """Rebuild a model (architecture only) from ``model.to_json()``."""
    return model_from_config(json.loads(json_string), custom_objects=custom_objects)
