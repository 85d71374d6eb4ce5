"""The learning phase in fit/evaluate/predict, K.switch/in_train_phase, K's loops (rnn,
map_fn, folds), custom layers and losses written with K that train, and K on a CuPy-style
backend."""
import numpy as np
import pytest

from gkeras import GradientTape, Tensor, backends, layers, models, optimizers
from gkeras import backend as K
from gkeras.backends.cupy_backend import CupyBackend
from fakecupy import FakeCupy


@pytest.fixture(autouse=True)
def _fresh_session():
    K.clear_session()
    yield
    K.clear_session()


def test_learning_phase_outside_layers_and_when_fixed():
    assert K.learning_phase() == 0
    K.set_learning_phase(1)
    assert K.learning_phase() == 1
    K.clear_session()
    assert K.learning_phase() == 0
    with pytest.raises(ValueError, match="0 or 1"):
        K.set_learning_phase(2)


def _recording_model(seen):
    def record(x):
        seen.append(K.learning_phase())
        return K.in_train_phase(x * 0.0, x)  # zeros in training, identity in inference
    inputs = layers.Input((2,))
    hidden = layers.Lambda(record)(inputs)
    model = models.Model(inputs, layers.Dense(1, kernel_initializer="ones")(hidden))
    model.compile("sgd", "mse")
    return model


def test_lambda_sees_the_learning_phase_of_fit_evaluate_and_predict():
    seen = []
    model = _recording_model(seen)
    x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    seen.clear()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [1, 1]
    kernel = model.layers[-1].get_weights()[0]
    np.testing.assert_array_equal(kernel, np.ones((2, 1)))  # training saw zeros: no update
    seen.clear()
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    assert set(seen) == {0}
    bias = model.layers[-1].get_weights()[1]
    np.testing.assert_allclose(model.predict(x), x @ kernel + bias, rtol=1e-6)


def test_a_fixed_learning_phase_overrides_fit_and_predict():
    seen = []
    model = _recording_model(seen)
    x, y = np.ones((4, 2), "float32"), np.zeros((4, 1), "float32")
    K.set_learning_phase(0)
    seen.clear()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [0]
    K.set_learning_phase(1)
    dropout = models.Sequential([layers.Dropout(0.5, input_shape=(100,))])
    out = dropout.predict(np.ones((4, 100), "float32"))
    assert set(np.unique(out)) == {0.0, 2.0}  # the dropout of training, in predict


def test_a_custom_loss_sees_the_training_phase_in_fit_only():
    def loss(y_true, y_pred):  # 1 + error in training, the error alone in evaluation
        error = K.mean(K.square(y_pred - y_true), axis=-1)
        return K.in_train_phase(lambda: error + 1.0, error)
    model = models.Sequential([layers.Dense(1, kernel_initializer="zeros", input_shape=(2,))])
    model.compile(optimizers.SGD(0.0), loss)
    x, y = np.ones((4, 2), "float32"), np.full((4, 1), 2.0, "float32")
    assert model.fit(x, y, batch_size=4, epochs=1, verbose=0).history["loss"] == [5.0]
    assert model.evaluate(x, y, verbose=0) == 4.0


def test_learning_phase_under_a_tape_outside_layers_is_training():
    with GradientTape():
        assert K.learning_phase() == 1
    assert K.learning_phase() == 0


def test_in_train_phase_calls_only_the_chosen_callable():
    calls = []

    def branch(name, value):
        def fn():
            calls.append(name)
            return value
        return fn
    assert K.in_train_phase(branch("train", 1.0), branch("test", 2.0)) == 2.0
    assert K.in_train_phase(branch("train", 1.0), branch("test", 2.0), training=True) == 1.0
    assert K.in_test_phase(branch("test", 3.0), branch("train", 4.0), training=0) == 3.0
    assert calls == ["test", "train", "test"]
    assert K.in_train_phase(5.0, 6.0, training=1) == 5.0


