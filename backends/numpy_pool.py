"""2-D max and average pooling on any NumPy-compatible array module ``xp``.

Max pooling loops over the kh*kw window offsets, each an output-sized strided slice of the
(padded) input: a running maximum, then the winner's offset from equality tests; no window
is copied. Averages reduce over
a strided window view, or a plain reshape when the windows tile the input exactly (strides ==
pool_size, no padding, sizes divide). Backward passes loop over the window offsets only, each
a strided-slice write (disjoint windows) or add (overlapping ones) into the padded gradient.

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


def output_hw(x_shape, pool_size, strides, padding, channels_last):
    """``(oh, ow)`` of a pooling of ``x_shape``."""
    return _geometry(x_shape, pool_size, strides, padding, channels_last)


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


def _offset_index(ax_h, ax_w, i, j, strides, out_hw):
    """The strided slice of the padded input that window offset (i, j) reads, one element
    per output position."""
    (sh, sw), (oh, ow) = strides, out_hw
    index = [slice(None)] * 4
    index[ax_h] = slice(i, i + sh * (oh - 1) + 1, sh)
    index[ax_w] = slice(j, j + sw * (ow - 1) + 1, sw)
    return tuple(index)


def max_pool(xp, x, pool_size, strides, padding, channels_last):
    """``(y, argmax)``: window maxima and the int32 flat offset ``i*kw + j`` of each winner
    (the lowest offset among ties, the first NaN as ``numpy.argmax``); padded positions act
    as -inf. Passes over output-sized strided slices, one group per window offset: no window
    is copied, and no masked copy (slow in NumPy) is made."""
    out_hw = _geometry(x.shape, pool_size, strides, padding, channels_last)
    kh, kw = pool_size
    ax_h, ax_w = _spatial_axes(channels_last)
    padded = _pad(xp, x, padding, channels_last, _lowest_value(x.dtype))
    windows = [padded[_offset_index(ax_h, ax_w, k // kw, k % kw, strides, out_hw)]
               for k in range(kh * kw)]
    y = windows[0].copy()
    for window in windows[1:]:
        xp.maximum(y, window, out=y)  # NaN propagates, as argmax picks a NaN
    # argmax = the number of leading offsets that are not the winner
    argmax = xp.zeros(y.shape, dtype=xp.int32)
    before_winner = None
    missed = xp.empty(y.shape, dtype=bool)
    nan_possible = _may_hold_nan(xp, y)
    for window in windows[:-1]:
        xp.not_equal(window, y, out=missed)
        if nan_possible:
            xp.logical_and(missed, window == window, out=missed)  # a NaN entry is the winner
        if before_winner is None:
            before_winner = missed.copy()
        else:
            xp.logical_and(before_winner, missed, out=before_winner)
        argmax += before_winner
    return y, argmax


def _may_hold_nan(xp, y):
    """Whether a window may hold a NaN: only float windows can, and on NumPy only when a
    maximum is NaN (the maximum propagates NaN) -- a host-side test that saves two passes per
    window offset; on a device it would be a synchronisation, so there the passes run."""
    if numpy.dtype(y.dtype).kind != "f":
        return False
    return xp is not numpy or bool(xp.isnan(y).any())


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
    kh, kw = pool_size
    if strides[0] < kh or strides[1] < kw:  # overlapping windows: offsets add up
        return _scatter_windows(xp, x_shape, pool_size, strides, padding, channels_last,
                                lambda i, j: dy * (argmax == i * kw + j), dy.dtype)
    # disjoint windows: every input position is read by one offset at most, so each offset
    # writes its outputs' gradients (0 where it did not win) straight into its slice
    (pt, pb), (pl, pr) = padding
    ax_h, ax_w = _spatial_axes(channels_last)
    padded_shape = list(x_shape)
    padded_shape[ax_h] += pt + pb
    padded_shape[ax_w] += pl + pr
    dx = xp.zeros(padded_shape, dtype=dy.dtype)
    out_hw = dy.shape[ax_h], dy.shape[ax_w]
    for offset in range(kh * kw):
        target = dx[_offset_index(ax_h, ax_w, offset // kw, offset % kw, strides, out_hw)]
        xp.multiply(dy, argmax == offset, out=target)
    index = [slice(None)] * 4
    index[ax_h] = slice(pt, pt + x_shape[ax_h])
    index[ax_w] = slice(pl, pl + x_shape[ax_w])
    return dx[tuple(index)] if pt or pb or pl or pr else dx


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
