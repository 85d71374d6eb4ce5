"""NumpyBackend pooling primitives (contract 3-6) against naive-loop NumPy references."""
import itertools

import numpy as np
import pytest

from gkeras.backends import numpy_pool
from gkeras.backends.numpy_backend import NumpyBackend

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")

RNG = np.random.default_rng(7)
B = NumpyBackend()

# (x spatial (h, w), pool_size, strides, padding): odd sizes, strides below/equal/above the
# pool, asymmetric pads, the exact-tiling fast path, 1x1 and height-1 (1-D) pools
GEOMETRIES = [
    ((5, 7), (2, 3), (1, 1), ((0, 0), (0, 0))),
    ((5, 7), (3, 2), (2, 1), ((1, 0), (0, 1))),
    ((6, 9), (2, 2), (3, 4), ((0, 0), (0, 0))),   # stride > pool: skipped inputs
    ((7, 6), (3, 3), (2, 2), ((1, 1), (0, 2))),
    ((4, 6), (2, 2), (2, 2), ((0, 0), (0, 0))),   # exact tiling: fast path
    ((6, 6), (3, 2), (3, 2), ((0, 0), (0, 0))),   # exact tiling, non-square
    ((5, 5), (2, 2), (2, 2), ((0, 1), (0, 1))),   # stride == pool but padded: no fast path
    ((5, 4), (1, 1), (1, 1), ((0, 0), (0, 0))),
    ((1, 9), (1, 4), (1, 3), ((0, 0), (1, 2))),   # what the 1-D ops pass
    ((3, 3), (3, 3), (1, 1), ((2, 2), (1, 2))),   # every output window partly padded
]
CASES = [(g, layout, dtype) for g in GEOMETRIES for layout in ("channels_last", "channels_first")
         for dtype in ("float32", "float64")]


def _case_id(case):
    (hw, k, s, p), layout, dtype = case
    return f"{hw}-k{k}-s{s}-p{p}-{layout[9:]}-{dtype}"


def _out_size(n, k, s, p):
    return (n + p[0] + p[1] - k) // s + 1


def reference_pool(x_nchw, pool_size, strides, padding):
    """Plain loops on channels_first input: (max, argmax, mean, windows) per output pixel;
    ``windows[oy][ox]`` lists the real input (row, col) positions with their offsets."""
    n, c, h, w = x_nchw.shape
    (kh, kw), (sh, sw), (ph, pw) = pool_size, strides, padding
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    y_max = np.zeros((n, c, oh, ow), x_nchw.dtype)
    y_arg = np.zeros((n, c, oh, ow), np.int64)
    y_avg = np.zeros((n, c, oh, ow), x_nchw.dtype if x_nchw.dtype.kind == "f" else "float64")
    windows = [[[] for _ in range(ow)] for _ in range(oh)]
    for oy, ox in itertools.product(range(oh), range(ow)):
        for i, j in itertools.product(range(kh), range(kw)):
            r, q = oy * sh - ph[0] + i, ox * sw - pw[0] + j
            if 0 <= r < h and 0 <= q < w:
                windows[oy][ox].append((r, q, i * kw + j))
        for b, ch in itertools.product(range(n), range(c)):
            values = [(x_nchw[b, ch, r, q], offset) for r, q, offset in windows[oy][ox]]
            best, best_offset = values[0]
            for v, offset in values[1:]:
                if v > best:  # strictly greater: the lowest offset keeps ties
                    best, best_offset = v, offset
            y_max[b, ch, oy, ox], y_arg[b, ch, oy, ox] = best, best_offset
            y_avg[b, ch, oy, ox] = sum(float(v) for v, _ in values) / len(values)
    return y_max, y_arg, y_avg, windows


