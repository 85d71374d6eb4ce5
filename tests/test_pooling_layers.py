"""Pooling layers: values, shapes with unknown sizes, configs, Keras 2 guide spellings, masks,
summaries, saving, errors and gradients."""
import numpy as np
import pytest

import gkeras
from gkeras import Tensor, backend, config, layers, ops, testing

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


def distinct(*shape):
    """No ties (gaps of 0.05): max pooling is differentiable there."""
    size = int(np.prod(shape))
    return (RNG.permutation(size).reshape(shape) - size / 2) * 0.05


# (layer class, its arguments, input shape without batch, the op call it must equal)
WINDOWED = [
    (layers.MaxPooling1D, {}, (7, 3), lambda x: ops.max_pool(x, 2)),
    (layers.MaxPooling1D, dict(pool_size=3, strides=2, padding="same"), (7, 3),
     lambda x: ops.max_pool(x, 3, 2, "same")),
    (layers.AveragePooling1D, dict(pool_size=2, strides=1, data_format="channels_first"),
     (3, 6), lambda x: ops.average_pool(x, 2, 1, data_format="channels_first")),
    (layers.MaxPooling2D, {}, (5, 6, 2), lambda x: ops.max_pool(x, 2)),
    (layers.MaxPooling2D, dict(pool_size=(3, 2), strides=(1, 2), padding="same",
                               data_format="channels_first"), (2, 5, 6),
     lambda x: ops.max_pool(x, (3, 2), (1, 2), "same", "channels_first")),
    (layers.AveragePooling2D, {}, (4, 6, 2), lambda x: ops.average_pool(x, 2)),
    (layers.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (5, 5, 2),
     lambda x: ops.average_pool(x, 3, 2, "same")),
]
IDS = [f"{cls.__name__}-{kwargs}" for cls, kwargs, _, _ in WINDOWED]


@pytest.mark.parametrize("cls,kwargs,shape,op", WINDOWED, ids=IDS)
def test_windowed_pooling_is_the_op_and_shapes_agree(cls, kwargs, shape, op):
    layer = cls(**kwargs)
    x = distinct(2, *shape).astype("float32")
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), op(x).numpy())
    assert layer.compute_output_shape((2,) + shape) == y.shape
    symbolic = cls(**kwargs)(layers.Input(shape))
    assert symbolic.shape == (None,) + y.shape[1:]


@pytest.mark.parametrize("cls,kwargs,shape,op", WINDOWED, ids=IDS)
def test_windowed_pooling_gradients(cls, kwargs, shape, op):
    testing.check_gradients(cls(dtype="float64", **kwargs), distinct(2, *shape))


def test_hand_computed_values():
    x = np.array([[[1.0], [4.0], [2.0], [3.0], [9.0]]])  # (1, 5, 1)
    np.testing.assert_array_equal(layers.MaxPooling1D()(x).numpy()[0, :, 0], [4.0, 3.0])
    np.testing.assert_array_equal(
        layers.MaxPooling1D(padding="same")(x).numpy()[0, :, 0], [4.0, 3.0, 9.0])
    np.testing.assert_allclose(
        layers.AveragePooling1D(padding="same")(x).numpy()[0, :, 0], [2.5, 2.5, 9.0])
    image = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.MaxPooling2D()(image).numpy()[0, :, :, 0],
                                  [[5, 7], [13, 15]])
    np.testing.assert_array_equal(layers.AveragePooling2D()(image).numpy()[0, :, :, 0],
                                  [[2.5, 4.5], [10.5, 12.5]])


def test_unknown_sizes_stay_unknown():
    assert layers.MaxPooling1D(3, 2).compute_output_shape((None, None, 4)) == (None, None, 4)
    assert layers.MaxPooling2D(2, padding="same").compute_output_shape(
        (None, 7, None, 3)) == (None, 4, None, 3)
    out = layers.AveragePooling2D(data_format="channels_first")(layers.Input((3, None, 9)))
    assert out.shape == (None, 3, None, 4)


def test_default_data_format_is_read_when_the_layer_is_made():
    config.set_image_data_format("channels_first")
    assert layers.MaxPooling2D().data_format == "channels_first"
    assert layers.GlobalAveragePooling2D().data_format == "channels_first"
    config.set_image_data_format("channels_last")
    assert layers.MaxPooling2D().data_format == "channels_last"


# --- global pooling ------------------------------------------------------------------------
GLOBAL = [(layers.GlobalMaxPooling1D, (5, 3), np.max), (layers.GlobalAveragePooling1D, (5, 3),
                                                       np.mean),
          (layers.GlobalMaxPooling2D, (4, 5, 3), np.max),
          (layers.GlobalAveragePooling2D, (4, 5, 3), np.mean)]


