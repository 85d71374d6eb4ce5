"""Fused chains: ``activation(x @ kernel + bias)`` as one op (``dense_bias_activation``).

The bias and the activation run on the matrix product's fresh output through the backend's
fused elementwise primitives (``backends/numpy_elementwise.py``; CUDA kernels on CuPy), and
the backward turns the incoming gradient into the pre-activation gradient in one pass from
the saved output (relu: ``y > 0``, sigmoid: ``y (1 - y)``, tanh: ``1 - y^2``) before the
two GEMMs and the bias sum (for relu, the CPU extra sums the bias gradient in that pass).
The values are those of ``linear`` followed by the activation op.
"""
from ..autograd import Tensor, result
from ..backends import current as _backend
from .core import _t, cast


__all__ = ["dense_bias_activation"]

FUSED_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")


def dense_bias_activation(x, kernel, bias=None, activation=None):
    """``activation(x @ kernel + bias)`` over the last axis of ``x`` as one op.

    ``activation``: None or one of 'linear', 'relu', 'sigmoid', 'tanh', 'softmax' (over the
    last axis). Sigmoid and softmax outputs keep their logits (``_keras_logits``), so the
    crossentropy losses compute from them, as after ``ops.sigmoid`` and ``ops.softmax``.
    """
    activation = "linear" if activation is None else activation
    if activation not in FUSED_ACTIVATIONS:
        raise ValueError(f"dense_bias_activation: activation must be None or one of "
                         f"{', '.join(FUSED_ACTIVATIONS)}; received activation={activation!r}.")
    x, kernel = _t(x), _t(kernel)
    if x.dtype.kind != "f":  # integer data: compute in the kernel's dtype (as ``linear``)
        x = cast(x, kernel.dtype)
    xv, kv = x.value, kernel.value
    if xv.ndim < 1 or kv.ndim != 2 or xv.shape[-1] != kv.shape[0]:
        raise ValueError(f"dense_bias_activation: expected inputs (..., k) and a kernel "
                         f"(k, units); received inputs of shape {xv.shape} and a kernel of "
                         f"shape {kv.shape}.")
    backend = _backend()
    x2 = xv.reshape(-1, xv.shape[-1]) if xv.ndim != 2 else xv
    out_shape = xv.shape[:-1] + (kv.shape[-1],)
    parents = (x, kernel)
    bias_value = None
    if bias is not None:
        bias = _t(bias)
        parents = (x, kernel, bias)
        bias_value = bias.value
    z = backend.matmul(x2, kv)

    def linear_backward(dz, bias_grad=None):
        gx = (dz @ kv.T).reshape(xv.shape) if x.requires_grad else None
        gk = x2.T @ dz if kernel.requires_grad else None
        if bias is None:
            return gx, gk
        if not bias.requires_grad:
            return gx, gk, None
        return gx, gk, dz.sum(axis=0) if bias_grad is None else bias_grad

    def rows(g):
        return g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g

    if activation in ("linear", "relu", "tanh"):
        y = backend.bias_activation(z, bias_value, activation)  # in place: z is ours
        if activation == "relu" and bias is not None and bias.requires_grad:
            # the bias gradient summed in the ReLU backward's pass
            return result(y.reshape(out_shape), parents, lambda g: linear_backward(
                *backend.activation_backward_bias_grad(rows(g), y, "relu")))
        return result(y.reshape(out_shape), parents, lambda g: linear_backward(
            backend.activation_backward(rows(g), y, activation)))

    # sigmoid, softmax: the logits z stay, for the losses that compute from them
    backend.bias_activation(z, bias_value, "linear")
    if activation == "sigmoid":
        y = backend.bias_activation(z.copy(), None, "sigmoid")
        derivative = backend.activation_backward
    else:
        y = backend.softmax_rows(z)

        def derivative(g, out, _):
            return backend.softmax_rows_backward(g, out)
    out = result(y.reshape(out_shape), parents, lambda g: linear_backward(
        derivative(rows(g), y, activation)))
    out._keras_logits = (activation, result(z.reshape(out_shape), parents,
                                            lambda g: linear_backward(rows(g))))
    return out


def dropout_multiplier(uniform, rate):
    """Inverted dropout's multiplier from uniform draws in [0, 1), computed in place on them:
    ``1 / (1 - rate)`` where a draw is ``>= rate`` (kept), else 0 (not differentiable; the
    dropout is ``multiply(inputs, multiplier)``, whose backward is one multiply)."""
    values = uniform.value if isinstance(uniform, Tensor) else uniform
    return Tensor(_backend().dropout_multiplier(values, float(rate)))
