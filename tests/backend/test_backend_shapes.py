"""K's shape manipulation against NumPy and Keras 2 (tf_keras) values, with gradients."""
import numpy as np
import pytest

from gkeras import backend as K
from test_ops import Case, check_case, normal

X = np.arange(24, dtype="float32").reshape(2, 3, 4)


def test_reshape_accepts_k_shape_entries():
    got = K.reshape(X, (K.shape(X)[0], -1))
    np.testing.assert_array_equal(got.numpy(), X.reshape(2, 12))
    np.testing.assert_array_equal(K.reshape(X, K.shape(np.zeros((4, 6)))).numpy(),
                                  X.reshape(4, 6))


def test_transposes_and_axes():
    np.testing.assert_array_equal(K.permute_dimensions(X, (2, 0, 1)).numpy(),
                                  X.transpose(2, 0, 1))
    np.testing.assert_array_equal(K.transpose(X).numpy(), X.T)
    np.testing.assert_array_equal(K.expand_dims(X).numpy(), X[..., None])
    np.testing.assert_array_equal(K.expand_dims(X, 1).numpy(), X[:, None])
    np.testing.assert_array_equal(K.squeeze(X[:, :1], 1).numpy(), X[:, 0])
    np.testing.assert_array_equal(K.flatten(X).numpy(), X.reshape(-1))
    np.testing.assert_array_equal(K.batch_flatten(X).numpy(), X.reshape(2, -1))


def test_concatenate_stack_gather_slice_reverse():
    np.testing.assert_array_equal(K.concatenate([X, X[:, :, :1]]).numpy(),
                                  np.concatenate([X, X[:, :, :1]], axis=-1))
    np.testing.assert_array_equal(K.concatenate([X, X], axis=0).numpy(),
                                  np.concatenate([X, X], axis=0))
    np.testing.assert_array_equal(K.stack([X, X]).numpy(), np.stack([X, X]))
    np.testing.assert_array_equal(K.stack([X, X], axis=-1).numpy(), np.stack([X, X], -1))
    table = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(K.gather(table, np.array([[3, 0], [1, 1]])).numpy(),
                                  table[[[3, 0], [1, 1]]])
    np.testing.assert_array_equal(K.slice(X, (0, 1, 1), (2, -1, 2)).numpy(), X[:, 1:, 1:3])
    np.testing.assert_array_equal(K.reverse(X, 1).numpy(), X[:, ::-1])
    np.testing.assert_array_equal(K.reverse(X, [0, 2]).numpy(), X[::-1, :, ::-1])


def test_repeat_tile_and_repeat_elements_match_keras():
    v = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    np.testing.assert_array_equal(K.repeat(v, 3).numpy(), np.repeat(v[:, None], 3, axis=1))
    with pytest.raises(ValueError, match="2-D"):
        K.repeat(X, 2)
    np.testing.assert_array_equal(K.tile(v, (2, 3)).numpy(), np.tile(v, (2, 3)))
    np.testing.assert_array_equal(K.tile(v, 2).numpy(), np.tile(v, 2))
    r = np.arange(6, dtype="float32").reshape(1, 2, 3)
    # from tf_keras.backend.repeat_elements
    np.testing.assert_array_equal(K.repeat_elements(r, 2, axis=1).numpy(),
                                  [[[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]]])
    np.testing.assert_array_equal(K.repeat_elements(r, 3, axis=2).numpy(),
                                  [[[0, 0, 0, 1, 1, 1, 2, 2, 2], [3, 3, 3, 4, 4, 4, 5, 5, 5]]])


