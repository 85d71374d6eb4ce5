"""The RMSprop optimizer."""
from ..backends import current as _backend
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

    def _update_step(self, grads, variables, learning_rate):
        xp = _backend().xp
        rho, keep, epsilon = float(self.rho), 1.0 - float(self.rho), float(self.epsilon)
        for grad, variable in zip(grads, variables):
            weight = variable.value
            index = self._get_variable_index(variable)
            velocity = self._velocities[index].value
            tmp = xp.square(grad, out=self._scratch(weight))
            xp.multiply(tmp, keep, out=tmp)
            xp.multiply(velocity, rho, out=velocity)
            xp.add(velocity, tmp, out=velocity)
            if self.centered:
                average = self._average_gradients[index].value
                xp.multiply(average, rho, out=average)
                xp.add(average, xp.multiply(grad, keep, out=tmp), out=average)
                xp.square(average, out=tmp)
                xp.subtract(velocity, tmp, out=tmp)
                xp.add(tmp, epsilon, out=tmp)
            else:
                xp.add(velocity, epsilon, out=tmp)
            xp.sqrt(tmp, out=tmp)
            increment = xp.divide(grad, tmp, out=tmp)
            xp.multiply(increment, learning_rate, out=increment)
            if self.momentum > 0:
                momentum = self._momentums[index].value
                xp.multiply(momentum, float(self.momentum), out=momentum)
                xp.add(momentum, increment, out=momentum)
                increment = momentum
            xp.subtract(weight, increment, out=weight)
