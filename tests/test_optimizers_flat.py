"""Flat buffers and fused steps (gkeras/optimizers/flat_buffers.py): every optimizer and option
gives the same trajectory over the flat buffers (``flat_buffers = True``) as variable by
variable (``flat_buffers = False``, the path of earlier releases), with mixed dtypes, several
shapes, None gradients and trainable toggles; every way of setting a variable keeps its value a
view of the buffer; the default (None) asks the backend."""
import numpy as np
import pytest

import gkeras
from gkeras import Variable, backend as K, constraints, layers, optimizers
from gkeras.optimizers import schedules

SHAPES = [(3, 4), (5,), (2, 3, 2), (1,), (4, 1)]
DTYPES = ["float32", "float32", "float64", "float32", "float64"]  # a float64 among float32s

OPTIMIZERS = [
    (optimizers.SGD, {"learning_rate": 0.1}),
    (optimizers.SGD, {"learning_rate": 0.1, "momentum": 0.9}),
    (optimizers.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    (optimizers.RMSprop, {}),
    (optimizers.RMSprop, {"centered": True, "momentum": 0.5}),
    (optimizers.Adagrad, {"learning_rate": 0.1}),
    (optimizers.Adadelta, {"learning_rate": 1.0}),
    (optimizers.Adam, {"learning_rate": 0.01}),
    (optimizers.Adam, {"learning_rate": 0.01, "amsgrad": True}),
    (optimizers.Adamax, {"learning_rate": 0.01}),
    (optimizers.Nadam, {"learning_rate": 0.01}),
    (optimizers.Nadam, {"learning_rate": 0.01, "schedule_decay": 0.004}),
]
OPTIONS = {
    "plain": {},
    "clipvalue": {"clipvalue": 0.3},
    "clipnorm": {"clipnorm": 0.5},
    "global_clipnorm": {"global_clipnorm": 0.5},
    "weight_decay": {"weight_decay": 0.05},
    "keras2_decay": {"decay": 0.1},
    "schedule": {"learning_rate": "schedule"},
    "loss_scale_factor": {"loss_scale_factor": 8.0},
}
# clipnorm's per-variable sums are one add.reduceat over the flat gradient and global_clipnorm's
# one sum per dtype: other summation orders than per-variable np.sum, so the clipping scale may
# differ in its last bits -- those of float32 for every variable when float32 ones are summed
# into the global norm; everything else runs the same operations on the same elements.
SUMMED = {"clipnorm", "global_clipnorm"}


def _variables(seed=0):
    rng = np.random.default_rng(seed)
    return [Variable(rng.standard_normal(shape), dtype=dtype, name=f"v{i}")
            for i, (shape, dtype) in enumerate(zip(SHAPES, DTYPES))]


def _gradients(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(shape).astype(dtype) for shape, dtype in zip(SHAPES, DTYPES)]
            for _ in range(steps)]


def _make(cls, kwargs, option):
    kwargs = {**kwargs, **OPTIONS[option]}
    if kwargs.get("learning_rate") == "schedule":
        kwargs["learning_rate"] = schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)
    if cls is optimizers.Nadam and "decay" in kwargs:
        kwargs.pop("decay")  # Keras 2's Nadam has no learning-rate decay
    return cls(**kwargs)


def _run(cls, kwargs, option, flat, grads, none_at=None):
    variables = _variables()
    optimizer = _make(cls, kwargs, option)
    optimizer.flat_buffers = flat
    if option == "weight_decay":
        optimizer.exclude_from_weight_decay(var_list=[variables[1]])
    for step, step_grads in enumerate(grads):
        step_grads = list(step_grads)
        if step == none_at:
            step_grads[2] = None
        with pytest.warns(UserWarning) if step == none_at else _nothing():
            optimizer.apply(step_grads, variables)
    return variables, optimizer


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _assert_same(a, b, exact, what):
    assert a.dtype == b.dtype, what
    if exact:
        np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7, err_msg=what)


def _assert_views(optimizer):
    groups = optimizer._flat_groups
    assert groups, "the flat path did not run"
    for group in groups:
        buffers = [group.weights] + [s for s in group.slots if s is not None]
        for buffer in buffers:
            for variable in buffer.variables:
                assert np.shares_memory(variable.value, buffer.array), variable.path


@pytest.mark.parametrize("option", list(OPTIONS))
@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS,
                         ids=[f"{c.__name__}{sorted(k)}" for c, k in OPTIMIZERS])
