"""Whole-sequence forward and backward passes of the recurrent layers (time loops).

Written once on a backend's ``xp`` (``numpy`` or ``cupy``) and its fused step primitives
(``backend.lstm_step_forward`` ..., contract in ``numpy_rnn.py``), so every backend inherits
them: the input projection of all timesteps is one GEMM, each step one GEMM (two for GRU with
``reset_after=False``) forward and the same backward, the weight gradients one GEMM each over
all timesteps. Every buffer is allocated once per call, never per step.

Shapes: ``x (T, B, D)`` time-major and contiguous (already reversed for ``go_backwards``),
``mask (T, B, 1)`` bool or None, ``recurrent_dropout`` a ``(B, u)`` scale applied to the state
before each recurrent product, or None. States are returned as ``(T + 1, B, u)`` sequences,
index 0 the initial state. ``dy`` is the ``(T, B, u)`` gradient w.r.t. the state output at each
step (None when only the last is used), ``dh_last``/``dc_last`` those w.r.t. the final states.
"""


def _projection(xp, x, kernel, bias):
    t, b, d = x.shape
    xw = xp.matmul(x.reshape(t * b, d), kernel)
    if bias is not None:
        xw += bias
    return xw.reshape(t, b, -1)


def _projection_backward(xp, x, kernel, dxw, use_bias, input_gradient):
    """Gradients of ``x @ kernel + bias`` for all steps at once: one GEMM each (none for
    ``x`` unless ``input_gradient``)."""
    t, b, d = x.shape
    d2 = dxw.reshape(t * b, -1)
    dkernel = xp.matmul(x.reshape(t * b, d).T, d2)
    dbias = d2.sum(axis=0) if use_bias else None
    dx = xp.matmul(d2, kernel.T).reshape(t, b, d) if input_gradient else None
    return dx, dkernel, dbias


def states(xp, first, steps):
    """A ``(T + 1, ...)`` state sequence, row 0 the initial state ``first``."""
    seq = xp.empty((steps + 1,) + first.shape, dtype=first.dtype)
    seq[0] = first
    return seq


def dropped(xp, sequence, recurrent_dropout):
    """The state fed to the recurrent products at each step (the state ``sequence`` itself
    without recurrent dropout): a ``(T, B, u)`` buffer filled during the loop, or the states."""
    if recurrent_dropout is None:
        return sequence
    return xp.empty((sequence.shape[0] - 1,) + sequence.shape[1:], dtype=sequence.dtype)


def _feed(xp, states, dropped, t, recurrent_dropout):
    if recurrent_dropout is None:
        return states[t]
    return xp.multiply(states[t], recurrent_dropout, out=dropped[t])


class StateGradient:
    """The running gradient w.r.t. the state ``h_t``, in two buffers swapped per step (the CPU
    extra's split backward pass starts from them too)."""

    def __init__(self, xp, dy, dh_last, shape, dtype):
        self.xp, self.dy = xp, dy
        self.current = xp.zeros(shape, dtype=dtype)
        self.next = xp.empty(shape, dtype=dtype)
        if dh_last is not None:
            self.current += dh_last
        if dy is not None:
            self.current += dy[-1]

    def step(self, t, recurrent_dropout, carry):
        """Finish ``next`` (which holds the gradient through the recurrent product) as the
        gradient w.r.t. ``h_{t-1}`` and make it current."""
        nxt = self.next
        if recurrent_dropout is not None:
            nxt *= recurrent_dropout
        if carry is not None:
            nxt += carry
        if self.dy is not None and t > 0:
            nxt += self.dy[t - 1]
        self.current, self.next = nxt, self.current


def _mask_at(mask, t):
    return None if mask is None else mask[t]


# --- LSTM ------------------------------------------------------------------------------------

def lstm_forward(backend, x, kernel, recurrent_kernel, bias, h0, c0, mask, recurrent_dropout,
                 activation, recurrent_activation, step=None):
    """``(H, C, saved)``; ``saved`` is what ``lstm_backward`` needs besides H and C. ``step``:
    a function with ``backend.lstm_step_forward``'s contract to call instead (a backend's
    choice made once for the sequence; a step that adds the bias to ``xw`` itself comes with
    ``bias`` None)."""
    xp = backend.xp
    step = step or backend.lstm_step_forward
    steps, batch = x.shape[:2]
    gates = _projection(xp, x, kernel, bias)  # becomes the activated gates, step by step
    h, c = states(xp, h0, steps), states(xp, c0, steps)
    act_c = xp.empty((steps,) + h0.shape, dtype=h0.dtype)
    fed = dropped(xp, h, recurrent_dropout)
    hu = xp.empty((batch, recurrent_kernel.shape[1]), dtype=h0.dtype)
    for t in range(steps):
        xp.matmul(_feed(xp, h, fed, t, recurrent_dropout), recurrent_kernel, out=hu)
        step(gates[t], hu, h[t], c[t], _mask_at(mask, t), gates[t], h[t + 1], c[t + 1],
             act_c[t], activation, recurrent_activation)
    return h, c, (gates, act_c, fed)


