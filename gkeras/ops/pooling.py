"""Max and average pooling ops (1-D and 2-D), Keras 3's ``keras.ops.max_pool`` and
``keras.ops.average_pool``.

Both pool through the backend's 2-D primitives; a 1-D input gets a height-1 axis, as Keras
on TensorFlow does. ``'same'`` padding is TensorFlow's: output ``ceil(n / s)``, total pad
``max((out - 1) * s + k - n, 0)``, the odd padded pixel at the end.
"""
import math
import numbers

from .. import config
from ..autograd import result
from ..backends import current as _backend
from .core import _t


__all__ = ["average_pool", "max_pool"]

VALID_PADDINGS = ("valid", "same")


def normalize_tuple(owner, name, value, rank):
    """``value`` (an int or ``rank`` ints) as a tuple of ``rank`` positive Python ints."""
    items = (value,) * rank if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != rank or not all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
            for v in items):
        raise ValueError(f"{owner}: `{name}` must be a positive integer or a tuple of {rank} "
                         f"positive integers, received {name}={value!r}.")
    return tuple(int(v) for v in items)


def normalize_padding(owner, padding):
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in VALID_PADDINGS:
        raise ValueError(f"{owner}: `padding` must be one of {', '.join(VALID_PADDINGS)}, "
                         f"received padding={padding!r}.")
    return value


def normalize_data_format(owner, data_format):
    value = config.image_data_format() if data_format is None else data_format
    if value not in config.VALID_DATA_FORMATS:
        raise ValueError(f"{owner}: `data_format` must be one of "
                         f"{', '.join(config.VALID_DATA_FORMATS)}, received "
                         f"data_format={data_format!r}.")
    return value


def pooled_length(size, pool, stride, padding):
    """Output length along one axis (None stays None); below 1 means the window never fits."""
    if size is None:
        return None
    if padding == "same":
        return math.ceil(size / stride)
    return (size - pool) // stride + 1


def same_pads(size, pool, stride):
    """TensorFlow's 'same' padding along one axis: ``(before, after)``, the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + pool - size, 0)
    return total // 2, total - total // 2


class _Pooling:
    """The checked geometry of one pooling call, in the backend's 2-D terms."""

    def __init__(self, op, shape, pool_size, strides, padding, data_format):
        if len(shape) not in (3, 4):
            raise ValueError(f"{op}: expected a 3-D input (batch, steps, channels) for 1-D "
                             f"pooling or a 4-D input for 2-D pooling, received an input of "
                             f"shape {tuple(shape)}.")
        rank = len(shape) - 2
        pool_size = normalize_tuple(op, "pool_size", pool_size, rank)
        strides = pool_size if strides is None else normalize_tuple(op, "strides", strides,
                                                                    rank)
        padding = normalize_padding(op, padding)
        self.channels_last = normalize_data_format(op, data_format) == "channels_last"
        spatial = shape[1:-1] if self.channels_last else shape[2:]
        for size, pool, stride in zip(spatial, pool_size, strides):
            if pooled_length(size, pool, stride, padding) < 1:
                raise ValueError(f"{op}: pool_size {pool_size} does not fit the input's "
                                 f"spatial shape {tuple(spatial)} with padding='valid' "
                                 f"(input shape {tuple(shape)}).")
        pads = [same_pads(size, pool, stride) if padding == "same" else (0, 0)
                for size, pool, stride in zip(spatial, pool_size, strides)]
        # 1-D: a height-1 axis in front of the steps; window height 1, no vertical padding
        self.lifted_axis = None if rank == 2 else (1 if self.channels_last else 2)
        if rank == 1:
            pool_size, strides, pads = (1,) + pool_size, (1,) + strides, [(0, 0)] + pads
        self.pool_size, self.strides, self.padding = pool_size, strides, tuple(pads)

    def to_2d(self, array):
        return array if self.lifted_axis is None else _backend().xp.expand_dims(
            array, self.lifted_axis)

    def from_2d(self, array):
        return array if self.lifted_axis is None else _backend().xp.squeeze(
            array, self.lifted_axis)

    def args(self):
        return self.pool_size, self.strides, self.padding, self.channels_last


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over a 3-D (1-D pooling) or 4-D (2-D pooling) input.

    ``strides=None`` means ``pool_size``; ``data_format=None`` is
    ``gkeras.config.image_data_format()``. The gradient goes to the first maximal entry of
    each window (row-major order within the window) when there are ties.
    """
    x = _t(inputs)
    geometry = _Pooling("max_pool", x.shape, pool_size, strides, padding, data_format)
    backend = _backend()
    x2 = geometry.to_2d(x.value)
    y, argmax = backend.max_pool(x2, *geometry.args())

    def backward(g):
        dx = backend.max_pool_backward(geometry.to_2d(g), argmax, x2.shape, *geometry.args())
        return (geometry.from_2d(dx),)
    return result(geometry.from_2d(y), (x,), backward)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over a 3-D (1-D pooling) or 4-D (2-D pooling) input.

    With ``padding='same'`` each window's mean is over its real (non-padded) entries, as in
    Keras/TensorFlow. Integer inputs give float64 means.
    """
    x = _t(inputs)
    geometry = _Pooling("average_pool", x.shape, pool_size, strides, padding, data_format)
    backend = _backend()
    x2 = geometry.to_2d(x.value)
    y = backend.avg_pool(x2, *geometry.args())

    def backward(g):
        dx = backend.avg_pool_backward(geometry.to_2d(g), x2.shape, *geometry.args())
        return (geometry.from_2d(dx),)
    return result(geometry.from_2d(y), (x,), backward)
