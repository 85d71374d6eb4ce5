"""Optimizer update steps: the reference every backend's kernels match.

``optimizer_step(name, weight, grad, slots, hyper, scratch)`` (a ``NumpyBackend`` method that
calls ``STEPS[name]`` here) applies one update of optimizer ``name`` elementwise, in place:

- ``weight``, ``grad`` and every slot are C-contiguous arrays of one shape and one float
  dtype: one variable's arrays, or the flat buffers of many (the update is elementwise, so
  both give the same bits). ``grad`` is only read (clipping and loss scaling are done before).
- ``slots``: the optimizer's state arrays, a tuple in the order of ``SLOTS[name]``; None for a
  slot the configuration does not use (SGD without momentum, RMSprop's ``momentum`` and
  ``average_gradient`` unless ``momentum > 0`` / ``centered``, Adam's ``velocity_hat`` unless
  ``amsgrad``).
- ``hyper``: the step's scalars as Python numbers, computed on the host from host-side
  counters (learning rate after decay and schedule, bias corrections): the keys of
  ``HYPER[name]``, in the order the kernels of kernels/optimizers.cu take them. Flags are ints
  (0/1). The arithmetic is in the arrays' dtype (float32 arrays: the scalars are rounded to
  float32 first, as NumPy does with a Python float). The step-dependent scalars,
  ``STEP_SCALARS[name]``, may instead be 0-d backend arrays of the weight's dtype, computed on
  the device (an optimizer in device steps, gkeras/optimizers/device_steps.py), with the same
  results: the CuPy backend's kernels then read them from a device array (``step``, in the
  order of ``STEP_SCALARS``), the NumPy backend runs the array ops below (the CPU extra takes
  host scalars only).
- ``scratch(which)``: a temporary like ``weight`` (``which`` 0 or 1); contents are garbage.
  The kernels need none.

``flat_update_pays_off(sizes)`` (a backend method) tells the optimizers whether to gather
variables of these sizes into flat buffers (one step per buffer) or to step each variable.

The operations and their order are Keras 3's update rules as gkeras applied them per variable
(``w -= lr * ...``); a kernel computes each element with the same operations in the same order
(on a GPU NVRTC may contract ``a * b + c`` into fused multiply-adds: float32 differs by
rounding there).
"""
import numpy

SLOTS = {
    "sgd": ("momentum",),
    "rmsprop": ("velocity", "momentum", "average_gradient"),
    "adagrad": ("accumulator",),
    "adadelta": ("accumulated_grad", "accumulated_delta_var"),
    "adam": ("momentum", "velocity", "velocity_hat"),
    "adamax": ("momentum", "norm"),
    "nadam": ("momentum", "velocity"),
}

HYPER = {
    "sgd": ("learning_rate", "momentum", "nesterov"),
    "rmsprop": ("learning_rate", "rho", "one_minus_rho", "epsilon", "momentum", "centered"),
    "adagrad": ("learning_rate", "epsilon"),
    "adadelta": ("learning_rate", "rho", "one_minus_rho", "epsilon"),
    "adam": ("alpha", "one_minus_beta_1", "one_minus_beta_2", "epsilon", "amsgrad"),
    "adamax": ("step_size", "one_minus_beta_1", "beta_2", "epsilon"),
    "nadam": ("learning_rate", "one_minus_beta_1", "one_minus_beta_2", "epsilon", "c_m", "c_g",
              "inv_sqrt_bias"),
}


# the scalars of HYPER that change from step to step (learning rate, bias corrections)
STEP_SCALARS = {
    "sgd": ("learning_rate",), "rmsprop": ("learning_rate",), "adagrad": ("learning_rate",),
    "adadelta": ("learning_rate",), "adam": ("alpha",), "adamax": ("step_size",),
    "nadam": ("learning_rate", "c_m", "c_g", "inv_sqrt_bias"),
}


def _moving_average(xp, state, value, rate, tmp):
    """``state += (value - state) * rate`` in place, with ``tmp`` as scratch."""
    xp.subtract(value, state, out=tmp)
    xp.multiply(tmp, rate, out=tmp)
    xp.add(state, tmp, out=state)