def reference_backward(dy_nchw, arg_nchw, x_shape_nchw, windows, pool_size):
    kw = pool_size[1]
    dx_max = np.zeros(x_shape_nchw, "float64")
    dx_avg = np.zeros(x_shape_nchw, "float64")
    n, c, oh, ow = dy_nchw.shape
    for oy, ox in itertools.product(range(oh), range(ow)):
        real = windows[oy][ox]
        for b, ch in itertools.product(range(n), range(c)):
            g = float(dy_nchw[b, ch, oy, ox])
            for r, q, offset in real:
                dx_avg[b, ch, r, q] += g / len(real)
                if offset == arg_nchw[b, ch, oy, ox]:
                    dx_max[b, ch, r, q] += g
    assert all(arg // kw < pool_size[0] for arg in arg_nchw.ravel())
    return dx_max, dx_avg


def _to_layout(a_nchw, layout):
    return np.ascontiguousarray(a_nchw.transpose(0, 2, 3, 1)) if layout == "channels_last" \
        else a_nchw


def _run(x_nchw, geometry, layout, dtype):
    _, k, s, p = geometry
    last = layout == "channels_last"
    x = _to_layout(x_nchw.astype(dtype), layout)
    y, arg = B.max_pool(x, k, s, p, last)
    avg = B.avg_pool(x, k, s, p, last)
    ref_max, ref_arg, ref_avg, windows = reference_pool(x_nchw.astype(dtype), k, s, p)
    tol = 1e-6 if dtype == "float32" else 1e-13
    assert y.dtype == np.dtype(dtype) and avg.dtype == np.dtype(dtype)
    assert arg.dtype == np.int32
    np.testing.assert_array_equal(y, _to_layout(ref_max, layout))
    np.testing.assert_array_equal(arg, _to_layout(ref_arg, layout))
    np.testing.assert_allclose(avg, _to_layout(ref_avg, layout), rtol=tol, atol=tol)

    dy_nchw = RNG.standard_normal(ref_max.shape).astype(dtype)
    dy = _to_layout(dy_nchw, layout)
    dx_max = B.max_pool_backward(dy, arg, x.shape, k, s, p, last)
    dx_avg = B.avg_pool_backward(dy, x.shape, k, s, p, last)
    want_max, want_avg = reference_backward(dy_nchw, ref_arg, x_nchw.shape, windows, k)
    assert dx_max.shape == x.shape and dx_avg.shape == x.shape
    assert dx_max.dtype == np.dtype(dtype) and dx_avg.dtype == np.dtype(dtype)
    np.testing.assert_allclose(dx_max, _to_layout(want_max, layout), rtol=tol, atol=tol)
    np.testing.assert_allclose(dx_avg, _to_layout(want_avg, layout), rtol=tol, atol=tol)
    return x, y, avg, dy, dx_avg


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_pooling_matches_naive_loops(case):
    geometry, layout, dtype = case
    h, w = geometry[0]
    _run(RNG.standard_normal((2, 3, h, w)), geometry, layout, dtype)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_ties_go_to_the_lowest_window_offset(case):
    geometry, layout, dtype = case
    h, w = geometry[0]
    # three distinct values: most windows hold ties
    _run(RNG.integers(0, 3, (2, 3, h, w)).astype("float64"), geometry, layout, dtype)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_padding_never_wins_and_never_counts(layout):
    x_nchw = -1.0 - RNG.uniform(size=(1, 2, 3, 3))  # all negative: a zero pad would win
    geometry = ((3, 3), (2, 2), (2, 2), ((1, 1), (1, 1)))
    _, y, avg, _, _ = _run(x_nchw, geometry, layout, "float64")
    assert np.all(y < -1) and np.all(avg < -1)
    corner = x_nchw[0, :, 0, 0]  # the top-left window holds one real input
    first = y[0, 0, 0] if layout == "channels_last" else y[0, :, 0, 0]
    np.testing.assert_array_equal(first, corner)


@pytest.mark.parametrize("case", [c for c in CASES if c[2] == "float32"], ids=_case_id)
def test_a_nan_wins_its_window_as_numpy_argmax_picks_it(case):
    (h, w), k, s, p = case[0]
    last = case[1] == "channels_last"
    x_nchw = RNG.standard_normal((2, 3, h, w)).astype("float32")
    x_nchw[RNG.uniform(size=x_nchw.shape) < 0.2] = np.nan
    ref_max, _, _, windows = reference_pool(np.nan_to_num(x_nchw), k, s, p)
    y, arg = B.max_pool(_to_layout(x_nchw, case[1]), k, s, p, last)
    want_y, want_arg = np.empty_like(ref_max), np.empty(ref_max.shape, np.int64)
    for oy, ox in itertools.product(*map(range, ref_max.shape[2:])):
        real = windows[oy][ox]
        values = np.stack([x_nchw[:, :, r, q] for r, q, _ in real], axis=-1)
        first = np.argmax(values, axis=-1)  # the first NaN, else the first maximum
        want_y[:, :, oy, ox] = np.take_along_axis(values, first[..., None], -1)[..., 0]
        want_arg[:, :, oy, ox] = np.array([offset for _, _, offset in real])[first]
    np.testing.assert_array_equal(y, _to_layout(want_y, case[1]))
    np.testing.assert_array_equal(arg, _to_layout(want_arg, case[1]))


@pytest.mark.parametrize("case", [c for c in CASES if c[2] == "float64"], ids=_case_id)
def test_avg_pool_backward_is_the_adjoint(case):
    geometry, layout, dtype = case
    h, w = geometry[0]
    x, _, avg, dy, dx = _run(RNG.standard_normal((2, 3, h, w)), geometry, layout, dtype)
    np.testing.assert_allclose(np.sum(avg * dy), np.sum(x * dx), rtol=1e-12)


def test_exact_tiling_takes_the_reshape_path(monkeypatch):
    calls = []
    original = numpy_pool._windows
    monkeypatch.setattr(numpy_pool, "_windows", lambda *a: calls.append(1) or original(*a))
    x = RNG.standard_normal((2, 4, 6, 3))
    B.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), True)
    B.avg_pool(x, (2, 3), (2, 3), ((0, 0), (0, 0)), True)
    assert not calls
    B.avg_pool(x, (2, 2), (2, 2), ((0, 1), (0, 0)), True)
    assert calls


def test_inputs_are_not_modified_and_integer_inputs_average_in_float():
    x = RNG.integers(0, 9, (1, 4, 5, 2))
    saved = x.copy()
    y, _ = B.max_pool(x, (2, 2), (1, 2), ((1, 0), (0, 1)), True)
    avg = B.avg_pool(x, (2, 2), (1, 2), ((1, 0), (0, 1)), True)
    np.testing.assert_array_equal(x, saved)
    assert y.dtype == x.dtype and avg.dtype == np.float64
    ref_max, _, ref_avg, _ = reference_pool(x.transpose(0, 3, 1, 2), (2, 2), (1, 2),
                                            ((1, 0), (0, 1)))
    np.testing.assert_array_equal(y, ref_max.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(avg, ref_avg.transpose(0, 2, 3, 1))
