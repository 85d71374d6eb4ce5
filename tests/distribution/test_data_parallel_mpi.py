"""Two processes (``mpiexec -n 2``) training on the global batch give what one process gives.

Each scenario runs tests/distribution/mpi_worker.py twice: once alone (the reference) and
once under ``mpiexec -n 2`` with a ``DataParallel`` distribution, then compares weights,
history, evaluate and predict (float64: to 1e-10), checks rank 1's files equal rank 0's,
that rank-0-only output happened once, and that a failing rank ends the job quickly.
"""
import os
import shutil
import subprocess
import sys
import time

import numpy
import pytest

WORKER = os.path.join(os.path.dirname(__file__), "mpi_worker.py")
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable))

pytestmark = pytest.mark.skipif(
    MPIEXEC is None or pytest.importorskip("mpi4py") is None,
    reason="needs mpi4py and mpiexec (pip install gkeras[mpi])")


def _environment(timeout="60"):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               GKERAS_COLLECTIVE_TIMEOUT=timeout)
    env.pop("KERAS_BACKEND", None)
    return env


def _run(args, out, timeout=240, collective_timeout="60"):
    started = time.monotonic()
    done = subprocess.run(args, cwd=out, env=_environment(collective_timeout),
                          capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - started


def _train(scenario, tmp_path):
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir()
    double.mkdir()
    done, _ = _run([sys.executable, WORKER, scenario, str(single), "--single"], single)
    assert done.returncode == 0, done.stderr
    done, _ = _run([MPIEXEC, "-n", "2", sys.executable, WORKER, scenario, str(double)],
                   double)
    assert done.returncode == 0, done.stdout + done.stderr
    return (dict(numpy.load(single / "single.npz")), dict(numpy.load(double / "0.npz")),
            dict(numpy.load(double / "1.npz")), single, double, done.stdout)


@pytest.mark.parametrize("scenario", ["mlp", "cnn", "lstm", "mlp_float32"])
def test_two_processes_train_as_one_on_the_global_batch(scenario, tmp_path):
    reference, rank0, rank1, single, double, stdout = _train(scenario, tmp_path)
    tolerance = dict(rtol=2e-4, atol=2e-5) if scenario.endswith("float32") else \
        dict(rtol=1e-10, atol=1e-10)
    assert sorted(rank0) == sorted(reference)
    for key in reference:
        numpy.testing.assert_allclose(rank0[key], reference[key], err_msg=key, **tolerance)
        # every rank ends with the same model and sees the same logs
        numpy.testing.assert_array_equal(rank1[key], rank0[key], err_msg=key)
    if scenario == "mlp":
        # a callback stopped rank 1 after epoch 2: both ranks stopped there together
        assert len(reference["history_loss"]) == 2
    # rank 0 alone printed, logged and saved: one progress line per epoch, one CSV row each
    epochs = len(reference["history_loss"])
    assert stdout.count("Epoch 1/4") == 1
    with open(double / "log.csv") as f:
        assert len(f.read().strip().splitlines()) == epochs + 1
    with open(single / "log.csv") as f:
        assert len(f.read().strip().splitlines()) == epochs + 1
    assert (double / "model.h5").exists()


@pytest.mark.parametrize("scenario", ["sources", "two_outputs"])
def test_sources_and_multi_output_models_train_as_one_process(scenario, tmp_path):
    reference, rank0, rank1 = _train(scenario, tmp_path)[:3]
    assert sorted(rank0) == sorted(reference)
    for key in reference:
        numpy.testing.assert_allclose(rank0[key], reference[key], rtol=1e-10, atol=1e-10,
                                      err_msg=key)
        numpy.testing.assert_array_equal(rank1[key], rank0[key], err_msg=key)


def test_the_example_trains_the_digits_cnn_on_two_processes(tmp_path):
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                           "data_parallel.py")
    done, _ = _run([MPIEXEC, "-n", "2", sys.executable, example], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("trained by 2 process(es)") == 1
    assert done.stdout.count("Epoch 1/15") == 1


@pytest.mark.parametrize("how", ["raise", "kill"])
def test_a_failing_rank_ends_the_job_instead_of_a_hang(how, tmp_path):
    done, seconds = _run([MPIEXEC, "-n", "2", sys.executable, WORKER, how, str(tmp_path)],
                         tmp_path, timeout=120)
    assert done.returncode != 0
    assert seconds < 60
    output = done.stdout + done.stderr
    if how == "raise":
        assert "rank 1 fails on purpose" in output
        assert "rank 1 of 2 failed; aborting all ranks" in output
    else:
        assert "BAD TERMINATION" in output or "killed" in output.lower()


def test_a_rank_that_hangs_makes_the_others_stop_at_the_collective_deadline(tmp_path):
    done, seconds = _run([MPIEXEC, "-n", "2", sys.executable, WORKER, "hang", str(tmp_path)],
                         tmp_path, timeout=120, collective_timeout="3")
    output = done.stdout + done.stderr
    assert done.returncode != 0 and seconds < 60, output
    assert "rank 0 of 2 waited 3 s in" in output and "another rank has failed or hangs" in output
    assert "rank 0 of 2 failed; aborting all ranks" in output
