"""Merge layers: values vs NumPy, symbolic shapes, gradients, masks, config, errors."""
import numpy as np
import pytest

import gkeras
from gkeras import layers, ops
from gkeras.layers.merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                                 Subtract)

RNG = np.random.default_rng(0)


def rand(*shape, dtype="float32"):
    return RNG.standard_normal(shape).astype(dtype)


def tensor_with_mask(value, mask):
    t = ops.convert_to_tensor(value)
    t._keras_mask = None if mask is None else ops.convert_to_tensor(mask)
    return t


ELEMWISE = [
    (Add, lambda xs: sum(xs)),
    (Multiply, lambda xs: np.prod(np.broadcast_arrays(*xs), axis=0)),
    (Average, lambda xs: sum(xs) / len(xs)),
    (Maximum, lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs))),
    (Minimum, lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs))),
]


# --- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls,reference", ELEMWISE)
def test_elementwise_values_with_broadcasting(cls, reference):
    a, b, c = rand(2, 1, 4), rand(2, 3, 4), rand(2, 4)
    out = cls()([a, b, c])
    # the rank-2 input gets a size-1 axis after the batch axis, as Keras expands it
    np.testing.assert_allclose(out.numpy(), reference([a, b, c[:, None, :]]), rtol=1e-6)
    assert out.shape == (2, 3, 4)
    assert out.dtype == np.float32


@pytest.mark.parametrize("cls,reference", ELEMWISE)
def test_elementwise_values_same_shape(cls, reference):
    a, b = rand(5, 3), rand(5, 3)
    np.testing.assert_allclose(cls()([a, b]).numpy(), reference([a, b]), rtol=1e-6)


def test_subtract_values_and_broadcasting():
    a, b = rand(2, 1, 4), rand(2, 3, 4)
    np.testing.assert_allclose(Subtract()([a, b]).numpy(), a - b, rtol=1e-6)
    np.testing.assert_allclose(Subtract()([b, a[:, 0]]).numpy(), b - a, rtol=1e-6)


def test_concatenate_values():
    a, b, c = rand(2, 3, 4), rand(2, 3, 1), rand(2, 3, 2)
    np.testing.assert_array_equal(Concatenate()([a, b, c]).numpy(),
                                  np.concatenate([a, b, c], axis=-1))
    d = rand(2, 5, 4)
    np.testing.assert_array_equal(Concatenate(axis=1)([a, d]).numpy(),
                                  np.concatenate([a, d], axis=1))


