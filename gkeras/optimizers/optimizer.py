"""The optimizer base class: state variables, the learning rate, gradient clipping, weight
decay, configs.

Every update runs in place on the backend's arrays (weights and per-weight state), with the
step's coefficients (learning rate, bias corrections) computed once per step as Python floats
from a host-side step count, so a training step never waits on the device. An optimizer
switched to device steps (device_steps.py: inside a LossScaleOptimizer, or in a train step
captured as a CUDA graph) keeps its step count and learning rate on the device instead and
computes those coefficients there.

The built-in optimizers name a backend ``optimizer_step`` (``_fused_step``; the equations are
in backends/numpy_optimizers.py). From their first update on, they keep the trainable
variables and their slots in flat buffers (flat_buffers.py, one per dtype) and update each
buffer with one ``optimizer_step``; a step that cannot be flat (a gradient is None, or
``apply`` gets other variables than the optimizer was built with) updates variable by variable
with the same equations.
"""
import inspect
import operator
import re
import warnings

import numpy

from .. import config as _config
from ..autograd import Tensor
from ..backends import current as _backend
from ..variables import Variable
from . import device_steps, schedules
from .flat_buffers import FlatBuffer
from .schedules import LearningRateSchedule


class _HostScalarVariable(Variable):
    """A scalar Variable (step count, learning rate) whose value lives on the host.

    The optimizer reads and updates ``host`` without touching the device; the backend array is
    built only when someone reads ``value`` (saving, printing). Setting ``value`` or calling
    ``assign`` (e.g. when loading a checkpoint) updates ``host``.
    """

    __slots__ = ("host", "_array", "_scalar_dtype")

    @property
    def value(self):
        if self._array is None:
            self._array = _backend().asarray(self.host, dtype=self._scalar_dtype)
        return self._array

    @value.setter
    def value(self, array):
        if not _backend().is_array(array):
            array = _backend().asarray(array, dtype=getattr(self, "_scalar_dtype", None))
        if numpy.shape(array) != ():
            raise ValueError(f"Variable {getattr(self, 'path', '?')!r} is a scalar; received a "
                             f"value of shape {numpy.shape(array)}.")
        self._scalar_dtype = array.dtype
        self.host = _backend().to_numpy(array).item()
        self._array = array

    @property
    def dtype(self):
        return self._scalar_dtype

    @property
    def shape(self):
        return ()

    def assign(self, value):
        self.value = value.value if isinstance(value, Tensor) else value
        return self

    def set_host(self, number):
        self.host = number
        self._array = None

    def host_array(self):
        """The exact host value as a 0-d NumPy array (float64 for a float variable)."""
        exact = numpy.float64 if numpy.dtype(self._scalar_dtype).kind == "f" \
            else self._scalar_dtype
        return numpy.array(self.host, dtype=exact)

    def restore(self, array):
        """Set from a saved 0-d array; the exact host value is kept when the array holds it
        rounded to the array's precision (a float32 learning rate 0.001 stays 0.001)."""
        if numpy.asarray(self.host).astype(array.dtype) != array:
            number = array.item()
            integral = numpy.dtype(self._scalar_dtype).kind in "iu"
            self.set_host(int(number) if integral else float(number))

    def __int__(self):
        return int(self.host)

    def __float__(self):
        return float(self.host)

    def __index__(self):
        return int(self.host)


def _shapes(arrays):
    return [tuple(a.shape) for a in arrays]


def _fill(shape, dtype, initializer):
    """A backend array for ``initializer``: 'zeros', a number, or a callable f(shape, dtype)."""
    backend = _backend()
    if isinstance(initializer, str):
        if initializer not in ("zeros", "ones"):
            raise ValueError(f"Optimizer variable initializer must be 'zeros', 'ones', a number or "
                             f"a callable f(shape, dtype); received {initializer!r}.")
        initializer = 0.0 if initializer == "zeros" else 1.0
    if callable(initializer):
        return backend.asarray(initializer(tuple(shape), dtype), dtype=dtype)
    return backend.xp.full(tuple(shape), initializer, dtype=dtype)


