"""gkeras.optimizers: trajectories against the published update rules (plain NumPy references
written here), hand-computed first steps, clipping, weight decay, schedules, configs and the
custom-training-loop API."""
import math

import numpy as np
import pytest

import gkeras
from gkeras import GradientTape, Tensor, Variable, constraints, ops, optimizers
from gkeras.optimizers import schedules

EPS = 1e-7
W0 = [np.array([1.0, -2.0, 0.5]), np.array([[0.3, -0.7], [1.5, 0.0]])]
# A fixed gradient sequence per weight (varied so every moment estimate matters).
GRADS = [[np.array([0.5, -1.0, 0.25]) * (1 + 0.3 * k) * (-1) ** k,
          np.array([[0.2, -0.1], [-0.4, 0.05]]) * (1 - 0.2 * k)] for k in range(6)]


# ---- NumPy references: the update rules as published (Keras 3 docs, the papers) ------------

def ref_sgd(lr, momentum=0.0, nesterov=False):
    def step(w, g, s, t):
        if momentum == 0:
            return w - lr * g
        s["v"] = momentum * s.get("v", 0.0) - lr * g
        return w + momentum * s["v"] - lr * g if nesterov else w + s["v"]
    return step


def ref_rmsprop(lr, rho=0.9, momentum=0.0, epsilon=EPS, centered=False):
    def step(w, g, s, t):
        s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g ** 2
        if centered:
            s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
            increment = lr * g / np.sqrt(s["v"] - s["a"] ** 2 + epsilon)
        else:
            increment = lr * g / np.sqrt(s["v"] + epsilon)
        if momentum > 0:
            s["m"] = momentum * s.get("m", 0.0) + increment
            return w - s["m"]
        return w - increment
    return step


def ref_adam(lr, beta_1=0.9, beta_2=0.999, epsilon=EPS, amsgrad=False):
    def step(w, g, s, t):
        s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
        s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g ** 2
        v = s["v"]
        if amsgrad:
            s["vmax"] = v = np.maximum(s.get("vmax", 0.0), s["v"])
        alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        return w - alpha * s["m"] / (np.sqrt(v) + epsilon)
    return step


def ref_adagrad(lr, initial_accumulator_value=0.1, epsilon=EPS):
    def step(w, g, s, t):
        s["acc"] = s.get("acc", initial_accumulator_value) + g ** 2
        return w - lr * g / np.sqrt(s["acc"] + epsilon)
    return step


def ref_adadelta(lr, rho=0.95, epsilon=EPS):
    def step(w, g, s, t):
        s["eg2"] = rho * s.get("eg2", 0.0) + (1 - rho) * g ** 2
        delta = -np.sqrt(s.get("ed2", 0.0) + epsilon) / np.sqrt(s["eg2"] + epsilon) * g
        s["ed2"] = rho * s.get("ed2", 0.0) + (1 - rho) * delta ** 2
        return w + lr * delta
    return step


def ref_adamax(lr, beta_1=0.9, beta_2=0.999, epsilon=EPS):
    def step(w, g, s, t):
        s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
        s["u"] = np.maximum(beta_2 * s.get("u", 0.0), np.abs(g))
        return w - lr / (1 - beta_1 ** t) * s["m"] / (s["u"] + epsilon)
    return step


def ref_nadam(lr, beta_1=0.9, beta_2=0.999, epsilon=EPS):
    # The momentum schedule is shared by all weights: keep its running product per step.
    products = {0: 1.0}

    def mu(t):
        return beta_1 * (1 - 0.5 * 0.96 ** t)

    def step(w, g, s, t):
        if t not in products:
            products[t] = products[t - 1] * mu(t)
        s["m"] = beta_1 * s.get("m", 0.0) + (1 - beta_1) * g
        s["v"] = beta_2 * s.get("v", 0.0) + (1 - beta_2) * g ** 2
        m_hat = (mu(t + 1) * s["m"] / (1 - products[t] * mu(t + 1))
                 + (1 - mu(t)) * g / (1 - products[t]))
        v_hat = s["v"] / (1 - beta_2 ** t)
        return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return step


