"""Convolution ops, with Keras 3's names and signatures: conv, conv_transpose, depthwise_conv,
separable_conv.

1-D (inputs of rank 3) and 2-D (rank 4). 1-D runs through the 2-D backend compositions with
a height-1 axis inserted (kernel height 1, no vertical padding), as Keras on TensorFlow does.
Kernels have Keras's layouts in both data formats: conv (k..., in, out), conv_transpose
(k..., out, in), depthwise (k..., in, depth_multiplier). Padding is 'valid', 'same'
(TensorFlow's: output ceil(n / s), the odd padded pixel at the end) or, for 1-D, 'causal'
(dilation * (k - 1) zeros on the left).

The public helpers outside ``__all__`` (``conv_geometry``, ``conv_transpose_output_length``)
and those of ``geometry`` are shared with the layers, so shape inference and error messages
agree with the ops.
"""
from collections import namedtuple

from ..autograd import result
from ..backends import current as _backend
from .core import _t
from .geometry import (check_strides_and_dilation, normalize_data_format, normalize_padding,
                       normalize_tuple, padding_amounts)


__all__ = ["conv", "conv_transpose", "depthwise_conv", "separable_conv"]

# Everything a backend composition needs, in 2-D form, plus the 4-D shapes to reshape to.
Geometry = namedtuple("Geometry", "kernel_size strides dilation padding channels_last "
                                  "x_shape output_shape")


def conv_transpose_output_length(size, kernel, stride, dilation, mode, output_padding):
    """Keras's transposed-convolution output length along one axis (None if unknown)."""
    if size is None:
        return None
    effective = dilation * (kernel - 1) + 1
    if mode == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return (size - 1) * stride + effective + extra
    if output_padding is None:
        return size * stride
    return (size - 1) * stride + effective % 2 + output_padding


def conv_transpose_padding(kernel, stride, dilation, mode, output_padding):
    """Pads ``(before, after)`` of the forward convolution whose input gradient is this
    transposed convolution (Keras 3's JAX rule, equal to TensorFlow's where TensorFlow
    accepts the shapes). ``after`` may be negative: trailing outputs no window reaches."""
    effective = dilation * (kernel - 1) + 1
    if mode == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        left, right = effective - 1, effective - 1 + extra
    else:
        if output_padding is None:
            total = stride + effective - 2
        else:
            total = effective + effective % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, effective - 1)
        right = total - left
    return effective - 1 - left, effective - 1 - right


def _spatial_axes(rank, channels_last):
    return tuple(range(1, rank + 1)) if channels_last else tuple(range(2, rank + 2))


def _check_ranks(who, x_shape, kernel_shape):
    if len(x_shape) not in (3, 4):
        raise ValueError(f"{who}: expected inputs of rank 3 (1-D convolution) or 4 (2-D), "
                         f"received inputs of shape {tuple(x_shape)}.")
    if len(kernel_shape) != len(x_shape):
        raise ValueError(f"{who}: expected a kernel of rank {len(x_shape)} for inputs of "
                         f"shape {tuple(x_shape)}, received a kernel of shape "
                         f"{tuple(kernel_shape)}.")
    return len(x_shape) - 2


def _as_2d(rank, values, one):
    """A 1-D geometry tuple with the inserted height axis first."""
    return (one,) + values if rank == 1 else values


def _four_d(shape, rank, channels_last):
    if rank == 2:
        return tuple(shape)
    n, a, b = shape
    return (n, 1, a, b) if channels_last else (n, a, 1, b)


def conv_geometry(who, x_shape, kernel_size, strides, padding, data_format, dilation_rate,
                  out_channels):
    """Validate and lower a 1-D/2-D forward convolution to the backend's 2-D geometry."""
    rank = len(x_shape) - 2
    channels_last = normalize_data_format(data_format, who) == "channels_last"
    mode = normalize_padding(padding, rank, who)
    strides = normalize_tuple(strides, rank, "strides", who)
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate", who)
    check_strides_and_dilation(strides, dilation, who)
    sizes = [x_shape[a] for a in _spatial_axes(rank, channels_last)]
    pads, outs = [], []
    for axis, (n, k, s, d) in enumerate(zip(sizes, kernel_size, strides, dilation)):
        before, after = padding_amounts(n, k, s, d, mode)
        out = (n + before + after - d * (k - 1) - 1) // s + 1
        if out < 1:
            raise ValueError(
                f"{who}: the kernel (size {k}, dilation {d}) is larger than the padded input "
                f"along spatial axis {axis}: the input has {n} (+{before + after} padding) "
                f"positions, the dilated kernel needs {d * (k - 1) + 1}. Received inputs of "
                f"shape {tuple(x_shape)}, padding={mode!r}.")
        pads.append((before, after))
        outs.append(out)
    n = x_shape[0]
    out_shape = (n, *outs, out_channels) if channels_last else (n, out_channels, *outs)
    return Geometry(_as_2d(rank, tuple(kernel_size), 1), _as_2d(rank, strides, 1),
                    _as_2d(rank, dilation, 1), tuple(_as_2d(rank, tuple(pads), (0, 0))),
                    channels_last, _four_d(x_shape, rank, channels_last), tuple(out_shape))


