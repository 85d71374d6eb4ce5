"""The Adagrad optimizer."""
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

    _fused_step = "adagrad"

    def _slot_lists(self):
        return (self._accumulators,)

    def _hyper(self, learning_rate):
        return {"learning_rate": learning_rate, "epsilon": float(self.epsilon)}