def test_switch_on_scalars_and_tensors():
    a, b = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[-1.0, -2.0], [-3.0, -4.0]])
    np.testing.assert_array_equal(K.switch(K.constant(True, dtype=bool), a, b), a)
    assert K.switch(0, lambda: "then", lambda: "else") == "else"
    # a (batch,) condition picks whole rows, as Keras 2's tiled condition
    np.testing.assert_array_equal(K.switch(np.array([True, False]), a, b).numpy(),
                                  [[1.0, 2.0], [-3.0, -4.0]])
    np.testing.assert_array_equal(K.switch(np.array([[1, 0], [0, 1]]), a, b).numpy(),
                                  [[1.0, -2.0], [-3.0, 4.0]])
    picked = K.in_train_phase(a, b, training=np.array([False, True]))
    np.testing.assert_array_equal(picked.numpy(), [[-1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="Rank of `condition`"):
        K.switch(np.ones((2, 2, 2), bool), a, b)


def test_switch_is_differentiable_through_the_chosen_entries():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    with GradientTape() as tape:
        tape.watch(x)
        y = K.sum(K.switch(np.array([True, False, True]), x * 2.0, x * 5.0))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 5.0, 2.0])


# --- loops ------------------------------------------------------------------------------------

def _np_simple_rnn(x, w, u, h0):
    h, outs = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w + h @ u)
        outs.append(h)
    return np.stack(outs, 1), h


def test_rnn_runs_the_step_function_over_time():
    rng = np.random.default_rng(0)
    x, w, u = rng.standard_normal((2, 4, 3)), rng.standard_normal((3, 5)), \
        rng.standard_normal((5, 5))
    h0 = np.zeros((2, 5))

    def step(inputs, states):
        h = K.tanh(K.dot(inputs, w) + K.dot(states[0], u))
        return h, [h]
    last, outputs, states = K.rnn(step, x, [h0])
    want_outputs, want_h = _np_simple_rnn(x, w, u, h0)
    np.testing.assert_allclose(outputs.numpy(), want_outputs, rtol=1e-10)
    np.testing.assert_allclose(last.numpy(), want_h, rtol=1e-10)
    np.testing.assert_allclose(states[0].numpy(), want_h, rtol=1e-10)
    _, backwards, _ = K.rnn(step, x, [h0], go_backwards=True)
    np.testing.assert_allclose(backwards.numpy(), _np_simple_rnn(x[:, ::-1], w, u, h0)[0],
                               rtol=1e-10)


def test_rnn_with_a_mask_carries_states_over_masked_steps():
    x = np.arange(1.0, 7.0).reshape(1, 3, 2)  # steps [1, 2], [3, 4], [5, 6]
    mask = np.array([[True, False, True]])

    def step(inputs, states):  # a running sum
        total = states[0] + inputs
        return total * 10.0, [total]
    _, outputs, states = K.rnn(step, x, [np.zeros((1, 2))], mask=mask)
    # masked step: output = the first state (Keras 2's default path), state carried over
    np.testing.assert_array_equal(outputs.numpy(), [[[10, 20], [1, 2], [60, 80]]])
    np.testing.assert_array_equal(states[0].numpy(), [[6, 8]])
    _, unrolled, _ = K.rnn(step, x, [np.zeros((1, 2))], mask=mask, unroll=True)
    np.testing.assert_array_equal(unrolled.numpy(), [[[10, 20], [10, 20], [60, 80]]])


def test_rnn_is_differentiable():
    w = Tensor(np.array([[0.5]]))
    x = np.array([[[1.0], [2.0]]])
    with GradientTape() as tape:
        tape.watch(w)
        last, _, _ = K.rnn(lambda i, s: (s[0] * w + i, [s[0] * w + i]), x, [np.ones((1, 1))])
    # h2 = (1 * w + 1) * w + 2 = w^2 + w + 2; dh2/dw = 2w + 1 = 2
    np.testing.assert_allclose(last.numpy(), [[2.75]])
    np.testing.assert_allclose(tape.gradient(last, w).numpy(), [[2.0]])


