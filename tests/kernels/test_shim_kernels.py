"""Every CUDA kernel, run on the CPU through the shim (g++), equals the naive-loop reference of
its primitive and the NumPy backend's (for pooling where there is no dilation), on odd shapes,
strides, dilations, asymmetric pads, both layouts, float32 and float64 -- under launches that
exercise the grid-stride loop (one block; a few blocks of odd size; more threads than work,
blocks in reverse order), all giving the same bits. Arrays sit between guard zones, so an
out-of-bounds write is caught and an out-of-bounds read brings in a NaN."""
import numpy
import pytest

from gkeras import kernels
from gkeras.backends.numpy_backend import NumpyBackend

import kernel_reference as reference
import shim
from kernel_cases import CASES, DTYPES, LAYOUTS, TOLERANCE, pooled_shape, with_ties, x_shape

GUARD = 64
NUMPY = NumpyBackend()


def _launches(n):
    """(blocks, threads, reverse): grid-stride heavy, few odd blocks, surplus threads."""
    return [(1, 32, False), (3, 7, True), (-(-n // 5) + 2, 5, True)]


def _guard_fill(dtype):
    """NaN for floats (an out-of-bounds read spoils the result), an impossible value for
    integers, True for bools (masks)."""
    kind = numpy.dtype(dtype).kind
    return numpy.nan if kind == "f" else (True if kind == "b" else -12345)


def _guard_intact(guard):
    return numpy.isnan(guard).all() if guard.dtype.kind == "f" else (
        guard == _guard_fill(guard.dtype)).all()


def _guarded(values):
    """A copy of ``values`` inside a buffer with a guard zone either side (``_guard_fill``)."""
    values = numpy.asarray(values)
    fill = _guard_fill(values.dtype)
    buffer = numpy.full(values.size + 2 * GUARD, fill, values.dtype)
    view = buffer[GUARD:GUARD + values.size].reshape(values.shape)
    view[...] = values
    return buffer, view


def _launch(name, dtype, total, arrays, window, output_indices):
    """Runs kernel ``name`` under every launch of ``_launches``; returns its outputs (the
    ``arrays`` at ``output_indices``), after checking all launches agree bit for bit and no
    guard zone changed."""
    filename = kernels.file_of(name)
    module = shim.build(kernels.source(filename), kernels.name_expressions(filename))
    function = module.function(kernels.name_expression(name, dtype))
    kernel = kernels.Kernel(function, name, dtype,
                            kernels.signatures(kernels.source(filename))[name])
    results = []
    for blocks, threads, reverse in _launches(total):
        guarded = [_guarded(a) for a in arrays]
        args = [view for _, view in guarded] + [total, *window]
        function((blocks,), (threads,), kernel.arguments(args), reverse=reverse)
        for buffer, _ in guarded:
            guard = numpy.concatenate([buffer[:GUARD], buffer[-GUARD:]])
            assert _guard_intact(guard), (
                f"{name} wrote outside its arrays (launch {blocks}x{threads})")
        results.append([guarded[i][1].copy() for i in output_indices])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes(), f"{name}: the launch shape changed the result"
    return results[0]


def _empty(shape, dtype):
    """An output buffer full of garbage: the kernel must write every element, read none."""
    return numpy.full(shape, numpy.nan if numpy.dtype(dtype).kind == "f" else -7, dtype)


def _geometry(case, channels_last, pool=False):
    shape = x_shape(case, channels_last)
    _, kernel_size, strides, dilation, padding = CASES[case]
    (oh, ow), window = kernels.window_geometry(shape, kernel_size, strides, dilation, padding,
                                               channels_last)
    return shape, kernel_size, strides, dilation, padding, (oh, ow), window


def _assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == want.dtype
    numpy.testing.assert_allclose(got, want, **TOLERANCE[dtype])


all_layouts = pytest.mark.parametrize("channels_last", list(LAYOUTS.values()), ids=list(LAYOUTS))
all_dtypes = pytest.mark.parametrize("dtype", DTYPES)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", CASES)
def test_im2col_and_col2im(case, channels_last, dtype):
    shape, ks, st, dl, pad, (oh, ow), window = _geometry(case, channels_last)
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    kh, kw = ks
    cols_shape = ((shape[0], oh, ow, kh, kw, shape[3]) if channels_last
                  else (shape[0], shape[1], kh, kw, oh, ow))
    cols = _launch("im2col", dtype, int(numpy.prod(cols_shape)), [x, _empty(cols_shape, dtype)],
                   window, [1])[0]
    numpy.testing.assert_array_equal(cols, reference.im2col(x, ks, st, dl, pad, channels_last))
    numpy.testing.assert_array_equal(cols, NUMPY.im2col(x, ks, st, dl, pad, channels_last))

    upstream = rng.standard_normal(cols_shape).astype(dtype)
    dx = _launch("col2im", dtype, x.size, [upstream, _empty(shape, dtype)], window, [1])[0]
    _assert_close(dx, reference.col2im(upstream, shape, ks, st, dl, pad, channels_last), dtype)
    _assert_close(dx, NUMPY.col2im(upstream, shape, ks, st, dl, pad, channels_last), dtype)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", CASES)
def test_max_pool_forward_and_backward(case, channels_last, dtype):
    shape, ks, st, dl, pad, (oh, ow), window = _geometry(case, channels_last)
    rng = numpy.random.default_rng(1)
    x = with_ties(rng, shape, dtype)
    y_shape = pooled_shape(shape, oh, ow, channels_last)
    y, argmax = _launch("max_pool", dtype, int(numpy.prod(y_shape)),
                        [x, _empty(y_shape, dtype), _empty(y_shape, "int32")], window, [1, 2])
    want_y, want_argmax = reference.max_pool(x, ks, st, pad, channels_last, dl)
    numpy.testing.assert_array_equal(y, want_y)
    numpy.testing.assert_array_equal(argmax, want_argmax)
    assert argmax.dtype == numpy.int32
    if dl == (1, 1):
        for got, want in zip((y, argmax), NUMPY.max_pool(x, ks, st, pad, channels_last)):
            numpy.testing.assert_array_equal(got, want)

    dy = rng.standard_normal(y_shape).astype(dtype)
    dx = _launch("max_pool_backward", dtype, x.size, [dy, argmax, _empty(shape, dtype)], window,
                 [2])[0]
    _assert_close(dx, reference.max_pool_backward(dy, argmax, shape, ks, st, pad, channels_last,
                                                  dl), dtype)
    if dl == (1, 1):
        _assert_close(dx, NUMPY.max_pool_backward(dy, argmax, shape, ks, st, pad, channels_last),
                      dtype)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", CASES)
def test_avg_pool_forward_and_backward(case, channels_last, dtype):
    shape, ks, st, dl, pad, (oh, ow), window = _geometry(case, channels_last)
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    y_shape = pooled_shape(shape, oh, ow, channels_last)
    y = _launch("avg_pool", dtype, int(numpy.prod(y_shape)), [x, _empty(y_shape, dtype)],
                window, [1])[0]
    _assert_close(y, reference.avg_pool(x, ks, st, pad, channels_last, dl), dtype)
    if dl == (1, 1):
        _assert_close(y, NUMPY.avg_pool(x, ks, st, pad, channels_last), dtype)

    dy = rng.standard_normal(y_shape).astype(dtype)
    dx = _launch("avg_pool_backward", dtype, x.size, [dy, _empty(shape, dtype)], window, [1])[0]
    _assert_close(dx, reference.avg_pool_backward(dy, shape, ks, st, pad, channels_last, dl),
                  dtype)
    if dl == (1, 1):
        _assert_close(dx, NUMPY.avg_pool_backward(dy, shape, ks, st, pad, channels_last), dtype)


@all_dtypes
def test_max_pool_nan_wins_as_numpy_argmax(dtype):
    x = numpy.array([[9.0, numpy.nan, 5.0, 3.0], [numpy.nan, 7.0, 7.0, -1.0]], dtype)
    x = x.reshape(1, 1, 2, 4)  # channels_first, one 2x2 window per half
    _, window = kernels.window_geometry(x.shape, (2, 2), (2, 2), (1, 1),
                                        ((0, 0), (0, 0)), False)
    y, argmax = _launch("max_pool", dtype, 2, [x, _empty((1, 1, 1, 2), dtype),
                                                _empty((1, 1, 1, 2), "int32")], window, [1, 2])
    assert numpy.isnan(y[0, 0, 0, 0]) and y[0, 0, 0, 1] == 7.0
    numpy.testing.assert_array_equal(argmax.ravel(), [1, 2])  # the first NaN; a tie: lowest
    want_y, want_argmax = reference.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), False)
    numpy.testing.assert_array_equal(y, want_y)
    numpy.testing.assert_array_equal(argmax, want_argmax)
    numpy_y, numpy_argmax = NUMPY.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), False)
    numpy.testing.assert_array_equal(y, numpy_y)
    numpy.testing.assert_array_equal(argmax, numpy_argmax)


def test_a_missing_compiler_fails_loudly(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-gkeras")
    with pytest.raises(RuntimeError, match=r"(?s)g\+\+ was not found.*Install g\+\+"):
        shim.compiler()


def test_a_kernel_g_plus_plus_rejects_fails_with_its_log():
    broken = kernels.source("conv.cu").replace("T sum = T(0);", "T sum = undeclared;")
    with pytest.raises(RuntimeError, match=r"(?s)could not compile.*undeclared"):
        shim.build(broken, ("col2im<float>",))
