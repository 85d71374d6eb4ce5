"""Keras 2.2.4's public module names (keras.utils and its submodules, losses, metrics,
activations, initializers, regularizers, constraints, callbacks, optimizers) exist in gkeras
with the same meaning: the name lists are copied from Keras 2.2.4's source, the values from
its formulas (written here in NumPy)."""
import importlib
import math

import h5py
import numpy as np
import pytest

import gkeras
from gkeras import (activations, callbacks, constraints, initializers, layers, losses, metrics,
                    regularizers)
from gkeras.utils import conv_utils, generic_utils, io_utils, layer_utils

# ---- the names -------------------------------------------------------------------------------

KERAS_224_NAMES = {
    "utils": ["np_utils", "generic_utils", "io_utils", "conv_utils", "HDF5Matrix", "h5dict",
              "Sequence", "CustomObjectScope", "custom_object_scope", "get_custom_objects",
              "serialize_keras_object", "deserialize_keras_object", "Progbar",
              "convert_all_kernels_in_model", "get_source_inputs", "print_summary",
              "plot_model", "to_categorical", "normalize", "multi_gpu_model", "data_utils",
              "get_file", "GeneratorEnqueuer", "OrderedEnqueuer", "SequenceEnqueuer"],
    "utils.data_utils": ["get_file", "validate_file", "Sequence", "GeneratorEnqueuer",
                         "OrderedEnqueuer", "SequenceEnqueuer"],
    "utils.generic_utils": ["CustomObjectScope", "custom_object_scope", "get_custom_objects",
                            "serialize_keras_object", "deserialize_keras_object", "func_dump",
                            "func_load", "has_arg", "Progbar", "to_list", "unpack_singleton",
                            "object_list_uid", "is_all_none", "slice_arrays",
                            "transpose_shape"],
    "utils.np_utils": ["to_categorical", "normalize"],
    "utils.layer_utils": ["count_params", "print_summary", "convert_all_kernels_in_model",
                          "convert_dense_weights_data_format", "get_source_inputs"],
    "utils.io_utils": ["HDF5Matrix", "ask_to_proceed_with_overwrite", "H5Dict", "h5dict"],
    "utils.conv_utils": ["normalize_tuple", "normalize_padding", "convert_kernel",
                         "conv_output_length", "conv_input_length", "deconv_length"],
    "utils.vis_utils": ["model_to_dot", "plot_model"],
    "utils.multi_gpu_utils": ["multi_gpu_model"],
    "losses": ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
               "mean_squared_logarithmic_error", "squared_hinge", "hinge", "categorical_hinge",
               "logcosh", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "binary_crossentropy", "kullback_leibler_divergence", "poisson",
               "cosine_proximity", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
               "kld", "KLD", "cosine", "serialize", "deserialize", "get"],
    "metrics": ["mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                "mean_squared_logarithmic_error", "hinge", "logcosh", "squared_hinge",
                "categorical_crossentropy", "sparse_categorical_crossentropy",
                "binary_crossentropy", "kullback_leibler_divergence", "poisson",
                "cosine_proximity", "binary_accuracy", "categorical_accuracy",
                "sparse_categorical_accuracy", "top_k_categorical_accuracy",
                "sparse_top_k_categorical_accuracy", "mse", "MSE", "mae", "MAE", "mape", "MAPE",
                "msle", "MSLE", "cosine", "serialize", "deserialize", "get"],
    "activations": ["softmax", "elu", "selu", "softplus", "softsign", "relu", "tanh",
                    "sigmoid", "hard_sigmoid", "exponential", "linear", "serialize",
                    "deserialize", "get"],
    "initializers": ["Initializer", "Zeros", "Ones", "Constant", "RandomNormal",
                     "RandomUniform", "TruncatedNormal", "VarianceScaling", "Orthogonal",
                     "Identity", "lecun_uniform", "glorot_normal", "glorot_uniform",
                     "he_normal", "lecun_normal", "he_uniform", "zero", "zeros", "one", "ones",
                     "constant", "uniform", "random_uniform", "normal", "random_normal",
                     "truncated_normal", "identity", "orthogonal", "serialize", "deserialize",
                     "get"],
    "regularizers": ["Regularizer", "L1L2", "l1", "l2", "l1_l2", "serialize", "deserialize",
                     "get"],
    "constraints": ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm",
                    "non_neg", "unit_norm", "min_max_norm", "maxnorm", "nonneg", "unitnorm",
                    "serialize", "deserialize", "get"],
    "callbacks": ["CallbackList", "Callback", "BaseLogger", "TerminateOnNaN", "ProgbarLogger",
                  "History", "ModelCheckpoint", "EarlyStopping", "RemoteMonitor",
                  "LearningRateScheduler", "TensorBoard", "ReduceLROnPlateau", "CSVLogger",
                  "LambdaCallback"],
    "optimizers": ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax",
                   "Nadam", "sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamax", "nadam",
                   "serialize", "deserialize", "get"],
}
@pytest.mark.parametrize("module", sorted(KERAS_224_NAMES))
def test_every_keras_224_name_exists(module):
    mod = importlib.import_module(f"gkeras.{module}")
    missing = [name for name in KERAS_224_NAMES[module] if not hasattr(mod, name)]
    assert not missing, f"gkeras.{module} lacks {missing}"


