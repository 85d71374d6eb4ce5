"""Core layers: InputLayer/Input, Dense, Activation, Dropout, Flatten, Reshape, Permute,
RepeatVector, Masking."""
import math

import numpy

from .. import activations, config, constraints, initializers, ops, regularizers
from ..backends import current as _backend
from ..ops.fused import dropout_multiplier
from .base import InputSpec, KerasTensor, Layer, Node


def _positive_int(layer, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value <= 0:
        raise ValueError(f"{layer}: received an invalid value for `{name}`, expected a "
                         f"positive integer. Received: {name}={value!r}")
    return int(value)


class InputLayer(Layer):
    """The entry point of a model: holds the symbolic input tensor."""

    def __init__(self, input_shape=None, batch_size=None, dtype=None, input_tensor=None,
                 sparse=None, name=None, batch_input_shape=None, shape=None, batch_shape=None,
                 ragged=None, optional=None, **kwargs):
        # saved Keras 2/3 configs carry these flags; only their off value is supported
        for flag, value in (("sparse", sparse), ("ragged", ragged), ("optional", optional)):
            if value:
                raise ValueError(f"InputLayer: {flag}=True inputs are not supported, received "
                                 f"{flag}={value!r}.")
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None and input_tensor is None:
                raise ValueError("InputLayer: give `shape` (without the batch axis) or "
                                 "`batch_shape`.")
            if shape is not None:
                if isinstance(shape, int):
                    shape = (shape,)
                batch_shape = (batch_size,) + tuple(shape)
        if input_tensor is not None:
            batch_shape = input_tensor.shape
        super().__init__(name=name or None, dtype=dtype, **kwargs)
        if name is None:
            # Keras names inputs input_1, input_2, ...
            self.name = _next_input_name()
        self._batch_input_shape = tuple(batch_shape)
        self.built = True
        tensor = KerasTensor(batch_shape, self.dtype, name=self.name)
        Node(self, [], tensor, {})
        tensor.name = self.name

    @property
    def batch_shape(self):
        return self._batch_input_shape

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "name": self.name}


def _next_input_name():
    from .base import unique_name
    name = unique_name("input")
    # unique_name gives input, input_1, ...; Keras 2 counts inputs from 1
    return "input_1" if name == "input" else f"input_{int(name.rsplit('_', 1)[1]) + 1}"


def Input(shape=None, batch_size=None, name=None, dtype=None, sparse=None, tensor=None,
          batch_shape=None, **kwargs):
    """A symbolic input tensor: ``Input(shape=(32,))`` has shape ``(None, 32)``."""
    layer = InputLayer(input_shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                       input_tensor=tensor, batch_shape=batch_shape, **kwargs)
    return layer._inbound_nodes[0].outputs


class Dense(Layer):
    """``activation(dot(x, kernel) + bias)`` over the last axis of ``x``."""

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        # Keras 3 configs carry these; LoRA and quantization would change the computation
        if lora_rank or quantization_config is not None:
            raise ValueError(f"Dense '{self.name}': LoRA and quantization are not supported, "
                             f"received lora_rank={lora_rank!r}, "
                             f"quantization_config={quantization_config!r}.")
        self.units = _positive_int(f"Dense '{self.name}'", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense '{self.name}': the last axis of the input must be known, "
                             f"received input shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight(name="bias", shape=(self.units,),
                                    initializer=self.bias_initializer,
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    def call(self, inputs):
        fused = _FUSED_ACTIVATIONS.get(self.activation)
        if fused is not None:  # one op: GEMM, bias and activation, one backward pass
            return ops.dense_bias_activation(inputs, self.kernel, self.bias, fused)
        return self.activation(ops.linear(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": _maybe(regularizers.serialize, self.kernel_regularizer),
                "bias_regularizer": _maybe(regularizers.serialize, self.bias_regularizer),
                "activity_regularizer": _maybe(regularizers.serialize,
                                               self.activity_regularizer),
                "kernel_constraint": _maybe(constraints.serialize, self.kernel_constraint),
                "bias_constraint": _maybe(constraints.serialize, self.bias_constraint)}


# the activations ops.dense_bias_activation computes itself (each exactly as its function)
_FUSED_ACTIVATIONS = {activations.linear: "linear", activations.relu: "relu",
                      activations.sigmoid: "sigmoid", activations.tanh: "tanh",
                      activations.softmax: "softmax"}


def _maybe(fn, value):
    return None if value is None else fn(value)


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Inverted dropout: in training, zero a ``rate`` fraction and scale the rest by
    ``1 / (1 - rate)``; at inference, the identity."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': invalid value received for "
                             f"argument `rate`. Expected a float value between 0 and 1. "
                             f"Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True
        self._rng = None

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self._rng is None:
            self._rng = _backend().rng(self.seed)
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(s if n is None else n for s, n in zip(shape, self.noise_shape))
        if self.rate == 1:
            return inputs * 0.0
        # the draws become the multiplier (0 or 1 / (1 - rate)) in place: one array, and the
        # backward is one multiply by it
        scale = dropout_multiplier(self._rng.random(shape, dtype=inputs.dtype), self.rate)
        return ops.multiply(inputs, scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
                "seed": self.seed}


def _standardize_data_format(layer, value):
    value = config.image_data_format() if value is None else value
    if value not in config.VALID_DATA_FORMATS:
        raise ValueError(f"{layer}: invalid data_format {value!r}. Valid choices: "
                         f"{', '.join(config.VALID_DATA_FORMATS)}.")
    return value


class Flatten(Layer):
    """Collapse every axis but the batch axis; channels_first inputs are flattened in
    channels_last order, as Keras does, so weights stay interchangeable."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _standardize_data_format(f"Flatten '{self.name}'", data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape to ``(batch,) + target_shape``; one entry may be -1."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in target_shape) > 1 or any(d == 0 or d < -1 for d in target_shape):
            raise ValueError(f"Reshape '{self.name}': target_shape may hold positive sizes and "
                             f"at most one -1, received {target_shape}.")
        self.target_shape = target_shape

    def _resolve(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            if -1 in self.target_shape:
                return tuple(None if d == -1 else d for d in self.target_shape)
            return self.target_shape
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(self._mismatch(rest))
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            raise ValueError(self._mismatch(rest))
        return self.target_shape

    def _mismatch(self, rest):
        return (f"Reshape '{self.name}': total size of the new array must be unchanged, "
                f"input shape (without batch) = {tuple(rest)}, target_shape = "
                f"{self.target_shape}")

    def build(self, input_shape):
        self._resolve(input_shape)
        self.built = True

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self._resolve(inputs.shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(input_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Permute the non-batch axes; ``dims`` counts from 1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of "
                             f"1..{len(self.dims)}, received {self.dims}.")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """``(batch, features)`` to ``(batch, n, features)``."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _positive_int(f"RepeatVector '{self.name}'", "n", n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Masking(Layer):
    """Mask the timesteps whose features all equal ``mask_value``: their outputs are 0 and
    the output mask (``(batch, timesteps)``, False there) makes recurrent layers skip them."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = ops.multiply(inputs, ops.cast(keep, inputs.dtype))
        outputs._keras_mask = ops.squeeze(keep, -1)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


from .lambda_layer import Lambda  # noqa: E402,F401  (Keras 2's keras.layers.core.Lambda)
