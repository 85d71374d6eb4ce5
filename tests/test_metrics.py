"""gkeras.metrics: accumulation against NumPy, accuracy resolution, naming and state."""
import numpy as np
import pytest

import gkeras
from gkeras import losses, metrics

EPS = 1e-7
rng = np.random.default_rng(1)


def value(t):
    return np.asarray(t, dtype=np.float64)


def one_hot(labels, n):
    return np.eye(n)[labels]


def batches(n_batches=3, n=5, classes=4):
    """Random (labels, one-hot, probabilities, weights) batches."""
    out = []
    for _ in range(n_batches):
        labels = rng.integers(0, classes, n)
        logits = rng.normal(size=(n, classes))
        probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
        out.append((labels, one_hot(labels, classes), probs.astype(np.float32),
                    rng.uniform(0, 2, n)))
    return out


def accumulate(metric, data, weighted):
    metric.reset_state()
    for y_true, y_pred, w in data:
        metric.update_state(y_true, y_pred, sample_weight=w if weighted else None)
    return value(metric.result())


def weighted_mean(per_sample, weights, weighted):
    per_sample = np.concatenate(per_sample)
    weights = np.concatenate(weights) if weighted else np.ones_like(per_sample)
    return (per_sample * weights).sum() / weights.sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_metrics_accumulate(weighted):
    data = batches()
    refs = {
        "categorical": [(oh, p, w, (oh.argmax(-1) == p.argmax(-1)).astype(float))
                        for lab, oh, p, w in data],
        "sparse": [(lab, p, w, (lab == p.argmax(-1)).astype(float)) for lab, oh, p, w in data],
        "sparse_col_float": [(lab[:, None].astype(np.float32), p, w,
                              (lab == p.argmax(-1)).astype(float)) for lab, oh, p, w in data],
    }
    for kind, metric in (("categorical", metrics.CategoricalAccuracy()),
                         ("sparse", metrics.SparseCategoricalAccuracy()),
                         ("sparse_col_float", metrics.SparseCategoricalAccuracy())):
        rows = refs[kind]
        got = accumulate(metric, [(t, p, w) for t, p, w, _ in rows], weighted)
        expected = weighted_mean([r for *_, r in rows], [w for _, _, w, _ in rows], weighted)
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=kind)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_binary_accuracy(weighted, threshold):
    data, per, ws = [], [], []
    for _ in range(3):
        y = rng.integers(0, 2, (6, 1)).astype(np.float32)
        p = rng.uniform(size=(6, 1)).astype(np.float32)
        w = rng.uniform(0, 2, 6)
        data.append((y, p, w))
        per.append(((p > threshold) == y)[:, 0].astype(float))
        ws.append(w)
    got = accumulate(metrics.BinaryAccuracy(threshold=threshold), data, weighted)
    np.testing.assert_allclose(got, weighted_mean(per, ws, weighted), rtol=1e-6)
    # multi-label: elementwise, as Keras 3; (n,) labels against (n, 1) predictions
    y = np.array([[1, 0, 1], [0, 0, 1]])
    p = np.array([[0.9, 0.6, 0.2], [0.1, 0.3, 0.8]])
    np.testing.assert_array_equal(value(metrics.binary_accuracy(y, p)), [[1, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(value(metrics.binary_accuracy([1, 0], [[0.7], [0.8]])),
                                  [[1], [0]])
    with pytest.raises(ValueError, match="threshold"):
        metrics.BinaryAccuracy(threshold=1.5)


def test_accuracy_exact_match():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    np.testing.assert_allclose(value(m.result()), 0.75)
    m.reset_state()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]], sample_weight=[1, 1, 0, 0])
    np.testing.assert_allclose(value(m.result()), 0.5)


def ref_in_top_k(labels, pred, k):
    target = pred[np.arange(len(labels)), labels]
    return ((pred > target[:, None]).sum(-1) < k).astype(float)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k(weighted, k):
    data = batches(classes=6)
    per = [ref_in_top_k(lab, p, k) for lab, _, p, _ in data]
    ws = [w for *_, w in data]
    sparse = accumulate(metrics.SparseTopKCategoricalAccuracy(k=k),
                        [(lab, p, w) for lab, _, p, w in data], weighted)
    dense = accumulate(metrics.TopKCategoricalAccuracy(k=k),
                       [(oh, p, w) for _, oh, p, w in data], weighted)
    expected = weighted_mean(per, ws, weighted)
    np.testing.assert_allclose(sparse, expected, rtol=1e-6)
    np.testing.assert_allclose(dense, expected, rtol=1e-6)


