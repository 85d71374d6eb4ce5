"""The CPU extra's compiled kernels (backends/numpy_accel.py) give the plain NumPy path's
results exactly (``array_equal``), on odd shapes, both data formats, strides, dilations and
pads; they run where they were measured to pay (channels_last, enough channels) and the extra
is off without numba or with GKERAS_CPU_ACCEL=0."""
import os
import subprocess
import sys

import numpy as np
import pytest

from gkeras.backends import numpy_accel
from gkeras.backends.numpy_backend import NumpyBackend

numba = pytest.importorskip("numba")
from gkeras.backends import accel_kernels  # noqa: E402  (needs numba)

from test_conv_primitives import GEOMETRIES as CONV_GEOMETRIES  # noqa: E402
from test_pool_primitives import GEOMETRIES as POOL_GEOMETRIES  # noqa: E402

RNG = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def kernels_on_every_channels_last_shape(monkeypatch):
    monkeypatch.setattr(numpy_accel, "MIN_CHANNELS", 1)
    # the parallel kernels split across the threads even on these small arrays (the op
    # tests of the cpu_accel fixture run them on one thread)
    monkeypatch.setattr(accel_kernels, "PARALLEL_MIN_SIZE", 0)


def test_parallel_kernels_run_their_serial_twin_below_the_size_where_threads_pay(monkeypatch):
    monkeypatch.setattr(accel_kernels, "PARALLEL_MIN_SIZE", 100)
    seen = []

    def kernel(a):
        seen.append(("parallel", a))
    kernel.serial = lambda a: seen.append(("serial", a))
    accel_kernels.run_sized(kernel, 99, "small")
    accel_kernels.run_sized(kernel, 100, "large")
    assert seen == [("serial", "small"), ("parallel", "large")]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_serial_twins_compute_what_the_parallel_kernels_compute(dtype):
    # a twin is the same code compiled without the split, cached under its own name
    n = 1001
    arrays = [RNG.random(n).astype(dtype) + 0.5 for _ in range(4)]
    twins, before = [a.copy() for a in arrays], arrays[0].copy()
    scalars = [np.dtype(dtype).type(v) for v in (1e-3, 0.1, 0.001, 1e-7)]
    accel_kernels.adam_update(*arrays, *scalars)
    accel_kernels.adam_update.serial(*twins, *scalars)
    for got, want in zip(twins, arrays):
        assert np.array_equal(got, want)
    assert not np.array_equal(arrays[0], before)  # the update ran
    assert accel_kernels.adam_update.serial.py_func.__qualname__ == "adam_update_serial"
    assert not accel_kernels.adam_update.serial.targetoptions.get("parallel")
    assert accel_kernels.adam_update.targetoptions["parallel"]


LAYOUTS = [True, False]
DTYPES = ["float32", "float64"]


def backends():
    """``(plain, compiled)`` NumPy backends."""
    plain, compiled = NumpyBackend(), NumpyBackend()
    plain.accel, compiled.accel = False, accel_kernels
    return plain, compiled


def _layout(shape_nhwc, channels_last):
    n, h, w, c = shape_nhwc
    return (n, h, w, c) if channels_last else (n, c, h, w)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", LAYOUTS, ids=["last", "first"])
@pytest.mark.parametrize("geometry", CONV_GEOMETRIES, ids=[str(g) for g in CONV_GEOMETRIES])
def test_col2im_equals_the_numpy_path(geometry, channels_last, dtype):
    shape, kernel_size, strides, dilation, padding = geometry
    plain, compiled = backends()
    x_shape = _layout(shape, channels_last)
    args = (kernel_size, strides, dilation, padding, channels_last)
    cols_shape = plain.im2col(np.zeros(x_shape, dtype), *args).shape
    cols = RNG.standard_normal(cols_shape).astype(dtype)
    want = plain.col2im(cols, x_shape, *args)
    got = compiled.col2im(cols, x_shape, *args)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels_last", LAYOUTS, ids=["last", "first"])
