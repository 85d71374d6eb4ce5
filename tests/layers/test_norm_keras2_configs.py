"""Keras 2 (tf.keras 2.x) configs of the normalization, activation and noise layers -- the
spellings Keras 2 HDF5 files carry -- rebuild the same layers."""
import json

import numpy as np

from gkeras import models

ZEROS, ONES = {"class_name": "Zeros", "config": {}}, {"class_name": "Ones", "config": {}}
KERAS2_LAYERS = [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 6, 4],
                                            "dtype": "float32", "sparse": False,
                                            "ragged": False, "name": "input_1"}},
    {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [3],
        "momentum": 0.9, "epsilon": 0.001, "center": True, "scale": True,
        "beta_initializer": ZEROS, "gamma_initializer": ONES,
        "moving_mean_initializer": ZEROS, "moving_variance_initializer": ONES,
        "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
        "gamma_constraint": None}},
    {"class_name": "LeakyReLU", "config": {"name": "leaky_re_lu", "trainable": True,
                                           "dtype": "float32", "alpha": 0.1}},
    {"class_name": "PReLU", "config": {"name": "p_re_lu", "trainable": True, "dtype": "float32",
                                       "alpha_initializer": ZEROS, "alpha_regularizer": None,
                                       "alpha_constraint": None, "shared_axes": [1, 2]}},
    {"class_name": "ThresholdedReLU", "config": {"name": "thresholded_re_lu", "trainable": True,
                                                 "dtype": "float32", "theta": 0.5}},
    {"class_name": "SpatialDropout2D", "config": {"name": "spatial_dropout2d", "trainable": True,
                                                  "dtype": "float32", "rate": 0.2,
                                                  "noise_shape": None, "seed": None}},
    {"class_name": "GaussianNoise", "config": {"name": "gaussian_noise", "trainable": True,
                                               "dtype": "float32", "stddev": 0.1}},
    {"class_name": "AlphaDropout", "config": {"name": "alpha_dropout", "trainable": True,
                                              "dtype": "float32", "rate": 0.1,
                                              "noise_shape": None, "seed": None}},
    {"class_name": "LayerNormalization", "config": {
        "name": "layer_normalization", "trainable": True, "dtype": "float32", "axis": [3],
        "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": ZEROS,
        "gamma_initializer": ONES, "beta_regularizer": None, "gamma_regularizer": None,
        "beta_constraint": None, "gamma_constraint": None}},
    {"class_name": "Softmax", "config": {"name": "softmax", "trainable": True,
                                         "dtype": "float32", "axis": -1}},
]


def test_keras2_sequential_json_rebuilds_the_layers():
    text = json.dumps({"class_name": "Sequential", "config": {
        "name": "sequential", "layers": KERAS2_LAYERS}, "keras_version": "2.13.1",
        "backend": "tensorflow"})
    model = models.model_from_json(text)
    bn, leaky, prelu, thresholded, spatial = model.layers[:5]
    assert bn.axis == [3] and bn.momentum == 0.9
    assert [w.name for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert leaky.negative_slope == 0.1 and thresholded.theta == 0.5
    assert prelu.alpha.shape == (1, 1, 4)
    assert spatial.noise_shape == (None, 1, 1, None) and spatial.data_format == "channels_last"
    assert model.count_params() == 4 * 4 + 4 + 4 * 2
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    y = model.predict(x, verbose=0)
    assert np.allclose(y.sum(-1), 1, atol=1e-6)
    # reloaded configs are stable
    again = models.model_from_json(model.to_json())
    assert [layer.get_config() for layer in again.layers] == [
        layer.get_config() for layer in model.layers]
