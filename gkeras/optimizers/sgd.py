"""The SGD optimizer (with optional Nesterov momentum)."""
from ..backends import current as _backend
from .optimizer import Optimizer, _checked_flag


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum:
    ``v = momentum * v - lr * g``; ``w += v`` (Nesterov: ``w += momentum * v - lr * g``)."""

    _config_keys = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
                or not 0 <= momentum <= 1:
            raise ValueError(f"SGD: `momentum` must be a float between [0, 1]. "
                             f"Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = _checked_flag("SGD", "nesterov", nesterov, "decay")

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")

    def _update_step(self, grads, variables, learning_rate):
        xp = _backend().xp
        momentum = self.momentum
        for grad, variable in zip(grads, variables):
            weight = variable.value
            step = xp.multiply(grad, learning_rate, out=self._scratch(weight))  # lr * g
            if momentum == 0:
                xp.subtract(weight, step, out=weight)
                continue
            velocity = self.momentums[self._get_variable_index(variable)].value
            xp.multiply(velocity, momentum, out=velocity)
            xp.subtract(velocity, step, out=velocity)
            if self.nesterov:
                xp.subtract(weight, step, out=weight)
                xp.add(weight, xp.multiply(velocity, momentum, out=step), out=weight)
            else:
                xp.add(weight, velocity, out=weight)
