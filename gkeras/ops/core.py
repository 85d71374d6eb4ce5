"""Tensor conversion, casting, creation and shape manipulation ops."""
import builtins
import numbers

import numpy

from .. import config
from ..autograd import Tensor, result
from ..backends import current as _backend
from ..variables import AutocastScope, Variable, autocast


__all__ = [
    "arange", "broadcast_to", "cast", "concatenate", "convert_to_numpy", "convert_to_tensor",
    "expand_dims", "eye", "flatten", "flip", "getitem", "one_hot", "ones", "ones_like", "pad", "repeat",
    "reshape", "split", "squeeze", "stack", "stop_gradient", "swapaxes", "take", "tile",
    "transpose", "zeros", "zeros_like"]


def _xp():
    return _backend().xp


def convert_to_tensor(x, dtype=None):
    """A Tensor for ``x`` (returned as is when it is already a Tensor of that dtype)."""
    if isinstance(x, Tensor):
        if AutocastScope.dtype is not None and isinstance(x, Variable):
            x = autocast(x)  # inside a mixed-precision layer's call
        return x if dtype is None or x.dtype == dtype else cast(x, dtype)
    if isinstance(x, (bool, int, float)) and dtype is None:
        return Tensor(x)  # Python scalars stay weakly typed, as in NumPy 2
    return Tensor(_backend().asarray(x, dtype=dtype))


def convert_to_numpy(x):
    return x.numpy() if isinstance(x, Tensor) else numpy.asarray(x)


_t = convert_to_tensor


def _unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape`` (undo NumPy broadcasting)."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def _shape(t):
    return numpy.shape(t.value)


# --- comparisons and other non-differentiable ops --------------------------------------

def _nondiff(fn):
    def op(*args, **kwargs):
        values = [_t(a).value if isinstance(a, (Tensor, numpy.ndarray)) or _backend().is_array(a)
                  else a for a in args]
        return Tensor(fn(_xp(), *values, **kwargs))
    op.__name__ = fn.__name__
    return op

zeros_like = _nondiff(lambda xp, a, dtype=None: xp.zeros_like(a, dtype=dtype))
ones_like = _nondiff(lambda xp, a, dtype=None: xp.ones_like(a, dtype=dtype))


def zeros(shape, dtype=None):
    return Tensor(_xp().zeros(shape, dtype=dtype or config.floatx()))


def ones(shape, dtype=None):
    return Tensor(_xp().ones(shape, dtype=dtype or config.floatx()))


def arange(start, stop=None, step=1, dtype="int32"):
    """``start, start + step, ...`` below ``stop`` (``arange(n)``: 0 to n - 1)."""
    if stop is None:
        start, stop = 0, start
    return Tensor(_xp().arange(start, stop, step, dtype=dtype))


def eye(size, dtype=None):
    """The ``(size, size)`` identity matrix, or ``(rows, cols)`` for a pair."""
    rows, cols = (size, size) if isinstance(size, numbers.Integral) else size
    return Tensor(_xp().eye(rows, cols, dtype=dtype or config.floatx()))


def stop_gradient(x):
    return Tensor(_t(x).value)


def cast(x, dtype):
    return _cast(_t(x), dtype)


def is_float_dtype(dtype):
    """Floating point, bfloat16 (ml_dtypes' kind 'V') included."""
    dtype = numpy.dtype(dtype)
    return dtype.kind == "f" or dtype.name == "bfloat16"


def _cast(x, dtype):
    """``cast`` of a Tensor as it is (no autocasting of variables on the way in)."""
    source = x.dtype
    out = _xp().asarray(x.value).astype(dtype)
    if not is_float_dtype(dtype):
        return Tensor(out)
    return result(out, (x,), lambda g: (g.astype(source),))


# --- shape manipulation ----------------------------------------------------------------

def _inverse(permutation):
    """The inverse permutation, as a tuple of Python ints (accepted by every backend)."""
    return tuple(int(i) for i in numpy.argsort(permutation))


def reshape(x, shape):
    x = _t(x)
    source = _shape(x)
    xp = _xp()
    return result(xp.reshape(x.value, shape), (x,), lambda g: (xp.reshape(g, source),))


def transpose(x, axes=None):
    x = _t(x)
    xp = _xp()
    inverse = None if axes is None else _inverse([a % x.ndim for a in axes])
    return result(xp.transpose(x.value, axes), (x,), lambda g: (xp.transpose(g, inverse),))


def swapaxes(x, axis1, axis2):
    x = _t(x)
    xp = _xp()
    return result(xp.swapaxes(x.value, axis1, axis2), (x,),
                  lambda g: (xp.swapaxes(g, axis1, axis2),))


def expand_dims(x, axis):
    x = _t(x)
    source = _shape(x)
    return result(_xp().expand_dims(x.value, axis), (x,), lambda g: (g.reshape(source),))


def squeeze(x, axis=None):
    x = _t(x)
    source = _shape(x)
    return result(_xp().squeeze(x.value, axis), (x,), lambda g: (g.reshape(source),))


def flatten(x):
    """Collapse all axes but the first."""
    x = _t(x)
    return reshape(x, (_shape(x)[0], -1))


def flip(x, axis=None):
    """Reverse the order of the entries along ``axis`` (an int, a tuple, or None: all)."""
    x = _t(x)
    xp = _xp()
    axes = tuple(range(x.ndim)) if axis is None else axis
    return result(xp.flip(x.value, axes), (x,), lambda g: (xp.flip(g, axes),))


def broadcast_to(x, shape):
    x = _t(x)
    source = _shape(x)
    return result(_xp().broadcast_to(x.value, shape), (x,),
                  lambda g: (_unbroadcast(g, source),))


