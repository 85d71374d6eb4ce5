"""Fused chains: Dense's one-op forward/backward equals the chain of separate ops bit for bit,
the crossentropies compute from the logits a softmax/sigmoid left on its output (and only
then), and dropout's in-place multiplier keeps the values of the separate mask and scale."""
import warnings

import numpy as np
import pytest

import gkeras
from gkeras import activations, layers, losses, ops
from gkeras.autograd import Tensor
from gkeras.ops.fused import dropout_multiplier

ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"]
EPS = 1e-7


def _gradients(fn, *arrays, upstream):
    tensors = [gkeras.Variable(a, dtype=a.dtype) for a in arrays]
    with gkeras.GradientTape() as tape:
        out = fn(*tensors)
        total = ops.sum(out * upstream)
    return out.numpy(), [g.numpy() for g in tape.gradient(total, tensors)]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("shape", [(7, 5), (2, 3, 5), (67, 5)])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_dense_equals_the_unfused_chain_bit_for_bit(activation, shape, use_bias, dtype,
                                                     cpu_accel):
    # with the CPU extra, relu's backward also sums the bias gradient in its pass
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    kernel, bias = (rng.standard_normal((5, 6)).astype(dtype),
                    rng.standard_normal(6).astype(dtype))
    upstream = rng.standard_normal(shape[:-1] + (6,)).astype(dtype)
    act = activations.get(activation)
    arrays = (x, kernel, bias) if use_bias else (x, kernel)
    fused_out, fused_grads = _gradients(
        lambda *t: ops.dense_bias_activation(*t[:2], t[2] if use_bias else None, activation),
        *arrays, upstream=upstream)
    plain_out, plain_grads = _gradients(lambda *t: act(ops.linear(*t)), *arrays,
                                        upstream=upstream)
    np.testing.assert_array_equal(fused_out, plain_out)
    for fused, plain in zip(fused_grads, plain_grads):
        np.testing.assert_array_equal(fused, plain)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_layer_takes_the_fused_op_with_the_values_of_its_activation(activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 4))
    layer = layers.Dense(3, activation=activation, dtype="float64")
    out = layer(x)
    want = activations.get(activation)(ops.linear(x, layer.kernel, layer.bias)).numpy()
    np.testing.assert_array_equal(out.numpy(), want)
    assert (out._keras_logits is not None) == (activation in ("sigmoid", "softmax"))


def test_dense_with_other_activations_and_activity_regularizer_is_unchanged():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    layer = layers.Dense(2, activation="elu", activity_regularizer="l2", dtype="float64")
    out = layer(x).numpy()
    z = x @ layer.kernel.numpy() + layer.bias.numpy()
    np.testing.assert_allclose(out, np.where(z > 0, z, np.expm1(z)), rtol=1e-12)
    # Keras 3 divides the activity penalty by the batch size
    np.testing.assert_allclose(float(layer.losses[0]), 0.01 * np.sum(out ** 2) / 4, rtol=1e-12)


def test_dense_bias_activation_rejects_unknown_activations_and_shapes():
    with pytest.raises(ValueError, match="activation must be None or one of"):
        ops.dense_bias_activation(np.ones((2, 3)), np.ones((3, 4)), None, "elu")
    with pytest.raises(ValueError, match=r"received inputs of shape \(2, 3\) and a kernel of "
                                         r"shape \(4, 4\)"):
        ops.dense_bias_activation(np.ones((2, 3)), np.ones((4, 4)))


# --- crossentropies from the logits ------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _loss_and_logit_gradient(loss_fn, logits, make_output, weights):
    z = gkeras.Variable(logits, dtype=logits.dtype)
    with gkeras.GradientTape() as tape:
        values = loss_fn(make_output(z))
        total = ops.sum(values * weights) / len(weights)
    return values.numpy(), tape.gradient(total, [z])[0].numpy()


@pytest.mark.parametrize("make_output", [
    ops.softmax, activations.softmax, lambda z: layers.Activation("softmax", dtype="float64")(z)],
                         ids=["ops.softmax", "activations.softmax", "Activation layer"])
def test_categorical_crossentropy_after_softmax_computes_from_logits(make_output):
    rng = np.random.default_rng(6)
    z = rng.standard_normal((6, 4)) * 3
    t = np.eye(4)[rng.integers(0, 4, 6)]
    w = rng.uniform(0.5, 2, 6)
    values, grad = _loss_and_logit_gradient(lambda p: losses.categorical_crossentropy(t, p),
                                            z, make_output, w)
    p = _softmax(z)
    # the value Keras reports for these probabilities (renormalised, clipped), to rounding
    np.testing.assert_allclose(values, -np.sum(t * np.log(np.clip(p, EPS, 1 - EPS)), -1),
                               rtol=1e-12)
    np.testing.assert_allclose(grad, (p - t) * w[:, None] / 6, rtol=1e-12, atol=1e-15)


