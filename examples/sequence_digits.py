"""Train a recurrent sequence classifier on the handwritten digits that ship in examples/data.

Each 8x8 digit is read as a sequence of 8 timesteps (its rows, top to bottom), 8 features
each: an LSTM reads the rows, a GRU reads them bottom-up (go_backwards), and a softmax on both
final states names the digit. Seconds on a CPU; ``KERAS_BACKEND=cupy`` runs it on a GPU.

    python examples/sequence_digits.py
"""
import gzip
import os
import sys

import numpy as np

import gkeras as keras
from gkeras.layers import GRU, LSTM, Dense, Input, concatenate
from gkeras.models import Model

HERE = os.path.dirname(os.path.abspath(__file__))


def load_digit_sequences():
    """``(n, 8, 8)`` float32 sequences of pixel rows in [0, 1] and ``(n,)`` labels."""
    with gzip.open(os.path.join(HERE, "data", "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return (table[:, :-1] / 16.0).astype("float32").reshape(-1, 8, 8), table[:, -1].astype(int)


def build_model():
    rows = Input((8, 8), name="rows")
    down = LSTM(48, name="top_down")(rows)
    up = GRU(24, go_backwards=True, name="bottom_up")(rows)
    digit = Dense(10, activation="softmax", name="digit")(concatenate([down, up]))
    model = Model(rows, digit, name="sequence_digits")
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(epochs=12, verbose=1):
    keras.utils.set_random_seed(0)
    x, y = load_digit_sequences()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    model = build_model()
    if verbose:
        model.summary()
    model.fit(x[:split], y[:split], batch_size=32, epochs=epochs, validation_split=0.1,
              verbose=verbose)
    loss, accuracy = model.evaluate(x[split:], y[split:], verbose=0)
    print(f"Test loss: {loss:.4f}  test accuracy: {accuracy:.4f} "
          f"({len(x) - split} held-out digits read row by row, "
          f"backend: {keras.backend.backend()})")
    return model, accuracy


if __name__ == "__main__":
    _, test_accuracy = main()
    sys.exit(0 if test_accuracy >= 0.95 else 1)