def reference_trajectory(ref_step, steps=len(GRADS)):
    weights = [w.copy() for w in W0]
    states = [{} for _ in W0]
    path = []
    for t in range(1, steps + 1):
        weights = [ref_step(w, g, s, t) for w, g, s in zip(weights, GRADS[t - 1], states)]
        path.append([w.copy() for w in weights])
    return path


def optimizer_trajectory(optimizer, steps=len(GRADS), dtype="float64"):
    variables = [Variable(w, dtype=dtype, name=f"w{i}") for i, w in enumerate(W0)]
    path = []
    for t in range(steps):
        optimizer.apply_gradients(zip([g.astype(dtype) for g in GRADS[t]], variables))
        path.append([v.numpy() for v in variables])
    return path


CASES = [
    (optimizers.SGD, dict(learning_rate=0.1), ref_sgd(0.1)),
    (optimizers.SGD, dict(learning_rate=0.1, momentum=0.9), ref_sgd(0.1, 0.9)),
    (optimizers.SGD, dict(learning_rate=0.1, momentum=0.8, nesterov=True),
     ref_sgd(0.1, 0.8, True)),
    (optimizers.RMSprop, dict(learning_rate=0.05), ref_rmsprop(0.05)),
    (optimizers.RMSprop, dict(learning_rate=0.05, rho=0.8, momentum=0.5, centered=True),
     ref_rmsprop(0.05, 0.8, 0.5, centered=True)),
    (optimizers.RMSprop, dict(learning_rate=0.05, momentum=0.3), ref_rmsprop(0.05, momentum=0.3)),
    (optimizers.Adam, dict(learning_rate=0.1), ref_adam(0.1)),
    (optimizers.Adam, dict(learning_rate=0.1, beta_1=0.5, beta_2=0.9, epsilon=1e-3,
                           amsgrad=True), ref_adam(0.1, 0.5, 0.9, 1e-3, amsgrad=True)),
    (optimizers.Adagrad, dict(learning_rate=0.1), ref_adagrad(0.1)),
    (optimizers.Adagrad, dict(learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-3),
     ref_adagrad(0.1, 0.5, 1e-3)),
    (optimizers.Adadelta, dict(learning_rate=1.0), ref_adadelta(1.0)),
    (optimizers.Adadelta, dict(learning_rate=0.5, rho=0.9, epsilon=1e-4),
     ref_adadelta(0.5, 0.9, 1e-4)),
    (optimizers.Adamax, dict(learning_rate=0.1), ref_adamax(0.1)),
    (optimizers.Adamax, dict(learning_rate=0.1, beta_1=0.7, beta_2=0.8), ref_adamax(0.1, 0.7, 0.8)),
    (optimizers.Nadam, dict(learning_rate=0.1), ref_nadam(0.1)),
    (optimizers.Nadam, dict(learning_rate=0.1, beta_1=0.6, beta_2=0.95, epsilon=1e-4),
     ref_nadam(0.1, 0.6, 0.95, 1e-4)),
]


@pytest.mark.parametrize("cls,kwargs,ref", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_trajectory_matches_published_rule(cls, kwargs, ref):
    got = optimizer_trajectory(cls(**kwargs))
    want = reference_trajectory(ref)
    for step, (g_weights, w_weights) in enumerate(zip(got, want)):
        for g, w in zip(g_weights, w_weights):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=f"step {step + 1}")
    # the weights really moved
    assert not np.allclose(got[-1][0], W0[0])


def first_step(optimizer, w, g):
    v = Variable(np.array([w]), dtype="float64")
    optimizer.apply([np.array([g])], [v])
    return float(v.numpy()[0])


