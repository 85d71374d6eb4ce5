"""Training throughput, side by side: gkeras, PyTorch eager and Keras 3 (each if installed).

Each framework runs in its own subprocess on the same synthetic data and reports training
samples/second for the same model, optimizer (Adam) and batch size.

    python bench/bench_train.py                       # all frameworks found
    python bench/bench_train.py --frameworks gkeras,torch --quick
    python bench/bench_train.py --frameworks gkeras,gkeras-graph   # compile(jit_compile='auto')
    python bench/bench_train.py --repeats 3   # each framework 3 times, interleaved; medians

The share of gkeras's loop spent inside array math is measured by bench/profile_math_share.py.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

BATCH = {"mlp": 128, "convnet": 128, "convnet_bn": 128, "lstm": 32}
# the LSTM is slow per sample: a quarter of --samples keeps its runs as long as the others'
SAMPLE_SHARE = {"mlp": 1, "convnet": 1, "convnet_bn": 1, "lstm": 0.25}
CLASSES = 10
VOCABULARY, SEQUENCE = 20000, 80  # Keras's imdb_lstm


def make_data(workload, n):
    rng = np.random.default_rng(0)
    if workload == "lstm":
        x = rng.integers(0, VOCABULARY, (n, SEQUENCE)).astype("int32")
        return x, rng.integers(0, 2, (n, 1)).astype("float32")
    shape = (n, 784) if workload == "mlp" else (n, 28, 28, 1)
    x = rng.standard_normal(shape).astype("float32")
    y = rng.integers(0, CLASSES, n)
    return x, np.eye(CLASSES, dtype="float32")[y]


def keras_model(keras, workload, **compile_kwargs):
    """The same model in gkeras and Keras 3: MLP 784-512-512-10, Keras's mnist_convnet, or
    mnist_convnet with each convolution followed by BatchNormalization (no conv bias) then
    ReLU (convnet_bn), or Keras's imdb_lstm."""
    layers = keras.layers
    if workload == "lstm":
        model = keras.Sequential([keras.Input((SEQUENCE,), dtype="int32"),
                                  layers.Embedding(VOCABULARY, 128), layers.LSTM(128),
                                  layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                      **compile_kwargs)
        return model
    if workload == "mlp":
        body = [keras.Input((784,)), layers.Dense(512, activation="relu"),
                layers.Dense(512, activation="relu")]
    elif workload == "convnet_bn":
        body = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, use_bias=False),
                layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2),
                layers.Conv2D(64, 3, use_bias=False), layers.BatchNormalization(),
                layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5)]
    else:
        body = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5)]
    model = keras.Sequential(body + [layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  **compile_kwargs)
    return model


def run_gkeras(workload, n, epochs, jit_compile=None):
    import gkeras as keras
    batch = BATCH[workload]
    x, y = make_data(workload, n)
    # gkeras-graph: the train step captured as a CUDA graph (the warm-up fit captures it)
    model = keras_model(keras, workload, **({"jit_compile": jit_compile} if jit_compile
                                           else {}))
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)  # warm-up
    keras.backends.current().synchronize()
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    keras.backends.current().synchronize()
    return n * epochs / (time.perf_counter() - start), keras.backend.backend()


class _TorchLSTM:
    """Embedding -> LSTM -> Linear (logits), as Keras's imdb_lstm."""

    def __new__(cls, torch):
        nn = torch.nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Embedding(VOCABULARY, 128)
                self.lstm = nn.LSTM(128, 128, batch_first=True)
                self.dense = nn.Linear(128, 1)

            def forward(self, x):
                _, (h, _) = self.lstm(self.embedding(x))
                return self.dense(h[-1])
        return Model()


def torch_model(torch, workload):
    nn = torch.nn
    if workload == "lstm":
        return _TorchLSTM(torch)
    if workload == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                             nn.Linear(512, CLASSES))
    if workload == "convnet_bn":
        # Keras's momentum 0.99 is PyTorch's 0.01 (the weight of the new batch statistic)
        return nn.Sequential(nn.Conv2d(1, 32, 3, bias=False),
                             nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, bias=False),
                             nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                             nn.Linear(1600, CLASSES))
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                         nn.Linear(1600, CLASSES))


