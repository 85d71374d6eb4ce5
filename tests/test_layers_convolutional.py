"""Convolution layers: values against naive references, Keras weights/defaults/configs, the
Keras 1 spellings, shape inference, masks and error messages."""
import json

import numpy as np
import pytest

import gkeras
from conv_reference import np_conv, np_conv_transpose, np_depthwise_conv, np_separable_conv
from gkeras import Tensor, backend, layers
from gkeras.layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Convolution1D,
                           Convolution2D, DepthwiseConv1D, DepthwiseConv2D, Input,
                           SeparableConv1D, SeparableConv2D)
from gkeras.models import Model, Sequential

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


def _relu(x):
    return np.maximum(x, 0)


def _bias(y, b, data_format):
    return y + (b if data_format == "channels_last" else b.reshape((-1,) + (1,) * (y.ndim - 2)))


def _image(shape_last, data_format):
    x = RNG.standard_normal(shape_last)
    return x if data_format == "channels_last" else np.ascontiguousarray(np.moveaxis(x, -1, 1))


# --- values --------------------------------------------------------------------------------

@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kwargs", [dict(), dict(strides=2, padding="same"),
                                    dict(dilation_rate=(2, 1), padding="same"),
                                    dict(strides=(1, 2))])
def test_conv2d_values(kwargs, data_format):
    layer = Conv2D(4, (3, 2), activation="relu", data_format=data_format, dtype="float64",
                   bias_initializer="random_normal", **kwargs)
    x = _image((2, 7, 6, 3), data_format)
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 3, 4) and bias.shape == (4,)
    want = _relu(_bias(np_conv(x, kernel, data_format=data_format, **kwargs), bias,
                       data_format))
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    assert layer.compute_output_shape(x.shape) == y.shape


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kwargs", [dict(), dict(padding="causal", dilation_rate=2),
                                    dict(padding="same", strides=3)])
def test_conv1d_values(kwargs, data_format):
    layer = Conv1D(3, 4, data_format=data_format, dtype="float64",
                   bias_initializer="random_normal", **kwargs)
    x = _image((2, 9, 2), data_format)
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 2, 3)
    np.testing.assert_allclose(
        y, _bias(np_conv(x, kernel, data_format=data_format, **kwargs), bias, data_format),
        rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("kwargs", [dict(strides=2, padding="same"),
                                    dict(strides=2, output_padding=1),
                                    dict(padding="valid", dilation_rate=2)])
def test_conv2d_transpose_values(kwargs, data_format):
    layer = Conv2DTranspose(4, 3, data_format=data_format, dtype="float64",
                            bias_initializer="random_normal", **kwargs)
    x = _image((2, 3, 4, 2), data_format)
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 3, 4, 2)  # (kh, kw, filters, in)
    rest = dict(kwargs)
    strides = rest.pop("strides", 1)
    want = _bias(np_conv_transpose(x, kernel, strides, data_format=data_format, **rest),
                 bias, data_format)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    assert layer.compute_output_shape(x.shape) == y.shape


