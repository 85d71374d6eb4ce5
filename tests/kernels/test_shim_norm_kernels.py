"""Every kernel of kernels/normalization.cu, run on the CPU through the shim (g++), chained as
CupyBackend chains them, equals the NumPy reference primitive of its contract
(backends/numpy_norm.py) -- on odd (a, c, b) and (rows, d) shapes, float32 and float64, with
the chunk count of the two-stage reductions at 1, a few, one entry per chunk and more chunks
than entries (empty chunks) -- under the launches of test_shim_kernels (grid-stride heavy, odd
blocks, surplus threads in reverse order: the same bits) with guard zones around every array.
Outputs start out as NaN, so an element a kernel fails to write shows."""
import warnings

import numpy
import pytest

from gkeras import kernels
from gkeras.backends import numpy_norm

from test_shim_kernels import _empty, _launch

DTYPES = ("float32", "float64")
# statistics and sums: NumPy sums pairwise, the kernels in chunks; elementwise passes on the
# same inputs give the same bits
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-13)}
EPSILON = 1e-3
# (a, c, b): odd sizes, channels_last/Dense (b == 1), one entry in all, a == 1
VIEWS = [(3, 5, 7), (1, 1, 1), (13, 3, 1), (2, 4, 33), (1, 6, 9), (40, 2, 1)]
ROWS = [(7, 33), (1, 1), (5, 1), (1, 40), (12, 3)]


def _chunk_counts(count):
    """Chunk counts to run a reduction over ``count`` entries with: one chunk, a few (not
    dividing the count), one entry per chunk, more chunks than entries, the backend's."""
    return sorted({1, 3, max(count, 1), count + 2, kernels.reduction_chunks(count, 1)})


def _moments(x, channels, b, count, chunks):
    """mean, var of the (count / b, channels, b) array x, by the two kernels."""
    dtype = x.dtype
    total = channels * chunks
    partial_mean, partial_m2 = _launch(
        "moments_partial", dtype, total, [x, _empty(total, dtype), _empty(total, dtype)],
        [channels, b, count, chunks], [1, 2])
    return _launch("moments_combine", dtype, channels,
                   [partial_mean, partial_m2, _empty(channels, dtype), _empty(channels, dtype)],
                   [count, chunks], [2, 3])


def _sums(partial, dtype, channels, chunks, arrays, scalars):
    """The two per-channel sums of kernel ``partial`` folded by chunk_sums_combine."""
    total = channels * chunks
    first, second = _launch(partial, dtype, total,
                            [*arrays, _empty(total, dtype), _empty(total, dtype)],
                            scalars, [len(arrays), len(arrays) + 1])
    return _launch("chunk_sums_combine", dtype, channels,
                   [first, second, _empty(channels, dtype), _empty(channels, dtype)], [chunks],
                   [2, 3])


def _assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    numpy.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def _per_channel(rng, c, dtype):
    mean = rng.standard_normal(c).astype(dtype)
    var = rng.uniform(0.2, 3.0, c).astype(dtype)
    gamma, beta = (rng.standard_normal(c).astype(dtype) for _ in range(2))
    return mean, var, gamma, beta


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_moments(view, dtype):
    a, c, b = view
    x = (numpy.random.default_rng(0).standard_normal(view) * 2 + 3).astype(dtype)
    want = numpy_norm.batch_norm_moments(numpy, x)
    for chunks in _chunk_counts(a * b):
        got = _moments(x, c, b, a * b, chunks)
        for g, w in zip(got, want):
            _assert_close(g, w, dtype)


@pytest.mark.parametrize("chunks", [1, 16])
def test_moments_do_not_cancel_on_a_large_offset(chunks):
    # E[x^2] - mean^2 in float32 would lose every digit of this variance
    x = (1000.0 + numpy.random.default_rng(1).standard_normal((4096, 2, 1)) * 1e-2)
    _, var = _moments(x.astype("float32"), 2, 1, 4096, chunks)
    numpy.testing.assert_allclose(var, x.var(axis=(0, 2)), rtol=1e-3)


