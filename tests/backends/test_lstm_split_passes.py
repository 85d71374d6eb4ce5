"""The CPU extra's LSTM passes split over the cores (accel_lstm.lstm_*_split) and NumPy's own
routines they call (backends/numpy_routines.py): the passes give the per-step paths' results
exactly (``array_equal``) for any number of parts, run only where they can, and the routines
and product splits they use equal NumPy's calls."""
import threading
import time

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


@pytest.mark.parametrize("transpose_a,transpose_b,m,n,k,row_parts,column_parts,inner_parts", [
    (False, False, 2560, 512, 128, 2, 1, 1), (False, False, 32, 512, 128, 2, 2, 1),
    (False, False, 32, 128, 512, 2, 1, 2), (True, False, 128, 512, 2560, 1, 2, 1),
    (False, True, 2560, 128, 512, 2, 1, 1)])
def test_imdb_lstm_products_split_exactly_on_two_threads(transpose_a, transpose_b, m, n, k,
                                                         row_parts, column_parts, inner_parts):
    """The products of imdb_lstm's passes (batch 32, 80 steps, 128 units) as the passes cut
    them on two threads give NumPy's bits with this machine's OpenBLAS (elsewhere the check
    may refuse a cut, and the passes then run per step): the input projection, each step's
    recurrent product (small-kernel column blocks; backward, inner parts), the kernels'
    gradients, the input gradient."""
    assert numpy_routines.split_product_is_exact("float32", transpose_a, transpose_b, m, n, k,
                                                 row_parts, column_parts, inner_parts)


def test_a_split_that_computes_other_bits_is_refused_and_remembered(monkeypatch):
    gemm, tanh = numpy_routines.find("float32")
    calls = []

    def rounded_elsewhere(*args):  # the real product, then its last bit changed
        gemm(*args)
        calls.append(args)
        m, n, out, ldc = args[3], args[4], args[12], args[13]
        block = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * (m * ldc)).from_address(out))
        block.reshape(m, ldc)[:, :n].view(np.int32)[...] ^= 1
    monkeypatch.setattr(numpy_routines, "_exact", {})
    monkeypatch.setattr(numpy_routines, "find", lambda dtype: (rounded_elsewhere, tanh))
    assert not numpy_routines.split_product_is_exact("float32", False, False, 6, 9, 5, 2, 2)
    assert len(calls) == 4
    assert not numpy_routines.split_product_is_exact("float32", False, False, 6, 9, 5, 2, 2)
    assert len(calls) == 4  # the answer was kept


def test_products_too_large_to_check_cheaply_are_not_split(monkeypatch):
    monkeypatch.setattr(numpy_routines, "CHECK_LIMIT", 2560 * 128 + 128 * 512 + 2560 * 512 - 1)
    assert not numpy_routines.split_product_is_exact("float32", False, False, 2560, 512, 128,
                                                     2, 1)


