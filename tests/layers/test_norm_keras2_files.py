"""Keras 2 (tf_keras 2.21) HDF5 files of the normalization, activation and noise layers load
and run as Keras 2 ran them; a Keras 2 BatchNormalization model trains (4 SGD steps of fit)
to Keras 2's weights and moving statistics. The files come from
tests/fixtures/make_norm_keras2_fixtures.py."""
import os

import numpy as np

import gkeras

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")


def test_keras2_model_of_every_layer_loads_and_runs_the_same():
    reference = np.load(os.path.join(FIXTURES, "k2_norm_model.npz"))
    model = gkeras.models.load_model(os.path.join(FIXTURES, "k2_norm_model.h5"), compile=False)
    assert [type(layer).__name__ for layer in model.layers[1:-2]] == [
        "BatchNormalization", "Permute", "BatchNormalization", "Permute",
        "LayerNormalization", "ReLU", "GaussianNoise", "LeakyReLU", "GaussianDropout",
        "PReLU", "SpatialDropout2D", "AlphaDropout", "ELU", "ThresholdedReLU",
        "ActivityRegularization", "Softmax"]
    bn = model.get_layer("bn_first")
    assert bn.axis == [1] and [w.name for w in bn.weights] == [
        "gamma", "beta", "moving_mean", "moving_variance"]
    assert not np.allclose(bn.moving_variance.numpy(), 1)  # Keras 2's random values arrived
    assert np.isclose(model.get_layer("leaky").negative_slope, 0.2)
    names = [str(n) for n in reference["names"]]
    probe = gkeras.Model(model.inputs, [model.get_layer(n).output for n in names])
    for name, got in zip(names, probe.predict(reference["x"], verbose=0)):
        want = reference[f"out_{name}"]
        assert np.all(np.isfinite(want)) and want.std() > 0, name
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=name)


def test_keras2_batch_normalization_fit_matches_keras2():
    """Everything as Keras 2, but the moving variance: gkeras follows Keras 3 (the biased
    batch variance), while Keras 2 on TensorFlow's fused kernel (4-D inputs, axis 1 or 3)
    averages the unbiased one, ``count / (count - 1)`` times larger."""
    reference = np.load(os.path.join(FIXTURES, "k2_bn_train.npz"))
    model = gkeras.models.load_model(os.path.join(FIXTURES, "k2_bn_train.h5"), compile=False)
    model.compile(optimizer=gkeras.optimizers.SGD(0.05), loss="mse")
    before = model.get_weights()
    model.fit(reference["x"], reference["y"], batch_size=8, epochs=2, shuffle=False, verbose=0)
    moved = 0
    for i, (w, w0) in enumerate(zip(model.get_weights(), before)):
        want = reference[f"w{i}"]
        moved += not np.allclose(want, w0)
        if model.weights[i].name == "moving_variance":
            # 4 steps of v = 0.8 v + 0.2 batch_var: the batch part scales by the correction
            decayed = w0 * 0.8 ** 4
            count = 8 * 5 * 4  # examples x rows x columns per channel
            np.testing.assert_allclose(want - decayed, (w - decayed) * count / (count - 1),
                                       rtol=1e-4)
            continue
        np.testing.assert_allclose(w, want, rtol=1e-4, atol=1e-5, err_msg=model.weights[i].path)
    assert moved >= 6  # conv, gamma, beta, moving statistics and head all trained