def test_aliases_are_the_same_objects():
    assert losses.cosine_proximity is losses.cosine is losses.cosine_similarity
    assert metrics.cosine_proximity is losses.cosine_proximity  # Keras 2: the loss
    assert initializers.zero is initializers.Zeros and initializers.one is initializers.Ones
    assert initializers.uniform is initializers.RandomUniform
    assert initializers.normal is initializers.RandomNormal
    assert constraints.maxnorm is constraints.MaxNorm and constraints.nonneg is constraints.NonNeg
    assert constraints.unitnorm is constraints.UnitNorm
    assert constraints.get("maxnorm").__class__ is constraints.MaxNorm
    assert gkeras.utils.np_utils.to_categorical is gkeras.utils.to_categorical
    assert generic_utils.Progbar is gkeras.utils.Progbar


# ---- same meaning: losses and metrics by Keras 2.2.4's formulas ----------------------------

EPS = 1e-7
RNG = np.random.default_rng(0)
SIGNS = np.where(RNG.random((4, 5)) > 0.5, 1.0, -1.0)  # hinge labels, as Keras 2 expects
SCORES = RNG.standard_normal((4, 5))
PROBS = RNG.random((4, 5)) + 0.05
PROBS /= PROBS.sum(-1, keepdims=True)
ONE_HOT = np.eye(5)[[3, 0, 4, 1]]
POSITIVE = RNG.random((4, 5)) + 0.1
BINARY = (RNG.random((4, 5)) > 0.5).astype(float)
SIGMOIDS = 1 / (1 + np.exp(-SCORES))


def l2_normalize(x):
    return x / np.sqrt(np.maximum(np.sum(x ** 2, -1, keepdims=True), 1e-12))


KERAS_224_LOSSES = {  # name: (y_true, y_pred, the Keras 2.2.4 formula)
    "mean_squared_error": (SIGNS, SCORES, lambda t, p: np.mean((p - t) ** 2, -1)),
    "mean_absolute_error": (SIGNS, SCORES, lambda t, p: np.mean(np.abs(p - t), -1)),
    "mean_absolute_percentage_error": (
        POSITIVE, SCORES,
        lambda t, p: 100 * np.mean(np.abs((t - p) / np.clip(np.abs(t), EPS, None)), -1)),
    "mean_squared_logarithmic_error": (
        POSITIVE, PROBS, lambda t, p: np.mean((np.log(np.clip(p, EPS, None) + 1)
                                               - np.log(np.clip(t, EPS, None) + 1)) ** 2, -1)),
    "squared_hinge": (SIGNS, SCORES,
                      lambda t, p: np.mean(np.maximum(1 - t * p, 0) ** 2, -1)),
    "hinge": (SIGNS, SCORES, lambda t, p: np.mean(np.maximum(1 - t * p, 0), -1)),
    "categorical_hinge": (ONE_HOT, SCORES, lambda t, p: np.maximum(
        0, np.max((1 - t) * p, -1) - np.sum(t * p, -1) + 1)),
    "logcosh": (SIGNS, SCORES, lambda t, p: np.mean(
        (p - t) + np.log1p(np.exp(-2 * (p - t))) - math.log(2), -1)),
    "categorical_crossentropy": (ONE_HOT, PROBS, lambda t, p: -np.sum(
        t * np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)), -1)),
    "binary_crossentropy": (BINARY, SIGMOIDS, lambda t, p: np.mean(
        -(t * np.log(np.clip(p, EPS, 1 - EPS)) + (1 - t) * np.log(1 - np.clip(p, EPS, 1 - EPS))),
        -1)),
    "kullback_leibler_divergence": (PROBS[::-1], PROBS, lambda t, p: np.sum(
        np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1)), -1)),
    "poisson": (POSITIVE, PROBS, lambda t, p: np.mean(p - t * np.log(p + EPS), -1)),
    "cosine_proximity": (SCORES[::-1], SCORES,
                         lambda t, p: -np.sum(l2_normalize(t) * l2_normalize(p), -1)),
}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
           "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "kld": "kullback_leibler_divergence", "cosine": "cosine_proximity"}


