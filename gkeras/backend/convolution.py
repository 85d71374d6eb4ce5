"""Convolutions and pooling: ``K.conv2d``, ``K.conv2d_transpose``, ``K.pool2d``,
``K.local_conv2d``... (kernels in Keras's layouts; ``data_format=None`` is
``image_data_format()``)."""
import numpy

from .. import ops
from ..ops.convolution import conv_transpose_output_length
from .shapes import _data_format, shape_tuple

__all__ = [
    "conv1d", "conv2d", "conv2d_transpose", "depthwise_conv2d", "local_conv1d", "local_conv2d",
    "pool2d", "separable_conv1d", "separable_conv2d"]


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Kernel ``(width, in, out)``; ``padding`` 'valid', 'same' or 'causal'."""
    return ops.conv(x, kernel, strides, padding, _data_format(data_format), dilation_rate)


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    """Kernel ``(rows, cols, in, out)``."""
    return ops.conv(x, kernel, strides, padding, _data_format(data_format), dilation_rate)


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    """The transposed convolution producing ``output_shape`` (batch axis included, in
    ``data_format``'s layout); kernel ``(rows, cols, out, in)``."""
    data_format = _data_format(data_format)
    x = ops.convert_to_tensor(x)
    output_shape = tuple(None if d is None else int(d) for d in _shape_with_none(output_shape))
    strides = tuple(strides)
    dilation = (dilation_rate,) * 2 if isinstance(dilation_rate, int) else tuple(dilation_rate)
    first = 2 if data_format == "channels_first" else 1
    kernel_size = ops.convert_to_tensor(kernel).shape[:2]
    output_padding = []
    for i in range(2):
        size = x.shape[first + i]
        base = conv_transpose_output_length(size, kernel_size[i], strides[i], dilation[i],
                                            padding, 0)
        output_padding.append(output_shape[first + i] - base)
    return ops.conv_transpose(x, kernel, strides, padding, tuple(output_padding), data_format,
                              dilation)


def _shape_with_none(shape):
    """``output_shape`` may hold None for the batch size."""
    return tuple(shape) if isinstance(shape, (tuple, list)) else shape_tuple(shape)


def separable_conv1d(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                     data_format=None, dilation_rate=1):
    return ops.separable_conv(x, depthwise_kernel, pointwise_kernel, strides, padding,
                              _data_format(data_format), dilation_rate)


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid",
                     data_format=None, dilation_rate=(1, 1)):
    return ops.separable_conv(x, depthwise_kernel, pointwise_kernel, strides, padding,
                              _data_format(data_format), dilation_rate)


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Kernel ``(rows, cols, in, multiplier)``."""
    return ops.depthwise_conv(x, depthwise_kernel, strides, padding, _data_format(data_format),
                              dilation_rate)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """Max (``pool_mode='max'``) or average (``'avg'``) pooling; note Keras 2's default
    ``strides=(1, 1)``."""
    data_format = _data_format(data_format)
    if pool_mode == "max":
        return ops.max_pool(x, pool_size, strides, padding, data_format)
    if pool_mode == "avg":
        return ops.average_pool(x, pool_size, strides, padding, data_format)
    raise ValueError(f"pool2d: invalid pool_mode {pool_mode!r}; expected 'max' or 'avg'.")


def _windows(kernel, stride, count):
    """``(count, kernel)`` indices of each output position's input window along one axis."""
    return numpy.arange(count)[:, None] * stride + numpy.arange(kernel)[None, :]


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """Unshared 1-D convolution: kernel ``(output_length, kernel_size * in, filters)``, one
    weight set per output position. Inputs ``(batch, steps, in)``."""
    kernel = ops.convert_to_tensor(kernel)
    positions, features, filters = kernel.shape
    index = _windows(kernel_size[0], strides[0], positions)
    patches = ops.getitem(inputs, (slice(None), index))  # (batch, positions, k, in)
    patches = ops.reshape(patches, (-1, positions, features))
    out = ops.matmul(ops.transpose(patches, (1, 0, 2)), kernel)  # (positions, batch, filters)
    return ops.transpose(out, (1, 0, 2))


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """Unshared 2-D convolution: kernel ``(rows * cols, kh * kw * in, filters)`` with
    ``output_shape = (rows, cols)``; each window's entries ordered ``(kh, kw, in)``
    channels-last, ``(in, kh, kw)`` channels-first, as Keras 2."""
    data_format = _data_format(data_format)
    kernel = ops.convert_to_tensor(kernel)
    rows, cols = output_shape
    positions, features, filters = kernel.shape
    row_index = _windows(kernel_size[0], strides[0], rows)[:, None, :, None]
    col_index = _windows(kernel_size[1], strides[1], cols)[None, :, None, :]
    if data_format == "channels_last":
        patches = ops.getitem(inputs, (slice(None), row_index, col_index))  # b,r,c,kh,kw,in
    else:
        patches = ops.getitem(inputs, (slice(None), slice(None), row_index, col_index))
        patches = ops.transpose(patches, (0, 2, 3, 1, 4, 5))  # b, r, c, in, kh, kw
    patches = ops.reshape(patches, (-1, positions, features))
    out = ops.matmul(ops.transpose(patches, (1, 0, 2)), kernel)  # (positions, batch, filters)
    out = ops.reshape(out, (rows, cols, -1, filters))
    return ops.transpose(out, (2, 0, 1, 3) if data_format == "channels_last" else (2, 3, 0, 1))
