"""The CPU extra's primitives against the plain NumPy path, at the benchmark workloads' shapes.

Times each accelerated primitive of the NumPy backend twice -- plain NumPy and the compiled
kernels of ``pip install gkeras[cpu]`` (backends/numpy_accel.py) -- interleaved, best of
``--repeats``, at the shapes of Keras's mnist_convnet (batch 128) and imdb_lstm (batch 32,
80 steps, 128 units); then the first-call cost of the kernels in a fresh process. Needs
numba (the extra):

    python bench/bench_cpu_extra.py [--repeats 20]
"""
import argparse
import subprocess
import sys
import time

import numpy as np

from gkeras.backends import accel_kernels
from gkeras.backends.numpy_backend import NumpyBackend

NO_PAD = ((0, 0), (0, 0))


def interleaved_best_ms(candidates, repeats):
    for run in candidates.values():
        run()
    best = {name: float("inf") for name in candidates}
    for _ in range(repeats):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds * 1e3 for name, seconds in best.items()}


def cases(rng):
    """``(name, run(backend))`` for every accelerated primitive at the workloads' shapes."""
    f32 = "float32"
    for shape in [(128, 26, 26, 32), (128, 11, 11, 64)]:
        x = rng.standard_normal(shape).astype(f32)
        y, argmax = NumpyBackend().max_pool(x, (2, 2), (2, 2), NO_PAD, True)
        dy = rng.standard_normal(y.shape).astype(f32)
        yield f"max_pool {shape}", lambda b, x=x: b.max_pool(x, (2, 2), (2, 2), NO_PAD, True)
        yield f"max_pool_backward {shape}", lambda b, dy=dy, a=argmax, s=shape: \
            b.max_pool_backward(dy, a, s, (2, 2), (2, 2), NO_PAD, True)
        relu_y = np.maximum(rng.standard_normal(shape), 0).astype(f32)
        relu_dy = rng.standard_normal(shape).astype(f32)
        yield f"relu_backward {shape}", \
            lambda b, d=relu_dy, y=relu_y: b.activation_backward(d, y, "relu")
    x_shape = (128, 13, 13, 32)
    cols = rng.standard_normal((128, 11, 11, 3, 3, 32)).astype(f32)
    yield f"col2im {x_shape}", lambda b: b.col2im(cols, x_shape, (3, 3), (1, 1), (1, 1),
                                                  NO_PAD, True)
    steps, batch, units = 80, 32, 128
    x = rng.standard_normal((steps, batch, 128)).astype(f32)
    kernel = (rng.standard_normal((128, 4 * units)) * 0.1).astype(f32)
    recurrent = (rng.standard_normal((units, 4 * units)) * 0.1).astype(f32)
    bias = np.zeros(4 * units, f32)
    h0 = np.zeros((batch, units), f32)
    h, c, saved = NumpyBackend().lstm_forward(x, kernel, recurrent, bias, h0, h0, None, None,
                                              "tanh", "hard_sigmoid")
    dh_last = rng.standard_normal((batch, units)).astype(f32)
    yield "lstm_forward (80 steps)", lambda b: b.lstm_forward(
        x, kernel, recurrent, bias, h0, h0, None, None, "tanh", "hard_sigmoid")
    yield "lstm_backward (80 steps)", lambda b: b.lstm_backward(
        None, dh_last, None, x, kernel, recurrent, True, h, c, saved, None, None, "tanh",
        "hard_sigmoid", False)


FIRST_CALL = """
import time, numpy as np
start = time.perf_counter()
from gkeras.backends.numpy_backend import NumpyBackend
b = NumpyBackend(); assert b.accel
loaded = time.perf_counter()
x = np.ones((2, 4, 4, 3), 'float32')
y, a = b.max_pool(x, (2, 2), (2, 2), ((0, 0), (0, 0)), True)
b.max_pool_backward(y, a, x.shape, (2, 2), (2, 2), ((0, 0), (0, 0)), True)
b.col2im(np.ones((2, 2, 2, 3, 3, 3), 'float32'), x.shape, (3, 3), (1, 1), (1, 1),
         ((0, 0), (0, 0)), True)
b.activation_backward(x, x, "relu")
print(f"{loaded - start:.2f} {time.perf_counter() - loaded:.2f}")
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    plain, compiled = NumpyBackend(), NumpyBackend()
    plain.accel, compiled.accel = False, accel_kernels
    print(f"{'primitive':42} {'NumPy ms':>9} {'extra ms':>9} {'speed-up':>9}")
    for name, run in cases(np.random.default_rng(0)):
        best = interleaved_best_ms({"plain": lambda: run(plain),
                                    "compiled": lambda: run(compiled)}, args.repeats)
        print(f"{name:42} {best['plain']:9.3f} {best['compiled']:9.3f} "
              f"{best['plain'] / best['compiled']:8.2f}x")
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True,
                         check=True).stdout.split()
    print(f"fresh process: loading the extra (numba import) {out[0]} s, first calls of the conv "
          f"kernels (compile, or load from numba's cache) {out[1]} s")


if __name__ == "__main__":
    main()
