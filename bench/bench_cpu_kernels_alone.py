"""Two measurements behind choices in the NumPy backend, each kernel alone, best of 7 repeats.

1. The LSTM's per-step recurrent product (batch 32, 128 units) as NumPy computes it,
   ``(32, 128) @ (128, 512)`` and ``(32, 512) @ (512, 128)``, and in the transposed layout
   ``(512, 128) @ (128, 32)`` / ``(128, 512) @ (512, 32)`` (outputs (4u, batch)).
2. The CPU extra's Adam kernel on one thread (its serial twin) and split across numba's
   threads, each call right after a GEMM (as in a training step: OpenBLAS's worker threads
   are still spinning then).

    python bench/bench_cpu_kernels_alone.py      # the second part needs numba
"""
import time

import numpy as np


def best_us(fn, calls, repeats=7, before=None):
    fn()
    best = float("inf")
    for _ in range(repeats):
        total = 0.0
        for _ in range(calls):
            if before is not None:
                before()
            start = time.perf_counter()
            fn()
            total += time.perf_counter() - start
        best = min(best, total / calls)
    return best * 1e6


def recurrent_products():
    rng = np.random.default_rng(0)
    batch, units = 32, 128

    def f32(*shape):
        return rng.standard_normal(shape, dtype=np.float32)
    h, dz, kernel = f32(batch, units), f32(batch, 4 * units), f32(units, 4 * units)
    kernel_t, h_t, dz_t = (np.ascontiguousarray(a.T) for a in (kernel, h, dz))
    cases = {
        "forward  h @ R           (32,128)@(128,512)": (h, kernel, (batch, 4 * units)),
        "forward  R.T @ h.T       (512,128)@(128,32)": (kernel_t, h_t, (4 * units, batch)),
        "backward dz @ R.T        (32,512)@(512,128)": (dz, kernel_t, (batch, units)),
        "backward R @ dz.T        (128,512)@(512,32)": (kernel, dz_t, (units, batch))}
    for name, (a, b, shape) in cases.items():
        out = np.empty(shape, np.float32)
        print(f"{name}: {best_us(lambda: np.matmul(a, b, out=out), 2000):7.1f} us")


def adam_after_gemm():
    from gkeras.backends import numpy_accel
    accel_kernels = numpy_accel.load()  # as the backend loads them (numba's threads passive)
    if accel_kernels is None:
        print("Adam: numba is not installed (or GKERAS_CPU_ACCEL=0)")
        return
    rng = np.random.default_rng(1)
    a, b = rng.random((128, 784), dtype=np.float32), rng.random((784, 512), dtype=np.float32)
    c = np.empty((128, 512), np.float32)
    scalars = [np.float32(v) for v in (1e-3, 0.1, 0.001, 1e-7)]
    for size in (1 << 18, 401408, 1 << 19, 1 << 21, 2560000, 1 << 23):
        arrays = [rng.random(size, dtype=np.float32) for _ in range(4)]
        calls = max(10, (1 << 24) // size)
        times = [best_us(lambda: kernel(*arrays, *scalars), calls,
                         before=lambda: np.matmul(a, b, out=c))
                 for kernel in (accel_kernels.adam_update.serial, accel_kernels.adam_update)]
        print(f"Adam over {size:>8} elements after a GEMM: one thread {times[0]:8.1f} us, "
              f"split {times[1]:8.1f} us")


if __name__ == "__main__":
    recurrent_products()
    adam_after_gemm()
