"""The optional CPU extra: compiled one-pass kernels for the NumPy backend's hot non-GEMM passes.

``pip install gkeras[cpu]`` installs numba; then ``NumpyBackend`` runs max pooling (forward
and backward) and col2im on channels_last arrays with at least ``MIN_CHANNELS`` channels,
bias + ReLU in place on a matrix product, the ReLU backward (alone, or with the bias
gradient's column sums in the same pass), the LSTM's gate steps (forward for Keras's
activations, backward for all), the Embedding's table gradient, batch normalization's
statistics, normalization and backward (channels_last) and the Adam and RMSprop updates
through the kernels of ``accel_kernels.py`` instead of several NumPy passes each.
The pooling, col2im, ReLU, optimizer and batch-norm elementwise kernels split their work
across the cores on arrays of at least ``accel_kernels.PARALLEL_MIN_SIZE`` elements. Without numba, or with the
environment variable ``GKERAS_CPU_ACCEL=0``, nothing here imports numba and the backend runs
plain NumPy, as before.

The kernels do the NumPy path's floating-point operations in the same order, so every result
equals the NumPy path's (``array_equal``); only the sign of a zero gradient may differ (NumPy
multiplies a gradient by 0 where the kernels write +0). Each function below returns None
where its kernel does not apply or was measured slower than NumPy (channels_first, few
channels, a dtype other than float32/float64, an activation without a kernel); the backend
then takes the NumPy path.

Why numba and not numexpr (measured, see docs/performance.md): numexpr evaluates elementwise
expressions only -- pooling, col2im and the gate step's blocks need indexing it cannot
express -- and on the one pass it can express, the ReLU backward, it was 3-7x slower than
NumPy. The LSTM's forward step leaves its two tanh to NumPy: NumPy's tanh is SIMD-vectorized,
numba's a scalar libm call (4.6-11x slower), so the step is three kernels around them. Without
a mask the LSTM's whole forward and backward passes are one compiled call each, split over the cores by batch rows, running NumPy's own gemm and tanh loop between those
kernels (``numpy_routines``): no Python call per step, and no thread waits for another within
the time loop.
"""
import os
import warnings

import numpy

from . import blas_threads, numpy_norm, numpy_routines, rnn_loops

_FLOATS = (numpy.dtype("float32"), numpy.dtype("float64"))
MIN_CHANNELS = 8
# activation name -> the kernels' code (derivatives from outputs, as numpy_rnn)
_ACTIVATION_CODES = {"tanh": 0, "sigmoid": 1, "hard_sigmoid": 2, "relu": 3, "linear": 4,
                     "softsign": 5}
_FORWARD_CODES = {"sigmoid": 1, "hard_sigmoid": 2}  # the forward kernels' recurrent activations


def load():
    """The compiled kernels' module, or None: numba missing, or ``GKERAS_CPU_ACCEL=0``.
    Importing it imports numba (about 0.4 s); each kernel compiles on its first call (or
    loads from numba's on-disk cache)."""
    if os.environ.get("GKERAS_CPU_ACCEL", "1").strip() == "0":
        return None
    try:
        import numba  # noqa: F401
    except ImportError:
        return None
    # The optimizer updates run on numba's OpenMP threads; by default those spin for a while
    # after each update and starve OpenBLAS's threads in the next GEMMs (measured on 2 cores:
    # the MLP fell from 27k to 7k samples/s). Passive waiting, unless the user chose otherwise;
    # read by libgomp when numba first loads it, at the first parallel update.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from . import accel_kernels
    except Exception as error:  # a broken numba install must not stop plain NumPy
        warnings.warn(f"gkeras: the CPU extra's kernels could not be loaded ({error!r}); "
                      f"running plain NumPy. Set GKERAS_CPU_ACCEL=0 to skip them.")
        return None
    return accel_kernels


def _run(kernels, kernel, size, *args):
    """``kernel(*args)``, a pass over ``size`` elements, on the cores it pays to wake (see
    ``accel_kernels.PARALLEL_MIN_SIZE``)."""
    kernels.run_sized(kernel, size, *args)


