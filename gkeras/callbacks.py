"""Callbacks: hooks into ``fit``/``evaluate``/``predict``, following Keras 3 semantics.

Batch-level ``logs`` hold backend scalars (running means over the epoch); reading one as a
Python float is a device sync on GPU, so callbacks here convert only at epoch end (or when
they act), never on every batch, except the opt-in ``TerminateOnNaN``.
"""
import csv
import inspect
import math
import os
import sys
import warnings

import numpy as np

from .utils.progbar import Progbar


def _to_python(value):
    """Backend scalar (0-d NumPy/CuPy array, Tensor) -> float; other values unchanged."""
    if isinstance(value, (str, bytes, bool, int, float)):
        return value
    if getattr(value, "ndim", 0) > 0:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _pythonify_logs(logs):
    return {key: _to_python(value) for key, value in (logs or {}).items()}


def _print(message):
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


class Callback:
    """Base class for callbacks; every hook is a no-op.

    Attributes:
        params: dict of training parameters (``verbose``, ``epochs``, ``steps``).
        model: the model being trained, evaluated or used for prediction.
    """

    params = None
    model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """Keras 2 alias of ``on_train_batch_begin``."""

    def on_batch_end(self, batch, logs=None):
        """Keras 2 alias of ``on_train_batch_end``."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of a training epoch (``epoch`` is 0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of a training epoch; ``logs`` includes ``val_*`` entries."""

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each ``evaluate`` (or validation) batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each ``evaluate`` (or validation) batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each ``predict`` batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after each ``predict`` batch."""

    def on_train_begin(self, logs=None):
        """Called at the start of ``fit``."""

    def on_train_end(self, logs=None):
        """Called at the end of ``fit``."""

    def on_test_begin(self, logs=None):
        """Called at the start of ``evaluate`` (or validation)."""

    def on_test_end(self, logs=None):
        """Called at the end of ``evaluate`` (or validation)."""

    def on_predict_begin(self, logs=None):
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs=None):
        """Called at the end of ``predict``."""


class CallbackList(Callback):
    """Calls every hook on each of a list of callbacks, in order.

    Args:
        callbacks: list of ``Callback`` instances.
        add_history: append a ``History`` if the list has none.
        add_progbar: append a ``ProgbarLogger`` if the list has none.
        model: the model the callbacks are used with.
        **params: passed to each callback through ``set_params``.

    End-of-epoch, -test, -train and -predict logs are converted to Python floats once here,
    so every callback sees plain numbers there; batch logs are passed through unconverted.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        self.callbacks = list(callbacks) if callbacks else []
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "CallbackList expects `Callback` instances. Received: "
                    f"{callback!r} of type {type(callback).__name__}")
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    @property
    def history(self):
        """The ``History`` callback in the list, or None."""
        return self._history

    def set_params(self, params):
        self.params = params
        if params:
            for callback in self.callbacks:
                callback.set_params(params)

    def set_model(self, model):
        if model is None:
            return
        self.model = model
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def _dispatch(self, hook, *args, logs=None):
        logs = {} if logs is None else logs
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._dispatch("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._dispatch("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._dispatch("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._dispatch("on_epoch_end", epoch, logs=_pythonify_logs(logs))

    def on_train_batch_begin(self, batch, logs=None):
        self._dispatch("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._dispatch("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._dispatch("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._dispatch("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._dispatch("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._dispatch("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._dispatch("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._dispatch("on_train_end", logs=_pythonify_logs(logs))

    def on_test_begin(self, logs=None):
        self._dispatch("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._dispatch("on_test_end", logs=_pythonify_logs(logs))

    def on_predict_begin(self, logs=None):
        self._dispatch("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._dispatch("on_predict_end", logs=_pythonify_logs(logs))


class History(Callback):
    """Records epoch-end logs as Python floats: ``history[name]`` is a list, one per epoch.

    ``fit`` returns this object; ``epoch`` lists the (0-based) epochs seen.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(_to_python(value))
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` headers and a ``Progbar`` per epoch, per ``params['verbose']``.

    Metrics are shown as logged (the training loop already averages them); validation run
    inside ``fit`` is silent, its ``val_*`` results appear on the epoch's final line.
    """

    def __init__(self):
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not metrics

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        # A new bar now, so that its clock starts with the epoch, not its first batch.
        self.seen = 0
        self.progbar = None
        self._maybe_init_progbar()

    def _maybe_init_progbar(self):
        if self.progbar is None:
            # Every logged metric is already a running mean: display it as is.
            self.progbar = Progbar(target=self.target, verbose=self.verbose,
                                   stateful_metrics=(), unit_name="step")

    def _update_progbar(self, batch, logs):
        self._maybe_init_progbar()
        self.seen = batch + 1
        if self.verbose == 1:
            logs = logs or {}
            self.progbar.stateful_metrics.update(logs)
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.seen
        logs = _pythonify_logs(logs)
        self.progbar.update(self.target, list(logs.items()), finalize=True)


def _flat_metrics(model):
    found = []
    for metric in getattr(model, "metrics", None) or ():
        inner = getattr(metric, "metrics", None)
        found.extend(inner if isinstance(inner, (list, tuple)) else [metric])
    return found


def _monitored(logs, monitor):
    """``logs[monitor]``; Keras 2.2.4 logged ``metrics=['accuracy']`` as ``acc``, later Keras
    as ``accuracy``, so either spelling of the monitor finds the other."""
    if monitor in logs:
        return logs[monitor]
    for short, long in (("acc", "accuracy"), ("accuracy", "acc")):
        if monitor.endswith(short) and (monitor == short or monitor.endswith("_" + short)):
            return logs.get(monitor[:-len(short)] + long)
    return None


def _resolve_mode(monitor, mode, model):
    """'min' or 'max' for ``monitor``; 'auto' is inferred as Keras does."""
    if mode in ("min", "max"):
        return mode
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    for metric in _flat_metrics(model):
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "name", None) == name and direction in ("up", "down"):
            return "max" if direction == "up" else "min"
    # Keras 2's rule (the guide's): accuracy-like quantities go up, everything else down
    return "max" if "acc" in name and not name.endswith("_loss") else "min"


def _checked_mode(owner, mode):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode!r} is unknown, falling back to 'auto'.", stacklevel=3)
        return "auto"
    return mode


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has stopped improving.

    Args:
        monitor: quantity to monitor (a key of the epoch logs).
        min_delta: an absolute change below this does not count as an improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a message when stopping or restoring.
        mode: 'min', 'max' or 'auto' (inferred from the name).
        baseline: training stops unless the monitored value beats this within ``patience``.
        restore_best_weights: at the end of training, restore the weights of the best epoch.
        start_from_epoch: epochs to wait before monitoring starts.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = _checked_mode("EarlyStopping", mode)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._direction = None
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def _is_improvement(self, value, reference):
        # An improvement must beat the reference by more than min_delta.
        if self._direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        if self._direction is None:
            self._direction = _resolve_mode(self.monitor, self.mode, self.model)
        if self.best is None:
            self.best = math.inf if self._direction == "min" else -math.inf
        current = _monitored(logs or {}, self.monitor)
        if current is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        current = float(current)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only when the value beats the baseline as well.
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print("Restoring model weights from the end of the best epoch: "
                       f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Saves the model (or only its weights) every epoch or every ``save_freq`` batches.

    Args:
        filepath: path; may hold ``str.format`` fields filled from ``epoch`` (1-based),
            ``batch`` (1-based, batch-level saving) and the logs, e.g.
            ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. Missing directories are created.
        monitor: quantity compared when ``save_best_only``.
        verbose: 1 prints a message per decision.
        save_best_only: save only when ``monitor`` improved on the best value so far.
        save_weights_only: call ``model.save_weights`` instead of ``model.save``.
        mode: 'min', 'max' or 'auto' (inferred from the name).
        save_freq: 'epoch' or an integer number of batches.
        initial_value_threshold: starting "best" value for ``save_best_only``.

    The model's ``save``/``save_weights`` write atomically (temporary file, then rename).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError("ModelCheckpoint: `save_freq` must be 'epoch' or a positive "
                             f"integer. Received: save_freq={save_freq!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _checked_mode("ModelCheckpoint", mode)
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._direction = None
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch):
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch restarted the batch count
            self._batches_seen_since_last_saving += batch + 1
        else:
            self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _get_file_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as error:
            raise KeyError(f'ModelCheckpoint failed to format filepath "{self.filepath}": '
                           f"no value for {error}. Available: {sorted(fields)}") from None

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = _monitored(logs, self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available, "
                          "saving anyway.", stacklevel=3)
            return True
        if self._direction is None:
            self._direction = _resolve_mode(self.monitor, self.mode, self.model)
            if self.best is None:
                self.best = math.inf if self._direction == "min" else -math.inf
        best_text = f"{self.best:.5f}"
        improved = current < self.best if self._direction == "min" else current > self.best
        if improved:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_text} to "
                       f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_text}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = _pythonify_logs(logs)
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError("ModelCheckpoint needs a file path, not an existing "
                                    f"directory. Received: {filepath}")
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: an ``epoch`` column (0-based), then sorted keys.

    Missing parent directories are created.

    Args:
        filename: path of the CSV file.
        separator: field separator.
        append: append to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self.writer = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as existing:
                self.append_header = not existing.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        dirname = os.path.dirname(self.filename)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer = None
        self.keys = None

    @staticmethod
    def _cell(value):
        value = _to_python(value)
        if isinstance(value, str) or not hasattr(value, "__iter__"):
            return value
        return "[" + ", ".join(map(str, value)) + "]"

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            # With validation_freq > 1 the first epoch has no val_* entries: reserve their
            # columns now, as Keras 3 does (they read NA when there is no validation).
            if not any(key.startswith("val_") for key in self.keys):
                self.keys += [f"val_{key}" for key in self.keys]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\n")
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [self._cell(logs.get(key, "NA")) for key in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    Args:
        monitor: quantity to monitor.
        factor: ``new_lr = lr * factor`` (must be < 1).
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message on each reduction.
        mode: 'min', 'max' or 'auto' ('max' when the name contains "acc").
        min_delta: threshold for measuring a new optimum.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    Adds ``learning_rate`` to the epoch logs.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected arguments: {sorted(kwargs)}")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = _checked_mode("ReduceLROnPlateau", mode)
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self._maximize = self.mode == "max" or (self.mode == "auto" and "acc" in self.monitor)
        self.best = -math.inf if self._maximize else math.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _improved(self, current):
        if self._maximize:
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = _monitored(logs, self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        current = float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(optimizer.learning_rate)
                # Compared in float32, the precision optimizers usually keep the rate in.
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning "
                               f"rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at each epoch start from ``schedule(epoch, lr)``.

    Args:
        schedule: function of the 0-based epoch and the current learning rate (a float)
            returning the new rate; a one-argument ``schedule(epoch)`` is accepted too.
        verbose: 1 prints the rate set each epoch.

    Adds ``learning_rate`` to the epoch logs.
    """

    def __init__(self, schedule, verbose=0):
        if not callable(schedule):
            raise TypeError("LearningRateScheduler expects a callable `schedule`. "
                            f"Received: {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = self._accepts_two_arguments(schedule)

    @staticmethod
    def _accepts_two_arguments(schedule):
        try:
            inspect.signature(schedule).bind(0, 0.0)
            return True
        except TypeError:
            return False
        except ValueError:  # no signature available (some builtins): assume the Keras 3 form
            return True

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        if self._takes_lr:
            learning_rate = self.schedule(epoch, float(optimizer.learning_rate))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError("The output of the `schedule` function should be a float. "
                             f"Got: {learning_rate!r}")
        optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                   f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class LambdaCallback(Callback):
    """Callback built from plain functions.

    ``on_epoch_begin``/``on_epoch_end`` take ``(epoch, logs)``, ``on_train_batch_begin``/
    ``on_train_batch_end`` take ``(batch, logs)``, ``on_train_begin``/``on_train_end`` take
    ``(logs)``. Any other hook (e.g. ``on_batch_end``, ``on_test_end``) may be given by name.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, function in hooks.items():
            if function is None:
                continue
            if not (name.startswith("on_") and callable(getattr(Callback, name, None))):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}.")
            setattr(self, name, function)


class TerminateOnNaN(Callback):
    """Stops training when a batch loss is NaN or infinite.

    Reads the loss every batch, a device sync on GPU: it costs some speed.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            loss = float(loss)
            if math.isnan(loss) or math.isinf(loss):
                _print(f"Batch {batch}: Invalid loss, terminating training")
                self.model.stop_training = True


class BaseLogger(Callback):
    """Keras 2's BaseLogger: it averaged the batch metrics into the epoch logs. gkeras's ``fit``
    always does that itself, so this callback has nothing left to do; it exists so that Keras 2
    code that creates or subclasses it runs unchanged."""

    def __init__(self, stateful_metrics=None):
        self.stateful_metrics = set(stateful_metrics or ())


class RemoteMonitor(Callback):
    """Keras 2's RemoteMonitor (posting epoch logs to an HTTP server): not supported."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "RemoteMonitor is not supported by gkeras (it posts the logs to a web server). "
            "Use CSVLogger to write the epoch logs to a file, or a LambdaCallback("
            "on_epoch_end=...) to send them where you need.")


class TensorBoard(Callback):
    """Keras 2's TensorBoard callback: not supported (it writes TensorFlow event files)."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "TensorBoard is not supported by gkeras: it writes TensorFlow summary files, which "
            "need TensorFlow. Use CSVLogger to log the epoch metrics (the History returned by "
            "fit holds them too) and plot them from there.")
