"""Every kernel of kernels/elementwise.cu, run on the CPU through the shim (g++), equals the
NumPy reference primitive of its contract (backends/numpy_elementwise.py) on odd (rows, d)
shapes, float32 and float64, under the launches of test_shim_kernels (grid-stride heavy, odd
blocks, surplus threads in reverse order: the same bits) with guard zones around every array.
Outputs start out as NaN, so an element a kernel fails to write shows. Pure arithmetic gives
the reference's bits; exp, log and tanh come from the C library here (from CUDA's on a GPU)
and row sums run in order where NumPy sums pairwise: those agree to a few ulps."""
import numpy
import pytest

from gkeras.backends import numpy_elementwise as reference

from test_shim_kernels import _empty, _launch

DTYPES = ("float32", "float64")
# absolute: a log-probability near 0 is a difference of values near 1 (rounding of the sum)
TOLERANCE = {"float32": dict(rtol=2e-6, atol=1e-6), "float64": dict(rtol=1e-14, atol=2e-15)}
ROWS = [(7, 33), (1, 1), (5, 1), (1, 40), (12, 3)]
ACTIVATIONS = reference.ACTIVATIONS


def _code(activation):
    return reference.ACTIVATIONS.index(activation)


def _assert_close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    numpy.testing.assert_allclose(got, want, **TOLERANCE[dtype])


def _matrix(rng, shape, dtype, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("has_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_bias_activation(shape, dtype, activation, has_bias):
    rng = numpy.random.default_rng(0)
    z = _matrix(rng, shape, dtype)
    z.flat[0] = 0.0  # the kinks: relu's and the sigmoid's branch at zero
    bias = _matrix(rng, shape[-1], dtype)
    got = _launch("bias_activation", dtype, z.size,
                  [z, bias if has_bias else numpy.zeros(1, dtype)],
                  [shape[-1], int(has_bias), _code(activation)], [0])[0]
    want = reference.bias_activation(numpy, z.copy(), bias if has_bias else None, activation)
    if activation in ("linear", "relu"):
        numpy.testing.assert_array_equal(got, want)
    else:
        _assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_activation_keeps_nan_and_saturates_without_overflow(dtype):
    z = numpy.array([[numpy.nan, -1000.0, 1000.0, -0.0]], dtype)
    for activation in ("relu", "sigmoid", "tanh"):
        got = _launch("bias_activation", dtype, z.size, [z, numpy.zeros(1, dtype)],
                      [4, 0, _code(activation)], [0])[0]
        want = reference.bias_activation(numpy, z.copy(), None, activation)
        numpy.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_activation_backward(shape, dtype, activation):
    rng = numpy.random.default_rng(1)
    y = reference.bias_activation(numpy, _matrix(rng, shape, dtype), None, activation)
    y.flat[0] = 0.0
    dy = _matrix(rng, shape, dtype)
    got = _launch("activation_backward", dtype, y.size, [dy, y, _empty(shape, dtype)],
                  [_code(activation)], [2])[0]
    # the reference's multiplications in its order: the same bits
    numpy.testing.assert_array_equal(got, reference.activation_backward(numpy, dy, y,
                                                                        activation))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_softmax_rows_forward_and_backward(shape, dtype):
    rng = numpy.random.default_rng(2)
    z = _matrix(rng, shape, dtype, scale=4.0)
    rows, d = shape
    y = _launch("softmax_rows", dtype, rows, [z, _empty(shape, dtype)], [d], [1])[0]
    _assert_close(y, reference.softmax_rows(numpy, z), dtype)
    dy = _matrix(rng, shape, dtype)
    dz = _launch("softmax_rows_backward", dtype, rows, [dy, y, _empty(shape, dtype)], [d],
                 [2])[0]
    _assert_close(dz, reference.softmax_rows_backward(numpy, dy, y), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_of_large_logits_and_nan(dtype):
    z = numpy.array([[1000.0, 0.0, -1000.0], [numpy.nan, 1.0, 2.0], [5.0, 5.0, 5.0]], dtype)
    y = _launch("softmax_rows", dtype, 3, [z, _empty(z.shape, dtype)], [3], [1])[0]
    with numpy.errstate(invalid="ignore"):
        want = reference.softmax_rows(numpy, z)
    numpy.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_softmax_crossentropy(shape, dtype):
    rng = numpy.random.default_rng(3)
    rows, d = shape
    logits = _matrix(rng, shape, dtype, scale=4.0)
    target = rng.uniform(0, 1, shape).astype(dtype)  # soft targets that do not sum to 1
    loss, log_prob = _launch("softmax_crossentropy", dtype, rows,
                             [logits, target, _empty(rows, dtype), _empty(shape, dtype)], [d],
                             [2, 3])
    want_loss, want_log_prob = reference.softmax_crossentropy(numpy, logits, target)
    _assert_close(loss, want_loss, dtype)
    _assert_close(log_prob, want_log_prob, dtype)
    g = rng.uniform(0.5, 2, rows).astype(dtype)
    dlogits = _launch("softmax_crossentropy_backward", dtype, rows,
                      [want_log_prob, target, g, _empty(shape, dtype)], [d], [3])[0]
    _assert_close(dlogits, reference.softmax_crossentropy_backward(numpy, want_log_prob,
                                                                   target, g), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ROWS)
def test_sparse_softmax_crossentropy(shape, dtype):
    rng = numpy.random.default_rng(4)
    rows, d = shape
    logits = _matrix(rng, shape, dtype, scale=4.0)
    labels = rng.integers(0, d, rows).astype("int64")
    loss, log_prob = _launch("sparse_softmax_crossentropy", dtype, rows,
                             [logits, labels, _empty(rows, dtype), _empty(shape, dtype)], [d],
                             [2, 3])
    want_loss, want_log_prob = reference.sparse_softmax_crossentropy(numpy, logits, labels)
    _assert_close(loss, want_loss, dtype)
    _assert_close(log_prob, want_log_prob, dtype)
    g = rng.uniform(0.5, 2, rows).astype(dtype)
    dlogits = _launch("sparse_softmax_crossentropy_backward", dtype, rows * d,
                      [want_log_prob, labels, g, _empty(shape, dtype)], [d], [3])[0]
    _assert_close(dlogits, reference.sparse_softmax_crossentropy_backward(
        numpy, want_log_prob, labels, g), dtype)


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("dtype", DTYPES)
def test_dropout_multiplier(dtype, rate):
    u = numpy.random.default_rng(5).random((13, 7)).astype(dtype)
    u[0, :2] = numpy.dtype(dtype).type(rate)  # a draw equal to the rate is kept
    scale = numpy.dtype(dtype).type(1.0 / (1.0 - rate))
    got = _launch("dropout_multiplier", dtype, u.size, [u], [rate, scale], [0])[0]
    numpy.testing.assert_array_equal(got, reference.dropout_multiplier(numpy, u.copy(), rate))
    assert numpy.all(got[0, :2] == scale)
