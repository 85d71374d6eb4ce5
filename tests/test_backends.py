"""Array backends: NumPy primitives, CuPy backend code on a fake ``xp``, and real GPU runs."""
import importlib.util
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from gkeras import GradientTape, Tensor, backends, ops
from gkeras.backends import cupy_backend
from gkeras.backends.cupy_backend import CupyBackend, import_cupy
from gkeras.backends.numpy_backend import NumpyBackend

import test_ops
from fakecupy import DeviceArray, FakeCupy


# --- NumpyBackend ---------------------------------------------------------------------------

def test_numpy_backend_asarray_to_numpy_is_array():
    b = NumpyBackend()
    a = b.asarray([1, 2, 3], dtype="float32")
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(b.to_numpy(a), [1, 2, 3])
    assert b.is_array(a) and not b.is_array([1, 2]) and not b.is_array(Tensor(a))
    np.testing.assert_array_equal(b.matmul(np.eye(2), np.array([[1.0], [2.0]])), [[1], [2]])


def test_numpy_backend_rng_is_numpy_default_rng():
    b = NumpyBackend()
    np.testing.assert_array_equal(b.rng(7).random((3,)), np.random.default_rng(7).random((3,)))
    np.testing.assert_array_equal(b.rng(7).standard_normal((2, 2)),
                                  np.random.default_rng(7).standard_normal((2, 2)))
    assert b.rng(1).random((2,), dtype="float32").dtype == np.float32


@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-13), ("float32", 1e-5)])
def test_erf_matches_math_erf_over_minus_8_to_8(dtype, rtol):
    x = np.linspace(-8.0, 8.0, 1601).astype(dtype)
    got = NumpyBackend().erf(x)
    want = np.array([math.erf(float(v)) for v in x])
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300)
    # odd function, saturates at +-1, exact 0 at 0
    np.testing.assert_array_equal(got, -NumpyBackend().erf(-x))
    assert NumpyBackend().erf(np.array([0.0]))[0] == 0.0


def test_numpy_backend_synchronize_is_a_no_op():
    assert NumpyBackend().synchronize() is None


def test_create_and_set_backend():
    assert isinstance(backends.create("numpy"), NumpyBackend)
    with pytest.raises(ValueError, match="Valid choices: numpy, cupy"):
        backends.create("jax")
    fake = NumpyBackend()
    assert backends.set_backend(fake) is fake and backends.current() is fake


# --- CupyBackend on the fake device (tests/fakecupy.py) ---------------------------------------

def test_cupy_backend_code_runs_on_the_fake_device():
    fake = FakeCupy()
    b = CupyBackend(xp=fake)
    assert b.name == "cupy" and b.xp is fake
    a = b.asarray([[1.0, 2.0]], dtype="float32")
    assert a.dtype == np.float32 and b.is_array(a) and isinstance(a, DeviceArray)
    assert fake.counts["to_device"] == 1
    out = b.to_numpy(a)
    assert type(out) is np.ndarray and fake.counts["to_host"] == 1
    np.testing.assert_array_equal(out, [[1.0, 2.0]])
    b.synchronize()
    assert fake.counts["synchronize"] == 1
    np.testing.assert_array_equal(b.rng(3).random((2,)).get(), np.random.default_rng(3).random((2,)))
    erf = b.erf(b.asarray([0.5, -3.0]))
    assert isinstance(erf, DeviceArray)
    np.testing.assert_allclose(erf.get(), [math.erf(0.5), math.erf(-3.0)], rtol=1e-14)


def test_tensor_numpy_goes_through_backend_to_numpy():
    fake = FakeCupy()
    backend = backends.set_backend(CupyBackend(xp=fake))  # restored by the conftest fixture
    t = ops.exp(Tensor(backend.asarray(np.zeros(3))))
    fake.reset()
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 1.0])
    assert fake.counts["to_host"] == 1


