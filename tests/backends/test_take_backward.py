"""NumpyBackend.take_backward (the Embedding's table gradient) against a plain Python loop that
adds each update row into its table row in the order of the indices, on the NumPy path and
the CPU extra's kernel."""
import numpy as np
import pytest

from gkeras.backends.numpy_backend import NumpyBackend


@pytest.fixture(params=["numpy", "cpu_extra"])
def make_backend(request):
    """A maker of NumPy backends on the path of the parameter."""
    kernels = False
    if request.param == "cpu_extra":
        pytest.importorskip("numba")
        from gkeras.backends import accel_kernels as kernels

    def make():
        backend = NumpyBackend()
        backend.accel = kernels
        return backend
    return make


def reference(indices, dy, rows):
    grad = np.zeros((rows,) + dy.shape[indices.ndim:], dtype=dy.dtype)
    for position in np.ndindex(*indices.shape):
        grad[indices[position] % rows] += dy[position]
    return grad


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_repeated_and_negative_indices_sum_in_order(make_backend, dtype):
    rng = np.random.default_rng(3)
    # many repeats (up to 6 of one row), negative spellings of the same rows, 2-D row shape
    indices = rng.integers(-7, 7, (5, 9)).astype("int32")
    dy = rng.standard_normal((5, 9, 2, 3)).astype(dtype)
    got = make_backend().take_backward(indices, dy, 7)
    assert got.shape == (7, 2, 3) and got.dtype == dtype
    np.testing.assert_array_equal(got, reference(indices, dy, 7))


def test_unused_rows_are_zero_and_empty_indices_give_zeros(make_backend):
    dy = np.arange(6, dtype="float32").reshape(2, 3)
    got = make_backend().take_backward(np.array([4, 4]), dy, 6)
    np.testing.assert_array_equal(got[4], dy[0] + dy[1])
    assert not got[[0, 1, 2, 3, 5]].any()
    empty = make_backend().take_backward(np.zeros((0,), "int64"), np.zeros((0, 3)), 4)
    np.testing.assert_array_equal(empty, np.zeros((4, 3)))


def test_a_released_gradient_is_reused_with_its_old_rows_zeroed_and_a_held_one_never(
        make_backend):
    backend = make_backend()
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


def test_a_reused_table_comes_back_all_zero_for_empty_indices(make_backend):
    backend = make_backend()
    dy = np.ones((1, 3, 2), "float32")
    first = backend.take_backward(np.array([[0, 3, 3]]), dy, 5)
    address = first.__array_interface__["data"][0]
    del first
    empty = backend.take_backward(np.zeros((1, 0), "int64"), np.zeros((1, 0, 2), "float32"), 5)
    assert empty.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(empty, np.zeros((5, 2)))


def test_the_cpu_extra_takes_float32_and_float64_and_leaves_float16_to_numpy(monkeypatch):
    pytest.importorskip("numba")
    from gkeras.backends import accel_kernels
    calls = []
    kernel = accel_kernels.scatter_add_rows
    monkeypatch.setattr(accel_kernels, "scatter_add_rows",
                        lambda table, *args: calls.append(table.dtype) or kernel(table, *args))
    backend = NumpyBackend()
    backend.accel = accel_kernels
    indices = np.array([[1, 0, 1]])
    for dtype in ["float16", "float32", "float64"]:
        dy = np.arange(6, dtype=dtype).reshape(1, 3, 2)
        np.testing.assert_array_equal(backend.take_backward(indices, dy, 3),
                                      reference(indices, dy, 3))
    assert calls == [np.float32, np.float64]


def test_an_index_outside_the_table_raises_and_leaves_the_reused_table_intact(make_backend):
    # the op checks the indices first (np.take raises); here the primitive itself: the
    # kernel would write outside the table, the NumPy path would wrap -6 round to row 4
    backend = make_backend()
    dy = np.ones((1, 2, 3), "float32")
    first = backend.take_backward(np.array([[1, 2]]), dy, 5)
    del first
    for bad in (5, -6):
        with pytest.raises(IndexError, match=rf"\[-5, 5\).*received {bad}"):
            backend.take_backward(np.array([[1, bad]]), dy, 5)
    again = backend.take_backward(np.array([[3, 3]]), dy, 5)  # rows 1 and 2 zeroed again
    np.testing.assert_array_equal(again, reference(np.array([[3, 3]]), dy, 5))
