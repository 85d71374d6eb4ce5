"""Data-parallel training: the digits CNN of `make demo`, on every process of an MPI job.

    mpiexec -n 2 python examples/data_parallel.py        # two processes, one global batch
    python examples/data_parallel.py                     # the same script, one process

Each process holds the whole model and takes its half of each global batch of 64; the
gradients are summed across processes, so both end with the model one process would train
on batches of 64. Rank 0 alone prints, and saves the weights.
"""
import os
import sys

import numpy as np

import gkeras as keras
from gkeras.layers import Conv2D, Dense, Flatten, MaxPooling2D
from gkeras.models import Sequential
from gkeras.utils import to_categorical

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from demo_digits import HERE, load_digits  # noqa: E402

TARGET = 0.95


def main():
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    rank = keras.distribution.distribution().rank
    x, y = load_digits()
    order = np.random.default_rng(0).permutation(len(x))  # demo_digits.py's split
    x, y = x[order].reshape(-1, 8, 8, 1), y[order]
    split = int(0.8 * len(x))
    np.random.seed(0)  # the same initial weights everywhere (rank 0's are broadcast anyway)
    model = Sequential([
        Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        MaxPooling2D(2),
        Conv2D(32, 3, padding="same", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x[:split], to_categorical(y[:split], 10), batch_size=64, epochs=15,
              validation_split=0.1, verbose=2)
    loss, accuracy = model.evaluate(x[split:], to_categorical(y[split:], 10), verbose=0)
    processes = keras.distribution.distribution().num_processes
    if rank == 0:
        print(f"test accuracy {accuracy:.4f} on {len(x) - split} held-out digits, trained by "
              f"{processes} process(es)")
    model.save_weights(os.path.join(HERE, "digits_data_parallel.weights.h5"))  # rank 0 only
    if accuracy < TARGET:
        sys.exit(f"rank {rank}: test accuracy {accuracy:.4f} is below {TARGET}")


if __name__ == "__main__":
    main()
