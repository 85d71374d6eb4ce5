"""Multi-input / multi-output models trained end to end: output names, per-output losses,
loss weights and metrics, dict data, shared layers, nested and subclassed models."""
import importlib.util
import os

import numpy as np
import pytest

import gkeras
from gkeras import GradientTape, layers, ops
from gkeras.layers import Dense, Input
from gkeras.models import Model

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "examples",
                       "two_inputs_two_outputs.py")


def _rng(seed=0):
    return np.random.default_rng(seed)


def _two_heads(cls_units=3, kernel_regularizer=None):
    """Inputs a1 (3), a2 (2) -> concatenate -> heads 'reg' (linear, 1) and 'cls' (softmax)."""
    a1, a2 = Input((3,), name="a1"), Input((2,), name="a2")
    merged = layers.concatenate([a1, a2])
    reg = Dense(1, name="reg", kernel_regularizer=kernel_regularizer)(merged)
    cls = Dense(cls_units, activation="softmax", name="cls")(merged)
    return Model([a1, a2], [reg, cls])


def _two_head_data(n=20, seed=0, classes=3):
    rng = _rng(seed)
    x1 = rng.standard_normal((n, 3)).astype("float32")
    x2 = rng.standard_normal((n, 2)).astype("float32")
    y_reg = rng.standard_normal((n, 1)).astype("float32")
    y_cls = rng.integers(0, classes, n)
    return x1, x2, y_reg, y_cls


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np_heads(model, x1, x2):
    """The two heads of ``_two_heads`` computed with NumPy from the model's weights."""
    merged = np.concatenate([x1, x2], -1).astype("float64")
    k_reg, b_reg = model.get_layer("reg").get_weights()
    k_cls, b_cls = model.get_layer("cls").get_weights()
    return merged @ k_reg + b_reg, _softmax(merged @ k_cls + b_cls)


