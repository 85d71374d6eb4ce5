"""Random tensors: normal, truncated normal, uniform and Bernoulli draws (not differentiable).

Each call draws from a fresh generator of the active backend, seeded by ``seed`` (the same seed
gives the same values; None: a random seed).
"""
from .. import config
from ..autograd import Tensor
from ..backends import current as _backend


__all__ = ["random_binomial", "random_normal", "random_uniform", "truncated_normal"]


def _generator(seed):
    return _backend().rng(seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = dtype or config.floatx()
    draw = _generator(seed).standard_normal(tuple(shape), dtype=dtype)
    return Tensor(draw * _scalar(stddev, dtype) + _scalar(mean, dtype))


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    dtype = dtype or config.floatx()
    draw = _generator(seed).random(tuple(shape), dtype=dtype)
    return Tensor(draw * _scalar(maxval - minval, dtype) + _scalar(minval, dtype))


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """1 with probability ``p``, else 0 (Keras 2's ``K.random_binomial``)."""
    dtype = dtype or config.floatx()
    draw = _generator(seed).random(tuple(shape), dtype=dtype)
    return Tensor((draw < p).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws; those more than two standard deviations from the mean are drawn again
    (as ``tf.truncated_normal``)."""
    dtype = dtype or config.floatx()
    generator = _generator(seed)
    xp = _backend().xp
    draw = generator.standard_normal(tuple(shape), dtype=dtype)
    outside = xp.abs(draw) > 2
    while bool(outside.any()):  # one host read per redraw round; P(outside) is 4.6 %
        draw = xp.where(outside, generator.standard_normal(tuple(shape), dtype=dtype), draw)
        outside = xp.abs(draw) > 2
    return Tensor(draw * _scalar(stddev, dtype) + _scalar(mean, dtype))


def _scalar(value, dtype):
    """A Python number as a 0-d array of ``dtype``: float32 draws stay float32."""
    return _backend().xp.asarray(value, dtype=dtype)
