"""Data-parallel training across processes (Keras 3's ``keras.distribution`` names).

    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=256)   # 256 = the global batch, split across the processes

run as ``mpiexec -n 4 python train.py``. With one process (or none set) everything runs as
without it. See docs/distributed.md.
"""
from .communicators import CollectiveTimeout, MPICommunicator
from .data_parallel import DataParallel

_distribution = None


def set_distribution(value):
    """Make ``value`` (a ``DataParallel``, or None) the distribution fit/evaluate/predict use."""
    global _distribution
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError("set_distribution expects a gkeras.distribution.DataParallel or None; "
                        f"received {type(value).__name__}.")
    _distribution = value


def distribution():
    """The distribution set by ``set_distribution`` (None if none)."""
    return _distribution


def active():
    """The distribution when it spans more than one process, else None."""
    return _distribution if _distribution is not None and _distribution.active else None


def list_devices(device_type=None):
    """This process's devices, as Keras names them ('cpu:0', 'gpu:0', ...)."""
    from ..backends import current
    backend = current()
    if device_type not in (None, "cpu", "gpu", "CPU", "GPU"):
        raise ValueError(f"list_devices: device_type must be 'cpu', 'gpu' or None; received "
                         f"{device_type!r}.")
    if backend.name == "cupy" and (device_type or "gpu").lower() == "gpu":
        return [f"gpu:{i}" for i in range(backend.xp.cuda.runtime.getDeviceCount())]
    return ["cpu:0"] if (device_type or "cpu").lower() == "cpu" else []


def is_chief():
    """True except on the ranks other than 0 of a data-parallel job."""
    return _distribution is None or _distribution.is_chief


__all__ = ["DataParallel", "MPICommunicator", "CollectiveTimeout", "set_distribution",
           "distribution", "list_devices", "is_chief"]
