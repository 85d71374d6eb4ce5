"""Mixed precision on CuPy (``-m gpu``: a CUDA device, or the fake one with
``KERAS_BACKEND=cupy PYTHONPATH=tests/fakegpu``): the same training as on NumPy float16."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, layers, mixed_precision, optimizers
from gkeras.backends.numpy_backend import NumpyBackend

pytestmark = [pytest.mark.gpu, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

RNG = np.random.default_rng(11)


def _conv_model():
    return gkeras.Sequential([
        layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
        layers.MaxPooling2D(), layers.Flatten(), layers.Dense(3),
        layers.Activation("softmax", dtype="float32")])


def _lstm_model():
    return gkeras.Sequential([layers.LSTM(6, input_shape=(5, 2)), layers.Dense(3),
                              layers.Activation("softmax", dtype="float32")])


def _train(backend, make, weights, x, y):
    backends.set_backend(backend)
    mixed_precision.set_global_policy("mixed_float16")
    model = make()
    model.set_weights(weights)
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    return model, history.history["loss"]


@pytest.mark.parametrize("make, shape", [(_conv_model, (64, 8, 8, 2)),
                                         (_lstm_model, (64, 5, 2))], ids=["conv", "lstm"])
def test_mixed_float16_training_on_cupy_matches_numpy(make, shape):
    x = RNG.standard_normal(shape).astype("float32")
    y = RNG.integers(0, 3, shape[0])
    device = backends.create("cupy")
    saved = backends.current()
    backends.set_backend(NumpyBackend())
    try:
        mixed_precision.set_global_policy("mixed_float16")
        weights = make().get_weights()
        _, want = _train(NumpyBackend(), make, weights, x, y)
        model, got = _train(device, make, weights, x, y)
        out = model.layers[0](device.xp.asarray(x[:2]))
        assert out.dtype == np.float16
        assert all(isinstance(w.value, device.xp.ndarray) and w.dtype == np.float32
                   for w in model.weights)
        assert isinstance(model.optimizer, optimizers.LossScaleOptimizer)
        np.testing.assert_allclose(got, want, rtol=3e-2)
        assert got[-1] < got[0]
    finally:
        backends.set_backend(saved)
