"""Merge layers (Keras 3 ``keras/src/layers/merging``): Add, Subtract, Multiply, Average,
Maximum, Minimum, Concatenate, Dot and their functional forms ``add``, ..., ``dot``."""
import numbers

from .. import config, ops
from ..autograd import Tensor
from ..backends import current as _backend
from .base import Layer


def _shapes_str(shapes):
    return " and ".join(str(tuple(s)) for s in shapes) if shapes else "(none)"


def _mask_value(mask):
    """The backend boolean array of a mask given as a Tensor or an array."""
    return mask.value if isinstance(mask, Tensor) else _backend().asarray(mask)


def _any_last_axis(mask):
    return Tensor(_backend().xp.any(_mask_value(mask), axis=-1))


def _mask_like(mask, x):
    """``mask`` broadcast to the shape of ``x`` (a lower-rank mask gets a trailing axis)."""
    mask = ops.convert_to_tensor(_mask_value(mask))
    if mask.ndim < x.ndim:
        mask = ops.expand_dims(mask, -1)
    return ops.broadcast_to(mask, x.shape)


def _l2_normalize(x, axis):
    """``x * rsqrt(max(sum(x**2), eps**2))`` along ``axis``, as ``keras.ops.normalize``."""
    epsilon = config.epsilon()
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(square_sum, epsilon * epsilon))


class Merge(Layer):
    """Base of the elementwise merge layers: validates shapes, broadcasts, merges masks."""

    _exact_input_count = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _label(self):
        return f"{type(self).__name__} layer '{self.name}'"

    def _merge_function(self, inputs):
        raise NotImplementedError

    def _check_input_list(self, input_shape):
        """Raise unless ``input_shape`` is a list of (at least / exactly) 2 shapes."""
        # an empty tuple is the shape of one scalar input; an empty list is no inputs
        is_list = isinstance(input_shape, (list, tuple)) and \
            all(isinstance(s, (list, tuple)) for s in input_shape) and \
            (isinstance(input_shape, list) or bool(input_shape))
        if not is_list:
            raise ValueError(f"{self._label()} should be called on a list of inputs. "
                             f"Received a single input of shape {tuple(input_shape)}.")
        count = len(input_shape)
        if self._exact_input_count is not None and count != self._exact_input_count:
            raise ValueError(f"{self._label()} should be called on exactly "
                             f"{self._exact_input_count} inputs. Received {count} input(s) "
                             f"with shape(s) {_shapes_str(input_shape)}.")
        if count < 2:
            raise ValueError(f"{self._label()} should be called on a list of at least 2 "
                             f"inputs. Received {count} input(s) with shape(s) "
                             f"{_shapes_str(input_shape)}.")

    def _check_batch_sizes(self, input_shape):
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"{self._label()} cannot merge tensors with different batch "
                             f"sizes. Received tensors with shapes {_shapes_str(input_shape)}.")
        return batch_sizes.pop() if batch_sizes else None

    def _compute_elemwise_op_output_shape(self, shape1, shape2, input_shape=()):
        """The broadcast of two shapes (batch axis excluded), aligned on their last axes."""
        if len(shape1) < len(shape2):
            return self._compute_elemwise_op_output_shape(shape2, shape1, input_shape)
        if not shape2:
            return tuple(shape1)
        output_shape = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                output_shape.append(None)
            elif i == 1:
                output_shape.append(j)
            elif j == 1 or i == j:
                output_shape.append(i)
            else:
                raise ValueError(
                    f"{self._label()}: inputs have incompatible shapes. Received shapes "
                    f"{_shapes_str(input_shape or [shape1, shape2])} (sizes {i} and {j} "
                    "differ and neither is 1).")
        return tuple(output_shape)

    def _validated_output_shape(self, input_shape):
        self._check_input_list(input_shape)
        batch_size = self._check_batch_sizes(input_shape)
        output_shape = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            output_shape = self._compute_elemwise_op_output_shape(
                output_shape, tuple(shape[1:]), input_shape)
        return (batch_size,) + output_shape

    def build(self, input_shape):
        self._validated_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return self._validated_output_shape(input_shape)

    def call(self, inputs):
        self._validated_output_shape([x.shape for x in inputs])
        max_ndim = max(x.ndim for x in inputs)
        if all(x.ndim == max_ndim for x in inputs):
            return self._merge_function(inputs)
        # Lower-rank inputs get size-1 axes after the batch axis, so the others broadcast.
        reshaped = []
        for x in inputs:
            for _ in range(max_ndim - x.ndim):
                x = ops.expand_dims(x, 1)
            reshaped.append(x)
        return self._merge_function(reshaped)

    def _apply_merge_op_and_or_mask(self, op_fn, inputs):
        """Fold ``op_fn`` over ``inputs``; a masked-out entry takes the other operand's value.

        Used by Maximum and Minimum, which have no identity element. The output mask is
        the OR of the input masks (None unless every input has one).
        """
        output = output_mask = None
        for x in inputs:
            mask = x._keras_mask
            if mask is not None:
                mask = _mask_like(mask, x)
            if output is None:
                output, output_mask = x, mask
                continue
            if mask is not None:
                x = ops.where(mask, x, output)
            if output_mask is not None:
                output = ops.where(output_mask, output, x)
            if mask is not None and output_mask is not None:
                output_mask = ops.logical_or(output_mask, mask)
            else:
                output_mask = None
            output = op_fn(output, x)
        if output_mask is not None:
            output._keras_mask = _any_last_axis(output_mask)
        return output

    def compute_mask(self, inputs, mask=None):
        """The OR of the input masks, or None when any input has no mask (as Keras 3)."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or \
                len(mask) != len(inputs):
            raise ValueError(f"{self._label()}: `inputs` and `mask` should be lists of the "
                             f"same length. Received: mask={mask!r}")
        if any(m is None for m in mask):
            return None
        output_mask = mask[0]
        for m in mask[1:]:
            output_mask = ops.logical_or(_mask_value(output_mask), _mask_value(m))
        return output_mask


class Add(Merge):
    """Elementwise sum of a list of inputs (broadcast as Keras)."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output


