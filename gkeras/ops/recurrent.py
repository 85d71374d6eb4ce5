"""Recurrent ops: ``lstm``, ``gru`` and ``simple_rnn`` over a whole sequence.

Each op is one node of the tape: its forward runs the backend's time loop (the input
projection of every step as one GEMM, one recurrent GEMM per step, fused elementwise gate
math) and its backward runs backpropagation through time with the same structure. Weights
use Keras's layouts and gate orders: ``kernel (input_dim, k*units)``, ``recurrent_kernel
(units, k*units)``, blocks ``i, f, c, o`` (LSTM) and ``z, r, h`` (GRU).

Common arguments: ``inputs (batch, timesteps, features)`` (``(timesteps, batch, features)``
with ``time_major=True``); ``mask`` a ``(batch, timesteps)`` boolean array (False: the step is
skipped, the states carry through unchanged); ``go_backwards`` processes the steps last to
first and returns the output sequence in that order, as Keras; ``recurrent_dropout_mask`` a
``(batch, units)`` scale applied to the state before every recurrent product (constant, not
differentiated); ``zero_output_for_mask`` makes the outputs of masked steps 0 instead of the
carried state. ``activation``/``recurrent_activation`` are names from
``backends.numpy_rnn.ACTIVATIONS``. Each op returns a list: the outputs, then the final states.
"""
from ..autograd import result
from ..backends import current as _backend
from ..backends.numpy_rnn import ACTIVATIONS
from .core import _t, getitem, transpose


__all__ = ["gru", "lstm", "simple_rnn"]


def _activation_name(op, name, value):
    if value not in ACTIVATIONS:
        raise ValueError(f"{op}: `{name}` must be one of {', '.join(ACTIVATIONS)} (the "
                         f"activations the fused recurrent step supports), received {value!r}.")
    return value