@pytest.mark.parametrize("name", sorted(KERAS_224_LOSSES) + sorted(ALIASES))
@pytest.mark.parametrize("module", [losses, metrics], ids=["losses", "metrics"])
def test_loss_functions_follow_keras_224(module, name):
    y_true, y_pred, formula = KERAS_224_LOSSES[ALIASES.get(name, name)]
    if not hasattr(module, name):
        pytest.skip(f"not a name of Keras 2.2.4's keras.{module.__name__.split('.')[-1]}")
    got = getattr(module, name)(y_true, y_pred).numpy()
    # the epsilon clips sit in slightly different places in Keras 3's formulas
    np.testing.assert_allclose(got, formula(y_true, y_pred), rtol=2e-6, atol=1e-7)
    assert getattr(module, name.upper(), getattr(module, name)) is getattr(module, name)


def test_sparse_crossentropy_and_accuracy_metrics_follow_keras_224():
    labels = np.array([3, 0, 4, 1])
    np.testing.assert_allclose(
        losses.sparse_categorical_crossentropy(labels, PROBS).numpy(),
        -np.log(PROBS[np.arange(4), labels]), rtol=1e-6)
    scores = np.array([[0.1, 0.5, 0.2, 0.15, 0.05], [0.3, 0.1, 0.25, 0.2, 0.15],
                       [0.05, 0.1, 0.2, 0.3, 0.35], [0.4, 0.1, 0.2, 0.25, 0.05]])
    # Keras 2.2.4: argmax equality; top-k by K.in_top_k (k=5 default)
    np.testing.assert_array_equal(metrics.categorical_accuracy(ONE_HOT, scores).numpy(),
                                  [0, 1, 1, 0])
    np.testing.assert_array_equal(
        metrics.sparse_categorical_accuracy(labels[:, None], scores).numpy(), [0, 1, 1, 0])
    np.testing.assert_array_equal(
        metrics.top_k_categorical_accuracy(ONE_HOT, scores, k=3).numpy(), [1, 1, 1, 0])
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(labels, scores, k=3).numpy(), [1, 1, 1, 0])
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(ONE_HOT, scores).numpy(),
                                  [1, 1, 1, 1])
    # Keras 2.2.4: K.mean(K.equal(y_true, K.round(y_pred)), axis=-1); gkeras returns Keras 3's
    # elementwise values, whose mean (what fit reports) is the same
    keras2 = np.mean(BINARY == np.round(SIGMOIDS), -1)
    assert float(np.mean(metrics.binary_accuracy(BINARY, SIGMOIDS).numpy())) == \
        pytest.approx(keras2.mean())
    np.testing.assert_allclose(metrics.binary_accuracy(BINARY, SIGMOIDS).numpy().mean(-1),
                               keras2, rtol=1e-7)


def test_activations_follow_keras_224():
    x = np.linspace(-3, 3, 13)
    cases = {
        "relu": np.maximum(x, 0), "tanh": np.tanh(x), "sigmoid": 1 / (1 + np.exp(-x)),
        "hard_sigmoid": np.clip(0.2 * x + 0.5, 0, 1), "softplus": np.log1p(np.exp(x)),
        "softsign": x / (1 + np.abs(x)), "elu": np.where(x > 0, x, np.exp(x) - 1),
        "selu": 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
        "exponential": np.exp(x), "linear": x,
        "softmax": np.exp(x) / np.exp(x).sum(),
    }
    for name, want in cases.items():
        got = activations.get(name)(x)
        np.testing.assert_allclose(getattr(got, "numpy", lambda: got)(), want, rtol=1e-6,
                                   atol=1e-12, err_msg=name)
    # Keras 2.2.4's relu(x, alpha=0., max_value=None, threshold=0.)
    np.testing.assert_allclose(activations.relu(x, alpha=0.1, max_value=2.0).numpy(),
                               np.where(x > 0, np.minimum(x, 2.0), 0.1 * x))


