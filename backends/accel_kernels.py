"""Numba kernels of the optional CPU extra (``pip install gkeras[cpu]``); imported only by
``numpy_accel.load`` once numba is known to be importable.

Each kernel is one pass over memory doing what the NumPy path does in several, with the same
floating-point operations in the same order, so the results are the NumPy path's bit for bit
(except the sign of a zero, see ``numpy_accel``). The LSTM's kernels are in ``accel_lstm``, the
batch normalization's in ``accel_norm``.
Compiled on first use and cached on disk (``cache=True``): later processes load the machine
code instead of compiling it.

The convolution and pooling kernels are for channels_last arrays ``(n, h, w, c)``: their
innermost loop runs over the contiguous channels (numpy_accel sends channels_first and
few-channel arrays to the NumPy path, which is faster there).
"""
from math import inf

import numba
from numpy import sqrt as numpy_sqrt
from numpy import zeros as numpy_zeros

from .accel_jit import jit, parallel_jit

# Below this many elements a parallel kernel runs on the calling thread alone: waking the
# (passively waiting) worker threads costs 20-50 us a call, more than the split saves there
# (measured on 2 cores: Adam and the ReLU backward over 2**18 elements ran faster on one
# thread, over 2**20 on two; the MLP's six Adam updates, timed alone: 0.45 -> 0.23 ms).
PARALLEL_MIN_SIZE = 1 << 19


def thread_count():
    """The threads a parallel kernel splits its work over (numba's setting)."""
    return numba.get_num_threads()


def run_sized(kernel, size, *args):
    """``kernel(*args)`` for a pass over ``size`` elements: a parallel kernel's serial twin
    when ``size`` is under ``PARALLEL_MIN_SIZE``."""
    (kernel if size >= PARALLEL_MIN_SIZE else kernel.serial)(*args)


@parallel_jit
def max_pool(x, kh, kw, sh, sw, pt, pl, y, argmax):
    """y, argmax (n, oh, ow, c): each window's maximum and the offset i*kw + j of its first
    winner, padded positions acting as -inf; a NaN wins (the first one). The NumPy path's
    semantics exactly, windows of padding only included (-inf, offset 0). Offset by offset
    over one output row at a time, as the NumPy path over whole slices."""
    n, h, w, ch = x.shape
    oh, ow = y.shape[1], y.shape[2]
    for b in numba.prange(n):
        for oy in range(oh):
            for i in range(kh):
                r = oy * sh - pt + i
                row_inside = 0 <= r < h
                for j in range(kw):
                    k = i * kw + j
                    for ox in range(ow):
                        q = ox * sw - pl + j
                        inside = row_inside and 0 <= q < w
                        if k == 0:
                            for m in range(ch):
                                y[b, oy, ox, m] = x[b, r, q, m] if inside else -inf
                                argmax[b, oy, ox, m] = 0
                        elif inside:  # a padded -inf never beats the running maximum
                            for m in range(ch):
                                v = x[b, r, q, m]
                                best = y[b, oy, ox, m]
                                if v > best or (v != v and best == best):
                                    y[b, oy, ox, m] = v
                                    argmax[b, oy, ox, m] = k


@parallel_jit
def max_pool_backward_disjoint(dy, argmax, kh, kw, sh, sw, pt, pl, dx):
    """dx (n, h, w, c), zeroed by the caller (or windows tiling it exactly), for windows that
    do not overlap: every position a window reads gets its output's gradient where it won,
    else 0."""
    n, h, w, ch = dx.shape
    oh, ow = dy.shape[1], dy.shape[2]
    for b in numba.prange(n):
        for oy in range(oh):
            for ox in range(ow):
                for i in range(kh):
                    r = oy * sh - pt + i
                    if r < 0 or r >= h:
                        continue
                    for j in range(kw):
                        q = ox * sw - pl + j
                        if q < 0 or q >= w:
                            continue
                        k = i * kw + j
                        for m in range(ch):
                            won = argmax[b, oy, ox, m] == k
                            dx[b, r, q, m] = dy[b, oy, ox, m] if won else 0


@parallel_jit
def max_pool_backward_overlapping(dy, argmax, kh, kw, sh, sw, pt, pl, dx):
    """dx (n, h, w, c), zeroed by the caller: each output's gradient added at its winner,
    window offset by window offset (the NumPy path's order of additions)."""
    n, h, w, ch = dx.shape
    oh, ow = dy.shape[1], dy.shape[2]
    for b in numba.prange(n):
        for i in range(kh):
            for j in range(kw):
                k = i * kw + j
                for oy in range(oh):
                    r = oy * sh - pt + i
                    if r < 0 or r >= h:
                        continue
                    for ox in range(ow):
                        q = ox * sw - pl + j
                        if q < 0 or q >= w:
                            continue
                        for m in range(ch):
                            if argmax[b, oy, ox, m] == k:
                                dx[b, r, q, m] += dy[b, oy, ox, m]


