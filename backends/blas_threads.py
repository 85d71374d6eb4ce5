"""Run a block with the BLAS that NumPy uses on one thread (OpenBLAS; elsewhere a no-op).

The recurrent time loops multiply small matrices (``(batch, units) @ (units, k*units)``) once
per step. OpenBLAS splits such products over its threads and has them spin-wait between
calls: on an idle machine that buys little, and when other processes hold the cores each
step waits for a descheduled thread (measured 5-10x slower training). The NumPy backend
therefore runs each recurrent forward/backward pass single-threaded, its one-off input
projection and weight-gradient products included: measured on the loaded 2-core machine,
threading those alone still tripled the time of a training step.
"""
import contextlib
import ctypes
import re

_SYMBOLS = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads")]
_controls = None


def _find_controls():
    """``(get, set)`` of the OpenBLAS loaded in this process, or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    except OSError:  # not Linux: leave the BLAS as it is
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return get, set_
    return None


@contextlib.contextmanager
def single_threaded():
    global _controls
    if _controls is None:
        _controls = _find_controls() or False
    if not _controls:
        yield
        return
    get, set_ = _controls
    previous = get()
    if previous <= 1:
        yield
        return
    set_(1)
    try:
        yield
    finally:
        set_(previous)
