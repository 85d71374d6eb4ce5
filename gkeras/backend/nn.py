"""Activations, crossentropies, dropout, bias and batch normalization: ``K.relu``,
``K.categorical_crossentropy``, ``K.dropout``..."""
from .. import activations, losses, ops
from .shapes import _data_format, int_shape

__all__ = [
    "batch_normalization", "bias_add", "binary_crossentropy", "categorical_crossentropy",
    "dropout", "elu", "hard_sigmoid", "normalize_batch_in_training", "relu", "sigmoid",
    "softmax", "softplus", "softsign", "sparse_categorical_crossentropy", "tanh"]


def relu(x, alpha=0., max_value=None, threshold=0.):
    """``x`` above ``threshold`` (else ``alpha * (x - threshold)``), capped at ``max_value``."""
    return activations.relu(x, negative_slope=alpha, max_value=max_value, threshold=threshold)


def elu(x, alpha=1.):
    return activations.elu(x, alpha)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """``clip(0.2 * x + 0.5, 0, 1)``."""
    return activations.hard_sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``-sum(target * log(p), axis)``; probabilities are first divided by their sum along
    ``axis`` and clipped to ``[epsilon, 1 - epsilon]`` (Keras 2). Note the argument order:
    ``target`` first."""
    return losses.categorical_crossentropy(target, output, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The crossentropy of integer ``target``s (any shape holding ``output``'s size without
    its class axis, e.g. ``(batch, 1)``); probabilities are clipped to
    ``[epsilon, 1 - epsilon]``. The result has ``output``'s shape without the class axis."""
    output = ops.convert_to_tensor(output)
    axis = axis % output.ndim
    labels_shape = output.shape[:axis] + output.shape[axis + 1:]
    target = ops.reshape(target, labels_shape)
    return losses.sparse_categorical_crossentropy(target, output, from_logits=from_logits,
                                                  axis=axis)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise ``-(target log(p) + (1 - target) log(1 - p))`` with ``p`` clipped to
    ``[epsilon, 1 - epsilon]``, or computed stably from logits (not averaged: Keras 2's
    backend function)."""
    # the loss averages over a last axis: give it one of size 1
    return losses.binary_crossentropy(ops.expand_dims(target, -1), ops.expand_dims(output, -1),
                                      from_logits=from_logits)


def dropout(x, level, noise_shape=None, seed=None):
    """Zero each entry with probability ``level`` and scale the rest by ``1 / (1 - level)``;
    ``noise_shape`` (broadcast against ``x``) shares one draw along its size-1 axes."""
    x = ops.convert_to_tensor(x)
    if not 0 <= level < 1:
        raise ValueError(f"dropout: level must lie in [0, 1), received {level!r}.")
    shape = x.shape if noise_shape is None else tuple(
        x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    kept = ops.greater_equal(ops.random_uniform(shape, dtype=x.dtype, seed=seed), level)
    return x * ops.cast(kept, x.dtype) * (1.0 / (1.0 - level))


def bias_add(x, bias, data_format=None):
    """``x + bias`` along the channel axis: ``bias`` is ``(channels,)`` or has ``x``'s shape
    without the batch axis (Keras 2's layouts for each ``data_format``)."""
    data_format = _data_format(data_format)
    x = ops.convert_to_tensor(x)
    bias_shape = int_shape(bias)
    if len(bias_shape) not in (1, x.ndim - 1):
        raise ValueError(f"bias_add: unexpected bias dimensions {len(bias_shape)}, expected 1 "
                         f"or {x.ndim - 1} for an input of shape {x.shape}.")
    if data_format == "channels_first" and x.ndim > 2:
        if len(bias_shape) == 1:
            shape = (1, bias_shape[0]) + (1,) * (x.ndim - 2)
        else:  # a bias laid out channels-last, (spatial..., channels)
            shape = (1, bias_shape[-1]) + bias_shape[:-1]
        return x + ops.reshape(bias, shape)
    return x + bias


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """``(normed, mean, variance)`` with the batch's statistics over ``reduction_axes``."""
    return ops.normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=epsilon)


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` with per-channel statistics along
    ``axis`` (``beta``/``gamma`` may be None)."""
    return ops.batch_normalization(x, mean, var, axis, offset=beta, scale=gamma,
                                   epsilon=epsilon)