def test_dot_2d_gives_batch_by_one():
    a, b = rand(4, 5), rand(4, 5)
    out = Dot(axes=1)([a, b]).numpy()
    assert out.shape == (4, 1)
    np.testing.assert_allclose(out, np.sum(a * b, axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(Dot(axes=-1)([a, b]).numpy(), out, rtol=1e-6)


def test_dot_axes_pair_negative_and_3d():
    x, y = rand(2, 3, 5), rand(2, 10, 3)
    out = Dot(axes=(1, 2))([x, y]).numpy()
    assert out.shape == (2, 5, 10)
    np.testing.assert_allclose(out, np.einsum("bij,bki->bjk", x, y), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Dot(axes=[-2, -1])([x, y]).numpy(), out, rtol=1e-5, atol=1e-5)
    # 3-D batch matrix product: contract x's last axis with y's axis 1
    p, q = rand(2, 3, 4), rand(2, 4, 6)
    np.testing.assert_allclose(Dot(axes=(2, 1))([p, q]).numpy(), p @ q, rtol=1e-5, atol=1e-5)
    # axes=-1 on two 3-D tensors: (b, i, j) . (b, k, j) -> (b, i, k)
    r = rand(2, 5, 4)
    np.testing.assert_allclose(Dot(axes=-1)([p, r]).numpy(), np.einsum("bij,bkj->bik", p, r),
                               rtol=1e-5, atol=1e-5)


def test_dot_higher_rank_and_mixed_ranks():
    x, y = rand(2, 2, 3, 4), rand(2, 4, 5)
    np.testing.assert_allclose(Dot(axes=(3, 1))([x, y]).numpy(),
                               np.einsum("bijk,bkl->bijl", x, y), rtol=1e-5, atol=1e-5)
    # contracted axes in the middle of 4-D inputs (both get transposed)
    p, q = rand(2, 4, 3, 5), rand(2, 6, 4, 7)
    np.testing.assert_allclose(Dot(axes=(1, 2))([p, q]).numpy(),
                               np.einsum("bjik,bljm->biklm", p, q), rtol=1e-5, atol=1e-5)
    v = rand(2, 4)
    np.testing.assert_allclose(Dot(axes=(1, 1))([v, y]).numpy(), np.einsum("bk,bkl->bl", v, y),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(Dot(axes=(1, 1))([y, v]).numpy(), np.einsum("bkl,bk->bl", y, v),
                               rtol=1e-5, atol=1e-5)


def test_dot_normalize_is_cosine_proximity():
    a, b = rand(6, 5), rand(6, 5)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    out = Dot(axes=1, normalize=True)([a, b]).numpy()
    np.testing.assert_allclose(out, cosine[:, None], rtol=1e-5)
    np.testing.assert_allclose(Dot(axes=1, normalize=True)([a, a]).numpy(), 1.0, rtol=1e-5)
    # normalised along each input's own dot axis
    x, y = rand(2, 3, 5), rand(2, 10, 3)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=2, keepdims=True)
    np.testing.assert_allclose(Dot(axes=(1, 2), normalize=True)([x, y]).numpy(),
                               np.einsum("bij,bki->bjk", xn, yn), rtol=1e-5, atol=1e-6)
    # a zero vector gives 0, not NaN
    zero = np.zeros((1, 5), "float32")
    assert Dot(axes=1, normalize=True)([zero, a[:1]]).numpy()[0, 0] == 0.0


def test_integer_inputs_keep_their_dtype():
    out = Add()([np.array([[1, 2]]), np.array([[3, 4]])])
    np.testing.assert_array_equal(out.numpy(), [[4, 6]])
    assert out.dtype.kind == "i"


# --- symbolic shapes ------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Add, Multiply, Average, Maximum, Minimum, Subtract])
def test_symbolic_elementwise_shapes(cls):
    out = cls()([layers.Input((1, 4)), layers.Input((3, 4))])
    assert out.shape == (None, 3, 4)
    assert cls()([layers.Input((4,)), layers.Input((3, 4))]).shape == (None, 3, 4)
    assert cls()([layers.Input((None, 4)), layers.Input((3, 4))]).shape == (None, None, 4)
    fixed = cls()([layers.Input(batch_shape=(5, 3)), layers.Input((3,))])
    assert fixed.shape == (5, 3)


def test_symbolic_shapes_match_eager_shapes():
    cases = [(Add(), [(1, 4), (3, 4)]), (Concatenate(axis=1), [(2, 4), (3, 4)]),
             (Dot(axes=(1, 2)), [(3, 5), (10, 3)]), (Dot(axes=1), [(7,), (7,)]),
             (Dot(axes=(3, 1)), [(2, 3, 4), (4, 5)])]
    for layer, shapes in cases:
        symbolic = layer([layers.Input(s) for s in shapes])
        eager = layer([rand(2, *s) for s in shapes])
        assert symbolic.shape == (None,) + eager.shape[1:], layer


def test_symbolic_concatenate_and_dot_shapes():
    assert layers.concatenate([layers.Input((3,)), layers.Input((5,))]).shape == (None, 8)
    assert layers.concatenate([layers.Input((None,)), layers.Input((5,))]).shape == (None, None)
    out = layers.concatenate([layers.Input((2, 4)), layers.Input((3, 4))], axis=1)
    assert out.shape == (None, 5, 4)
    assert layers.dot([layers.Input((3,)), layers.Input((3,))], axes=1).shape == (None, 1)
    assert layers.Dot(axes=(1, 2))([layers.Input((3, 5)), layers.Input((10, 3))]).shape == \
        (None, 5, 10)


# --- gradients ------------------------------------------------------------------------------

def _numeric_gradient(fn, arrays, index, eps=1e-6):
    grad = np.zeros_like(arrays[index])
    for pos in np.ndindex(arrays[index].shape):
        up = [a.copy() for a in arrays]
        down = [a.copy() for a in arrays]
        up[index][pos] += eps
        down[index][pos] -= eps
        grad[pos] = (fn(up) - fn(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize("make_layer,shapes", [
    (lambda: Add(dtype="float64"), [(2, 1, 3), (2, 2, 3), (2, 3)]),
    (lambda: Subtract(dtype="float64"), [(2, 3), (2, 1)]),
    (lambda: Multiply(dtype="float64"), [(2, 1, 3), (2, 2, 3), (2, 3)]),
    (lambda: Average(dtype="float64"), [(2, 2, 3), (2, 1, 3)]),
    (lambda: Maximum(dtype="float64"), [(2, 2, 3), (2, 2, 3), (2, 3)]),
    (lambda: Minimum(dtype="float64"), [(2, 2, 3), (2, 1, 3)]),
    (lambda: Concatenate(axis=1, dtype="float64"), [(2, 2, 3), (2, 1, 3)]),
    (lambda: Dot(axes=1, dtype="float64"), [(2, 4), (2, 4)]),
    (lambda: Dot(axes=(1, 2), dtype="float64"), [(2, 3, 2), (2, 4, 3)]),
    (lambda: Dot(axes=-1, normalize=True, dtype="float64"), [(2, 2, 3), (2, 4, 3)]),
])
def test_gradients_match_finite_differences(make_layer, shapes):
    layer = make_layer()
    arrays = [rand(*s, dtype="float64") for s in shapes]
    out_shape = layer(arrays).shape
    weights = rand(*out_shape, dtype="float64")

    def loss_of(values):
        return float(np.sum(layer(values).numpy() * weights))

    variables = [gkeras.Variable(a, dtype="float64") for a in arrays]
    with gkeras.GradientTape() as tape:
        loss = ops.sum(ops.multiply(layer(variables), weights))
    grads = tape.gradient(loss, variables)
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad.numpy(), _numeric_gradient(loss_of, arrays, i),
                                   rtol=1e-6, atol=1e-8)


# --- masks ----------------------------------------------------------------------------------

M1 = np.array([[True, True, False], [True, False, False]])
M2 = np.array([[True, False, True], [False, False, True]])


@pytest.mark.parametrize("cls", [Add, Average, Subtract])
def test_additive_layers_or_the_masks(cls):
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    out = cls()([tensor_with_mask(a, M1), tensor_with_mask(b, M2)])
    np.testing.assert_array_equal(np.asarray(out._keras_mask), M1 | M2)
    plain = cls()([a, b]).numpy()
    np.testing.assert_allclose(out.numpy(), plain, rtol=1e-6)
    # one input without a mask: no output mask (as Keras 3)
    out = cls()([tensor_with_mask(a, M1), tensor_with_mask(b, None)])
    assert out._keras_mask is None


def test_compute_mask_directly():
    layer = Add()
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    np.testing.assert_array_equal(np.asarray(layer.compute_mask([a, b], [M1, M2])), M1 | M2)
    assert layer.compute_mask([a, b], [M1, None]) is None
    assert layer.compute_mask([a, b], None) is None
    assert Dot(axes=-1).compute_mask([a, b], [M1, M2]) is None
    with pytest.raises(ValueError, match="same length"):
        layer.compute_mask([a, b], [M1])


def test_multiply_mask_counts_masked_entries_as_one_then_zeroes_output():
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    out = Multiply()([tensor_with_mask(a, M1), tensor_with_mask(b, M2)])
    m1, m2 = M1[..., None], M2[..., None]
    expected = np.where(m1 | m2, np.where(m1, a, 1) * np.where(m2, b, 1), 0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), M1 | M2)
    # with one unmasked input the masked entries still count as 1 but nothing is zeroed
    out = Multiply()([tensor_with_mask(a, M1), b])
    np.testing.assert_allclose(out.numpy(), np.where(m1, a, 1) * b, rtol=1e-6)
    assert out._keras_mask is None


@pytest.mark.parametrize("cls,fn", [(Maximum, np.maximum), (Minimum, np.minimum)])
def test_extremum_masks_take_the_unmasked_value(cls, fn):
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    out = cls()([tensor_with_mask(a, M1), tensor_with_mask(b, M2)])
    m1, m2 = M1[..., None], M2[..., None]
    expected = np.where(m1 & m2, fn(a, b), np.where(m2 & ~m1, b, a))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), M1 | M2)


