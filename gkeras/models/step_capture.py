"""``compile(jit_compile=...)``: ``fit``'s train step captured as a CUDA graph and replayed.

On a backend that captures graphs (CuPy), a model compiled with ``jit_compile=True`` or
``'auto'`` trains as follows, per set of batch shapes and dtypes (the last, smaller batch of
an epoch is another set):

1. the first step runs eagerly: it builds the optimizer's slots, the metrics and every buffer
   the step allocates once;
2. the second copies its batch into static device buffers and captures ``model._train_step``
   on them as a graph (``backend.capture_graph``), then launches the graph once to run it;
3. every later step copies its batch into the static buffers and launches the graph: one
   launch for the whole forward pass, backward pass, update and metric updates, and no Python
   in between.

A replay runs the captured kernels with the arguments they were captured with, so whatever
changes from step to step lives on the device and is updated in place: the optimizer takes
device steps (gkeras/optimizers/device_steps.py: step count, learning rate and its schedule,
bias corrections, Nadam's momentum product), the loss trackers and metrics accumulate in
place, a ``LossScaleOptimizer``'s scale and skip decision are device arrays, dropout draws
from CuPy's generator, whose state is on the device. A learning rate set by a callback
(``ReduceLROnPlateau``, ``LearningRateScheduler``) is written into the device copy the graph
reads, so the graph stays valid.

Before each replay the step's state is checked on the host (no device read): the arrays of
the weights, the optimizer's variables and flat buffers, the trackers and metric variables
must be the ones the graph was captured with, and the optimizers' host settings
(``weight_decay``, ``clipnorm``, betas...) and the trainable variables unchanged. Otherwise
(``variable.value = new_array`` rather than ``assign`` or ``set_weights``, which write in
place; a re-homed flat buffer; a changed setting) the graph is dropped and the step runs
eagerly, then is captured again -- unless that happens at nearly every step.

What cannot be captured falls back to eager steps: an optimizer without device steps, a
stateful layer, data-parallel training, a host read or synchronisation inside the step (CUDA
invalidates the capture), a step that replaces a state array instead of updating it. With
``jit_compile='auto'`` one warning names the reason and training goes on eagerly; with
``jit_compile=True`` the error names it. On a backend without graphs (NumPy) ``jit_compile``
has no effect.
"""
import warnings

from ..backends import current as _backend
from ..optimizers import device_steps
from ..variables import _VALUE_SLOT

JIT_COMPILE_VALUES = (True, False, "auto", None)
# graph invalidations tolerated (or half the replays, if more) before training goes eager
MAX_INVALIDATIONS = 10


class CaptureError(RuntimeError):
    """The train step cannot be captured as a CUDA graph (the message says why)."""


def check_jit_compile(value):
    if value not in JIT_COMPILE_VALUES or (value is not None and type(value) not in
                                           (bool, str)):
        raise ValueError("compile: `jit_compile` must be True, False or 'auto'; received "
                         f"jit_compile={value!r}.")
    return value


def train_step_runner(model):
    """The callable ``fit`` runs each train step with: ``model._train_step`` itself, or the
    model's ``CapturedSteps`` when it is compiled with ``jit_compile`` on a backend that
    captures graphs."""
    mode = getattr(model, "_jit_compile", None)
    if mode not in (True, "auto"):
        return model._train_step
    reason = _backend().graph_capture_unsupported()
    if reason is not None:
        return model._train_step  # documented: no effect without graphs
    runner = getattr(model, "_captured_steps", None)
    if runner is None or runner.backend is not _backend():
        runner = model._captured_steps = CapturedSteps(model, mode)
    return runner


