"""Keras 2.2.4's optimizer spellings: the lowercase aliases, `lr`, `epsilon=None`, Nadam's
`schedule_decay`, and `decay` applied as Keras 2 applies it, checked by value against real
Keras 2 (tf_keras's legacy optimizers, which apply the same ``lr / (1 + decay * iterations)``
rule; the values below were computed with them -- tests/fixtures/
make_keras2_optimizer_reference.py prints them -- and hard-coded here)."""
import numpy as np
import pytest

import gkeras
from gkeras import Variable, callbacks, config, optimizers
from gkeras.optimizers import schedules
from gkeras.saving import hdf5

W0 = [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -0.7], [1.5, 0.0]])]
GRADS = [[np.array([0.5, -1.0, 0.25]) * (1 + 0.3 * k) * (-1) ** k,
          np.array([[0.2, -0.1], [-0.4, 0.05]]) * (1 - 0.2 * k)] for k in range(6)]


def final_weights(optimizer, steps=len(GRADS)):
    variables = [Variable(w, dtype="float64", name=f"w{i}") for i, w in enumerate(W0)]
    for grads in GRADS[:steps]:
        optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables]


def f32(number):
    """A hyperparameter as tf_keras keeps it (a float32 variable: 0.1 -> 0.10000000149)."""
    return float(np.float32(number))


# tf_keras.optimizers.legacy.<Class>(...) after the six GRADS steps, float64 variables; the
# gkeras optimizer holds the hyperparameters tf_keras rounds to float32 rounded alike.
TF_KERAS_LEGACY = {
    "SGD(learning_rate=0.1, decay=0.5)": (
        optimizers.SGD(lr=f32(0.1), decay=f32(0.5)),
        [[0.9903809522376172, -1.9807619044752345, 0.4951904761188086],
         [[0.25879999938607207, -0.6793999996930361],
          [1.5824000012278554, -0.01030000015348196]]]),
    "SGD(learning_rate=0.1, momentum=0.9, decay=0.25)": (
        optimizers.sgd(lr=f32(0.1), momentum=f32(0.9), decay=0.25),
        [[0.8934222142082329, -1.7868444284164657, 0.44671110710411643],
         [[0.11017035502769074, -0.6050851775138452],
          [1.8796592899446183, -0.04745741124307731]]]),
    "SGD(learning_rate=0.1, momentum=0.8, nesterov=True, decay=0.3)": (
        optimizers.SGD(lr=f32(0.1), momentum=f32(0.8), nesterov=True,
                       decay=f32(0.3)),
        [[0.934412794209792, -1.868825588419584, 0.467206397104896],
         [[0.13348715358589197, -0.6167435767929459],
          [1.833025692828216, -0.041628211603527004]]]),
    "Adam(learning_rate=0.1, decay=0.2)": (
        optimizers.adam(lr=f32(0.1), beta_1=f32(0.9), beta_2=f32(0.999), decay=f32(0.2)),
        [[0.8945087073051636, -1.8945083906376086, 0.39450934063436105],
         [[-0.09146931829048194, -0.30853555315510284],
          [1.8914717540599872, -0.39145470432741347]]]),
    "Adam(learning_rate=0.1, decay=0.2, amsgrad=True, epsilon=1e-3)": (
        optimizers.Adam(lr=f32(0.1), beta_1=f32(0.9), beta_2=f32(0.999), decay=f32(0.2),
                        amsgrad=True, epsilon=1e-3),
        [[0.9004706645140275, -1.8975792372146691, 0.4057747327556539],
         [[-0.04824971200902284, -0.38622132966310174],
          [1.8685609003297936, -0.2621205736371083]]]),
    "Adamax(learning_rate=0.1, decay=0.4)": (
        optimizers.adamax(lr=f32(0.1), beta_1=f32(0.9), beta_2=f32(0.999), decay=f32(0.4)),
        [[0.8980406435388454, -1.8980406335641966, 0.39804066348813666],
         [[0.025301713856594757, -0.4253018514076834],
          [1.7746983549190014, -0.27469787349055214]]]),
    # the schedule's rate at step i, divided by (1 + decay * i)
    "SGD(learning_rate=ExponentialDecay(0.1, 2, 0.5), decay=0.5)": (
        optimizers.SGD(schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
                       decay=0.5),
        [[0.971223110574342, -1.942446221148684, 0.485611555287171],
         [[0.2679928227365017, -0.6839964113682508],
          [1.5640143545269967, -0.008001794315874576]]]),
    # Keras 2's momentum schedule 0.96**(t * 0.004); no learning-rate decay
    "Nadam(learning_rate=0.1, schedule_decay=0.004)": (
        optimizers.nadam(lr=f32(0.1), beta_1=f32(0.9), beta_2=f32(0.999),
                         schedule_decay=0.004),
        [[0.9716832481815865, -1.9716832432226896, 0.4716832580993764],
         [[-0.0261928093377603, -0.3738073853458634],
          [1.8261929066796618, -0.3261922252876045]]]),
}