@pytest.mark.parametrize("geometry", POOL_GEOMETRIES, ids=[str(g) for g in POOL_GEOMETRIES])
@pytest.mark.parametrize("values", ["normal", "ties"])
def test_max_pool_and_backward_equal_the_numpy_path(values, geometry, channels_last, dtype):
    (h, w), pool_size, strides, padding = geometry
    plain, compiled = backends()
    shape = _layout((3, h, w, 5), channels_last)
    x = RNG.standard_normal(shape) if values == "normal" else RNG.integers(0, 3, shape)
    x = x.astype(dtype)
    args = (pool_size, strides, padding, channels_last)
    y, argmax = plain.max_pool(x, *args)
    got_y, got_argmax = compiled.max_pool(x, *args)
    assert got_y.dtype == y.dtype and got_argmax.dtype == argmax.dtype == np.int32
    np.testing.assert_array_equal(got_y, y)
    np.testing.assert_array_equal(got_argmax, argmax)
    dy = RNG.standard_normal(y.shape).astype(dtype)
    want = plain.max_pool_backward(dy, argmax, x.shape, *args)
    got = compiled.max_pool_backward(dy, argmax, x.shape, *args)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_max_pool_backward_writes_every_position_when_the_windows_tile_the_input(monkeypatch):
    """The tiled fast path starts from an uninitialised array: poison it to be sure."""
    plain, compiled = backends()
    monkeypatch.setattr(numpy_accel.numpy, "empty",
                        lambda shape, dtype=None: np.full(shape, np.nan, dtype=dtype))
    x = RNG.standard_normal((3, 6, 4, 5))
    args = ((2, 2), (2, 2), ((0, 0), (0, 0)), True)
    y, argmax = plain.max_pool(x, *args)
    dy = RNG.standard_normal(y.shape)
    np.testing.assert_array_equal(compiled.max_pool_backward(dy, argmax, x.shape, *args),
                                  plain.max_pool_backward(dy, argmax, x.shape, *args))


def test_max_pool_windows_of_padding_only_and_minus_inf_equal_the_numpy_path():
    plain, compiled = backends()
    x = RNG.standard_normal((2, 3, 4, 3))
    x[0, 0, 0, :] = x[1, :, 1, 0] = -np.inf
    for channels_last in LAYOUTS:
        xl = x if channels_last else np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        for args in [((2, 2), (3, 3), ((3, 0), (1, 4)), channels_last),
                     ((3, 2), (1, 2), ((2, 2), (1, 1)), channels_last)]:
            y, argmax = plain.max_pool(xl, *args)
            for got, want in zip(compiled.max_pool(xl, *args), (y, argmax)):
                np.testing.assert_array_equal(got, want)
            dy = RNG.standard_normal(y.shape)
            np.testing.assert_array_equal(compiled.max_pool_backward(dy, argmax, xl.shape, *args),
                                          plain.max_pool_backward(dy, argmax, xl.shape, *args))


def test_max_pool_nan_wins_as_in_the_numpy_path():
    plain, compiled = backends()
    x = RNG.standard_normal((2, 5, 5, 3))
    x[0, 1, 1, 0] = x[0, 1, 2, 0] = x[1, 4, 4, 2] = np.nan
    for args in [((2, 2), (2, 2), ((0, 1), (0, 1)), True), ((3, 3), (1, 1), ((1, 1), (1, 1)),
                                                            True)]:
        for got, want in zip(compiled.max_pool(x, *args), plain.max_pool(x, *args)):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (129, 33)])
def test_bias_relu_equals_the_numpy_path(shape, dtype):
    plain, compiled = backends()
    z = RNG.standard_normal(shape).astype(dtype)
    z.flat[::5] = -0.0
    z.flat[1::7] = np.nan
    bias = RNG.standard_normal(shape[1]).astype(dtype)
    bias.flat[::4] = 0.0
    want = plain.bias_activation(z.copy(), bias, "relu")
    fresh = z.copy()
    got = compiled.bias_activation(fresh, bias, "relu")
    assert got is fresh and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 stays -0.0
    np.testing.assert_array_equal(got, np.maximum(z + bias, 0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1031, 33)])