class Subtract(Merge):
    """``inputs[0] - inputs[1]``; takes exactly two inputs."""

    _exact_input_count = 2

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """Elementwise product; masked-out entries count as 1, then the output is 0 there."""

    def _merge_function(self, inputs):
        masks = [x._keras_mask for x in inputs]
        has_output_mask = all(m is not None for m in masks)
        output = output_mask = None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = _mask_like(mask, x)
                x = ops.where(mask, x, ops.ones_like(x))
                if has_output_mask:
                    output_mask = mask if output_mask is None else ops.logical_or(output_mask,
                                                                                  mask)
            output = x if output is None else ops.multiply(output, x)
        if has_output_mask:
            output = ops.where(output_mask, output, ops.zeros_like(output))
            output._keras_mask = _any_last_axis(output_mask)
        return output


class Average(Merge):
    """Elementwise mean of a list of inputs."""

    def _merge_function(self, inputs):
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.add(output, x)
        return output / len(inputs)


class Maximum(Merge):
    """Elementwise maximum of a list of inputs."""

    def _merge_function(self, inputs):
        return self._apply_merge_op_and_or_mask(ops.maximum, inputs)


class Minimum(Merge):
    """Elementwise minimum of a list of inputs."""

    def _merge_function(self, inputs):
        return self._apply_merge_op_and_or_mask(ops.minimum, inputs)


