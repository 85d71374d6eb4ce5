"""The Embedding's table gradient (``NumpyBackend.take_backward``) inside imdb_lstm's training
steps: the CPU extra's one-pass kernel against the NumPy path, in the same process, one-epoch
fits alternating between the two (this VM's slow spells fall on both).

    python bench/bench_embedding_gradient.py [--repeats 6] [--steps 50]

Prints, per path, the median over the fits of the mean training step and of the mean time in
``take_backward`` (ms), then each fit's pair.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--steps", type=int, default=50, help="steps per fit")
    args = parser.parse_args()
    import gkeras
    from gkeras.backends import numpy_accel
    from gkeras.backends.numpy_backend import NumpyBackend
    from bench_train import BATCH, keras_model, make_data

    spent = [0.0]
    take_backward = NumpyBackend.take_backward

    def timed(self, *arguments):
        start = time.perf_counter()
        grad = take_backward(self, *arguments)
        spent[0] += time.perf_counter() - start
        return grad
    NumpyBackend.take_backward = timed
    kernel = numpy_accel.scatter_add_rows
    paths = {"kernel": kernel, "numpy": lambda *arguments: None}  # None: the NumPy path

    batch = BATCH["lstm"]
    x, y = make_data("lstm", batch * args.steps)
    model = keras_model(gkeras, "lstm")
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    results = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, path in paths.items():
            numpy_accel.scatter_add_rows = path
            spent[0] = 0.0
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            total = time.perf_counter() - start
            results[name].append((total / args.steps * 1e3, spent[0] / args.steps * 1e3))
    numpy_accel.scatter_add_rows = kernel
    if not NumpyBackend().accel:
        print("note: the CPU extra is off (numba missing or GKERAS_CPU_ACCEL=0): "
              "both rows ran the NumPy path")
    for name, runs in results.items():
        step, gradient = np.median(np.array(runs), axis=0)
        each = " / ".join(f"{s:.1f}:{g:.2f}" for s, g in runs)
        print(f"{name:6s} step {step:.2f} ms, take_backward {gradient:.2f} ms  (each fit "
              f"step:take_backward {each})")


if __name__ == "__main__":
    main()
