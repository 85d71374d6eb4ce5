"""SimpleRNN, GRU, LSTM, Embedding, Masking, Bidirectional and TimeDistributed: values against
the step-by-step NumPy reference, gradients against finite differences (float64), masks,
states, dropout, configs, saving and errors."""
import numpy as np
import pytest

import gkeras
import rnn_reference
from gkeras import Tensor, layers
from gkeras.testing import check_gradients

RNG = np.random.default_rng(7)


def seq(*shape, dtype="float64"):
    return RNG.standard_normal(shape).astype(dtype)


def rnn(kind, units=3, **kwargs):
    return getattr(layers, kind)(units, dtype="float64", bias_initializer="random_normal",
                                 **kwargs)


def reference(layer, x, **kwargs):
    """The reference recurrence with the layer's weights and options."""
    weights = layer.get_weights()
    kind = type(layer).__name__
    opts = dict(go_backwards=layer.go_backwards, return_sequences=layer.return_sequences,
                activation=layer._activation_name, time_major=layer.time_major, **kwargs)
    if kind == "SimpleRNN":
        return rnn_reference.simple_rnn(x, *weights, **opts)
    opts["recurrent_activation"] = layer._recurrent_activation_name
    if kind == "GRU":
        return rnn_reference.gru(x, *weights, reset_after=layer.reset_after, **opts)
    return rnn_reference.lstm(x, *weights, **opts)


KINDS = [("SimpleRNN", {}), ("GRU", {}), ("GRU", {"reset_after": True}), ("LSTM", {}),
         ("LSTM", {"recurrent_activation": "sigmoid"})]
KIND_IDS = ["SimpleRNN", "GRU", "GRU-reset_after", "LSTM", "LSTM-sigmoid"]


# --- values and gradients ----------------------------------------------------------------------
@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("options", [{}, {"return_sequences": True},
                                     {"go_backwards": True, "return_sequences": True},
                                     {"return_state": True}, {"use_bias": False},
                                     {"time_major": True, "return_sequences": True}],
                         ids=["last", "sequences", "go_backwards", "return_state", "no_bias",
                              "time_major"])
def test_values_and_gradients(kind, extra, options):
    layer = rnn(kind, **extra, **options)
    x = seq(2, 4, 3)
    out = layer(x)
    outputs = out if isinstance(out, list) else [out]
    want = reference(layer, x)
    for got, expected in zip(outputs, want if layer.return_state else want[:1]):
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert len(outputs) == (1 + len(layer._state_names) if layer.return_state else 1)
    check_gradients(layer, x)


@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_initial_state_values_and_gradients(kind, extra):
    layer = rnn(kind, **extra, return_sequences=True)
    x = seq(2, 4, 3)
    states = [seq(2, 3) for _ in ({"LSTM": "hc"}.get(kind, "h"))]
    out = layer(x, initial_state=[Tensor(s) for s in states])
    np.testing.assert_allclose(out.numpy(), reference(layer, x, initial_state=states)[0],
                               rtol=1e-10)
    check_gradients(layer, [x] + states)


@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_embedding_mask_values_and_gradients(kind, extra):
    ids = np.array([[3, 0, 2, 5, 0], [0, 0, 4, 1, 1]])
    model = gkeras.Sequential([
        layers.Embedding(6, 2, mask_zero=True, dtype="float64", input_length=5),
        rnn(kind, **extra, return_sequences=True, go_backwards=True)])
    out = model(ids)
    table = model.layers[0].get_weights()[0]
    np.testing.assert_allclose(out.numpy(), reference(model.layers[1], table[ids],
                                                      mask=ids != 0)[0], rtol=1e-10)
    check_gradients(model, ids)


