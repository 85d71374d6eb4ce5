"""The Adagrad optimizer."""
from ..backends import current as _backend
from .optimizer import Optimizer, _epsilon


class Adagrad(Optimizer):
    """``acc += g**2``; ``w -= lr * g / sqrt(acc + eps)``, ``acc`` starting at
    ``initial_accumulator_value``."""

    _config_keys = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = _epsilon(epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=float(self.initial_accumulator_value))

    def _update_step(self, grads, variables, learning_rate):
        xp = _backend().xp
        epsilon = float(self.epsilon)
        for grad, variable in zip(grads, variables):
            weight = variable.value
            accumulator = self._accumulators[self._get_variable_index(variable)].value
            tmp = xp.square(grad, out=self._scratch(weight))
            xp.add(accumulator, tmp, out=accumulator)
            xp.add(accumulator, epsilon, out=tmp)
            xp.sqrt(tmp, out=tmp)
            xp.divide(grad, tmp, out=tmp)
            xp.multiply(tmp, learning_rate, out=tmp)
            xp.subtract(weight, tmp, out=weight)
