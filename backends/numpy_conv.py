"""im2col / col2im on any NumPy-compatible array module ``xp`` (the reference primitives).

2-D only: kernel_size (kh, kw), strides (sh, sw), dilation (dh, dw), explicit non-negative
pads ``((pt, pb), (pl, pr))``; ``channels_last`` selects (n, h, w, c), else (n, c, h, w).
Window (oy, ox), offset (i, j) reads input row oy*sh - pt + i*dh, column ox*sw - pl + j*dw.
"""


def output_size(size, kernel, stride, dilation, pad_before, pad_after):
    """Number of window positions along one axis (may be < 1: callers check)."""
    return (size + pad_before + pad_after - dilation * (kernel - 1) - 1) // stride + 1


def _spatial(shape, channels_last):
    return (shape[1], shape[2]) if channels_last else (shape[2], shape[3])


def _padded_zeros(xp, shape, padding, channels_last, dtype):
    (pt, pb), (pl, pr) = padding
    if channels_last:
        n, h, w, c = shape
        return xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=dtype)
    n, c, h, w = shape
    return xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=dtype)


def _interior(padded, x_shape, padding, channels_last):
    """The view of ``padded`` that holds the unpadded input."""
    (pt, _), (pl, _) = padding
    h, w = _spatial(x_shape, channels_last)
    if channels_last:
        return padded[:, pt:pt + h, pl:pl + w, :]
    return padded[:, :, pt:pt + h, pl:pl + w]


def pad(xp, x, padding, channels_last):
    """``x`` with zero pads around its spatial axes (``x`` itself when every pad is 0)."""
    if not any(padding[0]) and not any(padding[1]):
        return x
    padded = _padded_zeros(xp, x.shape, padding, channels_last, x.dtype)
    _interior(padded, x.shape, padding, channels_last)[...] = x
    return padded


def im2col(xp, x, kernel_size, strides, dilation, padding, channels_last):
    """Every kernel window of ``x`` as one contiguous array.

    channels_last: (n, h, w, c) -> (n, oh, ow, kh, kw, c);
    channels_first: (n, c, h, w) -> (n, c, kh, kw, oh, ow).
    One pad copy, a strided window view of it, one contiguous copy of the view.
    """
    kh, kw = kernel_size
    sh, sw = strides
    dh, dw = dilation
    (pt, pb), (pl, pr) = padding
    h, w = _spatial(x.shape, channels_last)
    oh = output_size(h, kh, sh, dh, pt, pb)
    ow = output_size(w, kw, sw, dw, pl, pr)
    padded = pad(xp, x, padding, channels_last)
    if channels_last and x.shape[3] == 1:
        return _one_channel_im2col(xp, padded, kernel_size, strides, dilation, (oh, ow))
    s0, s1, s2, s3 = padded.strides
    if channels_last:
        n, _, _, c = x.shape
        shape = (n, oh, ow, kh, kw, c)
        strides_ = (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    else:
        n, c, _, _ = x.shape
        shape = (n, c, kh, kw, oh, ow)
        strides_ = (s0, s1, s2 * dh, s3 * dw, s2 * sh, s3 * sw)
    windows = xp.lib.stride_tricks.as_strided(padded, shape=shape, strides=strides_)
    return xp.ascontiguousarray(windows)


def _one_channel_im2col(xp, padded, kernel_size, strides, dilation, out_hw):
    """im2col of a one-channel channels_last input as kh*kw strided slice copies: about 3x
    faster than the 6-D window copy, whose innermost run is that single channel (measured;
    with two or more channels the window copy is the faster one)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel_size, strides, dilation, out_hw
    cols = xp.empty((padded.shape[0], oh, ow, kh, kw, 1), dtype=padded.dtype)
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            cols[:, :, :, i, j, :] = padded[:, rows, j * dw:j * dw + sw * (ow - 1) + 1:sw, :]
    return cols


def col2im(xp, cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
    """The adjoint of ``im2col``: scatter-add ``cols`` back onto an array of ``x_shape``.

    One strided slice-add per kernel offset (kh * kw of them); pads are cut off at the end.
    """
    kh, kw = kernel_size
    sh, sw = strides
    dh, dw = dilation
    x_shape = tuple(x_shape)
    dx = _padded_zeros(xp, x_shape, padding, channels_last, cols.dtype)
    if channels_last:
        oh, ow = cols.shape[1], cols.shape[2]
    else:
        oh, ow = cols.shape[4], cols.shape[5]
    for i in range(kh):
        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            columns = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            if channels_last:
                dx[:, rows, columns, :] += cols[:, :, :, i, j, :]
            else:
                dx[:, :, rows, columns] += cols[:, :, i, j, :, :]
    if dx.shape == x_shape:
        return dx
    return xp.ascontiguousarray(_interior(dx, x_shape, padding, channels_last))
