"""Batch and layer normalization primitives: the reference every backend's kernels match.

Every function takes the array module ``xp`` first; ``NumpyBackend`` exposes them as thin
methods (``backend.batch_norm_moments(x)`` ...). The ops (gkeras/ops/normalization.py) bring
any input to the canonical C-contiguous views below before calling them.

Batch normalization: statistics per channel
-------------------------------------------
``x`` is a C-contiguous (a, c, b) array: ``c`` channels (the normalized axis, or several
adjacent ones flattened), ``a`` = product of the axes before it, ``b`` = of the axes after
it. ``channels_last`` images (n, h, w, c) are (n*h*w, c, 1); ``channels_first`` images
(n, c, h, w) are (n, c, h*w); Dense activations (n, c) are (n, c, 1). Each channel's
statistics reduce over the ``count = a * b`` entries ``x[:, ch, :]``.

``acc`` ("accumulation dtype") is float64 for float64 inputs and float32 otherwise
(float16/bfloat16/float32): sums, means, variances and the backward reductions are
accumulated and returned in ``acc``; ``y`` and ``dx`` are new C-contiguous arrays of x's
shape and dtype. The ops always pass ``x`` and ``dy`` C-contiguous (same shape and dtype),
every per-channel/per-feature argument (mean, var, gamma, beta) as a C-contiguous 1-D array
in ``acc``, and ``epsilon`` as a Python float; ``batch_stats`` is a Python bool.

1. batch_norm_moments(x) -> (mean, var), both (c,) in ``acc``.
     mean[ch] = sum(x[:, ch, :]) / count
     var[ch]  = sum((x[:, ch, :] - mean[ch])**2) / count   (biased, as Keras; two-pass or
                Welford are both fine, E[x^2] - mean^2 is not: it cancels catastrophically)
2. batch_norm_forward(x, mean, var, gamma, beta, epsilon) -> y, (a, c, b) in x.dtype.
     mean, var, gamma, beta: (c,) (the ops pass ones/zeros for a missing gamma/beta).
     Per channel, in ``acc``:
       scale = gamma * rsqrt(var + epsilon);  shift = beta - mean * scale
       y = x * scale + shift
     (Keras 3's formulation, so results agree with it to the last float32 bits or so.)
     The same pass serves training (batch statistics) and inference (moving statistics).
3. batch_norm_backward(dy, x, mean, var, gamma, epsilon, batch_stats)
     -> (dx, sum_dy, sum_dy_xhat). dy, x: (a, c, b); mean, var: as saved from the forward
     (nothing else is saved: xhat is recomputed); gamma: (c,). Per channel, in ``acc``:
       inv = rsqrt(var + epsilon);  xhat = (x - mean) * inv
       sum_dy[ch]      = sum(dy[:, ch, :])              (the two reductions; also dbeta
       sum_dy_xhat[ch] = sum(dy[:, ch, :] * xhat)        and dgamma)
     batch_stats=True (mean/var were computed from this x, the training case):
       dx = gamma * inv * (dy - sum_dy / count - xhat * sum_dy_xhat / count)
     batch_stats=False (mean/var are constants, e.g. moving statistics):
       dx = gamma * inv * dy
     dx in x.dtype; sum_dy, sum_dy_xhat (c,) in ``acc``.

Layer normalization: statistics per row
---------------------------------------
``x`` is a C-contiguous (rows, d) array: each row is one example's normalized axes
flattened (the ops move those axes last). gamma/beta are (d,): one per feature.

4. layer_norm_forward(x, gamma, beta, epsilon) -> (y, mean, var); mean, var (rows,) in
     ``acc``, computed as in 1 but over each row's d entries; then per entry
       inv = rsqrt(var[r] + epsilon);  y = (x - mean[r]) * inv * gamma[j] + beta[j]
     (Keras 3: x * (inv * gamma) + (beta - mean * inv * gamma)).
5. layer_norm_backward(dy, x, mean, var, gamma, epsilon) -> (dx, dgamma, dbeta):
       g = dy * gamma[j];  xhat = (x - mean[r]) * inv[r]
       per row:     s1[r] = sum_j g,   s2[r] = sum_j g * xhat
       dx = inv[r] * (g - s1[r] / d - xhat * s2[r] / d)           (x.dtype)
       per column:  dgamma[j] = sum_r dy * xhat,  dbeta[j] = sum_r dy   ((d,) in acc)

For kernel writers
------------------
* Shapes to expect: b == 1 (channels_last, Dense: channel ch's entries are strided by c),
  a == 1 (layer-norm-like statistics), c == 1, count == 1 (var 0: y = beta), large a*b
  (N*H*W ~ 10^6) with small c (3..512), and, for layer norm, d from 1 to ~10^4.
* Tolerances the tests hold a backend to (tests/backends/test_norm_primitives.py), relative
  to a float64 computation: float32 statistics ~2e-5, outputs ~1e-4, backward ~2e-4;
  float16 inputs about 100 times looser. Keep accumulators in ``acc`` even for float16.
* Training calls 1 then 2 (two passes over x) and, on the tape, 3; inference calls 2 only.
  Nothing may be read back to the host (no synchronisation) inside any of them.
"""
import numpy