def test_relu_backward_bias_grad_equals_the_numpy_path(shape, dtype):
    plain, compiled = backends()
    y = np.maximum(RNG.standard_normal(shape), 0).astype(dtype)
    dy = (RNG.standard_normal(shape) * 10 ** RNG.uniform(-3, 3, shape)).astype(dtype)
    want_dz, want_db = plain.activation_backward_bias_grad(dy, y, "relu")
    got_dz, got_db = compiled.activation_backward_bias_grad(dy, y, "relu")
    assert got_dz.dtype == got_db.dtype == np.dtype(dtype) and got_db.shape == shape[1:]
    np.testing.assert_array_equal(got_dz, want_dz)
    np.testing.assert_array_equal(got_db, want_db)  # the same additions in the same order
    np.testing.assert_array_equal(want_dz, dy * (y > 0))
    np.testing.assert_array_equal(want_db, (dy * (y > 0)).sum(axis=0))
    # the 4-D sum the convolution took before: the same bits
    np.testing.assert_array_equal(got_db, got_dz.reshape((1, -1, 1) + shape[1:]).sum(
        axis=(0, 1, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_backward_equals_the_numpy_path(dtype):
    plain, compiled = backends()
    y = np.maximum(RNG.standard_normal((3, 7, 5, 2)), 0).astype(dtype)
    dy = RNG.standard_normal(y.shape).astype(dtype)
    got = compiled.activation_backward(dy, y, "relu")
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, plain.activation_backward(dy, y, "relu"))
    np.testing.assert_array_equal(got, dy * (y > 0))
    # a non-contiguous gradient takes the NumPy path, with the same result
    strided = dy.transpose(0, 2, 1, 3)
    y_t = y.transpose(0, 2, 1, 3)
    np.testing.assert_array_equal(compiled.activation_backward(strided, y_t, "relu"),
                                  strided * (y_t > 0))


ACTIVATIONS = ["tanh", "sigmoid", "hard_sigmoid", "relu", "linear", "softsign"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("activation,recurrent_activation",
                         [(a, r) for a in ACTIVATIONS for r in ("sigmoid", "hard_sigmoid")]
                         + [("tanh", r) for r in ACTIVATIONS])
def test_lstm_step_backward_equals_the_numpy_path(activation, recurrent_activation, masked,
                                                  dtype):
    plain, compiled = backends()
    batch, units = 5, 7
    mask = np.array([[True], [False], [True], [True], [False]]) if masked else None
    xw = RNG.standard_normal((batch, 4 * units)).astype(dtype)
    hu = RNG.standard_normal((batch, 4 * units)).astype(dtype)
    h_prev, c_prev = (RNG.standard_normal((batch, units)).astype(dtype) for _ in range(2))
    gates = np.empty_like(xw)
    h, c, act_c = (np.empty_like(h_prev) for _ in range(3))
    plain.lstm_step_forward(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
                            recurrent_activation)
    dh, dc = (RNG.standard_normal((batch, units)).astype(dtype) for _ in range(2))
    outputs = []
    for backend in (plain, compiled):
        dz, dh_carry, dc_prev = np.full_like(xw, 7.0), np.full_like(dh, 7.0), np.empty_like(dc)
        backend.lstm_step_backward(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev,
                                   activation, recurrent_activation)
        outputs.append((dz, dc_prev, dh_carry if masked else None))
    for got, want in zip(outputs[1], outputs[0]):
        np.testing.assert_array_equal(got, want)


LSTM_FORWARD_PAIRS = [("tanh", "sigmoid"), ("tanh", "hard_sigmoid")]  # Keras's LSTMs


def _lstm_step_inputs(dtype, batch=5, units=7):
    xw, hu = (RNG.standard_normal((batch, 4 * units)).astype(dtype) for _ in range(2))
    xw[0, :3] = [40.0, -40.0, 2.5]  # saturated gates, hard_sigmoid's corner
    h_prev, c_prev = (RNG.standard_normal((batch, units)).astype(dtype) for _ in range(2))
    return xw, hu, h_prev, c_prev


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [False, True], ids=["no mask", "mask"])
@pytest.mark.parametrize("aliased", [False, True], ids=["gates apart", "gates is xw"])
@pytest.mark.parametrize("activation,recurrent_activation", LSTM_FORWARD_PAIRS)
def test_lstm_step_forward_equals_the_numpy_path(activation, recurrent_activation, aliased,
                                                 masked, dtype):
    plain, compiled = backends()
    mask = np.array([[True], [False], [True], [True], [False]]) if masked else None
    xw, hu, h_prev, c_prev = _lstm_step_inputs(dtype)
    outputs = []
    for backend in (plain, compiled):
        x = xw.copy()
        gates = x if aliased else np.full_like(xw, 7.0)
        h, c, act_c = (np.full_like(h_prev, 7.0) for _ in range(3))
        backend.lstm_step_forward(x, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
                                  recurrent_activation)
        if not aliased:
            np.testing.assert_array_equal(x, xw)  # xw is read only
        outputs.append((gates, h, c, act_c))  # act_c too (the contract: any value on masked rows)
    for got, want in zip(outputs[1], outputs[0]):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert numpy_accel.lstm_step_forward(accel_kernels, xw, hu, h_prev, c_prev, mask,
                                         xw.copy(), *outputs[0][1:3], np.empty_like(h_prev),
                                         activation, recurrent_activation) is True


@pytest.mark.parametrize("pair", [("relu", "sigmoid"), ("tanh", "tanh"), ("softsign",
                                                                           "hard_sigmoid")])
def test_lstm_step_forward_without_a_kernel_takes_the_numpy_path(pair):
    xw, hu, h_prev, c_prev = _lstm_step_inputs("float32")
    assert numpy_accel.lstm_forward_step(accel_kernels, "float32", *pair) is None
    assert numpy_accel.lstm_step_forward(accel_kernels, xw, hu, h_prev, c_prev, None,
                                         np.empty_like(xw), *(np.empty_like(h_prev),) * 3,
                                         *pair) is None
    assert numpy_accel.lstm_forward_step(accel_kernels, "float16", "tanh", "sigmoid") is None
    assert numpy_accel.lstm_backward_step(accel_kernels, "int32", "tanh", "sigmoid") is None


def _lstm_sequence(backend, dtype, masked, dropout, outputs_used, activation,
                   recurrent_activation, biased=True):
    """Forward and backward through the backend's loops: every array they return."""
    rng = np.random.default_rng(5)  # the same inputs for both backends
    steps, batch, features, units = 6, 5, 3, 7

    def normal(*shape):
        return rng.standard_normal(shape).astype(dtype)
    x, kernel, recurrent = normal(steps, batch, features), normal(features, 4 * units), \
        normal(units, 4 * units) * 0.5
    bias, h0, c0 = normal(4 * units), normal(batch, units), normal(batch, units)
    mask = rng.random((steps, batch, 1)) > 0.3 if masked else None
    drop = (rng.random((batch, units)) > 0.4).astype(dtype) * 1.5 if dropout else None
    acts = (activation, recurrent_activation)
    bias = bias if biased else None
    h, c, saved = backend.lstm_forward(x, kernel, recurrent, bias, h0, c0, mask, drop, *acts)
    dy = normal(steps, batch, units) if outputs_used else None
    grads = backend.lstm_backward(dy, normal(batch, units), normal(batch, units), x, kernel,
                                  recurrent, biased, h, c, saved, mask, drop, *acts)
    return (h, c) + tuple(g for g in grads if g is not None)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked,dropout,outputs_used,biased", [(False, False, False, True),
                                                                (True, False, True, False),
                                                                (False, True, True, True),
                                                                (True, True, False, True),
                                                                (False, False, True, False)])
