"""The CuPy backend's training path: fit/evaluate/predict on a fake device (CI) and on CuPy (gpu).

``FakeCupy`` (tests/fakecupy.py) runs the CuPy backend's own code with NumPy underneath but
keeps arrays in a distinct device type, counts every device->host read and host->device
copy, and refuses host arrays in device arithmetic as CuPy does. The tests check that
training matches the NumPy backend, that users only ever get NumPy arrays and Python
floats back, and that the number of transfers does not grow with the number of batches.
"""
import types

import numpy as np
import pytest

import gkeras
from gkeras import backends, config, layers, optimizers
from gkeras.autograd import Tensor
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend
from gkeras.optimizers import _HostScalarVariable
from gkeras.utils import progbar as progbar_module

from fakecupy import DeviceArray, FakeCupy

N_SAMPLES = 500
EPOCHS = 3
# The fake device runs kernels/elementwise.cu (Dense's activations, softmax-crossentropy) on
# the CPU shim: exp, log and tanh from the C library, row sums in order, a few float32 ulps
# from NumPy's per step, over 150 Adam steps
FAKE_DEVICE_FLOAT32 = dict(rtol=1e-5, atol=1e-6)


@pytest.fixture
def fake():
    """The CuPy backend on a fake device, installed as the active backend."""
    saved = backends.current()
    device = FakeCupy()
    backends.set_backend(CupyBackend(xp=device))
    yield device
    backends.set_backend(saved)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((N_SAMPLES, 8)).astype("float32")
    x2 = rng.standard_normal((N_SAMPLES, 4)).astype("float32")
    labels = rng.integers(0, 3, N_SAMPLES)
    target = (x1[:, :1] * x2[:, :1] + 0.1 * rng.standard_normal((N_SAMPLES, 1))).astype("float32")
    return x1, x2, labels, target


def _sequential(dropout_rate):
    return gkeras.Sequential([
        layers.Dense(16, activation="relu", input_shape=(8,)),
        layers.Dropout(dropout_rate, seed=3),
        layers.Dense(3, activation="softmax")])


def _functional(dropout_rate):
    a, b = layers.Input((8,), name="a"), layers.Input((4,), name="b")
    ha = layers.Dense(8, activation="tanh")(a)
    hb = layers.Dense(8, activation="relu")(b)
    merged = layers.Concatenate()([ha, hb])
    mixed = layers.Add()([layers.Dense(6)(merged),
                          layers.Multiply()([layers.Dense(6)(ha),
                                             layers.Dense(6, activation="sigmoid")(hb)])])
    averaged = layers.Average()([mixed, layers.Subtract()([layers.Dense(6)(merged), mixed])])
    dropped = layers.Dropout(dropout_rate, seed=4)(averaged)
    cls = layers.Dense(3, activation="softmax", name="cls")(dropped)
    reg = layers.Dense(1, name="reg")(layers.Maximum()([mixed, averaged]))
    return gkeras.Model([a, b], [cls, reg])


def _compile(model, functional, optimizer="adam"):
    if functional:
        model.compile(optimizer=optimizers.get(optimizer),
                      loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                      loss_weights={"cls": 1.0, "reg": 0.5},
                      metrics={"cls": ["accuracy"], "reg": ["mae"]})
    else:
        model.compile(optimizer=optimizers.get(optimizer), loss="categorical_crossentropy",
                      metrics=["accuracy"])


def _inputs_targets(functional):
    x1, x2, labels, target = _data()
    if functional:
        return [x1, x2], {"cls": labels, "reg": target}
    return x1, np.eye(3, dtype="float32")[labels]


def _initial_weights(functional, dropout_rate):
    """Host weights of a freshly built model, made on NumPy so both runs start alike."""
    saved = backends.current()
    backends.set_backend(NumpyBackend())
    try:
        return (_functional if functional else _sequential)(dropout_rate).get_weights()
    finally:
        backends.set_backend(saved)