@pytest.mark.parametrize("name", sorted(TF_KERAS_LEGACY))
def test_decay_matches_keras2(name):
    optimizer, want = TF_KERAS_LEGACY[name]
    got = final_weights(optimizer)
    for g, w in zip(got, want):
        # tf_keras computes the schedule (and Nadam's momentum cache) partly in float32
        np.testing.assert_allclose(g, w, rtol=1e-7 if "Exponential" in name else 1e-9,
                                   atol=1e-14)
    assert optimizer.learning_rate == pytest.approx(  # the rate before decay
        0.1 if "Exponential" not in name else 0.1 * 0.5 ** 3)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop, optimizers.Adam,
                                 optimizers.Adagrad, optimizers.Adadelta, optimizers.Adamax])
def test_decay_is_the_keras2_rate_for_every_optimizer(cls):
    """decay=d trains exactly as the rate ``lr / (1 + d * iterations)`` given as a callable
    (iterations: the updates applied before this one)."""
    decayed = cls(learning_rate=0.3, decay=0.7)
    rates = []

    def keras2_rate():
        rates.append(0.3 * (1.0 / (1.0 + 0.7 * int(by_hand.iterations))))
        return rates[-1]

    by_hand = cls(learning_rate=keras2_rate)
    for got, want in zip(final_weights(decayed), final_weights(by_hand)):
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert rates[0] == 0.3 and rates[1] == pytest.approx(0.3 / 1.7)
    assert not np.allclose(final_weights(cls(learning_rate=0.3))[0], final_weights(
        cls(learning_rate=0.3, decay=0.7))[0])  # decay changes the trajectory


def test_lowercase_aliases_are_the_classes():
    for alias, cls in [("sgd", "SGD"), ("rmsprop", "RMSprop"), ("adagrad", "Adagrad"),
                       ("adadelta", "Adadelta"), ("adam", "Adam"), ("adamax", "Adamax"),
                       ("nadam", "Nadam")]:
        assert getattr(optimizers, alias) is getattr(optimizers, cls)


def test_epsilon_none_is_the_fuzz_factor():
    assert optimizers.Adam(epsilon=None).epsilon == 1e-7
    assert optimizers.RMSprop(epsilon=None).get_config()["epsilon"] == 1e-7
    old = config.epsilon()
    try:
        config.set_epsilon(1e-4)
        for cls in (optimizers.RMSprop, optimizers.Adagrad, optimizers.Adadelta,
                    optimizers.Adam, optimizers.Adamax, optimizers.Nadam):
            assert cls(epsilon=None).epsilon == 1e-4, cls.__name__
    finally:
        config.set_epsilon(old)


