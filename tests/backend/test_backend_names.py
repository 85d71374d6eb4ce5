"""Every public name of Keras 2.2.4's ``keras.backend`` exists in ``gkeras.backend``; the
TensorFlow-only ones raise an error that says what to use instead."""
import pytest

import gkeras.backend
from gkeras import backend as K

# The public functions of Keras 2.2.4's keras/backend/tensorflow_backend.py and common.py
# (``def name(`` without a leading underscore), plus ``backend`` and ``name_scope``.
KERAS_224_BACKEND_NAMES = [
    "abs", "all", "any", "arange", "argmax", "argmin", "backend", "batch_dot", "batch_flatten",
    "batch_get_value", "batch_normalization", "batch_set_value", "bias_add",
    "binary_crossentropy", "cast", "cast_to_floatx", "categorical_crossentropy",
    "clear_session", "clip", "concatenate", "constant", "conv1d", "conv2d", "conv2d_transpose",
    "conv3d", "conv3d_transpose", "cos", "count_params", "ctc_batch_cost", "ctc_decode",
    "ctc_label_dense_to_sparse", "cumprod", "cumsum", "depthwise_conv2d", "dot", "dropout",
    "dtype", "elu", "epsilon", "equal", "eval", "exp", "expand_dims", "eye", "flatten",
    "floatx", "foldl", "foldr", "function", "gather", "get_session", "get_uid", "get_value",
    "get_variable_shape", "gradients", "greater", "greater_equal", "hard_sigmoid", "identity",
    "image_data_format", "image_dim_ordering", "in_test_phase", "in_top_k", "in_train_phase",
    "int_shape", "is_keras_tensor", "is_placeholder", "is_sparse", "is_tensor", "l2_normalize",
    "learning_phase", "less", "less_equal", "local_conv1d", "local_conv2d", "log", "logsumexp",
    "manual_variable_initialization", "map_fn", "max", "maximum", "mean", "min", "minimum",
    "moving_average_update", "name_scope", "ndim", "normalize_batch_in_training",
    "normalize_data_format", "not_equal", "one_hot", "ones", "ones_like", "permute_dimensions",
    "placeholder", "pool2d", "pool3d", "pow", "print_tensor", "prod", "random_binomial",
    "random_normal", "random_normal_variable", "random_uniform", "random_uniform_variable",
    "relu", "repeat", "repeat_elements", "reset_uids", "reshape", "resize_images",
    "resize_volumes", "reverse", "rnn", "round", "separable_conv1d", "separable_conv2d",
    "set_epsilon", "set_floatx", "set_image_data_format", "set_image_dim_ordering",
    "set_learning_phase", "set_session", "set_value", "shape", "sigmoid", "sign", "sin",
    "slice", "softmax", "softplus", "softsign", "sparse_categorical_crossentropy",
    "spatial_2d_padding", "spatial_3d_padding", "sqrt", "square", "squeeze", "stack", "std",
    "stop_gradient", "sum", "switch", "tanh", "temporal_padding", "tile", "to_dense",
    "transpose", "truncated_normal", "update", "update_add", "update_sub", "var", "variable",
    "zeros", "zeros_like"]

UNSUPPORTED = {
    "function": "model.predict", "placeholder": "Input", "get_session": "KERAS_BACKEND",
    "set_session": "KERAS_BACKEND", "gradients": "GradientTape",
    "ctc_label_dense_to_sparse": "ctc_batch_cost takes the dense labels", "conv3d": "1-D and 2-D",
    "conv3d_transpose": "1-D and 2-D", "pool3d": "1-D and 2-D"}


def test_the_list_has_every_keras_224_name_once():
    assert len(KERAS_224_BACKEND_NAMES) == len(set(KERAS_224_BACKEND_NAMES)) == 156


@pytest.mark.parametrize("name", KERAS_224_BACKEND_NAMES)
def test_keras_224_name_exists_and_is_callable(name):
    assert callable(getattr(K, name)), name


def test_every_keras_name_is_exported():
    assert set(KERAS_224_BACKEND_NAMES) <= set(K.__all__)
    assert gkeras.backend is K


@pytest.mark.parametrize("name,hint", sorted(UNSUPPORTED.items()))
def test_tensorflow_only_names_say_what_to_use_instead(name, hint):
    with pytest.raises(NotImplementedError, match=f"keras.backend.{name} is not supported") \
            as err:
        getattr(K, name)([1.0])
    assert hint in str(err.value)
    assert getattr(K, name).__name__ == name


def test_placeholders_and_sparse_tensors_do_not_exist_here():
    assert K.is_placeholder(K.constant(1.0)) is False
    assert K.is_sparse(K.constant(1.0)) is False
    x = K.constant([1.0, 2.0])
    assert K.to_dense(x) is x


def test_config_helpers_and_legacy_dim_ordering():
    assert K.backend() == "numpy"
    K.set_image_dim_ordering("th")
    assert K.image_data_format() == "channels_first" and K.image_dim_ordering() == "th"
    K.set_image_dim_ordering("tf")
    assert K.image_data_format() == "channels_last" and K.image_dim_ordering() == "tf"
    with pytest.raises(ValueError, match="dim_ordering"):
        K.set_image_dim_ordering("xla")
    assert K.normalize_data_format(None) == "channels_last"
    assert K.normalize_data_format("Channels_First") == "channels_first"
    with pytest.raises(ValueError, match="data_format"):
        K.normalize_data_format("nhwc")
