"""Host memory: keep freed blocks in the C heap while training, instead of handing them back.

A training step frees and reallocates the same large arrays every step (activations, im2col
buffers, gate sequences, gradients). glibc's malloc returns such blocks to the kernel -- it
unmaps blocks over its mmap threshold and trims the heap's free top past its trim threshold,
both adjusted only to the largest single block freed so far -- so the next step gets them
back as fresh pages: one page fault and one zeroed page per 4 KiB. Measured on the project's
CPU machine (bench/bench_host_memory.py): 900-3,300 faults and 2-15 ms of kernel time a step
for the convnets and the LSTM, 10-25 % of their steps. Raising both thresholds keeps those
blocks in the heap, as the array libraries' own caching allocators keep theirs: the
process's resident memory stays at the peak a step reached rather than falling between steps.

glibc only (``mallopt``); elsewhere nothing changes. Not applied when the user
tuned malloc (``MALLOC_*_`` variables, ``GLIBC_TUNABLES``) or set ``GKERAS_MALLOC_TUNING=0``.
"""
import ctypes
import os

# mallopt's parameter numbers (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
# glibc's largest mmap threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX): blocks from 32 MiB
# up stay mapped and unmapped per allocation
MMAP_THRESHOLD = 32 << 20
# over a step's whole working set (the benchmarks' convnet with BatchNormalization frees
# ~280 MB at the heap's top each step)
TRIM_THRESHOLD = 1 << 30
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                  "MALLOC_MMAP_MAX_")

_state = {"libc": None, "tuned": False}


def _glibc():
    """The process's glibc, or None (another C library, or no symbol table to ask)."""
    if _state["libc"] is None:
        try:
            libc = ctypes.CDLL(None)
            libc.gnu_get_libc_version  # noqa: B018 -- glibc only
            libc.mallopt  # noqa: B018
        except (OSError, AttributeError):
            libc = False
        _state["libc"] = libc
    return _state["libc"] or None


def user_chose(environ=os.environ):
    """Whether the user turned this off or tuned malloc themselves."""
    if environ.get("GKERAS_MALLOC_TUNING", "1").strip() == "0":
        return True
    return any(name in environ for name in _USER_SETTINGS) or \
        "glibc.malloc" in environ.get("GLIBC_TUNABLES", "")


def keep_freed_memory():
    """Raise glibc's mmap and trim thresholds for this process (once); True when they are
    raised (now or before)."""
    if _state["tuned"]:
        return True
    libc = _glibc()
    if libc is None or user_chose():
        return False
    _state["tuned"] = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _state["tuned"]
