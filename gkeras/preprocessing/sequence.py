"""``keras.preprocessing.sequence`` as Keras 2.2.4 ships it (keras_preprocessing 1.0.5):
padding ragged sequences, word2vec skip-gram pairs and batches of time-series windows."""
import json
import numbers
import random

import numpy as np

from ..utils.sequence import Sequence

_SIDES = ("pre", "post")


def _check_side(kind, value):
    if not isinstance(value, str) or value not in _SIDES:
        raise ValueError(f'pad_sequences: {kind} type "{value}" not understood, expected '
                         f'"pre" or "post".')


def _positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: `{name}` must be a positive integer, received "
                         f"{name}={value!r}.")
    return int(value)


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.):
    """Pad (or truncate) each sequence of ``sequences`` to ``maxlen`` steps and stack them into
    one array of shape ``(len(sequences), maxlen) + step_shape``.

    ``maxlen`` defaults to the longest sequence. ``padding`` ('pre' or 'post') puts ``value``
    before or after a short sequence; ``truncating`` ('pre' or 'post') drops the first or the
    last steps of a long one. A sequence may hold scalars or equally shaped vectors (the step
    shape comes from the first non-empty sequence); an empty sequence becomes all padding.
    Strings need ``dtype=object`` (or a str dtype)."""
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be iterable (a list of sequences), "
                         f"received {type(sequences).__name__}.")
    lengths = []
    for position, seq in enumerate(sequences):
        if not hasattr(seq, "__len__"):
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables. Found "
                             f"non-iterable at position {position}: {seq!r}")
        lengths.append(len(seq))
    _check_side("Padding", padding)
    _check_side("Truncating", truncating)
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: `sequences` is empty, so the padded length cannot "
                             "be inferred; pass `maxlen`.")
        maxlen = max(lengths)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, numbers.Integral) or maxlen < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be None or a non-negative integer, "
                         f"received maxlen={maxlen!r}.")
    maxlen = int(maxlen)

    step_shape = next((np.asarray(seq).shape[1:] for seq in sequences if len(seq)), ())
    if isinstance(value, str) and np.dtype(dtype).kind not in "OU":
        raise ValueError(f"pad_sequences: `dtype` {dtype} is not compatible with `value`'s "
                         f"type: {type(value)}\nYou should set `dtype=object` for variable "
                         f"length strings.")
    if (np.dtype(dtype).kind in "iu" and isinstance(value, (float, np.floating))
            and not np.isfinite(value)):
        raise ValueError(f"pad_sequences: the padding value {value!r} cannot be cast to the "
                         f"integer dtype {dtype}.")
    try:
        padded = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"pad_sequences: the padding value {value!r} cannot be cast to dtype "
                         f"{dtype} ({error}).") from None

    rows, pieces = [], []
    for position, (seq, length) in enumerate(zip(sequences, lengths)):
        kept = length if length < maxlen else maxlen
        if not kept:
            continue
        kept_steps = seq[length - kept:] if truncating == "pre" else seq[:kept]
        try:
            piece = np.asarray(kept_steps, dtype=dtype)
        except (TypeError, ValueError, OverflowError) as error:
            raise ValueError(f"pad_sequences: the sequence at position {position} cannot be "
                             f"cast to dtype {dtype} ({error}).") from None
        if piece.ndim == 0 or piece.shape[1:] != step_shape:
            raise ValueError(f"pad_sequences: Shape of sample {piece.shape[1:]} of sequence at "
                             f"position {position} is different from expected shape "
                             f"{step_shape}")
        rows.append(position)
        pieces.append(piece)
    if not pieces:
        return padded

    # one scatter: row and column of every kept step
    kept = np.array([len(piece) for piece in pieces])
    step_rows = np.repeat(rows, kept)
    columns = np.arange(kept.sum()) - np.repeat(np.cumsum(kept) - kept, kept)
    if padding == "pre":
        columns += np.repeat(maxlen - kept, kept)
    padded[step_rows, columns] = np.concatenate(pieces)
    return padded


