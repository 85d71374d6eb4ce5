"""Layer base class and the core layers: weights, configs, names, graph properties, values."""
import json

import numpy as np
import pytest

import gkeras
from gkeras import backend, initializers, layers, ops
from gkeras.layers import (Activation, Dense, Dropout, Flatten, Input, InputLayer, Layer,
                           Permute, RepeatVector, Reshape)


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


class Scale(Layer):
    """y = x * w + b over the last axis; w in Keras 2 order, b in Keras 3 order."""

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        self.b = self.add_weight((input_shape[-1],), "zeros", name="b")
        self.count = self.add_weight(name="count", shape=(), initializer="zeros",
                                     trainable=False)

    def call(self, inputs):
        return inputs * self.w + self.b

    def compute_output_shape(self, input_shape):
        return input_shape


# --- custom layers, add_weight, weights ------------------------------------------------------
def test_custom_layer_build_call_and_weights():
    layer = Scale()
    assert not layer.built
    y = layer(np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32"))
    assert layer.built
    np.testing.assert_array_equal(np.asarray(y), [[1, 2], [3, 4]])
    assert [w.name for w in layer.weights] == ["w", "b", "count"]
    assert [w.name for w in layer.trainable_weights] == ["w", "b"]
    assert [w.name for w in layer.non_trainable_weights] == ["count"]
    assert layer.w.path == "scale/w"
    assert layer.w.shape == (2,) and layer.count.shape == ()
    layer.set_weights([np.array([2.0, 3.0]), np.array([1.0, -1.0]), np.array(5.0)])
    np.testing.assert_array_equal(np.asarray(layer(np.ones((1, 2)))), [[3.0, 2.0]])
    assert layer.count_params() == 5


def test_add_weight_argument_orders_and_defaults():
    layer = Layer(name="holder")
    k2 = layer.add_weight("k2", (2, 3), "float64", initializers.Constant(4.0))
    assert (k2.name, k2.shape, str(k2.dtype)) == ("k2", (2, 3), "float64")
    np.testing.assert_array_equal(k2.numpy(), np.full((2, 3), 4.0))
    k3 = layer.add_weight((3,), "ones", name="k3")
    assert (k3.name, k3.shape) == ("k3", (3,))
    np.testing.assert_array_equal(k3.numpy(), np.ones(3))
    default = layer.add_weight(shape=(20, 30))
    limit = np.sqrt(6 / 50)  # glorot_uniform by default for floats
    assert 0 < np.abs(default.numpy()).max() <= limit
    integer = layer.add_weight(shape=(2,), dtype="int32")
    np.testing.assert_array_equal(integer.numpy(), [0, 0])  # zeros for non-floats
    with pytest.raises(TypeError, match="add_weight got multiple values for argument 'shape'"):
        layer.add_weight("w", (2,), shape=(3,))
    with pytest.raises(TypeError, match="add_weight got unexpected keyword argument.*colour"):
        layer.add_weight(shape=(2,), colour="red")


def test_trainable_false_freezes():
    layer = Dense(2, kernel_initializer="ones")
    layer.build((None, 3))
    x = ops.convert_to_tensor(np.ones((2, 3), "float32"))
    layer.trainable = False
    assert layer.trainable_weights == []
    assert [w.name for w in layer.non_trainable_weights] == ["kernel", "bias"]
    with gkeras.GradientTape() as tape:
        loss = ops.sum(layer(x))
    assert tape.gradient(loss, layer.weights) == [None, None]
    layer.trainable = True
    with gkeras.GradientTape() as tape:
        loss = ops.sum(layer(x))
    kernel_grad, bias_grad = tape.gradient(loss, layer.weights)
    np.testing.assert_array_equal(np.asarray(kernel_grad), np.full((3, 2), 2.0))
    np.testing.assert_array_equal(np.asarray(bias_grad), [2.0, 2.0])
    frozen = Dense(2, trainable=False)
    frozen.build((None, 3))
    assert frozen.trainable_weights == [] and len(frozen.non_trainable_weights) == 2
    assert frozen.get_config()["trainable"] is False


def test_get_set_weights_checks_shapes():
    layer = Dense(3, name="proj")
    layer.build((None, 4))
    kernel, bias = np.arange(12.0).reshape(4, 3), np.array([1.0, 2.0, 3.0])
    layer.set_weights([kernel, bias])
    got = layer.get_weights()
    assert all(isinstance(w, np.ndarray) for w in got)
    np.testing.assert_array_equal(got[0], kernel)
    np.testing.assert_array_equal(got[1], bias)
    with pytest.raises(ValueError, match=r"Layer 'proj': weight 'kernel' has shape \(4, 3\), "
                                         r"but the provided weight has shape \(3, 4\)"):
        layer.set_weights([kernel.T, bias])
    with pytest.raises(ValueError, match=r"Layer 'proj' expects 2 weight\(s\) \(\(4, 3\), "
                                         r"\(3,\)\), but received 1"):
        layer.set_weights([kernel])
    # a failed set_weights leaves the weights untouched
    with pytest.raises(ValueError):
        layer.set_weights([kernel + 1, np.ones(4)])
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)


