"""MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images."""
from ..utils.data_utils import get_file
from ..utils.safe_pickle import load_npz

ORIGIN = "https://s3.amazonaws.com/img-datasets/mnist.npz"
FILE_HASH = "8a61469f7ea1b51cbae51d4f78837e45"


def load_data(path="mnist.npz"):
    """Loads the MNIST dataset.

    Args:
        path: where the file is cached (relative to ``$KERAS_HOME/datasets``).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)`` and uint8
        labels 0-9 ``(n,)``.
    """
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    arrays = load_npz(path)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])