def test_keras2_configs_load():
    """Configs as Keras 2.2.4's get_config writes them (HDF5 files' training_config)."""
    adam = optimizers.deserialize({"class_name": "Adam", "config": {
        "lr": 0.002, "beta_1": 0.8, "beta_2": 0.99, "decay": 0.01, "epsilon": 1e-07,
        "amsgrad": True, "clipnorm": 1.0}})
    assert (adam.learning_rate, adam.decay, adam.amsgrad, adam.clipnorm) == (0.002, 0.01, True,
                                                                             1.0)
    nadam = optimizers.deserialize({"class_name": "Nadam", "config": {
        "lr": 0.002, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "schedule_decay": 0.004,
        "clipvalue": 0.5}})
    assert (nadam.schedule_decay, nadam.decay, nadam.clipvalue) == (0.004, 0.0, 0.5)
    sgd = optimizers.get({"class_name": "sgd", "config": {
        "lr": 0.01, "momentum": 0.9, "decay": 1e-6, "nesterov": True}})
    assert (sgd.learning_rate, sgd.momentum, sgd.decay, sgd.nesterov) == (0.01, 0.9, 1e-6, True)
    # tf_keras's legacy Nadam writes schedule_decay as `decay` (HDF5 training_config)
    legacy = hdf5._optimizer_from_config({"class_name": "Nadam", "config": {
        "name": "Nadam", "learning_rate": 0.001, "decay": 0.004, "beta_1": 0.9,
        "beta_2": 0.999, "epsilon": 1e-07}}, None)
    assert (legacy.schedule_decay, legacy.decay) == (0.004, 0.0)


def test_decay_in_config_and_round_trip():
    opt = optimizers.SGD(lr=0.1, momentum=0.5, decay=0.25)
    config_ = opt.get_config()
    assert config_["decay"] == 0.25 and config_["learning_rate"] == 0.1
    copy = optimizers.deserialize(optimizers.serialize(opt))
    assert copy.decay == 0.25 and copy.get_config() == config_
    assert "decay" not in optimizers.SGD().get_config()  # Keras 3's config when unused
    nadam = optimizers.Nadam(schedule_decay=0.004)
    assert optimizers.Nadam.from_config(nadam.get_config()).schedule_decay == 0.004
    assert "schedule_decay" not in optimizers.Nadam().get_config()


def test_bad_keras2_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="`decay`.*float >= 0.*-0.1"):
        optimizers.SGD(decay=-0.1)
    with pytest.raises(ValueError, match="decay='fast'"):
        optimizers.Adam(decay="fast")
    # Keras 2.2.4's SGD(lr, momentum, decay, nesterov) positionally
    with pytest.raises(ValueError, match="SGD: `nesterov` must be a bool.*pass decay=1e-06"):
        optimizers.SGD(0.01, 0.9, 1e-6)
    with pytest.raises(ValueError, match="Adam: `amsgrad` must be a bool.*decay"):
        optimizers.Adam(0.001, 0.9, 0.999, None, 0.01)
    with pytest.raises(ValueError, match="Nadam.*no learning-rate `decay`.*schedule_decay"):
        optimizers.Nadam(decay=0.01)
    with pytest.raises(ValueError, match="schedule_decay=-1"):
        optimizers.Nadam(schedule_decay=-1)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.SGD(lr_decay=0.1)


# ---- fit with decay and the callbacks that set the rate, against tf_keras (float32) -------

X = np.array([[0.09762700647115707, 0.4303787350654602, 0.20552675426006317],
              [0.08976636826992035, -0.15269039571285248, 0.2917882204055786],
              [-0.12482557445764542, 0.7835460305213928, 0.9273255467414856],
              [-0.2331169694662094, 0.5834500789642334, 0.057789839804172516],
              [0.13608911633491516, 0.8511932492256165, -0.8579278588294983],
              [-0.8257414102554321, -0.9595631957054138, 0.665239691734314],
              [0.5563135147094727, 0.7400242686271667, 0.9572367072105408],
              [0.5983171463012695, -0.07704127579927444, 0.5610583424568176]], "float32")
