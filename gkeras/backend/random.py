"""Random tensors: ``K.random_normal``, ``K.random_uniform``, ``K.random_binomial``,
``K.truncated_normal`` (``shape`` may hold ``K.shape(x)[0]``)."""
from .. import ops
from .shapes import shape_tuple

__all__ = ["random_binomial", "random_normal", "random_uniform", "truncated_normal"]


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return ops.random_normal(shape_tuple(shape), mean, stddev, dtype, seed)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return ops.random_uniform(shape_tuple(shape), minval, maxval, dtype, seed)


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """1 with probability ``p``, else 0."""
    return ops.random_binomial(shape_tuple(shape), p, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws within two standard deviations of ``mean``."""
    return ops.truncated_normal(shape_tuple(shape), mean, stddev, dtype, seed)
