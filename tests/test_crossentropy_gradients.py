"""The gradient of categorical crossentropy with respect to probabilities, compared value by
value with a hand-derived formula (Keras's renormalisation and clipping included).

Keras computes, along ``axis``:  ``p = o / sum(o)``, ``c = clip(p, eps, 1 - eps)``,
``loss = -sum_j t_j log c_j``.  With ``s = sum(o)`` and ``inside_j = eps <= p_j <= 1 - eps``
(where the clip passes gradients):

    d loss / d o_k = -t_k inside_k / (c_k s)  +  sum_j t_j inside_j o_j / (c_j s^2)

The second term comes from the renormalisation: raising one output lowers every ``p_j``.
This formula was checked against ``jax.grad`` of Keras 3.15's categorical_crossentropy.
"""
import numpy as np
import pytest

import gkeras
from gkeras import losses

EPS = 1e-7


def hand_gradient(t, o, axis=-1):
    s = o.sum(axis, keepdims=True)
    p = o / s
    inside = ((p >= EPS) & (p <= 1 - EPS)).astype(np.float64)
    c = np.clip(p, EPS, 1 - EPS)
    return -t * inside / (c * s) + (t * inside * o / (c * s * s)).sum(axis, keepdims=True)


def tape_gradient(loss_fn, t, o, sample_scale, dtype="float64"):
    """d/d o of ``sum(sample_scale * loss_fn(t, o))``: per-sample losses weighted unequally,
    so the upstream gradient of every sample is checked too."""
    var = gkeras.Variable(o, dtype=dtype)
    with gkeras.GradientTape() as tape:
        total = gkeras.ops.sum(loss_fn(t, var) * sample_scale)
    return np.asarray(tape.gradient(total, [var])[0].numpy(), dtype=np.float64)


def soft_targets(rng, shape, axis=-1):
    t = rng.uniform(0, 1, shape)
    return t / t.sum(axis, keepdims=True)


rng = np.random.default_rng(0)
CASES = {
    # unnormalised outputs: the renormalisation term is large
    "batch 5, 4 classes": (soft_targets(rng, (5, 4)), rng.uniform(0.05, 2.0, (5, 4)), -1),
    "batch 1, 2 classes": (np.array([[0.0, 1.0]]), np.array([[0.3, 0.9]]), -1),
    "one-hot, 10 classes": (np.eye(10)[rng.integers(0, 10, 7)], rng.uniform(0.01, 1, (7, 10)),
                            -1),
    "rank 3, last axis": (soft_targets(rng, (2, 3, 4)), rng.uniform(0.1, 1.5, (2, 3, 4)), -1),
    "rank 3, axis 1": (soft_targets(rng, (2, 3, 4), 1), rng.uniform(0.1, 1.5, (2, 3, 4)), 1),
    # probabilities below eps and above 1 - eps: those components pass no gradient
    "clipped": (np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                np.array([[3.0, 0.0, 1e-9], [1.0, 1e-9, 1e-9], [0.5, 0.25, 0.25]]), -1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_categorical_crossentropy_gradient_on_probabilities(case):
    t, o, axis = CASES[case]
    scale = np.random.default_rng(1).uniform(0.5, 2.0, np.delete(o.shape, axis % o.ndim))
    got = tape_gradient(lambda y, p: losses.categorical_crossentropy(y, p, axis=axis), t, o,
                        scale)
    want = hand_gradient(t, o, axis) * np.expand_dims(scale, axis)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_a_clipped_target_class_passes_no_gradient():
    t = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    o = np.array([[1e-9, 0.5, 0.5], [1e-9, 0.5, 0.5]])  # class 0 is clipped up to eps
    got = tape_gradient(losses.categorical_crossentropy, t, o, np.ones(2))
    # the loss is -log(eps) whatever o[0, :] is near here; the second sample only feels class 1
    np.testing.assert_array_equal(got[0], [0.0, 0.0, 0.0])
    s = 1.0 + 1e-9
    p1 = 0.5 / s
    renormalisation = 0.5 * 0.5 / (p1 * s * s)  # t_1 o_1 / (c_1 s^2) = 0.5 / s
    np.testing.assert_allclose(got[1], [renormalisation, renormalisation - 0.5 / (p1 * s),
                                        renormalisation], rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_gradient_with_label_smoothing(smoothing):
    t = np.eye(4)[[0, 3, 1]]
    o = np.random.default_rng(2).uniform(0.05, 1.0, (3, 4))
    got = tape_gradient(lambda y, p: losses.categorical_crossentropy(
        y, p, label_smoothing=smoothing), t, o, np.ones(3))
    np.testing.assert_allclose(got, hand_gradient(t * (1 - smoothing) + smoothing / 4, o),
                               rtol=1e-10)


@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-5), ("float64", 1e-10)])
def test_loss_object_mean_over_the_batch(dtype, rtol):
    t = np.eye(3)[[2, 0, 1, 1]]
    o = np.random.default_rng(3).uniform(0.05, 1.0, (4, 3))
    loss = losses.CategoricalCrossentropy(dtype=dtype)
    got = tape_gradient(loss, t, o.astype(dtype), 1.0, dtype=dtype)
    np.testing.assert_allclose(got, hand_gradient(t, o.astype(dtype).astype(np.float64)) / 4,
                               rtol=rtol)


def test_sparse_categorical_crossentropy_gradient_on_probabilities():
    labels = np.array([2, 0, 1, 3, 3])
    o = np.random.default_rng(4).uniform(0.02, 1.5, (5, 4))
    o[1, 0] = 1e-10  # clipped target
    scale = np.arange(1.0, 6.0)
    got = tape_gradient(losses.sparse_categorical_crossentropy, labels, o, scale)
    want = hand_gradient(np.eye(4)[labels], o) * scale[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
