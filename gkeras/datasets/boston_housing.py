"""Boston housing prices: 506 samples of 13 features, the median home value as target."""
import numpy

from ..utils.data_utils import get_file
from ..utils.safe_pickle import load_npz

ORIGIN = "https://s3.amazonaws.com/keras-datasets/boston_housing.npz"
FILE_HASH = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston Housing dataset.

    Args:
        path: where the file is cached (relative to ``$KERAS_HOME/datasets``).
        test_split: fraction of the (shuffled) samples put in the test set, in [0, 1).
        seed: seed of NumPy's global generator, reseeded here to shuffle the samples.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float64 features ``(n, 13)`` and targets
        ``(n,)``.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"boston_housing.load_data: test_split must be in [0, 1). "
                         f"Received: test_split={test_split!r}")
    path = get_file(path, origin=ORIGIN, file_hash=FILE_HASH)
    arrays = load_npz(path)
    numpy.random.seed(seed)
    indices = numpy.arange(len(arrays["x"]))
    numpy.random.shuffle(indices)
    x, y = arrays["x"][indices], arrays["y"][indices]

    idx = int(len(x) * (1 - test_split))
    return (numpy.array(x[:idx]), numpy.array(y[:idx])), (numpy.array(x[idx:]),
                                                          numpy.array(y[idx:]))
