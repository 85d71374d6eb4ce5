"""Train one small model on two backends and compare: shared by the on-device model tests."""
import numpy as np

from gkeras import backends
from gkeras.backends.numpy_backend import NumpyBackend


def initial_weights(build):
    """Host weights of ``build()``, made on NumPy so every backend starts alike."""
    backends.set_backend(NumpyBackend())
    return build().get_weights()


def train(backend, build, data, weights, optimizer, batch_size=6, epochs=2):
    """fit (unshuffled) then predict on ``backend``: ``(history, predictions, weights)``."""
    backends.set_backend(backend)
    model = build()
    model.set_weights(weights)
    model.compile(optimizer, "categorical_crossentropy", metrics=["accuracy"])
    x, y = data
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, shuffle=False)
    return history.history, model.predict(x, batch_size=10, verbose=0), model.get_weights()


def assert_same(got, want, rtol, atol):
    """History, predictions and weights equal; what the user gets is NumPy."""
    (got_history, got_predict, got_weights), (want_history, want_predict, want_weights) = \
        got, want
    assert got_history.keys() == want_history.keys()
    for name in want_history:
        np.testing.assert_allclose(got_history[name], want_history[name], rtol=rtol, atol=atol,
                                   err_msg=name)
    np.testing.assert_allclose(got_predict, want_predict, rtol=rtol, atol=atol)
    assert len(got_weights) == len(want_weights)
    for g, w in zip(got_weights, want_weights):
        assert type(g) is np.ndarray
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