def sgd(xp, weight, grad, slots, hyper, scratch):
    """``v = momentum * v - lr * g``; ``w += v`` (Nesterov: ``w += momentum * v - lr * g``);
    without momentum ``w -= lr * g``."""
    (velocity,) = slots
    momentum = hyper["momentum"]
    step = xp.multiply(grad, hyper["learning_rate"], out=scratch(0))  # lr * g
    if momentum == 0:
        xp.subtract(weight, step, out=weight)
        return
    xp.multiply(velocity, momentum, out=velocity)
    xp.subtract(velocity, step, out=velocity)
    if hyper["nesterov"]:
        xp.subtract(weight, step, out=weight)
        xp.add(weight, xp.multiply(velocity, momentum, out=step), out=weight)
    else:
        xp.add(weight, velocity, out=weight)


def rmsprop(xp, weight, grad, slots, hyper, scratch):
    """``v = rho v + (1 - rho) g**2``; ``w -= lr g / sqrt(v + eps)`` (centered:
    ``sqrt(v - a**2 + eps)``, ``a = rho a + (1 - rho) g``; momentum: ``m = momentum m +
    increment``, ``w -= m``)."""
    velocity, momentum_slot, average = slots
    rho, keep, epsilon = hyper["rho"], hyper["one_minus_rho"], hyper["epsilon"]
    tmp = xp.square(grad, out=scratch(0))
    xp.multiply(tmp, keep, out=tmp)
    xp.multiply(velocity, rho, out=velocity)
    xp.add(velocity, tmp, out=velocity)
    if hyper["centered"]:
        xp.multiply(average, rho, out=average)
        xp.add(average, xp.multiply(grad, keep, out=tmp), out=average)
        xp.square(average, out=tmp)
        xp.subtract(velocity, tmp, out=tmp)
        xp.add(tmp, epsilon, out=tmp)
    else:
        xp.add(velocity, epsilon, out=tmp)
    xp.sqrt(tmp, out=tmp)
    increment = xp.divide(grad, tmp, out=tmp)
    xp.multiply(increment, hyper["learning_rate"], out=increment)
    if hyper["momentum"] > 0:
        xp.multiply(momentum_slot, hyper["momentum"], out=momentum_slot)
        xp.add(momentum_slot, increment, out=momentum_slot)
        increment = momentum_slot
    xp.subtract(weight, increment, out=weight)


def adagrad(xp, weight, grad, slots, hyper, scratch):
    """``acc += g**2``; ``w -= lr g / sqrt(acc + eps)``."""
    (accumulator,) = slots
    tmp = xp.square(grad, out=scratch(0))
    xp.add(accumulator, tmp, out=accumulator)
    xp.add(accumulator, hyper["epsilon"], out=tmp)
    xp.sqrt(tmp, out=tmp)
    xp.divide(grad, tmp, out=tmp)
    xp.multiply(tmp, hyper["learning_rate"], out=tmp)
    xp.subtract(weight, tmp, out=weight)


def adadelta(xp, weight, grad, slots, hyper, scratch):
    """``a = rho a + (1 - rho) g**2``; ``d = sqrt(ad + eps) / sqrt(a + eps) g``;
    ``ad = rho ad + (1 - rho) d**2``; ``w -= lr d``."""
    acc_grad, acc_delta = slots
    rho, keep, epsilon = hyper["rho"], hyper["one_minus_rho"], hyper["epsilon"]
    tmp, tmp2 = scratch(0), scratch(1)
    xp.square(grad, out=tmp)
    xp.multiply(tmp, keep, out=tmp)
    xp.multiply(acc_grad, rho, out=acc_grad)
    xp.add(acc_grad, tmp, out=acc_grad)
    xp.add(acc_delta, epsilon, out=tmp)
    xp.sqrt(tmp, out=tmp)
    xp.multiply(tmp, grad, out=tmp)
    xp.add(acc_grad, epsilon, out=tmp2)
    xp.sqrt(tmp2, out=tmp2)
    xp.divide(tmp, tmp2, out=tmp)
    xp.square(tmp, out=tmp2)
    xp.multiply(tmp2, keep, out=tmp2)
    xp.multiply(acc_delta, rho, out=acc_delta)
    xp.add(acc_delta, tmp2, out=acc_delta)
    xp.multiply(tmp, hyper["learning_rate"], out=tmp)
    xp.subtract(weight, tmp, out=weight)


