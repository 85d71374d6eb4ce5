"""The CPU extra's LSTM kernels (numba; imported through ``accel_kernels``, which
``numpy_accel`` hands to the backend): the gate steps of ``numpy_rnn``'s contract, forward and
backward, and whole passes split over numba's threads that run NumPy's own gemm and tanh
loop (``numpy_routines``) between them. Like every kernel of the extra they do the NumPy
path's floating-point operations in the same order, so their results are the NumPy path's
bit for bit.
"""
import numba
from numpy import empty as numpy_empty, intp as numpy_intp

from . import numpy_routines
from .accel_jit import jit
from .numpy_routines import NO_TRANSPOSE, ROW_MAJOR, TRANSPOSE


# --- the LSTM's gate steps (contract: numpy_rnn.lstm_step_forward / _backward) ----------------
# activation codes: 0 tanh, 1 sigmoid, 2 hard_sigmoid, 3 relu, 4 linear, 5 softsign;
# k = (1, 0.2, 0, 0.5) in the arrays' dtype, so that float32 arithmetic stays float32.
# Each inner loop runs over one gate block of one row, ``for j in range(n)`` with the block's
# offset added in the index, and touches few arrays: LLVM vectorizes such loops. One loop over
# the four blocks at once, or ``range(lo, hi)`` (numba's negative-index check stays in), it
# did not: 3-5x slower.

@jit
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


@jit
def _hard_sigmoid(a, one, fifth, zero, half):
    """numpy_rnn.activate's hard_sigmoid: 0.2*a + 0.5, then maximum 0 (a NaN stays), then
    minimum 1."""
    a = a * fifth + half
    a = zero if a < zero else a
    return one if a > one else a


@jit
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


@jit
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


@jit
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


@jit
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


@jit
def lstm_step_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, act, ract, k):
    dct = numpy_empty(dh.shape[1], dh.dtype)
    for r in range(dh.shape[0]):
        _lstm_row_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, r, act, ract, k, dct)


@jit
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


@jit
def _numpy_unary(loop, a, out, call):
    """``out = f(a)`` through NumPy's inner loop ``loop`` of ``f`` (numpy_routines) over the
    C-contiguous ``a`` and ``out``; ``call`` (5,) scratch for the loop's pointer arguments."""
    call[0] = a.ctypes.data
    call[1] = out.ctypes.data
    call[2] = a.size
    call[3] = a.itemsize
    call[4] = out.itemsize
    loop(call.ctypes, call[2:].ctypes, call[3:].ctypes, 0)


# How the passes split their work over ``parts`` threads (numba's): the time loops by batch
# rows (each part's rows are independent through time: no step waits for another thread), the
# all-timestep products by rows or columns of their output. Every product is one or more calls
# of NumPy's own gemm on blocks of the product NumPy's path computes in one call, each block
# checked against that call before the pass is chosen (numpy_routines.split_product_is_exact),
# and the BLAS runs on one thread inside (blas_threads.single_threaded).

part_bounds = jit(numpy_routines.part_bounds)


@jit
def _product(gemm, a, b, c, columns, plan, one, zero):
    """``c = a @ b`` (C-contiguous 2-D, ``columns`` wide) by gemm calls on ``plan[0]`` column
    blocks, each over ``plan[1]`` parts of the inner dimension (the first writing, the others
    adding): small enough for OpenBLAS's small-matrix kernels, which skip the per-call packing
    of ``b`` that dominates the time loop's products, and cut as OpenBLAS cuts the whole."""
    rows, inner = a.shape
    for q in range(plan[0]):
        j0, j1 = part_bounds(q, plan[0], columns)
        for s in range(plan[1] if j1 > j0 else 0):
            k0, k1 = part_bounds(s, plan[1], inner)
            gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, rows, j1 - j0, k1 - k0, one,
                 a[:, k0:].ctypes, inner, b[k0:, j0:].ctypes, columns, zero if s == 0 else one,
                 c[:, j0:].ctypes, columns)


