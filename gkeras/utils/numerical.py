"""Host-side (NumPy) array helpers: ``to_categorical`` and ``normalize``."""
import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encodes integer class labels.

    A trailing axis of size 1 is dropped first, so labels of shape ``(n, 1)`` give ``(n, C)``.

    Args:
        y: array-like of integer labels in ``[0, num_classes)``.
        num_classes: number of classes; defaults to ``max(y) + 1``.
        dtype: dtype of the result.

    Returns:
        NumPy array of shape ``y.shape + (num_classes,)``.
    """
    labels = np.asarray(y)
    if labels.size and not np.issubdtype(labels.dtype, np.number) \
            and not np.issubdtype(labels.dtype, np.bool_):
        raise TypeError(f"to_categorical expects integer labels. Received dtype={labels.dtype}")
    labels = labels.astype("int64")
    input_shape = labels.shape
    if len(input_shape) > 1 and input_shape[-1] == 1:
        input_shape = input_shape[:-1]
    labels = labels.reshape(-1)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"to_categorical expects labels in [0, {num_classes}). Received labels in "
            f"[{labels.min()}, {labels.max()}]")
    categorical = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    categorical[np.arange(labels.shape[0]), labels] = 1
    return categorical.reshape(input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """Divides ``x`` by its ``order``-norm along ``axis`` (zero norms are left as 1).

    Args:
        x: array-like.
        axis: axis along which to normalize.
        order: norm order, as ``numpy.linalg.norm`` (2 for the L2 norm).

    Returns:
        NumPy array of the shape of ``x``, except that a 1-D ``x`` comes back as ``(1, n)``
        (as in Keras).
    """
    if axis is None:
        raise ValueError("normalize: `axis` must be an integer. Received: axis=None")
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)
