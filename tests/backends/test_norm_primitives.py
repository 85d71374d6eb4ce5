"""NumpyBackend normalization primitives (backends/numpy_norm.py) against plain NumPy
references written per channel / per row in float64, in every dtype the contract names; on
the plain NumPy path and on the CPU extra's kernels (channels_last batch norm)."""
import numpy as np
import pytest

from gkeras.backends.numpy_backend import NumpyBackend

pytestmark = pytest.mark.usefixtures("cpu_accel")

RNG = np.random.default_rng(11)
B = NumpyBackend()
EPS = 1e-3

# (a, c, b): channels_last images, channels_first images, Dense activations, one channel
VIEWS = [(24, 5, 1), (3, 4, 10), (7, 6, 1), (2, 1, 9), (1, 3, 2)]
DTYPES = ["float16", "float32", "float64"]
TOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-12}


def _data(shape, dtype, offset=0.0):
    return (RNG.standard_normal(shape) * 2 + offset).astype(dtype)


def _ref_channel_stats(x):
    """mean and biased variance of each channel, a loop over channels in float64."""
    x = x.astype("float64")
    means = np.array([x[:, ch, :].mean() for ch in range(x.shape[1])])
    variances = np.array([((x[:, ch, :] - means[ch]) ** 2).mean() for ch in range(x.shape[1])])
    return means, variances


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_moments(view, dtype):
    x = _data(view, dtype, offset=3.0)
    mean, var = B.batch_norm_moments(x)
    ref_mean, ref_var = _ref_channel_stats(x)
    assert mean.shape == var.shape == (view[1],)
    assert mean.dtype == var.dtype == ("float64" if dtype == "float64" else "float32")
    np.testing.assert_allclose(mean, ref_mean, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(var, ref_var, rtol=TOL[dtype], atol=TOL[dtype])


def test_batch_norm_moments_do_not_cancel_on_a_large_offset():
    # E[x^2] - mean^2 in float32 would lose every digit of this variance
    x = (1000.0 + RNG.standard_normal((4096, 2, 1)) * 1e-2).astype("float32")
    _, var = B.batch_norm_moments(x)
    np.testing.assert_allclose(var, _ref_channel_stats(x)[1], rtol=1e-3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_forward(view, dtype):
    c = view[1]
    x = _data(view, dtype)
    mean, var = RNG.standard_normal(c), RNG.uniform(0.5, 2, c)
    gamma, beta = RNG.standard_normal(c), RNG.standard_normal(c)
    acc = "float64" if dtype == "float64" else "float32"
    y = B.batch_norm_forward(x, mean.astype(acc), var.astype(acc), gamma.astype(dtype),
                             beta.astype(dtype), EPS)
    assert y.shape == x.shape and y.dtype == dtype
    ref = np.empty(view)
    for ch in range(c):
        ref[:, ch, :] = ((x[:, ch, :].astype("float64") - mean[ch]) / np.sqrt(var[ch] + EPS)
                         * gamma[ch] + beta[ch])
    np.testing.assert_allclose(y, ref, rtol=TOL[dtype] * 5, atol=TOL[dtype] * 5)


def _ref_batch_norm_backward(dy, x, mean, var, gamma, batch_stats):
    """Per channel, from the definition: the chain rule through mean and variance when they
    are this batch's statistics."""
    dy, x = dy.astype("float64"), x.astype("float64")
    dx = np.empty_like(x)
    sum_dy, sum_dy_xhat = np.empty(x.shape[1]), np.empty(x.shape[1])
    for ch in range(x.shape[1]):
        xc, g = x[:, ch, :], dy[:, ch, :]
        inv = 1 / np.sqrt(var[ch] + EPS)
        xhat = (xc - mean[ch]) * inv
        sum_dy[ch], sum_dy_xhat[ch] = g.sum(), (g * xhat).sum()
        dxhat = g * gamma[ch]
        if batch_stats:
            n = xc.size
            dvar = (dxhat * (xc - mean[ch])).sum() * -0.5 * inv ** 3
            dmean = -dxhat.sum() * inv + dvar * (-2 * (xc - mean[ch])).mean()
            dx[:, ch, :] = dxhat * inv + dvar * 2 * (xc - mean[ch]) / n + dmean / n
        else:
            dx[:, ch, :] = dxhat * inv
    return dx, sum_dy, sum_dy_xhat


@pytest.mark.parametrize("batch_stats", [True, False])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("view", VIEWS)
def test_batch_norm_backward(view, dtype, batch_stats):
    c = view[1]
    x, dy = _data(view, dtype), _data(view, dtype)
    gamma = RNG.standard_normal(c).astype(dtype)
    if batch_stats:
        mean, var = B.batch_norm_moments(x)
    else:
        acc = "float64" if dtype == "float64" else "float32"
        mean, var = RNG.standard_normal(c).astype(acc), RNG.uniform(0.5, 2, c).astype(acc)
    dx, sum_dy, sum_dy_xhat = B.batch_norm_backward(dy, x, mean, var, gamma, EPS, batch_stats)
    ref = _ref_batch_norm_backward(dy, x, mean.astype("float64"), var.astype("float64"),
                                   gamma.astype("float64"), batch_stats)
    assert dx.dtype == dtype and dx.shape == x.shape
    tol = TOL[dtype] * (20 if dtype == "float16" else 10)
    for got, want in zip((dx, sum_dy, sum_dy_xhat), ref):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1, np.abs(want).max()))


