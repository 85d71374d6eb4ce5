"""Saving and loading in Keras's formats: HDF5 (``.h5``, ``.weights.h5``; see ``hdf5`` and
``weights_h5``) and Keras 3's ``.keras`` archive (``keras_archive``). The file name chooses the
format written; the file's content chooses how it is read."""
import os

from ..serialization import custom_objects_in_scope, with_custom_objects
from . import hdf5, keras_archive, weights_h5


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """``x.keras``: a Keras 3 archive; ``x.h5``/``x.hdf5``: Keras 2's HDF5 model file."""
    if os.fspath(filepath).endswith(".keras"):
        keras_archive.save_archive(model, filepath, overwrite, include_optimizer)
    else:
        hdf5.save_model(model, filepath, overwrite, include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``save`` (gkeras, Keras 2 or Keras 3), either format. Nothing from the
    file runs as code unless ``safe_mode=False`` (Lambda layers). The global custom objects
    (``gkeras.utils.get_custom_objects()``) count as passed in ``custom_objects``."""
    custom_objects = with_custom_objects(custom_objects)
    with custom_objects_in_scope(custom_objects):
        if keras_archive.is_archive(filepath):
            return keras_archive.load_archive(filepath, custom_objects, compile, safe_mode)
        return hdf5.load_model(filepath, custom_objects, compile, safe_mode)


def save_weights(model, filepath, overwrite=True):
    weights_h5.save_weights(model, filepath, overwrite)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a weights file, an HDF5 model file or a ``.keras`` archive."""
    if keras_archive.is_archive(filepath):
        keras_archive.load_archive_weights(model, filepath, by_name, skip_mismatch)
    else:
        weights_h5.load_weights(model, filepath, by_name, skip_mismatch)


load_weights.__doc__ = weights_h5.load_weights.__doc__
save_weights.__doc__ = weights_h5.save_weights.__doc__

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