@parallel_jit
def col2im(cols, kh, kw, sh, sw, dh, dw, pt, pl, dx):
    """dx (n, h, w, c) from cols (n, oh, ow, kh, kw, c): zeroed, then every window entry
    added onto the input position it was copied from, kernel offset by kernel offset (the
    order of the NumPy path's slice-adds)."""
    n, h, w, ch = dx.shape
    oh, ow = cols.shape[1], cols.shape[2]
    for b in numba.prange(n):
        for r in range(h):
            for q in range(w):
                for m in range(ch):
                    dx[b, r, q, m] = 0
        for i in range(kh):
            for j in range(kw):
                for oy in range(oh):
                    r = oy * sh - pt + i * dh
                    if r < 0 or r >= h:
                        continue
                    for ox in range(ow):
                        q = ox * sw - pl + j * dw
                        if q < 0 or q >= w:
                            continue
                        for m in range(ch):
                            dx[b, r, q, m] += cols[b, oy, ox, i, j, m]


@parallel_jit
def relu_backward(dy, y, dx):
    """dx = dy * (y > 0) over flat contiguous arrays (the product with an exact 0 or 1)."""
    for k in numba.prange(dx.size):
        dx[k] = dy[k] * (1.0 if y[k] > 0 else 0.0)


@jit
def relu_backward_bias_grad(dy, y, dz, db):
    """dz = dy * (y > 0) over (rows, d) arrays and db its column sums, added row after row
    in one pass (NumPy's order for ``dz.sum(axis=0)``, so the same bits; serial for that
    reason: a parallel split of the rows would change the order of the additions)."""
    rows, d = dy.shape
    total = numpy_zeros(d, db.dtype)  # a local accumulator: stores that alias nothing
    for r in range(rows):
        for m in range(d):
            v = dy[r, m] * (1.0 if y[r, m] > 0 else 0.0)
            dz[r, m] = v
            total[m] += v
    for m in range(d):
        db[m] = total[m]


@parallel_jit
def bias_relu(z, bias):
    """z = maximum(z + bias, 0) in place over (rows, d): NumPy's maximum, which keeps a NaN
    and the first operand of a tie (so -0.0 stays -0.0)."""
    rows, d = z.shape
    for r in numba.prange(rows):
        for m in range(d):
            v = z[r, m] + bias[m]
            z[r, m] = v if (v >= 0 or v != v) else 0


# numpy_accel reaches every kernel through this module: the LSTM's live in accel_lstm,
from .accel_lstm import (lstm_backward_split, lstm_cell_forward, lstm_forward_split,  # noqa: F401
                         lstm_gates_forward, lstm_output_forward, lstm_step_backward,
                         lstm_step_backward_masked)
# and the batch normalization's in accel_norm
from .accel_norm import (batch_norm_backward_dx, batch_norm_backward_sums,  # noqa: F401
                         batch_norm_scale_shift, centered_square_sums, channel_sums)


@jit
def scatter_add_rows(table, stale, indices, updates):
    """The Embedding's table gradient in a reused table: rows ``stale`` (the previous
    gradient's) zeroed, then each row of ``updates`` added to ``table[indices[i]]`` in the
    order of ``indices``, as NumPy's ``add.at`` (a repeated index accumulates): one sequential
    pass each, where the NumPy path sorts the indices to add the repeats in rounds."""
    columns = table.shape[1]
    for i in range(stale.size):
        row = stale[i]
        for j in range(columns):
            table[row, j] = 0
    for i in range(indices.size):
        row = indices[i]
        for j in range(columns):
            table[row, j] += updates[i, j]


@parallel_jit
def adam_update(weight, grad, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """numpy_optimizers.adam (without amsgrad) in one pass over 1-D arrays: the scalars come
    in the arrays' dtype, so each operation rounds as the NumPy pass it stands for."""
    for i in numba.prange(weight.size):
        g = grad[i]
        mi = m[i] + (g - m[i]) * one_minus_beta_1
        vi = v[i] + (g * g - v[i]) * one_minus_beta_2
        m[i] = mi
        v[i] = vi
        weight[i] = weight[i] - mi / (numpy_sqrt(vi) + epsilon) * alpha


@parallel_jit
def rmsprop_update(weight, grad, velocity, learning_rate, rho, one_minus_rho, epsilon):
    """numpy_optimizers.rmsprop (neither centered nor with momentum) in one pass."""
    for i in numba.prange(weight.size):
        g = grad[i]
        vi = velocity[i] * rho + g * g * one_minus_rho
        velocity[i] = vi
        weight[i] = weight[i] - g / numpy_sqrt(vi + epsilon) * learning_rate
