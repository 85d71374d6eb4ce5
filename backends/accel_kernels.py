"""Numba kernels of the optional CPU extra (``pip install gkeras[cpu]``); imported only by
``numpy_accel.load`` once numba is known to be importable.

Each kernel is one pass over memory doing what the NumPy path does in several, with the same
floating-point operations in the same order, so the results are the NumPy path's bit for bit
(except the sign of a zero, see ``numpy_accel``). The LSTM's sequence kernels run a whole
time loop in one call, with NumPy's own gemm and tanh (``numpy_routines``) between the step
kernels. Compiled on first use and cached on disk (``cache=True``): later processes load the
machine code instead of compiling it.

The convolution and pooling kernels are for channels_last arrays ``(n, h, w, c)``: their
innermost loop runs over the contiguous channels (numpy_accel sends channels_first and
few-channel arrays to the NumPy path, which is faster there).
"""
import types
from math import inf

import numba
from numpy import empty as numpy_empty, intp as numpy_intp, sqrt as numpy_sqrt
from numpy import zeros as numpy_zeros

from .numpy_routines import NO_TRANSPOSE, ROW_MAJOR

_jit = numba.njit(cache=True, nogil=True)

# Below this many elements a parallel kernel runs on the calling thread alone: waking the
# (passively waiting) worker threads costs 20-50 us a call, more than the split saves there
# (measured on 2 cores: Adam and the ReLU backward over 2**18 elements ran faster on one
# thread, over 2**20 on two; the MLP's six Adam updates, timed alone: 0.45 -> 0.23 ms).
PARALLEL_MIN_SIZE = 1 << 19


def _parallel_jit(function):
    """Elementwise passes over large arrays: ``function`` split across the cores (prange),
    with a ``serial`` twin compiled from the same code for ``run_sized`` (prange as range):
    switching numba's thread count around a call instead took ~5 % of the MLP's step
    (py-spy). The twin has a name of its own because numba's on-disk cache tells the two
    apart by name, not by the ``parallel`` flag."""
    name = function.__name__ + "_serial"
    serial = types.FunctionType(function.__code__, function.__globals__, name,
                                function.__defaults__, function.__closure__)
    serial.__qualname__, serial.__doc__ = function.__qualname__ + "_serial", function.__doc__
    kernel = numba.njit(cache=True, nogil=True, parallel=True)(function)
    # NumPy's error model, as the parallel loop body's: a division by zero gives inf/nan
    # instead of a check that stops LLVM vectorizing the loop (Adam's stayed scalar)
    kernel.serial = numba.njit(cache=True, nogil=True, error_model="numpy")(serial)
    return kernel


def run_sized(kernel, size, *args):
    """``kernel(*args)`` for a pass over ``size`` elements: a parallel kernel's serial twin
    when ``size`` is under ``PARALLEL_MIN_SIZE``."""
    (kernel if size >= PARALLEL_MIN_SIZE else kernel.serial)(*args)


@_parallel_jit
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


@_parallel_jit
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


@_parallel_jit
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


@_parallel_jit
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


@_parallel_jit
def relu_backward(dy, y, dx):
    """dx = dy * (y > 0) over flat contiguous arrays (the product with an exact 0 or 1)."""
    for k in numba.prange(dx.size):
        dx[k] = dy[k] * (1.0 if y[k] > 0 else 0.0)


@_jit
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


@_parallel_jit
def bias_relu(z, bias):
    """z = maximum(z + bias, 0) in place over (rows, d): NumPy's maximum, which keeps a NaN
    and the first operand of a tie (so -0.0 stays -0.0)."""
    rows, d = z.shape
    for r in numba.prange(rows):
        for m in range(d):
            v = z[r, m] + bias[m]
            z[r, m] = v if (v >= 0 or v != v) else 0


# --- the LSTM's gate steps (contract: numpy_rnn.lstm_step_forward / _backward) ----------------
# activation codes: 0 tanh, 1 sigmoid, 2 hard_sigmoid, 3 relu, 4 linear, 5 softsign;
# k = (1, 0.2, 0, 0.5) in the arrays' dtype, so that float32 arithmetic stays float32.
# Each inner loop runs over one gate block of one row, ``for j in range(n)`` with the block's
# offset added in the index, and touches few arrays: LLVM vectorizes such loops. One loop over
# the four blocks at once, or ``range(lo, hi)`` (numba's negative-index check stays in), it
# did not: 3-5x slower.

@_jit
def _derivative(code, y, constants):
    """name'(x) from y = name(x), as numpy_rnn.times_derivative computes it."""
    one, fifth, zero = constants
    if code == 0:
        return one - y * y
    if code == 1:
        return (one - y) * y
    if code == 2:
        return fifth if zero < y < one else zero
    if code == 3:
        return one if y > zero else zero
    if code == 5:
        d = one - abs(y)
        return d * d
    return one


