"""Data-parallel training on the CPU: one process with 1 and 2 threads vs 2 processes of one
thread each (``mpiexec -n 2``, gkeras.distribution.DataParallel), on bench_train.py's MLP and
CNN workloads (global batch 128, Adam). Reports training samples/s and, for the 2-process
runs, the share of the training time each rank spent in collectives (starting the gradient
sums, waiting for them, summing the metrics, the stop vote): communication plus waiting for
the slower rank.

    python bench/bench_data_parallel.py [--workloads mlp,convnet] [--samples 12800]

Needs mpi4py and mpiexec (``pip install gkeras[mpi]``).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import BATCH, keras_model, make_data  # noqa: E402


def _timed(obj, name, clock):
    method = getattr(obj, name)

    def call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            clock[0] += time.perf_counter() - start
    setattr(obj, name, call)


def worker(workload, samples, epochs, distributed):
    import gkeras as keras
    clock = [0.0]
    rank = 0
    if distributed:
        dp = keras.distribution.DataParallel()
        keras.distribution.set_distribution(dp)
        rank = dp.rank
        for communicator in {id(dp.host): dp.host, id(dp._device): dp._device}.values():
            for name in ("allreduce_start", "wait", "allreduce", "any"):
                if hasattr(communicator, name):
                    _timed(communicator, name, clock)
    batch = BATCH[workload]
    x, y = make_data(workload, samples)
    model = keras_model(keras, workload)
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)  # warm-up
    clock[0] = 0.0
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - start
    if rank == 0:
        print(json.dumps({"rate": samples * epochs / elapsed,
                          "communication": clock[0] / elapsed}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="mlp,convnet")
    parser.add_argument("--samples", type=int, default=128 * 60)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload, mode = args.worker.split(":")
        worker(workload, args.samples, args.epochs, mode == "mpi")
        return
    mpiexec = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or \
        shutil.which("mpiexec")
    runs = [("1 process, 1 thread", 1, None), ("1 process, 2 threads", 2, None),
            ("2 processes x 1 thread", 1, mpiexec)]
    print(f"samples/epoch={args.samples} epochs={args.epochs} global batch 128")
    print(f"{'workload':9} {'run':24} {'samples/s':>10} {'collectives':>12}")
    for workload in args.workloads.split(","):
        for label, threads, launcher in runs:
            env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                       OPENBLAS_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
            command = [sys.executable, __file__, "--worker",
                       f"{workload}:{'mpi' if launcher else 'one'}",
                       "--samples", str(args.samples), "--epochs", str(args.epochs)]
            if launcher:
                command = [launcher, "-n", "2"] + command
            proc = subprocess.run(command, capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                reason = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                print(f"{workload:9} {label:24} {'failed':>10}  ({reason[:70]})")
                continue
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            share = f"{100 * result['communication']:.1f}%" if launcher else "-"
            print(f"{workload:9} {label:24} {result['rate']:10.0f} {share:>12}")


if __name__ == "__main__":
    main()
