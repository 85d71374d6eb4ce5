"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization."""
import numbers

from .. import constraints, initializers, ops, regularizers
from .base import InputSpec, Layer


def _serialize(module, value):
    return None if value is None else module.serialize(value)


def _layer_axes(owner, axis, ndim):
    """``axis`` (an int or ints) as sorted non-negative axes of a rank-``ndim`` input,
    excluding the batch axis."""
    items = [axis] if isinstance(axis, numbers.Integral) else list(axis)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral) or not -ndim <= a < ndim:
            raise ValueError(f"{owner}: invalid `axis` {axis!r} for an input of rank {ndim}.")
        out.append(int(a) % ndim)
    if 0 in out or len(set(out)) != len(out):
        raise ValueError(f"{owner}: `axis` must name distinct non-batch axes, received "
                         f"axis={axis!r} for an input of rank {ndim}.")
    return sorted(out)


class _AffineNormalization(Layer):
    """What the three layers share: center/scale flags, gamma/beta initializers,
    regularizers and constraints, and their config."""

    def __init__(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                 beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(epsilon, numbers.Real) or isinstance(epsilon, bool) or epsilon <= 0:
            raise ValueError(f"{self._owner()}: `epsilon` must be a positive number, received "
                             f"epsilon={epsilon!r}.")
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = self.beta = None

    def _owner(self):
        return f"{type(self).__name__} '{self.name}'"

    def _add_gamma_beta(self, shape):
        """gamma then beta, as Keras creates them."""
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape,
                                         initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer,
                                         constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape,
                                        initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer,
                                        constraint=self.beta_constraint)

    def _known_sizes(self, input_shape, axes):
        sizes = [input_shape[a] for a in axes]
        if any(s is None for s in sizes):
            raise ValueError(f"{self._owner()}: the normalized axis {axes} of the input must "
                             f"have a known size, received input shape {tuple(input_shape)}.")
        return sizes

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": _serialize(regularizers, self.beta_regularizer),
                "gamma_regularizer": _serialize(regularizers, self.gamma_regularizer),
                "beta_constraint": _serialize(constraints, self.beta_constraint),
                "gamma_constraint": _serialize(constraints, self.gamma_constraint)}


