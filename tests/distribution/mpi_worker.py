"""One rank of a data-parallel test job (or, with --single, the one-process reference).

    mpiexec -n 2 python mpi_worker.py SCENARIO OUT_DIR
    python mpi_worker.py SCENARIO OUT_DIR --single

Trains the scenario's model and writes ``OUT_DIR/<rank or single>.npz``: the final weights,
the history, evaluate's and predict's results. The test compares the files.
"""
import os
import sys
import time

import numpy

SCENARIO, OUT = sys.argv[1], sys.argv[2]
SINGLE = "--single" in sys.argv

import gkeras as keras  # noqa: E402
from gkeras import layers  # noqa: E402

if not SINGLE:
    keras.distribution.set_distribution(keras.distribution.DataParallel(bucket_size_mb=0.001))
    RANK = keras.distribution.distribution().rank
else:
    RANK = "single"
DTYPE = "float32" if SCENARIO.endswith("_float32") else "float64"
keras.config.set_floatx(DTYPE)


def data(n, shape, classes, seed=7):
    rng = numpy.random.default_rng(seed)
    x = rng.normal(size=(n,) + shape)
    y = rng.integers(0, classes, size=n)
    return x, y


def model_for(name):
    # rank 1 draws other initial weights: the broadcast from rank 0 must replace them
    numpy.random.seed(0 if RANK in (0, "single") else 1)
    if name.startswith("mlp"):
        model = keras.Sequential([layers.Dense(16, activation="relu", input_shape=(12,)),
                                  layers.Dense(16, activation="tanh"),
                                  layers.Dense(3, activation="softmax")])
    elif name.startswith("cnn"):
        model = keras.Sequential([
            layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(9, 9, 2)),
            layers.MaxPooling2D(2), layers.Conv2D(5, 2, activation="relu"),
            layers.Flatten(), layers.Dense(3, activation="softmax")])
    else:
        model = keras.Sequential([layers.Embedding(30, 8, input_length=11),
                                  layers.LSTM(6), layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class StopOnOneRank(keras.callbacks.Callback):
    """Sets stop_training on rank 1 only, at the end of epoch 1."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and RANK in (1, "single"):
            self.model.stop_training = True


def run():
    results = {}
    if SCENARIO.startswith("lstm"):
        rng = numpy.random.default_rng(3)
        x = rng.integers(1, 30, size=(41, 11))
        x[:, :4] *= rng.integers(0, 2, size=(41, 4))  # some zeros (padding-like)
        y = rng.integers(0, 3, size=41)
        shape = None
    else:
        shape = (12,) if SCENARIO.startswith("mlp") else (9, 9, 2)
        x, y = data(53, shape, 3)
    model = model_for(SCENARIO)
    weights = numpy.random.default_rng(5).uniform(0.5, 2.0, size=len(y))
    callbacks = [keras.callbacks.CSVLogger(os.path.join(OUT, "log.csv"), append=True)]
    if SCENARIO.startswith("mlp"):
        callbacks.append(StopOnOneRank())
    # 53 samples, batch 10: the last batch has 3 (2 + 1); validation_split takes 20%
    history = model.fit(x, y, batch_size=10 if shape else 8, epochs=4, verbose=2,
                        shuffle=True, validation_split=0.2, sample_weight=weights,
                        callbacks=callbacks)
    for key, values in history.history.items():
        results[f"history_{key}"] = numpy.asarray(values)
    results["evaluate"] = numpy.asarray(model.evaluate(x, y, batch_size=7, verbose=0))
    results["predict"] = model.predict(x, batch_size=6)
    # a batch of one sample: one rank has no sample and still joins the update
    results["train_on_batch"] = numpy.asarray(model.train_on_batch(x[:1], y[:1]))
    results["train_on_batch_3"] = numpy.asarray(model.train_on_batch(x[:3], y[:3]))
    for i, w in enumerate(model.get_weights()):
        results[f"weight_{i}"] = w
    model.save(os.path.join(OUT, "model.h5"))
    numpy.savez(os.path.join(OUT, f"{RANK}.npz"), **results)


class Batches(keras.utils.Sequence):
    """The same batches on every rank (each keeps its shard of each)."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        part = slice(i * self.size, (i + 1) * self.size)
        return self.x[part], self.y[part]


def run_sources():
    """Sequences, h5py datasets (read shard by shard), class weights, validation data, a
    prediction of one sample (one rank has none), early stopping."""
    import h5py
    results = {}
    x, y = data(47, (12,), 3)
    vx, vy = data(13, (12,), 3, seed=8)
    model = model_for("mlp")
    history = model.fit(Batches(x, y, 9), epochs=2, verbose=0, shuffle=False,
                        validation_data=Batches(vx, vy, 5), workers=0)
    results["sequence_loss"] = numpy.asarray(history.history["val_loss"])
    path = os.path.join(OUT, f"data_{RANK}.h5")
    with h5py.File(path, "w") as f:
        f["x"], f["y"] = x, y
    with h5py.File(path, "r") as f:
        history = model.fit(f["x"], f["y"], batch_size=6, epochs=3, verbose=0,
                            shuffle="batch", class_weight={0: 2.0, 1: 0.5},
                            validation_data=(vx, vy),
                            callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=0)])
    for key, values in history.history.items():
        results[f"history_{key}"] = numpy.asarray(values)
    results["evaluate_generator"] = numpy.asarray(
        model.evaluate_generator(Batches(vx, vy, 4), workers=0))
    results["predict_one"] = model.predict(x[:1])
    results["predict_generator"] = model.predict_generator(Batches(vx, vy, 4), workers=0)
    for i, w in enumerate(model.get_weights()):
        results[f"weight_{i}"] = w
    numpy.savez(os.path.join(OUT, f"{RANK}.npz"), **results)


