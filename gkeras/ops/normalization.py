"""Normalization ops: Keras 3's ``moments``, ``batch_normalization``, ``layer_normalization``
and Keras 2's ``normalize_batch_in_training`` (batch statistics, normalization and their
fused backward in one tape node, what ``BatchNormalization`` uses in training).

Each brings its input to the canonical contiguous views of the backend primitives
(backends/numpy_norm.py): (a, c, b) with per-channel statistics for batch normalization,
(rows, d) with per-row statistics for layer normalization.
"""
import math
import numbers

import numpy

from .. import config
from ..autograd import Tensor, result
from ..backends import current as _backend
from .core import _t, cast


__all__ = ["batch_normalization", "layer_normalization", "moments",
           "normalize_batch_in_training"]


def _axes(op, ndim, axis, name="axis"):
    """``axis`` (an int or ints) as a sorted tuple of distinct non-negative axes of ``ndim``."""
    items = (axis,) if isinstance(axis, numbers.Integral) else axis
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool)
                                for a in items):
        raise ValueError(f"{op}: `{name}` must be an integer or a list of integers, received "
                         f"{name}={axis!r}.")
    if not all(-ndim <= a < ndim for a in items):
        raise ValueError(f"{op}: `{name}`={axis!r} is out of range for an input of rank "
                         f"{ndim}.")
    out = tuple(sorted({int(a) % ndim for a in items}))
    if len(out) != len(items):
        raise ValueError(f"{op}: `{name}` repeats an axis, received {name}={axis!r}.")
    return out


def _float(x):
    return x if x.dtype.kind == "f" else cast(x, config.floatx())


class _ChannelView:
    """How an array with per-channel axes ``kept`` becomes the (a, c, b) primitive layout:
    directly when ``kept`` is one run of adjacent axes, else after moving ``kept`` last."""

    def __init__(self, shape, kept):
        self.shape = tuple(shape)
        ndim = len(shape)
        adjacent = not kept or kept == tuple(range(kept[0], kept[-1] + 1))
        reduced = tuple(a for a in range(ndim) if a not in kept)
        self.perm = None if adjacent else reduced + kept
        if self.perm is None:
            first, last = (kept[0], kept[-1] + 1) if kept else (ndim, ndim)
            moved = self.shape
        else:
            first, last = len(reduced), ndim
            moved = tuple(self.shape[a] for a in self.perm)
        self.moved_shape = moved
        self.view = (math.prod(moved[:first]), math.prod(moved[first:last]),
                     math.prod(moved[last:]))
        self.count = self.view[0] * self.view[2]

    def to_view(self, array):
        xp = _backend().xp
        if self.perm is not None:
            array = xp.transpose(array, self.perm)
        return xp.ascontiguousarray(array).reshape(self.view)

    def from_view(self, array):
        xp = _backend().xp
        array = array.reshape(self.moved_shape)
        if self.perm is not None:
            array = xp.transpose(array, tuple(int(i) for i in numpy.argsort(self.perm)))
        return array


def _accumulation(dtype):
    """The primitives' statistics and parameter dtype: float64 for float64, else float32."""
    return "float64" if numpy.dtype(dtype) == numpy.float64 else "float32"


def _per_channel(op, name, value, channels, dtype, default=None):
    """``(tensor or None, contiguous (channels,) array in the accumulation dtype of
    ``dtype``)`` for a gamma/beta/mean/variance argument; None gives ``default`` filled
    (ones or zeros) or None."""
    xp = _backend().xp
    acc = _accumulation(dtype)
    if value is None:
        return None, None if default is None else xp.full(channels, default, acc)
    t = _t(value)
    if t.size != channels:
        raise ValueError(f"{op}: `{name}` must hold one value per normalized channel "
                         f"({channels}), received shape {tuple(t.shape)}.")
    return t, xp.ascontiguousarray(xp.asarray(t.value).reshape(channels).astype(acc))


