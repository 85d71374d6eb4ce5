"""CIFAR-10: 50,000 training and 10,000 test 32x32 color images of 10 classes."""
import os

import numpy

from .. import config
from ..utils.data_utils import get_file
from .cifar import load_batch

DIRNAME = "cifar-10-batches-py"
ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def load_data():
    """Loads the CIFAR-10 dataset (``cifar-10-python.tar.gz``, extracted in the cache).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)``, or
        ``(n, 3, 32, 32)`` when ``image_data_format()`` is ``'channels_first'``; labels 0-9
        of shape ``(n, 1)``: uint8 for training, int64 for test, as in Keras 2.2.4.
    """
    path = get_file(DIRNAME, origin=ORIGIN, untar=True)
    batches = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = numpy.concatenate([data for data, _ in batches]).astype("uint8", copy=False)
    y_train = numpy.concatenate([labels for _, labels in batches]).astype("uint8")
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))

    y_train = numpy.reshape(y_train, (len(y_train), 1))
    y_test = numpy.reshape(y_test, (len(y_test), 1))
    if config.image_data_format() == "channels_last":
        x_train = x_train.transpose(0, 2, 3, 1)
        x_test = x_test.transpose(0, 2, 3, 1)
    return (x_train, y_train), (x_test, y_test)
