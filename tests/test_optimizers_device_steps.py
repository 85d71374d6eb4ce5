"""Device steps (gkeras/optimizers/device_steps.py): an optimizer whose step count, learning
rate and bias corrections live on the device updates exactly as on the host."""
import numpy as np
import pytest

from gkeras import Variable, backends, optimizers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.optimizers import device_steps, schedules

from fakecupy import FakeCupy

CONFIGS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "sgd_nesterov_decay": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True, decay=0.1),
    "rmsprop_centered": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adam_amsgrad_weight_decay": lambda: optimizers.Adam(0.01, amsgrad=True, weight_decay=0.1),
    "adam_exponential": lambda: optimizers.Adam(
        schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5, staircase=True)),
    "adamax_piecewise": lambda: optimizers.Adamax(
        schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.01, 0.001])),
    "nadam_global_clipnorm": lambda: optimizers.Nadam(0.01, global_clipnorm=0.5),
    "nadam_keras2": lambda: optimizers.Nadam(0.002, schedule_decay=0.004, clipnorm=0.1),
}


def _train(optimizer, device, steps=5, xp=np):
    rng = np.random.default_rng(0)
    ws = [Variable(rng.normal(size=shape).astype("float32"), name=f"w{i}")
          for i, shape in enumerate([(3, 4), (4,), (2,)])]
    if device:
        assert device_steps.enable(optimizer) is None
    for _ in range(steps):
        optimizer.apply([xp.asarray(rng.normal(size=w.shape).astype("float32")) for w in ws],
                        ws)
    return [w.numpy() for w in ws], optimizer


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_device_steps_update_as_host_steps(name):
    host, host_opt = _train(CONFIGS[name](), device=False)
    device, device_opt = _train(CONFIGS[name](), device=True)
    for a, b in zip(host, device):
        np.testing.assert_array_equal(a, b)
    assert int(device_opt.iterations) == int(host_opt.iterations) == 5
    for a, b in zip(host_opt.get_weights(), device_opt.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    assert device_opt.get_config() == host_opt.get_config()


def test_setting_the_learning_rate_reaches_the_device_mirror():
    optimizer = optimizers.SGD(0.1)
    _, optimizer = _train(optimizer, device=True, steps=1)
    optimizer.learning_rate = 0.25
    assert optimizer.learning_rate == 0.25
    assert float(optimizer._device_steps.learning_rate) == 0.25


def test_device_steps_read_nothing_from_the_device():
    fake = FakeCupy()
    backends.set_backend(CupyBackend(xp=fake))
    optimizer = CONFIGS["nadam_global_clipnorm"]()
    rng = np.random.default_rng(0)
    ws = [Variable(rng.normal(size=(3, 2)).astype("float32")) for _ in range(2)]
    device_steps.enable(optimizer)
    grads = [fake.asarray(rng.normal(size=(3, 2)).astype("float32")) for _ in ws]
    optimizer.apply(grads, ws)  # builds
    fake.reset()
    for _ in range(3):
        optimizer.apply(grads, ws)
    assert fake.counts == {"to_host": 0, "to_device": 0, "synchronize": 0}, fake.sites
    assert int(optimizer.iterations) == 4


def test_what_keeps_an_optimizer_on_the_host_is_named():
    assert "callable" in device_steps.enable(optimizers.SGD(lambda: 0.1))

    class Schedule(schedules.LearningRateSchedule):
        def __call__(self, step):
            return 0.1

    assert "Schedule has no device form" in device_steps.enable(optimizers.SGD(Schedule()))
