"""Share of gkeras's training-loop time spent inside backend math (NumPy / OpenBLAS code).

Samples the main thread of a `fit` on the MLP workload with py-spy (`pip install py-spy`,
needs permission to trace: root or ptrace rights) and classifies each sample by the frame it
was executing: native code in NumPy or its BLAS counts as math; the interpreter, gkeras's
Python code and everything else counts as overhead.

    python bench/profile_math_share.py [--seconds 20]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MATH_LIBRARIES = re.compile(r"openblas|_multiarray_umath|_umath_linalg|libgomp|libm[.-]", re.I)


def workload(seconds):
    sys.path.insert(0, HERE)
    import gkeras
    from bench_train import keras_model, make_data
    x, y = make_data("mlp", 128 * 100)
    model = keras_model(gkeras, "mlp")
    model.fit(x[:640], y[:640], batch_size=128, epochs=1, verbose=0)
    print("ready", flush=True)
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)


def classify(raw_path):
    math = other = 0
    with open(raw_path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack:
                continue
            leaf = stack.split(";")[-1]
            if MATH_LIBRARIES.search(leaf):
                math += int(count)
            else:
                other += int(count)
    return math, other


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workload(args.seconds)
        return
    raw = tempfile.mktemp(suffix=".txt")
    worker = subprocess.Popen([sys.executable, __file__, "--worker", "--seconds",
                               str(args.seconds)], stdout=subprocess.PIPE, text=True)
    worker.stdout.readline()  # wait for the warm-up to finish
    # py-spy samples Python threads only: the main thread, which runs the loop (OpenBLAS's
    # own worker threads are not sampled, so they cannot inflate the math share)
    subprocess.run(["py-spy", "record", "--native", "--format", "raw", "--rate", "250",
                    "--duration", str(int(args.seconds) - 1), "--pid", str(worker.pid),
                    "--output", raw], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker.wait()
    math, other = classify(raw)
    total = math + other
    print(f"main-thread samples: {total}; inside NumPy/BLAS native code: {math / total:.1%}; "
          f"Python and other: {other / total:.1%}")


if __name__ == "__main__":
    main()
