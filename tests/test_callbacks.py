import csv
import math
import os
import sys

import numpy as np
import pytest

import gkeras
import gkeras.utils.progbar as progbar_module
from gkeras import callbacks as cbks


class FakeOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class FakeModel:
    """The model API callbacks use; ``weights`` holds the epoch that produced them."""

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.weights = [np.array(-1.0)]
        self.optimizer = FakeOptimizer(learning_rate)
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("save", filepath, float(self.weights[0])))
        with open(filepath, "w") as f:
            f.write("model")

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("save_weights", filepath, float(self.weights[0])))
        with open(filepath, "w") as f:
            f.write("weights")


def run_fit(callbacks, epoch_logs, model=None, steps=2, verbose=0, batch_logs=None):
    """Drives callbacks like the training loop; epoch ``e`` trains weights to ``e``."""
    model = model or FakeModel()
    model.stop_training = False
    callback_list = cbks.CallbackList(callbacks, add_history=True, model=model,
                                      verbose=verbose, epochs=len(epoch_logs), steps=steps)
    callback_list.on_train_begin()
    for epoch, logs in enumerate(epoch_logs):
        callback_list.on_epoch_begin(epoch)
        for step in range(steps):
            callback_list.on_train_batch_begin(step)
            model.weights = [np.array(float(epoch))]
            callback_list.on_train_batch_end(step, dict(batch_logs or {"loss": logs.get("loss",
                                                                                     0.0)}))
            if model.stop_training:
                break
        callback_list.on_epoch_end(epoch, dict(logs))
        if model.stop_training:
            break
    callback_list.on_train_end()
    return model, callback_list._history


def val_losses(values):
    return [{"loss": 1.0, "val_loss": value} for value in values]


# ---------------------------------------------------------------- Callback / CallbackList


class Recorder(cbks.Callback):
    """Journals every hook call as (name, hook, *args without logs)."""

    def __init__(self, name, journal):
        self.name = name
        self.journal = journal


def _journaling_hook(hook):
    def method(self, *args):
        self.journal.append((self.name, hook) + args[:-1])
    return method


for _hook in [name for name in dir(cbks.Callback)
              if name.startswith("on_") and name not in ("on_batch_begin", "on_batch_end")]:
    setattr(Recorder, _hook, _journaling_hook(_hook))


def test_callback_list_dispatches_every_hook_in_order():
    journal = []
    model = FakeModel()
    callback_list = cbks.CallbackList([Recorder("a", journal), Recorder("b", journal)],
                                      model=model, verbose=0, epochs=1, steps=1)
    calls = [("on_train_begin",), ("on_epoch_begin", 0), ("on_train_batch_begin", 0),
             ("on_train_batch_end", 0), ("on_epoch_end", 0), ("on_train_end",),
             ("on_test_begin",), ("on_test_batch_begin", 3), ("on_test_batch_end", 3),
             ("on_test_end",), ("on_predict_begin",), ("on_predict_batch_begin", 1),
             ("on_predict_batch_end", 1), ("on_predict_end",)]
    for hook, *args in calls:
        getattr(callback_list, hook)(*args, {})
    expected = [(who, hook, *args) for hook, *args in calls for who in ("a", "b")]
    assert journal == expected


def test_base_callback_has_every_hook_and_train_batch_hooks_call_keras2_aliases():
    seen = []

    class Keras2Style(cbks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs["loss"]))

    callback = Keras2Style()
    callback.on_train_batch_begin(4)
    callback.on_train_batch_end(4, {"loss": 0.5})
    assert seen == [("begin", 4), ("end", 4, 0.5)]
    base = cbks.Callback()
    for hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
                 "on_predict_begin", "on_predict_end"):
        assert getattr(base, hook)(logs={}) is None
    for hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
                 "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                 "on_predict_batch_begin", "on_predict_batch_end", "on_batch_begin",
                 "on_batch_end"):
        assert getattr(base, hook)(0, logs={}) is None


