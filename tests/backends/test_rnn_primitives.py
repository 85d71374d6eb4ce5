"""The fused recurrent step primitives (contract in backends/numpy_rnn.py) against plain NumPy:
forward outputs from the cell equations, backward outputs against central differences of the
forward step (float64), on a batch whose rows include masked ones."""
import numpy as np
import pytest

from gkeras.backends.numpy_backend import NumpyBackend

import rnn_reference

# every test twice: plain NumPy and the CPU extra's kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("cpu_accel")

B, U = 4, 3
MASK = np.array([[True], [False], [True], [True]])
RNG = np.random.default_rng(11)
ACTIVATION_PAIRS = [("tanh", "sigmoid"), ("tanh", "hard_sigmoid"), ("softsign", "sigmoid"),
                    ("linear", "hard_sigmoid")]


def normal(*shape):
    return RNG.standard_normal(shape)


def numeric(f, array, eps=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(*array.shape):
        saved = array[index]
        array[index] = saved + eps
        plus = f()
        array[index] = saved - eps
        minus = f()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _lstm_forward(backend, xw, hu, h_prev, c_prev, mask, act, ract):
    gates, h, c, act_c = (np.empty((B, 4 * U)), np.empty((B, U)), np.empty((B, U)),
                          np.empty((B, U)))
    backend.lstm_step_forward(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, act, ract)
    return gates, h, c, act_c


@pytest.mark.parametrize("act,ract", ACTIVATION_PAIRS)
@pytest.mark.parametrize("mask", [None, MASK], ids=["no mask", "mask"])
def test_lstm_step(act, ract, mask):
    backend = NumpyBackend()
    xw, hu, h_prev, c_prev = normal(B, 4 * U), normal(B, 4 * U), normal(B, U), normal(B, U)
    xw_copy = xw.copy()
    gates, h, c, act_c = _lstm_forward(backend, xw, hu, h_prev, c_prev, mask, act, ract)
    np.testing.assert_array_equal(xw, xw_copy)  # gates did not alias xw here
    f_act, f_ract = rnn_reference.ACTIVATIONS[act], rnn_reference.ACTIVATIONS[ract]
    z = xw + hu
    i, f, g, o = f_ract(z[:, :U]), f_ract(z[:, U:2 * U]), f_act(z[:, 2 * U:3 * U]), \
        f_ract(z[:, 3 * U:])
    c_new = f * c_prev + i * g
    keep = np.ones((B, 1), bool) if mask is None else mask
    np.testing.assert_allclose(gates, np.concatenate([i, f, g, o], 1), rtol=1e-12)
    np.testing.assert_allclose(c, np.where(keep, c_new, c_prev), rtol=1e-12)
    np.testing.assert_allclose(h, np.where(keep, o * f_act(c_new), h_prev), rtol=1e-12)
    # gates may alias xw (the loops rely on it)
    alias = xw.copy()
    backend.lstm_step_forward(alias, hu, h_prev, c_prev, mask, alias, *(np.empty((B, U)),) * 3,
                              act, ract)
    np.testing.assert_array_equal(alias, gates)

    dh, dc = normal(B, U), normal(B, U)

    def loss():
        _, h2, c2, _ = _lstm_forward(backend, xw, hu, h_prev, c_prev, mask, act, ract)
        return np.sum(h2 * dh) + np.sum(c2 * dc)
    dz, carry, dc_prev = np.empty((B, 4 * U)), np.full((B, U), np.nan), np.empty((B, U))
    backend.lstm_step_backward(dh, dc, gates, c_prev, act_c, mask, dz, carry, dc_prev, act, ract)
    np.testing.assert_allclose(dz, numeric(loss, xw), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dz, numeric(loss, hu), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dc_prev, numeric(loss, c_prev), rtol=1e-6, atol=1e-8)
    if mask is not None:  # h_prev's gradient not through hu
        np.testing.assert_allclose(carry, numeric(loss, h_prev), rtol=1e-6, atol=1e-8)
    else:
        assert np.isnan(carry).all()  # untouched without a mask


@pytest.mark.parametrize("act,ract", ACTIVATION_PAIRS)
@pytest.mark.parametrize("mask", [None, MASK], ids=["no mask", "mask"])
def test_gru_step_reset_after(act, ract, mask):
    backend = NumpyBackend()
    xw, hu, h_prev, rbias = normal(B, 3 * U), normal(B, 3 * U), normal(B, U), normal(3 * U)

    def forward():
        gates, h = np.empty((B, 4 * U)), np.empty((B, U))
        backend.gru_step_forward(xw, hu, rbias, h_prev, mask, gates, h, act, ract)
        return gates, h
    gates, h = forward()
    f_act, f_ract = rnn_reference.ACTIVATIONS[act], rnn_reference.ACTIVATIONS[ract]
    v = hu + rbias
    z, r = f_ract(xw[:, :U] + v[:, :U]), f_ract(xw[:, U:2 * U] + v[:, U:2 * U])
    hh = f_act(xw[:, 2 * U:] + r * v[:, 2 * U:])
    keep = np.ones((B, 1), bool) if mask is None else mask
    np.testing.assert_allclose(gates, np.concatenate([z, r, hh, v[:, 2 * U:]], 1), rtol=1e-12)
    np.testing.assert_allclose(h, np.where(keep, z * h_prev + (1 - z) * hh, h_prev), rtol=1e-12)
    dh = normal(B, U)

    def loss():
        return np.sum(forward()[1] * dh)
    dxw, dhu, carry = np.empty((B, 3 * U)), np.empty((B, 3 * U)), np.empty((B, U))
    backend.gru_step_backward(dh, gates, h_prev, mask, dxw, dhu, carry, act, ract)
    np.testing.assert_allclose(dxw, numeric(loss, xw), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dhu, numeric(loss, hu), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dhu.sum(0), numeric(loss, rbias), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(carry, numeric(loss, h_prev), rtol=1e-6, atol=1e-8)
    gates_none = np.empty((B, 4 * U))
    backend.gru_step_forward(xw, hu, None, h_prev, mask, gates_none, np.empty((B, U)), act, ract)
    np.testing.assert_allclose(gates_none[:, 3 * U:], hu[:, 2 * U:])  # no bias: zeros


@pytest.mark.parametrize("act,ract", ACTIVATION_PAIRS)
@pytest.mark.parametrize("mask", [None, MASK], ids=["no mask", "mask"])
def test_gru_steps_reset_before(act, ract, mask):
    backend = NumpyBackend()
    xw, hu_zr, hd, h_prev = normal(B, 3 * U), normal(B, 2 * U), normal(B, U), normal(B, U)
    kernel_h = normal(U, U)

    def forward():
        gates, rh, h = np.empty((B, 3 * U)), np.empty((B, U)), np.empty((B, U))
        backend.gru_gates_forward(xw, hu_zr, hd, gates, rh, ract)
        backend.gru_output_forward(xw, rh @ kernel_h, h_prev, mask, gates, h, act)
        return gates, rh, h
    gates, rh, h = forward()
    f_act, f_ract = rnn_reference.ACTIVATIONS[act], rnn_reference.ACTIVATIONS[ract]
    z, r = f_ract(xw[:, :U] + hu_zr[:, :U]), f_ract(xw[:, U:2 * U] + hu_zr[:, U:])
    hh = f_act(xw[:, 2 * U:] + (r * hd) @ kernel_h)
    keep = np.ones((B, 1), bool) if mask is None else mask
    np.testing.assert_allclose(gates, np.concatenate([z, r, hh], 1), rtol=1e-12)
    np.testing.assert_allclose(rh, r * hd, rtol=1e-12)
    np.testing.assert_allclose(h, np.where(keep, z * h_prev + (1 - z) * hh, h_prev), rtol=1e-12)
    dh = normal(B, U)

    def loss():
        return np.sum(forward()[2] * dh)
    dxw, carry = np.empty((B, 3 * U)), np.empty((B, U))
    backend.gru_output_backward(dh, gates, h_prev, mask, dxw, carry, act)
    drh = dxw[:, 2 * U:] @ kernel_h.T
    backend.gru_gates_backward(drh, gates, hd, dxw, ract)
    np.testing.assert_allclose(dxw, numeric(loss, xw), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dxw[:, :2 * U], numeric(loss, hu_zr), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(drh, numeric(loss, hd), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(carry, numeric(loss, h_prev), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ["tanh", "relu", "softsign", "sigmoid", "linear"])
@pytest.mark.parametrize("mask", [None, MASK], ids=["no mask", "mask"])
def test_simple_rnn_step(act, mask):
    backend = NumpyBackend()
    xw, hu, h_prev = normal(B, U), normal(B, U), normal(B, U)
    xw[np.abs(xw + hu) < 0.05] += 0.2  # away from relu's kink

    def forward():
        h = np.empty((B, U))
        backend.simple_rnn_step_forward(xw, hu, h_prev, mask, h, act)
        return h
    h = forward()
    keep = np.ones((B, 1), bool) if mask is None else mask
    np.testing.assert_allclose(h, np.where(keep, rnn_reference.ACTIVATIONS[act](xw + hu), h_prev),
                               rtol=1e-12)
    dh = normal(B, U)
    dz, carry = np.empty((B, U)), np.empty((B, U))
    backend.simple_rnn_step_backward(dh, h, mask, dz, carry, act)

    def loss():
        return np.sum(forward() * dh)
    np.testing.assert_allclose(dz, numeric(loss, xw), rtol=1e-6, atol=1e-8)
    if mask is not None:
        np.testing.assert_allclose(carry, numeric(loss, h_prev), rtol=1e-6, atol=1e-8)


def test_unknown_activation_is_refused():
    with pytest.raises(ValueError, match="unsupported recurrent activation 'gelu'"):
        NumpyBackend().simple_rnn_step_forward(normal(B, U), normal(B, U), normal(B, U), None,
                                               np.empty((B, U)), "gelu")


def test_time_loops_run_blas_single_threaded_and_restore_it():
    from gkeras.backends import blas_threads
    controls = blas_threads._find_controls()
    if not controls:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS this process can reach")
    get, set_ = controls
    before = get()
    set_(2)
    try:
        with blas_threads.single_threaded():
            assert get() == 1
        assert get() == 2
    finally:
        set_(before)


def _fake_cpu(monkeypatch, samples):
    """``blas_threads`` reading ``samples`` ``(wall, (machine busy s, own s) or None)`` in
    turn; a sample whose CPU part is "not read" must be one where /proc/stat is not read."""
    from gkeras.backends import blas_threads
    monkeypatch.setattr(blas_threads, "_load", {"sample": None, "quiet": False})
    walls = iter([wall for wall, _ in samples])
    cpus = iter([cpu for _, cpu in samples if cpu != "not read"])
    monkeypatch.setattr(blas_threads, "_clock", lambda: next(walls))
    monkeypatch.setattr(blas_threads, "_cpu_sample", lambda: next(cpus))
    return blas_threads


def test_quiet_means_under_half_a_core_of_other_processes(monkeypatch):
    # others' share = (machine busy - own) / wall over each period of at least 0.5 s
    blas_threads = _fake_cpu(monkeypatch, [
        (0.0, (10.0, 1.0)),   # first look: no period yet, not quiet
        (1.0, (11.2, 2.0)),   # others used 0.2 s in 1 s: quiet
        (1.2, "not read"),    # under 0.5 s later: the estimate is kept, /proc/stat not read
        (2.0, (13.0, 3.0)),   # others used 0.8 s in 1 s: busy
        (3.0, (14.4, 4.0)),   # 0.4 s: quiet again
        (4.0, None),          # cannot measure: not quiet
        (5.0, (15.0, 5.0))])  # no earlier measurement to compare with: still not quiet
    assert [blas_threads.machine_is_quiet() for _ in range(7)] == [False, True, True, False,
                                                                  True, False, False]


@pytest.mark.parametrize("quiet", [True, False])
def test_time_loops_keep_blas_threads_only_on_a_quiet_machine(monkeypatch, quiet):
    from gkeras.backends import blas_threads
    controls = blas_threads._find_controls()
    if not controls:
        pytest.skip("NumPy's BLAS here is not an OpenBLAS this process can reach")
    get, set_ = controls
    monkeypatch.setattr(blas_threads, "machine_is_quiet", lambda: quiet)
    seen = []
    real_matmul = np.matmul

    def recording_matmul(*args, **kwargs):
        seen.append(get())
        return real_matmul(*args, **kwargs)

    before = get()
    set_(2)
    try:
        x = normal(3, B, 2).astype("float32")
        kernel, recurrent = normal(2, 4 * U).astype("float32"), normal(U, 4 * U).astype("float32")
        zeros = np.zeros((B, U), "float32")
        backend = NumpyBackend()
        backend._accel = False  # the per-step loops (the CPU extra's split passes differ)
        monkeypatch.setattr(backend.xp, "matmul", recording_matmul)
        backend.lstm_forward(x, kernel, recurrent, None, zeros, zeros, None, None, "tanh",
                             "sigmoid")
        assert get() == 2
    finally:
        set_(before)
    assert seen and set(seen) == {2 if quiet else 1}
