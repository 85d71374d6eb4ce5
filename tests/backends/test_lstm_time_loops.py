"""The CPU extra's compiled LSTM time loops (accel_kernels.lstm_*_sequence) and NumPy's own
routines they call (backends/numpy_routines.py): the loops give the per-step paths' results
exactly (``array_equal``), run only where they can, and the routines equal NumPy's calls."""
import numpy as np
import pytest

from gkeras.backends import blas_threads, numpy_accel, numpy_routines
from gkeras.backends.numpy_backend import NumpyBackend

numba = pytest.importorskip("numba")
from gkeras.backends import accel_kernels  # noqa: E402  (needs numba)

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_routines_are_the_ones_numpy_calls(dtype):
    gemm, tanh = numpy_routines.find(dtype)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 129)).astype(dtype), rng.standard_normal((129, 67)).astype(dtype)
    c = np.full((5, 67), np.nan, dtype)
    gemm(numpy_routines.ROW_MAJOR, numpy_routines.NO_TRANSPOSE, numpy_routines.NO_TRANSPOSE,
         5, 67, 129, 1.0, a.ctypes.data, 129, b.ctypes.data, 67, 0.0, c.ctypes.data, 67)
    np.testing.assert_array_equal(c, a @ b)
    x = np.concatenate([rng.standard_normal(1003) * 3, [0.0, -0.0, 9.5, -30.0, np.inf]])
    x = x.astype(dtype)
    y = np.empty_like(x)
    tanh((np.ctypeslib.ctypes.c_void_p * 2)(x.ctypes.data, y.ctypes.data),
         (np.ctypeslib.ctypes.c_ssize_t * 1)(x.size),
         (np.ctypeslib.ctypes.c_ssize_t * 2)(x.itemsize, y.itemsize), None)
    np.testing.assert_array_equal(y, np.tanh(x))
    assert np.array_equal(np.signbit(y), np.signbit(x))


def test_routines_are_none_where_they_cannot_be_found(monkeypatch):
    assert numpy_routines.find("float16") is None
    monkeypatch.setattr(numpy_routines, "_found", {})
    monkeypatch.setattr(blas_threads, "loaded_openblas", lambda: [])
    assert numpy_routines.find("float32") is None


def test_a_ufunc_whose_struct_does_not_read_as_a_unary_loop_is_refused():
    assert numpy_routines._unary_loop(np.add, np.dtype("float32")) is None
    # a unary ufunc without a float16 -> float16 loop of its own
    assert numpy_routines._unary_loop(np.logical_not, np.dtype("float16")) is None


def _sequence(backend, dtype, batch, *, outputs_used, biased, recurrent_activation,
              masked=False, dropout=False, recurrent_order="C"):
    """Forward and backward through the backend's loops: every array they return."""
    rng = np.random.default_rng(11)  # the same inputs for both backends
    steps, features, units = 7, 3, 5

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)
    x, kernel = normal(steps, batch, features), normal(features, 4 * units)
    recurrent = np.asarray(normal(units, 4 * units) * 0.5, order=recurrent_order)
    bias, h0, c0 = normal(4 * units), normal(batch, units), normal(batch, units)
    mask = rng.random((steps, batch, 1)) > 0.3 if masked else None
    drop = (rng.random((batch, units)) > 0.4).astype(dtype) * 1.5 if dropout else None
    acts = ("tanh", recurrent_activation)
    h, c, saved = backend.lstm_forward(x, kernel, recurrent, bias if biased else None, h0, c0,
                                       mask, drop, *acts)
    dy = normal(steps, batch, units) if outputs_used else None
    grads = backend.lstm_backward(dy, normal(batch, units), normal(batch, units), x, kernel,
                                  recurrent, biased, h, c, saved, mask, drop, *acts)
    return (h, c) + tuple(g for g in grads if g is not None)


@pytest.fixture
def sequence_calls(monkeypatch):
    """The names of the sequence kernels that ran."""
    calls = []
    for name in ("lstm_forward_sequence", "lstm_backward_sequence"):
        real = getattr(accel_kernels, name)
        monkeypatch.setattr(accel_kernels, name,
                            lambda *args, _name=name, _real=real: (calls.append(_name),
                                                                   _real(*args))[1])
    return calls