def lstm_backward(backend, dy, dh_last, dc_last, x, kernel, recurrent_kernel, use_bias, h, c,
                  saved, mask, recurrent_dropout, activation, recurrent_activation,
                  input_gradient=True, step=None):
    """``(dx, dkernel, drecurrent_kernel, dbias, dh0, dc0)``; ``step`` as ``lstm_forward``'s,
    for ``backend.lstm_step_backward``."""
    xp = backend.xp
    step = step or backend.lstm_step_backward
    gates, act_c, fed = saved
    steps = x.shape[0]
    shape, dtype = h.shape[1:], h.dtype
    dz = xp.empty(gates.shape, dtype=dtype)
    dh = StateGradient(xp, dy, dh_last, shape, dtype)
    dc = xp.zeros(shape, dtype=dtype) if dc_last is None else dc_last.astype(dtype, copy=True)
    dc_prev = xp.empty(shape, dtype=dtype)
    carry = None if mask is None else xp.empty(shape, dtype=dtype)
    recurrent_t = xp.ascontiguousarray(recurrent_kernel.T)  # OpenBLAS: ~1.5x faster per step
    for t in range(steps - 1, -1, -1):
        step(dh.current, dc, gates[t], c[t], act_c[t], _mask_at(mask, t), dz[t], carry, dc_prev,
             activation, recurrent_activation)
        xp.matmul(dz[t], recurrent_t, out=dh.next)
        dh.step(t, recurrent_dropout, carry)
        dc, dc_prev = dc_prev, dc
    dx, dkernel, dbias = _projection_backward(xp, x, kernel, dz, use_bias, input_gradient)
    u4 = dz.shape[-1]
    drecurrent = xp.matmul(fed[:steps].reshape(-1, shape[-1]).T, dz.reshape(-1, u4))
    return dx, dkernel, drecurrent, dbias, dh.current, dc


# --- GRU -------------------------------------------------------------------------------------

def gru_forward(backend, x, kernel, recurrent_kernel, input_bias, recurrent_bias, h0, mask,
                recurrent_dropout, activation, recurrent_activation, reset_after):
    """``(H, saved)``."""
    xp = backend.xp
    steps, batch = x.shape[:2]
    units = h0.shape[-1]
    xw = _projection(xp, x, kernel, input_bias)
    h = states(xp, h0, steps)
    fed = dropped(xp, h, recurrent_dropout)
    if reset_after:
        gates = xp.empty((steps, batch, 4 * units), dtype=h0.dtype)
        hu = xp.empty((batch, 3 * units), dtype=h0.dtype)
        for t in range(steps):
            xp.matmul(_feed(xp, h, fed, t, recurrent_dropout), recurrent_kernel, out=hu)
            backend.gru_step_forward(xw[t], hu, recurrent_bias, h[t], _mask_at(mask, t),
                                     gates[t], h[t + 1], activation, recurrent_activation)
        return h, (gates, fed, None)
    kernel_zr = xp.ascontiguousarray(recurrent_kernel[:, :2 * units])
    kernel_h = xp.ascontiguousarray(recurrent_kernel[:, 2 * units:])
    gates = xw  # activated in place, step by step
    rh = xp.empty((steps, batch, units), dtype=h0.dtype)
    hu_zr = xp.empty((batch, 2 * units), dtype=h0.dtype)
    rhu = xp.empty((batch, units), dtype=h0.dtype)
    for t in range(steps):
        hd = _feed(xp, h, fed, t, recurrent_dropout)
        xp.matmul(hd, kernel_zr, out=hu_zr)
        backend.gru_gates_forward(xw[t], hu_zr, hd, gates[t], rh[t], recurrent_activation)
        xp.matmul(rh[t], kernel_h, out=rhu)
        backend.gru_output_forward(xw[t], rhu, h[t], _mask_at(mask, t), gates[t], h[t + 1],
                                   activation)
    return h, (gates, fed, rh)


