"""The NumPy backend keeps freed heap blocks between training steps (backends/host_memory.py)."""
import os
import subprocess
import sys
import textwrap

import pytest

from gkeras.backends import host_memory
from gkeras.backends.numpy_backend import NumpyBackend


class RecordingLibc:
    def __init__(self, accepts=True):
        self.calls, self.accepts = [], accepts

    def mallopt(self, parameter, value):
        self.calls.append((parameter, value))
        return int(self.accepts)


@pytest.fixture
def fake_libc(monkeypatch):
    libc = RecordingLibc()
    monkeypatch.setattr(host_memory, "_state", {"libc": libc, "tuned": False})
    for name in ("GKERAS_MALLOC_TUNING", "GLIBC_TUNABLES") + host_memory._USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return libc


def test_raises_both_thresholds_once(fake_libc):
    assert host_memory.keep_freed_memory()
    assert fake_libc.calls == [(-3, 32 << 20), (-1, 1 << 30)]  # M_MMAP_, M_TRIM_THRESHOLD
    assert host_memory.keep_freed_memory()
    assert len(fake_libc.calls) == 2


def test_the_numpy_backend_applies_it(fake_libc):
    NumpyBackend()
    assert fake_libc.calls == [(-3, 32 << 20), (-1, 1 << 30)]


@pytest.mark.parametrize("name, value", [("GKERAS_MALLOC_TUNING", "0"),
                                         ("MALLOC_TRIM_THRESHOLD_", "131072"),
                                         ("MALLOC_MMAP_THRESHOLD_", "65536"),
                                         ("MALLOC_TOP_PAD_", "0"),
                                         ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1")])
def test_leaves_malloc_alone_when_the_user_chose(fake_libc, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert not host_memory.keep_freed_memory()
    assert fake_libc.calls == []


def test_other_tunables_do_not_count(fake_libc, monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F")
    monkeypatch.setenv("GKERAS_MALLOC_TUNING", "1")
    assert host_memory.keep_freed_memory()


def test_a_refused_setting_reports_false(monkeypatch):
    monkeypatch.setattr(host_memory, "_state", {"libc": RecordingLibc(accepts=False),
                                                "tuned": False})
    monkeypatch.delenv("GKERAS_MALLOC_TUNING", raising=False)
    for name in host_memory._USER_SETTINGS + ("GLIBC_TUNABLES",):
        monkeypatch.delenv(name, raising=False)
    assert not host_memory.keep_freed_memory()


def test_without_glibc_nothing_changes(monkeypatch):
    monkeypatch.setattr(host_memory, "_state", {"libc": False, "tuned": False})
    assert not host_memory.keep_freed_memory()


# A step's pattern: several large arrays allocated, then all freed together. By default glibc
# trims the heap's free top past twice the largest block and the next round faults every page
# in again; kept, the rounds after the first reuse the same pages.
ROUNDS = textwrap.dedent("""
    import resource, numpy
    import gkeras
    def round_():
        arrays = [numpy.ones(1 << 20) for _ in range(6)]  # 8 MiB each
        del arrays
    round_()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        round_()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(**env):
    environ = {k: v for k, v in os.environ.items()
               if k not in host_memory._USER_SETTINGS + ("GLIBC_TUNABLES",)}
    environ.update(env, KERAS_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", ROUNDS], env=environ, capture_output=True,
                         text=True, check=True).stdout
    return int(out.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux") or host_memory._glibc() is None,
                    reason="glibc's malloc on Linux")
def test_freed_blocks_are_reused_without_page_faults():
    default = _faults(GKERAS_MALLOC_TUNING="0")
    kept = _faults()
    # by default every round faults its 48 MiB back in: 12,288 faults of 4 KiB, or as few as
    # 24 where transparent huge pages map 2 MiB a fault
    assert default >= 10 * 20
    assert kept < 0.02 * default
