"""Fused elementwise primitives: the reference every backend's kernels match.

They serve the chains a training step runs after a matrix product or before a loss: the
bias and activation of ``Dense`` (``gkeras.ops.dense_bias_activation``), softmax with
crossentropy computed from the logits (``gkeras.losses``), and the dropout multiplier
(``layers.Dropout``). Every function takes the array module ``xp`` first; ``NumpyBackend``
exposes them as thin methods. The ops pass C-contiguous 2-D ``(rows, d)`` arrays of one
float dtype, 1-D ``(d,)`` biases and ``(rows,)`` per-row values; scalars are Python floats.

Each formula below is written in the order of operations of gkeras's unfused ops
(``ops.relu``, ``ops.sigmoid``, ``ops.tanh``, ``ops.softmax``, the crossentropies): a fused
chain gives the bits of the chain of separate ops on NumPy.

1. bias_activation(z, bias, activation) -> z, modified in place.
     z += bias (broadcast over rows; bias None: no bias), then z = act(z) with act one of
     ``ACTIVATIONS``: linear (identity), relu max(z, 0), tanh, sigmoid
     (``e = exp(-|z|)``; ``1 / (1 + e)`` where z >= 0, else ``e / (1 + e)``: no overflow).
2. activation_backward(dy, y, activation) -> dz, a new array (``dy`` itself for linear):
     the derivative from the activation's OUTPUT y, times dy:
       relu dy * (y > 0);  sigmoid dy * (y * (1 - y));  tanh dy * (1 - y * y).
3. softmax_rows(z) -> y, new: ``e = exp(z - max(z)); y = e / sum(e)`` per row.
4. softmax_rows_backward(dy, y) -> dz, new: ``g = dy * y; dz = g - y * sum(g)`` per row.
5. softmax_crossentropy(logits, target) -> (loss, log_prob).
     Per row: ``s = z - max(z)``; ``log_prob = s - log(sum(exp(s)))``;
     ``loss = -sum(target * log_prob)`` (rows,). target: soft or one-hot, (rows, d).
6. softmax_crossentropy_backward(log_prob, target, g) -> dlogits, new:
     ``g[:, None] * (exp(log_prob) * sum(target) - target)``: p - y for one-hot targets,
     scaled by the upstream per-row gradient ``g`` (rows,) (sample weight / count).
7. sparse_softmax_crossentropy(logits, labels) -> (loss, log_prob): labels int64 (rows,),
     each in [0, d) (the ops check); ``loss = -log_prob[row, label]``.
8. sparse_softmax_crossentropy_backward(log_prob, labels, g) -> dlogits, new:
     ``g[:, None] * (exp(log_prob) - one_hot(labels))``.
9. dropout_multiplier(u, rate) -> u, modified in place: ``u`` holds uniform draws in
     [0, 1); each becomes ``1 / (1 - rate)`` where ``u >= rate`` (kept) else 0, in u's dtype
     (the scale rounded to it once). Multiplying by it is inverted dropout forward and
     backward.
"""

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")


def check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"unsupported fused activation {activation!r}; supported: "
                         f"{', '.join(ACTIVATIONS)}.")


def bias_activation(xp, z, bias, activation):
    check_activation(activation)
    if bias is not None:
        z += bias
    if activation == "relu":
        xp.maximum(z, 0, out=z)
    elif activation == "tanh":
        xp.tanh(z, out=z)
    elif activation == "sigmoid":
        e = xp.exp(-xp.abs(z))
        z[...] = xp.where(z >= 0, 1, e) / (1 + e)
    return z


def activation_backward(xp, dy, y, activation):
    check_activation(activation)
    if activation == "relu":
        return dy * (y > 0)
    if activation == "sigmoid":
        return dy * (y * (1 - y))
    if activation == "tanh":
        return dy * (1 - y * y)
    return dy


# reductions as array methods: NumPy's module functions add about a microsecond a call on
# these small per-step arrays
def softmax_rows(xp, z):
    e = xp.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_rows_backward(xp, dy, y):
    g = dy * y
    return g - y * g.sum(axis=-1, keepdims=True)


def _log_softmax_rows(xp, z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_crossentropy(xp, logits, target):
    log_prob = _log_softmax_rows(xp, logits)
    return -(target * log_prob).sum(axis=-1), log_prob


def softmax_crossentropy_backward(xp, log_prob, target, g):
    return g[:, None] * (xp.exp(log_prob) * target.sum(axis=-1, keepdims=True) - target)


def sparse_softmax_crossentropy(xp, logits, labels):
    log_prob = _log_softmax_rows(xp, logits)
    return -xp.take_along_axis(log_prob, labels[:, None], axis=-1)[:, 0], log_prob


def sparse_softmax_crossentropy_backward(xp, log_prob, labels, g):
    one_hot = labels[:, None] == xp.arange(log_prob.shape[-1])
    return g[:, None] * (xp.exp(log_prob) - one_hot.astype(log_prob.dtype))


def dropout_multiplier(xp, u, rate):
    scale = u.dtype.type(1.0 / (1.0 - rate))
    xp.multiply(u >= rate, scale, out=u)
    return u
