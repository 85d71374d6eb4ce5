"""The reference backend: plain NumPy on the CPU."""
import contextlib

import numpy

from . import (blas_threads, host_memory, numpy_accel, numpy_conv, numpy_elementwise,
               numpy_gather, numpy_norm, numpy_optimizers, numpy_pool, numpy_rnn, rnn_loops)

# Python floats, not NumPy float64 scalars, so float32 arrays stay float32
_TWO_OVER_SQRT_PI = 1.1283791670955126
_ONE_OVER_SQRT_PI = 0.5641895835477563


class NumpyBackend:
    """Primitives every backend provides. ``xp`` is the array module (numpy-compatible)."""

    name = "numpy"

    def __init__(self, xp=numpy):
        self.xp = xp
        self._table_gradients = numpy_gather.TableGradients(xp)
        self._accel = None if xp is numpy else False
        if xp is numpy:
            host_memory.keep_freed_memory()

    @property
    def accel(self):
        """The CPU extra's compiled kernels (backends/numpy_accel.py), or False: loaded on
        first use, only for NumPy arrays, only when numba is installed and
        ``GKERAS_CPU_ACCEL`` is not '0'. Assign False to run plain NumPy."""
        if self._accel is None:
            self._accel = numpy_accel.load() or False
        return self._accel

    @accel.setter
    def accel(self, kernels):
        self._accel = kernels

    def asarray(self, value, dtype=None):
        return self.xp.asarray(value, dtype=dtype)

    def to_numpy(self, array):
        return numpy.asarray(array)

    def is_array(self, value):
        return isinstance(value, self.xp.ndarray)

    def rng(self, seed=None):
        """A random generator with ``random(shape, dtype)``, ``standard_normal`` etc.

        Unseeded generators draw their seed from NumPy's global state, so
        ``gkeras.utils.set_random_seed`` makes whole runs reproducible."""
        if seed is None:
            seed = numpy.random.randint(2**31)
        return self.xp.random.default_rng(seed)

    def matmul(self, a, b):
        out = self.xp.matmul(a, b)
        # ml_dtypes' bfloat16 matmul answers in float32: keep the operands' dtype
        return out if out.dtype == a.dtype or a.dtype != b.dtype else out.astype(a.dtype)

    def erf(self, x):
        """The error function to double precision, without SciPy.

        Maclaurin series below |x| = 2.5 (at most 2 digits lost to cancellation), the erfc
        continued fraction, evaluated backwards from a fixed depth, above it.
        """
        xp = self.xp
        ax = xp.abs(x)
        small = ax < 2.5
        xs = xp.where(small, x, 0)
        x2 = xs * xs
        term = series = xs
        for n in range(1, 48):
            term = term * (-x2 / n)
            series = series + term / (2 * n + 1)
        series = series * _TWO_OVER_SQRT_PI
        xl = xp.where(small, 3.0, ax).astype(x.dtype if x.dtype.kind == "f" else "float64")
        frac = xp.zeros_like(xl)
        for k in range(60, 0, -1):
            frac = (k / 2) / (xl + frac)
        erfc = xp.exp(-xl * xl) / (xl + frac) * _ONE_OVER_SQRT_PI
        large = xp.sign(x) * (1 - erfc)
        return xp.where(small, series, large).astype(x.dtype, copy=False)

    # --- convolution primitives (see backends/numpy_conv.py for the geometry) -------------

    def im2col(self, x, kernel_size, strides, dilation, padding, channels_last):
        """Kernel windows of ``x``: (n, oh, ow, kh, kw, c), or (n, c, kh, kw, oh, ow)."""
        return numpy_conv.im2col(self.xp, x, kernel_size, strides, dilation, padding,
                                 channels_last)

    def col2im(self, cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
        """The adjoint of ``im2col``: window entries summed back onto an ``x_shape`` array."""
        if self.accel:
            dx = numpy_accel.col2im(self.accel, cols, x_shape, kernel_size, strides, dilation,
                                    padding, channels_last)
            if dx is not None:
                return dx
        return numpy_conv.col2im(self.xp, cols, x_shape, kernel_size, strides, dilation,
                                 padding, channels_last)

    # --- convolution compositions: im2col/col2im + GEMMs, inherited by every backend --------
    # kernel is Keras's (kh, kw, c, f); depthwise kernels are (kh, kw, c, depth_multiplier).

    def conv2d(self, x, kernel, strides, dilation, padding, channels_last):
        """``(y, cols)``: the convolution (cross-correlation) of ``x`` with ``kernel`` and the
        im2col windows it used, kept for ``conv2d_backward_kernel``."""
        kh, kw, c, f = kernel.shape
        cols = self.im2col(x, (kh, kw), strides, dilation, padding, channels_last)
        if channels_last:
            n, oh, ow = cols.shape[:3]
            y = self.matmul(cols.reshape(n * oh * ow, kh * kw * c),
                            kernel.reshape(kh * kw * c, f))
            return y.reshape(n, oh, ow, f), cols
        n, oh, ow = cols.shape[0], cols.shape[4], cols.shape[5]
        y = self.matmul(self._kernel_rows(kernel), cols.reshape(n, c * kh * kw, oh * ow))
        return y.reshape(n, f, oh, ow), cols

    def conv2d_backward_input(self, dy, kernel, x_shape, strides, dilation, padding,
                              channels_last):
        """The gradient w.r.t. ``x`` of ``conv2d`` (also the transposed convolution of
        ``dy``): one GEMM to window gradients, then ``col2im``."""
        kh, kw, c, f = kernel.shape
        if channels_last:
            n, oh, ow = dy.shape[:3]
            dcols = self.matmul(dy.reshape(n * oh * ow, f), kernel.reshape(kh * kw * c, f).T)
            dcols = dcols.reshape(n, oh, ow, kh, kw, c)
        else:
            n, oh, ow = dy.shape[0], dy.shape[2], dy.shape[3]
            dcols = self.matmul(self._kernel_rows(kernel).T, dy.reshape(n, f, oh * ow))
            dcols = dcols.reshape(n, c, kh, kw, oh, ow)
        return self.col2im(dcols, x_shape, (kh, kw), strides, dilation, padding, channels_last)

    def conv2d_backward_kernel(self, dy, cols, channels_last):
        """The gradient w.r.t. the (kh, kw, c, f) kernel of ``conv2d``, from its ``cols``."""
        if channels_last:
            n, oh, ow, kh, kw, c = cols.shape
            f = dy.shape[3]
            dkernel = self.matmul(cols.reshape(n * oh * ow, kh * kw * c).T,
                                  dy.reshape(n * oh * ow, f))
            return dkernel.reshape(kh, kw, c, f)
        n, c, kh, kw, oh, ow = cols.shape
        f = dy.shape[1]
        # one GEMM per example, summed: (f, P) @ (P, c*kh*kw)
        per_example = self.matmul(dy.reshape(n, f, oh * ow),
                                  cols.reshape(n, c * kh * kw, oh * ow).transpose(0, 2, 1))
        dkernel = per_example.sum(axis=0).reshape(f, c, kh, kw)
        return self.xp.ascontiguousarray(dkernel.transpose(2, 3, 1, 0))

    @staticmethod
    def _kernel_rows(kernel):
        """(kh, kw, c, f) -> (f, c*kh*kw): one row per filter, in channels_first cols order."""
        kh, kw, c, f = kernel.shape
        return kernel.transpose(3, 2, 0, 1).reshape(f, c * kh * kw)

    def depthwise_conv2d(self, x, kernel, strides, dilation, padding, channels_last):
        """``(y, cols)``: each input channel convolved with its own ``depth_multiplier``
        filters; output channel ``ci * depth_multiplier + m`` (as TensorFlow)."""
        kh, kw, c, m = kernel.shape
        cols = self.im2col(x, (kh, kw), strides, dilation, padding, channels_last)
        if channels_last:
            n, oh, ow = cols.shape[:3]
            y = self.xp.einsum("pkc,kcm->pcm", cols.reshape(n * oh * ow, kh * kw, c),
                               kernel.reshape(kh * kw, c, m))
            return y.reshape(n, oh, ow, c * m), cols
        n, oh, ow = cols.shape[0], cols.shape[4], cols.shape[5]
        y = self.matmul(self._depthwise_rows(kernel), cols.reshape(n, c, kh * kw, oh * ow))
        return y.reshape(n, c * m, oh, ow), cols

    def depthwise_conv2d_backward_input(self, dy, kernel, x_shape, strides, dilation, padding,
                                        channels_last):
        kh, kw, c, m = kernel.shape
        if channels_last:
            n, oh, ow = dy.shape[:3]
            dcols = self.xp.einsum("pcm,kcm->pkc", dy.reshape(n * oh * ow, c, m),
                                   kernel.reshape(kh * kw, c, m))
            dcols = dcols.reshape(n, oh, ow, kh, kw, c)
        else:
            n, oh, ow = dy.shape[0], dy.shape[2], dy.shape[3]
            dcols = self.matmul(self._depthwise_rows(kernel).transpose(0, 2, 1),
                                dy.reshape(n, c, m, oh * ow))
            dcols = dcols.reshape(n, c, kh, kw, oh, ow)
        return self.col2im(dcols, x_shape, (kh, kw), strides, dilation, padding, channels_last)

    def depthwise_conv2d_backward_kernel(self, dy, cols, depth_multiplier, channels_last):
        m = depth_multiplier
        if channels_last:
            n, oh, ow, kh, kw, c = cols.shape
            dkernel = self.xp.einsum("pkc,pcm->kcm", cols.reshape(n * oh * ow, kh * kw, c),
                                     dy.reshape(n * oh * ow, c, m))
            return dkernel.reshape(kh, kw, c, m)
        n, c, kh, kw, oh, ow = cols.shape
        per_example = self.matmul(dy.reshape(n, c, m, oh * ow),
                                  cols.reshape(n, c, kh * kw, oh * ow).transpose(0, 1, 3, 2))
        dkernel = per_example.sum(axis=0).reshape(c, m, kh, kw)
        return self.xp.ascontiguousarray(dkernel.transpose(2, 3, 0, 1))

    @staticmethod
    def _depthwise_rows(kernel):
        """(kh, kw, c, m) -> (c, m, kh*kw): per channel, one row per output filter."""
        kh, kw, c, m = kernel.shape
        return kernel.transpose(2, 3, 0, 1).reshape(c, m, kh * kw)

    # --- normalization (the contract: backends/numpy_norm.py) -----------------------------
    # (the CPU extra runs channels_last arrays in compiled passes: backends/accel_norm.py)
    def batch_norm_moments(self, x):
        """Per-channel ``(mean, var)`` of a (a, c, b) array, reduced over a and b."""
        if self.accel:
            moments = numpy_accel.batch_norm_moments(self.accel, x)
            if moments is not None:
                return moments
        return numpy_norm.batch_norm_moments(self.xp, x)

    def batch_norm_forward(self, x, mean, var, gamma, beta, epsilon):
        """``x * scale + shift`` per channel: ``scale = gamma / sqrt(var + epsilon)``."""
        if self.accel:
            y = numpy_accel.batch_norm_forward(self.accel, x, mean, var, gamma, beta, epsilon)
            if y is not None:
                return y
        return numpy_norm.batch_norm_forward(self.xp, x, mean, var, gamma, beta, epsilon)

    def batch_norm_backward(self, dy, x, mean, var, gamma, epsilon, batch_stats):
        """``(dx, sum_dy, sum_dy_xhat)``; ``batch_stats``: mean/var came from this x."""
        if self.accel:
            grads = numpy_accel.batch_norm_backward(self.accel, dy, x, mean, var, gamma,
                                                    epsilon, batch_stats)
            if grads is not None:
                return grads
        return numpy_norm.batch_norm_backward(self.xp, dy, x, mean, var, gamma, epsilon,
                                              batch_stats)

    def layer_norm_forward(self, x, gamma, beta, epsilon):
        """``(y, mean, var)`` of a (rows, d) array normalized per row."""
        return numpy_norm.layer_norm_forward(self.xp, x, gamma, beta, epsilon)

    def layer_norm_backward(self, dy, x, mean, var, gamma, epsilon):
        """``(dx, dgamma, dbeta)`` of ``layer_norm_forward``."""
        return numpy_norm.layer_norm_backward(self.xp, dy, x, mean, var, gamma, epsilon)

    def synchronize(self):
        """Wait for queued device work; nothing to wait for on the CPU."""

    # --- data-parallel training ----------------------------------------------------------
    def select_device(self, local_rank, local_size):
        """Use the device of the process ``local_rank`` of ``local_size`` on this machine:
        the CPU is shared, each process's BLAS gets its share of the cores."""
        blas_threads.share_cores(local_size)

    def device_communicator(self, host):
        """The communicator that sums and broadcasts this backend's arrays across processes;
        ``host`` (MPI) moves NumPy arrays itself."""
        return host

    # --- prefetching batches (fit from a generator) ----------------------------------------
    def current_stream(self):
        """The calling thread's device stream (None on the CPU)."""
        return None

    def copy_to_device_async(self, host_arrays, consumer_stream):
        """Device copies of ``host_arrays`` (None entries stay None) made without waiting,
        for use on ``consumer_stream``; returns ``(arrays, ready)``, ``ready`` to be passed to
        ``wait_ready`` on the consumer's thread before the arrays are used. The CPU has
        nothing to copy or wait for."""
        return [None if a is None else self.xp.asarray(a) for a in host_arrays], None

    def wait_ready(self, ready):
        """Make the calling thread's stream wait for ``ready`` (no host synchronisation)."""

    # --- CUDA graphs (gkeras/models/step_capture.py) -----------------------------------------
    def graph_capture_unsupported(self):
        """Why this backend cannot capture work as a graph (None when it can)."""
        return f"the {self.name} backend has no graph capture (it runs on the CPU)"

    def capture_graph(self, work):
        """Capture ``work()`` (device operations only) as a graph; returns an object whose
        ``launch()`` replays it. Only for backends where ``graph_capture_unsupported()`` is
        None."""
        raise NotImplementedError(self.graph_capture_unsupported())

    # --- checks that need the data's values (an index range) --------------------------------

    def check(self, values, failure):
        """Raise ``failure(host_values)`` unless it returns None; ``values`` is a small int64
        array. The NumPy backend's values are on the host already: checked at once."""
        error = failure(self.to_numpy(values))
        if error is not None:
            raise error

    @contextlib.contextmanager
    def deferred_checks(self):
        """The scope of a fit/evaluate/predict loop, where a device backend may hold its
        checks until the loop's end; on the CPU they run at once anyway."""
        yield

    # --- activations fused into other ops ----------------------------------------------------
    # --- pooling (2-D; the ops pool 1-D inputs through a height-1 axis) ---------------------
    def max_pool(self, x, pool_size, strides, padding, channels_last):
        """``(y, argmax)``; argmax is the int32 offset ``i*kw + j`` of each window's winner."""
        if self.accel:
            out_hw = numpy_pool.output_hw(x.shape, pool_size, strides, padding, channels_last)
            pooled = numpy_accel.max_pool(self.accel, x, pool_size, strides, padding,
                                          channels_last, out_hw)
            if pooled is not None:
                return pooled
        return numpy_pool.max_pool(self.xp, x, pool_size, strides, padding, channels_last)

    def max_pool_backward(self, dy, argmax, x_shape, pool_size, strides, padding,
                          channels_last):
        if self.accel:
            dx = numpy_accel.max_pool_backward(self.accel, dy, argmax, x_shape, pool_size,
                                               strides, padding, channels_last)
            if dx is not None:
                return dx
        return numpy_pool.max_pool_backward(self.xp, dy, argmax, x_shape, pool_size, strides,
                                            padding, channels_last)

    def avg_pool(self, x, pool_size, strides, padding, channels_last):
        """Means over each window's real (non-padded) inputs."""
        return numpy_pool.avg_pool(self.xp, x, pool_size, strides, padding, channels_last)

    def avg_pool_backward(self, dy, x_shape, pool_size, strides, padding, channels_last):
        return numpy_pool.avg_pool_backward(self.xp, dy, x_shape, pool_size, strides, padding,
                                            channels_last)

    # --- optimizer updates (contract in numpy_optimizers.py) ------------------------------------
    # Flat buffers save each variable's dozen ufunc calls and cost one copy of the gradients:
    # on the CPU that pays off for many small variables, not for a few large ones.
    FLAT_UPDATE_MEAN_SIZE = 32768

    def flat_update_pays_off(self, sizes):
        """Whether optimizers should update variables of these sizes (elements) through flat
        buffers (one ``optimizer_step`` per buffer, after gathering the gradients) rather
        than one ``optimizer_step`` per variable."""
        return len(sizes) > 1 and sum(sizes) <= self.FLAT_UPDATE_MEAN_SIZE * len(sizes)

    def optimizer_step(self, name, weight, grad, slots, hyper, scratch):
        """One in-place update of optimizer ``name`` over ``weight`` and its ``slots``."""
        numpy_optimizers.check(name, hyper, slots)
        if self.accel and not numpy_optimizers.device_scalars(hyper) and \
                numpy_accel.optimizer_step(self.accel, name, weight, grad, slots,
                                                     hyper):
            return
        numpy_optimizers.STEPS[name](self.xp, weight, grad, slots, hyper, scratch)

    # --- row gather (Embedding): backends/numpy_gather.py ------------------------------------
    def take_backward(self, indices, dy, rows):
        """The gradient of ``table[indices]`` w.r.t. a table of ``rows`` rows: each row of
        ``dy`` (``indices.shape + row shape``) summed into the row it was read from, in the
        order of ``indices`` (a repeated index accumulates). Indices are ints in
        ``[-rows, rows)``."""
        return numpy_gather.take_backward(self.xp, self.accel, self._table_gradients, indices,
                                          dy, rows)

    # --- recurrent layers: fused per-step gate math (contract in numpy_rnn.py) ----------------
    def lstm_step_forward(self, *args):
        if not (self.accel and numpy_accel.lstm_step_forward(self.accel, *args)):
            numpy_rnn.lstm_step_forward(self.xp, *args)

    def lstm_step_backward(self, *args):
        if not (self.accel and numpy_accel.lstm_step_backward(self.accel, *args)):
            numpy_rnn.lstm_step_backward(self.xp, *args)

    def gru_step_forward(self, *args):
        numpy_rnn.gru_step_forward(self.xp, *args)

    def gru_step_backward(self, *args):
        numpy_rnn.gru_step_backward(self.xp, *args)

    def gru_gates_forward(self, *args):
        numpy_rnn.gru_gates_forward(self.xp, *args)

    def gru_output_forward(self, *args):
        numpy_rnn.gru_output_forward(self.xp, *args)

    def gru_output_backward(self, *args):
        numpy_rnn.gru_output_backward(self.xp, *args)

    def gru_gates_backward(self, *args):
        numpy_rnn.gru_gates_backward(self.xp, *args)

    def simple_rnn_step_forward(self, *args):
        numpy_rnn.simple_rnn_step_forward(self.xp, *args)

    def simple_rnn_step_backward(self, *args):
        numpy_rnn.simple_rnn_step_backward(self.xp, *args)

    # --- recurrent layers: whole sequences (time loops over the step primitives and GEMMs) --
    def _time_loop(self, loop, *args, **kwargs):
        if self.xp is not numpy:
            return loop(self, *args, **kwargs)
        with blas_threads.single_threaded_when_busy():  # see blas_threads
            result = loop(self, *args, **kwargs)
        blas_threads.note_threaded_products()  # their spinning workers are the loops' own
        return result

    def _compiled_step(self, resolve, arrays, activation, recurrent_activation, **options):
        """The CPU extra's step function for a whole sequence of ``arrays`` (their dtype), or
        None: chosen once per sequence, not checked again at every step."""
        arrays = [a for a in arrays if a is not None]
        if not (self.accel and numpy_accel._floats(*arrays)):
            return None
        return resolve(self.accel, arrays[0].dtype, activation, recurrent_activation,
                       **options)

    def lstm_forward(self, x, kernel, recurrent_kernel, bias, h0, c0, mask, recurrent_dropout,
                     activation, recurrent_activation):
        done = self.accel and numpy_accel.lstm_forward_pass(
            self.accel, x, kernel, recurrent_kernel, bias, h0, c0, mask, recurrent_dropout,
            activation, recurrent_activation)
        if done:
            return done
        # the compiled step adds the bias itself (one pass over memory less)
        step = self._compiled_step(numpy_accel.lstm_forward_step,
                                   (x, kernel, recurrent_kernel, bias, h0, c0), activation,
                                   recurrent_activation, bias=bias)
        return self._time_loop(rnn_loops.lstm_forward, x, kernel, recurrent_kernel,
                               None if step else bias, h0, c0, mask, recurrent_dropout,
                               activation, recurrent_activation, step=step)

    def lstm_backward(self, dy, dh_last, dc_last, x, kernel, recurrent_kernel, use_bias, h, c,
                      saved, mask, recurrent_dropout, activation, recurrent_activation,
                      input_gradient=True):
        done = self.accel and numpy_accel.lstm_backward_pass(
            self.accel, dy, dh_last, dc_last, x, kernel, recurrent_kernel, use_bias, h, c, saved,
            mask, recurrent_dropout, activation, recurrent_activation, input_gradient)
        if done:
            return done
        step = self._compiled_step(numpy_accel.lstm_backward_step,
                                   (dy, dh_last, dc_last, x, kernel, recurrent_kernel, h, c,
                                    saved[0], saved[1]), activation, recurrent_activation)
        return self._time_loop(rnn_loops.lstm_backward, dy, dh_last, dc_last, x, kernel,
                               recurrent_kernel, use_bias, h, c, saved, mask,
                               recurrent_dropout, activation, recurrent_activation,
                               input_gradient, step=step)

    def gru_forward(self, *args):
        return self._time_loop(rnn_loops.gru_forward, *args)

    def gru_backward(self, *args):
        return self._time_loop(rnn_loops.gru_backward, *args)

    def simple_rnn_forward(self, *args):
        return self._time_loop(rnn_loops.simple_rnn_forward, *args)

    def simple_rnn_backward(self, *args):
        return self._time_loop(rnn_loops.simple_rnn_backward, *args)

    # --- fused elementwise chains (contract: backends/numpy_elementwise.py) -----------------
    def bias_activation(self, z, bias, activation):
        """``act(z + bias)`` in place on the fresh (rows, d) matrix product ``z``."""
        if activation == "relu" and self.accel and \
                numpy_accel.bias_relu(self.accel, z, bias):
            return z
        return numpy_elementwise.bias_activation(self.xp, z, bias, activation)

    def activation_backward(self, dy, y, activation):
        """``dy`` times the activation's derivative, computed from its output ``y`` (a new
        array)."""
        if activation == "relu" and self.accel:
            dx = numpy_accel.relu_backward(self.accel, dy, y)
            if dx is not None:
                return dx
        return numpy_elementwise.activation_backward(self.xp, dy, y, activation)

    def activation_backward_bias_grad(self, dy, y, activation):
        """``(dz, dz.sum(axis=0))``: ``activation_backward`` of (rows, d) arrays and the
        bias gradient, its column sums (one pass on the CPU extra)."""
        if activation == "relu" and self.accel:
            grads = numpy_accel.relu_backward_bias_grad(self.accel, dy, y)
            if grads is not None:
                return grads
        dz = self.activation_backward(dy, y, activation)
        return dz, dz.sum(axis=0)

    def softmax_rows(self, z):
        return numpy_elementwise.softmax_rows(self.xp, z)

    def softmax_rows_backward(self, dy, y):
        return numpy_elementwise.softmax_rows_backward(self.xp, dy, y)

    def softmax_crossentropy(self, logits, target):
        """``(loss, log_prob)`` per row of soft or one-hot targets."""
        return numpy_elementwise.softmax_crossentropy(self.xp, logits, target)

    def softmax_crossentropy_backward(self, log_prob, target, g):
        return numpy_elementwise.softmax_crossentropy_backward(self.xp, log_prob, target, g)

    def sparse_softmax_crossentropy(self, logits, labels):
        """``(loss, log_prob)`` per row of int64 labels."""
        return numpy_elementwise.sparse_softmax_crossentropy(self.xp, logits, labels)

    def sparse_softmax_crossentropy_backward(self, log_prob, labels, g):
        return numpy_elementwise.sparse_softmax_crossentropy_backward(self.xp, log_prob,
                                                                      labels, g)

    def dropout_multiplier(self, u, rate):
        """Uniform draws ``u`` turned in place into inverted dropout's multiplier."""
        return numpy_elementwise.dropout_multiplier(self.xp, u, rate)