@numba.njit(cache=True, nogil=True, parallel=True)
def lstm_forward_split(gemm, tanh, x, kernel, bias, recurrent_kernel, gates, h, c, act_c, ract,
                       k, parts, plan, dropout, fed):
    """rnn_loops.lstm_forward (no mask) over ``parts`` threads: the input projection ``x @
    kernel`` into ``gates`` by rows, then the time loop by batch rows, each step's product of
    the state with ``recurrent_kernel`` by ``_product``'s ``plan`` and the forward step's
    kernels around NumPy's own tanh loop, as numpy_accel.lstm_forward_step runs them (``x``
    ``(T, B, D)``; ``h``, ``c`` hold the initial states in row 0; every array C-contiguous).
    ``dropout``: the recurrent dropout's ``(B, u)`` scale, the state times it written to
    ``fed[t]`` and multiplied instead; None: ``fed`` is not used."""
    steps, batch, features = x.shape
    width = kernel.shape[1]
    units = width // 4
    x_rows, gate_rows = x.reshape(steps * batch, features), gates.reshape(steps * batch, width)
    for p in numba.prange(parts):
        r0, r1 = part_bounds(p, parts, steps * batch)
        if r1 > r0:
            gemm(ROW_MAJOR, NO_TRANSPOSE, NO_TRANSPOSE, r1 - r0, width, features, k[0],
                 x_rows[r0:].ctypes, features, kernel.ctypes, width, k[2],
                 gate_rows[r0:].ctypes, width)
    for p in numba.prange(parts):
        r0, r1 = part_bounds(p, parts, batch)
        hu = numpy_empty((r1 - r0, width), gates.dtype)
        call = numpy_empty(5, numpy_intp)
        for t in range(steps if r1 > r0 else 0):
            g, a = gates[t, r0:r1], act_c[t, r0:r1]
            state = h[t, r0:r1]
            if dropout is not None:
                state = fed[t, r0:r1]
                for r in range(r1 - r0):
                    for j in range(units):
                        state[r, j] = h[t, r0 + r, j] * dropout[r0 + r, j]
            _product(gemm, state, recurrent_kernel, hu, width, plan, k[0], k[2])
            lstm_gates_forward(g, bias, hu, a, ract, k)
            if ract == 2:
                _numpy_unary(tanh, a, a, call)
            else:
                _numpy_unary(tanh, g, g, call)
            lstm_cell_forward(g, a, c[t, r0:r1], c[t + 1, r0:r1], ract, k)
            _numpy_unary(tanh, c[t + 1, r0:r1], a, call)
            lstm_output_forward(g, a, h[t, r0:r1], c[t, r0:r1], None, h[t + 1, r0:r1],
                                c[t + 1, r0:r1])


@numba.njit(cache=True, nogil=True, parallel=True)
def lstm_backward_split(gemm, dz, dy, gates, c, act_c, recurrent_t, dh, dh_next, dc, dc_prev,
                        act, ract, k, parts, plan, dropout, x, fed, kernel, dkernel, drecurrent,
                        dx):
    """rnn_loops.lstm_backward (no mask) over ``parts`` threads: the time loop by batch rows
    (the step kernel, ``dz[t] @ recurrent_t`` by ``_product``'s ``plan``, times ``dropout``
    unless None, ``+ dy[t - 1]`` unless ``dy`` is None: only the last output was used), then
    ``dkernel = x^T dz`` and ``drecurrent = fed^T dz`` by columns and ``dx = dz @ kernel^T``
    by rows (``dx`` None: no input gradient). On entry
    ``dh``, ``dc`` hold the gradients w.r.t. the last states and ``dh_next``, ``dc_prev`` are
    scratch; those w.r.t. the initial states end in ``dh``, ``dc`` after an even number of
    steps, else in ``dh_next``, ``dc_prev`` (``x (T*B, D)`` and ``fed (T*B, u)`` flat; every
    array C-contiguous)."""
    steps, batch, width = dz.shape
    units = width // 4
    for p in numba.prange(parts):
        r0, r1 = part_bounds(p, parts, batch)
        current, following = dh[r0:r1], dh_next[r0:r1]
        cell, cell_prev = dc[r0:r1], dc_prev[r0:r1]
        for t in range(steps - 1, -1, -1):
            if r1 == r0:
                break
            lstm_step_backward(current, cell, gates[t, r0:r1], c[t, r0:r1], act_c[t, r0:r1],
                               dz[t, r0:r1], cell_prev, act, ract, k)
            _product(gemm, dz[t, r0:r1], recurrent_t, following, units, plan, k[0], k[2])
            if dropout is not None:
                for r in range(r1 - r0):
                    for j in range(units):
                        following[r, j] *= dropout[r0 + r, j]
            if dy is not None and t > 0:
                for r in range(r1 - r0):
                    for j in range(units):
                        following[r, j] += dy[t - 1, r0 + r, j]
            current, following = following, current
            cell, cell_prev = cell_prev, cell
    rows, features = x.shape
    dz_rows = dz.reshape(rows, width)
    for p in numba.prange(parts):
        j0, j1 = part_bounds(p, parts, width)
        if j1 > j0:
            gemm(ROW_MAJOR, TRANSPOSE, NO_TRANSPOSE, features, j1 - j0, rows, k[0], x.ctypes,
                 features, dz_rows[:, j0:].ctypes, width, k[2], dkernel[:, j0:].ctypes, width)
            gemm(ROW_MAJOR, TRANSPOSE, NO_TRANSPOSE, units, j1 - j0, rows, k[0], fed.ctypes,
                 units, dz_rows[:, j0:].ctypes, width, k[2], drecurrent[:, j0:].ctypes, width)
        if dx is not None:
            r0, r1 = part_bounds(p, parts, rows)
            if r1 > r0:
                gemm(ROW_MAJOR, NO_TRANSPOSE, TRANSPOSE, r1 - r0, features, width, k[0],
                     dz_rows[r0:].ctypes, width, kernel.ctypes, width, k[2], dx[r0:].ctypes,
                     features)