def adam(xp, weight, grad, slots, hyper, scratch):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= alpha m / (sqrt(v) + eps)`` (amsgrad: ``v_hat = max(v_hat, v)`` in place of ``v``),
    ``alpha = lr sqrt(1 - beta_2**t) / (1 - beta_1**t)``."""
    m, v, v_hat = slots
    tmp = scratch(0)
    _moving_average(xp, m, grad, hyper["one_minus_beta_1"], tmp)
    _moving_average(xp, v, xp.square(grad, out=tmp), hyper["one_minus_beta_2"], tmp)
    if hyper["amsgrad"]:
        v = xp.maximum(v_hat, v, out=v_hat)
    xp.sqrt(v, out=tmp)
    xp.add(tmp, hyper["epsilon"], out=tmp)
    xp.divide(m, tmp, out=tmp)
    xp.multiply(tmp, hyper["alpha"], out=tmp)
    xp.subtract(weight, tmp, out=weight)


def adamax(xp, weight, grad, slots, hyper, scratch):
    """``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 u, |g|)``;
    ``w -= step_size m / (u + eps)``, ``step_size = lr / (1 - beta_1**t)``."""
    m, u = slots
    tmp = scratch(0)
    _moving_average(xp, m, grad, hyper["one_minus_beta_1"], tmp)
    xp.multiply(u, hyper["beta_2"], out=u)
    xp.maximum(u, xp.abs(grad, out=tmp), out=u)
    xp.add(u, hyper["epsilon"], out=tmp)
    xp.divide(m, tmp, out=tmp)
    xp.multiply(tmp, hyper["step_size"], out=tmp)
    xp.subtract(weight, tmp, out=weight)


def nadam(xp, weight, grad, slots, hyper, scratch):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= lr (c_m m + c_g g) / (sqrt(v) inv_sqrt_bias + eps)``."""
    m, v = slots
    tmp, tmp2 = scratch(0), scratch(1)
    _moving_average(xp, m, grad, hyper["one_minus_beta_1"], tmp)
    _moving_average(xp, v, xp.square(grad, out=tmp), hyper["one_minus_beta_2"], tmp)
    xp.multiply(m, hyper["c_m"], out=tmp)
    xp.add(tmp, xp.multiply(grad, hyper["c_g"], out=tmp2), out=tmp)
    xp.sqrt(v, out=tmp2)
    xp.multiply(tmp2, hyper["inv_sqrt_bias"], out=tmp2)
    xp.add(tmp2, hyper["epsilon"], out=tmp2)
    xp.divide(tmp, tmp2, out=tmp)
    xp.multiply(tmp, hyper["learning_rate"], out=tmp)
    xp.subtract(weight, tmp, out=weight)


STEPS = {"sgd": sgd, "rmsprop": rmsprop, "adagrad": adagrad, "adadelta": adadelta,
         "adam": adam, "adamax": adamax, "nadam": nadam}


_HYPER_KEYS = {name: frozenset(keys) for name, keys in HYPER.items()}


def device_scalars(hyper):
    """The keys of ``hyper`` whose scalars are 0-d arrays (computed on the device)."""
    return {key for key, value in hyper.items()
            if not isinstance(value, (int, float, numpy.generic))}


def check(name, hyper, slots):
    """A clear error for an unknown optimizer, a missing scalar or a wrong slot count."""
    if name not in STEPS:
        raise ValueError(f"optimizer_step: unknown optimizer {name!r}; known: "
                         f"{', '.join(STEPS)}.")
    if not _HYPER_KEYS[name] <= hyper.keys():
        missing = [key for key in HYPER[name] if key not in hyper]
        raise ValueError(f"optimizer_step({name!r}): missing scalar(s) {missing}; "
                         f"expected {list(HYPER[name])}.")
    if len(slots) != len(SLOTS[name]):
        raise ValueError(f"optimizer_step({name!r}): expected {len(SLOTS[name])} slot(s) "
                         f"{list(SLOTS[name])}, received {len(slots)}.")