def _train(backend, functional, weights, dropout_rate, **fit_kwargs):
    """compile/fit/evaluate/predict on ``backend``; every result as the user receives it."""
    backends.set_backend(backend)
    model = (_functional if functional else _sequential)(dropout_rate)
    model.set_weights(weights)
    _compile(model, functional)
    x, y = _inputs_targets(functional)
    fit_kwargs = {"batch_size": 10, "epochs": EPOCHS, "verbose": 0, "shuffle": False,
                  **fit_kwargs}
    history = model.fit(x, y, **fit_kwargs)
    return {"model": model, "history": history.history,
            "evaluate": model.evaluate(x, y, batch_size=25, verbose=0),
            "predict": model.predict(x, batch_size=40),
            "predict_on_batch": model.predict_on_batch(
                [a[:7] for a in x] if functional else x[:7]),
            "weights": model.get_weights()}


def _assert_same_results(got, want, rtol, atol):
    assert got["history"].keys() == want["history"].keys()
    for name, values in want["history"].items():
        np.testing.assert_allclose(got["history"][name], values, rtol=rtol, atol=atol,
                                   err_msg=name)
    np.testing.assert_allclose(got["evaluate"], want["evaluate"], rtol=rtol, atol=atol)
    for key in ("predict", "predict_on_batch", "weights"):
        got_list = got[key] if isinstance(got[key], list) else [got[key]]
        want_list = want[key] if isinstance(want[key], list) else [want[key]]
        assert len(got_list) == len(want_list)
        for g, w in zip(got_list, want_list):
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=key)


def _assert_host_results(results):
    """What the user receives: NumPy arrays and Python floats only."""
    for key in ("predict", "predict_on_batch", "weights"):
        for array in results[key] if isinstance(results[key], list) else [results[key]]:
            assert type(array) is np.ndarray, key
    for values in results["history"].values():
        assert all(type(v) is float for v in values)
    evaluated = results["evaluate"]
    assert all(type(v) is float for v in (evaluated if isinstance(evaluated, list)
                                          else [evaluated]))


# --- the fake device: same numbers as NumPy ----------------------------------------------------

@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_fake_device_training_matches_numpy(fake, functional):
    weights = _initial_weights(functional, 0.25)
    # Dropout draws from the backend's generator: the fake's is NumPy's, so masks agree too.
    want = _train(NumpyBackend(), functional, weights, 0.25)
    got = _train(CupyBackend(xp=fake), functional, weights, 0.25)
    assert isinstance(got["model"].weights[0].value, DeviceArray)  # it did run on the device
    assert not isinstance(want["model"].weights[0].value, DeviceArray)
    assert len(want["history"]["loss"]) == EPOCHS
    assert want["history"]["loss"][-1] < want["history"]["loss"][0]  # it did learn
    _assert_same_results(got, want, **FAKE_DEVICE_FLOAT32)
    _assert_host_results(got)


def test_fake_device_sample_and_class_weights_validation_match_numpy(fake):
    weights = _initial_weights(False, 0.0)
    sample_weight = np.linspace(0.5, 1.5, N_SAMPLES).astype("float32")
    fit_kwargs = dict(sample_weight=sample_weight, class_weight={0: 2.0, 2: 0.5},
                      validation_split=0.2)
    want = _train(NumpyBackend(), False, weights, 0.0, **fit_kwargs)
    got = _train(CupyBackend(xp=fake), False, weights, 0.0, **fit_kwargs)
    assert "val_loss" in got["history"]
    _assert_same_results(got, want, **FAKE_DEVICE_FLOAT32)
    _assert_host_results(got)


def test_fake_device_values_handed_to_the_user_are_numpy(fake):
    model = _sequential(0.0)
    _compile(model, False)
    x, y = _inputs_targets(False)
    model.fit(x, y, batch_size=50, epochs=1, verbose=0)
    out = model(x[:4])  # a direct call stays on the device ...
    assert isinstance(out, Tensor) and isinstance(out.value, DeviceArray)
    for host in (out.numpy(), np.asarray(out), model.weights[0].numpy(),  # ... until read
                 model.predict(x[:4]), model.predict_on_batch(x[:4]), *model.get_weights(),
                 *model.layers[0].get_weights()):
        assert type(host) is np.ndarray
    np.testing.assert_allclose(out.numpy(), model.predict(x[:4]), rtol=1e-6)
    for result in (model.train_on_batch(x[:10], y[:10]), model.test_on_batch(x[:10], y[:10]),
                   model.evaluate(x, y, verbose=0)):
        assert [type(v) for v in result] == [float, float]
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert {k: type(v) for k, v in logs.items()} == {"loss": float, "accuracy": float}


