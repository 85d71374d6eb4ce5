"""Device steps: an optimizer whose per-step scalars live on the device.

By default an optimizer counts its steps on the host and computes each update's scalars
(learning rate after schedule and ``decay``, Adam's bias corrections, Nadam's momentum
product) as Python floats, which the backend's fused kernels take as arguments. Two things
need those scalars on the device instead:

- ``LossScaleOptimizer`` skips a step whose gradients are not finite, a decision that stays on
  the device; the step count (and with it the bias corrections) must then not advance, as in
  Keras 3, without the host ever reading the decision;
- a train step captured as a CUDA graph (gkeras/models/step_capture.py) replays its kernels
  with the arguments they were captured with: a Python float would be frozen at its captured
  value.

``enable(optimizer)`` switches an optimizer to device steps (for good): ``iterations``
becomes a device int64 ``Variable`` updated in place each step, the learning rate gets a
float64 device mirror (the host value stays the exact one that ``get_config`` and the
``learning_rate`` setter see; setting it also writes the mirror), Nadam's momentum product
moves to a float64 device ``Variable``. Each update then computes its scalars with device ops
on 0-d float64 arrays (the same double-precision formulas as the host), rounds them to the
weights' dtype and hands them to the backend's ``optimizer_step`` (the CuPy backend's fused
kernels read them from a device array; the NumPy backend runs the reference array ops of
backends/numpy_optimizers.py with them).

Only the built-in update rules and schedules have device forms: ``unsupported(optimizer)``
names what keeps an optimizer on the host (then it keeps counting skipped steps, and its
train step cannot be captured).
"""
import numpy

from ..backends import current as _backend
from ..variables import Variable
from .schedules import LearningRateSchedule


def unsupported(optimizer):
    """Why ``optimizer`` cannot take device steps, or None when it can."""
    from .adadelta import Adadelta
    from .adagrad import Adagrad
    from .adam import Adam
    from .adamax import Adamax
    from .nadam import Nadam
    from .optimizer import Optimizer, _HostScalarVariable
    from .rmsprop import RMSprop
    from .sgd import SGD
    builtin = {"sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad, "adadelta": Adadelta,
               "adam": Adam, "adamax": Adamax, "nadam": Nadam}
    cls = type(optimizer)
    name = optimizer._fused_step
    if name not in builtin or cls._hyper is not builtin[name]._hyper or \
            cls._update_step is not Optimizer._update_step:
        return (f"optimizer {cls.__name__} computes its update on the host (only the built-in "
                "optimizers' updates have a device form)")
    rate = optimizer._learning_rate
    if isinstance(rate, LearningRateSchedule):
        if not hasattr(rate, "device_value"):
            return (f"the learning rate schedule {type(rate).__name__} has no device form "
                    "(`device_value(step, xp)`)")
    elif not isinstance(rate, _HostScalarVariable):
        return "the learning rate is a Python callable, evaluated on the host each step"
    return None


def enable(optimizer):
    """Switch ``optimizer`` (built or not) to device steps; returns None, or the reason it
    cannot (then nothing changed)."""
    if optimizer._device_steps is not None:
        return None
    reason = unsupported(optimizer)
    if reason is None:
        optimizer._device_steps = _DeviceState(optimizer)
    return reason


def _device_variable(host_variable, dtype):
    """A device Variable replacing ``host_variable`` (a host scalar) in its optimizer's
    ``variables``, with its value and path."""
    variable = Variable(numpy.array(host_variable.host, dtype=dtype), dtype=dtype,
                        trainable=False, name=host_variable.name)
    variable.path = host_variable.path
    return variable


class _DeviceState:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        optimizer._iterations = self._replace(optimizer._iterations, "int64")
        self.learning_rate = None  # the float64 mirror of a host learning rate
        if not isinstance(optimizer._learning_rate, LearningRateSchedule):
            self.learning_rate = _backend().xp.zeros((), dtype="float64")
            self.set_learning_rate(float(optimizer._learning_rate.host))
        self.u_product = None  # Nadam's momentum product (once built)
        if getattr(optimizer, "_u_product", None) is not None:
            self.u_product = optimizer._u_product = self._replace(optimizer._u_product,
                                                                  "float64")

    def _replace(self, host_variable, dtype):
        device = _device_variable(host_variable, dtype)
        variables = self.optimizer._variables
        index = next(i for i, v in enumerate(variables) if v is host_variable)
        variables[index] = device
        return device

    def set_learning_rate(self, value):
        self.learning_rate[...] = value  # in place: a captured step reads this array

    def step_count(self):
        """The number of updates applied before this one, a float64 0-d device array."""
        return self.optimizer._iterations.value.astype("float64")

    def step_learning_rate(self):
        """The rate this update applies (schedule, then Keras 2's ``decay``), float64 0-d."""
        optimizer = self.optimizer
        rate = optimizer._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = rate.device_value(self.step_count(), _backend().xp)
        else:
            rate = self.learning_rate
        if optimizer.decay:
            rate = rate * (1.0 / (1.0 + optimizer.decay * self.step_count()))
        return rate

    def count_step(self):
        iterations = self.optimizer._iterations.value
        _backend().xp.add(iterations, 1, out=iterations)

    def hyper(self, learning_rate):
        """The backend step's scalars for this update: step-dependent ones as float64 0-d
        device arrays (cast per dtype by ``for_dtype``), constants as Python numbers."""
        optimizer = self.optimizer
        name = optimizer._fused_step
        if name not in ("adam", "adamax", "nadam"):
            return optimizer._hyper(learning_rate)  # the rate is their only step scalar
        xp = _backend().xp
        t = self.step_count() + 1.0
        beta_1, beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
        hyper = {"one_minus_beta_1": 1.0 - beta_1, "epsilon": float(optimizer.epsilon)}
        if name == "adam":
            hyper.update(alpha=learning_rate * xp.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t),
                         one_minus_beta_2=1.0 - beta_2, amsgrad=int(bool(optimizer.amsgrad)))
        elif name == "adamax":
            hyper.update(step_size=learning_rate / (1.0 - beta_1 ** t), beta_2=beta_2)
        else:
            hyper.update(self._nadam(learning_rate, t), one_minus_beta_2=1.0 - beta_2)
        return hyper

    def _nadam(self, learning_rate, t):
        """Nadam's scalars; advances the momentum schedule's product (in place)."""
        optimizer = self.optimizer
        xp = _backend().xp
        if self.u_product is None:
            self.u_product = self._replace(optimizer._u_product, "float64")
            optimizer._u_product = self.u_product
        beta_1, beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
        rate = 1.0 if optimizer.schedule_decay is None else float(optimizer.schedule_decay)
        u_t = beta_1 * (1.0 - 0.5 * 0.96 ** (t * rate))
        u_t_1 = beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1.0) * rate))
        product = self.u_product.value
        xp.multiply(product, u_t, out=product)
        return {"learning_rate": learning_rate,
                "c_m": u_t_1 / (1.0 - product * u_t_1),
                "c_g": (1.0 - u_t) / (1.0 - product),
                "inv_sqrt_bias": 1.0 / xp.sqrt(1.0 - beta_2 ** t)}


def for_dtype(hyper, dtype):
    """``hyper`` with its device scalars rounded to ``dtype`` (as a host float is rounded
    when a kernel or NumPy takes it with arrays of that dtype)."""
    # NumPy's 0-d results are NumPy scalars (float64 is a float subclass, but not weak)
    return {key: value.astype(dtype) if type(value) not in (int, float) else value
            for key, value in hyper.items()}