def test_hand_computed_first_steps():
    assert first_step(optimizers.SGD(0.1), 1.0, 0.5) == pytest.approx(0.95, abs=1e-15)
    # Keras's RMSprop docstring: var 10, loss var**2/2, lr 0.1 -> 9.683772
    assert first_step(optimizers.RMSprop(0.1), 10.0, 10.0) == pytest.approx(9.683772, abs=1e-6)
    # Adam step 1: m = 0.05, v = 0.00025, alpha = 0.1*sqrt(0.001)/0.1; update ~ lr*sign(g)
    assert first_step(optimizers.Adam(0.1), 1.0, 0.5) == pytest.approx(0.9000006324515, abs=1e-12)
    # Adagrad: acc = 0.1 + 0.25; 1 - 0.1*0.5/sqrt(0.35 + 1e-7)
    assert first_step(optimizers.Adagrad(0.1), 1.0, 0.5) == pytest.approx(0.9154845866, abs=1e-10)
    # Adamax step 1: m = 0.05, u = 0.5; 1 - 0.1/0.1 * 0.05/(0.5 + 1e-7)
    assert first_step(optimizers.Adamax(0.1), 1.0, 0.5) == pytest.approx(0.90000002, abs=1e-8)
    # Adadelta step 1: E[g2] = 0.05*0.25; delta = -sqrt(1e-7)/sqrt(0.0125 + 1e-7) * 0.5
    assert first_step(optimizers.Adadelta(1.0), 1.0, 0.5) == pytest.approx(0.9985857921,
                                                                             abs=1e-10)
    # SGD momentum 0.9, two steps with g = 1: v = -0.1, then -0.19
    opt, v = optimizers.SGD(0.1, momentum=0.9), Variable(np.array([0.0]), dtype="float64")
    opt.apply([np.array([1.0])], [v])
    opt.apply([np.array([1.0])], [v])
    np.testing.assert_allclose(v.numpy(), [-0.29], rtol=1e-14)


def test_keras3_defaults():
    expected = {
        optimizers.SGD: dict(name="SGD", learning_rate=0.01, momentum=0.0, nesterov=False),
        optimizers.RMSprop: dict(name="rmsprop", learning_rate=0.001, rho=0.9, momentum=0.0,
                                 epsilon=1e-7, centered=False),
        optimizers.Adam: dict(name="adam", learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                              epsilon=1e-7, amsgrad=False),
        optimizers.Adagrad: dict(name="adagrad", learning_rate=0.001,
                                 initial_accumulator_value=0.1, epsilon=1e-7),
        optimizers.Adadelta: dict(name="adadelta", learning_rate=0.001, rho=0.95, epsilon=1e-7),
        optimizers.Adamax: dict(name="adamax", learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                                epsilon=1e-7),
        optimizers.Nadam: dict(name="nadam", learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                               epsilon=1e-7),
    }
    for cls, want in expected.items():
        config = cls().get_config()
        for key, value in want.items():
            assert config[key] == value, (cls.__name__, key)
        for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
            assert config[key] is None


# ---- clipping and weight decay -----------------------------------------------------------

def sgd_delta(grads, **kwargs):
    """The change SGD(lr=1) applies to zero weights, i.e. minus the processed gradients."""
    variables = [Variable(np.zeros_like(g), dtype="float64") for g in grads]
    optimizers.SGD(1.0, **kwargs).apply(grads, variables)
    return [-v.numpy() for v in variables]


def test_clipnorm_per_gradient():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    out = sgd_delta([g1, g2], clipnorm=1.0)
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-14)  # norm 5 -> 1
    np.testing.assert_allclose(out[1], [0.3, 0.4], rtol=1e-14)  # norm 0.5: unchanged
    np.testing.assert_array_equal(g1, [3.0, 4.0])  # the caller's gradient is left intact
    np.testing.assert_array_equal(sgd_delta([np.zeros(2)], clipnorm=1.0)[0], [0.0, 0.0])


