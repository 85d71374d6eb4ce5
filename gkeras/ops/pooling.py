"""Max and average pooling ops (1-D and 2-D), Keras 3's ``keras.ops.max_pool`` and
``keras.ops.average_pool``.

Both pool through the backend's 2-D primitives; a 1-D input gets a height-1 axis, as Keras
on TensorFlow does. ``'same'`` padding is TensorFlow's: output ``ceil(n / s)``, total pad
``max((out - 1) * s + k - n, 0)``, the odd padded pixel at the end.
"""
from ..autograd import result
from ..backends import current as _backend
from .core import _t
from .geometry import (conv_output_length, normalize_data_format, normalize_padding,
                       normalize_tuple, padding_amounts)


__all__ = ["average_pool", "max_pool"]

class _Pooling:
    """The checked geometry of one pooling call, in the backend's 2-D terms."""

    def __init__(self, op, shape, pool_size, strides, padding, data_format):
        if len(shape) not in (3, 4):
            raise ValueError(f"{op}: expected a 3-D input (batch, steps, channels) for 1-D "
                             f"pooling or a 4-D input for 2-D pooling, received an input of "
                             f"shape {tuple(shape)}.")
        rank = len(shape) - 2
        pool_size = normalize_tuple(pool_size, rank, "pool_size", op)
        strides = pool_size if strides is None else normalize_tuple(strides, rank, "strides", op)
        padding = normalize_padding(padding, rank, op, ("valid", "same"))
        self.channels_last = normalize_data_format(data_format, op) == "channels_last"
        spatial = shape[1:-1] if self.channels_last else shape[2:]
        for size, pool, stride in zip(spatial, pool_size, strides):
            if conv_output_length(size, pool, stride, 1, padding) < 1:
                raise ValueError(f"{op}: pool_size {pool_size} does not fit the input's "
                                 f"spatial shape {tuple(spatial)} with padding='valid' "
                                 f"(input shape {tuple(shape)}).")
        pads = [padding_amounts(size, pool, stride, 1, padding)
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