def _channels(x_shape, channels_last):
    return x_shape[-1] if channels_last else x_shape[1]


def _check_channels(who, x_shape, channels_last, expected, kernel_shape):
    got = _channels(x_shape, channels_last)
    if got != expected:
        layout = "channels_last" if channels_last else "channels_first"
        raise ValueError(f"{who}: the inputs have {got} channels, but the kernel of shape "
                         f"{tuple(kernel_shape)} expects {expected}. Received inputs of shape "
                         f"{tuple(x_shape)} ({layout}).")


def _kernel_4d(kernel_value):
    return kernel_value if kernel_value.ndim == 4 else kernel_value.reshape(
        (1,) + kernel_value.shape)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (cross-correlation, as Keras) for N = 1, 2; kernel (k..., in, out)."""
    return conv_bias_activation(inputs, kernel, None, None, strides, padding, data_format,
                                dilation_rate)


def conv_bias_activation(inputs, kernel, bias=None, activation=None, strides=1,
                         padding="valid", data_format=None, dilation_rate=1):
    """``activation(conv(inputs, kernel) + bias)`` as one op, for ``activation`` None or
    'relu': the bias and the ReLU run in place on the convolution's fresh output (no
    temporaries), and the backward folds the ReLU's mask into the incoming gradient once."""
    if activation not in (None, "relu"):
        raise ValueError(f"conv_bias_activation: activation must be None or 'relu', received "
                         f"activation={activation!r}.")
    x, k = _t(inputs), _t(kernel)
    who = "conv"
    _check_ranks(who, x.shape, k.shape)
    g = conv_geometry(who, x.shape, k.shape[:-2], strides, padding, data_format,
                      dilation_rate, k.shape[-1])
    _check_channels(who, x.shape, g.channels_last, k.shape[-2], k.shape)
    backend = _backend()
    xp = backend.xp
    x4, k4 = x.value.reshape(g.x_shape), _kernel_4d(k.value)
    y4, cols = backend.conv2d(x4, k4, g.strides, g.dilation, g.padding, g.channels_last)
    parents = (x, k)
    if bias is not None:
        bias = _t(bias)
        parents = (x, k, bias)
    # channels_last: the output is a (rows, filters) matrix product, for the fused primitives
    rows = (lambda a: a.reshape(-1, y4.shape[3])) if g.channels_last else None
    if rows is not None and (bias is not None or activation == "relu"):
        y4 = backend.bias_activation(rows(y4), None if bias is None else bias.value,
                                     activation or "linear").reshape(y4.shape)
    else:
        if bias is not None:
            y4 += bias.value.reshape(-1, 1, 1)
        if activation == "relu":
            xp.maximum(y4, 0, out=y4)

    def backward(dy):
        dy4 = dy.reshape(y4.shape)
        db = None
        if activation == "relu" and rows is not None and bias is not None and \
                bias.requires_grad:
            dy2, db = backend.activation_backward_bias_grad(rows(dy4), rows(y4), "relu")
            dy4 = dy2.reshape(y4.shape)
        elif activation == "relu":
            dy4 = backend.activation_backward(dy4, y4, "relu")
        dx = dk = None
        if x.requires_grad:
            dx = backend.conv2d_backward_input(dy4, k4, g.x_shape, g.strides, g.dilation,
                                               g.padding, g.channels_last).reshape(x.shape)
        if k.requires_grad:
            dk = backend.conv2d_backward_kernel(dy4, cols, g.channels_last).reshape(k.shape)
        if bias is None:
            return dx, dk
        if db is None and bias.requires_grad:
            channel_axis = 3 if g.channels_last else 1
            db = dy4.sum(axis=tuple(a for a in range(4) if a != channel_axis))
        return dx, dk, db
    return result(y4.reshape(g.output_shape), parents, backward)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Each input channel convolved with its own filters; kernel (k..., in, multiplier),
    output channel ``c * multiplier + m``."""
    x, k = _t(inputs), _t(kernel)
    who = "depthwise_conv"
    _check_ranks(who, x.shape, k.shape)
    in_channels, multiplier = k.shape[-2], k.shape[-1]
    g = conv_geometry(who, x.shape, k.shape[:-2], strides, padding, data_format,
                      dilation_rate, in_channels * multiplier)
    _check_channels(who, x.shape, g.channels_last, in_channels, k.shape)
    backend = _backend()
    x4, k4 = x.value.reshape(g.x_shape), _kernel_4d(k.value)
    y4, cols = backend.depthwise_conv2d(x4, k4, g.strides, g.dilation, g.padding,
                                        g.channels_last)

    def backward(dy):
        dy4 = dy.reshape(y4.shape)
        dx = dk = None
        if x.requires_grad:
            dx = backend.depthwise_conv2d_backward_input(
                dy4, k4, g.x_shape, g.strides, g.dilation, g.padding,
                g.channels_last).reshape(x.shape)
        if k.requires_grad:
            dk = backend.depthwise_conv2d_backward_kernel(
                dy4, cols, multiplier, g.channels_last).reshape(k.shape)
        return dx, dk
    return result(y4.reshape(g.output_shape), (x, k), backward)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution, then a 1x1 convolution mixing its channels;
    pointwise_kernel (1..., in * multiplier, out)."""
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose_geometry(who, x_shape, kernel_size, strides, padding, output_padding,
                            data_format, dilation_rate, out_channels):
    """Validate and lower a transposed convolution: the forward convolution it is the input
    gradient of, with ``x_shape`` the transposed output (that convolution's input) and
    ``output_shape`` its output (the transposed input)."""
    rank = len(x_shape) - 2
    channels_last = normalize_data_format(data_format, who) == "channels_last"
    mode = normalize_padding(padding, rank, who, allowed=("valid", "same"))
    strides = normalize_tuple(strides, rank, "strides", who)
    dilation = normalize_tuple(dilation_rate, rank, "dilation_rate", who)
    check_strides_and_dilation(strides, dilation, who)
    if output_padding is not None:
        output_padding = normalize_tuple(output_padding, rank, "output_padding", who,
                                         allow_zero=True)
        for p, s in zip(output_padding, strides):
            if p >= s:
                raise ValueError(f"{who}: each output_padding must be smaller than its "
                                 f"stride, received output_padding={output_padding}, "
                                 f"strides={strides}.")
    sizes = [x_shape[a] for a in _spatial_axes(rank, channels_last)]
    pads, outs = [], []
    for axis, (n, k, s, d) in enumerate(zip(sizes, kernel_size, strides, dilation)):
        extra = None if output_padding is None else output_padding[axis]
        out = conv_transpose_output_length(n, k, s, d, mode, extra)
        if out < 1:
            raise ValueError(f"{who}: the output would be empty along spatial axis {axis} "
                             f"(length {out}); received inputs of shape {tuple(x_shape)}, "
                             f"kernel size {k}, padding={mode!r}.")
        before, after = conv_transpose_padding(k, s, d, mode, extra)
        pads.append((before, max(after, 0)))
        outs.append(out)
    n = x_shape[0]
    out_shape = (n, *outs, out_channels) if channels_last else (n, out_channels, *outs)
    return Geometry(_as_2d(rank, tuple(kernel_size), 1), _as_2d(rank, strides, 1),
                    _as_2d(rank, dilation, 1), tuple(_as_2d(rank, tuple(pads), (0, 0))),
                    channels_last, _four_d(out_shape, rank, channels_last), tuple(out_shape))


