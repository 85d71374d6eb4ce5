"""Batching for fit/evaluate/predict: NumPy arrays (moved to the backend's device once),
lists and dicts of them, and h5py Datasets or ``HDF5Matrix`` (read one batch at a time)."""
import numpy

from .. import config
from ..backends import current as _backend
from .io_utils import HDF5Matrix


def is_h5_dataset(value):
    """An h5py Dataset or Keras 2's ``HDF5Matrix``: data read one batch at a time."""
    return isinstance(value, HDF5Matrix) or (
        type(value).__module__.startswith("h5py") and hasattr(value, "id") and
        hasattr(value, "shape"))


def cardinality(arrays, what):
    """The common number of samples of ``arrays``; a clear error if they differ."""
    sizes = [int(a.shape[0]) for a in arrays if a is not None]
    if len(set(sizes)) > 1:
        raise ValueError(f"Data cardinality is ambiguous: {what} sizes: "
                         f"{', '.join(map(str, sizes))}. Make sure all arrays contain the same "
                         "number of samples.")
    return sizes[0] if sizes else 0


def to_host_array(value, name):
    """Accept arrays, nested lists of numbers, Tensors and h5py Datasets (kept lazy)."""
    if value is None or is_h5_dataset(value):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):
        return value.numpy()
    if _backend().is_array(value):
        return value
    try:
        return numpy.asarray(value)
    except ValueError as e:
        raise ValueError(f"{name}: could not convert the data to an array: {e}") from None


def device_dtype(dtype, float_dtype=None):
    """The dtype data of ``dtype`` gets on the device: floats become ``float_dtype`` (given),
    float64 becomes floatx; other dtypes are kept."""
    if float_dtype is not None and numpy.dtype(dtype).kind == "f":
        return float_dtype
    if numpy.dtype(dtype).kind == "f" and numpy.dtype(dtype) == numpy.float64:
        return config.floatx()
    return dtype


def device_array(value, float_dtype=None):
    """Move ``value`` to the backend once, casting floats to ``float_dtype`` (h5py: as is)."""
    if value is None or is_h5_dataset(value):
        return value
    return _backend().asarray(value, dtype=device_dtype(value.dtype, float_dtype))


def take(array, index, float_dtype=None):
    """One batch of ``array``: device arrays are indexed on the device; h5py Datasets read
    only the slice asked for."""
    if array is None:
        return None
    if is_h5_dataset(array):
        batch = array[index]
        return device_array(batch, float_dtype)
    return array[index]


def epoch_batches(n, batch_size, shuffle, rng, start=0):
    """The index of each batch for one epoch over samples ``start .. start + n``.

    ``shuffle=True`` permutes samples; ``'batch'`` permutes whole batch-sized chunks (the
    last, partial chunk stays last) so each batch is one contiguous read.
    """
    if shuffle == "batch":
        chunks = [slice(start + i, start + min(i + batch_size, n))
                  for i in range(0, n, batch_size)]
        full = n // batch_size
        return [chunks[i] for i in rng.permutation(full)] + chunks[full:]
    if shuffle:
        order = rng.permutation(n) + start
        if _backend().name != "numpy":
            order = _backend().asarray(order)  # one transfer per epoch, then device indexing
        return [order[i:i + batch_size] for i in range(0, n, batch_size)]
    return [slice(start + i, start + min(i + batch_size, n)) for i in range(0, n, batch_size)]
