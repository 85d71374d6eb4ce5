"""Regression tests for review findings in metrics, optimizers, callbacks, saving and
regularizers (each fails on the code before its fix)."""
import csv
import os
import stat

import numpy as np
import pytest

import gkeras
from gkeras import activations, callbacks, layers, metrics, optimizers, regularizers
from gkeras.variables import Variable


# --- metrics -----------------------------------------------------------------------------------
def test_accuracy_functions_are_elementwise_as_keras3():
    y = np.array([[1, 0, 1], [0, 0, 1]], dtype="float32")
    p = np.array([[0.9, 0.6, 0.2], [0.1, 0.3, 0.8]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(metrics.binary_accuracy(y, p)),
                                  [[1, 0, 0], [1, 1, 1]])
    np.testing.assert_array_equal(np.asarray(metrics.accuracy(y, (p > 0.5) * 1.0)),
                                  [[1, 0, 0], [1, 1, 1]])
    # elementwise sample weights (Keras 3: 1.0 for both; the weight-1 entries all match)
    weights = np.array([[1, 0, 0], [1, 1, 1]], dtype="float32")
    binary = metrics.BinaryAccuracy()
    binary.update_state(y, p, sample_weight=weights)
    np.testing.assert_allclose(np.asarray(binary.result()), 1.0)
    exact = metrics.Accuracy()
    exact.update_state(y, (p > 0.5) * 1.0, sample_weight=weights)
    np.testing.assert_allclose(np.asarray(exact.result()), 1.0)
    # per-sample weights still weigh each row's mean
    binary.reset_state()
    binary.update_state(y, p, sample_weight=np.array([1.0, 3.0]))
    np.testing.assert_allclose(np.asarray(binary.result()), (1 / 3 + 3 * 1) / 4, rtol=1e-6)


def test_unknown_metric_error_lists_only_usable_names():
    with pytest.raises(ValueError, match="Unknown metric") as info:
        metrics.get("no_such_metric")
    names = str(info.value).split("Valid names: ", 1)[1].rstrip(".").split(", ")
    assert "accuracy" in names and "mse" in names
    assert "Metric" not in names and "metric" not in names


# --- optimizers --------------------------------------------------------------------------------
def _two_variables():
    kernel = Variable(np.ones((2, 2)), name="kernel")
    kernel.path = "dense/kernel"
    bias = Variable(np.ones(2), name="bias")
    bias.path = "dense/bias"
    return [kernel, bias]


@pytest.mark.parametrize("cls, kwargs, slots", [
    (optimizers.Adam, {"amsgrad": True},
     ["kernel_momentum", "kernel_velocity", "bias_momentum", "bias_velocity",
      "kernel_velocity_hat", "bias_velocity_hat"]),
    (optimizers.Nadam, {},
     ["kernel_momentum", "kernel_velocity", "bias_momentum", "bias_velocity", "u_product"]),
    (optimizers.Adadelta, {},
     ["kernel_accumulated_grad", "kernel_accumulated_delta_var", "bias_accumulated_grad",
      "bias_accumulated_delta_var"]),
])
def test_optimizer_slots_are_interleaved_as_keras3(cls, kwargs, slots):
    # Keras 3.15's order (its add_optimizer_variables interleaves the names per weight)
    optimizer = cls(**kwargs)
    optimizer.build(_two_variables())
    names = [v.name.replace("dense_", "") for v in optimizer.variables[2:]]
    assert names == slots


def test_loss_scale_factor_numpy_scalar_keeps_float32_gradients():
    seen = []

    class Spy(optimizers.SGD):
        def _update_step(self, grads, variables, learning_rate):
            seen.extend(g.dtype for g in grads)
            super()._update_step(grads, variables, learning_rate)

    weight = Variable(np.ones(3, "float32"), name="w")
    Spy(0.1, loss_scale_factor=np.float64(4.0)).apply([np.full(3, 8.0, "float32")], [weight])
    assert seen == [np.float32]
    np.testing.assert_allclose(weight.numpy(), 1.0 - 0.1 * 2.0)


# --- callbacks ---------------------------------------------------------------------------------
def test_csv_logger_keeps_validation_columns_with_validation_freq(tmp_path):
    model = gkeras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    path = str(tmp_path / "log.csv")
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y), validation_freq=2,
                        callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [row[2] for row in rows[1:]] == [
        "NA", repr(history.history["val_loss"][0]), "NA"]


# --- saving ------------------------------------------------------------------------------------
def _small_model():
    return gkeras.Sequential([layers.Dense(2, input_shape=(3,), name="rv_dense")], name="rv")


@pytest.mark.parametrize("filename", ["m.h5", "w.weights.h5"])
def test_saved_files_get_the_usual_permissions(tmp_path, filename):
    model = _small_model()
    path = tmp_path / filename
    (model.save if filename == "m.h5" else model.save_weights)(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


def test_save_flushes_the_new_file_to_disk_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    _small_model().save_weights(tmp_path / "w.h5")
    assert events[:2] == ["fsync", "replace"]


def test_save_into_missing_directory_names_the_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match="nope") as info:
        _small_model().save_weights(missing / "w.h5")
    assert "tmp" not in str(info.value).split("nope")[-1]
    assert not missing.exists()


def test_unsavable_compile_settings_are_a_clear_error(tmp_path):
    model = _small_model()
    model.compile(optimizers.SGD(learning_rate=lambda: 0.1), "mse")
    with pytest.raises(ValueError, match="compile settings of model 'rv'.*include_optimizer"):
        model.save(tmp_path / "m.h5")
    model.save(tmp_path / "m.h5", include_optimizer=False)
    assert gkeras.models.load_model(tmp_path / "m.h5").count_params() == 8


# --- activations -------------------------------------------------------------------------------
def test_activation_object_config_is_refused_not_made_linear():
    assert activations.get({"class_name": "function", "config": "relu"}) is activations.relu
    assert activations.get({"class_name": "tanh"}) is activations.tanh
    with pytest.raises(ValueError, match="LeakyReLU"):
        activations.get({"class_name": "LeakyReLU", "config": {"negative_slope": 0.2}})


# --- regularizers ------------------------------------------------------------------------------
def test_l1l2_accepts_none_and_rejects_bad_factors():
    assert regularizers.L1L2(l1=None, l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}
    for kwargs, name in (({"l1": -1.0}, "l1"), ({"l2": float("nan")}, "l2"),
                         ({"l2": "0.1"}, "l2")):
        with pytest.raises(ValueError, match=f"{name}.*non-negative"):
            regularizers.L1L2(**kwargs)
    with pytest.raises(ValueError, match="L1: .*l1"):
        regularizers.L1(-0.1)
    assert regularizers.L1(None).l1 == regularizers.L2(None).l2 == 0.01  # Keras's defaults
