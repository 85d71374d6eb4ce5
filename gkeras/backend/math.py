"""Elementwise math, comparisons, reductions and products: ``K.mean``, ``K.dot``,
``K.batch_dot``..."""
import builtins
import math as _math

from .. import config, ops

__all__ = [
    "abs", "all", "any", "argmax", "argmin", "batch_dot", "clip", "cos", "cumprod", "cumsum",
    "dot", "equal", "exp", "greater", "greater_equal", "in_top_k", "l2_normalize", "less",
    "less_equal", "log", "logsumexp", "max", "maximum", "mean", "min", "minimum", "not_equal",
    "pow", "prod", "round", "sign", "sin", "sqrt", "square", "std", "sum", "var"]


def _float_if_bool(x):
    x = ops.convert_to_tensor(x)
    return ops.cast(x, config.floatx()) if x.dtype == bool else x


# --- reductions ------------------------------------------------------------------------------

def max(x, axis=None, keepdims=False):
    return ops.max(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return ops.min(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):
    return ops.sum(x, axis=axis, keepdims=keepdims)


def prod(x, axis=None, keepdims=False):
    return ops.prod(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean; booleans count as floatx 0 and 1."""
    return ops.mean(_float_if_bool(x), axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    """The biased variance (divided by the count)."""
    return ops.var(_float_if_bool(x), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return ops.std(_float_if_bool(x), axis=axis, keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """Logical or over ``axis`` of ``x`` taken as booleans."""
    return ops.any(ops.cast(x, bool), axis=axis, keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    return ops.all(ops.cast(x, bool), axis=axis, keepdims=keepdims)


def argmax(x, axis=-1):
    """Indices (int64) of the largest entries along ``axis``."""
    return ops.cast(ops.argmax(x, axis=axis), "int64")


def argmin(x, axis=-1):
    return ops.cast(ops.argmin(x, axis=axis), "int64")


def logsumexp(x, axis=None, keepdims=False):
    return ops.logsumexp(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis=0):
    return ops.cumsum(x, axis=axis)


def cumprod(x, axis=0):
    return ops.cumprod(x, axis=axis)


# --- elementwise -----------------------------------------------------------------------------

def square(x):
    return ops.square(x)


def abs(x):
    return ops.abs(x)


def sqrt(x):
    """The square root of ``x`` clipped to ``[0, inf]`` (negative entries give 0, as Keras 2)."""
    return ops.sqrt(ops.clip(x, 0.0, _math.inf))


def exp(x):
    return ops.exp(x)


def log(x):
    return ops.log(x)


def round(x):
    """Round half to even (as ``tf.round``)."""
    return ops.round(x)


def sign(x):
    return ops.sign(x)


def pow(x, a):
    return ops.power(x, a)


def clip(x, min_value, max_value):
    """Clip to ``[min_value, max_value]``; ``max_value`` None is +inf, and below
    ``min_value`` it is raised to ``min_value`` (Keras 2)."""
    if max_value is not None and max_value < min_value:
        max_value = min_value
    if max_value is None:
        max_value = _math.inf
    return ops.clip(x, min_value, max_value)


def sin(x):
    return ops.sin(x)


def cos(x):
    return ops.cos(x)


def maximum(x, y):
    return ops.maximum(x, y)


def minimum(x, y):
    return ops.minimum(x, y)


def equal(x, y):
    return ops.equal(x, y)


def not_equal(x, y):
    return ops.not_equal(x, y)


def greater(x, y):
    return ops.greater(x, y)


def greater_equal(x, y):
    return ops.greater_equal(x, y)


def less(x, y):
    return ops.less(x, y)


def less_equal(x, y):
    return ops.less_equal(x, y)


# --- products --------------------------------------------------------------------------------

def dot(x, y):
    """Matrix product; for N-D operands, ``numpy.dot``'s rule: the last axis of ``x`` with
    the second-to-last of ``y``, shape ``x.shape[:-1] + y.shape[:-2] + y.shape[-1:]``."""
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    if x.ndim > 2 or y.ndim > 2:
        return ops.tensordot(x, y, ([x.ndim - 1], [builtins.max(y.ndim - 2, 0)]))
    return ops.matmul(x, y)


def batch_dot(x, y, axes=None):
    """Keras 2.2.4's batchwise dot product, including its conventions: ``axes`` an int, a pair,
    or None (``(x.ndim - 1, y.ndim - 2)``; ``(1, 1)`` for two 2-D operands); the lower-rank operand gets trailing axes of size
    1, removed again from the result; a 1-D result becomes ``(batch, 1)``. For 2-D operands
    it sums ``x * y`` along ``axes[0]`` (``axes[0] == axes[1]``, else the transpose of ``x``
    times ``y`` along ``axes[1]``); otherwise it is a batched matrix product of the last two
    axes, with ``x``'s transposed unless ``axes[0]`` is its last axis and ``y``'s transposed
    when ``axes[1]`` is its last axis."""
    x, y = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    if isinstance(axes, int):
        axes = (axes, axes)
    x_ndim, y_ndim = x.ndim, y.ndim
    if axes is None:
        # two 2-D operands: 2.2.4's (1, 0) fails unless batch == dim; contract the features
        axes = (1, 1) if x_ndim == y_ndim == 2 else (x_ndim - 1, y_ndim - 2)
    if builtins.any(isinstance(a, (list, tuple)) for a in axes):
        raise ValueError("batch_dot: multiple target dimensions are not supported. Expected: "
                         f"None, int, (int, int), received axes={axes}.")
    diff = builtins.abs(x_ndim - y_ndim)
    if x_ndim > y_ndim:
        y = ops.reshape(y, y.shape + (1,) * diff)
    elif y_ndim > x_ndim:
        x = ops.reshape(x, x.shape + (1,) * diff)
    if x.ndim == 2 and y.ndim == 2:
        if axes[0] == axes[1]:
            out = ops.sum(x * y, axis=axes[0])
        else:
            out = ops.sum(ops.transpose(x, (1, 0)) * y, axis=axes[1])
    else:
        if axes[0] != x.ndim - 1:
            x = ops.swapaxes(x, -1, -2)
        if axes[1] == y.ndim - 1:
            y = ops.swapaxes(y, -1, -2)
        out = ops.matmul(x, y)
    if diff:
        start = x_ndim + y_ndim - 3 if x_ndim > y_ndim else x_ndim - 1
        out = ops.squeeze(out, tuple(range(start, start + diff)))
    if out.ndim == 1:
        out = ops.expand_dims(out, 1)
    return out


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x ** 2, axis), 1e-12))`` (``tf.nn.l2_normalize``)."""
    squares = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(squares, 1e-12))


def in_top_k(predictions, targets, k):
    """Whether each ``targets[i]`` is among the ``k`` largest ``predictions[i]`` (bool,
    ``(batch,)``). As ``tf.nn.in_top_k``: classes tied with the target's score count as in;
    a row with a non-finite score or a target outside ``[0, classes)`` is never in."""
    predictions = ops.convert_to_tensor(predictions)
    if predictions.ndim != 2:
        raise ValueError("in_top_k: predictions must be (batch, classes), received shape "
                         f"{predictions.shape}.")
    classes = predictions.shape[1]
    targets = ops.cast(targets, "int64")
    picked = ops.one_hot(targets, classes, dtype=bool)
    score = ops.sum(ops.where(picked, predictions, 0.0), axis=1, keepdims=True)
    above = ops.sum(ops.cast(ops.greater(predictions, score), "int32"), axis=1)
    valid = ops.logical_and(ops.all(ops.isfinite(predictions), axis=1),
                            ops.logical_and(ops.greater_equal(targets, 0),
                                            ops.less(targets, classes)))
    return ops.logical_and(ops.less(above, k), valid)