# --- no per-batch synchronisation ---------------------------------------------------------------

def _counted_fit(fake, functional, batch_size, **fit_kwargs):
    """The fake's transfer counts during one fit (model built and compiled beforehand)."""
    model = (_functional if functional else _sequential)(0.25)
    _compile(model, functional)
    x, y = _inputs_targets(functional)
    fake.reset()
    model.fit(x, y, batch_size=batch_size, epochs=EPOCHS, **fit_kwargs)
    return dict(fake.counts), list(fake.sites["to_host"]), model


@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_fit_reads_the_device_per_epoch_not_per_batch(fake, functional):
    many, many_sites, model = _counted_fit(fake, functional, batch_size=10, verbose=0)
    few, _, _ = _counted_fit(fake, functional, batch_size=100, verbose=0)
    # 50 batches per epoch or 5: the same transfers, so none of them is per batch
    assert many == few, many_sites
    logged = len(model.history.history)  # the values read at each epoch end
    assert many["to_host"] == EPOCHS * logged, many_sites  # each logged value once an epoch
    # x, y (one array per input/output) and one shuffled order per epoch go to the device
    n_arrays = 2 if not functional else 4
    assert many["to_device"] == n_arrays + EPOCHS, fake.sites["to_device"]
    assert many["synchronize"] == 0


def test_fit_with_weights_and_validation_reads_the_device_per_epoch(fake):
    x, y = _inputs_targets(False)
    kwargs = dict(verbose=0, sample_weight=np.ones(N_SAMPLES, "float32"),
                  class_weight={0: 1.0, 1: 3.0}, validation_data=(x[:200], y[:200]),
                  shuffle="batch")
    many, sites, model = _counted_fit(fake, False, batch_size=10, **kwargs)
    few, _, _ = _counted_fit(fake, False, batch_size=100, **kwargs)
    assert many == few, sites
    assert many["to_host"] == EPOCHS * len(model.history.history), sites
    assert many["to_device"] == 6, fake.sites["to_device"]  # x, y, sample weights, class table, validation x and y


def test_progress_bar_on_a_log_file_reads_only_the_lines_it_prints(fake, capsys):
    quiet, _, _ = _counted_fit(fake, False, batch_size=10, verbose=0)
    shown, sites, _ = _counted_fit(fake, False, batch_size=10, verbose=1)
    assert capsys.readouterr().out.count("Epoch ") == EPOCHS  # stdout is not a terminal here
    assert shown == quiet, sites  # no line within the 10 s window: no extra read


def test_progress_bar_reads_at_most_once_per_printed_line(fake, capsys, monkeypatch):
    # A clock that jumps 100 s per reading makes every throttle window pass at once: the bar
    # still prints (and reads the device) only every 10% of an epoch, not every batch.
    clock = iter(range(0, 10**7, 100))
    monkeypatch.setattr(progbar_module, "time", types.SimpleNamespace(
        monotonic=lambda: float(next(clock))))
    quiet, _, model = _counted_fit(fake, False, batch_size=10, verbose=0)
    shown, sites, _ = _counted_fit(fake, False, batch_size=10, verbose=1)
    lines = capsys.readouterr().out.count(" - loss: ")
    metrics = len(model.history.history)
    assert EPOCHS < lines <= EPOCHS * 11
    assert shown["to_host"] == quiet["to_host"] + (lines - EPOCHS) * metrics, sites
    assert shown["to_host"] < EPOCHS * 50  # far fewer than one read per batch


def test_evaluate_and_predict_read_the_device_once_per_call(fake):
    model = _functional(0.0)
    _compile(model, True)
    x, y = _inputs_targets(True)
    counts = []
    for batch_size in (10, 100):
        fake.reset()
        model.evaluate(x, y, batch_size=batch_size, verbose=0)
        evaluated = dict(fake.counts)
        fake.reset()
        predicted = model.predict(x, batch_size=batch_size)
        counts.append((evaluated, dict(fake.counts)))
        assert [type(p) for p in predicted] == [np.ndarray, np.ndarray]
        assert fake.counts["to_host"] == 2  # one copy per output, after the last batch
    assert counts[0] == counts[1]