ROWS = [(6, 5), (1, 12), (9, 1), (4, 33)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_layer_norm_forward(shape, dtype):
    x = _data(shape, dtype, offset=1.0)
    gamma, beta = (RNG.standard_normal(shape[1]).astype(dtype) for _ in range(2))
    y, mean, var = B.layer_norm_forward(x, gamma, beta, EPS)
    x64 = x.astype("float64")
    ref_mean = np.array([row.mean() for row in x64])
    ref_var = np.array([((row - row.mean()) ** 2).mean() for row in x64])
    ref = np.stack([(row - m) / np.sqrt(v + EPS) * gamma.astype("float64") + beta
                    for row, m, v in zip(x64, ref_mean, ref_var)])
    assert y.dtype == dtype and mean.shape == var.shape == (shape[0],)
    assert mean.dtype == ("float64" if dtype == "float64" else "float32")
    np.testing.assert_allclose(mean, ref_mean, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(var, ref_var, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(y, ref, rtol=TOL[dtype] * 5, atol=TOL[dtype] * 5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_layer_norm_backward(shape, dtype):
    x, dy = _data(shape, dtype), _data(shape, dtype)
    gamma = RNG.standard_normal(shape[1]).astype(dtype)
    _, mean, var = B.layer_norm_forward(x, gamma, np.zeros_like(gamma), EPS)
    dx, dgamma, dbeta = B.layer_norm_backward(dy, x, mean, var, gamma, EPS)
    # the reference: each row is a batch-norm "channel" with constant-free statistics
    x64, dy64, g64 = x.astype("float64"), dy.astype("float64"), gamma.astype("float64")
    ref_dx = np.empty_like(x64)
    xhat = np.empty_like(x64)
    for r in range(shape[0]):
        m, v = x64[r].mean(), x64[r].var()
        inv = 1 / np.sqrt(v + EPS)
        xhat[r] = (x64[r] - m) * inv
        dxhat = dy64[r] * g64
        dvar = (dxhat * (x64[r] - m)).sum() * -0.5 * inv ** 3
        dmean = -dxhat.sum() * inv
        ref_dx[r] = dxhat * inv + dvar * 2 * (x64[r] - m) / shape[1] + dmean / shape[1]
    tol = TOL[dtype] * (20 if dtype == "float16" else 10)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, ref_dx, rtol=tol, atol=tol * max(1, np.abs(ref_dx).max()))
    np.testing.assert_allclose(dgamma, (dy64 * xhat).sum(0), rtol=tol, atol=tol * shape[0])
    np.testing.assert_allclose(dbeta, dy64.sum(0), rtol=tol, atol=tol * shape[0])
