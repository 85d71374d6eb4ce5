"""BatchNormalization, LayerNormalization and GroupNormalization: values against NumPy,
the training flag (eager, fit, nested, frozen), weights and configs as Keras, masks, gradient
checks in float64, HDF5 round trips and clear errors."""
import numpy as np
import pytest

import gkeras
from gkeras import GradientTape, Tensor, layers, models
from gkeras.testing import check_gradients

RNG = np.random.default_rng(3)


def _images(*shape, offset=0.5):
    return (RNG.standard_normal(shape) * 2 + offset).astype("float32")


def _np_batch_norm(x, axes_kept, mean=None, var=None, gamma=1.0, beta=0.0, eps=1e-3):
    reduce = tuple(a for a in range(x.ndim) if a not in axes_kept)
    shape = [x.shape[a] if a in axes_kept else 1 for a in range(x.ndim)]
    mean = x.mean(reduce, keepdims=True) if mean is None else np.reshape(mean, shape)
    var = x.var(reduce, keepdims=True) if var is None else np.reshape(var, shape)
    return (x - mean) / np.sqrt(var + eps) * np.reshape(gamma, shape if np.ndim(gamma) else
                                                         ()) + np.reshape(
        beta, shape if np.ndim(beta) else ())


def _randomize(layer):
    layer.set_weights([RNG.uniform(0.5, 1.5, w.shape).astype(w.dtype) if "variance" in w.name
                       or "gamma" in w.name else RNG.standard_normal(w.shape).astype(w.dtype)
                       for w in layer.weights])


# --- BatchNormalization -------------------------------------------------------------------

