"""Metrics: stateful ``Metric`` objects and stateless metric functions (Keras 3 semantics).

A metric accumulates over ``update_state`` calls and reports with ``result()``. Its state
lives in non-trainable Variables on the backend's device and is updated with array
operations only: no host synchronisation, and no gradient graph is ever recorded.
"""
import inspect

from . import config, losses
from .autograd import Tensor
from .backends import current as _backend
from .losses import (binary_crossentropy, categorical_crossentropy, categorical_hinge,  # noqa: F401
                     hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
                     mean_absolute_percentage_error, mean_squared_error,
                     mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                     squared_hinge, squeeze_or_expand_to_same_rank)
from .serialization import get_custom_objects, with_custom_objects
from .variables import Variable

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
# Keras 2's metric of that name is the loss (minus the similarity); Keras 3's
# cosine_similarity metric is the similarity itself
cosine_proximity = cosine = losses.cosine_similarity


def _xp():
    return _backend().xp


def _detached(x, dtype=None):
    """A Tensor holding ``x``'s value, outside any gradient graph."""
    value = x.value if isinstance(x, Tensor) else x
    if dtype is None and not (_backend().is_array(value) or hasattr(value, "dtype")):
        dtype = config.floatx()  # lists and Python scalars
    t = Tensor(_backend().asarray(value, dtype=dtype))
    if isinstance(x, Tensor):
        t._keras_mask = x._keras_mask
    return t


# --- metric functions ------------------------------------------------------------------

