"""`make demo`: train a classifier on the handwritten digits that ship in examples/data.

Runs on NumPy by default and on a GPU with KERAS_BACKEND=cupy.
"""
import gzip
import os
import sys

import numpy as np

import gkeras as keras
from gkeras.layers import Dense, Dropout
from gkeras.models import Sequential
from gkeras.utils import to_categorical

HERE = os.path.dirname(os.path.abspath(__file__))


def load_digits():
    with gzip.open(os.path.join(HERE, "data", "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].astype("float32") / 16.0, table[:, -1].astype("int64")


def main():
    keras.utils.set_random_seed(0)
    x, y = load_digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    model = Sequential([
        Dense(128, activation="relu", input_shape=(64,)),
        Dropout(0.2),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, to_categorical(y_train, 10), batch_size=32, epochs=30,
              validation_split=0.1, verbose=1)
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"Test loss: {loss:.4f}  test accuracy: {accuracy:.4f} "
          f"({len(x_test)} held-out digits, backend: {keras.backend.backend()})")
    path = os.path.join(HERE, "digits_mlp.weights.h5")
    model.save_weights(path)
    print(f"Saved weights to {path}")
    if accuracy < 0.95:
        sys.exit(f"accuracy {accuracy:.4f} is below the 0.95 target")


if __name__ == "__main__":
    main()
