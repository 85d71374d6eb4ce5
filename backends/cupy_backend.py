"""CUDA GPUs through CuPy. Imported only when ``KERAS_BACKEND=cupy``."""
import numpy

from .. import kernels
from .numpy_backend import NumpyBackend


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


class CupyBackend(NumpyBackend):
    """Same primitives on the GPU. ``xp`` may be injected (tests run this code on NumPy)."""

    name = "cupy"

    def __init__(self, xp=None):
        super().__init__(xp if xp is not None else import_cupy())

    def to_numpy(self, array):
        return self.xp.asnumpy(array)

    def synchronize(self):
        self.xp.cuda.get_current_stream().synchronize()

    # --- convolution and pooling primitives (notes/conv_interface.md): our CUDA kernels ------
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

    def _launch(self, name, window, *arrays):
        """Kernel ``name`` on ``arrays`` (outputs last), one thread per output element."""
        total = arrays[-1].size
        dtype = arrays[0].dtype  # the element type: the first array is never argmax
        kernels.get(self.xp, name, dtype)(total, *arrays, total, *window)


def _contiguous(array):
    """``array``, copied to C order if it is not: kernels index flat buffers."""
    return array if array.flags.c_contiguous else array.copy()


def _pooling(x_shape, pool_size, strides, padding, channels_last):
    """Output shape and kernel geometry of a pooling window (no dilation, as in Keras)."""
    (oh, ow), window = kernels.window_geometry(
        x_shape, pool_size, strides, (1, 1), padding, channels_last)
    n, c = x_shape[0], window[1]
    return ((n, oh, ow, c) if channels_last else (n, c, oh, ow)), window