# --- state on the device -------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda: optimizers.SGD(momentum=0.9, nesterov=True),
    "RMSprop": lambda: optimizers.RMSprop(centered=True, momentum=0.5),
    "Adam": lambda: optimizers.Adam(amsgrad=True, weight_decay=0.01),
    "Adagrad": optimizers.Adagrad, "Adadelta": optimizers.Adadelta,
    "Adamax": optimizers.Adamax, "Nadam": optimizers.Nadam}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_and_weights_stay_on_the_device(fake, name):
    x, y = _inputs_targets(False)
    counts = []
    for batch_size in (50, 10):
        optimizer = OPTIMIZERS[name]()
        model = _sequential(0.0)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        fake.reset()
        model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=False)
        counts.append(dict(fake.counts))
    assert counts[0] == counts[1], fake.sites  # no update step reads or writes the host
    slots = [v for v in optimizer.variables if not isinstance(v, _HostScalarVariable)]
    assert len(slots) >= len(model.trainable_weights)
    assert all(isinstance(v.value, DeviceArray) for v in slots)
    assert all(isinstance(w.value, DeviceArray) for w in model.weights)
    assert int(optimizer.iterations) == 2 * N_SAMPLES // 10
    assert all(type(w) is np.ndarray for w in model.get_weights())


def test_fake_device_refuses_what_cupy_refuses(fake):
    device_array = fake.asarray(np.ones(3, "float32"))
    with pytest.raises(TypeError, match="Unsupported type"):
        device_array * np.float32([2.0])  # host array in device arithmetic
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(device_array)
    assert type(device_array * np.float32(2.0)) is DeviceArray  # NumPy scalars are fine
    fake.reset()
    assert float(device_array.sum()) == 3.0 and type(fake.asnumpy(device_array)) is np.ndarray
    assert fake.counts == {"to_host": 2, "to_device": 0, "synchronize": 0}


# --- real CuPy (make gpu-check) ------------------------------------------------------------------

def _real_cupy_backend():
    return backends.create("cupy")


@pytest.mark.gpu
@pytest.mark.parametrize("functional", [False, True], ids=["sequential", "functional"])
def test_cupy_training_matches_numpy_float64(functional):
    config.set_floatx("float64")
    weights = _initial_weights(functional, 0.0)  # no dropout: CuPy's generator differs
    want = _train(NumpyBackend(), functional, weights, 0.0)
    got = _train(_real_cupy_backend(), functional, weights, 0.0)
    cupy = backends.current().xp
    assert isinstance(got["model"].weights[0].value, cupy.ndarray)
    _assert_same_results(got, want, rtol=1e-9, atol=1e-11)
    _assert_host_results(got)


@pytest.mark.gpu
def test_cupy_training_matches_numpy_float32_with_weights_and_validation():
    weights = _initial_weights(False, 0.0)
    fit_kwargs = dict(sample_weight=np.linspace(0.5, 1.5, N_SAMPLES).astype("float32"),
                      class_weight={0: 2.0, 2: 0.5}, validation_split=0.2)
    want = _train(NumpyBackend(), False, weights, 0.0, **fit_kwargs)
    got = _train(_real_cupy_backend(), False, weights, 0.0, **fit_kwargs)
    _assert_same_results(got, want, rtol=2e-4, atol=2e-5)
    _assert_host_results(got)


@pytest.mark.gpu
def test_cupy_state_stays_on_the_device_and_dropout_trains():
    backend = backends.set_backend(_real_cupy_backend())
    cupy = backend.xp
    model = _functional(0.3)
    _compile(model, True)
    x, y = _inputs_targets(True)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert all(np.isfinite(v) and type(v) is float for v in history.history["loss"])
    slots = [v for v in model.optimizer.variables if not isinstance(v, _HostScalarVariable)]
    assert slots and all(isinstance(v.value, cupy.ndarray) for v in slots)
    assert all(isinstance(w.value, cupy.ndarray) for w in model.weights)
    assert [type(p) for p in model.predict(x)] == [np.ndarray, np.ndarray]
    backend.synchronize()