def test_defaults_weights_and_config_follow_keras():
    bn = layers.BatchNormalization()
    assert (bn.axis, bn.momentum, bn.epsilon, bn.center, bn.scale) == (-1, 0.99, 1e-3, True,
                                                                       True)
    bn.build((None, 4, 4, 3))
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["gamma", "beta"]
    assert [w.name for w in bn.non_trainable_weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_array_equal(bn.get_weights()[0], np.ones(3))
    np.testing.assert_array_equal(bn.get_weights()[3], np.ones(3))
    config = bn.get_config()
    assert {k: config[k] for k in ("axis", "momentum", "epsilon", "center", "scale",
                                   "synchronized", "renorm")} == {
        "axis": -1, "momentum": 0.99, "epsilon": 1e-3, "center": True, "scale": True,
        "synchronized": False, "renorm": False}
    assert config["moving_variance_initializer"]["class_name"] == "Ones"
    clone = layers.BatchNormalization.from_config(config)
    assert clone.get_config() == config


def test_center_and_scale_off_leave_only_the_moving_statistics():
    bn = layers.BatchNormalization(center=False, scale=False)
    x = _images(6, 3)
    y = bn(x, training=True)
    assert [w.name for w in bn.weights] == ["moving_mean", "moving_variance"]
    np.testing.assert_allclose(y.numpy(), _np_batch_norm(x, (1,)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,axis", [((8, 3), -1), ((4, 5, 5, 3), -1), ((4, 3, 5, 5), 1),
                                        ((4, 6, 3), 1), ((4, 5, 3), 2)])
def test_training_normalizes_with_batch_statistics_and_updates_moving_ones(shape, axis):
    bn = layers.BatchNormalization(axis=axis, momentum=0.8)
    x = _images(*shape)
    bn.build(x.shape)
    _randomize(bn)
    gamma, beta, mean0, var0 = bn.get_weights()
    kept = (axis % len(shape),)
    y = bn(x, training=True)
    np.testing.assert_allclose(y.numpy(), _np_batch_norm(x, kept, gamma=gamma, beta=beta),
                               rtol=1e-4, atol=1e-4)
    reduce = tuple(a for a in range(len(shape)) if a not in kept)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean0 * 0.8 + x.mean(reduce) * 0.2,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var0 * 0.8 + x.var(reduce) * 0.2,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,axis", [((4, 5, 5, 3), -1), ((4, 3, 5, 5), 1)])
def test_inference_uses_the_moving_statistics_and_changes_nothing(shape, axis):
    bn = layers.BatchNormalization(axis=axis)
    x = _images(*shape)
    bn.build(x.shape)
    _randomize(bn)
    before = bn.get_weights()
    gamma, beta, mean, var = before
    kept = (axis % len(shape),)
    for y in (bn(x), bn(x, training=False), bn(Tensor(x))):
        np.testing.assert_allclose(y.numpy(), _np_batch_norm(x, kept, mean, var, gamma, beta),
                                   rtol=1e-4, atol=1e-5)
    for w, w0 in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(w, w0)


def test_channels_first_axis_1_is_channels_last_transposed():
    x = _images(3, 4, 5, 6)
    first = layers.BatchNormalization(axis=1)
    last = layers.BatchNormalization()
    y_first = first(x, training=True)
    y_last = last(np.moveaxis(x, 1, -1), training=True)
    np.testing.assert_allclose(np.moveaxis(y_first.numpy(), 1, -1), y_last.numpy(), atol=1e-5)
    np.testing.assert_allclose(first.moving_variance.numpy(), last.moving_variance.numpy(),
                               rtol=1e-6)


def test_keras2_list_axis_and_adjacent_axes():
    bn = layers.BatchNormalization(axis=[3])  # what Keras 2 configs hold
    x = _images(2, 3, 4, 5)
    np.testing.assert_allclose(bn(x, training=True).numpy(), _np_batch_norm(x, (3,)),
                               atol=1e-4)
    both = layers.BatchNormalization(axis=[1, 2])
    y = both(x, training=True)
    assert both.gamma.shape == (1, 3, 4, 1)  # Keras 2's broadcast parameter shape
    np.testing.assert_allclose(y.numpy(), _np_batch_norm(x, (1, 2)), rtol=1e-4, atol=1e-4)


def test_training_flag_inherited_in_a_model_and_in_fit():
    model = models.Sequential([layers.Dense(4, input_shape=(3,)),
                               layers.BatchNormalization(momentum=0.5), layers.Dense(1)])
    bn = model.layers[1]
    x = _images(16, 3)
    model(x)  # inference: no update
    np.testing.assert_array_equal(bn.moving_mean.numpy(), np.zeros(4))
    model(x, training=True)  # passed down to the nested layer
    assert not np.allclose(bn.moving_mean.numpy(), 0)
    model.compile("sgd", "mse")
    before = bn.moving_variance.numpy()
    model.fit(x, _images(16, 1), batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(bn.moving_variance.numpy(), before)
    after_fit = bn.get_weights()
    model.evaluate(x, _images(16, 1), verbose=0)
    model.predict(x, verbose=0)
    for w, w0 in zip(bn.get_weights(), after_fit):
        np.testing.assert_array_equal(w, w0)


def test_trainable_false_freezes_into_inference_mode_as_keras3():
    model = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.BatchNormalization(),
                               layers.Dense(1)])
    bn = model.layers[1]
    bn.trainable = False
    _randomize(bn)
    frozen = bn.get_weights()
    x = _images(16, 3)
    h = model.layers[0](x).numpy()
    gamma, beta, mean, var = frozen
    np.testing.assert_allclose(bn(h, training=True).numpy(),
                               _np_batch_norm(h, (1,), mean, var, gamma, beta), rtol=1e-4,
                               atol=1e-5)
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    model.compile("sgd", "mse")
    dense_before = model.layers[0].get_weights()[0]
    model.fit(x, _images(16, 1), batch_size=4, epochs=1, verbose=0)
    for w, w0 in zip(bn.get_weights(), frozen):
        np.testing.assert_array_equal(w, w0)
    assert not np.allclose(model.layers[0].get_weights()[0], dense_before)  # gradient passed


def test_masked_training_statistics_ignore_masked_steps():
    x = _images(2, 4, 3)
    mask = np.array([[True, True, False, False], [True, True, True, False]])
    bn = layers.BatchNormalization(momentum=0.0)
    y = bn(x, training=True, mask=mask)
    valid = x[mask]
    np.testing.assert_allclose(bn.moving_mean.numpy(), valid.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), valid.var(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y.numpy()[mask], (valid - valid.mean(0)) /
                               np.sqrt(valid.var(0) + 1e-3), rtol=1e-4, atol=1e-4)


def test_inference_gradients_match_finite_differences():
    bn = layers.BatchNormalization(axis=1, dtype="float64")
    x = RNG.standard_normal((3, 2, 4))
    bn.build(x.shape)
    _randomize(bn)
    check_gradients(bn, x)


