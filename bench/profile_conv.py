"""Where a convolution's time goes, per backend primitive, at Keras's mnist_convnet shapes.

For each conv layer of mnist_convnet (batch 128: 28x28x1 -> 32 filters, 13x13x32 -> 64, both
3x3 'valid') it times im2col, the forward GEMM, the two backward GEMMs and col2im on the
active backend (``KERAS_BACKEND=cupy`` for the GPU), best of ``--repeats`` runs:

    python bench/profile_conv.py [--data-format channels_first] [--repeats 20]
"""
import argparse
import time

import numpy as np

import gkeras  # noqa: F401  (chooses and installs the backend)
from gkeras.backends import current

LAYERS = {"conv1": ((128, 28, 28, 1), 32), "conv2": ((128, 13, 13, 32), 64)}
NO_PAD = ((0, 0), (0, 0))


def best_ms(backend, fn, repeats):
    fn()
    backend.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        backend.synchronize()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def profile(name, x_shape, filters, channels_last, repeats):
    b = current()
    rng = np.random.default_rng(0)
    n, h, w, c = x_shape
    x = rng.standard_normal(x_shape if channels_last else (n, c, h, w)).astype("float32")
    x = b.asarray(x)
    kernel = b.asarray(rng.standard_normal((3, 3, c, filters)).astype("float32"))
    y, cols = b.conv2d(x, kernel, (1, 1), (1, 1), NO_PAD, channels_last)
    dy = b.asarray(rng.standard_normal(y.shape).astype("float32"))
    dcols = b.xp.ascontiguousarray(cols)
    times = {
        "im2col": lambda: b.im2col(x, (3, 3), (1, 1), (1, 1), NO_PAD, channels_last),
        "forward (im2col+GEMM)": lambda: b.conv2d(x, kernel, (1, 1), (1, 1), NO_PAD,
                                                  channels_last),
        "kernel grad (GEMM)": lambda: b.conv2d_backward_kernel(dy, cols, channels_last),
        "input grad (GEMM+col2im)": lambda: b.conv2d_backward_input(
            dy, kernel, x.shape, (1, 1), (1, 1), NO_PAD, channels_last),
        "col2im": lambda: b.col2im(dcols, x.shape, (3, 3), (1, 1), (1, 1), NO_PAD,
                                   channels_last),
    }
    cells = ", ".join(f"{label} {best_ms(b, fn, repeats):.2f} ms" for label, fn in times.items())
    print(f"{b.name} {name} x{tuple(x.shape)} -> {filters}: {cells}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-format", default="channels_last",
                        choices=["channels_last", "channels_first"])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    for name, (shape, filters) in LAYERS.items():
        profile(name, shape, filters, args.data_format == "channels_last", args.repeats)


if __name__ == "__main__":
    main()
