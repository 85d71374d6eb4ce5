"""A CIFAR-style convnet -- Conv2D + BatchNormalization + ReLU blocks, MaxPooling2D,
SpatialDropout2D, GlobalAveragePooling2D -- on small colour images made from the handwritten
digits that ship in examples/data: each 8x8 digit is upsampled to 16x16 and painted in a
random bright colour on a random dark, noisy background, so colour carries no information and the
network must learn shapes, as on CIFAR.

With its fixed seed it reaches 95.6% held-out accuracy (it fails below 93%) in 10 epochs of
2-3 seconds each on two CPU cores, and checks that the batch-normalized model predicts the
same after a save/load round trip. Runs on NumPy by default and on a GPU with KERAS_BACKEND=cupy.
"""
import gzip
import os
import sys
import tempfile

import numpy as np

import gkeras as keras
from gkeras import layers

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = 0.93


def colour_digits(seed=0):
    """(images (n, 16, 16, 3) in [0, 1], labels (n,)) from the bundled 8x8 digits."""
    with gzip.open(os.path.join(HERE, "data", "digits.csv.gz"), "rt") as f:
        table = np.loadtxt(f, delimiter=",")
    strokes = table[:, :-1].reshape(-1, 8, 8) / 16.0
    labels = table[:, -1].astype("int64")
    strokes = strokes.repeat(2, axis=1).repeat(2, axis=2)[..., None]  # 16x16, one channel
    rng = np.random.default_rng(seed)
    n = len(strokes)
    ink, paper = rng.uniform(0.6, 1, (n, 1, 1, 3)), rng.uniform(0, 0.4, (n, 1, 1, 3))
    images = strokes * ink + (1 - strokes) * paper + rng.normal(0, 0.05, (n, 16, 16, 3))
    return np.clip(images, 0, 1).astype("float32"), labels


def conv_block(filters):
    # No convolution bias: the normalization would cancel it. momentum=0.9 (PyTorch's 0.1)
    # rather than Keras's 0.99: the moving statistics catch up within this short training.
    return [layers.Conv2D(filters, 3, padding="same", use_bias=False),
            layers.BatchNormalization(momentum=0.9), layers.ReLU()]


def cifar_style_cnn():
    return keras.Sequential([
        layers.Input((16, 16, 3)),
        *conv_block(16),
        layers.MaxPooling2D(2), layers.SpatialDropout2D(0.1),
        *conv_block(32), *conv_block(32),
        layers.MaxPooling2D(2), layers.SpatialDropout2D(0.1),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ], name="cifar_style_cnn")


def main():
    keras.utils.set_random_seed(0)
    x, y = colour_digits()
    order = np.random.default_rng(1).permutation(len(x))
    x, y = x[order], y[order]
    split = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    model = cifar_style_cnn()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, batch_size=32, epochs=10, validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"CIFAR-style CNN test loss: {loss:.4f}  test accuracy: {accuracy:.4f} "
          f"({len(x_test)} held-out images, backend: {keras.backend.backend()})")

    # the moving statistics are saved with the weights: the reloaded model predicts alike
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cifar_style_cnn.h5")
        model.save(path)
        reloaded = keras.models.load_model(path)
    same = np.allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0),
                       atol=1e-5)
    print(f"Reloaded model predicts the same: {same}")
    if accuracy < TARGET or not same:
        sys.exit(f"accuracy {accuracy:.4f} below the {TARGET} target, or the reloaded model "
                 "differs")


if __name__ == "__main__":
    main()