def test_callback_list_defaults_params_and_model():
    model = FakeModel()
    history = cbks.History()
    progbar = cbks.ProgbarLogger()
    user = cbks.Callback()
    callback_list = cbks.CallbackList([user, history], add_history=True, add_progbar=True,
                                      model=model, verbose=2, epochs=3, steps=7)
    # The existing History is kept, a ProgbarLogger appended.
    assert callback_list.callbacks[:2] == [user, history]
    assert len(callback_list.callbacks) == 3
    assert isinstance(callback_list.callbacks[2], cbks.ProgbarLogger)
    assert model.history is history
    expected_params = {"verbose": 2, "epochs": 3, "steps": 7}
    assert all(c.params == expected_params and c.model is model
               for c in callback_list.callbacks)
    assert (callback_list.callbacks[2].verbose, callback_list.callbacks[2].epochs,
            callback_list.callbacks[2].target) == (2, 3, 7)
    callback_list = cbks.CallbackList([progbar], add_progbar=True)
    assert callback_list.callbacks == [progbar]
    with pytest.raises(TypeError, match="Callback"):
        cbks.CallbackList([lambda epoch: None])


def test_callback_list_converts_epoch_logs_but_not_batch_logs():
    received = {}
    batch_value = np.array(0.25, dtype="float32")
    callback = cbks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: received.update(batch=logs["loss"]),
        on_epoch_end=lambda epoch, logs: received.update(epoch=logs))
    callback_list = cbks.CallbackList([callback], model=FakeModel())
    callback_list.on_train_batch_end(0, {"loss": batch_value})
    assert received["batch"] is batch_value
    callback_list.on_epoch_end(0, {"loss": np.array(0.5, dtype="float32"),
                                   "val_loss": gkeras.ops.convert_to_tensor(0.75),
                                   "note": "text"})
    assert received["epoch"] == {"loss": 0.5, "val_loss": 0.75, "note": "text"}
    assert type(received["epoch"]["loss"]) is float
    assert type(received["epoch"]["val_loss"]) is float


def test_history_records_floats_epochs_params_and_model():
    logs = [{"loss": np.array(0.5, dtype="float32"), "val_loss": np.float32(0.75)},
            {"loss": np.array(0.25, dtype="float32"), "val_loss": np.float32(0.625)}]
    model, history = run_fit([], logs, steps=3)
    assert history.history == {"loss": [0.5, 0.25], "val_loss": [0.75, 0.625]}
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert history.epoch == [0, 1]
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert history.model is model and model.history is history


# ---------------------------------------------------------------- EarlyStopping


def test_early_stopping_patience_and_restore_best_weights(capsys):
    stopper = cbks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model, history = run_fit([stopper], val_losses([1.0, 0.9, 0.95, 0.93, 0.8, 0.7]))
    # Best 0.9 at epoch 1; epochs 2 and 3 do not improve -> stop after epoch 3.
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best == 0.9 and stopper.best_epoch == 1
    assert float(model.weights[0]) == 1.0  # weights trained in epoch 1
    assert capsys.readouterr().out == (
        "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n")


def test_early_stopping_without_restore_keeps_last_weights():
    stopper = cbks.EarlyStopping(patience=0)
    model, history = run_fit([stopper], val_losses([0.5, 0.6, 0.4]))
    assert history.epoch == [0, 1]
    assert float(model.weights[0]) == 1.0


def test_early_stopping_min_delta():
    # 0.995 and 0.992 improve on 1.0 by less than 0.01: not improvements.
    stopper = cbks.EarlyStopping(patience=1, min_delta=-0.01)  # sign is ignored
    _, history = run_fit([stopper], val_losses([1.0, 0.995, 0.992, 0.5]))
    assert history.epoch == [0, 1]
    _, history = run_fit([cbks.EarlyStopping(patience=1)], val_losses([1.0, 0.995, 0.992, 0.5]))
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_max_mode_auto_for_accuracy():
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.6, 0.65, 0.9)]
    stopper = cbks.EarlyStopping(monitor="val_accuracy", patience=2)
    _, history = run_fit([stopper], logs)
    assert history.epoch == [0, 1, 2, 3] and stopper.best == 0.7
    stopper = cbks.EarlyStopping(monitor="val_loss", mode="max", patience=0)
    _, history = run_fit([stopper], val_losses([0.5, 0.7, 0.6]))
    assert history.epoch == [0, 1, 2]


