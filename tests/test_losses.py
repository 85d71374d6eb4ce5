"""gkeras.losses against independent NumPy formulas, with float64 finite-difference gradients."""
import numpy as np
import pytest

import gkeras
from gkeras import losses

EPS = 1e-7
rng = np.random.default_rng(0)


def value(t):
    return np.asarray(t, dtype=np.float64)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(labels, n):
    return np.eye(n)[labels]


# --- independent references ------------------------------------------------------------

def ref_cce_probs(t, p):
    q = np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(q)).sum(axis=-1)


def ref_cce_logits(t, x):
    m = x.max(axis=-1, keepdims=True)
    log_p = x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))
    return -(t * log_p).sum(axis=-1)


def ref_bce_probs(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis=-1)


def ref_bce_logits(t, x):
    # -[t log s(x) + (1-t) log(1-s(x))] with log s(x) = -log1p(exp(-x)) evaluated stably
    log_s = -np.logaddexp(0, -x)
    log_not_s = -np.logaddexp(0, x)
    return -(t * log_s + (1 - t) * log_not_s).mean(axis=-1)


def ref_cosine(t, p):
    tn = t / np.maximum(np.linalg.norm(t, axis=-1, keepdims=True), EPS)
    pn = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), EPS)
    return -(tn * pn).sum(axis=-1)


def ref_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(axis=-1)


def ref_hinge_labels(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


t_reg = rng.normal(size=(6, 4))
p_reg = rng.normal(size=(6, 4))
t_pos = rng.uniform(0.1, 3, size=(6, 4))
p_pos = rng.uniform(0.1, 3, size=(6, 4))
t_prob = softmax(rng.normal(size=(6, 4)))
p_prob = softmax(rng.normal(size=(6, 4)))

REGRESSION_CASES = [
    ("mean_squared_error", t_reg, p_reg, lambda t, p: ((t - p) ** 2).mean(-1)),
    ("mean_absolute_error", t_reg, p_reg, lambda t, p: np.abs(t - p).mean(-1)),
    ("mean_absolute_percentage_error", t_reg, p_reg,
     lambda t, p: 100 * np.abs((t - p) / np.maximum(np.abs(t), EPS)).mean(-1)),
    ("mean_squared_logarithmic_error", t_reg, p_reg,  # negatives are raised to epsilon
     lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2)
     .mean(-1)),
    ("cosine_similarity", t_reg, p_reg, ref_cosine),
    ("huber", t_reg, p_reg, ref_huber),
    ("log_cosh", t_reg, p_reg, lambda t, p: np.log(np.cosh(p - t)).mean(-1)),
    ("kl_divergence", t_prob, p_prob,
     lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1)),
    ("poisson", t_pos, p_pos, lambda t, p: (p - t * np.log(p + EPS)).mean(-1)),
    ("hinge", np.sign(t_reg), p_reg, lambda t, p: np.maximum(1 - t * p, 0).mean(-1)),
    ("squared_hinge", np.sign(t_reg), p_reg,
     lambda t, p: (np.maximum(1 - t * p, 0) ** 2).mean(-1)),
    ("categorical_hinge", one_hot(rng.integers(0, 4, 6), 4), p_reg,
     lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0)),
]


@pytest.mark.parametrize("name,t,p,reference", REGRESSION_CASES,
                         ids=[c[0] for c in REGRESSION_CASES])
def test_function_values(name, t, p, reference):
    out = getattr(losses, name)(t, p)
    assert out.shape == (6,)
    np.testing.assert_allclose(value(out), reference(t, p), rtol=1e-10, atol=1e-12)


def test_edge_values():
    # Keras docstring values
    np.testing.assert_allclose(value(losses.huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]))
                               .mean(), 0.155, rtol=1e-6)
    np.testing.assert_allclose(
        value(losses.cosine_similarity([[0., 1.], [1., 1.], [1., 1.]],
                                       [[1., 0.], [1., 1.], [-1., -1.]])), [0, -1, 1], atol=1e-6)
    # huber with another delta
    np.testing.assert_allclose(value(losses.huber(t_reg, p_reg, delta=0.3)),
                               ref_huber(t_reg, p_reg, 0.3), rtol=1e-12)
    # zero vectors: cosine similarity 0, not NaN
    assert value(losses.cosine_similarity(np.zeros((2, 3)), np.ones((2, 3)))).tolist() == [0, 0]
    # hinge maps 0/1 labels to -1/1, but leaves other labels alone
    binary = (t_reg > 0).astype(float)
    np.testing.assert_allclose(value(losses.hinge(binary, p_reg)),
                               np.maximum(1 - ref_hinge_labels(binary) * p_reg, 0).mean(-1))
    mixed = binary.copy()
    mixed[0, 0] = -1
    np.testing.assert_allclose(value(losses.hinge(mixed, p_reg)),
                               np.maximum(1 - mixed * p_reg, 0).mean(-1))
    # log_cosh does not overflow for large errors: log(cosh(x)) ~ |x| - log 2
    np.testing.assert_allclose(value(losses.log_cosh([[0.0]], [[1000.0]])), [1000 - np.log(2)])