# --- names -----------------------------------------------------------------------------------
def test_unique_auto_names():
    assert [Dense(1).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert Dropout(0.1).name == "dropout"
    assert RepeatVector(2).name == "repeat_vector"
    assert Dense(1, name="head").name == "head"
    assert Dense(1).name == "dense_3"
    backend.clear_session()
    assert Dense(1).name == "dense"
    assert Input((2,)).name == "input_1" and Input((2,)).name == "input_2"


# --- eager calls -------------------------------------------------------------------------------
def test_eager_call_returns_tensor():
    y = Dense(3)(np.ones((2, 4), "float32"))
    assert isinstance(y, gkeras.Tensor)
    assert isinstance(y.numpy(), np.ndarray) and y.numpy().shape == (2, 3)
    assert np.asarray(y).dtype == np.float32
    # float64 inputs are cast to the layer dtype
    assert Dense(3)(np.ones((2, 4))).dtype == np.float32


def test_input_checking_errors_name_layer_and_shapes():
    layer = Dense(3, name="fc")
    layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r'Input 0 of layer "fc" is incompatible with the layer: '
                                         r"expected axis -1 of input shape to have value 4, but "
                                         r"received input with shape \(2, 5\)"):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r'layer "dense" is incompatible with the layer: '
                                         r"expected min_ndim=2, found ndim=1. "
                                         r"Full shape received: \(3,\)"):
        Dense(2)(np.ones(3))
    with pytest.raises(ValueError, match=r'layer "repeat_vector" is incompatible with the '
                                         r"layer: expected ndim=2, found ndim=3"):
        RepeatVector(2)(np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match=r"Dense 'dense_1': the last axis of the input must be "
                                         r"known, received input shape \(None, 3, None\)"):
        Dense(2)(Input((3, None)))
    with pytest.raises(TypeError, match="Dense: unexpected keyword argument.*unitz"):
        Dense(2, unitz=3)


# --- symbolic inputs and graph properties -----------------------------------------------------
def test_input_symbolic_tensors_and_shape_inference():
    x = Input(shape=(None, 8), batch_size=4, dtype="float64", name="sequence")
    assert x.shape == (4, None, 8) and x.dtype == "float64" and x.name == "sequence"
    y = Dense(5)(x)
    assert y.shape == (4, None, 5)
    t = Input((None, 6))
    assert t.shape == (None, None, 6)
    assert Reshape((-1, 3))(t).shape == (None, None, 3)
    assert Flatten()(t).shape == (None, None)
    assert Flatten()(Input((2, 3, 4))).shape == (None, 24)
    assert Permute((2, 1))(Input((None, 6))).shape == (None, 6, None)
    assert RepeatVector(3)(Input((6,))).shape == (None, 3, 6)
    assert Dropout(0.5)(t).shape == (None, None, 6)
    # no compute_output_shape: shapes are traced with zeros, unknown sizes stay None
    assert Layer(name="passthrough")(t).shape == (None, None, 6)
    with pytest.raises(TypeError, match="is symbolic: it has no value"):
        np.asarray(t)
    with pytest.raises(ValueError, match="InputLayer: give `shape`"):
        Input()


def test_single_node_properties():
    x = Input((4,), name="features")
    layer = Dense(2, name="fc")
    with pytest.raises(AttributeError, match="Layer 'fc' is not connected: it has no input"):
        layer.input
    y = layer(x)
    assert layer.input is x and layer.output is y
    assert layer.input_shape == (None, 4) and layer.output_shape == (None, 2)


