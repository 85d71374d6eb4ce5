"""gkeras.initializers: Keras's formulas checked through sample statistics and exact values."""
import math

import numpy as np
import pytest

from gkeras import initializers
from gkeras.layers import Dense

CONV_SHAPE = (3, 3, 16, 32)
CONV_FAN_IN, CONV_FAN_OUT = 3 * 3 * 16, 3 * 3 * 32
TRUNCATED_STD = 0.87962566103423978  # stddev of a unit normal truncated to [-2, 2]


def test_compute_fans():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((5, 9)) == (5, 9)
    assert initializers.compute_fans(CONV_SHAPE) == (CONV_FAN_IN, CONV_FAN_OUT)
    assert initializers.compute_fans((5, 4, 2)) == (20, 10)


def test_constant_zeros_ones_and_dtype():
    np.testing.assert_array_equal(initializers.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(initializers.Ones()((4,)), np.ones(4))
    out = initializers.Constant(2.5)((2, 2), dtype="float64")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, np.full((2, 2), 2.5))
    assert initializers.Zeros()((3,)).dtype == np.float32  # floatx by default
    assert initializers.Constant().get_config() == {"value": 0.0}


@pytest.mark.parametrize("cls,kwargs,mean,std,low,high", [
    (initializers.RandomNormal, {}, 0.0, 0.05, None, None),
    (initializers.RandomNormal, {"mean": 1.0, "stddev": 0.3}, 1.0, 0.3, None, None),
    (initializers.RandomUniform, {}, 0.0, 0.1 / math.sqrt(12), -0.05, 0.05),
    (initializers.RandomUniform, {"minval": 2.0, "maxval": 4.0}, 3.0, 2 / math.sqrt(12), 2, 4),
    (initializers.TruncatedNormal, {}, 0.0, 0.05 * TRUNCATED_STD, -0.1, 0.1),
    (initializers.TruncatedNormal, {"mean": -1.0, "stddev": 0.5}, -1.0, 0.5 * TRUNCATED_STD,
     -2.0, 0.0),
])
def test_random_distributions(cls, kwargs, mean, std, low, high):
    values = cls(seed=3, **kwargs)((300, 200)).astype("float64")
    assert values.mean() == pytest.approx(mean, abs=4 * std / math.sqrt(values.size))
    assert values.std() == pytest.approx(std, rel=0.02)
    if low is not None:
        assert values.min() >= low - 1e-7 and values.max() <= high + 1e-7
        # the samples reach close to both ends
        assert values.min() < low + 0.01 * (high - low)
        assert values.max() > high - 0.01 * (high - low)


@pytest.mark.parametrize("name,scale,fan,uniform", [
    ("glorot_uniform", 1.0, (CONV_FAN_IN + CONV_FAN_OUT) / 2, True),
    ("glorot_normal", 1.0, (CONV_FAN_IN + CONV_FAN_OUT) / 2, False),
    ("he_uniform", 2.0, CONV_FAN_IN, True),
    ("he_normal", 2.0, CONV_FAN_IN, False),
    ("lecun_uniform", 1.0, CONV_FAN_IN, True),
    ("lecun_normal", 1.0, CONV_FAN_IN, False),
])
def test_named_variance_scaling_on_conv_kernels(name, scale, fan, uniform):
    init = initializers.get(name)
    values = np.concatenate([type(init)(seed=s)(CONV_SHAPE).ravel() for s in range(8)])
    target_std = math.sqrt(scale / fan)
    assert values.std() == pytest.approx(target_std, rel=0.02)
    assert abs(values.mean()) < 4 * target_std / math.sqrt(values.size)
    if uniform:
        limit = math.sqrt(3 * scale / fan)
        assert np.abs(values).max() <= limit
        assert np.abs(values).max() > 0.99 * limit
    else:
        # truncated at two standard deviations of the untruncated normal
        limit = 2 * target_std / TRUNCATED_STD
        assert np.abs(values).max() <= limit * (1 + 1e-6)
        assert np.abs(values).max() > 0.95 * limit


@pytest.mark.parametrize("mode,fan", [("fan_in", 40), ("fan_out", 160), ("fan_avg", 100)])
def test_variance_scaling_modes_and_distributions(mode, fan):
    shape = (40, 160)
    scale = 3.0
    uniform = initializers.VarianceScaling(scale, mode, "uniform", seed=1)(shape)
    limit = math.sqrt(3 * scale / fan)
    assert np.abs(uniform).max() <= limit and np.abs(uniform).max() > 0.99 * limit
    untruncated = initializers.VarianceScaling(scale, mode, "untruncated_normal", seed=1)(shape)
    assert untruncated.std() == pytest.approx(math.sqrt(scale / fan), rel=0.03)
    truncated = initializers.VarianceScaling(scale, mode, seed=1)(shape)
    assert truncated.std() == pytest.approx(math.sqrt(scale / fan), rel=0.03)
    assert np.abs(truncated).max() <= 2 * math.sqrt(scale / fan) / TRUNCATED_STD + 1e-6