def test_concatenate_masks():
    a, b = rand(2, 3, 4), rand(2, 2, 4)
    m_b = np.array([[False, True], [True, False]])
    out = Concatenate(axis=1)([tensor_with_mask(a, M1), tensor_with_mask(b, m_b)])
    np.testing.assert_array_equal(np.asarray(out._keras_mask), np.concatenate([M1, m_b], 1))
    # an unmasked input counts as all-True
    out = Concatenate(axis=1)([tensor_with_mask(a, M1), b])
    np.testing.assert_array_equal(np.asarray(out._keras_mask),
                                  np.concatenate([M1, np.ones((2, 2), bool)], 1))
    # along the feature axis, a time step is kept when any input keeps it
    c = rand(2, 3, 2)
    out = Concatenate()([tensor_with_mask(a, M1), tensor_with_mask(c, M2)])
    np.testing.assert_array_equal(np.asarray(out._keras_mask), M1 | M2)
    assert Concatenate().compute_mask([a, c], [None, None]) is None


def test_dot_output_has_no_mask():
    a, b = rand(2, 3, 4), rand(2, 3, 4)
    out = Dot(axes=-1)([tensor_with_mask(a, M1), tensor_with_mask(b, M2)])
    assert out._keras_mask is None


# --- config ---------------------------------------------------------------------------------

