"""Differentiable operations on tensors (``gkeras.ops``).

Each op takes Tensors, Variables, backend arrays, NumPy arrays or Python scalars, computes
with the active backend's array module, and records its backward closure when a
``GradientTape`` is open. Use them in custom layers and custom training loops.

``core`` holds conversion, creation and shape ops, ``math`` elementwise, linear-algebra and
reduction ops, ``nn`` the activation ops, ``convolution`` the convolution ops, ``pooling``
max and average pooling, ``recurrent`` the LSTM, GRU and SimpleRNN sequence ops,
``normalization`` batch and layer normalization, ``random`` random draws, ``fused``
``dense_bias_activation`` (a Dense layer's whole forward as one op); all are
re-exported here.
"""
from ..autograd import Tensor
from .core import *  # noqa: F401,F403
from .core import __all__ as _core_names
from .convolution import *  # noqa: F401,F403
from .convolution import __all__ as _convolution_names
from .fused import *  # noqa: F401,F403
from .fused import __all__ as _fused_names
from .math import *  # noqa: F401,F403
from .math import __all__ as _math_names
from .nn import *  # noqa: F401,F403
from .nn import __all__ as _nn_names
from .normalization import *  # noqa: F401,F403
from .normalization import __all__ as _normalization_names
from .pooling import *  # noqa: F401,F403
from .pooling import __all__ as _pooling_names
from .random import *  # noqa: F401,F403
from .random import __all__ as _random_names
from .recurrent import *  # noqa: F401,F403
from .recurrent import __all__ as _recurrent_names
from .core import getitem, reshape, transpose, cast
from .math import (abs, add, divide, equal, greater, greater_equal, less, less_equal, matmul,
                   multiply, negative, not_equal, power, subtract)

__all__ = (_core_names + _math_names + _nn_names + _convolution_names + _pooling_names +
           _recurrent_names + _normalization_names + _random_names + _fused_names)

# --- operators on Tensor -------------------------------------------------------------------

Tensor.__add__ = add
Tensor.__radd__ = lambda self, other: add(other, self)
Tensor.__sub__ = subtract
Tensor.__rsub__ = lambda self, other: subtract(other, self)
Tensor.__mul__ = multiply
Tensor.__rmul__ = lambda self, other: multiply(other, self)
Tensor.__truediv__ = divide
Tensor.__rtruediv__ = lambda self, other: divide(other, self)
Tensor.__pow__ = power
Tensor.__rpow__ = lambda self, other: power(other, self)
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = lambda self, other: matmul(other, self)
Tensor.__neg__ = negative
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = abs
Tensor.__getitem__ = getitem
Tensor.__eq__ = lambda self, other: equal(self, other)
Tensor.__ne__ = lambda self, other: not_equal(self, other)
Tensor.__gt__ = greater
Tensor.__ge__ = greater_equal
Tensor.__lt__ = less
Tensor.__le__ = less_equal
Tensor.__hash__ = lambda self: id(self)
Tensor.T = property(lambda self: transpose(self))
Tensor.reshape = lambda self, *shape: reshape(
    self, shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape)
Tensor.astype = cast