def concatenate(xs, axis=-1):
    xs = [_t(x) for x in xs]
    xp = _xp()
    out = xp.concatenate([x.value for x in xs], axis=axis)
    bounds = [int(b) for b in numpy.cumsum([_shape(x)[axis] for x in xs])[:-1]]  # host ints
    return result(out, tuple(xs), lambda g: tuple(xp.split(g, bounds, axis=axis)))


def stack(xs, axis=0):
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    x = _t(x)
    n = _shape(x)[axis]
    if isinstance(indices_or_sections, int):
        if n % indices_or_sections:
            raise ValueError(f"split: axis {axis} of size {n} does not divide into "
                             f"{indices_or_sections} equal parts.")
        step = n // indices_or_sections
        bounds = list(range(step, n, step))
    else:
        bounds = list(indices_or_sections)
    starts = [0] + bounds
    ends = bounds + [n]
    index = [builtins.slice(None)] * x.ndim
    parts = []
    for s, e in zip(starts, ends):
        index[axis] = builtins.slice(s, e)
        parts.append(getitem(x, tuple(index)))
    return parts


def tile(x, reps):
    x = _t(x)
    xv = x.value
    xp = _xp()
    reps = (int(reps),) if isinstance(reps, numbers.Integral) else tuple(reps)
    reps = (1,) * (xv.ndim - len(reps)) + reps
    shape = (1,) * (len(reps) - xv.ndim) + xv.shape

    def backward(g):
        # split each axis into (rep, size) and sum the rep part
        split_shape = []
        for r, s in zip(reps, shape):
            split_shape += [r, s]
        g = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(reps), 2)))
        return (g.reshape(xv.shape),)
    return result(xp.tile(xv, reps), (x,), backward)


def repeat(x, repeats, axis=None):
    x = _t(x)
    xv = x.value
    xp = _xp()
    if not isinstance(repeats, numbers.Integral):
        raise TypeError("repeat: only an integer number of repeats is differentiable, "
                        f"received {type(repeats).__name__}.")
    repeats = int(repeats)
    if axis is None:
        return repeat(reshape(x, (-1,)), repeats, 0)
    axis %= xv.ndim

    def backward(g):
        shape = xv.shape[:axis] + (xv.shape[axis], repeats) + xv.shape[axis + 1:]
        return (g.reshape(shape).sum(axis=axis + 1),)
    return result(xp.repeat(xv, repeats, axis=axis), (x,), backward)


def pad(x, pad_width, constant_values=0):
    x = _t(x)
    xp = _xp()
    pad_width = [tuple(p) for p in pad_width]
    index = tuple(builtins.slice(lo, lo + n) for (lo, _), n in zip(pad_width, _shape(x)))
    return result(xp.pad(x.value, pad_width, constant_values=constant_values), (x,),
                  lambda g: (g[index],))


def _index_part(part):
    """Array indices as backend arrays, copied to the device once for forward and backward."""
    if isinstance(part, Tensor):
        return part.value
    if isinstance(part, (list, numpy.ndarray)):
        return _backend().asarray(part)
    return part


def getitem(x, index):
    """``x[index]``; integer-array indices scatter-add their gradient."""
    x = _t(x)
    index = tuple(map(_index_part, index)) if isinstance(index, tuple) else _index_part(index)
    xv = x.value
    xp = _xp()
    # basic indices select each entry at most once: assign; only arrays may repeat one
    basic = all(i is None or i is Ellipsis or isinstance(i, (int, builtins.slice))
                for i in (index if isinstance(index, tuple) else (index,)))

    def backward(g):
        grad = xp.zeros_like(xv)
        if basic:
            grad[index] = g
        else:
            xp.add.at(grad, index, g)
        return (grad,)
    return result(xv[index], (x,), backward)


def take(x, indices, axis=None):
    """Gather rows of ``x`` (an embedding lookup when ``axis=0``)."""
    x = _t(x)
    idx = _backend().asarray(_t(indices).value)  # an array even for a scalar index
    xv = x.value
    xp = _xp()
    if axis is None:
        return take(reshape(x, (-1,)), indices, 0)
    axis %= xv.ndim

    def backward(g):
        gm = xp.moveaxis(g, tuple(range(axis, axis + idx.ndim)), tuple(range(idx.ndim)))
        grad = _backend().take_backward(idx, gm.astype(xv.dtype, copy=False), xv.shape[axis])
        return (grad if axis == 0 else xp.ascontiguousarray(xp.moveaxis(grad, 0, axis)),)
    return result(xp.take(xv, idx, axis=axis), (x,), backward)


def one_hot(indices, num_classes, dtype=None):
    """A last axis of ``num_classes``; indices outside ``[0, num_classes)`` give all zeros."""
    idx = _backend().asarray(_t(indices).value).astype("int64", copy=False)
    xp = _xp()
    classes = xp.arange(num_classes)
    return Tensor((idx[..., None] == classes).astype(dtype or config.floatx()))


def check_index_range(indices, limit, describe):
    """Raise ``ValueError(describe(bad_index))`` if an entry of ``indices`` lies outside
    ``[0, limit)``. One min/max reduction; on a GPU inside fit/evaluate/predict its two numbers
    are read when the loop (the epoch) ends, not per batch."""
    values = _t(indices).value
    if not values.size:
        return
    xp = _xp()
    bounds = xp.stack([xp.min(values).astype(xp.int64), xp.max(values).astype(xp.int64)])

    def failure(host):
        low, high = int(host[0]), int(host[1])
        if low < 0 or high >= limit:
            return ValueError(describe(low if low < 0 else high))
        return None
    _backend().check(bounds, failure)
