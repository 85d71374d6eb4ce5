"""Keras 3's `.keras` archive: files written by real Keras 3.15 (tests/fixtures/k3a_*, from
make_archive_fixtures.py) load in gkeras; gkeras's archives round-trip; bad files fail clearly
and change nothing. Keras 3 reading gkeras's archives: tests/fixtures/
check_keras3_reads_gkeras_archives.py (result in docs/saving.md)."""
import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import gkeras
from gkeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    return os.path.join(FIXTURES, name)


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(fixture("k3a_reference.npz")))


# --- archives written by Keras 3 ---------------------------------------------------------------
def test_keras3_sequential_archive(ref):
    model = gkeras.models.load_model(fixture("k3a_sequential.keras"))
    np.testing.assert_allclose(model.predict(ref["x"], verbose=0), ref["y_seq"], atol=1e-6)
    opt = model.optimizer
    assert type(opt).__name__ == "Adam" and opt.amsgrad
    assert float(opt.learning_rate) == pytest.approx(0.01)
    assert int(opt.iterations) == 4
    assert model.layers[1].get_config()["activation"] == "keras3_hard_sigmoid"  # Keras 3's


def test_keras3_archive_resumes_training(ref):
    """Keras's Adam (amsgrad) state is restored: one more epoch gives Keras's weights."""
    model = gkeras.models.load_model(fixture("k3a_sequential.keras"))
    model.fit(ref["x"], ref["y"], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ref[f"after_{i}"], rtol=1e-5, atol=1e-6)


def test_keras3_functional_archive(ref):
    model = gkeras.models.load_model(fixture("k3a_functional.keras"))
    ya, yb = model.predict([ref["xi"], ref["xe"]], verbose=0)
    np.testing.assert_allclose(ya, ref["ya"], atol=1e-6)
    np.testing.assert_allclose(yb, ref["yb"], atol=1e-6)
    assert model.get_layer("inner").layers[0].units == 6  # the nested Sequential
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == 0.9
    assert int(model.optimizer.iterations) == 1
    results = model.evaluate([ref["xi"], ref["xe"]], [ref["ya"], ref["yb"]], verbose=0,
                             return_dict=True)
    assert set(results) == {"loss", "out_a_loss", "out_b_loss", "out_a_accuracy"}
    np.testing.assert_allclose(results["loss"],
                               results["out_a_loss"] + 0.5 * results["out_b_loss"], rtol=1e-5)


def test_keras3_weights_into_the_same_architecture(ref):
    model = gkeras.models.load_model(fixture("k3a_functional.keras"), compile=False)
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    model.load_weights(fixture("k3a_functional.weights.h5"))
    np.testing.assert_allclose(model.predict([ref["xi"], ref["xe"]], verbose=0)[0], ref["ya"],
                               atol=1e-6)
    for w in model.weights:
        w.assign(np.zeros(w.shape, w.dtype))
    model.load_weights(fixture("k3a_functional.keras"))  # the weights of an archive
    np.testing.assert_allclose(model.predict([ref["xi"], ref["xe"]], verbose=0)[1], ref["yb"],
                               atol=1e-6)


def test_keras3_lambda_archive():
    ref = np.load(fixture("k3a_lambda.npz"))
    with pytest.raises(ValueError, match="Lambda layer 'lambda'.*safe_mode=False"):
        gkeras.models.load_model(fixture("k3a_lambda.keras"))
    model = gkeras.models.load_model(fixture("k3a_lambda.keras"), safe_mode=False)
    np.testing.assert_allclose(model.predict(ref["x"], verbose=0), ref["y"], atol=1e-6)


# --- archives written by gkeras ----------------------------------------------------------------
def functional():
    image = layers.Input((6, 6, 2), name="image")
    extra = layers.Input((3,), name="extra")
    h = layers.Flatten()(layers.MaxPooling2D(2)(layers.Conv2D(2, 3, activation="relu")(image)))
    inner = gkeras.Sequential([layers.Dense(4, activation="tanh", input_shape=(8,)),
                               layers.Dense(3, activation="keras3_hard_sigmoid")], name="inner")
    s = layers.Add()([inner(h), extra])
    out_a = layers.Dense(2, activation="softmax", name="out_a")(layers.Concatenate()([s, extra]))
    out_b = layers.Dense(1, activation="hard_sigmoid", name="out_b")(s)
    model = gkeras.Model([image, extra], [out_a, out_b], name="g_fn")
    model.compile(optimizer=gkeras.optimizers.Adam(0.01),
                  loss={"out_a": "categorical_crossentropy", "out_b": "mse"},
                  loss_weights={"out_a": 1.0, "out_b": 0.25}, metrics={"out_a": ["accuracy"]})
    return model