def test_moments_of_no_entries_are_nan_as_numpy():
    x = numpy.empty((0, 3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = numpy_norm.batch_norm_moments(numpy, x)
    got = _moments(x, 3, 2, 0, 1)
    for g, w in zip(got, want):
        assert numpy.isnan(g).all() and numpy.isnan(w).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_forward(view, dtype):
    _, c, b = view
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal(view).astype(dtype)
    stats = _per_channel(rng, c, dtype)
    y = _launch("batch_norm_forward", dtype, x.size, [x, *stats, _empty(view, dtype)],
                [c, b, EPSILON], [5])[0]
    # the reference's operations in its order: the same bits
    numpy.testing.assert_array_equal(
        y, numpy_norm.batch_norm_forward(numpy, x, *stats, EPSILON))
    assert y.dtype == dtype


@pytest.mark.parametrize("batch_stats", [True, False], ids=["batch_stats", "constant_stats"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_backward(view, dtype, batch_stats):
    a, c, b = view
    count = a * b
    rng = numpy.random.default_rng(3)
    x, dy = (rng.standard_normal(view).astype(dtype) for _ in range(2))
    mean, var, gamma, _ = _per_channel(rng, c, dtype)
    if batch_stats:
        mean, var = numpy_norm.batch_norm_moments(numpy, x)
    want = numpy_norm.batch_norm_backward(numpy, dy, x, mean, var, gamma, EPSILON, batch_stats)
    for chunks in _chunk_counts(count):
        sum_dy, sum_dy_xhat = _sums("batch_norm_backward_partial", dtype, c, chunks,
                                    [dy, x, mean, var], [c, b, count, chunks, EPSILON])
        dx = _launch("batch_norm_backward", dtype, x.size,
                     [dy, x, mean, var, gamma, sum_dy, sum_dy_xhat, _empty(view, dtype)],
                     [c, b, count, int(batch_stats), EPSILON], [7])[0]
        for got, expected in zip((dx, sum_dy, sum_dy_xhat), want):
            _assert_close(got, expected, dtype)
        if not batch_stats:  # dx uses no sum: the reference's bits
            numpy.testing.assert_array_equal(dx, want[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_layer_norm_forward(shape, dtype):
    rows, d = shape
    rng = numpy.random.default_rng(4)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    gamma, beta = (rng.standard_normal(d).astype(dtype) for _ in range(2))
    want_y, want_mean, want_var = numpy_norm.layer_norm_forward(numpy, x, gamma, beta, EPSILON)
    for chunks in _chunk_counts(d):
        mean, var = _moments(x, rows, d, d, chunks)  # the (1, rows, d) view
        _assert_close(mean, want_mean, dtype)
        _assert_close(var, want_var, dtype)
        y = _launch("layer_norm_forward", dtype, x.size,
                    [x, mean, var, gamma, beta, _empty(shape, dtype)], [d, EPSILON], [5])[0]
        _assert_close(y, want_y, dtype)
    # from the same statistics, the reference's bits
    y = _launch("layer_norm_forward", dtype, x.size,
                [x, want_mean, want_var, gamma, beta, _empty(shape, dtype)], [d, EPSILON],
                [5])[0]
    numpy.testing.assert_array_equal(y, want_y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_layer_norm_backward(shape, dtype):
    rows, d = shape
    rng = numpy.random.default_rng(5)
    x, dy = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    gamma = rng.standard_normal(d).astype(dtype)
    _, mean, var = numpy_norm.layer_norm_forward(numpy, x, gamma, numpy.zeros_like(gamma),
                                                 EPSILON)
    want_dx, want_dgamma, want_dbeta = numpy_norm.layer_norm_backward(numpy, dy, x, mean, var,
                                                                      gamma, EPSILON)
    for row_chunks, column_chunks in zip(_chunk_counts(d), reversed(_chunk_counts(rows))):
        sum_g, sum_g_xhat = _sums("layer_norm_row_partial", dtype, rows, row_chunks,
                                  [dy, x, mean, var, gamma], [rows, d, row_chunks, EPSILON])
        dgamma, dbeta = _sums("layer_norm_column_partial", dtype, d, column_chunks,
                              [dy, x, mean, var], [rows, d, column_chunks, EPSILON])
        dx = _launch("layer_norm_backward", dtype, x.size,
                     [dy, x, mean, var, gamma, sum_g, sum_g_xhat, _empty(shape, dtype)],
                     [d, EPSILON], [7])[0]
        _assert_close(dx, want_dx, dtype)
        _assert_close(dgamma, want_dgamma, dtype)
        _assert_close(dbeta, want_dbeta, dtype)


def test_reduction_chunks():
    assert kernels.reduction_chunks(0, 5) == kernels.reduction_chunks(1, 1) == 1
    assert kernels.reduction_chunks(kernels.MIN_CHUNK_SIZE * 3 + 1, 1) == 4
    assert kernels.reduction_chunks(10 ** 9, 1) == kernels.MAX_CHUNKS
    # many channels need fewer chunks for the same number of threads
    assert kernels.reduction_chunks(10 ** 6, 512) == kernels.REDUCTION_THREADS // 512
    assert kernels.reduction_chunks(10 ** 6, 10 ** 6) == 1
