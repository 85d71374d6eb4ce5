"""The code samples of keras-quick-guide-models-and-layers.md, as written, with ``gkeras`` in
place of ``keras``. Only imports and input data are added around them."""
import numpy as np
import pytest

import gkeras
from gkeras import backend

needs_training = pytest.mark.skipif(not hasattr(gkeras.Model, "fit"),
                                    reason="training not yet implemented")


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

    model = Model.from_config(config)
    model = Sequential.from_config(config)

    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert model.output_shape == (None, 2)


def test_model_methods_listed_in_the_guide():
    from gkeras.models import Sequential
    from gkeras.layers import Dense
    model = Sequential([Dense(4, input_shape=(3,), name="hidden"), Dense(2)])
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4] == "Total params: 26"
    assert model.get_layer("hidden") is model.get_layer(index=0)
    weights = model.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights)
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_array_equal(model.get_weights()[1], weights[1] + 1)


@needs_training
def test_sequential_compile():
    from gkeras.models import Sequential
    from gkeras.layers import Dense

    model = Sequential()
    model.add(Dense(32, input_shape=(500,)))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer='rmsprop',
          loss='categorical_crossentropy',
          metrics=['accuracy'])


def test_functional_model():
    from gkeras.models import Model
    from gkeras.layers import Input, Dense

    a = Input(shape=(32,))
    b = Dense(32)(a)
    model = Model(inputs=a, outputs=b)

    assert model.inputs == [a] and model.outputs == [b]
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert np.asarray(model(np.ones((2, 32)))).shape == (2, 32)


def test_functional_multi_input_output():
    from gkeras.models import Model
    from gkeras.layers import Input, Dense
    a1, a2 = Input(shape=(4,)), Input(shape=(4,))
    b1 = Dense(2)(a1)
    b3 = Dense(3)(a2)

    model = Model(inputs=[a1, a2], outputs=[b1, b3, b3])

    outputs = model([np.ones((2, 4)), np.ones((2, 4))])
    assert [tuple(o.shape) for o in outputs] == [(2, 2), (2, 3), (2, 3)]
    np.testing.assert_array_equal(np.asarray(outputs[1]), np.asarray(outputs[2]))


def test_layer_config_round_trip():
    from gkeras.layers import Dense

    layer = Dense(32)
    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)

    assert reconstructed_layer.get_config() == config


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

    gkeras.layers.core.Dense(units, activation=None)
    gkeras.layers.core.Activation(activation)
    gkeras.layers.core.Dropout(rate, seed=None)
    gkeras.layers.core.Flatten()
    gkeras.layers.core.Reshape(target_shape)


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


@needs_layer("Convolution2D")
def test_flatten_after_convolution():
    from gkeras.models import Sequential
    from gkeras.layers import Convolution2D, Flatten

    model = Sequential()
    model.add(Convolution2D(64, 3, 3,
                border_mode='same',
                input_shape=(3, 32, 32)))
    # model.output_shape == (None, 64, 32, 32)

    model.add(Flatten())
    # model.output_shape == (None, 65536)


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
    gkeras.layers.convolutional.Conv1D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1, activation=None)


@needs_layer("Conv2D")
def test_conv2d_signature():
    import gkeras.layers.convolutional
    filters, kernel_size = 4, 3
    gkeras.layers.convolutional.Conv2D(filters, kernel_size, strides=(1, 1), padding='valid', data_format=None, dilation_rate=(1, 1), activation=None)


@needs_layer("MaxPooling2D")
def test_pooling_signatures():
    import gkeras.layers.pooling
    gkeras.layers.pooling.MaxPooling1D(pool_size=2, strides=None, padding='valid')
    gkeras.layers.pooling.MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid', data_format=None)
    gkeras.layers.pooling.AveragePooling1D(pool_size=2, strides=None, padding='valid')
    gkeras.layers.pooling.AveragePooling2D(pool_size=(2, 2), strides=None, padding='valid', data_format=None)
    gkeras.layers.pooling.GlobalMaxPooling1D()
    gkeras.layers.pooling.GlobalAveragePooling1D()
    gkeras.layers.pooling.GlobalMaxPooling2D(data_format=None)
    gkeras.layers.pooling.GlobalAveragePooling2D(data_format=None)


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
    assert model.output_shape == (None, 32)
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
    gkeras.layers.recurrent.SimpleRNN(units, activation='tanh', dropout=0.0, recurrent_dropout=0.0)
    gkeras.layers.recurrent.GRU(units, activation='tanh', recurrent_activation='hard_sigmoid', dropout=0.0, recurrent_dropout=0.0)
    gkeras.layers.recurrent.LSTM(units, activation='tanh', recurrent_activation='hard_sigmoid', dropout=0.0, recurrent_dropout=0.0)
    gkeras.layers.recurrent.Recurrent(units, return_sequences=False, go_backwards=False, stateful=False)
    lstm = gkeras.layers.recurrent.LSTM(units)
    # the guide's defaults (Keras 2): hard_sigmoid, GRU reset_after=False
    assert lstm.get_config()["recurrent_activation"] == "hard_sigmoid"
    assert gkeras.layers.recurrent.GRU(units).get_config()["reset_after"] is False


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
