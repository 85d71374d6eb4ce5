"""The code samples of keras-quick-guide-models-and-layers.md, as written, with ``gkeras`` in
place of ``keras``. Only imports and input data are added around them."""
import numpy as np
import pytest

import gkeras
from gkeras import backend, config as gkeras_config

def summary_rows(model):
    """``[(name_and_type, output_shape, params)]`` of the layer rows of ``model.summary()``,
    and its totals line."""
    lines = []
    model.summary(print_fn=lines.append)
    rows = [line for line in lines if line.startswith(" ") and line.strip()
            and not line.startswith(" Layer (type)")]
    parsed = [(row[:29].strip(), row[29:55].strip(), row[55:].strip()) for row in rows]
    return parsed, [line for line in lines if line.startswith("Total params")]


def needs_layer(name):
    return pytest.mark.skipif(not hasattr(gkeras.layers, name),
                              reason=f"{name} not yet implemented")


@pytest.fixture(autouse=True)
def fresh_names():
    backend.clear_session()
    yield


def test_model_config_round_trip():
    from gkeras.models import Model, Sequential
    from gkeras.layers import Dense
    model = Sequential([Dense(4, input_shape=(3,)), Dense(2)])

    config = model.get_config()

    original = model
    model = Model.from_config(config)
    assert type(model) is Sequential and model.get_config() == config
    model = Sequential.from_config(config)

    assert model.get_config() == config
    assert [layer.name for layer in model.layers] == [layer.name for layer in original.layers]
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert model.count_params() == original.count_params() == (3 * 4 + 4) + (4 * 2 + 2)


def test_model_methods_listed_in_the_guide(tmp_path):
    from gkeras.models import Sequential
    from gkeras.layers import Dense
    model = Sequential([Dense(4, input_shape=(3,), name="hidden"), Dense(2)])
    rows, totals = summary_rows(model)
    assert rows == [("hidden (Dense)", "(None, 4)", "16"), ("dense (Dense)", "(None, 2)", "10")]
    assert totals == ["Total params: 26"]
    assert model.get_layer("hidden") is model.get_layer(index=0)
    assert model.get_layer(index=1).name == "dense"
    weights = model.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights)
    assert [w.shape for w in weights] == [(3, 4), (4,), (4, 2), (2,)]
    model.set_weights([w + 1 for w in weights])
    for got, before in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, before + 1)
    # save_weights / load_weights(by_name=False) / load_weights(by_name=True)
    model.save_weights(tmp_path / "w.h5")
    same = Sequential([Dense(4, input_shape=(3,)), Dense(2)])
    same.load_weights(tmp_path / "w.h5")
    for got, want in zip(same.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
    other = Sequential([Dense(4, input_shape=(3,), name="hidden"), Dense(5, name="new")])
    new_before = other.get_layer("new").get_weights()
    other.load_weights(tmp_path / "w.h5", by_name=True)  # only "hidden" matches
    np.testing.assert_array_equal(other.get_layer("hidden").get_weights()[0],
                                  model.get_weights()[0])
    np.testing.assert_array_equal(other.get_layer("new").get_weights()[0], new_before[0])


def test_sequential_compile():
    from gkeras.models import Sequential
    from gkeras.layers import Dense

    model = Sequential()
    model.add(Dense(32, input_shape=(500,)))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop',
          loss='categorical_crossentropy',
          metrics=['accuracy'])

    rows, totals = summary_rows(model)
    assert [row[1:] for row in rows] == [("(None, 32)", "16032"), ("(None, 10)", "330")]
    assert totals == ["Total params: 16,362"]
    assert type(model.optimizer) is gkeras.optimizers.RMSprop
    x = np.random.default_rng(0).standard_normal((8, 500)).astype("float32")
    y = np.eye(10, dtype="float32")[np.arange(8)]
    probabilities = model.predict(x, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    loss, accuracy = model.evaluate(x, y, verbose=0)  # a list named by metrics_names
    assert model.metrics_names == ["loss", "accuracy"]
    assert loss == pytest.approx(-np.mean(np.log(probabilities[np.arange(8), np.arange(8)])),
                                 rel=1e-5)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(axis=1) == np.arange(8)))


def test_fit_and_evaluate_before_compile_raise():
    # "模型在使用前必须编译，否则在调用 fit 或 evaluate 时会抛出异常"
    from gkeras.models import Sequential
    from gkeras.layers import Dense
    model = Sequential([Dense(2, input_shape=(3,))])
    x, y = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y, verbose=0)):
        with pytest.raises(RuntimeError, match="compile"):
            call()
    assert model.predict(x, verbose=0).shape == (4, 2)  # predict needs no compile


