"""``LossScaleOptimizer``: dynamic loss scaling around another optimizer, as Keras 3's.

float16 gradients underflow to zero where float32 ones would not. The train step multiplies
the loss by a large scale (``scale_loss``) so that the backward pass carries scaled gradients;
this optimizer divides them back before the inner optimizer's update. A step whose gradients
hold an inf or a NaN (the scale was too large) is skipped and the scale halved; after
``dynamic_growth_steps`` finite steps in a row the scale doubles.

Nothing here reads the device: the finiteness of the gradients is a 0-d device boolean that
gates the update. The inner optimizer updates as usual and, where the flag says "not finite",
the weights and its state (its device step count included, so that a skipped step is not
counted, as in Keras 3) are copied back from a backup taken before the update
(``copyto(..., where=...)``); the scale and the step counter are updated with ``where`` on the
device too, and are read only when the user asks (``float(optimizer.dynamic_scale)``). This
uses only the inner optimizer's public ``build``/``apply``/``variables``, whatever its update
looks like inside.
"""
from ..autograd import Tensor
from ..backends import current as _backend
from ..ops import multiply
from . import device_steps
from .optimizer import Optimizer, _HostScalarVariable

# Keras 3's base optimizer arguments, which belong to the inner optimizer here
_INNER_ARGUMENTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                    "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                    "ema_overwrite_frequency": None, "loss_scale_factor": None,
                    "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer`` with dynamic loss scaling.

    ``initial_scale``: the first loss scale (large: too large a scale falls by half per
    skipped step, too small a one only doubles every ``dynamic_growth_steps`` steps).
    ``dynamic_growth_steps``: finite steps in a row after which the scale doubles.

    ``iterations`` is the inner optimizer's and, as in Keras 3, counts applied steps only: a
    skipped step leaves it (and the bias corrections that follow it) unchanged. The inner
    optimizer takes device steps (device_steps.py) so that this needs no read of the device;
    an inner optimizer without a device form (a custom update rule or learning-rate callable)
    keeps its host count, which then counts skipped steps too (``host_iterations_reason``
    says why).
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, "
                             "set `loss_scale_factor` directly on the `inner_optimizer`.")
        for argument, default in _INNER_ARGUMENTS.items():
            if argument in kwargs and kwargs.pop(argument) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{argument}`. Instead, "
                                 f"set `{argument}` on the `inner_optimizer`.")
        if kwargs:
            raise ValueError("LossScaleOptimizer does not support arguments: "
                             f"`{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("LossScaleOptimizer: `inner_optimizer` must be an Optimizer "
                            f"instance, received {inner_optimizer!r}.")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be an integer "
                             f">= 1, received {dynamic_growth_steps!r}.")
        if not float(initial_scale) > 0:
            raise ValueError("LossScaleOptimizer: `initial_scale` must be a positive number, "
                             f"received {initial_scale!r}.")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None
        self._backups = []
        self.host_iterations_reason = None

    def build(self, variables):
        if self.built:
            return
        self.step_counter = self.add_variable((), 0, "int32", "step_counter")
        self.dynamic_scale = self.add_variable((), self.initial_scale, "float32",
                                               "dynamic_scale")
        self.inner_optimizer.build(variables)
        self.host_iterations_reason = device_steps.enable(self.inner_optimizer)
        super().build(variables)

    # ---- state: own variables, then the inner optimizer's (Keras 3's order) -------------

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def get_weights(self):
        return super().get_weights() + self.inner_optimizer.get_weights()

    def set_weights(self, weights):
        weights = list(weights)
        own = len(self._variables)
        expected = own + len(self.inner_optimizer.variables)
        if len(weights) != expected:
            raise ValueError(f"Optimizer '{self.name}' has {expected} state variable(s) (its "
                             f"own {own} and its inner optimizer's), received {len(weights)} "
                             "value(s).")
        super().set_weights(weights[:own])
        self.inner_optimizer.set_weights(weights[own:])

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    lr = learning_rate

    # ---- the step -----------------------------------------------------------------------

    def scale_loss(self, loss):
        """``loss`` times the current loss scale (a device multiply, no read)."""
        return multiply(loss, self.dynamic_scale if self.built else self.initial_scale)

    def apply_gradients(self, grads_and_vars):
        super().apply_gradients(grads_and_vars)
        return self.iterations

    def apply(self, grads, variables=None):
        """Unscale ``grads`` (scaled by ``scale_loss``'s factor) and apply them with the inner
        optimizer, unless one holds an inf or a NaN: then nothing changes but the scale."""
        grads = list(grads)
        if variables is None:
            if not self.built:
                raise ValueError("LossScaleOptimizer: when passing `grads` without "
                                 "`variables`, the optimizer must already be built on a list "
                                 "of variables. Call `optimizer.build(trainable_variables)` "
                                 "first.")
            variables = self._trainable_variables
        else:
            variables = list(variables)
            if not self.built:
                self.build(variables)
        xp = _backend().xp
        arrays = [g.value if isinstance(g, Tensor) else g for g in grads]
        present = [_backend().asarray(g) for g in arrays if g is not None]
        if not present:
            return self.inner_optimizer.apply(grads, variables)  # its error for no gradients
        finite = self.check_finite(present)
        scale = self.dynamic_scale.value
        unscaled = [None if g is None else xp.divide(_backend().asarray(g), scale)
                    for g in arrays]
        watched = [v for v, g in zip(variables, arrays) if g is not None] + [
            v for v in self.inner_optimizer.variables if not isinstance(v, _HostScalarVariable)]
        backups = self._backup(watched)
        self.inner_optimizer.apply(unscaled, variables)
        skipped = xp.logical_not(finite)
        for variable, backup in zip(watched, backups):
            xp.copyto(variable.value, backup, where=skipped)
        self._update_scale(finite)

    def check_finite(self, grads):
        """A 0-d device boolean: every entry of every gradient is finite."""
        xp = _backend().xp
        finite = xp.isfinite(grads[0]).all()
        for g in grads[1:]:
            finite = xp.logical_and(finite, xp.isfinite(g).all())
        return finite

    def _backup(self, variables):
        """Copies of the variables' values, in buffers kept from step to step."""
        xp = _backend().xp
        if [(b.shape, b.dtype) for b in self._backups] != \
                [(v.value.shape, v.value.dtype) for v in variables]:
            self._backups = [xp.empty_like(v.value) for v in variables]
        for variable, backup in zip(variables, self._backups):
            xp.copyto(backup, variable.value)
        return self._backups

    def _update_scale(self, finite):
        """Finite step: count it, and double the scale (count back to 0) on the
        ``dynamic_growth_steps``-th. Skipped step: halve the scale, count back to 0."""
        xp = _backend().xp
        counter, scale = self.step_counter.value, self.dynamic_scale.value
        grow = xp.logical_and(finite, counter == self.dynamic_growth_steps - 1)
        new_scale = xp.where(finite, xp.where(grow, scale * 2.0, scale), scale * 0.5)
        new_counter = xp.where(xp.logical_and(finite, xp.logical_not(grow)), counter + 1, 0)
        xp.copyto(scale, new_scale.astype(scale.dtype))
        xp.copyto(counter, new_counter.astype(counter.dtype))

    # ---- serialization ------------------------------------------------------------------

    def get_config(self):
        from . import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import deserialize
        config = dict(config)
        inner = deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)

    def __repr__(self):
        return f"<LossScaleOptimizer name={self.name} inner={self.inner_optimizer!r}>"
