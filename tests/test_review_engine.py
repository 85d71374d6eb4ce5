"""Engine review regressions: dtypes, training flags in graphs, layer losses, gradients.

Reference values are hand-derived or come from Keras 3.15 (noted where used)."""
import numpy as np
import pytest

from gkeras import backend, config, layers, models, ops
from gkeras.autograd import GradientTape
from gkeras.layers import Dense, Dropout, Input, Layer
from gkeras.models import Model, Sequential
from gkeras.variables import Variable


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


# --- integer data into float models (Keras 3 gives float32 everywhere) ----------------------

def test_dense_on_integer_array_computes_in_the_kernel_dtype():
    layer = Dense(2, kernel_initializer="ones", bias_initializer="ones")
    out = layer(np.arange(6).reshape(2, 3))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), [[4, 4], [13, 13]])


def test_functional_model_casts_inputs_to_the_input_dtype():
    inp = Input((3,))
    model = Model(inp, layers.Activation("relu")(inp))
    x = np.arange(-3, 3).reshape(2, 3)  # int64
    assert model(x).dtype == np.float32
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0, 0, 0], [0, 1, 2]])


def test_integer_input_keeps_integer_data():
    inp = Input((2,), dtype="int32")
    model = Model(inp, layers.Activation("linear")(inp))
    assert model(np.array([[1, 2]], dtype="int64")).dtype == np.int32


# --- training= given when the graph was built (Keras 3 semantics) ---------------------------

def _always_dropout_model():
    inp = Input((4,))
    return Model(inp, Dropout(0.5, seed=1)(inp, training=True))


def test_layer_called_with_training_true_in_the_graph_stays_in_training_by_default():
    out = _always_dropout_model()(np.ones((8, 4), "float32")).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any()


def test_model_level_training_overrides_the_graph_training_argument():
    model = _always_dropout_model()
    x = np.ones((8, 4), "float32")
    np.testing.assert_array_equal(model(x, training=False).numpy(), x)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


# --- layer losses ----------------------------------------------------------------------------

def test_shared_layer_keeps_the_activity_loss_of_every_call():
    # Keras 3.15 gives [0.02, 0.04]: l1(0.01) of outputs 2 and 4, divided by the batch size 1
    shared = Dense(1, activity_regularizer="l1", kernel_initializer="ones", use_bias=False)
    a, b = Input((2,)), Input((2,))
    model = Model([a, b], layers.Add()([shared(a), shared(b)]))
    model([np.ones((1, 2), "float32"), 2 * np.ones((1, 2), "float32")])
    assert sorted(float(loss) for loss in model.losses) == pytest.approx([0.02, 0.04])
    model([np.ones((1, 2), "float32"), np.ones((1, 2), "float32")])  # a new call starts afresh
    assert [float(loss) for loss in model.losses] == pytest.approx([0.02, 0.02])


def test_activity_regularizer_on_a_scalar_output_is_not_divided():
    class Total(Layer):
        def call(self, inputs):
            return ops.sum(inputs)

    layer = Total(activity_regularizer="l1")
    layer(np.array([1.0, -2.0], "float32"))
    assert [float(loss) for loss in layer.losses] == pytest.approx([0.01])


def test_frozen_layer_weight_regularizers_are_not_losses():
    # as Keras 3: regularization losses come from trainable weights only
    layer = Dense(1, kernel_regularizer="l2", kernel_initializer="ones")
    layer.build((None, 2))
    assert len(layer.losses) == 1
    layer.trainable = False
    assert layer.losses == []


def test_layer_shared_by_nested_models_counts_its_regularizer_once():
    shared = Dense(1, kernel_regularizer="l2", kernel_initializer="ones")
    inner_in = Input((2,))
    inner = Model(inner_in, shared(inner_in))
    outer_in = Input((2,))
    outer = Model(outer_in, layers.Add()([inner(outer_in), shared(outer_in)]))
    assert [float(loss) for loss in outer.losses] == pytest.approx([0.02])


# --- Sequential.add -------------------------------------------------------------------------

def test_sequential_add_of_an_incompatible_layer_leaves_the_model_usable():
    model = Sequential([Dense(4, input_shape=(3,))])
    with pytest.raises(ValueError, match="reshape"):
        model.add(layers.Reshape((5,)))
    assert [layer.name for layer in model.layers] == ["dense"]
    model.add(Dense(2))
    assert model.output_shape == (None, 2)
    assert len(model.layers[0]._inbound_nodes) == 1


# --- ops -----------------------------------------------------------------------------------

