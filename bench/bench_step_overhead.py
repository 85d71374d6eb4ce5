"""The training step's framework overhead: ``fit`` against the same backend calls made directly.

The model is bench_train's MLP shape, Dense(w, relu) - Dense(w, relu) - Dense(10, softmax)
with Adam and categorical crossentropy, batch 128. Fits of one epoch alternate with a
hand-written loop over the same data that calls the backend primitives ``fit`` ends in
(matmul, bias_activation, softmax_crossentropy and its backward, the ReLU backward with the
bias gradient, the optimizer step) on the model's own weights and slots, with no layers,
graph, loss object, trackers or callbacks. The difference is what gkeras's Python costs a
step: the median of each fit's difference from the direct loop right after it. With
``--width 8`` the arithmetic is negligible, and ``fit``'s step is nearly all overhead.

    python bench/bench_step_overhead.py [--width 8] [--repeats 7]
    python bench/bench_step_overhead.py --width 512 --features 784    # bench_train's MLP
"""
import argparse
import statistics
import time

import numpy as np

BATCH = 128
CLASSES = 10


def build(keras, features, width):
    layers = keras.layers
    model = keras.Sequential([keras.Input((features,)), layers.Dense(width, activation="relu"),
                              layers.Dense(width, activation="relu"),
                              layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def direct_epoch(backend, model, x, y):
    """One epoch of the same computation as ``fit``, as direct backend calls."""
    optimizer = model.optimizer
    weights = [v.value for v in model.trainable_variables]
    slots = [(m.value, v.value, None)
             for m, v in zip(optimizer._momentums, optimizer._velocities)]
    upstream = np.full(BATCH, 1.0 / BATCH, x.dtype)
    order = np.random.permutation(len(x))
    for start in range(0, len(x) - BATCH + 1, BATCH):
        index = order[start:start + BATCH]
        inputs, target = x[index], y[index]
        outputs = [inputs]
        for layer in range(3):
            z = backend.matmul(outputs[-1], weights[2 * layer])
            outputs.append(backend.bias_activation(z, weights[2 * layer + 1],
                                                   "relu" if layer < 2 else "linear"))
        backend.softmax_rows(outputs[-1])  # the model's output, as Dense(softmax) computes it
        loss, log_prob = backend.softmax_crossentropy(outputs[-1], target)
        grad = backend.softmax_crossentropy_backward(log_prob, target, upstream)
        grads = [None] * 6
        grads[4], grads[5] = outputs[2].T @ grad, grad.sum(axis=0)
        grad = grad @ weights[4].T
        for layer in (1, 0):
            dz, grads[2 * layer + 1] = backend.activation_backward_bias_grad(
                grad, outputs[layer + 1], "relu")
            grads[2 * layer] = outputs[layer].T @ dz
            if layer:
                grad = dz @ weights[2 * layer].T
        hyper = optimizer._hyper(1e-3)
        for weight, gradient, slot in zip(weights, grads, slots):
            backend.optimizer_step("adam", weight, gradient, slot, hyper,
                                   lambda which, like=weight: optimizer._scratch(like, which))
        float(loss.sum() / BATCH)  # the host reads the loss, as fit's logs do


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import gkeras as keras
    backend = keras.backends.current()
    rng = np.random.default_rng(0)
    n = BATCH * args.steps
    x = rng.random((n, args.features), dtype=np.float32)
    y = np.eye(CLASSES, dtype=np.float32)[rng.integers(0, CLASSES, n)]
    model = build(keras, args.features, args.width)
    model.fit(x[:BATCH * 5], y[:BATCH * 5], batch_size=BATCH, epochs=1, verbose=0)  # warm-up
    direct_epoch(backend, model, x[:BATCH * 5], y[:BATCH * 5])
    times = {"fit": [], "direct": []}
    for _ in range(args.repeats):
        start = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
        times["fit"].append(time.perf_counter() - start)
        start = time.perf_counter()
        direct_epoch(backend, model, x, y)
        times["direct"].append(time.perf_counter() - start)
    print(f"backend={backend.name} features={args.features} width={args.width} batch={BATCH} "
          f"steps={args.steps} repeats={args.repeats}")
    for name, values in times.items():
        per_step = [v / args.steps * 1e6 for v in values]
        print(f"{name:7s} median {statistics.median(per_step):8.1f} us/step   "
              f"({' / '.join(f'{v:.1f}' for v in per_step)})")
    # each fit against the direct loop right after it: the machine's slow spells cancel out
    overheads = [(f - d) / args.steps * 1e6 for f, d in zip(times["fit"], times["direct"])]
    print(f"overhead median {statistics.median(overheads):.1f} us/step   "
          f"({' / '.join(f'{v:.1f}' for v in overheads)})")


if __name__ == "__main__":
    main()