@pytest.mark.parametrize("cls,shape,reduce", GLOBAL)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(cls, shape, reduce, data_format, keepdims):
    if data_format == "channels_first":
        shape = shape[-1:] + shape[:-1]
    layer = cls(data_format=data_format, keepdims=keepdims, dtype="float64")
    x = distinct(2, *shape)
    axes = tuple(range(1, len(shape))) if data_format == "channels_last" else \
        tuple(range(2, len(shape) + 1))
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), reduce(x, axis=axes, keepdims=keepdims), rtol=1e-12)
    assert layer.compute_output_shape((None,) + shape) == (None,) + y.shape[1:]
    assert y.shape == ((2, 3) if not keepdims else tuple(
        1 if i in axes else d for i, d in enumerate(x.shape)))
    testing.check_gradients(layer, x)


def test_global_average_pooling_1d_leaves_masked_steps_out():
    x = np.arange(24.0).reshape(2, 4, 3)
    mask = np.array([[True, True, False, False], [True, True, True, True]])
    y = layers.GlobalAveragePooling1D()(x, mask=mask).numpy()
    np.testing.assert_allclose(y, [x[0, :2].mean(axis=0), x[1].mean(axis=0)])
    first = layers.GlobalAveragePooling1D(data_format="channels_first")
    np.testing.assert_allclose(first(x.transpose(0, 2, 1), mask=mask).numpy(), y)
    # a mask carried by the input tensor is honoured, and no mask comes out
    carried = Tensor(x.astype("float32"))
    carried._keras_mask = Tensor(mask)
    out = layers.GlobalAveragePooling1D()(carried)
    np.testing.assert_allclose(out.numpy(), y)
    assert out._keras_mask is None
    layer = layers.GlobalAveragePooling1D(dtype="float64")
    tx = Tensor(x)
    with gkeras.GradientTape() as tape:
        tape.watch(tx)
        total = ops.sum(layer(tx, mask=mask))
    np.testing.assert_allclose(tape.gradient(total, tx).numpy()[0, :, 0], [0.5, 0.5, 0, 0])


@pytest.mark.parametrize("make", [layers.MaxPooling1D, layers.AveragePooling1D,
                                  layers.GlobalMaxPooling1D])
def test_1d_pooling_drops_a_mask(make):
    # as Keras: pooling neither uses nor passes on a mask, and does not refuse one
    x = Tensor(np.arange(24.0, dtype="float32").reshape(2, 4, 3))
    x._keras_mask = Tensor(np.array([[True, True, False, False]] * 2))
    y = make()(x)
    assert y._keras_mask is None
    np.testing.assert_array_equal(y.numpy(), make()(Tensor(x.value)).numpy())


# --- configs, aliases, legacy spellings ------------------------------------------------------
def test_config_round_trip_and_keras_3_keys():
    layer = layers.MaxPooling2D((3, 2), strides=1, padding="same", name="pool")
    cfg = layer.get_config()
    assert {k: cfg[k] for k in ("name", "pool_size", "strides", "padding", "data_format")} == {
        "name": "pool", "pool_size": (3, 2), "strides": (1, 1), "padding": "same",
        "data_format": "channels_last"}
    clone = layers.MaxPooling2D.from_config(cfg)
    assert clone.get_config() == cfg
    one_d = layers.AveragePooling1D(4).get_config()
    assert one_d["pool_size"] == (4,) and one_d["strides"] == (4,)
    glob = layers.GlobalAveragePooling2D(keepdims=True).get_config()
    assert glob["keepdims"] is True and glob["data_format"] == "channels_last"
    json_like = {"class_name": "MaxPool2D", "config": {"pool_size": [2, 2], "strides": [2, 2],
                                                       "padding": "valid"}}
    assert type(layers.deserialize(json_like)) is layers.MaxPooling2D


def test_aliases_and_module_paths():
    assert layers.MaxPool1D is layers.MaxPooling1D and layers.MaxPool2D is layers.MaxPooling2D
    assert layers.AvgPool1D is layers.AveragePooling1D
    assert layers.AvgPool2D is layers.AveragePooling2D
    assert layers.GlobalMaxPool1D is layers.GlobalMaxPooling1D
    assert layers.GlobalMaxPool2D is layers.GlobalMaxPooling2D
    assert layers.GlobalAvgPool1D is layers.GlobalAveragePooling1D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert gkeras.layers.pooling.MaxPooling2D is layers.MaxPooling2D
    assert layers.MaxPooling2D().name == "max_pooling2d"
    assert layers.GlobalAveragePooling1D().name == "global_average_pooling1d"


def test_keras_1_and_2_guide_spellings():
    legacy = layers.MaxPooling1D(pool_length=3, stride=1, border_mode="same")
    assert (legacy.pool_size, legacy.strides, legacy.padding) == ((3,), (1,), "same")
    avg = layers.AveragePooling1D(pool_length=2, border_mode="valid")
    assert (avg.pool_size, avg.strides) == ((2,), (2,))
    th = layers.MaxPooling2D((2, 2), border_mode="same", dim_ordering="th")
    assert (th.padding, th.data_format) == ("same", "channels_first")
    assert layers.AveragePooling2D(dim_ordering="tf").data_format == "channels_last"
    assert layers.GlobalMaxPooling2D(dim_ordering="th").data_format == "channels_first"
    config.set_image_data_format("channels_first")
    assert layers.MaxPooling2D(dim_ordering="default").data_format == "channels_first"
    x = distinct(1, 3, 4, 4).astype("float32")
    np.testing.assert_array_equal(th(x).numpy(), ops.max_pool(x, 2, 2, "same",
                                                              "channels_first").numpy())
    # a saved Keras 1 config loads
    old = layers.MaxPooling1D.from_config({"name": "p", "pool_length": 2, "stride": None,
                                           "border_mode": "valid", "trainable": True})
    assert old.pool_size == (2,) and old.strides == (2,)


