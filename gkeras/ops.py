"""Differentiable operations on tensors (``gkeras.ops``).

Each op takes Tensors, Variables, backend arrays, NumPy arrays or Python scalars, computes
with the active backend's array module, and records its backward closure when a
``GradientTape`` is open. Use them in custom layers and custom training loops.
"""
import builtins
import math
import numbers

import numpy

from .backends import current as _backend

from . import config
from .autograd import Tensor, result


def _xp():
    return _backend().xp


def convert_to_tensor(x, dtype=None):
    """A Tensor for ``x`` (returned as is when it is already a Tensor of that dtype)."""
    if isinstance(x, Tensor):
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


# --- elementwise binary ---------------------------------------------------------------

def add(a, b):
    a, b = _t(a), _t(b)
    sa, sb = _shape(a), _shape(b)
    return result(a.value + b.value, (a, b),
                  lambda g: (_unbroadcast(g, sa), _unbroadcast(g, sb)))


def subtract(a, b):
    a, b = _t(a), _t(b)
    sa, sb = _shape(a), _shape(b)
    return result(a.value - b.value, (a, b),
                  lambda g: (_unbroadcast(g, sa), _unbroadcast(-g, sb)))


def multiply(a, b):
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value

    def backward(g):
        return (_unbroadcast(g * bv, numpy.shape(av)) if a.requires_grad else None,
                _unbroadcast(g * av, numpy.shape(bv)) if b.requires_grad else None)
    return result(av * bv, (a, b), backward)


def divide(a, b):
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    out = av / bv

    def backward(g):
        return (_unbroadcast(g / bv, numpy.shape(av)) if a.requires_grad else None,
                _unbroadcast(-g * out / bv, numpy.shape(bv)) if b.requires_grad else None)
    return result(out, (a, b), backward)


true_divide = divide


def power(a, b):
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    out = av ** bv

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            ga = _unbroadcast(g * bv * av ** (bv - 1), numpy.shape(av))
        if b.requires_grad:
            gb = _unbroadcast(g * out * _xp().log(av), numpy.shape(bv))
        return ga, gb
    return result(out, (a, b), backward)


def maximum(a, b):
    """Elementwise maximum; where equal, the gradient goes to ``a`` (as TensorFlow)."""
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    take_a = av >= bv
    return result(_xp().maximum(av, bv), (a, b), lambda g: (
        _unbroadcast(g * take_a, numpy.shape(av)), _unbroadcast(g * ~take_a, numpy.shape(bv))))


def minimum(a, b):
    """Elementwise minimum; where equal, the gradient goes to ``a``."""
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    take_a = av <= bv
    return result(_xp().minimum(av, bv), (a, b), lambda g: (
        _unbroadcast(g * take_a, numpy.shape(av)), _unbroadcast(g * ~take_a, numpy.shape(bv))))


def where(condition, x, y):
    c = _t(condition).value
    x, y = _t(x), _t(y)
    out = _xp().where(c, x.value, y.value)
    sx, sy = _shape(x), _shape(y)
    return result(out, (x, y), lambda g: (
        _unbroadcast(_xp().where(c, g, 0), sx), _unbroadcast(_xp().where(c, 0, g), sy)))


# --- comparisons and other non-differentiable ops --------------------------------------

def _nondiff(fn):
    def op(*args, **kwargs):
        values = [_t(a).value if isinstance(a, (Tensor, numpy.ndarray)) or _backend().is_array(a)
                  else a for a in args]
        return Tensor(fn(_xp(), *values, **kwargs))
    op.__name__ = fn.__name__
    return op


equal = _nondiff(lambda xp, a, b: a == b)
not_equal = _nondiff(lambda xp, a, b: a != b)
greater = _nondiff(lambda xp, a, b: a > b)
greater_equal = _nondiff(lambda xp, a, b: a >= b)
less = _nondiff(lambda xp, a, b: a < b)
less_equal = _nondiff(lambda xp, a, b: a <= b)
logical_and = _nondiff(lambda xp, a, b: xp.logical_and(a, b))
logical_or = _nondiff(lambda xp, a, b: xp.logical_or(a, b))
logical_not = _nondiff(lambda xp, a: xp.logical_not(a))
sign = _nondiff(lambda xp, a: xp.sign(a))
round = _nondiff(lambda xp, a, decimals=0: xp.round(a, decimals))
floor = _nondiff(lambda xp, a: xp.floor(a))
ceil = _nondiff(lambda xp, a: xp.ceil(a))
argmax = _nondiff(lambda xp, a, axis=None, keepdims=False: xp.argmax(a, axis=axis,
                                                                      keepdims=keepdims))
