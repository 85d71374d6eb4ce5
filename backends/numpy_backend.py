"""The reference backend: plain NumPy on the CPU."""
import numpy

from . import numpy_conv

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

    # --- convolution primitives (see backends/numpy_conv.py for the geometry) -------------

    def im2col(self, x, kernel_size, strides, dilation, padding, channels_last):
        """Kernel windows of ``x``: (n, oh, ow, kh, kw, c), or (n, c, kh, kw, oh, ow)."""
        return numpy_conv.im2col(self.xp, x, kernel_size, strides, dilation, padding,
                                 channels_last)

    def col2im(self, cols, x_shape, kernel_size, strides, dilation, padding, channels_last):
        """The adjoint of ``im2col``: window entries summed back onto an ``x_shape`` array."""
        return numpy_conv.col2im(self.xp, cols, x_shape, kernel_size, strides, dilation,
                                 padding, channels_last)

    def synchronize(self):
        """Wait for queued device work; nothing to wait for on the CPU."""