def test_functional_model():
    from gkeras.models import Model
    from gkeras.layers import Input, Dense

    a = Input(shape=(32,))
    b = Dense(32)(a)
    model = Model(inputs=a, outputs=b)

    assert model.inputs == [a] and model.outputs == [b]
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert model.input_shape == (None, 32) and model.output_shape == (None, 32)
    assert model.count_params() == 32 * 32 + 32
    x = np.random.default_rng(0).standard_normal((2, 32)).astype("float32")
    kernel, bias = model.layers[1].get_weights()
    np.testing.assert_allclose(np.asarray(model(x)), x @ kernel + bias, rtol=1e-5, atol=1e-6)


def test_functional_multi_input_output():
    from gkeras.models import Model
    from gkeras.layers import Input, Dense
    a1, a2 = Input(shape=(4,)), Input(shape=(4,))
    b1 = Dense(2)(a1)
    b3 = Dense(3)(a2)

    model = Model(inputs=[a1, a2], outputs=[b1, b3, b3])

    assert model.inputs == [a1, a2] and model.outputs == [b1, b3, b3]
    assert model.output_shape == [(None, 2), (None, 3), (None, 3)]
    outputs = model([np.ones((2, 4)), np.ones((2, 4))])
    assert [tuple(o.shape) for o in outputs] == [(2, 2), (2, 3), (2, 3)]
    np.testing.assert_array_equal(np.asarray(outputs[1]), np.asarray(outputs[2]))


def test_layer_config_round_trip():
    from gkeras.layers import Dense

    layer = Dense(32)
    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)

    assert reconstructed_layer.get_config() == config
    assert config["units"] == 32 and config["activation"] == "linear"
    assert reconstructed_layer(np.ones((2, 5), "float32")).shape == (2, 32)


def test_layers_deserialize():
    from gkeras.layers import Dense
    layer = Dense(32)

    from gkeras import layers

    config = layer.get_config()
    layer = layers.deserialize({'class_name': layer.__class__.__name__,
                                'config': config})

    assert isinstance(layer, Dense) and layer.get_config() == config


def test_layer_node_properties():
    from gkeras.layers import Input, Dense
    x = Input(shape=(4,))
    layer = Dense(2)
    y = layer(x)

    assert layer.input is x
    assert layer.output is y
    assert layer.input_shape == (None, 4)
    assert layer.output_shape == (None, 2)

    z = Input(shape=(4,))
    layer(z)
    node_index = 1
    assert layer.get_input_at(node_index) is z
    assert layer.get_output_at(node_index).shape == (None, 2)
    assert layer.get_input_shape_at(node_index) == (None, 4)
    assert layer.get_output_shape_at(node_index) == (None, 2)


def test_core_layer_signatures():
    import gkeras.layers.core
    units, activation, rate = 3, "relu", 0.5
    target_shape = (2, 2)

    dense = gkeras.layers.core.Dense(units, activation=None)
    act = gkeras.layers.core.Activation(activation)
    drop = gkeras.layers.core.Dropout(rate, seed=None)
    flat = gkeras.layers.core.Flatten()
    reshape = gkeras.layers.core.Reshape(target_shape)

    x = np.array([[-1.0, 0.5, 2.0, -3.0]], "float32")
    # Dense without activation: a(x) = x, so the output is exactly x @ kernel + bias
    kernel, bias = np.arange(12, dtype="float32").reshape(4, 3), np.ones(3, "float32")
    dense.build((None, 4))
    dense.set_weights([kernel, bias])
    np.testing.assert_allclose(np.asarray(dense(x)), x @ kernel + bias)
    np.testing.assert_array_equal(np.asarray(act(x)), [[0.0, 0.5, 2.0, 0.0]])
    assert drop.get_config()["rate"] == rate and drop.get_config()["seed"] is None
    np.testing.assert_array_equal(np.asarray(drop(x)), x)  # the identity at inference
    assert flat(np.ones((2, 3, 4), "float32")).shape == (2, 12)  # the batch size is kept
    assert reshape(x).shape == (1, 2, 2)  # (batch_size,) + target_shape
    assert tuple(reshape.get_config()["target_shape"]) == target_shape


def test_dense_in_sequential():
    from gkeras.models import Sequential
    from gkeras.layers import Dense

    # 作为sequential模型的第一层输入:
    model = Sequential()
    model.add(Dense(32, input_shape=(16,)))
    # 模型输入shape为 (*, 16)，输出shape (*, 32)

    # 第一层之后，就不需要指定输入大小了
    model.add(Dense(32))

    assert model.input_shape == (None, 16) and model.output_shape == (None, 32)
    assert [layer.output_shape for layer in model.layers] == [(None, 32), (None, 32)]
    assert [layer.count_params() for layer in model.layers] == [16 * 32 + 32, 32 * 32 + 32]