# --- the guide's model: one tensor twice among the outputs ------------------------------------
def test_guide_model_with_a_repeated_output_trains_and_reports_keras_names():
    a1, a2 = Input((3,)), Input((2,))
    merged = layers.concatenate([a1, a2])
    b1 = Dense(1)(merged)
    b2 = Dense(4, activation="relu")(merged)
    b3 = Dense(1, activation="sigmoid")(b2)
    model = Model(inputs=[a1, a2], outputs=[b1, b3, b3])
    n1, n3 = b1._keras_history[0].name, b3._keras_history[0].name
    assert model.output_names == [n1, n3, f"{n3}_1"]

    model.compile("sgd", loss=["mse", "binary_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5, 2.0], metrics=["mae"])
    names = ["loss", f"{n1}_loss", f"{n3}_loss", f"{n3}_1_loss",
             f"{n1}_mae", f"{n3}_mae", f"{n3}_1_mae"]
    assert model.metrics_names == names

    rng = _rng(1)
    x1 = rng.standard_normal((24, 3)).astype("float32")
    x2 = rng.standard_normal((24, 2)).astype("float32")
    y1 = rng.standard_normal((24, 1)).astype("float32")
    y3 = (rng.random((24, 1)) > 0.5).astype("float32")
    history = model.fit([x1, x2], [y1, y3, y3], epochs=2, batch_size=8, verbose=0,
                        validation_split=0.25)
    assert list(history.history) == names + [f"val_{n}" for n in names]

    results = model.evaluate([x1, x2], [y1, y3, y3], batch_size=7, verbose=0)
    p1, p3, p3_again = model.predict([x1, x2])
    np.testing.assert_array_equal(p3, p3_again)
    p3c = np.clip(p3.astype("float64"), 1e-7, 1 - 1e-7)
    mse1 = np.mean((p1 - y1) ** 2)
    bce3 = np.mean(-(y3 * np.log(p3c) + (1 - y3) * np.log(1 - p3c)))
    mse3 = np.mean((p3 - y3) ** 2)
    expected = [mse1 + 0.5 * bce3 + 2.0 * mse3, mse1, bce3, mse3,
                np.mean(np.abs(p1 - y1)), np.mean(np.abs(p3 - y3)), np.mean(np.abs(p3 - y3))]
    np.testing.assert_allclose(results, expected, rtol=2e-5, atol=1e-6)


# --- a two-input model learns a function of both inputs ---------------------------------------
def test_two_input_model_learns_a_function_of_both_inputs():
    rng = _rng(2)
    x1 = rng.standard_normal((200, 3)).astype("float32")
    x2 = rng.standard_normal((200, 2)).astype("float32")
    w1, w2 = np.array([1.0, -2.0, 0.5]), np.array([3.0, -1.0])
    y = (x1 @ w1 + x2 @ w2 + 0.5)[:, None].astype("float32")
    a1, a2 = Input((3,), name="a1"), Input((2,), name="a2")
    model = Model([a1, a2], Dense(1, name="out")(layers.concatenate([a1, a2])))
    model.compile(gkeras.optimizers.SGD(learning_rate=0.1), "mse")
    history = model.fit({"a1": x1, "a2": x2}, y, batch_size=20, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 1e-4 * history.history["loss"][0]
    kernel, bias = model.get_layer("out").get_weights()
    np.testing.assert_allclose(kernel[:, 0], np.concatenate([w1, w2]), atol=1e-3)
    np.testing.assert_allclose(bias, [0.5], atol=1e-3)
    # x as a list in input order and as a dict by input name give the same predictions
    np.testing.assert_array_equal(model.predict([x1, x2]), model.predict({"a2": x2, "a1": x1}))


# --- losses, loss weights, metrics ------------------------------------------------------------
def test_total_loss_is_the_weighted_sum_of_output_losses_plus_regularization():
    model = _two_heads(kernel_regularizer=gkeras.regularizers.L2(0.01))
    model.compile("sgd", loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                  loss_weights={"reg": 2.0, "cls": 0.5},
                  metrics={"reg": ["mae", "mse"], "cls": "accuracy"})
    names = ["loss", "reg_loss", "cls_loss", "reg_mae", "reg_mse", "cls_accuracy"]
    assert model.metrics_names == names
    x1, x2, y_reg, y_cls = _two_head_data()
    logs = model.evaluate([x1, x2], [y_reg, y_cls], batch_size=7, verbose=0,
                          return_dict=True)
    as_list = model.evaluate([x1, x2], [y_reg, y_cls], batch_size=7, verbose=0)
    assert list(logs) == names and as_list == pytest.approx(list(logs.values()), rel=1e-6)

    reg, cls = _np_heads(model, x1, x2)
    reg_loss = np.mean((reg - y_reg) ** 2)
    cls_loss = np.mean(-np.log(cls[np.arange(20), y_cls]))
    l2 = 0.01 * np.sum(model.get_layer("reg").get_weights()[0].astype("float64") ** 2)
    expected = {"loss": 2.0 * reg_loss + 0.5 * cls_loss + l2, "reg_loss": reg_loss,
                "cls_loss": cls_loss, "reg_mae": np.mean(np.abs(reg - y_reg)),
                "reg_mse": reg_loss, "cls_accuracy": np.mean(cls.argmax(-1) == y_cls)}
    for name in names:
        assert logs[name] == pytest.approx(expected[name], rel=1e-5), name


def test_metrics_given_flat_as_lists_per_output_or_by_name():
    model = _two_heads()
    losses = ["mse", "sparse_categorical_crossentropy"]
    model.compile("sgd", loss=losses, metrics=["mae"])  # Keras 2: flat applies to each output
    assert model.metrics_names == ["loss", "reg_loss", "cls_loss", "reg_mae", "cls_mae"]
    model.compile("sgd", loss=losses, metrics=[["mae"], ["accuracy", "mse"]])
    assert model.metrics_names == ["loss", "reg_loss", "cls_loss", "reg_mae", "cls_accuracy",
                                   "cls_mse"]
    model.compile("sgd", loss=losses, metrics={"cls": ["accuracy"]})
    assert model.metrics_names == ["loss", "reg_loss", "cls_loss", "cls_accuracy"]
    with pytest.raises(ValueError, match=r"unknown output name\(s\) \['nope'\] in `loss`"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match=r"`loss` has 1 entries, but the model has 2 output"):
        model.compile("sgd", loss=["mse"])
    with pytest.raises(ValueError, match=r"`metrics` has 3 lists, but the model has 2"):
        model.compile("sgd", loss="mse", metrics=[["mae"], [], []])


def test_loss_weights_scale_each_outputs_gradient():
    """One SGD step on two linear heads: W_i -= lr * weight_i * dL_i/dW_i."""
    inputs = Input((3,))
    model = Model(inputs, [Dense(1, name="a")(inputs), Dense(1, name="b")(inputs)])
    model.compile(gkeras.optimizers.SGD(learning_rate=0.1), loss="mse",
                  loss_weights={"a": 3.0, "b": 0.5})
    rng = _rng(3)
    x = rng.standard_normal((8, 3)).astype("float32")
    ya, yb = rng.standard_normal((8, 1)).astype("float32"), rng.standard_normal((8, 1))
    before = {name: model.get_layer(name).get_weights() for name in ("a", "b")}
    losses = {}
    for name, y in (("a", ya), ("b", yb)):
        k, b = before[name]
        losses[name] = np.mean((x @ k + b - y) ** 2)
    result = model.train_on_batch(x, {"a": ya, "b": yb})
    np.testing.assert_allclose(result, [3.0 * losses["a"] + 0.5 * losses["b"], losses["a"],
                                        losses["b"]], rtol=1e-5)
    for name, y, weight in (("a", ya, 3.0), ("b", yb, 0.5)):
        k, b = before[name]
        residual = x @ k + b - y  # d(mean squared error)/d(prediction) = 2 * residual / n
        grad_k, grad_b = 2 * x.T @ residual / 8, 2 * residual.sum(0) / 8
        new_k, new_b = model.get_layer(name).get_weights()
        np.testing.assert_allclose(new_k, k - 0.1 * weight * grad_k, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(new_b, b - 0.1 * weight * grad_b, rtol=1e-5, atol=1e-6)


def test_a_loss_on_one_output_only_trains_that_output_and_ignores_the_other():
    model = _two_heads()
    model.compile(gkeras.optimizers.SGD(learning_rate=0.05), loss={"reg": "mse"})
    assert model.metrics_names == ["loss", "reg_loss"]  # tf.keras: no entry for 'cls'
    x1, x2, y_reg, _ = _two_head_data()
    cls_before = model.get_layer("cls").get_weights()
    reg_before = model.get_layer("reg").get_weights()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        history = model.fit([x1, x2], {"reg": y_reg}, epochs=3, batch_size=10, verbose=0)
    assert history.history["loss"] == history.history["reg_loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    for before, after in zip(cls_before, model.get_layer("cls").get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.allclose(reg_before[0], model.get_layer("reg").get_weights()[0])
    loss, reg_loss = model.evaluate([x1, x2], {"reg": y_reg}, verbose=0)
    reg, _ = _np_heads(model, x1, x2)
    assert loss == reg_loss == pytest.approx(np.mean((reg - y_reg) ** 2), rel=1e-5)


def test_targets_missing_for_an_output_with_a_loss_are_refused():
    model = _two_heads()
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"])
    x1, x2, y_reg, y_cls = _two_head_data()
    with pytest.raises(ValueError, match=r"no targets for output\(s\) \['cls'\], which have "
                                         "a loss"):
        model.fit([x1, x2], {"reg": y_reg}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"Unknown output name\(s\) \['typo'\] in y"):
        model.evaluate([x1, x2], {"reg": y_reg, "cls": y_cls, "typo": y_reg}, verbose=0)
    with pytest.raises(ValueError, match=r"has 2 output\(s\) \(\['reg', 'cls'\]\), but y "
                                         r"holds 1 array\(s\)"):
        model.fit([x1, x2], [y_reg], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no data for input 'a2'"):
        model.fit({"a1": x1}, [y_reg, y_cls], epochs=1, verbose=0)


def test_sample_weight_per_output_as_a_dict():
    model = _two_heads()
    model.compile(gkeras.optimizers.SGD(learning_rate=0.1),
                  loss=["mse", "sparse_categorical_crossentropy"])
    x1, x2, y_reg, y_cls = _two_head_data()
    weights = _rng(4).random(20).astype("float32")
    _, reg_loss, cls_loss = model.evaluate([x1, x2], [y_reg, y_cls], verbose=0,
                                           sample_weight={"reg": weights})
    reg, cls = _np_heads(model, x1, x2)
    # 'sum_over_batch_size': weighted sum divided by the number of samples
    assert reg_loss == pytest.approx(np.sum(weights * (reg - y_reg)[:, 0] ** 2) / 20, rel=1e-5)
    assert cls_loss == pytest.approx(np.mean(-np.log(cls[np.arange(20), y_cls])), rel=1e-5)
    # zero weights on one output: that head gets no gradient, the other one trains
    cls_before = model.get_layer("cls").get_weights()
    model.fit([x1, x2], [y_reg, y_cls], epochs=2, verbose=0,
              sample_weight={"reg": np.ones(20), "cls": np.zeros(20)})
    for before, after in zip(cls_before, model.get_layer("cls").get_weights()):
        np.testing.assert_array_equal(before, after)


def test_dict_and_list_data_train_identically_and_validate_by_name():
    x1, x2, y_reg, y_cls = _two_head_data(n=30, seed=5)
    histories, predictions = [], []
    initial = None
    for as_dict in (False, True):
        model = _two_heads()
        if initial is None:
            initial = model.get_weights()
        model.set_weights(initial)
        model.compile(gkeras.optimizers.SGD(learning_rate=0.05),
                      loss=["mse", "sparse_categorical_crossentropy"], metrics=[["mae"], []])
        if as_dict:
            x, y = {"a2": x2, "a1": x1}, {"cls": y_cls, "reg": y_reg}
            val = ({"a1": x1[:10], "a2": x2[:10]}, {"reg": y_reg[:10], "cls": y_cls[:10]})
        else:
            x, y = [x1, x2], [y_reg, y_cls]
            val = ([x1[:10], x2[:10]], [y_reg[:10], y_cls[:10]])
        history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                            validation_data=val)
        histories.append(history.history)
        predictions.append(model.predict(x))
        final_val = model.evaluate(*val, verbose=0, return_dict=True)
        for name, value in final_val.items():
            assert history.history[f"val_{name}"][-1] == pytest.approx(value, rel=1e-6)
    assert histories[0] == histories[1]
    for list_pred, dict_pred in zip(*predictions):
        np.testing.assert_array_equal(list_pred, dict_pred)


# --- shared layers (siamese) ------------------------------------------------------------------
def _siamese():
    left, right = Input((3,), name="left"), Input((3,), name="right")
    shared = Dense(4, activation="tanh", name="shared")
    encoded_left, encoded_right = shared(left), shared(right)
    head = Dense(1, name="head")
    model = Model([left, right], head(layers.subtract([encoded_left, encoded_right])))
    return model, shared, head, (left, right, encoded_left, encoded_right)


def test_siamese_shared_kernel_gets_the_summed_gradient_of_both_branches():
    gkeras.backend.set_floatx("float64")  # restored by conftest
    model, shared, head, _ = _siamese()
    rng = _rng(6)
    xa, xb = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 1))

    def loss_value():
        return ops.mean(ops.square(model([xa, xb]) - y))

    with GradientTape() as tape:
        loss = loss_value()
    grad_kernel = tape.gradient(loss, [shared.kernel])[0].numpy()

    # central finite differences on every kernel entry
    kernel = shared.kernel.numpy().copy()
    numeric = np.zeros_like(kernel)
    eps = 1e-6
    for index in np.ndindex(kernel.shape):
        for sign in (1, -1):
            shifted = kernel.copy()
            shifted[index] += sign * eps
            shared.kernel.assign(shifted)
            numeric[index] += sign * float(loss_value().numpy()) / (2 * eps)
    shared.kernel.assign(kernel)
    np.testing.assert_allclose(grad_kernel, numeric, rtol=1e-6, atol=1e-9)

    # by hand: each branch contributes x_branch^T (dL/dh_branch * tanh'), with opposite signs
    bias = shared.bias.numpy()
    v, c = head.get_weights()
    ha, hb = np.tanh(xa @ kernel + bias), np.tanh(xb @ kernel + bias)
    d_diff = (2 * ((ha - hb) @ v + c - y) / y.size) @ v.T
    from_left = xa.T @ (d_diff * (1 - ha ** 2))
    from_right = xb.T @ (-d_diff * (1 - hb ** 2))
    np.testing.assert_allclose(grad_kernel, from_left + from_right, rtol=1e-10, atol=1e-12)
    assert not np.allclose(grad_kernel, from_left) and not np.allclose(grad_kernel, from_right)

    # fit applies that summed gradient: one SGD step moves the kernel by -lr * it
    model.compile(gkeras.optimizers.SGD(learning_rate=0.1), "mse")
    model.train_on_batch([xa, xb], y)
    np.testing.assert_allclose(shared.kernel.numpy(), kernel - 0.1 * grad_kernel, rtol=1e-10,
                               atol=1e-12)


def test_siamese_nodes_weights_and_summary_name_each_use():
    model, shared, _, (left, right, encoded_left, encoded_right) = _siamese()
    assert shared.get_input_at(0) is left and shared.get_input_at(1) is right
    assert shared.get_output_at(0) is encoded_left and shared.get_output_at(1) is encoded_right
    assert shared.get_input_shape_at(1) == (None, 3)
    assert shared.get_output_shape_at(1) == (None, 4)
    with pytest.raises(AttributeError, match="multiple inbound nodes"):
        shared.output
    # the shared layer is listed, and its weights counted, once
    assert [layer.name for layer in model.layers].count("shared") == 1
    assert model.count_params() == (3 * 4 + 4) + (4 + 1)
    lines = []
    model.summary(print_fn=lines.append)
    row = next(i for i, line in enumerate(lines) if line.startswith(" shared (Dense)"))
    assert lines[row].rstrip().endswith("left[0][0]")
    assert lines[row + 1].strip() == "right[0][0]"
    subtract_row = next(line for line in lines if line.startswith(" subtract"))
    assert subtract_row.rstrip().endswith("shared[0][0]")
    assert any(line.strip() == "shared[1][0]" for line in lines)


def test_a_model_shared_across_two_inputs_trains_as_one_encoder():
    encoder_in = Input((3,))
    encoder = Model(encoder_in, Dense(2, activation="tanh", name="enc")(encoder_in),
                    name="encoder")
    a, b = Input((3,)), Input((3,))
    encoded_a, encoded_b = encoder(a), encoder(b)
    model = Model([a, b], Dense(1, name="score")(layers.subtract([encoded_a, encoded_b])))
    assert encoder.get_output_at(1) is encoded_b and len(model.weights) == 4
    rng = _rng(7)
    xa, xb = rng.standard_normal((32, 3)), rng.standard_normal((32, 3))
    y = (xa.sum(1) - xb.sum(1))[:, None]
    model.compile("adam", "mse")
    history = model.fit([xa, xb], y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    k, bias = model.get_layer("encoder").get_weights()
    v, c = model.get_layer("score").get_weights()
    expected = (np.tanh(xa @ k + bias) - np.tanh(xb @ k + bias)) @ v + c
    np.testing.assert_allclose(model.predict([xa, xb]), expected, rtol=1e-5, atol=1e-6)


# --- a model used as a layer ------------------------------------------------------------------
def _nested():
    inner_in = Input((3,))
    hidden = Dense(4, activation="tanh", name="inner_hidden")(inner_in)
    inner = Model(inner_in, Dense(2, name="inner_out")(hidden), name="inner")
    outer_in = Input((3,))
    outer = Model(outer_in, Dense(1, name="outer_head")(inner(outer_in)), name="outer")
    return inner, outer


def test_nested_model_trains_end_to_end():
    inner, outer = _nested()
    rng = _rng(8)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    inner_before = inner.get_weights()
    outer.compile("adam", "mse")
    history = outer.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    for before, after in zip(inner_before, inner.get_weights()):
        assert not np.allclose(before, after)  # the inner weights were trained too
    # the outer model composes the (trained) inner model and its own head
    v, c = outer.get_layer("outer_head").get_weights()
    np.testing.assert_allclose(outer.predict(x), inner.predict(x) @ v + c, rtol=1e-5,
                               atol=1e-6)
    k1, b1, k2, b2 = inner.get_weights()
    np.testing.assert_allclose(inner.predict(x), np.tanh(x @ k1 + b1) @ k2 + b2, rtol=1e-5,
                               atol=1e-6)


def test_nested_summary_expands_the_inner_layers():
    inner, outer = _nested()
    plain, expanded = [], []
    outer.summary(print_fn=plain.append)
    outer.summary(print_fn=expanded.append, expand_nested=True)
    assert any(line.startswith(" inner (Model)") for line in plain)
    assert not any("inner_hidden" in line for line in plain)
    inner_rows = [line for line in expanded if line.startswith("| ")]
    assert '| Model: "inner"' in inner_rows
    assert any(line.startswith("|  inner_hidden (Dense)") and " 16 " in line
               for line in inner_rows)
    assert any(line.startswith("|  inner_out (Dense)") and " 10 " in line
               for line in inner_rows)
    # the inner table sits right after the inner model's row, before the outer head
    row = next(i for i, line in enumerate(expanded) if line.startswith(" inner (Model)"))
    head = next(i for i, line in enumerate(expanded) if line.startswith(" outer_head"))
    assert expanded[row + 1] == '| Model: "inner"' and row < head
    assert "Total params: 29" in expanded  # 16 + 10 inside, 3 in the head


# --- subclassed models ------------------------------------------------------------------------
class TwoLayerNet(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(8, activation="tanh")
        self.out = Dense(1)

    def call(self, inputs):
        return self.out(self.hidden(inputs))


class TwoHeadNet(Model):
    def __init__(self):
        super().__init__()
        self.body = Dense(6, activation="relu")
        self.reg = Dense(1)
        self.cls = Dense(2, activation="softmax")

    def call(self, inputs):
        x1, x2 = inputs
        hidden = self.body(ops.concatenate([x1, x2], axis=-1))
        return [self.reg(hidden), self.cls(hidden)]


def test_subclassed_model_trains_with_fit():
    rng = _rng(9)
    x = rng.standard_normal((64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-1.0], [0.5]])).astype("float32")
    model = TwoLayerNet()
    model.compile(gkeras.optimizers.Adam(learning_rate=0.02), "mse", metrics=["mae"])
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert len(model.trainable_weights) == 4  # built before the first step, so all trained
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    k1, b1, k2, b2 = model.get_weights()
    expected = np.tanh(x @ k1 + b1) @ k2 + b2
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)
    loss, mae = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(np.mean((expected - y) ** 2), rel=1e-5)
    assert mae == pytest.approx(np.mean(np.abs(expected - y)), rel=1e-5)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "two_layer_net"'
    rows = [line for line in lines if "(Dense)" in line]
    assert len(rows) == 2 and all("multiple" in row for row in rows)  # Keras 2's wording
    assert "Total params: 41" in lines  # 3*8+8 + 8+1
    with pytest.raises(TypeError, match="has no named inputs: give x as an array or a list"):
        model.predict({"x": x})


def test_subclassed_model_with_two_inputs_and_two_outputs():
    x1, x2, y_reg, y_cls = _two_head_data(n=32, seed=10, classes=2)
    model = TwoHeadNet()
    model.compile("adam", loss=["mse", "sparse_categorical_crossentropy"],
                  loss_weights=[1.0, 2.0], metrics=[[], ["accuracy"]])
    # Keras 2 names the outputs of a subclassed model output_1, output_2, ...
    assert model.metrics_names == ["loss", "output_1_loss", "output_2_loss",
                                   "output_2_accuracy"]
    history = model.fit([x1, x2], [y_reg, y_cls], epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, reg_loss, cls_loss, accuracy = model.evaluate([x1, x2], [y_reg, y_cls], verbose=0)
    reg, cls = model.predict([x1, x2])
    assert reg_loss == pytest.approx(np.mean((reg - y_reg) ** 2), rel=1e-5)
    assert cls_loss == pytest.approx(np.mean(-np.log(cls[np.arange(32), y_cls])), rel=1e-5)
    assert loss == pytest.approx(reg_loss + 2.0 * cls_loss, rel=1e-6)
    assert accuracy == pytest.approx(np.mean(cls.argmax(-1) == y_cls))


# --- the example ------------------------------------------------------------------------------
def test_two_inputs_two_outputs_example_runs(capsys):
    spec = importlib.util.spec_from_file_location("two_inputs_two_outputs", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    model, history, results = example.main(epochs=2, verbose=0)
    names = ["loss", "price_loss", "segment_loss", "price_mae", "segment_accuracy"]
    assert model.metrics_names == names
    assert list(history.history) == names + [f"val_{n}" for n in names]
    logs = dict(zip(names, results))
    assert logs["loss"] == pytest.approx(logs["price_loss"] + 0.5 * logs["segment_loss"],
                                         rel=1e-5)
    assert "history keys:" in capsys.readouterr().out


def test_predict_returns_a_dict_for_dict_outputs():
    a = gkeras.layers.Input(shape=(3,), name="features")
    price = gkeras.layers.Dense(1, name="price")(a)
    kind = gkeras.layers.Dense(2, activation="softmax", name="kind")(a)
    model = gkeras.Model(inputs=a, outputs={"price": price, "kind": kind})
    x = np.random.rand(5, 3).astype("float32")
    out = model.predict(x, batch_size=2)
    assert sorted(out) == ["kind", "price"]
    direct = model(x)
    # float32 GEMMs over batches of 2 and of 5 round differently: an absolute floor near 0
    np.testing.assert_allclose(out["price"], direct["price"].numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(out["kind"], direct["kind"].numpy(), rtol=1e-6, atol=1e-7)
    on_batch = model.predict_on_batch(x)
    np.testing.assert_allclose(on_batch["kind"], out["kind"], rtol=1e-6)


def test_dict_outputs_are_named_by_their_keys_in_compile_and_history():
    a = gkeras.layers.Input(shape=(3,))
    outputs = {"price": gkeras.layers.Dense(1)(a),
               "kind": gkeras.layers.Dense(2, activation="softmax")(a)}
    model = gkeras.Model(inputs=a, outputs=outputs)
    assert model.output_names == ["price", "kind"]
    model.compile("sgd", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
                  metrics={"kind": ["accuracy"]})
    x = np.random.rand(8, 3).astype("float32")
    y = {"price": np.random.rand(8, 1).astype("float32"), "kind": np.arange(8) % 2}
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert sorted(history.history) == ["kind_accuracy", "kind_loss", "loss", "price_loss"]