def test_global_clipnorm():
    grads = [np.array([3.0, 4.0]), np.array([12.0])]  # global norm 13
    out = sgd_delta(grads, global_clipnorm=2.0)
    np.testing.assert_allclose(out[0], [6 / 13, 8 / 13], rtol=1e-14)
    np.testing.assert_allclose(out[1], [24 / 13], rtol=1e-14)
    out = sgd_delta(grads, global_clipnorm=20.0)  # below the limit: unchanged
    np.testing.assert_allclose(out[0], [3.0, 4.0], rtol=1e-14)


def test_clipvalue():
    out = sgd_delta([np.array([3.0, -4.0, 0.2])], clipvalue=0.5)
    np.testing.assert_allclose(out[0], [0.5, -0.5, 0.2], rtol=1e-14)


def test_only_one_clip_argument():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)


def test_weight_decay_is_decoupled_and_excludable():
    opt = optimizers.SGD(0.1, weight_decay=0.01)
    kernel = Variable(np.array([2.0, -1.0]), dtype="float64", name="kernel")
    bias = Variable(np.array([2.0]), dtype="float64", name="bias")
    opt.exclude_from_weight_decay(var_names=["bias"])
    g = np.array([0.5, 0.5])
    opt.apply([g, g[:1]], [kernel, bias])
    # w - w * wd * lr - lr * g
    np.testing.assert_allclose(kernel.numpy(), [2.0 - 0.002 - 0.05, -1.0 + 0.001 - 0.05])
    np.testing.assert_allclose(bias.numpy(), [2.0 - 0.05])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["kernel"])


def test_adam_weight_decay_matches_reference():
    opt = optimizers.Adam(0.1, weight_decay=0.05)
    v = Variable(W0[0], dtype="float64")
    ref, w, s = ref_adam(0.1), W0[0].copy(), {}
    for t in range(1, 4):
        opt.apply([GRADS[t - 1][0]], [v])
        w = ref(w * (1 - 0.05 * 0.1), GRADS[t - 1][0], s, t)
    np.testing.assert_allclose(v.numpy(), w, rtol=1e-12)


# ---- learning rate: schedules, alias, setter --------------------------------------------

def test_exponential_decay_values():
    smooth = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    stairs = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    for step, want in [(0, 0.1), (5, 0.1 * 0.5 ** 0.5), (10, 0.05), (25, 0.1 * 0.5 ** 2.5)]:
        assert smooth(step) == pytest.approx(want, rel=1e-14)
    for step, want in [(0, 0.1), (5, 0.1), (9, 0.1), (10, 0.05), (19, 0.05), (25, 0.025)]:
        assert stairs(step) == pytest.approx(want, rel=1e-14)
    assert stairs(Variable(np.array(10), dtype="int64")) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5)


def test_piecewise_constant_decay_values():
    schedule = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    got = [schedule(s) for s in (0, 10, 11, 20, 21, 1000)]
    assert got == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5])
    with pytest.raises(ValueError, match="increasing"):
        schedules.PiecewiseConstantDecay([20, 10], [1.0, 0.5, 0.1])