class _Sequence:
    """The op's inputs in the backend loops' terms: time-major, in processing order."""

    def __init__(self, op, inputs, kernel, recurrent_kernel, gates, initial_state, n_states,
                 mask, go_backwards, recurrent_dropout_mask, time_major):
        self.x, self.kernel, self.recurrent = _t(inputs), _t(kernel), _t(recurrent_kernel)
        if self.x.ndim != 3:
            raise ValueError(f"{op}: expected a 3-D input (batch, timesteps, features), "
                             f"received an input of shape {self.x.shape}.")
        units = self.recurrent.shape[0] if self.recurrent.ndim == 2 else None
        features = self.x.shape[-1]
        if units is None or self.recurrent.shape != (units, gates * units) or \
                self.kernel.shape != (features, gates * units):
            raise ValueError(f"{op}: expected kernel ({features}, {gates}*units) and "
                             f"recurrent_kernel (units, {gates}*units), received kernel "
                             f"{self.kernel.shape} and recurrent_kernel {self.recurrent.shape}.")
        self.units, self.go_backwards, self.time_major = units, go_backwards, time_major
        backend = _backend()
        xp = backend.xp
        xv = self.x.value
        self.steps, self.batch = (xv.shape[0], xv.shape[1]) if time_major else \
            (xv.shape[1], xv.shape[0])
        xt = xv if time_major else xp.swapaxes(xv, 0, 1)
        self.xt = xp.ascontiguousarray(xt[::-1] if go_backwards else xt)
        self.mask = None
        if mask is not None:
            mv = backend.asarray(_t(mask).value)
            if tuple(mv.shape) != (self.batch, self.steps):
                raise ValueError(f"{op}: expected a mask of shape (batch, timesteps) = "
                                 f"{(self.batch, self.steps)}, received {tuple(mv.shape)}.")
            mt = xp.swapaxes(mv.astype(bool), 0, 1)
            self.mask = xp.ascontiguousarray(mt[::-1] if go_backwards else mt)[:, :, None]
        self.dropout = None if recurrent_dropout_mask is None else backend.asarray(
            _t(recurrent_dropout_mask).value, dtype=xv.dtype)
        if initial_state is None:
            initial_state = []
        elif not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if len(initial_state) not in (0, n_states):
            raise ValueError(f"{op}: expected {n_states} initial state(s), received "
                             f"{len(initial_state)}.")
        self.states = [_t(s) for s in initial_state]
        for s in self.states:
            if s.shape != (self.batch, units):
                raise ValueError(f"{op}: each initial state must have shape (batch, units) = "
                                 f"{(self.batch, units)}, received {s.shape}.")
        zeros = xp.zeros((self.batch, units), dtype=xv.dtype)
        self.state_values = [s.value for s in self.states] or [zeros] * n_states

    def parents(self, *extra):
        return (self.x, self.kernel, self.recurrent) + tuple(
            e for e in extra if e is not None) + tuple(self.states)

    def pack(self, h_seq, finals, return_sequences, zero_output_for_mask):
        """One time-major array ``(n, batch, units)``: the outputs then the final states."""
        xp = _backend().xp
        head = h_seq[1:] if return_sequences else h_seq[-1:]
        if zero_output_for_mask and self.mask is not None:  # the last output too, as Keras
            head = head * (self.mask if return_sequences else self.mask[-1:])
        return xp.concatenate([head] + [f[None] for f in finals], axis=0)

    def unpack(self, packed, return_sequences, n_states):
        n_out = self.steps if return_sequences else 1
        outputs = getitem(packed, slice(0, n_out))
        if return_sequences:
            if not self.time_major:
                outputs = transpose(outputs, (1, 0, 2))
        else:
            outputs = getitem(outputs, 0)
        return [outputs] + [getitem(packed, n_out + k) for k in range(n_states)]

    def output_gradients(self, g, return_sequences, zero_output_for_mask, n_states):
        """``(dy, dh_last, [d other final states])`` from the packed gradient."""
        finals = [g[g.shape[0] - n_states + k] for k in range(n_states)]
        if return_sequences:
            dy = g[:self.steps]
            if zero_output_for_mask and self.mask is not None:
                dy = dy * self.mask
            return dy, finals[0], finals[1:]
        last = g[0] * self.mask[-1] if zero_output_for_mask and self.mask is not None else g[0]
        return None, finals[0] + last, finals[1:]

    def input_gradient(self, dx):
        if dx is None:
            return None
        dx = dx[::-1] if self.go_backwards else dx
        return dx if self.time_major else _backend().xp.swapaxes(dx, 0, 1)

    def state_gradients(self, grads):
        return tuple(grads) if self.states else ()


def lstm(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
         go_backwards=False, return_sequences=False, activation="tanh",
         recurrent_activation="sigmoid", recurrent_dropout_mask=None, zero_output_for_mask=False,
         time_major=False):
    """Keras's LSTM over a sequence: ``[outputs, h, c]``. ``bias (4*units,)`` or None;
    ``initial_state`` ``[h0, c0]`` or None (zeros)."""
    seq = _Sequence("lstm", inputs, kernel, recurrent_kernel, 4, initial_state, 2, mask,
                    go_backwards, recurrent_dropout_mask, time_major)
    act = _activation_name("lstm", "activation", activation)
    ract = _activation_name("lstm", "recurrent_activation", recurrent_activation)
    b = None if bias is None else _t(bias)
    backend = _backend()
    h, c, saved = backend.lstm_forward(seq.xt, seq.kernel.value, seq.recurrent.value,
                                       None if b is None else b.value, *seq.state_values,
                                       seq.mask, seq.dropout, act, ract)

    def backward(g):
        dy, dh_last, (dc_last,) = seq.output_gradients(g, return_sequences,
                                                       zero_output_for_mask, 2)
        dx, dk, dr, db, dh0, dc0 = backend.lstm_backward(
            dy, dh_last, dc_last, seq.xt, seq.kernel.value, seq.recurrent.value, b is not None,
            h, c, saved, seq.mask, seq.dropout, act, ract, seq.x.requires_grad)
        return (seq.input_gradient(dx), dk, dr) + (() if b is None else (db,)) + \
            seq.state_gradients((dh0, dc0))
    packed = result(seq.pack(h, (h[-1], c[-1]), return_sequences, zero_output_for_mask),
                    seq.parents(b), backward)
    return seq.unpack(packed, return_sequences, 2)


