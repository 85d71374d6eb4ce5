"""K's activations, crossentropies, dropout, bias, normalization, convolutions and pooling
against values from Keras 2 on TensorFlow (tf_keras), Keras 2.2.4's formulas and NumPy."""
import json
import os

import numpy as np
import pytest

from gkeras import backend as K
from conv_reference import np_conv, np_depthwise_conv, np_separable_conv
from test_ops import Case, _np_pool, away_from, check_case, normal

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

# --- activations: values from tf_keras.backend --------------------------------------------------

RELU_X = np.array([-3.0, -1.0, -0.2, 0.0, 0.4, 1.0, 2.5, 7.0], "float32")
RELU = [
    ({"alpha": 0.1}, [-0.3, -0.1, -0.02, 0.0, 0.4, 1.0, 2.5, 7.0]),
    ({"max_value": 2.0}, [0.0, 0.0, 0.0, 0.0, 0.4, 1.0, 2.0, 2.0]),
    ({"threshold": 0.5}, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.5, 7.0]),
    ({"alpha": 0.2, "max_value": 6.0, "threshold": 0.3},
     [-0.66, -0.26, -0.1, -0.06, 0.4, 1.0, 2.5, 6.0]),
    ({"alpha": 0.3, "threshold": -0.5}, [-0.75, -0.15, -0.2, 0.0, 0.4, 1.0, 2.5, 7.0]),
    ({"max_value": 6}, [0.0, 0.0, 0.0, 0.0, 0.4, 1.0, 2.5, 6.0]),
    ({}, [0.0, 0.0, 0.0, 0.0, 0.4, 1.0, 2.5, 7.0]),
]


@pytest.mark.parametrize("kwargs,expected", RELU, ids=[str(k) for k, _ in RELU])
def test_relu_alpha_max_value_threshold_match_keras(kwargs, expected):
    np.testing.assert_allclose(K.relu(RELU_X, **kwargs).numpy(), expected, rtol=1e-6)


def test_elu_hard_sigmoid_and_the_rest_match_keras():
    np.testing.assert_allclose(K.elu(RELU_X, 0.5).numpy(), [
        -0.475106478, -0.316060275, -0.090634614, 0.0, 0.4, 1.0, 2.5, 7.0], rtol=1e-6)
    h = np.array([-3.0, -2.5, -1.0, 0.0, 0.7, 2.5, 3.0], "float32")
    np.testing.assert_allclose(K.hard_sigmoid(h).numpy(), [0.0, 0.0, 0.3, 0.5, 0.64, 1.0, 1.0],
                               rtol=1e-6)
    x = normal(2, 3)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(K.softmax(x).numpy(), e / e.sum(axis=-1, keepdims=True))
    e0 = np.exp(x - x.max(axis=0, keepdims=True))
    np.testing.assert_allclose(K.softmax(x, axis=0).numpy(), e0 / e0.sum(axis=0, keepdims=True))
    np.testing.assert_allclose(K.sigmoid(x).numpy(), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(K.softplus(x).numpy(), np.log1p(np.exp(x)))
    np.testing.assert_allclose(K.softsign(x).numpy(), x / (1 + np.abs(x)))
    np.testing.assert_allclose(K.tanh(x).numpy(), np.tanh(x))


# --- crossentropies: Keras 2's argument order (target, output) ---------------------------------

T = np.array([[0, 1, 0], [0.2, 0.3, 0.5]], "float32")
P = np.array([[0.2, 0.7, 0.1], [0.25, 0.25, 0.5]], "float32")
LOGITS = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.0]], "float32")


