"""K's variables, constants, values, updates, random tensors and shape/dtype queries."""
import numpy as np
import pytest

from gkeras import Variable, layers
from gkeras import backend as K


def test_variable_constant_and_their_values():
    v = K.variable(np.array([[1, 2], [3, 4]]), name="w")
    assert isinstance(v, Variable) and v.name == "w" and v.dtype == np.float32
    np.testing.assert_array_equal(K.get_value(v), [[1, 2], [3, 4]])
    assert K.eval(v).dtype == np.float32
    assert K.variable(1.5, dtype="float64").dtype == np.float64
    c = K.constant(2.0, shape=(2, 3))
    np.testing.assert_array_equal(c.numpy(), np.full((2, 3), 2.0))
    assert c.dtype == np.float32 and not isinstance(c, Variable)
    np.testing.assert_array_equal(K.constant([1, 2, 3, 4], shape=(2, 2)).numpy(), [[1, 2], [3, 4]])
    assert K.constant([1, 2], dtype="int32").dtype == np.int32


def test_zeros_ones_eye_are_variables_and_likes_are_tensors():
    z = K.zeros((2, 3))
    assert isinstance(z, Variable) and z.dtype == np.float32
    np.testing.assert_array_equal(z.numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(K.ones((2,), dtype="int32").numpy(), [1, 1])
    np.testing.assert_array_equal(K.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(K.eye((2, 3)).numpy(), np.eye(2, 3))
    like = K.zeros_like(K.ones((2, 2)))
    assert not isinstance(like, Variable)
    np.testing.assert_array_equal(like.numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(K.ones_like(np.zeros((3,)), dtype="int32").numpy(), [1, 1, 1])


def test_set_value_update_and_identity_copy():
    v = K.variable([1.0, 2.0])
    snapshot = K.identity(v)
    K.set_value(v, np.array([5, 6]))
    np.testing.assert_array_equal(K.get_value(v), [5.0, 6.0])
    np.testing.assert_array_equal(snapshot.numpy(), [1.0, 2.0])
    assert K.update(v, np.array([1.0, 1.0])) is v
    K.update_add(v, np.array([2.0, 3.0]))
    K.update_sub(v, K.constant([0.5, 0.5]))
    np.testing.assert_array_equal(K.get_value(v), [2.5, 3.5])
    w = K.variable(np.zeros((2, 2)))
    K.batch_set_value([(v, [0.0, 1.0]), (w, np.eye(2))])
    got_v, got_w = K.batch_get_value([v, w])
    np.testing.assert_array_equal(got_v, [0.0, 1.0])
    np.testing.assert_array_equal(got_w, np.eye(2))
    with pytest.raises(TypeError, match="set_value: expected a variable"):
        K.set_value(K.constant([1.0]), [2.0])
    with pytest.raises(ValueError, match="shape"):
        K.set_value(v, np.zeros(3))


def test_set_value_on_an_optimizer_learning_rate_says_how_to_set_it():
    from gkeras import optimizers
    optimizer = optimizers.Adam(lr=0.01)
    with pytest.raises(TypeError, match=r"received the number 0\.01\. To change an optimizer's "
                       r"learning rate, assign it: `model\.optimizer\.learning_rate = value`"):
        K.set_value(optimizer.lr, 0.5)
    assert K.get_value(optimizer.lr) == 0.01
    optimizer.lr = 0.5
    assert optimizer.learning_rate == 0.5


def test_moving_average_update_is_keras_224s_zero_debiased_average():
    # tf assign_moving_average(x, value, 0.9, zero_debias=True), as Keras 2.2.4 calls it
    x = K.variable([5.0, -1.0])
    expected = [[1.0, 2.0], [2.0526311, -1.1578943], [1.4797044, -0.5461252]]
    for value, want in zip(([1.0, 2.0], [3.0, -4.0], [0.5, 0.5]), expected):
        assert K.moving_average_update(x, np.array(value, "float32"), 0.9) is x
        np.testing.assert_allclose(K.get_value(x), want, rtol=1e-6)


def test_count_params_shapes_ndim_dtype():
    x = K.zeros((2, 3, 4))
    assert K.count_params(x) == 24
    assert K.int_shape(x) == (2, 3, 4) and K.get_variable_shape(x) == (2, 3, 4)
    shape = K.shape(x)
    assert shape.dtype == np.int32
    np.testing.assert_array_equal(shape.numpy(), [2, 3, 4])
    assert K.ndim(x) == 3 and K.dtype(x) == "float32"
    assert K.dtype(K.cast(x, "float16")) == "float16"
    symbolic = layers.Input((5,))
    assert K.int_shape(symbolic) == (None, 5) and K.ndim(symbolic) == 2
    assert K.dtype(symbolic) == "float32"


def test_is_tensor_and_is_keras_tensor():
    symbolic = layers.Input((5,))
    assert K.is_keras_tensor(symbolic) and K.is_tensor(symbolic)
    assert not K.is_keras_tensor(K.constant(1.0)) and K.is_tensor(K.variable(1.0))
    assert not K.is_tensor(np.zeros(2))
    with pytest.raises(ValueError, match="Expected a symbolic tensor"):
        K.is_keras_tensor(np.zeros(2))


def test_cast_to_floatx_and_cast():
    out = K.cast_to_floatx([1, 2])
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    got = K.cast(np.array([1.7, -2.2]), "int32")
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got.numpy(), [1, -2])


def test_random_tensors_have_their_distributions_and_seeds_repeat():
    n = K.random_normal((4000,), mean=2.0, stddev=0.5, seed=1).numpy()
    assert n.dtype == np.float32 and abs(n.mean() - 2.0) < 0.03 and abs(n.std() - 0.5) < 0.02
    np.testing.assert_array_equal(K.random_normal((4000,), 2.0, 0.5, seed=1).numpy(), n)
    u = K.random_uniform((4000,), -1.0, 3.0, seed=2).numpy()
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.06
    b = K.random_binomial((4000,), p=0.25, seed=3).numpy()
    assert set(np.unique(b)) == {0.0, 1.0} and abs(b.mean() - 0.25) < 0.02
    t = K.truncated_normal((4000,), mean=1.0, stddev=2.0, seed=4).numpy()
    assert np.all(np.abs(t - 1.0) <= 4.0) and abs(t.std() - 2.0 * 0.8796) < 0.06
    rows = K.random_normal((K.shape(np.zeros((3, 7)))[0], 2), seed=0)  # K.shape(x)[0] as size
    assert rows.shape == (3, 2)
    v = K.random_uniform_variable((2, 3), 0.0, 1.0, seed=5)
    assert isinstance(v, Variable)
    np.testing.assert_array_equal(v.numpy(), K.random_uniform((2, 3), 0.0, 1.0, seed=5).numpy())
    w = K.random_normal_variable((2, 2), 0.0, 1.0, dtype="float64", seed=6)
    assert isinstance(w, Variable) and w.dtype == np.float64


def test_uids_name_scope_print_tensor_and_manual_initialization(capsys):
    K.reset_uids()
    assert [K.get_uid("dense"), K.get_uid("dense"), K.get_uid("conv")] == [1, 2, 1]
    K.clear_session()
    assert K.get_uid("dense") == 1
    with K.name_scope("block"):
        x = K.constant([1.0, 2.0])
    assert K.print_tensor(x, message="x =") is x
    assert capsys.readouterr().out == "x = [1. 2.]\n"
    assert K.manual_variable_initialization(True) is None