argmin = _nondiff(lambda xp, a, axis=None, keepdims=False: xp.argmin(a, axis=axis,
                                                                      keepdims=keepdims))
isnan = _nondiff(lambda xp, a: xp.isnan(a))
isfinite = _nondiff(lambda xp, a: xp.isfinite(a))
zeros_like = _nondiff(lambda xp, a, dtype=None: xp.zeros_like(a, dtype=dtype))
ones_like = _nondiff(lambda xp, a, dtype=None: xp.ones_like(a, dtype=dtype))


def zeros(shape, dtype=None):
    return Tensor(_xp().zeros(shape, dtype=dtype or config.floatx()))


def ones(shape, dtype=None):
    return Tensor(_xp().ones(shape, dtype=dtype or config.floatx()))


def stop_gradient(x):
    return Tensor(_t(x).value)


def cast(x, dtype):
    x = _t(x)
    source = x.dtype
    out = _xp().asarray(x.value).astype(dtype)
    if numpy.dtype(dtype).kind != "f":
        return Tensor(out)
    return result(out, (x,), lambda g: (g.astype(source),))


# --- elementwise unary -----------------------------------------------------------------

def _unary(forward, derivative):
    """An op from ``forward(xp, x)`` and ``derivative(xp, x, out)`` (elementwise)."""
    def op(x):
        x = _t(x)
        xv = x.value
        out = forward(_xp(), xv)
        return result(out, (x,), lambda g: (g * derivative(_xp(), xv, out),))
    return op


negative = _unary(lambda xp, x: -x, lambda xp, x, y: -1)
exp = _unary(lambda xp, x: xp.exp(x), lambda xp, x, y: y)
log = _unary(lambda xp, x: xp.log(x), lambda xp, x, y: 1 / x)
log1p = _unary(lambda xp, x: xp.log1p(x), lambda xp, x, y: 1 / (1 + x))
expm1 = _unary(lambda xp, x: xp.expm1(x), lambda xp, x, y: y + 1)
sqrt = _unary(lambda xp, x: xp.sqrt(x), lambda xp, x, y: 0.5 / y)
square = _unary(lambda xp, x: x * x, lambda xp, x, y: 2 * x)
abs = _unary(lambda xp, x: xp.abs(x), lambda xp, x, y: xp.sign(x))
absolute = abs
tanh = _unary(lambda xp, x: xp.tanh(x), lambda xp, x, y: 1 - y * y)
sin = _unary(lambda xp, x: xp.sin(x), lambda xp, x, y: xp.cos(x))
cos = _unary(lambda xp, x: xp.cos(x), lambda xp, x, y: -xp.sin(x))
reciprocal = _unary(lambda xp, x: 1 / x, lambda xp, x, y: -y * y)
softsign = _unary(lambda xp, x: x / (1 + xp.abs(x)), lambda xp, x, y: 1 / (1 + xp.abs(x)) ** 2)
_erf = _unary(lambda xp, x: _backend().erf(x),
              lambda xp, x, y: (2 / math.sqrt(math.pi)) * xp.exp(-x * x))


def erf(x):
    x = _t(x)
    return _erf(x if x.dtype.kind == "f" else cast(x, config.floatx()))


def _sigmoid(xp, x):
    # exp of a non-positive argument only: no overflow for large |x|
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


sigmoid = _unary(_sigmoid, lambda xp, x, y: y * (1 - y))