def test_one_hot_is_float32_and_arange_is_int32():
    got = K.one_hot(np.array([[0, 2], [1, 3]]), 3)
    assert got.dtype == np.float32
    # from tf_keras.backend.one_hot: an index outside [0, 3) gives a row of zeros
    np.testing.assert_array_equal(got.numpy(), [[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 0, 0]]])
    a = K.arange(5)
    assert a.dtype == np.int32
    np.testing.assert_array_equal(a.numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(K.arange(2, 9, 3).numpy(), [2, 5, 8])
    np.testing.assert_array_equal(K.arange(0, 1, 0.25, dtype="float32").numpy(),
                                  [0, 0.25, 0.5, 0.75])


def test_paddings():
    np.testing.assert_array_equal(K.temporal_padding(X).numpy(),
                                  np.pad(X, ((0, 0), (1, 1), (0, 0))))
    np.testing.assert_array_equal(K.temporal_padding(X, (0, 2)).numpy(),
                                  np.pad(X, ((0, 0), (0, 2), (0, 0))))
    image = normal(2, 3, 4, 5)
    np.testing.assert_array_equal(K.spatial_2d_padding(image, ((1, 0), (2, 3))).numpy(),
                                  np.pad(image, ((0, 0), (1, 0), (2, 3), (0, 0))))
    np.testing.assert_array_equal(
        K.spatial_2d_padding(image, data_format="channels_first").numpy(),
        np.pad(image, ((0, 0), (0, 0), (1, 1), (1, 1))))
    volume = normal(1, 2, 2, 2, 3)
    np.testing.assert_array_equal(K.spatial_3d_padding(volume).numpy(),
                                  np.pad(volume, ((0, 0), (1, 1), (1, 1), (1, 1), (0, 0))))
    with pytest.raises(ValueError, match="padding must be 2 pairs"):
        K.spatial_2d_padding(image, (1, 1))


def test_resize_images_and_volumes_are_nearest_neighbour():
    image = normal(2, 3, 4, 5)
    np.testing.assert_array_equal(K.resize_images(image, 2, 3, "channels_last").numpy(),
                                  image.repeat(2, axis=1).repeat(3, axis=2))
    np.testing.assert_array_equal(K.resize_images(image, 2, 1, "channels_first").numpy(),
                                  image.repeat(2, axis=2))
    with pytest.raises(ValueError, match="nearest"):
        K.resize_images(image, 2, 2, "channels_last", interpolation="bicubic")
    volume = normal(1, 2, 2, 2, 3)
    np.testing.assert_array_equal(K.resize_volumes(volume, 2, 1, 3, "channels_last").numpy(),
                                  volume.repeat(2, 1).repeat(3, 3))


# tf.compat.v1.image.resize_bilinear(x, (6, 6)) (TensorFlow 1's, as Keras 2.2.4 calls it)
# of the first image and channel of BILINEAR_X, rounded to 6 digits
BILINEAR_X = np.arange(24, dtype="float32").reshape(2, 3, 2, 2) ** 1.5 / 7
BILINEAR_FIRST = [
    [0.0, 0.134687, 0.269374, 0.404061, 0.404061, 0.404061],
    [0.571429, 0.798223, 1.025018, 1.251812, 1.251812, 1.251812],
    [1.142857, 1.461759, 1.780661, 2.099563, 2.099563, 2.099563],
    [2.187672, 2.561299, 2.934925, 3.308551, 3.308551, 3.308551],
    [3.232488, 3.660838, 4.089189, 4.51754, 4.51754, 4.51754],
    [3.232488, 3.660838, 4.089189, 4.51754, 4.51754, 4.51754]]


def test_resize_images_bilinear_matches_tensorflow_1():
    got = K.resize_images(BILINEAR_X, 2, 3, "channels_last", interpolation="bilinear")
    assert got.shape == (2, 6, 6, 2)
    np.testing.assert_allclose(got.numpy()[0, :, :, 0], BILINEAR_FIRST, rtol=1e-5, atol=1e-6)
    first = K.resize_images(np.moveaxis(BILINEAR_X, -1, 1), 2, 3, "channels_first",
                            interpolation="bilinear")
    np.testing.assert_allclose(first.numpy(), np.moveaxis(got.numpy(), -1, 1), rtol=1e-6)


GRADIENT_CASES = [
    Case(lambda x: K.resize_images(x, 2, 3, "channels_last", interpolation="bilinear"),
         [normal(1, 2, 3, 1)], None, label="resize_images bilinear"),
    Case(lambda x: K.repeat_elements(x, 2, axis=1), [normal(2, 3)],
         lambda x: np.repeat(x, 2, axis=1), label="repeat_elements"),
    Case(lambda x: K.repeat(x, 3), [normal(2, 3)], lambda x: np.repeat(x[:, None], 3, 1),
         label="repeat"),
    Case(lambda x: K.reverse(x, [0, 1]), [normal(2, 3)], lambda x: x[::-1, ::-1],
         label="reverse"),
    Case(lambda x: K.slice(x, (1, 0), (1, 2)), [normal(3, 3)], lambda x: x[1:2, 0:2],
         label="slice"),
    Case(lambda x: K.spatial_2d_padding(x), [normal(1, 2, 2, 1)],
         lambda x: np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), label="spatial_2d_padding"),
    Case(lambda x: K.gather(x, np.array([2, 0, 2])), [normal(3, 2)],
         lambda x: x[[2, 0, 2]], label="gather"),
    Case(lambda x: K.resize_images(x, 2, 2, "channels_last"), [normal(1, 2, 2, 1)],
         lambda x: x.repeat(2, 1).repeat(2, 2), label="resize_images"),
    Case(lambda a, b: K.concatenate([a, b], axis=0), [normal(1, 3), normal(2, 3)],
         lambda a, b: np.concatenate([a, b]), label="concatenate"),
]


@pytest.mark.parametrize("case", GRADIENT_CASES, ids=[c.label for c in GRADIENT_CASES])
def test_gradients_match_finite_differences(case):
    check_case(case)