# --- crossentropies --------------------------------------------------------------------

def test_categorical_crossentropy_probs_logits_smoothing():
    t = one_hot(rng.integers(0, 5, 8), 5)
    p = rng.uniform(0.01, 1, size=(8, 5))  # unnormalised: Keras divides by the sum
    np.testing.assert_allclose(value(losses.categorical_crossentropy(t, p)),
                               ref_cce_probs(t, p), rtol=1e-12)
    x = rng.normal(size=(8, 5)) * 3
    np.testing.assert_allclose(value(losses.categorical_crossentropy(t, x, from_logits=True)),
                               ref_cce_logits(t, x), rtol=1e-12)
    smooth = t * 0.8 + 0.2 / 5
    np.testing.assert_allclose(
        value(losses.categorical_crossentropy(t, x, from_logits=True, label_smoothing=0.2)),
        ref_cce_logits(smooth, x), rtol=1e-12)
    np.testing.assert_allclose(
        value(losses.categorical_crossentropy(t, p, label_smoothing=0.2)),
        ref_cce_probs(smooth, p), rtol=1e-12)
    # Keras docstring example
    np.testing.assert_allclose(value(losses.categorical_crossentropy(
        [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), [0.0513, 2.303], atol=1e-3)


def test_crossentropies_extreme_inputs_stay_finite():
    t = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    p = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    out = value(losses.categorical_crossentropy(t, p))
    np.testing.assert_allclose(out, [-np.log(EPS), -np.log(1 - EPS)], rtol=1e-6)
    x = np.array([[-1000.0, 1000.0, 0.0], [0.0, 1000.0, -1000.0]])
    out = value(losses.categorical_crossentropy(t, x, from_logits=True))
    np.testing.assert_allclose(out, [2000.0, 0.0], atol=1e-9)
    bt = np.array([[1.0, 0.0, 1.0, 0.0]])
    bp = np.array([[0.0, 1.0, 1.0, 0.0]])
    out = value(losses.binary_crossentropy(bt, bp))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref_bce_probs(bt, bp), rtol=1e-12)
    bx = np.array([[-500.0, 500.0, 500.0, -500.0]])
    np.testing.assert_allclose(value(losses.binary_crossentropy(bt, bx, from_logits=True)),
                               [250.0], rtol=1e-12)  # (500 + 500 + 0 + 0) / 4
    for ls in (losses.SparseCategoricalCrossentropy(), losses.CategoricalCrossentropy()):
        labels = [0, 1] if isinstance(ls, losses.SparseCategoricalCrossentropy) else t
        assert np.isfinite(value(ls(labels, p)))


def test_binary_crossentropy_values():
    t = rng.integers(0, 2, size=(7, 3)).astype(float)
    p = rng.uniform(0, 1, size=(7, 3))
    np.testing.assert_allclose(value(losses.binary_crossentropy(t, p)), ref_bce_probs(t, p),
                               rtol=1e-12)
    x = rng.normal(size=(7, 3)) * 4
    np.testing.assert_allclose(value(losses.binary_crossentropy(t, x, from_logits=True)),
                               ref_bce_logits(t, x), rtol=1e-12)
    smooth = t * 0.9 + 0.05
    np.testing.assert_allclose(
        value(losses.binary_crossentropy(t, x, from_logits=True, label_smoothing=0.1)),
        ref_bce_logits(smooth, x), rtol=1e-12)
    np.testing.assert_allclose(value(losses.binary_crossentropy(t, p, label_smoothing=0.1)),
                               ref_bce_probs(smooth, p), rtol=1e-12)
    # Keras docstring: BinaryCrossentropy(from_logits=True) on 2x2 data
    bce = losses.BinaryCrossentropy(from_logits=True)
    y_t, y_p = np.array([[0, 1], [0, 0]]), np.array([[-18.6, 0.51], [2.94, -12.8]])
    np.testing.assert_allclose(value(bce(y_t, y_p)), 0.8654, atol=1e-3)
    np.testing.assert_allclose(value(bce(y_t, y_p, sample_weight=[0.8, 0.2])), 0.243, atol=1e-3)


@pytest.mark.parametrize("label_dtype", ["int64", "float32"])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(label_dtype, label_shape, from_logits):
    labels = rng.integers(0, 4, 9)
    y_true = labels.astype(label_dtype)
    if label_shape == "column":
        y_true = y_true[:, None]
    pred = rng.normal(size=(9, 4)) if from_logits else rng.uniform(0.01, 1, size=(9, 4))
    ref = (ref_cce_logits if from_logits else ref_cce_probs)(one_hot(labels, 4), pred)
    out = losses.sparse_categorical_crossentropy(y_true, pred, from_logits=from_logits)
    assert out.shape == (9,)
    np.testing.assert_allclose(value(out), ref, rtol=1e-12)
    loss_obj = losses.SparseCategoricalCrossentropy(from_logits=from_logits, dtype="float64")
    np.testing.assert_allclose(value(loss_obj(y_true, pred)), ref.mean(), rtol=1e-12)


def test_sparse_categorical_crossentropy_ignore_class_and_errors():
    labels = np.array([0, 2, -1, 1])
    x = rng.normal(size=(4, 3))
    out = value(losses.sparse_categorical_crossentropy(labels, x, from_logits=True,
                                                       ignore_class=-1))
    ref = ref_cce_logits(one_hot(np.array([0, 2, 0, 1]), 3), x)
    np.testing.assert_allclose(out, np.where(labels == -1, 0, ref), rtol=1e-12)
    # the mask averages over the 3 valid samples only (Keras)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1,
                                                dtype="float64")
    np.testing.assert_allclose(value(loss(labels, x)), ref[labels != -1].mean(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        losses.sparse_categorical_crossentropy([0, 3], x[:2])
    with pytest.raises(ValueError, match="y_true.shape=\\(3,\\)"):
        losses.sparse_categorical_crossentropy([0, 1, 2], x[:2])
    with pytest.raises(ValueError, match="same shape"):
        losses.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 4)))


