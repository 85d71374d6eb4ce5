"""Weights stay with their layers when layer names do not sort in model order.

Every model here has three ``Dense(4)`` layers named ``zeta``, ``mid``, ``alpha`` (in that
order): all weights have the same shapes, so a loader that matched layers by sorted name (or by
any rule but the right one) would load without error into the wrong layers. Covered: both
weight layouts, ``save``/``load_model`` (with optimizer state), ``by_name=True``, and files
written by real Keras 3 (``tests/fixtures/k3_unsorted.*``, from make_fixtures.py)."""
import os

import h5py
import numpy as np
import pytest

import gkeras
from gkeras import layers

NAMES = ["zeta", "mid", "alpha"]
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
X = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")


def chain(names=NAMES, name="chain"):
    return gkeras.Sequential([
        layers.Dense(4, activation="tanh", input_shape=(4,), name=names[0]),
        layers.Dense(4, activation="relu", name=names[1]),
        layers.Dense(4, name=names[2])], name=name)


def branches(names=NAMES, name="branches"):
    x = layers.Input((4,), name=f"{name}_x")
    first = layers.Dense(4, activation="tanh", name=names[0])(x)
    second = layers.Dense(4, activation="relu", name=names[1])(x)
    out = layers.Dense(4, name=names[2])(layers.Add(name=f"{name}_add")([first, second]))
    return gkeras.Model(x, out, name=name)


BUILDERS = {"sequential": chain, "functional": branches}


def seeded(model, seed):
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.assign(rng.standard_normal(w.shape).astype(w.dtype))
    return model


def assert_layers_equal(got_model, want_model, names=NAMES, want_names=NAMES):
    for name, want_name in zip(names, want_names):
        got = got_model.get_layer(name).get_weights()
        want = want_model.get_layer(want_name).get_weights()
        assert len(got) == len(want) == 2
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=f"layer {name!r}")


def test_model_order_is_not_sorted_order():
    # the premise of this file: sorting the names would reorder the layers
    assert sorted(NAMES) != NAMES
    for build in BUILDERS.values():
        assert [layer.name for layer in build().layers if layer.weights] == NAMES


# --- what gkeras writes ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", BUILDERS)
def test_keras2_file_lists_layers_in_model_order(tmp_path, kind):
    model = seeded(BUILDERS[kind](), 1)
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "w.h5")
    for path, group in [("m.h5", "model_weights"), ("w.h5", "/")]:
        with h5py.File(tmp_path / path, "r") as f:
            g = f[group]
            saved = [n.decode() for n in g.attrs["layer_names"]]
            assert [n for n in saved if len(g[n].attrs["weight_names"])] == NAMES
            for name in NAMES:
                layer = model.get_layer(name)
                np.testing.assert_array_equal(g[name][f"{name}/kernel:0"], layer.kernel.numpy())
                np.testing.assert_array_equal(g[name][f"{name}/bias:0"], layer.bias.numpy())


@pytest.mark.parametrize("kind", BUILDERS)
def test_keras3_file_numbers_layers_in_model_order(tmp_path, kind):
    model = seeded(BUILDERS[kind](), 2)
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        for key, name in zip(["dense", "dense_1", "dense_2"], NAMES):
            group = f[f"layers/{key}/vars"]
            assert group.attrs["name"] == name
            np.testing.assert_array_equal(group["0"], model.get_layer(name).kernel.numpy())
            np.testing.assert_array_equal(group["1"], model.get_layer(name).bias.numpy())


# --- gkeras round trips -------------------------------------------------------------------------
@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5"])
@pytest.mark.parametrize("kind", BUILDERS)
def test_load_weights_in_model_order(tmp_path, kind, filename):
    build = BUILDERS[kind]
    source = seeded(build(), 3)
    source.save_weights(tmp_path / filename)
    same_names = seeded(build(name="same_names"), 4)
    same_names.load_weights(tmp_path / filename)
    assert_layers_equal(same_names, source)
    other_names = ["omega", "beta", "kappa"]  # sorted: beta, kappa, omega
    renamed = seeded(build(other_names, name="renamed"), 5)
    renamed.load_weights(tmp_path / filename)
    assert_layers_equal(renamed, source, other_names, NAMES)
    np.testing.assert_array_equal(renamed.predict(X, verbose=0), source.predict(X, verbose=0))


