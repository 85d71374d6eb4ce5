"""The Nadam optimizer (Adam with Nesterov momentum)."""
import math

from .. import config as _config
from .adam import _AdamFamily


class Nadam(_AdamFamily):
    """Adam with Nesterov momentum (Dozat 2015) and the momentum schedule
    ``u_t = beta_1 (1 - 0.5 * 0.96**(t * schedule_decay))``.

    ``schedule_decay=None`` is Keras 3's schedule (``0.96**t``, i.e. ``schedule_decay=1``);
    Keras 2.2.4's Nadam used ``schedule_decay=0.004``: pass it to train as Keras 2 did.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 schedule_decay=None, name="nadam", **kwargs):
        if kwargs.get("decay"):
            raise ValueError("Nadam: Keras 2's Nadam has no learning-rate `decay` (its "
                             "`schedule_decay` is the momentum schedule's); received "
                             f"decay={kwargs['decay']!r}. Use a LearningRateSchedule as "
                             "`learning_rate` to decay the rate.")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)
        if schedule_decay is not None and (
                isinstance(schedule_decay, bool) or
                not isinstance(schedule_decay, (int, float)) or not schedule_decay >= 0):
            raise ValueError("Nadam: `schedule_decay` must be a float >= 0 (or None for "
                             f"Keras 3's schedule); received schedule_decay={schedule_decay!r}.")
        self.schedule_decay = schedule_decay

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if "decay" in config and "schedule_decay" not in config:
            # tf_keras's legacy Nadam writes Keras 2's schedule_decay as `decay`
            config["schedule_decay"] = config.pop("decay")
        return super().from_config(config, custom_objects)

    def get_config(self):
        config = super().get_config()
        if self.schedule_decay is not None:  # Keras 3's Nadam has no such argument
            config["schedule_decay"] = self.schedule_decay
        return config

    def build(self, variables):
        if self.built:
            return
        dtype = variables[0].value.dtype if variables else _config.floatx()
        super().build(variables)
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"])
        self._u_product = self._add_host_scalar(1.0, dtype, "u_product")

    _fused_step = "nadam"

    def _slot_lists(self):
        return (self._momentums, self._velocities)

    def _hyper(self, learning_rate):
        """Advances the momentum schedule's product ``u_product`` (once per update)."""
        beta_1, beta_2 = float(self.beta_1), float(self.beta_2)
        t = self._iterations.host + 1
        rate = 1.0 if self.schedule_decay is None else float(self.schedule_decay)
        u_t = beta_1 * (1.0 - 0.5 * 0.96 ** (t * rate))
        u_t_1 = beta_1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * rate))
        u_product_t = float(self._u_product.host) * u_t
        self._u_product.set_host(u_product_t)
        # m_hat = c_m * m + c_g * g; v_hat = v / (1 - beta_2**t)
        return {"learning_rate": learning_rate, "one_minus_beta_1": 1.0 - beta_1,
                "one_minus_beta_2": 1.0 - beta_2, "epsilon": float(self.epsilon),
                "c_m": u_t_1 / (1.0 - u_product_t * u_t_1),
                "c_g": (1.0 - u_t) / (1.0 - u_product_t),
                "inv_sqrt_bias": 1.0 / math.sqrt(1.0 - beta_2 ** t)}