Y = np.array([[-0.7634511590003967, 0.2798420488834381],
              [-0.7132934331893921, 0.8893378376960754],
              [0.04369664192199707, -0.170676127076149],
              [-0.47088876366615295, 0.5484673976898193],
              [-0.08769933879375458, 0.13686789572238922],
              [-0.9624204039573669, 0.23527099192142487],
              [0.22419144213199615, 0.23386798799037933],
              [0.8874961733818054, 0.36364060640335083]], "float32")
KERNEL = np.array([[-0.28098419308662415, -0.1259360909461975],
                   [0.39526239037513733, -0.8795490860939026],
                   [0.3335334360599518, 0.34127575159072876]], "float32")
BIAS = np.array([0.1, -0.2], "float32")

# tf_keras: Dense(2) on X, mse, batch_size=4, epochs=4, shuffle=False:
# (final kernel, final bias, loss history, optimizer.lr at the end)
FIT_CASES = {
    "scheduler": (
        lambda: optimizers.SGD(lr=0.1, momentum=0.5, decay=0.1),
        lambda: callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5 if e > 0 else lr),
        [[-0.17858590185642242, -0.04422697052359581], [0.34476372599601746, -0.6338915824890137],
         [0.2353101223707199, 0.3347019553184509]], [-0.17590391635894775, 0.12266089767217636],
        [0.6916017532348633, 0.4842661917209625, 0.38730159401893616, 0.350688636302948],
        0.0125),
    "plateau": (
        lambda: optimizers.SGD(lr=0.1, momentum=0.5, decay=0.1),
        lambda: callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                            min_delta=10.0),
        [[-0.1392843872308731, -0.020069453865289688], [0.3360116183757782, -0.5637304186820984],
         [0.21464018523693085, 0.3184863328933716]], [-0.2421954870223999, 0.20003657042980194],
        [0.6916017532348633, 0.4814818799495697, 0.3467036187648773, 0.2976187467575073],
        0.0125),
    "adam": (
        lambda: optimizers.Adam(lr=0.05, decay=0.3), None,
        [[-0.10234586894512177, -0.07399079203605652], [0.2865760028362274, -0.6694841980934143],
         [0.14472350478172302, 0.3841535151004791]], [-0.08548993617296219, 0.009024529717862606],
        [0.6985206604003906, 0.5488482117652893, 0.4719628095626831, 0.42239952087402344],
        0.05),
}


def dense_model(optimizer):
    model = gkeras.Sequential([gkeras.layers.Dense(2, input_shape=(3,))])
    model.set_weights([KERNEL, BIAS])
    model.compile(optimizer, "mse")
    return model


@pytest.mark.parametrize("name", sorted(FIT_CASES))
def test_fit_with_decay_and_rate_callbacks_matches_keras2(name):
    make_optimizer, make_callback, kernel, bias, losses, final_lr = FIT_CASES[name]
    model = dense_model(make_optimizer())
    history = model.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0,
                        callbacks=[make_callback()] if make_callback else [])
    np.testing.assert_allclose(history.history["loss"], losses, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(model.get_weights()[0], kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], bias, rtol=1e-5, atol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(final_lr)
    assert int(model.optimizer.iterations) == 8


@pytest.mark.parametrize("filename", ["model.h5", "model.keras"])
def test_decay_survives_save_and_load(tmp_path, filename):
    """Two epochs, save (with the optimizer state: the step count drives the decay), load,
    two more: the same weights as four epochs in one go."""
    straight = dense_model(optimizers.SGD(lr=0.1, momentum=0.5, decay=0.1))
    straight.fit(X, Y, batch_size=4, epochs=4, shuffle=False, verbose=0)
    first = dense_model(optimizers.SGD(lr=0.1, momentum=0.5, decay=0.1))
    first.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    first.save(tmp_path / filename)
    resumed = gkeras.models.load_model(tmp_path / filename)
    assert resumed.optimizer.decay == 0.1 and int(resumed.optimizer.iterations) == 4
    resumed.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for got, want in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