def conv_transpose(inputs, kernel, strides, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """The transposed convolution (the gradient of ``conv`` w.r.t. its input);
    kernel (k..., out, in)."""
    x, k = _t(inputs), _t(kernel)
    who = "conv_transpose"
    _check_ranks(who, x.shape, k.shape)
    g = conv_transpose_geometry(who, x.shape, k.shape[:-2], strides, padding, output_padding,
                                data_format, dilation_rate, k.shape[-2])
    _check_channels(who, x.shape, g.channels_last, k.shape[-1], k.shape)
    backend = _backend()
    # the forward convolution maps out-channel images (g.x_shape) to in-channel ones (x)
    x4 = x.value.reshape(_four_d(x.shape, len(x.shape) - 2, g.channels_last))
    k4 = _kernel_4d(k.value)
    y4 = backend.conv2d_backward_input(x4, k4, g.x_shape, g.strides, g.dilation, g.padding,
                                       g.channels_last)

    def backward(dy):
        dy4 = dy.reshape(g.x_shape)
        dx4, cols = backend.conv2d(dy4, k4, g.strides, g.dilation, g.padding, g.channels_last)
        dk = None
        if k.requires_grad:
            dk = backend.conv2d_backward_kernel(x4, cols, g.channels_last).reshape(k.shape)
        return dx4.reshape(x.shape), dk
    return result(y4.reshape(g.output_shape), (x, k), backward)
