"""The CuPy backend's recurrent step primitives and row-gather gradient run their real
kernel-launching code -- on the fake device (tests/fakecupy.py, whose RawModule runs
kernels/rnn.cu on the CPU shim), and with ``@pytest.mark.gpu`` on CuPy -- and equal the NumPy
backend's: each primitive (strided views and the loops' aliasing included), whole LSTM / GRU
(both reset_after forms) / SimpleRNN sequences forward and backward with masks and recurrent
dropout, and small Embedding -> recurrent -> Dense models trained end to end. Nothing inside a
primitive or a time loop moves between host and device."""
import numpy
import pytest

import gkeras
from gkeras import backends, kernels, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from fakecupy import DeviceArray, FakeCupy

NUMPY = NumpyBackend()
DTYPES = ("float32", "float64")
TOLERANCE = {"float32": dict(rtol=2e-5, atol=2e-6), "float64": dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture(params=["fake_device", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    if request.param == "fake_device":
        return CupyBackend(xp=FakeCupy())
    return backends.create("cupy")


def _quietly(backend, call):
    """``call()``, checking it moves nothing between host and device (where the device counts
    transfers: the fake one)."""
    counts = getattr(backend.xp, "counts", None)
    if counts is not None:
        backend.xp.reset()
    out = call()
    if counts is not None:
        assert not any(counts.values()), backend.xp.sites
    return out


def _host(backend, value):
    return None if value is None else backend.to_numpy(value)


def _close(got, want, dtype, what=""):
    assert got.shape == want.shape and got.dtype == want.dtype, what
    numpy.testing.assert_allclose(got, want, err_msg=what, **TOLERANCE[dtype])


# --- one step primitive at a time ---------------------------------------------------------------

def _step_arrays(rng, dtype, batch, units, masked):
    uniform = lambda *shape: rng.uniform(-1.5, 1.5, shape).astype(dtype)  # noqa: E731
    mask = rng.random((batch, 1)) < 0.6 if masked else None
    if masked:
        mask[0, 0] = False
    return uniform, mask


def _compare_step(backend, primitive, host_args, outputs, dtype, views=()):
    """Runs ``primitive`` on NumPy and on ``backend`` with the same arguments (arrays moved
    to the device; those named in ``views`` passed as strided column views of a wider array)
    and compares the output arrays (indices ``outputs``) after the call."""
    xp = backend.xp
    device_args, wide = [], {}
    for i, a in enumerate(host_args):
        if isinstance(a, numpy.ndarray) and i in views:
            padded = numpy.concatenate([a, numpy.full((a.shape[0], 3), 7.0, a.dtype)], axis=1)
            wide[i] = xp.asarray(padded)
            device_args.append(wide[i][:, :a.shape[1]])
            assert not device_args[-1].flags.c_contiguous
        else:
            device_args.append(xp.asarray(a) if isinstance(a, numpy.ndarray) else a)
    want = [a.copy() if isinstance(a, numpy.ndarray) else a for a in host_args]
    getattr(NUMPY, primitive)(*want)
    _quietly(backend, lambda: getattr(backend, primitive)(*device_args))
    for i in outputs:
        _close(_host(backend, device_args[i]), want[i], dtype, f"{primitive} argument {i}")
    for i, buffer in wide.items():  # the columns beyond the view are untouched
        assert (_host(backend, buffer)[:, -3:] == 7.0).all(), (primitive, i)


STEP_CASES = {  # primitive: (argument builder, indices of outputs); u units, b batch
    "lstm_step_forward": (lambda r, b, u, m: [r(b, 4 * u), r(b, 4 * u), r(b, u), r(b, u), m,
                                              r(b, 4 * u), r(b, u), r(b, u), r(b, u)],
                          (5, 6, 7, 8)),
    "lstm_step_backward": (lambda r, b, u, m: [r(b, u), r(b, u), r(b, 4 * u), r(b, u), r(b, u),
                                               m, r(b, 4 * u), r(b, u), r(b, u)],
                           (6, 7, 8)),
    "gru_step_forward": (lambda r, b, u, m: [r(b, 3 * u), r(b, 3 * u), r(3 * u), r(b, u), m,
                                             r(b, 4 * u), r(b, u)], (5, 6)),
    "gru_step_backward": (lambda r, b, u, m: [r(b, u), r(b, 4 * u), r(b, u), m, r(b, 3 * u),
                                              r(b, 3 * u), r(b, u)], (4, 5, 6)),
    "gru_gates_forward": (lambda r, b, u, m: [r(b, 3 * u), r(b, 2 * u), r(b, u), r(b, 3 * u),
                                              r(b, u)], (3, 4)),
    "gru_output_forward": (lambda r, b, u, m: [r(b, 3 * u), r(b, u), r(b, u), m, r(b, 3 * u),
                                               r(b, u)], (4, 5)),
    "gru_output_backward": (lambda r, b, u, m: [r(b, u), r(b, 3 * u), r(b, u), m, r(b, 3 * u),
                                                r(b, u)], (4, 5)),
    "gru_gates_backward": (lambda r, b, u, m: [r(b, u), r(b, 3 * u), r(b, u), r(b, 3 * u)],
                           (0, 3)),
    "simple_rnn_step_forward": (lambda r, b, u, m: [r(b, u), r(b, u), r(b, u), m, r(b, u)],
                                (4,)),
    "simple_rnn_step_backward": (lambda r, b, u, m: [r(b, u), r(b, u), m, r(b, u), r(b, u)],
                                 (3, 4)),
}
ACTIVATION_ARGUMENTS = {  # how many activation names each primitive takes last
    "gru_gates_forward": ("hard_sigmoid",), "gru_output_forward": ("softsign",),
    "gru_output_backward": ("relu",), "gru_gates_backward": ("sigmoid",),
    "simple_rnn_step_forward": ("tanh",), "simple_rnn_step_backward": ("linear",)}


def _step_case(primitive, dtype, batch, units, masked, seed=0):
    rng = numpy.random.default_rng(seed)
    uniform, mask = _step_arrays(rng, dtype, batch, units, masked)
    build, outputs = STEP_CASES[primitive]
    args = build(uniform, batch, units, mask)
    if not masked and primitive in ("lstm_step_backward", "simple_rnn_step_backward"):
        args[outputs[-2] if primitive == "lstm_step_backward" else outputs[-1]] = None
        outputs = tuple(i for i in outputs if args[i] is not None)
    args += list(ACTIVATION_ARGUMENTS.get(primitive, ("tanh", "hard_sigmoid")))
    return args, outputs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked", [True, False], ids=["mask", "no_mask"])
@pytest.mark.parametrize("primitive", list(STEP_CASES))
def test_step_primitive_equals_numpy(backend, primitive, masked, dtype):
    args, outputs = _step_case(primitive, dtype, 7, 37, masked)
    _compare_step(backend, primitive, args, outputs, dtype)


@pytest.mark.parametrize("primitive", list(STEP_CASES))
def test_strided_views_are_read_and_written_in_place(backend, primitive):
    """The contract allows strided row views: the backend stages them through C-ordered
    copies and writes the results back into the views, not beyond them."""
    args, outputs = _step_case(primitive, "float64", 3, 5, True, seed=1)
    views = {i for i, a in enumerate(args) if isinstance(a, numpy.ndarray) and a.ndim == 2
             and a.dtype != bool}
    _compare_step(backend, primitive, args, outputs, "float64", views=views)


def test_gates_may_alias_the_input_projection(backend):
    """As the time loops call it: ``gates`` is ``xw`` itself."""
    rng = numpy.random.default_rng(2)
    xw, hu = (rng.standard_normal((3, 20)) for _ in range(2))
    h_prev, c_prev = (rng.standard_normal((3, 5)) for _ in range(2))
    want = [xw.copy(), numpy.empty((3, 5)), numpy.empty((3, 5)), numpy.empty((3, 5))]
    NUMPY.lstm_step_forward(want[0], hu, h_prev, c_prev, None, *want, "tanh", "sigmoid")
    gates, hu_d, h_prev_d, c_prev_d = (backend.xp.asarray(a) for a in (xw, hu, h_prev, c_prev))
    got = [gates] + [backend.xp.empty((3, 5)) for _ in range(3)]
    backend.lstm_step_forward(gates, hu_d, h_prev_d, c_prev_d, None, *got, "tanh", "sigmoid")
    for g, w in zip(got, want):
        _close(_host(backend, g), w, "float64")


def test_an_unknown_activation_is_refused_by_name(backend):
    xp = backend.xp
    a = xp.zeros((2, 3))
    with pytest.raises(ValueError, match="unsupported recurrent activation 'elu'"):
        backend.simple_rnn_step_forward(a, a, a, None, xp.zeros((2, 3)), "elu")


def test_float16_takes_the_numpy_backend_code(backend):
    args, outputs = _step_case("gru_step_forward", "float16", 3, 5, True)
    xp = backend.xp
    device = [xp.asarray(a) if isinstance(a, numpy.ndarray) else a for a in args]
    backend.gru_step_forward(*device)
    NUMPY.gru_step_forward(*args)
    for i in outputs:
        numpy.testing.assert_array_equal(_host(backend, device[i]), args[i])


# --- whole sequences: the inherited time loops over the kernels -----------------------------------

T, B, D, U = 6, 7, 3, 5


def _sequence_arrays(layer, dtype, masked, dropout, seed=3):
    rng = numpy.random.default_rng(seed)
    k = {"lstm": 4, "gru": 3, "gru_after": 3, "simple_rnn": 1}[layer]
    normal = lambda *shape: (0.5 * rng.standard_normal(shape)).astype(dtype)  # noqa: E731
    mask = None
    if masked:
        mask = numpy.ones((T, B, 1), bool)
        mask[3:, 0] = False      # a padded row
        mask[:2, 4] = False      # left padding
        mask[2, 5] = False       # a hole
    return dict(x=normal(T, B, D), kernel=normal(D, k * U), recurrent_kernel=normal(U, k * U),
                bias=normal(k * U), recurrent_bias=normal(k * U), h0=normal(B, U),
                c0=normal(B, U), mask=mask,
                dropout=((rng.random((B, U)) < 0.7) / 0.7).astype(dtype) if dropout
                else None,
                dy=normal(T, B, U), dh_last=normal(B, U), dc_last=normal(B, U))


def _sequence(backend, layer, host, activation, recurrent_activation):
    """Forward and backward of ``layer`` over the whole sequence on ``backend``: host arrays of
    (states..., gradients...)."""
    xp = backend.xp
    a = {name: None if v is None else xp.asarray(v) for name, v in host.items()}
    acts = (activation, recurrent_activation)

    def run():
        if layer == "lstm":
            h, c, saved = backend.lstm_forward(a["x"], a["kernel"], a["recurrent_kernel"],
                                               a["bias"], a["h0"], a["c0"], a["mask"],
                                               a["dropout"], *acts)
            grads = backend.lstm_backward(a["dy"], a["dh_last"], a["dc_last"], a["x"],
                                          a["kernel"], a["recurrent_kernel"], True, h, c, saved,
                                          a["mask"], a["dropout"], *acts)
            return (h, c) + tuple(grads)
        if layer in ("gru", "gru_after"):
            after = layer == "gru_after"
            h, saved = backend.gru_forward(a["x"], a["kernel"], a["recurrent_kernel"], a["bias"],
                                           a["recurrent_bias"] if after else None, a["h0"],
                                           a["mask"], a["dropout"], *acts, after)
            grads = backend.gru_backward(a["dy"], a["dh_last"], a["x"], a["kernel"],
                                         a["recurrent_kernel"], True, h, saved, a["mask"],
                                         a["dropout"], *acts, after)
            return (h,) + tuple(grads)
        h, saved = backend.simple_rnn_forward(a["x"], a["kernel"], a["recurrent_kernel"],
                                              a["bias"], a["h0"], a["mask"], a["dropout"],
                                              activation)
        grads = backend.simple_rnn_backward(a["dy"], a["dh_last"], a["x"], a["kernel"],
                                            a["recurrent_kernel"], True, h, saved, a["mask"],
                                            a["dropout"], activation)
        return (h,) + tuple(grads)
    return [_host(backend, o) for o in _quietly(backend, run)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("masked,dropout", [(True, False), (False, True), (True, True)],
                         ids=["mask", "recurrent_dropout", "both"])
@pytest.mark.parametrize("layer,activation,recurrent_activation", [
    ("lstm", "tanh", "hard_sigmoid"), ("lstm", "softsign", "sigmoid"),
    ("gru", "tanh", "hard_sigmoid"), ("gru", "relu", "sigmoid"),
    ("gru_after", "tanh", "sigmoid"), ("gru_after", "linear", "hard_sigmoid"),
    ("simple_rnn", "tanh", None), ("simple_rnn", "relu", None)])
def test_whole_sequence_forward_and_backward_equal_numpy(backend, layer, activation,
                                                         recurrent_activation, masked, dropout,
                                                         dtype):
    host = _sequence_arrays(layer, dtype, masked, dropout)
    got = _sequence(backend, layer, host, activation, recurrent_activation)
    want = _sequence(NUMPY, layer, host, activation, recurrent_activation)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        if w is None:
            assert g is None, (layer, i)
        else:
            _close(g, w, dtype, f"{layer} output {i}")


# --- the row-gather gradient (Embedding) ------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_take_backward_equals_numpy_bit_for_bit(backend, dtype):
    rng = numpy.random.default_rng(5)
    indices = rng.integers(-13, 13, (4, 9))  # repeats, unused rows, negative indices
    dy = rng.standard_normal((4, 9, 2, 3)).astype(dtype)
    want = NUMPY.take_backward(indices, dy, 13)
    naive = numpy.zeros((13, 2, 3), dtype)
    for index, row in zip(indices.ravel(), dy.reshape(-1, 2, 3)):
        naive[index] += row  # in order: the reference's sums, bit for bit
    assert want.tobytes() == naive.tobytes()
    indices_d, dy_d = backend.xp.asarray(indices), backend.xp.asarray(dy)
    got = _quietly(backend, lambda: backend.take_backward(indices_d, dy_d, 13))
    got = _host(backend, got)
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()
    again = _host(backend, backend.take_backward(indices_d, dy_d, 13))
    assert again.tobytes() == got.tobytes()  # the same bits on every run


# --- small models, trained on both backends ---------------------------------------------------

def _model(recurrent, seed=0):
    gkeras.utils.set_random_seed(seed)
    model = gkeras.Sequential([layers.Embedding(20, 6, input_length=7), recurrent,
                               layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    return model


MODELS = {
    "lstm": lambda: _model(layers.LSTM(5)),
    "gru": lambda: _model(layers.GRU(4, return_sequences=False)),
    "gru_reset_after": lambda: _model(layers.GRU(4, reset_after=True,
                                                 recurrent_activation="sigmoid")),
    "simple_rnn": lambda: _model(layers.SimpleRNN(3, go_backwards=True)),
}


def _fit(backend, make, ids, y, batch_size, fake=None):
    saved = backends.current()
    backends.set_backend(backend)
    try:
        model = make()
        if fake is not None:
            fake.reset()
        model.fit(ids, y, batch_size=batch_size, epochs=2, shuffle=False, verbose=0)
        reads = None if fake is None else dict(fake.counts)
        return model, model.get_weights(), reads
    finally:
        backends.set_backend(saved)


@pytest.mark.parametrize("layer", list(MODELS))
def test_embedding_recurrent_dense_trains_as_on_numpy(layer):
    rng = numpy.random.default_rng(6)
    ids = rng.integers(0, 20, (40, 7))
    y = (ids.sum(axis=1, keepdims=True) > 66).astype("float32")
    _, want, _ = _fit(NumpyBackend(), MODELS[layer], ids, y, 8)
    fake = FakeCupy()
    model, got, reads_8 = _fit(CupyBackend(xp=fake), MODELS[layer], ids, y, 8, fake)
    assert isinstance(model.layers[0].embeddings.value, DeviceArray)
    for g, w in zip(got, want):
        numpy.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)
    fake = FakeCupy()
    _, _, reads_20 = _fit(CupyBackend(xp=fake), MODELS[layer], ids, y, 20, fake)
    # nothing per batch (the Embedding's index check is read once per epoch), per timestep or
    # inside the recurrent layer; the data goes to the device once per fit
    assert reads_8["to_host"] == reads_20["to_host"]
    assert reads_8["synchronize"] == reads_20["synchronize"] == 0
    assert reads_8["to_device"] == reads_20["to_device"]


def test_the_kernels_are_the_ones_running():
    """The backend's recurrent primitives launch kernels/rnn.cu (not the inherited code)."""
    fake = FakeCupy()
    _fit(CupyBackend(xp=fake), MODELS["lstm"], numpy.zeros((4, 7), int),
         numpy.zeros((4, 1), "float32"), 4)
    launched = {name for name, _ in kernels._kernels[fake]}
    assert {"lstm_step_forward", "lstm_step_backward", "embedding_gradient"} <= launched