def test_early_stopping_baseline():
    # Improving epochs that stay above the baseline do not reset the patience count.
    sequence = val_losses([0.8, 0.7, 0.75, 0.74])
    _, history = run_fit([cbks.EarlyStopping(patience=2, baseline=0.5)], sequence)
    assert history.epoch == [0, 1, 2]
    _, history = run_fit([cbks.EarlyStopping(patience=2)], sequence)
    assert history.epoch == [0, 1, 2, 3]


def test_early_stopping_start_from_epoch_and_reuse():
    stopper = cbks.EarlyStopping(patience=0, start_from_epoch=2)
    _, history = run_fit([stopper], val_losses([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert history.epoch == [0, 1, 2, 3]
    stopper = cbks.EarlyStopping(patience=1)
    run_fit([stopper], val_losses([0.1, 0.2, 0.3]))
    _, history = run_fit([stopper], val_losses([5.0, 4.0, 3.0]))  # state reset per fit
    assert history.epoch == [0, 1, 2] and stopper.best == 3.0


def test_early_stopping_missing_monitor_warns():
    with pytest.warns(UserWarning, match="val_loss.*not available.*loss"):
        _, history = run_fit([cbks.EarlyStopping()], [{"loss": 1.0}, {"loss": 2.0}])
    assert history.epoch == [0, 1]


def test_monitor_direction_from_model_metrics_else_keras2_rule():
    class Metric:
        name = "score"
        _direction = "up"

    model = FakeModel()
    model.metrics = [Metric()]
    stopper = cbks.EarlyStopping(monitor="val_score", patience=0)
    _, history = run_fit([stopper], [{"val_score": v} for v in (0.4, 0.5, 0.45)], model=model)
    assert history.epoch == [0, 1, 2] and stopper.best == 0.5
    # a name no metric claims: Keras 2's rule, lower is better unless it names an accuracy
    stopper = cbks.EarlyStopping(monitor="val_mystery", patience=0)
    _, history = run_fit([stopper], [{"val_mystery": v} for v in (0.5, 0.4, 0.45)])
    assert history.epoch == [0, 1, 2] and stopper.best == 0.4
    with pytest.warns(UserWarning, match="unknown"):
        assert cbks.EarlyStopping(mode="sideways").mode == "auto"


# ---------------------------------------------------------------- ModelCheckpoint


def test_model_checkpoint_formats_filenames_every_epoch(tmp_path):
    pattern = str(tmp_path / "sub" / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    logs = [{"loss": 1.0, "val_loss": np.array(v, dtype="float32")} for v in (0.5, 0.25)]
    model, _ = run_fit([cbks.ModelCheckpoint(pattern)], logs)
    names = [os.path.basename(path) for _, path, _ in model.saved]
    assert names == ["ckpt-01-0.50.keras", "ckpt-02-0.25.keras"]
    assert sorted(os.listdir(tmp_path / "sub")) == names
    # Also when called directly with a backend scalar in the logs.
    checkpoint = cbks.ModelCheckpoint(pattern)
    checkpoint.set_model(model)
    checkpoint.on_epoch_end(9, {"val_loss": np.array(0.125, dtype="float32")})
    assert model.saved[-1][1].endswith("ckpt-10-0.12.keras")


def test_model_checkpoint_save_best_only(tmp_path, capsys):
    path = str(tmp_path / "best.keras")
    checkpoint = cbks.ModelCheckpoint(path, save_best_only=True, verbose=1)
    model, _ = run_fit([checkpoint], val_losses([0.5, 0.6, 0.4, 0.45]))
    assert model.saved == [("save", path, 0.0), ("save", path, 2.0)]
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from inf to 0.50000, saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 0.50000\n"
        f"\nEpoch 3: val_loss improved from 0.50000 to 0.40000, saving model to {path}\n"
        "\nEpoch 4: val_loss did not improve from 0.40000\n")


def test_keras2_acc_monitor_finds_accuracy_and_back(tmp_path):
    # Keras 2.2.4 logged metrics=['accuracy'] as 'acc': its scripts monitor 'val_acc'
    path = str(tmp_path / "best.keras")
    checkpoint = cbks.ModelCheckpoint(path, monitor="val_acc", save_best_only=True)
    model, _ = run_fit([checkpoint], [{"val_accuracy": a} for a in (0.5, 0.4, 0.6)])
    assert [epoch for _, _, epoch in model.saved] == [0.0, 2.0]
    stopper = cbks.EarlyStopping(monitor="acc", patience=0)
    _, history = run_fit([stopper], [{"accuracy": a} for a in (0.5, 0.7, 0.6, 0.9)])
    assert history.epoch == [0, 1, 2] and stopper.best == 0.7
    stopper = cbks.EarlyStopping(monitor="val_accuracy", patience=0)
    _, history = run_fit([stopper], [{"val_acc": a} for a in (0.5, 0.4)])
    assert history.epoch == [0, 1] and stopper.best == 0.5
    with pytest.warns(UserWarning, match="val_racc"):  # only a whole 'acc' word is aliased
        run_fit([cbks.EarlyStopping(monitor="val_racc")], [{"val_raccuracy": 1.0}])


def test_model_checkpoint_weights_only_max_mode_and_threshold(tmp_path):
    path = str(tmp_path / "w-{epoch}.weights.h5")
    checkpoint = cbks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                      save_weights_only=True, initial_value_threshold=0.6)
    logs = [{"val_accuracy": a} for a in (0.5, 0.7, 0.65, 0.8)]
    model, _ = run_fit([checkpoint], logs)
    assert [(kind, os.path.basename(p)) for kind, p, _ in model.saved] == [
        ("save_weights", "w-2.weights.h5"), ("save_weights", "w-4.weights.h5")]


def test_model_checkpoint_batch_frequency(tmp_path):
    path = str(tmp_path / "e{epoch}-b{batch}.keras")
    model, _ = run_fit([cbks.ModelCheckpoint(path, save_freq=2)], val_losses([1.0, 1.0]),
                       steps=3)
    names = [os.path.basename(p) for _, p, _ in model.saved]
    assert names == ["e1-b2.keras", "e2-b1.keras", "e2-b3.keras"]


def test_model_checkpoint_errors(tmp_path):
    with pytest.raises(KeyError, match="val_acc"):
        run_fit([cbks.ModelCheckpoint(str(tmp_path / "{val_acc}.keras"))], val_losses([1.0]))
    with pytest.raises(ValueError, match="save_freq"):
        cbks.ModelCheckpoint("x.keras", save_freq="batch")
    with pytest.raises(IsADirectoryError, match="directory"):
        run_fit([cbks.ModelCheckpoint(str(tmp_path))], val_losses([1.0]))


# ---------------------------------------------------------------- CSVLogger


def read_csv(path):
    with open(path) as f:
        return f.read()


def test_csv_logger_contents_and_append(tmp_path):
    path = str(tmp_path / "log.csv")
    logs = [{"loss": np.array(1.5, dtype="float32"), "val_loss": 2.0, "accuracy": 0.25},
            {"loss": 0.5, "val_loss": 1.0, "accuracy": 0.75}]
    run_fit([cbks.CSVLogger(path)], logs)
    first = "epoch,accuracy,loss,val_loss\n0,0.25,1.5,2.0\n1,0.75,0.5,1.0\n"
    assert read_csv(path) == first
    run_fit([cbks.CSVLogger(path, append=True)], logs[:1])
    assert read_csv(path) == first + "0,0.25,1.5,2.0\n"
    run_fit([cbks.CSVLogger(path, separator=";")], logs[1:])  # overwrites
    assert read_csv(path) == "epoch;accuracy;loss;val_loss\n0;0.75;0.5;1.0\n"


def test_csv_logger_missing_values_and_vectors(tmp_path):
    path = str(tmp_path / "log.csv")
    # no val_* key in the first epoch: Keras 3 reserves a val_ column for every key
    run_fit([cbks.CSVLogger(path, append=True)],
            [{"loss": 1.0, "f1": np.array([0.5, 0.25])}, {"loss": 0.5, "val_loss": 0.75}])
    rows = list(csv.reader(open(path)))
    assert rows == [["epoch", "f1", "loss", "val_f1", "val_loss"],
                    ["0", "[0.5, 0.25]", "1.0", "NA", "NA"], ["1", "NA", "0.5", "NA", "0.75"]]


# ---------------------------------------------------------------- learning rate callbacks


def lr_trace(callback, logs, learning_rate=0.1):
    """Learning rate in effect during each epoch, and the rates logged at epoch end."""
    model = FakeModel(learning_rate)
    seen = []
    watcher = cbks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: batch == 0 and seen.append(
            model.optimizer.learning_rate))
    _, history = run_fit([callback, watcher], logs, model=model)
    return seen, history.history.get("learning_rate"), model


def test_reduce_lr_on_plateau_schedule():
    callback = cbks.ReduceLROnPlateau(factor=0.5, patience=2, min_lr=0.01)
    losses = [1.0] * 5 + [0.5] * 7
    seen, logged, _ = lr_trace(callback, val_losses(losses))
    # Reductions at the end of epochs 2 and 4 (plateau of 1.0), then 7, 9 and 11 after the
    # improvement at epoch 5; min_lr caps the last ones.
    expected = [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.01, 0.01]
    assert seen == pytest.approx(expected)
    assert logged == pytest.approx(expected)


def test_reduce_lr_on_plateau_cooldown_min_delta_and_max_mode(capsys):
    callback = cbks.ReduceLROnPlateau(factor=0.5, patience=2, cooldown=2, verbose=1)
    seen, _, model = lr_trace(callback, val_losses([1.0] * 9))
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025])
    assert model.optimizer.learning_rate == pytest.approx(0.0125)
    assert "Epoch 3: ReduceLROnPlateau reducing learning rate to 0.05." in capsys.readouterr().out
    # Gains smaller than min_delta count as a plateau.
    callback = cbks.ReduceLROnPlateau(factor=0.5, patience=1, min_delta=0.1)
    seen, _, _ = lr_trace(callback, val_losses([1.0, 0.95, 0.5]))
    assert seen == pytest.approx([0.1, 0.1, 0.05])
    callback = cbks.ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=1)
    seen, _, _ = lr_trace(callback, [{"val_accuracy": a} for a in (0.5, 0.6, 0.55, 0.7)])
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05])
    with pytest.raises(ValueError, match="factor"):
        cbks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_two_and_one_argument_forms(capsys):
    callback = cbks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr * 0.5,
                                          verbose=1)
    seen, logged, _ = lr_trace(callback, val_losses([1.0] * 4))
    assert seen == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert logged == pytest.approx(seen)
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.05." in \
        capsys.readouterr().out
    seen, _, _ = lr_trace(cbks.LearningRateScheduler(lambda epoch: 1.0 / (epoch + 1)),
                          val_losses([1.0] * 3))
    assert seen == pytest.approx([1.0, 0.5, 1.0 / 3])


