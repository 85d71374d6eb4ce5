"""The CPU extra's compiled LSTM time loops inside imdb_lstm's training steps, against the
same kernels called from a Python loop per step, in the same process: one-epoch fits
alternating between the two (this VM's slow spells fall on both).

    python bench/bench_lstm_time_loops.py [--repeats 8] [--steps 60]

Prints, per path, the median over the fits of the mean training step and of the mean time in
the backend's LSTM forward and backward passes (ms), then each fit's step.
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--steps", type=int, default=60, help="steps per fit")
    args = parser.parse_args()
    import gkeras
    from gkeras.backends import numpy_accel
    from gkeras.backends.numpy_backend import NumpyBackend
    from bench_train import BATCH, keras_model, make_data

    spent = {"lstm_forward": 0.0, "lstm_backward": 0.0}
    for name in spent:
        def timed(self, *arguments, _name=name, _pass=getattr(NumpyBackend, name), **options):
            start = time.perf_counter()
            try:
                return _pass(self, *arguments, **options)
            finally:
                spent[_name] += time.perf_counter() - start
        setattr(NumpyBackend, name, timed)
    compiled = (numpy_accel.lstm_forward_loop, numpy_accel.lstm_backward_loop)
    python = (lambda *arguments: None,) * 2  # None: the loop runs in Python
    paths = {"compiled time loops": compiled, "Python time loops": python}

    batch = BATCH["lstm"]
    x, y = make_data("lstm", batch * args.steps)
    model = keras_model(gkeras, "lstm")
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    results = {name: [] for name in paths}
    for repeat in range(args.repeats):
        order = list(paths) if repeat % 2 == 0 else list(reversed(paths))
        for name in order:
            numpy_accel.lstm_forward_loop, numpy_accel.lstm_backward_loop = paths[name]
            spent.update(lstm_forward=0.0, lstm_backward=0.0)
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            total = time.perf_counter() - start
            results[name].append([total / args.steps * 1e3] +
                                 [spent[k] / args.steps * 1e3 for k in ("lstm_forward",
                                                                        "lstm_backward")])
    numpy_accel.lstm_forward_loop, numpy_accel.lstm_backward_loop = compiled
    if not NumpyBackend().accel:
        print("note: the CPU extra is off (numba missing or GKERAS_CPU_ACCEL=0): "
              "both rows ran the NumPy path")
    print(f"imdb_lstm, batch {batch}, {args.steps} steps per fit, median of {args.repeats}:")
    print(f"{'path':22} {'step ms':>8} {'forward':>8} {'backward':>9}  (each fit's step)")
    for name, runs in results.items():
        step, forward, backward = np.median(np.array(runs), axis=0)
        each = " / ".join(f"{run[0]:.1f}" for run in runs)
        print(f"{name:22} {step:8.2f} {forward:8.2f} {backward:9.2f}  ({each})")
    # each repeat's two fits ran back to back: their ratio is the steadier figure
    ratios = [python[0] / compiled_run[0] for compiled_run, python in
              zip(results["compiled time loops"], results["Python time loops"])]
    print(f"Python / compiled step time, median over the repeats: {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