def test_conv1d_transpose_values():
    layer = Conv1DTranspose(2, 3, strides=2, padding="same", dtype="float64")
    x = RNG.standard_normal((2, 5, 3))
    y = np.asarray(layer(x))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 3) and y.shape == (2, 10, 2)
    np.testing.assert_allclose(y,
                               np_conv_transpose(x, kernel, 2, padding="same") + bias,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_and_separable_conv2d_values(data_format):
    x = _image((2, 6, 5, 3), data_format)
    depthwise = DepthwiseConv2D(3, depth_multiplier=2, padding="same", data_format=data_format,
                                dtype="float64", bias_initializer="random_normal")
    y = np.asarray(depthwise(x))
    kernel, bias = depthwise.get_weights()
    assert kernel.shape == (3, 3, 3, 2) and bias.shape == (6,)
    np.testing.assert_allclose(
        y, _bias(np_depthwise_conv(x, kernel, padding="same", data_format=data_format), bias,
                 data_format), rtol=1e-12, atol=1e-12)
    separable = SeparableConv2D(4, (3, 2), strides=2, depth_multiplier=2,
                                data_format=data_format, dtype="float64",
                                bias_initializer="random_normal")
    y = np.asarray(separable(x))
    dk, pk, bias = separable.get_weights()
    assert dk.shape == (3, 2, 3, 2) and pk.shape == (1, 1, 6, 4) and bias.shape == (4,)
    np.testing.assert_allclose(
        y, _bias(np_separable_conv(x, dk, pk, strides=2, data_format=data_format), bias,
                 data_format), rtol=1e-12, atol=1e-12)


def test_depthwise_and_separable_conv1d_values():
    x = RNG.standard_normal((2, 8, 3))
    depthwise = DepthwiseConv1D(3, padding="causal", dtype="float64")
    y = np.asarray(depthwise(x))
    kernel, bias = depthwise.get_weights()
    assert kernel.shape == (3, 3, 1)
    np.testing.assert_allclose(y, np_depthwise_conv(x, kernel, padding="causal") + bias,
                               rtol=1e-12)
    separable = SeparableConv1D(2, 3, padding="same", dtype="float64")
    y = np.asarray(separable(x))
    dk, pk, bias = separable.get_weights()
    assert dk.shape == (3, 3, 1) and pk.shape == (1, 3, 2)
    np.testing.assert_allclose(y, np_separable_conv(x, dk, pk, padding="same") + bias,
                               rtol=1e-12)


# --- weights, defaults, names -------------------------------------------------------------

def test_default_initializers_and_weight_names():
    model = Sequential([Conv2D(8, 3, input_shape=(10, 10, 5)),
                        SeparableConv2D(4, 3, depth_multiplier=2),
                        DepthwiseConv2D(2), Conv2DTranspose(3, 2)])
    conv, separable, depthwise, transpose = model.layers
    assert [w.name for w in conv.weights] == ["kernel", "bias"]
    assert [w.path for w in separable.weights] == ["separable_conv2d/depthwise_kernel",
                                                   "separable_conv2d/pointwise_kernel",
                                                   "separable_conv2d/bias"]
    assert [w.name for w in depthwise.weights] == ["depthwise_kernel", "bias"]
    assert [w.path for w in transpose.weights] == ["conv2d_transpose/kernel",
                                                   "conv2d_transpose/bias"]
    kernel, bias = conv.get_weights()
    limit = np.sqrt(6 / (3 * 3 * 5 + 3 * 3 * 8))  # glorot_uniform on the receptive field
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.8 * limit
    assert not bias.any()
    assert conv.count_params() == 3 * 3 * 5 * 8 + 8
    assert separable.count_params() == 3 * 3 * 8 * 2 + 16 * 4 + 4


def test_kernel_layout_is_the_same_in_both_data_formats():
    x = RNG.standard_normal((2, 5, 6, 3)).astype("float32")
    last = Conv2D(4, 3, data_format="channels_last")
    first = Conv2D(4, 3, data_format="channels_first")
    y_last = np.asarray(last(x))
    first.build((None, 3, 5, 6))
    assert first.kernel.shape == last.kernel.shape == (3, 3, 3, 4)
    first.set_weights(last.get_weights())
    y_first = np.asarray(first(np.moveaxis(x, -1, 1)))
    np.testing.assert_allclose(np.moveaxis(y_first, 1, -1), y_last, rtol=1e-5, atol=1e-6)


def test_integers_and_tuples_are_accepted():
    a = Conv2D(2, 3, strides=2, dilation_rate=1)
    b = Conv2D(2, (3, 3), strides=(2, 2), dilation_rate=[1, 1])
    assert a.kernel_size == b.kernel_size == (3, 3) and a.strides == b.strides == (2, 2)
    assert Conv1D(2, [5], strides=(2,)).kernel_size == (5,)
    assert Conv2D(2, 3, padding="SAME").padding == "same"


def test_data_format_none_follows_the_configuration():
    gkeras.config.set_image_data_format("channels_first")
    assert Conv2D(2, 3).data_format == "channels_first"
    assert Conv2D(2, 3, data_format="channels_last").data_format == "channels_last"
    assert Conv1D(2, 3).data_format == "channels_last"  # Keras 2's Conv1D default


# --- Keras 1 spellings and alias names ------------------------------------------------------

def test_guide_convolution2d_then_flatten():
    model = Sequential()
    model.add(Convolution2D(64, 3, 3, border_mode="same", input_shape=(3, 32, 32)))
    assert model.output_shape == (None, 64, 32, 32)
    model.add(layers.Flatten())
    assert model.output_shape == (None, 65536)
    assert model.layers[0].get_weights()[0].shape == (3, 3, 3, 64)


def test_keras1_keywords_are_converted():
    layer = Convolution2D(nb_filter=6, nb_row=2, nb_col=3, subsample=(2, 1), border_mode="same",
                          dim_ordering="tf", init="ones", W_regularizer="l2", bias=False,
                          W_constraint="non_neg", b_regularizer="l1", b_constraint="max_norm")
    assert (layer.filters, layer.kernel_size, layer.strides, layer.padding, layer.data_format,
            layer.use_bias) == (6, (2, 3), (2, 1), "same", "channels_last", False)
    assert type(layer.kernel_initializer).__name__ == "Ones"
    assert layer.kernel_regularizer is not None and layer.kernel_constraint is not None
    assert layer.bias_regularizer is not None and layer.bias_constraint is not None
    assert Convolution2D(4, 3, 3, dim_ordering="th").data_format == "channels_first"
    assert Conv2D(4, 3, 3, dim_ordering="tf").kernel_size == (3, 3)
    # Keras 2 spelling keeps the configured format
    assert Convolution2D(4, (3, 3), border_mode="same").data_format == "channels_last"
    assert Convolution2D is Conv2D and Convolution1D is Conv1D
    assert layers.Deconvolution2D is layers.Deconv2D is Conv2DTranspose
    assert layers.SeparableConvolution2D is SeparableConv2D


def test_keras1_convolution1d():
    model = Sequential([Convolution1D(nb_filter=4, filter_length=3, subsample_length=2,
                                      border_mode="same", input_dim=5, input_length=10)])
    assert model.output_shape == (None, 5, 4)
    assert model.layers[0].kernel.shape == (3, 5, 4)


def test_keras1_spelling_errors():
    with pytest.raises(ValueError, match="strides"):
        Conv2D(4, 3, 3, strides=2)
    with pytest.raises(TypeError, match="nb_row and nb_col"):
        Conv2D(4, nb_row=3)
    with pytest.raises(TypeError, match="both Keras 1's 'border_mode' and 'padding'"):
        Conv2D(4, 3, border_mode="same", padding="valid")
    with pytest.raises(ValueError, match="dim_ordering must be 'th', 'tf' or 'default'"):
        Conv2D(4, 3, dim_ordering="channels_last")


def test_module_paths_of_the_guide():
    import gkeras.layers.convolutional as convolutional
    assert convolutional.Conv1D is Conv1D and convolutional.Conv2D is Conv2D
    assert gkeras.layers.Convolution2D is convolutional.Convolution2D


# --- shape inference, summary, masks ----------------------------------------------------------

def test_compute_output_shape_with_unknown_sizes():
    assert Conv1D(4, 3).compute_output_shape((None, None, 5)) == (None, None, 4)
    assert Conv2D(4, 3, strides=2, padding="same").compute_output_shape(
        (None, None, 7, 3)) == (None, None, 4, 4)
    assert Conv2D(4, 3, data_format="channels_first").compute_output_shape(
        (2, 3, 9, None)) == (2, 4, 7, None)
    assert Conv2DTranspose(4, 3, strides=2).compute_output_shape(
        (None, 5, None, 2)) == (None, 11, None, 4)
    assert DepthwiseConv2D(3, depth_multiplier=3).compute_output_shape(
        (None, 5, 5, 2)) == (None, 3, 3, 6)
    inputs = Input((None, 6))
    outputs = Conv1D(3, 2, padding="causal")(inputs)
    assert outputs.shape == (None, None, 3)
    model = Model(inputs, outputs)
    assert model.predict(np.zeros((2, 11, 6), "float32"), verbose=0).shape == (2, 11, 3)


def test_summary_lines():
    model = Sequential([Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
                        Conv2D(64, (3, 3), strides=2, padding="same")])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert " conv2d (Conv2D)             (None, 26, 26, 32)        320" in text
    assert " conv2d_1 (Conv2D)           (None, 13, 13, 64)        18496" in text
    assert "Total params: 18,816" in text


def test_conv1d_drops_an_incoming_mask():
    # as Keras: a convolution neither uses nor passes on a mask, and does not refuse one
    x = Tensor(RNG.standard_normal((2, 6, 3)).astype("float32"))
    x._keras_mask = Tensor(np.array([[True] * 6, [True] * 4 + [False] * 2]))
    layer = Conv1D(2, 3, padding="same")
    y = layer(x)
    assert y._keras_mask is None
    np.testing.assert_array_equal(y.numpy(), layer(Tensor(x.value)).numpy())


# --- configs ----------------------------------------------------------------------------------

CONV_LAYERS = [
    lambda: Conv1D(4, 3, strides=2, padding="causal", activation="relu", use_bias=False,
                   kernel_regularizer="l2", name="c1"),
    lambda: Conv2D(8, (3, 2), strides=(2, 1), padding="same", data_format="channels_first",
                   kernel_constraint="max_norm", bias_initializer="ones",
                   activity_regularizer="l1", input_shape=(3, 9, 9)),
    lambda: Conv2DTranspose(4, 3, strides=2, output_padding=1, bias_regularizer="l2"),
    lambda: Conv1DTranspose(2, 5, dilation_rate=2),
    lambda: DepthwiseConv2D(3, depth_multiplier=2, depthwise_regularizer="l1"),
    lambda: DepthwiseConv1D(3, padding="same"),
    lambda: SeparableConv2D(4, 3, depth_multiplier=2, pointwise_constraint="non_neg"),
    lambda: SeparableConv1D(4, 3, dilation_rate=2),
]

KERAS2_CONV_KEYS = {"name", "trainable", "dtype", "filters", "kernel_size", "strides",
                    "padding", "data_format", "dilation_rate", "activation", "use_bias",
                    "kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint"}


@pytest.mark.parametrize("make", CONV_LAYERS)
def test_get_config_from_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config and type(rebuilt) is type(layer)
    via_json = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert via_json.get_config() == config


def test_keras2_config_keys():
    assert set(Conv2D(2, 3).get_config()) == KERAS2_CONV_KEYS
    assert set(Conv1D(2, 3).get_config()) == KERAS2_CONV_KEYS
    assert set(Conv2DTranspose(2, 3).get_config()) == KERAS2_CONV_KEYS | {"output_padding"}
    separable = set(SeparableConv2D(2, 3).get_config())
    assert separable == (KERAS2_CONV_KEYS - {"kernel_initializer", "kernel_regularizer",
                                             "kernel_constraint"}) | {
        "depth_multiplier", "depthwise_initializer", "pointwise_initializer",
        "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
        "pointwise_constraint"}
    depthwise = set(DepthwiseConv2D(3).get_config())
    assert depthwise == (KERAS2_CONV_KEYS - {"filters", "kernel_initializer",
                                             "kernel_regularizer", "kernel_constraint"}) | {
        "depth_multiplier", "depthwise_initializer", "depthwise_regularizer",
        "depthwise_constraint"}
    config = Conv2D(2, 3).get_config()
    assert config["kernel_initializer"] == {"class_name": "GlorotUniform",
                                            "config": {"seed": None}}
    assert config["bias_initializer"] == {"class_name": "Zeros", "config": {}}


def test_keras3_config_with_groups_one_loads():
    config = dict(Conv2D(2, 3).get_config(), groups=1)
    assert Conv2D.from_config(config).kernel_size == (3, 3)
    with pytest.raises(ValueError, match="grouped convolutions are not supported.*groups=2"):
        Conv2D.from_config(dict(config, groups=2))


# --- errors -----------------------------------------------------------------------------------

def test_wrong_input_rank_names_layer_expected_and_received():
    with pytest.raises(ValueError, match=r'layer "conv2d".*expected ndim=4, found ndim=3.*'
                                         r'\(2, 5, 5\)'):
        Conv2D(2, 3)(np.zeros((2, 5, 5), "float32"))
    with pytest.raises(ValueError, match=r'layer "conv1d".*expected ndim=3, found ndim=4'):
        Conv1D(2, 3)(Input((5, 5, 1)))


def test_channel_mismatch_after_build():
    layer = Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r'layer "conv2d".*axis -1 of input shape to have '
                                         r'value 3.*\(1, 5, 5, 4\)'):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_unknown_channels_are_refused():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d': the channel axis .* must be known"):
        Conv2D(2, 3)(Input((5, 5, None)))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d': the kernel \(size 5, dilation 1, "
                                         r"so 5 positions\) is larger than the padded input "
                                         r"along spatial axis 1, which has 4 positions"):
        Conv2D(2, 5)(Input((8, 4, 1)))
    layer = Conv1D(2, 3, dilation_rate=3)
    with pytest.raises(ValueError, match=r"Conv1D 'conv1d': the kernel \(size 3, dilation 3, "
                                         r"so 7 positions\).*\(2, 6, 1\)"):
        layer(np.zeros((2, 6, 1), "float32"))
    assert np.asarray(Conv2D(2, 5, padding="same")(np.zeros((1, 3, 3, 1), "float32"))).shape \
        == (1, 3, 3, 2)


