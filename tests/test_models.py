"""Sequential and functional Model: building, values, shared and nested layers, summary, configs.

Models are called eagerly (``model(x)``); fit/predict/save are tested elsewhere."""
import json

import numpy as np
import pytest

from gkeras import backend, layers, models, ops
from gkeras.layers import Activation, Dense, Dropout, Flatten, Input, InputLayer, Layer, Reshape
from gkeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield
    backend.clear_session()


class Concat(Layer):
    """A two-input layer for graph tests (merge layers are tested elsewhere)."""

    def call(self, inputs):
        return ops.concatenate(inputs, axis=-1)


def set_known_weights(model, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    return weights


def summary_lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


# --- Sequential --------------------------------------------------------------------------------
def test_sequential_from_list_computes_the_stack():
    model = Sequential([Dense(4, input_shape=(3,), activation="relu"), Dense(2)])
    assert model.built and model.output_shape == (None, 2) and model.input_shape == (None, 3)
    (k1, b1, k2, b2) = set_known_weights(model)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype("float32")
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
    assert len(model.inputs) == 1 and model.inputs[0].shape == (None, 3)
    assert len(model.outputs) == 1 and model.outputs[0].shape == (None, 2)


@pytest.mark.parametrize("kwargs,input_shape", [
    ({"input_shape": (3,)}, (None, 3)),
    ({"input_dim": 3}, (None, 3)),
    ({"batch_input_shape": (8, 3)}, (8, 3)),
    ({"input_shape": (3,), "batch_size": 4}, (4, 3)),
])
def test_sequential_first_layer_input_arguments(kwargs, input_shape):
    model = Sequential()
    model.add(Dense(2, **kwargs))
    assert model.built
    assert model.input_shape == input_shape
    assert model.output_shape == input_shape[:1] + (2,)


def test_sequential_with_input_or_input_layer_first():
    for first in (Input((3,)), InputLayer(input_shape=(3,))):
        model = Sequential([first, Dense(2)])
        assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
        assert [type(layer).__name__ for layer in model.layers] == ["Dense"]


def test_sequential_deferred_build():
    model = Sequential([Dense(4), Dense(2)])
    assert not model.built
    assert model.weights == []
    with pytest.raises(AttributeError, match="Sequential model 'sequential' has no defined "
                                             "inputs yet"):
        model.inputs
    with pytest.raises(ValueError, match="Model 'sequential' has not yet been built"):
        model.summary(print_fn=lambda line: None)
    y = model(np.ones((5, 3), "float32"))
    assert model.built and y.shape == (5, 2)
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert [w.shape for w in model.weights] == [(3, 4), (4,), (4, 2), (2,)]
    built = Sequential([Dense(4)])
    built.build((None, 7))
    assert built.output_shape == (None, 4)


def test_sequential_add_pop_and_errors():
    model = Sequential()
    model.add(Reshape((3, 4), input_shape=(12,)))
    assert model.output_shape == (None, 3, 4)
    model.add(Flatten())
    model.add(Dense(5))
    assert model.output_shape == (None, 5)
    popped = model.pop()
    assert popped.name == "dense" and model.output_shape == (None, 12)
    assert [layer.name for layer in model.layers] == ["reshape", "flatten"]
    model.pop()
    model.pop()
    with pytest.raises(TypeError, match="Sequential 'sequential': there are no layers to pop"):
        model.pop()
    with pytest.raises(TypeError, match="Sequential.add expects a Layer instance, received str"):
        model.add("dense")
    dense = Dense(2, name="same")
    model.add(dense)
    with pytest.raises(ValueError, match="all layers must have unique names; 'same' is already"):
        model.add(Dense(2, name="same"))
    with pytest.raises(ValueError, match="an InputLayer can only be the first layer"):
        model.add(InputLayer(input_shape=(2,)))


def test_sequential_training_flag_reaches_dropout():
    model = Sequential([Dense(3, input_shape=(3,), kernel_initializer="identity"),
                        Dropout(0.5, seed=2)])
    x = np.ones((200, 3), "float32")
    np.testing.assert_array_equal(np.asarray(model(x)), x)
    y = np.asarray(model(x, training=True))
    assert set(np.unique(y)) == {0.0, 2.0}
    assert (y == 0).mean() == pytest.approx(0.5, abs=0.08)


def test_sequential_trainable_false_freezes_every_layer():
    model = Sequential([Dense(3, input_shape=(2,)), Dense(1)])
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 4
    assert not any(layer.trainable for layer in model.layers)
    lines = summary_lines(model)
    assert lines[-3:-1] == ["Trainable params: 0", "Non-trainable params: 13"]
    model.trainable = True
    assert len(model.trainable_weights) == 4


# --- functional Model --------------------------------------------------------------------------
def test_functional_single_io_and_properties():
    a = Input(shape=(32,))
    b = Dense(32)(a)
    model = Model(inputs=a, outputs=b)
    assert model.inputs == [a] and model.outputs == [b]
    assert model.input is a and model.output is b
    assert model.input_shape == (None, 32) and model.output_shape == (None, 32)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    kernel, bias = set_known_weights(model)
    x = np.random.default_rng(0).standard_normal((3, 32)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x)), x @ kernel + bias, rtol=1e-5, atol=1e-5)


