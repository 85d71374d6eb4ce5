"""compile / fit / evaluate / predict: values checked against NumPy and hand-derived numbers."""
import csv
import os

import numpy as np
import pytest

from gkeras import callbacks as cbks
from gkeras import losses, ops, optimizers
from gkeras.layers import Concatenate, Dense, Input
from gkeras.models import Model, Sequential
from gkeras.optimizers import SGD
from gkeras.utils import to_categorical


def linear_model(n_in=3, n_out=1, lr=0.0, loss="mse", metrics=None, seed=0, **compile_kw):
    """A Dense layer with known weights; lr=0 keeps them fixed so NumPy can recompute
    every reported number."""
    model = Sequential([Dense(n_out, input_shape=(n_in,))])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.standard_normal((n_in, n_out)).astype("float32"),
                       rng.standard_normal(n_out).astype("float32")])
    model.compile(SGD(learning_rate=lr), loss, metrics=metrics, **compile_kw)
    return model


def regression_data(n=70, n_in=3, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, n_in)).astype("float32"),
            rng.standard_normal((n, 1)).astype("float32"))


def forward(model, x):
    w, b = model.get_weights()
    return x.astype("float64") @ w + b


def mse(pred, y):
    return float(np.mean((pred - y) ** 2))


def mae(pred, y):
    return float(np.mean(np.abs(pred - y)))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class RecordTargets(cbks.Callback):
    """Metric function + callback: records each training batch's y_true (order reveal)."""

    def __init__(self):
        self.batches = []
        self.training = False

    def metric(self, y_true, y_pred):
        if self.training:
            self.batches.append(np.asarray(y_true).reshape(-1).copy())
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    def on_train_batch_begin(self, batch, logs=None):
        self.training = True

    def on_train_batch_end(self, batch, logs=None):
        self.training = False


def fit_recording(n=70, batch_size=16, epochs=1, **fit_kw):
    recorder = RecordTargets()
    model = linear_model(n_in=1, metrics=[recorder.metric])
    x = np.arange(n, dtype="float32").reshape(n, 1)
    history = model.fit(x, x.copy(), batch_size=batch_size, epochs=epochs, verbose=0,
                        callbacks=[recorder], **fit_kw)
    return recorder.batches, history


# --- compile ---------------------------------------------------------------------------------

def test_compile_optimizer_by_name_or_object():
    model = linear_model()
    model.compile("sgd", "mse")
    assert isinstance(model.optimizer, SGD)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # Keras's default
    adam = optimizers.Adam(learning_rate=0.123)
    model.compile(adam, "mse")
    assert model.optimizer is adam


@pytest.mark.parametrize("loss", ["mse", "mean_squared_error", losses.mean_squared_error,
                                  losses.MeanSquaredError()])
def test_compile_loss_by_name_function_or_object(loss):
    x, y = regression_data()
    model = linear_model(loss=loss)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse(forward(model, x), y), rel=1e-5)


def test_compile_custom_loss_function():
    x, y = regression_data()

    def quartic(y_true, y_pred):
        return ops.mean((y_true - y_pred) ** 4, axis=-1)

    model = linear_model(loss=quartic)
    expected = np.mean((forward(model, x) - y) ** 4)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_loss_weights_scale_the_loss():
    x, y = regression_data()
    model = linear_model(loss_weights=[2.5])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(2.5 * mse(forward(model, x), y),
                                                            rel=1e-5)


# --- fit: reported values ----------------------------------------------------------------------

def test_epoch_loss_and_metrics_are_batch_size_weighted_means():
    x, y = regression_data(n=70)  # batches of 32, 32 and 6
    model = linear_model(metrics=["mae"])
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    pred = forward(model, x)
    for key, fn in (("loss", mse), ("mae", mae)):
        np.testing.assert_allclose(history.history[key], [fn(pred, y)] * 2, rtol=1e-5)
    # a plain mean of the three batch means is a different number: the test can tell them apart
    batch_means = [mse(pred[i:i + 32], y[i:i + 32]) for i in (0, 32, 64)]
    assert abs(np.mean(batch_means) - history.history["loss"][0]) > 1e-3


