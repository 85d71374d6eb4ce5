"""Layers under ``mixed_float16`` on NumPy float16: float32 variables, float16 inputs and
outputs, float32 gradients that match the float32 computation, and training that works."""
import numpy as np
import pytest

import gkeras
from gkeras import GradientTape, layers, mixed_precision, ops, optimizers

RNG = np.random.default_rng(7)


def _forward_backward(layer, x, upstream):
    """The layer's output and the gradients of ``sum(float32(output) * upstream)``."""
    with GradientTape() as tape:
        y = layer(x)
        loss = ops.sum(ops.cast(y, "float32") * upstream)
    return y, tape.gradient(loss, layer.trainable_weights)


def test_dense_computes_in_float16_and_returns_float32_gradients():
    layer = layers.Dense(4, bias_initializer="glorot_uniform", dtype="mixed_float16")
    x = RNG.standard_normal((6, 5)).astype("float32")
    upstream = RNG.standard_normal((6, 4)).astype("float32")
    y, (g_kernel, g_bias) = _forward_backward(layer, x, upstream)
    kernel, bias = layer.get_weights()
    assert [w.dtype for w in layer.weights] == [np.float32, np.float32]
    assert y.dtype == np.float16
    assert (g_kernel.dtype, g_bias.dtype) == (np.float32, np.float32)
    # the same float16 arithmetic in NumPy: inputs and weights cast, one GEMM, bias added
    x16, up16 = x.astype("float16"), upstream.astype("float16")
    np.testing.assert_array_equal(y.numpy(), x16 @ kernel.astype("float16") +
                                  bias.astype("float16"))
    np.testing.assert_array_equal(g_kernel.numpy(), (x16.T @ up16).astype("float32"))
    np.testing.assert_array_equal(g_bias.numpy(), up16.sum(0).astype("float32"))


@pytest.mark.parametrize("make, shape", [
    (lambda dtype: layers.Conv2D(3, 3, padding="same", activation="tanh", dtype=dtype),
     (2, 6, 5, 2)),
    (lambda dtype: layers.LSTM(4, return_sequences=True, dtype=dtype), (3, 5, 2)),
    (lambda dtype: layers.GRU(3, dtype=dtype), (3, 5, 2)),
    (lambda dtype: layers.BatchNormalization(dtype=dtype), (8, 3)),
    (lambda dtype: layers.Embedding(10, 3, dtype=dtype), (4, 2)),
], ids=["conv2d", "lstm", "gru", "batch_norm", "embedding"])
def test_mixed_layers_match_float32_to_float16_precision(make, shape):
    x = RNG.integers(0, 10, shape) if shape == (4, 2) else \
        RNG.standard_normal(shape).astype("float32")
    mixed, reference = make("mixed_float16"), make("float32")
    reference_out = reference(x)
    mixed(x)
    mixed.set_weights(reference.get_weights())
    upstream = RNG.standard_normal(reference_out.shape).astype("float32")
    y, grads = _forward_backward(mixed, x, upstream)
    want_y, want_grads = _forward_backward(reference, x, upstream)
    assert y.dtype == np.float16
    assert all(w.dtype == np.float32 for w in mixed.weights)
    assert [g.dtype for g in grads] == [np.float32] * len(want_grads)
    np.testing.assert_allclose(y.numpy(), want_y.numpy(), rtol=1e-2, atol=1e-2)
    for g, want in zip(grads, want_grads):
        scale = np.abs(want.numpy()).max()
        np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=2e-2, atol=2e-2 * scale)


def test_batch_normalization_keeps_its_statistics_in_float32():
    layer = layers.BatchNormalization(momentum=0.5, dtype="mixed_float16")
    x = (3 + RNG.standard_normal((16, 2))).astype("float32")
    layer(x, training=True)
    mean = layer.moving_mean.numpy()
    assert mean.dtype == np.float32 and not layer.moving_mean.autocast
    np.testing.assert_allclose(mean, 0.5 * x.astype("float16").astype("float32").mean(0),
                               rtol=1e-3)


def test_embedding_casts_the_gathered_rows_not_its_table():
    layer = layers.Embedding(1000, 4, dtype="mixed_float16")
    indices = np.array([[3, 7], [7, 0]])
    upstream = RNG.standard_normal((2, 2, 4)).astype("float32")
    y, (grad,) = _forward_backward(layer, indices, upstream)
    table = layer.get_weights()[0]
    assert not layer.embeddings.autocast  # as Keras 3
    assert y.dtype == np.float16 and grad.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), table[indices].astype("float16"))
    want = np.zeros_like(table)
    np.add.at(want, indices, upstream.astype("float16").astype("float32"))
    np.testing.assert_array_equal(grad.numpy(), want)


