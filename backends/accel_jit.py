"""How the CPU extra compiles its kernels (numba; imported by ``accel_kernels``, ``accel_lstm``
and ``accel_norm``): ``jit`` for serial kernels, ``parallel_jit`` for passes split across the
cores with a serial twin."""
import types

import numba

jit = numba.njit(cache=True, nogil=True)


def parallel_jit(function):
    """Elementwise passes over large arrays: ``function`` split across the cores (prange),
    with a ``serial`` twin compiled from the same code for ``accel_kernels.run_sized``
    (prange as range): switching numba's thread count around a call instead took ~5 % of the
    MLP's step (py-spy). The twin has a name of its own because numba's on-disk cache tells
    the two apart by name, not by the ``parallel`` flag."""
    name = function.__name__ + "_serial"
    serial = types.FunctionType(function.__code__, function.__globals__, name,
                                function.__defaults__, function.__closure__)
    serial.__qualname__, serial.__doc__ = function.__qualname__ + "_serial", function.__doc__
    kernel = numba.njit(cache=True, nogil=True, parallel=True)(function)
    # NumPy's error model, as the parallel loop body's: a division by zero gives inf/nan
    # instead of a check that stops LLVM vectorizing the loop (Adam's stayed scalar)
    kernel.serial = numba.njit(cache=True, nogil=True, error_model="numpy")(serial)
    return kernel
