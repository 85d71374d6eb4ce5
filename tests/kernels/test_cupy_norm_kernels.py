"""The CuPy backend's normalization primitives run their real kernel-launching code -- on the
fake device (tests/fakecupy.py, whose RawModule runs kernels/normalization.cu on the CPU shim),
and with ``@pytest.mark.gpu`` on CuPy -- and equal the NumPy backend's primitives
(backends/numpy_norm.py) on odd shapes, shapes whose reductions take several chunks, float32
and float64, without a single host<->device transfer inside a primitive. float16 takes the
NumPy backend's array-op code on the device."""
import numpy
import pytest

from gkeras import backends, kernels
from gkeras.backends import numpy_norm
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from fakecupy import FakeCupy
from test_cupy_kernels import _Device

NUMPY = NumpyBackend()
EPSILON = 1e-3
# (a, c, b): odd sizes, channels_last/Dense (b == 1), one entry in all, and counts the
# reductions split into several uneven chunks (kernels.reduction_chunks)
VIEWS = [(3, 5, 7), (1, 1, 1), (13, 3, 1), (67, 3, 5), (300, 4, 1)]
ROWS = [(7, 33), (1, 1), (3, 200), (100, 3)]
# the device's statistics and sums against NumPy's (pairwise sums vs chunks)
TOLERANCE = {"float32": dict(rtol=2e-5, atol=5e-6), "float64": dict(rtol=1e-12, atol=1e-12),
             "float16": dict(rtol=2e-3, atol=2e-3)}


