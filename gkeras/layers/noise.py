"""Noise and regularization layers, all the identity at inference: GaussianNoise,
GaussianDropout, AlphaDropout, SpatialDropout1D/2D/3D; ActivityRegularization; Identity."""
import math
import numbers

from .. import ops, regularizers
from ..backends import current as _backend
from .base import InputSpec, Layer
from .core import Dropout, _standardize_data_format

# SELU's constants (Klambauer et al. 2017), as Keras
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _rate(owner, rate, maximum=1.0):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or \
            not 0 <= rate <= maximum:
        raise ValueError(f"{owner}: invalid value received for argument `rate`. Expected a "
                         f"float value between 0 and {maximum:g}. Received: rate={rate!r}")
    return float(rate)


class _RandomLayer(Layer):
    """A layer that draws noise in training, from its own generator (seeded by ``seed``)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.supports_masking = True
        self._rng = None

    def _owner(self):
        return f"{type(self).__name__} '{self.name}'"

    def _generator(self):
        if self._rng is None:
            self._rng = _backend().rng(self.seed)
        return self._rng

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_RandomLayer):
    """In training, add zero-centred Gaussian noise of standard deviation ``stddev``."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError(f"{self._owner()}: `stddev` must be a non-negative number, "
                             f"received stddev={stddev!r}.")
        self.stddev = float(stddev)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = self._generator().standard_normal(inputs.shape, dtype=inputs.dtype)
        return inputs + noise * self.stddev

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_RandomLayer):
    """In training, multiply by Gaussian noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))``."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(self._owner(), rate)

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = self._generator().standard_normal(inputs.shape, dtype=inputs.dtype)
        return inputs * (noise * stddev + 1.0)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_RandomLayer):
    """Dropout for SELU networks: dropped entries are set to SELU's negative saturation and
    an affine correction keeps the mean and variance (Keras's formulation)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(self._owner(), rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        shape = inputs.shape if self.noise_shape is None else tuple(
            s if n is None else n for s, n in zip(inputs.shape, self.noise_shape))
        kept = self._generator().random(shape, dtype=inputs.dtype) >= self.rate
        kept = ops.cast(kept, inputs.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return (inputs * kept + alpha_p * (1.0 - kept)) * a + b

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class _SpatialDropout(Dropout):
    """Dropout of whole feature maps: one draw per (example, channel), shared along the
    steps/rows/columns, for inputs whose neighbouring entries are correlated."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _standardize_data_format(f"{type(self).__name__} '{self.name}'",
                                                    data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        ones = (1,) * self.rank
        self.noise_shape = (None,) + ones + (None,) if self.data_format == "channels_last" \
            else (None, None) + ones

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """``(batch, steps, channels)`` inputs: each channel is dropped for every step."""

    rank = 1

    def __init__(self, rate, seed=None, **kwargs):
        kwargs.pop("data_format", None)  # always channels_last, as Keras
        super().__init__(rate, data_format="channels_last", seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    rank = 3


class ActivityRegularization(Layer):
    """The identity, adding ``l1 * sum(|x|) + l2 * sum(x^2)`` (divided by the batch size,
    as Keras 3) to the layer's losses on every call."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a model)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape
