import numpy as np
import pytest

import gkeras
from gkeras.utils import normalize, to_categorical


def test_to_categorical_one_hot_values_and_dtype():
    result = to_categorical([2, 0, 1, 2])
    expected = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype="float32")
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, expected)


def test_to_categorical_num_classes_dtype_and_shapes():
    result = to_categorical(np.array([[1], [3]]), num_classes=5, dtype="int32")
    assert result.dtype == np.int32
    np.testing.assert_array_equal(result, [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])
    grid = np.array([[0, 1], [1, 0]])
    result = to_categorical(grid, num_classes=2)
    assert result.shape == (2, 2, 2)
    np.testing.assert_array_equal(result.argmax(-1), grid)
    np.testing.assert_array_equal(to_categorical(1, num_classes=3), [0.0, 1.0, 0.0])


def test_to_categorical_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="-1"):
        to_categorical([0, -1])
    with pytest.raises(TypeError, match="integer labels"):
        to_categorical(["a", "b"])


def test_normalize_l2_along_last_axis():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 1.0]], dtype="float32")
    result = normalize(x)
    expected = np.array([[0.6, 0.8], [0.0, 0.0], [2 ** -0.5, 2 ** -0.5]])
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_normalize_other_axis_and_order():
    x = np.array([[1.0, -2.0], [3.0, 2.0]])
    np.testing.assert_allclose(normalize(x, axis=0, order=1), [[0.25, -0.5], [0.75, 0.5]])
    np.testing.assert_allclose(normalize([[1.0, -2.0]], order=np.inf), [[0.5, -1.0]])
    with pytest.raises(ValueError, match="axis"):
        normalize(x, axis=None)


def test_utils_exported_from_package():
    assert gkeras.utils.to_categorical is to_categorical
    assert gkeras.utils.Progbar is gkeras.utils.progbar.Progbar


def test_set_random_seed_makes_training_reproducible():
    def run():
        gkeras.utils.set_random_seed(7)
        x = np.random.rand(64, 5).astype("float32")
        y = np.random.rand(64, 1).astype("float32")
        model = gkeras.Sequential([gkeras.layers.Dense(8, activation="relu", input_shape=(5,)),
                                   gkeras.layers.Dropout(0.5), gkeras.layers.Dense(1)])
        model.compile("adam", "mse")
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return history.history["loss"], model.get_weights()

    (loss_a, weights_a), (loss_b, weights_b) = run(), run()
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_set_random_seed_rejects_bad_values():
    with pytest.raises(ValueError, match="non-negative integer"):
        gkeras.utils.set_random_seed(-1)