@needs_layer("Convolution2D")
def test_flatten_after_convolution():
    from gkeras.models import Sequential
    from gkeras.layers import Convolution2D, Flatten

    # The guide's shapes are channels-first ("(3,32,32) 格式的图像数据转换成 (64,32,32)").
    gkeras_config.set_image_data_format("channels_first")  # restored by conftest
    outputs = []

    model = Sequential()
    model.add(Convolution2D(64, 3, 3,
                border_mode='same',
                input_shape=(3, 32, 32)))
    # model.output_shape == (None, 64, 32, 32)
    outputs.append(model.output_shape)

    model.add(Flatten())
    # model.output_shape == (None, 65536)
    outputs.append(model.output_shape)

    assert outputs == [(None, 64, 32, 32), (None, 65536)]
    assert model.count_params() == 3 * 3 * 3 * 64 + 64


def test_reshape():
    from gkeras.models import Sequential
    from gkeras.layers import Reshape
    outputs = []

    # 作为Sequential模型的第一层
    model = Sequential()
    model.add(Reshape((3, 4), input_shape=(12,)))
    # model.output_shape == (None, 3, 4)
    # 注: `None` 是样本数目维
    outputs.append(model.output_shape)

    # 作为Sequential模型的中间层
    model.add(Reshape((6, 2)))
    # model.output_shape == (None, 6, 2)
    outputs.append(model.output_shape)

    # 也支持 `-1` 作为维度
    model.add(Reshape((-1, 2, 2)))
    # model.output_shape == (None, 3, 2, 2)
    outputs.append(model.output_shape)

    assert outputs == [(None, 3, 4), (None, 6, 2), (None, 3, 2, 2)]
    x = np.arange(24, dtype="float32").reshape(2, 12)
    np.testing.assert_array_equal(np.asarray(model(x)), x.reshape(2, 3, 2, 2))


@needs_layer("Conv1D")
def test_conv1d_signature():
    import gkeras.layers.convolutional
    filters, kernel_size = 4, 3
    layer = gkeras.layers.convolutional.Conv1D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1, activation=None)

    # (samples, steps, input_dim) -> (samples, new_steps, nb_filter); 'valid': 10 - 3 + 1 steps
    assert layer(gkeras.layers.Input((10, 128))).shape == (None, 8, 4)
    assert layer.kernel.shape == (3, 128, 4)


@needs_layer("Conv2D")
def test_conv2d_signature():
    import gkeras.layers.convolutional
    filters, kernel_size = 4, 3
    layer = gkeras.layers.convolutional.Conv2D(filters, kernel_size, strides=(1, 1), padding='valid', data_format=None, dilation_rate=(1, 1), activation=None)

    # data_format=None: keras.json's value, "channels_last" if never set
    assert layer.data_format == "channels_last"
    assert layer(gkeras.layers.Input((128, 128, 3))).shape == (None, 126, 126, 4)
    assert layer.kernel.shape == (3, 3, 3, 4)