@pytest.mark.parametrize("name,scale,mode,uniform", [
    ("lecun_uniform", 1.0, "fan_in", True), ("lecun_normal", 1.0, "fan_in", False),
    ("glorot_uniform", 1.0, "fan_avg", True), ("glorot_normal", 1.0, "fan_avg", False),
    ("he_uniform", 2.0, "fan_in", True), ("he_normal", 2.0, "fan_in", False)])
def test_variance_scaling_initializers_follow_keras_224(name, scale, mode, uniform):
    fan_in, fan_out = 400, 300
    values = initializers.get(name)((fan_in, fan_out), "float64")
    values = getattr(values, "numpy", lambda: np.asarray(values))()
    fan = fan_in if mode == "fan_in" else (fan_in + fan_out) / 2
    std = math.sqrt(scale / fan)
    assert abs(values.std() / std - 1) < 0.02
    if uniform:  # U(-limit, limit), limit = sqrt(3 * scale / fan)
        assert np.abs(values).max() <= math.sqrt(3 * scale / fan)
    else:  # Keras 2.2.4's 'normal': truncated at two standard deviations of the untruncated
        assert np.abs(values).max() <= 2 * std / 0.87962566103423978
    seeded = getattr(initializers, name)(seed=3)  # Keras 2: a function of `seed`
    np.testing.assert_array_equal(seeded((3, 2)), getattr(initializers, name)(seed=3)((3, 2)))


def test_initializer_regularizer_constraint_defaults_follow_keras_224():
    assert initializers.RandomUniform().get_config()["minval"] == -0.05
    assert initializers.RandomNormal().get_config()["stddev"] == 0.05
    assert initializers.TruncatedNormal().get_config()["stddev"] == 0.05
    assert initializers.VarianceScaling(distribution="normal").get_config()["mode"] == "fan_in"
    w = RNG.standard_normal((3, 4))
    assert regularizers.l1()(w).numpy() == pytest.approx(0.01 * np.abs(w).sum())
    # Keras 2's keyword `l`
    assert regularizers.l2(l=0.5)(w).numpy() == pytest.approx(0.5 * (w ** 2).sum())
    assert regularizers.l1_l2()(w).numpy() == pytest.approx(0.01 * (np.abs(w).sum() +
                                                                    (w ** 2).sum()))
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    norms = np.sqrt((w ** 2).sum(0, keepdims=True))
    np.testing.assert_allclose(constraints.maxnorm(1.0)(w).numpy(),
                               w * np.clip(norms, 0, 1.0) / (EPS + norms), rtol=1e-12)
    np.testing.assert_allclose(constraints.unitnorm()(w).numpy(), w / (EPS + norms),
                               rtol=1e-12)
    np.testing.assert_allclose(constraints.nonneg()(w).numpy(), w * (w >= 0))
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}


# ---- callbacks, optimizers ---------------------------------------------------------------

def test_callbacks_without_meaning_refuse_clearly():
    with pytest.raises(NotImplementedError, match="TensorBoard.*TensorFlow.*CSVLogger"):
        callbacks.TensorBoard(log_dir="./logs")
    with pytest.raises(NotImplementedError, match="RemoteMonitor.*CSVLogger"):
        callbacks.RemoteMonitor(root="http://localhost:9000")
    # BaseLogger: fit averages the metrics already; the callback is accepted and changes nothing
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    histories = []
    for extra in ([], [callbacks.BaseLogger(stateful_metrics=["mae"])]):
        model = gkeras.Sequential([layers.Dense(1, input_shape=(2,),
                                                kernel_initializer="zeros")])
        model.compile("sgd", "mse", metrics=["mae"])
        histories.append(model.fit(x, y, epochs=2, batch_size=4, verbose=0,
                                   callbacks=extra).history)
    assert histories[0] == histories[1]
    assert histories[0]["loss"][0] < 1.0  # trained: (1 + 0.96**2) / 2 for the two batches


