"""Page faults and time per training step, with and without the NumPy backend's host-memory
setting (backends/host_memory.py; ``GKERAS_MALLOC_TUNING=0`` turns it off).

Each workload of bench_train.py trains in its own process: a warm-up fit, one epoch, then one
measured epoch of ``--steps`` steps: its minor page faults and kernel (system) CPU time per
step, and the median of its steps' times (a callback times each ``train_on_batch``-sized
step; the median is less swayed by this VM's slow spells than the epoch's mean). The two
settings alternate, ``--repeats`` times. Linux only (getrusage's fault counts).

    python bench/bench_host_memory.py [--workloads mlp,convnet,convnet_bn,lstm] [--steps 50]
                                      [--repeats 3]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def measure(workload, steps):
    sys.path.insert(0, HERE)
    import gkeras
    from bench_step_times import step_timer
    from bench_train import BATCH, keras_model, make_data
    batch = BATCH[workload]
    x, y = make_data(workload, batch * steps)
    model = keras_model(gkeras, workload)
    model.fit(x[:batch * 5], y[:batch * 5], batch_size=batch, epochs=1, verbose=0)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    steps_ms = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0,
              callbacks=[step_timer(gkeras, steps_ms)])
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {"faults": (after.ru_minflt - before.ru_minflt) / steps,
            "system_ms": (after.ru_stime - before.ru_stime) / steps * 1e3,
            "step_ms": statistics.median(steps_ms), "peak_rss_mb": after.ru_maxrss / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="mlp,convnet,convnet_bn,lstm")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure(args.worker, args.steps)))
        return
    print(f"{'workload':11} {'setting':8} {'faults/step':>12} {'system ms':>10} "
          f"{'median step ms':>15} {'peak RSS MB':>12}")
    for workload in args.workloads.split(","):
        results = {"kept": [], "default": []}
        for _ in range(args.repeats):
            for setting in results:
                env = dict(os.environ, GKERAS_MALLOC_TUNING="1" if setting == "kept" else "0")
                out = subprocess.run([sys.executable, __file__, "--worker", workload,
                                      "--steps", str(args.steps)], env=env, check=True,
                                     capture_output=True, text=True).stdout
                results[setting].append(json.loads(out.strip().splitlines()[-1]))
        for setting, runs in results.items():
            def each(key, form):
                return " / ".join(format(r[key], form) for r in runs)
            print(f"{workload:11} {setting:8} {each('faults', '.1f'):>12} "
                  f"{each('system_ms', '.2f'):>10} {each('step_ms', '.2f'):>15} "
                  f"{max(r['peak_rss_mb'] for r in runs):12.0f}", flush=True)


if __name__ == "__main__":
    main()