def _floats(*arrays):
    return all(a.dtype in _FLOATS for a in arrays) and len({a.dtype for a in arrays}) == 1


def _channels_last_with_channels(x, channels_last):
    """The pooling and col2im kernels loop over channels innermost: they win on channels_last
    arrays with at least ``MIN_CHANNELS`` channels (measured; NumPy is faster on fewer
    channels and on channels_first)."""
    return channels_last and x.shape[-1] >= MIN_CHANNELS


def max_pool(kernels, x, pool_size, strides, padding, channels_last, out_hw):
    if not (_floats(x) and _channels_last_with_channels(x, channels_last)):
        return None
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool_size, strides, padding
    shape = (x.shape[0],) + tuple(out_hw) + (x.shape[3],)
    y = numpy.empty(shape, dtype=x.dtype)
    argmax = numpy.empty(shape, dtype=numpy.int32)
    _run(kernels, kernels.max_pool, x.size, x, kh, kw, sh, sw, pt, pl, y, argmax)
    return y, argmax


def max_pool_backward(kernels, dy, argmax, x_shape, pool_size, strides, padding,
                      channels_last):
    if not (_floats(dy) and _channels_last_with_channels(dy, channels_last)):
        return None
    (kh, kw), (sh, sw), ((pt, _), (pl, _)) = pool_size, strides, padding
    # windows that tile the input exactly: the disjoint kernel writes every position itself
    tiled = (kh, kw) == (sh, sw) and pt == pl == 0 and \
        tuple(x_shape[1:3]) == (dy.shape[1] * sh, dy.shape[2] * sw)
    dx = (numpy.empty if tiled else numpy.zeros)(tuple(x_shape), dtype=dy.dtype)
    # disjoint windows: each input position has one reader at most, written once
    step = kernels.max_pool_backward_disjoint if sh >= kh and sw >= kw else \
        kernels.max_pool_backward_overlapping
    _run(kernels, step, dx.size, dy, argmax, kh, kw, sh, sw, pt, pl, dx)
    return dx


