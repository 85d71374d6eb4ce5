"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grayscale images of 10 clothing
classes, in MNIST's gzipped IDX format."""
import gzip
import os

import numpy

from ..utils.data_utils import get_file

BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
_LABELS_OFFSET, _IMAGES_OFFSET = 8, 16  # IDX headers: magic and dimension sizes


def _read_gz(path):
    with gzip.open(path, "rb") as f:
        return f.read()


def load_data():
    """Loads the Fashion-MNIST dataset (cached in ``$KERAS_HOME/datasets/fashion-mnist``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` and uint8
        labels 0-9 ``(n,)`` (read-only views of the decompressed files, as in Keras).
    """
    cache_subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=BASE_URL + name, cache_subdir=cache_subdir)
             for name in FILES]
    y_train = numpy.frombuffer(_read_gz(paths[0]), numpy.uint8, offset=_LABELS_OFFSET)
    x_train = numpy.frombuffer(_read_gz(paths[1]), numpy.uint8,
                               offset=_IMAGES_OFFSET).reshape(len(y_train), 28, 28)
    y_test = numpy.frombuffer(_read_gz(paths[2]), numpy.uint8, offset=_LABELS_OFFSET)
    x_test = numpy.frombuffer(_read_gz(paths[3]), numpy.uint8,
                              offset=_IMAGES_OFFSET).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
