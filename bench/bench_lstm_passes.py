"""The CPU extra's compiled LSTM passes (split over the cores) inside imdb_lstm's training
steps, against the same step kernels called from a Python time loop, in the same process:
one-epoch fits alternating between the two (this VM's slow spells fall on both).

    python bench/bench_lstm_passes.py [--repeats 8] [--steps 60] [--dense-on-outputs]
                                      [--no-guard] [--dropout]

``--dense-on-outputs``: imdb_lstm with ``return_sequences=True`` and a Dense(512, relu) on
every step's output before the classifier, whose products run on OpenBLAS's threads: the
passes then see its workers spinning and keep to the per-step path (both rows should match).
``--dropout``: the LSTM with ``dropout=0.2, recurrent_dropout=0.2``, as in Keras's own
imdb_lstm example. ``--no-guard``: the split passes run even then (``blas_threads.cores_free_of_workers`` always
True), to see what the guard avoids.

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
    parser.add_argument("--dense-on-outputs", action="store_true")
    parser.add_argument("--no-guard", action="store_true")
    parser.add_argument("--dropout", action="store_true")
    args = parser.parse_args()
    import gkeras
    from gkeras import layers
    from gkeras.backends import blas_threads
    if args.no_guard:
        blas_threads.cores_free_of_workers = lambda: True
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
    compiled = (numpy_accel.lstm_forward_pass, numpy_accel.lstm_backward_pass)
    python = (lambda *arguments: None,) * 2  # None: the time loop runs in Python
    paths = {"compiled split passes": compiled, "Python time loops": python}

    batch = BATCH["lstm"]
    x, y = make_data("lstm", batch * args.steps)
    model = keras_model(gkeras, "lstm")
    if args.dense_on_outputs or args.dropout:
        lstm = layers.LSTM(128, return_sequences=args.dense_on_outputs,
                           **(dict(dropout=0.2, recurrent_dropout=0.2) if args.dropout else {}))
        head = [layers.Dense(512, activation="relu"), layers.Flatten()] \
            if args.dense_on_outputs else []
        model = gkeras.Sequential([layers.Input((x.shape[1],)), layers.Embedding(20000, 128),
                                   lstm] + head + [layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    results = {name: [] for name in paths}
    for repeat in range(args.repeats):
        order = list(paths) if repeat % 2 == 0 else list(reversed(paths))
        for name in order:
            numpy_accel.lstm_forward_pass, numpy_accel.lstm_backward_pass = paths[name]
            spent.update(lstm_forward=0.0, lstm_backward=0.0)
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
            total = time.perf_counter() - start
            results[name].append([total / args.steps * 1e3] +
                                 [spent[k] / args.steps * 1e3 for k in ("lstm_forward",
                                                                        "lstm_backward")])
    numpy_accel.lstm_forward_pass, numpy_accel.lstm_backward_pass = compiled
    if not NumpyBackend().accel:
        print("note: the CPU extra is off (numba missing or GKERAS_CPU_ACCEL=0): "
              "both rows ran the NumPy path")
    name = "imdb_lstm" + (" + Dense(512) on the outputs" if args.dense_on_outputs else "") + \
        (" with dropout 0.2 / recurrent_dropout 0.2" if args.dropout else "")
    print(f"{name}, batch {batch}, {args.steps} steps per fit, median of {args.repeats}:")
    print(f"{'path':22} {'step ms':>8} {'forward':>8} {'backward':>9}  (each fit's step)")
    for name, runs in results.items():
        step, forward, backward = np.median(np.array(runs), axis=0)
        each = " / ".join(f"{run[0]:.1f}" for run in runs)
        print(f"{name:22} {step:8.2f} {forward:8.2f} {backward:9.2f}  ({each})")
    # each repeat's two fits ran back to back: their ratio is the steadier figure
    ratios = [python[0] / compiled_run[0] for compiled_run, python in
              zip(results["compiled split passes"], results["Python time loops"])]
    print(f"Python / compiled step time, median over the repeats: {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
