"""GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D,
ActivityRegularization and Identity: exact identity at inference, the noise's statistics in
training, whole feature maps for spatial dropout, seeds, configs, losses, errors."""
import numpy as np
import pytest

from gkeras import Tensor, GradientTape, layers, models

RNG = np.random.default_rng(9)
NOISY = [lambda: layers.GaussianNoise(0.5), lambda: layers.GaussianDropout(0.3),
         lambda: layers.AlphaDropout(0.3), lambda: layers.SpatialDropout1D(0.5),
         lambda: layers.SpatialDropout2D(0.5), lambda: layers.SpatialDropout3D(0.5)]
SHAPES = {"SpatialDropout1D": (4, 6, 5), "SpatialDropout2D": (4, 3, 6, 5),
          "SpatialDropout3D": (4, 2, 3, 4, 5)}


@pytest.mark.parametrize("factory", NOISY)
def test_identity_at_inference_and_noise_in_training(factory):
    layer = factory()
    x = RNG.standard_normal(SHAPES.get(type(layer).__name__, (4, 6, 5))).astype("float32")
    for out in (layer(x), layer(x, training=False)):
        np.testing.assert_array_equal(out.numpy(), x)
    assert not np.allclose(layer(x, training=True).numpy(), x)
    model = models.Sequential([layers.Identity(input_shape=x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not np.allclose(model(x, training=True).numpy(), x)  # inherited from the model


def test_gaussian_noise_statistics_and_seed():
    x = np.zeros((200, 500), "float32")
    noise = layers.GaussianNoise(0.3, seed=1)(x, training=True).numpy()
    assert noise.dtype == np.float32
    assert abs(noise.mean()) < 0.005 and abs(noise.std() - 0.3) < 0.005
    again = layers.GaussianNoise(0.3, seed=1)(x, training=True).numpy()
    np.testing.assert_array_equal(noise, again)


def test_gaussian_dropout_is_mean_preserving_multiplicative_noise():
    x = np.full((200, 500), 2.0, "float32")
    y = layers.GaussianDropout(0.2, seed=3)(x, training=True).numpy()
    assert abs(y.mean() - 2.0) < 0.01
    assert abs(y.std() - 2.0 * np.sqrt(0.2 / 0.8)) < 0.01


def test_alpha_dropout_keeps_mean_and_variance_of_normalized_inputs():
    x = RNG.standard_normal((400, 500)).astype("float32")
    y = layers.AlphaDropout(0.2, seed=4)(x, training=True).numpy()
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * 0.2
    dropped = np.isclose(y, a * alpha_p + b, atol=1e-6)
    assert abs(dropped.mean() - 0.2) < 0.01
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,data_format,shape,map_axes", [
    (layers.SpatialDropout1D, None, (6, 20, 8), (1,)),
    (layers.SpatialDropout2D, "channels_last", (6, 5, 4, 8), (1, 2)),
    (layers.SpatialDropout2D, "channels_first", (6, 8, 5, 4), (2, 3)),
    (layers.SpatialDropout3D, "channels_first", (6, 8, 2, 3, 4), (2, 3, 4)),
])
def test_spatial_dropout_drops_whole_feature_maps(cls, data_format, shape, map_axes):
    kwargs = {} if data_format is None else {"data_format": data_format}
    layer = cls(0.5, seed=2, **kwargs)
    x = RNG.uniform(1, 2, shape).astype("float32")
    y = layer(x, training=True).numpy()
    ratio = y / x
    # each (example, channel) map is all zeros or all scaled by 1 / (1 - rate)
    np.testing.assert_allclose(ratio.min(map_axes), ratio.max(map_axes), rtol=1e-6)
    assert set(np.round(np.unique(ratio), 5)) == {0.0, 2.0}


def test_spatial_dropout_configs_and_errors():
    config = layers.SpatialDropout2D(0.25, data_format="channels_first", seed=3).get_config()
    assert (config["rate"], config["data_format"], config["seed"]) == (
        0.25, "channels_first", 3)
    assert "noise_shape" not in config
    assert "data_format" not in layers.SpatialDropout1D(0.1).get_config()
    assert layers.SpatialDropout2D.from_config(config).noise_shape == (None, None, 1, 1)
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.SpatialDropout2D(0.1)(np.zeros((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="SpatialDropout1D 's': invalid value received for "
                                         "argument `rate`"):
        layers.SpatialDropout1D(1.5, name="s")


@pytest.mark.parametrize("factory,message", [
    (lambda: layers.GaussianNoise(-1, name="g"), "GaussianNoise 'g': `stddev` must be a "
                                                 "non-negative number"),
    (lambda: layers.GaussianDropout(2, name="g"), "GaussianDropout 'g': invalid value"),
    (lambda: layers.AlphaDropout("x", name="a"), "AlphaDropout 'a': invalid value"),
])
def test_bad_arguments_are_named(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


def test_noise_layer_configs_round_trip():
    for layer in (layers.GaussianNoise(0.2, seed=1), layers.GaussianDropout(0.1),
                  layers.AlphaDropout(0.3, noise_shape=(None, 1)),
                  layers.ActivityRegularization(l1=0.1, l2=0.2), layers.Identity()):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert layers.GaussianNoise(0.2).get_config()["stddev"] == 0.2


def test_activity_regularization_adds_keras3_penalty():
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    x = RNG.standard_normal((4, 3)).astype("float32")
    np.testing.assert_array_equal(layer(x).numpy(), x)
    expected = (0.1 * np.abs(x).sum() + 0.01 * (x ** 2).sum()) / 4  # over the batch, Keras 3
    assert len(layer.losses) == 1
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-5)
    assert layer.get_config()["l1"] == 0.1 and "activity_regularizer" not in layer.get_config()
    # the penalty reaches the training loss: fit shrinks activations
    model = models.Sequential([layers.Dense(3, input_shape=(3,), kernel_initializer="ones"),
                               layers.ActivityRegularization(l2=1.0)])
    model.compile("sgd", "mse")
    before = np.abs(model.predict(x, verbose=0)).mean()
    model.fit(x, np.zeros((4, 3)), epochs=3, verbose=0)
    assert np.abs(model.predict(x, verbose=0)).mean() < before


def test_noise_gradients_flow_through_the_same_noise():
    x = Tensor(RNG.standard_normal((3, 4)).astype("float64"))
    layer = layers.GaussianDropout(0.4, seed=0, dtype="float64")
    with GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    (grad,) = tape.gradient(y, [x])
    np.testing.assert_allclose(grad.numpy(), y.numpy() / x.numpy(), rtol=1e-10)
