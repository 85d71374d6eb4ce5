"""``Variable``: a named, assignable tensor. Layer weights and optimizer state are Variables.

Under mixed precision a layer computes in float16 while its variables stay float32: inside
the layer's call an ``AutocastScope`` makes ops read each float variable cast to the compute
dtype (a differentiable cast, so its gradient arrives in float32), as Keras 3 does.
"""
from .backends import current as _backend

from . import config
from .autograd import Tensor

_VALUE_SLOT = Tensor.value  # Tensor's storage of ``value``, under Variable's property


class Variable(Tensor):
    """A mutable tensor, watched by ``GradientTape`` while ``trainable``.

    ``initial_value`` may be an array, a Tensor, or a callable ``f(shape, dtype)`` together
    with ``shape`` (an initializer).

    An optimizer may keep the values of many variables in one flat array (see
    gkeras/optimizers/flat_buffers.py): ``value`` is then a view into it, and setting
    ``value`` (``assign``, ``set_weights``, loading, constraints) writes into that view, so
    the optimizer keeps updating the variable's own memory.
    """

    __slots__ = ("name", "path", "constraint", "regularizer", "_trainable", "autocast", "_home")

    def __init__(self, initial_value, dtype=None, trainable=True, name=None, shape=None,
                 constraint=None, regularizer=None, autocast=True):
        self._home = None  # the flat buffer whose view ``value`` is, if any
        dtype = dtype or config.floatx()  # as Keras 3: floatx unless a dtype is given
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            if shape is None:
                raise ValueError(f"Variable {name!r}: an initializer needs `shape`.")
            initial_value = initial_value(tuple(shape), dtype)
        if isinstance(initial_value, Tensor):
            initial_value = initial_value.value
        # A copy: optimizers update weights in place, which must not reach the caller's array.
        # Row-major whatever the initializer returned (Orthogonal's is a transpose): the
        # optimizers' one-pass updates and the recurrent loops' products want C order.
        super().__init__(_backend().xp.array(initial_value, dtype=dtype, order="C"))
        self.name = name or "variable"
        self.path = self.name
        self.constraint = constraint
        self.regularizer = regularizer
        self.trainable = trainable
        self.autocast = autocast

    def _set_value(self, array):
        if self._home is None:
            _VALUE_SLOT.__set__(self, array)
            return
        current = _VALUE_SLOT.__get__(self)
        if array is current:
            return
        if tuple(getattr(array, "shape", ())) != tuple(current.shape):
            raise ValueError(f"Variable {self.path!r}: cannot set a value of shape "
                             f"{tuple(getattr(array, 'shape', ()))} on a variable of shape "
                             f"{tuple(current.shape)} (its value is a view of an optimizer's "
                             "flat buffer).")
        current[...] = array

    # read straight from the slot (C-level, no Python frame); setting goes through _set_value
    value = property(_VALUE_SLOT.__get__, _set_value)

    def _set_home(self, home, view):
        """Make ``view`` (of ``home``'s flat array) this variable's value. The buffer that
        held it before no longer does: it re-homes its variables before its next update."""
        previous = self._home
        if previous is not None and previous is not home:
            previous.homed = False
        self._home = home
        _VALUE_SLOT.__set__(self, view)

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        self.requires_grad = self._trainable

    def assign(self, value):
        """Write ``value`` into the variable's array (in place, so that its memory stays the
        same: a flat buffer's view, or an array a captured train step updates); the shape
        must match."""
        if isinstance(value, Tensor):
            value = value.value
        backend = _backend()
        xp = backend.xp
        current = self.value
        if not backend.is_array(current):  # a NumPy scalar someone set as the value
            self.value = current = xp.array(current)
        value = xp.asarray(value, dtype=current.dtype)
        if value.shape != current.shape:
            raise ValueError(f"Variable {self.path!r}: cannot assign a value of shape "
                             f"{tuple(value.shape)} to a variable of shape {self.shape}.")
        if xp.may_share_memory(value, current):
            value = value.copy()  # an overlapping copy would read what it already wrote
        current[...] = value
        return self

    def assign_add(self, delta):
        return self.assign(self.value + (delta.value if isinstance(delta, Tensor) else delta))

    def assign_sub(self, delta):
        return self.assign(self.value - (delta.value if isinstance(delta, Tensor) else delta))

    def numpy(self):
        """A NumPy copy of the value (later in-place updates do not change it)."""
        out = super().numpy()
        return out.copy() if out is self.value else out

    def __repr__(self):
        return f"<Variable path={self.path} shape={self.shape} dtype={self.dtype}>"


class AutocastScope:
    """``with AutocastScope('float16'):`` ops read float variables (those with ``autocast``)
    cast to float16, each cast once per scope; ``AutocastScope(None)`` turns casting off
    (a float32 layer inside a mixed one)."""

    dtype = None  # the active scope's dtype, read by ops.convert_to_tensor
    _casts = None

    def __init__(self, dtype):
        self._dtype = dtype
        self._saved = None

    def __enter__(self):
        cls = AutocastScope
        self._saved = (cls.dtype, cls._casts)
        cls.dtype, cls._casts = self._dtype, {}
        return self

    def __exit__(self, *exc):
        AutocastScope.dtype, AutocastScope._casts = self._saved
        return False


def autocast(variable):
    """``variable`` as the active ``AutocastScope`` reads it: cast when it is a float
    variable of another dtype, else itself."""
    dtype = AutocastScope.dtype
    if dtype is None or not variable.autocast or variable.dtype == dtype or \
            variable.dtype.kind != "f":
        return variable
    casts = AutocastScope._casts
    cast = casts.get(id(variable))
    if cast is None:
        from .ops.core import _cast
        cast = casts[id(variable)] = _cast(variable, dtype)
    return cast
