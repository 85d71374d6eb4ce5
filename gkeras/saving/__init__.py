"""Saving and loading in Keras's HDF5 formats (``save_weights``, ``save``, ``load_model``)."""
from .hdf5 import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]