@needs_layer("MaxPooling2D")
def test_pooling_signatures():
    import gkeras.layers.pooling
    max1 = gkeras.layers.pooling.MaxPooling1D(pool_size=2, strides=None, padding='valid')
    max2 = gkeras.layers.pooling.MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid', data_format=None)
    avg1 = gkeras.layers.pooling.AveragePooling1D(pool_size=2, strides=None, padding='valid')
    avg2 = gkeras.layers.pooling.AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid', data_format=None)
    gmax1 = gkeras.layers.pooling.GlobalMaxPooling1D()
    gavg1 = gkeras.layers.pooling.GlobalAveragePooling1D()
    gmax2 = gkeras.layers.pooling.GlobalMaxPooling2D(data_format=None)
    gavg2 = gkeras.layers.pooling.GlobalAveragePooling2D(data_format=None)

    # strides=None means pool_size: (2, 2) halves both image dimensions
    steps = np.array([[[1.0], [3.0], [2.0], [0.0]]], "float32")   # (1, 4, 1)
    np.testing.assert_array_equal(np.asarray(max1(steps)), [[[3.0], [2.0]]])
    np.testing.assert_array_equal(np.asarray(avg1(steps)), [[[2.0], [1.0]]])
    np.testing.assert_array_equal(np.asarray(gmax1(steps)), [[3.0]])
    np.testing.assert_array_equal(np.asarray(gavg1(steps)), [[1.5]])
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)    # channels_last
    np.testing.assert_array_equal(np.asarray(max2(image))[0, :, :, 0], [[5.0, 7.0], [13.0, 15.0]])
    np.testing.assert_array_equal(np.asarray(avg2(image))[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(np.asarray(gmax2(image)), [[15.0]])
    np.testing.assert_array_equal(np.asarray(gavg2(image)), [[7.5]])


def test_lstm_samples():
    from gkeras.models import Sequential
    from gkeras.layers import LSTM

    # 作为Sequential模型的第一层
    model = Sequential()
    model.add(LSTM(32, input_shape=(10, 64)))
    # model.output_shape == (None, 32)
    # 注意: `None` 是batch维.
    assert model.output_shape == (None, 32)

    # 下面是完全相同的:
    model = Sequential()
    model.add(LSTM(32, input_dim=64, input_length=10))
    assert model.input_shape == (None, 10, 64) and model.output_shape == (None, 32)
    assert model.layers[0].get_config()["batch_input_shape"] == [None, 10, 64]

    # 作为中间层, 不需要再去定义输入大小:
    # The guide's line fails in every Keras version: LSTM(32) without return_sequences
    # outputs (None, 32), not a sequence. gkeras refuses it as Keras does, with a hint, and
    # (as Keras) the model keeps its previous layers.
    with pytest.raises(ValueError, match="expected ndim=3.*return_sequences=True"):
        model.add(LSTM(16))
    assert len(model.layers) == 1 and model.output_shape == (None, 32)

    # 要堆叠循环层，必须设置输出到其他循环层的循环层 return_sequences=True
    # 注意你只需在第一层上定义输入大小
    model = Sequential()
    model.add(LSTM(64, input_dim=64, input_length=10, return_sequences=True))
    model.add(LSTM(32, return_sequences=True))
    model.add(LSTM(10))
    assert model.output_shape == (None, 10)
    assert [layer.output_shape for layer in model.layers] == [(None, 10, 64), (None, 10, 32),
                                                               (None, 10)]
    out = model.predict(np.random.rand(3, 10, 64).astype("float32"), verbose=0)
    assert out.shape == (3, 10) and np.all(np.abs(out) < 1)


def test_stateful_rnn_as_the_guide_describes():
    # "stateful=True ... 在模型的第一层传入 batch_size=(...) 和 input_shape"
    from gkeras.models import Sequential
    from gkeras.layers import LSTM
    model = Sequential()
    model.add(LSTM(8, stateful=True, batch_size=4, input_shape=(5, 3)))
    assert model.output_shape == (4, 8)
    x = np.random.rand(4, 5, 3).astype("float32")
    first = model.predict(x, batch_size=4, verbose=0)
    second = model.predict(x, batch_size=4, verbose=0)  # starts from the first call's states
    assert not np.allclose(first, second)
    model.layers[0].reset_states()
    np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0), first, rtol=1e-6)


def test_recurrent_signatures():
    import gkeras.layers.recurrent
    units = 4
    rnn = gkeras.layers.recurrent.SimpleRNN(units, activation='tanh', dropout=0.0, recurrent_dropout=0.0)
    gru = gkeras.layers.recurrent.GRU(units, activation='tanh', recurrent_activation='hard_sigmoid', dropout=0.0, recurrent_dropout=0.0)
    lstm = gkeras.layers.recurrent.LSTM(units, activation='tanh', recurrent_activation='hard_sigmoid', dropout=0.0, recurrent_dropout=0.0)

    # (samples, timesteps, input_dim) -> (samples, output_dim)
    for layer in (rnn, gru, lstm):
        assert layer(gkeras.layers.Input((10, 64))).shape == (None, units)
    # "这是循环层的抽象类 ... 无法实例化任何对象": the abstract class refuses to be made
    with pytest.raises(TypeError, match="abstract base .* use SimpleRNN, GRU or LSTM"):
        gkeras.layers.recurrent.Recurrent(return_sequences=False, go_backwards=False, stateful=False)
    # the guide's defaults (Keras 2): hard_sigmoid, GRU reset_after=False
    assert lstm.get_config()["recurrent_activation"] == "hard_sigmoid"
    assert gru.get_config()["reset_after"] is False


def test_embedding_sample():
    from gkeras.models import Sequential
    from gkeras.layers import Embedding

    model = Sequential()
    model.add(Embedding(1000, 64, input_length=10))
    # 模型会接收一个(batch, input_length)的整数矩阵.
    # 输入中的最大的整数 (词语索引) 应该不大于 999 (词表大小).
    # model.output_shape == (None, 10, 64), None是batch维.
    assert model.output_shape == (None, 10, 64)

    input_array = np.random.randint(1000, size=(32, 10))

    model.compile('rmsprop', 'mse')
    output_array = model.predict(input_array)
    assert output_array.shape == (32, 10, 64)
    # each output row is the embedding row of its index
    table = model.layers[0].get_weights()[0]
    np.testing.assert_array_equal(output_array, table[input_array])


def test_embedding_signature():
    import gkeras.layers.embeddings
    gkeras.layers.embeddings.Embedding(1000, 64, mask_zero=False, input_length=None)
