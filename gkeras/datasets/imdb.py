"""IMDB movie reviews: 25,000 training and 25,000 test reviews as word-id sequences,
labelled by sentiment (1 positive, 0 negative)."""
import json

import numpy

from ..utils.data_utils import get_file
from ..utils.safe_pickle import load_npz
from .word_sequences import (limit_vocabulary, mark_and_filter, num_words_argument,
                             shuffled, split)

ORIGIN = "https://s3.amazonaws.com/text-datasets/imdb.npz"
FILE_HASH = "599dadb1135973df5b59232a0e9a887c"
WORD_INDEX_ORIGIN = "https://s3.amazonaws.com/text-datasets/imdb_word_index.json"
WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB dataset.

    Args:
        path: where the file is cached (relative to ``$KERAS_HOME/datasets``).
        num_words: keep the word ids below this (words are ranked by frequency, so the most
            frequent ``num_words - index_from`` words); None: the largest id present.
        skip_top: the word ids below this (the most frequent words) count as out of
            vocabulary too.
        maxlen: drop the sequences of ``maxlen`` or more ids (``start_char`` included).
        seed: seed of NumPy's global generator, reseeded here to shuffle the samples.
        start_char: id marking the start of each sequence (None: no mark).
        oov_char: id replacing the words cut by ``num_words`` or ``skip_top`` (None: drop
            them).
        index_from: word ids are shifted up by this.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: sequences as an object array of lists (a
        2-D int array if all have one length) and int labels.

    Raises:
        ValueError: if ``maxlen`` leaves no sequence.
    """
    num_words = num_words_argument(num_words, kwargs)
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    arrays = load_npz(path)

    numpy.random.seed(seed)
    x_train, labels_train = shuffled(arrays["x_train"], arrays["y_train"])
    x_test, labels_test = shuffled(arrays["x_test"], arrays["y_test"])
    # Train and test are filtered apart (as Keras after 2.2.4): 2.2.4 filtered them together
    # and then split at the unfiltered training size, moving test reviews into x_train.
    x_train, labels_train = mark_and_filter(x_train, labels_train, maxlen, start_char,
                                            index_from)
    x_test, labels_test = mark_and_filter(x_test, labels_test, maxlen, start_char, index_from)
    if maxlen and not (len(x_train) and len(x_test)):
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no "
                         "sequence was kept. Increase maxlen.")
    xs = limit_vocabulary(list(x_train) + list(x_test), num_words, skip_top, oov_char)
    labels = numpy.concatenate([labels_train, labels_test])

    return split(xs, labels, len(x_train))


def get_word_index(path="imdb_word_index.json"):
    """The dictionary mapping each word to its id (before ``index_from`` is added)."""
    path = get_file(path, origin=WORD_INDEX_ORIGIN, file_hash=WORD_INDEX_HASH)
    with open(path) as f:
        return json.load(f)