def test_crossentropies_match_keras():
    np.testing.assert_allclose(K.categorical_crossentropy(T, P).numpy(),
                               [0.356674969, 1.039720774], rtol=1e-6)
    np.testing.assert_allclose(K.categorical_crossentropy(T, LOGITS, from_logits=True).numpy(),
                               [3.504596949, 2.940774202], rtol=1e-6)
    labels = np.array([1, 2])
    np.testing.assert_allclose(K.sparse_categorical_crossentropy(labels, P).numpy(),
                               [0.356674969, 0.693147182], rtol=1e-6)
    np.testing.assert_allclose(
        K.sparse_categorical_crossentropy(labels, LOGITS, from_logits=True).numpy(),
        [3.504596949, 4.070774078], rtol=1e-6)
    bt = np.array([[1, 0, 1], [0, 0, 1]], "float32")
    bp = np.array([[0.9, 0.2, 0.6], [0.3, 0.01, 0.75]], "float32")
    np.testing.assert_allclose(K.binary_crossentropy(bt, bp).numpy(), [
        [0.105360411, 0.223143384, 0.510825396], [0.356674790, 0.010050206, 0.287681907]],
        rtol=1e-5, atol=2e-7)  # tf_keras (TF 2) adds 1e-7 inside its logs; Keras 2.2.4 does not
    np.testing.assert_allclose(K.binary_crossentropy(bt, LOGITS, from_logits=True).numpy(), [
        [0.313261688, 0.126928002, 0.474076986], [3.048587322, 0.744396687, 1.313261747]],
        rtol=1e-6)