def _softplus(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


softplus = _unary(_softplus, lambda xp, x, y: _sigmoid(xp, x))


def relu(x):
    x = _t(x)
    xv = x.value
    return result(_xp().maximum(xv, 0), (x,), lambda g: (g * (xv > 0),))


def clip(x, min_value, max_value):
    """Clip to [min, max]; gradient passes where the input lies inside (inclusive)."""
    x = _t(x)
    xv = x.value
    inside = (xv >= min_value) & (xv <= max_value)
    return result(_xp().clip(xv, min_value, max_value), (x,), lambda g: (g * inside,))


# --- linear algebra --------------------------------------------------------------------

def matmul(a, b):
    """Matrix product with NumPy's broadcasting rules over leading (batch) axes."""
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    xp = _xp()
    out = _backend().matmul(av, bv)

    def backward(g):
        ga = gb = None
        if a.requires_grad:
            if bv.ndim == 1:
                ga = g[..., None] * bv if av.ndim > 1 else g * bv
            else:
                gg = g if av.ndim > 1 else g[..., None, :]
                ga = xp.matmul(gg, xp.swapaxes(bv, -1, -2))
                if av.ndim == 1:
                    ga = ga[..., 0, :]
            ga = _unbroadcast(ga, av.shape)
        if b.requires_grad:
            if av.ndim == 1:
                # (k,) x (..., k, m) -> g (..., m): outer product per batch entry
                gb = av[:, None] * g[..., None, :] if bv.ndim > 1 else g * av
            elif bv.ndim == 1:
                gb = (xp.swapaxes(av, -1, -2) @ g[..., None])[..., 0]
            elif av.ndim == 2 and g.ndim == 2:
                gb = av.T @ g
            else:
                gb = xp.matmul(xp.swapaxes(av, -1, -2), g)
            gb = _unbroadcast(gb, bv.shape)
        return ga, gb
    return result(out, (a, b), backward)


def linear(x, kernel, bias=None):
    """``x @ kernel + bias`` over the last axis of ``x``: one GEMM forward, two backward."""
    x, kernel = _t(x), _t(kernel)
    if x.dtype.kind != "f":  # integer data: compute in the kernel's dtype (NumPy: float64)
        x = cast(x, kernel.dtype)
    xv, kv = x.value, kernel.value
    lead = xv.shape[:-1]
    x2 = xv.reshape(-1, xv.shape[-1]) if xv.ndim != 2 else xv
    out = _backend().matmul(x2, kv)
    if bias is not None:
        bias = _t(bias)
        out += bias.value
    if xv.ndim != 2:
        out = out.reshape(lead + (kv.shape[-1],))
    parents = (x, kernel) if bias is None else (x, kernel, bias)

    def backward(g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = (g2 @ kv.T).reshape(xv.shape) if x.requires_grad else None
        gk = x2.T @ g2 if kernel.requires_grad else None
        if bias is None:
            return gx, gk
        return gx, gk, g2.sum(axis=0) if bias.requires_grad else None
    return result(out, parents, backward)


def tensordot(a, b, axes=2):
    a, b = _t(a), _t(b)
    av, bv = a.value, b.value
    xp = _xp()
    if isinstance(axes, int):
        axes_a = list(range(av.ndim - axes, av.ndim))
        axes_b = list(range(axes))
    else:
        axes_a, axes_b = ([x] if isinstance(x, int) else list(x) for x in axes)
        axes_a = [x % av.ndim for x in axes_a]
        axes_b = [x % bv.ndim for x in axes_b]
    free_a = [i for i in range(av.ndim) if i not in axes_a]
    free_b = [i for i in range(bv.ndim) if i not in axes_b]
    out = xp.tensordot(av, bv, (axes_a, axes_b))

    def backward(g):
        na = len(free_a)
        ga = gb = None
        if a.requires_grad:
            # g (free_a, free_b) . b over free_b -> (free_a, contracted axes of b in b's
            # order), then undo the permutation
            t = xp.tensordot(g, bv, (list(range(na, g.ndim)), free_b))
            ga = xp.transpose(t, _inverse(free_a + [axes_a[j] for j in numpy.argsort(axes_b)]))
        if b.requires_grad:
            t = xp.tensordot(av, g, (free_a, list(range(na))))
            gb = xp.transpose(t, _inverse([axes_b[j] for j in numpy.argsort(axes_a)] + free_b))
        return ga, gb
    return result(out, (a, b), backward)


# --- reductions ------------------------------------------------------------------------

def _inverse(permutation):
    """The inverse permutation, as a tuple of Python ints (accepted by every backend)."""
    return tuple(int(i) for i in numpy.argsort(permutation))


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim for a in axis)


def _expand_reduced(g, axes, keepdims):
    if keepdims:
        return g
    xp = _xp()
    for a in sorted(axes):
        g = xp.expand_dims(g, a)
    return g


def sum(x, axis=None, keepdims=False):
    x = _t(x)
    xv = x.value
    axes = _axes(axis, xv.ndim)
    xp = _xp()
    return result(xp.sum(xv, axis=axes, keepdims=keepdims), (x,), lambda g: (
        xp.broadcast_to(_expand_reduced(g, axes, keepdims), xv.shape),))


def mean(x, axis=None, keepdims=False):
    x = _t(x)
    xv = x.value
    axes = _axes(axis, xv.ndim)
    count = int(numpy.prod([xv.shape[a] for a in axes]))
    xp = _xp()
    return result(xp.mean(xv, axis=axes, keepdims=keepdims), (x,), lambda g: (
        xp.broadcast_to(_expand_reduced(g, axes, keepdims) / count, xv.shape),))


def _extremum(reduce):
    def op(x, axis=None, keepdims=False):
        """The gradient is shared equally among tied extremal entries (as TensorFlow)."""
        x = _t(x)
        xv = x.value
        axes = _axes(axis, xv.ndim)
        xp = _xp()
        out = getattr(xp, reduce)(xv, axis=axes, keepdims=keepdims)

        def backward(g):
            hit = xv == _expand_reduced(out, axes, keepdims)
            ties = hit.sum(axis=axes, keepdims=True).astype(g.dtype)  # int counts: float64
            return (_expand_reduced(g, axes, keepdims) * hit / ties,)
        return result(out, (x,), backward)
    op.__name__ = reduce
    return op


max = _extremum("max")
min = _extremum("min")


def prod(x, axis=None, keepdims=False):
    """Product over ``axis``; exact for negative entries and zeros."""
    x = _t(x)
    xv = x.value
    axes = _axes(axis, xv.ndim)
    xp = _xp()
    out = xp.prod(xv, axis=axes, keepdims=keepdims)

    def backward(g):
        # d/dx_i = product of the other entries: out / x_i without zeros; with exactly one
        # zero only that entry gets the product of the rest; with two or more, all get 0.
        zero = xv == 0
        zeros = zero.sum(axis=axes, keepdims=True)
        rest = xp.prod(xp.where(zero, 1, xv), axis=axes, keepdims=True)
        others = xp.where(zero, rest * (zeros == 1), rest * (zeros == 0) / xp.where(zero, 1, xv))
        return (_expand_reduced(g, axes, keepdims) * others,)
    return result(out, (x,), backward)


def var(x, axis=None, keepdims=False):
    return mean(square(subtract(x, mean(x, axis=axis, keepdims=True))), axis=axis,
                keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    x = _t(x)
    xv = x.value
    axes = _axes(axis, xv.ndim)
    xp = _xp()
    peak = xp.max(xv, axis=axes, keepdims=True)
    peak = xp.where(xp.isfinite(peak), peak, 0)
    lse = xp.log(xp.sum(xp.exp(xv - peak), axis=axes, keepdims=True)) + peak
    out = lse if keepdims else xp.squeeze(lse, axis=axes)
    return result(out, (x,), lambda g: (
        _expand_reduced(g, axes, keepdims) * xp.exp(xv - lse),))


def norm(x, axis=None, keepdims=False):
    """The L2 norm over ``axis``."""
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))


