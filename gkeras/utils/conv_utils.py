"""``keras.utils.conv_utils`` of Keras 2.2.4, for custom convolution layers: argument
normalization, output/input lengths and the kernel flip between Theano and TensorFlow."""
import numpy

from .. import config

_PADDING_ARITHMETIC = ("same", "valid", "full", "causal")


def normalize_tuple(value, n, name):
    """An int, or an iterable of ``n`` ints, as a tuple of ``n`` ints (``name``: the argument,
    for the error)."""
    if isinstance(value, int):
        return (value,) * n
    expected = f"The `{name}` argument must be a tuple of {n} integers. Received: {value!r}"
    try:
        value_tuple = tuple(value)
    except TypeError:
        raise ValueError(expected) from None
    if len(value_tuple) != n:
        raise ValueError(expected)
    for single_value in value_tuple:
        try:
            int(single_value)
        except (TypeError, ValueError):
            raise ValueError(f"{expected} including element {single_value!r} of type "
                             f"{type(single_value)}") from None
    return value_tuple


def normalize_padding(value):
    """``'valid'``, ``'same'`` or ``'causal'`` (any case)."""
    padding = str(value).lower()
    if padding not in ("valid", "same", "causal"):
        raise ValueError('The `padding` argument must be one of "valid", "same" (or "causal" '
                         f"for Conv1D). Received: {value!r}")
    return padding


def normalize_data_format(value):
    """``value`` checked, or ``gkeras.config.image_data_format()`` for None."""
    if value is None:
        value = config.image_data_format()
    data_format = str(value).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {value!r}')
    return data_format


def convert_kernel(kernel):
    """A 3D-5D kernel with its spatial axes flipped (convolution <-> correlation; its own
    inverse)."""
    kernel = numpy.asarray(kernel)
    if not 3 <= kernel.ndim <= 5:
        raise ValueError(f"convert_kernel: invalid kernel shape {kernel.shape} (expected 3 to 5 "
                         "dimensions: spatial axes, input channels, output channels).")
    flip = (slice(None, None, -1),) * (kernel.ndim - 2) + (slice(None), slice(None))
    return numpy.copy(kernel[flip])


def _dilated(filter_size, dilation):
    return filter_size + (filter_size - 1) * (dilation - 1)


def conv_output_length(input_length, filter_size, padding, stride, dilation=1):
    """The output length of a convolution (None stays None)."""
    if input_length is None:
        return None
    if padding not in _PADDING_ARITHMETIC:
        raise ValueError(f"conv_output_length: padding must be one of {_PADDING_ARITHMETIC}, "
                         f"received {padding!r}.")
    size = _dilated(filter_size, dilation)
    length = {"same": input_length, "causal": input_length,
              "valid": input_length - size + 1, "full": input_length + size - 1}[padding]
    return (length + stride - 1) // stride


def _pad(padding, filter_size):
    if padding not in ("same", "valid", "full"):
        raise ValueError(f"padding must be 'same', 'valid' or 'full', received {padding!r}.")
    return {"same": filter_size // 2, "valid": 0, "full": filter_size - 1}[padding]


def conv_input_length(output_length, filter_size, padding, stride):
    """The input length of a convolution with ``output_length`` (None stays None)."""
    if output_length is None:
        return None
    return (output_length - 1) * stride - 2 * _pad(padding, filter_size) + filter_size


def deconv_length(dim_size, stride_size, kernel_size, padding, output_padding, dilation=1):
    """The output length of a transposed convolution (None stays None)."""
    _pad(padding, kernel_size)  # checks padding
    if dim_size is None:
        return None
    kernel_size = _dilated(kernel_size, dilation)
    if output_padding is None:
        if padding == "valid":
            return dim_size * stride_size + max(kernel_size - stride_size, 0)
        if padding == "full":
            return dim_size * stride_size - (stride_size + kernel_size - 2)
        return dim_size * stride_size
    pad = _pad(padding, kernel_size)
    return (dim_size - 1) * stride_size + kernel_size - 2 * pad + output_padding


__all__ = ["conv_input_length", "conv_output_length", "convert_kernel", "deconv_length",
           "normalize_data_format", "normalize_padding", "normalize_tuple"]
