"""Utilities: the progress bar, NumPy label/array helpers, the global random seed and
``get_file`` (download and cache)."""
import random

import numpy

from .data_utils import get_file
from .enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer
from .numerical import normalize, to_categorical
from .progbar import Progbar
from .sequence import Sequence


def set_random_seed(seed):
    """Seed Python's, NumPy's and so gkeras's random numbers (weight initializers, shuffling,
    dropout masks of unseeded layers), for reproducible runs."""
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer, received {seed!r}.")
    random.seed(int(seed))
    numpy.random.seed(int(seed))


__all__ = ["GeneratorEnqueuer", "OrderedEnqueuer", "Progbar", "Sequence", "SequenceEnqueuer",
           "get_file", "normalize", "set_random_seed", "to_categorical"]
