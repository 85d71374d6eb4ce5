"""K's elementwise math, reductions, comparisons and products against NumPy and against values
computed with Keras 2 on TensorFlow (tf_keras), with finite-difference gradient checks."""
import numpy as np
import pytest

from gkeras import backend as K
from test_ops import Case, away_from, check_case, normal, positive

X = np.array([[0.5, -1.25, 2.0, 0.0], [3.0, 0.75, -0.5, 1.5], [-2.0, 1.0, 0.25, -0.75]],
             "float32")


@pytest.mark.parametrize("name,reference", [
    ("max", np.max), ("min", np.min), ("sum", np.sum), ("prod", np.prod), ("mean", np.mean),
    ("var", np.var), ("std", np.std),
    ("logsumexp", lambda x, axis=None, keepdims=False: np.log(np.sum(np.exp(x), axis=axis,
                                                                      keepdims=keepdims)))])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), (-1, False),
                                           ([0, 1], True)])
def test_reductions_match_numpy(name, reference, axis, keepdims):
    got = getattr(K, name)(X, axis=axis, keepdims=keepdims).numpy()
    want = reference(X.astype("float64"), axis=None if axis is None else tuple(axis)
                     if isinstance(axis, list) else axis, keepdims=keepdims)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.dtype == np.float32


def test_reduction_defaults_and_booleans():
    flags = np.array([[True, False], [True, True]])
    np.testing.assert_allclose(K.mean(flags).numpy(), 0.75)
    assert K.mean(flags).dtype == np.float32
    np.testing.assert_allclose(K.var(flags, axis=1).numpy(), [0.25, 0.0])
    np.testing.assert_array_equal(K.any(np.array([[0, 2], [0, 0]]), axis=1).numpy(),
                                  [True, False])
    np.testing.assert_array_equal(K.all(np.array([[1, 2], [0, 3]]), axis=1, keepdims=True)
                                  .numpy(), [[True], [False]])
    assert K.any(np.zeros(3)).numpy() == np.False_


def test_argmax_argmin_default_to_the_last_axis_and_give_int64():
    got = K.argmax(X)
    np.testing.assert_array_equal(got.numpy(), [2, 0, 1])
    assert got.dtype == np.int64
    np.testing.assert_array_equal(K.argmin(X).numpy(), [1, 2, 0])
    np.testing.assert_array_equal(K.argmax(X, axis=0).numpy(), [1, 2, 0, 1])


@pytest.mark.parametrize("name,reference", [
    ("square", np.square), ("abs", np.abs), ("exp", np.exp), ("sign", np.sign),
    ("sin", np.sin), ("cos", np.cos), ("round", np.round)])
def test_elementwise_match_numpy(name, reference):
    np.testing.assert_allclose(getattr(K, name)(X).numpy(), reference(X), rtol=1e-6)


