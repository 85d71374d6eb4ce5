"""The Adadelta optimizer."""
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

    _fused_step = "adadelta"

    def _slot_lists(self):
        return (self._accumulated_grads, self._accumulated_delta_vars)

    def _hyper(self, learning_rate):
        return {"learning_rate": learning_rate, "rho": float(self.rho),
                "one_minus_rho": 1.0 - float(self.rho), "epsilon": float(self.epsilon)}