class Optimizer:
    """Base class. Subclasses create per-weight state in ``build`` and update it in
    ``update_step(gradient, variable, learning_rate)`` (arrays, in place) or, to compute
    per-step coefficients once, in ``_update_step(grads, variables, learning_rate)``.

    ``iterations`` is an int64 Variable counting applied steps (``int(opt.iterations)`` reads
    it without a device copy). ``learning_rate`` reads as a Python float.

    Keras 2's ``decay`` (a float >= 0, default 0) scales the rate of every update as Keras 2
    does: ``learning_rate / (1 + decay * iterations)``, with ``iterations`` the number of
    updates already applied (the first update uses the undecayed rate). It applies on top of a
    schedule or of a rate set by a callback; ``learning_rate`` reads the undecayed rate.
    """

    _config_keys = ()  # the hyperparameters of a subclass, added to get_config()
    _fused_step = None  # the backend optimizer_step of a subclass (with _slot_lists, _hyper)
    # None: flat buffers where the backend says they pay off (flat_update_pays_off); True:
    # always; False: never (every update variable by variable, as before flat buffers)
    flat_buffers = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls_name = type(self).__name__
        legacy_lr = kwargs.pop("lr", None)
        if legacy_lr is not None:
            default = inspect.signature(type(self).__init__).parameters.get("learning_rate")
            default = None if default is None else default.default
            if learning_rate is not default and learning_rate != legacy_lr:
                raise ValueError(f"{cls_name}: pass only one of `learning_rate` and its legacy "
                                 f"alias `lr`; received learning_rate={learning_rate}, "
                                 f"lr={legacy_lr}.")
            learning_rate = legacy_lr
        decay = kwargs.pop("decay", None)
        decay = 0.0 if decay is None else decay
        if isinstance(decay, bool) or not isinstance(decay, (int, float, numpy.number)) \
                or not decay >= 0:
            raise ValueError(f"{cls_name}: `decay` (Keras 2's learning rate decay per update) "
                             f"must be a float >= 0; received decay={decay!r}.")
        if kwargs:
            raise ValueError(f"{cls_name}: argument(s) not recognized: {kwargs}")
        if use_ema:
            raise NotImplementedError(f"{cls_name}: `use_ema=True` is not supported by gkeras.")
        if gradient_accumulation_steps:
            raise NotImplementedError(
                f"{cls_name}: `gradient_accumulation_steps` is not supported by gkeras.")
        clip_args = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                     "global_clipnorm": global_clipnorm}
        if sum(value is not None for value in clip_args.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.name = name or re.sub(r"(?<!^)(?=[A-Z])", "_", cls_name).lower()
        self.weight_decay = weight_decay
        self.decay = float(decay)
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._variable_index = {}
        self._scratch_buffers = {}
        self._exclude_from_weight_decay = set()
        self._exclude_from_weight_decay_pattern = None
        self._weight_decay_cache = {}
        self._flat_groups = None  # per dtype: _FlatGroup, built at the first flat update
        self._flat_pays_off = None  # (distinct variables, the backend's answer), once built
        self._device_steps = None  # device_steps._DeviceState once switched to device steps
        self._iterations = self._add_host_scalar(0, "int64", "iteration")
        self._learning_rate = None
        self._set_learning_rate(learning_rate, construct=True)

    # ---- state ------------------------------------------------------------------------------

    def _add_host_scalar(self, value, dtype, name):
        variable = _HostScalarVariable(value, dtype=dtype, trainable=False, name=name)
        variable.set_host(value)  # exact on the host (e.g. lr 0.001, not its float32 rounding)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    @property
    def iterations(self):
        return self._iterations

    @property
    def variables(self):
        """The optimizer's state Variables, in Keras's order: iteration, learning rate (unless a
        schedule), then the per-weight slots created by ``build``."""
        return self._variables[:]

    def get_weights(self):
        """The state as NumPy arrays in ``variables`` order; the step count, learning rate
        and other host scalars exactly (float64 for a float)."""
        return [v.host_array() if isinstance(v, _HostScalarVariable) else v.numpy()
                for v in self._variables]

    def set_weights(self, weights):
        """Set the state from arrays in ``variables`` order (as ``get_weights`` returns them;
        build the optimizer first to include the per-weight slots). Count and shapes are
        checked before anything changes; the host step count follows ``iteration``."""
        backend = _backend()
        weights = [backend.to_numpy(w) if backend.is_array(w) else numpy.asarray(w)
                   for w in weights]
        variables = self._variables
        if len(weights) != len(variables):
            raise ValueError(f"Optimizer '{self.name}' has {len(variables)} state variable(s) "
                             f"{_shapes(variables)}, received {len(weights)} value(s) "
                             f"{_shapes(weights)}.")
        for variable, weight in zip(variables, weights):
            if tuple(weight.shape) != tuple(variable.shape):
                raise ValueError(f"Optimizer variable {variable.path!r} has shape "
                                 f"{tuple(variable.shape)}, received a value of shape "
                                 f"{tuple(weight.shape)}.")
        for variable, weight in zip(variables, weights):
            if isinstance(variable, _HostScalarVariable):
                variable.restore(weight)
            else:
                variable.assign(weight)

    def build(self, variables):
        """Record the variables to train; subclasses then add their per-weight state."""
        self._trainable_variables = list(variables)
        self._variable_index = {id(v): i for i, v in enumerate(self._trainable_variables)}
        self.built = True

    def add_variable(self, shape, initializer="zeros", dtype=None, name=None):
        dtype = dtype or _config.floatx()
        variable = Variable(_fill(shape, dtype, initializer), dtype=dtype, trainable=False,
                            name=name or "var")
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A state Variable with the shape and dtype of ``reference_variable``."""
        name = f"{reference_variable.path.replace('/', '_')}_{name or 'var'}"
        return self.add_variable(reference_variable.shape, initializer,
                                 reference_variable.value.dtype, name)

    def add_optimizer_variables(self, variables, name, initializer="zeros"):
        """One state Variable per model variable; a list of names gives a tuple of lists,
        created interleaved per variable (Keras's order)."""
        names = [name] if isinstance(name, str) else list(name)
        slots = tuple([] for _ in names)
        for variable in variables:
            for slot, slot_name in zip(slots, names):
                slot.append(self.add_variable_from_reference(variable, slot_name, initializer))
        return slots[0] if isinstance(name, str) else slots

    def _get_variable_index(self, variable):
        return self._variable_index[id(variable)]

    def _scratch(self, like, which=0):
        """A reusable temporary with ``like``'s shape and dtype (one per shape, dtype, which)."""
        key = (like.shape, like.dtype, which)
        buffer = self._scratch_buffers.get(key)
        if buffer is None:
            buffer = self._scratch_buffers[key] = _backend().xp.empty_like(like)
        return buffer

    # ---- learning rate ----------------------------------------------------------------------

    def _set_learning_rate(self, learning_rate, construct=False):
        if isinstance(learning_rate, LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, Tensor)):
            if isinstance(self._learning_rate, _HostScalarVariable):
                self._variables.remove(self._learning_rate)
            self._learning_rate = learning_rate
            return
        if isinstance(learning_rate, Tensor):
            learning_rate = learning_rate.numpy()
        elif _backend().is_array(learning_rate):
            learning_rate = _backend().to_numpy(learning_rate)
        if isinstance(learning_rate, (bool, numpy.bool_)) or not isinstance(
                learning_rate, (int, float, numpy.integer, numpy.floating, numpy.ndarray)) \
                or numpy.shape(learning_rate) != ():
            raise ValueError(
                f"{type(self).__name__}: argument `learning_rate` should be a float, an instance "
                "of LearningRateSchedule, or a callable (that takes no arguments and returns the "
                f"learning rate). Received instead: learning_rate={learning_rate!r}")
        learning_rate = float(learning_rate)
        if isinstance(self._learning_rate, _HostScalarVariable):
            self._learning_rate.set_host(learning_rate)
            if self._device_steps is not None:
                self._device_steps.set_learning_rate(learning_rate)
        elif construct:
            self._learning_rate = self._add_host_scalar(learning_rate, _config.floatx(),
                                                        "learning_rate")
        else:
            raise TypeError(
                f"{type(self).__name__} was created with a `LearningRateSchedule` or a callable "
                "as its `learning_rate`, hence its learning rate is not settable. Instantiate "
                "the optimizer with a float `learning_rate` to make it settable.")

    def _current_learning_rate(self):
        """The learning rate for the next update, as a Python float."""
        rate = self._learning_rate
        if isinstance(rate, _HostScalarVariable):
            return float(rate.host)
        if isinstance(rate, LearningRateSchedule):
            rate = rate(int(self._iterations))
        else:
            rate = rate()
        return float(rate.numpy()) if isinstance(rate, Tensor) else float(rate)

    def _step_learning_rate(self):
        """The rate the next update applies: the learning rate with Keras 2's ``decay`` (with
        device steps a float64 0-d device array)."""
        if self._device_steps is not None:
            return self._device_steps.step_learning_rate()
        rate = self._current_learning_rate()
        if self.decay:
            rate *= 1.0 / (1.0 + self.decay * self._iterations.host)
        return rate

    @property
    def learning_rate(self):
        """The current learning rate (for a schedule: its value at the current step), before
        Keras 2's ``decay``."""
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self._set_learning_rate(learning_rate)

    lr = learning_rate  # legacy alias

    # ---- applying gradients -----------------------------------------------------------------

    def apply_gradients(self, grads_and_vars):
        """Apply ``zip(grads, variables)``; returns ``iterations``."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads, variables=None):
        """One update of ``variables`` (or the variables the optimizer was built with).

        ``grads`` holds backend arrays, Tensors, or None (that variable is skipped).
        """
        grads = list(grads)
        if not grads:
            return
        cls_name = type(self).__name__
        if variables is None:
            if not self.built:
                raise ValueError(f"{cls_name}: when passing `grads` without `variables`, the "
                                 "optimizer must already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            variables = self._trainable_variables
        else:
            variables = list(variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(f"{cls_name}: received {len(grads)} gradient(s) for "
                             f"{len(variables)} variable(s).")
        backend = _backend()
        kept_grads, kept_vars, missing = [], [], []
        for grad, variable in zip(grads, variables):
            if id(variable) not in self._variable_index:
                raise ValueError(
                    f"{cls_name}: unknown variable {variable!r}. This optimizer can only be "
                    "called for the variables it was originally built with. When working "
                    "with a new set of variables, you should recreate a new optimizer instance.")
            if grad is None:
                missing.append(variable.name)
                continue
            if isinstance(grad, Tensor):
                grad = grad.value
            weight = variable.value
            grad = backend.asarray(grad, dtype=weight.dtype)
            if grad.shape != weight.shape:
                raise ValueError(f"{cls_name}: the gradient for variable {variable.path!r} has "
                                 f"shape {tuple(grad.shape)}, expected {tuple(weight.shape)}.")
            kept_grads.append(grad)
            kept_vars.append(variable)
        if not kept_grads:
            raise ValueError(f"{cls_name}: no gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the "
                          "loss. If using `model.compile()`, did you forget to provide a `loss` "
                          "argument?", stacklevel=2)
        if self._can_update_flat(kept_vars):
            self._apply_flat(kept_grads)
        else:
            self._apply_per_variable(kept_grads, kept_vars)
        if self._device_steps is None:
            self._iterations.set_host(self._iterations.host + 1)
        else:
            self._device_steps.count_step()
        for variable in kept_vars:
            if variable.constraint is not None:
                variable.value = variable.constraint(Tensor(variable.value)).value

    def _apply_per_variable(self, grads, variables):
        if self.loss_scale_factor is not None:
            scale = float(self.loss_scale_factor)  # a NumPy float64 would upcast float32 grads
            grads = [g / scale for g in grads]
        grads = self._clip_gradients(grads)
        learning_rate = self._step_learning_rate()
        self._apply_weight_decay(variables, learning_rate)
        self._update_step(grads, variables, learning_rate)

    def _update_step(self, grads, variables, learning_rate):
        if self._fused_step is None:
            for grad, variable in zip(grads, variables):
                self.update_step(grad, variable, learning_rate)
            return
        backend = _backend()
        hyper = self._step_hyper(learning_rate)
        slot_lists = self._slot_lists()
        for grad, variable in zip(grads, variables):
            index = self._get_variable_index(variable)
            weight = variable.value
            slots = tuple(None if slot is None else slot[index].value for slot in slot_lists)
            backend.optimizer_step(self._fused_step, weight, grad, slots,
                                   self._hyper_for(hyper, weight.dtype),
                                   lambda which, like=weight: self._scratch(like, which))

    def _slot_lists(self):
        """The per-variable slot lists in the order of the backend step's slots (None for a
        slot the configuration does not use)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_slot_lists`.")

    def _hyper(self, learning_rate):
        """The backend step's scalars for this update (called once per update)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_hyper`.")

    def _step_hyper(self, learning_rate):
        if self._device_steps is not None:
            return self._device_steps.hyper(learning_rate)
        return self._hyper(learning_rate)

    def _hyper_for(self, hyper, dtype):
        """``hyper`` for arrays of ``dtype``: device scalars rounded to it (host floats are
        rounded by the backend)."""
        return hyper if self._device_steps is None else device_steps.for_dtype(hyper, dtype)

    # ---- flat buffers -----------------------------------------------------------------------

    def _can_update_flat(self, variables):
        """Whether this update can run over the flat buffers: a built-in step, every variable
        the optimizer was built with, in order, each with a gradient."""
        built = self._trainable_variables
        return (self._fused_step is not None and self._flat_wanted()
                and type(self)._update_step is Optimizer._update_step
                and len(variables) == len(built)
                and all(map(operator.is_, variables, built)))

    def _flat_wanted(self):
        if self.flat_buffers is False:
            return False
        if self._flat_pays_off is None:
            variables = self._trainable_variables
            # a variable listed twice is updated twice per step: only per variable
            distinct = len(self._variable_index) == len(variables)
            self._flat_pays_off = (distinct, distinct and _backend().flat_update_pays_off(
                [v.size for v in variables]))
        distinct, pays_off = self._flat_pays_off
        return distinct and (self.flat_buffers or pays_off)

    def _flat(self):
        """The flat groups (one per dtype), built at the first flat update and re-homed when
        another optimizer took their variables."""
        if self._flat_groups is None:
            by_dtype = {}
            for index, variable in enumerate(self._trainable_variables):
                by_dtype.setdefault(variable.value.dtype, []).append(index)
            slot_lists = self._slot_lists()
            self._flat_groups = [_FlatGroup(self, indices, dtype, slot_lists)
                                 for dtype, indices in by_dtype.items()]
        for group in self._flat_groups:
            if not group.weights.homed:
                group.weights.home()
        return self._flat_groups

    def _apply_flat(self, grads):
        """``_apply_per_variable`` over the flat buffers: the same operations on the same
        elements, except the sums of clipnorm and global_clipnorm (see docs/optimizers.md)."""
        backend = _backend()
        xp = backend.xp
        groups = self._flat()
        for group in groups:
            group.weights.gather([grads[i] for i in group.indices], group.grad)
        if self.loss_scale_factor is not None:
            scale = float(self.loss_scale_factor)
            for group in groups:
                xp.divide(group.grad, scale, out=group.grad)
        self._clip_flat(groups)
        learning_rate = self._step_learning_rate()
        if self.weight_decay is not None:
            keep = 1.0 - float(self.weight_decay) * learning_rate
            for group in groups:
                group_keep = self._hyper_for({"keep": keep}, group.dtype)["keep"]
                for run in group.decay_runs:
                    xp.multiply(group.weights.array[run], group_keep,
                                out=group.weights.array[run])
        hyper = self._step_hyper(learning_rate)
        for group in groups:
            weights = group.weights.array
            backend.optimizer_step(self._fused_step, weights, group.grad, group.slot_arrays(),
                                   self._hyper_for(hyper, group.dtype),
                                   lambda which, like=weights: self._scratch(like, which))

    def _clip_flat(self, groups):
        xp = _backend().xp
        if self.clipnorm and self.clipnorm > 0:
            clipnorm = float(self.clipnorm)
            for group in groups:
                if group.weights.size == 0:
                    continue
                squares = xp.square(group.grad, out=self._scratch(group.grad))
                norms = xp.sqrt(xp.add.reduceat(squares, group.segment_starts()))
                scales = clipnorm / xp.maximum(norms, clipnorm)
                xp.take(scales, group.segment_ids(), out=squares)
                xp.multiply(group.grad, squares, out=group.grad)
        elif self.global_clipnorm and self.global_clipnorm > 0:
            clipnorm = float(self.global_clipnorm)
            norm = xp.sqrt(sum(xp.sum(xp.square(g.grad, out=self._scratch(g.grad)), dtype=g.dtype)
                               for g in groups))
            scale = clipnorm / xp.maximum(norm, clipnorm) + (norm - norm)
            for group in groups:
                xp.multiply(group.grad, scale.astype(group.dtype), out=group.grad)
        elif self.clipvalue and self.clipvalue > 0:
            clipvalue = float(self.clipvalue)
            for group in groups:
                xp.clip(group.grad, -clipvalue, clipvalue, out=group.grad)

    def update_step(self, gradient, variable, learning_rate):
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step`.")

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when a factor is set (gradients are divided back)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ---- clipping and weight decay (new arrays: the caller's gradients are left intact) -----

    def _clip_gradients(self, grads):
        xp = _backend().xp
        if self.clipnorm and self.clipnorm > 0:
            clipnorm = float(self.clipnorm)
            # g * c / max(||g||, c): unchanged when the norm is below c
            return [g * (clipnorm / xp.maximum(xp.sqrt(xp.sum(xp.square(g))), clipnorm))
                    for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            clipnorm = float(self.global_clipnorm)
            norm = xp.sqrt(sum(xp.sum(xp.square(g), dtype=g.dtype) for g in grads))
            # NaN when the norm is not finite, as Keras
            scale = clipnorm / xp.maximum(norm, clipnorm) + (norm - norm)
            return [g * scale.astype(g.dtype) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            clipvalue = float(self.clipvalue)
            return [xp.clip(g, -clipvalue, clipvalue) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt variables (or those whose name contains one of ``var_names``) from decay."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = {id(v) for v in var_list or ()}
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None)
        self._weight_decay_cache = {}

    def _use_weight_decay(self, variable):
        key = id(variable)
        if key not in self._weight_decay_cache:
            pattern = self._exclude_from_weight_decay_pattern
            self._weight_decay_cache[key] = key not in self._exclude_from_weight_decay and (
                pattern is None or pattern.search(variable.name) is None)
        return self._weight_decay_cache[key]

    def _apply_weight_decay(self, variables, learning_rate):
        if self.weight_decay is None:
            return
        xp = _backend().xp
        keep = 1.0 - float(self.weight_decay) * learning_rate  # w - w * wd * lr
        for variable in variables:
            if self._use_weight_decay(variable):
                value = variable.value
                xp.multiply(value, self._hyper_for({"keep": keep}, value.dtype)["keep"],
                            out=value)

    # ---- serialization ----------------------------------------------------------------------

    def get_config(self):
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = schedules.serialize(rate)
        elif isinstance(rate, _HostScalarVariable):
            rate = float(rate.host)
        config = {"name": self.name, "learning_rate": rate,
                  "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                  "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                  "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps,
                  **{key: getattr(self, key) for key in self._config_keys}}
        if self.decay:  # left out at 0, so Keras 3 reads the config without its warning
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"],
                                                            custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name} learning_rate={self.learning_rate:g}>"


def _epsilon(epsilon):
    """Keras 2's ``epsilon=None``: the fuzz factor ``gkeras.config.epsilon()``."""
    return _config.epsilon() if epsilon is None else epsilon


def _checked_flag(optimizer, name, value, keras2_argument):
    """A bool argument that Keras 2.2.4 had a float in the same position for: a float there is
    most likely that argument passed positionally, so it is refused with the fix."""
    if isinstance(value, float):
        raise ValueError(f"{optimizer}: `{name}` must be a bool; received {name}={value!r}. "
                         f"In Keras 2.2.4 this position held `{keras2_argument}`: pass "
                         f"{keras2_argument}={value!r} by keyword.")
    return value


class _FlatGroup:
    """An optimizer's variables of one dtype (``indices`` into its variable list): their
    weights, each slot and the gathered gradients in flat buffers of one layout."""

    def __init__(self, optimizer, indices, dtype, slot_lists):
        variables = [optimizer._trainable_variables[i] for i in indices]
        self.indices = indices
        self.dtype = numpy.dtype(dtype)
        self.weights = FlatBuffer(variables, dtype)
        self.slots = [None if slot is None else FlatBuffer([slot[i] for i in indices], dtype)
                      for slot in slot_lists]
        self.grad = _backend().xp.empty((self.weights.size,), dtype=self.dtype)
        self.decay_runs = self.weights.runs(optimizer._use_weight_decay(v) for v in variables)
        self._starts = self._ids = None

    def slot_arrays(self):
        return tuple(None if slot is None else slot.array for slot in self.slots)

    def _nonempty(self):
        offsets = self.weights.offsets
        return [i for i in range(len(self.indices)) if offsets[i + 1] > offsets[i]]

    def segment_starts(self):
        """The offset of each non-empty variable (for ``add.reduceat``), a backend array."""
        if self._starts is None:
            starts = self.weights.offsets[self._nonempty()]
            self._starts = _backend().asarray(starts.astype(numpy.int64))
        return self._starts

    def segment_ids(self):
        """For each element, the index of its variable among the non-empty ones."""
        if self._ids is None:
            sizes = numpy.diff(self.weights.offsets)[self._nonempty()]
            ids = numpy.repeat(numpy.arange(len(sizes), dtype=numpy.int32), sizes)
            self._ids = _backend().asarray(ids)
        return self._ids
