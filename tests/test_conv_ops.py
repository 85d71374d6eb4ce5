"""The convolution ops beyond their finite-difference cases (tests/test_ops.py): identities
between them, dtypes, the configured data format, non-contiguous inputs and errors."""
import numpy as np
import pytest

import gkeras
from conv_reference import np_conv
from gkeras import ops

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")

RNG = np.random.default_rng(5)


@pytest.mark.parametrize("padding,strides,output_padding", [
    ("valid", 1, None), ("same", 1, None), ("valid", 2, None), ("same", 2, None),
    ("same", 3, None), ("valid", 2, 1), ("same", 2, 1)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_transpose_is_the_adjoint_of_conv(padding, strides, output_padding, data_format):
    """<conv(z, k), x> == <z, conv_transpose(x, k)>, and conv maps the transposed output's
    shape back onto x's: that is what a transposed convolution is."""
    kernel = RNG.standard_normal((3, 3, 2, 4))       # conv: 2 -> 4 channels
    x_last = RNG.standard_normal((2, 4, 5, 4))
    x = x_last if data_format == "channels_last" else np.moveaxis(x_last, -1, 1)
    y = ops.conv_transpose(x, kernel, strides, padding, output_padding, data_format).numpy()
    z = RNG.standard_normal(y.shape)
    back = ops.conv(z, kernel, strides, padding, data_format).numpy()
    assert back.shape == x.shape
    assert np.sum(back * x) == pytest.approx(np.sum(z * y), rel=1e-10)


def test_1d_convolution_is_a_2d_one_of_height_1():
    x = RNG.standard_normal((2, 9, 3))
    kernel = RNG.standard_normal((4, 3, 2))
    one_d = ops.conv(x, kernel, 2, "same").numpy()
    two_d = ops.conv(x[:, None], kernel[None], (1, 2), "same").numpy()
    np.testing.assert_allclose(one_d, two_d[:, 0], rtol=1e-12)


def test_float32_stays_float32_and_non_contiguous_inputs_work():
    x = np.moveaxis(RNG.standard_normal((2, 3, 6, 7)), 1, -1).astype("float32")  # a view
    kernel = RNG.standard_normal((2, 3, 3, 4)).astype("float32")
    assert not x.flags.c_contiguous
    y = ops.conv(x, kernel, padding="same")
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), np_conv(x.astype("float64"),
                                                  kernel.astype("float64"), padding="same"),
                               rtol=1e-4, atol=1e-4)


def test_data_format_none_follows_the_configuration():
    x = RNG.standard_normal((1, 2, 5, 5))
    kernel = RNG.standard_normal((3, 3, 2, 1))
    gkeras.config.set_image_data_format("channels_first")
    np.testing.assert_allclose(ops.conv(x, kernel).numpy(),
                               np_conv(x, kernel, data_format="channels_first"), rtol=1e-12)


def test_errors_name_the_op_the_expected_and_the_received():
    x = np.zeros((1, 5, 5, 2))
    with pytest.raises(ValueError, match=r"conv: expected inputs of rank 3 \(1-D convolution\) "
                                         r"or 4 \(2-D\), received inputs of shape \(5, 2\)"):
        ops.conv(np.zeros((5, 2)), np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match=r"conv: expected a kernel of rank 4 .* received a "
                                         r"kernel of shape \(3, 2, 1\)"):
        ops.conv(x, np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match=r"conv: the inputs have 2 channels, but the kernel of "
                                         r"shape \(3, 3, 3, 1\) expects 3"):
        ops.conv(x, np.zeros((3, 3, 3, 1)))
    with pytest.raises(ValueError, match=r"depthwise_conv: strides > 1 are not supported "
                                         r"together with dilation_rate > 1"):
        ops.depthwise_conv(x, np.zeros((3, 3, 2, 1)), strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match=r"padding='causal' is for 1-D convolutions only"):
        ops.conv(x, np.zeros((3, 3, 2, 1)), padding="causal")
    with pytest.raises(ValueError, match=r"conv_transpose: `padding` must be one of 'valid', "
                                         r"'same', received padding='causal'"):
        ops.conv_transpose(np.zeros((1, 5, 2)), np.zeros((3, 1, 2)), 1, "causal")
    with pytest.raises(ValueError, match=r"conv: the kernel \(size 6, dilation 1\) is larger "
                                         r"than the padded input along spatial axis 0: the "
                                         r"input has 5 \(\+0 padding\) positions"):
        ops.conv(x, np.zeros((6, 3, 2, 1)))
    with pytest.raises(ValueError, match=r"conv_transpose: each output_padding must be "
                                         r"smaller than its stride"):
        ops.conv_transpose(x, np.zeros((3, 3, 1, 2)), 2, output_padding=2)
    with pytest.raises(ValueError, match=r"`strides` must be a positive integer or a tuple of "
                                         r"2 positive integers, received strides=\(1, 0\)"):
        ops.conv(x, np.zeros((3, 3, 2, 1)), strides=(1, 0))


# --- conv_bias_activation: the layers' fused op ------------------------------------------------

def _bias_away_from_kink(pre_activation, channel_axis):
    """A bias per channel that keeps every ``pre_activation + bias`` at least 0.05 away from
    ReLU's kink, so finite differences see a smooth function."""
    channels = pre_activation.shape[channel_axis]
    per_channel = np.moveaxis(pre_activation, channel_axis, -1).reshape(-1, channels)
    return np.array([next(b for b in np.arange(-1.0, 1.0, 0.0137)
                          if np.abs(values + b).min() > 0.05) for values in per_channel.T])


def _fused_cases():
    from test_ops import Case
    from gkeras.ops.convolution import conv_bias_activation
    rng = np.random.default_rng(7)
    cases = []
    for relu in (None, "relu"):
        for fmt, x_shape in (("channels_last", (2, 5, 6, 2)), ("channels_first", (2, 2, 5, 6)),
                             ("channels_last", (2, 7, 2))):
            rank = len(x_shape) - 2
            kw = dict(strides=(2, 1) if rank == 2 else 1, padding="same", data_format=fmt)
            channel_axis = -1 if fmt == "channels_last" else 1
            bias_shape = (-1,) + (1,) * rank if fmt == "channels_first" else (-1,)

            def reference(x, k, b, kw=kw, relu=relu, bias_shape=bias_shape):
                y = np_conv(x, k, **kw) + b.reshape(bias_shape)
                return np.maximum(y, 0) if relu else y
            x = rng.standard_normal(x_shape)
            k = rng.standard_normal((3,) * rank + (2, 3))
            b = _bias_away_from_kink(np_conv(x, k, **kw), channel_axis)
            cases.append(Case(lambda x, k, b, kw=kw, relu=relu: conv_bias_activation(
                x, k, b, relu, **kw), [x, k, b], reference, label=f"{relu} {fmt} {x_shape}"))
    return cases


@pytest.mark.parametrize("index", range(6))
def test_conv_bias_activation_forward_and_gradients(index):
    from test_ops import check_case
    check_case(_fused_cases()[index])


def test_conv_layers_with_relu_match_conv_then_bias_then_relu():
    from gkeras import layers
    from gkeras.ops.convolution import conv_bias_activation
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 9, 8, 2)).astype("float32")
    fused = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")
    y = fused(x).numpy()
    kernel, bias = fused.get_weights()
    want = np.maximum(np_conv(x.astype("float64"), kernel.astype("float64"), strides=2,
                              padding="same") + bias, 0)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="activation must be None or 'relu'"):
        conv_bias_activation(x, kernel, bias, "tanh")
