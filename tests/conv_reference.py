"""Naive-loop NumPy references for the convolution ops (test helper, not a test module).

Written from the definitions (TensorFlow's padding rules, Keras's kernel layouts and output
lengths), independently of gkeras's im2col/col2im code. 1-D inputs have rank 3, 2-D rank 4.
"""
import numpy as np


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def _pads(size, k, s, d, padding):
    """TensorFlow's (before, after) zeros; 'causal' puts d*(k-1) zeros on the left."""
    eff = d * (k - 1) + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return eff - 1, 0
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def _to_last(x, data_format):
    return x if data_format == "channels_last" else np.moveaxis(x, 1, -1)


def _from_last(y, data_format):
    return y if data_format == "channels_last" else np.moveaxis(y, -1, 1)


def _as_2d(x_last, kernel):
    """Insert a height-1 axis into 1-D (n, w, c) inputs and (k, in, out) kernels."""
    if x_last.ndim == 3:
        return x_last[:, None], kernel[None]
    return x_last, kernel


def np_conv(x, kernel, strides=1, padding="valid", data_format="channels_last",
            dilation_rate=1):
    """y[n, oy, ox, f] = sum_{i, j, c} xpad[n, oy*sh + i*dh, ox*sw + j*dw, c] k[i, j, c, f]."""
    rank = x.ndim - 2
    x_last, k = _as_2d(_to_last(x, data_format), kernel)
    s = (1,) * (2 - rank) + _tuple(strides, rank)
    d = (1,) * (2 - rank) + _tuple(dilation_rate, rank)
    n, h, w, c = x_last.shape
    kh, kw, _, f = k.shape
    pt, pb = _pads(h, kh, s[0], d[0], padding) if rank == 2 else (0, 0)
    pl, pr = _pads(w, kw, s[1], d[1], padding)
    xp = np.pad(x_last, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (h + pt + pb - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (w + pl + pr - d[1] * (kw - 1) - 1) // s[1] + 1
    y = np.zeros((n, oh, ow, f))
    for oy in range(oh):
        for ox in range(ow):
            for i in range(kh):
                for j in range(kw):
                    row, column = oy * s[0] + i * d[0], ox * s[1] + j * d[1]
                    y[:, oy, ox, :] += xp[:, row, column, :] @ k[i, j]
    return _from_last(y[:, 0] if rank == 1 else y, data_format)


def transpose_output_length(size, k, s, d, padding, output_padding):
    """Keras's conv_transpose output length (keras.src.backend.common.backend_utils)."""
    eff = d * (k - 1) + 1
    if padding == "valid":
        extra = max(eff, s) - eff if output_padding is None else output_padding
        return (size - 1) * s + eff + extra
    if output_padding is None:
        return size * s
    return (size - 1) * s + eff % 2 + output_padding


def np_conv_transpose(x, kernel, strides, padding="valid", output_padding=None,
                      data_format="channels_last", dilation_rate=1):
    """Scatter every input pixel through the (k..., out, in) kernel, TensorFlow's pads."""
    rank = x.ndim - 2
    x_last, k = _as_2d(_to_last(x, data_format), kernel)
    s = (1,) * (2 - rank) + _tuple(strides, rank)
    d = (1,) * (2 - rank) + _tuple(dilation_rate, rank)
    op = (None,) * rank if output_padding is None else _tuple(output_padding, rank)
    op = (0,) * (2 - rank) + op
    n, h, w, _ = x_last.shape
    kh, kw, out_c, _ = k.shape
    big_h = transpose_output_length(h, kh, s[0], d[0], padding, op[0]) if rank == 2 else 1
    big_w = transpose_output_length(w, kw, s[1], d[1], padding, op[1])
    before = []
    for size, small, kk, ss, dd in ((big_h, h, kh, s[0], d[0]), (big_w, w, kw, s[1], d[1])):
        total = max((small - 1) * ss + dd * (kk - 1) + 1 - size, 0) if padding == "same" else 0
        before.append(total // 2)
    y = np.zeros((n, big_h, big_w, out_c))
    for iy in range(h):
        for ix in range(w):
            for i in range(kh):
                for j in range(kw):
                    r = iy * s[0] + i * d[0] - before[0]
                    q = ix * s[1] + j * d[1] - before[1]
                    if 0 <= r < big_h and 0 <= q < big_w:
                        y[:, r, q, :] += x_last[:, iy, ix, :] @ k[i, j].T
    return _from_last(y[:, 0] if rank == 1 else y, data_format)


def np_depthwise_conv(x, kernel, strides=1, padding="valid", data_format="channels_last",
                      dilation_rate=1):
    """Channel c through its own kernel[..., c, :]; output channel c * multiplier + m."""
    channel_axis = -1 if data_format == "channels_last" else 1
    parts = []
    for c in range(kernel.shape[-2]):
        xc = np.take(x, [c], axis=channel_axis)
        parts.append(np_conv(xc, kernel[..., c:c + 1, :], strides, padding, data_format,
                             dilation_rate))
    return np.concatenate(parts, axis=channel_axis)


def np_separable_conv(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                      data_format="channels_last", dilation_rate=1):
    depthwise = np_depthwise_conv(x, depthwise_kernel, strides, padding, data_format,
                                  dilation_rate)
    return np_conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)
