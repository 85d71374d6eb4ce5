"""CUDA GPUs through CuPy. Imported only when ``KERAS_BACKEND=cupy``."""
import contextlib
import threading

import numpy

from .. import kernels
from . import numpy_optimizers
from .cupy_elementwise import ElementwiseKernels
from .numpy_backend import NumpyBackend
from .numpy_rnn import ACTIVATIONS


def import_cupy():
    """Import CuPy and check a CUDA device is usable; otherwise say which is missing."""
    try:
        import cupy
    except ImportError as e:
        raise RuntimeError(
            "KERAS_BACKEND=cupy, but CuPy is not installed "
            f"({e}). Install it with `pip install gkeras[cuda12]` or `gkeras[cuda13]` "
            "(matching your CUDA driver), or use KERAS_BACKEND=numpy.") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError and driver load failures have no common base
        raise RuntimeError(
            f"KERAS_BACKEND=cupy, and CuPy is installed, but no CUDA device is usable: {e}. "
            "Check the NVIDIA driver (nvidia-smi), or use KERAS_BACKEND=numpy.") from None
    if count == 0:
        raise RuntimeError(
            "KERAS_BACKEND=cupy, and CuPy is installed, but it finds no CUDA device. "
            "Check the NVIDIA driver (nvidia-smi), or use KERAS_BACKEND=numpy.")
    return cupy