@pytest.mark.parametrize("activation,recurrent_activation",
                         LSTM_FORWARD_PAIRS + [("softsign", "hard_sigmoid")])
def test_lstm_sequence_equals_the_numpy_path(activation, recurrent_activation, masked,
                                             dropout, outputs_used, biased, dtype):
    plain, compiled = backends()
    want = _lstm_sequence(plain, dtype, masked, dropout, outputs_used, activation,
                          recurrent_activation, biased)
    got = _lstm_sequence(compiled, dtype, masked, dropout, outputs_used, activation,
                         recurrent_activation, biased)
    assert len(got) == len(want) == 8 - (not biased)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(a, b)


def test_lstm_loops_choose_the_kernels_once_not_the_numpy_step(monkeypatch):
    """The compiled loops never fall back to the per-step NumPy functions where a kernel
    applies, and take them where none does (softsign: NumPy forward, compiled backward)."""
    from gkeras.backends import numpy_rnn
    calls = []
    for name in ("lstm_step_forward", "lstm_step_backward"):
        real = getattr(numpy_rnn, name)
        monkeypatch.setattr(numpy_rnn, name,
                            lambda *args, _name=name, _real=real: (calls.append(_name),
                                                                   _real(*args)))
    _, compiled = backends()
    _lstm_sequence(compiled, "float32", True, False, True, "tanh", "hard_sigmoid")
    assert calls == []
    _lstm_sequence(compiled, "float32", True, False, True, "softsign", "hard_sigmoid")
    assert set(calls) == {"lstm_step_forward"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid"])
def test_lstm_op_with_go_backwards_and_mask_equals_the_numpy_path(recurrent_activation, dtype):
    from gkeras import ops
    from gkeras.autograd import GradientTape, Tensor
    from gkeras.backends import current
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 5, 4)).astype(dtype)
    kernel = rng.standard_normal((4, 8)).astype(dtype)
    recurrent = rng.standard_normal((2, 8)).astype(dtype)
    bias = rng.standard_normal(8).astype(dtype)
    mask = np.array([[1, 1, 0, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]], bool)
    backend, runs = current(), []
    saved = backend._accel
    try:
        for kernels in (False, accel_kernels):
            backend.accel = kernels
            variables = [Tensor(a, requires_grad=True) for a in (x, kernel, recurrent, bias)]
            with GradientTape() as tape:
                out, h, c = ops.lstm(*variables, mask=mask, go_backwards=True,
                                     return_sequences=True,
                                     recurrent_activation=recurrent_activation)
                loss = ops.sum(out * out) + ops.sum(c)
            runs.append([out.value, h.value, c.value] +
                        [g.value for g in tape.gradient(loss, variables)])
    finally:
        backend._accel = saved
    for got, want in zip(runs[1], runs[0]):
        np.testing.assert_array_equal(got, want)