def test_one_sgd_step_matches_hand_derived_gradient():
    x, y = regression_data(n=20)
    lr = 0.1
    model = linear_model(lr=lr)
    w, b = [a.astype("float64") for a in model.get_weights()]
    n = len(x)
    residual = x @ w + b - y  # d(mean (xw+b-y)^2)/dw = 2/n x^T r, /db = 2/n sum r
    expected_w = w - lr * 2.0 / n * x.T @ residual
    expected_b = b - lr * 2.0 / n * residual.sum(axis=0)
    history = model.fit(x, y, batch_size=n, epochs=1, verbose=0)
    new_w, new_b = model.get_weights()
    np.testing.assert_allclose(new_w, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new_b, expected_b, rtol=1e-5, atol=1e-6)
    # the reported loss is the one computed before the update
    assert history.history["loss"][0] == pytest.approx(np.mean(residual ** 2), rel=1e-5)


def test_train_on_batch_one_step_and_test_on_batch():
    x, y = regression_data(n=10)
    model = linear_model(lr=0.05, metrics=["mae"])
    w, b = [a.astype("float64") for a in model.get_weights()]
    residual = x @ w + b - y
    loss, mae_value = model.train_on_batch(x, y)
    assert loss == pytest.approx(np.mean(residual ** 2), rel=1e-5)
    assert mae_value == pytest.approx(np.mean(np.abs(residual)), rel=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], w - 0.05 * 2 / 10 * x.T @ residual,
                               rtol=1e-5, atol=1e-6)
    pred = forward(model, x)
    before = [a.copy() for a in model.get_weights()]
    np.testing.assert_allclose(model.test_on_batch(x, y), [mse(pred, y), mae(pred, y)],
                               rtol=1e-5)
    assert model.test_on_batch(x, y, return_dict=True)["mae"] == pytest.approx(mae(pred, y),
                                                                               rel=1e-5)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_history_object():
    x, y = regression_data(n=40)
    model = linear_model(lr=0.01, metrics=["mae"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 2}  # 30 samples / 16
    assert history.model is model and model.history is history
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 and all(isinstance(f, float) for f in v)
               for v in history.history.values())
    # lr > 0: the training loss falls on this convex problem
    assert history.history["loss"][2] < history.history["loss"][0]


def test_default_epochs_is_ten_and_nb_epoch_is_accepted():
    x, y = regression_data(n=8)
    model = linear_model()
    assert model.fit(x, y, verbose=0).epoch == list(range(10))  # the guide's default
    assert model.fit(x, y, nb_epoch=3, verbose=0).epoch == [0, 1, 2]


@pytest.mark.parametrize("shuffle", [True, False])
def test_validation_split_takes_the_last_fraction_before_shuffling(shuffle):
    x, y = regression_data(n=50)
    model = linear_model(metrics=["mae"])
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_split=0.2,
                        shuffle=shuffle)
    pred = forward(model, x)
    np.testing.assert_allclose(history.history["loss"], [mse(pred[:40], y[:40])] * 2,
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], [mse(pred[40:], y[40:])] * 2,
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["val_mae"], [mae(pred[40:], y[40:])] * 2,
                               rtol=1e-5)
    assert history.params["steps"] == 5


def test_validation_data_two_and_three_tuples():
    x, y = regression_data(n=30)
    xv, yv = regression_data(n=13, seed=5)
    weights = np.linspace(0.0, 2.0, 13).astype("float32")
    model = linear_model()
    pred = forward(model, xv)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(xv, yv))
    assert history.history["val_loss"][0] == pytest.approx(mse(pred, yv), rel=1e-5)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(xv, yv, weights))
    # Keras's 'sum_over_batch_size': weighted sum / number of samples
    expected = np.sum(weights * (pred - yv)[:, 0] ** 2) / 13
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-5)


def test_shuffle_false_keeps_order_and_shuffle_true_permutes():
    batches, _ = fit_recording(n=70, batch_size=16, epochs=1, shuffle=False)
    assert [len(b) for b in batches] == [16, 16, 16, 16, 6]
    np.testing.assert_array_equal(np.concatenate(batches), np.arange(70))
    np.random.seed(0)
    batches, _ = fit_recording(n=70, batch_size=16, epochs=2, shuffle=True)
    first, second = np.concatenate(batches[:5]), np.concatenate(batches[5:])
    for epoch in (first, second):
        np.testing.assert_array_equal(np.sort(epoch), np.arange(70))  # every sample once
        assert not np.array_equal(epoch, np.arange(70))
    assert not np.array_equal(first, second)  # a new order each epoch


def test_shuffle_batch_permutes_contiguous_chunks_last_partial_last():
    np.random.seed(0)
    batches, _ = fit_recording(n=70, batch_size=16, epochs=6, shuffle="batch")
    orders = []
    for epoch in range(6):
        chunks = batches[epoch * 5:(epoch + 1) * 5]
        for chunk in chunks:  # each batch is one contiguous run
            np.testing.assert_array_equal(chunk, np.arange(chunk[0], chunk[0] + len(chunk)))
        np.testing.assert_array_equal(chunks[-1], np.arange(64, 70))
        assert sorted(int(c[0]) for c in chunks[:4]) == [0, 16, 32, 48]
        orders.append(tuple(int(c[0]) for c in chunks[:4]))
    assert len(set(orders)) > 1


def test_initial_epoch_and_steps_per_epoch():
    x, y = regression_data(n=20)
    history = linear_model().fit(x, y, epochs=4, initial_epoch=2, verbose=0)
    assert history.epoch == [2, 3]
    # 100 samples in batches of 40; 2 steps per epoch run on across epoch boundaries
    batches, history = fit_recording(n=100, batch_size=40, epochs=3, steps_per_epoch=2,
                                     shuffle=False)
    assert [len(b) for b in batches] == [40, 40, 20, 40, 40, 20]
    assert [int(b[0]) for b in batches] == [0, 40, 80, 0, 40, 80]
    assert history.params["steps"] == 2


@pytest.mark.parametrize("freq, validated", [(2, [1, 3]), ([1, 3], [0, 2])])
def test_validation_freq(freq, validated):
    x, y = regression_data(n=20)
    seen = []
    recorder = cbks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (epoch, "val_loss" in logs)))
    history = linear_model().fit(x, y, epochs=4, verbose=0, validation_split=0.25,
                                 validation_freq=freq, callbacks=[recorder])
    assert [epoch for epoch, has_val in seen if has_val] == validated
    assert len(history.history["val_loss"]) == 2


