"""Keras 2.2.4's single-image transforms (keras_preprocessing 1.0.5) in NumPy, without SciPy.

Keras resamples with ``scipy.ndimage.affine_transform(channel, matrix, offset, order=1,
mode=fill_mode, cval=cval)``; :func:`affine_resample` reproduces that call as SciPy 1.17
computes it -- the same coordinate sums, boundary mapping, weights and summation order, so
the results agree to rounding (1e-15 relative; an exact 90-degree rotation lands on the same
side of every border) -- for all channels at once:

- ``'constant'``: a pixel whose source lies outside ``[0, n - 1]`` on either axis (no
  tolerance) is ``cval``; inside, plain bilinear interpolation (no blending with ``cval``).
- ``'nearest'``: the source coordinate is clamped to ``[0, n - 1]``.
- ``'reflect'``: half-sample symmetric, ``dcba|abcd|dcba`` (period ``2n``).
- ``'wrap'``: SciPy's own wrap, whose period is ``n - 1``: the first and the last sample
  coincide (``-0.5`` reads halfway between ``x[n-2]`` and ``x[n-1]``), unlike ``'grid-wrap'``.
- ``'mirror'`` (SciPy's, which Keras passed through): whole-sample symmetric, ``dcb|abcd|cba``.
"""
import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap", "mirror")


def _check_fill_mode(fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode must be one of {', '.join(map(repr, FILL_MODES))}. "
                         f"Received: fill_mode={fill_mode!r}")


def _map_axis(coord, size, fill_mode):
    """SciPy's ``map_coordinate``: the source coordinate moved inside the image by the
    boundary rule, and for ``'constant'`` the mask of coordinates inside ``[0, size - 1]``."""
    if fill_mode == "constant":
        inside = (coord >= 0) & (coord <= size - 1)
        return np.where(inside, coord, 0.0), inside
    if size <= 1:
        return np.zeros_like(coord), None
    if fill_mode == "nearest":
        return np.clip(coord, 0, size - 1), None
    if fill_mode == "reflect":
        period = 2 * size
        below = np.where(coord < -period, period * np.trunc(-coord / period) + coord, coord)
        below = np.where(below < -size, below + period, -below - 1)
        above = coord - period * np.trunc(coord / period)
        above = np.where(above >= size, period - above - 1, above)
    elif fill_mode == "mirror":
        period = 2 * size - 2
        below = period * np.trunc(-coord / period) + coord
        below = np.where(below <= 1 - size, below + period, -below)
        above = coord - period * np.trunc(coord / period)
        above = np.where(above >= size, period - above, above)
    else:  # wrap
        period = size - 1
        below = coord + period * (np.trunc(-coord / period) + 1)
        above = coord - period * np.trunc(coord / period)
    return np.where(coord < 0, below, np.where(coord > size - 1, above, coord)), None


def _linear_taps(coord, size, fill_mode):
    """The two source indices and order-1 spline weights of each mapped coordinate, as SciPy
    computes them (``w0 = 1 - frac``, ``w1 = 1 - w0``). A tap past the last sample reads
    ``x[n-2]`` in 'mirror' mode and the edge sample otherwise."""
    start = np.floor(coord)
    w0 = 1.0 - (coord - start)
    w1 = 1.0 - w0
    first = np.clip(start, 0, size - 1).astype(np.intp)
    second = start + 1
    if fill_mode == "mirror" and size > 1:
        second = np.where(second > size - 1, 2 * size - 2 - second, second)
    second = np.clip(second, 0, size - 1).astype(np.intp)
    return first, second, w0[..., None], w1[..., None]