def test_flat_and_per_variable_trajectories_agree(cls, kwargs, option):
    grads = _gradients(5)
    flat_vars, flat = _run(cls, kwargs, option, True, grads)
    plain_vars, plain = _run(cls, kwargs, option, False, grads)
    _assert_views(flat)
    assert plain._flat_groups is None
    exact = option not in SUMMED
    for a, b in zip(flat_vars, plain_vars):
        _assert_same(a.numpy(), b.numpy(), exact, a.path)
    for a, b in zip(flat.get_weights(), plain.get_weights()):
        _assert_same(np.asarray(a), np.asarray(b), exact, "optimizer state")
    assert int(flat.iterations) == int(plain.iterations) == 5


@pytest.mark.parametrize("cls,kwargs", OPTIMIZERS,
                         ids=[f"{c.__name__}{sorted(k)}" for c, k in OPTIMIZERS])
def test_a_none_gradient_takes_the_per_variable_path_for_that_step(cls, kwargs):
    grads = _gradients(5)
    flat_vars, flat = _run(cls, kwargs, "plain", True, grads, none_at=2)
    plain_vars, _ = _run(cls, kwargs, "plain", False, grads, none_at=2)
    _assert_views(flat)
    for a, b in zip(flat_vars, plain_vars):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_clipnorm_with_an_empty_variable():
    shapes = [(3,), (0,), (2, 2)]
    results = []
    for flat in (True, False):
        variables = [Variable(np.ones(s), name=f"v{i}") for i, s in enumerate(shapes)]
        optimizer = optimizers.SGD(0.1, clipnorm=0.5)
        optimizer.flat_buffers = flat
        for _ in range(2):
            optimizer.apply([np.full(s, 2.0, "float32") for s in shapes], variables)
        results.append([v.numpy() for v in variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(results[0][0], 1 - 2 * 0.1 * 0.5 * 2 / np.sqrt(12), rtol=1e-6)


# ---- models: trainable toggles, and every way of setting a weight ---------------------------

def _model(seed=0):
    gkeras.utils.set_random_seed(seed)
    model = gkeras.Sequential([
        layers.Dense(6, activation="tanh", input_shape=(4,),
                     kernel_constraint=constraints.MaxNorm(1.5)),
        layers.BatchNormalization(),
        layers.Dense(3, activation="softmax")])
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    return x, y


def _compiled(flat, optimizer=None):
    model = _model()
    optimizer = optimizer or optimizers.Adam(0.01)
    optimizer.flat_buffers = flat
    model.compile(optimizer, "categorical_crossentropy")
    return model


def _fit(model, epochs=1):
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)


def _assert_models_equal(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def _assert_model_views(model):
    optimizer = model.optimizer
    _assert_views(optimizer)
    homed = {id(v) for g in optimizer._flat_groups for v in g.weights.variables}
    assert all(id(v) in homed for v in optimizer._trainable_variables)
    assert not any(id(v) in homed for v in model.non_trainable_weights)  # BN's moving stats


def test_toggling_trainable_without_recompiling_behaves_as_per_variable():
    flat, plain = _compiled(True), _compiled(False)
    for model in (flat, plain):
        _fit(model)
        model.layers[0].trainable = False  # no recompile: the next fit trains the others
        frozen = [w.numpy() for w in model.layers[0].weights]
        _fit(model)
        for before, w in zip(frozen, model.layers[0].weights):
            np.testing.assert_array_equal(before, w.numpy())
        model.layers[0].trainable = True
        _fit(model)
    _assert_models_equal(flat, plain)
    _assert_model_views(flat)


def test_unfreezing_a_variable_the_optimizer_was_not_built_with_fails_as_before():
    for flat in (True, False):
        model = _model()
        model.layers[0].trainable = False
        optimizer = optimizers.SGD(0.1)
        optimizer.flat_buffers = flat
        model.compile(optimizer, "categorical_crossentropy")
        _fit(model)
        model.layers[0].trainable = True
        with pytest.raises(ValueError, match="unknown variable"):
            _fit(model)


def _set_every_way(model, tmp_path, source):
    """Sets the model's weights through every public path, each to ``source``'s values."""
    kernel = model.layers[0].kernel
    kernel.assign(source.layers[0].kernel.numpy())
    kernel.assign_add(np.zeros(kernel.shape, "float32"))
    K.set_value(model.layers[0].bias, source.layers[0].bias.numpy())
    model.layers[2].set_weights(source.layers[2].get_weights())
    model.set_weights(source.get_weights())
    source.save_weights(str(tmp_path / "w.h5"))
    model.load_weights(str(tmp_path / "w.h5"))
    model.optimizer.set_weights(model.optimizer.get_weights())


def test_every_way_of_setting_weights_keeps_the_views_and_training(tmp_path):
    model, reference = _compiled(True), _compiled(False)
    source = _model(seed=5)
    for m in (model, reference):
        _fit(m)
        _set_every_way(m, tmp_path, source)
        _fit(m)
    _assert_model_views(model)
    _assert_models_equal(model, reference)
    np.testing.assert_array_equal(model.optimizer.get_weights()[2],
                                  reference.optimizer.get_weights()[2])


def test_keras_archive_round_trip_resumes_identically(tmp_path):
    model = _compiled(True)
    _fit(model)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = gkeras.models.load_model(path)
    _fit(model)
    _fit(loaded)
    _assert_model_views(loaded)
    _assert_models_equal(model, loaded)


def test_a_constraint_writes_into_the_buffer():
    model = _compiled(True, optimizers.SGD(5.0))
    _fit(model)
    kernel = model.layers[0].kernel
    assert np.all(np.sqrt((kernel.numpy() ** 2).sum(axis=0)) <= 1.5 + 1e-6)
    _assert_model_views(model)


def test_setting_a_value_of_another_shape_is_refused():
    model = _compiled(True)
    _fit(model)
    with pytest.raises(ValueError, match="flat buffer"):
        model.layers[0].kernel.value = np.zeros((2, 2), "float32")
    with pytest.raises(ValueError, match="shape"):
        model.layers[0].kernel.assign(np.zeros((2, 2)))


def test_a_second_optimizer_takes_the_variables_and_the_first_takes_them_back():
    flat, plain = _compiled(True, optimizers.SGD(0.1, momentum=0.9)), \
        _compiled(False, optimizers.SGD(0.1, momentum=0.9))
    first_flat, first_plain = flat.optimizer, plain.optimizer
    for model, first in ((flat, first_flat), (plain, first_plain)):
        _fit(model)
        second = optimizers.Adam(0.01)
        second.flat_buffers = first.flat_buffers
        model.compile(second, "categorical_crossentropy")
        _fit(model)
        model.compile(first, "categorical_crossentropy")  # built already: re-homes
        _fit(model)
    _assert_model_views(flat)
    _assert_models_equal(flat, plain)


def test_variables_are_views_of_one_buffer():
    model = _compiled(True)
    _fit(model)
    kernel, bias = model.layers[0].kernel, model.layers[0].bias
    assert kernel.value.base is bias.value.base
    sizes = sum(w.size for w in model.trainable_weights)
    assert kernel.value.base.size == sizes


def test_a_lone_variable_keeps_its_array():
    w = Variable(np.ones((3, 4)), dtype="float32")
    array = w.value
    optimizer = optimizers.Adam()
    optimizer.flat_buffers = True
    optimizer.apply([np.ones((3, 4), "float32")], [w])
    assert w.value is array
    assert optimizer._flat_groups[0].weights.array.base is array


def test_by_default_the_backend_decides():
    from gkeras.backends.numpy_backend import NumpyBackend
    backend = NumpyBackend()
    assert backend.flat_update_pays_off([1000] * 40)
    assert not backend.flat_update_pays_off([401408, 512, 262144, 512, 5120, 10])  # an MLP
    assert not backend.flat_update_pays_off([50])  # one variable: nothing to save
    small = [Variable(np.ones(10), name=f"s{i}") for i in range(3)]
    optimizer = optimizers.SGD(0.1)
    optimizer.apply([np.ones(10)] * 3, small)
    assert optimizer._flat_groups is not None
    large = [Variable(np.ones(100000), name=f"l{i}") for i in range(2)]
    optimizer = optimizers.SGD(0.1)
    optimizer.apply([np.ones(100000)] * 2, large)
    assert optimizer._flat_groups is None and large[0]._home is None


def test_a_variable_listed_twice_is_updated_twice_as_before():
    results = []
    for flat in (True, False):
        w, v = Variable(np.ones(3), name="w"), Variable(np.ones(2), name="v")
        optimizer = optimizers.SGD(0.1, momentum=0.9)
        optimizer.flat_buffers = flat
        for _ in range(2):
            optimizer.apply([np.ones(3), np.ones(2), np.ones(3)], [w, v, w])
        assert optimizer._flat_groups is None
        results.append((w.numpy(), v.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