def test_sparse_axis_argument():
    x = rng.normal(size=(2, 4, 3))  # classes on axis 1
    labels = rng.integers(0, 4, (2, 3))
    out = value(losses.sparse_categorical_crossentropy(labels, x, from_logits=True, axis=1))
    ref = ref_cce_logits(one_hot(labels, 4), np.moveaxis(x, 1, -1))
    np.testing.assert_allclose(out, ref, rtol=1e-12)


# --- reductions and sample weights -----------------------------------------------------

def test_reductions_and_sample_weight():
    t, p = t_reg, p_reg
    per_sample = ((t - p) ** 2).mean(-1)
    w = rng.uniform(0, 2, size=6)
    cases = {
        "sum_over_batch_size": (per_sample.mean(), (per_sample * w).sum() / 6),
        "auto": (per_sample.mean(), (per_sample * w).sum() / 6),
        "mean": (per_sample.mean(), (per_sample * w).sum() / 6),
        "sum": (per_sample.sum(), (per_sample * w).sum()),
        "mean_with_sample_weight": (per_sample.mean(), (per_sample * w).sum() / w.sum()),
        "none": (per_sample, per_sample * w),
        None: (per_sample, per_sample * w),
    }
    for reduction, (plain, weighted) in cases.items():
        loss = losses.MeanSquaredError(reduction=reduction, dtype="float64")
        np.testing.assert_allclose(value(loss(t, p)), plain, rtol=1e-12, err_msg=str(reduction))
        np.testing.assert_allclose(value(loss(t, p, sample_weight=w)), weighted, rtol=1e-12,
                                   err_msg=str(reduction))
        # (n, 1) weights expand (n,) losses to (n, 1), as Keras's squeeze_or_expand_to_same_rank
        out = value(loss(t, p, sample_weight=w[:, None]))
        assert out.shape == np.shape(weighted) + ((1,) if reduction in ("none", None) else ())
        np.testing.assert_allclose(out.reshape(np.shape(weighted)), weighted, rtol=1e-12,
                                   err_msg=str(reduction))
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="average")