def test_learning_rate_scheduler_errors():
    with pytest.raises(ValueError, match="should be a float"):
        lr_trace(cbks.LearningRateScheduler(lambda epoch, lr: "fast"), val_losses([1.0]))

    def broken(epoch, lr):
        raise TypeError("bug inside the schedule")

    with pytest.raises(TypeError, match="bug inside the schedule"):
        lr_trace(cbks.LearningRateScheduler(broken), val_losses([1.0]))
    with pytest.raises(TypeError, match="callable"):
        cbks.LearningRateScheduler(0.1)


# ---------------------------------------------------------------- LambdaCallback, TerminateOnNaN


def test_lambda_callback_hooks():
    calls = []
    callback = cbks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["val_loss"])),
        on_train_end=lambda logs: calls.append("train_end"))
    run_fit([callback], val_losses([0.5]), steps=2)
    assert calls == ["train_begin", ("epoch_begin", 0), ("batch_end", 0, 1.0),
                     ("batch_end", 1, 1.0), ("epoch_end", 0, 0.5), "train_end"]
    with pytest.raises(ValueError, match="on_epoch_middle"):
        cbks.LambdaCallback(on_epoch_middle=print)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.array(-np.inf, "float32")])
def test_terminate_on_nan_stops_training(bad, capsys):
    model = FakeModel()
    callback = cbks.TerminateOnNaN()
    callback.set_model(model)
    callback.on_train_batch_end(2, {"loss": np.array(0.5, "float32")})
    assert not model.stop_training
    callback.on_train_batch_end(3, {"loss": bad})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 3: Invalid loss, terminating training\n"


