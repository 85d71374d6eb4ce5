"""ZeroPadding1D/2D, UpSampling1D/2D and Cropping1D/2D: values against NumPy, shapes with
unknown sizes, configs, legacy spellings, masks, saving, errors and gradients."""
import numpy as np
import pytest

import gkeras
from gkeras import Tensor, backend, config, layers, testing

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


def _cl(pads):
    """NumPy pad widths for a channels_last input from spatial pads."""
    return [(0, 0), *pads, (0, 0)]


def _cf(pads):
    return [(0, 0), (0, 0), *pads]


# (layer class, arguments, input shape without batch, NumPy reference)
CASES = [
    (layers.ZeroPadding1D, {}, (4, 3), lambda x: np.pad(x, _cl([(1, 1)]))),
    (layers.ZeroPadding1D, dict(padding=(2, 0)), (4, 3), lambda x: np.pad(x, _cl([(2, 0)]))),
    (layers.ZeroPadding1D, dict(padding=(0, 3), data_format="channels_first"), (3, 4),
     lambda x: np.pad(x, _cf([(0, 3)]))),
    (layers.ZeroPadding2D, {}, (3, 4, 2), lambda x: np.pad(x, _cl([(1, 1), (1, 1)]))),
    (layers.ZeroPadding2D, dict(padding=(2, 1)), (3, 4, 2),
     lambda x: np.pad(x, _cl([(2, 2), (1, 1)]))),
    (layers.ZeroPadding2D, dict(padding=((1, 0), (0, 2)), data_format="channels_first"),
     (2, 3, 4), lambda x: np.pad(x, _cf([(1, 0), (0, 2)]))),
    (layers.UpSampling1D, {}, (4, 3), lambda x: np.repeat(x, 2, axis=1)),
    (layers.UpSampling1D, dict(size=3), (2, 3), lambda x: np.repeat(x, 3, axis=1)),
    (layers.UpSampling2D, {}, (3, 4, 2),
     lambda x: np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)),
    (layers.UpSampling2D, dict(size=(1, 3), data_format="channels_first"), (2, 3, 4),
     lambda x: np.repeat(x, 3, axis=3)),
    (layers.Cropping1D, {}, (5, 3), lambda x: x[:, 1:-1]),
    (layers.Cropping1D, dict(cropping=(2, 0)), (5, 3), lambda x: x[:, 2:]),
    (layers.Cropping2D, {}, (3, 4, 2), lambda x: x),
    (layers.Cropping2D, dict(cropping=((1, 0), (1, 2))), (4, 5, 2), lambda x: x[:, 1:, 1:-2]),
    (layers.Cropping2D, dict(cropping=(1, 2), data_format="channels_first"), (2, 5, 6),
     lambda x: x[:, :, 1:-1, 2:-2]),
]
IDS = [f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in CASES]


@pytest.mark.parametrize("cls,kwargs,shape,reference", CASES, ids=IDS)
def test_values_and_shapes(cls, kwargs, shape, reference):
    x = RNG.standard_normal((2, *shape)).astype("float32")
    y = cls(**kwargs)(x)
    np.testing.assert_array_equal(y.numpy(), reference(x))
    assert y.dtype == np.float32
    layer = cls(**kwargs)
    assert layer.compute_output_shape((2, *shape)) == y.shape
    assert layer(layers.Input(shape)).shape == (None, *y.shape[1:])
    unknown = tuple(None if i in layer._axes else d for i, d in enumerate((None, *shape)))
    assert cls(**kwargs).compute_output_shape(unknown) == unknown


@pytest.mark.parametrize("cls,kwargs,shape,reference", CASES, ids=IDS)
def test_gradients(cls, kwargs, shape, reference):
    testing.check_gradients(cls(dtype="float64", **kwargs), RNG.standard_normal((2, *shape)))


@pytest.mark.parametrize("cls,kwargs,shape,reference", CASES, ids=IDS)
def test_config_round_trip(cls, kwargs, shape, reference):
    layer = cls(**kwargs)
    cfg = layer.get_config()
    clone = layers.deserialize({"class_name": cls.__name__, "config": cfg})
    assert type(clone) is cls and clone.get_config() == cfg


def test_configs_hold_keras_3_values():
    assert layers.ZeroPadding1D(2).get_config()["padding"] == (2, 2)
    assert layers.ZeroPadding2D((1, 2)).get_config()["padding"] == ((1, 1), (2, 2))
    assert layers.ZeroPadding2D(3).padding == ((3, 3), (3, 3))
    assert layers.Cropping1D(1).get_config()["cropping"] == (1, 1)
    assert layers.Cropping2D(2).get_config()["cropping"] == ((2, 2), (2, 2))
    up = layers.UpSampling2D(3).get_config()
    assert (up["size"], up["interpolation"], up["data_format"]) == ((3, 3), "nearest",
                                                                    "channels_last")
    assert layers.UpSampling1D(4).get_config()["size"] == 4
    backend.clear_session()
    assert layers.ZeroPadding2D().name == "zero_padding2d"
    assert layers.UpSampling1D().name == "up_sampling1d"
    assert layers.Cropping2D().name == "cropping2d"
    assert gkeras.layers.reshaping.Cropping2D is layers.Cropping2D


