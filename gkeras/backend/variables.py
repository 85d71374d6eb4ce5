"""Variables, constants and their values: ``K.variable``, ``K.get_value``, ``K.update``...

Keras 2's variables are gkeras ``Variable``s; its tensors are eager gkeras ``Tensor``s.
"""
import contextlib
import weakref

import numpy

from .. import config, ops
from ..autograd import Tensor
from ..variables import Variable
from .shapes import int_shape, shape_tuple

__all__ = [
    "batch_get_value", "batch_set_value", "cast_to_floatx", "constant", "count_params", "eval",
    "eye", "get_uid", "get_value", "get_variable_shape", "identity", "is_keras_tensor",
    "is_sparse", "is_tensor", "manual_variable_initialization", "moving_average_update",
    "name_scope", "ones", "ones_like", "print_tensor", "random_normal_variable",
    "random_uniform_variable", "reset_uids", "set_value", "to_dense", "update", "update_add",
    "update_sub", "variable", "zeros", "zeros_like"]


def _keras_tensor_type():
    from ..layers.base import KerasTensor  # layers import the backend: import late
    return KerasTensor


def variable(value, dtype=None, name=None, constraint=None):
    """A ``Variable`` holding ``value`` (a copy), in ``dtype`` (default: floatx)."""
    return Variable(value, dtype=dtype or config.floatx(), name=name, constraint=constraint)


def constant(value, dtype=None, shape=None, name=None):
    """A tensor of ``value``; with ``shape``, a scalar fills it and a sequence is reshaped."""
    out = ops.convert_to_tensor(value, dtype=dtype or config.floatx())
    if shape is None:
        return out
    shape = shape_tuple(shape)
    return ops.broadcast_to(out, shape) if out.ndim == 0 else ops.reshape(out, shape)


def is_tensor(x):
    """True for gkeras tensors and variables, eager or symbolic (from ``Input``)."""
    return isinstance(x, (Tensor, _keras_tensor_type()))


def is_keras_tensor(x):
    """True for the symbolic tensors of the functional API (``Input``, layer outputs);
    a ``ValueError`` for what is not a tensor at all (as Keras 2)."""
    if not is_tensor(x):
        raise ValueError(f"Unexpectedly found an instance of type `{type(x)}`. Expected a "
                         "symbolic tensor instance.")
    return isinstance(x, _keras_tensor_type())


def is_sparse(tensor):
    """Always False: gkeras has dense tensors only."""
    return False


def to_dense(tensor):
    return tensor


def zeros(shape, dtype=None, name=None):
    """A ``Variable`` of zeros (Keras 2's ``K.zeros`` returns a variable)."""
    return variable(ops.zeros(shape_tuple(shape), dtype=dtype or config.floatx()), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(ops.ones(shape_tuple(shape), dtype=dtype or config.floatx()), dtype, name)


def eye(size, dtype=None, name=None):
    return variable(ops.eye(size, dtype=dtype or config.floatx()), dtype, name)


def zeros_like(x, dtype=None, name=None):
    return ops.zeros_like(x, dtype=dtype)


def ones_like(x, dtype=None, name=None):
    return ops.ones_like(x, dtype=dtype)


def identity(x, name=None):
    """A copy of ``x`` (later updates of a variable do not change it); differentiable."""
    x = ops.convert_to_tensor(x)
    return ops.cast(x, x.dtype)


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    return variable(ops.random_uniform(shape_tuple(shape), low, high, dtype, seed), dtype, name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    return variable(ops.random_normal(shape_tuple(shape), mean, scale, dtype, seed), dtype, name)


def cast_to_floatx(x):
    """``x`` as a NumPy array of floatx (Keras 2: a NumPy array in, a NumPy array out)."""
    return numpy.asarray(x, dtype=config.floatx())


def count_params(x):
    """The number of entries of ``x``."""
    return int(numpy.prod(int_shape(x)))


def get_value(x):
    """The value as a NumPy array (a copy for a variable)."""
    return ops.convert_to_numpy(x)


def batch_get_value(ops_list):
    return [get_value(x) for x in ops_list]


eval = get_value


def _check_variable(fn, x):
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        # Keras 2's K.set_value(model.optimizer.lr, ...): gkeras's optimizer hyperparameters
        # read as Python numbers, and are set by plain assignment.
        raise TypeError(f"{fn}: expected a variable (K.variable, a layer weight), received the "
                        f"number {x!r}. To change an optimizer's learning rate, assign it: "
                        "`model.optimizer.learning_rate = value` (or `.lr = value`).")
    if not isinstance(x, Variable):
        raise TypeError(f"{fn}: expected a variable (K.variable, a layer weight), received "
                        f"{type(x).__name__}; tensors are immutable.")


def set_value(x, value):
    """Assign ``value`` (an array, a list, a tensor) to the variable ``x``, cast to its dtype."""
    _check_variable("set_value", x)
    x.assign(value)


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


get_variable_shape = int_shape


def update(x, new_x):
    """``x = new_x`` on the variable ``x``, which is returned."""
    _check_variable("update", x)
    return x.assign(new_x)


def update_add(x, increment):
    _check_variable("update_add", x)
    return x.assign_add(increment)


def update_sub(x, decrement):
    _check_variable("update_sub", x)
    return x.assign_sub(decrement)


# id(variable) -> its hidden (biased average, step count), dropped with the variable (not a
# WeakKeyDictionary: its key comparisons would call Tensor.__eq__, which is elementwise)
_debias_state = {}


def moving_average_update(x, value, momentum):
    """Keras 2.2.4's zero-debiased moving average (``tf`` ``assign_moving_average`` with
    ``zero_debias=True``): ``biased = momentum * biased + (1 - momentum) * value`` from
    ``biased = 0``, and ``x = biased / (1 - momentum ** steps)``. So the first update sets
    ``x = value`` whatever ``x`` held. Returns ``x``."""
    _check_variable("moving_average_update", x)
    value = ops.stop_gradient(ops.cast(value, x.dtype))
    key = id(x)
    if key not in _debias_state:
        weakref.finalize(x, _debias_state.pop, key, None)
    biased, steps = _debias_state.get(key, (ops.zeros_like(x), 0))
    biased = biased * momentum + value * (1.0 - momentum)
    steps += 1
    _debias_state[key] = (biased, steps)
    return x.assign(biased / (1.0 - momentum ** steps))


_uids = {}


def get_uid(prefix=""):
    """1, 2, 3... per ``prefix`` (Keras 2's unique layer-name counter)."""
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def reset_uids():
    _uids.clear()


def manual_variable_initialization(value):
    """Accepted for compatibility: gkeras variables hold their value from creation."""


@contextlib.contextmanager
def name_scope(name):
    """A no-op context (TensorFlow's graph name scopes have no eager meaning)."""
    yield


def print_tensor(x, message=""):
    """Print ``message`` and the value of ``x``; return ``x``."""
    print(message, ops.convert_to_numpy(x))
    return x
