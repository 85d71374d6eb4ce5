"""The CPU extra's batch normalization kernels (numba; imported through ``accel_kernels``, which
``numpy_accel`` hands to the backend), for channels_last arrays seen as ``(rows, c)``: the
passes of ``numpy_norm``'s contract that touch every entry, with the per-channel arithmetic
between them left to ``numpy_norm``'s own NumPy code.

Like every kernel of the extra they do the NumPy path's floating-point operations in the same
order, so the results are the NumPy path's bit for bit: NumPy sums a ``(rows, c)`` array over
its rows (``c >= 2``) row after row from 0, each channel's total added to in turn, which is
how the sums below run (serial for that reason: a split of the rows would change the order).
"""
import numba
from numpy import zeros as numpy_zeros

from .accel_jit import jit, parallel_jit


@jit
def channel_sums(x, total):
    """total[m] = x[:, m] summed row after row: ``x.sum(axis=0)``."""
    rows, c = x.shape
    acc = numpy_zeros(c, total.dtype)  # a local accumulator: stores that alias nothing
    for r in range(rows):
        for m in range(c):
            acc[m] += x[r, m]
    for m in range(c):
        total[m] = acc[m]


@jit
def centered_square_sums(x, mean, total):
    """total[m] = ``((x - mean) * (x - mean)).sum(axis=0)``, each difference and square
    rounded as NumPy's temporaries."""
    rows, c = x.shape
    acc = numpy_zeros(c, total.dtype)
    for r in range(rows):
        for m in range(c):
            d = x[r, m] - mean[m]
            acc[m] += d * d
    for m in range(c):
        total[m] = acc[m]


@parallel_jit
def batch_norm_scale_shift(x, scale, shift, y):
    """y = x * scale + shift per channel, rounded after the product as NumPy's ``y = x *
    scale; y += shift``."""
    rows, c = x.shape
    for r in numba.prange(rows):
        for m in range(c):
            y[r, m] = x[r, m] * scale[m] + shift[m]


@jit
def batch_norm_backward_sums(dy, x, mean, inv, sum_dy, sum_dy_xhat):
    """sum_dy = ``dy.sum(axis=0)``; sum_dy_xhat = ``(dy * xhat).sum(axis=0)`` with ``xhat =
    (x - mean) * inv``, in one pass."""
    rows, c = x.shape
    total, total_xhat = numpy_zeros(c, sum_dy.dtype), numpy_zeros(c, sum_dy.dtype)
    for r in range(rows):
        for m in range(c):
            g = dy[r, m]
            total[m] += g
            total_xhat[m] += g * ((x[r, m] - mean[m]) * inv[m])
    for m in range(c):
        sum_dy[m] = total[m]
        sum_dy_xhat[m] = total_xhat[m]


@parallel_jit
def batch_norm_backward_dx(dy, x, mean, inv, xhat_factor, dy_shift, scale, dx):
    """dx = ``(xhat * xhat_factor + dy - dy_shift) * scale`` per channel, with ``xhat = (x -
    mean) * inv`` computed again rather than stored: numpy_norm's in-place chain on xhat."""
    rows, c = x.shape
    for r in numba.prange(rows):
        for m in range(c):
            xhat = (x[r, m] - mean[m]) * inv[m]
            dx[r, m] = (xhat * xhat_factor[m] + dy[r, m] - dy_shift[m]) * scale[m]