def test_round_is_half_to_even_log_and_sqrt_clips_negatives_to_zero():
    np.testing.assert_array_equal(K.round(np.array([0.5, 1.5, 2.5, -0.5, -1.7])).numpy(),
                                  [0.0, 2.0, 2.0, -0.0, -2.0])
    np.testing.assert_allclose(K.log(np.array([1.0, np.e])).numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(K.sqrt(np.array([-4.0, 0.0, 9.0])).numpy(), [0.0, 0.0, 3.0])


def test_pow_clip_maximum_minimum():
    np.testing.assert_allclose(K.pow(np.array([2.0, 3.0]), 3).numpy(), [8.0, 27.0])
    np.testing.assert_allclose(K.clip(X, -1.0, 1.0).numpy(), np.clip(X, -1.0, 1.0))
    # Keras 2: max_value None is +inf, and a max below min is raised to min
    np.testing.assert_allclose(K.clip(X, 0.5, None).numpy(), np.maximum(X, 0.5))
    np.testing.assert_allclose(K.clip(X, 0.5, 0.0).numpy(), np.full(X.shape, 0.5))
    np.testing.assert_allclose(K.maximum(X, 0.25).numpy(), np.maximum(X, 0.25))
    np.testing.assert_allclose(K.minimum(X, X.T[:3, :3] @ np.ones((3, 4), "float32")).numpy(),
                               np.minimum(X, X.T[:3, :3] @ np.ones((3, 4))), rtol=1e-6)


@pytest.mark.parametrize("name,reference", [
    ("equal", np.equal), ("not_equal", np.not_equal), ("greater", np.greater),
    ("greater_equal", np.greater_equal), ("less", np.less), ("less_equal", np.less_equal)])
def test_comparisons_give_booleans(name, reference):
    other = np.array([0.5, 0.75, 0.0, 0.0], "float32")
    got = getattr(K, name)(X, other)
    assert got.dtype == bool
    np.testing.assert_array_equal(got.numpy(), reference(X, other))


def test_cumsum_cumprod_default_to_axis_0():
    np.testing.assert_allclose(K.cumsum(X).numpy(), np.cumsum(X, axis=0), rtol=1e-6)
    np.testing.assert_allclose(K.cumprod(X, axis=1).numpy(), np.cumprod(X, axis=1), rtol=1e-6)


@pytest.mark.parametrize("sx,sy", [((3, 4), (4, 2)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                                   ((2, 3, 4), (6, 4, 5))])
def test_dot_is_numpy_dot(sx, sy):
    x, y = normal(*sx), normal(*sy)
    got = K.dot(x, y).numpy()
    assert got.shape == np.dot(x, y).shape
    np.testing.assert_allclose(got, np.dot(x, y), rtol=1e-10)


@pytest.mark.parametrize("sx,sy,axes,expected_shape", [
    ((4, 3), (4, 3), 1, (4, 1)),
    ((4, 3), (4, 3), None, (4, 1)),
    ((4, 3, 5), (4, 5, 2), None, (4, 3, 2)),
    ((4, 3, 5), (4, 2, 5), (2, 2), (4, 3, 2)),
    ((4, 3, 5), (4, 3, 2), (1, 1), (4, 5, 2)),
    ((32, 20, 1), (32, 30, 20), (1, 2), (32, 1, 30)),  # the example of Keras 2.2.4's docstring
])
def test_batch_dot_contracts_axes_per_sample(sx, sy, axes, expected_shape):
    x, y = normal(*sx), normal(*sy)
    got = K.batch_dot(x, y, axes=axes).numpy()
    assert got.shape == expected_shape
    a0, a1 = (1, 1) if axes is None and len(sx) == 2 else \
        (len(sx) - 1, len(sy) - 2) if axes is None else \
        (axes, axes) if isinstance(axes, int) else axes
    want = np.stack([np.tensordot(x[i], y[i], (a0 - 1, a1 - 1)) for i in range(sx[0])])
    np.testing.assert_allclose(got, want.reshape(expected_shape), rtol=1e-10)


# shapes where tf_keras.backend.batch_dot gave these same results (Keras 2.2.4 agrees)
def test_batch_dot_mixed_ranks_match_keras():
    x = np.array([[[0.13, -0.13, 0.64], [0.1, -0.54, 0.36], [1.3, 0.95, -0.7],
                   [-1.27, -0.62, -0.4]],
                  [[0.0, 0.5, -0.25], [1.0, -1.0, 2.0], [0.3, 0.2, 0.1], [-0.5, 0.0, 0.5]]])
    y = np.array([[1.0, -2.0, 0.5, 0.25], [0.5, 0.0, -1.0, 2.0]])
    got = K.batch_dot(x, y, axes=(1, 1)).numpy()  # (2, 4, 3) . (2, 4) -> (2, 3)
    np.testing.assert_allclose(got, np.einsum("bij,bi->bj", x, y), rtol=1e-12)
    got = K.batch_dot(y, x, axes=(1, 1)).numpy()  # (2, 4) . (2, 4, 3) -> (2, 3)
    np.testing.assert_allclose(got, np.einsum("bi,bij->bj", y, x), rtol=1e-12)
    z = np.arange(6.0).reshape(2, 3)
    got = K.batch_dot(x, z, axes=(2, 1)).numpy()  # (2, 4, 3) . (2, 3) -> (2, 4)
    np.testing.assert_allclose(got, np.einsum("bij,bj->bi", x, z), rtol=1e-12)


def test_batch_dot_of_4d_operands_is_keras_224s_batched_matmul():
    # Keras 2.2.4 lowers rank >= 3 to tf.matmul over the last two axes
    x, y = normal(2, 3, 4, 5), normal(2, 3, 5, 2)
    np.testing.assert_allclose(K.batch_dot(x, y).numpy(), np.matmul(x, y), rtol=1e-10)


def test_batch_dot_rejects_nested_axes():
    with pytest.raises(ValueError, match="Multiple target dimensions|multiple target"):
        K.batch_dot(normal(2, 3), normal(2, 3), axes=[[1], [1]])


# from tf_keras.backend.l2_normalize (tf.nn.l2_normalize, epsilon 1e-12)
L2_X = np.array([[0.3, -1.2, 2.0], [0.0, 0.5, -0.25]], "float32")
L2 = {None: [[0.124114327, -0.496457309, 0.827428818], [0.0, 0.206857204, -0.103428602]],
      1: [[0.127572984, -0.510291934, 0.850486517], [0.0, 0.894427180, -0.447213590]],
      0: [[1.0, -0.923076928, 0.992277861], [0.0, 0.384615362, -0.124034733]]}


@pytest.mark.parametrize("axis", [None, 1, 0])
def test_l2_normalize_matches_keras(axis):
    np.testing.assert_allclose(K.l2_normalize(L2_X, axis=axis).numpy(), L2[axis], rtol=1e-6)


def test_l2_normalize_of_a_zero_row_is_zero():
    got = K.l2_normalize(np.array([[0.0, 0.0], [3.0, 4.0]], "float32"), axis=-1).numpy()
    np.testing.assert_allclose(got, [[0.0, 0.0], [0.6, 0.8]], rtol=1e-6)


# from tf_keras.backend.in_top_k: ties with the target's score count as in the top k
IN_TOP_K_PREDICTIONS = np.array([[0.1, 0.5, 0.5, 0.2], [0.9, 0.05, 0.03, 0.02],
                                 [0.3, 0.3, 0.3, 0.1]], "float32")


@pytest.mark.parametrize("k,expected", [(1, [True, False, False]), (2, [True, True, False]),
                                        (3, [True, True, False]), (4, [True, True, True])])
def test_in_top_k_matches_keras(k, expected):
    got = K.in_top_k(IN_TOP_K_PREDICTIONS, np.array([2, 1, 3]), k)
    assert got.dtype == bool
    np.testing.assert_array_equal(got.numpy(), expected)


def test_in_top_k_non_finite_rows_and_bad_targets_are_out():
    predictions = np.array([[0.1, np.nan, 0.3], [0.2, 0.1, 0.0], [0.5, 0.2, 0.1]], "float32")
    np.testing.assert_array_equal(
        K.in_top_k(predictions, np.array([2, 3, 0]), 3).numpy(), [False, False, True])


# --- gradients ----------------------------------------------------------------------------

GRADIENT_CASES = [
    Case(lambda x: K.sqrt(x), [positive(3, 4)], np.sqrt, label="sqrt"),
    Case(lambda x: K.clip(x, -0.5, None), [away_from(3, 4, points=(-0.5,))],
         lambda x: np.maximum(x, -0.5), label="clip without max"),
    Case(lambda x: K.pow(x, 3), [normal(3, 2)], lambda x: x ** 3, label="pow"),
    Case(lambda x: K.std(x, axis=1), [normal(3, 4)], lambda x: np.std(x, axis=1), label="std"),
    Case(lambda x: K.cumsum(x, axis=1), [normal(3, 4)], lambda x: np.cumsum(x, axis=1),
         label="cumsum"),
    Case(lambda x: K.cumprod(x), [away_from(3, 4, margin=0.3)], lambda x: np.cumprod(x, 0),
         label="cumprod"),
    Case(lambda x, y: K.dot(x, y), [normal(2, 3, 4), normal(5, 4, 2)], np.dot, label="dot"),
    Case(lambda x, y: K.batch_dot(x, y, axes=(1, 1)), [normal(2, 3, 4), normal(2, 3, 5)],
         lambda x, y: np.einsum("bij,bik->bjk", x, y), label="batch_dot 3-D"),
    Case(lambda x, y: K.batch_dot(x, y, axes=1), [normal(4, 3), normal(4, 3)],
         lambda x, y: np.sum(x * y, axis=1, keepdims=True), label="batch_dot 2-D"),
    Case(lambda x, y: K.batch_dot(x, y, axes=(2, 1)), [normal(2, 4, 3), normal(2, 3)],
         lambda x, y: np.einsum("bij,bj->bi", x, y), label="batch_dot mixed ranks"),
    Case(lambda x: K.l2_normalize(x, axis=-1), [normal(3, 4)],
         lambda x: x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True)), label="l2_normalize"),
    Case(lambda x: K.logsumexp(x, axis=0), [normal(3, 4)],
         lambda x: np.log(np.sum(np.exp(x), axis=0)), label="logsumexp"),
    Case(lambda x: K.prod(x, axis=1), [normal(3, 4)], lambda x: np.prod(x, axis=1),
         label="prod"),
    Case(lambda x: K.max(x, axis=1), [normal(3, 4)], lambda x: np.max(x, axis=1),
         label="max"),
]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c.label for c in GRADIENT_CASES])
def test_gradients_match_finite_differences(case):
    check_case(case)
