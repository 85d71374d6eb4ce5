"""Lambda: calls, shapes, masks, arguments, gradients, Keras 2 configs and saving."""
import numpy as np
import pytest

import gkeras
from gkeras import layers, ops, testing

RNG = np.random.default_rng(5)


def scale_and_shift(x, scale=1.0):
    return x * scale + 1.0


def test_function_and_arguments():
    layer = layers.Lambda(scale_and_shift, arguments={"scale": 3.0})
    x = RNG.standard_normal((2, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), x * 3.0 + 1.0, rtol=1e-6)
    assert layer.weights == []
    assert gkeras.layers.core.Lambda is layers.Lambda  # Keras 2's module path


def test_output_shape_inferred_given_or_computed():
    inputs = layers.Input((4, 6))
    assert layers.Lambda(lambda t: ops.sum(t, axis=1))(inputs).shape == (None, 6)
    assert layers.Lambda(lambda t: t[:, :2], output_shape=(2, 6))(inputs).shape == (None, 2, 6)
    fn = layers.Lambda(lambda t: ops.concatenate([t, t], axis=-1),
                       output_shape=lambda s: (s[0], s[1], 2 * s[2]))
    assert fn(inputs).shape == (None, 4, 12)


def test_several_inputs_and_outputs():
    a, b = layers.Input((3,)), layers.Input((3,))
    out_sum, out_diff = layers.Lambda(lambda ab: [ab[0] + ab[1], ab[0] - ab[1]])([a, b])
    model = gkeras.Model([a, b], [out_sum, out_diff])
    xa, xb = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
    got_sum, got_diff = model.predict([xa, xb], verbose=0)
    np.testing.assert_array_equal(got_sum, 3.0)
    np.testing.assert_array_equal(got_diff, -1.0)


def test_mask_constant_and_function_and_passed_to_the_function():
    seen = {}

    def record(x, mask=None, training=None):
        seen.update(mask=mask, training=training)
        return x * 2.0

    x = np.ones((2, 3), "float32")
    layers.Lambda(record)(x, training=True)
    assert seen == {"mask": None, "training": True}
    constant = layers.Lambda(lambda t: t, mask=np.array([True, False]))
    assert constant.supports_masking
    np.testing.assert_array_equal(np.asarray(constant(x)._keras_mask), [True, False])
    computed = layers.Lambda(lambda t: t, mask=lambda inputs, mask: ops.greater(inputs, 0.5))
    out = computed(np.array([[0.0, 1.0]], "float32"))
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[False, True]])


def test_gradients_flow_through_the_function():
    layer = layers.Lambda(lambda t: ops.tanh(t) * t, dtype="float64")
    testing.check_gradients(layer, RNG.standard_normal((3, 4)))


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="Lambda 'l': function must be callable"):
        layers.Lambda(3, name="l")
    with pytest.raises(TypeError, match="Lambda 'l': output_shape"):
        layers.Lambda(abs, output_shape="x", name="l")
    with pytest.raises(TypeError, match="Lambda 'l': arguments must be a dict"):
        layers.Lambda(abs, arguments=[1], name="l")


def test_config_is_keras2s():
    lam = layers.Lambda(lambda t, k=2: t * k, arguments={"k": 3}, name="lam").get_config()
    assert lam["function_type"] == "lambda" and lam["name"] == "lam"
    code, defaults, closure = lam["function"]
    assert isinstance(code, str) and defaults == [2] and closure is None
    assert lam["arguments"] == {"k": 3} and lam["output_shape_type"] == "raw"
    named = layers.Lambda(scale_and_shift, output_shape=(3,)).get_config()
    assert (named["function"], named["function_type"], named["module"]) == \
        ("scale_and_shift", "function", __name__)
    assert (named["output_shape"], named["output_shape_type"]) == ([3], "raw")


@pytest.mark.parametrize("filename", ["m.h5", "m.keras"])
def test_round_trip_with_safe_mode_off_or_custom_objects(tmp_path, filename):
    factor = 5.0  # a closure: saved with the bytecode, as Keras does
    model = gkeras.Sequential([layers.Lambda(lambda t: t * factor, input_shape=(3,)),
                               layers.Lambda(scale_and_shift, arguments={"scale": 2.0}),
                               layers.Dense(2)])
    x = RNG.standard_normal((4, 3)).astype("float32")
    model.save(tmp_path / filename)
    restored = gkeras.models.load_model(tmp_path / filename, safe_mode=False)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    named_only = gkeras.Sequential([layers.Lambda(scale_and_shift, input_shape=(3,)),
                                    layers.Dense(2)])
    named_only.save(tmp_path / filename)
    with pytest.raises(ValueError, match="'scale_and_shift'.*custom_objects"):
        gkeras.models.load_model(tmp_path / filename)
    restored = gkeras.models.load_model(tmp_path / filename,
                                        custom_objects={"scale_and_shift": scale_and_shift})
    np.testing.assert_array_equal(restored.predict(x, verbose=0),
                                  named_only.predict(x, verbose=0))
