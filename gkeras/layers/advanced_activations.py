"""Activation layers with arguments or weights: ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU,
Softmax (Keras 2's ``keras.layers.advanced_activations``; in Keras 3 ``keras.layers``)."""
import numbers

from .. import activations, constraints, initializers, ops, regularizers
from .base import InputSpec, Layer


def _number(owner, name, value, minimum=None, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{owner}: `{name}` must be a number{bound}, received "
                         f"{name}={value!r}.")
    return float(value)


class _ElementwiseActivation(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _owner(self):
        return f"{type(self).__name__} '{self.name}'"

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_ElementwiseActivation):
    """``max_value`` caps the output; below ``threshold`` the output is
    ``negative_slope * (x - threshold)``, above it ``x``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(self._owner(), "max_value", max_value, 0, allow_none=True)
        self.negative_slope = _number(self._owner(), "negative_slope", negative_slope, 0)
        self.threshold = _number(self._owner(), "threshold", threshold)

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_ElementwiseActivation):
    """``x`` for ``x >= 0``, ``negative_slope * x`` below. Keras 2 named the slope ``alpha``
    (accepted; same default 0.3); configs carry Keras 3's ``negative_slope``."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        slope = negative_slope if alpha is None else alpha
        self.negative_slope = _number(self._owner(), "negative_slope", slope, 0)

    @property
    def alpha(self):
        return self.negative_slope

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(_ElementwiseActivation):
    """``x`` for ``x >= 0``, ``alpha * x`` below, with a learned ``alpha`` per input entry
    (the batch axis excluded); ``shared_axes`` (counted from 1) share one alpha along them,
    e.g. ``shared_axes=[1, 2]`` for one alpha per channel of (batch, h, w, c) images."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            items = [shared_axes] if isinstance(shared_axes, numbers.Integral) else \
                list(shared_axes)
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1
                       for a in items):
                raise ValueError(f"{self._owner()}: `shared_axes` must be positive axis "
                                 f"numbers (the batch axis is 0), received "
                                 f"shared_axes={shared_axes!r}.")
            self.shared_axes = [int(a) for a in items]

    def build(self, input_shape):
        ndim = len(input_shape)
        shared = self.shared_axes or []
        if any(a >= ndim for a in shared):
            raise ValueError(f"{self._owner()}: shared_axes={self.shared_axes} out of range "
                             f"for input shape {tuple(input_shape)}.")
        shape = [1 if a in shared else input_shape[a] for a in range(1, ndim)]
        if any(s is None for s in shape):
            raise ValueError(f"{self._owner()}: every axis without a shared alpha must have "
                             f"a known size, received input shape {tuple(input_shape)}; "
                             "share the unknown ones with `shared_axes`.")
        self.alpha = self.add_weight(name="alpha", shape=tuple(shape),
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        self.input_spec = InputSpec(ndim=ndim, axes={a: input_shape[a] for a in range(1, ndim)
                                                     if a not in shared})
        self.built = True

    def call(self, inputs):
        # Keras's formulation: relu(x) - alpha * relu(-x)
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": None if self.alpha_regularizer is None
                else regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": None if self.alpha_constraint is None
                else constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(_ElementwiseActivation):
    """``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` below."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(self._owner(), "alpha", alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(_ElementwiseActivation):
    """``x`` for ``x > theta``, 0 elsewhere (Keras 2; Keras 3 has ``ReLU(threshold=...)``,
    which differs: it keeps the negative side's slope)."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _number(self._owner(), "theta", theta, 0)

    def call(self, inputs):
        return ops.where(ops.greater(inputs, self.theta), inputs, 0.0)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class Softmax(_ElementwiseActivation):
    """Softmax along ``axis`` (an int or ints). A ``mask`` (broadcastable to the input, True
    where valid, passed in the call) gives masked entries probability 0, as Keras 3."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs, mask=None):
        if mask is not None:
            # Keras 3's large negative number for float32: exp() of it is exactly 0
            inputs = inputs + (1.0 - ops.cast(mask, inputs.dtype)) * -1e9
        if isinstance(self.axis, list) and len(self.axis) > 1:
            axis = tuple(self.axis)
            outputs = ops.exp(inputs - ops.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, list) else self.axis
            outputs = ops.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = outputs * ops.cast(mask, outputs.dtype)
        return outputs

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