def test_terminate_on_nan_in_loop_stops_after_the_batch():
    _, history = run_fit([cbks.TerminateOnNaN()], [{"loss": 1.0}] * 3, steps=4,
                         batch_logs={"loss": math.nan})
    assert history.epoch == [0]


# ---------------------------------------------------------------- ProgbarLogger


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


def test_progbar_logger_fit_output_verbose_1(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(progbar_module, "time", clock)
    model = FakeModel()
    callback_list = cbks.CallbackList([], add_progbar=True, model=model, verbose=1, epochs=2,
                                      steps=4)
    callback_list.on_train_begin()
    for epoch in range(2):
        callback_list.on_epoch_begin(epoch)
        for step in range(4):
            clock.now += 0.5
            callback_list.on_train_batch_end(step, {"loss": np.array(1.0 / (step + 1))})
        callback_list.on_test_begin()  # validation inside fit: silent
        callback_list.on_test_batch_end(0, {"loss": np.array(9.0)})
        callback_list.on_test_end({"loss": 9.0})
        callback_list.on_epoch_end(epoch, {"loss": np.array(0.25), "val_loss": 0.5})
    callback_list.on_train_end()
    out = capsys.readouterr().out
    # Not a terminal and epochs of 2 s: only the final line per epoch.
    final_1 = "4/4 [" + "=" * 30 + "] - 2s 500ms/step - loss: 0.2500 - val_loss: 0.5000\n"
    final_2 = "4/4 [" + "=" * 30 + "] - 2s 500ms/step - loss: 0.2500 - val_loss: 0.5000\n"
    assert out == "Epoch 1/2\n" + final_1 + "Epoch 2/2\n" + final_2


def test_progbar_logger_tty_shows_running_values_as_logged(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    clock = FakeClock()
    monkeypatch.setattr(progbar_module, "time", clock)
    callback_list = cbks.CallbackList([], add_progbar=True, model=FakeModel(), verbose=1,
                                      epochs=1, steps=2)
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    clock.now = 1.0
    callback_list.on_train_batch_end(0, {"loss": np.array(0.75)})
    clock.now = 2.0
    callback_list.on_train_batch_end(1, {"loss": np.array(0.5)})
    callback_list.on_epoch_end(0, {"loss": np.array(0.5)})
    out = capsys.readouterr().out
    # Logged running means are shown as given (0.5, not re-averaged to 0.625); no header
    # for a single epoch; the final line redraws the last one.
    assert out == ("\r1/2 [==============>" + "." * 15 + "] - ETA: 1s - loss: 0.7500"
                   "\r2/2 [" + "=" * 30 + "] - ETA: 0s - loss: 0.5000"
                   "\r2/2 [" + "=" * 30 + "] - 2s 1s/step - loss: 0.5000\n")


def test_progbar_logger_verbose_2_and_0(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(progbar_module, "time", clock)

    class Tick(cbks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            clock.now += 1.0

        def on_epoch_begin(self, epoch, logs=None):
            clock.now = 0.0

    run_fit([Tick(), cbks.ProgbarLogger()], [{"loss": 0.1}] * 2, steps=3, verbose=2)
    assert capsys.readouterr().out == ("Epoch 1/2\n3/3 - 3s - loss: 0.1000 - 1s/step\n"
                                       "Epoch 2/2\n3/3 - 3s - loss: 0.1000 - 1s/step\n")
    run_fit([Tick(), cbks.ProgbarLogger()], [{"loss": 0.1}] * 2, steps=3, verbose=0)
    assert capsys.readouterr().out == ""


def test_progbar_logger_evaluate_and_predict(monkeypatch, capsys):
    clock = FakeClock()
    monkeypatch.setattr(progbar_module, "time", clock)
    callback_list = cbks.CallbackList([], add_progbar=True, model=FakeModel(), verbose=1,
                                      epochs=1, steps=2)
    callback_list.on_test_begin()
    for step in range(2):
        clock.now += 0.25
        callback_list.on_test_batch_end(step, {"loss": np.array(0.5)})
    callback_list.on_test_end({"loss": np.array(0.5), "accuracy": 1e-5})
    assert capsys.readouterr().out == (
        "2/2 [" + "=" * 30 + "] - 0s 250ms/step - loss: 0.5000 - accuracy: 1.0000e-05\n")
    clock.now = 0.0
    callback_list.on_predict_begin()
    for step in range(2):
        clock.now += 0.25
        callback_list.on_predict_batch_end(step, {"outputs": np.zeros(3)})
    callback_list.on_predict_end()
    assert capsys.readouterr().out == "2/2 [" + "=" * 30 + "] - 0s 250ms/step\n"


# ---------------------------------------------------------------- integration with Model.fit


def test_callbacks_in_real_fit(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")).astype("float32")
    model = gkeras.Sequential([gkeras.Input((3,)), gkeras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    seen_lr = []
    callbacks = [
        cbks.LearningRateScheduler(lambda epoch, lr: 0.05 if epoch == 0 else lr * 0.5),
        cbks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen_lr.append(
            float(model.optimizer.learning_rate))),
        cbks.EarlyStopping(monitor="loss", patience=0),
        cbks.CSVLogger(str(tmp_path / "log.csv")),
        cbks.ModelCheckpoint(str(tmp_path / "ckpt" / "m-{epoch:02d}.h5"),
                             save_weights_only=True),
    ]
    history = model.fit(x, y, batch_size=16, epochs=4, validation_split=0.25,
                        callbacks=callbacks, verbose=2)
    assert seen_lr == pytest.approx([0.05, 0.025, 0.0125, 0.00625][:len(history.epoch)])
    assert set(history.history) >= {"loss", "val_loss", "learning_rate"}
    assert all(type(v) is float for v in history.history["loss"])
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        f"m-{epoch + 1:02d}.h5" for epoch in history.epoch]
    rows = read_csv(tmp_path / "log.csv").splitlines()
    assert len(rows) == len(history.epoch) + 1 and rows[0].startswith("epoch,")
    out = capsys.readouterr().out
    assert out.count("3/3 - ") == len(history.epoch) and "Epoch 1/4" in out


def test_early_stopping_auto_mode_minimizes_an_error_metric_in_fit():
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
    y = 3 * x
    model = gkeras.Sequential([gkeras.layers.Dense(1, input_shape=(1,))])
    model.compile(gkeras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    stop = cbks.EarlyStopping(monitor="val_mae", patience=0)
    history = model.fit(x, y, batch_size=16, epochs=5, validation_split=0.25, verbose=0,
                        callbacks=[stop])
    # mae falls every epoch on this problem, so 'auto' must read it as "lower is better"
    assert len(history.history["val_mae"]) == 5
    assert stop.best == pytest.approx(history.history["val_mae"][-1])
