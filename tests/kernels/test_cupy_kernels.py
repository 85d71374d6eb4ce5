"""The CuPy backend's convolution/pooling primitives run their real kernel-launching code --
on the fake device (tests/fakecupy.py, whose RawModule runs the kernels on the CPU shim), and
with ``@pytest.mark.gpu`` on CuPy -- and equal the NumPy backend's primitives and the naive-loop
references of the contract, in both layouts, float32 and float64, without a single
host<->device transfer inside a primitive."""
import numpy
import pytest

from gkeras import backends, kernels
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

import kernel_reference as reference
from fakecupy import DeviceArray, FakeCupy
from kernel_cases import CASES, DTYPES, LAYOUTS, POOL_CASES, TOLERANCE, with_ties, x_shape


@pytest.fixture(params=["fake_device", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    if request.param == "fake_device":
        return CupyBackend(xp=FakeCupy())
    return backends.create("cupy")


class _Device:
    """Moves test data to ``backend``'s device and back, and checks that what runs in
    between moves nothing (where the device counts transfers: the fake one)."""

    def __init__(self, backend):
        self.backend = backend
        self.xp = backend.xp

    def put(self, *arrays):
        return [self.xp.asarray(a) for a in arrays]

    def run(self, primitive, *args, **kwargs):
        counts = getattr(self.xp, "counts", None)
        if counts is not None:
            self.xp.reset()
        out = getattr(self.backend, primitive)(*args, **kwargs)
        if counts is not None:
            assert not any(counts.values()), (
                primitive, self.xp.sites)
        outputs = out if isinstance(out, tuple) else (out,)
        assert all(isinstance(o, self.xp.ndarray) and not isinstance(o, numpy.ndarray)
                   for o in outputs), f"{primitive} left the device"
        host = [self.backend.to_numpy(o) for o in outputs]
        return host if isinstance(out, tuple) else host[0]


NUMPY = NumpyBackend()


def _assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == want.dtype
    numpy.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def _assert_equal(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    numpy.testing.assert_array_equal(got, want)


all_layouts = pytest.mark.parametrize("channels_last", list(LAYOUTS.values()), ids=list(LAYOUTS))
all_dtypes = pytest.mark.parametrize("dtype", DTYPES)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", CASES)
def test_im2col_col2im(backend, case, channels_last, dtype):
    device = _Device(backend)
    _, ks, st, dl, pad = CASES[case]
    shape = x_shape(case, channels_last)
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    want_cols = reference.im2col(x, ks, st, dl, pad, channels_last)
    upstream = rng.standard_normal(want_cols.shape).astype(dtype)
    x_device, upstream_device = device.put(x, upstream)

    cols = device.run("im2col", x_device, ks, st, dl, pad, channels_last)
    _assert_equal(cols, want_cols)
    _assert_equal(cols, NUMPY.im2col(x, ks, st, dl, pad, channels_last))
    dx = device.run("col2im", upstream_device, shape, ks, st, dl, pad, channels_last)
    _assert_close(dx, reference.col2im(upstream, shape, ks, st, dl, pad, channels_last), dtype)
    _assert_close(dx, NUMPY.col2im(upstream, shape, ks, st, dl, pad, channels_last), dtype)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool(backend, case, channels_last, dtype):
    device = _Device(backend)
    _, ps, st, _, pad = CASES[case]
    shape = x_shape(case, channels_last)
    rng = numpy.random.default_rng(4)
    x = with_ties(rng, shape, dtype)
    want_y, want_argmax = reference.max_pool(x, ps, st, pad, channels_last)
    dy = rng.standard_normal(want_y.shape).astype(dtype)
    x_device, dy_device = device.put(x, dy)

    y, argmax = device.run("max_pool", x_device, ps, st, pad, channels_last)
    _assert_equal(y, want_y)
    _assert_equal(argmax, want_argmax)
    numpy_y, numpy_argmax = NUMPY.max_pool(x, ps, st, pad, channels_last)
    _assert_equal(y, numpy_y)
    _assert_equal(argmax, numpy_argmax)
    argmax_device, = device.put(argmax)
    dx = device.run("max_pool_backward", dy_device, argmax_device, shape, ps, st, pad,
                    channels_last)
    _assert_close(dx, reference.max_pool_backward(dy, argmax, shape, ps, st, pad, channels_last),
                  dtype)
    _assert_close(dx, NUMPY.max_pool_backward(dy, argmax, shape, ps, st, pad, channels_last),
                  dtype)


@all_dtypes
@all_layouts
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool(backend, case, channels_last, dtype):
    device = _Device(backend)
    _, ps, st, _, pad = CASES[case]
    shape = x_shape(case, channels_last)
    rng = numpy.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    want_y = reference.avg_pool(x, ps, st, pad, channels_last)
    dy = rng.standard_normal(want_y.shape).astype(dtype)
    x_device, dy_device = device.put(x, dy)

    y = device.run("avg_pool", x_device, ps, st, pad, channels_last)
    _assert_close(y, want_y, dtype)
    _assert_close(y, NUMPY.avg_pool(x, ps, st, pad, channels_last), dtype)
    dx = device.run("avg_pool_backward", dy_device, shape, ps, st, pad, channels_last)
    _assert_close(dx, reference.avg_pool_backward(dy, shape, ps, st, pad, channels_last), dtype)
    _assert_close(dx, NUMPY.avg_pool_backward(dy, shape, ps, st, pad, channels_last), dtype)


def test_non_contiguous_inputs_are_copied_to_c_order(backend):
    device = _Device(backend)
    rng = numpy.random.default_rng(6)
    x = rng.standard_normal((2, 5, 6, 3))  # channels_first view of a channels_last array
    x_view = device.put(x)[0].transpose(0, 3, 1, 2)
    args = ((2, 2), (1, 2), ((1, 0), (0, 1)), False)
    want_y, want_argmax = reference.max_pool(x.transpose(0, 3, 1, 2), *args)
    y, argmax = device.run("max_pool", x_view, *args)
    numpy.testing.assert_array_equal(y, want_y)
    numpy.testing.assert_array_equal(argmax, want_argmax)
    dy_view = device.put(numpy.ascontiguousarray(want_y.transpose(0, 2, 3, 1)))[0].transpose(
        0, 3, 1, 2)
    _assert_close(device.run("avg_pool_backward", dy_view, x_view.shape, *args),
                  reference.avg_pool_backward(want_y, x_view.shape, *args), "float64")


def test_fake_device_kernels_refuse_untyped_scalars_and_host_arrays():
    fake = FakeCupy()
    backend = CupyBackend(xp=fake)
    x = fake.asarray(numpy.ones((1, 3, 3, 1), "float32"))
    backend.max_pool(x, (2, 2), (1, 1), ((0, 0), (0, 0)), True)  # compiles, fills the cache
    raw = kernels.get(fake, "avg_pool", "float32").function
    y = fake.empty((1, 2, 2, 1), "float32")
    geometry = (1, 1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0)
    typed = [numpy.int32(v) for v in geometry]
    raw((1,), (32,), (x, y, numpy.int64(4), *typed))  # as the loader launches it
    assert type(y) is DeviceArray and float(y.sum()) == 4.0
    with pytest.raises(TypeError, match=r"argument channels_last: expected a numpy\.int32"):
        raw((1,), (32,), (x, y, numpy.int64(4), *geometry))  # Python ints go as int64
    with pytest.raises(TypeError, match="argument total: expected a numpy.int64"):
        raw((1,), (32,), (x, y, numpy.int32(4), *typed))
    with pytest.raises(TypeError, match="Unsupported type"):
        raw((1,), (32,), (numpy.ones((1, 3, 3, 1), "float32"), y, numpy.int64(4), *typed))
    with pytest.raises(TypeError, match="expected a C-contiguous float32 array, got float64"):
        raw((1,), (32,), (x.astype("float64"), y, numpy.int64(4), *typed))



def test_element_types_without_kernels_take_the_numpy_backend_code(backend):
    """float16 has no kernel instance: the inherited array-op primitives run on the device."""
    device = _Device(backend)
    rng = numpy.random.default_rng(7)
    x = rng.standard_normal((2, 5, 6, 3)).astype("float16")
    x_device, = device.put(x)
    conv = ((3, 2), (2, 1), (1, 2), ((1, 1), (0, 2)), True)
    pool = ((2, 3), (1, 2), ((0, 1), (1, 1)), True)
    cols = device.run("im2col", x_device, *conv)
    _assert_equal(cols, NUMPY.im2col(x, *conv))
    for got, want in zip(device.run("max_pool", x_device, *pool), NUMPY.max_pool(x, *pool)):
        _assert_equal(got, want)
    _assert_equal(device.run("avg_pool", x_device, *pool), NUMPY.avg_pool(x, *pool))