def gru(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        go_backwards=False, return_sequences=False, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, recurrent_dropout_mask=None,
        zero_output_for_mask=False, time_major=False):
    """Keras's GRU over a sequence: ``[outputs, h]``. ``reset_after=True`` (Keras 3's default)
    applies the reset gate after the recurrent product and takes ``bias (2, 3*units)`` (input
    bias, recurrent bias); ``reset_after=False`` (Keras 2's original) takes ``bias (3*units,)``."""
    seq = _Sequence("gru", inputs, kernel, recurrent_kernel, 3, initial_state, 1, mask,
                    go_backwards, recurrent_dropout_mask, time_major)
    act = _activation_name("gru", "activation", activation)
    ract = _activation_name("gru", "recurrent_activation", recurrent_activation)
    b = None if bias is None else _t(bias)
    expected = (2, 3 * seq.units) if reset_after else (3 * seq.units,)
    if b is not None and b.shape != expected:
        raise ValueError(f"gru: with reset_after={reset_after} the bias must have shape "
                         f"{expected}, received {b.shape}.")
    input_bias = recurrent_bias = None
    if b is not None:
        input_bias, recurrent_bias = (b.value[0], b.value[1]) if reset_after else (b.value, None)
    backend = _backend()
    h, saved = backend.gru_forward(seq.xt, seq.kernel.value, seq.recurrent.value, input_bias,
                                   recurrent_bias, seq.state_values[0], seq.mask, seq.dropout,
                                   act, ract, reset_after)

    def backward(g):
        dy, dh_last, _ = seq.output_gradients(g, return_sequences, zero_output_for_mask, 1)
        dx, dk, dr, db, drb, dh0 = backend.gru_backward(
            dy, dh_last, seq.xt, seq.kernel.value, seq.recurrent.value, b is not None, h, saved,
            seq.mask, seq.dropout, act, ract, reset_after, seq.x.requires_grad)
        if b is not None and reset_after:
            db = backend.xp.stack([db, drb])
        return (seq.input_gradient(dx), dk, dr) + (() if b is None else (db,)) + \
            seq.state_gradients((dh0,))
    packed = result(seq.pack(h, (h[-1],), return_sequences, zero_output_for_mask),
                    seq.parents(b), backward)
    return seq.unpack(packed, return_sequences, 1)


def simple_rnn(inputs, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               go_backwards=False, return_sequences=False, activation="tanh",
               recurrent_dropout_mask=None, zero_output_for_mask=False, time_major=False):
    """Keras's SimpleRNN over a sequence, ``h_t = activation(x_t @ kernel + bias + h_{t-1} @
    recurrent_kernel)``: ``[outputs, h]``."""
    seq = _Sequence("simple_rnn", inputs, kernel, recurrent_kernel, 1, initial_state, 1, mask,
                    go_backwards, recurrent_dropout_mask, time_major)
    act = _activation_name("simple_rnn", "activation", activation)
    b = None if bias is None else _t(bias)
    backend = _backend()
    h, saved = backend.simple_rnn_forward(seq.xt, seq.kernel.value, seq.recurrent.value,
                                          None if b is None else b.value, seq.state_values[0],
                                          seq.mask, seq.dropout, act)

    def backward(g):
        dy, dh_last, _ = seq.output_gradients(g, return_sequences, zero_output_for_mask, 1)
        dx, dk, dr, db, dh0 = backend.simple_rnn_backward(
            dy, dh_last, seq.xt, seq.kernel.value, seq.recurrent.value, b is not None, h, saved,
            seq.mask, seq.dropout, act, seq.x.requires_grad)
        return (seq.input_gradient(dx), dk, dr) + (() if b is None else (db,)) + \
            seq.state_gradients((dh0,))
    packed = result(seq.pack(h, (h[-1],), return_sequences, zero_output_for_mask),
                    seq.parents(b), backward)
    return seq.unpack(packed, return_sequences, 1)

