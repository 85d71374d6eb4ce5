"""Loss functions and ``Loss`` classes, with Keras 3's equations, defaults and reductions.

Functions (``mean_squared_error(y_true, y_pred)``...) return one value per sample (the mean
over the last axis); ``Loss`` objects reduce those values, with optional sample weights, to
the scalar the training loop differentiates. Everything is built from differentiable
``gkeras.ops``; the three crossentropies are single fused ops computed on the backend's
array module (NumPy or CuPy), without host synchronisation.
"""
import inspect
import math
import warnings

from . import config, ops
from .autograd import Tensor, result
from .backends import current as _backend
from .ops.nn import _sigmoid
from .serialization import get_custom_objects, with_custom_objects

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


def _xp():
    return _backend().xp


# --- conversions and shapes ------------------------------------------------------------

def _float_tensor(x, dtype=None):
    """``x`` as a float Tensor: ``dtype`` if given, else its own float dtype or floatx."""
    if dtype is not None:
        return ops.convert_to_tensor(x, dtype=dtype)
    if isinstance(x, Tensor):
        return x if x.dtype.kind == "f" else ops.cast(x, config.floatx())
    if _backend().is_array(x) or hasattr(x, "dtype"):
        x = ops.convert_to_tensor(x)
        return x if x.dtype.kind == "f" else ops.cast(x, config.floatx())
    return ops.convert_to_tensor(x, dtype=config.floatx())  # lists and Python scalars


def _pred_and_true(y_true, y_pred):
    y_pred = _float_tensor(y_pred)
    return ops.convert_to_tensor(y_true, dtype=y_pred.dtype), y_pred


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeeze or expand the last axis of one input when the ranks differ by one (as Keras)."""
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


# --- regression losses -----------------------------------------------------------------

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(abs(y_true - y_pred), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), epsilon)), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), config.epsilon()))
    return 100.0 * ops.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    eps = config.epsilon()
    first_log = ops.log1p(ops.maximum(y_pred, eps))
    second_log = ops.log1p(ops.maximum(y_true, eps))
    return ops.mean(ops.square(first_log - second_log), axis=-1)


def _l2_normalize(x, axis):
    # Keras: x * min(rsqrt(sum(x^2)), 1/eps) == x / sqrt(max(sum(x^2), eps^2)), which keeps
    # the gradient finite for all-zero vectors.
    eps = config.epsilon()
    square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(square_sum, eps * eps))


def cosine_similarity(y_true, y_pred, axis=-1):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: -1 for aligned vectors."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return -ops.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """``0.5 e^2`` where ``|e| <= delta``, else ``delta |e| - 0.5 delta^2``; mean over -1."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    delta = float(delta)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    return ops.mean(ops.where(ops.less_equal(abs_error, delta), 0.5 * ops.square(error),
                              delta * abs_error - 0.5 * delta * delta), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, as ``x + softplus(-2x) - log 2``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    x = y_pred - y_true
    return ops.mean(x + ops.softplus(-2.0 * x) - math.log(2.0), axis=-1)


# --- probabilistic losses --------------------------------------------------------------

