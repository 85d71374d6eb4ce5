"""The reference backend: plain NumPy on the CPU."""
import numpy

from . import numpy_pool, numpy_rnn, rnn_loops

# Python floats, not NumPy float64 scalars, so float32 arrays stay float32
_TWO_OVER_SQRT_PI = 1.1283791670955126
_ONE_OVER_SQRT_PI = 0.5641895835477563


class NumpyBackend:
    """Primitives every backend provides. ``xp`` is the array module (numpy-compatible)."""

    name = "numpy"

    def __init__(self, xp=numpy):
        self.xp = xp

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
        return self.xp.matmul(a, b)

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

    def synchronize(self):
        """Wait for queued device work; nothing to wait for on the CPU."""

    # --- pooling (2-D; the ops pool 1-D inputs through a height-1 axis) ---------------------
    def max_pool(self, x, pool_size, strides, padding, channels_last):
        """``(y, argmax)``; argmax is the int32 offset ``i*kw + j`` of each window's winner."""
        return numpy_pool.max_pool(self.xp, x, pool_size, strides, padding, channels_last)

    def max_pool_backward(self, dy, argmax, x_shape, pool_size, strides, padding,
                          channels_last):
        return numpy_pool.max_pool_backward(self.xp, dy, argmax, x_shape, pool_size, strides,
                                            padding, channels_last)

    def avg_pool(self, x, pool_size, strides, padding, channels_last):
        """Means over each window's real (non-padded) inputs."""
        return numpy_pool.avg_pool(self.xp, x, pool_size, strides, padding, channels_last)

    def avg_pool_backward(self, dy, x_shape, pool_size, strides, padding, channels_last):
        return numpy_pool.avg_pool_backward(self.xp, dy, x_shape, pool_size, strides, padding,
                                            channels_last)

    # --- recurrent layers: fused per-step gate math (contract in numpy_rnn.py) ----------------
    def lstm_step_forward(self, *args):
        numpy_rnn.lstm_step_forward(self.xp, *args)

    def lstm_step_backward(self, *args):
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
    def lstm_forward(self, *args):
        return rnn_loops.lstm_forward(self, *args)

    def lstm_backward(self, *args):
        return rnn_loops.lstm_backward(self, *args)

    def gru_forward(self, *args):
        return rnn_loops.gru_forward(self, *args)

    def gru_backward(self, *args):
        return rnn_loops.gru_backward(self, *args)

    def simple_rnn_forward(self, *args):
        return rnn_loops.simple_rnn_forward(self, *args)

    def simple_rnn_backward(self, *args):
        return rnn_loops.simple_rnn_backward(self, *args)
