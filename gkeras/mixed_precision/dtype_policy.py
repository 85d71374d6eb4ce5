"""Dtype policies, as Keras 3's ``keras.mixed_precision``: what a layer computes in
(``compute_dtype``) and what it stores its weights in (``variable_dtype``).

``'mixed_float16'`` and ``'mixed_bfloat16'`` compute in 16 bits with float32 weights (the
"master weights" the optimizer updates); any other name is one dtype for both. The global
policy applies to layers created after it is set; without one it is ``floatx()``.
"""
import numpy

from .. import config
from ..backends import current as _backend

_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def _bfloat16():
    """The name 'bfloat16', once NumPy knows it (from ml_dtypes); a clear error where it
    cannot: CuPy has no bfloat16 dtype, NumPy has one only through ml_dtypes."""
    if _backend().name != "numpy":
        raise ValueError(f"The bfloat16 dtype is not available on the {_backend().name} "
                         "backend (CuPy has no bfloat16 arrays); use 'mixed_float16' there.")
    try:
        import ml_dtypes  # noqa: F401  (registers 'bfloat16' with NumPy)
    except ImportError:
        raise ImportError("The bfloat16 dtype needs the `ml_dtypes` package on the NumPy "
                          "backend: `pip install ml_dtypes`.") from None
    return "bfloat16"


def _dtype_name(name, policy):
    if name == "bfloat16":
        return _bfloat16()
    try:
        return str(numpy.dtype(name))
    except TypeError:
        raise ValueError(f"Cannot convert {policy!r} to a DTypePolicy: expected a dtype name "
                         "('float32', 'float16', ...), 'mixed_float16' or 'mixed_bfloat16'."
                         ) from None


class DTypePolicy:
    """A dtype policy: ``DTypePolicy('mixed_float16')`` computes in float16 and keeps float32
    variables; ``DTypePolicy('float32')`` does both in float32. ``None``: the global policy."""

    def __init__(self, name=None):
        if name is None:
            name = global_policy().name
        if isinstance(name, numpy.dtype) or isinstance(name, type):
            name = numpy.dtype(name).name
        if not isinstance(name, str):
            raise TypeError(f"DTypePolicy: `name` must be a string, received {name!r}.")
        if name in _MIXED:
            compute, variable = _dtype_name(_MIXED[name], name), "float32"
        else:
            compute = variable = _dtype_name(name, name)
            name = compute  # 'float' -> 'float64', as numpy names it
        self._name = name
        self._compute_dtype = compute
        self._variable_dtype = variable

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations and outputs."""
        return self._compute_dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def is_mixed(self):
        return self._compute_dtype != self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


Policy = DTypePolicy  # Keras 3 exports both names for the one class

_global = [None]


def get(identifier):
    """A policy from a policy, a name, a dtype, or a serialized policy (Keras 3's
    ``{'class_name': 'DTypePolicy', 'config': {'name': ...}}`` or tf.keras's ``Policy``)."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        if identifier.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy", "Policy"):
            raise ValueError(f"Unsupported dtype policy {identifier.get('class_name')!r}: gkeras "
                             "supports DTypePolicy (plain and mixed precision), not quantized "
                             "policies.")
        return DTypePolicy.from_config(dict(identifier.get("config") or {}))
    return DTypePolicy(identifier)


def serialize(policy):
    """Keras 3's serialized form of a policy."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": policy.get_config(),
            "registered_name": None}


def set_dtype_policy(policy):
    """Set the global policy (a policy or its name; None goes back to ``floatx()``). It
    applies to the layers created afterwards."""
    _global[0] = None if policy is None else get(policy)


def dtype_policy():
    """The global policy: the one set, else ``DTypePolicy(floatx())``."""
    return _global[0] if _global[0] is not None else DTypePolicy(config.floatx())


set_global_policy = set_dtype_policy
global_policy = dtype_policy
