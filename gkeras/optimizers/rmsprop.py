"""The RMSprop optimizer."""
from .optimizer import Optimizer, _epsilon


class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g**2``; ``w -= lr * g / sqrt(v + eps)`` (centered: the
    denominator is ``sqrt(v - a**2 + eps)`` with ``a`` the average gradient; with
    ``momentum``: ``m = momentum * m + increment``, ``w -= m``)."""

    _config_keys = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = _epsilon(epsilon)
        self.centered = centered

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._velocities = self.add_optimizer_variables(variables, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(variables, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(variables,
                                                                   "average_gradient")

    _fused_step = "rmsprop"

    def _slot_lists(self):
        return (self._velocities, self._momentums if self.momentum > 0 else None,
                self._average_gradients if self.centered else None)

    def _hyper(self, learning_rate):
        return {"learning_rate": learning_rate, "rho": float(self.rho),
                "one_minus_rho": 1.0 - float(self.rho), "epsilon": float(self.epsilon),
                "momentum": float(self.momentum), "centered": int(bool(self.centered))}