def col2im(kernels, cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
    if not (_floats(cols) and _channels_last_with_channels(cols, channels_last)):
        return None
    (kh, kw), (sh, sw), (dh, dw), ((pt, _), (pl, _)) = kernel_size, strides, dilation, padding
    dx = numpy.empty(tuple(x_shape), dtype=cols.dtype)
    _run(kernels, kernels.col2im, cols.size, cols, kh, kw, sh, sw, dh, dw, pt, pl, dx)
    return dx


def _rows_of(*arrays):
    """C-contiguous (rows, d) arrays of one float dtype and one shape."""
    return _floats(*arrays) and all(a.ndim == 2 and a.flags.c_contiguous and
                                    a.shape == arrays[0].shape for a in arrays)


def bias_relu(kernels, z, bias):
    """``maximum(z + bias, 0)`` in place on ``z`` (True), or None."""
    if bias is None or not (_rows_of(z) and _floats(z, bias) and bias.shape == z.shape[1:]
                            and bias.flags.c_contiguous):
        return None
    _run(kernels, kernels.bias_relu, z.size, z, bias)
    return True


def relu_backward_bias_grad(kernels, dy, y):
    """``(dz, dz.sum(axis=0))`` for ``dz = dy * (y > 0)``, or None."""
    if not _rows_of(dy, y):
        return None
    dz = numpy.empty(dy.shape, dtype=dy.dtype)
    db = numpy.empty(dy.shape[1], dtype=dy.dtype)
    kernels.relu_backward_bias_grad(dy, y, dz, db)
    return dz, db


def relu_backward(kernels, dy, y):
    if not (_floats(dy, y) and dy.shape == y.shape and dy.flags.c_contiguous
            and y.flags.c_contiguous):
        return None
    dx = numpy.empty(dy.shape, dtype=dy.dtype)
    _run(kernels, kernels.relu_backward, dx.size, dy.reshape(-1), y.reshape(-1),
         dx.reshape(-1))
    return dx


def scatter_add_rows(kernels, table, stale, indices, updates):
    """True when ``table`` (a reused gradient, ``(rows, columns)``) had its ``stale`` rows
    zeroed and ``updates`` added at the int64 ``indices`` in their order, else None."""
    if not (_rows_of(table) and _rows_of(updates) and _floats(table, updates)
            and table.shape[1] == updates.shape[1]):
        return None
    kernels.scatter_add_rows(table, stale, indices, updates)
    return True


_LSTM_CONSTANTS = {}


def _lstm_constants(dtype):
    """(1, 0.2, 0, 0.5) in ``dtype``: float32 math stays float32, as NumPy's with Python
    scalars."""
    dtype = numpy.dtype(dtype)
    if dtype not in _LSTM_CONSTANTS:
        _LSTM_CONSTANTS[dtype] = numpy.array([1.0, 0.2, 0.0, 0.5], dtype=dtype)
    return _LSTM_CONSTANTS[dtype]


def lstm_forward_step(kernels, dtype, activation, recurrent_activation, bias=None):
    """``numpy_rnn.lstm_step_forward`` (without ``xp``) for arrays of ``dtype``, or None.

    For Keras's LSTMs only -- activation tanh, recurrent activation sigmoid or hard_sigmoid
    -- as three kernels around NumPy's own (SIMD) tanh: ``gates = xw + hu`` with the
    recurrent activation (sigmoid halfway: 0.5*a), tanh, the cell ``c = f*c_prev + i*g``,
    tanh, ``h = o*tanh(c)``. A kernel's libm tanh would be 4.6-11x slower than NumPy's. The
    loops call this once per sequence, not per step. With ``bias`` (``(4u,)``) the step adds
    it to ``xw`` first, as the input projection would (``(xw + bias) + hu``, the same
    roundings): the projection then skips its pass over all timesteps."""
    ract = _FORWARD_CODES.get(recurrent_activation)
    if activation != "tanh" or ract is None or numpy.dtype(dtype) not in _FLOATS:
        return None
    k = _lstm_constants(dtype)
    tanh = numpy.tanh

    def step(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, *activations):
        if xw is not gates:
            numpy.copyto(gates, xw)
        kernels.lstm_gates_forward(gates, bias, hu, act_c, ract, k)
        tanh(act_c if ract == 2 else gates, out=act_c if ract == 2 else gates)
        kernels.lstm_cell_forward(gates, act_c, c_prev, c, ract, k)
        tanh(c, out=act_c)
        kernels.lstm_output_forward(gates, act_c, h_prev, c_prev, mask, h, c)
    return step


def lstm_backward_step(kernels, dtype, activation, recurrent_activation):
    """``numpy_rnn.lstm_step_backward`` (without ``xp``) for arrays of ``dtype``, or None
    (an activation without a kernel, another dtype)."""
    act, ract = (_ACTIVATION_CODES.get(activation), _ACTIVATION_CODES.get(recurrent_activation))
    if act is None or ract is None or numpy.dtype(dtype) not in _FLOATS:
        return None
    k = _lstm_constants(dtype)

    def step(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev, *activations):
        if mask is None:
            kernels.lstm_step_backward(dh, dc, gates, c_prev, act_c, dz, dc_prev, act, ract, k)
        else:
            kernels.lstm_step_backward_masked(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry,
                                              dc_prev, act, ract, k)
    return step


def lstm_step_forward(kernels, xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
                      recurrent_activation):
    """True when done (the contract of ``numpy_rnn.lstm_step_forward``), else None."""
    if not _floats(xw, hu, h_prev, c_prev, gates, h, c, act_c):
        return None
    step = lstm_forward_step(kernels, xw.dtype, activation, recurrent_activation)
    if step is None:
        return None
    step(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c)
    return True


def lstm_step_backward(kernels, dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev,
                       activation, recurrent_activation):
    """True when done (the contract of ``numpy_rnn.lstm_step_backward``), else None."""
    if activation not in _ACTIVATION_CODES or recurrent_activation not in _ACTIVATION_CODES \
            or not _floats(dh, dc, gates, c_prev, act_c, dz, dc_prev):
        return None
    step = lstm_backward_step(kernels, dh.dtype, activation, recurrent_activation)
    step(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev)
    return True


def _split_parts(kernels, batch):
    """How many threads (numba's) the LSTM's split passes use: all, at most one per batch row,
    while other processes leave the cores alone (blas_threads.machine_is_quiet), else one;
    None while other layers' products keep OpenBLAS's workers spinning
    (blas_threads.cores_free_of_workers): the split would share the cores with them, and the
    per-step path, which runs its products on those workers, is faster then (37 vs 29 ms a
    step with a Dense(512) on the LSTM's outputs: bench/bench_lstm_passes.py)."""
    if not blas_threads.cores_free_of_workers():
        return None
    if not blas_threads.machine_is_quiet():
        return 1
    return max(1, min(kernels.thread_count(), batch))


def _step_product_plan(dtype, batch, columns, inner, parts):
    """How the split time loops multiply their part of each step's ``(batch, inner) @ (inner,
    columns)`` product (``accel_lstm._product``'s ``(column blocks, inner parts)``): in
    small-matrix blocks where a cut of the inner dimension gives NumPy's bits, else in one
    call per part; None where neither does."""
    exact = numpy_routines.split_product_is_exact
    rows = -(-batch // parts)
    inner_parts = 1
    while inner_parts <= inner:
        blocks = numpy_routines.small_product_blocks(rows, columns, -(-inner // inner_parts))
        if blocks is not None and exact(dtype, False, False, batch, columns, inner, parts,
                                        blocks, inner_parts):
            return numpy.array([blocks, inner_parts], numpy.intp)
        inner_parts *= 2
    if exact(dtype, False, False, batch, columns, inner, parts, 1):
        return numpy.array([1, 1], numpy.intp)
    return None


def _contiguous(*arrays):
    return all(a.flags.c_contiguous for a in arrays)


def lstm_forward_pass(kernels, x, kernel, recurrent_kernel, bias, h0, c0, mask,
                      recurrent_dropout, activation, recurrent_activation):
    """``rnn_loops.lstm_forward``'s ``(H, C, saved)`` from one compiled pass split over the
    cores (``accel_lstm.lstm_forward_split``), or None: a mask, other activations than
    ``lstm_forward_step``'s, another dtype, a kernel that is not C-contiguous (NumPy would
    multiply it transposed), or a product whose split would not give NumPy's bits
    (``numpy_routines.split_product_is_exact``: one row, for which NumPy calls gemv; a block
    that OpenBLAS would multiply another way)."""
    ract = _FORWARD_CODES.get(recurrent_activation)
    arrays = [a for a in (x, kernel, recurrent_kernel, bias, h0, c0, recurrent_dropout)
              if a is not None]
    if activation != "tanh" or ract is None or mask is not None or not _floats(*arrays) or \
            not _contiguous(x, kernel, recurrent_kernel) or \
            (recurrent_dropout is not None and not _contiguous(recurrent_dropout)):
        return None
    routines = numpy_routines.find(x.dtype)
    steps, batch, features = x.shape
    units = h0.shape[-1]
    width = 4 * units
    parts = routines and _split_parts(kernels, batch)
    plan = parts and _step_product_plan(x.dtype, batch, width, units, parts)
    if plan is None or not numpy_routines.split_product_is_exact(
            x.dtype, False, False, steps * batch, width, features, parts, 1):
        return None
    gates = numpy.empty((steps, batch, width), x.dtype)
    h, c = rnn_loops.states(numpy, h0, steps), rnn_loops.states(numpy, c0, steps)
    act_c = numpy.empty((steps, batch, units), x.dtype)
    fed = rnn_loops.dropped(numpy, h, recurrent_dropout)  # the state the products see
    with blas_threads.single_threaded():
        kernels.lstm_forward_split(*routines, x, kernel, bias, recurrent_kernel, gates, h, c,
                                   act_c, ract, _lstm_constants(x.dtype), parts, plan,
                                   recurrent_dropout, fed)
    return h, c, (gates, act_c, fed)


def lstm_backward_pass(kernels, dy, dh_last, dc_last, x, kernel, recurrent_kernel, use_bias, h,
                       c, saved, mask, recurrent_dropout, activation, recurrent_activation,
                       input_gradient):
    """``rnn_loops.lstm_backward``'s gradients from one compiled pass split over the cores
    (``accel_lstm.lstm_backward_split``), or None (as ``lstm_forward_pass``; any activations
    ``lstm_backward_step`` takes)."""
    gates, act_c, fed = saved
    act, ract = _ACTIVATION_CODES.get(activation), _ACTIVATION_CODES.get(recurrent_activation)
    arrays = [a for a in (dy, dh_last, dc_last, x, kernel, recurrent_kernel, h, c, gates, act_c,
                          recurrent_dropout) if a is not None]
    if act is None or ract is None or mask is not None or not _floats(*arrays) or \
            not _contiguous(x, kernel, h, c, gates, act_c, fed) or \
            (recurrent_dropout is not None and not _contiguous(recurrent_dropout)):
        return None
    routines = numpy_routines.find(x.dtype)
    steps, batch, features = x.shape
    units = h.shape[-1]
    width, rows = 4 * units, steps * batch
    parts = routines and _split_parts(kernels, batch)
    plan = parts and _step_product_plan(x.dtype, batch, units, width, parts)
    exact = numpy_routines.split_product_is_exact
    if plan is None or not (
            exact(x.dtype, True, False, features, width, rows, 1, parts)
            and exact(x.dtype, True, False, units, width, rows, 1, parts)
            and (not input_gradient or exact(x.dtype, False, True, rows, features, width,
                                             parts, 1))):
        return None
    dtype = x.dtype
    dz = numpy.empty(gates.shape, dtype)
    state = rnn_loops.StateGradient(numpy, dy, dh_last, (batch, units), dtype)
    dh, dh_next = state.current, state.next
    dc = numpy.zeros((batch, units), dtype) if dc_last is None else \
        numpy.array(dc_last, dtype=dtype, order="C")
    dc_prev = numpy.empty((batch, units), dtype)
    dkernel, drecurrent = numpy.empty((features, width), dtype), numpy.empty((units, width), dtype)
    dx = numpy.empty((rows, features), dtype) if input_gradient else None
    with blas_threads.single_threaded():
        kernels.lstm_backward_split(routines[0], dz, dy, gates, c, act_c,
                                    numpy.ascontiguousarray(recurrent_kernel.T), dh, dh_next, dc,
                                    dc_prev, act, ract, _lstm_constants(dtype), parts, plan,
                                    recurrent_dropout, x.reshape(rows, features),
                                    fed[:steps].reshape(rows, units),
                                    kernel, dkernel, drecurrent, dx)
    if steps % 2:
        dh, dc = dh_next, dc_prev
    dbias = dz.reshape(rows, width).sum(axis=0) if use_bias else None
    return (None if dx is None else dx.reshape(steps, batch, features), dkernel, drecurrent,
            dbias, dh, dc)


def optimizer_step(kernels, name, weight, grad, slots, hyper):
    """True when ``numpy_optimizers.STEPS[name]`` ran as one compiled pass (Adam without
    amsgrad; RMSprop neither centered nor with momentum: the optimizers of Keras's examples),
    else None."""
    arrays = [weight, grad] + [slot for slot in slots if slot is not None]
    # reshape(-1) must be a view of each array: a copy would drop the update
    if not (_floats(*arrays) and all(a.flags.c_contiguous for a in arrays)):
        return None
    scalar = weight.dtype.type  # the NumPy pass rounds a Python scalar to the arrays' dtype
    flat = weight.reshape(-1), grad.reshape(-1)
    if name == "adam" and not hyper["amsgrad"]:
        m, v, _ = slots
        _run(kernels, kernels.adam_update, weight.size, *flat, m.reshape(-1), v.reshape(-1),
             scalar(hyper["alpha"]), scalar(hyper["one_minus_beta_1"]),
             scalar(hyper["one_minus_beta_2"]), scalar(hyper["epsilon"]))
        return True
    if name == "rmsprop" and not hyper["centered"] and not hyper["momentum"] > 0:
        _run(kernels, kernels.rmsprop_update, weight.size, *flat, slots[0].reshape(-1),
             scalar(hyper["learning_rate"]), scalar(hyper["rho"]), scalar(hyper["one_minus_rho"]),
             scalar(hyper["epsilon"]))
        return True
    return None


# --- batch normalization (contract: numpy_norm.py) ---------------------------------------

def _channel_rows(*arrays):
    """The (a, c) views of (a, c, 1) arrays (channels_last) of one float dtype, C-contiguous,
    with enough channels, or None. Under 2 channels NumPy sums a channel pairwise, not row
    after row as the kernels do."""
    a, c, b = arrays[0].shape
    if b != 1 or a == 0 or c < max(MIN_CHANNELS, 2) or not _floats(*arrays) or not all(
            x.shape == arrays[0].shape and x.flags.c_contiguous for x in arrays):
        return None
    return [x.reshape(a, c) for x in arrays]


def _per_channel_floats(rows, *values):
    return all(v.dtype == rows.dtype and v.shape == rows.shape[1:] and v.flags.c_contiguous
               for v in values)


def batch_norm_moments(kernels, x):
    """``(mean, var)`` as numpy_norm's: the same sums, divided as ``numpy.mean`` divides."""
    views = _channel_rows(x)
    if views is None:
        return None
    rows = views[0]
    count = numpy.intp(rows.shape[0])
    mean, var = numpy.empty(rows.shape[1], x.dtype), numpy.empty(rows.shape[1], x.dtype)
    kernels.channel_sums(rows, mean)
    numpy.true_divide(mean, count, out=mean, casting="unsafe")
    kernels.centered_square_sums(rows, mean, var)
    numpy.true_divide(var, count, out=var, casting="unsafe")
    return mean, var


def batch_norm_forward(kernels, x, mean, var, gamma, beta, epsilon):
    views = _channel_rows(x)
    if views is None or not _per_channel_floats(views[0], mean, var, gamma, beta):
        return None
    scale, shift = numpy_norm.batch_norm_scale_shift(numpy, x.dtype, mean, var, gamma, beta,
                                                     epsilon)
    y = numpy.empty(x.shape, x.dtype)
    _run(kernels, kernels.batch_norm_scale_shift, x.size, views[0], scale, shift,
         y.reshape(views[0].shape))
    return y


def batch_norm_backward(kernels, dy, x, mean, var, gamma, epsilon, batch_stats):
    """The batch-statistics backward in two passes (the sums, then dx), or None."""
    views = _channel_rows(dy, x)
    if not batch_stats or views is None or not _per_channel_floats(views[0], mean, var, gamma):
        return None
    dy_rows, x_rows = views
    c = x_rows.shape[1]
    inv = numpy_norm.inverse_std(numpy, x.dtype, var, epsilon)
    sum_dy, sum_dy_xhat = numpy.empty(c, x.dtype), numpy.empty(c, x.dtype)
    kernels.batch_norm_backward_sums(dy_rows, x_rows, mean, inv, sum_dy, sum_dy_xhat)
    factors = numpy_norm.batch_norm_dx_factors(x.dtype, gamma, inv, sum_dy, sum_dy_xhat,
                                               x_rows.shape[0])
    dx = numpy.empty(x.shape, x.dtype)
    _run(kernels, kernels.batch_norm_backward_dx, x.size, dy_rows, x_rows, mean, inv,
         *factors, dx.reshape(x_rows.shape))
    return dx, sum_dy, sum_dy_xhat
