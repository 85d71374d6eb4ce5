"""Bad use of compile / fit / evaluate is refused with a clear error, before any training step."""
import numpy as np
import pytest

from gkeras import callbacks as cbks
from gkeras.layers import Concatenate, Dense, Input
from gkeras.models import Model, Sequential
from gkeras.optimizers import SGD
from gkeras.utils import to_categorical

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 3)).astype("float32")
LABELS = RNG.integers(0, 3, 20)
ONE_HOT = to_categorical(LABELS, 3)


def classifier(loss="categorical_crossentropy"):
    model = Sequential([Dense(3, activation="softmax", input_shape=(3,))])
    model.compile(SGD(learning_rate=0.5), loss, metrics=["accuracy"])
    return model


def assert_refused_without_training(model, match, call=None, **fit_kw):
    """fit(**fit_kw) raises ValueError matching ``match`` and leaves the weights untouched."""
    before = [w.copy() for w in model.get_weights()]
    iterations = int(np.asarray(model.optimizer.iterations.value))
    with pytest.raises(ValueError, match=match):
        (call or model.fit)(**fit_kw)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert int(np.asarray(model.optimizer.iterations.value)) == iterations


# --- compile first -----------------------------------------------------------------------------

def test_training_methods_need_compile_but_predict_does_not():
    model = Sequential([Dense(3, input_shape=(3,))])
    for call in (lambda: model.fit(X, ONE_HOT, epochs=1, verbose=0),
                 lambda: model.evaluate(X, ONE_HOT, verbose=0),
                 lambda: model.train_on_batch(X, ONE_HOT),
                 lambda: model.test_on_batch(X, ONE_HOT)):
        with pytest.raises(RuntimeError, match=r"compile.*model\.compile\(optimizer, loss\)"):
            call()
    assert model.predict(X).shape == (20, 3)


def test_compile_errors():
    model = Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="`loss` is required"):
        model.compile("sgd")
    with pytest.raises(TypeError, match="unexpected keyword.*'lossses'"):
        model.compile("sgd", "mse", lossses="mae")
    with pytest.raises(ValueError, match="no_such_optimizer"):
        model.compile("no_such_optimizer", "mse")
    with pytest.raises(ValueError, match="no_such_loss"):
        model.compile("sgd", "no_such_loss")


# --- refused before any step ----------------------------------------------------------------------

def test_x_and_y_of_different_lengths():
    model = classifier()
    assert_refused_without_training(model, r"cardinality.*x sizes: 20, y sizes: 15", x=X,
                                    y=ONE_HOT[:15], epochs=1, verbose=0)
    assert_refused_without_training(model, r"cardinality.*x sizes: 20, y sizes: 15",
                                    call=model.evaluate, x=X, y=ONE_HOT[:15], verbose=0)
    assert_refused_without_training(model, "sample_weight has 5 entries, but x has 20",
                                    x=X, y=ONE_HOT, sample_weight=np.ones(5), verbose=0)
    assert_refused_without_training(model, r"validation_data sizes: 20, 7", x=X, y=ONE_HOT,
                                    validation_data=(X, ONE_HOT[:7]), epochs=1, verbose=0)


def test_wrong_number_of_inputs():
    model = classifier()
    assert_refused_without_training(model, r"expects 1 input array\(s\).*received 2",
                                    x=[X, X], y=ONE_HOT, epochs=1, verbose=0)
    a, b = Input((2,), name="a"), Input((3,), name="b")
    two = Model([a, b], Dense(1)(Concatenate()([a, b])))
    two.compile("sgd", "mse")
    y = np.zeros((20, 1), "float32")
    assert_refused_without_training(two, r"expects 2 input array\(s\) \(a, b\).*received 1",
                                    x=X, y=y, epochs=1, verbose=0)
    assert_refused_without_training(two, r"no data for input 'b'; the dict holds \['a'\]",
                                    x={"a": X[:, :2]}, y=y, epochs=1, verbose=0)


def test_feature_shape_must_match_the_model_input():
    model = classifier()
    assert_refused_without_training(model, r"expects shape \(None, 3\).*shape \(20, 4\)",
                                    x=np.ones((20, 4), "float32"), y=ONE_HOT, epochs=1,
                                    verbose=0)
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\)"):
        model.predict(np.ones((5, 2), "float32"))


def test_integer_labels_with_categorical_loss_hint_the_sparse_loss():
    model = classifier()
    assert_refused_without_training(
        model, r"expects targets of shape \(None, 3\).*received \(None,\).*"
        r"sparse_categorical_crossentropy", x=X, y=LABELS, epochs=1, verbose=0)
    # still checked after a successful fit (the check runs on every call, not only the first)
    model.fit(X, ONE_HOT, epochs=1, verbose=0)
    assert_refused_without_training(model, "sparse_categorical_crossentropy", x=X, y=LABELS,
                                    epochs=1, verbose=0)
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        model.evaluate(X, LABELS, verbose=0)


def test_one_hot_labels_with_sparse_loss_hint_the_categorical_loss():
    model = classifier("sparse_categorical_crossentropy")
    assert_refused_without_training(
        model, r"integer class labels.*look one-hot.*loss='categorical_crossentropy'",
        x=X, y=ONE_HOT, epochs=1, verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["x", "y"])
def test_nan_or_inf_in_the_data_is_trained_on_with_a_warning(bad, where):
    """The user's data, as Keras treats it: a warning naming the first bad index, then fit."""
    model = classifier()
    x, y = X.copy(), ONE_HOT.copy()
    (x if where == "x" else y)[4, 1] = bad
    with pytest.warns(UserWarning, match=rf"{where} contains NaN or inf.*\(4, 1\)"), \
            np.errstate(all="ignore"):
        history = model.fit(x, y, epochs=1, batch_size=20, verbose=0)
    assert int(np.asarray(model.optimizer.iterations.value)) == 1
    assert len(history.history["loss"]) == 1


def test_bad_arguments():
    model = classifier()
    for kw, match in ((dict(batch_size=0), "batch_size must be a positive integer"),
                      (dict(shuffle="rows"), "shuffle must be True, False or 'batch'"),
                      (dict(validation_split=1.5), r"validation_split must be a number in \[0, 1\)"),
                      (dict(validation_data=(X,)), "validation_data must be a tuple")):
        assert_refused_without_training(model, match, x=X, y=ONE_HOT, epochs=1, verbose=0,
                                        **kw)
    with pytest.raises(TypeError, match="unexpected keyword.*'epoch'"):
        model.fit(X, ONE_HOT, epoch=3, verbose=0)


def test_terminate_on_nan_stops_a_diverging_fit(capsys):
    x = RNG.standard_normal((64, 3)).astype("float32") * 100
    y = RNG.standard_normal((64, 1)).astype("float32") * 1e4
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(SGD(learning_rate=1e6), "mse")
    with np.errstate(all="ignore"):
        history = model.fit(x, y, batch_size=8, epochs=5, verbose=0,
                            callbacks=[cbks.TerminateOnNaN()])
    assert history.epoch == [0]  # stopped inside the first epoch
    assert not np.isfinite(history.history["loss"][0])
    assert "Invalid loss, terminating training" in capsys.readouterr().out
