"""The CPU extra's LSTM kernels (numba; imported through ``accel_kernels``, which
``numpy_accel`` hands to the backend): the gate steps of ``numpy_rnn``'s contract, forward and
backward, and whole time loops that run NumPy's own gemm and tanh loop (``numpy_routines``)
between them. Like every kernel of the extra they do the NumPy path's floating-point
operations in the same order, so their results are the NumPy path's bit for bit.
"""
import numba
from numpy import empty as numpy_empty, intp as numpy_intp

from .numpy_routines import NO_TRANSPOSE, ROW_MAJOR

_jit = numba.njit(cache=True, nogil=True)


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
