"""Naive-loop NumPy references of the six convolution/pooling primitives of
docs/backend_primitives.md, written from the contract's words, loop by loop (scatter where the
kernels gather), for small test shapes only. Pooling takes a dilation too (the kernels do)."""
import itertools

import numpy


def _nchw(x, channels_last):
    return x.transpose(0, 3, 1, 2) if channels_last else x


def _from_nchw(x, channels_last):
    return numpy.ascontiguousarray(x.transpose(0, 2, 3, 1) if channels_last else x)


def output_size(x_shape, kernel_size, strides, dilation, padding, channels_last):
    h, w = x_shape[1:3] if channels_last else x_shape[2:4]
    return tuple((size + pad[0] + pad[1] - d * (k - 1) - 1) // s + 1
                 for size, k, s, d, pad in zip((h, w), kernel_size, strides, dilation, padding))


def _taps(x_shape, kernel_size, strides, dilation, padding, channels_last):
    """(b, ch, oy, ox, i, j, row, col, inside) for every tap of every window."""
    n = x_shape[0]
    c = x_shape[3] if channels_last else x_shape[1]
    h, w = x_shape[1:3] if channels_last else x_shape[2:4]
    oh, ow = output_size(x_shape, kernel_size, strides, dilation, padding, channels_last)
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    (pt, _), (pl, _) = padding
    for b, ch, oy, ox, i, j in itertools.product(range(n), range(c), range(oh), range(ow),
                                                 range(kh), range(kw)):
        row, col = oy * sh - pt + i * dh, ox * sw - pl + j * dw
        yield b, ch, oy, ox, i, j, row, col, 0 <= row < h and 0 <= col < w


def im2col(x, kernel_size, strides, dilation, padding, channels_last):
    xc = _nchw(x, channels_last)
    oh, ow = output_size(x.shape, kernel_size, strides, dilation, padding, channels_last)
    cols = numpy.zeros((xc.shape[0], xc.shape[1], *kernel_size, oh, ow), x.dtype)
    for b, ch, oy, ox, i, j, row, col, inside in _taps(x.shape, kernel_size, strides, dilation,
                                                       padding, channels_last):
        if inside:
            cols[b, ch, i, j, oy, ox] = xc[b, ch, row, col]
    return numpy.ascontiguousarray(cols.transpose(0, 4, 5, 2, 3, 1) if channels_last else cols)


def col2im(cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
    cc = cols.transpose(0, 5, 3, 4, 1, 2) if channels_last else cols  # to (n, c, kh, kw, oh, ow)
    dx = numpy.zeros(_nchw(numpy.empty(x_shape, bool), channels_last).shape, cols.dtype)
    for b, ch, oy, ox, i, j, row, col, inside in _taps(x_shape, kernel_size, strides, dilation,
                                                       padding, channels_last):
        if inside:
            dx[b, ch, row, col] += cc[b, ch, i, j, oy, ox]
    return _from_nchw(dx, channels_last)


def _windows(x_shape, pool_size, strides, dilation, padding, channels_last):
    """{(b, ch, oy, ox): [(offset, row, col) of each real tap, in offset order]}."""
    windows = {}
    for b, ch, oy, ox, i, j, row, col, inside in _taps(x_shape, pool_size, strides, dilation,
                                                       padding, channels_last):
        taps = windows.setdefault((b, ch, oy, ox), [])
        if inside:
            taps.append((i * pool_size[1] + j, row, col))
    return windows


def _pooled_shape(x_shape, pool_size, strides, dilation, padding, channels_last):
    oh, ow = output_size(x_shape, pool_size, strides, dilation, padding, channels_last)
    n, c = x_shape[0], x_shape[3] if channels_last else x_shape[1]
    return n, c, oh, ow


def max_pool(x, pool_size, strides, padding, channels_last, dilation=(1, 1)):
    """Padding never wins; ties -> lowest offset; the first NaN wins (as numpy.argmax); a
    window of padding only gives -inf, offset 0."""
    xc = _nchw(x, channels_last)
    shape = _pooled_shape(x.shape, pool_size, strides, dilation, padding, channels_last)
    y = numpy.full(shape, -numpy.inf, x.dtype)
    argmax = numpy.zeros(shape, numpy.int32)
    for (b, ch, oy, ox), taps in _windows(x.shape, pool_size, strides, dilation, padding,
                                          channels_last).items():
        values = [xc[b, ch, row, col] for _, row, col in taps]
        if values:
            best = int(numpy.argmax(values))
            y[b, ch, oy, ox], argmax[b, ch, oy, ox] = values[best], taps[best][0]
    return _from_nchw(y, channels_last), _from_nchw(argmax, channels_last)


def max_pool_backward(dy, argmax, x_shape, pool_size, strides, padding, channels_last,
                      dilation=(1, 1)):
    dyc, argc = _nchw(dy, channels_last), _nchw(argmax, channels_last)
    dx = numpy.zeros(_nchw(numpy.empty(x_shape, bool), channels_last).shape, dy.dtype)
    for (b, ch, oy, ox), taps in _windows(x_shape, pool_size, strides, dilation, padding,
                                          channels_last).items():
        for offset, row, col in taps:
            if offset == argc[b, ch, oy, ox]:
                dx[b, ch, row, col] += dyc[b, ch, oy, ox]
    return _from_nchw(dx, channels_last)


def avg_pool(x, pool_size, strides, padding, channels_last, dilation=(1, 1)):
    """The mean over the window's real positions; 0 for a window of padding only."""
    xc = _nchw(x, channels_last)
    y = numpy.zeros(_pooled_shape(x.shape, pool_size, strides, dilation, padding,
                                  channels_last), x.dtype)
    for (b, ch, oy, ox), taps in _windows(x.shape, pool_size, strides, dilation, padding,
                                          channels_last).items():
        if taps:
            y[b, ch, oy, ox] = sum(xc[b, ch, row, col] for _, row, col in taps) / len(taps)
    return _from_nchw(y, channels_last)


def avg_pool_backward(dy, x_shape, pool_size, strides, padding, channels_last, dilation=(1, 1)):
    dyc = _nchw(dy, channels_last)
    dx = numpy.zeros(_nchw(numpy.empty(x_shape, bool), channels_last).shape, dy.dtype)
    for (b, ch, oy, ox), taps in _windows(x_shape, pool_size, strides, dilation, padding,
                                          channels_last).items():
        for _, row, col in taps:
            dx[b, ch, row, col] += dyc[b, ch, oy, ox] / len(taps)
    return _from_nchw(dx, channels_last)