def test_lstm_recurrent_kernel_is_c_contiguous_so_the_compiled_adam_takes_it():
    """Orthogonal's value is a transpose (Fortran order); a Variable stores C order, which
    the compiled optimizer step needs (it refuses other layouts, see below)."""
    import gkeras
    from gkeras.variables import Variable
    layer = gkeras.layers.LSTM(6)
    layer.build((None, 4, 3))
    assert all(w.value.flags.c_contiguous for w in layer.weights)
    fortran = np.asfortranarray(RNG.standard_normal((3, 5)))
    variable = Variable(fortran, dtype="float64")
    assert variable.value.flags.c_contiguous
    np.testing.assert_array_equal(variable.value, fortran)
    variable.assign(fortran.T.T)
    assert variable.value.flags.c_contiguous
    weight = layer.recurrent_kernel.value
    slots = (np.zeros_like(weight), np.zeros_like(weight), None)
    assert numpy_accel.optimizer_step(accel_kernels, "adam", weight, np.ones_like(weight),
                                      slots, OPTIMIZER_CASES[0][1]) is True


class _Refusing:
    """A kernels' module stand-in that records which kernel was asked for."""

    def __init__(self):
        self.asked = []

    def __getattr__(self, name):
        self.asked.append(name)
        raise LookupError(name)


def test_kernels_run_on_channels_last_with_enough_channels_only(monkeypatch):
    monkeypatch.setattr(numpy_accel, "MIN_CHANNELS", 8)
    backend = NumpyBackend()
    backend.accel = refusing = _Refusing()
    pool = ((2, 2), (2, 2), ((0, 0), (0, 0)))
    conv = ((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)))
    for shape, channels_last in [((2, 6, 6, 7), True), ((2, 8, 6, 6), False)]:
        x = RNG.standard_normal(shape)
        y, argmax = backend.max_pool(x, *pool, channels_last)
        backend.max_pool_backward(y, argmax, x.shape, *pool, channels_last)
        cols = backend.im2col(x, *conv, channels_last)
        backend.col2im(cols, x.shape, *conv, channels_last)
    assert refusing.asked == []
    x = RNG.standard_normal((2, 6, 6, 8))
    with pytest.raises(LookupError):
        backend.max_pool(x, *pool, True)
    with pytest.raises(LookupError):
        backend.col2im(backend.im2col(x, *conv, True), x.shape, *conv, True)
    assert refusing.asked == ["max_pool", "col2im"]