def test_sample_weight_on_sequence_losses_and_mask():
    # per-timestep losses (n, T) with per-sample weights (n,) broadcast over time
    t = rng.normal(size=(3, 5, 2))
    p = rng.normal(size=(3, 5, 2))
    w = np.array([1.0, 0.0, 2.0])
    per_step = ((t - p) ** 2).mean(-1)
    loss = losses.MeanSquaredError(dtype="float64")
    np.testing.assert_allclose(value(loss(t, p, sample_weight=w)),
                               (per_step * w[:, None]).sum() / 15, rtol=1e-12)
    # a mask on y_pred (from a masking layer) averages over the valid steps only
    mask = rng.uniform(size=(3, 5)) > 0.4
    y_pred = gkeras.ops.convert_to_tensor(p)
    y_pred._keras_mask = mask
    np.testing.assert_allclose(value(loss(t, y_pred)), per_step[mask].mean(), rtol=1e-12)


def test_class_weight_to_sample_weight():
    def to_sample_weight(y, class_weight):
        return gkeras.backends.current().to_numpy(
            losses.class_weight_to_sample_weight(y, class_weight))
    weights = {0: 0.5, 2: 3.0}
    labels = np.array([0, 1, 2, 2, 5])
    expected = [0.5, 1.0, 3.0, 3.0, 1.0]
    np.testing.assert_allclose(to_sample_weight(labels, weights), expected)
    np.testing.assert_allclose(
        to_sample_weight(labels[:, None].astype(float), weights), expected)
    np.testing.assert_allclose(
        to_sample_weight(one_hot(labels, 6), weights), expected)
    with pytest.raises(ValueError, match="non-negative"):
        losses.class_weight_to_sample_weight(labels, {-1: 2.0})


# --- gradients -------------------------------------------------------------------------

def numeric_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


def check_gradient(fn, y_true, y_pred, **kwargs):
    def scalar(pred):
        return float(value(gkeras.ops.sum(fn(y_true, pred, **kwargs))))
    var = gkeras.Variable(y_pred, dtype="float64")
    with gkeras.GradientTape() as tape:
        out = gkeras.ops.sum(fn(y_true, var, **kwargs))
    grad = tape.gradient(out, [var])[0]
    np.testing.assert_allclose(value(grad), numeric_gradient(scalar, y_pred), rtol=1e-5,
                               atol=1e-7)


GRADIENT_CASES = [(name, t, p, {}) for name, t, p, _ in REGRESSION_CASES] + [
    ("huber", t_reg, p_reg, {"delta": 0.4}),
    ("categorical_crossentropy", t_prob, rng.uniform(0.05, 1, (6, 4)), {}),
    ("categorical_crossentropy", t_prob, rng.normal(size=(6, 4)), {"from_logits": True}),
    ("categorical_crossentropy", one_hot(rng.integers(0, 4, 6), 4), rng.uniform(0.05, 1, (6, 4)),
     {"label_smoothing": 0.1}),
    ("sparse_categorical_crossentropy", rng.integers(0, 4, 6), rng.uniform(0.05, 1, (6, 4)), {}),
    ("sparse_categorical_crossentropy", rng.integers(0, 4, (6, 1)).astype(float),
     rng.normal(size=(6, 4)), {"from_logits": True}),
    ("binary_crossentropy", rng.integers(0, 2, (6, 3)).astype(float),
     rng.uniform(0.05, 0.95, (6, 3)), {"label_smoothing": 0.2}),
    ("binary_crossentropy", rng.integers(0, 2, (6, 3)).astype(float), rng.normal(size=(6, 3)),
     {"from_logits": True}),
]


@pytest.mark.parametrize("name,t,p,kwargs", GRADIENT_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRADIENT_CASES)])
def test_gradients(name, t, p, kwargs):
    check_gradient(getattr(losses, name), t, p, **kwargs)


def test_gradient_through_loss_object_with_sample_weight():
    w = rng.uniform(0, 2, 6)
    t = rng.integers(0, 4, 6)
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    check_gradient(lambda y, p: loss(y, p, sample_weight=w), t, rng.normal(size=(6, 4)))
    loss = losses.BinaryCrossentropy(reduction="sum", dtype="float64")
    check_gradient(lambda y, p: loss(y, p, sample_weight=w),
                   rng.integers(0, 2, (6, 1)).astype(float), rng.uniform(0.1, 0.9, (6, 1)))


def test_clipped_probabilities_have_finite_gradients():
    var = gkeras.Variable(np.array([[0.0, 1.0, 0.0]]), dtype="float64")
    with gkeras.GradientTape() as tape:
        out = losses.categorical_crossentropy(np.array([[1.0, 0.0, 0.0]]), var)
    assert np.isfinite(value(tape.gradient(out, [var])[0])).all()
    var = gkeras.Variable(np.array([[0.0, 1.0]]), dtype="float64")
    with gkeras.GradientTape() as tape:
        out = losses.binary_crossentropy(np.array([[1.0, 0.0]]), var)
    assert np.isfinite(value(tape.gradient(out, [var])[0])).all()


