"""Array backends: NumPy primitives, CuPy backend code on a fake ``xp``, and real GPU runs."""
import importlib.util
import math
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from gkeras import GradientTape, Tensor, backends, ops
from gkeras.backends import cupy_backend
from gkeras.backends.cupy_backend import CupyBackend, import_cupy
from gkeras.backends.numpy_backend import NumpyBackend


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


# --- CupyBackend on a fake xp -----------------------------------------------------------------

class FakeCupy(types.ModuleType):
    """NumPy posing as CuPy: adds ``asnumpy`` and a CUDA stream; counts their calls."""

    def __init__(self, device_count=1, count_error=None):
        super().__init__("cupy")
        self.calls = {"asnumpy": 0, "synchronize": 0}
        stream = types.SimpleNamespace(synchronize=lambda: self._count("synchronize"))

        def get_device_count():
            if count_error is not None:
                raise count_error
            return device_count
        self.cuda = types.SimpleNamespace(
            get_current_stream=lambda: stream,
            runtime=types.SimpleNamespace(getDeviceCount=get_device_count))

    def _count(self, name):
        self.calls[name] += 1

    def asnumpy(self, array):
        self._count("asnumpy")
        return np.asarray(array).copy()

    def __getattr__(self, name):
        return getattr(np, name)


def test_cupy_backend_code_runs_on_fake_xp():
    fake = FakeCupy()
    b = CupyBackend(xp=fake)
    assert b.name == "cupy" and b.xp is fake
    a = b.asarray([[1.0, 2.0]], dtype="float32")
    assert a.dtype == np.float32 and b.is_array(a)
    out = b.to_numpy(a)
    assert fake.calls["asnumpy"] == 1 and out is not a
    np.testing.assert_array_equal(out, [[1.0, 2.0]])
    b.synchronize()
    assert fake.calls["synchronize"] == 1
    np.testing.assert_array_equal(b.rng(3).random((2,)), np.random.default_rng(3).random((2,)))
    np.testing.assert_allclose(b.erf(np.array([0.5, -3.0])), [math.erf(0.5), math.erf(-3.0)],
                               rtol=1e-14)


def test_tensor_numpy_goes_through_backend_to_numpy():
    fake = FakeCupy()
    backends.set_backend(CupyBackend(xp=fake))  # restored by the conftest fixture
    t = ops.exp(Tensor(np.zeros(3)))
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 1.0])
    assert fake.calls["asnumpy"] == 1


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
    monkeypatch.setitem(sys.modules, "cupy", FakeCupy(count_error=error))
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


# --- ops on a CuPy-style backend vs NumPy -------------------------------------------------------

def _idx(values):
    return backends.current().asarray(np.array(values))


