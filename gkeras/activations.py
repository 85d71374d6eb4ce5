"""Activation functions, by name (``Dense(3, activation='relu')``) or as functions."""
import math

from . import ops
from .serialization import get_custom_objects

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def linear(x):
    return ops.convert_to_tensor(x)


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0, alpha=None):
    """Rectified linear unit with Keras's optional leak, ceiling and threshold (``alpha`` is
    Keras 2's name of ``negative_slope``)."""
    if alpha is not None:
        negative_slope = alpha
    if negative_slope == 0 and max_value is None and threshold == 0:
        return ops.relu(x)
    x = ops.convert_to_tensor(x)
    negative_part = ops.relu(-x + threshold) if threshold != 0 else ops.relu(-x)
    if threshold != 0:
        out = x * ops.cast(ops.greater(x, threshold), x.dtype)
    else:
        out = ops.relu(x)
    if max_value is not None:
        out = ops.clip(out, 0.0, max_value)
    if negative_slope != 0:
        out = out - negative_slope * negative_part
    return out


def relu6(x):
    return ops.minimum(ops.relu(x), 6.0)


def leaky_relu(x, negative_slope=0.2):
    x = ops.convert_to_tensor(x)
    return ops.maximum(x, negative_slope * x) if negative_slope <= 1 else \
        ops.minimum(x, negative_slope * x)


def sigmoid(x):
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Keras 2's piecewise-linear sigmoid: ``clip(0.2 * x + 0.5, 0, 1)`` (the guide's form)."""
    return ops.clip(0.2 * ops.convert_to_tensor(x) + 0.5, 0.0, 1.0)


def keras3_hard_sigmoid(x):
    """Keras 3's ``hard_sigmoid``: ``relu6(x + 3) / 6``. Files written by Keras 3 that name
    ``hard_sigmoid`` load with this function (the file's ``keras_version`` decides)."""
    return relu6(ops.convert_to_tensor(x) + 3.0) / 6.0


def hard_silu(x):
    """``x * relu6(x + 3) / 6`` (Keras 3)."""
    x = ops.convert_to_tensor(x)
    return x * relu6(x + 3.0) / 6.0


hard_swish = hard_silu
keras2_hard_sigmoid = hard_sigmoid


def tanh(x):
    return ops.tanh(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    x = ops.convert_to_tensor(x)
    # expm1 of min(x, 0) only: the unused branch must not overflow into the gradient
    return ops.where(ops.greater(x, 0), x, alpha * ops.expm1(ops.minimum(x, 0.0)))


def selu(x):
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def softplus(x):
    return ops.softplus(x)


def softsign(x):
    return ops.softsign(x)


def silu(x):
    x = ops.convert_to_tensor(x)
    return x * ops.sigmoid(x)


swish = silu


def gelu(x, approximate=False):
    """Exact ``0.5 x (1 + erf(x / sqrt 2))``; ``approximate=True`` for the tanh form."""
    x = ops.convert_to_tensor(x)
    if approximate:
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1.0 + ops.tanh(inner))
    return 0.5 * x * (1.0 + ops.erf(x * (1 / math.sqrt(2))))


def mish(x):
    x = ops.convert_to_tensor(x)
    return x * ops.tanh(ops.softplus(x))


def exponential(x):
    return ops.exp(x)


_ACTIVATIONS = {
    "linear": linear, "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu,
    "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "hard_silu": hard_silu,
    "hard_swish": hard_swish, "tanh": tanh, "softmax": softmax, "log_softmax": log_softmax,
    "elu": elu, "selu": selu, "softplus": softplus, "softsign": softsign, "silu": silu,
    "swish": swish, "gelu": gelu, "mish": mish, "exponential": exponential,
    "keras3_hard_sigmoid": keras3_hard_sigmoid,
    "keras2_hard_sigmoid": hard_sigmoid,  # the name '.keras' archives use for Keras 2's
}


def serialize(activation):
    for name, fn in _ACTIVATIONS.items():
        if fn is activation:
            return "swish" if name == "silu" else name
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize activation {activation!r}: it has no name.")
    return name


def deserialize(name, custom_objects=None):
    return get(name if custom_objects is None or name not in custom_objects
               else custom_objects[name])


def get(identifier):
    """An activation function from a name, a function, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier in get_custom_objects():
            return get_custom_objects()[identifier]
        if identifier not in _ACTIVATIONS:
            raise ValueError(f"Unknown activation {identifier!r}. Valid names: "
                             f"{', '.join(sorted(_ACTIVATIONS))}.")
        return _ACTIVATIONS[identifier]
    if isinstance(identifier, dict):  # Keras's {'class_name': 'function', 'config': 'relu'}
        name = identifier.get("config", identifier.get("class_name"))
        if not isinstance(name, str):
            raise ValueError(f"Could not interpret activation {identifier!r}: expected a "
                             "serialized activation function such as {'class_name': "
                             "'function', 'config': 'relu'}; activation objects (layers) "
                             "are not supported.")
        return get(name)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation {identifier!r}: expected a name or "
                     "a function.")