class Concatenate(Merge):
    """Concatenation along ``axis``; the other axes must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _validated_output_shape(self, input_shape):
        self._check_input_list(input_shape)
        ranks = {len(s) for s in input_shape}
        rank = len(input_shape[0])
        if len(ranks) == 1 and not -rank <= self.axis < rank:
            raise ValueError(f"{self._label()}: axis={self.axis} is out of range for inputs "
                             f"of rank {rank}. Received shapes {_shapes_str(input_shape)}.")
        axis = self.axis % rank if len(ranks) == 1 else None
        mismatch = len(ranks) != 1 or any(
            len({s[i] for s in input_shape} - {None}) > 1 for i in range(rank) if i != axis)
        if mismatch:
            raise ValueError(f"{self._label()} requires inputs with matching shapes except for "
                             f"the concatenation axis (axis={self.axis}). Received shapes "
                             f"{_shapes_str(input_shape)}.")
        output_shape = list(input_shape[0])
        sizes = [s[axis] for s in input_shape]
        output_shape[axis] = None if None in sizes else sum(sizes)
        return tuple(output_shape)

    def call(self, inputs):
        self._validated_output_shape([x.shape for x in inputs])
        return ops.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Input masks (all-True for unmasked inputs) concatenated, then any over the last
        axis (as Keras 3)."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or not isinstance(inputs, (list, tuple)) or \
                len(mask) != len(inputs):
            raise ValueError(f"{self._label()}: `inputs` and `mask` should be lists of the "
                             f"same length. Received: mask={mask!r}")
        if all(m is None for m in mask):
            return None
        xp = _backend().xp
        masks = [xp.ones(x.shape, dtype=bool) if m is None else _mask_like(m, x).value
                 for x, m in zip(inputs, mask)]
        return Tensor(xp.any(xp.concatenate(masks, axis=self.axis), axis=-1))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _batch_dot(x, y, axes):
    """Keras 3 ``batch_dot``: contract ``x`` axis ``axes[0]`` with ``y`` axis ``axes[1]``
    for each batch entry; a rank-1 result becomes ``(batch, 1)``."""
    x_ndim, y_ndim = x.ndim, y.ndim
    a0, a1 = axes
    # Bring both to rank 3 at least: x as (batch, 1, d), y as (batch, d, 1).
    if x_ndim == 2:
        x = ops.expand_dims(x, 1)
        a0 += 1
    if y_ndim == 2:
        y = ops.expand_dims(y, 2)
    # The contracted axis goes last in x and to position 1 in y.
    if a0 != x.ndim - 1:
        pattern = [i for i in range(x.ndim) if i != a0] + [a0]
        x = ops.transpose(x, pattern)
    if a1 != 1:
        pattern = [0, a1] + [i for i in range(1, y.ndim) if i != a1]
        y = ops.transpose(y, pattern)
    x_mid = x.shape[1:-1]
    y_trail = y.shape[2:]
    x = ops.reshape(x, (x.shape[0], -1, x.shape[-1]))
    y = ops.reshape(y, (y.shape[0], y.shape[1], -1))
    result = ops.matmul(x, y)
    result = ops.reshape(result, (result.shape[0],) + tuple(x_mid) + tuple(y_trail))
    if x_ndim == 2:
        result = ops.squeeze(result, 1)
    elif y_ndim == 2:
        result = ops.squeeze(result, -1)
    return result


class Dot(Merge):
    """Batchwise dot product of two inputs along ``axes``; ``normalize=True`` L2-normalizes
    both along those axes first (cosine proximity)."""

    _exact_input_count = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, numbers.Integral):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"{self._label()}: invalid type for argument `axes`: it should "
                                f"be a list or an int. Received: axes={axes!r}")
            if len(axes) != 2:
                raise ValueError(f"{self._label()}: invalid format for argument `axes`: it "
                                 f"should contain two elements. Received: axes={axes!r}")
            if not all(isinstance(a, numbers.Integral) for a in axes):
                raise ValueError(f"{self._label()}: invalid format for argument `axes`: list "
                                 f"elements should be integers. Received: axes={axes!r}")
            axes = [int(a) for a in axes]
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = normalize

    def _resolved_axes(self, shape1, shape2):
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        axes = []
        for axis, shape in zip(pair, (shape1, shape2)):
            if not -len(shape) <= axis < len(shape):
                raise ValueError(f"{self._label()}: axes={self.axes} is out of range for input "
                                 f"shapes {_shapes_str([shape1, shape2])}.")
            axes.append(axis % len(shape))
        return axes

    def _validated_output_shape(self, input_shape):
        self._check_input_list(input_shape)
        shape1, shape2 = (list(s) for s in input_shape)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(f"{self._label()} needs inputs of rank >= 2 (a batch axis and "
                             f"the dot axis). Received shapes {_shapes_str(input_shape)}.")
        self._check_batch_sizes(input_shape)
        axes = self._resolved_axes(shape1, shape2)
        if 0 in axes:
            raise ValueError(f"{self._label()} cannot take the dot product over the batch axis "
                             f"0 (axes={self.axes}). Received shapes "
                             f"{_shapes_str(input_shape)}.")
        d1, d2 = shape1[axes[0]], shape2[axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"{self._label()}: incompatible input shapes: axis values {d1} "
                             f"(at axis {axes[0]}) != {d2} (at axis {axes[1]}). Received "
                             f"shapes {_shapes_str(input_shape)}.")
        batch = shape1[0] if shape1[0] is not None else shape2[0]
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        output_shape = [batch] + shape1[1:] + shape2[1:]
        if len(output_shape) == 1:
            output_shape.append(1)
        return tuple(output_shape)

    def call(self, inputs):
        self._validated_output_shape([x.shape for x in inputs])
        x1, x2 = inputs
        axes = self._resolved_axes(x1.shape, x2.shape)
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return _batch_dot(x1, x2, axes)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of ``Add``: ``add([x1, x2])``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of ``Subtract``: ``subtract([x1, x2])``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of ``Multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of ``Average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of ``Maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of ``Minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of ``Concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, normalize=False, **kwargs):
    """Functional form of ``Dot`` (``axes`` defaults to -1, as Keras 3)."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