GPU_OP_CASES = {
    "add_broadcast": (lambda a, b: a + b, [(2, 3, 4), (4,)]),
    "divide": (lambda a, b: a / (b * b + 1.0), [(3, 4), (3, 1)]),
    "power": (lambda a, b: ops.power(a * a + 0.5, b), [(3, 4), (3, 4)]),
    "maximum": (ops.maximum, [(3, 4), (4,)]),
    "where": (lambda a, b: ops.where(ops.greater(a, 0), a, b), [(3, 4), (3, 4)]),
    "unary_chain": (lambda a: ops.tanh(ops.exp(a) + ops.log1p(a * a)) + ops.sqrt(a * a + 1.0)
                    + ops.softsign(a) + ops.sin(a) * ops.cos(a), [(3, 5)]),
    "erf": (ops.erf, [(4, 5)]),
    "sigmoid_softplus_relu": (lambda a: ops.sigmoid(a) * ops.softplus(a) + ops.relu(a),
                              [(4, 5)]),
    "clip_abs": (lambda a: ops.clip(a, -0.5, 0.5) + ops.abs(a), [(4, 5)]),
    "matmul_2d": (ops.matmul, [(3, 4), (4, 5)]),
    "matmul_batched": (ops.matmul, [(2, 3, 4), (2, 4, 5)]),
    "matmul_3d_2d": (ops.matmul, [(2, 3, 4), (4, 5)]),
    "matmul_1d": (ops.matmul, [(4,), (2, 4, 5)]),
    "matmul_vector": (ops.matmul, [(2, 3, 4), (4,)]),
    "linear": (ops.linear, [(2, 3, 4), (4, 5), (5,)]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, ([1, 0], [0, 1])), [(2, 3, 4), (3, 2, 5)]),
    "reductions": (lambda a: ops.sum(a, axis=1) + ops.mean(a, axis=1) + ops.max(a, axis=1)
                   + ops.min(a, axis=1) + ops.var(a, axis=1) + ops.std(a, axis=1)
                   + ops.logsumexp(a, axis=1) + ops.norm(a, axis=1), [(3, 4, 2)]),
    "prod": (lambda a: ops.prod(a, axis=(0, 2)), [(2, 3, 2)]),
    "softmax": (lambda a: ops.softmax(a) + ops.log_softmax(a, axis=0), [(3, 5)]),
    "shapes": (lambda a: ops.flatten(ops.transpose(ops.expand_dims(ops.squeeze(
        ops.reshape(a, (2, 1, 12))), -1), (1, 0, 2))), [(2, 3, 4)]),
    "swapaxes_broadcast": (lambda a: ops.broadcast_to(ops.swapaxes(a, 0, 1), (2, 3, 2)),
                           [(2, 3)]),
    "concatenate_stack_split": (lambda a, b: ops.concatenate(
        ops.split(ops.stack([a, b], axis=1), 2, axis=1) + [a[:, None]], axis=1), [(2, 3), (2, 3)]),
    "tile_repeat_pad": (lambda a: ops.pad(ops.repeat(ops.tile(a, (2, 1)), 2, axis=1),
                                          ((1, 0), (0, 2))), [(2, 3)]),
    "getitem": (lambda a: a[1:, ::2] * 2.0 + a[_idx([0, 2])][:, :2], [(3, 4)]),
    "take": (lambda a: ops.take(a, _idx([[0, 2], [2, 2]]), axis=0), [(3, 4)]),
    "cast": (lambda a: ops.cast(ops.cast(a, "float32"), "float64"), [(3, 2)]),
}


def _run_case(backend, fn, shapes, seed):
    """Forward value and input gradients of ``fn`` on ``backend``, as NumPy arrays."""
    backends.set_backend(backend)
    rng = np.random.default_rng(seed)
    host = [rng.standard_normal(s) for s in shapes]
    tensors = [Tensor(backend.asarray(a)) for a in host]
    with GradientTape() as tape:
        tape.watch(tensors)
        out = fn(*tensors)
    upstream = backend.asarray(rng.standard_normal(out.shape))
    grads = tape.gradient(out, tensors, output_gradients=upstream)
    return out.numpy(), [g.numpy() for g in grads]


def _real_cupy_backend():
    return CupyBackend()


@pytest.fixture(params=["fake_cupy", pytest.param("cupy", marks=pytest.mark.gpu)])
def cupy_style_backend(request):
    if request.param == "fake_cupy":
        return CupyBackend(xp=FakeCupy())
    return _real_cupy_backend()


@pytest.mark.parametrize("name", sorted(GPU_OP_CASES))
def test_ops_on_cupy_backend_match_numpy(cupy_style_backend, name):
    fn, shapes = GPU_OP_CASES[name]
    want_out, want_grads = _run_case(NumpyBackend(), fn, shapes, seed=5)
    got_out, got_grads = _run_case(cupy_style_backend, fn, shapes, seed=5)
    assert isinstance(got_out, np.ndarray)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-10, atol=1e-12)
    for got, want in zip(got_grads, want_grads):
        assert isinstance(got, np.ndarray) and got.shape == want.shape
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
