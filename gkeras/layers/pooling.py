"""Pooling layers: MaxPooling1D/2D, AveragePooling1D/2D and the global poolings (Keras 3
``keras.layers``; ``MaxPool2D``-style aliases). The Keras 1/2 guide spellings are accepted:
``pool_length``, ``stride``, ``border_mode`` and ``dim_ordering='th'|'tf'``."""
from .. import ops
from ..ops.geometry import (conv_output_length, normalize_data_format, normalize_padding,
                            normalize_tuple)
from .base import _LAYER_CLASSES, InputSpec, Layer

_DIM_ORDERINGS = {"th": "channels_first", "tf": "channels_last", "default": None}


def legacy_data_format(label, data_format, dim_ordering):
    """``data_format``, or what Keras 1's ``dim_ordering`` ('th', 'tf', 'default') says."""
    if dim_ordering is None:
        return data_format
    if dim_ordering not in _DIM_ORDERINGS:
        raise ValueError(f"{label}: `dim_ordering` must be 'th', 'tf' or 'default', received "
                         f"dim_ordering={dim_ordering!r}.")
    converted = _DIM_ORDERINGS[dim_ordering]
    if converted is None:
        return data_format
    if data_format is not None and data_format != converted:
        raise ValueError(f"{label}: dim_ordering={dim_ordering!r} means "
                         f"data_format={converted!r}, but data_format={data_format!r} was also "
                         "given.")
    return converted


def spatial_axes(data_format, dimensions):
    """The spatial axes of a ``dimensions``-D input in ``data_format``."""
    first = 1 if data_format == "channels_last" else 2
    return tuple(range(first, first + dimensions))


class BasePooling(Layer):
    """Max or average pooling over 1 or 2 spatial axes (``pool_mode`` 'max' or 'average')."""

    def __init__(self, pool_size, strides, pool_dimensions, pool_mode, padding="valid",
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        label = self._label()
        self.pool_size = normalize_tuple(pool_size, pool_dimensions, "pool_size", label)
        self.strides = self.pool_size if strides is None else normalize_tuple(
            strides, pool_dimensions, "strides", label)
        self.padding = normalize_padding(padding, pool_dimensions, label, ("valid", "same"))
        self.data_format = normalize_data_format(data_format, label)
        self.pool_mode = pool_mode
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def _label(self):
        return f"{type(self).__name__} '{self.name}'"

    def compute_mask(self, inputs, mask=None):
        return None  # an incoming mask is dropped, as Keras does for pooling

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # errors that name this layer, not the op
        pool = ops.max_pool if self.pool_mode == "max" else ops.average_pool
        return pool(inputs, self.pool_size, self.strides, self.padding, self.data_format)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        axes = spatial_axes(self.data_format, len(self.pool_size))
        out = list(input_shape)
        for axis, pool, stride in zip(axes, self.pool_size, self.strides):
            out[axis] = conv_output_length(input_shape[axis], pool, stride, 1, self.padding)
            if out[axis] is not None and out[axis] < 1:
                spatial = tuple(input_shape[a] for a in axes)
                raise ValueError(f"{self._label()}: pool_size {self.pool_size} does not fit "
                                 f"the spatial shape {spatial} with padding='valid'. Received "
                                 f"input shape {input_shape}.")
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(BasePooling):
    """Max over windows of ``pool_size`` steps of a ``(batch, steps, features)`` input."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 pool_length=None, stride=None, border_mode=None, **kwargs):
        super().__init__(pool_size if pool_length is None else pool_length,
                         strides if stride is None else stride, 1, "max",
                         padding if border_mode is None else border_mode, data_format, **kwargs)


class AveragePooling1D(BasePooling):
    """Mean over windows of ``pool_size`` steps of a ``(batch, steps, features)`` input."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 pool_length=None, stride=None, border_mode=None, **kwargs):
        super().__init__(pool_size if pool_length is None else pool_length,
                         strides if stride is None else stride, 1, "average",
                         padding if border_mode is None else border_mode, data_format, **kwargs)


class MaxPooling2D(BasePooling):
    """Max over ``pool_size`` windows of images (rows, cols)."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 border_mode=None, dim_ordering=None, **kwargs):
        label = f"{type(self).__name__}"
        super().__init__(pool_size, strides, 2, "max",
                         padding if border_mode is None else border_mode,
                         legacy_data_format(label, data_format, dim_ordering), **kwargs)


class AveragePooling2D(BasePooling):
    """Mean over ``pool_size`` windows of images; 'same' windows average their real pixels."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 border_mode=None, dim_ordering=None, **kwargs):
        label = f"{type(self).__name__}"
        super().__init__(pool_size, strides, 2, "average",
                         padding if border_mode is None else border_mode,
                         legacy_data_format(label, data_format, dim_ordering), **kwargs)


class BaseGlobalPooling(Layer):
    """Max or mean over every spatial axis; ``keepdims`` keeps them with size 1."""

    def __init__(self, pool_dimensions, data_format=None, keepdims=False, dim_ordering=None,
                 **kwargs):
        super().__init__(**kwargs)
        label = f"{type(self).__name__} '{self.name}'"
        self.data_format = normalize_data_format(
            legacy_data_format(label, data_format, dim_ordering), label)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)
        self._axes = spatial_axes(self.data_format, pool_dimensions)

    def compute_mask(self, inputs, mask=None):
        return None  # an incoming mask is dropped, as Keras does for pooling

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return tuple(1 if i in self._axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in self._axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalMaxPooling1D(BaseGlobalPooling):
    """``(batch, steps, features)`` to ``(batch, features)``: the max over steps."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalAveragePooling1D(BaseGlobalPooling):
    """``(batch, steps, features)`` to ``(batch, features)``: the mean over steps; masked
    steps are left out of the mean (as Keras)."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(1, data_format, keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype),
                                  2 if self.data_format == "channels_last" else 1)
        total = ops.sum(inputs * weights, axis=self._axes, keepdims=self.keepdims)
        return total / ops.sum(weights, axis=self._axes, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Images to ``(batch, channels)``: the max over rows and cols."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Images to ``(batch, channels)``: the mean over rows and cols."""

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(2, data_format, keepdims, **kwargs)

    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


MaxPool1D, MaxPool2D = MaxPooling1D, MaxPooling2D
AvgPool1D, AvgPool2D = AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D

# configs may name a layer by its alias
for _alias, _cls in (("MaxPool1D", MaxPool1D), ("MaxPool2D", MaxPool2D),
                     ("AvgPool1D", AvgPool1D), ("AvgPool2D", AvgPool2D),
                     ("GlobalMaxPool1D", GlobalMaxPool1D), ("GlobalMaxPool2D", GlobalMaxPool2D),
                     ("GlobalAvgPool1D", GlobalAvgPool1D), ("GlobalAvgPool2D", GlobalAvgPool2D)):
    _LAYER_CLASSES.setdefault(_alias, _cls)