def data(n=8):
    rng = np.random.default_rng(1)
    x = [rng.standard_normal((n, 6, 6, 2)).astype("float32"),
         rng.standard_normal((n, 3)).astype("float32")]
    y = [np.eye(2, dtype="float32")[np.arange(n) % 2], rng.standard_normal((n, 1))]
    return x, y


def test_round_trip_predicts_and_resumes_identically(tmp_path):
    x, y = data()
    model = functional()
    model.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = gkeras.models.load_model(tmp_path / "m.keras")
    for a, b in zip(restored.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
    # both hard sigmoids keep their meaning (written keras2_hard_sigmoid / hard_sigmoid)
    assert restored.get_layer("out_b").get_config()["activation"] == "hard_sigmoid"
    assert restored.get_layer("inner").layers[1].get_config()["activation"] == \
        "keras3_hard_sigmoid"
    assert int(restored.optimizer.iterations) == 4
    model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_archive_layout_is_keras3s(tmp_path):
    model = functional()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(z.read("config.json"))
        metadata = json.loads(z.read("metadata.json"))
        weights = z.read("model.weights.h5")
    assert metadata["keras_version"].startswith("3.")
    assert config["module"] == "keras.src.models.functional"
    assert config["class_name"] == "Functional"
    by_name = {spec["config"]["name"]: spec for spec in config["config"]["layers"]}
    assert by_name["image"]["config"]["batch_shape"] == [None, 6, 6, 2]
    assert by_name["out_a"]["module"] == "keras.layers"
    assert by_name["out_a"]["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert by_name["out_b"]["config"]["activation"] == "keras2_hard_sigmoid"
    assert by_name["inner"]["config"]["layers"][0]["class_name"] == "InputLayer"
    assert "batch_input_shape" not in json.dumps(config)
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    with h5py.File(io.BytesIO(weights), "r") as f:
        assert f["layers/conv2d/vars/0"].shape == (3, 3, 2, 2)
        assert f["layers/sequential/layers/dense/vars/0"].shape == (8, 4)
        assert f["layers/dense_1/vars"].attrs["name"] == "out_b"


def test_include_optimizer_false_and_compile_false(tmp_path):
    model = functional()
    model.save(tmp_path / "m.keras", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assert "compile_config" not in json.loads(z.read("config.json"))
    assert not getattr(gkeras.models.load_model(tmp_path / "m.keras"), "_compiled", False)
    model.save(tmp_path / "c.keras")
    assert not getattr(gkeras.models.load_model(tmp_path / "c.keras", compile=False),
                       "_compiled", False)


def test_failed_save_keeps_the_previous_archive(tmp_path, monkeypatch):
    model = functional()
    model.save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary file left
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.keras", overwrite=False)


# --- bad files: clear errors, nothing changed --------------------------------------------------
def test_not_a_zip_and_zip_without_config(tmp_path):
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match=r"text\.keras.*not a zip file.*config\.json"):
        gkeras.models.load_model(tmp_path / "text.keras")
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as z:
        z.writestr("readme.txt", "not a model")
    with pytest.raises(ValueError, match=r"other\.keras.*without 'config\.json'"):
        gkeras.models.load_model(tmp_path / "other.keras")
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        gkeras.models.load_model(tmp_path / "missing.keras")


def test_truncated_archive(tmp_path):
    data = open(fixture("k3a_sequential.keras"), "rb").read()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.keras.*(not a zip file|damaged)"):
        gkeras.models.load_model(tmp_path / "cut.keras")


def test_damaged_weights_inside_the_archive(tmp_path):
    with zipfile.ZipFile(fixture("k3a_sequential.keras")) as z:
        config, metadata = z.read("config.json"), z.read("metadata.json")
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as z:
        z.writestr("config.json", config)
        z.writestr("metadata.json", metadata)
        z.writestr("model.weights.h5", b"garbage")
    with pytest.raises(ValueError, match=r"bad\.keras.*model\.weights\.h5 is not a valid HDF5"):
        gkeras.models.load_model(tmp_path / "bad.keras")


def test_wrong_shapes_name_the_file_and_change_nothing(tmp_path):
    big = gkeras.Sequential([layers.Dense(5, input_shape=(3,)), layers.Dense(2)])
    big.save(tmp_path / "big.keras")
    small = gkeras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    before = [w.copy() for w in small.get_weights()]
    with pytest.raises(ValueError, match="shape"):
        small.load_weights(tmp_path / "big.keras")
    for a, b in zip(small.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    # a config whose layers do not fit the weights: the file is named
    with zipfile.ZipFile(tmp_path / "big.keras") as z:
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    config["config"]["layers"][1]["config"]["units"] = 7
    with zipfile.ZipFile(tmp_path / "mixed.keras", "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights)
    with pytest.raises(ValueError, match=r"mixed\.keras.*shape \(3, 7\).*\(3, 5\)"):
        gkeras.models.load_model(tmp_path / "mixed.keras")


# --- hard_sigmoid: the file's keras_version decides --------------------------------------------
@pytest.mark.parametrize("filename", ["m.h5", "m.keras"])
def test_gkeras_files_keep_both_hard_sigmoids(tmp_path, filename):
    model = gkeras.Sequential([layers.Dense(4, activation="hard_sigmoid", input_shape=(3,)),
                               layers.Dense(4, activation="keras3_hard_sigmoid")])
    x = np.linspace(-6, 6, 24, dtype="float32").reshape(8, 3)
    model.save(tmp_path / filename)
    restored = gkeras.models.load_model(tmp_path / filename)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [layer.get_config()["activation"] for layer in restored.layers] == \
        ["hard_sigmoid", "keras3_hard_sigmoid"]


def test_h5_from_keras3_means_keras3s_hard_sigmoid(tmp_path):
    model = gkeras.Sequential([layers.Dense(4, activation="hard_sigmoid", input_shape=(3,))])
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f.attrs["keras_version"] = b"3.15.1"
    restored = gkeras.models.load_model(tmp_path / "m.h5")
    assert restored.layers[0].get_config()["activation"] == "keras3_hard_sigmoid"
    x = np.linspace(-6, 6, 12, dtype="float32").reshape(4, 3)
    linear = x @ model.get_weights()[0] + model.get_weights()[1]
    np.testing.assert_allclose(restored.predict(x, verbose=0), np.clip(linear + 3, 0, 6) / 6,
                               atol=1e-6)


# --- recurrent layers ---------------------------------------------------------------------------
def test_keras3_recurrent_archive():
    """Embedding (mask_zero), Bidirectional LSTM, GRU reset_after both ways, TimeDistributed,
    SimpleRNN; Keras 3 keeps a recurrent layer's weights under `<layer>/cell/vars`."""
    ref = np.load(fixture("k3a_recurrent.npz"))
    model = gkeras.models.load_model(fixture("k3a_recurrent.keras"))
    np.testing.assert_allclose(model.predict(ref["x"], verbose=0), ref["y"], atol=1e-6)
    assert [layer.reset_after for layer in model.layers if type(layer).__name__ == "GRU"] == \
        [True, False]
    assert type(model.optimizer).__name__ == "RMSprop" and int(model.optimizer.iterations) == 1


def test_keras3_hard_sigmoid_in_a_recurrent_step_is_refused_clearly(tmp_path):
    """Keras 3's hard_sigmoid (relu6(x + 3) / 6) as a recurrent_activation: the fused recurrent
    step does not have it, so loading says so instead of computing Keras 2's function."""
    with zipfile.ZipFile(fixture("k3a_recurrent.keras")) as z:
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    gru = next(spec for spec in config["config"]["layers"] if spec["class_name"] == "GRU")
    gru["config"]["recurrent_activation"] = "hard_sigmoid"
    with zipfile.ZipFile(tmp_path / "hs.keras", "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("model.weights.h5", weights)
    with pytest.raises(ValueError, match="recurrent_activation='keras3_hard_sigmoid'"):
        gkeras.models.load_model(tmp_path / "hs.keras")


def recurrent_model():
    model = gkeras.Sequential([
        layers.Embedding(12, 4, mask_zero=True, input_length=6),
        layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
        layers.GRU(3, return_sequences=True, reset_after=True),
        layers.GRU(2, return_sequences=True),  # the guide's reset_after=False, hard_sigmoid
        layers.SimpleRNN(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("filename", ["r.keras", "r.weights.h5"])
def test_recurrent_round_trip_in_keras3s_layout(tmp_path, filename):
    x = np.random.default_rng(3).integers(0, 12, (5, 6))
    x[0, 3:] = 0
    model = recurrent_model()
    model.fit(x, np.zeros((5, 2), "float32"), epochs=1, verbose=0)
    if filename.endswith(".keras"):
        model.save(tmp_path / filename)
        restored = gkeras.models.load_model(tmp_path / filename)
        assert int(restored.optimizer.iterations) == 1
        with zipfile.ZipFile(tmp_path / filename) as z:
            weights = z.read("model.weights.h5")
    else:
        model.save_weights(tmp_path / filename)
        restored = recurrent_model()
        restored.load_weights(tmp_path / filename)
        weights = (tmp_path / filename).read_bytes()
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    with h5py.File(io.BytesIO(weights), "r") as f:  # Keras 3's places for a cell's weights
        assert f["layers/bidirectional/forward_layer/cell/vars/0"].shape == (4, 12)
        assert f["layers/gru/cell/vars/2"].shape == (2, 9)
        assert len(f["layers/gru/vars"]) == 0


def test_loss_and_metric_objects_round_trip(tmp_path):
    a = layers.Input((3,), name="a")
    model = gkeras.Model(a, [layers.Dense(2, name="y1")(a),
                             layers.Dense(1, activation="sigmoid", name="y2")(a)])
    model.compile(gkeras.optimizers.RMSprop(0.01),
                  loss={"y1": gkeras.losses.Huber(delta=0.5), "y2": "binary_crossentropy"},
                  metrics={"y1": [gkeras.metrics.MeanAbsoluteError()],
                           "y2": ["accuracy", gkeras.metrics.BinaryAccuracy(threshold=0.3)]})
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    y = [np.ones((8, 2), "float32"), np.ones((8, 1), "float32")]
    model.fit(x, y, verbose=0, epochs=1)
    model.save(tmp_path / "objs.keras")
    with zipfile.ZipFile(tmp_path / "objs.keras") as z:
        config = json.loads(z.read("config.json"))
        compile_config = config["compile_config"]
    assert config["config"]["input_layers"] == ["a", 0, 0]  # one tensor, as Keras 3 writes it
    assert config["config"]["output_layers"] == [["y1", 0, 0], ["y2", 0, 0]]
    assert compile_config["loss"]["y1"]["module"] == "keras.losses"
    assert compile_config["metrics"]["y2"][1]["module"] == "keras.metrics"
    restored = gkeras.models.load_model(tmp_path / "objs.keras")
    assert restored.evaluate(x, y, verbose=0, return_dict=True) == \
        model.evaluate(x, y, verbose=0, return_dict=True)


def test_model_checkpoint_writes_archives(tmp_path):
    model = gkeras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    path = str(tmp_path / "ckpt-{epoch:02d}.keras")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=2, verbose=0,
              callbacks=[gkeras.callbacks.ModelCheckpoint(path, monitor="loss")])
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.keras", "ckpt-02.keras"]
    assert int(gkeras.models.load_model(tmp_path / "ckpt-02.keras").optimizer.iterations) == 2


def test_keras3_functional_model_with_mask_operations():
    """Keras 3 records the Embedding's mask as a `NotEqual` operation layer passed on as
    `mask=`; gkeras computes the same masks itself and leaves that operation out."""
    with zipfile.ZipFile(fixture("k3a_masked_functional.keras")) as z:
        classes = [spec["class_name"] for spec in
                   json.loads(z.read("config.json"))["config"]["layers"]]
    assert "NotEqual" in classes
    ref = np.load(fixture("k3a_masked_functional.npz"))
    model = gkeras.models.load_model(fixture("k3a_masked_functional.keras"))
    np.testing.assert_allclose(model.predict(ref["x"], verbose=0), ref["y"], atol=1e-6)
    assert "NotEqual" not in [type(layer).__name__ for layer in model.layers]
    assert ref["x"][1, 3] == 0  # padded steps: the masks matter