def test_float32_layer_inside_a_mixed_model_reads_its_variables_as_they_are():
    mixed_precision.set_global_policy("mixed_float16")
    inputs = layers.Input((3,))
    hidden = layers.Dense(4)(inputs)
    head = layers.Dense(2, dtype="float32")
    model = gkeras.Model(inputs, head(hidden))
    x = RNG.standard_normal((5, 3)).astype("float32")
    out = model(x)
    assert model.layers[1].compute_dtype == "float16" and out.dtype == np.float32
    h = model.layers[1](x).numpy().astype("float32")
    kernel, bias = head.get_weights()
    np.testing.assert_allclose(out.numpy(), h @ kernel + bias, rtol=1e-6)


class _Scale(layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.w


def test_autocast_false_leaves_the_variables_in_float32():
    x = np.ones((2, 3), "float32")
    assert _Scale(dtype="mixed_float16")(x).dtype == np.float16
    # as Keras 3: inputs are still cast, variables are not: NumPy promotes to float32
    assert _Scale(dtype="mixed_float16", autocast=False)(x).dtype == np.float32


def test_symbolic_outputs_have_the_compute_dtype():
    mixed_precision.set_global_policy("mixed_float16")
    inputs = layers.Input((3,))
    assert inputs.dtype == "float32"  # Input keeps floatx, as Keras 3
    assert layers.Dense(2)(inputs).dtype == "float16"
    assert layers.Dense(2, dtype="float32")(inputs).dtype == "float32"


def test_one_step_updates_the_float32_master_weights():
    layer = layers.Dense(3, dtype="mixed_float16")
    x = RNG.standard_normal((4, 2)).astype("float32")
    upstream = RNG.standard_normal((4, 3)).astype("float32")
    _, grads = _forward_backward(layer, x, upstream)
    before = layer.get_weights()
    optimizers.SGD(0.1).apply(grads, layer.trainable_weights)
    for w, b, g in zip(layer.get_weights(), before, grads):
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, b - np.float32(0.1) * g.numpy())


def _fit(model, x, y, epochs):
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model.fit(x, y, batch_size=16, epochs=epochs, verbose=0).history["loss"]


def test_conv_model_trains_under_mixed_float16():
    mixed_precision.set_global_policy("mixed_float16")
    x = RNG.standard_normal((64, 6, 6, 1)).astype("float32")
    y = (x[:, :3].mean(axis=(1, 2, 3)) > x[:, 3:].mean(axis=(1, 2, 3))).astype("int64")
    model = gkeras.Sequential([
        layers.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 1)), layers.Flatten(),
        layers.Dense(2), layers.Activation("softmax", dtype="float32")])
    losses = _fit(model, x, y, 15)
    assert isinstance(model.optimizer, optimizers.LossScaleOptimizer)
    assert losses[-1] < 0.6 * losses[0]
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(x[:3]).dtype == np.float32


def test_lstm_model_trains_under_mixed_float16():
    mixed_precision.set_global_policy("mixed_float16")
    x = RNG.standard_normal((64, 5, 2)).astype("float32")
    y = (x[:, :, 0].sum(1) > 0).astype("int64")
    model = gkeras.Sequential([layers.LSTM(8, input_shape=(5, 2)), layers.Dense(2),
                               layers.Activation("softmax", dtype="float32")])
    losses = _fit(model, x, y, 10)
    assert losses[-1] < 0.6 * losses[0]
    assert all(w.dtype == np.float32 for w in model.get_weights())


def test_the_loss_of_float16_predictions_is_computed_in_float32():
    # as Keras 3: a mixed model without a float32 last layer still gets a float32 loss
    y_true = np.array([[0.0, 1.0]], "float32")
    y_pred = gkeras.Tensor(np.array([[0.25, 0.75]], "float16"))
    for loss in (gkeras.losses.MeanSquaredError(), gkeras.losses.CategoricalCrossentropy()):
        assert loss(y_true, y_pred).dtype == np.float32
    mixed_precision.set_global_policy("mixed_float16")
    model = gkeras.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = RNG.standard_normal((4, 3)).astype("float32")
    assert model.predict(x).dtype == np.float16
    assert isinstance(model.train_on_batch(x, np.eye(2, dtype="float32")[[0, 1, 1, 0]]), float)
