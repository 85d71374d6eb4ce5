"""Batch normalization on the CPU: NumPy's passes against the CPU extra's compiled ones.

1. Each primitive alone (best of 7), on the two BatchNormalization inputs of bench_train's
   convnet_bn (batch 128): (128, 26, 26, 32) and (128, 11, 11, 64), channels_last.
2. convnet_bn's training step (ms), in one process, alternating the extra's batch-norm passes
   off (NumPy's) and on, every other kernel of the extra on in both; medians of the repeats.

    python bench/bench_batch_norm.py [--repeats 5]     # needs numba (gkeras[cpu])
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import keras_model, make_data  # noqa: E402

SHAPES = {"conv1 (86528, 32)": (128 * 26 * 26, 32, 1), "conv2 (15488, 64)": (128 * 11 * 11, 64, 1)}


def best_ms(fn, calls=20, repeats=7):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e3


def primitives(plain, compiled):
    rng = np.random.default_rng(0)
    for name, shape in SHAPES.items():
        x = rng.standard_normal(shape, dtype=np.float32)
        dy = rng.standard_normal(shape, dtype=np.float32)
        gamma, beta = np.ones(shape[1], np.float32), np.zeros(shape[1], np.float32)
        mean, var = plain.batch_norm_moments(x)
        calls = {"moments": lambda b: b.batch_norm_moments(x),
                 "forward": lambda b: b.batch_norm_forward(x, mean, var, gamma, beta, 1e-3),
                 "backward": lambda b: b.batch_norm_backward(dy, x, mean, var, gamma, 1e-3,
                                                             True)}
        for primitive, call in calls.items():
            numpy_ms, extra_ms = (best_ms(lambda: call(b)) for b in (plain, compiled))
            print(f"{name} {primitive:8}: NumPy {numpy_ms:6.2f} ms, extra {extra_ms:6.2f} ms "
                  f"({numpy_ms / extra_ms:.1f}x)")


def training_steps(repeats):
    import gkeras
    from gkeras.backends import numpy_accel
    kernels = {name: getattr(numpy_accel, name) for name in
               ("batch_norm_moments", "batch_norm_forward", "batch_norm_backward")}
    x, y = make_data("convnet_bn", 128 * 30)
    model = keras_model(gkeras, "convnet_bn")
    model.fit(x[:640], y[:640], batch_size=128, epochs=1, verbose=0)
    times = {"NumPy's": [], "extra's": []}
    for _ in range(repeats):
        for which in times:
            for name, kernel in kernels.items():
                setattr(numpy_accel, name, kernel if which == "extra's" else
                        (lambda *args: None))
            start = time.perf_counter()
            model.fit(x, y, batch_size=128, epochs=1, verbose=0)
            times[which].append((time.perf_counter() - start) / 30 * 1e3)
    for which, values in times.items():
        print(f"convnet_bn step, {which} batch norm: median {statistics.median(values):.1f} ms"
              f" ({' / '.join(f'{v:.1f}' for v in values)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from gkeras.backends.numpy_backend import NumpyBackend
    plain, compiled = NumpyBackend(), NumpyBackend()
    plain.accel = False
    if not compiled.accel:
        sys.exit("the CPU extra is off: pip install numba (and leave GKERAS_CPU_ACCEL unset)")
    print(f"numpy {np.__version__}, {os.cpu_count()} cores, parallel passes from "
          f"{compiled.accel.PARALLEL_MIN_SIZE} elements")
    primitives(plain, compiled)
    training_steps(args.repeats)


if __name__ == "__main__":
    main()
