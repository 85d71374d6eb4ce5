"""The Adadelta optimizer."""
from ..backends import current as _backend
from .optimizer import Optimizer, _epsilon


class Adadelta(Optimizer):
    """``a = rho * a + (1 - rho) g**2``; ``d = -sqrt(ad + eps) / sqrt(a + eps) * g``;
    ``ad = rho * ad + (1 - rho) d**2``; ``w += lr * d``."""

    _config_keys = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        self.rho = rho
        self.epsilon = _epsilon(epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            variables, ["accumulated_grad", "accumulated_delta_var"])

    def _update_step(self, grads, variables, learning_rate):
        xp = _backend().xp
        rho, keep, epsilon = float(self.rho), 1.0 - float(self.rho), float(self.epsilon)
        for grad, variable in zip(grads, variables):
            weight = variable.value
            index = self._get_variable_index(variable)
            acc_grad = self._accumulated_grads[index].value
            acc_delta = self._accumulated_delta_vars[index].value
            tmp, tmp2 = self._scratch(weight, 0), self._scratch(weight, 1)
            xp.square(grad, out=tmp)
            xp.multiply(tmp, keep, out=tmp)
            xp.multiply(acc_grad, rho, out=acc_grad)
            xp.add(acc_grad, tmp, out=acc_grad)
            # tmp = -delta = sqrt(acc_delta + eps) * g / sqrt(acc_grad + eps)
            xp.add(acc_delta, epsilon, out=tmp)
            xp.sqrt(tmp, out=tmp)
            xp.multiply(tmp, grad, out=tmp)
            xp.add(acc_grad, epsilon, out=tmp2)
            xp.sqrt(tmp2, out=tmp2)
            xp.divide(tmp, tmp2, out=tmp)
            xp.square(tmp, out=tmp2)
            xp.multiply(tmp2, keep, out=tmp2)
            xp.multiply(acc_delta, rho, out=acc_delta)
            xp.add(acc_delta, tmp2, out=acc_delta)
            xp.multiply(tmp, learning_rate, out=tmp)
            xp.subtract(weight, tmp, out=weight)
