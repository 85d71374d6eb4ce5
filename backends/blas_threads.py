"""Run a block with the BLAS that NumPy uses on one thread (OpenBLAS; elsewhere a no-op) while
other processes keep the machine's cores busy.

The recurrent time loops multiply small matrices (``(batch, units) @ (units, k*units)``) once
per step. OpenBLAS splits such products over its threads and has them spin-wait between
calls: when other processes hold the cores each step waits for a descheduled thread (measured
5-10x slower training), and threading even the loops' one-off input projection and
weight-gradient products tripled the time of a training step on the loaded 2-core machine.
On a quiet machine the threads pay, though: imdb_lstm's products ran 1.7-2x faster on two
threads (per-step ones included). ``single_threaded_when_busy`` therefore looks at how much
CPU time *other* processes used lately (``/proc/stat`` less this process's own time) and keeps
the BLAS's threads only while that stays under half a core.
"""
import contextlib
import ctypes
import os
import re
import sys
import threading
import time

_SYMBOLS = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads")]
_controls = None


def loaded_openblas():
    """The OpenBLAS libraries loaded in this process (``ctypes.CDLL``s; NumPy's, and SciPy's
    when imported), found through ``/proc/self/maps``; empty off Linux."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", f.read())))
    except OSError:  # not Linux: leave the BLAS as it is
        return []
    libraries = []
    for path in paths:
        try:
            libraries.append(ctypes.CDLL(path))
        except OSError:
            continue
    return libraries


def _find_controls():
    """``(get, set)`` of the OpenBLAS loaded in this process, or None."""
    for lib in loaded_openblas():
        for get_name, set_name in _SYMBOLS:
            if hasattr(lib, get_name) and hasattr(lib, set_name):
                get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return get, set_
    return None


@contextlib.contextmanager
def single_threaded():
    global _controls
    if _controls is None:
        _controls = _find_controls() or False
    if not _controls:
        yield
        return
    get, set_ = _controls
    previous = get()
    if previous <= 1:
        yield
        return
    set_(1)
    try:
        yield
    finally:
        set_(previous)


def share_cores(processes):
    """Give this process's BLAS its share of the cores when ``processes`` processes share the
    machine (the ranks of a data-parallel job), unless the user chose a thread count: two
    ranks each running one thread per core would fight over every core."""
    global _controls
    if processes <= 1 or os.environ.get("OMP_NUM_THREADS") or \
            os.environ.get("OPENBLAS_NUM_THREADS"):
        return
    threads = max(1, (os.cpu_count() or 1) // processes)
    if _controls is None:
        _controls = _find_controls() or False
    if _controls:
        _controls[1](threads)
    # the CPU extra's parallel kernels (numba) too: before numba loads, or through numba
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


# OpenBLAS's workers spin-wait this long after a product on several threads before they sleep
# (2**28 time-stamp cycles by default: ~0.1 s at this machine's 2.6 GHz), with a margin
SPIN_SECONDS = 0.25
# how long code that would start threads of its own keeps off the cores once products on
# several threads by other parts of the program were seen; then it tries again
_CONTENDED_SECONDS = 10.0
_workers = {"own_products": -float("inf"), "contended_until": -float("inf")}


def note_threaded_products():
    """Record that the caller's own products just ran on the BLAS's threads: their spinning
    workers then say nothing about the rest of the program."""
    _workers["own_products"] = _clock()


def cores_free_of_workers():
    """Whether threads started now would have the cores to themselves: False while the rest of
    the program was lately seen leaving OpenBLAS's workers spinning (a thread of this process
    running, ``SPIN_SECONDS`` after the caller's own last threaded products), for
    ``_CONTENDED_SECONDS``; then True again until seen anew."""
    now = _clock()
    if now - _workers["own_products"] > SPIN_SECONDS and other_threads_running():
        _workers["contended_until"] = now + _CONTENDED_SECONDS
    return now >= _workers["contended_until"]


def other_threads_running():
    """Whether another thread of this process is running at this moment (``/proc/self/task``;
    False off Linux). After a product on several threads OpenBLAS's workers spin-wait about
    0.1 s before they sleep: threads started meanwhile would share the cores with them."""
    own = threading.get_native_id()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return False
    for task in tasks:
        if int(task) == own:
            continue
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread has ended
            continue
        # the state letter follows the name in parentheses (which may hold spaces)
        end = stat.rindex(b")")
        if stat[end + 2:end + 3] == b"R":
            return True
    return False


# others' load is re-estimated at most this often (seconds), over the time since the last one
_SAMPLE_PERIOD = 0.5
_QUIET_BELOW = 0.5  # cores' worth of CPU time used by other processes
_load = {"sample": None, "quiet": False}


def _cpu_sample():
    """``(machine busy CPU seconds, this process's CPU seconds)``, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    # user nice system, then irq softirq steal; idle and iowait are not busy
    busy = (sum(ticks[:3]) + sum(ticks[5:8])) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return busy, own.user + own.system


_clock = time.monotonic


def machine_is_quiet():
    """Whether other processes used under half a core over the last estimate's period (False
    until a first period has passed, or where it cannot be measured)."""
    now, last = _clock(), _load["sample"]
    if last is not None and now - last[0] < _SAMPLE_PERIOD:
        return _load["quiet"]  # between estimates: no file read (~0.1 ms)
    cpu = _cpu_sample()
    if cpu is None:
        _load["quiet"] = False
    elif last is not None and last[1] is not None:
        others = (cpu[0] - last[1][0]) - (cpu[1] - last[1][1])
        _load["quiet"] = others / (now - last[0]) < _QUIET_BELOW
    _load["sample"] = (now, cpu)
    return _load["quiet"]


@contextlib.contextmanager
def single_threaded_when_busy():
    if machine_is_quiet():
        yield
        return
    with single_threaded():
        yield