def test_schedule_serialization_round_trip():
    for schedule in (schedules.ExponentialDecay(0.1, 7, 0.9, staircase=True),
                     schedules.PiecewiseConstantDecay([3, 8], [0.3, 0.2, 0.1])):
        config = schedules.serialize(schedule)
        assert config["class_name"] == type(schedule).__name__
        copy = schedules.deserialize(config)
        assert type(copy) is type(schedule)
        assert copy.get_config() == schedule.get_config()
        assert [copy(s) for s in range(12)] == [schedule(s) for s in range(12)]
    with pytest.raises(ValueError, match="unknown schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_schedule_drives_the_update():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
    opt = optimizers.SGD(learning_rate=schedule)
    assert "learning_rate" not in [v.name for v in opt.variables]
    v = Variable(np.array([0.0]), dtype="float64")
    for _ in range(5):
        opt.apply([np.array([1.0])], [v])
    # steps 0..4 use 0.1, 0.1, 0.05, 0.05, 0.025
    np.testing.assert_allclose(v.numpy(), [-0.325], rtol=1e-14)
    assert opt.learning_rate == pytest.approx(0.025)  # value at step 5
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.5
    opt.iterations.assign(0)  # e.g. a checkpoint restore: the schedule follows
    assert opt.learning_rate == pytest.approx(0.1)


def test_lr_alias_and_setter():
    opt = optimizers.SGD(lr=0.5)
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    assert opt.get_config()["learning_rate"] == 0.5
    opt.lr = 0.25
    assert opt.learning_rate == 0.25
    opt.learning_rate = 0.125
    assert opt.lr == 0.125
    v = Variable(np.array([1.0]), dtype="float64")
    opt.apply([np.array([1.0])], [v])
    np.testing.assert_allclose(v.numpy(), [0.875], rtol=1e-15)
    assert optimizers.Adam(lr=0.01).learning_rate == 0.01
    assert optimizers.Adam(0.01, lr=0.01).learning_rate == 0.01
    with pytest.raises(ValueError, match="only one of `learning_rate`"):
        optimizers.Adam(learning_rate=0.1, lr=0.2)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(beta1=0.9)
    assert optimizers.Adam(decay=1e-6).decay == 1e-6  # applied: test_optimizers_keras2.py


def test_callable_learning_rate():
    rate = {"value": 0.5}
    opt = optimizers.SGD(learning_rate=lambda: rate["value"])
    v = Variable(np.array([0.0]), dtype="float64")
    opt.apply([np.array([1.0])], [v])
    rate["value"] = 0.25
    opt.apply([np.array([1.0])], [v])
    np.testing.assert_allclose(v.numpy(), [-0.75])


# ---- configs and lookup ------------------------------------------------------------------

@pytest.mark.parametrize("opt", [
    optimizers.SGD(0.2, momentum=0.5, nesterov=True, clipnorm=2.0),
    optimizers.RMSprop(0.02, rho=0.8, momentum=0.1, centered=True, global_clipnorm=3.0),
    optimizers.Adam(0.003, beta_1=0.8, beta_2=0.99, epsilon=1e-5, amsgrad=True,
                    weight_decay=0.01),
    optimizers.Adagrad(0.4, initial_accumulator_value=0.2, clipvalue=0.7),
    optimizers.Adadelta(0.9, rho=0.5, name="my_adadelta"),
    optimizers.Adamax(0.05, beta_1=0.6),
    optimizers.Nadam(0.01, beta_2=0.9, loss_scale_factor=8.0),
    optimizers.SGD(schedules.PiecewiseConstantDecay([5], [0.1, 0.01])),
], ids=lambda o: type(o).__name__)
def test_config_round_trip(opt):
    config = opt.get_config()
    copy = type(opt).from_config(config)
    assert copy.get_config() == config
    again = optimizers.deserialize(optimizers.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == config
    # the copy trains the same way
    a, b = optimizer_trajectory(opt, 3), optimizer_trajectory(copy, 3)
    np.testing.assert_allclose(a[-1][0], b[-1][0], rtol=1e-15)


def test_get_by_name_dict_and_instance():
    for name, cls in [("sgd", optimizers.SGD), ("SGD", optimizers.SGD),
                      ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop),
                      ("adam", optimizers.Adam), ("Adam", optimizers.Adam),
                      ("adagrad", optimizers.Adagrad), ("adadelta", optimizers.Adadelta),
                      ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam),
                      ("NADAM", optimizers.Nadam)]:
        opt = optimizers.get(name)
        assert type(opt) is cls
    a, b = optimizers.get("adam"), optimizers.get("adam")
    assert a is not b  # a fresh optimizer each time
    opt = optimizers.Adam(0.1)
    assert optimizers.get(opt) is opt
    from_dict = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.25}})
    assert isinstance(from_dict, optimizers.Adam) and from_dict.learning_rate == 0.25
    with pytest.raises(ValueError, match="adam.*nadam|sgd"):
        optimizers.get("adamw_turbo")
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(42)


# ---- the custom-training-loop API ---------------------------------------------------------