def test_functional_multi_io_with_a_repeated_output():
    a1, a2 = Input((4,), name="a1"), Input((3,), name="a2")
    b1 = Dense(2, name="b1")(a1)
    merged = Concat(name="cat")([a1, a2])
    b3 = Dense(5, name="b3")(merged)
    model = Model(inputs=[a1, a2], outputs=[b1, b3, b3])
    assert model.inputs == [a1, a2] and model.outputs == [b1, b3, b3]
    assert model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 2), (None, 5), (None, 5)]
    assert {layer.name for layer in model.layers} == {"a1", "a2", "b1", "cat", "b3"}
    k1, c1, k3, c3 = set_known_weights(model)
    x1 = np.arange(8, dtype="float32").reshape(2, 4) / 8
    x2 = np.ones((2, 3), "float32")
    out1, out3, out3_again = (np.asarray(t) for t in model([x1, x2]))
    np.testing.assert_allclose(out1, x1 @ k1 + c1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out3, np.concatenate([x1, x2], -1) @ k3 + c3, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_array_equal(out3, out3_again)
    # inputs by name, and clear errors for the wrong count or shapes
    by_name = model({"a1": x1, "a2": x2})
    np.testing.assert_array_equal(np.asarray(by_name[0]), out1)
    with pytest.raises(ValueError, match=r"Model 'model' expects 2 input\(s\) \(a1, a2\), but "
                                         r"received 1"):
        model(x1)
    with pytest.raises(ValueError, match=r'Input 1 of model "model" is incompatible with the '
                                         r"model: expected shape \(None, 3\), but received input "
                                         r"with shape \(2, 4\)"):
        model([x1, x1])
    with pytest.raises(ValueError, match=r"missing data for input\(s\) \['a2'\]"):
        model({"a1": x1})


def test_functional_construction_errors():
    a = Input((4,))
    b = Dense(2)(a)
    with pytest.raises(ValueError, match="graph disconnected: the outputs need input 'input_2'"):
        Model(inputs=a, outputs=[b, Dense(3)(Input((2,)))])
    with pytest.raises(ValueError, match="inputs must be tensors returned by Input\\(\\), but "
                                         "dense/0 is the output of layer 'dense'"):
        Model(inputs=b, outputs=b)
    with pytest.raises(ValueError, match="give both `inputs` and `outputs`"):
        Model(inputs=a)
    with pytest.raises(TypeError, match="all outputs must be symbolic tensors .* received "
                                        "ndarray"):
        Model(inputs=a, outputs=np.ones(3))


def test_shared_dense_gives_w_x_for_each_input():
    a, b = Input((3,)), Input((3,))
    shared = Dense(2, use_bias=False, name="shared")
    model = Model([a, b], [shared(a), shared(b)])
    assert len(model.weights) == 1 and model.count_params() == 6
    w = np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 3.0]], dtype="float32")
    model.set_weights([w])
    xa = np.array([[1.0, 2.0, 3.0]], dtype="float32")
    xb = np.array([[-1.0, 0.0, 4.0]], dtype="float32")
    ya, yb = model([xa, xb])
    np.testing.assert_allclose(np.asarray(ya), xa @ w)
    np.testing.assert_allclose(np.asarray(yb), xb @ w)
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b


