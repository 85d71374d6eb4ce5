"""Recurrent layers against real Keras 3: configs, weights and outputs of models Keras saved
(``tests/fixtures/make_rnn_fixtures.py`` writes the files)."""
import os

import numpy as np
import pytest

import gkeras
from gkeras import layers

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
DATA = np.load(os.path.join(HERE, "k3_rnn.npz"))
OUTPUTS = ["lstm sequence", "lstm h", "lstm c", "gru reset_after=True",
           "gru reset_after=False go_backwards", "simple_rnn", "bidirectional lstm concat",
           "bidirectional gru sum"]


@pytest.fixture(scope="module")
def keras_model():
    return gkeras.models.load_model(os.path.join(HERE, "k3_rnn.h5"))


@pytest.mark.parametrize("index", range(len(OUTPUTS)), ids=OUTPUTS)
def test_loaded_model_computes_what_keras_computed(keras_model, index):
    out = keras_model.predict(DATA["x"], verbose=0)[index]
    np.testing.assert_allclose(out, DATA[f"out{index}"], rtol=1e-5, atol=1e-6)


def test_loaded_configs_say_what_keras_wrote(keras_model):
    gru_after = keras_model.get_layer("gru_after")
    gru_before = keras_model.get_layer("gru_before")
    assert gru_after.reset_after and gru_after.bias.shape == (2, 12)
    assert not gru_before.reset_after and gru_before.bias.shape == (12,)
    assert gru_before.go_backwards
    lstm = keras_model.get_layer("lstm")
    assert lstm.get_config()["recurrent_activation"] == "sigmoid"  # Keras 3's, written out
    assert [w.shape for w in lstm.weights] == [(3, 16), (4, 16), (16,)]
    bi = keras_model.get_layer("bi_concat")
    assert [layer.name for layer in bi._layers] == ["forward_lstm", "backward_lstm"]
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards


def test_masked_sequential_from_keras():
    model = gkeras.models.load_model(os.path.join(HERE, "k3_rnn_masked.h5"))
    np.testing.assert_allclose(model.predict(DATA["ids"], verbose=0), DATA["masked_out"],
                               rtol=1e-5, atol=1e-6)


def test_masked_layers_rebuilt_from_keras_weights():
    """Weights set by layer, in Keras's order and layouts, give Keras's masked outputs."""
    ids = gkeras.Input((6,), dtype="int32")
    emb = layers.Embedding(10, 3, mask_zero=True, name="f_emb")(ids)
    outputs = [layers.LSTM(4, recurrent_activation="sigmoid", return_sequences=True,
                           name="f_lstm")(emb),
               layers.GRU(4, recurrent_activation="sigmoid", return_sequences=True,
                          name="f_gru")(emb),
               layers.Bidirectional(layers.SimpleRNN(3, return_sequences=True),
                                    merge_mode="mul", name="f_bi")(emb)]
    model = gkeras.Model(ids, outputs)
    for layer in model.layers[1:]:
        layer.set_weights([DATA[f"{layer.name}:{i}"] for i in range(len(layer.weights))])
    for i, out in enumerate(model.predict(DATA["ids"], verbose=0)):
        np.testing.assert_allclose(out, DATA[f"f_out{i}"], rtol=1e-5, atol=1e-6)
    # the padded sample's outputs past its last real step: carried state (LSTM), zeros (the
    # Bidirectional layers force zero outputs at masked steps, as Keras)
    lstm_out, _, bi_out = model.predict(DATA["ids"], verbose=0)
    np.testing.assert_array_equal(lstm_out[1, 3:], np.repeat(lstm_out[1, 2:3], 3, axis=0))
    np.testing.assert_array_equal(bi_out[1, 3:], 0.0)
