"""Utilities: the progress bar and NumPy label/array helpers."""
from .numerical import normalize, to_categorical
from .progbar import Progbar

__all__ = ["Progbar", "normalize", "to_categorical"]