# ---- generic_utils --------------------------------------------------------------------------

def my_swish(x):
    return x * activations.sigmoid(x)


class Doubling(layers.Layer):
    def call(self, inputs):
        return inputs * 2


def test_custom_object_scope_reaches_every_lookup(tmp_path):
    x = np.array([[1.0, -2.0]], "float32")
    with pytest.raises(ValueError, match="my_swish"):
        layers.Activation("my_swish")
    with generic_utils.CustomObjectScope({"my_swish": my_swish, "Doubling": Doubling}):
        assert gkeras.utils.get_custom_objects()["my_swish"] is my_swish
        inputs = layers.Input((2,))
        model = gkeras.Model(inputs, Doubling()(layers.Activation("my_swish")(inputs)))
        model.compile("adam", "mse")
        model.save(tmp_path / "m.h5")
        loaded = gkeras.models.load_model(tmp_path / "m.h5")  # no custom_objects needed
        np.testing.assert_allclose(loaded.predict(x, verbose=0), 2 * x / (1 + np.exp(-x)),
                                   rtol=1e-6)
        copy = gkeras.models.model_from_json(model.to_json())
        assert type(copy.layers[-1]) is Doubling
    assert "my_swish" not in gkeras.utils.get_custom_objects()  # restored on exit
    with pytest.raises(ValueError, match="Unknown activation 'my_swish'"):
        gkeras.models.load_model(tmp_path / "m.h5")
    # load_model's custom_objects reach the names inside layer configs too, as in Keras 2
    loaded = gkeras.models.load_model(tmp_path / "m.h5", custom_objects={"my_swish": my_swish})
    assert loaded.layers[1].activation is my_swish
    assert "my_swish" not in gkeras.utils.get_custom_objects()
    copy = gkeras.models.model_from_json(model.to_json(), custom_objects={"my_swish": my_swish})
    assert copy.layers[1].activation is my_swish
    # the registry directly, as Keras 2 scripts do
    gkeras.utils.get_custom_objects().update({"my_loss": losses.mean_absolute_error})
    try:
        assert losses.get("my_loss").fn is losses.mean_absolute_error
        assert metrics.get("my_loss") is not None
    finally:
        del gkeras.utils.get_custom_objects()["my_loss"]
    with gkeras.utils.custom_object_scope({"D": Doubling}):
        assert gkeras.layers.deserialize({"class_name": "D", "config": {}}).__class__ is Doubling


