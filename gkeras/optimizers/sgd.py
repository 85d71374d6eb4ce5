"""The SGD optimizer (with optional Nesterov momentum)."""
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

    _fused_step = "sgd"

    def _slot_lists(self):
        return (self.momentums if self.momentum != 0 else None,)

    def _hyper(self, learning_rate):
        return {"learning_rate": learning_rate, "momentum": self.momentum,
                "nesterov": int(bool(self.nesterov))}
