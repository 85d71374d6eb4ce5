"""Per-step training times of one bench_train.py workload in gkeras, as percentiles.

A callback times every step of ``--epochs`` one-epoch fits (after a warm-up fit); the
percentiles show whether a run was slow throughout (the machine's slow spells, or a setting
such as ``OPENBLAS_NUM_THREADS=1``) or had slow steps among fast ones.

    python bench/bench_step_times.py lstm [--epochs 6] [--steps 40]
    OPENBLAS_NUM_THREADS=1 python bench/bench_step_times.py lstm
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def step_timer(keras, times):
    """A callback appending each training step's milliseconds to ``times``."""
    class StepTimes(keras.callbacks.Callback):
        def on_train_batch_begin(self, index, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, index, logs=None):
            times.append((time.perf_counter() - self.start) * 1e3)
    return StepTimes()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload", choices=["mlp", "convnet", "convnet_bn", "lstm"])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=40, help="steps per epoch")
    args = parser.parse_args()
    import gkeras
    from bench_train import BATCH, keras_model, make_data
    batch = BATCH[args.workload]
    x, y = make_data(args.workload, batch * args.steps)
    model = keras_model(gkeras, args.workload)
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    times = []
    for _ in range(args.epochs):
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0,
                  callbacks=[step_timer(gkeras, times)])
    t = np.array(times)
    print(f"{args.workload}: {len(t)} steps, ms: min {t.min():.2f} p10 "
          f"{np.percentile(t, 10):.2f} p25 {np.percentile(t, 25):.2f} median "
          f"{np.median(t):.2f} p90 {np.percentile(t, 90):.2f}")


if __name__ == "__main__":
    main()
