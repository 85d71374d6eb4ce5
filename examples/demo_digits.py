"""`make demo`: train an MLP and a small CNN on the handwritten digits that ship in
examples/data (8x8 images, 1,797 of them), report each one's held-out accuracy, and save each
trained model as a `.keras` archive, reload it and check the predictions match.

Runs on NumPy by default and on a GPU with KERAS_BACKEND=cupy.
"""
import gzip
import os
import sys

import numpy as np

import gkeras as keras
from gkeras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
from gkeras.models import Sequential
from gkeras.utils import to_categorical

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 0.95


def load_digits():
    with gzip.open(os.path.join(HERE, "data", "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    return table[:, :-1].astype("float32") / 16.0, table[:, -1].astype("int64")


def mlp():
    return Sequential([
        Dense(128, activation="relu", input_shape=(64,)),
        Dropout(0.2),
        Dense(64, activation="relu"),
        Dense(10, activation="softmax"),
    ], name="mlp")


def cnn():
    return Sequential([
        Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D(2),
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dropout(0.2),
        Dense(10, activation="softmax"),
    ], name="cnn")


def train_and_test(model, x_train, y_train, x_test, y_test, epochs):
    """Fit, print the held-out accuracy and save the weights; returns the accuracy."""
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, to_categorical(y_train, 10), batch_size=32, epochs=epochs,
              validation_split=0.1, verbose=1)
    loss, accuracy = model.evaluate(x_test, to_categorical(y_test, 10), verbose=0)
    print(f"{model.name.upper()} test loss: {loss:.4f}  test accuracy: {accuracy:.4f} "
          f"({len(x_test)} held-out digits, backend: {keras.backend.backend()})")
    path = os.path.join(HERE, f"digits_{model.name}.weights.h5")
    model.save_weights(path)
    print(f"Saved weights to {path}")
    save_and_reload(model, x_test)
    return accuracy


def save_and_reload(model, x_test):
    """Save the whole trained model as a Keras 3 `.keras` archive, load it back and check that
    the reloaded model predicts exactly what the trained one does."""
    path = os.path.join(HERE, f"digits_{model.name}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    difference = float(np.abs(reloaded.predict(x_test, verbose=0) -
                              model.predict(x_test, verbose=0)).max())
    if difference != 0.0:
        sys.exit(f"{path}: the reloaded model's predictions differ (max {difference:.1e})")
    print(f"{model.name.upper()} reloaded from {path}: predictions match "
          f"(max difference {difference:.1e}, {len(x_test)} digits)")


def main():
    keras.utils.set_random_seed(0)
    x, y = load_digits()
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    accuracies = {
        "MLP": train_and_test(mlp(), x_train, y_train, x_test, y_test, epochs=30),
        "CNN": train_and_test(cnn(), x_train.reshape(-1, 8, 8, 1), y_train,
                              x_test.reshape(-1, 8, 8, 1), y_test, epochs=20),
    }
    low = {name: a for name, a in accuracies.items() if a < TARGET}
    if low:
        sys.exit(f"accuracy below the {TARGET} target: {low}")


if __name__ == "__main__":
    main()
