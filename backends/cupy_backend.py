"""CUDA GPUs through CuPy. Imported only when ``KERAS_BACKEND=cupy``."""
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