class CupyBackend(ElementwiseKernels, NumpyBackend):
    """Same primitives on the GPU. ``xp`` may be injected (tests run this code on NumPy)."""

    name = "cupy"

    def __init__(self, xp=None):
        super().__init__(xp if xp is not None else import_cupy())
        self._placeholders = {}  # dtype -> a one-element array for unused pointer arguments
        self._pending_checks = None  # a list inside deferred_checks()
        self._thread_local = threading.local()

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def synchronize(self):
        self.xp.cuda.get_current_stream().synchronize()

    def current_stream(self):
        return self.xp.cuda.get_current_stream()

    def select_device(self, local_rank, local_size):
        count = self.xp.cuda.runtime.getDeviceCount()
        if local_size > count:  # NCCL refuses two ranks on one GPU
            raise RuntimeError(
                f"gkeras.distribution: {local_size} processes run on this machine but it has "
                f"{count} CUDA device(s); start at most one process per GPU.")
        self.xp.cuda.Device(local_rank).use()

    def device_communicator(self, host):
        from .cupy_collectives import NcclCommunicator
        return NcclCommunicator(self.xp, host)

    def copy_to_device_async(self, host_arrays, consumer_stream):
        """Copy on this thread's own non-blocking stream, so the copy overlaps the consumer's
        work. The arrays are allocated on the consumer's stream (their memory returns to its
        pool when freed) and the copy waits for what that stream had queued when they were
        allocated, so it cannot overwrite memory a queued kernel still reads."""
        xp = self.xp
        stream = self._copy_stream()
        with consumer_stream:
            out = [a if a is None or isinstance(a, xp.ndarray) else xp.empty(a.shape, a.dtype)
                   for a in host_arrays]
            allocated = consumer_stream.record()
        stream.wait_event(allocated)
        for device, host in zip(out, host_arrays):
            if host is not None and device is not host:
                device.set(numpy.ascontiguousarray(host), stream=stream)
        return out, stream.record()

    def wait_ready(self, ready):
        self.xp.cuda.get_current_stream().wait_event(ready)

    def _copy_stream(self):
        """One non-blocking stream per prefetching thread (not ordered with the null stream)."""
        local = self._thread_local
        if getattr(local, "copy_stream", None) is None:
            local.copy_stream = self.xp.cuda.Stream(non_blocking=True)
        return local.copy_stream

    # --- CUDA graphs (gkeras/models/step_capture.py) -----------------------------------------
    def graph_capture_unsupported(self):
        xp = self.xp
        if getattr(xp.cuda.runtime, "is_hip", False):
            return "CuPy on ROCm/HIP has no stream capture"
        if not hasattr(xp.cuda, "MemoryPool"):
            return "this CuPy has no cuda.MemoryPool"
        return None

    def capture_graph(self, work):
        """Run ``work()`` under stream capture (``Stream.begin_capture``/``end_capture``) on
        this backend's capture stream, allocating from a memory pool of its own; returns a
        ``CapturedGraph``. Any error inside (a host read or sync: CUDA invalidates the
        capture) ends the capture and propagates; nothing captured has run."""
        xp = self.xp
        stream = self._capture_stream()
        # The graph's own pool: memory freed during capture is reused only inside the graph
        # (its replays write there), never handed to work outside it.
        pool = xp.cuda.MemoryPool()
        with stream, xp.cuda.using_allocator(pool.malloc):
            stream.begin_capture()
            try:
                work()
            except BaseException:
                try:
                    stream.end_capture()
                except Exception:  # the capture was invalidated: the first error says why
                    pass
                raise
            graph = stream.end_capture()
        return CapturedGraph(graph, stream, pool, xp.cuda.get_current_stream)

    def _capture_stream(self):
        """The stream graphs are captured and launched on: capture cannot use the null stream,
        and a non-blocking one is not disturbed by null-stream work of other threads (a
        launch is ordered with the caller's stream by events instead)."""
        stream = getattr(self, "_graph_stream", None)
        if stream is None:
            stream = self._graph_stream = self.xp.cuda.Stream(non_blocking=True)
        return stream

    def check(self, values, failure):
        """Outside a loop: one read now. Inside ``deferred_checks``: the values wait on the
        device, so a training step never waits for the GPU."""
        if self._pending_checks is None:
            return super().check(values, failure)
        self._pending_checks.append((values, failure))

    @contextlib.contextmanager
    def deferred_checks(self):
        """Checks made inside are read at the scope's end, all in one device-to-host copy;
        the first that fails is raised there (a loop that raised on its own keeps its error)."""
        if self._pending_checks is not None:  # nested: the outer scope reads
            yield
            return
        self._pending_checks = []
        try:
            yield
            pending = self._pending_checks
        finally:
            self._pending_checks = None
        if pending:
            xp = self.xp
            host = self.to_numpy(xp.concatenate([xp.ravel(v).astype(xp.int64)
                                                 for v, _ in pending]))
            start = 0
            for values, failure in pending:
                error = failure(host[start:start + values.size].reshape(values.shape))
                start += values.size
                if error is not None:
                    raise error

    # --- convolution and pooling primitives (docs/backend_primitives.md): our CUDA kernels ------
    # Each allocates its outputs with xp.empty and launches one kernel (one thread per output
    # element; kernels/*.cu); shapes come from Python ints, so nothing is read from the device.
    # Element types without kernel instances take NumpyBackend's array-op versions.

    def im2col(self, x, kernel_size, strides, dilation, padding, channels_last):
        if not kernels.has_kernels_for(x.dtype):
            return super().im2col(x, kernel_size, strides, dilation, padding, channels_last)
        x = _contiguous(x)
        (oh, ow), window = kernels.window_geometry(
            x.shape, kernel_size, strides, dilation, padding, channels_last)
        n, c, (kh, kw) = x.shape[0], window[1], kernel_size
        cols = self.xp.empty((n, oh, ow, kh, kw, c) if channels_last else (n, c, kh, kw, oh, ow),
                             x.dtype)
        self._launch("im2col", window, x, cols)
        return cols

    def col2im(self, cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
        if not kernels.has_kernels_for(cols.dtype):
            return super().col2im(cols, x_shape, kernel_size, strides, dilation, padding,
                                  channels_last)
        _, window = kernels.window_geometry(
            x_shape, kernel_size, strides, dilation, padding, channels_last)
        dx = self.xp.empty(tuple(x_shape), cols.dtype)
        self._launch("col2im", window, _contiguous(cols), dx)
        return dx

    def max_pool(self, x, pool_size, strides, padding, channels_last):
        if not kernels.has_kernels_for(x.dtype):
            return super().max_pool(x, pool_size, strides, padding, channels_last)
        x = _contiguous(x)
        shape, window = _pooling(x.shape, pool_size, strides, padding, channels_last)
        y = self.xp.empty(shape, x.dtype)
        argmax = self.xp.empty(shape, numpy.int32)
        self._launch("max_pool", window, x, y, argmax)
        return y, argmax

    def max_pool_backward(self, dy, argmax, x_shape, pool_size, strides, padding,
                          channels_last):
        if not kernels.has_kernels_for(dy.dtype):
            return super().max_pool_backward(dy, argmax, x_shape, pool_size, strides, padding,
                                             channels_last)
        _, window = _pooling(x_shape, pool_size, strides, padding, channels_last)
        dx = self.xp.empty(tuple(x_shape), dy.dtype)
        argmax = _contiguous(argmax.astype(numpy.int32, copy=False))
        self._launch("max_pool_backward", window, _contiguous(dy), argmax, dx)
        return dx

    def avg_pool(self, x, pool_size, strides, padding, channels_last):
        if not kernels.has_kernels_for(x.dtype):
            return super().avg_pool(x, pool_size, strides, padding, channels_last)
        x = _contiguous(x)
        shape, window = _pooling(x.shape, pool_size, strides, padding, channels_last)
        y = self.xp.empty(shape, x.dtype)
        self._launch("avg_pool", window, x, y)
        return y

    def avg_pool_backward(self, dy, x_shape, pool_size, strides, padding, channels_last):
        if not kernels.has_kernels_for(dy.dtype):
            return super().avg_pool_backward(dy, x_shape, pool_size, strides, padding,
                                             channels_last)
        _, window = _pooling(x_shape, pool_size, strides, padding, channels_last)
        dx = self.xp.empty(tuple(x_shape), dy.dtype)
        self._launch("avg_pool_backward", window, _contiguous(dy), dx)
        return dx

    # --- recurrent step primitives (contract: backends/numpy_rnn.py): kernels/rnn.cu ----------
    # One launch per step primitive, one thread per (row, unit); the time loops (rnn_loops.py,
    # inherited) run the GEMMs through xp.matmul (cuBLAS). Nothing is read from the device.

    def lstm_step_forward(self, xw, hu, h_prev, c_prev, mask, gates, h, c, act_c, activation,
                          recurrent_activation):
        if not kernels.has_kernels_for(h.dtype):
            return super().lstm_step_forward(xw, hu, h_prev, c_prev, mask, gates, h, c, act_c,
                                             activation, recurrent_activation)
        self._step("lstm_step_forward", h, xw, hu, h_prev, c_prev, self._mask(mask), gates, h,
                   c, act_c, *self._unit_geometry(h, mask), _code(activation),
                   _code(recurrent_activation))

    def lstm_step_backward(self, dh, dc, gates, c_prev, act_c, mask, dz, dh_carry, dc_prev,
                           activation, recurrent_activation):
        if not kernels.has_kernels_for(dh.dtype):
            return super().lstm_step_backward(dh, dc, gates, c_prev, act_c, mask, dz, dh_carry,
                                              dc_prev, activation, recurrent_activation)
        carry = dh_carry if mask is not None else self._placeholder(dh.dtype)
        self._step("lstm_step_backward", dh, dh, dc, gates, c_prev, act_c, self._mask(mask), dz,
                   carry, dc_prev, *self._unit_geometry(dh, mask), _code(activation),
                   _code(recurrent_activation))

    def gru_step_forward(self, xw, hu, recurrent_bias, h_prev, mask, gates, h, activation,
                         recurrent_activation):
        if not kernels.has_kernels_for(h.dtype):
            return super().gru_step_forward(xw, hu, recurrent_bias, h_prev, mask, gates, h,
                                            activation, recurrent_activation)
        has_bias = recurrent_bias is not None
        bias = recurrent_bias if has_bias else self._placeholder(h.dtype)
        total, units, masked = self._unit_geometry(h, mask)
        self._step("gru_step_forward", h, xw, hu, bias, h_prev, self._mask(mask), gates, h,
                   total, units, int(has_bias), masked, _code(activation),
                   _code(recurrent_activation))

    def gru_step_backward(self, dh, gates, h_prev, mask, dxw, dhu, dh_carry, activation,
                          recurrent_activation):
        if not kernels.has_kernels_for(dh.dtype):
            return super().gru_step_backward(dh, gates, h_prev, mask, dxw, dhu, dh_carry,
                                             activation, recurrent_activation)
        self._step("gru_step_backward", dh, dh, gates, h_prev, self._mask(mask), dxw, dhu,
                   dh_carry, *self._unit_geometry(dh, mask), _code(activation),
                   _code(recurrent_activation))

    def gru_gates_forward(self, xw, hu_zr, hd, gates, rh, recurrent_activation):
        if not kernels.has_kernels_for(rh.dtype):
            return super().gru_gates_forward(xw, hu_zr, hd, gates, rh, recurrent_activation)
        total, units, _ = self._unit_geometry(rh, None)
        self._step("gru_gates_forward", rh, xw, hu_zr, hd, gates, rh, total, units,
                   _code(recurrent_activation))

    def gru_output_forward(self, xw, rhu, h_prev, mask, gates, h, activation):
        if not kernels.has_kernels_for(h.dtype):
            return super().gru_output_forward(xw, rhu, h_prev, mask, gates, h, activation)
        self._step("gru_output_forward", h, xw, rhu, h_prev, self._mask(mask), gates, h,
                   *self._unit_geometry(h, mask), _code(activation))

    def gru_output_backward(self, dh, gates, h_prev, mask, dxw, dh_carry, activation):
        if not kernels.has_kernels_for(dh.dtype):
            return super().gru_output_backward(dh, gates, h_prev, mask, dxw, dh_carry,
                                               activation)
        self._step("gru_output_backward", dh, dh, gates, h_prev, self._mask(mask), dxw,
                   dh_carry, *self._unit_geometry(dh, mask), _code(activation))

    def gru_gates_backward(self, drh, gates, hd, dxw, recurrent_activation):
        if not kernels.has_kernels_for(drh.dtype):
            return super().gru_gates_backward(drh, gates, hd, dxw, recurrent_activation)
        total, units, _ = self._unit_geometry(drh, None)
        self._step("gru_gates_backward", drh, drh, gates, hd, dxw, total, units,
                   _code(recurrent_activation))

    def simple_rnn_step_forward(self, xw, hu, h_prev, mask, h, activation):
        if not kernels.has_kernels_for(h.dtype):
            return super().simple_rnn_step_forward(xw, hu, h_prev, mask, h, activation)
        self._step("simple_rnn_step_forward", h, xw, hu, h_prev, self._mask(mask), h,
                   *self._unit_geometry(h, mask), _code(activation))

    def simple_rnn_step_backward(self, dh, h, mask, dz, dh_carry, activation):
        if not kernels.has_kernels_for(dh.dtype):
            return super().simple_rnn_step_backward(dh, h, mask, dz, dh_carry, activation)
        carry = dh_carry if mask is not None else self._placeholder(dh.dtype)
        self._step("simple_rnn_step_backward", dh, dh, h, self._mask(mask), dz, carry,
                   *self._unit_geometry(dh, mask), _code(activation))

    @staticmethod
    def _unit_geometry(state, mask):
        """``(total, units, masked)`` of a step over the ``(B, u)`` array ``state``."""
        return state.size, state.shape[-1], int(mask is not None)

    def _mask(self, mask):
        """The ``(B, 1)`` step mask as the kernels' ``(B,)`` bool array (a view), or a
        placeholder the kernels do not read when there is none."""
        if mask is None:
            return self._placeholder(numpy.bool_)
        return mask.reshape(-1).astype(numpy.bool_, copy=False)

    def _placeholder(self, dtype):
        """A one-element array for a pointer argument the kernel does not use (kept, so no
        step allocates one)."""
        dtype = numpy.dtype(dtype)
        if dtype not in self._placeholders:
            self._placeholders[dtype] = self.xp.zeros((1,), dtype)
        return self._placeholders[dtype]

    def _step(self, name, like, *args):
        """Launches step kernel ``name`` with one thread per element of ``like``. The kernels
        index dense row-major arrays: a strided view (the contract allows them; the time loops
        pass none) goes through a C-ordered copy, copied back if the kernel writes it."""
        kernel = kernels.get(self.xp, name, like.dtype)
        staged, call = [], []
        for parameter, arg in zip(kernel.parameters, args):
            if parameter.pointer and not arg.flags.c_contiguous:
                copy = self.xp.ascontiguousarray(arg)
                if not parameter.const:
                    staged.append((arg, copy))
                arg = copy
            call.append(arg)
        kernel(like.size, *call)
        for view, copy in staged:
            view[...] = copy

    # --- normalization (contract: backends/numpy_norm.py): kernels/normalization.cu ----------
    # Reductions in two stages (a thread per channel and chunk, then a thread per channel
    # folding the chunks in order: deterministic), elementwise passes a thread per element.
    # Scratch and outputs come from xp.empty; the chunk counts from Python ints.

    def batch_norm_moments(self, x):
        if not kernels.has_kernels_for(x.dtype):
            return super().batch_norm_moments(x)
        a, c, b = x.shape
        return self._moments(_contiguous(x), c, b, a * b)

    def batch_norm_forward(self, x, mean, var, gamma, beta, epsilon):
        if not kernels.has_kernels_for(x.dtype):
            return super().batch_norm_forward(x, mean, var, gamma, beta, epsilon)
        _, c, b = x.shape
        y = self.xp.empty(x.shape, x.dtype)
        stats = _per_entry(x.dtype, mean, var, gamma, beta)
        kernels.get(self.xp, "batch_norm_forward", x.dtype)(
            y.size, _contiguous(x), *stats, y, y.size, c, b, epsilon)
        return y

    def batch_norm_backward(self, dy, x, mean, var, gamma, epsilon, batch_stats):
        if not kernels.has_kernels_for(x.dtype):
            return super().batch_norm_backward(dy, x, mean, var, gamma, epsilon, batch_stats)
        a, c, b = x.shape
        dy, x = _contiguous(dy), _contiguous(x)
        mean, var, gamma = _per_entry(x.dtype, mean, var, gamma)
        sum_dy, sum_dy_xhat = self._chunked_sums(
            "batch_norm_backward_partial", x.dtype, c, a * b, dy, x, mean, var,
            extra=(c, b, a * b), epsilon=epsilon)
        dx = self.xp.empty(x.shape, x.dtype)
        kernels.get(self.xp, "batch_norm_backward", x.dtype)(
            dx.size, dy, x, mean, var, gamma, sum_dy, sum_dy_xhat, dx, dx.size, c, b, a * b,
            int(batch_stats), epsilon)
        return dx, sum_dy, sum_dy_xhat

    def layer_norm_forward(self, x, gamma, beta, epsilon):
        if not kernels.has_kernels_for(x.dtype):
            return super().layer_norm_forward(x, gamma, beta, epsilon)
        rows, d = x.shape
        x = _contiguous(x)
        mean, var = self._moments(x, rows, d, d)  # the (1, rows, d) view's channels
        y = self.xp.empty(x.shape, x.dtype)
        kernels.get(self.xp, "layer_norm_forward", x.dtype)(
            y.size, x, mean, var, *_per_entry(x.dtype, gamma, beta), y, y.size, d, epsilon)
        return y, mean, var

    def layer_norm_backward(self, dy, x, mean, var, gamma, epsilon):
        if not kernels.has_kernels_for(x.dtype):
            return super().layer_norm_backward(dy, x, mean, var, gamma, epsilon)
        rows, d = x.shape
        dy, x = _contiguous(dy), _contiguous(x)
        mean, var, gamma = _per_entry(x.dtype, mean, var, gamma)
        sum_g, sum_g_xhat = self._chunked_sums(
            "layer_norm_row_partial", x.dtype, rows, d, dy, x, mean, var, gamma,
            extra=(rows, d), epsilon=epsilon)
        dgamma, dbeta = self._chunked_sums(
            "layer_norm_column_partial", x.dtype, d, rows, dy, x, mean, var,
            extra=(rows, d), epsilon=epsilon)
        dx = self.xp.empty(x.shape, x.dtype)
        kernels.get(self.xp, "layer_norm_backward", x.dtype)(
            dx.size, dy, x, mean, var, gamma, sum_g, sum_g_xhat, dx, dx.size, d, epsilon)
        return dx, dgamma, dbeta

    def _moments(self, x, channels, b, count):
        """Mean and biased variance of each of ``channels`` channels of ``count`` entries of
        the C-contiguous (count / b, channels, b) array ``x``."""
        xp = self.xp
        chunks = kernels.reduction_chunks(count, channels)
        partial_mean, partial_m2 = (xp.empty(channels * chunks, x.dtype) for _ in range(2))
        mean, var = (xp.empty(channels, x.dtype) for _ in range(2))
        kernels.get(xp, "moments_partial", x.dtype)(
            partial_mean.size, x, partial_mean, partial_m2, partial_mean.size, channels, b,
            count, chunks)
        kernels.get(xp, "moments_combine", x.dtype)(
            channels, partial_mean, partial_m2, mean, var, channels, count, chunks)
        return mean, var

    def _chunked_sums(self, partial, dtype, channels, count, *arrays, extra, epsilon):
        """The two per-channel sums of kernel ``partial`` (arguments: ``arrays``, its two
        partial outputs, total, ``extra``, chunks, epsilon), folded by chunk_sums_combine."""
        xp = self.xp
        chunks = kernels.reduction_chunks(count, channels)
        first, second = (xp.empty(channels * chunks, dtype) for _ in range(2))
        kernels.get(xp, partial, dtype)(first.size, *arrays, first, second, first.size, *extra,
                                        chunks, epsilon)
        sums = [xp.empty(channels, dtype) for _ in range(2)]
        kernels.get(xp, "chunk_sums_combine", dtype)(channels, first, second, *sums, channels,
                                                     chunks)
        return sums

    # --- row gather gradient (Embedding): a deterministic gather, no atomics ------------------

    def take_backward(self, indices, dy, rows):
        if not kernels.has_kernels_for(dy.dtype):
            return super().take_backward(indices, dy, rows)
        xp = self.xp
        flat = indices.reshape(-1).astype(numpy.int64)
        flat = xp.where(flat < 0, flat + rows, flat)
        columns = 1
        for n in dy.shape[indices.ndim:]:
            columns *= n
        # update rows grouped by table row, in their original order within a group (stable)
        order = xp.argsort(flat, kind="stable")
        starts = xp.searchsorted(flat[order], xp.arange(rows + 1, dtype=numpy.int64))
        grad = xp.empty((rows,) + dy.shape[indices.ndim:], dtype=dy.dtype)
        updates = _contiguous(dy.reshape(flat.size, columns))
        total = rows * columns
        kernels.get(xp, "embedding_gradient", dy.dtype)(total, updates, order, starts, grad,
                                                        total, columns)
        return grad

    # --- optimizer updates (contract in numpy_optimizers.py): kernels/optimizers.cu -----------
    # One launch per call: each thread updates one element of the weight and its slots. The
    # scalars after ``total`` are named as the keys of ``hyper`` (host floats: no device read),
    # but for device steps: their step scalars, stacked into ``step`` (one more launch).

    def flat_update_pays_off(self, sizes):
        return len(sizes) > 1  # one launch and one gather instead of a launch per variable

    def optimizer_step(self, name, weight, grad, slots, hyper, scratch):
        on_device = numpy_optimizers.device_scalars(hyper)
        if not kernels.has_kernels_for(weight.dtype) or not on_device <= set(
                numpy_optimizers.STEP_SCALARS.get(name, ())):
            return super().optimizer_step(name, weight, grad, slots, hyper, scratch)
        numpy_optimizers.check(name, hyper, slots)
        kernel = kernels.get(self.xp, f"{name}_update", weight.dtype)
        arrays = [weight, _contiguous(grad.astype(weight.dtype, copy=False))]
        arrays += [self._placeholder(weight.dtype) if slot is None else slot for slot in slots]
        if on_device:  # the step's scalars from the device, in STEP_SCALARS order
            step_names = numpy_optimizers.STEP_SCALARS[name]
            arrays.append(self.xp.stack([self.xp.asarray(hyper[key], dtype=weight.dtype)
                                         for key in step_names]))
            hyper = dict(hyper, **{key: 0.0 for key in step_names}, device_step=1)
        else:
            arrays.append(self._placeholder(weight.dtype))
            hyper = dict(hyper, device_step=0)
        scalars = [hyper[p.name] for p in kernel.parameters[len(arrays) + 1:]]
        kernel(weight.size, *arrays, weight.size, *scalars)

    def _launch(self, name, window, *arrays):
        """Kernel ``name`` on ``arrays`` (outputs last), one thread per output element."""
        total = arrays[-1].size
        dtype = arrays[0].dtype  # the element type: the first array is never argmax
        kernels.get(self.xp, name, dtype)(total, *arrays, total, *window)


class CapturedGraph:
    """A captured CUDA graph, with the stream it replays on and the memory pool its arrays
    live in (kept alive with it)."""

    def __init__(self, graph, stream, pool, current_stream):
        self.graph, self.stream, self.pool = graph, stream, pool
        self._current_stream = current_stream

    def launch(self):
        """Replay after the work queued on the caller's stream, and before what it queues
        next (stream events: the host does not wait)."""
        caller = self._current_stream()
        self.stream.wait_event(caller.record())
        self.graph.launch(stream=self.stream)
        caller.wait_event(self.stream.record())


def _code(activation):
    """The kernels' code of a recurrent activation: its index in ``ACTIVATIONS``."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unsupported recurrent activation {activation!r}; supported: "
                         f"{', '.join(ACTIVATIONS)}.")
    return ACTIVATIONS.index(activation)


def _contiguous(array):
    """``array``, copied to C order if it is not: kernels index flat buffers."""
    return array if array.flags.c_contiguous else array.copy()


def _pooling(x_shape, pool_size, strides, padding, channels_last):
    """Output shape and kernel geometry of a pooling window (no dilation, as in Keras)."""
    (oh, ow), window = kernels.window_geometry(
        x_shape, pool_size, strides, (1, 1), padding, channels_last)
    n, c = x_shape[0], window[1]
    return ((n, oh, ow, c) if channels_last else (n, c, oh, ow)), window


def _per_entry(dtype, *arrays):
    """Per-channel/per-row/per-feature arrays as the kernels take them: C-contiguous, in the
    kernel's element type (the contract's accumulation dtype for float32 and float64)."""
    return [_contiguous(a.astype(dtype, copy=False)) for a in arrays]