def test_padded_and_unpadded_sequences_give_the_same_final_output():
    model = gkeras.Sequential([layers.Embedding(20, 4, mask_zero=True),
                               layers.LSTM(5, return_sequences=True), layers.GRU(3)])
    unpadded = model.predict(np.array([[4, 7, 1]]), verbose=0)
    trailing = model.predict(np.array([[4, 7, 1, 0, 0, 0]]), verbose=0)
    leading = model.predict(np.array([[0, 0, 4, 7, 1]]), verbose=0)
    np.testing.assert_allclose(trailing, unpadded, rtol=1e-6)
    np.testing.assert_allclose(leading, unpadded, rtol=1e-6)


def test_masking_layer():
    x = seq(2, 4, 3, dtype="float32")
    x[0, 1] = 0.0
    x[1, 2:] = 0.0
    masking = layers.Masking(0.0)
    out = masking(x)
    np.testing.assert_array_equal(out._keras_mask.numpy(),
                                  [[True, False, True, True], [True, True, False, False]])
    np.testing.assert_array_equal(out.numpy(), x)
    x[1, 3, 0] = 5.0  # one non-masked feature keeps the step
    assert masking(x)._keras_mask.numpy()[1, 3]
    model = gkeras.Sequential([layers.Masking(0.0, input_shape=(4, 3)), layers.SimpleRNN(2)])
    x[1, 3] = 0.0
    short = model.layers[1](x[1:, :2])
    np.testing.assert_allclose(model.predict(x, verbose=0)[1], short.numpy()[0], rtol=1e-6)
    assert layers.Masking(-1.0).get_config()["mask_value"] == -1.0


def test_a_layer_that_cannot_take_the_mask_refuses_it():
    model = gkeras.Sequential([layers.Embedding(10, 3, mask_zero=True, input_length=4),
                               layers.Flatten(), layers.Dense(1)])
    with pytest.raises(TypeError, match="'flatten.*' \\(Flatten\\) does not support masking"):
        model.predict(np.array([[1, 2, 0, 0]]), verbose=0)


# --- Embedding ---------------------------------------------------------------------------------
def test_embedding_lookup_gradient_and_errors():
    emb = layers.Embedding(5, 2, dtype="float64")
    ids = np.array([[1, 1, 4], [0, 1, 3]])
    table = np.arange(10.0).reshape(5, 2)
    emb.build((None, 3))
    emb.set_weights([table])
    np.testing.assert_array_equal(emb(ids).numpy(), table[ids])
    np.testing.assert_array_equal(emb(ids.astype("float32")).numpy(), table[ids])
    with gkeras.GradientTape() as tape:
        out = emb(ids)
    (grad,) = tape.gradient(out, [emb.embeddings], output_gradients=np.ones((2, 3, 2)))
    np.testing.assert_array_equal(grad.numpy()[:, 0], [1, 3, 0, 1, 1])  # repeated rows add
    for bad in (5, -1):
        with pytest.raises(ValueError, match=rf"\[0, 5\), received index {bad}"):
            emb(np.array([[0, bad]]))
    assert emb.compute_mask(ids) is None
    masked = layers.Embedding(5, 2, mask_zero=True)
    np.testing.assert_array_equal(masked.compute_mask(Tensor(ids)).numpy(), ids != 0)


def test_embedding_shapes_config_and_defaults():
    emb = layers.Embedding(1000, 64, input_length=10)
    cfg = emb.get_config()
    assert cfg["input_length"] == 10 and cfg["batch_input_shape"] == [None, 10]
    assert cfg["embeddings_initializer"]["class_name"] == "RandomUniform"
    clone = layers.Embedding.from_config(cfg)
    assert clone.get_config() == cfg
    pretrained = np.arange(12.0).reshape(4, 3)
    frozen = layers.Embedding(4, 3, weights=[pretrained], trainable=False)
    np.testing.assert_array_equal(frozen(np.array([[3, 0]])).numpy(), pretrained[[[3, 0]]])
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*\(2, 2\)"):
        layers.Embedding(4, 3, weights=[np.zeros((2, 2))])(np.array([[1]]))
    model = gkeras.Sequential([layers.Embedding(30, 4)])  # as the guide's Keras: (None, None)
    assert model.output_shape == (None, None, 4)
    with pytest.raises(ValueError, match="output_dim"):
        layers.Embedding(10, 0)