def test_top_k_ties_and_ranks():
    # ties at the boundary count as "in the top k", as Keras's in_top_k
    pred = np.array([[0.3, 0.3, 0.3, 0.1], [0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(value(metrics.sparse_top_k_categorical_accuracy([2, 0], pred, k=1)),
                               [1, 0])
    np.testing.assert_allclose(value(metrics.sparse_top_k_categorical_accuracy(
        np.array([[3], [1]]), pred, k=3)), [0, 1])
    # sequences: (batch, time, classes) keeps the (batch, time) shape
    pred = rng.normal(size=(2, 3, 5))
    labels = rng.integers(0, 5, (2, 3))
    out = value(metrics.sparse_top_k_categorical_accuracy(labels, pred, k=2))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out.ravel(), ref_in_top_k(labels.ravel(), pred.reshape(-1, 5), 2))


LOSS_METRICS = [
    (metrics.MeanSquaredError, lambda t, p: ((t - p) ** 2).mean(-1), "regression"),
    (metrics.MeanAbsoluteError, lambda t, p: np.abs(t - p).mean(-1), "regression"),
    (metrics.MeanAbsolutePercentageError,
     lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1), "regression"),
    (metrics.MeanSquaredLogarithmicError,
     lambda t, p: ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(t, EPS))) ** 2).mean(-1),
     "positive"),
    (metrics.LogCoshError, lambda t, p: np.log(np.cosh(p - t)).mean(-1), "regression"),
    (metrics.CosineSimilarity, lambda t, p: (t * p).sum(-1) / np.linalg.norm(t, axis=-1)
     / np.linalg.norm(p, axis=-1), "regression"),
    (metrics.Hinge, lambda t, p: np.maximum(1 - (2 * t - 1) * p, 0).mean(-1), "binary"),
    (metrics.SquaredHinge, lambda t, p: (np.maximum(1 - (2 * t - 1) * p, 0) ** 2).mean(-1),
     "binary"),
    (metrics.CategoricalHinge,
     lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0), "onehot"),
    (metrics.KLDivergence, lambda t, p: (np.clip(t, EPS, 1) * np.log(
        np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1), "onehot"),
    (metrics.Poisson, lambda t, p: (p - t * np.log(p + EPS)).mean(-1), "positive"),
    (metrics.BinaryCrossentropy, lambda t, p: -(t * np.log(np.clip(p, EPS, 1 - EPS)) + (1 - t)
     * np.log(1 - np.clip(p, EPS, 1 - EPS))).mean(-1), "binary"),
    (metrics.CategoricalCrossentropy,
     lambda t, p: -(t * np.log(np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS))).sum(-1),
     "onehot"),
]


def loss_metric_data(kind):
    out = []
    for _ in range(3):
        if kind == "regression":
            t, p = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
        elif kind == "positive":
            t, p = rng.uniform(0.1, 2, (5, 3)), rng.uniform(0.1, 2, (5, 3))
        elif kind == "binary":
            t, p = rng.integers(0, 2, (5, 3)).astype(float), rng.uniform(0, 1, (5, 3))
        else:
            t = one_hot(rng.integers(0, 3, 5), 3)
            p = rng.uniform(0.05, 1, (5, 3))
            p /= p.sum(-1, keepdims=True)
        out.append((t, p, rng.uniform(0, 2, 5)))
    return out


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls,reference,kind", LOSS_METRICS,
                         ids=[c[0].__name__ for c in LOSS_METRICS])
