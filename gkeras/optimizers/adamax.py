"""The Adamax optimizer (Adam with the infinity norm)."""
from ..backends import current as _backend
from .adam import _AdamFamily
from .optimizer import _moving_average


class Adamax(_AdamFamily):
    """``m += (g - m)(1 - beta_1)``; ``u = max(beta_2 * u, |g|)``;
    ``w -= lr / (1 - beta_1**t) * m / (u + eps)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._m, self._u = self.add_optimizer_variables(variables, ["momentum", "norm"])

    def _update_step(self, grads, variables, learning_rate):
        xp = _backend().xp
        beta_1, beta_2, epsilon = float(self.beta_1), float(self.beta_2), float(self.epsilon)
        step_size = learning_rate / (1.0 - beta_1 ** (self._iterations.host + 1))
        for grad, variable in zip(grads, variables):
            weight = variable.value
            index = self._get_variable_index(variable)
            m, u = self._m[index].value, self._u[index].value
            tmp = self._scratch(weight)
            _moving_average(xp, m, grad, 1.0 - beta_1, tmp)
            xp.multiply(u, beta_2, out=u)
            xp.maximum(u, xp.abs(grad, out=tmp), out=u)
            xp.add(u, epsilon, out=tmp)
            xp.divide(m, tmp, out=tmp)
            xp.multiply(tmp, step_size, out=tmp)
            xp.subtract(weight, tmp, out=weight)