def moments(x, axes, keepdims=False, synchronized=False):
    """``(mean, variance)`` of ``x`` over ``axes`` (Keras 3's ``keras.ops.moments``).

    The variance is the biased one (divided by the count), as Keras. Statistics of float16
    inputs are accumulated in float32; both results have ``x``'s dtype (float for integers).
    ``synchronized`` is accepted for compatibility (there is one device).
    """
    x = _float(_t(x))
    reduced = _axes("moments", x.ndim, axes, "axes")
    kept = tuple(a for a in range(x.ndim) if a not in reduced)
    geometry = _ChannelView(x.shape, kept)
    backend = _backend()
    xp = backend.xp
    x3 = geometry.to_view(x.value)
    mean, var = backend.batch_norm_moments(x3)
    out_shape = tuple(1 if a in reduced else n for a, n in enumerate(x.shape)) if keepdims \
        else tuple(x.shape[a] for a in kept)
    mean_out = mean.astype(x.dtype, copy=False).reshape(out_shape)
    var_out = var.astype(x.dtype, copy=False).reshape(out_shape)
    count = geometry.count

    def mean_backward(g):
        g3 = xp.broadcast_to(g.reshape(1, -1, 1), geometry.view) / count
        return (geometry.from_view(g3.astype(x.dtype, copy=False)),)

    def var_backward(g):
        centered = x3 - mean.astype(x.dtype, copy=False).reshape(1, -1, 1)
        g3 = centered * (g.reshape(1, -1, 1) * (2 / count))
        return (geometry.from_view(g3.astype(x.dtype, copy=False)),)
    return (result(mean_out, (x,), mean_backward), result(var_out, (x,), var_backward))


