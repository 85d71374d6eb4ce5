"""``compile(jit_compile=...)``: fit's train step captured as a CUDA graph and replayed
(gkeras/models/step_capture.py), on the fake device (tests/fakecupy.py emulates capture: work
captured does not run, a host read during capture invalidates it, a launch replays the
captured operations on the same memory with the same Python numbers) and, marked ``gpu``, on
a real one (``make gpu-check``; the fake-GPU rerun of ``make test`` runs it on the fake)."""
import warnings

import numpy as np
import pytest

import gkeras
from gkeras import backends, callbacks, layers, metrics, mixed_precision, optimizers, ops
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.models import step_capture

from fakecupy import FakeCupy

N, BATCH, EPOCHS = 70, 16, 3  # 4 full batches and one of 6 per epoch


@pytest.fixture
def fake():
    device = FakeCupy()
    backends.set_backend(CupyBackend(xp=device))
    return device


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 5)).astype("float32")
    y = rng.integers(0, 3, N)
    sample_weight = rng.uniform(0.5, 1.5, N).astype("float32")
    return x, y, sample_weight


def _model(dropout=True, extra=()):
    model = gkeras.Sequential(
        [layers.Dense(8, input_shape=(5,)), layers.BatchNormalization(),
         layers.Activation("relu")] + ([layers.Dropout(0.3, seed=3)] if dropout else []) +
        list(extra) + [layers.Dense(3, activation="softmax", dtype="float32")])
    model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32")
                       for i, w in enumerate(model.get_weights())])
    return model


def _fit(jit_compile, optimizer=lambda: optimizers.Adam(0.01), model=None, fit_callbacks=(),
         epochs=EPOCHS):
    np.random.seed(1)  # fit's shuffling
    x, y, sample_weight = _data()
    model = model or _model()
    model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=jit_compile)
    history = model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0,
                        sample_weight=sample_weight, callbacks=list(fit_callbacks))
    return model, history.history


def _assert_same_training(eager, captured, rtol=0.0, atol=0.0):
    (eager_model, eager_history), (captured_model, captured_history) = eager, captured
    for a, b in zip(eager_model.get_weights(), captured_model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol)
    assert captured_history.keys() == eager_history.keys()
    for key in eager_history:
        np.testing.assert_allclose(captured_history[key], eager_history[key], rtol=rtol,
                                   atol=atol, err_msg=key)
    assert int(captured_model.optimizer.iterations) == int(eager_model.optimizer.iterations)


def _count_replays(monkeypatch, device):
    """Record the fake device's counters across each replayed step."""
    replays = []
    run = step_capture._Graph.run

    def counted(self, xs, ys, sws):
        before = dict(device.counts)
        run(self, xs, ys, sws)
        replays.append({k: device.counts[k] - before[k] for k in before})
    monkeypatch.setattr(step_capture._Graph, "run", counted)
    return replays


OPTIMIZERS = {
    "adam_amsgrad_weight_decay": lambda: optimizers.Adam(0.01, amsgrad=True, weight_decay=0.01),
    "sgd_nesterov_keras2_decay": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True,
                                                        decay=0.01),
    "nadam_clipnorm": lambda: optimizers.Nadam(0.01, clipnorm=1.0),
    "rmsprop_exponential_decay": lambda: optimizers.RMSprop(
        optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_replayed_steps_train_exactly_as_eager_steps(fake, monkeypatch, name):
    eager = _fit(False, OPTIMIZERS[name])
    replays = _count_replays(monkeypatch, fake)
    fake.graph_launches = 0
    captured = _fit(True, OPTIMIZERS[name])
    _assert_same_training(eager, captured)  # same bits: same operations, same order
    runner = captured[0]._captured_steps
    # one graph per batch signature (16 and 6 samples); the first step of each ran eagerly
    assert runner.captures == 2 and runner.disabled is None
    steps = EPOCHS * 5
    assert fake.graph_launches == steps - 2  # every step but the two warm-ups
    assert len(replays) == steps - 4  # and but the two captures (each launched once)
    # a replayed step neither reads the device nor copies from the host nor synchronizes
    assert all(counts == {"to_host": 0, "to_device": 0, "synchronize": 0}
               for counts in replays), replays
    # graphs run on a non-blocking stream of their own, ordered with the training stream by
    # events both ways at each launch
    graph_stream = backends.current()._graph_stream
    assert graph_stream.non_blocking and len(graph_stream.waited) == steps - 2
    assert len(fake.null_stream.waited) == steps - 2


def test_a_learning_rate_set_by_a_callback_reaches_the_graph(fake):
    schedule = [callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)]
    eager = _fit(False, fit_callbacks=schedule)
    captured = _fit(True, fit_callbacks=schedule)
    _assert_same_training(eager, captured)
    assert captured[1]["learning_rate"] == [0.005, 0.0025, 0.00125]
    assert captured[0]._captured_steps.captures == 2  # written in place: no recapture