def test_shared_layer_node_methods():
    a, b = Input((4,), name="a"), Input((4,), name="b")
    shared = Dense(3, name="shared")
    ya, yb = shared(a), shared(b)
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b
    assert shared.get_output_at(0) is ya and shared.get_output_at(1) is yb
    assert shared.get_input_shape_at(1) == (None, 4)
    assert shared.get_output_shape_at(0) == (None, 3)
    for attr in ("input", "output", "input_shape", "output_shape"):
        with pytest.raises(AttributeError, match=rf"Layer 'shared' has multiple inbound nodes "
                                                 rf"\(2\).*Use get_{attr}_at\(node_index\)"):
            getattr(shared, attr)
    with pytest.raises(ValueError, match="asked for the output of node 2, but the layer has "
                                         r"only 2 inbound node\(s\)"):
        shared.get_output_at(2)


# --- configs -----------------------------------------------------------------------------------
CORE_LAYERS = [
    lambda: Dense(3, activation="relu", use_bias=False, kernel_initializer="he_normal",
                  kernel_regularizer=gkeras.regularizers.L2(0.1), kernel_constraint="non_neg",
                  input_shape=(4,)),
    lambda: Dense(2, bias_initializer=initializers.Constant(0.5),
                  activity_regularizer=gkeras.regularizers.L1(0.2)),
    lambda: Activation("softmax"),
    lambda: Dropout(0.3, noise_shape=(None, 1), seed=4),
    lambda: Flatten(data_format="channels_first"),
    lambda: Reshape((2, -1)),
    lambda: Permute((2, 1)),
    lambda: RepeatVector(3),
    lambda: InputLayer(input_shape=(5,), batch_size=2, name="entry"),
]


@pytest.mark.parametrize("make", CORE_LAYERS)
def test_get_config_from_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    json.dumps(config)
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    assert type(rebuilt) is type(layer)
    via_serialize = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert via_serialize.get_config() == config
    assert layers.serialize(layer) == {"class_name": type(layer).__name__, "config": config}


def test_rebuilt_dense_computes_the_same():
    layer = Dense(3, activation="tanh")
    x = np.random.default_rng(0).standard_normal((2, 4)).astype("float32")
    y = np.asarray(layer(x))
    rebuilt = layers.deserialize({"class_name": "Dense", "config": layer.get_config()})
    rebuilt.build((None, 4))
    rebuilt.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(rebuilt(x)), y, rtol=1e-6)


def test_deserialize_errors():
    with pytest.raises(ValueError, match="Unknown layer class 'Densest'"):
        layers.deserialize({"class_name": "Densest", "config": {}})
    with pytest.raises(ValueError, match="deserialize expects a dict with 'class_name'"):
        layers.deserialize("Dense")


def test_custom_layer_deserialize_with_custom_objects():
    config = {"class_name": "MyScale", "config": {"name": "s"}}
    rebuilt = layers.deserialize(config, custom_objects={"MyScale": Scale})
    assert isinstance(rebuilt, Scale) and rebuilt.name == "s"


def test_module_paths_of_the_guide():
    assert gkeras.layers.core.Dense is gkeras.layers.Dense
    assert gkeras.layers.core.Activation is gkeras.layers.Activation
    assert gkeras.layers.core.Dropout is gkeras.layers.Dropout
    assert gkeras.layers.core.Flatten is gkeras.layers.Flatten
    assert gkeras.layers.core.Reshape is gkeras.layers.Reshape
    assert gkeras.models.Model is gkeras.Model
    assert gkeras.layers.Input is gkeras.Input


