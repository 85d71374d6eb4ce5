"""Connectionist temporal classification: ``K.ctc_batch_cost`` and ``K.ctc_decode`` (greedy),
as Keras 2.2.4 over ``tf.nn.ctc_loss`` and ``tf.nn.ctc_greedy_decoder``: the blank is the
last class, repeated labels are merged."""
import numpy

from .. import config, ops

__all__ = ["ctc_batch_cost", "ctc_decode"]

# log(0) stand-in: finite, so that logsumexp and its gradient stay finite on unreachable paths
_NEG = -1e30


def _log_probs(y_pred):
    """Keras 2.2.4 feeds ``log(y_pred + epsilon)`` to TensorFlow as logits: normalized again."""
    return ops.log_softmax(ops.log(ops.convert_to_tensor(y_pred) + config.epsilon()), axis=-1)


def _lengths(lengths):
    """``(batch,)`` int64 lengths from ``(batch,)`` or ``(batch, 1)``."""
    lengths = ops.cast(lengths, "int64")
    return ops.reshape(lengths, (-1,))


def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    """The CTC loss of each sample, ``(batch, 1)``.

    ``y_true (batch, max_label_length)``: labels in ``[0, classes - 1)``, padding beyond
    ``label_length`` ignored; ``y_pred (batch, time, classes)``: softmax outputs, the last
    class the blank; ``input_length``, ``label_length``: ``(batch, 1)`` lengths. The forward
    (alpha) recursion runs over time in log space, vectorized over the batch and the label
    positions; it is differentiable w.r.t. ``y_pred``. An impossible alignment (a label longer
    than its input allows) gives a loss near 1e30 (TensorFlow: inf).
    """
    log_probs = _log_probs(y_pred)
    batch, steps, classes = log_probs.shape
    labels = ops.clip(ops.cast(y_true, "int64"), 0, classes - 2)  # padding: any valid label
    max_label = labels.shape[1]
    positions = 2 * max_label + 1  # blank, l1, blank, l2, ..., blank
    blank = classes - 1
    # the extended label sequence: blanks at even positions, labels at odd ones
    blanks = ops.zeros((batch, max_label), dtype="int64") + blank
    extended = ops.reshape(ops.stack([blanks, labels], axis=2), (batch, 2 * max_label))
    extended = ops.concatenate([extended, ops.getitem(blanks, (slice(None), slice(0, 1)))],
                               axis=1)
    # emissions (batch, time, positions): one gather
    emit = ops.getitem(log_probs, (numpy.arange(batch)[:, None, None],
                                   numpy.arange(steps)[None, :, None],
                                   ops.expand_dims(extended, 1)))
    # a skip from s - 2 is allowed onto a label that differs from the label two back
    previous_label = ops.concatenate(
        [ops.zeros((batch, 2), dtype="int64") + blank,
         ops.getitem(extended, (slice(None), slice(0, positions - 2)))], axis=1)
    can_skip = ops.logical_and(ops.not_equal(extended, blank),
                               ops.not_equal(extended, previous_label))
    input_length = _lengths(input_length)
    label_length = _lengths(label_length)

    start = numpy.full((1, positions), _NEG, dtype="float64")
    start[0, :2] = 0.0  # a path starts on the first blank or the first label
    alpha = ops.getitem(emit, (slice(None), 0)) + ops.cast(start, log_probs.dtype)
    pad1 = ops.zeros((batch, 1), dtype=log_probs.dtype) + _NEG
    pad2 = ops.zeros((batch, 2), dtype=log_probs.dtype) + _NEG
    for t in range(1, steps):
        stay = alpha
        step = ops.concatenate([pad1, ops.getitem(alpha, (slice(None), slice(0, -1)))], axis=1)
        skip = ops.concatenate([pad2, ops.getitem(alpha, (slice(None), slice(0, -2)))], axis=1)
        skip = ops.where(can_skip, skip, _NEG)
        new = ops.logsumexp(ops.stack([stay, step, skip]), axis=0) + \
            ops.getitem(emit, (slice(None), t))
        alpha = ops.where(ops.expand_dims(ops.less(t, input_length), 1), new, alpha)
    rows = numpy.arange(batch)
    last_blank = ops.getitem(alpha, (rows, 2 * label_length))
    last_label = ops.where(ops.greater(label_length, 0),
                           ops.getitem(alpha, (rows, ops.maximum(2 * label_length - 1, 0))),
                           _NEG)
    total = ops.logsumexp(ops.stack([last_blank, last_label]), axis=0)
    return ops.expand_dims(-total, 1)


def ctc_decode(y_pred, input_length, greedy=True, beam_width=100, top_paths=1):
    """Greedy CTC decoding: the most likely class at each step within ``input_length``,
    repeats merged, blanks (the last class) removed. Returns ``([decoded], log_prob)`` with
    ``decoded (batch, longest decoded length)`` padded with -1 and ``log_prob (batch, 1)``
    the negative sum of the chosen log probabilities, as ``tf.nn.ctc_greedy_decoder``."""
    if not greedy:
        raise NotImplementedError("keras.backend.ctc_decode: gkeras has greedy decoding only; "
                                  "call it with greedy=True.")
    log_probs = ops.log(ops.convert_to_tensor(y_pred) + config.epsilon())
    batch, steps, classes = log_probs.shape
    best = ops.argmax(log_probs, axis=-1)  # (batch, time)
    inside = ops.less(ops.arange(steps, dtype="int64"), ops.expand_dims(_lengths(input_length), 1))
    previous = ops.concatenate([ops.zeros((batch, 1), dtype="int64") - 1,
                                ops.getitem(best, (slice(None), slice(0, -1)))], axis=1)
    keep = ops.logical_and(inside, ops.logical_and(ops.not_equal(best, classes - 1),
                                                   ops.not_equal(best, previous)))
    slot = ops.where(keep, ops.cumsum(ops.cast(keep, "int64"), axis=1) - 1, -1)
    # the output width is the longest decoding: one read of the device
    width = int(ops.max(ops.sum(ops.cast(keep, "int64"), axis=1)).item())
    hit = ops.equal(ops.expand_dims(slot, 2), ops.arange(width, dtype="int64"))
    decoded = ops.sum(ops.cast(hit, "int64") * ops.expand_dims(best + 1, 2), axis=1) - 1
    chosen = ops.max(log_probs, axis=-1)
    log_prob = -ops.sum(ops.where(inside, chosen, 0.0), axis=1, keepdims=True)
    return [decoded], log_prob