def run_two_outputs():
    """A functional model with two inputs and two outputs, loss weights and per-output
    metrics, trained with a batch size that leaves a last batch of one sample."""
    numpy.random.seed(0 if RANK in (0, "single") else 1)
    a, b = keras.Input((6,), name="a"), keras.Input((4,), name="b")
    hidden = layers.Dense(8, activation="relu")(layers.Concatenate()([a, b]))
    label = layers.Dense(3, activation="softmax", name="label")(hidden)
    score = layers.Dense(1, name="score")(hidden)
    model = keras.Model([a, b], [label, score])
    model.compile("rmsprop", ["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.3],
                  metrics={"label": ["accuracy"], "score": ["mae"]})
    rng = numpy.random.default_rng(4)
    xa, xb = rng.normal(size=(31, 6)), rng.normal(size=(31, 4))
    ya, yb = rng.integers(0, 3, size=31), rng.normal(size=(31, 1))
    history = model.fit({"a": xa, "b": xb}, [ya, yb], batch_size=5, epochs=3, verbose=0)
    results = {f"history_{k}": numpy.asarray(v) for k, v in history.history.items()}
    results["evaluate"] = numpy.asarray(model.evaluate([xa, xb], [ya, yb], verbose=0))
    label_p, score_p = model.predict([xa, xb], batch_size=4)
    results["predict_label"], results["predict_score"] = label_p, score_p
    for i, w in enumerate(model.get_weights()):
        results[f"weight_{i}"] = w
    numpy.savez(os.path.join(OUT, f"{RANK}.npz"), **results)


def fail(how):
    """A rank that dies during training: the job must end, not hang."""
    x, y = data(400, (12,), 3)
    model = model_for("mlp")

    class Die(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if RANK == 1 and batch == 3:
                if how == "kill":
                    os.kill(os.getpid(), 9)
                if how == "hang":
                    time.sleep(600)
                raise ValueError("rank 1 fails on purpose")

    model.fit(x, y, batch_size=4, epochs=50, verbose=0, callbacks=[Die()])


if SCENARIO in ("kill", "raise", "hang"):
    fail(SCENARIO)
elif SCENARIO == "sources":
    run_sources()
elif SCENARIO == "two_outputs":
    run_two_outputs()
else:
    run()