def test_mixed_precision_loss_scaling_is_captured(fake):
    mixed_precision.set_global_policy("mixed_float16")
    eager = _fit(False, model=_model(dropout=False))
    captured = _fit(True, model=_model(dropout=False))
    assert isinstance(captured[0].optimizer, optimizers.LossScaleOptimizer)
    _assert_same_training(eager, captured)
    assert float(captured[0].optimizer.dynamic_scale) == float(eager[0].optimizer.dynamic_scale)
    assert captured[0]._captured_steps.captures == 2


class _SetWeightDecay(callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.optimizer.weight_decay = 0.05 * (epoch + 1)


def test_a_changed_host_setting_invalidates_the_graph(fake):
    eager = _fit(False, fit_callbacks=[_SetWeightDecay()])
    captured = _fit(True, fit_callbacks=[_SetWeightDecay()])
    _assert_same_training(eager, captured)
    # epoch 1 captures both batch signatures; a new weight decay makes each graph invalid:
    # one eager step, then a new capture at the signature's next step (16 samples: in epochs
    # 2 and 3; 6 samples: captured in epoch 2, invalid again in epoch 3, its last)
    assert captured[0]._captured_steps.captures == 4


class _HostDecision(layers.Layer):
    """Decides in Python on a device value: a host read inside the step."""

    def call(self, inputs):
        return inputs * 2.0 if float(ops.mean(inputs)) > 100.0 else inputs


class _Stateful(layers.Layer):
    stateful = True

    def call(self, inputs):
        return inputs


class _RebindingMean(metrics.Mean):
    """Replaces its variable's array at each update instead of writing into it."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.value = self.total.value + ops.mean(y_pred).value


class _CustomSGD(optimizers.SGD):
    def _hyper(self, learning_rate):
        return super()._hyper(learning_rate)


FAILURES = {
    "host_read": (dict(model=lambda: _model(extra=[_HostDecision()])),
                  "cudaErrorStreamCaptureInvalidated"),
    "stateful_layer": (dict(model=lambda: _model(extra=[_Stateful(name="carry")])),
                       "layer 'carry' is stateful"),
    "custom_optimizer": (dict(optimizer=lambda: _CustomSGD(0.1)),
                         "optimizer _CustomSGD computes its update on the host"),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_auto_warns_once_and_trains_eagerly(fake, case):
    arguments, reason = FAILURES[case]
    make_model = arguments.get("model", _model)
    optimizer = arguments.get("optimizer", lambda: optimizers.Adam(0.01))
    eager = _fit(False, optimizer, make_model())
    with pytest.warns(UserWarning, match="runs eagerly") as record:
        captured = _fit("auto", optimizer, make_model())
    assert len([w for w in record if "jit_compile" in str(w.message)]) == 1
    assert reason in str(record[0].message)
    _assert_same_training(eager, captured)  # a failed capture ran nothing: no batch lost
    assert captured[0]._captured_steps.captures == 0


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_jit_compile_true_names_the_reason(fake, case):
    arguments, reason = FAILURES[case]
    with pytest.raises(step_capture.CaptureError, match="jit_compile=True") as error:
        _fit(True, arguments.get("optimizer", lambda: optimizers.Adam(0.01)),
             arguments.get("model", _model)())
    assert reason in str(error.value)


def test_a_step_replacing_a_state_array_is_not_captured_and_loses_nothing(fake):
    def fit(jit_compile):
        np.random.seed(1)
        x, y, _ = _data()
        model = _model(dropout=False)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=[_RebindingMean(name="mean_prediction")],
                      jit_compile=jit_compile)
        return model, model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0).history

    eager = fit(False)
    with pytest.warns(UserWarning, match="replaces the array of metric mean_prediction"):
        captured = fit("auto")
    _assert_same_training(eager, captured)


def test_numpy_backend_accepts_jit_compile_and_trains_eagerly():
    eager = _fit(False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        captured = _fit(True)
    _assert_same_training(eager, captured)
    assert captured[0]._captured_steps is None


@pytest.mark.parametrize("value", ["xla", 1, "True"])
def test_jit_compile_values_are_checked(value):
    model = _model()
    with pytest.raises(ValueError, match="`jit_compile` must be True, False or 'auto'"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=value)


def test_run_eagerly_wins(fake):
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=True,
                  run_eagerly=True)
    x, y, _ = _data()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert fake.graph_launches == 0 and model._captured_steps is None


# --- a real GPU (make gpu-check); the fake-GPU rerun runs it on the fake device -------------

@pytest.mark.gpu
def test_captured_training_matches_eager_training_on_the_device():
    backends.set_backend(backends.create("cupy"))
    launches = []
    run = step_capture._Graph.run

    def counted(self, xs, ys, sws):
        launches.append(1)
        run(self, xs, ys, sws)
    step_capture._Graph.run = counted
    try:
        eager = _fit(False, epochs=4)
        captured = _fit(True, epochs=4)
    finally:
        step_capture._Graph.run = run
    runner = captured[0]._captured_steps
    assert runner.disabled is None and runner.captures == 2
    assert len(launches) == 4 * 5 - 4
    # CuPy's generator and kernels are the same in both runs; a GPU's reductions may order
    # their sums differently from run to run, hence float32 tolerances
    _assert_same_training(eager, captured, rtol=1e-4, atol=1e-5)


class _SetWeightDecayEachBatch(callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.model.optimizer.weight_decay = 0.01 * (batch + 1)


def test_a_graph_invalidated_at_every_step_gives_way_to_eager_steps(fake):
    eager = _fit(False, fit_callbacks=[_SetWeightDecayEachBatch()], epochs=6)
    with pytest.warns(UserWarning, match="a host setting of the optimizer.* changed before 11"):
        captured = _fit("auto", fit_callbacks=[_SetWeightDecayEachBatch()], epochs=6)
    _assert_same_training(eager, captured)


LAYER_MODELS = {
    "lstm_recurrent_dropout": ((7, 4), "float32", lambda: [
        layers.LSTM(5, return_sequences=True, recurrent_dropout=0.2, seed=2), layers.GRU(3)]),
    "simple_rnn_masked": ((7,), "int32", lambda: [
        layers.Embedding(20, 4, mask_zero=True), layers.SimpleRNN(3)]),
    "conv_batchnorm_pool": ((6, 6, 2), "float32", lambda: [
        layers.Conv2D(3, 3, padding="same", use_bias=False), layers.BatchNormalization(),
        layers.ReLU(), layers.MaxPooling2D(2), layers.Flatten()]),
}


@pytest.mark.parametrize("name", sorted(LAYER_MODELS))
def test_recurrent_embedding_and_convolution_steps_replay_exactly(fake, name):
    shape, dtype, body = LAYER_MODELS[name]
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 20, (37,) + shape) if dtype == "int32" else
         rng.normal(size=(37,) + shape)).astype(dtype)
    y = rng.integers(0, 2, (37, 1)).astype("float32")
    runs, initial = [], None
    for jit_compile in (False, True):
        model = gkeras.Sequential([gkeras.Input(shape, dtype=dtype)] + body() +
                                  [layers.Dense(1, activation="sigmoid")])
        initial = initial or model.get_weights()
        model.set_weights(initial)
        model.compile(optimizer=optimizers.Adam(0.01), loss="binary_crossentropy",
                      jit_compile=jit_compile)
        history = model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False)
        runs.append((model, history.history))
    _assert_same_training(*runs)
    assert runs[1][0]._captured_steps.captures == 2