def test_model_used_as_a_layer():
    inner_in = Input((4,))
    inner = Model(inner_in, Dense(3, activation="relu", name="inner_dense")(inner_in),
                  name="inner")
    outer_in = Input((4,))
    hidden = inner(outer_in)
    outer = Model(outer_in, Dense(1, name="head")(hidden), name="outer")
    assert hidden.shape == (None, 3)
    assert [layer.name for layer in outer.layers][1:] == ["inner", "head"]
    k1, b1, k2, b2 = set_known_weights(outer)
    x = np.random.default_rng(3).standard_normal((4, 4)).astype("float32")
    expected = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(np.asarray(outer(x)), expected, rtol=1e-5, atol=1e-6)
    # the inner model keeps working on its own, with the shared weights
    np.testing.assert_allclose(np.asarray(inner(x)), np.maximum(x @ k1 + b1, 0), rtol=1e-5,
                               atol=1e-6)
    inner.trainable = False
    assert len(outer.trainable_weights) == 2 and len(outer.weights) == 4
    # a Sequential inside a functional model
    seq = Sequential([Dense(2, input_shape=(4,))])
    model_in = Input((4,))
    model = Model(model_in, seq(model_in))
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(seq(x)))


# --- get_layer, weights ------------------------------------------------------------------------
def test_get_layer_and_weights():
    model = Sequential([Dense(3, input_shape=(2,), name="first"), Dense(1, name="second")])
    assert model.get_layer("second") is model.layers[1]
    assert model.get_layer(name="first") is model.layers[0]
    assert model.get_layer(index=1).name == "second"
    assert model.get_layer(index=-1).name == "second"
    with pytest.raises(ValueError, match=r"No such layer: third. Existing layers are: "
                                         r"\['first', 'second'\]"):
        model.get_layer("third")
    with pytest.raises(ValueError, match="get_layer: index 2 is out of range: model "
                                         "'sequential' has 2 layers"):
        model.get_layer(index=2)
    with pytest.raises(ValueError, match="get_layer: give `name` or `index`, not both"):
        model.get_layer(name="first", index=0)
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(2, 3), (3,), (3, 1), (1,)]
    new = [np.full(w.shape, i, "float32") for i, w in enumerate(weights)]
    model.set_weights(new)
    for got, want in zip(model.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match=r"expects 4 weight\(s\) \(\(2, 3\), \(3,\), \(3, 1\), "
                                         r"\(1,\)\), but received 3"):
        model.set_weights(new[:3])
    with pytest.raises(ValueError, match=r"weight 'kernel' has shape \(3, 1\), but the provided "
                                         r"weight has shape \(1, 3\)"):
        model.set_weights(new[:2] + [new[2].T, new[3]])


# --- summary -----------------------------------------------------------------------------------
def test_sequential_summary_table():
    model = Sequential([Dense(4, input_shape=(3,)), Activation("relu"), Dense(2)])
    lines = summary_lines(model)
    assert lines[0] == 'Model: "sequential"'
    assert lines[1] == "_" * 65
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    assert lines[3] == "=" * 65
    rows = [line.split() for line in lines if line.startswith(" ") and line.strip()]
    assert rows[1:] == [["dense", "(Dense)", "(None,", "4)", "16"],
                        ["activation", "(Activation)", "(None,", "4)", "0"],
                        ["dense_1", "(Dense)", "(None,", "2)", "10"]]
    # columns: shape at 45%, params at 85% of the line
    dense_row = next(line for line in lines if line.startswith(" dense "))
    assert dense_row.index("(None, 4)") == 29 and dense_row.index("16") == 55
    assert lines[-4:] == ["Total params: 26", "Trainable params: 26", "Non-trainable params: 0",
                          "_" * 65]
    wide = summary_lines(model, line_length=80)
    assert wide[1] == "_" * 80 and all(len(line) <= 80 for line in wide)


def test_functional_summary_has_connected_to():
    a1, a2 = Input((4,), name="left"), Input((3,), name="right")
    merged = Concat(name="cat")([a1, a2])
    out = Dense(2, name="head")(merged)
    lines = summary_lines(Model([a1, a2], out, name="two_inputs"))
    assert lines[0] == 'Model: "two_inputs"'
    assert lines[1] == "_" * 98
    assert lines[2].split()[-2:] == ["Connected", "to"]
    cat_row = next(i for i, line in enumerate(lines) if line.startswith(" cat (Concat)"))
    assert lines[cat_row].split() == ["cat", "(Concat)", "(None,", "7)", "0", "left[0][0]"]
    assert lines[cat_row + 1].split() == ["right[0][0]"]
    head = next(line for line in lines if line.startswith(" head (Dense)"))
    assert head.split() == ["head", "(Dense)", "(None,", "2)", "16", "cat[0][0]"]
    assert " left (InputLayer)" in lines[4] and "[(None, 4)]" in lines[4]
    assert lines[-4] == "Total params: 16"