def test_gradient_tape_minimizes_a_quadratic():
    target = np.array([[1.0, -2.0], [0.5, 3.0]])
    for opt in (optimizers.Adam(0.1), optimizers.SGD(0.1, momentum=0.9),
                optimizers.Adagrad(0.5), optimizers.Nadam(0.1)):
        w = Variable(np.zeros((2, 2)), dtype="float64", name="w")
        losses = []
        for _ in range(300):
            with GradientTape() as tape:
                loss = ops.sum(ops.square(w - target))
            grads = tape.gradient(loss, [w])
            opt.apply_gradients(zip(grads, [w]))
            losses.append(float(loss))
        assert losses[-1] < 1e-3 * losses[0], type(opt).__name__
        np.testing.assert_allclose(w.numpy(), target, atol=0.05)
        assert int(opt.iterations) == 300


def test_none_gradients_are_skipped():
    opt = optimizers.Adam(0.1)
    a = Variable(np.array([1.0]), dtype="float64", name="a")
    b = Variable(np.array([1.0]), dtype="float64", name="b")
    with pytest.warns(UserWarning, match=r"\['b'\]"):
        opt.apply_gradients([(np.array([1.0]), a), (None, b)])
    assert a.numpy()[0] < 1.0
    assert b.numpy()[0] == 1.0
    assert int(opt.iterations) == 1
    with pytest.raises(ValueError, match="no gradients"):
        opt.apply([None, None], [a, b])


def test_constraint_applied_after_update():
    w = Variable(np.array([0.05, 1.0]), dtype="float64", constraint=constraints.NonNeg())
    optimizers.SGD(1.0).apply([np.array([0.1, 0.5])], [w])
    np.testing.assert_allclose(w.numpy(), [0.0, 0.5])


def test_gradients_as_tensors_and_errors():
    w = Variable(np.array([1.0, 2.0]), dtype="float64")
    opt = optimizers.SGD(0.5)
    iterations = opt.apply_gradients([(Tensor(np.array([1.0, 1.0])), w)])
    assert int(iterations) == 1
    np.testing.assert_allclose(w.numpy(), [0.5, 1.5])
    with pytest.raises(ValueError, match="shape"):
        opt.apply([np.array([1.0])], [w])
    with pytest.raises(ValueError, match="unknown variable"):
        opt.apply([np.array([1.0])], [Variable(np.array([1.0]))])
    opt.apply([np.array([1.0, 1.0])])  # no variables: the ones it was built with
    np.testing.assert_allclose(w.numpy(), [0.0, 1.0])
    with pytest.raises(ValueError, match="must already be built"):
        optimizers.SGD().apply([np.array([1.0])])
    opt.apply_gradients([])  # nothing to do
    assert int(opt.iterations) == 2


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop, optimizers.Adam,
                                 optimizers.Adagrad, optimizers.Adadelta, optimizers.Adamax,
                                 optimizers.Nadam])
def test_float32_stays_float32_and_updates_in_place(cls):
    kwargs = {"momentum": 0.9} if cls in (optimizers.SGD, optimizers.RMSprop) else {}
    opt = cls(**kwargs)
    w = Variable(np.ones((3, 4)), dtype="float32")
    array = w.value
    for _ in range(3):
        opt.apply([np.full((3, 4), 0.5, dtype="float32")], [w])
    assert w.value is array and w.dtype == np.float32
    assert np.all(w.numpy() < 1.0)
    for state in opt.variables[2:]:
        assert state.dtype == np.float32 and not state.trainable
    # float64 gradients for a float32 weight are cast, not upcasting the weight
    opt.apply([np.full((3, 4), 0.5)], [w])
    assert w.dtype == np.float32


def test_matches_reference_in_float32():
    got = optimizer_trajectory(optimizers.Adam(0.1), dtype="float32")
    want = reference_trajectory(ref_adam(0.1))
    np.testing.assert_allclose(got[-1][0], want[-1][0], rtol=1e-5)