@pytest.mark.parametrize("reduce", [ops.max, ops.min])
def test_extremum_gradient_keeps_float32(reduce):
    v = Variable(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], "float32"))
    with GradientTape() as tape:
        y = reduce(v, axis=1)
    grad = tape.gradient(y, [v])[0]
    assert grad.dtype == np.float32
    expected = [[0, 0.5, 0.5], [0.5, 0, 0.5]] if reduce is ops.max else [[1, 0, 0], [0, 1, 0]]
    np.testing.assert_allclose(grad.numpy(), expected)


def test_erf_of_integers_is_computed_in_floats():
    np.testing.assert_allclose(ops.erf(np.array([1, 2])).numpy(), [0.8427007929, 0.9953222650],
                               rtol=1e-6)


def test_zeros_ones_one_hot_default_to_floatx():
    config.set_floatx("float64")
    assert ops.zeros((2,)).dtype == np.float64
    assert ops.ones((2,)).dtype == np.float64
    assert ops.one_hot(np.array([1]), 3).dtype == np.float64


def test_one_hot_of_out_of_range_indices_is_all_zeros():
    # as Keras 3 (and tf.one_hot): -1 and num_classes select no class
    np.testing.assert_array_equal(ops.one_hot(np.array([-1, 1, 3]), 3).numpy(),
                                  [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_getitem_gradient_with_slices_and_repeated_indices():
    v = Variable(np.arange(12, dtype="float64").reshape(3, 4))
    with GradientTape() as tape:
        y = ops.sum(v[1:, ::2] * 2.0) + ops.sum(v[np.array([0, 0, 2])])
    grad = tape.gradient(y, [v])[0].numpy()
    expected = np.zeros((3, 4))
    expected[1:, ::2] += 2
    expected[0] += 2
    expected[2] += 1
    np.testing.assert_array_equal(grad, expected)


def test_persistent_tape_unwatches_when_it_is_released():
    x = ops.convert_to_tensor(np.array([1.0, 2.0]))
    tape = GradientTape(persistent=True)
    with tape:
        tape.watch(x)
        y = ops.sum(x * x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0])
    assert x.requires_grad
    del tape
    assert not x.requires_grad


def test_weight_made_non_trainable_leaves_trainable_weights():
    # Keras 3.15: ['dense/bias'] ['dense/kernel'], and toggling the layer resets the kernel
    layer = Dense(2)
    layer.build((None, 3))
    layer.kernel.trainable = False
    assert [w.path for w in layer.trainable_weights] == ["dense/bias"]
    assert [w.path for w in layer.non_trainable_weights] == ["dense/kernel"]
    assert [w.path for w in layer.weights] == ["dense/kernel", "dense/bias"]
    layer.trainable = False
    layer.trainable = True
    assert layer.kernel.trainable and layer.kernel.requires_grad


def test_fit_leaves_a_non_trainable_weight_unchanged():
    model = Sequential([Dense(2, input_shape=(3,))])
    model.layers[0].kernel.trainable = False
    kernel, bias = (w.copy() for w in model.get_weights())
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_weights()[0], kernel)
    assert not np.array_equal(model.get_weights()[1], bias)


def test_unbuilt_sequential_called_on_several_inputs_says_so():
    model = Sequential([Dense(2)])
    with pytest.raises(ValueError, match="takes one input.*functional API"):
        model((np.ones((2, 3), "float32"), np.ones((2, 1), "float32")))


def test_shape_tracing_inside_an_eager_call_adds_no_losses():
    class Double(Layer):
        def call(self, inputs):
            return inputs * 2.0

    class Net(Layer):
        def __init__(self):
            super().__init__()
            self.block = Sequential([Double(activity_regularizer="l1")])  # built on first call

        def call(self, inputs):
            return self.block(inputs)

    net = Net()
    net(np.ones((1, 2), "float32"))
    assert [float(loss) for loss in net.losses] == pytest.approx([0.04])


def test_mask_set_by_call_is_kept():
    class FirstStepOnly(Layer):
        """Passes masks through, but its own output is valid at the first step only."""

        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            out = inputs * 1.0
            out._keras_mask = ops.convert_to_tensor(np.array([[True, False, False]]))
            return out

    x = ops.convert_to_tensor(np.ones((1, 3, 2), "float32"))
    x._keras_mask = ops.convert_to_tensor(np.array([[True, True, False]]))
    out = FirstStepOnly()(x)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), [[True, False, False]])


def test_tile_and_repeat_take_integer_scalars_of_any_kind():
    x = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(ops.tile(x, 2).numpy(), np.tile(x, 2))
    np.testing.assert_array_equal(ops.repeat(x, np.int64(2), axis=1).numpy(),
                                  np.repeat(x, 2, axis=1))