def test_crossentropies_clip_probabilities_as_keras_224():
    # Keras 2.2.4: probabilities normalized (categorical) and clipped to [1e-7, 1 - 1e-7]
    minus_log_eps = -np.log(np.float32(1e-7))  # 16.118095
    # in float32, 1 - (1 - 1e-7) is 1.19e-7: -log of it is 15.942385
    np.testing.assert_allclose(
        K.categorical_crossentropy(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], "float32"),
                                   np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 1.0]], "float32"))
        .numpy(), [minus_log_eps, np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(
        K.binary_crossentropy(np.array([1.0, 1.0, 0.0], "float32"),
                              np.array([0.0, 1.0, 1.0], "float32")).numpy(),
        [minus_log_eps, 1.192093e-07, 15.942385], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        K.sparse_categorical_crossentropy(np.array([0]), np.array([[0.0, 1.0, 0.0]], "float32"))
        .numpy(), [minus_log_eps], rtol=1e-6)


def test_sparse_categorical_crossentropy_flattens_targets():
    # targets (batch, 1) with output (batch, classes); (batch, time) with (batch, time, classes)
    got = K.sparse_categorical_crossentropy(np.array([[1], [2]]), P).numpy()
    assert got.shape == (2,)
    np.testing.assert_allclose(got, [0.356674969, 0.693147182], rtol=1e-6)
    seq = np.stack([P, P[::-1]], axis=1)  # (2, 2, 3)
    got = K.sparse_categorical_crossentropy(np.array([[1, 0], [2, 2]]), seq).numpy()
    np.testing.assert_allclose(got, -np.log([[0.7, 0.25], [0.5, 0.1]]), rtol=1e-6)


# --- dropout ------------------------------------------------------------------------------

def test_dropout_zeroes_and_rescales_and_a_seed_repeats_the_mask():
    x = np.ones((200, 50), "float32")
    out = K.dropout(x, 0.3, seed=5).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((out == 0).mean() - 0.3) < 0.02
    np.testing.assert_array_equal(K.dropout(x, 0.3, seed=5).numpy(), out)
    shared = K.dropout(x, 0.5, noise_shape=(200, 1), seed=1).numpy()
    assert np.all(shared == shared[:, :1])  # one draw per row
    np.testing.assert_array_equal(K.dropout(x, 0.0).numpy(), x)
    with pytest.raises(ValueError, match="level"):
        K.dropout(x, 1.0)


# --- bias and normalization ------------------------------------------------------------------

def test_bias_add_per_data_format():
    x, bias = normal(2, 3, 4, 5), normal(5)
    np.testing.assert_allclose(K.bias_add(x, bias).numpy(), x + bias)
    x_first = normal(2, 5, 3, 4)
    np.testing.assert_allclose(K.bias_add(x_first, bias, "channels_first").numpy(),
                               x_first + bias[:, None, None])
    full = normal(3, 4, 5)  # (rows, cols, channels)
    np.testing.assert_allclose(K.bias_add(x, full).numpy(), x + full)
    # Keras 2.2.4 reshapes (not transposes) a full bias for channels_first
    np.testing.assert_allclose(K.bias_add(x_first, full, "channels_first").numpy(),
                               x_first + full.reshape(1, 5, 3, 4))
    x3 = normal(2, 5, 4)
    np.testing.assert_allclose(K.bias_add(x3, np.full(4, 1.5)).numpy(), x3 + 1.5)
    with pytest.raises(ValueError, match="bias dimensions"):
        K.bias_add(x, normal(4, 5))


def test_batch_normalization_and_normalize_batch_in_training():
    x, beta, gamma = normal(6, 4), normal(4), normal(4)
    mean, var = x.mean(axis=0), x.var(axis=0)
    want = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    np.testing.assert_allclose(K.batch_normalization(x, mean, var, beta, gamma).numpy(), want,
                               rtol=1e-10)
    normed, got_mean, got_var = K.normalize_batch_in_training(x, gamma, beta, [0])
    np.testing.assert_allclose(normed.numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(got_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(got_var.numpy(), var, rtol=1e-12)


# --- convolutions and pooling --------------------------------------------------------------------

def test_convolutions_match_numpy_references():
    x1, k1 = normal(2, 9, 3), normal(3, 3, 4)
    np.testing.assert_allclose(K.conv1d(x1, k1, padding="causal", dilation_rate=2).numpy(),
                               np_conv(x1, k1, 1, "causal", "channels_last", 2), rtol=1e-10)
    x, k = normal(2, 7, 6, 3), normal(3, 2, 3, 4)
    np.testing.assert_allclose(K.conv2d(x, k, strides=(2, 1), padding="same").numpy(),
                               np_conv(x, k, (2, 1), "same"), rtol=1e-10)
    xf = np.moveaxis(x, -1, 1)
    np.testing.assert_allclose(K.conv2d(xf, k, data_format="channels_first").numpy(),
                               np_conv(xf, k, 1, "valid", "channels_first"), rtol=1e-10)
    dk, pk = normal(3, 3, 3, 2), normal(1, 1, 6, 5)
    np.testing.assert_allclose(K.depthwise_conv2d(x, dk, padding="same").numpy(),
                               np_depthwise_conv(x, dk, 1, "same"), rtol=1e-10)
    np.testing.assert_allclose(K.separable_conv2d(x, dk, pk).numpy(),
                               np_separable_conv(x, dk, pk), rtol=1e-10)
    np.testing.assert_allclose(
        K.separable_conv1d(x1, normal(3, 3, 2), normal(1, 6, 4), strides=2).numpy().shape,
        (2, 4, 4))


def test_pool2d_defaults_to_stride_1_and_takes_avg():
    x = normal(2, 5, 6, 3)
    np.testing.assert_allclose(K.pool2d(x, (2, 2)).numpy(), _np_pool(x, "max", (2, 2), (1, 1)),
                               rtol=1e-12)
    np.testing.assert_allclose(
        K.pool2d(x, (3, 2), strides=(2, 2), padding="same", pool_mode="avg").numpy(),
        _np_pool(x, "average", (3, 2), (2, 2), "same"), rtol=1e-12)
    with pytest.raises(ValueError, match="pool_mode"):
        K.pool2d(x, (2, 2), pool_mode="min")


@pytest.mark.parametrize("name,output_shape,padding", [
    ("ct_same_s2_6", (1, 6, 6, 4), "same"), ("ct_same_s2_5", (1, 5, 5, 4), "same"),
    ("ct_valid_s2_8", (1, 8, 8, 4), "valid")])
def test_conv2d_transpose_output_shape_matches_keras(name, output_shape, padding):
    with open(os.path.join(FIXTURES, "k2_backend_conv2d_transpose.json")) as f:
        ref = json.load(f)
    x, kernel = np.array(ref["ct_x"], "float32"), np.array(ref["ct_k"], "float32")
    got = K.conv2d_transpose(x, kernel, output_shape, strides=(2, 2), padding=padding)
    assert got.shape == output_shape
    np.testing.assert_allclose(got.numpy(), ref[name], rtol=1e-5, atol=1e-5)


def _np_local_conv2d(x, kernel, kernel_size, strides, output_shape, channels_first):
    """Keras 2.2.4's loop: each output position's window flattened, times its own kernel."""
    rows, cols = output_shape
    out = np.zeros((x.shape[0], rows, cols, kernel.shape[-1]))
    for i in range(rows):
        for j in range(cols):
            rs, cs = slice(i * strides[0], i * strides[0] + kernel_size[0]), \
                slice(j * strides[1], j * strides[1] + kernel_size[1])
            window = x[:, :, rs, cs] if channels_first else x[:, rs, cs, :]
            out[:, i, j] = window.reshape(x.shape[0], -1) @ kernel[i * cols + j]
    return np.moveaxis(out, -1, 1) if channels_first else out


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_local_conv2d_matches_keras_224s_loop(data_format):
    x = normal(2, 3, 6, 5) if data_format == "channels_first" else normal(2, 6, 5, 3)
    kernel = normal(2 * 2, 3 * 2 * 3, 4)  # outputs (2, 2) of windows (3, 2), stride (2, 2)
    got = K.local_conv2d(x, kernel, (3, 2), (2, 2), (2, 2), data_format).numpy()
    np.testing.assert_allclose(got, _np_local_conv2d(x, kernel, (3, 2), (2, 2), (2, 2),
                                                     data_format == "channels_first"),
                               rtol=1e-10)


def test_local_conv1d_matches_a_loop():
    x, kernel = normal(2, 7, 3), normal(3, 3 * 3, 2)  # windows of 3, stride 2: 3 outputs
    want = np.stack([x[:, 2 * i:2 * i + 3].reshape(2, -1) @ kernel[i] for i in range(3)], 1)
    np.testing.assert_allclose(K.local_conv1d(x, kernel, (3,), (2,)).numpy(), want, rtol=1e-10)


# --- gradients ----------------------------------------------------------------------------

def _np_cce(t, p):
    return -np.sum(t * np.log(p / p.sum(axis=-1, keepdims=True)), axis=-1)


GRADIENT_CASES = [
    Case(lambda x: K.relu(x, alpha=0.2, max_value=1.0, threshold=0.3),
         [away_from(3, 4, points=(0.3, 1.0))],
         lambda x: np.where(x > 0.3, np.minimum(x, 1.0), 0.2 * (x - 0.3)), label="relu"),
    Case(lambda x: K.elu(x, 0.7), [away_from(3, 4)],
         lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), label="elu"),
    Case(lambda x: K.hard_sigmoid(x), [away_from(3, 4, points=(-2.5, 2.5), scale=3)],
         lambda x: np.clip(0.2 * x + 0.5, 0, 1), label="hard_sigmoid"),
    Case(lambda t, p: K.categorical_crossentropy(t, p),
         [np.random.default_rng(1).uniform(0, 1, (3, 4)),
          np.random.default_rng(2).uniform(0.1, 1, (3, 4))], _np_cce, label="cce"),
    Case(lambda t, p: K.binary_crossentropy(t, p),
         [np.random.default_rng(3).uniform(0, 1, (3, 4)),
          np.random.default_rng(4).uniform(0.1, 0.9, (3, 4))],
         lambda t, p: -(t * np.log(p) + (1 - t) * np.log(1 - p)), label="bce"),
    Case(lambda p: K.sparse_categorical_crossentropy(np.array([2, 0, 1]), p, from_logits=True),
         [normal(3, 4)], lambda p: -(p - np.log(np.exp(p).sum(-1, keepdims=True)))[
             [0, 1, 2], [2, 0, 1]], label="sparse cce logits"),
    Case(lambda x, b: K.bias_add(x, b, "channels_first"), [normal(2, 3, 4), normal(3)],
         lambda x, b: x + b[:, None], label="bias_add"),
    Case(lambda x: K.dropout(x, 0.4, seed=3), [normal(4, 5)], None, label="dropout"),
    Case(lambda x, k: K.local_conv2d(x, k, (2, 2), (1, 1), (2, 2)),
         [normal(2, 3, 3, 2), normal(4, 8, 3)], None, label="local_conv2d"),
    Case(lambda x, k: K.conv2d_transpose(x, k, (1, 5, 5, 2), strides=(2, 2), padding="same"),
         [normal(1, 3, 3, 2), normal(3, 3, 2, 2)], None, label="conv2d_transpose"),
]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c.label for c in GRADIENT_CASES])
def test_gradients_match_finite_differences(case):
    check_case(case)
