"""Array backends: one module per array library, the same small primitive interface.

The backend is chosen once, when ``gkeras`` is imported, from ``gkeras.config.backend()``.
"""
from .numpy_backend import NumpyBackend

_current = None


def create(name):
    """A new backend object for ``name`` ('numpy' or 'cupy'); raises if it cannot run here."""
    if name == "numpy":
        return NumpyBackend()
    if name == "cupy":
        from .cupy_backend import CupyBackend
        return CupyBackend()
    raise ValueError(f"Unknown backend {name!r}. Valid choices: numpy, cupy.")


def set_backend(backend):
    """Install ``backend`` (a name or a backend object) as the one every op uses."""
    global _current
    _current = create(backend) if isinstance(backend, str) else backend
    return _current


def current():
    return _current