def test_parallel_branches_summary_has_connected_to():
    # two nodes at the same depth make the graph non-sequential, as in Keras
    a, b = Input((4,), name="a"), Input((3,), name="b")
    lines = summary_lines(Model([a, b], [Dense(2, name="da")(a), Dense(1, name="db")(b)]))
    assert lines[1] == "_" * 98
    assert next(line for line in lines if line.startswith(" db (Dense)")).split()[-1] == \
        "b[0][0]"


def test_linear_functional_summary_is_sequential_like():
    x = Input((3,))
    model = Model(x, Dense(2)(Dense(4)(x)))
    lines = summary_lines(model)
    assert lines[1] == "_" * 65 and "Connected" not in lines[2]
    assert lines[-4] == "Total params: 26"


# --- configs and JSON --------------------------------------------------------------------------
def test_sequential_config_round_trips():
    model = Sequential([Dense(4, input_shape=(3,), activation="tanh"), Dropout(0.2),
                        Dense(2, activation="softmax")])
    config = model.get_config()
    json.dumps(config)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype("float32")
    expected = np.asarray(model(x))
    for rebuilt in (Sequential.from_config(config), Model.from_config(config)):
        assert type(rebuilt) is Sequential
        assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
        rebuilt.set_weights(model.get_weights())
        np.testing.assert_allclose(np.asarray(rebuilt(x)), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="Sequential.from_config: this is the config of a "
                                         "functional Model"):
        Sequential.from_config(_functional_config())


def _functional_config():
    a = Input((2,))
    return Model(a, Dense(1)(a)).get_config()


def test_functional_config_and_json_round_trips():
    a1, a2 = Input((4,), name="a1"), Input((3,), name="a2")
    shared = Dense(3, name="shared")
    b1 = shared(a1)
    b3 = Dense(2, activation="relu", name="b3")(Concat(name="cat")([b1, a2]))
    model = Model(inputs=[a1, a2], outputs=[b1, b3, b3], name="multi")
    config = model.get_config()
    json.dumps(config)
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((2, 4)).astype("float32"),
          rng.standard_normal((2, 3)).astype("float32")]
    expected = [np.asarray(t) for t in model(xs)]
    custom = {"Concat": Concat}
    rebuilt = Model.from_config(config, custom_objects=custom)
    from_json = models.model_from_json(model.to_json(), custom_objects=custom)
    for other in (rebuilt, from_json):
        assert other.name == "multi"
        assert [layer.name for layer in other.layers] == [layer.name for layer in model.layers]
        assert other.output_shape == [(None, 3), (None, 2), (None, 2)]
        other.set_weights(model.get_weights())
        for got, want in zip(other(xs), expected):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    assert json.loads(model.to_json())["class_name"] == "Model"


def test_nested_model_config_round_trip():
    inner_in = Input((4,))
    inner = Model(inner_in, Dense(3)(inner_in), name="inner")
    outer_in = Input((4,))
    outer = Model(outer_in, Dense(1)(inner(outer_in)))
    x = np.ones((2, 4), "float32")
    expected = np.asarray(outer(x))
    rebuilt = models.model_from_json(outer.to_json())
    assert type(rebuilt.get_layer("inner")) is Model
    rebuilt.set_weights(outer.get_weights())
    np.testing.assert_allclose(np.asarray(rebuilt(x)), expected, rtol=1e-6)
    via_layers = layers.deserialize({"class_name": "Model", "config": outer.get_config()})
    assert [layer.name for layer in via_layers.layers] == [layer.name for layer in outer.layers]


def test_subclassed_model_tracks_layers():
    class TwoLayers(Model):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(4, activation="relu")
            self.head = Dense(1)

        def call(self, inputs):
            return self.head(self.hidden(inputs))

    model = TwoLayers()
    assert model.name == "two_layers"
    x = np.ones((2, 3), "float32")
    y = model(x)
    k1, b1, k2, b2 = (w.numpy() for w in model.weights)
    np.testing.assert_allclose(np.asarray(y), np.maximum(x @ k1 + b1, 0) @ k2 + b2, rtol=1e-5)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1"]
