"""Weight regularizers; their penalties are added to the training loss."""
import math
import numbers

from . import ops
from .serialization import Registry, serialize  # noqa: F401  (public API)


class Regularizer:
    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _penalty_factor(owner, name, value, default):
    """``value`` as a non-negative float; None means ``default`` (Keras's rules)."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: invalid value for argument {name}: expected a non-negative "
                         f"float. Received: {name}={value!r}")
    return float(value)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        owner = type(self).__name__
        self.l1 = _penalty_factor(owner, "l1", l1, 0.0)
        self.l2 = _penalty_factor(owner, "l2", l2, 0.0)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * ops.sum(ops.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * ops.sum(ops.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01, l=None):  # noqa: E741 (Keras 2's keyword `l`)
        super().__init__(l1=l if l is not None else 0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01, l=None):  # noqa: E741 (Keras 2's keyword `l`)
        super().__init__(l2=l if l is not None else 0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2
_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2}


_REGISTRY = Registry("regularizer", _CLASSES, Regularizer)
deserialize = _REGISTRY.deserialize
get = _REGISTRY.get