# --- states ------------------------------------------------------------------------------------
def test_stateful_layer_carries_states_and_refuses_other_batch_sizes():
    layer = layers.LSTM(3, stateful=True, return_state=True, dtype="float64")
    x1, x2 = seq(2, 4, 3), seq(2, 4, 3)
    _, h1, c1 = layer(x1)
    carried = layer(x2)
    fresh = layers.LSTM(3, return_state=True, dtype="float64")
    fresh.build((2, 4, 3))
    fresh.set_weights(layer.get_weights())
    for a, b in zip(carried, fresh(x2, initial_state=[h1, c1])):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    layer.reset_states()
    np.testing.assert_allclose(layer(x1)[1].numpy(), h1.numpy(), rtol=1e-12)
    layer.reset_states([np.ones((2, 3)), np.zeros((2, 3))])
    np.testing.assert_allclose(layer(x2)[0].numpy(),
                               fresh(x2, initial_state=[np.ones((2, 3)), np.zeros((2, 3))])[0]
                               .numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="stateful with batch size 2, but received a batch "
                                         "of 3"):
        layer(seq(3, 4, 3))
    model = gkeras.Sequential([layers.GRU(2, stateful=True, batch_input_shape=(4, 5, 3))])
    model.predict(seq(8, 5, 3), batch_size=4, verbose=0)
    with pytest.raises(ValueError, match="batch size 4, but received a batch of 2"):
        model.predict(seq(6, 5, 3), batch_size=4, verbose=0)  # the last batch has 2
    with pytest.raises(ValueError, match="needs to know its batch size"):
        gkeras.Sequential([layers.GRU(2, stateful=True, input_shape=(4, 3))])
    with pytest.raises(AttributeError, match="stateful=True"):
        layers.GRU(2).reset_states()


def test_dropout_uses_one_mask_per_sequence():
    layer = rnn("LSTM", dropout=0.5, recurrent_dropout=0.4, return_sequences=True)
    x = seq(3, 5, 4)
    masks = []
    original = layer._keep_mask
    layer._keep_mask = lambda *a: masks.append(original(*a)) or masks[-1]
    out = layer(x, training=True)
    keep_x, keep_h = (np.asarray(m) for m in masks)
    assert keep_x.shape == (3, 4) and keep_h.shape == (3, 3)
    assert set(np.unique(keep_x)) <= {0.0, 2.0} and set(np.unique(keep_h)) <= {0.0, 1 / 0.6}
    want = reference(layer, x * keep_x[:, None], recurrent_dropout_mask=keep_h)[0]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(layer(x).numpy(), reference(layer, x)[0], rtol=1e-10)


def test_none_time_axis_and_lengths():
    model = gkeras.Sequential([layers.GRU(4, return_sequences=True, input_shape=(None, 3)),
                               layers.SimpleRNN(2)])
    assert model.layers[0].output_shape == (None, None, 4)
    for steps in (1, 7):
        assert model.predict(seq(2, steps, 3, dtype="float32"), verbose=0).shape == (2, 2)


# --- wrappers ----------------------------------------------------------------------------------
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_values_and_gradients(merge_mode):
    layer = layers.Bidirectional(rnn("GRU", return_sequences=True, name="gru"),
                                 merge_mode=merge_mode)
    x = seq(2, 4, 3)
    out = layer(x)
    forward = reference(layer.forward_layer, x)[0]
    backward = reference(layer.backward_layer, x)[0][:, ::-1]
    want = {"concat": np.concatenate([forward, backward], -1), "sum": forward + backward,
            "mul": forward * backward, "ave": (forward + backward) / 2}.get(merge_mode)
    if merge_mode is None:
        np.testing.assert_allclose(out[0].numpy(), forward, rtol=1e-10)
        np.testing.assert_allclose(out[1].numpy(), backward, rtol=1e-10)
    else:
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-10)
    check_gradients(layer, x)
    assert [w.path for w in layer.weights][:3] == ["forward_gru/kernel",
                                                   "forward_gru/recurrent_kernel",
                                                   "forward_gru/bias"]


