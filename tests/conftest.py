"""Test-suite setup: an isolated KERAS_HOME, global-config restore and the ``gpu`` marker."""
import os
import shutil
import tempfile

# Before gkeras is imported anywhere: gkeras.config writes a default keras.json on import,
# and the suite must never touch the user's ~/.keras.
_KERAS_HOME = tempfile.mkdtemp(prefix="gkeras-test-home-")
os.environ["KERAS_HOME"] = _KERAS_HOME

import pytest  # noqa: E402

from gkeras import config as gkeras_config  # noqa: E402
from gkeras import backends, mixed_precision  # noqa: E402


def _cuda_device_count():
    try:
        import cupy
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no CuPy, no driver, or no device
        return 0


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_KERAS_HOME, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items or _cuda_device_count() > 0:
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Undo changes a test makes to the global configuration or the active backend."""
    saved_config = dict(gkeras_config._config)
    saved_backend = backends.current()
    yield
    gkeras_config._config.clear()
    gkeras_config._config.update(saved_config)
    backends.set_backend(saved_backend)
    mixed_precision.set_global_policy(None)  # back to floatx()


@pytest.fixture
def keras_home():
    """The session's isolated KERAS_HOME directory."""
    return _KERAS_HOME


@pytest.fixture(params=["plain_numpy", "cpu_extra"])
def cpu_accel(request, monkeypatch):
    """Run a test twice: on the NumPy backend's plain NumPy path, and on the CPU extra's
    compiled kernels (backends/numpy_accel.py; skipped where numba is not installed, run even
    under GKERAS_CPU_ACCEL=0), used then on every channels_last shape. Returns the kernels'
    module, or False."""
    from gkeras.backends.numpy_backend import NumpyBackend
    from gkeras.backends import numpy_accel
    kernels = False
    if request.param == "cpu_extra":
        pytest.importorskip("numba")
        from gkeras.backends import accel_kernels as kernels
        # the kernels on every channels_last shape, not only the many-channel ones
        monkeypatch.setattr(numpy_accel, "MIN_CHANNELS", 1)
    # non-NumPy backends (the fake CuPy) keep their _accel False
    monkeypatch.setattr(NumpyBackend, "accel",
                        property(lambda self: kernels if self._accel is not False else False))
    return kernels