def _cast_like(values, dtype):
    """SciPy's store of a double into the output dtype: integers round half away from zero
    and saturate."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.where(values > 0, values + 0.5, values - 0.5 if dtype.kind == "i" else 0)
        values = np.clip(np.trunc(values), info.min, info.max)
    return values.astype(dtype)


def affine_resample(image, matrix, offset, fill_mode="nearest", cval=0.0):
    """``scipy.ndimage.affine_transform(c, matrix, offset, order=1, mode=fill_mode,
    cval=cval)`` of every channel ``c`` of ``image`` (height, width, channels) at once: output
    pixel ``o`` reads the input at ``matrix @ o + offset``, bilinearly."""
    _check_fill_mode(fill_mode)
    height, width = image.shape[:2]
    matrix = np.asarray(matrix, dtype=np.float64)
    rows = np.arange(height, dtype=np.float64)[:, None]
    cols = np.arange(width, dtype=np.float64)[None, :]
    # offset first, as SciPy sums them: coordinates on a boundary fall on the same side
    source_rows = offset[0] + rows * matrix[0, 0] + cols * matrix[0, 1]
    source_cols = offset[1] + rows * matrix[1, 0] + cols * matrix[1, 1]
    source_rows, inside_rows = _map_axis(source_rows, height, fill_mode)
    source_cols, inside_cols = _map_axis(source_cols, width, fill_mode)
    r0, r1, wr0, wr1 = _linear_taps(source_rows, height, fill_mode)
    c0, c1, wc0, wc1 = _linear_taps(source_cols, width, fill_mode)
    values = image.astype(np.float64, copy=False)
    out = values[r0, c0] * wr0 * wc0
    out += values[r0, c1] * wr0 * wc1
    out += values[r1, c0] * wr1 * wc0
    out += values[r1, c1] * wr1 * wc1
    if fill_mode == "constant":
        out = np.where((inside_rows & inside_cols)[..., None], out, float(cval))
    return _cast_like(out, image.dtype)


def transform_matrix_offset_center(matrix, x, y):
    """``matrix`` about the image centre as Keras places it: ``(x / 2 + 0.5, y / 2 + 0.5)``
    for an image of ``x`` rows and ``y`` columns (half a pixel past the true centre)."""
    o_x = float(x) / 2 + 0.5
    o_y = float(y) / 2 + 0.5
    offset_matrix = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]])
    reset_matrix = np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    return np.dot(np.dot(offset_matrix, matrix), reset_matrix)


def _check_image(x, name):
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"{name} expects a single image of rank 3 (rows, cols, channels in "
                         f"some order). Received an array of shape {x.shape}.")
    return x


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1,
                           row_axis=0, col_axis=1, channel_axis=2,
                           fill_mode="nearest", cval=0.):
    """Rotate by ``theta`` degrees, shift by ``tx`` rows and ``ty`` columns, shear by
    ``shear`` degrees and zoom by ``zx`` (rows), ``zy`` (columns) one image, composed in that
    order about the image centre (Keras's matrices), resampled bilinearly. Returns ``x``
    itself when every parameter is neutral."""
    x = _check_image(x, "apply_affine_transform")
    _check_fill_mode(fill_mode)
    transform_matrix = None
    if theta != 0:
        theta = np.deg2rad(theta)
        transform_matrix = np.array([[np.cos(theta), -np.sin(theta), 0],
                                     [np.sin(theta), np.cos(theta), 0],
                                     [0, 0, 1]])
    if tx != 0 or ty != 0:
        transform_matrix = _compose(transform_matrix, np.array([[1, 0, tx], [0, 1, ty],
                                                                [0, 0, 1]]))
    if shear != 0:
        shear = np.deg2rad(shear)
        transform_matrix = _compose(transform_matrix, np.array([[1, -np.sin(shear), 0],
                                                                [0, np.cos(shear), 0],
                                                                [0, 0, 1]]))
    if zx != 1 or zy != 1:
        transform_matrix = _compose(transform_matrix, np.array([[zx, 0, 0], [0, zy, 0],
                                                                [0, 0, 1]]))
    if transform_matrix is None:
        return x
    h, w = x.shape[row_axis], x.shape[col_axis]
    transform_matrix = transform_matrix_offset_center(transform_matrix, h, w)
    channels_last = np.moveaxis(x, channel_axis, -1)
    out = affine_resample(channels_last, transform_matrix[:2, :2], transform_matrix[:2, 2],
                          fill_mode=fill_mode, cval=cval)
    return np.moveaxis(out, -1, channel_axis)


def _compose(matrix, step):
    return step if matrix is None else np.dot(matrix, step)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0,
                    fill_mode="nearest", cval=0.):
    """Rotate by an angle drawn uniformly from ``[-rg, rg)`` degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0,
                 fill_mode="nearest", cval=0.):
    """Shift by fractions of the height (drawn from ``[-hrg, hrg)``) and width
    (``[-wrg, wrg)``)."""
    x = _check_image(x, "random_shift")
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0,
                 fill_mode="nearest", cval=0.):
    """Shear by an angle drawn from ``[-intensity, intensity)`` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0,
                fill_mode="nearest", cval=0.):
    """Zoom rows and columns by factors drawn independently from ``zoom_range``
    (``(lower, upper)``); ``(1, 1)`` draws nothing."""
    if len(zoom_range) != 2:
        raise ValueError("`zoom_range` should be a tuple or list of two floats. "
                         f"Received: {zoom_range!r}")
    if zoom_range[0] == 1 and zoom_range[1] == 1:
        zx, zy = 1, 1
    else:
        zx, zy = np.random.uniform(zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add ``intensity`` to every channel, clipped to the image's own min and max."""
    x = np.asarray(x)
    shifted = np.clip(x + intensity, np.min(x), np.max(x))
    return shifted.astype(x.dtype) if x.dtype.kind == "f" else shifted