def test_kernels_are_off_for_other_dtypes_and_activations():
    plain, compiled = backends()
    x = RNG.integers(-5, 5, (2, 4, 4, 3))
    for got, want in zip(compiled.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), True),
                         plain.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), True)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert numpy_accel.lstm_step_backward(accel_kernels, *([None] * 9), "swish",
                                          "sigmoid") is None


def _accel_in_fresh_process(env_value):
    """``[extra on, numba imported]`` in a new process with GKERAS_CPU_ACCEL=env_value."""
    code = ("from gkeras.backends.numpy_backend import NumpyBackend; import sys; "
            "print(bool(NumpyBackend().accel), 'numba' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "GKERAS_CPU_ACCEL"}
    if env_value is not None:
        env["GKERAS_CPU_ACCEL"] = env_value
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    return proc.stdout.split()


def test_gkeras_cpu_accel_0_turns_the_extra_off_and_numba_is_never_imported():
    assert _accel_in_fresh_process("0") == ["False", "False"]
    assert _accel_in_fresh_process(None) == ["True", "True"]


def test_kernels_that_fail_to_load_warn_and_leave_plain_numpy(monkeypatch):
    monkeypatch.delenv("GKERAS_CPU_ACCEL", raising=False)
    monkeypatch.setitem(sys.modules, "gkeras.backends.accel_kernels", None)  # import fails
    monkeypatch.delattr("gkeras.backends.accel_kernels", raising=False)
    with pytest.warns(UserWarning, match="could not be loaded"):
        assert numpy_accel.load() is None
    backend = NumpyBackend()
    with pytest.warns(UserWarning):
        assert backend.accel is False
    x = RNG.standard_normal((2, 4, 4, 8))
    y, argmax = backend.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), True)
    np.testing.assert_array_equal(y, x.reshape(2, 2, 2, 2, 2, 8).max(axis=(2, 4)))


OPTIMIZER_CASES = [
    ("adam", dict(alpha=7e-4, one_minus_beta_1=0.1, one_minus_beta_2=0.001, epsilon=1e-7,
                  amsgrad=0), True),
    ("rmsprop", dict(learning_rate=1e-3, rho=0.9, one_minus_rho=0.1, epsilon=1e-7,
                     momentum=0.0, centered=0), True),
    ("adam", dict(alpha=7e-4, one_minus_beta_1=0.1, one_minus_beta_2=0.001, epsilon=1e-7,
                  amsgrad=1), False),
    ("rmsprop", dict(learning_rate=1e-3, rho=0.9, one_minus_rho=0.1, epsilon=1e-7,
                     momentum=0.5, centered=0), False),
    ("rmsprop", dict(learning_rate=1e-3, rho=0.9, one_minus_rho=0.1, epsilon=1e-7,
                     momentum=0.0, centered=1), False),
    ("sgd", dict(learning_rate=1e-2, momentum=0.9, nesterov=0), False),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,hyper,compiled_path", OPTIMIZER_CASES)
def test_optimizer_steps_equal_the_numpy_path(name, hyper, compiled_path, dtype):
    plain, compiled = backends()
    shape = (37, 3)  # odd, not a multiple of any vector width
    weight = RNG.standard_normal(shape).astype(dtype)
    grad = RNG.standard_normal(shape).astype(dtype)
    grad[0, 0] = 0.0
    slot_names = {"adam": 3, "rmsprop": 3, "sgd": 1}[name]
    # the first slot large, the others small: RMSprop's centered v - a**2 stays positive
    slots = [(np.abs(RNG.standard_normal(shape)) * (1.0 if i == 0 else 0.1) + (i == 0))
             .astype(dtype) for i in range(slot_names)]
    runs = []
    for backend in (plain, compiled):
        w, s = weight.copy(), [x.copy() for x in slots]
        scratch = {}
        for _ in range(3):
            backend.optimizer_step(name, w, grad, tuple(s), hyper,
                                   lambda k: scratch.setdefault(k, np.empty_like(w)))
        runs.append((w, s))
    (w_plain, s_plain), (w_compiled, s_compiled) = runs
    np.testing.assert_array_equal(w_compiled, w_plain)
    for a, b in zip(s_compiled, s_plain):
        np.testing.assert_array_equal(a, b)
    assert numpy_accel.optimizer_step(accel_kernels, name, weight.copy(), grad,
                                      tuple(x.copy() for x in slots), hyper) is \
        (True if compiled_path else None)


def test_optimizer_step_leaves_non_contiguous_state_to_numpy():
    """A slot that reshape(-1) would copy (not a view) must not take the compiled pass:
    its update would be lost."""
    hyper = OPTIMIZER_CASES[0][1]
    weight = np.ones((4, 6), "float32")
    slots = (np.zeros((6, 4), "float32").T, np.ones((4, 6), "float32"), None)
    assert numpy_accel.optimizer_step(accel_kernels, "adam", weight, np.ones_like(weight),
                                      slots, hyper) is None
    plain, compiled = backends()
    runs = []
    for backend in (plain, compiled):
        w, s = weight.copy(), (slots[0].copy(order="K"), slots[1].copy(), None)
        backend.optimizer_step("adam", w, np.full_like(w, 0.5), s, hyper,
                               lambda k: np.empty_like(w))
        runs.append((w, s[0]))
    np.testing.assert_array_equal(runs[1][0], runs[0][0])
    np.testing.assert_array_equal(runs[1][1], runs[0][1])
    assert runs[1][1].any()  # the momentum was updated in place


BATCH_NORM_SHAPES = [(1, 2, 1), (3, 8, 1), (1001, 33, 1), (37, 513, 1)]


def _batch_norm_inputs(shape, dtype):
    c = shape[1]
    x = (RNG.standard_normal(shape) * 3 + 1).astype(dtype)
    dy = RNG.standard_normal(shape).astype(dtype)
    gamma = RNG.uniform(0.5, 1.5, c).astype(dtype)
    return x, dy, gamma, RNG.standard_normal(c).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BATCH_NORM_SHAPES, ids=str)
