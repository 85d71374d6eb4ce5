"""Page faults and time per training step, with and without the NumPy backend's host-memory
setting (backends/host_memory.py; ``GKERAS_MALLOC_TUNING=0`` turns it off).

Each workload of bench_train.py trains in its own process: a warm-up fit, one epoch, then one
timed epoch of ``--steps`` steps; the minor page faults and kernel (system) CPU time of that
epoch, per step. Linux only (getrusage's fault counts).

    python bench/bench_host_memory.py [--workloads mlp,convnet,convnet_bn,lstm] [--steps 50]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(workload, steps):
    sys.path.insert(0, HERE)
    import gkeras
    from bench_train import BATCH, keras_model, make_data
    batch = BATCH[workload]
    x, y = make_data(workload, batch * steps)
    model = keras_model(gkeras, workload)
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return {"faults": (after.ru_minflt - before.ru_minflt) / steps,
            "system_ms": (after.ru_stime - before.ru_stime) / steps * 1e3,
            "step_ms": seconds / steps * 1e3, "peak_rss_mb": after.ru_maxrss / 1024, "thp": open("/proc/self/smaps_rollup").read().split("AnonHugePages:")[1].split()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="mlp,convnet,convnet_bn,lstm")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.steps)))
        return
    print(f"{'workload':11} {'setting':8} {'faults/step':>12} {'system ms':>10} "
          f"{'step ms':>8} {'peak RSS MB':>12}")
    for workload in args.workloads.split(","):
        for setting in ("kept", "default"):
            env = dict(os.environ, GKERAS_MALLOC_TUNING="1" if setting == "kept" else "0")
            out = subprocess.run([sys.executable, __file__, "--worker", workload, "--steps",
                                  str(args.steps)], env=env, check=True, capture_output=True,
                                 text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{workload:11} {setting:8} {r['faults']:12.1f} {r['system_ms']:10.2f} "
                  f"{r['step_ms']:8.2f} {r['peak_rss_mb']:12.0f} {r['thp']}", flush=True)


if __name__ == "__main__":
    main()
