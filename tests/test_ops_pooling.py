"""gkeras.ops.max_pool / average_pool beyond the finite-difference table in test_ops.py:
ties, output sizes, dtypes, the configured data format and argument errors."""
import math

import numpy as np
import pytest

from gkeras import GradientTape, Tensor, config, ops

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")


def _grad(op, x, *args, **kwargs):
    x = Tensor(np.asarray(x, dtype="float64"))
    with GradientTape() as tape:
        tape.watch(x)
        y = op(x, *args, **kwargs)
    return y.numpy(), tape.gradient(y, x, output_gradients=np.ones(y.shape)).numpy()


def test_max_pool_gives_a_tied_window_gradient_to_its_first_entry():
    x = np.array([[[[1.0], [3.0]], [[3.0], [0.0]]]])  # 2x2 window, 3.0 twice
    y, g = _grad(ops.max_pool, x, 2)
    np.testing.assert_array_equal(y, [[[[3.0]]]])
    np.testing.assert_array_equal(g[0, :, :, 0], [[0.0, 1.0], [0.0, 0.0]])


def test_overlapping_windows_accumulate_the_gradient():
    x = np.array([[[0.0], [5.0], [1.0], [2.0]]])  # 5.0 wins three windows of size 3
    y, g = _grad(ops.max_pool, x, 3, strides=1, padding="same")
    np.testing.assert_array_equal(y[0, :, 0], [5.0, 5.0, 5.0, 2.0])
    np.testing.assert_array_equal(g[0, :, 0], [0.0, 3.0, 0.0, 1.0])


def test_average_pool_same_divides_by_the_real_entries():
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    y, g = _grad(ops.average_pool, x, 2, padding="same")
    np.testing.assert_allclose(y[0, :, 0], [1.5, 3.5, 5.0])  # the last window is [5, pad]
    np.testing.assert_allclose(g[0, :, 0], [0.5, 0.5, 0.5, 0.5, 1.0])


@pytest.mark.parametrize("size,pool,stride", [(7, 3, 2), (8, 2, 2), (5, 5, 1), (4, 6, 3),
                                              (9, 2, 4), (1, 3, 1)])
def test_same_padding_output_is_ceil_of_size_over_stride(size, pool, stride):
    x = np.random.default_rng(0).standard_normal((1, size, size, 2))
    for op in (ops.max_pool, ops.average_pool):
        out = op(x, pool, stride, "same")
        assert out.shape == (1, math.ceil(size / stride), math.ceil(size / stride), 2)
        valid = op(x, pool, stride, "VALID") if pool <= size else None
        if valid is not None:
            assert valid.shape[1] == (size - pool) // stride + 1


def test_default_data_format_follows_the_configuration():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 6))
    config.set_image_data_format("channels_first")
    first = ops.max_pool(x, 2)
    assert first.shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(first.numpy(), ops.max_pool(x, 2, data_format="channels_first")
                                  .numpy())


def test_dtypes():
    x32 = np.ones((1, 4, 4, 1), "float32")
    assert ops.max_pool(x32, 2).dtype == np.float32
    assert ops.average_pool(x32, (2, 1), padding="same").dtype == np.float32
    ints = np.arange(8).reshape(1, 8, 1)
    assert ops.max_pool(ints, 2).dtype == ints.dtype
    avg = ops.average_pool(ints, 2)
    assert avg.dtype == np.float64
    np.testing.assert_allclose(avg.numpy()[0, :, 0], [0.5, 2.5, 4.5, 6.5])


@pytest.mark.parametrize("kwargs,message", [
    (dict(inputs=np.zeros((2, 4)), pool_size=2), r"3-D input .* shape \(2, 4\)"),
    (dict(inputs=np.zeros((1, 2, 2, 2, 1)), pool_size=2), r"4-D input .* \(1, 2, 2, 2, 1\)"),
    (dict(inputs=np.zeros((1, 4, 4, 1)), pool_size=(2, 2, 2)), r"pool_size=\(2, 2, 2\)"),
    (dict(inputs=np.zeros((1, 4, 1)), pool_size=0), "pool_size=0"),
    (dict(inputs=np.zeros((1, 4, 1)), pool_size=2.5), "pool_size=2.5"),
    (dict(inputs=np.zeros((1, 4, 1)), pool_size=2, strides=(1, 1)), r"strides=\(1, 1\)"),
    (dict(inputs=np.zeros((1, 4, 1)), pool_size=2, padding="full"), "padding='full'"),
    (dict(inputs=np.zeros((1, 4, 1)), pool_size=2, data_format="nhwc"), "invalid data_format 'nhwc'"),
    (dict(inputs=np.zeros((1, 3, 5, 1)), pool_size=4), r"does not fit .* \(3, 5\)"),
])
@pytest.mark.parametrize("op", [ops.max_pool, ops.average_pool])
def test_bad_arguments_are_named(op, kwargs, message):
    with pytest.raises(ValueError, match=f"{op.__name__}: .*{message}"):
        op(**kwargs)
