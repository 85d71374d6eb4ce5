"""Convolution and pooling layers train on the CuPy backend -- its kernels launched on the fake
device (CPU shim), or on a GPU with ``@pytest.mark.gpu`` -- exactly as on NumPy, and the
kernels add no host<->device transfer to a training step."""
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
    shape = (9, 8, 2) if data_format == "channels_last" else (2, 9, 8)
    return gkeras.Sequential([
        layers.Conv2D(4, 3, strides=(2, 1), padding="same", activation="relu",
                      data_format=data_format, input_shape=shape),
        layers.MaxPooling2D((2, 3), strides=(1, 2), padding="same", data_format=data_format),
        layers.DepthwiseConv2D(2, dilation_rate=(1, 2), data_format=data_format),
        layers.AveragePooling2D(2, padding="same", data_format=data_format),
        layers.Conv2DTranspose(3, 2, strides=2, data_format=data_format),
        layers.Flatten(data_format=data_format),
        layers.Dense(3, activation="softmax")])


def _data(data_format):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N_SAMPLES, 9, 8, 2))
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2).copy()
    return x.astype(config.floatx()), np.eye(3)[rng.integers(0, 3, N_SAMPLES)]


def _train(backend, data_format, weights, batch_size=6):
    return train(backend, lambda: _model(data_format), _data(data_format), weights, "adam",
                 batch_size)


def _initial_weights(data_format):
    return initial_weights(lambda: _model(data_format))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_convnet_trains_on_the_fake_device_as_on_numpy(data_format):
    config.set_floatx("float64")
    weights = _initial_weights(data_format)
    want = _train(NumpyBackend(), data_format, weights)
    fake = FakeCupy()
    got = _train(CupyBackend(xp=fake), data_format, weights)
    assert_same(got, want, rtol=1e-9, atol=1e-11)


def test_kernels_add_no_transfers_per_batch():
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
def test_convnet_trains_on_cupy_as_on_numpy_float32():
    weights = _initial_weights("channels_last")
    want = _train(NumpyBackend(), "channels_last", weights)
    got = _train(backends.create("cupy"), "channels_last", weights)
    assert_same(got, want, rtol=2e-4, atol=2e-5)