def test_sparse_categorical_crossentropy_after_softmax_computes_from_logits():
    rng = np.random.default_rng(7)
    z = rng.standard_normal((5, 3)) * 2
    labels = rng.integers(0, 3, 5)
    w = rng.uniform(0.5, 2, 5)
    values, grad = _loss_and_logit_gradient(
        lambda p: losses.sparse_categorical_crossentropy(labels, p), z, ops.softmax, w)
    p = _softmax(z)
    np.testing.assert_allclose(values, -np.log(p[np.arange(5), labels]), rtol=1e-12)
    np.testing.assert_allclose(grad, (p - np.eye(3)[labels]) * w[:, None] / 5, rtol=1e-12,
                               atol=1e-15)


def test_binary_crossentropy_after_sigmoid_computes_from_logits():
    rng = np.random.default_rng(8)
    z = rng.standard_normal((4, 3)) * 2
    t = rng.integers(0, 2, (4, 3)).astype("float64")
    w = np.ones(4)
    values, grad = _loss_and_logit_gradient(lambda p: losses.binary_crossentropy(t, p), z,
                                            ops.sigmoid, w)
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(values, -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p), -1),
                               rtol=1e-12)
    np.testing.assert_allclose(grad, (p - t) / 3 / 4, rtol=1e-12, atol=1e-15)


def test_saturated_softmax_reports_the_logits_value_as_keras3_on_tensorflow():
    # Keras 3.15 (TensorFlow backend) evaluates these to 60.0, 60.0 and 40.0; probabilities
    # that did not come from an activation are clipped: -log(1e-7) = 16.118095
    x, kernel = np.ones((1, 2), "float32"), np.array([[0.0, 30.0], [0.0, 30.0]], "float32")
    model = gkeras.Sequential([gkeras.Input((2,)), layers.Dense(2, activation="softmax")])
    model.set_weights([kernel, np.zeros(2, "float32")])
    model.compile("sgd", "categorical_crossentropy")
    assert model.evaluate(x, np.array([[1.0, 0.0]]), verbose=0) == pytest.approx(60.0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    assert model.evaluate(x, np.array([0]), verbose=0) == pytest.approx(60.0)
    binary = gkeras.Sequential([gkeras.Input((2,)), layers.Dense(1, activation="sigmoid")])
    binary.set_weights([np.array([[20.0], [20.0]], "float32"), np.zeros(1, "float32")])
    binary.compile("sgd", "binary_crossentropy")
    assert binary.evaluate(x, np.array([[0.0]]), verbose=0) == pytest.approx(40.0)
    # the saturated sample still learns: its gradient is p - y, not 0
    model.compile(gkeras.optimizers.SGD(0.1), "categorical_crossentropy")
    model.train_on_batch(x, np.array([[1.0, 0.0]]))
    assert model.get_weights()[0][0, 0] == pytest.approx(0.1)


def test_probabilities_from_elsewhere_take_the_clipping_path():
    t = np.array([[1.0, 0.0]], "float32")
    saturated = np.array([[1e-30, 1.0]], "float32")
    assert float(losses.categorical_crossentropy(t, saturated)[0]) == \
        pytest.approx(16.118095)
    # a Tensor computed from a softmax output is not one: its tag stays on the softmax output
    p = ops.softmax(np.array([[0.0, 60.0]], "float32"))
    assert float(losses.categorical_crossentropy(t, p)[0]) == pytest.approx(60.0)
    assert float(losses.categorical_crossentropy(t, p * 1.0)[0]) == pytest.approx(16.118095)
    assert float(losses.categorical_crossentropy(t, Tensor(p.value))[0]) == \
        pytest.approx(16.118095)
    # a softmax along another axis than the loss's, or a sigmoid before a categorical loss
    p3 = ops.softmax(np.array([[[0.0, 60.0]], [[0.0, 0.0]]], "float32"), axis=0)
    assert p3._keras_logits is None
    q = ops.sigmoid(np.array([[-60.0, 60.0]], "float32"))
    assert float(losses.categorical_crossentropy(t, q)[0]) == pytest.approx(16.118095)
    # and a softmax output before binary crossentropy keeps its clipped probabilities
    np.testing.assert_array_equal(losses.binary_crossentropy(t, p).numpy(),
                                  losses.binary_crossentropy(t, Tensor(p.value)).numpy())


def test_from_logits_true_on_a_softmax_output_warns_and_uses_the_logits():
    z = np.array([[0.5, -1.0, 2.0]])
    with pytest.warns(UserWarning, match="was produced by a softmax activation"):
        value = losses.categorical_crossentropy(np.array([[0.0, 0.0, 1.0]]), ops.softmax(z),
                                                from_logits=True)
    np.testing.assert_allclose(value.numpy(), [-np.log(_softmax(z)[0, 2])], rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses.categorical_crossentropy(np.array([[0.0, 0.0, 1.0]]), z, from_logits=True)


# --- dropout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_multiplier_equals_mask_times_scale(dtype):
    u = np.random.default_rng(9).random((37, 5)).astype(dtype)
    u[0, :3] = 0.25  # draws equal to the rate are kept, as Keras's `>= rate`
    want = (u >= 0.25) * np.dtype(dtype).type(1 / 0.75)
    got = dropout_multiplier(u.copy(), 0.25).numpy()
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    assert np.all(got[0, :3] == np.dtype(dtype).type(1 / 0.75))
