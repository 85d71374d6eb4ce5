"""``BaseConv``: what every convolution layer shares (geometry, bias, activation, shape
inference, config), so the layer modules only add their kernels."""
import numbers

from .. import activations, constraints, initializers, ops, regularizers
from ..ops.geometry import (check_strides_and_dilation, conv_output_length,
                            normalize_data_format, normalize_padding, normalize_tuple)
from .base import InputSpec, Layer


def serialize_or_none(fn, value):
    return None if value is None else fn(value)


def positive_int(value, name, who):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{who}: `{name}` must be a positive integer, received "
                         f"{name}={value!r}.")
    return int(value)


class BaseConv(Layer):
    """What every convolution layer shares: geometry, bias, activation, shape inference.

    Subclasses set ``rank`` (and the ``paddings`` they accept), create their kernels in
    ``build``, and in ``call`` run their op and finish with ``_bias_and_activation``.
    """

    rank = 2
    paddings = ("valid", "same", "causal")
    _format_hint = ""  # set when Keras 1's implicit 'th' ordering applies (see the legacy module)

    def compute_mask(self, inputs, mask=None):
        return None  # an incoming mask is dropped, as Keras does for convolutions

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, bias_initializer="zeros",
                 bias_regularizer=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        who = self._label()
        rank = self.rank
        self.filters = None if filters is None else positive_int(filters, "filters", who)
        if kernel_size is None:
            raise TypeError(f"{who}: missing the required argument `kernel_size`.")
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", who)
        self.strides = normalize_tuple(strides, rank, "strides", who)
        self.padding = normalize_padding(padding, rank, who, self.paddings)
        self.data_format = normalize_data_format(data_format, who)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", who)
        check_strides_and_dilation(self.strides, self.dilation_rate, who)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def _label(self):
        return f"{type(self).__name__} '{self.name}'"

    @property
    def _channel_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"{self._label()}: expected inputs of rank {self.rank + 2} "
                             f"(batch, {self.rank} spatial axes, channels), received input "
                             f"shape {tuple(input_shape)}.")
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"{self._label()}: the channel axis of the inputs "
                             f"({self.data_format}{self._format_hint}) must be known, "
                             f"received input shape {tuple(input_shape)}.")
        return int(channels)

    def _spatial(self, shape):
        return tuple(shape[1:-1]) if self.data_format == "channels_last" else tuple(shape[2:])

    def _output_spatial(self, input_shape):
        """Output lengths (None where unknown); a clear error for a too-large kernel."""
        out = []
        for axis, (n, k, s, d) in enumerate(zip(self._spatial(input_shape), self.kernel_size,
                                                self.strides, self.dilation_rate)):
            length = conv_output_length(n, k, s, d, self.padding)
            if length is not None and length < 1:
                raise ValueError(
                    f"{self._label()}: the kernel (size {k}, dilation {d}, so {d * (k - 1) + 1} "
                    f"positions) is larger than the padded input along spatial axis {axis}, "
                    f"which has {n} positions with padding={self.padding!r}. Received input "
                    f"shape {tuple(input_shape)}, {self.data_format}{self._format_hint}.")
            out.append(length)
        return tuple(out)

    def _output_shape(self, batch, spatial, channels):
        if self.data_format == "channels_last":
            return (batch, *spatial, channels)
        return (batch, channels, *spatial)

    def _add_bias(self, channels):
        if not self.use_bias:
            return None
        return self.add_weight(name="bias", shape=(channels,),
                               initializer=self.bias_initializer,
                               regularizer=self.bias_regularizer,
                               constraint=self.bias_constraint)

    def _finish_build(self, channels):
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def _bias_and_activation(self, outputs):
        if self.bias is not None:
            bias = self.bias
            if self.data_format == "channels_first":
                bias = ops.reshape(bias, (-1,) + (1,) * self.rank)
            outputs = ops.add(outputs, bias)
        return outputs if self.activation is activations.linear else self.activation(outputs)

    def _geometry_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}

    def _bias_config(self):
        return {"activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": serialize_or_none(regularizers.serialize,
                                                      self.bias_regularizer),
                "activity_regularizer": serialize_or_none(regularizers.serialize,
                                               self.activity_regularizer),
                "bias_constraint": serialize_or_none(constraints.serialize, self.bias_constraint)}