def test_argument_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d': strides > 1 are not supported "
                                         r"together with dilation_rate > 1"):
        Conv2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"Conv2D 'conv2d_1': `padding` must be one of "
                                         r"'valid', 'same', received padding='causal'"):
        Conv2D(2, 3, padding="causal")
    with pytest.raises(ValueError, match=r"`kernel_size` must be a positive integer or a "
                                         r"tuple of 2 positive integers, received "
                                         r"kernel_size=\(3, 0\)"):
        Conv2D(2, (3, 0))
    with pytest.raises(ValueError, match=r"`filters` must be a positive integer"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match=r"Conv2DTranspose .*strides \(2, 2\) must be greater "
                                         r"than output_padding \(2, 2\)"):
        Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match=r"invalid data_format 'nhwc'"):
        Conv2D(2, 3, data_format="nhwc")
    with pytest.raises(TypeError, match="missing the required argument `filters`"):
        SeparableConv2D(None, 3)


def test_keras1_th_default_is_named_in_shape_errors():
    with pytest.raises(ValueError, match=r"channels_first \(Keras 1's default "
                                         r"dim_ordering 'th' for the nb_row, nb_col spelling; "
                                         r"pass dim_ordering='tf' for channels_last\)"):
        Sequential([Convolution2D(32, 3, 3, input_shape=(28, 28, 1))])
    model = Sequential([Convolution2D(32, 3, 3, dim_ordering="tf", input_shape=(28, 28, 1))])
    assert model.output_shape == (None, 26, 26, 32)


def test_depth_multiplier_must_be_a_positive_integer():
    with pytest.raises(ValueError, match=r"DepthwiseConv2D 'depthwise_conv2d': `depth_multiplier` "
                                         r"must be a positive integer, received "
                                         r"depth_multiplier=0"):
        DepthwiseConv2D(3, depth_multiplier=0)
