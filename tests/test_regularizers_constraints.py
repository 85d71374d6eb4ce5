"""gkeras.regularizers and gkeras.constraints: values against NumPy formulas."""
import numpy as np
import pytest

from gkeras import config, constraints, regularizers
from gkeras.layers import Dense

W = np.array([[0.5, -2.0, 3.0],
              [-1.5, 0.0, 4.0]], dtype="float64")
EPS = config.epsilon()


def value(x):
    return float(np.asarray(x))


def test_regularizer_values():
    assert value(regularizers.L1(0.3)(W)) == pytest.approx(0.3 * np.abs(W).sum())
    assert value(regularizers.L2(0.2)(W)) == pytest.approx(0.2 * np.square(W).sum())
    assert value(regularizers.L1L2(l1=0.1, l2=0.05)(W)) == pytest.approx(
        0.1 * np.abs(W).sum() + 0.05 * np.square(W).sum())
    assert value(regularizers.l1_l2(l1=0.1, l2=0.05)(W)) == pytest.approx(
        0.1 * np.abs(W).sum() + 0.05 * np.square(W).sum())
    # Keras defaults
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    assert (regularizers.L1L2().l1, regularizers.L1L2().l2) == (0.0, 0.0)
    assert value(regularizers.L1L2()(W)) == 0.0


def test_regularizer_get_and_serialize():
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert isinstance(regularizers.get("l1_l2"), regularizers.L1L2)
    reg = regularizers.get(regularizers.serialize(regularizers.L1L2(l1=0.5, l2=0.25)))
    assert (reg.l1, reg.l2) == (0.5, 0.25)
    assert regularizers.serialize(regularizers.L2(0.3)) == {"class_name": "L2",
                                                            "config": {"l2": 0.3}}
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Unknown regularizer 'L3'"):
        regularizers.get({"class_name": "L3", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret regularizer 1.5"):
        regularizers.get(1.5)


def test_dense_regularization_losses():
    layer = Dense(3, kernel_initializer="ones", bias_initializer="ones",
                  kernel_regularizer=regularizers.L2(0.1), bias_regularizer=regularizers.L1(0.5))
    layer.build((None, 4))
    losses = [value(loss) for loss in layer.losses]
    assert losses == pytest.approx([0.1 * 12, 0.5 * 3])


def test_activity_regularizer_is_averaged_over_the_batch():
    layer = Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.L1(0.5))
    x = np.arange(12, dtype="float32").reshape(4, 3)
    y = np.asarray(layer(x))
    assert [value(loss) for loss in layer.losses] == pytest.approx(
        [0.5 * np.abs(y).sum() / 4])


def norms(w, axis):
    return np.sqrt(np.square(w).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("axis", [0, 1])
def test_max_norm(axis):
    out = np.asarray(constraints.MaxNorm(max_value=2.5, axis=axis)(W))
    n = norms(W, axis)
    np.testing.assert_allclose(out, W * np.clip(n, 0, 2.5) / (EPS + n), rtol=1e-12)
    assert norms(out, axis).max() <= 2.5 + 1e-6
    # default: max_value=2 along axis 0
    default = constraints.MaxNorm()
    assert (default.max_value, default.axis) == (2, 0)


def test_non_neg():
    np.testing.assert_array_equal(np.asarray(constraints.NonNeg()(W)), np.maximum(W, 0))


@pytest.mark.parametrize("axis", [0, 1])
def test_unit_norm(axis):
    out = np.asarray(constraints.UnitNorm(axis=axis)(W))
    np.testing.assert_allclose(out, W / (EPS + norms(W, axis)), rtol=1e-12)
    np.testing.assert_allclose(norms(out, axis), 1.0, rtol=1e-6)


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_min_max_norm(rate):
    out = np.asarray(constraints.MinMaxNorm(min_value=1.0, max_value=3.0, rate=rate)(W))
    n = norms(W, 0)
    desired = rate * np.clip(n, 1.0, 3.0) + (1 - rate) * n
    np.testing.assert_allclose(out, W * desired / (EPS + n), rtol=1e-12)


def test_constraint_get_serialize_and_dense_storage():
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm),
                      ("min_max_norm", constraints.MinMaxNorm)]:
        assert isinstance(constraints.get(name), cls)
    rebuilt = constraints.get(constraints.serialize(constraints.MaxNorm(3.0, axis=1)))
    assert (rebuilt.max_value, rebuilt.axis) == (3.0, 1)
    with pytest.raises(ValueError, match="Unknown constraint 'positive'"):
        constraints.get("positive")
    with pytest.raises(ValueError, match="Could not interpret constraint 7"):
        constraints.get(7)
    # stored on the layer and its variables; optimizers apply them after each update
    layer = Dense(2, kernel_constraint="max_norm", bias_constraint=constraints.NonNeg())
    layer.build((None, 3))
    assert isinstance(layer.kernel.constraint, constraints.MaxNorm)
    assert isinstance(layer.bias.constraint, constraints.NonNeg)
    assert layer.get_config()["kernel_constraint"] == {"class_name": "MaxNorm",
                                                       "config": {"max_value": 2, "axis": 0}}