def _channel_axes(op, ndim, axis):
    kept = _axes(op, ndim, axis)
    if kept != tuple(range(kept[0], kept[-1] + 1)):
        raise ValueError(f"{op}: the normalized axes must be adjacent, received axis={axis!r}.")
    return kept


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset`` with per-channel ``mean``,
    ``variance``, ``offset`` and ``scale`` along ``axis`` (Keras 3's
    ``keras.ops.batch_normalization``). Each of them holds one value per channel (shape
    ``(c,)`` or any shape of that size) and gets its gradient.
    """
    op = "batch_normalization"
    x = _float(_t(x))
    geometry = _ChannelView(x.shape, _channel_axes(op, x.ndim, axis))
    backend = _backend()
    xp = backend.xp
    c = geometry.view[1]
    dtype = x.dtype
    mean_t, mean_v = _per_channel(op, "mean", mean, c, dtype)
    var_t, var_v = _per_channel(op, "variance", variance, c, dtype)
    if mean_t is None or var_t is None:
        raise ValueError(f"{op}: `mean` and `variance` are required.")
    offset_t, beta = _per_channel(op, "offset", offset, c, dtype, default=0.0)
    scale_t, gamma = _per_channel(op, "scale", scale, c, dtype, default=1.0)
    x3 = geometry.to_view(x.value)
    y = backend.batch_norm_forward(x3, mean_v, var_v, gamma, beta, epsilon)
    parents = tuple(t for t in (x, mean_t, var_t, offset_t, scale_t) if t is not None)

    def backward(g):
        dx, sum_dy, sum_dy_xhat = backend.batch_norm_backward(
            geometry.to_view(g), x3, mean_v, var_v, gamma, epsilon, batch_stats=False)
        inv = 1 / xp.sqrt(var_v + epsilon)
        scaled = gamma * inv
        grads = {id(x): geometry.from_view(dx), id(mean_t): -scaled * sum_dy,
                 id(var_t): -0.5 * scaled * inv * sum_dy_xhat}
        if offset_t is not None:
            grads[id(offset_t)] = sum_dy
        if scale_t is not None:
            grads[id(scale_t)] = sum_dy_xhat
        return tuple(_like(grads[id(t)], t) for t in parents)
    return result(geometry.from_view(y), parents, backward)


def _like(grad, tensor):
    """A parameter gradient in its tensor's shape and dtype."""
    shape = tensor.shape
    return grad.reshape(shape).astype(tensor.dtype, copy=False) if shape else \
        grad.reshape(()).astype(tensor.dtype)


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """``(normed, mean, variance)``: ``x`` normalized with its own statistics over
    ``reduction_axes`` (Keras 2's ``K.normalize_batch_in_training``), then scaled by
    ``gamma`` and shifted by ``beta`` (either may be None).

    ``normed`` has one tape node whose backward is the fused two-reduction batch-norm
    gradient (through the statistics too). ``mean`` and ``variance`` (per channel, the
    biased variance) are returned without gradient: they feed the moving statistics.
    """
    op = "normalize_batch_in_training"
    x = _float(_t(x))
    reduced = _axes(op, x.ndim, reduction_axes, "reduction_axes")
    kept = tuple(a for a in range(x.ndim) if a not in reduced)
    if not kept:
        raise ValueError(f"{op}: `reduction_axes` must leave the channel axis, received "
                         f"reduction_axes={reduction_axes!r} for an input of rank {x.ndim}.")
    kept = _channel_axes(op, x.ndim, kept)
    geometry = _ChannelView(x.shape, kept)
    backend = _backend()
    c = geometry.view[1]
    gamma_t, gamma_v = _per_channel(op, "gamma", gamma, c, x.dtype, default=1.0)
    beta_t, beta_v = _per_channel(op, "beta", beta, c, x.dtype, default=0.0)
    x3 = geometry.to_view(x.value)
    mean, var = backend.batch_norm_moments(x3)
    y = backend.batch_norm_forward(x3, mean, var, gamma_v, beta_v, epsilon)
    parents = tuple(t for t in (x, gamma_t, beta_t) if t is not None)

    def backward(g):
        dx, sum_dy, sum_dy_xhat = backend.batch_norm_backward(
            geometry.to_view(g), x3, mean, var, gamma_v, epsilon, batch_stats=True)
        grads = {id(x): geometry.from_view(dx)}
        if gamma_t is not None:
            grads[id(gamma_t)] = sum_dy_xhat
        if beta_t is not None:
            grads[id(beta_t)] = sum_dy
        return tuple(_like(grads[id(t)], t) for t in parents)
    stats_shape = tuple(x.shape[a] for a in kept)
    return (result(geometry.from_view(y), parents, backward),
            Tensor(mean.astype(x.dtype, copy=False).reshape(stats_shape)),
            Tensor(var.astype(x.dtype, copy=False).reshape(stats_shape)))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """Normalize each example over ``axis`` (an int or ints), then scale by ``gamma`` and
    shift by ``beta`` (each None or one value per normalized entry: the shape of those
    axes), as Keras 3's ``keras.ops.layer_normalization``; ``epsilon=None`` is
    ``gkeras.config.epsilon()``.
    """
    op = "layer_normalization"
    x = _float(_t(x))
    epsilon = config.epsilon() if epsilon is None else epsilon
    normalized = _axes(op, x.ndim, axis)
    d = math.prod(x.shape[a] for a in normalized)
    backend = _backend()
    gamma_t, gamma_v = _per_channel(op, "gamma", gamma, d, x.dtype, default=1.0)
    beta_t, beta_v = _per_channel(op, "beta", beta, d, x.dtype, default=0.0)
    to_rows, from_rows = _rows(x.shape, normalized, d)
    x2 = to_rows(x.value)
    y, mean, var = backend.layer_norm_forward(x2, gamma_v, beta_v, epsilon)
    parents = tuple(t for t in (x, gamma_t, beta_t) if t is not None)

    def backward(g):
        dx, dgamma, dbeta = backend.layer_norm_backward(to_rows(g), x2, mean, var, gamma_v,
                                                        epsilon)
        grads = {id(x): from_rows(dx)}
        if gamma_t is not None:
            grads[id(gamma_t)] = dgamma
        if beta_t is not None:
            grads[id(beta_t)] = dbeta
        return tuple(_like(grads[id(t)], t) for t in parents)
    return result(from_rows(y), parents, backward)


def _rows(shape, normalized, d):
    """To and from the (rows, d) view: a reshape when the normalized axes are the last ones,
    else they are moved last (a copy) and back."""
    xp = _backend().xp
    ndim = len(shape)
    if normalized == tuple(range(ndim - len(normalized), ndim)):
        return (lambda a: xp.ascontiguousarray(a).reshape(-1, d),
                lambda a: a.reshape(shape))
    rest = tuple(a for a in range(ndim) if a not in normalized)
    perm = rest + normalized
    moved = tuple(shape[a] for a in perm)
    inverse = tuple(int(i) for i in numpy.argsort(perm))
    return (lambda a: xp.ascontiguousarray(xp.transpose(a, perm)).reshape(-1, d),
            lambda a: xp.transpose(a.reshape(moved), inverse))
