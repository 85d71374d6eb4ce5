"""Elementwise, linear-algebra and reduction ops."""
import math

import numpy

from .. import config
from ..autograd import result
from ..backends import current as _backend
from .core import _inverse, _nondiff, _shape, _t, _unbroadcast, _xp, cast


__all__ = [
    "abs", "absolute", "add", "all", "any", "argmax", "argmin", "ceil", "clip", "cos", "cumprod",
    "cumsum", "divide",
    "equal", "erf", "exp", "expm1", "floor", "greater", "greater_equal", "isfinite", "isnan",
    "less", "less_equal", "linear", "log", "log1p", "logical_and", "logical_not", "logical_or",
    "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "multiply", "negative",
    "norm", "not_equal", "power", "prod", "reciprocal", "round", "sign", "sin", "softsign",
    "sqrt", "square", "std", "subtract", "sum", "tanh", "tensordot", "true_divide", "var",
    "where"]


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
any = _nondiff(lambda xp, a, axis=None, keepdims=False: xp.any(a, axis=axis, keepdims=keepdims))
all = _nondiff(lambda xp, a, axis=None, keepdims=False: xp.all(a, axis=axis, keepdims=keepdims))
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
    count = math.prod(xv.shape[a] for a in axes)
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


# --- cumulative ---------------------------------------------------------------------------

def _reverse_cumsum(xp, g, axis):
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def cumsum(x, axis=0):
    """Running sum along ``axis``; its gradient is the reversed running sum of ``g``."""
    x = _t(x)
    xp = _xp()
    return result(xp.cumsum(x.value, axis=axis), (x,), lambda g: (_reverse_cumsum(xp, g, axis),))


def cumprod(x, axis=0):
    """Running product along ``axis``. As TensorFlow, the gradient divides by ``x``: it is not
    finite where ``x`` holds a zero."""
    x = _t(x)
    xp = _xp()
    xv = x.value
    out = xp.cumprod(xv, axis=axis)
    return result(out, (x,), lambda g: (_reverse_cumsum(xp, g * out, axis) / xv,))
