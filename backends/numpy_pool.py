"""2-D max and average pooling on any NumPy-compatible array module ``xp``.

The forward passes reduce over a strided window view of the (padded) input, so no window is
copied for averages and one ``(..., kh*kw, ...)`` copy is made for the max's argmax. When the
windows tile the input exactly (strides == pool_size, no padding, sizes divide) a plain
reshape replaces the view. Backward passes loop over the kh*kw window offsets only, each a
strided-slice add into the padded gradient (measured faster than a reshape path even for
exact tilings).

Geometry as in the backend contract: ``pool_size=(kh, kw)``, ``strides=(sh, sw)``,
``padding=((pt, pb), (pl, pr))``; x is (n, h, w, c) when ``channels_last`` else (n, c, h, w).
"""
import numpy


def _output_size(size, window, stride, pad_before, pad_after):
    return (size + pad_before + pad_after - window) // stride + 1


def _spatial_axes(channels_last):
    return (1, 2) if channels_last else (2, 3)


def _geometry(x_shape, pool_size, strides, padding, channels_last):
    ax_h, ax_w = _spatial_axes(channels_last)
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = pool_size, strides, padding
    oh = _output_size(x_shape[ax_h], kh, sh, pt, pb)
    ow = _output_size(x_shape[ax_w], kw, sw, pl, pr)
    return oh, ow


def _tiles_exactly(x_shape, pool_size, strides, padding, channels_last):
    ax_h, ax_w = _spatial_axes(channels_last)
    return (tuple(strides) == tuple(pool_size) and not any(padding[0]) and not any(padding[1])
            and x_shape[ax_h] % pool_size[0] == 0 and x_shape[ax_w] % pool_size[1] == 0)


def _pad(xp, x, padding, channels_last, value):
    if not any(padding[0]) and not any(padding[1]):
        return x
    spatial = [tuple(padding[0]), tuple(padding[1])]
    widths = [(0, 0)] + spatial + [(0, 0)] if channels_last else [(0, 0), (0, 0)] + spatial
    return xp.pad(x, widths, constant_values=value)


def _windows(xp, padded, pool_size, strides, out_hw, channels_last):
    """A strided view, only ever read: (n, oh, ow, kh, kw, c) or (n, c, oh, ow, kh, kw)."""
    (kh, kw), (sh, sw), (oh, ow) = pool_size, strides, out_hw
    s = padded.strides
    if channels_last:
        n, _, _, c = padded.shape
        shape = (n, oh, ow, kh, kw, c)
        view_strides = (s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3])
    else:
        n, c = padded.shape[:2]
        shape = (n, c, oh, ow, kh, kw)
        view_strides = (s[0], s[1], s[2] * sh, s[3] * sw, s[2], s[3])
    return xp.lib.stride_tricks.as_strided(padded, shape, view_strides)


