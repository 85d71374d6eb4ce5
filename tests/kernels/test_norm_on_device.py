"""A small Conv2D + BatchNormalization (+ LayerNormalization) network trains on the CuPy
backend -- its normalization kernels launched on the fake device (CPU shim), or on a GPU with
``@pytest.mark.gpu`` -- as on NumPy, in both data formats, and the kernels add no host<->device
transfer to a training step."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, config, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from device_training import assert_same, initial_weights, train
from fakecupy import FakeCupy

N_SAMPLES = 24


def _model(data_format):
    shape = (7, 6, 2) if data_format == "channels_last" else (2, 7, 6)
    axis = -1 if data_format == "channels_last" else 1
    return gkeras.Sequential([
        layers.Conv2D(5, 3, padding="same", use_bias=False, data_format=data_format,
                      input_shape=shape),
        layers.BatchNormalization(axis=axis),
        layers.Activation("relu"),
        layers.MaxPooling2D(2, padding="same", data_format=data_format),
        layers.Conv2D(3, 2, data_format=data_format),
        layers.BatchNormalization(axis=axis, center=False),
        layers.Flatten(data_format=data_format),
        layers.LayerNormalization(),
        layers.Dense(3, activation="softmax")])


def _data(data_format):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_SAMPLES, 7, 6, 2)) * 3 + 1
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    return x.astype(config.floatx()), np.eye(3)[rng.integers(0, 3, N_SAMPLES)]


def _train(backend, data_format, weights, batch_size=6):
    # predict runs inference: the moving statistics through batch_norm_forward alone
    return train(backend, lambda: _model(data_format), _data(data_format), weights,
                 gkeras.optimizers.SGD(0.05), batch_size)


def _initial_weights(data_format):
    return initial_weights(lambda: _model(data_format))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_batchnorm_convnet_trains_on_the_fake_device_as_on_numpy(data_format):
    config.set_floatx("float64")
    weights = _initial_weights(data_format)
    want = _train(NumpyBackend(), data_format, weights)
    assert want[0]["loss"][-1] < want[0]["loss"][0]
    got = _train(CupyBackend(xp=FakeCupy()), data_format, weights)
    assert_same(got, want, rtol=1e-9, atol=1e-11)


def test_normalization_kernels_add_no_transfers_per_batch():
    """The same transfers for 2 batches an epoch as for 12: none inside a step."""
    config.set_floatx("float64")
    weights = _initial_weights("channels_last")
    counts = []
    for batch_size in (12, 2):
        fake = FakeCupy()
        _train(CupyBackend(xp=fake), "channels_last", weights, batch_size=batch_size)
        counts.append(dict(fake.counts))
    assert counts[0] == counts[1], counts


@pytest.mark.gpu
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_batchnorm_convnet_trains_on_cupy_as_on_numpy_float32(data_format):
    weights = _initial_weights(data_format)
    want = _train(NumpyBackend(), data_format, weights)
    got = _train(backends.create("cupy"), data_format, weights)
    assert_same(got, want, rtol=2e-4, atol=2e-5)
