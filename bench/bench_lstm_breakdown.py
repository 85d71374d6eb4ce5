"""Where imdb_lstm's CPU training step goes, in gkeras and in PyTorch.

gkeras: one-epoch fits with timers around the backend's LSTM passes, table gradient and
optimizer updates. With the CPU extra each LSTM pass is one compiled call split over the cores
(its products and gate steps inside it); ``--python-loops`` turns those off, so that the
per-step path runs and every matrix product (by shape) and compiled gate step is timed. The
rest of the step is the layers, losses and Python around them.
During the fits the backend's ``xp`` is a timing proxy of NumPy, so the loops skip the
busy-machine check of ``blas_threads`` (they keep OpenBLAS's threads, as on a quiet machine)
and ``take_backward`` its index check; the timers' own cost (a wrapper call and two clock
reads each) is included.
PyTorch (``--torch``, instead, in a process of its own: after gkeras in the same process its
LSTM ran 2.5x slower): its profiler's self CPU time per op over the same number of steps.

    python bench/bench_lstm_breakdown.py [--fits 3] [--steps 50] [--python-loops]
    python bench/bench_lstm_breakdown.py --torch [--steps 50]

Prints milliseconds per training step, the median over the fits.
"""
import argparse
import collections
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class _Timed:
    """Accumulates the seconds spent in the wrapped callables, by label."""

    def __init__(self):
        self.seconds = collections.defaultdict(float)

    def wrap(self, label, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label(*args) if callable(label) else label] += \
                    time.perf_counter() - start
        return timed


def gkeras_breakdown(fits, steps, python_loops):
    import numpy
    import gkeras
    from gkeras.backends import numpy_accel
    from gkeras.backends.numpy_backend import NumpyBackend
    from bench_train import BATCH, keras_model, make_data

    timer = _Timed()

    class TimedNumpy:
        """NumPy with its matmul timed by operand shapes (the loops' products)."""

        def __getattr__(self, name):
            return getattr(numpy, name)

        matmul = staticmethod(timer.wrap(
            lambda a, b, **_: f"  matmul {a.shape} @ {b.shape}", numpy.matmul))

    for name in ("lstm_forward", "lstm_backward", "take_backward", "optimizer_step"):
        setattr(NumpyBackend, name, timer.wrap(name, getattr(NumpyBackend, name)))
    def timed_steps(name):
        """``numpy_accel``'s resolver ``name``, its compiled step functions timed."""
        resolve = getattr(numpy_accel, name)

        def resolve_timed(*args, **kwargs):
            step = resolve(*args, **kwargs)
            return step and timer.wrap(f"  {name}: the compiled gate steps", step)
        return resolve_timed

    for name in ("lstm_forward_step", "lstm_backward_step"):
        setattr(numpy_accel, name, timed_steps(name))
    for name in ("lstm_forward_pass", "lstm_backward_pass"):
        split = getattr(numpy_accel, name)
        setattr(numpy_accel, name, (lambda *args: None) if python_loops else
                timer.wrap(f"  {name}: the compiled split pass (or None)", split))

    batch = BATCH["lstm"]
    x, y = make_data("lstm", batch * steps)
    model = keras_model(gkeras, "lstm")
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    backend = gkeras.backends.current()
    backend.xp = TimedNumpy()  # the LSTM loops' products, timed (set after the warm-up)
    runs = []
    for _ in range(fits):
        timer.seconds.clear()
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        total = time.perf_counter() - start
        run = {label: seconds / steps * 1e3 for label, seconds in timer.seconds.items()}
        run["step"] = total / steps * 1e3
        runs.append(run)
    backend.xp = numpy
    print(f"gkeras (CPU extra: {bool(backend.accel)}), ms per step, median of {fits} fits:")
    for label in sorted(runs[0], key=lambda k: -runs[0][k]):
        print(f"  {np.median([run.get(label, 0.0) for run in runs]):7.2f}  {label}")


def torch_breakdown(steps):
    import torch
    from torch.profiler import ProfilerActivity, profile
    from bench_train import BATCH, make_data, torch_model

    batch = BATCH["lstm"]
    x, y = make_data("lstm", batch * steps)
    x, y = torch.from_numpy(x.astype("int64")), torch.from_numpy(y)
    model = torch_model(torch, "lstm")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step(i):
        rows = slice(i * batch, (i + 1) * batch)
        optimizer.zero_grad()
        loss_fn(model(x[rows]), y[rows]).backward()
        optimizer.step()

    for i in range(5):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    plain = (time.perf_counter() - start) / steps * 1e3
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        for i in range(steps):
            step(i)
    print(f"PyTorch {torch.__version__}: step {plain:.2f} ms without the profiler; self CPU "
          f"ms per step under it:")
    for event in sorted(profiled.key_averages(), key=lambda e: -e.self_cpu_time_total)[:12]:
        print(f"  {event.self_cpu_time_total / steps / 1e3:7.2f}  {event.key}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fits", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50, help="steps per fit")
    parser.add_argument("--torch", action="store_true", help="PyTorch's breakdown instead")
    parser.add_argument("--python-loops", action="store_true",
                        help="gkeras: the LSTM's time loops in Python (each step timed)")
    args = parser.parse_args()
    if args.torch:
        torch_breakdown(args.steps)
    else:
        gkeras_breakdown(args.fits, args.steps, args.python_loops)


if __name__ == "__main__":
    main()
