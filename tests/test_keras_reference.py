"""gkeras replays training runs recorded with real Keras 3 (tests/fixtures/k3_training.npz,
made by tests/fixtures/make_training_reference.py): same data, initial weights, optimizer and
loss, no shuffling; the per-epoch history and the final weights must agree."""
import os

import numpy as np
import pytest

import gkeras
from gkeras import optimizers

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "k3_training.npz")

CASES = {
    "sgd_momentum_cce": (optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                         "categorical_crossentropy", "softmax", ["accuracy"]),
    "adam_sparse": (optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy",
                    "softmax", ["accuracy"]),
    "rmsprop_mse": (optimizers.RMSprop(learning_rate=0.01), "mse", "linear", ["mae"]),
    "nadam_bce": (optimizers.Nadam(learning_rate=0.01), "binary_crossentropy", "sigmoid",
                  ["accuracy"]),
    "adagrad_cce": (optimizers.Adagrad(learning_rate=0.1), "categorical_crossentropy",
                    "softmax", ["accuracy"]),
    "adadelta_mse": (optimizers.Adadelta(learning_rate=1.0), "mse", "tanh", ["mae"]),
    "adamax_cce": (optimizers.Adamax(learning_rate=0.02), "categorical_crossentropy",
                   "softmax", ["accuracy"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_training_matches_keras3(name):
    ref = np.load(FIXTURE)
    optimizer, loss, activation, metrics = CASES[name]
    x, y = ref[f"{name}/x"], ref[f"{name}/y"]
    units = ref[f"{name}/final_3"].shape[0]
    model = gkeras.Sequential([gkeras.layers.Dense(8, activation="relu", input_shape=(6,)),
                               gkeras.layers.Dense(units, activation=activation)])
    model.set_weights([ref[f"{name}/initial_{i}"] for i in range(4)])
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    history = model.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)

    keys = sorted(k.split("/history_", 1)[1] for k in ref.files
                  if k.startswith(f"{name}/history_"))
    assert sorted(history.history) == keys
    for key in keys:
        np.testing.assert_allclose(history.history[key], ref[f"{name}/history_{key}"],
                                   rtol=2e-5, atol=2e-6, err_msg=key)
    for i, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, ref[f"{name}/final_{i}"], rtol=1e-4, atol=2e-6)