def run_torch(workload, n, epochs):
    import torch
    batch = BATCH[workload]
    device = "cuda" if os.environ.get("KERAS_BACKEND") == "cupy" and torch.cuda.is_available() \
        else "cpu"
    x, y = make_data(workload, n)
    if workload.startswith("convnet"):
        x = x.transpose(0, 3, 1, 2).copy()  # PyTorch's layout, channels first
    if workload == "lstm":
        x, y = torch.from_numpy(x.astype("int64")).to(device), torch.from_numpy(y).to(device)
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        x, y = torch.from_numpy(x).to(device), torch.from_numpy(y.argmax(1)).to(device)
        loss_fn = torch.nn.CrossEntropyLoss()
    model = torch_model(torch, workload).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def epoch(count):
        order = torch.randperm(count, device=device)
        for i in range(0, count, batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch(batch * 5)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(epochs):
        epoch(n)
    if device == "cuda":
        torch.cuda.synchronize()
    return n * epochs / (time.perf_counter() - start), device


def run_keras(workload, n, epochs):
    import keras
    batch = BATCH[workload]
    x, y = make_data(workload, n)
    model = keras_model(keras, workload)
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return n * epochs / (time.perf_counter() - start), keras.backend.backend()


RUNNERS = {"gkeras": run_gkeras,
           "gkeras-graph": lambda w, n, e: run_gkeras(w, n, e, jit_compile="auto"),
           "torch": run_torch, "keras-torch": run_keras, "keras-jax": run_keras}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frameworks", default="gkeras,torch,keras-torch,keras-jax")
    parser.add_argument("--workloads", default="mlp,convnet,convnet_bn,lstm")
    parser.add_argument("--samples", type=int, default=128 * 100)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs of each framework, interleaved; the median is reported")
    parser.add_argument("--quick", action="store_true", help="fewer samples (GPU check)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.samples, args.epochs = 128 * 40, 1

    if args.worker:
        framework, workload = args.worker.split(":")
        rate, device = RUNNERS[framework](workload, args.samples, args.epochs)
        print(json.dumps({"rate": rate, "device": device}))
        return
    print(f"samples/epoch={args.samples} (x{SAMPLE_SHARE} by workload) epochs={args.epochs} "
          f"repeats={args.repeats}")
    print(f"{'workload':10} {'framework':12} {'device':8} {'samples/s':>12}  "
          f"{'(each repeat)' if args.repeats > 1 else ''}")
    for workload in args.workloads.split(","):
        frameworks = args.frameworks.split(",")
        rates, devices, failures = {f: [] for f in frameworks}, {}, {}
        # repeats interleaved, framework after framework: a slow spell of the machine then
        # falls on every framework instead of on one
        for _ in range(args.repeats):
            for framework in frameworks:
                if framework in failures:
                    continue
                outcome = run_worker(framework, workload, args)
                if isinstance(outcome, str):
                    failures[framework] = outcome
                    continue
                rates[framework].append(outcome["rate"])
                devices[framework] = outcome["device"]
        for framework in frameworks:
            if framework in failures:
                print(f"{workload:10} {framework:12} {'-':8} {'skipped':>12}  "
                      f"({failures[framework][:70]})")
                continue
            each = rates[framework]
            detail = " / ".join(f"{r:.0f}" for r in each) if len(each) > 1 else ""
            print(f"{workload:10} {framework:12} {devices[framework]:8} "
                  f"{statistics.median(each):12.0f}  {detail}")


def run_worker(framework, workload, args):
    """One framework's rate on one workload in its own process: ``{'rate', 'device'}``, or
    the reason it failed."""
    env = dict(os.environ)
    if framework.startswith("keras-"):
        env["KERAS_BACKEND"] = framework.split("-", 1)[1]
        env["KERAS_HOME"] = env.get("BENCH_KERAS_HOME", "/tmp/bench-keras-home")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", f"{framework}:{workload}",
         "--samples", str(int(args.samples * SAMPLE_SHARE[workload])),
         "--epochs", str(args.epochs)],
        capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
