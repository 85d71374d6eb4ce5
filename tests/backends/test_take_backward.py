"""NumpyBackend.take_backward (the Embedding's table gradient) against a plain Python loop that
adds each update row into its table row in the order of the indices."""
import numpy as np
import pytest

from gkeras.backends.numpy_backend import NumpyBackend


def reference(indices, dy, rows):
    grad = np.zeros((rows,) + dy.shape[indices.ndim:], dtype=dy.dtype)
    for position in np.ndindex(*indices.shape):
        grad[indices[position] % rows] += dy[position]
    return grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_repeated_and_negative_indices_sum_in_order(dtype):
    rng = np.random.default_rng(3)
    # many repeats (up to 6 of one row), negative spellings of the same rows, 2-D row shape
    indices = rng.integers(-7, 7, (5, 9)).astype("int32")
    dy = rng.standard_normal((5, 9, 2, 3)).astype(dtype)
    got = NumpyBackend().take_backward(indices, dy, 7)
    assert got.shape == (7, 2, 3) and got.dtype == dtype
    np.testing.assert_array_equal(got, reference(indices, dy, 7))


def test_unused_rows_are_zero_and_empty_indices_give_zeros():
    dy = np.arange(6, dtype="float32").reshape(2, 3)
    got = NumpyBackend().take_backward(np.array([4, 4]), dy, 6)
    np.testing.assert_array_equal(got[4], dy[0] + dy[1])
    assert not got[[0, 1, 2, 3, 5]].any()
    empty = NumpyBackend().take_backward(np.zeros((0,), "int64"), np.zeros((0, 3)), 4)
    np.testing.assert_array_equal(empty, np.zeros((4, 3)))
