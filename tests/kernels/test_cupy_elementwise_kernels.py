"""The CuPy backend's fused elementwise primitives run their real kernel-launching code -- on
the fake device (tests/fakecupy.py, whose RawModule runs kernels/elementwise.cu on the CPU
shim), and with ``@pytest.mark.gpu`` on CuPy -- and equal the NumPy backend's
(backends/numpy_elementwise.py) on odd shapes, float32 and float64, without a host<->device
transfer inside a primitive; float16 takes the reference's array-op code on the device. Models
using them (Dense with each fused activation, Dropout, the crossentropies from logits) train
on the device as on NumPy, with no transfer per batch."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, config, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend
from gkeras.backends.numpy_elementwise import ACTIVATIONS

from device_training import assert_same, initial_weights
from fakecupy import FakeCupy
from test_cupy_kernels import _Device

NUMPY = NumpyBackend()
ROWS = [(7, 33), (1, 1), (300, 3), (2, 129)]
TOLERANCE = {"float32": dict(rtol=2e-6, atol=1e-6), "float64": dict(rtol=1e-14, atol=2e-15),
             "float16": dict(rtol=0, atol=0)}


@pytest.fixture(params=["fake_device", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    if request.param == "fake_device":
        return CupyBackend(xp=FakeCupy())
    return backends.create("cupy")


def _close(got, want, dtype, exact=False):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    if exact:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, **TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", ROWS)
def test_bias_activation_and_its_backward(backend, shape, activation, dtype):
    device = _Device(backend)
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(shape) * 2).astype(dtype)
    bias, dy = rng.standard_normal(shape[-1]).astype(dtype), rng.standard_normal(shape)
    dy = dy.astype(dtype)
    exact = activation in ("linear", "relu") or dtype == "float16"
    for b in (bias, None):
        want = NUMPY.bias_activation(z.copy(), b, activation)
        args = device.put(z, *(() if b is None else (b,)))
        got = device.run("bias_activation", args[0], args[1] if b is not None else None,
                         activation)
        _close(got, want, dtype, exact)
    y_device, dy_device = device.put(want, dy)
    got = device.run("activation_backward", dy_device, y_device, activation)
    _close(got, NUMPY.activation_backward(dy, want, activation), dtype, exact=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", ROWS)
def test_softmax_rows_and_crossentropies(backend, shape, dtype):
    device = _Device(backend)
    rng = np.random.default_rng(1)
    rows, d = shape
    z = (rng.standard_normal(shape) * 3).astype(dtype)
    dy, target = rng.standard_normal(shape).astype(dtype), rng.uniform(0, 1, shape).astype(dtype)
    g = rng.uniform(0.5, 2, rows).astype(dtype)
    labels = rng.integers(0, d, rows)
    z_d, dy_d, target_d, g_d, labels_d = device.put(z, dy, target, g, labels)

    y = device.run("softmax_rows", z_d)
    _close(y, NUMPY.softmax_rows(z), dtype)
    _close(device.run("softmax_rows_backward", dy_d, *device.put(y)),
           NUMPY.softmax_rows_backward(dy, y), dtype)
    loss, log_prob = device.run("softmax_crossentropy", z_d, target_d)
    want_loss, want_log_prob = NUMPY.softmax_crossentropy(z, target)
    _close(loss, want_loss, dtype)
    _close(log_prob, want_log_prob, dtype)
    _close(device.run("softmax_crossentropy_backward", *device.put(want_log_prob), target_d,
                      g_d),
           NUMPY.softmax_crossentropy_backward(want_log_prob, target, g), dtype)
    loss, log_prob = device.run("sparse_softmax_crossentropy", z_d, labels_d)
    want_loss, want_log_prob = NUMPY.sparse_softmax_crossentropy(z, labels)
    _close(loss, want_loss, dtype)
    _close(log_prob, want_log_prob, dtype)
    _close(device.run("sparse_softmax_crossentropy_backward", *device.put(want_log_prob),
                      labels_d, g_d),
           NUMPY.sparse_softmax_crossentropy_backward(want_log_prob, labels, g), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_multiplier(backend, dtype):
    device = _Device(backend)
    u = np.random.default_rng(2).random((37, 11)).astype(dtype)
    got = device.run("dropout_multiplier", *device.put(u), 0.3)
    _close(got, NUMPY.dropout_multiplier(u.copy(), 0.3), dtype, exact=True)


def test_non_contiguous_inputs_are_copied(backend):
    device = _Device(backend)
    rng = np.random.default_rng(3)
    y = rng.uniform(0.1, 0.9, (6, 10))
    dy = rng.standard_normal((10, 6)).T  # a transposed view
    y_d, dy_d = device.put(y, dy)
    got = device.run("activation_backward", dy_d.T.copy().T, y_d, "sigmoid")
    np.testing.assert_array_equal(got, NUMPY.activation_backward(dy, y, "sigmoid"))


# --- models ---------------------------------------------------------------------------------

N_SAMPLES = 24


def _model(head):
    body = [layers.Dense(7, activation="relu", input_shape=(5,)), layers.Dropout(0.3, seed=4),
            layers.Dense(6, activation="tanh"), layers.Dense(5, activation="sigmoid"),
            layers.Dense(4)]
    if head == "softmax_layer":
        return gkeras.Sequential(body + [layers.Activation("softmax")])
    if head == "binary":
        return gkeras.Sequential(body[:-1] + [layers.Dense(3, activation="sigmoid")])
    return gkeras.Sequential(body[:-1] + [layers.Dense(4, activation="softmax")])


def _train(backend, head, weights, batch_size=6):
    backends.set_backend(backend)
    model = _model(head)
    model.set_weights(weights)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_SAMPLES, 5)).astype(config.floatx())
    loss = {"softmax": "categorical_crossentropy", "softmax_sparse":
            "sparse_categorical_crossentropy", "softmax_layer": "categorical_crossentropy",
            "binary": "binary_crossentropy"}[head]
    labels = np.argmax(x[:, :4], axis=1)  # learnable targets: the loss must fall
    y = {"categorical_crossentropy": np.eye(4)[labels], "sparse_categorical_crossentropy":
         labels, "binary_crossentropy": (x[:, :3] > 0).astype("float64")}[loss]
    model.compile(gkeras.optimizers.SGD(0.1), loss, metrics=["accuracy"])
    history = model.fit(x, y, batch_size=batch_size, epochs=2, verbose=0, shuffle=False)
    return history.history, model.predict(x, batch_size=10, verbose=0), model.get_weights()


HEADS = ["softmax", "softmax_sparse", "softmax_layer", "binary"]


def _weights(head):
    gkeras.utils.set_random_seed(7)  # the same start whatever ran before
    return initial_weights(lambda: _model(head))


@pytest.mark.parametrize("head", HEADS)
def test_fused_model_trains_on_the_fake_device_as_on_numpy(head):
    config.set_floatx("float64")
    weights = _weights(head)
    want = _train(NumpyBackend(), head, weights)
    assert want[0]["loss"][-1] < want[0]["loss"][0]
    got = _train(CupyBackend(xp=FakeCupy()), head, weights)
    assert_same(got, want, rtol=1e-10, atol=1e-12)


def test_fused_chains_add_no_transfers_per_batch():
    """The same transfers for 2 batches an epoch as for 12: none inside a step."""
    config.set_floatx("float64")
    weights = _weights("softmax")
    counts = []
    for batch_size in (12, 2):
        fake = FakeCupy()
        _train(CupyBackend(xp=fake), "softmax", weights, batch_size=batch_size)
        counts.append(dict(fake.counts))
    assert counts[0] == counts[1], counts


@pytest.mark.gpu
@pytest.mark.parametrize("head", HEADS)
def test_fused_model_trains_on_cupy_as_on_numpy_float32(head):
    weights = _weights(head)
    want = _train(NumpyBackend(), head, weights)
    got = _train(backends.create("cupy"), head, weights)
    assert_same(got, want, rtol=2e-4, atol=2e-5)
