"""Spatial reshaping layers: ZeroPadding1D/2D, UpSampling1D/2D (nearest), Cropping1D/2D
(Keras 3 ``keras.layers``; Keras 1/2 spellings ``length`` and ``dim_ordering`` accepted).
Built on ``ops.pad``, ``ops.repeat`` and ``ops.getitem``; they have no weights."""
import numbers

from .. import ops
from ..ops.geometry import normalize_data_format, normalize_tuple
from .base import InputSpec, Layer
from .pooling import legacy_data_format, spatial_axes


def _is_count(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def _pair(label, name, value):
    """An int ``p`` -> ``(p, p)``; two non-negative ints -> themselves, as a tuple."""
    pair = (value, value) if _is_count(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = None
    if pair is None or len(pair) != 2 or not all(_is_count(v) for v in pair):
        raise ValueError(f"{label}: `{name}` must be a non-negative integer or a tuple of 2 "
                         f"non-negative integers, received {name}={value!r}.")
    return tuple(int(v) for v in pair)


def _pairs_2d(label, name, value):
    """``((top, bottom), (left, right))`` from an int, ``(rows, cols)`` symmetric amounts,
    two pairs, or Keras 1's ``(top, bottom, left, right)``."""
    try:
        items = None if _is_count(value) else tuple(value)
    except TypeError:
        items = ()
    if items is None:
        return ((int(value),) * 2,) * 2
    if len(items) == 4 and all(_is_count(v) for v in items):
        return _pair(label, name, items[:2]), _pair(label, name, items[2:])
    if len(items) == 2:
        try:
            return _pair(label, name, items[0]), _pair(label, name, items[1])
        except ValueError:
            pass
    raise ValueError(f"{label}: `{name}` must be an int, a tuple of 2 ints or a tuple of 2 "
                     f"tuples of 2 ints ((top, bottom), (left, right)), received "
                     f"{name}={value!r}.")


class _Spatial(Layer):
    """Shared by the reshaping layers: label, ``data_format`` and the spatial axes."""

    def __init__(self, dimensions, data_format="channels_last", dim_ordering=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(
            legacy_data_format(self._label(), data_format, dim_ordering), self._label())
        self.input_spec = InputSpec(ndim=dimensions + 2)
        self._axes = spatial_axes(self.data_format, dimensions)

    def _label(self):
        return f"{type(self).__name__} '{self.name}'"

    def _resize(self, input_shape, new_length):
        """``input_shape`` with each spatial size ``n`` (not None) replaced by
        ``new_length(i, n)`` for the i-th spatial axis."""
        out = list(input_shape)
        for i, axis in enumerate(self._axes):
            if out[axis] is not None:
                out[axis] = new_length(i, out[axis])
        return tuple(out)


class ZeroPadding1D(_Spatial):
    """Zeros before and after the steps: ``padding`` is an int or ``(before, after)``."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(1, data_format, **kwargs)
        self.padding = _pair(self._label(), "padding", padding)

    def call(self, inputs):
        widths = [(0, 0)] * 3
        widths[self._axes[0]] = self.padding
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        return self._resize(input_shape, lambda i, n: n + sum(self.padding))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class ZeroPadding2D(_Spatial):
    """Zero rows and columns around images: ``padding`` is an int, ``(rows, cols)`` or
    ``((top, bottom), (left, right))``."""

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(2, data_format, **kwargs)
        self.padding = _pairs_2d(self._label(), "padding", padding)

    def call(self, inputs):
        widths = [(0, 0)] * 4
        for axis, pads in zip(self._axes, self.padding):
            widths[axis] = pads
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        return self._resize(input_shape, lambda i, n: n + sum(self.padding[i]))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding,
                "data_format": self.data_format}


class UpSampling1D(_Spatial):
    """Repeat each step ``size`` times: ``(batch, steps, features)`` to
    ``(batch, steps * size, features)``."""

    def __init__(self, size=2, length=None, **kwargs):
        super().__init__(1, "channels_last", **kwargs)
        self.size = normalize_tuple(size if length is None else length, 1, "size",
                                    self._label())[0]

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        return self._resize(input_shape, lambda i, n: n * self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(_Spatial):
    """Repeat rows ``size[0]`` and columns ``size[1]`` times (nearest-neighbour)."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(2, data_format, **kwargs)
        self.size = normalize_tuple(size, 2, "size", self._label())
        if interpolation != "nearest":
            raise ValueError(f"{self._label()}: only interpolation='nearest' is supported, "
                             f"received interpolation={interpolation!r}.")
        self.interpolation = interpolation

    def call(self, inputs):
        for axis, size in zip(self._axes, self.size):
            if size > 1:
                inputs = ops.repeat(inputs, size, axis=axis)
        return inputs

    def compute_output_shape(self, input_shape):
        return self._resize(input_shape, lambda i, n: n * self.size[i])

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class _Cropping(_Spatial):
    def _check_fits(self, input_shape):
        for axis, (before, after) in zip(self._axes, self.cropping):
            size = input_shape[axis]
            if size is not None and before + after >= size:
                raise ValueError(f"{self._label()}: cropping {self.cropping} must leave at "
                                 f"least one entry of each spatial axis; received input "
                                 f"shape {tuple(input_shape)}.")

    def call(self, inputs):
        self._check_fits(inputs.shape)
        index = [slice(None)] * inputs.ndim
        for axis, (before, after) in zip(self._axes, self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return ops.getitem(inputs, tuple(index))

    def compute_output_shape(self, input_shape):
        self._check_fits(input_shape)
        return self._resize(input_shape, lambda i, n: n - sum(self.cropping[i]))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping1D(_Cropping):
    """Drop ``cropping = (before, after)`` steps (an int crops both ends equally)."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(1, "channels_last", **kwargs)
        self.cropping = (_pair(self._label(), "cropping", cropping),)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping[0]}


class Cropping2D(_Cropping):
    """Drop rows and columns at the image borders: ``cropping`` is an int, ``(rows, cols)``
    or ``((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(2, data_format, **kwargs)
        self.cropping = _pairs_2d(self._label(), "cropping", cropping)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
