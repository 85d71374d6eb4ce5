"""Device launches per training step, counted on the fake device (no GPU needed).

Runs one ``train_on_batch`` of a small MLP (64 -> 32 relu -> 32 ACTIVATION -> Dropout -> 10
softmax, categorical crossentropy, SGD) on the CuPy backend over ``tests/fakecupy.py`` and
counts what would launch work on a GPU: array operations (ufuncs, reductions, copies; views
and allocations such as reshape or empty are not counted), our own kernels and the GEMMs.
On a GPU a small model's step is bound by these launches, so their number is a proxy for its
speed that CPU timing cannot give.

    python bench/count_step_launches.py [--activation relu|tanh|sigmoid]
"""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import fakecupy  # noqa: E402
import gkeras  # noqa: E402
from gkeras import backends, kernels, layers  # noqa: E402
from gkeras.backends.cupy_backend import CupyBackend  # noqa: E402

NOT_LAUNCHES = {"ndarray.reshape", "cupy.shape", "cupy.expand_dims", "cupy.broadcast_to",
                "cupy.empty", "ndarray.astype"}


def count(activation):
    names = collections.Counter()
    call_ufunc, function, launch = (fakecupy.FakeCupy._call_ufunc, fakecupy.FakeCupy._function,
                                    kernels.Kernel.__call__)

    def counted_ufunc(self, ufunc, method, inputs, kwargs):
        names[f"{ufunc.__name__}.{method}"] += 1
        return call_ufunc(self, ufunc, method, inputs, kwargs)

    def counted_function(self, fn, name):
        inner = function(self, fn, name)

        def call(*args, **kwargs):
            names[name] += 1
            return inner(*args, **kwargs)
        return call

    def counted_launch(self, n, *args):
        names["our kernel " + self.name] += 1
        return launch(self, n, *args)

    fakecupy.FakeCupy._call_ufunc, fakecupy.FakeCupy._function = counted_ufunc, counted_function
    kernels.Kernel.__call__ = counted_launch
    backends.set_backend(CupyBackend(xp=fakecupy.FakeCupy()))
    model = gkeras.Sequential([gkeras.Input((64,)), layers.Dense(32, activation="relu"),
                               layers.Dense(32, activation=activation),
                               layers.Dropout(0.5, seed=1),
                               layers.Dense(10, activation="softmax")])
    model.compile(gkeras.optimizers.SGD(0.1), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 64)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, 16)]
    model.train_on_batch(x, y)  # builds the model and the optimizer's slots
    names.clear()
    model.train_on_batch(x, y)
    return {k: v for k, v in names.items() if k not in NOT_LAUNCHES}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activation", default="relu")
    args = parser.parse_args()
    launches = count(args.activation)
    ours = sum(v for k, v in launches.items() if k.startswith("our kernel"))
    print(f"launches per step: {sum(launches.values())} (GEMMs {launches.get('matmul.__call__', 0)}"
          f", our kernels {ours})")
    for name, n in sorted(launches.items(), key=lambda item: -item[1]):
        print(f"{n:4d}  {name}")


if __name__ == "__main__":
    main()