def test_import_cupy_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(RuntimeError, match="CuPy is not installed") as err:
        import_cupy()
    assert "KERAS_BACKEND=numpy" in str(err.value)
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        backends.create("cupy")


def test_import_cupy_with_zero_devices(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", FakeCupy(device_count=0))
    with pytest.raises(RuntimeError, match="no CUDA device"):
        import_cupy()


def test_import_cupy_when_device_count_raises(monkeypatch):
    error = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    monkeypatch.setitem(sys.modules, "cupy", FakeCupy(device_count_error=error))
    with pytest.raises(RuntimeError, match="no CUDA device is usable") as err:
        import_cupy()
    assert "cudaErrorInsufficientDriver" in str(err.value)


def test_import_cupy_with_a_device_returns_the_module(monkeypatch):
    fake = FakeCupy(device_count=2)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert import_cupy() is fake
    assert CupyBackend().xp is fake


def test_keras_backend_cupy_without_cupy_fails_loudly(tmp_path):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here")
    env = dict(os.environ, KERAS_BACKEND="cupy", KERAS_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", "import gkeras"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, "import gkeras fell back silently instead of failing"
    assert "RuntimeError" in proc.stderr
    assert "KERAS_BACKEND=cupy, but CuPy is not installed" in proc.stderr


def test_cupy_backend_module_is_imported_lazily():
    assert cupy_backend.import_cupy is import_cupy  # importable without CuPy itself


# --- every differentiable op on a CuPy-style backend vs NumPy ------------------------------------

OP_CASES = [(name, i) for name, cases in test_ops.TABLE.items() for i in range(len(cases))]


def _run_case(backend, case, upstream):
    """Forward value and input gradients of ``case`` on ``backend``, as NumPy arrays."""
    backends.set_backend(backend)
    tensors = [Tensor(backend.asarray(a)) for a in case.args]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = case.fn(*tensors)
    grads = tape.gradient(out, tensors, output_gradients=backend.asarray(upstream))
    return out.numpy(), [g.numpy() for g in grads]


def _real_cupy_backend():
    return CupyBackend()


@pytest.fixture(params=["fake_cupy", pytest.param("cupy", marks=pytest.mark.gpu)])
def cupy_style_backend(request):
    if request.param == "fake_cupy":
        return CupyBackend(xp=FakeCupy())
    return _real_cupy_backend()


def test_op_cases_cover_every_differentiable_op():
    assert set(test_ops.TABLE) >= test_ops._public_ops() - test_ops.HAND_TESTED \
        - test_ops.NON_DIFFERENTIABLE


@pytest.mark.parametrize("name,index", OP_CASES)
def test_ops_on_cupy_backend_match_numpy(cupy_style_backend, name, index):
    """Each case of tests/test_ops.py: the same forward and gradients as on NumPy."""
    case = test_ops.TABLE[name][index]
    backends.set_backend(NumpyBackend())
    out_shape = case.fn(*[Tensor(a) for a in case.args]).shape
    upstream = np.random.default_rng(index).standard_normal(out_shape)
    want_out, want_grads = _run_case(NumpyBackend(), case, upstream)
    got_out, got_grads = _run_case(cupy_style_backend, case, upstream)
    assert type(got_out) is np.ndarray
    np.testing.assert_allclose(got_out, want_out, rtol=1e-10, atol=1e-12)
    for got, want in zip(got_grads, want_grads):
        assert type(got) is np.ndarray and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.gpu
def test_real_cupy_arrays_stay_on_the_device():
    backend = _real_cupy_backend()
    backends.set_backend(backend)
    t = ops.exp(Tensor(backend.asarray(np.zeros((2, 2), "float32"))))
    assert backend.is_array(t.value) and not isinstance(t.value, np.ndarray)
    assert t.dtype == np.float32 and t.shape == (2, 2)
    np.testing.assert_array_equal(t.numpy(), np.ones((2, 2)))
    backend.synchronize()
