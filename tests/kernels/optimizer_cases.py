"""Optimizer step cases shared by the shim and device tests of kernels/optimizers.cu: for each
configuration, the backend step's name, which slots it uses and its scalars (as the optimizers
compute them for a step), and random weights, gradients and slots of any size."""
import numpy

from gkeras.backends import numpy_optimizers

# (id, name, slots used (bools, in numpy_optimizers.SLOTS order), hyper)
CASES = [
    ("sgd", "sgd", (False,), {"learning_rate": 0.1, "momentum": 0.0, "nesterov": 0}),
    ("sgd_momentum", "sgd", (True,), {"learning_rate": 0.1, "momentum": 0.9, "nesterov": 0}),
    ("sgd_nesterov", "sgd", (True,), {"learning_rate": 0.1, "momentum": 0.9, "nesterov": 1}),
    ("rmsprop", "rmsprop", (True, False, False),
     {"learning_rate": 0.01, "rho": 0.9, "one_minus_rho": 1 - 0.9, "epsilon": 1e-7,
      "momentum": 0.0, "centered": 0}),
    ("rmsprop_centered_momentum", "rmsprop", (True, True, True),
     {"learning_rate": 0.01, "rho": 0.9, "one_minus_rho": 1 - 0.9, "epsilon": 1e-7,
      "momentum": 0.5, "centered": 1}),
    ("adagrad", "adagrad", (True,), {"learning_rate": 0.1, "epsilon": 1e-7}),
    ("adadelta", "adadelta", (True, True),
     {"learning_rate": 1.0, "rho": 0.95, "one_minus_rho": 1 - 0.95, "epsilon": 1e-7}),
    ("adam", "adam", (True, True, False),
     {"alpha": 0.01 * (1 - 0.999 ** 3) ** 0.5 / (1 - 0.9 ** 3), "one_minus_beta_1": 1 - 0.9,
      "one_minus_beta_2": 1 - 0.999, "epsilon": 1e-7, "amsgrad": 0}),
    ("adam_amsgrad", "adam", (True, True, True),
     {"alpha": 0.01 * (1 - 0.999 ** 3) ** 0.5 / (1 - 0.9 ** 3), "one_minus_beta_1": 1 - 0.9,
      "one_minus_beta_2": 1 - 0.999, "epsilon": 1e-7, "amsgrad": 1}),
    ("adamax", "adamax", (True, True),
     {"step_size": 0.01 / (1 - 0.9 ** 3), "one_minus_beta_1": 1 - 0.9, "beta_2": 0.999,
      "epsilon": 1e-7}),
    ("nadam", "nadam", (True, True),
     {"learning_rate": 0.01, "one_minus_beta_1": 1 - 0.9, "one_minus_beta_2": 1 - 0.999,
      "epsilon": 1e-7, "c_m": 0.47, "c_g": 0.052, "inv_sqrt_bias": 18.27}),
]
SIZES = [1, 7, 37, 300]
IDS = [case[0] for case in CASES]


def arrays(size, dtype, name, used, seed=0):
    """weight, grad and the slots (None where unused): slots that hold squares non-negative
    (RMSprop's average gradient small beside its velocity: no NaN), the gradient with an exact
    zero and a negative zero among its elements."""
    rng = numpy.random.default_rng(seed)
    weight = rng.standard_normal(size).astype(dtype)
    grad = rng.standard_normal(size).astype(dtype)
    grad[:2] = [0.0, -0.0][:size]
    slots = tuple(
        None if not use else
        rng.uniform(-0.3, 0.3, size).astype(dtype) if slot == "average_gradient" else
        rng.uniform(0.5, 2.0, size).astype(dtype)
        for slot, use in zip(numpy_optimizers.SLOTS[name], used))
    return weight, grad, slots