class BatchNormalization(_AffineNormalization):
    """Normalize each channel (``axis``) with the batch's statistics in training and with
    the moving statistics at inference, then scale by ``gamma`` and shift by ``beta``.

    In training, ``moving = moving * momentum + batch_statistic * (1 - momentum)`` (the
    biased batch variance, as Keras 3). Weights: ``gamma, beta, moving_mean,
    moving_variance`` (the last two non-trainable). ``trainable = False`` puts the layer in
    inference mode even in training, as Keras 3 (and TF 2 Keras) do. ``axis`` may also be a
    list of adjacent axes (Keras 2).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, fused=None, virtual_batch_size=None,
                 adjustment=None, **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        # saved Keras 2/3 configs carry these; only their off values are supported
        # (fused is an implementation choice, synchronized has one device to sync)
        for flag, value in (("renorm", renorm), ("virtual_batch_size", virtual_batch_size),
                            ("adjustment", adjustment)):
            if value:
                raise ValueError(f"{self._owner()}: {flag} is not supported, received "
                                 f"{flag}={value!r}.")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or \
                not 0 <= momentum <= 1:
            raise ValueError(f"{self._owner()}: `momentum` must be a number in [0, 1], "
                             f"received momentum={momentum!r}.")
        self.momentum = float(momentum)
        self.synchronized = bool(synchronized)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        ndim = len(input_shape)
        axes = _layer_axes(self._owner(), self.axis, ndim)
        if axes != list(range(axes[0], axes[-1] + 1)):
            raise ValueError(f"{self._owner()}: the axes in `axis` must be adjacent, received "
                             f"axis={self.axis!r}.")
        sizes = self._known_sizes(input_shape, axes)
        # Keras 2's multi-axis parameters broadcast against the input; one axis: (c,)
        shape = tuple(sizes) if len(axes) == 1 else tuple(
            input_shape[a] if a in axes else 1 for a in range(ndim))
        self._channel_axes = axes
        self._reduction_axes = [a for a in range(ndim) if a not in axes]
        self._add_gamma_beta(shape)
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape,
                                           initializer=self.moving_mean_initializer,
                                           trainable=False, autocast=False)
        # autocast=False (Keras 3): the statistics are read in float32 under mixed precision
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer=self.moving_variance_initializer,
                                               trainable=False, autocast=False)
        self.input_spec = InputSpec(ndim=ndim, axes={a: input_shape[a] for a in axes})
        self.built = True

    def call(self, inputs, training=False, mask=None):
        if training and self.trainable:
            if mask is not None:
                outputs, mean, variance = self._masked_training(inputs, mask)
            else:
                outputs, mean, variance = ops.normalize_batch_in_training(
                    inputs, self.gamma, self.beta, self._reduction_axes, self.epsilon)
            self._update_moving(self.moving_mean, mean)
            self._update_moving(self.moving_variance, variance)
            return outputs
        return ops.batch_normalization(inputs, self.moving_mean, self.moving_variance,
                                       self._channel_axes, self.beta, self.gamma, self.epsilon)

    def _update_moving(self, variable, statistic):
        statistic = ops.reshape(ops.stop_gradient(statistic), variable.shape)
        variable.assign(variable * self.momentum + statistic * (1.0 - self.momentum))

    def _masked_training(self, inputs, mask):
        """Keras 3's masked moments: only unmasked steps count (mask: the input's shape
        without its last axis)."""
        if mask.ndim != inputs.ndim - 1:
            raise ValueError(f"{self._owner()}: the mask must have one axis less than the "
                             f"inputs, received mask shape {tuple(mask.shape)} and input "
                             f"shape {tuple(inputs.shape)}.")
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        axes = tuple(self._reduction_axes)
        total = ops.sum(weights, axis=axes, keepdims=True) + 1e-7
        mean = ops.sum(weights * inputs, axis=axes, keepdims=True) / total
        variance = ops.sum(weights * ops.square(weights * inputs - mean), axis=axes,
                           keepdims=True) / total
        outputs = ops.batch_normalization(inputs, mean, variance, self._channel_axes,
                                          self.beta, self.gamma, self.epsilon)
        return outputs, mean, variance

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer),
                "synchronized": self.synchronized, "renorm": False, "renorm_clipping": None,
                "renorm_momentum": 0.99}


class LayerNormalization(_AffineNormalization):
    """Normalize each example over ``axis`` (an int or ints), then scale by ``gamma`` and
    shift by ``beta``, both shaped like the normalized axes."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if rms_scaling:
            raise ValueError(f"{self._owner()}: rms_scaling (deprecated in Keras 3) is not "
                             "supported, received rms_scaling=True.")

    def build(self, input_shape):
        axes = _layer_axes(self._owner(), self.axis, len(input_shape))
        self._axes = axes
        self._add_gamma_beta(tuple(self._known_sizes(input_shape, axes)))
        self.input_spec = InputSpec(ndim=len(input_shape),
                                    axes={a: input_shape[a] for a in axes})
        self.built = True

    def call(self, inputs):
        return ops.layer_normalization(inputs, self.gamma, self.beta, self._axes, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config["rms_scaling"] = False
        return config


class GroupNormalization(_AffineNormalization):
    """Split the channels (``axis``) into ``groups`` and normalize each example's groups
    over the group's channels and every other non-batch axis; ``gamma``/``beta`` are per
    channel. ``groups=-1`` (or the channel count) is instance normalization, ``groups=1``
    layer normalization over all non-batch axes."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint,
                         **kwargs)
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or \
                (groups < 1 and groups != -1):
            raise ValueError(f"{self._owner()}: `groups` must be a positive integer or -1, "
                             f"received groups={groups!r}.")
        if not isinstance(axis, numbers.Integral):
            raise ValueError(f"{self._owner()}: `axis` must be one integer, received "
                             f"axis={axis!r}.")
        self.groups = int(groups)

    def build(self, input_shape):
        ndim = len(input_shape)
        (axis,) = _layer_axes(self._owner(), self.axis, ndim)
        (channels,) = self._known_sizes(input_shape, [axis])
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(f"{self._owner()}: the {channels} channels of axis {axis} "
                             f"cannot be split into groups={self.groups} equal groups "
                             f"(input shape {tuple(input_shape)}).")
        self._channel_axis, self._group_count = axis, groups
        self._add_gamma_beta((channels,))
        self.input_spec = InputSpec(ndim=ndim, axes={axis: channels})
        self.built = True

    def call(self, inputs):
        axis, groups = self._channel_axis, self._group_count
        shape = tuple(inputs.shape)
        grouped = ops.reshape(inputs, shape[:axis] + (groups, shape[axis] // groups)
                              + shape[axis + 1:])
        reduced = tuple(a for a in range(1, grouped.ndim) if a != axis)
        outputs = ops.reshape(ops.layer_normalization(grouped, axis=reduced,
                                                      epsilon=self.epsilon), shape)
        broadcast = tuple(shape[a] if a == axis else 1 for a in range(len(shape)))
        if self.gamma is not None:
            outputs = outputs * ops.reshape(self.gamma, broadcast)
        if self.beta is not None:
            outputs = outputs + ops.reshape(self.beta, broadcast)
        return outputs

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}