@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_history_keys_spelled_as_written(name):
    x = np.random.default_rng(0).standard_normal((20, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = linear_model(loss="binary_crossentropy", metrics=[name])
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.5)
    assert list(history.history) == ["loss", name, "val_loss", f"val_{name}"]
    assert model.metrics_names == ["loss", name]


def test_sample_weight_weights_loss_and_weighted_metrics_only():
    x, y = regression_data(n=30)
    sw = np.random.default_rng(3).uniform(0, 2, 30).astype("float32")
    model = linear_model(metrics=["mae"], weighted_metrics=["mae", "mse"])
    assert model.metrics_names == ["loss", "mae", "weighted_mae", "mse"]
    history = model.fit(x, y, batch_size=7, epochs=1, verbose=0, sample_weight=sw)
    err = (forward(model, x) - y)[:, 0]
    expected = {"loss": np.sum(sw * err ** 2) / 30,  # sum over batch size, as Keras
                "mae": np.mean(np.abs(err)),  # `metrics` ignore the weights, as Keras
                "weighted_mae": np.sum(sw * np.abs(err)) / np.sum(sw),
                "mse": np.sum(sw * err ** 2) / np.sum(sw)}
    for key, value in expected.items():
        assert history.history[key][0] == pytest.approx(value, rel=1e-5), key
    results = model.evaluate(x, y, sample_weight=sw, verbose=0, batch_size=9)
    np.testing.assert_allclose(results, [expected[k] for k in model.metrics_names], rtol=1e-5)


def test_class_weight_weights_loss_unlisted_classes_weigh_one():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 3)).astype("float32")
    labels = rng.integers(0, 3, 40)
    model = Sequential([Dense(3, activation="softmax", input_shape=(3,))])
    model.compile(SGD(learning_rate=0.0), "categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    w, b = model.get_weights()
    logits = x @ w + b
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    nll = -np.log(proba[np.arange(40), labels])
    class_weight = {0: 3.0, 2: 0.5}  # class 1 unlisted
    cw = np.array([3.0, 1.0, 0.5])[labels]
    correct = proba.argmax(axis=1) == labels
    history = model.fit(x, to_categorical(labels, 3), batch_size=16, epochs=1, verbose=0,
                        class_weight=class_weight)
    assert history.history["loss"][0] == pytest.approx(np.sum(cw * nll) / 40, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(np.sum(cw * correct) / cw.sum(),
                                                           rel=1e-5)


def test_stop_training_set_by_a_callback_ends_fit():
    x, y = regression_data(n=20)

    class StopAfterTwo(cbks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    history = linear_model().fit(x, y, epochs=6, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]


# --- data formats -------------------------------------------------------------------------------

def two_input_model():
    a, b = Input((2,), name="a"), Input((3,), name="b")
    model = Model([a, b], Dense(1, name="out")(Concatenate()([a, b])))
    model.compile(SGD(learning_rate=0.0), "mse")
    return model


def test_lists_and_dicts_by_input_name():
    rng = np.random.default_rng(6)
    xa, xb = (rng.standard_normal((25, k)).astype("float32") for k in (2, 3))
    y = rng.standard_normal((25, 1)).astype("float32")
    model = two_input_model()
    w, b = model.get_layer("out").get_weights()
    expected_pred = np.concatenate([xa, xb], axis=1) @ w + b
    expected = mse(expected_pred, y)
    assert model.evaluate([xa, xb], y, verbose=0) == pytest.approx(expected, rel=1e-5)
    assert model.evaluate({"b": xb, "a": xa}, y, verbose=0) == pytest.approx(expected,
                                                                              rel=1e-5)
    history = model.fit({"a": xa, "b": xb}, y, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(model.predict({"a": xa, "b": xb}), expected_pred, rtol=1e-5,
                               atol=1e-6)


# --- evaluate / predict --------------------------------------------------------------------------

def test_evaluate_scalar_list_and_dict():
    x, y = regression_data(n=70)
    model = linear_model()
    pred = forward(model, x)
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float) and loss == pytest.approx(mse(pred, y), rel=1e-5)
    model = linear_model(metrics=["mae", "mse"])
    results = model.evaluate(x, y, batch_size=32, verbose=0)
    assert model.metrics_names == ["loss", "mae", "mse"]
    np.testing.assert_allclose(results, [mse(pred, y), mae(pred, y), mse(pred, y)], rtol=1e-5)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "mae", "mse"]
    assert as_dict["mae"] == pytest.approx(mae(pred, y), rel=1e-5)


def test_predict_concatenates_batches_in_order_without_compile():
    x, _ = regression_data(n=70)
    model = Sequential([Dense(2, input_shape=(3,))])  # never compiled
    out = model.predict(x, batch_size=32)
    assert isinstance(out, np.ndarray) and out.shape == (70, 2)
    np.testing.assert_allclose(out, forward(model, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:5]), out[:5], rtol=1e-6)
    np.testing.assert_allclose(model.predict_proba(x, verbose=0), out, rtol=1e-6)


def test_predict_classes_argmax_or_threshold():
    x, _ = regression_data(n=30)
    several = Sequential([Dense(4, activation="softmax", input_shape=(3,))])
    np.testing.assert_array_equal(several.predict_classes(x, verbose=0),
                                  forward(several, x).argmax(axis=1))
    one = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    classes = one.predict_classes(x, verbose=0)
    np.testing.assert_array_equal(classes, (sigmoid(forward(one, x)) > 0.5).astype("int32"))
    assert 0 < classes.sum() < 30  # both classes occur: the threshold is really tested


# --- accuracy resolution -------------------------------------------------------------------------

def test_accuracy_resolves_binary_categorical_and_sparse():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 3)).astype("float32")
    binary = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    binary.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    y = (rng.random((40, 1)) > 0.5).astype("float32")
    expected = np.mean((sigmoid(forward(binary, x)) > 0.5) == y)
    assert 0 < expected < 1
    assert binary.evaluate(x, y, verbose=0)[1] == pytest.approx(expected)

    labels = rng.integers(0, 4, 40)
    for loss, targets in (("categorical_crossentropy", to_categorical(labels, 4)),
                          ("sparse_categorical_crossentropy", labels)):
        model = Sequential([Dense(4, activation="softmax", input_shape=(3,))])
        model.compile("sgd", loss, metrics=["acc"])
        expected = np.mean(forward(model, x).argmax(axis=1) == labels)
        assert 0 < expected < 1
        results = model.evaluate(x, targets, verbose=0, return_dict=True)
        assert results["acc"] == pytest.approx(expected)