def make_sampling_table(size, sampling_factor=1e-5):
    """Word2vec's keep-probability of the word of each frequency rank (rank 0 counts as rank
    1), assuming Zipf-distributed word frequencies: ``min(1, sqrt(f))`` with
    ``f = sampling_factor * (rank * (log(rank) + gamma) + 1/2 - 1/(12 rank))``."""
    size = _positive_int("make_sampling_table", "size", size)
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + gamma) + 0.5 - 1. / (12. * rank)
    scaled = sampling_factor * inverse_frequency
    return np.minimum(1., scaled / np.sqrt(scaled))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1., shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """Skip-gram training pairs of a sequence of word indices: ``(couples, labels)``.

    Every non-zero word ``w_i`` (kept with probability ``sampling_table[w_i]`` when a table is
    given) pairs with each non-zero word within ``window_size`` steps (label 1); then
    ``int(positives * negative_samples)`` pairs of a shuffled positive first word with a random
    index in ``[1, vocabulary_size)`` (label 0). Index 0 is a non-word and never paired.
    ``categorical`` labels are ``[0, 1]`` / ``[1, 0]``. The draws use Python's ``random``
    module in the same order as Keras, so ``random.seed(s)`` before the call reproduces Keras's
    couples; ``seed`` seeds only the final shuffle (and reseeds ``random``, as Keras does)."""
    words = np.asarray(sequence)
    if words.ndim != 1:
        raise ValueError(f"skipgrams: `sequence` must be a flat list of word indices, received "
                         f"an array of shape {words.shape}.")
    centers = np.flatnonzero(words)
    if sampling_table is not None:
        table = np.asarray(sampling_table)
        if centers.size and words[centers].max() >= len(table):
            raise ValueError(f"skipgrams: word index {words[centers].max()} is outside the "
                             f"sampling_table of {len(table)} entries.")
        draws = np.array([random.random() for _ in range(centers.size)])
        centers = centers[~(table[words[centers]] < draws)]

    # (center, offset) grid in Keras's order: centers in sequence order, offsets ascending
    offsets = np.concatenate([np.arange(-window_size, 0), np.arange(1, window_size + 1)])
    context = centers[:, None] + offsets
    valid = (context >= 0) & (context < len(words))
    valid[valid] = words[context[valid]] != 0
    center_rows, offset_columns = np.nonzero(valid)
    couples = np.stack([words[centers[center_rows]],
                        words[context[center_rows, offset_columns]]], axis=1).tolist()
    positives = len(couples)
    labels = [[0, 1] for _ in range(positives)] if categorical else [1] * positives

    if negative_samples > 0:
        negatives = int(positives * negative_samples)
        firsts = [pair[0] for pair in couples]
        random.shuffle(firsts)
        couples += [[firsts[i % len(firsts)], random.randint(1, int(vocabulary_size) - 1)]
                    for i in range(negatives)]
        labels += [[1, 0] for _ in range(negatives)] if categorical else [0] * negatives

    if shuffle:
        if seed is None:
            seed = random.randint(0, 10 ** 7)
        # the same seed for both lists keeps each couple with its label
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels


def _remove_long_seq(maxlen, seq, label):
    """The sequences shorter than ``maxlen`` (strictly) and their labels, as two lists (the
    datasets' ``maxlen`` filter)."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


class TimeseriesGenerator(Sequence):
    """Batches of windows over a time series: sample ``k`` is ``data[row - length : row :
    sampling_rate]`` with target ``targets[row]``, for rows ``start_index + length``,
    ``+ stride``, ... up to ``end_index`` (default: the last step).

    ``shuffle`` draws each batch's rows at random (``numpy.random``, with replacement, always
    ``batch_size`` of them, as Keras does); ``reverse`` flips each window in time. Batches
    are float64 arrays, as Keras 2.2.4's are, whatever the dtype of ``data``."""

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError(f"TimeseriesGenerator: Data and targets have to be of same length. "
                             f"Data length is {len(data)} while target length is "
                             f"{len(targets)}")
        self.data = data
        self.targets = targets
        self.length = _positive_int("TimeseriesGenerator", "length", length)
        self.sampling_rate = _positive_int("TimeseriesGenerator", "sampling_rate",
                                           sampling_rate)
        self.stride = _positive_int("TimeseriesGenerator", "stride", stride)
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = _positive_int("TimeseriesGenerator", "batch_size", batch_size)
        if self.start_index > self.end_index:
            raise ValueError(f"TimeseriesGenerator: `start_index+length={self.start_index} > "
                             f"end_index={self.end_index}` is disallowed, as no part of the "
                             f"sequence would be left to be used as current step.")

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride,
                                        self.end_index + 1), self.stride)
        steps = rows[:, None] - self.length + np.arange(0, self.length, self.sampling_rate)
        samples = np.asarray(self.data)[steps].astype(np.float64)
        targets = np.asarray(self.targets)[rows].astype(np.float64)
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self):
        """Keras's dict: ``data`` and ``targets`` as JSON strings, ``start_index`` already
        shifted by ``length`` (as Keras stores it)."""
        def json_of(values, name):
            if isinstance(values, np.ndarray):
                values = values.tolist()
            try:
                return json.dumps(values)
            except TypeError:
                raise TypeError(f"{name} not JSON Serializable:", values) from None

        return {"data": json_of(self.data, "Data"),
                "targets": json_of(self.targets, "Targets"),
                "length": self.length, "sampling_rate": self.sampling_rate,
                "stride": self.stride, "start_index": self.start_index,
                "end_index": self.end_index, "shuffle": self.shuffle,
                "reverse": self.reverse, "batch_size": self.batch_size}

    def to_json(self, **kwargs):
        """``{"class_name": "TimeseriesGenerator", "config": get_config()}`` as JSON;
        ``kwargs`` go to ``json.dumps``."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


__all__ = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]
