"""Numeric arguments of fit / evaluate / predict are checked before any step: negative,
non-integer or out-of-range values are refused naming the argument; legitimate ones pass."""
import numpy as np
import pytest

from gkeras.layers import Dense
from gkeras.models import Sequential
from gkeras.optimizers import SGD

X = np.random.default_rng(0).standard_normal((12, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((12, 2)).astype("float32")


def model():
    m = Sequential([Dense(2, input_shape=(3,))])
    m.compile(SGD(0.1), "mse")
    return m


BAD_FIT = [
    ("epochs", -1, r"epochs must be an integer >= 0, received -1"),
    ("epochs", 2.5, r"epochs must be an integer >= 0, received 2.5"),
    ("epochs", "3", r"epochs must be an integer >= 0, received '3'"),
    ("initial_epoch", -2, r"initial_epoch must be an integer >= 0, received -2"),
    ("initial_epoch", 1.0, r"initial_epoch must be an integer >= 0, received 1.0"),
    ("steps_per_epoch", 0, r"steps_per_epoch must be a positive integer or None, received 0"),
    ("steps_per_epoch", 1.5, r"steps_per_epoch must be a positive integer or None"),
    ("validation_steps", -1, r"validation_steps must be a positive integer or None"),
    ("validation_freq", 0, r"validation_freq must be a positive integer"),
    ("validation_freq", [1, -2], r"validation_freq must be a positive integer or a collection"),
    ("validation_freq", 1.5, r"validation_freq"),
    ("batch_size", 0, r"batch_size must be a positive integer, received 0"),
    ("batch_size", -4, r"batch_size must be a positive integer, received -4"),
    ("batch_size", 8.0, r"batch_size must be a positive integer, received 8.0"),
    ("batch_size", True, r"batch_size must be a positive integer, received True"),
    ("validation_batch_size", 0, r"validation_batch_size must be a positive integer"),
    ("verbose", 3, r"verbose must be 0, 1, 2 or 'auto', received 3"),
    ("verbose", -1, r"verbose must be 0, 1, 2 or 'auto'"),
    ("verbose", "loud", r"verbose must be 0, 1, 2 or 'auto', received 'loud'"),
    ("validation_split", 1.0, r"validation_split must be a number in \[0, 1\)"),
    ("validation_split", -0.1, r"validation_split must be a number in \[0, 1\)"),
    ("validation_split", "0.2", r"validation_split must be a number in \[0, 1\)"),
]


@pytest.mark.parametrize("name, value, match", BAD_FIT,
                         ids=[f"{n}={v!r}" for n, v, _ in BAD_FIT])
def test_fit_refuses_bad_values_before_any_step(name, value, match):
    m = model()
    before = [w.copy() for w in m.get_weights()]
    kwargs = {"epochs": 1, "verbose": 0, name: value}
    with pytest.raises(ValueError, match="fit: " + match):
        m.fit(X, Y, **kwargs)
    assert int(m.optimizer.iterations) == 0
    for a, b in zip(m.get_weights(), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize("name, value, match", [
    ("batch_size", 0, "batch_size must be a positive integer"),
    ("batch_size", 2.5, "batch_size must be a positive integer"),
    ("steps", 0, "steps must be a positive integer or None"),
    ("steps", -3, "steps must be a positive integer or None"),
    ("verbose", 7, "verbose must be 0, 1, 2 or 'auto'"),
])
def test_evaluate_and_predict_refuse_bad_values(method, name, value, match):
    m = model()
    args = (X, Y) if method == "evaluate" else (X,)
    with pytest.raises(ValueError, match=f"{method}: {match}"):
        getattr(m, method)(*args, **{name: value})


def test_legitimate_values_are_accepted():
    m = model()
    history = m.fit(X, Y, epochs=np.int64(3), initial_epoch=1, batch_size=np.int32(4),
                    verbose=False, steps_per_epoch=2, validation_split=0.25,
                    validation_steps=1, validation_freq=[2, 3], validation_batch_size=2)
    assert history.epoch == [1, 2]
    assert "val_loss" in history.history
    assert int(m.optimizer.iterations) == 4
    assert m.fit(X, Y, epochs=0, verbose=0).epoch == []  # Keras accepts: nothing to train
    assert m.fit(X, Y, epochs=2, initial_epoch=2, verbose=0).epoch == []
    m.fit(X, Y, epochs=1, verbose="auto", validation_split=0, batch_size=None)
    assert np.isfinite(m.evaluate(X, Y, verbose=0, steps=2, batch_size=5))
    assert m.predict(X, steps=1, batch_size=4).shape == (4, 2)
