"""Dtype policies (Keras 3's ``keras.mixed_precision``): names, the global policy, layer
``dtype=`` arguments, configs, and bfloat16's requirements."""
import os
import sys

import numpy as np
import pytest

import gkeras
from gkeras import backends, config, layers, mixed_precision
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.mixed_precision import DTypePolicy

from fakecupy import FakeCupy


@pytest.mark.parametrize("name, compute, variable", [
    ("float32", "float32", "float32"), ("float64", "float64", "float64"),
    ("float16", "float16", "float16"), ("mixed_float16", "float16", "float32")])
def test_policy_names(name, compute, variable):
    policy = DTypePolicy(name)
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == (name, compute, variable)
    assert repr(policy) == f'<DTypePolicy "{name}">'
    assert policy.get_config() == {"name": name}
    assert DTypePolicy.from_config(policy.get_config()) == policy
    assert mixed_precision.Policy is DTypePolicy


def test_policy_from_a_dtype_and_bad_names():
    assert DTypePolicy(np.float64).name == "float64"
    with pytest.raises(ValueError, match="'mixed_float8'.*mixed_float16"):
        DTypePolicy("mixed_float8")
    with pytest.raises(TypeError, match="must be a string"):
        DTypePolicy(3)


def test_global_policy_defaults_to_floatx_and_applies_to_later_layers():
    assert mixed_precision.global_policy() == DTypePolicy("float32")
    config.set_floatx("float64")
    assert mixed_precision.dtype_policy().name == "float64"
    config.set_floatx("float32")
    before = layers.Dense(2)
    mixed_precision.set_global_policy("mixed_float16")
    assert mixed_precision.global_policy().name == "mixed_float16"
    after = layers.Dense(2)
    assert before.dtype_policy.name == "float32"
    assert after.dtype_policy.name == "mixed_float16"
    assert (after.dtype, after.compute_dtype, after.variable_dtype) == (
        "float32", "float16", "float32")
    assert DTypePolicy().name == "mixed_float16"  # no name: the global policy
    mixed_precision.set_dtype_policy(DTypePolicy("float64"))  # Keras 3's other name
    assert layers.Dense(2).dtype == "float64"
    mixed_precision.set_global_policy(None)
    assert mixed_precision.global_policy().name == "float32"


def test_layer_dtype_argument_takes_a_policy_or_a_name():
    by_name = layers.Dense(2, dtype="mixed_float16")
    by_policy = layers.Dense(2, dtype=DTypePolicy("mixed_float16"))
    for layer in (by_name, by_policy):
        assert layer.dtype_policy == DTypePolicy("mixed_float16")
    layer = layers.Dense(2)
    layer.dtype_policy = "mixed_float16"  # settable, as Keras 3
    assert layer.compute_dtype == "float16"
    with pytest.raises(ValueError, match="Dense 'bad'.*'mixed_int8'"):
        layers.Dense(2, dtype="mixed_int8", name="bad")


def test_layer_configs_carry_the_policy_as_keras3():
    mixed = layers.Dense(2, dtype="mixed_float16")
    assert mixed.get_config()["dtype"] == {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"},
        "registered_name": None}
    assert layers.Dense.from_config(mixed.get_config()).dtype_policy.name == "mixed_float16"
    # a one-dtype policy stays a dtype name, as Keras 2 wrote it
    assert layers.Dense(2, dtype="float64").get_config()["dtype"] == "float64"
    # Keras 3's and tf.keras's serialized policies are read
    for class_name in ("DTypePolicy", "Policy", "FloatDTypePolicy"):
        cfg = {**layers.Dense(2).get_config(),
               "dtype": {"class_name": class_name, "config": {"name": "mixed_float16"}}}
        assert layers.Dense.from_config(cfg).compute_dtype == "float16"
    with pytest.raises(ValueError, match="QuantizedDTypePolicy"):
        layers.Dense(2, dtype={"class_name": "QuantizedDTypePolicy",
                               "config": {"name": "int8_from_float32"}})


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_models_keep_their_policies(tmp_path, suffix):
    mixed_precision.set_global_policy("mixed_float16")
    model = gkeras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)),
                               layers.Dense(2, dtype="float32")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    model.fit(x, np.ones((5, 2), "float32"), epochs=1, verbose=0)
    mixed_precision.set_global_policy(None)  # the file, not the global policy, decides
    model.save(tmp_path / f"m{suffix}")
    loaded = gkeras.models.load_model(tmp_path / f"m{suffix}")
    assert [layer.dtype_policy.name for layer in loaded.layers] == [
        "mixed_float16", "float32"]
    assert type(loaded.optimizer).__name__ == "LossScaleOptimizer"
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_bfloat16_without_ml_dtypes_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # makes `import ml_dtypes` fail
    for name in ("mixed_bfloat16", "bfloat16"):
        with pytest.raises(ImportError, match="pip install ml_dtypes"):
            DTypePolicy(name)
    with pytest.raises(ImportError, match="ml_dtypes"):
        mixed_precision.set_global_policy("mixed_bfloat16")


def test_bfloat16_on_cupy_is_refused():
    backends.set_backend(CupyBackend(xp=FakeCupy()))
    with pytest.raises(ValueError, match="cupy backend.*no bfloat16.*mixed_float16"):
        DTypePolicy("mixed_bfloat16")


def test_mixed_bfloat16_dense_with_ml_dtypes():
    pytest.importorskip("ml_dtypes")
    policy = DTypePolicy("mixed_bfloat16")
    assert (policy.compute_dtype, policy.variable_dtype) == ("bfloat16", "float32")
    layer = layers.Dense(3, dtype=policy)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype("float32")
    with gkeras.GradientTape() as tape:
        y = layer(x)
        loss = gkeras.ops.sum(gkeras.ops.cast(y, "float32"))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert str(y.dtype) == "bfloat16"
    assert [str(w.dtype) for w in layer.weights] == ["float32", "float32"]
    assert [str(g.dtype) for g in grads] == ["float32", "float32"]
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(y.numpy().astype("float32"), x @ kernel + bias, rtol=0.03,
                               atol=0.03)
    np.testing.assert_allclose(grads[0].numpy(), np.tile(x.sum(0)[:, None], (1, 3)),
                               rtol=0.03, atol=0.03)


def test_a_keras3_mixed_float16_archive_loads_with_its_loss_scale_state():
    # written by Keras 3.15 (tests/fixtures/make_mixed_precision_fixtures.py): the model's
    # policy is in its config, compile's optimizer is the unwrapped SGD
    fixtures = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
    reference = np.load(os.path.join(fixtures, "k3a_mixed_float16.npz"))
    model = gkeras.models.load_model(os.path.join(fixtures, "k3a_mixed_float16.keras"))
    assert model.dtype_policy.name == "mixed_float16"
    assert [layer.dtype_policy.name for layer in model.layers] == ["mixed_float16", "float32"]
    optimizer = model.optimizer
    assert isinstance(optimizer, mixed_precision.LossScaleOptimizer)
    assert float(optimizer.dynamic_scale) == reference["dynamic_scale"] == 2.0 ** 14
    assert int(optimizer.step_counter) == reference["step_counter"]
    assert int(optimizer.iterations) == reference["iterations"]
    np.testing.assert_array_equal(
        np.concatenate([w.ravel() for w in optimizer.get_weights()[6:]]), reference["momentums"])
    np.testing.assert_allclose(model.predict(reference["x"]), reference["predictions"],
                               rtol=2e-3, atol=2e-3)
    # saved again by gkeras, the model's policy is in its config as Keras 3 writes it
    assert model.get_config()["dtype"]["config"] == {"name": "mixed_float16"}
