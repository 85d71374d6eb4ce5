"""Recurrent layers and Embedding on the CuPy backend's code path, on the fake device
(tests/fakecupy.py): training matches NumPy, and no training step reads the device (the
Embedding's index checks are read once an epoch, as documented)."""
import numpy as np
import pytest

import gkeras
from gkeras import backends, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.numpy_backend import NumpyBackend

from fakecupy import DeviceArray, FakeCupy

N, EPOCHS = 60, 2


def _sequence_model(seed=0):
    gkeras.utils.set_random_seed(seed)
    x = layers.Input((5, 3))
    h = layers.Masking(0.0)(x)
    h = layers.Bidirectional(layers.LSTM(4, return_sequences=True, recurrent_dropout=0.2,
                                         seed=1))(h)
    h = layers.GRU(3, return_sequences=True, reset_after=True, dropout=0.2, seed=2)(h)
    h = layers.GRU(3, return_sequences=True)(h)
    h = layers.TimeDistributed(layers.Dense(2))(h)
    out = layers.Dense(1)(layers.SimpleRNN(2, go_backwards=True)(h))
    model = gkeras.Model(x, out)
    model.compile("adam", "mse")
    return model


def _embedding_model(seed=0):
    gkeras.utils.set_random_seed(seed)
    model = gkeras.Sequential([layers.Embedding(12, 3, mask_zero=True, input_length=5),
                               layers.LSTM(4), layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 5, 3)).astype("float32")
    x[::3, 3:] = 0.0  # padded steps, masked
    ids = rng.integers(0, 12, (N, 5))
    return x, ids, rng.standard_normal((N, 1)).astype("float32")


def _train(backend, make, inputs, targets, batch_size=10):
    saved = backends.current()
    backends.set_backend(backend)
    try:
        model = make()
        model.fit(inputs, targets, batch_size=batch_size, epochs=EPOCHS, shuffle=False,
                  verbose=0)
        return model, model.predict(inputs, verbose=0), model.get_weights()
    finally:
        backends.set_backend(saved)


@pytest.mark.parametrize("make,which", [(_sequence_model, 0), (_embedding_model, 1)],
                         ids=["masking-lstm-gru-rnn", "embedding-lstm"])
def test_training_on_the_fake_device_matches_numpy(make, which):
    x, ids, y = _data()
    inputs = (x, ids)[which]
    _, want_out, want_w = _train(NumpyBackend(), make, inputs, y)
    model, got_out, got_w = _train(CupyBackend(xp=FakeCupy()), make, inputs, y)
    assert isinstance(model.weights[0].value, DeviceArray)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-5, atol=1e-6)
    for g, w in zip(got_w, want_w):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def _reads(make, inputs, y, batch_size):
    fake = FakeCupy()
    saved = backends.current()
    backends.set_backend(CupyBackend(xp=fake))
    try:
        model = make()
        fake.reset()
        model.fit(inputs, y, batch_size=batch_size, epochs=EPOCHS, verbose=0)
        return fake.counts["to_host"], fake.counts["synchronize"]
    finally:
        backends.set_backend(saved)


def test_recurrent_training_reads_the_device_per_epoch_not_per_batch():
    x, _, y = _data()
    assert _reads(_sequence_model, x, y, 6) == _reads(_sequence_model, x, y, 30)


def test_embedding_index_check_is_read_per_epoch_not_per_batch():
    _, ids, y = _data()
    (many, sync_many), (few, sync_few) = (_reads(_embedding_model, ids, y, 6),
                                          _reads(_embedding_model, ids, y, 30))
    assert many == few  # the checks of an epoch are read together at its end
    assert sync_many == sync_few == 0


def test_out_of_range_index_on_the_device_fails_at_the_epochs_end_and_at_once_outside_fit():
    _, ids, y = _data()
    bad = ids.copy()
    bad[N - 1, 0] = 10**6  # in the epoch's last batch
    saved = backends.current()
    fake = FakeCupy()
    backends.set_backend(CupyBackend(xp=fake))
    try:
        model = _embedding_model()
        with pytest.raises(ValueError, match=r"Embedding '.*': every index must lie in "
                                             r"\[0, input_dim\).*received index 1000000"):
            model.fit(bad, y, batch_size=6, epochs=1, verbose=0, shuffle=False)
        with pytest.raises(ValueError, match="received index 1000000"):
            model.predict(bad, batch_size=6)
        fake.reset()
        with pytest.raises(ValueError, match="received index -3"):
            model.layers[0](fake.asarray(np.array([[1, -3]])))
        assert fake.counts["to_host"] == 1  # outside a loop: checked at once
    finally:
        backends.set_backend(saved)
