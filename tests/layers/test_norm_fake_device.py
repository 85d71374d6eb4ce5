"""The normalization, activation and noise layers on the CuPy backend's code path with a fake
device (tests/fakecupy.py): the same training as NumPy, and no host transfer per batch."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, config, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from fakecupy import DeviceArray, FakeCupy

RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 6, 6, 2)).astype("float32")
# a learnable label: which third the mean of the first channel falls in
MEANS = X[..., 0].mean(axis=(1, 2))
Y = np.digitize(MEANS, np.quantile(MEANS, [1 / 3, 2 / 3]))


def _model(noise=True):
    """Every layer of the family; ``noise=False`` leaves out the random ones (real CuPy's
    generator draws other numbers than NumPy's)."""
    def random(layer):
        return [layer] if noise else []
    return gkeras.Sequential([
        layers.Conv2D(4, 3, padding="same", use_bias=False, input_shape=(6, 6, 2)),
        layers.BatchNormalization(), layers.ReLU(max_value=6.0),
        layers.PReLU(shared_axes=[1, 2]), *random(layers.SpatialDropout2D(0.2, seed=1)),
        *random(layers.GaussianNoise(0.1, seed=2)), layers.GroupNormalization(groups=2),
        layers.Permute((3, 1, 2)), layers.BatchNormalization(axis=1), layers.Permute((2, 3, 1)),
        layers.GlobalAveragePooling2D(), layers.LayerNormalization(), layers.LeakyReLU(),
        *random(layers.AlphaDropout(0.1, seed=3)), *random(layers.GaussianDropout(0.1, seed=4)),
        layers.ELU(), layers.Dense(3), layers.Softmax()])


def _train(backend, weights, batch_size=10, noise=True):
    backends.set_backend(backend)
    model = _model(noise)
    model.set_weights(weights)
    # SGD: Adam would blow up the roundoff in gradients that normalization makes ~0
    model.compile(gkeras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    history = model.fit(X, Y, batch_size=batch_size, epochs=4, shuffle=False, verbose=0)
    return model, history.history["loss"], model.predict(X, verbose=0)


@pytest.fixture
def restore_backend():
    saved = backends.current()
    yield
    backends.set_backend(saved)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fake_device_trains_as_numpy(restore_backend, seed):
    gkeras.utils.set_random_seed(seed)
    backends.set_backend(NumpyBackend())
    weights = _model().get_weights()
    want_model, want_loss, want_pred = _train(NumpyBackend(), weights)
    device = FakeCupy()
    got_model, got_loss, got_pred = _train(CupyBackend(xp=device), weights)
    assert isinstance(got_model.layers[1].moving_mean.value, DeviceArray)
    assert want_loss[-1] < want_loss[0]
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
    np.testing.assert_allclose(got_pred, want_pred, rtol=1e-4, atol=1e-6)
    for g, w in zip(got_model.get_weights(), want_model.get_weights()):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_no_host_transfer_per_batch(restore_backend):
    gkeras.utils.set_random_seed(0)
    backends.set_backend(NumpyBackend())
    weights = _model().get_weights()
    counts = []
    for batch_size in (30, 6):  # 2 or 10 batches per epoch
        device = FakeCupy()
        backends.set_backend(CupyBackend(xp=device))
        model = _model()
        model.set_weights(weights)
        model.compile("adam", "sparse_categorical_crossentropy")
        device.reset()
        model.fit(X, Y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
        counts.append(dict(device.counts))
    assert counts[0] == counts[1], counts


@pytest.mark.gpu
def test_cupy_training_matches_numpy_float64(restore_backend):
    config.set_floatx("float64")
    gkeras.utils.set_random_seed(0)
    backends.set_backend(NumpyBackend())
    weights = _model(noise=False).get_weights()
    want_model, want_loss, want_pred = _train(NumpyBackend(), weights, noise=False)
    got_model, got_loss, got_pred = _train(backends.create("cupy"), weights, noise=False)
    assert type(got_model.layers[1].moving_mean.value).__name__ != "ndarray" or \
        type(got_model.layers[1].moving_mean.value).__module__ != "numpy"  # on the device
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-9)
    np.testing.assert_allclose(got_pred, want_pred, rtol=1e-8, atol=1e-10)
    for g, w in zip(got_model.get_weights(), want_model.get_weights()):
        np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)
