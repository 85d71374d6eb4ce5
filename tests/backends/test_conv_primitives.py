"""im2col / col2im of NumpyBackend against naive-loop NumPy references, and their adjointness."""
import numpy as np
import pytest

from gkeras.backends.numpy_backend import NumpyBackend

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")

# (x shape as (n, h, w, c), kernel_size, strides, dilation, padding ((pt, pb), (pl, pr)))
GEOMETRIES = [
    ((2, 5, 7, 3), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((1, 6, 5, 2), (2, 3), (2, 1), (1, 1), ((0, 1), (1, 1))),
    ((3, 7, 9, 1), (3, 2), (2, 3), (1, 1), ((1, 2), (0, 3))),
    ((2, 8, 9, 1), (2, 3), (2, 1), (2, 2), ((1, 0), (2, 1))),    # one channel, dilated
    ((2, 9, 8, 4), (3, 3), (1, 1), (2, 3), ((2, 1), (3, 0))),
    ((1, 4, 4, 5), (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 1, 11, 3), (1, 4), (1, 3), (1, 1), ((0, 0), (2, 1))),   # 1-D through a height-1 axis
    ((2, 1, 10, 2), (1, 3), (1, 1), (1, 2), ((0, 0), (4, 0))),   # causal 1-D, dilated
    ((1, 3, 3, 2), (5, 5), (1, 1), (1, 1), ((1, 1), (2, 0))),    # kernel spans the padded input
    ((2, 5, 6, 3), (2, 2), (3, 4), (1, 1), ((4, 0), (0, 4))),    # windows entirely in the pads
]
IDS = [f"{g[0]}-k{g[1]}-s{g[2]}-d{g[3]}-p{g[4]}" for g in GEOMETRIES]


def out_size(size, k, s, d, before, after):
    return (size + before + after - d * (k - 1) - 1) // s + 1


def source_position(oy, ox, i, j, strides, dilation, padding):
    """The input (row, column) window (oy, ox) reads at kernel offset (i, j)."""
    return (oy * strides[0] - padding[0][0] + i * dilation[0],
            ox * strides[1] - padding[1][0] + j * dilation[1])


def naive_im2col(x_nhwc, kernel_size, strides, dilation, padding):
    """(n, h, w, c) -> (n, oh, ow, kh, kw, c) by loops over windows and kernel offsets."""
    n, h, w, c = x_nhwc.shape
    kh, kw = kernel_size
    oh = out_size(h, kh, strides[0], dilation[0], *padding[0])
    ow = out_size(w, kw, strides[1], dilation[1], *padding[1])
    cols = np.zeros((n, oh, ow, kh, kw, c), x_nhwc.dtype)
    for oy in range(oh):
        for ox in range(ow):
            for i in range(kh):
                for j in range(kw):
                    r, q = source_position(oy, ox, i, j, strides, dilation, padding)
                    if 0 <= r < h and 0 <= q < w:
                        cols[:, oy, ox, i, j, :] = x_nhwc[:, r, q, :]
    return cols


def naive_col2im(cols_nhwc, x_shape_nhwc, kernel_size, strides, dilation, padding):
    """The scatter-add of (n, oh, ow, kh, kw, c) windows onto an (n, h, w, c) array."""
    n, h, w, c = x_shape_nhwc
    _, oh, ow, kh, kw, _ = cols_nhwc.shape
    dx = np.zeros(x_shape_nhwc, cols_nhwc.dtype)
    for oy in range(oh):
        for ox in range(ow):
            for i in range(kh):
                for j in range(kw):
                    r, q = source_position(oy, ox, i, j, strides, dilation, padding)
                    if 0 <= r < h and 0 <= q < w:
                        dx[:, r, q, :] += cols_nhwc[:, oy, ox, i, j, :]
    return dx


def to_layout(x_nhwc, channels_last):
    return x_nhwc if channels_last else np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))


def cols_to_layout(cols_nhwc, channels_last):
    """(n, oh, ow, kh, kw, c) -> the channels_first cols layout (n, c, kh, kw, oh, ow)."""
    if channels_last:
        return cols_nhwc
    return np.ascontiguousarray(cols_nhwc.transpose(0, 5, 3, 4, 1, 2))


def x_shape_in(shape_nhwc, channels_last):
    n, h, w, c = shape_nhwc
    return (n, h, w, c) if channels_last else (n, c, h, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channels_last", [True, False], ids=["last", "first"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_im2col_matches_naive_loops(geometry, channels_last, dtype):
    shape, kernel_size, strides, dilation, padding = geometry
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = NumpyBackend().im2col(to_layout(x, channels_last), kernel_size, strides, dilation,
                                padding, channels_last)
    want = cols_to_layout(naive_im2col(x, kernel_size, strides, dilation, padding),
                          channels_last)
    assert got.dtype == np.dtype(dtype) and got.flags.c_contiguous
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channels_last", [True, False], ids=["last", "first"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_col2im_matches_naive_scatter_add(geometry, channels_last, dtype):
    shape, kernel_size, strides, dilation, padding = geometry
    n, h, w, c = shape
    oh = out_size(h, kernel_size[0], strides[0], dilation[0], *padding[0])
    ow = out_size(w, kernel_size[1], strides[1], dilation[1], *padding[1])
    cols = np.random.default_rng(1).standard_normal(
        (n, oh, ow, *kernel_size, c)).astype(dtype)
    got = NumpyBackend().col2im(cols_to_layout(cols, channels_last),
                                x_shape_in(shape, channels_last), kernel_size, strides,
                                dilation, padding, channels_last)
    want = to_layout(naive_col2im(cols, shape, kernel_size, strides, dilation, padding),
                     channels_last)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    assert got.flags.c_contiguous
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == "float32" else 1e-14,
                               atol=1e-6 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("channels_last", [True, False], ids=["last", "first"])
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=IDS)
def test_col2im_is_the_adjoint_of_im2col(geometry, channels_last):
    shape, kernel_size, strides, dilation, padding = geometry
    b = NumpyBackend()
    rng = np.random.default_rng(2)
    x = rng.standard_normal(x_shape_in(shape, channels_last))
    cols_x = b.im2col(x, kernel_size, strides, dilation, padding, channels_last)
    c = rng.standard_normal(cols_x.shape)
    dx = b.col2im(c, x.shape, kernel_size, strides, dilation, padding, channels_last)
    lhs = float(np.sum(cols_x * c))
    rhs = float(np.sum(x * dx))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_im2col_does_not_modify_its_input_and_col2im_result_is_fresh():
    b = NumpyBackend()
    x = np.arange(2 * 4 * 4 * 3, dtype="float64").reshape(2, 4, 4, 3)
    saved = x.copy()
    cols = b.im2col(x, (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), True)
    np.testing.assert_array_equal(cols.reshape(x.shape), x)
    np.testing.assert_array_equal(x, saved)
    dx = b.col2im(cols, x.shape, (1, 1), (1, 1), (1, 1), ((0, 0), (0, 0)), True)
    assert not np.shares_memory(dx, cols)
    np.testing.assert_array_equal(dx, x)