def test_bidirectional_states_shapes_and_config():
    layer = layers.Bidirectional(layers.LSTM(3, return_state=True, name="lstm"),
                                 input_shape=(5, 2))
    inp = gkeras.Input((5, 2))
    outs = layer(inp)
    assert [t.shape for t in outs] == [(None, 6)] + [(None, 3)] * 4
    assert layer.get_config()["batch_input_shape"] == [None, 5, 2]
    cfg = layer.get_config()
    assert cfg["layer"]["config"]["name"] == "forward_lstm" and cfg["merge_mode"] == "concat"
    assert cfg["backward_layer"]["config"]["go_backwards"] is True
    clone = layers.Bidirectional.from_config(cfg)
    assert clone.get_config() == cfg
    custom = layers.Bidirectional(layers.LSTM(3), backward_layer=layers.GRU(
        3, go_backwards=True, name="back"))
    assert custom.backward_layer.name == "back"
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="different go_backwards"):
        layers.Bidirectional(layers.LSTM(3), backward_layer=layers.LSTM(3))
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))


def test_time_distributed():
    dense = layers.Dense(2, dtype="float64")
    layer = layers.TimeDistributed(dense)
    x = seq(3, 4, 5)
    out = layer(x)
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(out.numpy(), x @ kernel + bias, rtol=1e-12)
    check_gradients(layer, x)
    inp = gkeras.Input((None, 5))
    assert layers.TimeDistributed(layers.Dense(7))(inp).shape == (None, None, 7)
    clone = layers.TimeDistributed.from_config(layer.get_config())
    assert clone.get_config()["layer"]["config"]["units"] == 2
    with pytest.raises(ValueError, match="at least 3-D"):
        layers.TimeDistributed(layers.Dense(2))(np.zeros((2, 3)))


# --- configs, saving, summary, errors ----------------------------------------------------------
ALL_LAYERS = [
    lambda: layers.SimpleRNN(3, return_sequences=True, activation="relu"),
    lambda: layers.GRU(3, reset_after=True, recurrent_activation="sigmoid", dropout=0.1),
    lambda: layers.LSTM(3, unit_forget_bias=False, go_backwards=True, recurrent_dropout=0.2),
    lambda: layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="sum"),
    lambda: layers.TimeDistributed(layers.Dense(2)),
    lambda: layers.Masking(0.5),
    lambda: layers.Embedding(9, 3, mask_zero=True),
]


@pytest.mark.parametrize("make", ALL_LAYERS)
def test_config_round_trip(make):
    layer = make()
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == cfg
    assert gkeras.layers.deserialize(gkeras.layers.serialize(layer)).get_config() == cfg


def test_keras_2_configs_load_and_compute_what_they_say():
    cfg = {"name": "lstm_1", "units": 3, "activation": "tanh",
           "recurrent_activation": "sigmoid", "time_major": False, "implementation": 2,
           "unroll": False, "return_sequences": False, "dtype": "float64"}
    lstm = layers.LSTM.from_config(cfg)
    assert lstm._recurrent_activation_name == "sigmoid"
    gru = layers.GRU.from_config({"units": 2, "reset_after": True, "implementation": 1,
                                  "time_major": True, "dtype": "float64"})
    x = seq(4, 2, 3)  # (timesteps, batch, features)
    out = gru(x)
    assert gru.bias.shape == (2, 6) and out.shape == (2, 2)
    np.testing.assert_allclose(out.numpy(), reference(gru, x)[0], rtol=1e-10)