def accumulation_dtype(xp, dtype):
    """float64 stays float64; every other float accumulates in float32."""
    return xp.float64 if numpy.dtype(dtype) == numpy.float64 else xp.float32


class _Channels:
    """A (a, c, b) array as NumPy reduces and broadcasts it fastest: (a, c) when b == 1
    (channels_last; a length-1 inner axis would make every loop one element long)."""

    def __init__(self, x):
        a, c, b = x.shape
        self.shape = (a, c) if b == 1 else (a, c, b)
        self.axes = (0,) if b == 1 else (0, 2)

    def view(self, array):
        return array.reshape(self.shape)

    def per_channel(self, values):
        """(c,) values broadcast along the channel axis."""
        return values if len(self.shape) == 2 else values[:, None]


def batch_norm_moments(xp, x):
    acc = accumulation_dtype(xp, x.dtype)
    channels = _Channels(x)
    xa = channels.view(x).astype(acc, copy=False)
    mean = xp.mean(xa, axis=channels.axes)
    centered = xa - channels.per_channel(mean)
    var = xp.mean(centered * centered, axis=channels.axes)
    return mean, var


def inverse_std(xp, acc, var, epsilon):
    """``1 / sqrt(var + epsilon)`` per channel in ``acc``."""
    return 1 / xp.sqrt(var.astype(acc, copy=False) + epsilon)


def batch_norm_scale_shift(xp, acc, mean, var, gamma, beta, epsilon):
    """``(scale, shift)`` per channel in ``acc``, as ``batch_norm_forward`` applies them."""
    scale = gamma.astype(acc, copy=False) * inverse_std(xp, acc, var, epsilon)
    return scale, beta.astype(acc, copy=False) - mean.astype(acc, copy=False) * scale


def batch_norm_forward(xp, x, mean, var, gamma, beta, epsilon):
    acc = accumulation_dtype(xp, x.dtype)
    channels = _Channels(x)
    scale, shift = batch_norm_scale_shift(xp, acc, mean, var, gamma, beta, epsilon)
    y = channels.view(x).astype(acc, copy=False) * channels.per_channel(scale)
    y += channels.per_channel(shift)  # in place: one temporary less
    return y.astype(x.dtype, copy=False).reshape(x.shape)


def batch_norm_backward(xp, dy, x, mean, var, gamma, epsilon, batch_stats):
    acc = accumulation_dtype(xp, x.dtype)
    channels = _Channels(x)
    per_channel = channels.per_channel
    inv = inverse_std(xp, acc, var, epsilon)
    dy_acc = channels.view(dy).astype(acc, copy=False)
    xhat = channels.view(x).astype(acc, copy=False) - per_channel(mean.astype(acc, copy=False))
    xhat *= per_channel(inv)
    sum_dy = xp.sum(dy_acc, axis=channels.axes)
    sum_dy_xhat = xp.sum(dy_acc * xhat, axis=channels.axes)
    if batch_stats:
        xhat_factor, dy_shift, scale = batch_norm_dx_factors(
            acc, gamma, inv, sum_dy, sum_dy_xhat, x.shape[0] * x.shape[2])
        dx = xhat  # reused in place: dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat))
        dx *= per_channel(xhat_factor)
        dx += dy_acc
        dx -= per_channel(dy_shift)
        dx *= per_channel(scale)
    else:
        dx = per_channel(gamma.astype(acc, copy=False) * inv) * dy_acc
    return dx.astype(x.dtype, copy=False).reshape(x.shape), sum_dy, sum_dy_xhat


def batch_norm_dx_factors(acc, gamma, inv, sum_dy, sum_dy_xhat, count):
    """Per channel, ``dx = (xhat * xhat_factor + dy - dy_shift) * scale`` (batch statistics):
    ``(xhat_factor, dy_shift, scale)``."""
    return -sum_dy_xhat / count, sum_dy / count, gamma.astype(acc, copy=False) * inv


def layer_norm_forward(xp, x, gamma, beta, epsilon):
    acc = accumulation_dtype(xp, x.dtype)
    xa = x.astype(acc, copy=False)
    mean = xp.mean(xa, axis=1)
    centered = xa - mean[:, None]
    var = xp.mean(centered * centered, axis=1)
    inv = (1 / xp.sqrt(var + epsilon))[:, None] * gamma.astype(acc, copy=False)
    y = xa * inv + (beta.astype(acc, copy=False) - mean[:, None] * inv)
    return y.astype(x.dtype, copy=False), mean, var


def layer_norm_backward(xp, dy, x, mean, var, gamma, epsilon):
    acc = accumulation_dtype(xp, x.dtype)
    d = x.shape[1]
    inv = (1 / xp.sqrt(var.astype(acc, copy=False) + epsilon))[:, None]
    dy_acc = dy.astype(acc, copy=False)
    xhat = (x.astype(acc, copy=False) - mean.astype(acc, copy=False)[:, None]) * inv
    g = dy_acc * gamma.astype(acc, copy=False)
    s1 = xp.sum(g, axis=1, keepdims=True)
    s2 = xp.sum(g * xhat, axis=1, keepdims=True)
    dx = inv * (g - s1 / d - xhat * (s2 / d))
    return dx.astype(x.dtype, copy=False), xp.sum(dy_acc * xhat, axis=0), xp.sum(dy_acc, axis=0)
