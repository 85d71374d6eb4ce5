"""gkeras.activations: values against NumPy formulas (Keras 3 definitions; hard_sigmoid is
Keras 2's) and finite-difference gradients in float64."""
import math

import numpy as np
import pytest

import gkeras
from gkeras import activations, ops
from gkeras.layers import Activation, Dense

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_softplus(x):
    return np.log1p(np.exp(x))


def np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


REFERENCES = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "sigmoid": np_sigmoid,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "keras3_hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "keras2_hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "tanh": np.tanh,
    "softmax": np_softmax,
    "log_softmax": lambda x: np.log(np_softmax(x)),
    "elu": np_elu,
    "selu": lambda x: SELU_SCALE * np_elu(x, SELU_ALPHA),
    "softplus": np_softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * np_sigmoid(x),
    "swish": lambda x: x * np_sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "mish": lambda x: x * np.tanh(np_softplus(x)),
    "exponential": np.exp,
}

# points away from the kinks of relu-like functions (0, -3, 3, 6, +-2.5)
X = np.array([[-7.3, -4.1, -2.7, -1.3, -0.4, 0.35],
              [0.9, 1.7, 2.2, 2.9, 4.4, 7.6]], dtype="float64")


def test_every_activation_is_covered():
    assert set(REFERENCES) == set(activations._ACTIVATIONS)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_values_by_name_and_function(name):
    expected = REFERENCES[name](X)
    by_name = activations.get(name)
    as_function = getattr(activations, name)
    assert by_name is as_function
    np.testing.assert_allclose(np.asarray(as_function(X)), expected, rtol=1e-10, atol=1e-12)
    # float32 through an Activation layer keeps float32
    y = Activation(name)(X.astype("float32"))
    assert y.dtype == np.float32
    np.testing.assert_allclose(np.asarray(y), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_finite_difference_gradient(name):
    rng = np.random.default_rng(0)
    weights = rng.standard_normal(X.shape)
    fn = activations.get(name)

    def loss_np(x):
        return float(np.sum(np.asarray(fn(x)) * weights))

    x_var = gkeras.Variable(X, dtype="float64")
    with gkeras.GradientTape() as tape:
        loss = ops.sum(ops.multiply(fn(x_var), weights))
    grad = np.asarray(tape.gradient(loss, [x_var])[0])
    eps = 1e-6
    numeric = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        plus, minus = X.copy(), X.copy()
        plus[idx] += eps
        minus[idx] -= eps
        numeric[idx] = (loss_np(plus) - loss_np(minus)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_relu_arguments_follow_keras():
    x = np.array([-3.0, -1.0, 0.5, 1.5, 4.0, 9.0])
    # Keras 3: x if x > threshold else 0 (then clipped), minus slope * relu(threshold - x)
    np.testing.assert_allclose(np.asarray(activations.relu(x, negative_slope=0.1)),
                               np.where(x > 0, x, 0.1 * x))
    np.testing.assert_allclose(np.asarray(activations.relu(x, max_value=2.0)),
                               np.clip(x, 0, 2))
    np.testing.assert_allclose(np.asarray(activations.relu(x, threshold=1.0)),
                               np.where(x > 1.0, x, 0.0))
    np.testing.assert_allclose(
        np.asarray(activations.relu(x, negative_slope=0.5, max_value=5.0, threshold=1.0)),
        np.clip(np.where(x > 1.0, x, 0.0), 0, 5) - 0.5 * np.maximum(1.0 - x, 0))


def test_leaky_relu_slope_and_gelu_forms():
    x = np.linspace(-4, 4, 17)
    np.testing.assert_allclose(np.asarray(activations.leaky_relu(x)), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_allclose(np.asarray(activations.leaky_relu(x, negative_slope=0.01)),
                               np.where(x > 0, x, 0.01 * x))
    tanh_form = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(np.asarray(activations.gelu(x, approximate=True)), tanh_form,
                               rtol=1e-12)
    exact = 0.5 * x * (1 + _erf(x / np.sqrt(2)))
    np.testing.assert_allclose(np.asarray(activations.gelu(x)), exact, rtol=1e-10)
    # the two forms differ measurably, so the default really is the erf one
    assert np.abs(tanh_form - exact).max() > 1e-5


def test_softmax_axis_and_elu_alpha():
    x = np.arange(12.0).reshape(3, 4) / 3
    np.testing.assert_allclose(np.asarray(activations.softmax(x, axis=0)), np_softmax(x, axis=0))
    np.testing.assert_allclose(np.asarray(activations.softmax(x)).sum(axis=-1), np.ones(3))
    np.testing.assert_allclose(np.asarray(activations.log_softmax(x, axis=0)),
                               np.log(np_softmax(x, axis=0)))
    np.testing.assert_allclose(np.asarray(activations.elu(-x, alpha=0.5)), 0.5 * np.expm1(-x))


def test_selu_constants():
    assert activations._SELU_ALPHA == pytest.approx(SELU_ALPHA, rel=1e-15)
    assert activations._SELU_SCALE == pytest.approx(SELU_SCALE, rel=1e-15)
    np.testing.assert_allclose(np.asarray(activations.selu(np.array([-1.0, 1.0]))),
                               [SELU_SCALE * SELU_ALPHA * (np.exp(-1) - 1), SELU_SCALE])


def test_get_serialize_and_errors():
    assert activations.get(None) is activations.linear
    assert activations.get(np.tanh) is np.tanh
    assert activations.serialize(activations.relu) == "relu"
    assert activations.deserialize("tanh") is activations.tanh
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        activations.get("nope")
    with pytest.raises(ValueError, match="Could not interpret activation 3"):
        activations.get(3)


def test_dense_activation_by_name_matches_function():
    x = np.array([[-1.0, 2.0]], dtype="float32")
    layer = Dense(2, activation="tanh", kernel_initializer="identity")
    np.testing.assert_allclose(np.asarray(layer(x)), np.tanh(x), rtol=1e-6)
    assert layer.get_config()["activation"] == "tanh"