def random_channel_shift(x, intensity_range, channel_axis=0):
    """:func:`apply_channel_shift` by an intensity drawn from
    ``[-intensity_range, intensity_range)``."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def to_uint8_image(x):
    """``array_to_img``'s pixels (channels last): shifted to be non-negative, scaled so the
    maximum is 255, truncated to uint8."""
    x = np.asarray(x, dtype=np.float32)
    x = x + max(-np.min(x), 0)
    x_max = np.max(x)
    if x_max != 0:
        x /= x_max
    x *= 255
    return x.astype(np.uint8)


def apply_brightness_shift(x, brightness, channel_axis=-1):
    """Keras's brightness shift through Pillow's ``ImageEnhance.Brightness``, in NumPy: the
    image (channels on ``channel_axis``: 1, 3 or 4 of them) is first rescaled to 0..255 as
    ``array_to_img`` does, then every colour value becomes ``trunc(brightness * v)`` in
    float32, clipped to 0..255 (alpha is kept). Returns float32 values in 0..255."""
    x = np.moveaxis(_check_image(x, "apply_brightness_shift"), channel_axis, -1)
    if x.shape[-1] not in (1, 3, 4):
        raise ValueError("apply_brightness_shift expects 1, 3 or 4 channels on axis "
                         f"{channel_axis}. Received an image of shape {x.shape}.")
    pixels = to_uint8_image(x).astype(np.float32)
    colours = slice(0, 3) if pixels.shape[-1] == 4 else slice(None)
    shifted = np.float32(brightness) * pixels[..., colours]
    pixels[..., colours] = np.trunc(np.clip(shifted, 0, 255))
    return np.moveaxis(pixels, -1, channel_axis)


def random_brightness(x, brightness_range):
    """:func:`apply_brightness_shift` by a factor drawn from ``brightness_range``."""
    if len(brightness_range) != 2:
        raise ValueError("`brightness_range should be tuple or list of two floats. "
                         f"Received: {brightness_range!r}")
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u)


def flip_axis(x, axis):
    """``x`` reversed along ``axis`` (a view)."""
    return np.flip(np.asarray(x), axis)