def test_small_product_blocks_keep_each_block_within_the_small_kernels():
    for rows, columns, inner in [(16, 512, 128), (32, 128, 256), (1, 7, 3), (9, 5000, 100)]:
        blocks = numpy_routines.small_product_blocks(rows, columns, inner)
        assert rows * -(-columns // blocks) * inner <= numpy_routines.SMALL_PRODUCT
        assert blocks == 1 or rows * -(-columns // (blocks // 2)) * inner > \
            numpy_routines.SMALL_PRODUCT
    assert numpy_routines.small_product_blocks(2000, 64, 1000) is None


def _sequence(backend, dtype, batch, *, outputs_used=True, biased=True,
              recurrent_activation="sigmoid", activation="tanh", masked=False, dropout=False,
              recurrent_order="C", steps=7, features=3, units=5, input_gradient=True):
    """Forward and backward through the backend's passes: every array they return."""
    rng = np.random.default_rng(11)  # the same inputs for both backends

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)
    x, kernel = normal(steps, batch, features), normal(features, 4 * units)
    recurrent = np.asarray(normal(units, 4 * units) * 0.5, order=recurrent_order)
    bias, h0, c0 = normal(4 * units), normal(batch, units), normal(batch, units)
    mask = rng.random((steps, batch, 1)) > 0.3 if masked else None
    drop = (rng.random((batch, units)) > 0.4).astype(dtype) * 1.5 if dropout else None
    acts = (activation, recurrent_activation)
    h, c, saved = backend.lstm_forward(x, kernel, recurrent, bias if biased else None, h0, c0,
                                       mask, drop, *acts)
    dy = normal(steps, batch, units) if outputs_used else None
    grads = backend.lstm_backward(dy, normal(batch, units), normal(batch, units), x, kernel,
                                  recurrent, biased, h, c, saved, mask, drop, *acts,
                                  input_gradient=input_gradient)
    return (h, c) + tuple(g for g in grads if g is not None)


@pytest.fixture
def split_calls(monkeypatch):
    """The names of the split passes that ran."""
    calls = []
    for name in ("lstm_forward_split", "lstm_backward_split"):
        real = getattr(accel_kernels, name)
        monkeypatch.setattr(accel_kernels, name,
                            lambda *args, _name=name, _real=real: (calls.append(_name),
                                                                   _real(*args))[1])
    return calls


def _backends():
    plain, compiled = NumpyBackend(), NumpyBackend()
    plain.accel, compiled.accel = False, accel_kernels
    return plain, compiled


def _assert_equal_runs(got, want, dtype):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
@pytest.mark.parametrize("outputs_used,biased,dropout", [(False, True, False),
                                                         (True, False, True),
                                                         (True, True, False),
                                                         (False, True, True)])
@pytest.mark.parametrize("batch,parts", [(2, 2), (9, 2), (9, 4), (5, 1), (3, 5)])
def test_split_passes_equal_the_numpy_path(batch, parts, outputs_used, biased, dropout,
                                           recurrent_activation, dtype, split_calls,
                                           monkeypatch):
    monkeypatch.setattr(numpy_accel, "_split_parts", lambda kernels, rows: min(parts, rows))
    plain, compiled = _backends()
    options = dict(outputs_used=outputs_used, biased=biased, dropout=dropout,
                   recurrent_activation=recurrent_activation)
    want = _sequence(plain, dtype, batch, **options)
    got = _sequence(compiled, dtype, batch, **options)
    assert split_calls == ["lstm_forward_split", "lstm_backward_split"]
    assert len(got) == 8 - (not biased)
    _assert_equal_runs(got, want, dtype)


@pytest.mark.parametrize("steps", [1, 2, 6])  # the initial states' gradients end in either buffer
def test_split_passes_with_small_kernel_blocks_and_without_input_gradient(steps, split_calls,
                                                                          monkeypatch):
    """Units enough for the step products to be cut in column blocks and inner parts (the
    backward's 4u-long sums), recurrent dropout, and no input gradient."""
    monkeypatch.setattr(numpy_accel, "_split_parts", lambda kernels, rows: 2)
    plain, compiled = _backends()
    options = dict(steps=steps, features=33, units=96, input_gradient=False, dropout=True)
    want = _sequence(plain, "float32", 40, **options)
    got = _sequence(compiled, "float32", 40, **options)
    assert split_calls == ["lstm_forward_split", "lstm_backward_split"]
    _assert_equal_runs(got, want, "float32")


@pytest.mark.parametrize("case,splits", [
    (dict(masked=True), []), (dict(masked=True, dropout=True), []),
    (dict(recurrent_order="F"), ["lstm_backward_split"]),
    (dict(activation="softsign", recurrent_activation="sigmoid"), ["lstm_backward_split"])])
def test_split_passes_stay_out_where_they_do_not_apply(case, splits, split_calls, monkeypatch):
    """A mask (not in the passes): per-step paths both ways. A
    Fortran-order recurrent kernel (NumPy multiplies it transposed) or an activation without a
    forward kernel: the forward runs per step, the backward still splits (it multiplies by a
    C-contiguous copy of the transposed kernel, as the per-step path). Still NumPy's results."""
    monkeypatch.setattr(numpy_accel, "_split_parts", lambda kernels, rows: 2)
    plain, compiled = _backends()
    want = _sequence(plain, "float32", 4, **case)
    got = _sequence(compiled, "float32", 4, **case)
    assert split_calls == splits
    _assert_equal_runs(got, want, "float32")


def test_no_split_pass_where_a_product_split_is_not_exact(monkeypatch, split_calls):
    monkeypatch.setattr(numpy_routines, "split_product_is_exact", lambda *args: False)
    plain, compiled = _backends()
    _assert_equal_runs(_sequence(compiled, "float32", 3), _sequence(plain, "float32", 3),
                       "float32")
    assert split_calls == []


def test_no_split_pass_while_other_threads_hold_the_cores(monkeypatch, split_calls):
    monkeypatch.setattr(blas_threads, "cores_free_of_workers", lambda: False)
    plain, compiled = _backends()
    _assert_equal_runs(_sequence(compiled, "float32", 3), _sequence(plain, "float32", 3),
                       "float32")
    assert split_calls == []
    assert numpy_accel._split_parts(accel_kernels, 8) is None


def test_split_parts_one_per_row_at_most_and_one_on_a_busy_machine(monkeypatch):
    monkeypatch.setattr(blas_threads, "cores_free_of_workers", lambda: True)
    monkeypatch.setattr(accel_kernels, "thread_count", lambda: 4)
    monkeypatch.setattr(blas_threads, "machine_is_quiet", lambda: True)
    assert [numpy_accel._split_parts(accel_kernels, rows) for rows in (1, 3, 32)] == [1, 3, 4]
    monkeypatch.setattr(blas_threads, "machine_is_quiet", lambda: False)
    assert numpy_accel._split_parts(accel_kernels, 32) == 1


def test_cores_are_contended_only_when_others_leave_the_workers_spinning(monkeypatch):
    now, running = [100.0], [False]
    monkeypatch.setattr(blas_threads, "_clock", lambda: now[0])
    monkeypatch.setattr(blas_threads, "other_threads_running", lambda: running[0])
    monkeypatch.setattr(blas_threads, "_workers", {"own_products": -np.inf,
                                                   "contended_until": -np.inf})
    assert blas_threads.cores_free_of_workers()
    blas_threads.note_threaded_products()
    running[0] = True  # the caller's own products' workers: not a sign of others
    now[0] += blas_threads.SPIN_SECONDS / 2
    assert blas_threads.cores_free_of_workers()
    now[0] += blas_threads.SPIN_SECONDS  # still running long after: others' products
    assert not blas_threads.cores_free_of_workers()
    running[0] = False
    now[0] += blas_threads._CONTENDED_SECONDS / 2
    assert not blas_threads.cores_free_of_workers()  # kept off for a while
    now[0] += blas_threads._CONTENDED_SECONDS
    assert blas_threads.cores_free_of_workers()  # then tried again


def test_other_threads_running_sees_a_thread_at_work():
    stop = threading.Event()
    a = np.ones((300, 300))

    def work():
        while not stop.is_set():
            np.linalg.inv(a + np.eye(300))  # mostly outside the GIL
    worker = threading.Thread(target=work)
    worker.start()
    try:
        seen = []
        for _ in range(200):
            seen.append(blas_threads.other_threads_running())
            time.sleep(0.001)
    finally:
        stop.set()
        worker.join()
    assert any(seen)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_lstm_op_through_the_split_passes_equals_the_numpy_path(go_backwards, split_calls,
                                                                monkeypatch):
    """Through ``ops.lstm`` (batch-major input, every output used, initial states given):
    the gradient reaching the passes is a view of the batch-major one."""
    from gkeras import ops
    from gkeras.autograd import GradientTape, Tensor
    from gkeras.backends import current
    monkeypatch.setattr(numpy_accel, "_split_parts", lambda kernels, rows: 2)
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
    assert split_calls == ["lstm_forward_split", "lstm_backward_split"]
    for got, want in zip(runs[1], runs[0]):
        np.testing.assert_array_equal(got, want)