# --- Dense -------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (2, 3, 2, 4)])
def test_dense_nd_applies_to_last_axis(shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype("float32")
    layer = Dense(3, activation="relu")
    y = np.asarray(layer(x))
    kernel, bias = rng.standard_normal((4, 3)), rng.standard_normal(3)
    layer.set_weights([kernel, bias])
    y = np.asarray(layer(x))
    expected = np.maximum(np.einsum("...i,ij->...j", x, kernel) + bias, 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + shape[1:-1] + (3,)


def test_dense_no_bias_and_initializers():
    layer = Dense(2, use_bias=False, kernel_initializer=initializers.Constant(0.5))
    y = np.asarray(layer(np.array([[1.0, 2.0, 3.0]])))
    np.testing.assert_allclose(y, [[3.0, 3.0]])
    assert len(layer.weights) == 1 and layer.bias is None
    biased = Dense(2, kernel_initializer="zeros", bias_initializer="ones")
    np.testing.assert_array_equal(np.asarray(biased(np.ones((1, 3)))), [[1.0, 1.0]])
    defaults = Dense(2).get_config()
    assert defaults["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert defaults["bias_initializer"]["class_name"] == "Zeros"
    assert defaults["activation"] == "linear" and defaults["use_bias"] is True
    with pytest.raises(ValueError, match=r"Dense 'dense_3': received an invalid value for "
                                         r"`units`, expected a positive integer. Received: "
                                         r"units=0"):
        Dense(0)


# --- Activation --------------------------------------------------------------------------------
def test_activation_layer():
    x = np.array([[-2.0, 0.5, 3.0]], dtype="float32")
    np.testing.assert_allclose(np.asarray(Activation("relu")(x)), [[0.0, 0.5, 3.0]])
    np.testing.assert_allclose(np.asarray(Activation(ops.negative)(x)), -x)
    with pytest.raises(ValueError, match="Unknown activation 'relux'"):
        Activation("relux")


# --- Dropout -----------------------------------------------------------------------------------
def test_dropout_training_scales_kept_values():
    rate = 0.3
    layer = Dropout(rate, seed=1)
    x = np.random.default_rng(2).uniform(1, 2, (400, 50)).astype("float32")
    y = np.asarray(layer(x, training=True))
    kept = y != 0
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    assert y.dtype == np.float32
    # identity at inference (default and explicit)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(Dropout(0.0)(x, training=True)), x)
    np.testing.assert_array_equal(np.asarray(Dropout(1.0)(x, training=True)), 0 * x)


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.6, 0.9])
@pytest.mark.parametrize("shape, dtype", [((300, 40), "float32"), ((6, 50, 40), "float64"),
                                          ((12000,), "float32")])
def test_dropout_values_at_several_rates(rate, shape, dtype):
    # kept values are x / (1 - rate), not x / rate: the two differ at every rate but 0.5
    rng = np.random.default_rng(int(rate * 100))
    x = (rng.uniform(1, 2, shape) * rng.choice([-1, 1], shape)).astype(dtype)  # never 0
    var = gkeras.Variable(x, dtype=dtype)
    with gkeras.GradientTape() as tape:
        y = Dropout(rate, seed=5, dtype=dtype)(var, training=True)
        total = ops.sum(y)
    y, grad = y.numpy(), tape.gradient(total, [var])[0].numpy()
    assert y.dtype == np.dtype(dtype) and y.shape == shape
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / (1 - rate), rtol=1e-6)
    assert np.all(y[~kept] == 0)
    # each element is kept with probability 1 - rate: within 5 standard deviations
    n = kept.size
    assert abs(kept.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
    # the gradient is the same mask and scale
    np.testing.assert_allclose(grad, kept / (1 - rate), rtol=1e-6)


def test_dropout_seed_reproducible():
    x = np.ones((20, 20), "float32")
    a = np.asarray(Dropout(0.5, seed=9)(x, training=True))
    b = np.asarray(Dropout(0.5, seed=9)(x, training=True))
    np.testing.assert_array_equal(a, b)


def test_dropout_noise_shape_broadcasts():
    x = np.ones((64, 5, 8), "float32")
    y = np.asarray(Dropout(0.5, noise_shape=(None, 1, 8), seed=3)(x, training=True))
    # the same mask for every time step of a sample
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :], y.shape))
    assert set(np.unique(y)) == {0.0, 2.0}
    z = np.asarray(Dropout(0.5, noise_shape=(None, 1, 1), seed=3)(x, training=True))
    per_sample = z.reshape(64, -1)
    assert np.all((per_sample == 0).all(axis=1) | (per_sample == 2).all(axis=1))