# --- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize("make,message", [
    (lambda: layers.MaxPooling2D(0), r"MaxPooling2D 'max_pooling2d': `pool_size` .* "
                                     r"pool_size=0"),
    (lambda: layers.MaxPooling2D((2, 2, 2)), r"tuple of 2 positive integers, received "
                                             r"pool_size=\(2, 2, 2\)"),
    (lambda: layers.AveragePooling1D(2, strides=(1, 1)), r"AveragePooling1D .*strides=\(1, 1\)"),
    (lambda: layers.MaxPooling1D(padding="causal"), r"MaxPooling1D .*padding='causal'"),
    (lambda: layers.MaxPooling2D(data_format="NHWC"), r"invalid data_format 'NHWC'"),
    (lambda: layers.MaxPooling2D(dim_ordering="xy"), r"MaxPooling2D: .*dim_ordering='xy'"),
    (lambda: layers.MaxPooling2D(dim_ordering="th", data_format="channels_last"),
     r"dim_ordering='th' means data_format='channels_first'"),
    (lambda: layers.GlobalMaxPooling2D(data_format="rows"), r"GlobalMaxPooling2D .*'rows'"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("layer,shape,expected", [
    (layers.MaxPooling1D(), (2, 8), "expected ndim=3, found ndim=2"),
    (layers.MaxPooling2D(), (2, 8, 3), "expected ndim=4, found ndim=3"),
    (layers.GlobalAveragePooling1D(), (2, 4, 4, 3), "expected ndim=3, found ndim=4"),
    (layers.GlobalMaxPooling2D(), (2, 4), "expected ndim=4, found ndim=2"),
])
def test_wrong_input_rank_names_the_layer(layer, shape, expected):
    with pytest.raises(ValueError, match=f'layer "{layer.name}".*{expected}'):
        layer(np.zeros(shape, "float32"))
    with pytest.raises(ValueError, match=f'layer "{layer.name}".*{expected}'):
        layer(layers.Input(shape[1:]))


def test_window_larger_than_the_input():
    layer = layers.MaxPooling2D(3, name="big")
    message = r"MaxPooling2D 'big': pool_size \(3, 3\) does not fit the spatial shape \(2, 5\)"
    with pytest.raises(ValueError, match=message):
        layer(layers.Input((2, 5, 1)))
    with pytest.raises(ValueError, match=message):
        layer(np.zeros((1, 2, 5, 1), "float32"))
    assert layers.MaxPooling2D(3, padding="same")(np.zeros((1, 2, 5, 1))).shape == (1, 1, 2, 1)


# --- in models: summary, training, saving ----------------------------------------------------
def small_cnn():
    return gkeras.Sequential([
        layers.Reshape((6, 6, 1), input_shape=(36,)),
        layers.MaxPooling2D(2, strides=1, padding="same"),
        layers.AveragePooling2D((2, 3)),
        layers.Reshape((3, 2)),
        layers.MaxPooling1D(2, padding="same"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax")], name="cnn")


def test_summary_lines():
    lines = []
    small_cnn().summary(print_fn=lines.append)
    text = "\n".join(lines)
    for row in ["max_pooling2d (MaxPooling2D (None, 6, 6, 1)",
                "average_pooling2d (AverageP (None, 3, 2, 1)",
                "max_pooling1d (MaxPooling1D (None, 2, 2)",
                "global_average_pooling1d (G (None, 2)"]:
        assert row in text, text


def test_trains_and_saves(tmp_path):
    gkeras.utils.set_random_seed(3)
    model = small_cnn()
    model.compile(optimizer=gkeras.optimizers.Adam(0.05), loss="categorical_crossentropy")
    x = RNG.standard_normal((64, 36)).astype("float32")
    y = np.eye(2, dtype="float32")[(x[:, :18].mean(axis=1) > 0).astype(int)]
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "cnn.h5")
    loaded = gkeras.models.load_model(tmp_path / "cnn.h5")
    assert loaded.get_config() == model.get_config()
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_functional_model_with_global_pooling_saves(tmp_path):
    inputs = layers.Input((5, 4, 3))
    a = layers.GlobalMaxPool2D(name="gmax")(inputs)
    b = layers.GlobalAvgPool2D(keepdims=True, name="gavg")(inputs)
    outputs = layers.Concatenate()([a, layers.Reshape((3,))(b)])
    model = gkeras.Model(inputs, outputs)
    model.save(tmp_path / "f.h5")
    loaded = gkeras.models.load_model(tmp_path / "f.h5")
    x = distinct(2, 5, 4, 3).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.get_layer("gavg").keepdims is True
