"""Files written by real Keras 2 (tf_keras 2.21 on TensorFlow; tests/fixtures/k2_*, regenerated
by tests/fixtures/make_keras2_fixtures.py) load in gkeras and predict what Keras predicted."""
import os

import h5py
import numpy as np
import pytest

import gkeras
from gkeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
NEEDS = {"lstm": ("Embedding", "LSTM"), "gru": ("GRU",), "simple_rnn": ("SimpleRNN",),
         "bidirectional": ("Embedding", "Bidirectional", "LSTM", "GRU")}
MODELS = ["dense", "conv", "conv1d", "multi_io", "lstm", "gru", "simple_rnn", "bidirectional"]


def fixture(name):
    return os.path.join(FIXTURES, name)


def skip_unless_layers(name):
    missing = [cls for cls in NEEDS.get(name, ()) if not hasattr(layers, cls)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not yet in gkeras")


def reference(name):
    ref = dict(np.load(fixture(f"k2_{name}.npz")))
    xs = [ref[k] for k in sorted(ref) if k.startswith("x")]
    ys = [ref[k] for k in sorted(ref) if k == "y" or (k.startswith("y") and k[1:].isdigit())]
    return (xs[0] if len(xs) == 1 else xs), ys, ref


def predictions(model, x):
    out = model.predict(x, verbose=0)
    return out if isinstance(out, list) else [out]


def assert_close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_load_model_reproduces_keras2_predictions(name):
    skip_unless_layers(name)
    x, ys, _ = reference(name)
    with h5py.File(fixture(f"k2_{name}.h5")) as f:
        assert f.attrs["keras_version"] in (b"2.21.0", "2.21.0")
    model = gkeras.models.load_model(fixture(f"k2_{name}.h5"))
    assert_close(predictions(model, x), ys)
    # compiled as saved, with TensorFlow's optimizer state (step count after 2 epochs)
    assert model._compiled and int(model.optimizer.iterations) > 0


@pytest.mark.parametrize("name", MODELS)
def test_load_weights_from_keras2_weights_file(name):
    skip_unless_layers(name)
    x, ys, _ = reference(name)
    model = gkeras.models.load_model(fixture(f"k2_{name}.h5"), compile=False)
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    model.load_weights(fixture(f"k2_{name}_weights.h5"))
    assert_close(predictions(model, x), ys)


@pytest.mark.parametrize("name", ["dense", "multi_io", "lstm"])
def test_tf_keras_archives(name):
    """tf_keras's own `.keras` zip (keras_version 2.21.0: Keras 2 meanings, no learning rate
    among the optimizer variables, `compile('adam')` kept as a string)."""
    skip_unless_layers(name)
    x, ys, _ = reference(name)
    model = gkeras.models.load_model(fixture(f"k2_{name}.keras"))
    assert_close(predictions(model, x), ys)
    assert int(model.optimizer.iterations) > 0


@pytest.mark.parametrize("name", ["dense", "multi_io", "lstm"])
def test_tf_keras_weights_h5(name):
    """tf_keras's `save_weights('x.weights.h5')`: Keras 3's layout, written by Keras 2."""
    skip_unless_layers(name)
    x, ys, _ = reference(name)
    model = gkeras.models.load_model(fixture(f"k2_{name}.h5"), compile=False)
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    model.load_weights(fixture(f"k2_{name}.weights.h5"))
    assert_close(predictions(model, x), ys)


@pytest.mark.parametrize("filename", ["k2_dense.h5", "k2_dense.keras"])
def test_tensorflow_optimizer_state_resumes_training(filename):
    """Adam's step count and slots come from TF's `iteration:0`, `Adam/m/...`, `Adam/v/...`;
    the learning rate (not in the file) is the compiled one. One more epoch in gkeras gives the
    weights one more epoch gave in Keras 2."""
    x, _, ref = reference("dense")
    model = gkeras.models.load_model(fixture(filename))
    assert type(model.optimizer).__name__ == "Adam"
    assert int(model.optimizer.iterations) == 8  # 2 epochs of 4 batches
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    model.fit(x, ref["fit_y"], epochs=1, batch_size=4, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ref[f"after_{i}"], rtol=1e-5, atol=1e-6)
    fresh = gkeras.models.load_model(fixture("k2_dense.h5"), compile=False)
    fresh.compile(gkeras.optimizers.Adam(0.01), "categorical_crossentropy")
    fresh.fit(x, ref["fit_y"], epochs=1, batch_size=4, shuffle=False, verbose=0)
    assert max(np.abs(a - ref[f"after_{i}"]).max()
               for i, a in enumerate(fresh.get_weights())) > 1e-3  # the state mattered


def test_keras2_configs_are_understood():
    """Keras 2's `Custom>Adam` optimizer class names, metric wrappers and loss weights."""
    model = gkeras.models.load_model(fixture("k2_multi_io.h5"))
    assert model.output_names == ["out_1", "out_2"]
    x, ys, _ = reference("multi_io")
    results = model.evaluate(x, ys, verbose=0, return_dict=True)
    assert set(results) == {"loss", "out_1_loss", "out_2_loss", "out_1_accuracy"}
    np.testing.assert_allclose(results["loss"],
                               results["out_1_loss"] + 0.5 * results["out_2_loss"], rtol=1e-5)


def test_keras2_hard_sigmoid_keeps_its_keras2_meaning():
    """k2_dense's middle layer is `hard_sigmoid` in a keras_version 2.21.0 file: clip(0.2x+0.5)."""
    model = gkeras.models.load_model(fixture("k2_dense.h5"))
    assert model.layers[1].get_config()["activation"] == "hard_sigmoid"
    pre = gkeras.Sequential([gkeras.layers.Dense(5, input_shape=(8,))])
    pre.set_weights(model.layers[1].get_weights())
    z = np.linspace(-4, 4, 40, dtype="float32").reshape(5, 8)
    np.testing.assert_allclose(np.asarray(model.layers[1](z)),
                               np.clip(0.2 * pre.predict(z, verbose=0) + 0.5, 0, 1), atol=1e-6)


def test_keras2_lambda_loads_only_with_safe_mode_off():
    x, ys, _ = reference("lambda")
    with pytest.raises(ValueError, match="Lambda layer 'lambda'.*safe_mode=False"):
        gkeras.models.load_model(fixture("k2_lambda.h5"))
    model = gkeras.models.load_model(fixture("k2_lambda.h5"), safe_mode=False)
    assert_close(predictions(model, x), ys)
    assert model.layers[1].arguments == {"scale": 3.0}