@pytest.fixture(params=["fake_device", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    if request.param == "fake_device":
        return CupyBackend(xp=FakeCupy())
    return backends.create("cupy")


def _accumulation(dtype):
    return "float64" if dtype == "float64" else "float32"


def _assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    numpy.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def test_the_shapes_take_several_chunks():
    assert kernels.reduction_chunks(67 * 5, 3) == 11 and kernels.reduction_chunks(300, 4) == 10
    assert kernels.reduction_chunks(200, 3) == 7 and kernels.reduction_chunks(100, 3) == 4


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_primitives(backend, view, dtype):
    device = _Device(backend)
    c = view[1]
    rng = numpy.random.default_rng(0)
    x = (rng.standard_normal(view) * 2 + 3).astype(dtype)
    dy = rng.standard_normal(view).astype(dtype)
    acc = _accumulation(dtype)
    gamma, beta = (rng.standard_normal(c).astype(acc) for _ in range(2))
    x_device, dy_device, gamma_device, beta_device = device.put(x, dy, gamma, beta)

    mean, var = device.run("batch_norm_moments", x_device)
    want_mean, want_var = NUMPY.batch_norm_moments(x)
    _assert_close(mean, want_mean, dtype)
    _assert_close(var, want_var, dtype)
    mean_device, var_device = device.put(want_mean, want_var)
    y = device.run("batch_norm_forward", x_device, mean_device, var_device, gamma_device,
                   beta_device, EPSILON)
    numpy.testing.assert_array_equal(  # the same statistics: the same bits
        y, NUMPY.batch_norm_forward(x, want_mean, want_var, gamma, beta, EPSILON))
    assert y.dtype == dtype
    for batch_stats in (True, False):
        got = device.run("batch_norm_backward", dy_device, x_device, mean_device, var_device,
                         gamma_device, EPSILON, batch_stats)
        want = NUMPY.batch_norm_backward(dy, x, want_mean, want_var, gamma, EPSILON,
                                         batch_stats)
        for g, w in zip(got, want):
            _assert_close(g, w, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", ROWS)
def test_layer_norm_primitives(backend, shape, dtype):
    device = _Device(backend)
    d = shape[1]
    rng = numpy.random.default_rng(1)
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    acc = _accumulation(dtype)
    gamma, beta = (rng.standard_normal(d).astype(acc) for _ in range(2))
    x_device, dy_device, gamma_device, beta_device = device.put(x, dy, gamma, beta)

    got = device.run("layer_norm_forward", x_device, gamma_device, beta_device, EPSILON)
    want_y, want_mean, want_var = NUMPY.layer_norm_forward(x, gamma, beta, EPSILON)
    for g, w in zip(got, (want_y, want_mean, want_var)):
        _assert_close(g, w, dtype)
    mean_device, var_device = device.put(want_mean, want_var)
    got = device.run("layer_norm_backward", dy_device, x_device, mean_device, var_device,
                     gamma_device, EPSILON)
    for g, w in zip(got, NUMPY.layer_norm_backward(dy, x, want_mean, want_var, gamma, EPSILON)):
        _assert_close(g, w, dtype)


def test_inputs_are_copied_to_c_order_and_parameters_to_the_element_type(backend):
    """The ops pass contiguous arrays and parameters in the accumulation dtype; anything else
    still gives the same results."""
    device = _Device(backend)
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((5, 6, 4))
    gamma, beta = rng.standard_normal(6).astype("float32"), rng.standard_normal(6)
    x_device, gamma_device, beta_device = device.put(x, gamma, beta)
    transposed = numpy.ascontiguousarray(x.transpose(2, 1, 0))  # (4, 6, 5)
    mean, var = device.run("batch_norm_moments", x_device.transpose(2, 1, 0))
    want_mean, want_var = NUMPY.batch_norm_moments(transposed)
    _assert_close(mean, want_mean, "float64")
    _assert_close(var, want_var, "float64")

    stats = device.put(want_mean, want_var)
    y = device.run("batch_norm_forward", x_device, *stats, gamma_device, beta_device, EPSILON)
    numpy.testing.assert_array_equal(
        y, NUMPY.batch_norm_forward(x, want_mean, want_var, gamma, beta, EPSILON))

    rows = numpy.ascontiguousarray(x.reshape(30, 4).T)  # (4, 30)
    rows_view = x_device.reshape(30, 4).T
    _, row_mean, row_var = NUMPY.layer_norm_forward(rows, numpy.ones(30), numpy.zeros(30),
                                                    EPSILON)
    ones = numpy.ones(30, "float32")
    got = device.run("layer_norm_backward", rows_view, rows_view,
                     *device.put(row_mean, row_var, ones), EPSILON)
    want = NUMPY.layer_norm_backward(rows, rows, row_mean, row_var, ones, EPSILON)
    for g, w in zip(got, want):
        _assert_close(g, w, "float64")


def test_float16_takes_the_numpy_backend_code(backend):
    """No float16 kernel instances: the array-op code runs on the device, equal to NumPy's."""
    device = _Device(backend)
    rng = numpy.random.default_rng(3)
    x, dy = (rng.standard_normal((6, 3, 4)).astype("float16") for _ in range(2))
    gamma, beta = (rng.standard_normal(3).astype("float32") for _ in range(2))
    x_device, dy_device, gamma_device, beta_device = device.put(x, dy, gamma, beta)
    mean, var = NUMPY.batch_norm_moments(x)
    mean_device, var_device = device.put(mean, var)
    checks = [
        (device.run("batch_norm_moments", x_device), (mean, var)),
        ([device.run("batch_norm_forward", x_device, mean_device, var_device, gamma_device,
                     beta_device, EPSILON)],
         [NUMPY.batch_norm_forward(x, mean, var, gamma, beta, EPSILON)]),
        (device.run("batch_norm_backward", dy_device, x_device, mean_device, var_device,
                    gamma_device, EPSILON, True),
         NUMPY.batch_norm_backward(dy, x, mean, var, gamma, EPSILON, True))]
    rows, rows_device = x.reshape(6, 12), x_device.reshape(6, 12)
    features = rng.standard_normal(12).astype("float32")
    features_device, = device.put(features)
    _, row_mean, row_var = NUMPY.layer_norm_forward(rows, features, features, EPSILON)
    row_stats = device.put(row_mean, row_var)
    checks += [
        (device.run("layer_norm_forward", rows_device, features_device, features_device,
                    EPSILON), NUMPY.layer_norm_forward(rows, features, features, EPSILON)),
        (device.run("layer_norm_backward", rows_device, rows_device, *row_stats,
                    features_device, EPSILON),
         NUMPY.layer_norm_backward(rows, rows, row_mean, row_var, features, EPSILON))]
    for got, want in checks:
        for g, w in zip(got, want, strict=True):
            _assert_close(g, w, "float16" if w.dtype == "float16" else "float32")


def test_float32_and_float64_run_the_kernels_not_the_array_op_code(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the NumPy backend's array-op code ran")
    for name in ("batch_norm_moments", "batch_norm_forward", "batch_norm_backward",
                 "layer_norm_forward", "layer_norm_backward"):
        monkeypatch.setattr(numpy_norm, name, refuse)
    fake = FakeCupy()
    backend = CupyBackend(xp=fake)
    for dtype in ("float32", "float64"):
        x = fake.asarray(numpy.ones((2, 3, 4), dtype))
        ones = fake.ones(3, dtype)
        mean, var = backend.batch_norm_moments(x)
        backend.batch_norm_forward(x, mean, var, ones, ones, EPSILON)
        backend.batch_norm_backward(x, x, mean, var, ones, EPSILON, True)
        rows = x.reshape(6, 4)
        features = fake.ones(4, dtype)
        _, mean, var = backend.layer_norm_forward(rows, features, features, EPSILON)
        backend.layer_norm_backward(rows, rows, mean, var, features, EPSILON)
        with pytest.raises(AssertionError, match="array-op code"):
            backend.batch_norm_moments(x.astype("float16"))