@_jit
def _hard_sigmoid(a, one, fifth, zero, half):
    """numpy_rnn.activate's hard_sigmoid: 0.2*a + 0.5, then maximum 0 (a NaN stays), then
    minimum 1."""
    a = a * fifth + half
    a = zero if a < zero else a
    return one if a > one else a


@_jit
def lstm_gates_forward(gates, bias, hu, act_c, ract, k):
    """The forward step up to its first tanh. ``gates`` holds ``xw`` and becomes ``a = (xw +
    bias) + hu`` (``bias`` None: ``xw`` has it already) with the recurrent activation applied
    to blocks i, f, o: in full for hard_sigmoid (ract 2), the block c's pre-activation copied
    to ``act_c``; halved for sigmoid (ract 1: the caller takes tanh of the whole of
    ``gates``, block c included, and ``lstm_cell_forward`` finishes 0.5*t + 0.5)."""
    one, fifth, zero, half = k[0], k[1], k[2], k[3]
    b, u = act_c.shape
    for r in range(b):
        if bias is not None:  # pruned at compile time without a bias
            for j in range(4 * u):
                gates[r, j] = gates[r, j] + bias[j]
        if ract == 2:
            for j in range(u):
                gates[r, j] = _hard_sigmoid(gates[r, j] + hu[r, j], one, fifth, zero, half)
            for j in range(u):
                gates[r, u + j] = _hard_sigmoid(gates[r, u + j] + hu[r, u + j], one, fifth,
                                                zero, half)
            for j in range(u):
                act_c[r, j] = gates[r, 2 * u + j] + hu[r, 2 * u + j]
            for j in range(u):
                gates[r, 3 * u + j] = _hard_sigmoid(gates[r, 3 * u + j] + hu[r, 3 * u + j],
                                                    one, fifth, zero, half)
        else:
            for j in range(2 * u):
                gates[r, j] = (gates[r, j] + hu[r, j]) * half
            for j in range(u):
                gates[r, 2 * u + j] = gates[r, 2 * u + j] + hu[r, 2 * u + j]
            for j in range(u):
                gates[r, 3 * u + j] = (gates[r, 3 * u + j] + hu[r, 3 * u + j]) * half


@_jit
def lstm_cell_forward(gates, act_c, c_prev, c, ract, k):
    """After that tanh: the gates finished (block c from ``act_c`` for hard_sigmoid; i, f, o
    0.5*t + 0.5 for sigmoid) and ``c = f*c_prev + i*g`` on every row (masked ones too, as
    the NumPy path: ``lstm_output_forward`` puts ``c_prev`` back there)."""
    half = k[3]
    b, u = c.shape
    for r in range(b):
        if ract == 2:
            for j in range(u):
                gates[r, 2 * u + j] = act_c[r, j]
        else:
            for j in range(2 * u):
                gates[r, j] = gates[r, j] * half + half
            for j in range(u):
                gates[r, 3 * u + j] = gates[r, 3 * u + j] * half + half
        for j in range(u):
            c[r, j] = gates[r, u + j] * c_prev[r, j] + gates[r, j] * gates[r, 2 * u + j]


@_jit
def lstm_output_forward(gates, act_c, h_prev, c_prev, mask, h, c):
    """``h = o*act_c`` (``act_c = tanh(c)`` from the caller); on masked rows ``h_prev`` and
    ``c_prev`` instead (``mask`` None: no masked rows, pruned at compile time)."""
    b, u = h.shape
    for r in range(b):
        if mask is not None:
            if not mask[r, 0]:
                for j in range(u):
                    h[r, j] = h_prev[r, j]
                for j in range(u):
                    c[r, j] = c_prev[r, j]
                continue
        for j in range(u):
            h[r, j] = gates[r, 3 * u + j] * act_c[r, j]


@_jit
def _lstm_row_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, r, act, ract, k, dct):
    """One row; ``dct (u,)`` scratch: the gradient w.r.t. the new cell state (all paths)."""
    u = dh.shape[1]
    constants = (k[0], k[1], k[2])  # values: loads from ``k`` in the loops would not vectorize
    for j in range(u):
        dct[j] = dh[r, j] * gates[r, 3 * u + j] * _derivative(act, act_c[r, j], constants) \
            + dc[r, j]
    for j in range(u):
        dz[r, j] = dct[j] * gates[r, 2 * u + j] * _derivative(ract, gates[r, j], constants)
    for j in range(u):
        dz[r, u + j] = dct[j] * c_prev[r, j] * _derivative(ract, gates[r, u + j], constants)
    for j in range(u):
        dz[r, 2 * u + j] = dct[j] * gates[r, j] * _derivative(act, gates[r, 2 * u + j], constants)
    for j in range(u):
        dz[r, 3 * u + j] = dh[r, j] * act_c[r, j] * _derivative(ract, gates[r, 3 * u + j],
                                                                 constants)
    for j in range(u):
        dc_prev[r, j] = dct[j] * gates[r, u + j]