def accuracy(y_true, y_pred):
    """1 where ``y_pred`` equals ``y_true`` exactly, else 0 (elementwise, as Keras 3)."""
    y_pred = _detached(y_pred)
    y_true = _detached(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return Tensor((y_true.value == y_pred.value).astype(config.floatx()))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where ``y_pred > threshold`` matches the 0/1 label, else 0 (elementwise, as Keras 3)."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(_detached(y_true), _detached(y_pred))
    predicted = (y_pred.value > threshold).astype(y_true.dtype)
    return Tensor((y_true.value == predicted).astype(config.floatx()))


def categorical_accuracy(y_true, y_pred):
    """How often the argmax of ``y_pred`` is the argmax of the one-hot ``y_true``."""
    y_true, y_pred = _detached(y_true).value, _detached(y_pred).value
    return Tensor((y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(config.floatx()))


def _sparse_labels(y_true, y_pred):
    """Integer-valued labels shaped like ``y_pred`` without its class axis."""
    labels = _detached(y_true).value
    if labels.ndim == y_pred.ndim and labels.ndim and labels.shape[-1] == 1:
        labels = labels.reshape(labels.shape[:-1])
    return labels


def sparse_categorical_accuracy(y_true, y_pred):
    """How often the argmax of ``y_pred`` equals the integer label."""
    y_pred = _detached(y_pred).value
    labels = _sparse_labels(y_true, y_pred)
    predicted = y_pred.argmax(axis=-1).astype(labels.dtype)
    return Tensor((labels == predicted).astype(config.floatx()))


def _in_top_k(labels, y_pred, k):
    """Whether the label's score is among the ``k`` largest (ties count as in, as Keras)."""
    xp = _xp()
    classes = y_pred.shape[-1]
    flat = y_pred.reshape(-1, classes)
    index = labels.reshape(-1).astype("int64")
    target = xp.take_along_axis(flat, index[:, None], axis=-1)
    higher = xp.sum(flat > target, axis=-1)
    return (higher < k).astype(config.floatx()).reshape(labels.shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """How often the one-hot target is among the ``k`` highest predictions."""
    y_pred = _detached(y_pred).value
    return Tensor(_in_top_k(_detached(y_true).value.argmax(axis=-1), y_pred, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """How often the integer label is among the ``k`` highest predictions."""
    y_pred = _detached(y_pred).value
    return Tensor(_in_top_k(_sparse_labels(y_true, y_pred), y_pred, k))


def _metric_cosine_similarity(y_true, y_pred, axis=-1):
    """``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``: +1 for aligned vectors."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


# --- Metric base and reduction metrics -------------------------------------------------

class Metric:
    """Base class: implement ``update_state``, ``result``; state via ``add_variable``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or losses._snake_case(type(self).__name__)
        self._dtype = dtype or config.floatx()
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    @property
    def variables(self):
        return list(self._variables)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None):
        if initializer not in ("zeros", None):
            raise ValueError(f"Metric {self.name!r}: only 'zeros' initializers are supported "
                             f"for metric variables. Received: {initializer!r}.")
        dtype = dtype or self.dtype
        variable = Variable(_xp().zeros(tuple(shape), dtype=dtype), dtype=dtype,
                            trainable=False, name=name)
        self._variables.append(variable)
        return variable

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def reset_state(self):
        for variable in self._variables:
            variable.value[...] = 0  # in place: a captured train step updates this memory

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _accumulate(variable, amount):
    # in place: a captured train step updates the same memory at each replay
    _xp().add(variable.value, amount, out=variable.value, casting="unsafe")


def _reduce_to_samplewise(values, sample_weight, reduce, dtype):
    """Keras's ``reduce_to_samplewise_values`` on backend arrays."""
    xp = _xp()
    values = _detached(values, dtype)
    if sample_weight is not None:
        sample_weight = _detached(sample_weight, dtype)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values, sample_weight = values.value, sample_weight.value
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce(values, axis=tuple(range(weight_ndim, values.ndim)))
        sample_weight = xp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce(sample_weight, axis=tuple(range(1, weight_ndim)))
    else:
        values = values.value
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state``."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = _reduce_to_samplewise(values, sample_weight, _xp().sum, self.dtype)
        _accumulate(self.total, values.sum())

    def result(self):
        return Tensor(self.total.value.copy())


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        values, sample_weight = _reduce_to_samplewise(values, sample_weight, _xp().mean,
                                                      self.dtype)
        _accumulate(self.total, values.sum())
        if sample_weight is not None:
            _accumulate(self.count, sample_weight.sum())
        else:
            _accumulate(self.count, values.shape[0] if values.ndim else 1)

    def result(self):
        xp = _xp()
        count = self.count.value
        nonzero = count != 0
        return Tensor(xp.where(nonzero, self.total.value / xp.where(nonzero, count, 1), 0))


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred, **kwargs)`` (per-sample values) over all samples."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = y_pred._keras_mask if isinstance(y_pred, Tensor) else None
        # as LossFunctionWrapper: (n,) labels meet (n, 1) predictions without broadcasting
        y_true, y_pred = squeeze_or_expand_to_same_rank(_detached(y_true), _detached(y_pred))
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            sample_weight = losses.apply_mask(sample_weight, mask, self.dtype, "sum")
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "fn": losses.serialize(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = _function_from_config(config["fn"])
        return cls(**config)


def _function_from_config(fn_config):
    name = fn_config["config"] if isinstance(fn_config, dict) else fn_config
    fn = _FUNCTIONS.get(name)
    if fn is None:
        raise ValueError(f"Unknown metric function {name!r}. Valid names: "
                         f"{', '.join(sorted(_FUNCTIONS))}.")
    return fn


def _wrapper_class(class_name, fn, default_name, doc, **option_defaults):
    """A ``MeanMetricWrapper`` subclass for ``fn`` with keyword options and their defaults."""
    options = list(option_defaults)

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(options)
        if unknown:
            raise TypeError(f"{class_name}() got unexpected arguments {sorted(unknown)}; "
                            f"valid options: {options}.")
        values = {**option_defaults, **kwargs}
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **values)
        for key, value in values.items():
            setattr(self, key, value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                **{key: getattr(self, key) for key in options}}

    cls = type(class_name, (MeanMetricWrapper,), {
        "__init__": __init__, "get_config": get_config,
        "from_config": classmethod(Metric.from_config.__func__),
        "__doc__": doc, "__module__": __name__})
    cls.__qualname__ = class_name
    return cls


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return Metric.get_config(self)

    from_config = classmethod(Metric.from_config.__func__)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches binary labels."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if threshold is not None and (threshold <= 0 or threshold >= 1):
            raise ValueError("BinaryAccuracy: invalid value for argument `threshold`. Expected "
                             f"a value in interval (0, 1). Received: threshold={threshold}")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {**Metric.get_config(self), "threshold": self.threshold}

    from_config = classmethod(Metric.from_config.__func__)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is among the ``k`` highest predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {**Metric.get_config(self), "k": self.k}

    from_config = classmethod(Metric.from_config.__func__)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {**Metric.get_config(self), "k": self.k}

    from_config = classmethod(Metric.from_config.__func__)


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of squared errors."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(_detached(y_true, self.dtype),
                                                        _detached(y_pred, self.dtype))
        super().update_state((y_pred.value - y_true.value) ** 2, sample_weight=sample_weight)

    def result(self):
        return Tensor(_xp().sqrt(super().result().value))


CategoricalAccuracy = _wrapper_class(
    "CategoricalAccuracy", categorical_accuracy, "categorical_accuracy",
    "How often the argmax of predictions matches one-hot labels.")
SparseCategoricalAccuracy = _wrapper_class(
    "SparseCategoricalAccuracy", sparse_categorical_accuracy, "sparse_categorical_accuracy",
    "How often the argmax of predictions matches integer labels.")
MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error",
                                  "Mean of ``mean_squared_error`` over samples.")
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error,
                                   "mean_absolute_error",
                                   "Mean of ``mean_absolute_error`` over samples.")
MeanAbsolutePercentageError = _wrapper_class(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "Mean of ``mean_absolute_percentage_error``.")
MeanSquaredLogarithmicError = _wrapper_class(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "Mean of ``mean_squared_logarithmic_error``.")
CosineSimilarity = _wrapper_class(
    "CosineSimilarity", _metric_cosine_similarity, "cosine_similarity",
    "Mean cosine similarity (+1 for aligned vectors) along ``axis``.", axis=-1)
