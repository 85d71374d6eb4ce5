"""GradientTape, the recorded graph, Tensor and Variable."""
import numpy as np
import pytest

import gkeras
from gkeras import GradientTape, Tensor, Variable, config, ops
from gkeras.autograd import result


def test_tensor_used_twice_accumulates():
    x = Variable([1.5, -2.0, 3.0], dtype="float64")
    with GradientTape() as tape:
        y = x * x
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [3.0, -4.0, 6.0])


def test_diamond_graph():
    # y = (2x) * exp(x): both branches reach x through different paths
    x = Variable([0.5, -1.0], dtype="float64")
    with GradientTape() as tape:
        a = 2.0 * x
        b = ops.exp(x)
        y = ops.sum(a * b)
    xv = x.numpy()
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2 * np.exp(xv) * (1 + xv))


def test_deep_chain_and_shared_intermediate():
    x = Variable(0.3, dtype="float64")
    with GradientTape() as tape:
        h = ops.tanh(x)
        y = h * h + h  # h used three times
    h = np.tanh(0.3)
    assert float(tape.gradient(y, x)) == pytest.approx((2 * h + 1) * (1 - h * h), rel=1e-12)


def test_watch_plain_tensor():
    x = Tensor(np.array([1.0, 2.0]))
    with GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x ** 3)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [3.0, 12.0])


def test_unwatched_plain_tensor_gets_none():
    x = Tensor(np.array([1.0, 2.0]))
    v = Variable([1.0, 1.0], dtype="float64")
    with GradientTape() as tape:
        y = ops.sum(x * v)
    gx, gv = tape.gradient(y, [x, v])
    assert gx is None
    np.testing.assert_allclose(gv.numpy(), [1.0, 2.0])


def test_watch_rejects_non_tensors():
    with GradientTape() as tape:
        with pytest.raises(TypeError, match="GradientTape.watch expects Tensors"):
            tape.watch(np.ones(2))


def test_persistent_tape_allows_several_gradients():
    x = Variable(2.0, dtype="float64")
    with GradientTape(persistent=True) as tape:
        y = x * x
        z = y * x
    assert float(tape.gradient(y, x)) == 4.0
    assert float(tape.gradient(z, x)) == 12.0


def test_non_persistent_second_call_raises():
    x = Variable(2.0, dtype="float64")
    with GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, x)


def test_unconnected_source_gives_none():
    x = Variable(1.0, dtype="float64")
    unused = Variable(1.0, dtype="float64")
    with GradientTape() as tape:
        y = x * 3.0
    gx, gu = tape.gradient(y, [x, unused])
    assert float(gx) == 3.0
    assert gu is None


def test_gradient_structure_single_vs_list():
    x = Variable(1.0, dtype="float64")
    with GradientTape(persistent=True) as tape:
        y = x * 5.0
    assert isinstance(tape.gradient(y, x), Tensor)
    assert isinstance(tape.gradient(y, [x]), list)


def test_nothing_recorded_without_a_tape():
    x = Variable([1.0, 2.0])
    y = ops.exp(x * 2.0)
    assert y._parents is None and y._backward is None
    assert y.requires_grad is False


def test_nothing_recorded_after_the_tape_closes():
    x = Variable([1.0, 2.0])
    with GradientTape():
        inside = x * 2.0
    outside = x * 2.0
    assert inside.requires_grad and inside._parents is not None
    assert not outside.requires_grad and outside._parents is None


def test_non_trainable_variable_gets_no_gradient():
    w = Variable([1.0, 2.0], dtype="float64", trainable=False)
    b = Variable([0.5, 0.5], dtype="float64")
    with GradientTape() as tape:
        y = ops.sum(w * b)
    gw, gb = tape.gradient(y, [w, b])
    assert gw is None
    np.testing.assert_allclose(gb.numpy(), [1.0, 2.0])


def test_output_gradients_seed_the_backward_pass():
    x = Variable([1.0, 2.0, 3.0], dtype="float64")
    with GradientTape(persistent=True) as tape:
        y = x * x
    seed = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(tape.gradient(y, x, output_gradients=seed).numpy(),
                               [2.0, 40.0, 600.0])
    np.testing.assert_allclose(
        tape.gradient(y, x, output_gradients=Tensor(seed)).numpy(), [2.0, 40.0, 600.0])


def test_gradient_target_must_be_tensor():
    with GradientTape() as tape:
        pass
    with pytest.raises(TypeError, match="target must be a Tensor"):
        tape.gradient(np.ones(2), [])


def test_custom_op_with_result():
    def cube(x):
        x = ops.convert_to_tensor(x)
        return result(x.value ** 3, (x,), lambda g: (3 * g * x.value ** 2,))

    x = Variable([1.0, -2.0], dtype="float64")
    with GradientTape() as tape:
        y = ops.sum(cube(x))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [3.0, 12.0])


def test_custom_training_loop_converges():
    # least squares y = 3x - 1 by gradient descent, the documented loop
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 1))
    y = 3 * x - 1
    w = Variable(np.zeros((1, 1)), dtype="float64")
    b = Variable(np.zeros(1), dtype="float64")
    for _ in range(200):
        with GradientTape() as tape:
            loss = ops.mean(ops.square(ops.linear(x, w, b) - y))
        gw, gb = tape.gradient(loss, [w, b])
        w.assign_sub(0.1 * gw.value)
        b.assign_sub(0.1 * gb.value)
    np.testing.assert_allclose(w.numpy(), [[3.0]], atol=1e-6)
    np.testing.assert_allclose(b.numpy(), [-1.0], atol=1e-6)


# --- Tensor -------------------------------------------------------------------------------

def test_tensor_basics():
    t = Tensor(np.arange(6.0, dtype="float32").reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(t), np.arange(6.0).reshape(2, 3))
    assert np.asarray(t, dtype="float64").dtype == np.float64
    assert float(Tensor(2.5)) == 2.5 and int(Tensor(np.int64(3))) == 3
    assert Tensor(7.0).numpy().shape == ()
    assert format(Tensor(1.23456), ".2f") == "1.23"
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


# --- Variable -----------------------------------------------------------------------------

def test_variable_dtype_defaults_to_floatx():
    assert Variable([1, 2]).dtype == np.float32
    config.set_floatx("float64")  # restored by the conftest fixture
    assert Variable([1, 2]).dtype == np.float64
    assert Variable([1, 2], dtype="float16").dtype == np.float16


def test_variable_numpy_and_assign():
    v = Variable(np.array([[1.0, 2.0]]), name="w")
    assert isinstance(v.numpy(), np.ndarray)
    np.testing.assert_array_equal(v.numpy(), [[1.0, 2.0]])
    v.assign([[3.0, 4.0]])
    v.assign_add(np.array([[1.0, 1.0]]))
    v.assign_sub(Tensor(np.array([[0.5, 0.5]], "float32")))
    np.testing.assert_array_equal(v.numpy(), [[3.5, 4.5]])
    assert v.dtype == np.float32


def test_variable_assign_writes_into_its_array():
    """In place, as a captured train step (gkeras/models/step_capture.py) needs: the array
    keeps its identity, the caller's value is copied, an overlapping value is read first."""
    v = Variable(np.array([1.0, 2.0, 3.0]), name="w")
    array = v.value
    source = np.array([4.0, 5.0, 6.0])
    v.assign(source)
    assert v.value is array
    source[0] = 0.0
    np.testing.assert_array_equal(v.numpy(), [4.0, 5.0, 6.0])
    v.assign(v.value[::-1])
    np.testing.assert_array_equal(v.numpy(), [6.0, 5.0, 4.0])
    scalar = Variable(np.float32(1.0))
    scalar.value = scalar.value + np.float32(1.0)  # NumPy gives a scalar, not an array
    scalar.assign(5.0)
    assert float(scalar.numpy()) == 5.0