# --- lookup, naming and serialization --------------------------------------------------

@pytest.mark.parametrize("alias,fn", [
    ("mse", losses.mean_squared_error), ("MSE", losses.mean_squared_error),
    ("mae", losses.mean_absolute_error), ("mape", losses.mean_absolute_percentage_error),
    ("msle", losses.mean_squared_logarithmic_error), ("kld", losses.kl_divergence),
    ("kullback_leibler_divergence", losses.kl_divergence), ("logcosh", losses.log_cosh),
    ("bce", losses.binary_crossentropy), ("hinge", losses.hinge),
    ("categorical_crossentropy", losses.categorical_crossentropy),
])
def test_get_aliases_give_callable_loss_objects(alias, fn):
    loss = losses.get(alias)
    assert isinstance(loss, losses.Loss) and loss.fn is fn
    t, p = t_prob, p_prob
    np.testing.assert_allclose(value(loss(t, p, None)), value(fn(t, p)).mean(), rtol=1e-6)


def test_get_other_identifiers():
    huber_loss = losses.get("Huber")
    assert isinstance(huber_loss, losses.Huber) and huber_loss.name == "huber_loss"
    instance = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(instance) is instance
    assert isinstance(losses.get(losses.Poisson), losses.Poisson)

    def my_loss(y_true, y_pred):
        return gkeras.ops.mean(gkeras.ops.abs(y_true - y_pred), axis=-1)
    wrapped = losses.get(my_loss)
    assert wrapped.name == "my_loss"
    np.testing.assert_allclose(value(wrapped(t_reg, p_reg)), np.abs(t_reg - p_reg).mean(),
                               rtol=1e-6)
    restored = losses.get({"class_name": "CategoricalCrossentropy",
                           "config": {"from_logits": True, "label_smoothing": 0.1}})
    assert restored.from_logits and restored.label_smoothing == 0.1
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Unknown loss 'msee'.*mean_squared_error"):
        losses.get("msee")
    with pytest.raises(ValueError, match="Could not interpret"):
        losses.get(3)


def test_config_roundtrip():
    labels = rng.integers(0, 4, 6)
    for loss in (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2,
                                                reduction="sum", name="cce"),
                 losses.Huber(delta=2.0), losses.CosineSimilarity(axis=0),
                 losses.SparseCategoricalCrossentropy(ignore_class=0), losses.MeanSquaredError(),
                 losses.LossFunctionWrapper(losses.hinge, name="h", reduction="sum")):
        config = losses.serialize(loss)
        restored = losses.deserialize(config)
        assert type(restored) is type(loss)
        assert restored.get_config() == loss.get_config()
        sparse = isinstance(loss, losses.SparseCategoricalCrossentropy)
        y_true = labels if sparse else t_prob
        np.testing.assert_allclose(value(restored(y_true, p_prob)), value(loss(y_true, p_prob)))
    assert losses.deserialize(losses.serialize(losses.poisson)) is losses.poisson


def test_is_binary_and_is_sparse():
    for loss in ("binary_crossentropy", "bce", losses.binary_crossentropy,
                 losses.BinaryCrossentropy(from_logits=True), losses.get("bce")):
        assert losses.is_binary_crossentropy(loss)
        assert not losses.is_sparse_categorical(loss)
    for loss in ("sparse_categorical_crossentropy", losses.SparseCategoricalCrossentropy,
                 losses.SparseCategoricalCrossentropy(), losses.sparse_categorical_crossentropy):
        assert losses.is_sparse_categorical(loss)
    for loss in ("mse", losses.CategoricalCrossentropy(), None, "unknown"):
        assert not losses.is_binary_crossentropy(loss)
        assert not losses.is_sparse_categorical(loss)


def test_loss_object_casts_to_floatx_and_records_graph():
    loss = losses.MeanSquaredError()
    assert loss(t_reg, p_reg).dtype == np.float32
    var = gkeras.Variable(p_reg.astype(np.float32))
    with gkeras.GradientTape() as tape:
        out = loss(t_reg, var)
    assert out.requires_grad
    np.testing.assert_allclose(value(tape.gradient(out, [var])[0]),
                               2 * (p_reg - t_reg) / p_reg.size, rtol=1e-5)
