"""The Adam optimizer (and the hyperparameters Adamax and Nadam share with it)."""
import math

from .optimizer import Optimizer, _checked_flag, _epsilon


class _AdamFamily(Optimizer):
    """Adam, Adamax and Nadam: the ``beta_1``/``beta_2``/``epsilon`` hyperparameters."""

    _config_keys = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, name, **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = _epsilon(epsilon)


class Adam(_AdamFamily):
    """``m += (g - m)(1 - beta_1)``; ``v += (g**2 - v)(1 - beta_2)``;
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + eps)`` (amsgrad uses
    the running maximum of ``v``)."""

    _config_keys = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        self.amsgrad = _checked_flag("Adam", "amsgrad", amsgrad, "decay")

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    _fused_step = "adam"

    def _slot_lists(self):
        return (self._momentums, self._velocities,
                self._velocity_hats if self.amsgrad else None)

    def _hyper(self, learning_rate):
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        t = self._iterations.host + 1
        return {"alpha": learning_rate * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t),
                "one_minus_beta_1": 1.0 - beta_1, "one_minus_beta_2": 1.0 - beta_2,
                "epsilon": float(self.epsilon), "amsgrad": int(bool(self.amsgrad))}
