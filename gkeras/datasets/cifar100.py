"""CIFAR-100: 50,000 training and 10,000 test 32x32 color images of 100 fine classes
grouped in 20 coarse ones."""
import os

import numpy

from .. import config
from ..utils.data_utils import get_file
from .cifar import load_batch

DIRNAME = "cifar-100-python"
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"


def load_data(label_mode="fine"):
    """Loads the CIFAR-100 dataset (``cifar-100-python.tar.gz``, extracted in the cache).

    Args:
        label_mode: ``'fine'`` (100 classes) or ``'coarse'`` (20 superclasses).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``, or
        ``(n, 3, 32, 32)`` when ``image_data_format()`` is ``'channels_first'``; int64 labels
        of shape ``(n, 1)``.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. '
                         f"Received: label_mode={label_mode!r}")
    path = get_file(DIRNAME, origin=ORIGIN, untar=True)
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=label_mode + "_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=label_mode + "_labels")

    y_train = numpy.reshape(y_train, (len(y_train), 1))
    y_test = numpy.reshape(y_test, (len(y_test), 1))
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