@_jit
def lstm_step_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, act, ract, k):
    dct = numpy_empty(dh.shape[1], dh.dtype)
    for r in range(dh.shape[0]):
        _lstm_row_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, r, act, ract, k, dct)


@_jit
def lstm_step_backward_masked(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev, act,
                              ract, k):
    """Masked rows: dz 0, the state gradients passed on unchanged."""
    u = dh.shape[1]
    dct = numpy_empty(u, dh.dtype)
    for r in range(dh.shape[0]):
        if mask[r, 0]:
            _lstm_row_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, r, act, ract, k, dct)
            for j in range(u):
                dh_carry[r, j] = 0
        else:
            for j in range(4 * u):
                dz[r, j] = 0
            for j in range(u):
                dc_prev[r, j] = dc[r, j]
                dh_carry[r, j] = dh[r, j]


@_jit
def _numpy_unary(loop, a, out, call):
    """``out = f(a)`` through NumPy's inner loop ``loop`` of ``f`` (numpy_routines) over the
    C-contiguous ``a`` and ``out``; ``call`` (5,) scratch for the loop's pointer arguments."""
    call[0] = a.ctypes.data
    call[1] = out.ctypes.data
    call[2] = a.size
    call[3] = a.itemsize
    call[4] = out.itemsize
    loop(call.ctypes, call[2:].ctypes, call[3:].ctypes, 0)


@_jit
def lstm_forward_sequence(gemm, tanh, gates, bias, recurrent_kernel, h, c, act_c, ract, k):
    """rnn_loops.lstm_forward's time loop (no mask, no recurrent dropout) in one call: per step
    ``hu = h[t] @ recurrent_kernel`` by NumPy's own gemm, then the forward step's kernels around
    NumPy's own tanh loop, as numpy_accel.lstm_forward_step runs them from Python (``gemm``,
    ``tanh``: numpy_routines; every array C-contiguous)."""
    steps, batch, width = gates.shape
    units = width // 4
    hu = numpy_empty((batch, width), gates.dtype)
    call = numpy_empty(5, numpy_intp)
    for t in range(steps):
        gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, batch, width, units, k[0], h[t].ctypes,
             units, recurrent_kernel.ctypes, width, k[2], hu.ctypes, width)
        lstm_gates_forward(gates[t], bias, hu, act_c[t], ract, k)
        if ract == 2:
            _numpy_unary(tanh, act_c[t], act_c[t], call)
        else:
            _numpy_unary(tanh, gates[t], gates[t], call)
        lstm_cell_forward(gates[t], act_c[t], c[t], c[t + 1], ract, k)
        _numpy_unary(tanh, c[t + 1], act_c[t], call)
        lstm_output_forward(gates[t], act_c[t], h[t], c[t], None, h[t + 1], c[t + 1])


@_jit
def lstm_backward_sequence(gemm, dz, dy, gates, c, act_c, recurrent_t, dh, dh_next, dc, dc_prev,
                           act, ract, k):
    """rnn_loops.lstm_backward's time loop (no mask, no recurrent dropout) in one call: per step
    the step kernel, ``dh_next = dz[t] @ recurrent_t`` by NumPy's gemm, then ``+= dy[t - 1]``
    (``dy`` None: only the last output was used). On entry ``dh``, ``dc`` hold the gradients
    w.r.t. the last states and ``dh_next``, ``dc_prev`` are scratch; returns the two buffers
    that hold those w.r.t. the initial states (``dz``, ``recurrent_t``, ``dh``, ``dh_next``
    C-contiguous)."""
    steps, batch, width = dz.shape
    units = width // 4
    for t in range(steps - 1, -1, -1):
        lstm_step_backward(dh, dc, gates[t], c[t], act_c[t], dz[t], dc_prev, act, ract, k)
        gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, batch, units, width, k[0], dz[t].ctypes,
             width, recurrent_t.ctypes, units, k[2], dh_next.ctypes, units)
        if dy is not None and t > 0:
            for r in range(batch):
                for j in range(units):
                    dh_next[r, j] += dy[t - 1, r, j]
        dh, dh_next = dh_next, dh
        dc, dc_prev = dc_prev, dc
    return dh, dc


@_jit
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


@_parallel_jit
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


@_parallel_jit
def rmsprop_update(weight, grad, velocity, learning_rate, rho, one_minus_rho, epsilon):
    """numpy_optimizers.rmsprop (neither centered nor with momentum) in one pass."""
    for i in numba.prange(weight.size):
        g = grad[i]
        vi = velocity[i] * rho + g * g * one_minus_rho
        velocity[i] = vi
        weight[i] = weight[i] - g / numpy_sqrt(vi + epsilon) * learning_rate