@pytest.mark.parametrize("shape,axis", [((5, 3), -1), ((3, 2, 3, 2), 1)])
def test_training_gradients_match_finite_differences(shape, axis):
    bn = layers.BatchNormalization(axis=axis, dtype="float64")
    x = RNG.standard_normal(shape)
    bn.build(shape)
    _randomize(bn)
    upstream = RNG.standard_normal(shape)

    def loss(x_value):
        return float(np.sum(bn(x_value, training=True).numpy() * upstream))
    xt = Tensor(x)
    with GradientTape() as tape:
        tape.watch(xt)
        out = bn(xt, training=True)
    dx, dgamma, dbeta = tape.gradient(out, [xt, bn.gamma, bn.beta], output_gradients=upstream)
    numeric = np.zeros_like(x)
    for index in np.ndindex(*shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += 1e-6
        minus[index] -= 1e-6
        numeric[index] = (loss(plus) - loss(minus)) / 2e-6
    np.testing.assert_allclose(dx.numpy(), numeric, rtol=1e-5, atol=1e-7)
    xhat = _np_batch_norm(x, (axis % len(shape),))
    reduce = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    np.testing.assert_allclose(dgamma.numpy(), (upstream * xhat).sum(reduce), rtol=1e-6)
    np.testing.assert_allclose(dbeta.numpy(), upstream.sum(reduce), rtol=1e-10)


def test_hdf5_round_trip_keeps_moving_statistics_and_config(tmp_path):
    model = models.Sequential([layers.Conv2D(3, 3, input_shape=(6, 6, 2)),
                               layers.BatchNormalization(momentum=0.9, epsilon=0.01),
                               layers.LayerNormalization(axis=[1, 2, 3]),
                               layers.GroupNormalization(groups=3), layers.Flatten(),
                               layers.Dense(2)])
    x = _images(4, 6, 6, 2)
    model(x, training=True)
    model.save(tmp_path / "m.h5")
    loaded = models.load_model(tmp_path / "m.h5")
    assert loaded.layers[1].get_config() == model.layers[1].get_config()
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = models.Sequential.from_config(model.get_config())
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(fresh.layers[1].moving_mean.numpy(),
                                  model.layers[1].moving_mean.numpy())


def test_summary_counts_moving_statistics_as_non_trainable(capsys):
    model = models.Sequential([layers.Dense(5, input_shape=(3,)), layers.BatchNormalization()])
    model.summary()
    out = capsys.readouterr().out
    assert "Total params: 40" in out and "Non-trainable params: 10" in out


@pytest.mark.parametrize("kwargs,message", [
    (dict(renorm=True), "renorm is not supported"),
    (dict(virtual_batch_size=4), "virtual_batch_size is not supported"),
    (dict(momentum=1.5), "`momentum` must be a number in [0, 1]"),
    (dict(epsilon=0), "`epsilon` must be a positive number"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match="BatchNormalization 'bn'.*" + message.replace(
            "[", r"\[").replace("]", r"\]").replace("`", ".")):
        layers.BatchNormalization(name="bn", **kwargs)


def test_bad_axes_and_unknown_channel_sizes_are_named():
    with pytest.raises(ValueError, match=r"BatchNormalization 'b1': invalid `axis` 4 for an "
                                         r"input of rank 3"):
        layers.BatchNormalization(axis=4, name="b1")(_images(2, 3, 4))
    with pytest.raises(ValueError, match="must name distinct non-batch axes"):
        layers.BatchNormalization(axis=0, name="b2")(_images(2, 3))
    with pytest.raises(ValueError, match="must be adjacent"):
        layers.BatchNormalization(axis=[1, 3], name="b3")(_images(2, 3, 4, 5))
    inputs = gkeras.Input((None, 3))
    with pytest.raises(ValueError, match=r"normalized axis \[1\] of the input must have a "
                                         r"known size"):
        layers.BatchNormalization(axis=1, name="b4")(inputs)
    bn = layers.BatchNormalization(name="b5")
    bn(_images(2, 3))
    with pytest.raises(ValueError, match='layer "b5".*expected axis 1 of input shape to have '
                                         'value 3'):
        bn(_images(2, 4))


# --- LayerNormalization -------------------------------------------------------------------

def _np_layer_norm(x, axes, gamma=None, beta=None, eps=1e-3):
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    y = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    y = y if gamma is None else y * np.reshape(gamma, shape)
    return y if beta is None else y + np.reshape(beta, shape)


@pytest.mark.parametrize("axis,axes", [(-1, (2,)), ([1, 2], (1, 2)), (1, (1,)),
                                       ((1, -1), (1, 2))])
def test_layer_normalization_values_and_weights(axis, axes):
    ln = layers.LayerNormalization(axis=axis)
    x = _images(2, 3, 4)
    ln.build(x.shape)
    assert [w.name for w in ln.weights] == ["gamma", "beta"]
    assert ln.gamma.shape == tuple(x.shape[a] for a in axes)
    _randomize(ln)
    gamma, beta = ln.get_weights()
    np.testing.assert_allclose(ln(x).numpy(), _np_layer_norm(x, axes, gamma, beta), rtol=1e-4,
                               atol=1e-5)
    # the same in training: no batch statistics, no state
    np.testing.assert_array_equal(ln(x, training=True).numpy(), ln(x).numpy())


def test_layer_normalization_config_and_gradients():
    ln = layers.LayerNormalization(axis=[1, 2], epsilon=0.01, center=False, dtype="float64")
    config = ln.get_config()
    assert (config["axis"], config["epsilon"], config["center"], config["rms_scaling"]) == (
        [1, 2], 0.01, False, False)
    assert layers.LayerNormalization.from_config(config).get_config() == config
    x = RNG.standard_normal((2, 3, 2))
    ln.build(x.shape)
    _randomize(ln)
    check_gradients(ln, x)
    with pytest.raises(ValueError, match="rms_scaling"):
        layers.LayerNormalization(rms_scaling=True)


# --- GroupNormalization -------------------------------------------------------------------

def _np_group_norm(x, groups, axis, gamma, beta, eps=1e-3):
    x_last = np.moveaxis(x, axis, -1)
    n, c = x_last.shape[0], x_last.shape[-1]
    grouped = x_last.reshape(n, -1, groups, c // groups)
    mean = grouped.mean((1, 3), keepdims=True)
    var = grouped.var((1, 3), keepdims=True)
    y = ((grouped - mean) / np.sqrt(var + eps)).reshape(x_last.shape) * gamma + beta
    return np.moveaxis(y, -1, axis)


@pytest.mark.parametrize("groups,axis,shape", [(2, -1, (2, 3, 4, 6)), (3, 1, (2, 6, 4, 3)),
                                               (-1, -1, (2, 5, 4)), (1, -1, (3, 4))])
def test_group_normalization_values(groups, axis, shape):
    gn = layers.GroupNormalization(groups=groups, axis=axis)
    x = _images(*shape)
    gn.build(x.shape)
    _randomize(gn)
    gamma, beta = gn.get_weights()
    count = shape[axis] if groups == -1 else groups
    np.testing.assert_allclose(gn(x).numpy(), _np_group_norm(x, count, axis % len(shape),
                                                             gamma, beta),
                               rtol=1e-4, atol=1e-4)


def test_group_normalization_gradients_config_and_errors():
    gn = layers.GroupNormalization(groups=2, dtype="float64")
    x = RNG.standard_normal((2, 3, 4))
    gn.build(x.shape)
    _randomize(gn)
    check_gradients(gn, x)
    config = gn.get_config()
    assert config["groups"] == 2 and layers.GroupNormalization.from_config(config).groups == 2
    with pytest.raises(ValueError, match=r"GroupNormalization 'g': the 6 channels of axis 2 "
                                         r"cannot be split into groups=4"):
        layers.GroupNormalization(groups=4, name="g")(_images(2, 3, 6))
    with pytest.raises(ValueError, match="`groups` must be a positive integer or -1"):
        layers.GroupNormalization(groups=0)


def test_regularizers_and_constraints_apply_to_gamma_and_beta():
    bn = layers.BatchNormalization(gamma_regularizer=gkeras.regularizers.L2(0.1),
                                   beta_regularizer="l1", beta_constraint="non_neg")
    bn.build((None, 3))
    bn.set_weights([np.full(3, 2.0), np.full(3, -1.0), np.zeros(3), np.ones(3)])
    np.testing.assert_allclose(sorted(float(loss) for loss in bn.losses), [0.03, 1.2],
                               rtol=1e-6)
    assert bn.beta.constraint is not None and bn.moving_mean.regularizer is None
    config = bn.get_config()
    assert config["gamma_regularizer"]["config"]["l2"] == pytest.approx(0.1)
    assert config["beta_constraint"]["class_name"] == "NonNeg"


def test_freezing_the_whole_model_freezes_its_batch_normalization():
    model = models.Sequential([layers.Dense(3, input_shape=(2,)), layers.BatchNormalization()])
    model.trainable = False
    bn = model.layers[1]
    before = bn.get_weights()
    model(_images(8, 2), training=True)
    for w, w0 in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    assert model.trainable_weights == []


def test_masking_layer_mask_reaches_batch_normalization():
    x = _images(3, 5, 2)
    x[0, 3:] = 0.0  # padded steps
    x[2, 1:] = 0.0
    model = models.Sequential([layers.Masking(0.0, input_shape=(5, 2)),
                               layers.BatchNormalization(momentum=0.0)])
    model(x, training=True)
    valid = x[np.any(x != 0, axis=-1)]
    np.testing.assert_allclose(model.layers[1].moving_mean.numpy(), valid.mean(0), rtol=1e-5)
    np.testing.assert_allclose(model.layers[1].moving_variance.numpy(), valid.var(0),
                               rtol=1e-4)