def test_serialize_and_deserialize_keras_object():
    regularizer = regularizers.L1L2(l1=0.1)
    config = generic_utils.serialize_keras_object(regularizer)
    assert config == {"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}}
    again = generic_utils.deserialize_keras_object(
        config, module_objects={"L1L2": regularizers.L1L2})
    assert isinstance(again, regularizers.L1L2) and again.l1 == pytest.approx(0.1)
    assert generic_utils.serialize_keras_object(my_swish) == "my_swish"
    assert generic_utils.serialize_keras_object(None) is None
    assert generic_utils.deserialize_keras_object(
        "my_swish", custom_objects={"my_swish": my_swish}) is my_swish
    with pytest.raises(ValueError, match="Unknown activation: nope"):
        generic_utils.deserialize_keras_object("nope", printable_module_name="activation")


def test_func_dump_writes_and_func_load_refuses():
    code, defaults, closure = generic_utils.func_dump(lambda x, k=3: x * k)
    assert isinstance(code, str) and defaults == (3,) and closure is None
    with pytest.raises(ValueError, match="would run Python bytecode.*custom_objects.*"
                                         "safe_mode=False"):
        generic_utils.func_load(code, defaults)


def test_small_generic_helpers():
    def f(a, b=1, *args, c=2, **kwargs):
        pass

    assert generic_utils.has_arg(f, "b") and generic_utils.has_arg(f, "c")
    assert not generic_utils.has_arg(f, "d") and generic_utils.has_arg(f, "d", accept_all=True)
    assert not generic_utils.has_arg(lambda a: a, "d", accept_all=True)
    assert generic_utils.to_list(3) == [3] and generic_utils.to_list([3]) == [3]
    assert generic_utils.to_list((1, 2)) == [(1, 2)]
    assert generic_utils.to_list((1, 2), allow_tuple=True) == [1, 2]
    assert generic_utils.unpack_singleton([5]) == 5
    assert generic_utils.unpack_singleton([5, 6]) == [5, 6]
    assert generic_utils.is_all_none([None, None]) and not generic_utils.is_all_none([None, 1])
    a = np.arange(10)
    np.testing.assert_array_equal(generic_utils.slice_arrays(a, 2, 5), [2, 3, 4])
    first, second = generic_utils.slice_arrays([a, None], np.array([1, 3]))
    np.testing.assert_array_equal(first, [1, 3])
    assert second is None
    assert generic_utils.transpose_shape((16, 128, 128, 32), "channels_first", (1, 2)) == \
        (16, 32, 128, 128)
    assert generic_utils.transpose_shape([128, 128, 32], "channels_first", (0, 1)) == \
        [32, 128, 128]
    assert generic_utils.transpose_shape((1, 2), "channels_last", (0,)) == (1, 2)
    assert generic_utils.object_list_uid([a]) == str(abs(id(a)))


# ---- layer_utils, conv_utils ------------------------------------------------------------

def test_layer_utils():
    inputs = layers.Input((4,))
    other = layers.Input((3,))
    hidden = layers.Dense(5)(inputs)
    joined = layers.Concatenate()([other, hidden])
    model = gkeras.Model([inputs, other], layers.Dense(2)(joined))
    assert layer_utils.count_params(model.trainable_weights) == 4 * 5 + 5 + 8 * 2 + 2
    assert layer_utils.get_source_inputs(joined) == [other, inputs]
    assert layer_utils.get_source_inputs(inputs) == [inputs]
    printed = []
    layer_utils.print_summary(model, print_fn=printed.append)
    assert any("Total params: 43" in line for line in printed)


def test_convert_kernels_and_dense_data_format():
    model = gkeras.Sequential([layers.Conv2D(2, 3, input_shape=(5, 5, 1)), layers.Flatten(),
                               layers.Dense(2)])
    kernel = model.layers[0].kernel.numpy().copy()
    layer_utils.convert_all_kernels_in_model(model)
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel[::-1, ::-1])
    np.testing.assert_array_equal(conv_utils.convert_kernel(kernel), kernel[::-1, ::-1])
    # a Dense after Flatten of a (h, w, c) = (2, 3, 4) map: rows reordered to (c, h, w)
    dense = layers.Dense(3)
    dense.build((None, 24))
    k = RNG.standard_normal((24, 3))
    dense.set_weights([k, np.zeros(3)])
    layer_utils.convert_dense_weights_data_format(dense, (4, 2, 3), "channels_first")
    converted = dense.get_weights()[0]
    feature_map = RNG.standard_normal((2, 3, 4))  # channels_last
    np.testing.assert_allclose(feature_map.transpose(2, 0, 1).reshape(-1) @ converted,
                               feature_map.reshape(-1) @ k, rtol=1e-6)
    layer_utils.convert_dense_weights_data_format(dense, (2, 3, 4), "channels_last")
    np.testing.assert_allclose(dense.get_weights()[0], k, rtol=1e-6)


def test_conv_utils_follow_keras_224():
    assert conv_utils.normalize_tuple(3, 2, "kernel_size") == (3, 3)
    assert conv_utils.normalize_tuple([1, 2], 2, "strides") == (1, 2)
    with pytest.raises(ValueError, match="`strides` argument must be a tuple of 2"):
        conv_utils.normalize_tuple((1, 2, 3), 2, "strides")
    assert conv_utils.normalize_padding("SAME") == "same"
    with pytest.raises(ValueError, match="padding"):
        conv_utils.normalize_padding("full")
    assert conv_utils.normalize_data_format(None) == "channels_last"
    assert [conv_utils.conv_output_length(10, 3, p, 2) for p in ("same", "valid", "full",
                                                                    "causal")] == [5, 4, 6, 5]
    assert conv_utils.conv_output_length(10, 3, "valid", 1, dilation=2) == 6
    assert conv_utils.conv_output_length(None, 3, "valid", 1) is None
    assert [conv_utils.conv_input_length(4, 3, p, 2) for p in ("same", "valid", "full")] == \
        [7, 9, 5]
    assert [conv_utils.deconv_length(4, 2, 3, p, None) for p in ("same", "valid", "full")] == \
        [8, 9, 5]
    assert conv_utils.deconv_length(4, 2, 3, "same", 1) == 8


