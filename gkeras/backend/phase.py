"""The learning phase (1 in training, 0 in inference) and the functions that branch on it:
``K.learning_phase``, ``K.in_train_phase``, ``K.switch``...

Inside a layer's call, ``learning_phase()`` reads the layer's training flag (``fit`` calls the
model with ``training=True``; ``evaluate`` and ``predict`` with False). Outside layer calls it
is 1 while a ``GradientTape`` records -- as for the loss of ``fit``'s training step, which
Keras 2 computes in the training phase -- and 0 otherwise. ``set_learning_phase`` fixes it;
the fixed value then also decides ``training`` for the outermost layer (model) calls, as
Keras 2's fixed learning phase does.
"""
import numbers

from .. import ops
from ..autograd import Tensor, is_recording

__all__ = ["in_test_phase", "in_train_phase", "learning_phase", "set_learning_phase",
           "switch"]


def _context():
    from ..layers.base import _call_context  # layers import the backend: import late
    return _call_context


def learning_phase():
    """1 in the training phase (layers called with ``training=True``, the loss of ``fit``'s
    training step), else 0; the fixed value after ``set_learning_phase``."""
    context = _context()
    if context.learning_phase is not None:
        return context.learning_phase
    if context.depth:
        return 1 if context.training else 0
    return 1 if is_recording() else 0


def set_learning_phase(value):
    """Fix the learning phase to 0 (test) or 1 (train) until ``clear_session()``."""
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, received {value!r}.")
    _context().learning_phase = int(value)


def clear_learning_phase():
    _context().learning_phase = None


def _value(expression):
    return expression() if callable(expression) else expression


def _is_python_flag(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, Tensor)


def in_train_phase(x, alt, training=None):
    """``x`` in the training phase, else ``alt`` (either may be a callable, called only when
    chosen). ``training`` None: the learning phase; a tensor: chosen entrywise by ``switch``."""
    if training is None:
        training = learning_phase()
    if _is_python_flag(training):
        return _value(x) if training else _value(alt)
    return switch(training, x, alt)


def in_test_phase(x, alt, training=None):
    """``x`` in the test phase, else ``alt``."""
    return in_train_phase(alt, x, training=training)


def switch(condition, then_expression, else_expression):
    """A scalar ``condition`` picks one expression (callables are called only when picked);
    a tensor ``condition`` picks entrywise, its axes aligned with the expressions' leading
    axes."""
    condition = ops.convert_to_tensor(condition)
    if condition.ndim == 0:
        return _value(then_expression) if bool(condition) else _value(else_expression)
    then_expression = ops.convert_to_tensor(_value(then_expression))
    else_expression = ops.convert_to_tensor(_value(else_expression))
    extra = then_expression.ndim - condition.ndim
    if extra < 0:
        raise ValueError("Rank of `condition` should be less than or equal to rank of "
                         f"`then_expression` and `else_expression`. ndim(condition)="
                         f"{condition.ndim}, ndim(then_expression)={then_expression.ndim}.")
    condition = ops.reshape(ops.cast(condition, bool), condition.shape + (1,) * extra)
    return ops.where(condition, then_expression, else_expression)
