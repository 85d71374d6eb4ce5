"""The Adamax optimizer (Adam with the infinity norm)."""
from .adam import _AdamFamily


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

    _fused_step = "adamax"

    def _slot_lists(self):
        return (self._m, self._u)

    def _hyper(self, learning_rate):
        beta_1 = float(self.beta_1)
        return {"step_size": learning_rate / (1.0 - beta_1 ** (self._iterations.host + 1)),
                "one_minus_beta_1": 1.0 - beta_1, "beta_2": float(self.beta_2),
                "epsilon": float(self.epsilon)}
