"""Keras 2's ``keras.preprocessing``: sequence padding, text tokenizing, image augmentation."""
from . import image, sequence, text

__all__ = ["image", "sequence", "text"]
