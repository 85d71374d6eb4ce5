"""The CuPy backend's ``optimizer_step`` runs its real launching code -- on the fake device
(tests/fakecupy.py, whose RawModule runs kernels/optimizers.cu on the CPU shim), and with
``@pytest.mark.gpu`` on CuPy -- and equals the NumPy backend's (backends/numpy_optimizers.py):
bit for bit on the fake device, to rounding on a GPU (NVRTC contracts multiply-adds), without a
host<->device transfer; float16 takes the reference's array ops on the device. Models train
with flat buffers on the fake device as on NumPy, with no transfer per batch."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, config, kernels, layers, optimizers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from device_training import assert_same, initial_weights, train
from fakecupy import FakeCupy
from optimizer_cases import CASES, IDS, SIZES, arrays

NUMPY = NumpyBackend()


@pytest.fixture(params=["fake_device", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    if request.param == "fake_device":
        return CupyBackend(xp=FakeCupy())
    return backends.create("cupy")


def _step(backend, name, weight, grad, slots, hyper):
    """One step on ``backend``'s device; returns the weight and slots as NumPy arrays, and
    checks that nothing moved between host and device during it."""
    xp = backend.xp
    weight_d, grad_d = xp.asarray(weight.copy()), xp.asarray(grad)  # copies: NumPy updates
    slots_d = tuple(None if s is None else xp.asarray(s.copy()) for s in slots)  # in place
    scratch = {}
    counts = getattr(xp, "counts", None)
    if counts is not None:
        xp.reset()
    backend.optimizer_step(name, weight_d, grad_d, slots_d, hyper,
                           lambda which: scratch.setdefault(which, xp.empty_like(weight_d)))
    if counts is not None:
        assert not any(counts.values()), xp.sites
    return backend.to_numpy(weight_d), tuple(None if s is None else backend.to_numpy(s)
                                             for s in slots_d)


def _assert_equal(got, want, exact):
    assert got.dtype == want.dtype and got.shape == want.shape
    if exact:
        assert got.tobytes() == want.tobytes()
    else:
        tolerance = 1e-5 if got.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_optimizer_step_equals_the_numpy_backend(backend, case, size, dtype):
    _, name, used, hyper = case
    weight, grad, slots = arrays(size, dtype, name, used)
    want = _step(NUMPY, name, weight, grad, slots, hyper)
    got = _step(backend, name, weight, grad, slots, hyper)
    exact = isinstance(backend.xp, FakeCupy) or dtype == "float16"
    _assert_equal(got[0], want[0], exact)
    for g, w in zip(got[1], want[1]):
        assert (g is None) == (w is None)
        if g is not None:
            _assert_equal(g, w, exact)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_step_scalars_on_the_device_give_the_same_step(backend, case, dtype):
    """Device steps (gkeras/optimizers/device_steps.py): the step scalars as 0-d device
    arrays of the weight's dtype, read by the kernel from its ``step`` array."""
    from gkeras.backends import numpy_optimizers
    _, name, used, hyper = case
    weight, grad, slots = arrays(37, dtype, name, used)
    want = _step(NUMPY, name, weight, grad, slots, hyper)
    on_device = dict(hyper, **{key: backend.xp.asarray(np.array(hyper[key], dtype))
                               for key in numpy_optimizers.STEP_SCALARS[name]})
    got = _step(backend, name, weight, grad, slots, on_device)
    exact = isinstance(backend.xp, FakeCupy)
    _assert_equal(got[0], want[0], exact)
    for g, w in zip(got[1], want[1]):
        if w is not None:
            _assert_equal(g, w, exact)


def test_unknown_optimizer_and_missing_scalars_are_clear_errors(backend):
    weight = backend.xp.zeros(3, "float32")
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        backend.optimizer_step("adamw", weight, weight, (), {}, None)
    with pytest.raises(ValueError, match=r"missing scalar\(s\) \['epsilon'\]"):
        backend.optimizer_step("adagrad", weight, weight, (weight,), {"learning_rate": 0.1},
                               None)


# ---- whole models ----------------------------------------------------------------------------

def _model():
    return gkeras.Sequential([
        layers.Dense(7, activation="tanh", input_shape=(5,)),
        layers.Dense(4, activation="relu"),
        layers.Dense(3, activation="softmax")])


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 5)).astype(config.floatx())
    return x, np.eye(3)[rng.integers(0, 3, 24)]


OPTIMIZERS = {
    "adam_amsgrad_clipnorm": lambda: optimizers.Adam(0.01, amsgrad=True, clipnorm=0.5),
    "sgd_nesterov_weight_decay": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True,
                                                        weight_decay=0.01),
    "rmsprop_centered": lambda: optimizers.RMSprop(0.01, centered=True, momentum=0.5),
    "nadam_global_clipnorm": lambda: optimizers.Nadam(0.01, global_clipnorm=1.0),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adagrad_clipvalue": lambda: optimizers.Adagrad(0.1, clipvalue=0.1),
    "adamax_decay": lambda: optimizers.Adamax(0.01, decay=0.01),
}


@pytest.mark.parametrize("make", list(OPTIMIZERS.values()), ids=list(OPTIMIZERS))
def test_models_train_on_the_fake_device_as_on_numpy(make):
    config.set_floatx("float64")
    weights = initial_weights(_model)
    want = train(NumpyBackend(), _model, _data(), weights, make())
    assert want[0]["loss"][-1] < want[0]["loss"][0]
    got = train(CupyBackend(xp=FakeCupy()), _model, _data(), weights, make())
    assert_same(got, want, rtol=1e-12, atol=1e-14)


def test_the_fused_steps_add_no_transfers_per_batch():
    """The same transfers for 2 batches an epoch as for 12: none inside a step."""
    config.set_floatx("float64")
    weights = initial_weights(_model)
    counts = []
    for batch_size in (12, 2):
        fake = FakeCupy()
        train(CupyBackend(xp=fake), _model, _data(), weights,
              optimizers.Adam(0.01, clipnorm=0.5), batch_size=batch_size)
        counts.append(dict(fake.counts))
        assert ("adam_update", np.dtype("float64")) in kernels._kernels[fake]  # the kernel ran
    assert counts[0] == counts[1], counts


@pytest.mark.gpu
def test_a_model_trains_on_cupy_as_on_numpy_float32():
    weights = initial_weights(_model)
    want = train(NumpyBackend(), _model, _data(), weights, optimizers.Adam(0.01, clipnorm=0.5))
    got = train(backends.create("cupy"), _model, _data(), weights,
                optimizers.Adam(0.01, clipnorm=0.5))
    assert_same(got, want, rtol=2e-4, atol=2e-5)