@pytest.mark.parametrize("kind", BUILDERS)
def test_save_and_load_model_keep_layers_and_optimizer_state(tmp_path, kind):
    source = seeded(BUILDERS[kind](), 6)
    source.compile(gkeras.optimizers.Adam(0.01), "mse")
    source.fit(X, np.ones((6, 4), "float32"), batch_size=3, epochs=1, verbose=0)
    source.save(tmp_path / "m.h5")
    loaded = gkeras.models.load_model(tmp_path / "m.h5")
    assert [layer.name for layer in loaded.layers if layer.weights] == NAMES
    assert_layers_equal(loaded, source)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), source.predict(X, verbose=0))
    # step count, learning rate, then two Adam slots per weight (all alike in shape per kind
    # of weight): each slot must follow its own weight
    got, want = loaded.optimizer.get_weights(), source.optimizer.get_weights()
    assert len(got) == len(want) == 2 + 2 * 6
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5"])
def test_load_weights_by_name_into_layers_in_another_order(tmp_path, filename):
    source = seeded(chain(), 7)
    source.save_weights(tmp_path / filename)
    reversed_order = seeded(chain(NAMES[::-1], name="reversed"), 8)
    reversed_order.load_weights(tmp_path / filename, by_name=True)
    assert_layers_equal(reversed_order, source)
    # a model with only some of the names: those load, the others stay as they were
    x = layers.Input((4,))
    alpha = layers.Dense(4, name="alpha")(x)
    partial = seeded(gkeras.Model(x, layers.Dense(4, name="other")(alpha)), 9)
    other_before = partial.get_layer("other").get_weights()
    partial.load_weights(tmp_path / filename, by_name=True)
    assert_layers_equal(partial, source, ["alpha"], ["alpha"])
    for g, w in zip(partial.get_layer("other").get_weights(), other_before):
        np.testing.assert_array_equal(g, w)


# --- files written by real Keras 3 --------------------------------------------------------------
@pytest.fixture(scope="module")
def keras3():
    reference = dict(np.load(os.path.join(FIXTURES, "k3_unsorted.npz")))
    reference["weights"] = [reference[f"w{i}"] for i in range(6)]
    return reference


def assert_keras3_weights(model, keras3, names=NAMES):
    for i, name in enumerate(names):
        kernel, bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, keras3["weights"][2 * i])
        np.testing.assert_array_equal(bias, keras3["weights"][2 * i + 1])
    np.testing.assert_allclose(model.predict(keras3["x"], verbose=0), keras3["y"], atol=1e-6)


def fixture(name):
    return os.path.join(FIXTURES, name)


def test_keras3_fixture_names_are_unsorted():
    with h5py.File(fixture("k3_unsorted.h5"), "r") as f:
        assert [n.decode() if isinstance(n, bytes) else n
                for n in f["model_weights"].attrs["layer_names"]] == NAMES


def test_keras3_legacy_h5_load_model(keras3):
    model = gkeras.models.load_model(fixture("k3_unsorted.h5"))
    assert [layer.name for layer in model.layers] == NAMES
    assert_keras3_weights(model, keras3)


@pytest.mark.parametrize("filename", ["k3_unsorted.h5", "k3_unsorted.weights.h5"])
def test_keras3_files_into_a_python_model(keras3, filename):
    other_names = ["omega", "beta", "kappa"]
    model = seeded(chain(other_names, name="twin"), 10)
    model.load_weights(fixture(filename))
    assert_keras3_weights(model, keras3, other_names)


@pytest.mark.parametrize("filename", ["k3_unsorted.h5", "k3_unsorted.weights.h5"])
def test_keras3_files_by_name_into_layers_in_another_order(keras3, filename):
    model = seeded(chain(NAMES[::-1], name="reversed"), 11)
    model.load_weights(fixture(filename), by_name=True)
    for i, name in enumerate(NAMES):
        kernel, bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(kernel, keras3["weights"][2 * i])
        np.testing.assert_array_equal(bias, keras3["weights"][2 * i + 1])
