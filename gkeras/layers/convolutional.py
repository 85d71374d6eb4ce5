"""Convolution layers (``gkeras.layers.convolutional``): Conv1D, Conv2D, Conv1DTranspose,
Conv2DTranspose here; DepthwiseConv1D/2D and SeparableConv1D/2D in ``convolutional_depthwise``
(re-exported here). Keras's arguments, defaults, weight names/shapes/order and Keras 2
config keys; the Keras 1/2 alias names (Convolution2D, Deconvolution2D, ...) and Keras 1
argument spellings (nb_filter, nb_row, nb_col, border_mode, subsample, dim_ordering, ...).
"""
from .. import activations, constraints, initializers, ops, regularizers
from ..ops.convolution import conv_bias_activation, conv_transpose_output_length
from ..ops.geometry import normalize_tuple
from .convolutional_base import BaseConv, serialize_or_none
from .convolutional_depthwise import (DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D,
                                      SeparableConv2D)
from .convolutional_legacy import keras1_support
# Keras 2 kept the padding, up-sampling and cropping layers in this module too
from .reshaping import (Cropping1D, Cropping2D, UpSampling1D, UpSampling2D,  # noqa: F401
                        ZeroPadding1D, ZeroPadding2D)


class Conv(BaseConv):
    """``activation(conv(inputs, kernel) + bias)``; kernel (*kernel_size, in, filters)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, groups=1, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint, activity_regularizer=activity_regularizer, **kwargs)
        if self.filters is None:
            raise TypeError(f"{self._label()}: missing the required argument `filters`.")
        if groups != 1:  # Keras 3 configs carry groups
            raise ValueError(f"{self._label()}: grouped convolutions are not supported, "
                             f"received groups={groups!r} (expected 1).")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self._output_spatial(input_shape)
        self.kernel = self.add_weight(name="kernel",
                                      shape=self.kernel_size + (channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self._add_bias(self.filters)
        self._finish_build(channels)

    def call(self, inputs):
        self._output_spatial(inputs.shape)
        if self.activation is activations.relu or self.activation is activations.linear:
            # one op: the bias and the ReLU run in place on the convolution's output
            relu = "relu" if self.activation is activations.relu else None
            return conv_bias_activation(inputs, self.kernel, self.bias, relu, self.strides,
                                        self.padding, self.data_format, self.dilation_rate)
        outputs = ops.conv(inputs, self.kernel, self.strides, self.padding, self.data_format,
                           self.dilation_rate)
        return self._bias_and_activation(outputs)

    def compute_output_shape(self, input_shape):
        self._input_channels(input_shape)
        return self._output_shape(input_shape[0], self._output_spatial(input_shape),
                                  self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._geometry_config(),
                **self._bias_config(),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": serialize_or_none(regularizers.serialize,
                                                        self.kernel_regularizer),
                "kernel_constraint": serialize_or_none(constraints.serialize,
                                                       self.kernel_constraint)}


class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels) inputs (channels_last, the default as
    in Keras 2) or (batch, channels, steps). padding may also be 'causal'. An incoming mask
    is dropped, as Keras does."""

    rank = 1

    @keras1_support(rank=1)
    def __init__(self, filters, kernel_size, strides=1, padding="valid",
                 data_format="channels_last", dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class Conv2D(Conv):
    """2-D convolution over (batch, rows, cols, channels) or (batch, channels, rows, cols)
    inputs; data_format None means ``gkeras.config.image_data_format()``."""

    rank = 2
    paddings = ("valid", "same")

    @keras1_support(rank=2)
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)


class ConvTranspose(Conv):
    """The transposed convolution (the input gradient of a convolution, "deconvolution");
    kernel (*kernel_size, filters, in)."""

    paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                             self._label(), allow_zero=True)
            for p, s in zip(output_padding, self.strides):
                if p >= s:
                    raise ValueError(f"{self._label()}: strides {self.strides} must be greater "
                                     f"than output_padding {output_padding}.")
        self.output_padding = output_padding

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(name="kernel",
                                      shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self._add_bias(self.filters)
        self._finish_build(channels)

    def _output_spatial(self, input_shape):
        paddings = self.output_padding or (None,) * self.rank
        return tuple(conv_transpose_output_length(n, k, s, d, self.padding, p)
                     for n, k, s, d, p in zip(self._spatial(input_shape), self.kernel_size,
                                              self.strides, self.dilation_rate, paddings))

    def call(self, inputs):
        outputs = ops.conv_transpose(inputs, self.kernel, self.strides, self.padding,
                                     self.output_padding, self.data_format, self.dilation_rate)
        return self._bias_and_activation(outputs)

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(ConvTranspose):
    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format="channels_last", dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2DTranspose(ConvTranspose):
    rank = 2

    @keras1_support(rank=2)
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, output_padding, data_format,
                         dilation_rate, activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


# Keras 2's (and Keras 1's) other names for the same classes
Convolution1D = Conv1D
Convolution2D = Conv2D
Convolution1DTranspose = Conv1DTranspose
Convolution2DTranspose = Conv2DTranspose
Deconvolution2D = Deconv2D = Conv2DTranspose
SeparableConvolution1D = SeparableConv1D
SeparableConvolution2D = SeparableConv2D

__all__ = ["Conv1D", "Conv2D", "Conv1DTranspose", "Conv2DTranspose", "DepthwiseConv1D",
           "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Convolution1D",
           "Convolution2D", "Convolution1DTranspose", "Convolution2DTranspose",
           "Deconvolution2D", "Deconv2D", "SeparableConvolution1D", "SeparableConvolution2D",
           "ZeroPadding1D", "ZeroPadding2D", "UpSampling1D", "UpSampling2D", "Cropping1D",
           "Cropping2D"]
