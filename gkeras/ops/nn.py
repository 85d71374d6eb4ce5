"""Activation ops that are one op each: sigmoid, softplus, relu, softmax, log_softmax."""
from ..autograd import result
from ..backends import current as _backend
from .core import _t, _xp
from .math import _unary


__all__ = [
    "log_softmax", "relu", "sigmoid", "softmax", "softplus"]


def _sigmoid(xp, x):
    # exp of a non-positive argument only: no overflow for large |x|
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


_sigmoid_op = _unary(_sigmoid, lambda xp, x, y: y * (1 - y))


def sigmoid(x):
    """``1 / (1 + exp(-x))``; the output keeps ``x`` as its logits (``_keras_logits``:
    ``('sigmoid', x)``), from which ``binary_crossentropy`` computes, as Keras 3 on
    TensorFlow."""
    x = _t(x)
    out = _sigmoid_op(x)
    out._keras_logits = ("sigmoid", x)
    return out


def _softplus(xp, x):
    return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))


softplus = _unary(_softplus, lambda xp, x, y: _sigmoid(xp, x))


def relu(x):
    x = _t(x)
    backend = _backend()
    y = backend.xp.maximum(x.value, 0)
    # g * (y > 0), which is g * (x > 0) (a NaN gives False either way): one pass on the CPU
    # extra, which the ReLU layer after a BatchNormalization spends time in
    return result(y, (x,), lambda g: (backend.activation_backward(g, y, "relu"),))


# --- activations that are one op -----------------------------------------------------

def softmax(x, axis=-1):
    """The softmax along ``axis``; along the last axis the output keeps ``x`` as its logits
    (``_keras_logits``: ``('softmax', x)``), from which the categorical crossentropies along
    the last axis compute."""
    x = _t(x)
    xp = _xp()
    xv = x.value
    e = xp.exp(xv - xp.max(xv, axis=axis, keepdims=True))
    out = e / xp.sum(e, axis=axis, keepdims=True)

    def backward(g):
        gy = g * out
        return (gy - out * xp.sum(gy, axis=axis, keepdims=True),)
    output = result(out, (x,), backward)
    if isinstance(axis, int) and xv.ndim and axis % xv.ndim == xv.ndim - 1:
        output._keras_logits = ("softmax", x)
    return output


def log_softmax(x, axis=-1):
    x = _t(x)
    xp = _xp()
    xv = x.value
    shifted = xv - xp.max(xv, axis=axis, keepdims=True)
    out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return result(out, (x,), lambda g: (
        g - xp.exp(out) * xp.sum(g, axis=axis, keepdims=True),))
