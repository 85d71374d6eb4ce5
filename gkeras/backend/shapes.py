"""Shapes, dtypes and shape manipulation: ``K.int_shape``, ``K.reshape``, ``K.tile``..."""
import builtins
import numbers

import numpy

from .. import config, ops
from ..autograd import Tensor

__all__ = [
    "arange", "batch_flatten", "cast", "concatenate", "dtype", "expand_dims", "flatten",
    "gather", "int_shape", "ndim", "one_hot", "permute_dimensions", "repeat",
    "repeat_elements", "reshape", "resize_images", "resize_volumes", "reverse", "shape",
    "slice", "spatial_2d_padding", "spatial_3d_padding", "squeeze", "stack",
    "temporal_padding", "tile", "transpose"]


def shape_tuple(shape):
    """A shape of Python ints from ints, 0-d tensors (``K.shape(x)[0]``) or a shape tensor."""
    if isinstance(shape, Tensor):
        return tuple(int(d) for d in shape.numpy().reshape(-1))
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def int_shape(x):
    """The shape as a tuple of ints (``None`` for the unknown sizes of a symbolic tensor)."""
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return numpy.shape(x)


def shape(x):
    """The shape as an int32 tensor (``K.shape(x)[0]`` is the batch size)."""
    return ops.convert_to_tensor(numpy.asarray(int_shape(x), dtype="int32"))


def ndim(x):
    return len(int_shape(x))


def dtype(x):
    """The dtype's name, e.g. ``'float32'``."""
    return str(numpy.dtype(x.dtype))


def cast(x, dtype):
    return ops.cast(x, dtype)


def reshape(x, shape):
    return ops.reshape(x, shape_tuple(shape))


def permute_dimensions(x, pattern):
    return ops.transpose(x, tuple(pattern))


def transpose(x):
    """Reverse all axes."""
    return ops.transpose(x)


def gather(reference, indices):
    """Rows ``reference[indices]`` (along the first axis)."""
    return ops.take(reference, indices, axis=0)


def concatenate(tensors, axis=-1):
    return ops.concatenate(tensors, axis=axis)


def stack(x, axis=0):
    return ops.stack(x, axis=axis)


def expand_dims(x, axis=-1):
    return ops.expand_dims(x, axis)


def squeeze(x, axis):
    return ops.squeeze(x, axis)


def flatten(x):
    """All entries in one axis."""
    return ops.reshape(x, (-1,))


def batch_flatten(x):
    """``(batch, everything else)``."""
    return ops.flatten(x)


def repeat(x, n):
    """``(batch, dim)`` to ``(batch, n, dim)``."""
    x = ops.convert_to_tensor(x)
    if x.ndim != 2:
        raise ValueError(f"repeat expects a 2-D tensor (batch, dim), received shape {x.shape}.")
    return ops.repeat(ops.expand_dims(x, 1), int(n), axis=1)


def repeat_elements(x, rep, axis):
    """Each entry ``rep`` times along ``axis``, as ``numpy.repeat``."""
    return ops.repeat(x, int(rep), axis=axis)


def tile(x, n):
    return ops.tile(x, int(n) if isinstance(n, numbers.Integral) else shape_tuple(n))


def arange(start, stop=None, step=1, dtype="int32"):
    return ops.arange(start, stop, step, dtype=dtype)


def one_hot(indices, num_classes):
    """A new last axis of ``num_classes``, in float32 (as ``tf.one_hot``)."""
    return ops.one_hot(indices, num_classes, dtype="float32")


def reverse(x, axes):
    """Reverse the order of the entries along ``axes`` (an int or a list)."""
    return ops.flip(x, axes if isinstance(axes, numbers.Integral) else tuple(axes))


def slice(x, start, size):
    """``x[start:start + size]`` per axis; a size of -1 takes the rest."""
    index = tuple(builtins.slice(int(b), None if int(s) == -1 else int(b) + int(s))
                  for b, s in zip(shape_tuple(start), shape_tuple(size)))
    return ops.getitem(x, index)


def _data_format(data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("data_format must be 'channels_first' or 'channels_last', received "
                         f"{data_format!r}.")
    return data_format


def _pad_spatial(x, padding, data_format, rank):
    x = ops.convert_to_tensor(x)
    if len(padding) != rank or any(numpy.ndim(pair) != 1 or len(pair) != 2 for pair in padding):
        raise ValueError(f"padding must be {rank} pairs (before, after), received {padding!r}.")
    spatial = [(int(before), int(after)) for before, after in padding]
    if x.ndim != rank + 2:
        raise ValueError(f"expected a {rank + 2}-D tensor, received shape {x.shape}.")
    if _data_format(data_format) == "channels_first":
        return ops.pad(x, [(0, 0), (0, 0)] + spatial)
    return ops.pad(x, [(0, 0)] + spatial + [(0, 0)])


def temporal_padding(x, padding=(1, 1)):
    """Zeros before and after the middle axis of a 3-D tensor."""
    return _pad_spatial(x, [padding], "channels_last", 1)


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    return _pad_spatial(x, padding, data_format, 2)


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    return _pad_spatial(x, padding, data_format, 3)


def _upsample(x, factors, data_format):
    first = 2 if _data_format(data_format) == "channels_first" else 1
    for offset, factor in enumerate(factors):
        x = ops.repeat(x, int(factor), axis=first + offset)
    return x


def _bilinear_axis(x, factor, axis):
    """TensorFlow 1's ``resize_bilinear`` along one axis (no corner alignment, no half-pixel
    centres): output ``i`` reads input ``i / factor``, clamped at the last entry."""
    size = x.shape[axis]
    source = numpy.arange(size * factor) / factor
    low = numpy.floor(source).astype("int64")
    high = numpy.minimum(low + 1, size - 1)
    weight_shape = [1] * x.ndim
    weight_shape[axis] = -1
    weight = ops.convert_to_tensor((source - low).reshape(weight_shape).astype(x.dtype))
    below, above = ops.take(x, low, axis=axis), ops.take(x, high, axis=axis)
    return below + (above - below) * weight


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Upsample the two spatial axes by integer factors, ``'nearest'`` (each entry repeated) or
    ``'bilinear'`` (Keras 2.2.4's ``tf.image.resize_bilinear``)."""
    if interpolation == "nearest":
        return _upsample(x, (height_factor, width_factor), data_format)
    if interpolation != "bilinear":
        raise ValueError("resize_images: interpolation should be one of 'nearest' or "
                         f"'bilinear', received {interpolation!r}.")
    x = ops.convert_to_tensor(x)
    first = 2 if _data_format(data_format) == "channels_first" else 1
    x = _bilinear_axis(x, int(height_factor), first)
    return _bilinear_axis(x, int(width_factor), first + 1)


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    return _upsample(x, (depth_factor, height_factor, width_factor), data_format)