def test_variable_assign_shape_mismatch_message():
    v = Variable(np.zeros((2, 3)), name="kernel")
    with pytest.raises(ValueError) as err:
        v.assign(np.zeros((3, 2)))
    message = str(err.value)
    assert "'kernel'" in message and "(3, 2)" in message and "(2, 3)" in message


def test_variable_from_initializer_needs_shape():
    v = Variable(lambda shape, dtype: np.full(shape, 0.5, dtype), shape=(2,), name="b")
    np.testing.assert_array_equal(v.numpy(), [0.5, 0.5])
    with pytest.raises(ValueError, match="needs `shape`"):
        Variable(lambda shape, dtype: np.zeros(shape, dtype), name="b")


def test_variable_trainable_flag_controls_gradient():
    v = Variable([1.0], dtype="float64")
    assert v.trainable and v.requires_grad
    v.trainable = False
    assert not v.requires_grad
    with GradientTape() as tape:
        y = v * 2.0
    assert tape.gradient(y, v) is None
    v.trainable = True
    with GradientTape() as tape:
        y = v * 2.0
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [2.0])


def test_public_names():
    assert gkeras.GradientTape is GradientTape and gkeras.Variable is Variable


# --- gkeras.testing ---------------------------------------------------------------------------

class Scale(gkeras.Layer):
    """``x * scale + sin(x) * offset``: a correct custom layer built from ops."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                     initializer="ones")
        self.offset = self.add_weight(name="offset", shape=(), initializer="ones",
                                      trainable=False)

    def call(self, x):
        return x * (self.scale + 0.5) + ops.sin(x) * self.offset


def _wrong_square(x):
    # the backward is deliberately wrong: 3x instead of 2x
    return result(x.value * x.value, (x,), lambda g: (3 * x.value * g,))


class WrongSquare(gkeras.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return _wrong_square(x) * self.w


class Product(gkeras.Layer):
    """Two inputs: ``a * b * w``."""

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[0][-1],), initializer="ones")

    def call(self, inputs):
        a, b = inputs
        return a * b * self.w


class Lookup(gkeras.Layer):
    """An integer input: rows of a table."""

    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=(5, 3), initializer="glorot_uniform")

    def call(self, ids):
        return ops.take(self.table, ids, axis=0)


RNG = np.random.default_rng(3)


def test_check_gradients_passes_on_float64_dense():
    layer = gkeras.layers.Dense(3, activation="tanh", dtype="float64")
    gkeras.testing.check_gradients(layer, RNG.standard_normal((4, 5)))
    gkeras.testing.check_gradients(layer, RNG.standard_normal((2, 3, 5)))


def test_check_gradients_passes_on_float32_dense_with_loose_tolerances():
    layer = gkeras.layers.Dense(2, activation="sigmoid")
    gkeras.testing.check_gradients(layer, RNG.standard_normal((3, 4)).astype("float32"))


def test_check_gradients_passes_on_correct_custom_layers():
    gkeras.testing.check_gradients(Scale(dtype="float64"), RNG.standard_normal((3, 4)))
    gkeras.testing.check_gradients(Product(dtype="float64"),
                                   [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))],
                                   upstream=RNG.standard_normal((2, 3)))
    gkeras.testing.check_gradients(Lookup(dtype="float64"), np.array([[0, 4], [4, 4]]))


def test_check_gradients_raises_on_a_wrong_backward():
    layer = WrongSquare(dtype="float64")
    with pytest.raises(AssertionError) as err:
        gkeras.testing.check_gradients(layer, RNG.uniform(0.5, 1.5, (2, 3)))
    message = str(err.value)
    assert "input 0" in message and "analytic" in message and "numeric" in message
    # the analytic value in the message is 1.5 times the numeric one
    analytic, numeric = (float(message.split(word)[1].split()[0].strip(",")) for word in
                         ("analytic ", "numeric "))
    assert analytic == pytest.approx(1.5 * numeric, rel=1e-6)


def test_check_gradients_raises_on_wrong_weight_gradient():
    class WrongWeight(gkeras.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            w = self.w
            # forward x * w**2 but backward for x * w
            return result(x.value * w.value ** 2, (x, w),
                          lambda g: (g * w.value ** 2, (g * x.value).sum(axis=0)))

    with pytest.raises(AssertionError, match="weight 'wrong_weight.*/w'"):
        gkeras.testing.check_gradients(WrongWeight(dtype="float64"), RNG.uniform(1, 2, (2, 3)))


def test_layer_gradients_dense_matches_hand_derivation():
    layer = gkeras.layers.Dense(3, dtype="float64")
    x = RNG.standard_normal((4, 2))
    upstream = RNG.standard_normal((4, 3))
    input_grad, (kernel_grad, bias_grad) = gkeras.testing.layer_gradients(layer, x, upstream)
    kernel = layer.kernel.numpy()
    np.testing.assert_allclose(input_grad, upstream @ kernel.T, rtol=1e-12)
    np.testing.assert_allclose(kernel_grad, x.T @ upstream, rtol=1e-12)
    np.testing.assert_allclose(bias_grad, upstream.sum(axis=0), rtol=1e-12)


def test_layer_gradients_lists_inputs_integers_and_non_trainable_weights():
    layer = Scale(dtype="float64")
    x = RNG.standard_normal((2, 3))
    input_grad, (scale_grad, offset_grad) = gkeras.testing.layer_gradients(
        layer, x, np.ones((2, 3)))
    np.testing.assert_allclose(input_grad, 1.5 + np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(scale_grad, x.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(offset_grad, np.sin(x).sum(), rtol=1e-12)
    assert not layer.offset.requires_grad and layer.scale.requires_grad  # flags restored

    grads, _ = gkeras.testing.layer_gradients(Product(dtype="float64"), [x, 2 * x],
                                              np.ones((2, 3)))
    assert isinstance(grads, list)
    np.testing.assert_allclose(grads[0], 2 * x)
    np.testing.assert_allclose(grads[1], x)

    lookup = Lookup(dtype="float64")
    ids_grad, (table_grad,) = gkeras.testing.layer_gradients(lookup, np.array([1, 1, 3]),
                                                             np.ones((3, 3)))
    assert ids_grad is None
    np.testing.assert_array_equal(table_grad[:, 0], [0, 2, 0, 1, 0])


def test_check_gradients_reports_a_gradient_of_the_wrong_shape():
    class BadShape(gkeras.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            w = self.w
            return result(x.value * w.value, (x, w), lambda g: (g * w.value, g * x.value))

    with pytest.raises(AssertionError, match=r"has shape \(2, 3\), expected \(3,\)"):
        gkeras.testing.check_gradients(BadShape(dtype="float64"), RNG.uniform(1, 2, (2, 3)))


def test_layer_gradients_rejects_wrong_upstream_shape():
    with pytest.raises(ValueError, match="does not match the layer output"):
        gkeras.testing.layer_gradients(gkeras.layers.Dense(3), np.ones((2, 2)), np.ones((2, 2)))


def test_loss_gradients_of_a_callable():
    y_true = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.0]])
    y_pred = np.array([[0.5, 0.5], [2.0, 1.0], [0.0, 0.0]])

    def squared_error(t, p):
        return ops.mean(ops.square(p - t), axis=-1)
    grad = gkeras.testing.loss_gradients(squared_error, y_true, y_pred)
    np.testing.assert_allclose(grad, 2 * (y_pred - y_true) / y_pred.size, rtol=1e-12)


def test_loss_gradients_by_name():
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]])
    y_pred = np.array([[0.5, 0.5], [2.0, 1.0]])
    grad = gkeras.testing.loss_gradients("mean_squared_error", y_true, y_pred)
    np.testing.assert_allclose(grad, 2 * (y_pred - y_true) / y_pred.size, rtol=1e-12)


def test_loss_gradients_rejects_non_callables():
    with pytest.raises(TypeError, match="must be a callable or a loss name"):
        gkeras.testing.loss_gradients(3, np.ones(2), np.ones(2))
