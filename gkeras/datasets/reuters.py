"""Reuters newswires: 11,228 word-id sequences labelled with one of 46 topics."""
import json

import numpy

from ..utils.data_utils import get_file
from ..utils.safe_pickle import load_npz
from .word_sequences import (limit_vocabulary, mark_and_filter, num_words_argument,
                             shuffled, split)

ORIGIN = "https://s3.amazonaws.com/text-datasets/reuters.npz"
FILE_HASH = "87aedbeb0cb229e378797a632c1997b6"
WORD_INDEX_ORIGIN = "https://s3.amazonaws.com/text-datasets/reuters_word_index.json"
WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the Reuters newswire topic classification dataset.

    Args:
        path: where the file is cached (relative to ``$KERAS_HOME/datasets``).
        num_words: keep the word ids below this; None: the largest id present.
        skip_top: the word ids below this count as out of vocabulary too.
        maxlen: drop the sequences of ``maxlen`` or more ids (``start_char`` included).
        test_split: fraction of the (shuffled) samples put in the test set.
        seed: seed of NumPy's global generator, reseeded here to shuffle the samples.
        start_char: id marking the start of each sequence (None: no mark).
        oov_char: id replacing the words cut by ``num_words`` or ``skip_top`` (None: drop
            them).
        index_from: word ids are shifted up by this.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: sequences as an object array of lists (a
        2-D int array if all have one length) and int topic labels.
    """
    num_words = num_words_argument(num_words, kwargs)
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    arrays = load_npz(path)

    numpy.random.seed(seed)
    xs, labels = shuffled(arrays["x"], arrays["y"])
    xs, labels = mark_and_filter(xs, labels, maxlen, start_char, index_from)
    xs = limit_vocabulary(xs, num_words, skip_top, oov_char)

    return split(xs, labels, int(len(xs) * (1 - test_split)))


def get_word_index(path="reuters_word_index.json"):
    """The dictionary mapping each word to its id (before ``index_from`` is added)."""
    path = get_file(path, origin=WORD_INDEX_ORIGIN, file_hash=WORD_INDEX_HASH)
    with open(path) as f:
        return json.load(f)