def test_loss_metrics_accumulate(cls, reference, kind, weighted):
    data = loss_metric_data(kind)
    got = accumulate(cls(), data, weighted)
    expected = weighted_mean([reference(t, p) for t, p, _ in data], [w for *_, w in data],
                             weighted)
    np.testing.assert_allclose(got, expected, rtol=2e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_crossentropy_and_rmse(weighted):
    data = batches()
    per = [-np.log(np.clip(p[np.arange(5), lab], EPS, 1 - EPS)) for lab, _, p, _ in data]
    ws = [w for *_, w in data]
    got = accumulate(metrics.SparseCategoricalCrossentropy(),
                     [(lab[:, None], p, w) for lab, _, p, w in data], weighted)
    np.testing.assert_allclose(got, weighted_mean(per, ws, weighted), rtol=2e-5)
    logits_metric = metrics.SparseCategoricalCrossentropy(from_logits=True)
    got = accumulate(logits_metric, [(lab, np.log(p), w) for lab, _, p, w in data], weighted)
    np.testing.assert_allclose(got, weighted_mean(per, ws, weighted), rtol=2e-5)
    reg = loss_metric_data("regression")
    per = [((t - p) ** 2).mean(-1) for t, p, _ in reg]
    got = accumulate(metrics.RootMeanSquaredError(), reg, weighted)
    np.testing.assert_allclose(got, np.sqrt(weighted_mean(per, [w for *_, w in reg], weighted)),
                               rtol=2e-5)


def test_mean_and_sum():
    m, s = metrics.Mean(), metrics.Sum()
    for metric in (m, s):
        metric.update_state([1, 3, 5, 7])
        metric.update_state(np.array([[2.0, 4.0]]))  # one sample, averaged (Mean)/summed (Sum)
    np.testing.assert_allclose(value(m.result()), (1 + 3 + 5 + 7 + 3) / 5)
    np.testing.assert_allclose(value(s.result()), 22)
    m.reset_state()
    s.reset_state()
    assert value(m.result()) == 0 and value(s.result()) == 0  # no division by zero
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    np.testing.assert_allclose(value(m.result()), 2.0)
    np.testing.assert_allclose(value(s.result()), 4.0)
    m.update_state(10.0, sample_weight=2.0)
    np.testing.assert_allclose(value(m.result()), (1 + 3 + 20) / 4)
    # rank-2 weights on rank-2 values: weighted per element, then averaged per sample
    m.reset_state()
    v = rng.normal(size=(4, 3))
    w = rng.uniform(0, 1, (4, 3))
    m.update_state(v, sample_weight=w)
    np.testing.assert_allclose(value(m.result()), (v * w).mean(-1).sum() / w.mean(-1).sum(),
                               rtol=1e-5)


def test_calling_a_metric_updates_and_returns_result():
    m = metrics.MeanSquaredError()
    first = value(m([[0.0, 1.0]], [[1.0, 1.0]]))
    second = value(m([[0.0, 0.0]], [[0.0, 0.0]]))
    assert first == 0.5 and second == 0.25


def test_metrics_never_record_gradients():
    var = gkeras.Variable(rng.normal(size=(4, 3)).astype(np.float32))
    m = metrics.CategoricalCrossentropy(from_logits=True)
    acc = metrics.CategoricalAccuracy()
    with gkeras.GradientTape() as tape:
        out = gkeras.ops.sum(var * var)
        m.update_state(one_hot(np.arange(4) % 3, 3), var)
        acc.update_state(gkeras.ops.convert_to_tensor(one_hot(np.arange(4) % 3, 3)), var)
        result = m.result()
    assert not result.requires_grad and result._parents is None
    for variable in m.variables + acc.variables:
        assert not variable.trainable
        assert gkeras.backends.current().is_array(variable.value)
    np.testing.assert_allclose(value(tape.gradient(out, [var])[0]), 2 * value(var), rtol=1e-6)


def test_mask_on_predictions_weights_metrics():
    t = rng.normal(size=(2, 4, 1)).astype(np.float32)
    p = rng.normal(size=(2, 4, 1)).astype(np.float32)
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    y_pred = gkeras.ops.convert_to_tensor(p)
    y_pred._keras_mask = mask
    m = metrics.MeanAbsoluteError()
    m.update_state(t, y_pred)
    per_step = np.abs(t - p)[..., 0]
    # Keras: the mask becomes the sample weight; Mean then averages per sample
    w = mask.astype(float)
    expected = ((per_step * w).mean(-1)).sum() / w.mean(-1).sum()
    np.testing.assert_allclose(value(m.result()), expected, rtol=1e-5)


# --- accuracy resolution and naming ----------------------------------------------------

@pytest.mark.parametrize("y_true_shape,y_pred_shape,loss,expected", [
    ((8, 1), (8, 1), None, metrics.BinaryAccuracy),
    ((8,), (8, 1), None, metrics.BinaryAccuracy),
    ((8,), (8, 10), None, metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 10), None, metrics.SparseCategoricalAccuracy),
    ((8, 10), (8, 10), None, metrics.CategoricalAccuracy),
    ((8, 5, 10), (8, 5, 10), "categorical_crossentropy", metrics.CategoricalAccuracy),
    ((8, 5), (8, 5), "binary_crossentropy", metrics.BinaryAccuracy),  # multi-label
    ((8, 5), (8, 5), losses.BinaryCrossentropy(from_logits=True), metrics.BinaryAccuracy),
    ((8, 10), (8, 10), "sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    ((8, 1), (8, 10), losses.SparseCategoricalCrossentropy(), metrics.SparseCategoricalAccuracy),
    ((8, 3), (8, 3), "mse", metrics.CategoricalAccuracy),
])
def test_accuracy_resolution(y_true_shape, y_pred_shape, loss, expected):
    for name in ("accuracy", "acc", "Accuracy"):
        metric = metrics.resolve(name, y_true_shape, y_pred_shape, loss=loss)
        assert type(metric) is expected and metric.name == name
    ce_types = {metrics.BinaryAccuracy: metrics.BinaryCrossentropy,
                metrics.SparseCategoricalAccuracy: metrics.SparseCategoricalCrossentropy,
                metrics.CategoricalAccuracy: metrics.CategoricalCrossentropy}
    for name in ("crossentropy", "ce"):
        metric = metrics.resolve(name, y_true_shape, y_pred_shape, loss=loss)
        assert type(metric) is ce_types[expected] and metric.name == name


def test_resolve_accepts_arrays_and_names_metrics():
    y_true, y_pred = np.zeros((4,)), np.zeros((4, 3))
    assert type(metrics.resolve("acc", y_true, y_pred)) is metrics.SparseCategoricalAccuracy
    mse = metrics.resolve("mse", (4, 1), (4, 1))
    assert isinstance(mse, metrics.MeanMetricWrapper) and mse.name == "mse"
    mse.update_state([[1.0]], [[3.0]])
    assert value(mse.result()) == 4.0
    assert metrics.resolve("mean_absolute_error", (4, 1), (4, 1)).name == "mean_absolute_error"
    assert isinstance(metrics.resolve("huber", (4, 1), (4, 1)), metrics.MeanMetricWrapper)

    def my_metric(y_true, y_pred):
        return gkeras.ops.abs(y_true - y_pred)
    m = metrics.resolve(my_metric, (4, 1), (4, 1))
    assert m.name == "my_metric"
    m.update_state(np.array([[1.0], [2.0]]), np.array([[0.0], [0.0]]))
    assert value(m.result()) == 1.5
    instance = metrics.TopKCategoricalAccuracy(k=2, name="top2")
    assert metrics.resolve(instance, (4, 3), (4, 3)) is instance
    assert metrics.resolve(None, (4,), (4,)) is None


def test_get_names_aliases_and_errors():
    assert type(metrics.get("mse")) is metrics.MeanSquaredError
    assert metrics.get("mse").name == "mean_squared_error"
    assert type(metrics.get("sparse_categorical_accuracy")) is metrics.SparseCategoricalAccuracy
    assert type(metrics.get("SparseTopKCategoricalAccuracy")) is \
        metrics.SparseTopKCategoricalAccuracy
    assert type(metrics.get("kld")) is metrics.KLDivergence
    assert type(metrics.get("logcosh")) is metrics.LogCoshError
    assert type(metrics.get(metrics.Poisson)) is metrics.Poisson
    with pytest.raises(ValueError, match="Unknown metric 'accuracyy'.*sparse_categorical_accuracy"):
        metrics.get("accuracyy")
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        metrics.resolve("nope", (4,), (4,))
    with pytest.raises(ValueError, match="Could not interpret"):
        metrics.get(42)


def test_config_roundtrip():
    for metric in (metrics.BinaryAccuracy(threshold=0.3, name="ba"),
                   metrics.TopKCategoricalAccuracy(k=3),
                   metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                   metrics.CosineSimilarity(axis=0), metrics.Mean(name="m"),
                   metrics.MeanMetricWrapper(losses.hinge, name="h")):
        restored = metrics.deserialize(metrics.serialize(metric))
        assert type(restored) is type(metric)
        assert restored.get_config() == metric.get_config()
    with pytest.raises(TypeError, match="unexpected arguments"):
        metrics.CategoricalCrossentropy(ignore_class=1)