class CapturedSteps:
    """Train steps through captured graphs, one per set of batch shapes and dtypes."""

    def __init__(self, model, mode):
        self.model = model
        self.mode = mode
        self.backend = _backend()
        self.graphs = {}  # batch signature -> _Graph, or _WARM after the eager warm-up
        self.disabled = None  # the reason, once capture failed with mode 'auto'
        self.captures = 0
        self.replays = 0
        self.invalidations = 0

    def __call__(self, xs, ys, sws, *step_args):
        """One train step of ``model._train_step(xs, ys, sws, *step_args)``."""
        model = self.model
        if self.disabled is not None:
            return model._train_step(xs, ys, sws, *step_args)
        key = _signature(xs, ys, sws) + step_args  # Python arguments are baked into a graph
        entry = self.graphs.get(key)
        if isinstance(entry, _Graph):
            changed = entry.state.difference(_State(model))
            if changed is not None:
                # something the graph depends on changed: warm up and capture again, unless
                # it changes all the time (then each step would be captured anew)
                self.invalidations += 1
                if self.invalidations > max(MAX_INVALIDATIONS, self.replays // 2):
                    return self._fail(f"{changed} changed before {self.invalidations} of "
                                      f"{self.invalidations + self.replays} replays", xs, ys,
                                      sws, step_args)
                entry = None
        if entry is None:
            reason = self._capturable()
            if reason is not None:
                return self._fail(reason, xs, ys, sws, step_args)
            model._train_step(xs, ys, sws, *step_args)
            self.graphs[key] = _WARM
            return None
        if entry is _WARM:
            try:
                self.graphs[key] = self._capture(xs, ys, sws, step_args)  # and runs this step
            except CaptureError as error:
                del self.graphs[key]
                return self._fail(str(error), xs, ys, sws, step_args)
            return None
        entry.run(xs, ys, sws)
        self.replays += 1
        return None

    def _capturable(self):
        """Why the model cannot be captured at all (checked before each warm-up)."""
        model = self.model
        optimizer = model.optimizer
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if getattr(model, "_data_parallel", None) is not None:
            return ("data-parallel training sums the gradients across processes (MPI or "
                    "NCCL calls made from the host) inside the step")
        reason = device_steps.enable(inner)
        if reason is not None:
            return reason
        for layer in _layers(model):
            if getattr(layer, "stateful", False):
                return f"layer {layer.name!r} is stateful (its states are host-side Python)"
        return None

    def _capture(self, xs, ys, sws, step_args):
        model = self.model
        xp = self.backend.xp
        statics = [[None if a is None else xp.empty_like(a) for a in group]
                   for group in (xs, ys, sws)]
        _copy_into(statics, (xs, ys, sws))
        before = _State(model)
        try:
            graph = self.backend.capture_graph(lambda: model._train_step(*statics, *step_args))
        except Exception as error:  # what the device refused inside the step says why
            before.restore()
            raise CaptureError(f"{type(error).__name__}: {error}") from error
        after = _State(model)
        changed = before.difference(after)
        if changed is not None:
            # the replacing arrays were never written (nothing captured has run)
            before.restore()
            raise CaptureError(f"the step replaces {changed} instead of updating it in place")
        self.captures += 1
        entry = _Graph(graph, statics, after)
        entry.graph.launch()  # capturing ran nothing: this launch is this batch's step
        return entry

    def _fail(self, reason, xs, ys, sws, step_args):
        if self.mode is True:
            raise CaptureError(f"jit_compile=True: the train step of model "
                               f"{self.model.name!r} cannot be captured as a CUDA graph: "
                               f"{reason}. Compile with jit_compile='auto' to train eagerly "
                               "instead.")
        self.disabled = reason
        self.graphs.clear()
        warnings.warn(f"jit_compile='auto': the train step of model {self.model.name!r} runs "
                      f"eagerly, it cannot be captured as a CUDA graph: {reason}.",
                      stacklevel=3)
        return self.model._train_step(xs, ys, sws, *step_args)


_WARM = object()


class _Graph:
    def __init__(self, graph, statics, state):
        self.graph = graph
        self.statics = statics
        self.state = state

    def run(self, xs, ys, sws):
        _copy_into(self.statics, (xs, ys, sws))
        self.graph.launch()


def _copy_into(statics, groups):
    xp = _backend().xp
    for static_group, group in zip(statics, groups):
        for static, array in zip(static_group, group):
            if static is not None:
                xp.copyto(static, array)


def _signature(xs, ys, sws):
    return tuple(None if a is None else (tuple(a.shape), str(a.dtype))
                 for group in (xs, ys, sws) for a in group)


def _layers(model):
    stack = list(getattr(model, "layers", ()))
    while stack:
        layer = stack.pop()
        yield layer
        stack.extend(getattr(layer, "layers", ()))
        inner = getattr(layer, "layer", None)  # wrappers
        if inner is not None:
            stack.append(inner)


class _State:
    """What a captured graph depends on, read on the host: the identity of every state array
    (the graph reads and writes their memory) and the host settings baked into its kernels."""

    def __init__(self, model):
        self.model = model
        self.arrays = _state_arrays(model)
        self.settings = _settings(model)

    def difference(self, other):
        """None when ``other`` is the same state, else what differs (for messages)."""
        if self.settings != other.settings:
            return "a host setting of the optimizer, or the trainable variables,"
        if len(self.arrays) != len(other.arrays):
            return "the set of state arrays"
        for (name, array, _), (_, now, _) in zip(self.arrays, other.arrays):
            if array is not now:
                return f"the array of {name}"
        return None

    def restore(self):
        """Put these arrays back where the state holds them (after a failed capture)."""
        for _, array, put_back in self.arrays:
            put_back(array)


def _state_arrays(model):
    """``(name, array, put_back)`` for every state array of a train step; ``put_back(a)``
    makes ``a`` that state's array again."""
    arrays = [_variable_entry(w.path, w) for w in model.weights]
    optimizers = [model.optimizer]
    inner = getattr(model.optimizer, "inner_optimizer", None)
    if inner is not None:
        optimizers.append(inner)
    for optimizer in optimizers:
        arrays += [_variable_entry(v.path, v) for v in optimizer.variables
                   if not hasattr(v, "host")]
        name = f"{optimizer.name}'s flat buffer"
        for group in optimizer._flat_groups or ():
            arrays.append(_attribute_entry(name, group, "grad"))
            for buffer in [group.weights] + [s for s in group.slots if s is not None]:
                arrays.append(_attribute_entry(name, buffer, "array"))
        state = optimizer._device_steps
        if state is not None and state.learning_rate is not None:
            arrays.append(_attribute_entry(f"{optimizer.name}'s learning rate", state,
                                           "learning_rate"))
    for name, tracker in model._all_trackers():
        if hasattr(tracker, "variables"):
            arrays += [_variable_entry(f"metric {name}", v) for v in tracker.variables]
        else:
            arrays += [_attribute_entry(f"tracker {name}", tracker, "total"),
                       _attribute_entry(f"tracker {name}", tracker, "count")]
    return arrays


def _variable_entry(name, variable):
    return name, variable.value, lambda array: _VALUE_SLOT.__set__(variable, array)


def _attribute_entry(name, owner, attribute):
    return name, getattr(owner, attribute), lambda array: setattr(owner, attribute, array)


def _settings(model):
    optimizers = [model.optimizer, getattr(model.optimizer, "inner_optimizer", None)]
    settings = [tuple(map(id, optimizers)), tuple(id(v) for v in model._trainable_cache or ())]
    for optimizer in optimizers:
        if optimizer is not None:
            settings.append(tuple(sorted(
                (key, value) for key, value in vars(optimizer).items()
                if isinstance(value, (bool, int, float, str, type(None))))))
    return settings
