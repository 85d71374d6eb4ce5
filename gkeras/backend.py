"""Keras's ``keras.backend`` functions: configuration and session helpers."""
from .backends import current as _current
from .config import (epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                     set_image_data_format)
from .config import backend as _backend_name


def backend():
    """The array backend in use: ``'numpy'`` or ``'cupy'``."""
    return _backend_name()


def clear_session():
    """Reset the automatic layer names (``dense``, ``dense_1``, ...)."""
    from .layers.base import reset_names
    reset_names()


def array_module():
    """The array module of the active backend (``numpy`` or ``cupy``)."""
    return _current().xp


__all__ = ["backend", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx",
           "set_image_data_format", "clear_session", "array_module"]