LogCoshError = _wrapper_class("LogCoshError", log_cosh, "logcosh", "Mean of ``log_cosh``.")
Hinge = _wrapper_class("Hinge", hinge, "hinge", "Mean of ``hinge``.")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge",
                              "Mean of ``squared_hinge``.")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge",
                                  "Mean of ``categorical_hinge``.")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence",
                              "Mean of ``kl_divergence``.")
Poisson = _wrapper_class("Poisson", poisson, "poisson", "Mean of ``poisson``.")
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    "Mean binary crossentropy.", from_logits=False, label_smoothing=0)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    "Mean categorical crossentropy.", from_logits=False, label_smoothing=0, axis=-1)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy,
    "sparse_categorical_crossentropy", "Mean sparse categorical crossentropy.",
    from_logits=False, axis=-1)


# --- lookup ----------------------------------------------------------------------------

_CLASSES = [
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, Hinge, SquaredHinge,
    CategoricalHinge, KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
]
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({losses._snake_case(cls.__name__): cls for cls in _CLASSES})
ALL_OBJECTS_DICT.update({
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "kld": KLDivergence, "KLD": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "logcosh": LogCoshError, "log_cosh": LogCoshError,
})
# Stateless functions reachable by name (wrapped in MeanMetricWrapper by get()).
_FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, huber)}
_FUNCTIONS.update({name: fn for name, fn in losses.ALL_OBJECTS_DICT.items()
                   if not inspect.isclass(fn)})
_FUNCTIONS["cosine_similarity"] = _metric_cosine_similarity


def _unknown(identifier):
    abstract = {"Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper"}
    names = sorted((set(ALL_OBJECTS_DICT) | set(_FUNCTIONS)) - abstract)
    return ValueError(f"Unknown metric {identifier!r}. Valid names: {', '.join(names)}.")


def serialize(metric):
    if isinstance(metric, Metric):
        return {"module": "keras.metrics", "class_name": type(metric).__name__,
                "config": metric.get_config(), "registered_name": None}
    return losses.serialize(metric)


def deserialize(config, custom_objects=None):
    """A ``Metric`` (or metric function) from ``serialize``'s output or a name."""
    lookup = {**ALL_OBJECTS_DICT, **with_custom_objects(custom_objects)}
    if isinstance(config, str):
        return get(lookup.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not deserialize metric {config!r}: expected a name or a dict "
                         "with 'class_name' and 'config'.")
    if config["class_name"] == "function":
        return _function_from_config(config)
    cls = lookup.get(config["class_name"])
    if not inspect.isclass(cls):
        raise _unknown(config["class_name"])
    return cls.from_config(config.get("config") or {})


def get(identifier):
    """A ``Metric`` from a name (class or function, incl. aliases), function, class, instance
    or config dict. Names resolve to the class's default name; use ``resolve`` for compile's
    naming and its 'accuracy' rules."""
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
        if isinstance(identifier, Metric):
            return identifier
    if isinstance(identifier, str):
        if identifier in get_custom_objects():
            identifier = get_custom_objects()[identifier]
        elif identifier in ALL_OBJECTS_DICT:
            identifier = ALL_OBJECTS_DICT[identifier]
        elif identifier in _FUNCTIONS:
            return MeanMetricWrapper(_FUNCTIONS[identifier], name=identifier)
        else:
            raise _unknown(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        if identifier in (Metric, MeanMetricWrapper):
            raise ValueError(f"{identifier.__name__} is abstract: pass a concrete metric.")
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier {identifier!r}: expected a name, "
                     "a function or a Metric.")


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else tuple(x)


def _classification_kind(y_true_shape, y_pred_shape, loss):
    """'binary', 'sparse' or 'categorical', as Keras resolves 'accuracy' and 'crossentropy'."""
    if loss is not None and losses.is_binary_crossentropy(loss):
        return "binary"
    if loss is not None and losses.is_sparse_categorical(loss):
        return "sparse"
    true_shape, pred_shape = _shape(y_true_shape), _shape(y_pred_shape)
    if pred_shape and pred_shape[-1] == 1:
        return "binary"
    if len(true_shape) < len(pred_shape) or (
            true_shape and true_shape[-1] == 1 and pred_shape and pred_shape[-1] > 1):
        return "sparse"
    return "categorical"


_ACCURACY = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
             "categorical": CategoricalAccuracy}
_CROSSENTROPY = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
                 "categorical": CategoricalCrossentropy}


def resolve(identifier, y_true_shape, y_pred_shape, loss=None):
    """The ``Metric`` that ``compile(metrics=[identifier])`` uses for one output.

    'accuracy'/'acc' and 'crossentropy'/'ce' pick the binary, sparse or categorical variant
    from the loss and the shapes (arrays or shape tuples). String metrics are named as
    written, functions by their ``__name__``; Metric instances are returned as is.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        lowered = identifier.lower()
        if lowered in ("accuracy", "acc", "crossentropy", "ce"):
            table = _ACCURACY if lowered in ("accuracy", "acc") else _CROSSENTROPY
            return table[_classification_kind(y_true_shape, y_pred_shape, loss)](
                name=identifier)
        metric = get(identifier)
        metric.name = identifier
        return metric
    return get(identifier)
