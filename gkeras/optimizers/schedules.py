"""Learning-rate schedules (Keras 3 formulas), usable as an optimizer's ``learning_rate``.

A schedule is called with the optimizer's step count (a host integer: the number of updates
applied before this one) and returns the learning rate as a Python float, so evaluating it
each training step never touches the device. The built-in schedules also have a device form,
``device_value(step, xp)``: the same formula on a float64 0-d device array of the step count,
for an optimizer whose step count lives on the device (optimizers/device_steps.py).
"""
import math

import numpy

from ..autograd import Tensor


def _host_step(step):
    """``step`` (an int, a NumPy scalar or a 0-d Tensor) as a Python number."""
    if isinstance(step, Tensor):
        step = step.numpy()
    return numpy.asarray(step).item()


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must "
                                  "override `get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase``
    the exponent is floored, so the rate drops every ``decay_steps`` steps."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        if decay_steps <= 0:
            raise ValueError(f"ExponentialDecay: argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        exponent = _host_step(step) / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return float(self.initial_learning_rate) * float(self.decay_rate) ** exponent

    def device_value(self, step, xp):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = xp.floor(exponent)
        return float(self.initial_learning_rate) * xp.power(float(self.decay_rate), exponent)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: the length of boundaries should be 1 less than the "
                f"length of values. Received: boundaries={boundaries} of length "
                f"{len(boundaries)}, and values={values} of length {len(values)}.")
        if any(low >= high for low, high in zip(boundaries, boundaries[1:])):
            raise ValueError("PiecewiseConstantDecay: boundaries must be strictly increasing. "
                             f"Received: boundaries={boundaries}")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = _host_step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def device_value(self, step, xp):
        rate = xp.full((), float(self.values[-1]), dtype="float64")
        for boundary, value in reversed(list(zip(self.boundaries, self.values))):
            rate = xp.where(step <= boundary, float(value), rate)
        return rate

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay)}


def serialize(learning_rate_schedule):
    """The Keras 3 serialized form: ``{'module', 'class_name', 'config', 'registered_name'}``."""
    return {"module": "keras.optimizers.schedules",
            "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from ``serialize``'s output (``custom_objects`` maps extra names)."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("schedules.deserialize: expected a dict with 'class_name' and "
                         f"'config', received {config!r}.")
    known = dict(_SCHEDULES, **(custom_objects or {}))
    cls = known.get(config["class_name"])
    if cls is None:
        raise ValueError(f"schedules.deserialize: unknown schedule {config['class_name']!r}. "
                         f"Valid names: {', '.join(sorted(_SCHEDULES))}.")
    return cls.from_config(dict(config.get("config", {})))