def test_hdf5_round_trip_of_every_new_layer(tmp_path):
    ids = gkeras.Input((6,))
    emb = layers.Embedding(12, 4, mask_zero=True)(ids)
    h = layers.LSTM(5, return_sequences=True)(emb)
    h = layers.Bidirectional(layers.GRU(3, return_sequences=True, reset_after=True))(h)
    h = layers.TimeDistributed(layers.Dense(4))(h)
    h = layers.SimpleRNN(2, go_backwards=True)(h)
    floats = gkeras.Input((3, 2))
    g = layers.Masking(0.0)(floats)
    g = layers.GRU(2)(g)
    model = gkeras.Model([ids, floats], [h, g])
    model.compile("adam", "mse")
    data = [RNG.integers(0, 12, (4, 6)), seq(4, 3, 2, dtype="float32")]
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "rnn.h5")
    loaded = gkeras.models.load_model(tmp_path / "rnn.h5")
    for a, b in zip(loaded.predict(data, verbose=0), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    model.save_weights(tmp_path / "w.h5")
    fresh = gkeras.models.model_from_json(model.to_json())
    fresh.load_weights(tmp_path / "w.h5")
    for a, b in zip(fresh.predict(data, verbose=0), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_summary_and_parameter_counts():
    model = gkeras.Sequential([layers.Embedding(1000, 64, input_length=10),
                               layers.LSTM(32, return_sequences=True),
                               layers.Bidirectional(layers.GRU(8)), layers.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Keras's counts: 4*(32*(64+32)+32), 2 * 3*(8*(32+8)+8) (reset_after=False)
    for row in ("64000", "12416", "1968", "17"):
        assert row in text
    assert "(None, 10, 32)" in text and "(None, 16)" in text


@pytest.mark.parametrize("make,error,message", [
    (lambda: layers.LSTM(3, activation="gelu"), ValueError,
     "activation='gelu' is not supported by the fused recurrent step"),
    (lambda: layers.GRU(0), ValueError, "units"),
    (lambda: layers.SimpleRNN(2, dropout=1.5), ValueError, "dropout"),
    (lambda: layers.SimpleRNN(2, recurrent_activation="sigmoid"), TypeError, "no gates"),
    (lambda: layers.GRU(2, unit_forget_bias=True), TypeError, "unit_forget_bias"),
])
def test_argument_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_input_errors():
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.LSTM(2)(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"initial state must have shape \(batch, units\)"):
        layers.GRU(2)(np.zeros((2, 3, 4), "float32"), initial_state=[np.zeros((2, 5))])
    with pytest.raises(ValueError, match="expected 2 initial state"):
        layers.LSTM(2)(np.zeros((2, 3, 4), "float32"), initial_state=[np.zeros((2, 2))])


def test_no_input_gradient_is_computed_for_an_input_that_needs_none(monkeypatch):
    from gkeras import GradientTape, backends, ops
    backend = backends.current()
    seen = []
    original = type(backend).lstm_backward
    monkeypatch.setattr(type(backend), "lstm_backward",
                        lambda self, *a: seen.append(original(self, *a)) or seen[-1])
    x, kernel, recurrent = Tensor(seq(2, 4, 3)), Tensor(seq(3, 8)), Tensor(seq(2, 8))
    with GradientTape() as tape:
        tape.watch([kernel, recurrent])
        out = ops.lstm(x, kernel, recurrent)[0]
    grads = tape.gradient(out, [kernel, recurrent])
    assert seen[-1][0] is None and all(g is not None for g in grads)
    with GradientTape() as tape:
        tape.watch([x, kernel, recurrent])
        out = ops.lstm(x, kernel, recurrent)[0]
    again = tape.gradient(out, [kernel, recurrent])
    assert seen[-1][0].shape == (4, 2, 3)  # time-major inside the backend
    for a, b in zip(grads, again):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


class _FromStates(layers.Layer):
    """Runs a stateful layer from the same carried states at every call (for finite
    differences, which call the layer many times)."""

    def __init__(self, inner, states, **kwargs):
        super().__init__(dtype="float64", **kwargs)
        self.inner, self.carried = inner, states

    def call(self, inputs):
        self.inner.reset_states(self.carried)
        return self.inner(inputs)


@pytest.mark.parametrize("kind,extra", KINDS, ids=KIND_IDS)
def test_stateful_carry_gradients(kind, extra):
    layer = rnn(kind, **extra, stateful=True, return_sequences=True)
    x = seq(2, 4, 3)
    layer(x)  # the states this batch leaves are the next batch's initial states
    carried = [np.asarray(s) for s in layer.states]
    wrapped = _FromStates(layer, carried)
    out = wrapped(x)
    np.testing.assert_allclose(out.numpy(), reference(layer, x, initial_state=carried)[0],
                               rtol=1e-10)
    check_gradients(wrapped, x)


@pytest.mark.parametrize("merge_mode", ["concat", None])
def test_bidirectional_return_state_and_mask_gradients(merge_mode):
    ids = np.array([[3, 0, 2, 5], [4, 1, 1, 0]])
    inp = gkeras.Input((4,))
    emb = layers.Embedding(6, 2, mask_zero=True, dtype="float64")(inp)
    outs = layers.Bidirectional(rnn("LSTM", return_sequences=True, return_state=True),
                                merge_mode=merge_mode)(emb)
    model = gkeras.Model(inp, outs)
    assert len(model(ids)) == (6 if merge_mode is None else 5)
    check_gradients(model, ids)


def test_bidirectional_initial_weights_and_states():
    layer = layers.Bidirectional(layers.SimpleRNN(2, dtype="float64"),
                                 weights=[np.full((3, 2), 0.1), np.eye(2), np.zeros(2),
                                          np.full((3, 2), -0.1), np.eye(2), np.ones(2)])
    x = seq(2, 4, 3)
    states = [seq(2, 2), seq(2, 2)]
    out = layer(x, initial_state=[Tensor(s) for s in states])
    forward = rnn_reference.simple_rnn(x, np.full((3, 2), 0.1), np.eye(2), np.zeros(2),
                                       initial_state=[states[0]])[0]
    backward = rnn_reference.simple_rnn(x, np.full((3, 2), -0.1), np.eye(2), np.ones(2),
                                        initial_state=[states[1]], go_backwards=True)[0]
    np.testing.assert_allclose(out.numpy(), np.concatenate([forward, backward], -1),
                               rtol=1e-12)


def test_model_reset_states_resets_every_stateful_layer():
    model = gkeras.Sequential([
        layers.LSTM(3, stateful=True, return_sequences=True, batch_input_shape=(2, 4, 3)),
        layers.Bidirectional(layers.GRU(2, stateful=True)), layers.Dense(1)])
    x = seq(2, 4, 3, dtype="float32")
    first = model.predict(x, batch_size=2, verbose=0)
    assert not np.allclose(model.predict(x, batch_size=2, verbose=0), first)
    model.reset_states()
    assert model.layers[0].states is None and model.layers[1].forward_layer.states is None
    np.testing.assert_allclose(model.predict(x, batch_size=2, verbose=0), first, rtol=1e-6)


def test_initial_state_from_another_layer_survives_saving(tmp_path):
    x = gkeras.Input((5, 3))
    sequence, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(x)
    out = layers.GRU(4, reset_after=True)(sequence, initial_state=[h])
    model = gkeras.Model(x, [out, c])
    data = seq(2, 5, 3, dtype="float32")
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "states.h5")
    for got, want in zip(gkeras.models.load_model(tmp_path / "states.h5").predict(
            data, verbose=0), expected):
        np.testing.assert_array_equal(got, want)
