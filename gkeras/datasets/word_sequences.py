"""What IMDB and Reuters share: word-id sequences marked, filtered and cut to a vocabulary,
exactly as Keras 2.2.4 does it (the same shuffles, the same quirks)."""
import warnings

import numpy

from ..preprocessing.sequence import _remove_long_seq


def num_words_argument(num_words, kwargs):
    """Keras 1's ``nb_words`` spelling of ``num_words`` (with a warning); no other extras."""
    if "nb_words" in kwargs:
        warnings.warn("The `nb_words` argument in `load_data` has been renamed `num_words`.")
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError("Unrecognized keyword arguments: " + str(kwargs))
    return num_words


def shuffled(*arrays):
    """``arrays`` in one random order drawn from NumPy's global generator (Keras seeds it
    just before, and so do we: the same seed gives Keras's order)."""
    indices = numpy.arange(len(arrays[0]))
    numpy.random.shuffle(indices)
    return [array[indices] for array in arrays]


def mark_and_filter(xs, labels, maxlen, start_char, index_from):
    """Prefix ``start_char`` and shift word ids by ``index_from``; keep the sequences shorter
    than ``maxlen`` (counting ``start_char``) and their labels."""
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        xs, labels = _remove_long_seq(maxlen, xs, labels)
    return xs, labels


def limit_vocabulary(xs, num_words, skip_top, oov_char):
    """Replace word ids outside ``[skip_top, num_words)`` by ``oov_char`` (drop them when it
    is None). Without ``num_words`` the limit is the largest id, which is itself cut, as in
    Keras."""
    if not num_words:
        if not len(xs):
            raise ValueError("No sequence left to load: maxlen filtered out every sequence. "
                             "Increase maxlen.")
        num_words = max([max(x) for x in xs])
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def sequences_array(xs):
    """``numpy.array(xs)`` as NumPy did for Keras 2.2.4: a 2-D int array when all sequences
    have one length, else a 1-D object array of the lists."""
    if len({len(x) for x in xs}) <= 1:
        return numpy.array(xs)
    out = numpy.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out


def split(xs, labels, idx):
    """``((x_train, y_train), (x_test, y_test))``: the first ``idx`` sequences train."""
    return ((sequences_array(xs[:idx]), numpy.array(labels[:idx])),
            (sequences_array(xs[idx:]), numpy.array(labels[idx:])))