def gru_backward(backend, dy, dh_last, x, kernel, recurrent_kernel, use_bias, h, saved, mask,
                 recurrent_dropout, activation, recurrent_activation, reset_after,
                 input_gradient=True):
    """``(dx, dkernel, drecurrent_kernel, dinput_bias, drecurrent_bias, dh0)``;
    ``drecurrent_bias`` is None unless ``reset_after``."""
    xp = backend.xp
    gates, fed, rh = saved
    steps = x.shape[0]
    shape, dtype = h.shape[1:], h.dtype
    units = shape[-1]
    dxw = xp.empty((steps,) + shape[:-1] + (3 * units,), dtype=dtype)
    dh = StateGradient(xp, dy, dh_last, shape, dtype)
    carry = xp.empty(shape, dtype=dtype)
    if reset_after:
        dhu = xp.empty(dxw.shape, dtype=dtype)
        recurrent_t = xp.ascontiguousarray(recurrent_kernel.T)
        for t in range(steps - 1, -1, -1):
            backend.gru_step_backward(dh.current, gates[t], h[t], _mask_at(mask, t), dxw[t],
                                      dhu[t], carry, activation, recurrent_activation)
            xp.matmul(dhu[t], recurrent_t, out=dh.next)
            dh.step(t, recurrent_dropout, carry)
        drecurrent = xp.matmul(fed[:steps].reshape(-1, units).T, dhu.reshape(-1, 3 * units))
        drecurrent_bias = dhu.reshape(-1, 3 * units).sum(axis=0) if use_bias else None
    else:
        kernel_zr_t = xp.ascontiguousarray(recurrent_kernel[:, :2 * units].T)
        kernel_h_t = xp.ascontiguousarray(recurrent_kernel[:, 2 * units:].T)
        drh = xp.empty(shape, dtype=dtype)
        for t in range(steps - 1, -1, -1):
            hd = h[t] if recurrent_dropout is None else fed[t]
            backend.gru_output_backward(dh.current, gates[t], h[t], _mask_at(mask, t), dxw[t],
                                        carry, activation)
            xp.matmul(dxw[t, :, 2 * units:], kernel_h_t, out=drh)
            backend.gru_gates_backward(drh, gates[t], hd, dxw[t], recurrent_activation)
            xp.matmul(dxw[t, :, :2 * units], kernel_zr_t, out=dh.next)
            dh.next += drh
            dh.step(t, recurrent_dropout, carry)
        flat = dxw.reshape(-1, 3 * units)
        drecurrent = xp.concatenate(
            [xp.matmul(fed[:steps].reshape(-1, units).T, flat[:, :2 * units]),
             xp.matmul(rh.reshape(-1, units).T, flat[:, 2 * units:])], axis=1)
        drecurrent_bias = None
    dx, dkernel, dbias = _projection_backward(xp, x, kernel, dxw, use_bias, input_gradient)
    return dx, dkernel, drecurrent, dbias, drecurrent_bias, dh.current


# --- SimpleRNN -------------------------------------------------------------------------------

def simple_rnn_forward(backend, x, kernel, recurrent_kernel, bias, h0, mask, recurrent_dropout,
                       activation):
    """``(H, saved)``."""
    xp = backend.xp
    steps, batch = x.shape[:2]
    xw = _projection(xp, x, kernel, bias)
    h = states(xp, h0, steps)
    fed = dropped(xp, h, recurrent_dropout)
    hu = xp.empty(h0.shape, dtype=h0.dtype)
    for t in range(steps):
        xp.matmul(_feed(xp, h, fed, t, recurrent_dropout), recurrent_kernel, out=hu)
        backend.simple_rnn_step_forward(xw[t], hu, h[t], _mask_at(mask, t), h[t + 1],
                                        activation)
    return h, fed


def simple_rnn_backward(backend, dy, dh_last, x, kernel, recurrent_kernel, use_bias, h, saved,
                        mask, recurrent_dropout, activation, input_gradient=True):
    """``(dx, dkernel, drecurrent_kernel, dbias, dh0)``."""
    xp = backend.xp
    fed = saved
    steps = x.shape[0]
    shape, dtype = h.shape[1:], h.dtype
    dz = xp.empty((steps,) + shape, dtype=dtype)
    dh = StateGradient(xp, dy, dh_last, shape, dtype)
    carry = None if mask is None else xp.empty(shape, dtype=dtype)
    recurrent_t = xp.ascontiguousarray(recurrent_kernel.T)  # OpenBLAS: ~1.5x faster per step
    for t in range(steps - 1, -1, -1):
        backend.simple_rnn_step_backward(dh.current, h[t + 1], _mask_at(mask, t), dz[t], carry,
                                         activation)
        xp.matmul(dz[t], recurrent_t, out=dh.next)
        dh.step(t, recurrent_dropout, carry)
    dx, dkernel, dbias = _projection_backward(xp, x, kernel, dz, use_bias, input_gradient)
    drecurrent = xp.matmul(fed[:steps].reshape(-1, shape[-1]).T, dz.reshape(-1, shape[-1]))
    return dx, dkernel, drecurrent, dbias, dh.current
