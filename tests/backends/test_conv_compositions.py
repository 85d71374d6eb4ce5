"""NumpyBackend's convolution compositions (im2col/col2im + GEMMs) against naive loops."""
import numpy as np
import pytest

from conv_reference import np_conv, np_depthwise_conv
from gkeras import GradientTape, Tensor, backends, ops
from gkeras.backends.numpy_backend import NumpyBackend

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")

PAD = ((1, 1), (1, 2))  # TF 'same' pads of a (3, 4)-kernel over (5, 6) inputs, strides 1


def _to_format(x_last, channels_last):
    return x_last if channels_last else np.ascontiguousarray(np.moveaxis(x_last, -1, 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("channels_last", [True, False], ids=["last", "first"])
def test_conv2d_and_its_backward_match_references(channels_last, dtype):
    b = NumpyBackend()
    rng = np.random.default_rng(0)
    x = _to_format(rng.standard_normal((2, 5, 6, 3)), channels_last).astype(dtype)
    kernel = rng.standard_normal((3, 4, 3, 5)).astype(dtype)
    fmt = "channels_last" if channels_last else "channels_first"
    y, cols = b.conv2d(x, kernel, (1, 1), (1, 1), PAD, channels_last)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y, np_conv(x.astype("float64"), kernel.astype("float64"),
                                          padding="same", data_format=fmt),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(cols, b.im2col(x, (3, 4), (1, 1), (1, 1), PAD,
                                                 channels_last))
    # both backward products are adjoints of the (bilinear) forward
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = b.conv2d_backward_input(dy, kernel, x.shape, (1, 1), (1, 1), PAD, channels_last)
    dk = b.conv2d_backward_kernel(dy, cols, channels_last)
    assert dx.shape == x.shape and dk.shape == kernel.shape
    assert dx.dtype == dk.dtype == np.dtype(dtype)
    total = float(np.sum(y.astype("float64") * dy))
    assert float(np.sum(x.astype("float64") * dx)) == pytest.approx(total, rel=1e-4)
    assert float(np.sum(kernel.astype("float64") * dk)) == pytest.approx(total, rel=1e-4)


@pytest.mark.parametrize("channels_last", [True, False], ids=["last", "first"])
def test_depthwise_conv2d_and_its_backward_match_references(channels_last):
    b = NumpyBackend()
    rng = np.random.default_rng(1)
    x = _to_format(rng.standard_normal((2, 5, 6, 3)), channels_last)
    kernel = rng.standard_normal((3, 4, 3, 2))
    fmt = "channels_last" if channels_last else "channels_first"
    y, cols = b.depthwise_conv2d(x, kernel, (1, 1), (1, 1), PAD, channels_last)
    np.testing.assert_allclose(y, np_depthwise_conv(x, kernel, padding="same",
                                                    data_format=fmt), rtol=1e-12)
    dy = rng.standard_normal(y.shape)
    dx = b.depthwise_conv2d_backward_input(dy, kernel, x.shape, (1, 1), (1, 1), PAD,
                                           channels_last)
    dk = b.depthwise_conv2d_backward_kernel(dy, cols, 2, channels_last)
    total = float(np.sum(y * dy))
    assert float(np.sum(x * dx)) == pytest.approx(total, rel=1e-12)
    assert float(np.sum(kernel * dk)) == pytest.approx(total, rel=1e-12)


class CountingBackend(NumpyBackend):
    def __init__(self):
        super().__init__()
        self.calls = {"im2col": 0, "col2im": 0, "matmul": 0}

    def im2col(self, *args):
        self.calls["im2col"] += 1
        return super().im2col(*args)

    def col2im(self, *args):
        self.calls["col2im"] += 1
        return super().col2im(*args)

    def matmul(self, a, b):
        self.calls["matmul"] += 1
        return super().matmul(a, b)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_training_step_reuses_the_forward_windows(data_format):
    """Forward + backward: one im2col (kept for the kernel gradient), one col2im, 3 GEMMs;
    no input gradient (no col2im) when the input needs none."""
    counting = backends.set_backend(CountingBackend())
    shape = (2, 6, 6, 3) if data_format == "channels_last" else (2, 3, 6, 6)
    x = Tensor(np.random.default_rng(2).standard_normal(shape))
    kernel = Tensor(np.random.default_rng(3).standard_normal((3, 3, 3, 4)))
    with GradientTape() as tape:
        tape.watch([x, kernel])
        y = ops.conv(x, kernel, padding="same", data_format=data_format)
    tape.gradient(y, [x, kernel])
    assert counting.calls == {"im2col": 1, "col2im": 1, "matmul": 3}
    counting.calls = dict.fromkeys(counting.calls, 0)
    with GradientTape() as tape:
        tape.watch(kernel)
        y = ops.conv(x, kernel, padding="same", data_format=data_format)
    tape.gradient(y, kernel)
    assert counting.calls == {"im2col": 1, "col2im": 0, "matmul": 2}