@pytest.mark.parametrize("layer", [Add(name="my_add"), Subtract(), Multiply(), Average(),
                                   Maximum(), Minimum(), Concatenate(axis=1),
                                   Dot(axes=(1, 2), normalize=True)])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert type(layers.deserialize(layers.serialize(layer))) is type(layer)
    a, b = rand(2, 3, 3), rand(2, 3, 3)
    np.testing.assert_allclose(clone([a, b]).numpy(), layer([a, b]).numpy())


def test_config_values():
    assert Concatenate(axis=2).get_config()["axis"] == 2
    config = Dot(axes=(1, -1), normalize=True).get_config()
    assert list(config["axes"]) == [1, -1] and config["normalize"] is True
    assert Dot(axes=2).get_config()["axes"] == 2
    assert Add(name="sum_here").get_config()["name"] == "sum_here"


# --- functional wrappers and models ---------------------------------------------------------

@pytest.mark.parametrize("fn,cls,reference", [
    (layers.add, Add, lambda a, b: a + b),
    (layers.subtract, Subtract, lambda a, b: a - b),
    (layers.multiply, Multiply, lambda a, b: a * b),
    (layers.average, Average, lambda a, b: (a + b) / 2),
    (layers.maximum, Maximum, np.maximum),
    (layers.minimum, Minimum, np.minimum),
    (layers.concatenate, Concatenate, lambda a, b: np.concatenate([a, b], -1)),
    (layers.dot, Dot, lambda a, b: np.sum(a * b, -1, keepdims=True)),
])
def test_functional_wrappers(fn, cls, reference):
    a, b = rand(3, 4), rand(3, 4)
    np.testing.assert_allclose(fn([a, b]).numpy(), reference(a, b), rtol=1e-5)
    out = fn([layers.Input((4,)), layers.Input((4,))], name=f"wrapped_{cls.__name__}")
    layer = out._keras_history[0]
    assert type(layer) is cls and layer.name == f"wrapped_{cls.__name__}"


def test_wrapper_arguments():
    a, b = rand(2, 3, 2), rand(2, 3, 4)
    np.testing.assert_array_equal(layers.concatenate([a, b], axis=-1).numpy(),
                                  np.concatenate([a, b], -1))
    c = rand(2, 5, 3)
    out = layers.dot([a, c], axes=(1, 2), normalize=True).numpy()
    np.testing.assert_allclose(out, Dot(axes=(1, 2), normalize=True)([a, c]).numpy())
    assert layers.merge.Add is Add and gkeras.layers.Concatenate is Concatenate


