"""Preprocessed data feeds a model: tokenized, padded texts train an Embedding classifier and a
TimeseriesGenerator's batches train a recurrent regressor with train_on_batch."""
import numpy as np

import gkeras
from gkeras import layers
from gkeras.preprocessing.sequence import TimeseriesGenerator, pad_sequences
from gkeras.preprocessing.text import Tokenizer


def test_tokenized_padded_texts_train_an_embedding_classifier():
    positive = ["good great fine", "great good", "fine good nice", "nice great"]
    negative = ["bad awful poor", "awful bad", "poor bad sad", "sad awful"]
    tokenizer = Tokenizer(num_words=20)
    tokenizer.fit_on_texts(positive + negative)
    x = pad_sequences(tokenizer.texts_to_sequences(positive + negative), maxlen=4)
    y = np.array([1] * 4 + [0] * 4, dtype="float32")
    assert x.shape == (8, 4) and x.dtype == np.int32
    gkeras.utils.set_random_seed(0)
    model = gkeras.Sequential([gkeras.Input((4,), dtype="int32"),
                               layers.Embedding(20, 8), layers.GlobalAveragePooling1D(),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=gkeras.optimizers.Adam(learning_rate=0.05),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=60, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
    test = pad_sequences(tokenizer.texts_to_sequences(["good nice", "sad poor"]), maxlen=4)
    predicted = model.predict(test, verbose=0)[:, 0]
    assert predicted[0] > 0.5 > predicted[1]


def test_timeseries_generator_batches_train_a_recurrent_model():
    steps = np.arange(200, dtype="float32")
    series = np.stack([np.sin(0.1 * steps), np.cos(0.1 * steps)], axis=1)
    generator = TimeseriesGenerator(series, series[:, :1], length=8, batch_size=32)
    gkeras.utils.set_random_seed(0)
    model = gkeras.Sequential([gkeras.Input((8, 2)), layers.SimpleRNN(16),
                               layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    first = np.mean([model.evaluate(x, y, verbose=0) for x, y in generator])
    for _ in range(15):
        for x, y in generator:
            model.train_on_batch(x, y)
    last = np.mean([model.evaluate(x, y, verbose=0) for x, y in generator])
    assert last < 0.1 * first