@pytest.mark.parametrize("rate", [1.5, -0.1, "half", True])
def test_dropout_invalid_rate(rate):
    with pytest.raises(ValueError, match=r"Dropout 'dropout': invalid value received for "
                                         r"argument `rate`. Expected a float value between 0 "
                                         r"and 1. Received: rate="):
        Dropout(rate)


# --- Flatten, Reshape, Permute, RepeatVector ---------------------------------------------------
def test_flatten_orders():
    x = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(np.asarray(Flatten()(x)), x.reshape(2, -1))
    # channels_first: flattened as the channels_last layout (Keras's order)
    np.testing.assert_array_equal(np.asarray(Flatten(data_format="channels_first")(x)),
                                  np.transpose(x, (0, 2, 3, 1)).reshape(2, -1))
    np.testing.assert_array_equal(np.asarray(Flatten()(np.ones((3,), "float32")[None])),
                                  np.ones((1, 3)))
    with pytest.raises(ValueError, match="Flatten 'flatten_3': invalid data_format 'nhwc'"):
        Flatten(data_format="nhwc")


def test_reshape():
    x = np.arange(24, dtype="float32").reshape(2, 12)
    np.testing.assert_array_equal(np.asarray(Reshape((3, 4))(x)), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(np.asarray(Reshape((-1, 2))(x)), x.reshape(2, 6, 2))
    assert Reshape((-1, 2, 2))(Input((12,))).shape == (None, 3, 2, 2)
    with pytest.raises(ValueError, match=r"Reshape 'reshape_3': total size of the new array must "
                                         r"be unchanged, input shape \(without batch\) = \(12,\), "
                                         r"target_shape = \(5, -1\)"):
        Reshape((5, -1))(Input((12,)))
    with pytest.raises(ValueError, match=r"total size of the new array must be unchanged.*"
                                         r"target_shape = \(5, 3\)"):
        Reshape((5, 3))(x)
    with pytest.raises(ValueError, match=r"target_shape may hold positive sizes and at most one "
                                         r"-1, received \(-1, -1\)"):
        Reshape((-1, -1))


def test_permute_and_repeat_vector():
    x = np.arange(24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(Permute((2, 1))(x)), np.transpose(x, (0, 2, 1)))
    y = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(np.asarray(Permute((3, 1, 2))(y)),
                                  np.transpose(y, (0, 3, 1, 2)))
    with pytest.raises(ValueError, match=r"dims must be a permutation of 1..2, received \(1, 3\)"):
        Permute((1, 3))
    v = np.array([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(RepeatVector(3)(v)),
                                  np.repeat(v[:, None, :], 3, axis=1))
    with pytest.raises(ValueError, match="received an invalid value for `n`, expected a positive "
                                         "integer. Received: n=0"):
        RepeatVector(0)


def test_input_layer():
    layer = InputLayer(input_shape=(3,), batch_size=5, dtype="float64", name="entry")
    assert layer.batch_shape == (5, 3)
    assert layer.output.shape == (5, 3) and layer.output.dtype == "float64"
    assert layer.get_config() == {"batch_input_shape": [5, 3], "dtype": "float64",
                                  "sparse": False, "name": "entry"}
    assert InputLayer(batch_shape=(None, 2, 2)).output.shape == (None, 2, 2)


def test_keras2_weights_argument_sets_initial_weights_once_built():
    kernel, bias = np.arange(6.0).reshape(3, 2), np.array([0.5, -1.0])
    dense = layers.Dense(2, weights=[kernel, bias], input_shape=(3,))
    model = gkeras.Sequential([dense])
    np.testing.assert_array_equal(dense.get_weights()[0], kernel)
    np.testing.assert_allclose(model.predict(np.ones((1, 3)), verbose=0), [[6.5, 8.0]])
    conv_kernel = np.random.RandomState(0).rand(3, 3, 1, 4)
    conv = layers.Conv2D(4, 3, weights=[conv_kernel, np.zeros(4)])
    conv(np.zeros((1, 5, 5, 1), dtype="float32"))
    np.testing.assert_allclose(conv.get_weights()[0], conv_kernel, rtol=1e-6)
    wrong = layers.Dense(2, weights=[np.zeros((4, 2)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"Layer 'dense_\d+'.*\(3, 2\).*\(4, 2\)"):
        wrong(np.zeros((1, 3), dtype="float32"))
