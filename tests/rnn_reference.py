"""Plain NumPy recurrences, one timestep at a time, written from Keras's cell equations: the
reference the recurrent ops, primitives and layers are tested against."""
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


ACTIVATIONS = {
    "tanh": np.tanh, "sigmoid": sigmoid, "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "relu": lambda x: np.maximum(x, 0), "linear": lambda x: x,
    "softsign": lambda x: x / (1 + np.abs(x)),
}


def _run(step, x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
         time_major):
    if time_major:
        x = np.swapaxes(x, 0, 1)
    batch, steps = x.shape[:2]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    for t in order:
        new = step(x[:, t], states)
        keep = np.ones((batch, 1), bool) if mask is None else np.asarray(mask)[:, t, None]
        states = [np.where(keep, n, s) for n, s in zip(new, states)]
        out = states[0]
        if zero_output_for_mask:
            out = np.where(keep, out, 0.0)
        outputs.append(out)
    y = np.stack(outputs, axis=1) if return_sequences else outputs[-1]  # 0 if masked, as Keras
    if return_sequences and time_major:
        y = np.swapaxes(y, 0, 1)
    return [y] + states


def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
         go_backwards=False, return_sequences=False, activation="tanh",
         recurrent_activation="sigmoid", recurrent_dropout_mask=None, zero_output_for_mask=False,
         time_major=False):
    act, ract = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    u = recurrent_kernel.shape[0]
    batch = x.shape[1] if time_major else x.shape[0]
    states = list(initial_state) if initial_state is not None else [np.zeros((batch, u))] * 2
    rdm = 1.0 if recurrent_dropout_mask is None else recurrent_dropout_mask

    def step(xt, s):
        h, c = s
        z = xt @ kernel + (0 if bias is None else bias) + (h * rdm) @ recurrent_kernel
        i, f, g, o = ract(z[:, :u]), ract(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), ract(z[:, 3 * u:])
        c = f * c + i * g
        return [o * act(c), c]
    return _run(step, x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
                time_major)


def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
        go_backwards=False, return_sequences=False, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, recurrent_dropout_mask=None,
        zero_output_for_mask=False, time_major=False):
    act, ract = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    u = recurrent_kernel.shape[0]
    batch = x.shape[1] if time_major else x.shape[0]
    states = list(initial_state) if initial_state is not None else [np.zeros((batch, u))]
    rdm = 1.0 if recurrent_dropout_mask is None else recurrent_dropout_mask
    if bias is None:
        bias = np.zeros((2, 3 * u)) if reset_after else np.zeros(3 * u)
    input_bias, recurrent_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros(3 * u))

    def step(xt, s):
        (h,) = s
        xw = xt @ kernel + input_bias
        hd = h * rdm
        if reset_after:
            hu = hd @ recurrent_kernel + recurrent_bias
            z = ract(xw[:, :u] + hu[:, :u])
            r = ract(xw[:, u:2 * u] + hu[:, u:2 * u])
            hh = act(xw[:, 2 * u:] + r * hu[:, 2 * u:])
        else:
            hu = hd @ recurrent_kernel[:, :2 * u]
            z = ract(xw[:, :u] + hu[:, :u])
            r = ract(xw[:, u:2 * u] + hu[:, u:])
            hh = act(xw[:, 2 * u:] + (r * hd) @ recurrent_kernel[:, 2 * u:])
        return [z * h + (1 - z) * hh]
    return _run(step, x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
                time_major)


def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None,
               go_backwards=False, return_sequences=False, activation="tanh",
               recurrent_dropout_mask=None, zero_output_for_mask=False, time_major=False):
    act = ACTIVATIONS[activation]
    u = recurrent_kernel.shape[0]
    batch = x.shape[1] if time_major else x.shape[0]
    states = list(initial_state) if initial_state is not None else [np.zeros((batch, u))]
    rdm = 1.0 if recurrent_dropout_mask is None else recurrent_dropout_mask

    def step(xt, s):
        (h,) = s
        return [act(xt @ kernel + (0 if bias is None else bias) + (h * rdm) @ recurrent_kernel)]
    return _run(step, x, states, mask, go_backwards, return_sequences, zero_output_for_mask,
                time_major)