# --- callbacks inside a real fit -----------------------------------------------------------------

def test_early_stopping_restores_best_weights_in_real_fit():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((32, 2)).astype("float32")
    model = Sequential([Dense(1, use_bias=False, kernel_initializer="zeros", input_shape=(2,))])
    model.compile(SGD(learning_rate=0.1), "mse")
    snapshots = []
    keep = cbks.LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(
        model.get_weights()[0].copy()))
    stopper = cbks.EarlyStopping(patience=2, restore_best_weights=True)
    # training pulls w towards +1, validation wants -1: val_loss is best after epoch 0
    history = model.fit(x, x[:, :1] + x[:, 1:], batch_size=8, epochs=20, verbose=0,
                        validation_data=(x, -(x[:, :1] + x[:, 1:])),
                        callbacks=[keep, stopper], shuffle=False)
    val = history.history["val_loss"]
    assert history.epoch == [0, 1, 2] and val[0] < val[1] < val[2]
    np.testing.assert_array_equal(model.get_weights()[0], snapshots[0])
    assert not np.allclose(snapshots[0], snapshots[2])


def test_model_checkpoint_and_csv_logger_files(tmp_path):
    x, y = regression_data(n=24)
    model = linear_model(lr=0.05)
    pattern = str(tmp_path / "ckpt-{epoch:02d}.weights.h5")
    log_path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                        callbacks=[cbks.ModelCheckpoint(pattern, save_weights_only=True),
                                   cbks.CSVLogger(str(log_path))])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.weights.h5", "ckpt-02.weights.h5",
                                            "ckpt-03.weights.h5", "log.csv"]
    fresh = linear_model(seed=42)
    fresh.load_weights(str(tmp_path / "ckpt-03.weights.h5"))
    for saved, final in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(saved, final)
    with open(log_path) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose([float(r[key]) for r in rows], history.history[key],
                                   rtol=1e-6)


# --- verbose output -------------------------------------------------------------------------------

def test_verbose_modes(capsys):
    x, y = regression_data(n=70)
    model = linear_model()
    model.fit(x, y, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "3/3 [" in out and "loss: " in out
    model.fit(x, y, epochs=2, verbose=2)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("3/3 - ") and "loss: " in lines[1] and "[" not in lines[1]
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    assert capsys.readouterr().out == ""


# --- learning -------------------------------------------------------------------------------------

def test_mlp_learns_separable_task():
    np.random.seed(0)  # initial weights and shuffling
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, (1200, 2)).astype("float32")
    x = x[np.minimum(np.abs(x[:, 0]), np.abs(x[:, 1])) > 0.15][:400]  # a margin round the axes
    y = (x[:, 0] * x[:, 1] > 0).astype("float32")  # XOR of signs: needs the hidden layer
    model = Sequential([Dense(16, activation="relu", input_shape=(2,)),
                        Dense(1, activation="sigmoid")])
    model.compile(optimizers.Adam(learning_rate=0.01), "binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:300], y[:300], batch_size=16, epochs=30, verbose=0)
    assert model.evaluate(x[300:], y[300:], verbose=0)[1] > 0.95