def _tiles(x, pool_size, channels_last):
    """The exact tiling as a reshape view: (n, oh, kh, ow, kw, c) or (n, c, oh, kh, ow, kw)."""
    kh, kw = pool_size
    if channels_last:
        n, h, w, c = x.shape
        return x.reshape(n, h // kh, kh, w // kw, kw, c)
    n, c, h, w = x.shape
    return x.reshape(n, c, h // kh, kh, w // kw, kw)


def _lowest_value(dtype):
    return -numpy.inf if numpy.dtype(dtype).kind == "f" else numpy.iinfo(dtype).min


def max_pool(xp, x, pool_size, strides, padding, channels_last):
    """``(y, argmax)``: window maxima and the int32 flat offset ``i*kw + j`` of each winner
    (the lowest offset among ties); padded positions act as -inf."""
    oh, ow = _geometry(x.shape, pool_size, strides, padding, channels_last)
    kh, kw = pool_size
    if _tiles_exactly(x.shape, pool_size, strides, padding, channels_last):
        tiles = _tiles(x, pool_size, channels_last)
        order = (0, 1, 3, 2, 4, 5) if channels_last else (0, 1, 2, 4, 3, 5)
        windows = tiles.transpose(order)
    else:
        padded = _pad(xp, x, padding, channels_last, _lowest_value(x.dtype))
        windows = _windows(xp, padded, pool_size, strides, (oh, ow), channels_last)
    # window axes flattened to one: axis 3 (before channels) or the last axis
    if channels_last:
        n, c = x.shape[0], x.shape[3]
        flat = windows.reshape(n, oh, ow, kh * kw, c)
        axis = 3
    else:
        n, c = x.shape[:2]
        flat = windows.reshape(n, c, oh, ow, kh * kw)
        axis = 4
    argmax = xp.argmax(flat, axis=axis)  # the first maximum: the lowest offset wins ties
    y = xp.take_along_axis(flat, xp.expand_dims(argmax, axis), axis=axis)
    return xp.squeeze(y, axis=axis), argmax.astype(xp.int32)


def _scatter_windows(xp, x_shape, pool_size, strides, padding, channels_last, per_offset,
                     dtype):
    """dx for ``x_shape``: the sum over window offsets (i, j) of ``per_offset(i, j)`` (an
    output-shaped array) added at the input positions that offset reads."""
    (kh, kw), (sh, sw), ((pt, pb), (pl, pr)) = pool_size, strides, padding
    oh, ow = _geometry(x_shape, pool_size, strides, padding, channels_last)
    ax_h, ax_w = _spatial_axes(channels_last)
    padded_shape = list(x_shape)
    padded_shape[ax_h] += pt + pb
    padded_shape[ax_w] += pl + pr
    dx = xp.zeros(padded_shape, dtype=dtype)
    index = [slice(None)] * 4
    for i in range(kh):
        index[ax_h] = slice(i, i + sh * (oh - 1) + 1, sh)
        for j in range(kw):
            index[ax_w] = slice(j, j + sw * (ow - 1) + 1, sw)
            dx[tuple(index)] += per_offset(i, j)
    index[ax_h] = slice(pt, pt + x_shape[ax_h])
    index[ax_w] = slice(pl, pl + x_shape[ax_w])
    return dx[tuple(index)] if pt or pb or pl or pr else dx


def max_pool_backward(xp, dy, argmax, x_shape, pool_size, strides, padding, channels_last):
    """dx: each output's gradient goes to its winning input position."""
    kw = pool_size[1]
    zero = xp.zeros((), dtype=dy.dtype)
    return _scatter_windows(xp, x_shape, pool_size, strides, padding, channels_last,
                            lambda i, j: xp.where(argmax == i * kw + j, dy, zero), dy.dtype)


def _window_counts(xp, x_shape, pool_size, strides, padding, channels_last, dtype):
    """How many real (non-padded) inputs each output window covers, broadcastable to y."""
    ax_h, ax_w = _spatial_axes(channels_last)
    oh, ow = _geometry(x_shape, pool_size, strides, padding, channels_last)
    counts = []
    for size, k, s, pad_before, out in ((x_shape[ax_h], pool_size[0], strides[0],
                                         padding[0][0], oh),
                                        (x_shape[ax_w], pool_size[1], strides[1],
                                         padding[1][0], ow)):
        start = xp.arange(out) * s - pad_before
        stop = xp.minimum(start + k, size)
        counts.append(xp.maximum(stop - xp.maximum(start, 0), 1))  # >= 1: no 0/0 windows
    count = counts[0][:, None] * counts[1][None, :]
    return (count[:, :, None] if channels_last else count).astype(dtype)


def _float_dtype(dtype):
    return dtype if numpy.dtype(dtype).kind == "f" else numpy.float64


def avg_pool(xp, x, pool_size, strides, padding, channels_last):
    """Window means over the real (non-padded) inputs, as Keras/TensorFlow divide."""
    oh, ow = _geometry(x.shape, pool_size, strides, padding, channels_last)
    dtype = _float_dtype(x.dtype)
    if _tiles_exactly(x.shape, pool_size, strides, padding, channels_last):
        # rows first, then columns: faster than one two-axis reduction
        kh_axis = 2 if channels_last else 3
        total = _tiles(x, pool_size, channels_last).sum(axis=kh_axis, dtype=dtype)
        total = total.sum(axis=kh_axis + 1)
        return total / xp.asarray(pool_size[0] * pool_size[1], dtype=dtype)
    padded = _pad(xp, x, padding, channels_last, 0)
    windows = _windows(xp, padded, pool_size, strides, (oh, ow), channels_last)
    total = windows.sum(axis=(3, 4) if channels_last else (4, 5), dtype=dtype)
    return total / _window_counts(xp, x.shape, pool_size, strides, padding, channels_last,
                                  dtype)


def avg_pool_backward(xp, dy, x_shape, pool_size, strides, padding, channels_last):
    """dx: the adjoint of ``avg_pool``; each window's gradient shared by its real inputs."""
    x_shape = tuple(x_shape)
    share = dy / _window_counts(xp, x_shape, pool_size, strides, padding, channels_last,
                                dy.dtype)
    return _scatter_windows(xp, x_shape, pool_size, strides, padding, channels_last,
                            lambda i, j: share, dy.dtype)
