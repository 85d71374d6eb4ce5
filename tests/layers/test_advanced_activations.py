"""ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU and Softmax layers: values against NumPy,
Keras's defaults and configs, Keras 2's module path and spellings, gradients, errors."""
import numpy as np
import pytest

from gkeras import layers, models
from gkeras.layers import advanced_activations
from gkeras.testing import check_gradients

RNG = np.random.default_rng(5)


def _away_from_kinks(*shape, kinks=(0.0,)):
    x = RNG.uniform(-3, 3, shape)
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, k + 0.1, x)
    return x


def test_keras2_module_path_holds_the_same_classes():
    for name in ("ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax"):
        assert getattr(advanced_activations, name) is getattr(layers, name)


@pytest.mark.parametrize("kwargs,reference", [
    ({}, lambda x: np.maximum(x, 0)),
    (dict(max_value=1.5), lambda x: np.clip(x, 0, 1.5)),
    (dict(negative_slope=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (dict(threshold=0.5), lambda x: np.where(x > 0.5, x, 0)),
    (dict(max_value=2.0, negative_slope=0.2, threshold=0.5),
     lambda x: np.where(x > 0.5, np.minimum(x, 2.0), 0.2 * (x - 0.5))),
])
def test_relu(kwargs, reference):
    x = _away_from_kinks(4, 5, kinks=(0.0, 0.5, 1.5, 2.0))
    layer = layers.ReLU(**kwargs, dtype="float64")
    np.testing.assert_allclose(layer(x).numpy(), reference(x), rtol=1e-12)
    check_gradients(layer, x)
    config = layer.get_config()
    assert {k: config[k] for k in ("max_value", "negative_slope", "threshold")} == {
        "max_value": kwargs.get("max_value"), "negative_slope": kwargs.get("negative_slope", 0.0),
        "threshold": kwargs.get("threshold", 0.0)}


def test_leaky_relu_default_and_keras2_alpha():
    x = _away_from_kinks(3, 4)
    assert layers.LeakyReLU().negative_slope == 0.3  # Keras 2 and 3 agree
    np.testing.assert_allclose(layers.LeakyReLU()(x).numpy(), np.where(x > 0, x, 0.3 * x),
                               rtol=1e-6)
    keras2 = layers.LeakyReLU(alpha=0.1)
    assert keras2.alpha == keras2.negative_slope == 0.1
    assert keras2.get_config()["negative_slope"] == 0.1
    assert layers.LeakyReLU.from_config({"alpha": 0.05, "name": "k2"}).negative_slope == 0.05
    np.testing.assert_allclose(layers.LeakyReLU(0.2)(x).numpy(), np.where(x > 0, x, 0.2 * x),
                               rtol=1e-6)
    check_gradients(layers.LeakyReLU(0.2, dtype="float64"), x)


def test_prelu_alpha_shapes_values_and_gradients():
    x = _away_from_kinks(2, 3, 4, 5)
    per_entry = layers.PReLU(alpha_initializer="ones")
    per_entry(x.astype("float32"))
    assert per_entry.alpha.shape == (3, 4, 5)
    shared = layers.PReLU(shared_axes=[1, 2], dtype="float64")
    shared.build(x.shape)
    assert [w.name for w in shared.weights] == ["alpha"] and shared.alpha.shape == (1, 1, 5)
    alpha = RNG.uniform(0.1, 0.5, (1, 1, 5))
    shared.set_weights([alpha])
    np.testing.assert_allclose(shared(x).numpy(), np.where(x >= 0, x, alpha * x), rtol=1e-12)
    check_gradients(shared, x)
    # default alpha 0: a plain ReLU until trained
    np.testing.assert_allclose(layers.PReLU()(x).numpy(), np.maximum(x, 0), rtol=1e-6)
    assert layers.PReLU(shared_axes=2).get_config()["shared_axes"] == [2]
    with pytest.raises(ValueError, match="PReLU 'p': `shared_axes` must be positive axis"):
        layers.PReLU(shared_axes=[0], name="p")
    with pytest.raises(ValueError, match="known size"):
        models.Sequential([layers.PReLU(input_shape=(None, 3))])


def test_elu_and_thresholded_relu():
    x = _away_from_kinks(4, 5, kinks=(0.0, 1.0))
    np.testing.assert_allclose(layers.ELU(alpha=0.5, dtype="float64")(x).numpy(),
                               np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-12)
    assert layers.ELU().alpha == 1.0
    check_gradients(layers.ELU(alpha=0.5, dtype="float64"), x)
    thresholded = layers.ThresholdedReLU(dtype="float64")
    assert thresholded.get_config()["theta"] == 1.0
    np.testing.assert_array_equal(thresholded(x).numpy(), np.where(x > 1.0, x, 0))
    check_gradients(thresholded, x)
    with pytest.raises(ValueError, match="`theta` must be a number >= 0"):
        layers.ThresholdedReLU(theta=-1)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def test_softmax_axes_and_mask():
    x = RNG.standard_normal((2, 3, 4))
    np.testing.assert_allclose(layers.Softmax(dtype="float64")(x).numpy(), _np_softmax(x, -1),
                               rtol=1e-12)
    np.testing.assert_allclose(layers.Softmax(axis=1, dtype="float64")(x).numpy(),
                               _np_softmax(x, 1), rtol=1e-12)
    np.testing.assert_allclose(layers.Softmax(axis=[1, 2], dtype="float64")(x).numpy(),
                               _np_softmax(x, (1, 2)), rtol=1e-12)
    mask = np.array([[True, True, False, True]] * 3)[None].repeat(2, 0)
    masked = layers.Softmax(dtype="float64")(x, mask=mask).numpy()
    assert np.all(masked[..., 2] == 0)
    np.testing.assert_allclose(masked[..., [0, 1, 3]], _np_softmax(x[..., [0, 1, 3]], -1),
                               rtol=1e-10)
    check_gradients(layers.Softmax(axis=1, dtype="float64"), x)
    assert layers.Softmax(axis=[1, 2]).get_config()["axis"] == [1, 2]


def test_activation_layers_save_and_load(tmp_path):
    model = models.Sequential([
        layers.Dense(6, input_shape=(4,)), layers.ReLU(max_value=6.0), layers.LeakyReLU(0.1),
        layers.PReLU(alpha_initializer="ones"), layers.ELU(0.3), layers.ThresholdedReLU(0.2),
        layers.Dense(3), layers.Softmax()])
    x = RNG.standard_normal((5, 4)).astype("float32")
    model.save(tmp_path / "m.h5")
    loaded = models.load_model(tmp_path / "m.h5")
    assert [type(layer).__name__ for layer in loaded.layers] == [
        type(layer).__name__ for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


@pytest.mark.parametrize("factory,message", [
    (lambda: layers.ReLU(max_value=-1, name="r"), "ReLU 'r': `max_value` must be a number >= 0"),
    (lambda: layers.ReLU(negative_slope="x", name="r"), "`negative_slope` must be a number"),
    (lambda: layers.LeakyReLU(-0.1, name="l"), "LeakyReLU 'l': `negative_slope` must be"),
    (lambda: layers.ELU(alpha=None, name="e"), "ELU 'e': `alpha` must be a number"),
])
def test_bad_arguments_are_named(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