def test_functional_model_with_merge_layers():
    a, b = layers.Input((3,)), layers.Input((3,))
    dense = layers.Dense(3)
    x = layers.add([dense(a), b])
    y = layers.multiply([a, b])
    cos = layers.dot([a, b], axes=1, normalize=True)
    model = gkeras.Model(inputs=[a, b], outputs=layers.concatenate([x, y, cos]))
    assert model.output_shape == (None, 7)
    xa, xb = rand(4, 3), rand(4, 3)
    kernel, bias = dense.get_weights()
    cosine = np.sum(xa * xb, 1, keepdims=True) / (
        np.linalg.norm(xa, axis=1, keepdims=True) * np.linalg.norm(xb, axis=1, keepdims=True))
    expected = np.concatenate([xa @ kernel + bias + xb, xa * xb, cosine], axis=-1)
    np.testing.assert_allclose(model([xa, xb]).numpy(), expected, rtol=1e-5, atol=1e-6)


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Add, Multiply, Average, Maximum, Minimum, Concatenate])
def test_fewer_than_two_inputs(cls):
    layer = cls()
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer '{layer.name}'.*at least 2 "
                                         r"inputs\. Received 1 input\(s\).*\(None, 3\)"):
        layer([layers.Input((3,))])
    with pytest.raises(ValueError, match=r"at least 2 inputs\. Received 1 input\(s\).*\(2, 3\)"):
        cls()([rand(2, 3)])
    with pytest.raises(ValueError, match="list of inputs"):
        cls()(rand(2, 3))


@pytest.mark.parametrize("cls", [Subtract, lambda: Dot(axes=1)])
def test_exactly_two_inputs(cls):
    with pytest.raises(ValueError, match=r"exactly 2 inputs\. Received 3"):
        cls()([layers.Input((3,))] * 3)
    with pytest.raises(ValueError, match=r"exactly 2 inputs\. Received 1"):
        cls()([rand(2, 3)])


@pytest.mark.parametrize("cls", [Add, Subtract, Multiply, Average, Maximum, Minimum])
def test_incompatible_shapes(cls):
    layer = cls()
    with pytest.raises(ValueError, match=rf"layer '{layer.name}'.*incompatible shapes.*"
                                         r"\(None, 3\) and \(None, 4\)"):
        layer([layers.Input((3,)), layers.Input((4,))])
    layer = cls()
    layer([rand(2, 3), rand(2, 3)])  # built; a later call must still check
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(2, 3\) and \(2, 4\)"):
        layer([rand(2, 3), rand(2, 4)])
    with pytest.raises(ValueError, match="different batch sizes"):
        cls()([rand(2, 3), rand(3, 3)])


def test_concatenate_mismatch():
    layer = Concatenate()
    with pytest.raises(ValueError, match=rf"Concatenate layer '{layer.name}'.*matching shapes.*"
                                         r"\(None, 2, 3\) and \(None, 4, 3\)"):
        layer([layers.Input((2, 3)), layers.Input((4, 3))])
    with pytest.raises(ValueError, match=r"matching shapes.*\(2, 3\) and \(2, 2, 3\)"):
        Concatenate()([rand(2, 3), rand(2, 2, 3)])
    with pytest.raises(ValueError, match=r"matching shapes.*\(2, 2, 3\) and \(2, 4, 3\)"):
        Concatenate(axis=-1)([rand(2, 2, 3), rand(2, 4, 3)])
    with pytest.raises(ValueError, match="out of range"):
        Concatenate(axis=3)([rand(2, 3), rand(2, 3)])


def test_dot_errors():
    layer = Dot(axes=1)
    with pytest.raises(ValueError, match=rf"Dot layer '{layer.name}'.*3.*!= 4.*"
                                         r"\(None, 3\) and \(None, 4\)"):
        layer([layers.Input((3,)), layers.Input((4,))])
    with pytest.raises(ValueError, match=r"\(2, 3, 5\) and \(2, 4, 3\)"):
        Dot(axes=(2, 1))([rand(2, 3, 5), rand(2, 4, 3)])
    with pytest.raises(ValueError, match="batch axis"):
        Dot(axes=0)([rand(2, 3), rand(2, 3)])
    with pytest.raises(ValueError, match="rank >= 2"):
        Dot(axes=-1)([rand(3), rand(3)])
    with pytest.raises(ValueError, match="out of range"):
        Dot(axes=3)([rand(2, 3), rand(2, 3)])
    with pytest.raises(TypeError, match="axes"):
        Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="integers"):
        Dot(axes=(1, 2.0))