def test_keras_1_spellings():
    assert layers.UpSampling1D(length=3).size == 3
    assert layers.UpSampling2D(dim_ordering="th").data_format == "channels_first"
    assert layers.ZeroPadding2D(dim_ordering="tf").data_format == "channels_last"
    assert layers.Cropping2D(dim_ordering="th").data_format == "channels_first"
    # Keras 1's (top, bottom, left, right)
    assert layers.ZeroPadding2D((1, 2, 3, 4)).padding == ((1, 2), (3, 4))
    config.set_image_data_format("channels_first")
    assert layers.ZeroPadding2D().data_format == "channels_first"


def test_masks_are_refused():
    # as the guide's Keras 2: a layer that cannot use a mask refuses it (Keras 3 only warns)
    x = Tensor(np.ones((2, 4, 3), "float32"))
    x._keras_mask = Tensor(np.array([[True, True, False, False]] * 2))
    for layer in (layers.ZeroPadding1D(), layers.UpSampling1D(), layers.Cropping1D()):
        with pytest.raises(TypeError, match=f"'{layer.name}'.*does not support masking"):
            layer(x)


@pytest.mark.parametrize("make,message", [
    (lambda: layers.ZeroPadding1D(-1), r"ZeroPadding1D 'zero_padding1d': `padding` .* "
                                       r"padding=-1"),
    (lambda: layers.ZeroPadding1D((1, 2, 3)), r"padding=\(1, 2, 3\)"),
    (lambda: layers.ZeroPadding2D(((1, 2), (3,))), r"ZeroPadding2D .*\(\(1, 2\), \(3,\)\)"),
    (lambda: layers.ZeroPadding2D("same"), r"padding='same'"),
    (lambda: layers.Cropping2D(((0, -1), (0, 0))), r"Cropping2D .*cropping="),
    (lambda: layers.UpSampling1D(0), r"UpSampling1D .*size=0"),
    (lambda: layers.UpSampling2D((2, 2.5)), r"UpSampling2D .*size=\(2, 2.5\)"),
    (lambda: layers.UpSampling2D(interpolation="bilinear"),
     r"only interpolation='nearest' is supported, received interpolation='bilinear'"),
    (lambda: layers.ZeroPadding2D(data_format="NCHW"), r"invalid data_format 'NCHW'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_wrong_rank_and_over_cropping_name_the_layer():
    layer = layers.ZeroPadding2D(name="pad")
    with pytest.raises(ValueError, match='layer "pad".*expected ndim=4, found ndim=3'):
        layer(np.zeros((1, 3, 3), "float32"))
    crop = layers.Cropping2D(((2, 1), (0, 0)), name="crop")
    message = r"Cropping2D 'crop': cropping \(\(2, 1\), \(0, 0\)\) must leave .* \(None, 3, 4, 1\)"
    with pytest.raises(ValueError, match=message):
        crop(layers.Input((3, 4, 1)))
    with pytest.raises(ValueError, match=r"Cropping1D 'c1'.*\(2, 2, 1\)"):
        layers.Cropping1D(1, name="c1")(np.zeros((2, 2, 1), "float32"))


def test_model_with_every_reshaping_layer_trains_and_saves(tmp_path):
    gkeras.utils.set_random_seed(1)
    model = gkeras.Sequential([
        layers.Reshape((4, 3), input_shape=(12,)),
        layers.ZeroPadding1D((1, 2)),
        layers.UpSampling1D(2),
        layers.Cropping1D((1, 3)),
        layers.Reshape((5, 2, 3)),
        layers.ZeroPadding2D(((0, 1), (1, 0))),
        layers.UpSampling2D((1, 2)),
        layers.Cropping2D(((1, 0), (0, 1))),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(1)], name="reshaper")
    assert model.output_shape == (None, 1)
    assert [layer.output_shape for layer in model.layers[1:8]] == [
        (None, 7, 3), (None, 14, 3), (None, 10, 3), (None, 5, 2, 3), (None, 6, 3, 3),
        (None, 6, 6, 3), (None, 5, 5, 3)]
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith(" zero_padding1d (ZeroPadding (None, 7, 3)") for line in lines)
    model.compile(optimizer="adam", loss="mse")
    x = RNG.standard_normal((32, 12)).astype("float32")
    y = x[:, :1] * 2
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "r.h5")
    loaded = gkeras.models.load_model(tmp_path / "r.h5")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_keras2_module_path_gkeras_layers_convolutional():
    from gkeras.layers import convolutional, reshaping
    for name in ("ZeroPadding1D", "ZeroPadding2D", "UpSampling1D", "UpSampling2D",
                 "Cropping1D", "Cropping2D"):
        assert getattr(convolutional, name) is getattr(reshaping, name)
    padded = convolutional.ZeroPadding2D(1)(np.ones((1, 2, 2, 1), "float32")).numpy()
    np.testing.assert_array_equal(padded[0, :, :, 0], np.pad(np.ones((2, 2)), 1))