def kl_divergence(y_true, y_pred):
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[epsilon, 1]``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(y_true * ops.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    return ops.mean(y_pred - y_true * ops.log(y_pred + config.epsilon()), axis=-1)


def _check_same_shape(fn_name, target, output):
    if target.shape != output.shape:
        raise ValueError(f"{fn_name}: y_true and y_pred must have the same shape. Received: "
                         f"y_true.shape={target.shape}, y_pred.shape={output.shape}.")


def _normalized_log_probs(xp, output, axis):
    """Keras's probability path: ``clip(output / sum(output), eps, 1 - eps)`` and its log."""
    eps = config.epsilon()
    total = xp.sum(output, axis=axis, keepdims=True)
    probs = output / total
    inside = (probs >= eps) & (probs <= 1.0 - eps)  # where the clip passes gradients
    clipped = xp.clip(probs, eps, 1.0 - eps)
    return total, probs, inside, clipped, xp.log(clipped)


def _log_softmax(xp, logits, axis):
    shifted = logits - xp.max(logits, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def _categorical_crossentropy_op(target, output, from_logits, axis):
    """``-sum(target * log_prob, axis)`` as one op; its backward needs no extra graph.
    From logits along the last axis: the backend's fused softmax-crossentropy, whose
    backward is ``(p - y)`` times the upstream gradient in one pass."""
    xp = _xp()
    t, o = target.value, output.value
    if from_logits and axis % o.ndim == o.ndim - 1:
        return _softmax_crossentropy_rows(target, output)
    if from_logits:
        log_prob = _log_softmax(xp, o, axis)

        def grad_output(g):
            return g * (xp.exp(log_prob) * xp.sum(t, axis=axis, keepdims=True) - t)
    else:
        total, probs, inside, clipped, log_prob = _normalized_log_probs(xp, o, axis)

        def grad_output(g):
            grad_probs = xp.where(inside, -t / clipped, 0) * g
            return (grad_probs - xp.sum(grad_probs * probs, axis=axis, keepdims=True)) / total

    def backward(g):
        g = xp.expand_dims(g, axis)
        return (-g * log_prob if target.requires_grad else None,
                grad_output(g) if output.requires_grad else None)
    return result(-xp.sum(t * log_prob, axis=axis), (target, output), backward)


def _softmax_crossentropy_rows(target, logits):
    backend = _backend()
    d = logits.shape[-1]
    t2, z2 = target.value.reshape(-1, d), logits.value.reshape(-1, d)
    loss, log_prob = backend.softmax_crossentropy(z2, t2)

    def backward(g):
        g = g.reshape(-1)
        return (-g[:, None] * log_prob if target.requires_grad else None,
                backend.softmax_crossentropy_backward(log_prob, t2, g).reshape(logits.shape)
                if logits.requires_grad else None)
    return result(loss.reshape(logits.shape[:-1]), (target, logits), backward)


def _logits_of(kind, y_pred, from_logits, fn_name):
    """The logits a ``kind`` activation ('softmax', 'sigmoid') left on ``y_pred``, and
    ``from_logits`` True; else ``y_pred`` and ``from_logits`` unchanged (Keras 3 on
    TensorFlow: its ``_get_logits``)."""
    tag = y_pred._keras_logits if isinstance(y_pred, Tensor) else None
    if tag is None or tag[0] != kind or tag[1].shape != y_pred.shape:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(f"`{fn_name}` received `from_logits=True`, but the `output` argument "
                      f"was produced by a {kind} activation and thus does not represent "
                      "logits. Was this intended?", stacklevel=3)
    return tag[1], True


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy of one-hot (or soft) ``y_true`` against probabilities or logits."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError("categorical_crossentropy: `axis` must be an int. "
                         f"Received: axis={axis!r}")
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, "
            f"num_classes) with num_classes > 1. Received: y_pred.shape={y_pred.shape}. "
            "Consider using 'binary_crossentropy' if you only have 2 classes.",
            SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = y_true.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    if y_pred.ndim and axis % y_pred.ndim == y_pred.ndim - 1:
        y_pred, from_logits = _logits_of("softmax", y_pred, from_logits,
                                         "categorical_crossentropy")
    return _categorical_crossentropy_op(y_true, y_pred, from_logits, axis)


def _integer_labels(fn_name, labels, num_classes):
    """Labels (ints or floats) as int64; range-checked on the CPU, where it costs no sync."""
    xp = _xp()
    labels = labels.astype("int64") if labels.dtype.kind != "i" else labels
    if _backend().name == "numpy" and labels.size:
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= num_classes:
            raise ValueError(f"{fn_name}: labels must lie in [0, {num_classes}) for y_pred with "
                             f"{num_classes} classes. Received labels from {low} to {high}.")
    return xp.asarray(labels)


def _sparse_categorical_crossentropy_op(labels, output, from_logits):
    """``-log_prob[label]`` along the last axis as one op; from logits, the backend's fused
    softmax-crossentropy (backward ``p - one_hot`` times the upstream gradient)."""
    xp = _xp()
    o = output.value
    if from_logits:
        backend = _backend()
        d = o.shape[-1]
        flat = labels.reshape(-1)
        loss, log_prob = backend.sparse_softmax_crossentropy(o.reshape(-1, d), flat)
        return result(loss.reshape(o.shape[:-1]), (output,), lambda g: (
            backend.sparse_softmax_crossentropy_backward(log_prob, flat, g.reshape(-1))
            .reshape(o.shape),))
    total, probs, inside, clipped, log_prob = _normalized_log_probs(xp, o, -1)

    def grad_output(g):
        one_hot = labels[..., None] == xp.arange(o.shape[-1])
        grad_probs = xp.where(one_hot & inside, -1 / clipped, 0) * g
        return (grad_probs - xp.sum(grad_probs * probs, axis=-1, keepdims=True)) / total

    picked = xp.take_along_axis(log_prob, labels[..., None], axis=-1)[..., 0]
    return result(-picked, (output,), lambda g: (grad_output(g[..., None]),))


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Crossentropy of integer labels (shaped ``(n,)`` or ``(n, 1)``, ints or floats)."""
    y_pred = _float_tensor(y_pred)
    labels = y_true.value if isinstance(y_true, Tensor) else _backend().asarray(y_true)
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    if y_pred.ndim < 1:
        raise ValueError("sparse_categorical_crossentropy: y_pred must be at least rank 1. "
                         f"Received: y_pred.shape={y_pred.shape}.")
    axis = axis % y_pred.ndim
    if axis == y_pred.ndim - 1:
        y_pred, from_logits = _logits_of("softmax", y_pred, from_logits,
                                         "sparse_categorical_crossentropy")
    else:
        y_pred = ops.transpose(y_pred, [i for i in range(y_pred.ndim) if i != axis] + [axis])
    if tuple(labels.shape) != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: y_true must have the shape of y_pred without its "
            f"class axis. Received: y_true.shape={tuple(labels.shape)}, "
            f"y_pred.shape={y_pred.shape}.")
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = _xp().where(valid, labels, 0)
    labels = _integer_labels("sparse_categorical_crossentropy", labels, y_pred.shape[-1])
    res = _sparse_categorical_crossentropy_op(labels, y_pred, from_logits)
    if valid is not None:
        res = ops.where(valid, res, 0.0)
        res._keras_mask = valid
    return res


def _binary_crossentropy_op(target, output, from_logits):
    """Elementwise binary crossentropy as one op: stable for logits, clipped for probs."""
    xp = _xp()
    t, o = target.value, output.value
    if from_logits:
        # max(x, 0) - x t + log(1 + exp(-|x|)): no overflow for large |x|
        loss = xp.maximum(o, 0) - o * t + xp.log1p(xp.exp(-xp.abs(o)))

        def grads(g):
            return -g * o, g * (_sigmoid(xp, o) - t)
    else:
        eps = config.epsilon()
        inside = (o >= eps) & (o <= 1.0 - eps)
        clipped = xp.clip(o, eps, 1.0 - eps)
        log_p, log_not_p = xp.log(clipped), xp.log(1.0 - clipped)
        loss = -(t * log_p + (1.0 - t) * log_not_p)

        def grads(g):
            grad_o = xp.where(inside, (1.0 - t) / (1.0 - clipped) - t / clipped, 0) * g
            return -g * (log_p - log_not_p), grad_o

    def backward(g):
        gt, go = grads(g)
        return (gt if target.requires_grad else None, go if output.requires_grad else None)
    return result(loss, (target, output), backward)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Mean over ``axis`` of the elementwise binary crossentropy."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    y_pred, from_logits = _logits_of("sigmoid", y_pred, from_logits, "binary_crossentropy")
    return ops.mean(_binary_crossentropy_op(y_true, y_pred, from_logits), axis=axis)


# --- hinge losses ----------------------------------------------------------------------

def _convert_binary_labels_to_hinge(y_true):
    """0/1 labels become -1/1; decided on the device (no host sync)."""
    v = y_true.value
    is_binary = _xp().all((v == 0) | (v == 1))
    return ops.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/1."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true = _convert_binary_labels_to_hinge(y_true)
    return ops.mean(ops.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    y_true = _convert_binary_labels_to_hinge(y_true)
    return ops.mean(ops.square(ops.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)``."""
    y_true, y_pred = _pred_and_true(y_true, y_pred)
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.maximum(neg - pos + 1.0, 0.0)


# --- reduction -------------------------------------------------------------------------

def standardize_reduction(reduction):
    if reduction == "auto":  # Keras 2's name for the default
        return "sum_over_batch_size"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{_REDUCTIONS} (or the legacy 'auto'). Received: reduction={reduction!r}")
    return reduction


def _mask_array(mask):
    return mask.value if isinstance(mask, Tensor) else mask


def apply_mask(sample_weight, mask, dtype, reduction):
    """Merge a boolean mask into the sample weights (Keras's ``apply_mask``)."""
    if mask is None:
        return sample_weight
    xp = _xp()
    mask = xp.asarray(_mask_array(mask)).astype(dtype)
    if reduction in ("mean", "sum_over_batch_size"):
        # valid entries weigh total/valid so that dividing by the total averages the valid ones
        valid = xp.sum(mask)
        mask = mask * xp.where(valid > 0, mask.size / xp.where(valid > 0, valid, 1), 0)
    mask = Tensor(mask)
    if sample_weight is None:
        return mask
    sample_weight = ops.convert_to_tensor(sample_weight, dtype=dtype)
    mask, sample_weight = squeeze_or_expand_to_same_rank(mask, sample_weight)
    return sample_weight * mask


def _weights_like(values, sample_weight):
    """Sample weights with ranks matched to ``values`` (trailing axes broadcast)."""
    values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
    extra = values.ndim - sample_weight.ndim
    if extra > 0:
        sample_weight = ops.reshape(sample_weight, sample_weight.shape + (1,) * extra)
    return values, sample_weight


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    loss = ops.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = ops.sum(sample_weight)
        nonzero = ops.not_equal(divisor, 0)
        return ops.where(nonzero, loss / ops.where(nonzero, divisor, 1.0), 0.0)
    count = values.size
    return loss / count if count else loss


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weight per-sample losses, then reduce them: Keras 3's ``reduce_weighted_values``."""
    reduction = standardize_reduction(reduction)
    values = _float_tensor(values, dtype)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        sample_weight = ops.convert_to_tensor(sample_weight, dtype=values.dtype)
        values, sample_weight = _weights_like(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# --- Loss classes ----------------------------------------------------------------------

def _snake_case(name):
    from .layers.base import snake_case
    return snake_case(name)


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` -> per-sample losses.

    ``reduction``: 'sum_over_batch_size' (weighted sum / number of elements; 'auto' and
    'mean' are the same), 'sum', 'mean_with_sample_weight', or 'none'/None.
    ``dtype``: the computation dtype (inputs are cast to it); None means ``floatx()``.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        in_mask = getattr(y_pred, "_keras_mask", None)
        y_pred = _float_tensor(y_pred, self.dtype or config.floatx())
        y_true = ops.convert_to_tensor(y_true, dtype=y_pred.dtype)
        losses = self.call(y_true, y_pred)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = _xp().logical_and(_mask_array(in_mask), _mask_array(out_mask))
        else:
            mask = in_mask if out_mask is None else out_mask
        return reduce_weighted_values(losses, sample_weight=sample_weight, mask=mask,
                                      reduction=self.reduction, dtype=y_pred.dtype)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A ``Loss`` from a function ``fn(y_true, y_pred, **kwargs)`` -> per-sample losses."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"fn": serialize(self.fn)})
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn.__name__}, kwargs={self._fn_kwargs})>"


def _plain_loss_class(class_name, fn, default_name):
    """A ``LossFunctionWrapper`` subclass for a loss function without options."""
    def __init__(self, reduction="sum_over_batch_size", name=default_name, dtype=None):
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype)

    cls = type(class_name, (LossFunctionWrapper,), {
        "__init__": __init__, "get_config": Loss.get_config,
        "__doc__": f"Loss class for ``{fn.__name__}``: {fn.__doc__}", "__module__": __name__})
    cls.__qualname__ = class_name
    return cls


MeanSquaredError = _plain_loss_class("MeanSquaredError", mean_squared_error,
                                     "mean_squared_error")
MeanAbsoluteError = _plain_loss_class("MeanAbsoluteError", mean_absolute_error,
                                      "mean_absolute_error")
MeanAbsolutePercentageError = _plain_loss_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _plain_loss_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error")
LogCosh = _plain_loss_class("LogCosh", log_cosh, "log_cosh")
Hinge = _plain_loss_class("Hinge", hinge, "hinge")
SquaredHinge = _plain_loss_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _plain_loss_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
KLDivergence = _plain_loss_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _plain_loss_class("Poisson", poisson, "poisson")


class CosineSimilarity(LossFunctionWrapper):
    """Loss class for ``cosine_similarity`` along ``axis``."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Huber(LossFunctionWrapper):
    """Loss class for ``huber`` with threshold ``delta``."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta

    def get_config(self):
        return {**Loss.get_config(self), "delta": self.delta}


class _DenseCrossentropy(LossFunctionWrapper):
    """Shared constructor and config of the binary and categorical crossentropies."""

    def __init__(self, fn, from_logits, label_smoothing, axis, reduction, name, dtype):
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_DenseCrossentropy):
    """Binary crossentropy of 0/1 labels against probabilities or logits."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, from_logits, label_smoothing, axis, reduction,
                         name, dtype)


class CategoricalCrossentropy(_DenseCrossentropy):
    """Crossentropy of one-hot labels against probabilities or logits."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, from_logits, label_smoothing, axis, reduction,
                         name, dtype)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy of integer labels against probabilities or logits."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def get_config(self):
        return {**Loss.get_config(self), "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}


# --- lookup and serialization ----------------------------------------------------------

_FUNCTIONS = [
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, kl_divergence, poisson,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, hinge,
    squared_hinge, categorical_hinge,
]
_CLASSES = [
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, Hinge,
    SquaredHinge, CategoricalHinge,
]
ALL_OBJECTS_DICT = {obj.__name__: obj for obj in _FUNCTIONS + _CLASSES}
ALL_OBJECTS_DICT.update({
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "logcosh": log_cosh,
    "cosine_proximity": cosine_similarity, "cosine": cosine_similarity,
})

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy
# Keras 2's name: minus the cosine similarity, as Keras 3's loss
cosine_proximity = cosine = cosine_similarity


def _unknown(identifier):
    names = sorted(k for k in ALL_OBJECTS_DICT if k not in ("Loss", "LossFunctionWrapper"))
    return ValueError(f"Unknown loss {identifier!r}. Valid names: {', '.join(names)}.")


def serialize(loss):
    """A config dict for a ``Loss`` instance or a built-in loss function."""
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    if callable(loss) and getattr(loss, "__name__", None):
        return {"module": "keras.losses", "class_name": "function", "config": loss.__name__,
                "registered_name": "function"}
    raise ValueError(f"Cannot serialize loss {loss!r}: expected a Loss or a loss function.")


def deserialize(config, custom_objects=None):
    """A ``Loss`` instance or loss function from ``serialize``'s output or a name."""
    lookup = {**ALL_OBJECTS_DICT, **with_custom_objects(custom_objects)}
    if isinstance(config, str):
        if config not in lookup:
            raise _unknown(config)
        return lookup[config]
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize loss {config!r}: expected a name or a dict "
                         "with 'class_name' and 'config'.")
    if config["class_name"] == "function":
        return deserialize(config["config"], custom_objects)
    obj = lookup.get(config["class_name"])
    if obj is None:
        raise _unknown(config["class_name"])
    return obj.from_config(config.get("config") or {}) if inspect.isclass(obj) else obj


def get(identifier):
    """A ``Loss`` object callable as ``loss(y_true, y_pred, sample_weight)`` -> scalar.

    ``identifier``: a name or alias ('mse', 'categorical_crossentropy', 'Huber'...), a loss
    function (wrapped in ``LossFunctionWrapper``), a ``Loss`` instance or class, a config
    dict, or None (returns None).
    """
    if identifier is None:
        return None
    obj = identifier
    if isinstance(identifier, str):
        lookup = {**ALL_OBJECTS_DICT, **get_custom_objects()}
        if identifier not in lookup:
            raise _unknown(identifier)
        obj = lookup[identifier]
    elif isinstance(identifier, dict):
        obj = deserialize(identifier)
    if isinstance(obj, Loss):
        return obj
    if inspect.isclass(obj) and issubclass(obj, Loss):
        return obj()
    if callable(obj):
        name = getattr(obj, "__name__", None)
        return LossFunctionWrapper(obj, name=name if name != "<lambda>" else None)
    raise ValueError(f"Could not interpret loss identifier {identifier!r}: expected a name, a "
                     "function, a Loss instance or a config dict.")


def _loss_function(loss):
    """The per-sample function behind a loss identifier, or None."""
    if isinstance(loss, str):
        loss = ALL_OBJECTS_DICT.get(loss)
        if inspect.isclass(loss):
            loss = loss() if loss not in (Loss, LossFunctionWrapper) else None
    elif inspect.isclass(loss) and issubclass(loss, LossFunctionWrapper):
        loss = loss()
    return loss.fn if isinstance(loss, LossFunctionWrapper) else loss


def is_binary_crossentropy(loss):
    """Whether ``loss`` (name, function or object) is binary crossentropy."""
    return _loss_function(loss) is binary_crossentropy


def is_sparse_categorical(loss):
    """Whether ``loss`` (name, function or object) is sparse categorical crossentropy."""
    return _loss_function(loss) is sparse_categorical_crossentropy


def class_weight_table(class_weight):
    """``class_weight`` as a device array indexed by label, its last entry (1) for unlisted
    labels. ``fit`` builds it once, so batches need no host-to-device copy."""
    keys = [int(k) for k in class_weight]
    if any(k < 0 for k in keys):
        raise ValueError(f"class_weight keys must be non-negative class indices. "
                         f"Received: {sorted(keys)}.")
    table = [1.0] * (max(keys, default=-1) + 1)
    for key, weight in class_weight.items():
        table[int(key)] = float(weight)
    return _backend().asarray(table + [1.0], dtype=config.floatx())


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights ``class_weight[label]`` (1 for absent classes), as Keras's fit.

    ``y``: integer labels ``(n,)``/``(n, 1)`` or one-hot ``(n, classes)`` (argmax taken).
    ``class_weight``: a dict, or its ``class_weight_table``. The lookup runs on the device:
    no host synchronisation.
    """
    xp = _xp()
    y = y.value if isinstance(y, Tensor) else xp.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y.reshape(y.shape[:-1])
    labels = xp.round(y).astype("int64")
    table = class_weight_table(class_weight) if isinstance(class_weight, dict) else class_weight
    unlisted = len(table) - 1
    index = xp.where((labels >= 0) & (labels < unlisted), labels, unlisted)
    return table[index]