# ---- io_utils.HDF5Matrix ----------------------------------------------------------------------

@pytest.fixture
def h5_file(tmp_path):
    x = RNG.standard_normal((40, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["y"] = x, y
    yield path, x, y
    file = io_utils.HDF5Matrix.refs.pop(str(path), None)
    if file is not None:
        file.close()


def test_hdf5_matrix_indexing(h5_file):
    path, x, _ = h5_file
    matrix = gkeras.utils.HDF5Matrix(path, "x", start=10, end=30, normalizer=lambda a: a * 2)
    assert matrix.shape == (20, 3) and len(matrix) == 20 and matrix.ndim == 2
    assert matrix.dtype == np.float32 and matrix.size == 60
    np.testing.assert_array_equal(matrix[0:4], 2 * x[10:14])
    np.testing.assert_array_equal(matrix[:], 2 * x[10:30])
    np.testing.assert_array_equal(matrix[5], 2 * x[15])
    np.testing.assert_array_equal(matrix[np.array([1, 4])], 2 * x[[11, 14]])
    np.testing.assert_array_equal(matrix[[0, 19]], 2 * x[[10, 29]])
    for key in (slice(15, 21), 20, [3, 20], np.array([25])):
        with pytest.raises(IndexError, match="out of range for 20 rows"):
            matrix[key]
    with pytest.raises(KeyError, match="no dataset 'z'.*'x', 'y'"):
        gkeras.utils.HDF5Matrix(path, "z")
    with pytest.raises(ValueError, match="start=5 and end=50"):
        gkeras.utils.HDF5Matrix(path, "x", start=5, end=50)


def test_hdf5_matrix_in_fit_reads_one_batch_at_a_time(h5_file, monkeypatch):
    path, x, y = h5_file
    x_train = gkeras.utils.HDF5Matrix(path, "x", end=32)
    y_train = gkeras.utils.HDF5Matrix(path, "y", end=32)
    reads = []
    original = h5py.Dataset.__getitem__

    def logged(self, selection):
        reads.append((self.name, selection))
        return original(self, selection)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", logged)
    model = gkeras.Sequential([layers.Dense(1, input_shape=(3,), kernel_initializer="zeros")])
    model.compile(gkeras.optimizers.SGD(lr=0.1), "mse")
    with pytest.raises(ValueError, match="shuffle=True"):
        model.fit(x_train, y_train, batch_size=8, epochs=1, verbose=0)
    model.fit(x_train, y_train, batch_size=8, epochs=2, shuffle="batch", verbose=0)
    assert {selection.stop - selection.start for _, selection in reads} == {8}
    assert len(reads) == 2 * 2 * 4  # x and y, 4 batches, 2 epochs
    # in order, the same training as from the arrays in memory
    models = []
    for data in ((x_train, y_train), (x[:32], y[:32])):
        models.append(gkeras.Sequential([layers.Dense(1, input_shape=(3,),
                                                      kernel_initializer="zeros")]))
        models[-1].compile(gkeras.optimizers.SGD(lr=0.1, decay=0.1), "mse")
        models[-1].fit(*data, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(models[0].get_weights()[0], models[1].get_weights()[0],
                               rtol=1e-6)
    assert not np.allclose(models[0].get_weights()[0], 0)
    reads.clear()
    predictions = model.predict(gkeras.utils.HDF5Matrix(path, "x", start=32), batch_size=4,
                                verbose=0)
    assert predictions.shape == (8, 1) and len(reads) == 2


# ---- the modules that refuse --------------------------------------------------------------

def test_unsupported_utils_refuse_clearly():
    model = gkeras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ImportError, match="plot_model.*pydot.*graphviz.*summary"):
        gkeras.utils.plot_model(model, to_file="model.png")
    with pytest.raises(ImportError, match="model_to_dot.*pydot"):
        gkeras.utils.vis_utils.model_to_dot(model)
    with pytest.raises(ValueError, match="multi_gpu_model.*one device.*CUDA_VISIBLE_DEVICES"):
        gkeras.utils.multi_gpu_model(model, gpus=2)
    with pytest.raises(NotImplementedError, match="H5Dict.*h5py.File"):
        gkeras.utils.h5dict("x.h5")