def test_variance_scaling_errors():
    with pytest.raises(ValueError, match="scale must be positive, got 0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="invalid mode 'fan_max'"):
        initializers.VarianceScaling(mode="fan_max")
    with pytest.raises(ValueError, match="invalid distribution 'cauchy'"):
        initializers.VarianceScaling(distribution="cauchy")


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 8)])
def test_orthogonal(shape):
    gain = 1.5
    q = initializers.Orthogonal(gain=gain, seed=2)(shape, dtype="float64").reshape(-1, shape[-1])
    rows, cols = q.shape
    if rows >= cols:
        np.testing.assert_allclose(q.T @ q, gain ** 2 * np.eye(cols), atol=1e-12)
    else:
        np.testing.assert_allclose(q @ q.T, gain ** 2 * np.eye(rows), atol=1e-12)


def test_identity():
    np.testing.assert_array_equal(initializers.Identity()((3, 3)), np.eye(3))
    np.testing.assert_array_equal(initializers.Identity(gain=2.0)((2, 4)), 2 * np.eye(2, 4))
    with pytest.raises(ValueError, match=r"Identity initializer needs a 2D shape, got \(2, 2, 2\)"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="Orthogonal initializer needs a shape of rank >= 2"):
        initializers.Orthogonal()((5,))


@pytest.mark.parametrize("cls", [initializers.RandomNormal, initializers.RandomUniform,
                                 initializers.TruncatedNormal, initializers.GlorotUniform,
                                 initializers.HeNormal, initializers.Orthogonal,
                                 initializers.VarianceScaling])
def test_seeds_are_reproducible(cls):
    a = cls(seed=7)((8, 8))
    np.testing.assert_array_equal(a, cls(seed=7)((8, 8)))
    np.testing.assert_array_equal(a, cls(seed=7)((8, 8)))
    assert not np.array_equal(a, cls(seed=8)((8, 8)))
    # unseeded calls differ from each other
    assert not np.array_equal(cls()((8, 8)), cls()((8, 8)))


def test_seeded_dense_kernels_match():
    a = Dense(4, kernel_initializer=initializers.GlorotUniform(seed=5))
    b = Dense(4, kernel_initializer=initializers.GlorotUniform(seed=5))
    a.build((None, 3))
    b.build((None, 3))
    np.testing.assert_array_equal(a.get_weights()[0], b.get_weights()[0])


@pytest.mark.parametrize("name,cls", [
    ("zeros", initializers.Zeros), ("zero", initializers.Zeros), ("ones", initializers.Ones),
    ("one", initializers.Ones), ("constant", initializers.Constant),
    ("random_normal", initializers.RandomNormal), ("normal", initializers.RandomNormal),
    ("random_uniform", initializers.RandomUniform), ("uniform", initializers.RandomUniform),
    ("truncated_normal", initializers.TruncatedNormal),
    ("glorot_uniform", initializers.GlorotUniform), ("GlorotUniform", initializers.GlorotUniform),
    ("glorot_normal", initializers.GlorotNormal), ("he_uniform", initializers.HeUniform),
    ("he_normal", initializers.HeNormal), ("lecun_uniform", initializers.LecunUniform),
    ("lecun_normal", initializers.LecunNormal), ("orthogonal", initializers.Orthogonal),
    ("identity", initializers.Identity), ("variance_scaling", initializers.VarianceScaling),
])
def test_get_by_name_and_alias(name, cls):
    assert type(initializers.get(name)) is cls


def test_get_serialize_deserialize_and_errors():
    init = initializers.RandomNormal(mean=0.5, stddev=2.0, seed=4)
    config = initializers.serialize(init)
    assert config == {"class_name": "RandomNormal",
                      "config": {"mean": 0.5, "stddev": 2.0, "seed": 4}}
    rebuilt = initializers.get(config)
    np.testing.assert_array_equal(rebuilt((3, 3)), init((3, 3)))
    vs = initializers.deserialize(initializers.serialize(
        initializers.VarianceScaling(2.0, "fan_out", "uniform", seed=1)))
    assert (vs.scale, vs.mode, vs.distribution, vs.seed) == (2.0, "fan_out", "uniform", 1)
    assert initializers.get(None) is None
    assert isinstance(initializers.get(initializers.Ones), initializers.Ones)
    assert initializers.get(init) is init
    with pytest.raises(ValueError, match="Unknown initializer 'bogus'"):
        initializers.get("bogus")
    with pytest.raises(ValueError, match="Unknown initializer 'Bogus'"):
        initializers.get({"class_name": "Bogus", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret initializer 3"):
        initializers.get(3)
