"""Keras 2's ``keras.backend`` (``from keras import backend as K``) over gkeras's ops.

Every function of Keras 2.2.4's backend that has a meaning on eager NumPy/CuPy tensors is
here, with Keras 2.2.4's names, argument order and defaults, as a thin name over
``gkeras.ops`` (differentiable where Keras's is): use them in custom layers, ``Lambda``s and
custom losses. Those that only mean something on a TensorFlow graph (``K.function``,
``K.placeholder``, sessions, ``K.gradients``) raise an error naming what to use instead.
See docs/backend.md.
"""
from ..backends import current as _current
from ..config import (epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                      set_image_data_format)
from ..config import backend as _backend_name
from .control_flow import *  # noqa: F401,F403
from .control_flow import __all__ as _control_flow_names
from .ctc import *  # noqa: F401,F403
from .ctc import __all__ as _ctc_names
from .convolution import *  # noqa: F401,F403
from .convolution import __all__ as _convolution_names
from .phase import *  # noqa: F401,F403
from .phase import __all__ as _learning_phase_names
from .phase import clear_learning_phase as _clear_learning_phase
from .math import *  # noqa: F401,F403
from .math import __all__ as _math_names
from .nn import *  # noqa: F401,F403
from .nn import __all__ as _nn_names
from .random import *  # noqa: F401,F403
from .random import __all__ as _random_names
from .shapes import *  # noqa: F401,F403
from .shapes import __all__ as _shape_names
from .unsupported import *  # noqa: F401,F403
from .unsupported import __all__ as _unsupported_names
from .variables import *  # noqa: F401,F403
from .variables import __all__ as _variables_names
from .variables import reset_uids as _reset_uids


def backend():
    """The array backend in use: ``'numpy'`` or ``'cupy'``."""
    return _backend_name()


def clear_session():
    """Reset the automatic layer names (``dense``, ``dense_1``, ...), the ``get_uid``
    counters and a learning phase fixed by ``set_learning_phase``."""
    from ..layers.base import reset_names
    reset_names()
    _reset_uids()
    _clear_learning_phase()


def array_module():
    """The array module of the active backend (``numpy`` or ``cupy``)."""
    return _current().xp


def normalize_data_format(value):
    """``value`` checked and lower-cased; None gives ``image_data_format()``."""
    if value is None:
        return image_data_format()
    data_format = str(value).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {value!r}')
    return data_format


def image_dim_ordering():
    """Keras 1's name for the data format: ``'th'`` (channels first) or ``'tf'``."""
    return "th" if image_data_format() == "channels_first" else "tf"


def set_image_dim_ordering(dim_ordering):
    """``'th'`` sets channels_first, ``'tf'`` channels_last."""
    if dim_ordering not in ("tf", "th"):
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r}; expected 'tf' or 'th'.")
    set_image_data_format("channels_first" if dim_ordering == "th" else "channels_last")


__all__ = (["backend", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx",
            "set_image_data_format", "clear_session", "array_module", "normalize_data_format",
            "image_dim_ordering", "set_image_dim_ordering"] +
           _control_flow_names + _convolution_names + _ctc_names + _learning_phase_names + _math_names +
           _nn_names + _random_names + _shape_names + _unsupported_names + _variables_names)
