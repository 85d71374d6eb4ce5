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


def test_a_released_gradient_is_reused_with_its_old_rows_zeroed_and_a_held_one_never():
    backend = NumpyBackend()
    rng = np.random.default_rng(4)
    first_indices, second_indices = np.array([[1, 5, 5]]), np.array([[2, 2, 7]])
    dy1, dy2 = rng.standard_normal((1, 3, 4)), rng.standard_normal((1, 3, 4))
    held = backend.take_backward(first_indices, dy1, 9)
    address = held.__array_interface__["data"][0]
    fresh = backend.take_backward(second_indices, dy2, 9)  # ``held`` still alive: a new array
    assert fresh.__array_interface__["data"][0] != address
    np.testing.assert_array_equal(held, reference(first_indices, dy1, 9))
    np.testing.assert_array_equal(fresh, reference(second_indices, dy2, 9))
    fresh_address = fresh.__array_interface__["data"][0]
    del fresh
    again = backend.take_backward(first_indices, dy1, 9)  # rows 2 and 7 zeroed again
    assert again.__array_interface__["data"][0] == fresh_address
    np.testing.assert_array_equal(again, reference(first_indices, dy1, 9))
