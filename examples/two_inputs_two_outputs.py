"""A two-input, two-output functional model on synthetic house data.

Inputs: ``rooms`` (6 numeric features of a house) and ``area`` (a one-hot neighbourhood,
4 choices). Outputs: ``price`` (regression) and ``segment`` (budget / mid / luxury, a
3-class classification). Both targets depend on both inputs, so the model must combine them.

Run: ``python examples/two_inputs_two_outputs.py`` (a few seconds on the CPU).
"""
import numpy as np

from gkeras import layers
from gkeras.layers import Dense, Input
from gkeras.models import Model

N_FEATURES, N_AREAS, N_SEGMENTS = 6, 4, 3


def make_data(n, rng):
    """Houses whose price is linear in their features plus a neighbourhood premium."""
    rooms = rng.standard_normal((n, N_FEATURES)).astype("float32")
    area_index = rng.integers(0, N_AREAS, n)
    area = np.eye(N_AREAS, dtype="float32")[area_index]
    feature_weights = np.array([1.0, -0.5, 0.8, 0.0, 0.3, -1.2], dtype="float32")
    area_premium = np.array([-1.5, 0.0, 0.5, 2.0], dtype="float32")
    price = rooms @ feature_weights + area_premium[area_index]
    price += 0.1 * rng.standard_normal(n).astype("float32")
    # segments by price tercile: 0 budget, 1 mid, 2 luxury
    segment = np.digitize(price, np.quantile(price, [1 / 3, 2 / 3]))
    return {"rooms": rooms, "area": area}, {"price": price[:, None], "segment": segment}


def build_model():
    rooms = Input(shape=(N_FEATURES,), name="rooms")
    area = Input(shape=(N_AREAS,), name="area")
    merged = layers.concatenate([Dense(16, activation="relu")(rooms),
                                 Dense(4, activation="relu")(area)])
    hidden = Dense(32, activation="relu")(merged)
    price = Dense(1, name="price")(hidden)
    segment = Dense(N_SEGMENTS, activation="softmax", name="segment")(hidden)
    return Model(inputs=[rooms, area], outputs=[price, segment])


def main(epochs=30, verbose=2):
    rng = np.random.default_rng(0)
    x_train, y_train = make_data(1000, rng)
    x_test, y_test = make_data(200, rng)

    model = build_model()
    model.compile(optimizer="adam",
                  loss={"price": "mse", "segment": "sparse_categorical_crossentropy"},
                  loss_weights={"price": 1.0, "segment": 0.5},
                  metrics={"price": ["mae"], "segment": ["accuracy"]})
    model.summary()
    history = model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=verbose,
                        validation_split=0.2)
    print("history keys:", list(history.history))
    results = model.evaluate(x_test, y_test, verbose=0)
    for name, value in zip(model.metrics_names, results):
        print(f"test {name}: {value:.4f}")
    price, segment = model.predict(x_test)
    print("first test house: predicted price %.2f (true %.2f), segment %d (true %d)"
          % (price[0, 0], y_test["price"][0, 0], segment[0].argmax(), y_test["segment"][0]))
    return model, history, results


if __name__ == "__main__":
    main()
