"""Utilities: the progress bar, NumPy label/array helpers, the global random seed, batch
enqueuers, and Keras 2.2.4's ``keras.utils`` modules and names (``data_utils``, ``np_utils``,
``generic_utils``, ``layer_utils``, ``io_utils``, ``conv_utils``, ``vis_utils``,
``multi_gpu_utils``)."""
import random

import numpy

from . import (conv_utils, data_utils, generic_utils, io_utils, layer_utils,  # noqa: F401
               multi_gpu_utils, np_utils, vis_utils)
from .data_utils import get_file
from .enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer
from .generic_utils import (CustomObjectScope, custom_object_scope, deserialize_keras_object,
                            get_custom_objects, serialize_keras_object)
from .io_utils import HDF5Matrix, h5dict
from .layer_utils import convert_all_kernels_in_model, get_source_inputs, print_summary
from .multi_gpu_utils import multi_gpu_model
from .numerical import normalize, to_categorical
from .progbar import Progbar
from .sequence import Sequence
from .vis_utils import plot_model


def set_random_seed(seed):
    """Seed Python's, NumPy's and so gkeras's random numbers (weight initializers, shuffling,
    dropout masks of unseeded layers), for reproducible runs."""
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"set_random_seed expects a non-negative integer, received {seed!r}.")
    random.seed(int(seed))
    numpy.random.seed(int(seed))


__all__ = ["convert_all_kernels_in_model", "custom_object_scope", "CustomObjectScope",
           "deserialize_keras_object", "GeneratorEnqueuer", "get_custom_objects", "get_file",
           "get_source_inputs", "h5dict", "HDF5Matrix", "multi_gpu_model", "normalize",
           "OrderedEnqueuer", "plot_model", "print_summary", "Progbar", "Sequence",
           "SequenceEnqueuer", "serialize_keras_object", "set_random_seed", "to_categorical"]