# --- activations that are one op -----------------------------------------------------

def softmax(x, axis=-1):
    x = _t(x)
    xp = _xp()
    xv = x.value
    e = xp.exp(xv - xp.max(xv, axis=axis, keepdims=True))
    out = e / xp.sum(e, axis=axis, keepdims=True)

    def backward(g):
        gy = g * out
        return (gy - out * xp.sum(gy, axis=axis, keepdims=True),)
    return result(out, (x,), backward)


def log_softmax(x, axis=-1):
    x = _t(x)
    xp = _xp()
    xv = x.value
    shifted = xv - xp.max(xv, axis=axis, keepdims=True)
    out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return result(out, (x,), lambda g: (
        g - xp.exp(out) * xp.sum(g, axis=axis, keepdims=True),))


# --- shape manipulation ----------------------------------------------------------------

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


def broadcast_to(x, shape):
    x = _t(x)
    source = _shape(x)
    return result(_xp().broadcast_to(x.value, shape), (x,),
                  lambda g: (_unbroadcast(g, source),))


def concatenate(xs, axis=-1):
    xs = [_t(x) for x in xs]
    xp = _xp()
    out = xp.concatenate([x.value for x in xs], axis=axis)
    bounds = numpy.cumsum([_shape(x)[axis] for x in xs])[:-1]
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


def getitem(x, index):
    """``x[index]``; integer-array indices scatter-add their gradient."""
    x = _t(x)
    if isinstance(index, Tensor):
        index = index.value
    elif isinstance(index, tuple):
        index = tuple(i.value if isinstance(i, Tensor) else i for i in index)
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
        grad = xp.zeros_like(xv)
        moved = xp.moveaxis(grad, axis, 0)
        gm = xp.moveaxis(g, tuple(range(axis, axis + idx.ndim)), tuple(range(idx.ndim)))
        xp.add.at(moved, idx, gm)
        return (grad,)
    return result(xp.take(xv, idx, axis=axis), (x,), backward)


def one_hot(indices, num_classes, dtype=None):
    """A last axis of ``num_classes``; indices outside ``[0, num_classes)`` give all zeros."""
    idx = _backend().asarray(_t(indices).value).astype("int64", copy=False)
    xp = _xp()
    classes = xp.arange(num_classes)
    return Tensor((idx[..., None] == classes).astype(dtype or config.floatx()))


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