def _backends():
    plain, compiled = NumpyBackend(), NumpyBackend()
    plain.accel, compiled.accel = False, accel_kernels
    return plain, compiled


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
@pytest.mark.parametrize("outputs_used,biased", [(False, True), (True, False), (True, True)])
@pytest.mark.parametrize("batch", [2, 9])
def test_time_loops_equal_the_numpy_path(batch, outputs_used, biased, recurrent_activation,
                                         dtype, sequence_calls):
    plain, compiled = _backends()
    options = dict(outputs_used=outputs_used, biased=biased,
                   recurrent_activation=recurrent_activation)
    want = _sequence(plain, dtype, batch, **options)
    got = _sequence(compiled, dtype, batch, **options)
    assert sequence_calls == ["lstm_forward_sequence", "lstm_backward_sequence"]
    assert len(got) == len(want) == 8 - (not biased)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", [dict(batch=1), dict(batch=4, masked=True),
                                  dict(batch=4, dropout=True),
                                  dict(batch=4, recurrent_order="F")])
def test_time_loops_stay_out_where_numpy_would_call_other_routines(case, sequence_calls):
    """One row (numpy.matmul's gemv), a mask or recurrent dropout (not in the loops), a
    Fortran-order recurrent kernel (gemm transposed): the per-step paths run, and still
    equal NumPy's."""
    plain, compiled = _backends()
    options = dict(outputs_used=True, biased=True, recurrent_activation="sigmoid", **case)
    batch = options.pop("batch")
    want = _sequence(plain, "float32", batch, **options)
    got = _sequence(compiled, "float32", batch, **options)
    assert sequence_calls == []
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_no_time_loop_without_numpy_routines(monkeypatch, sequence_calls):
    monkeypatch.setattr(numpy_routines, "find", lambda dtype: None)
    plain, compiled = _backends()
    options = dict(outputs_used=False, biased=True, recurrent_activation="sigmoid")
    for a, b in zip(_sequence(compiled, "float32", 3, **options),
                    _sequence(plain, "float32", 3, **options)):
        np.testing.assert_array_equal(a, b)
    assert sequence_calls == []
    assert numpy_accel.lstm_forward_loop(accel_kernels, np.zeros((2, 3, 4), "float32"),
                                         np.zeros((5, 20), "float32"), None, None, None,
                                         "tanh", "sigmoid") is None


@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_op_through_the_time_loops_equals_the_numpy_path(go_backwards, sequence_calls):
    """Through ``ops.lstm`` (batch-major input, every output used, initial states given):
    the gradient reaching the loops is a view of the batch-major one."""
    from gkeras import ops
    from gkeras.autograd import GradientTape, Tensor
    from gkeras.backends import current
    rng = np.random.default_rng(12)
    arrays = [rng.standard_normal(shape).astype("float32")
              for shape in ((3, 6, 4), (4, 8), (2, 8), (8,), (3, 2), (3, 2))]
    backend, runs = current(), []
    saved = backend._accel
    try:
        for kernels in (False, accel_kernels):
            backend.accel = kernels
            x, kernel, recurrent, bias, h0, c0 = [Tensor(a, requires_grad=True) for a in arrays]
            with GradientTape() as tape:
                out, h, c = ops.lstm(x, kernel, recurrent, bias, initial_state=[h0, c0],
                                     go_backwards=go_backwards, return_sequences=True)
                loss = ops.sum(out * out) + ops.sum(h * c)
            variables = [x, kernel, recurrent, bias, h0, c0]
            runs.append([out.value, h.value, c.value] +
                        [g.value for g in tape.gradient(loss, variables)])
    finally:
        backend._accel = saved
    assert sequence_calls == ["lstm_forward_sequence", "lstm_backward_sequence"]
    for got, want in zip(runs[1], runs[0]):
        np.testing.assert_array_equal(got, want)