def test_snapshots_and_initial_arrays_are_not_aliased():
    initial = np.array([1.0, 2.0])
    w = Variable(initial, dtype="float64")
    snapshot = w.numpy()
    optimizers.SGD(0.5).apply([np.array([1.0, 1.0])], [w])
    np.testing.assert_array_equal(initial, [1.0, 2.0])
    np.testing.assert_array_equal(snapshot, [1.0, 2.0])


# ---- state variables ---------------------------------------------------------------------

def test_variables_order_names_and_iterations():
    opt = optimizers.Adam(0.1, amsgrad=True)
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate"]
    kernel = Variable(np.ones((2, 2)), name="kernel")
    kernel.path = "dense/kernel"
    bias = Variable(np.ones(2), name="bias")
    bias.path = "dense/bias"
    opt.apply([np.ones((2, 2), "float32"), np.ones(2, "float32")], [kernel, bias])
    assert [v.path for v in opt.variables] == [
        "adam/iteration", "adam/learning_rate", "adam/dense_kernel_momentum",
        "adam/dense_kernel_velocity", "adam/dense_bias_momentum", "adam/dense_bias_velocity",
        "adam/dense_kernel_velocity_hat", "adam/dense_bias_velocity_hat"]  # Keras 3's order
    iterations = opt.iterations
    assert isinstance(iterations, Variable) and iterations.dtype == np.int64
    assert int(iterations) == 1 and iterations.numpy() == 1
    assert opt.variables[1].numpy() == np.float32(0.1)
    adamax = optimizers.Adamax()
    adamax.build([kernel, bias])  # Keras interleaves momentum and norm per weight
    assert [v.name for v in adamax.variables[2:]] == [
        "dense_kernel_momentum", "dense_kernel_norm", "dense_bias_momentum", "dense_bias_norm"]


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.Nadam, optimizers.RMSprop])
def test_state_transfer_continues_identically(cls):
    """Copying ``variables`` (as a checkpoint does) resumes the same trajectory."""
    kwargs = {"centered": True, "momentum": 0.5} if cls is optimizers.RMSprop else {}
    first = cls(0.1, **kwargs)
    path = optimizer_trajectory(first, 6)
    second = cls(0.1, **kwargs)
    variables = [Variable(w, dtype="float64", name=f"w{i}") for i, w in enumerate(path[2])]
    second.build(variables)
    replay = cls(0.1, **kwargs)
    optimizer_trajectory(replay, 3)  # the state after 3 steps
    for target, source in zip(second.variables, replay.variables):
        if target.name != "learning_rate":  # stored as float32 (floatx), as Keras
            target.assign(source.numpy())
    assert int(second.iterations) == 3
    for t in range(3, 6):
        second.apply(GRADS[t], variables)
    for got, want in zip(variables, path[-1]):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_compile_accepts_optimizer_instances_and_names():
    model = gkeras.Sequential([gkeras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=optimizers.Adam(1e-3), loss="mse")
    assert isinstance(model.optimizer, optimizers.Adam)
    model.compile(optimizer="sgd", loss="mse")
    assert isinstance(model.optimizer, optimizers.SGD)


@pytest.mark.gpu
def test_cupy_backend_matches_reference_and_keeps_state_on_device():
    from gkeras import backends
    backend = backends.set_backend("cupy")
    for cls, kwargs, ref in CASES:
        opt = cls(**kwargs)
        got = optimizer_trajectory(opt)
        want = reference_trajectory(ref)
        for g, w in zip(got[-1], want[-1]):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14, err_msg=cls.__name__)
        for state in opt.variables[2:]:
            assert backend.is_array(state.value) and not isinstance(state.value, np.ndarray)
    opt = optimizers.SGD(1.0, global_clipnorm=2.0)
    variables = [Variable(np.zeros(2), dtype="float32"), Variable(np.zeros(1), dtype="float32")]
    opt.apply([np.array([3.0, 4.0], "float32"), np.array([12.0], "float32")], variables)
    np.testing.assert_allclose(variables[0].numpy(), [-6 / 13, -8 / 13], rtol=1e-6)
    assert variables[0].dtype == np.float32