def test_batch_norm_kernels_equal_the_numpy_path(shape, dtype):
    plain, compiled = backends()
    x, dy, gamma, beta = _batch_norm_inputs(shape, dtype)
    x[0, 0, 0] = -0.0
    moments = [b.batch_norm_moments(x) for b in (plain, compiled)]
    mean, var = moments[0]
    outputs = [b.batch_norm_forward(x, mean, var, gamma, beta, 1e-3) for b in (plain, compiled)]
    grads = [b.batch_norm_backward(dy, x, mean, var, gamma, 1e-3, True)
             for b in (plain, compiled)]
    for want, got in zip(moments[0] + (outputs[0],) + grads[0],
                         moments[1] + (outputs[1],) + grads[1]):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert numpy_accel.batch_norm_moments(accel_kernels, x) is not None  # the kernels ran


@pytest.mark.parametrize("case", ["one channel", "channels_first", "float16", "empty batch",
                                  "moving statistics", "strided"])
def test_batch_norm_kernels_leave_other_inputs_to_numpy(case):
    """Each of these takes the NumPy path: one channel (NumPy sums it pairwise, not row
    after row), (a, c, b) with b > 1, float16 (float32 statistics), no rows, the backward
    with constant statistics, a strided array."""
    shape = {"one channel": (9, 1, 1), "channels_first": (2, 4, 5),
             "empty batch": (0, 4, 1)}.get(case, (9, 4, 1))
    x, dy, gamma, beta = _batch_norm_inputs(shape, "float16" if case == "float16" else
                                            "float32")
    if case == "strided":
        x = np.repeat(x, 2, axis=0)[::2]
    mean, var = np.zeros(shape[1], "float32"), np.ones(shape[1], "float32")
    gamma, beta = gamma.astype("float32"), beta.astype("float32")
    assert numpy_accel.batch_norm_backward(accel_kernels, dy, x, mean, var, gamma, 1e-3,
                                           case != "moving statistics") is None
    if case != "moving statistics":  # whose forward is a kernel's (the same as training's)
        assert numpy_accel.batch_norm_forward(accel_kernels, x, mean, var, gamma, beta,
                                              1e-3) is None
        assert numpy_accel.batch_norm_moments(accel_kernels, x) is None