def test_map_fn_and_folds():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(K.map_fn(lambda row: K.sum(row), x).numpy(), [3, 7, 11])
    assert K.map_fn(lambda row: row * 2, x, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(K.foldl(lambda acc, row: acc * 2 + row, x).numpy(),
                                  (x[0] * 2 + x[1]) * 2 + x[2])
    np.testing.assert_array_equal(K.foldr(lambda acc, row: acc * 2 + row, x).numpy(),
                                  (x[2] * 2 + x[1]) * 2 + x[0])
    np.testing.assert_array_equal(K.foldl(lambda acc, row: acc + row, x, initializer=10.0)
                                  .numpy(), [19.0, 22.0])


def test_stop_gradient_of_a_list():
    a = Tensor(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        tape.watch(a)
        frozen, = K.stop_gradient([a])
        y = K.sum(a * frozen)
    np.testing.assert_array_equal(tape.gradient(y, a).numpy(), [1.0, 2.0])


# --- custom layers and losses written with K train with fit ---------------------------------------

class Antirectifier(layers.Layer):
    """Keras 2.2.4's examples/antirectifier.py, unchanged but for the import."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        assert len(shape) == 2
        shape[-1] *= 2
        return tuple(shape)

    def call(self, inputs):
        inputs -= K.mean(inputs, axis=1, keepdims=True)
        inputs = K.l2_normalize(inputs, axis=1)
        pos = K.relu(inputs)
        neg = K.relu(-inputs)
        return K.concatenate([pos, neg], axis=1)


def _classification_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((256, 6)).astype("float32")
    y = (x[:, 0] - x[:, 1] + 0.5 * x[:, 2] > 0).astype("int64")
    return x, np.eye(2, dtype="float32")[y]


def test_antirectifier_layer_trains_with_fit():
    x, y = _classification_data()
    model = models.Sequential([layers.Dense(16, input_shape=(6,)), Antirectifier(),
                               layers.Dense(2, activation="softmax")])
    model.compile(optimizers.Adam(0.02), "categorical_crossentropy", metrics=["accuracy"])
    assert model.output_shape == (None, 2) and model.layers[1].output_shape == (None, 32)
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] > 0.9
    hidden = x[:3] @ model.layers[0].get_weights()[0] + model.layers[0].get_weights()[1]
    centered = hidden - hidden.mean(axis=1, keepdims=True)
    unit = centered / np.linalg.norm(centered, axis=1, keepdims=True)
    want = np.concatenate([np.maximum(unit, 0), np.maximum(-unit, 0)], axis=1)
    np.testing.assert_allclose(model.layers[1](hidden).numpy(), want, rtol=1e-5, atol=1e-6)


def test_custom_loss_written_with_k_trains_with_fit():
    def clipped_crossentropy(y_true, y_pred):
        y_pred = K.clip(y_pred, K.epsilon(), 1.0 - K.epsilon())
        return -K.sum(y_true * K.log(y_pred), axis=-1) + 0.0 * K.mean(K.square(y_pred))
    x, y = _classification_data()
    model = models.Sequential([layers.Dense(2, activation="softmax", input_shape=(6,))])
    model.compile(optimizers.Adam(0.05), clipped_crossentropy)
    before = model.evaluate(x, y, verbose=0)
    p = np.clip(model.predict(x), 1e-7, 1 - 1e-7)
    np.testing.assert_allclose(before, np.mean(-np.sum(y * np.log(p), axis=-1)), rtol=1e-5)
    model.fit(x, y, batch_size=32, epochs=10, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.6 * before


# --- on a CuPy-style backend -------------------------------------------------------------------

def test_backend_functions_run_on_the_fake_cupy_backend():
    x = np.random.default_rng(1).standard_normal((3, 4))

    def compute():
        t = Tensor(backends.current().asarray(x))
        return [K.in_top_k(t, np.array([0, 1, 3]), 2), K.batch_dot(t, t, axes=1),
                K.l2_normalize(t, axis=1), K.cumprod(t, axis=1), K.one_hot(K.arange(3), 4),
                K.dropout(t, 0.5, seed=2), K.truncated_normal((3, 4), seed=1),
                K.sparse_categorical_crossentropy(np.array([1, 2, 0]), K.softmax(t)),
                K.reverse(t, 1), K.switch(np.array([True, False, True]), t, -t),
                K.ctc_batch_cost(np.array([[0], [1], [2]]), K.softmax(K.reshape(t, (3, 2, 2))),
                                 np.array([[2], [2], [1]]), np.array([[1], [1], [1]])),
                K.ctc_decode(K.softmax(K.reshape(t, (3, 2, 2))), np.array([2, 2, 1]))[0][0]]
    want = [o.numpy() for o in compute()]
    backends.set_backend(CupyBackend(xp=FakeCupy()))  # restored by the conftest fixture
    got = compute()
    for g, w in zip(got, want):
        assert not isinstance(g.value, np.ndarray)  # computed on the (fake) device
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-12)
