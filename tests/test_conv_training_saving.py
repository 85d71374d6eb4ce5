"""Convolution layers end to end: finite-difference gradient checks, HDF5 round trips in both
Keras layouts, and a small convnet that learns."""
import h5py
import numpy as np
import pytest

import gkeras
from gkeras import backend, layers, testing
from gkeras.layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, DepthwiseConv1D,
                           DepthwiseConv2D, SeparableConv1D, SeparableConv2D)

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


def _nonzero_bias(layer, x):
    """Build ``layer`` and give its bias random values (zeros would hide a wrong gradient)."""
    layer(x)
    for w in layer.weights:
        if w.name == "bias":
            w.assign(RNG.standard_normal(w.shape))
    return layer


GRADIENT_CASES = [
    (lambda: Conv2D(3, (3, 2), strides=(2, 1), padding="same", activation="tanh"),
     (2, 5, 4, 2)),
    (lambda: Conv2D(2, 2, dilation_rate=2, data_format="channels_first"), (2, 2, 5, 5)),
    (lambda: Conv1D(2, 3, padding="causal", dilation_rate=2, activation="sigmoid"), (2, 6, 2)),
    (lambda: Conv1D(3, 2, strides=2, padding="same", data_format="channels_first"),
     (2, 2, 5)),
    (lambda: Conv2DTranspose(2, 3, strides=2, padding="same"), (2, 3, 2, 2)),
    (lambda: Conv2DTranspose(2, (2, 3), strides=(2, 1), output_padding=(1, 0),
                             data_format="channels_first"), (1, 2, 3, 3)),
    (lambda: Conv1DTranspose(2, 3, strides=3), (2, 3, 2)),
    (lambda: DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (2, 4, 4, 2)),
    (lambda: DepthwiseConv1D(2, strides=2, data_format="channels_first"), (2, 3, 5)),
    (lambda: SeparableConv2D(3, 2, strides=2, depth_multiplier=2, data_format="channels_first"),
     (2, 2, 5, 4)),
    (lambda: SeparableConv1D(2, 3, padding="causal"), (2, 5, 2)),
]


@pytest.mark.parametrize("make,shape", GRADIENT_CASES)
def test_layer_gradients_match_finite_differences(make, shape):
    gkeras.config.set_floatx("float64")
    x = RNG.standard_normal(shape)
    testing.check_gradients(_nonzero_bias(make(), x), x)


def convnet(name="net"):
    return gkeras.Sequential([
        Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1), name=f"{name}_c1"),
        SeparableConv2D(6, 3, strides=2, padding="same", name=f"{name}_sep"),
        DepthwiseConv2D(2, name=f"{name}_dw"),
        Conv2DTranspose(3, 2, strides=2, name=f"{name}_tr"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax", name=f"{name}_out")], name=name)


def _seeded(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.standard_normal(w.shape).astype(w.dtype) * 0.3)
    return model


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5"])
def test_weights_round_trip(tmp_path, filename):
    source, target = _seeded(convnet("a"), 0), _seeded(convnet("b"), 1)
    x = RNG.standard_normal((3, 8, 8, 1)).astype("float32")
    source.save_weights(tmp_path / filename)
    target.load_weights(tmp_path / filename)
    for got, want in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(target.predict(x, verbose=0), source.predict(x, verbose=0))


def test_keras_weight_names_on_disk(tmp_path):
    model = _seeded(gkeras.Sequential([Conv2D(2, 3, input_shape=(5, 5, 1)),
                                       SeparableConv2D(2, 2)]), 2)
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert [n.decode() for n in f["conv2d"].attrs["weight_names"]] == [
            "conv2d/kernel:0", "conv2d/bias:0"]
        assert [n.decode() for n in f["separable_conv2d"].attrs["weight_names"]] == [
            "separable_conv2d/depthwise_kernel:0", "separable_conv2d/pointwise_kernel:0",
            "separable_conv2d/bias:0"]
        np.testing.assert_array_equal(f["conv2d/conv2d/kernel:0"], model.layers[0].kernel)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert f["layers/conv2d/vars/0"].shape == (3, 3, 1, 2)
        assert f["layers/separable_conv2d/vars/1"].shape == (1, 1, 2, 2)


def test_model_save_and_load_model(tmp_path):
    model = _seeded(convnet(), 3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = RNG.standard_normal((4, 8, 8, 1)).astype("float32")
    model.save(tmp_path / "model.h5")
    loaded = gkeras.models.load_model(tmp_path / "model.h5")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose", "Flatten", "Dense"]
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_small_convnet_learns_where_the_bright_patch_is():
    """Label: is the 2x2 bright patch in the left or the right half of an 8x8 image."""
    gkeras.utils.set_random_seed(0)
    n = 256
    x = RNG.uniform(0, 0.3, (n, 8, 8, 1)).astype("float32")
    y = RNG.integers(0, 2, n)
    rows = RNG.integers(0, 7, n)
    cols = RNG.integers(0, 3, n) + 4 * y
    for i in range(n):
        x[i, rows[i]:rows[i] + 2, cols[i]:cols[i] + 2, 0] = 1.0
    model = gkeras.Sequential([Conv2D(4, 3, activation="relu", padding="same",
                                      input_shape=(8, 8, 1)),
                               Conv2D(4, 3, strides=2, activation="relu"),
                               layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
