"""``compile`` and the loss/metric bookkeeping it sets up, mixed into ``Model``.

Per output: its loss, loss weight, metrics and a running loss mean. Losses and metrics
accumulate on the backend's device; only the progress bar (throttled) and epoch-end
callbacks read them.
"""
import numpy

from ..autograd import Tensor
from ..backends import current as _backend
from . import step_capture


class _RunningMean:
    """Batch-size-weighted mean of scalar device values. Total and count are device arrays
    (of the values' dtype, as Keras's ``Mean``) updated in place, so that a train step
    captured as a CUDA graph (step_capture.py) updates them at each replay."""

    def __init__(self, name):
        self.name = name
        self.total = self.count = None  # allocated at the first update
        self.reset_state()

    def reset_state(self):
        if self.total is not None:
            self.total[...] = 0
            self.count[...] = 0

    def update(self, value, n):
        xp = _backend().xp
        if self.total is None:
            dtype = getattr(value, "dtype", numpy.dtype("float64"))
            self.total, self.count = xp.zeros((), dtype=dtype), xp.zeros((), dtype=dtype)
        xp.add(self.total, value * n, out=self.total)
        xp.add(self.count, n, out=self.count)

    def result(self):
        if self.total is None:
            return 0.0
        return self.total / _backend().xp.maximum(self.count, 1)


def _value(x):
    return x.value if isinstance(x, Tensor) else x


def _loss_name(loss):
    fn = getattr(loss, "fn", loss)
    name = getattr(fn, "__name__", None) or type(loss).__name__
    return name.lower()


class _Output:
    """Per-output compile state: loss, its weight, metrics, and the loss tracker."""

    def __init__(self, name, loss, weight, metric_ids, weighted_metric_ids=()):
        self.name = name
        self.loss = loss
        self.weight = weight
        # as Keras: `metrics` ignore sample/class weights, `weighted_metrics` use them
        self.metric_ids = list(metric_ids) + list(weighted_metric_ids)
        self.metric_weighted = [False] * len(metric_ids) + [True] * len(weighted_metric_ids)
        plain = {_metric_name(m) for m in metric_ids}
        self.metric_names = [_metric_name(m) for m in metric_ids] + [
            f"weighted_{name}" if name in plain else name
            for name in map(_metric_name, weighted_metric_ids)]
        self.metrics = None
        self.loss_tracker = _RunningMean(f"{name}_loss")


def _per_output(spec, names, what):
    """Spread a compile argument over the outputs: one value for all, a list, or a dict."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"compile: unknown output name(s) {unknown} in `{what}`; the "
                             f"model's outputs are {names}.")
        return [spec.get(n) for n in names]
    if isinstance(spec, (list, tuple)) and what != "metrics":
        if len(spec) != len(names):
            raise ValueError(f"compile: `{what}` has {len(spec)} entries, but the model has "
                             f"{len(names)} output(s): {names}.")
        return list(spec)
    return [spec] * len(names)


class Compiling:
    """``compile``, ``metrics_names``, the running loss/metric trackers and the loss of a batch."""

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, **kwargs):
        """Configure training. ``loss``/``metrics``/``loss_weights`` may be given per output
        as lists or as dicts keyed by output name. ``jit_compile=True`` or ``'auto'``: on the
        CuPy backend ``fit`` replays its train step as a CUDA graph (step_capture.py; unset
        or False: eager steps; no effect on NumPy)."""
        from .. import losses, optimizers
        auto_scale_loss = kwargs.pop("auto_scale_loss", True)
        # jit_compile (True/'auto'): fit's train step as a CUDA graph (step_capture.py)
        jit_compile = step_capture.check_jit_compile(kwargs.pop("jit_compile", None))
        if kwargs.pop("run_eagerly", False):
            jit_compile = False
        for legacy in ("sample_weight_mode", "steps_per_execution"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}.")
        if loss is None:
            raise ValueError("compile: `loss` is required to train the model.")
        self.optimizer = optimizers.get(optimizer)
        # mixed precision (as Keras 3): a float16 model trains with dynamic loss scaling
        if auto_scale_loss and self.dtype_policy.name == "mixed_float16" and \
                not isinstance(self.optimizer, optimizers.LossScaleOptimizer):
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer,
                                                           name="loss_scale_optimizer")
        names = self._output_names_for_compile(loss)
        loss_list = _per_output(loss, names, "loss")
        weights = _per_output(loss_weights, names, "loss_weights") if loss_weights is not None \
            else [1.0] * len(names)
        metric_lists = self._metrics_per_output(metrics, names)
        weighted_lists = self._metrics_per_output(weighted_metrics, names)
        self._outputs = [
            _Output(name, None if l is None else losses.get(l), 1.0 if w is None else float(w),
                    m, wm)
            for name, l, w, m, wm in zip(names, loss_list, weights, metric_lists, weighted_lists)]
        self._loss_tracker = _RunningMean("loss")
        self._compiled = True
        self._trainable_cache = None
        self._jit_compile = jit_compile
        self._captured_steps = None

    def _output_names_for_compile(self, loss):
        if getattr(self, "_is_graph_network", False):
            return self.output_names
        if isinstance(loss, dict):
            return list(loss)
        if isinstance(loss, (list, tuple)) and len(loss) > 1:
            return [f"output_{i + 1}" for i in range(len(loss))]
        return [self.layers[-1].name if getattr(self, "layers", None) else "output_1"]

    @staticmethod
    def _metrics_per_output(metrics, names):
        if metrics is None:
            return [[] for _ in names]
        if isinstance(metrics, dict):
            unknown = [k for k in metrics if k not in names]
            if unknown:
                raise ValueError(f"compile: unknown output name(s) {unknown} in `metrics`; the "
                                 f"model's outputs are {names}.")
            return [_as_list(metrics.get(n)) for n in names]
        if isinstance(metrics, (list, tuple)) and metrics and \
                all(isinstance(m, (list, tuple)) or m is None for m in metrics):
            if len(metrics) != len(names):
                raise ValueError(f"compile: `metrics` has {len(metrics)} lists, but the model "
                                 f"has {len(names)} output(s): {names}.")
            return [_as_list(m) for m in metrics]
        return [_as_list(metrics) for _ in names]  # Keras 2: a flat list applies to every output

    @property
    def metrics_names(self):
        if not self._compiled:
            return []
        names = ["loss"]
        multi = len(self._outputs) > 1
        if multi:
            names += [f"{o.name}_loss" for o in self._outputs if o.loss is not None]
        for o in self._outputs:
            names += [f"{o.name}_{name}" if multi else name for name in o.metric_names]
        return names

    def _require_compiled(self, method):
        if not self._compiled:
            raise RuntimeError(f"You must compile your model before {method}: call "
                               "model.compile(optimizer, loss) first.")

    def _build_metrics(self, y_true, y_pred):
        from .. import metrics as metrics_module
        for o, yt, yp in zip(self._outputs, y_true, y_pred):
            if o.metrics is None:
                # an output without targets keeps its (never updated) metrics, as Keras 2
                true_shape = tuple((yp if yt is None else yt).shape)
                o.metrics = [metrics_module.resolve(m, true_shape, tuple(yp.shape),
                                                    loss=o.loss) for m in o.metric_ids]

    def _all_trackers(self):
        multi = len(self._outputs) > 1
        trackers = [("loss", self._loss_tracker)]
        if multi:
            trackers += [(o.loss_tracker.name, o.loss_tracker) for o in self._outputs
                         if o.loss is not None]
        for o in self._outputs:
            for name, m in zip(o.metric_names, o.metrics or []):
                trackers.append((f"{o.name}_{name}" if multi else name, m))
        return trackers

    def _reset_metrics(self):
        for _, tracker in self._all_trackers():
            tracker.reset_state()

    def _logs(self):
        data_parallel = getattr(self, "_data_parallel", None)
        if data_parallel is not None:  # the same global values on every rank
            return data_parallel.reduced_logs(self._all_trackers())
        return {name: _value(tracker.result()) for name, tracker in self._all_trackers()}

    def _check_targets(self, y_true, y_pred):
        """Refuse targets that cannot match the outputs, with a hint (first batch only)."""
        for o, yt, yp in zip(self._outputs, y_true, y_pred):
            if o.loss is None or yt is None:
                continue
            name = _loss_name(o.loss)
            ts, ps = tuple(yt.shape), tuple(yp.shape)
            # messages show the batch axis as None, as Keras prints shapes
            t_txt, p_txt = _batchless(ts), _batchless(ps)
            labels_txt, column_txt = _batchless(ps[:-1]), _batchless(ps[:-1] + (1,))
            integer = numpy.dtype(yt.dtype).kind in "iub"
            if "sparse" in name:
                if len(ts) == len(ps) and ts[-1] == ps[-1] and ps[-1] > 1:
                    raise ValueError(
                        f"Output '{o.name}': the loss {name} expects integer class labels of "
                        f"shape {labels_txt} or {column_txt}, but received targets of shape "
                        f"{t_txt}, which look one-hot. Use loss='categorical_crossentropy' for "
                        "one-hot targets.")
                if ts not in (ps[:-1], ps[:-1] + (1,)):
                    raise ValueError(f"Output '{o.name}': the loss {name} expects labels of "
                                     f"shape {labels_txt}, received {t_txt}.")
                continue
            if ts == ps:
                continue
            if ps[-1] > 1 and (ts == ps[:-1] or ts == ps[:-1] + (1,)):
                hint = (" Use loss='sparse_categorical_crossentropy' for integer labels, or "
                        "one-hot encode them with gkeras.utils.to_categorical."
                        if "categorical" in name or integer else "")
                raise ValueError(
                    f"Output '{o.name}': the loss {name} expects targets of shape {p_txt} "
                    f"(one per output unit), but received {t_txt}.{hint}")
            if not (ps[-1] == 1 and ts == ps[:-1]) and not (ts[-1:] == (1,) and ts[:-1] == ps):
                raise ValueError(f"Output '{o.name}': targets of shape {t_txt} do not match "
                                 f"the model output shape {p_txt}.")

    # --- the loss of one batch ------------------------------------------------------------------
    def _compute_loss(self, y_true, y_pred, sample_weights):
        total = None
        per_output = []
        for o, yt, yp, sw in zip(self._outputs, y_true, y_pred, sample_weights):
            if o.loss is None:
                per_output.append(None)
                continue
            value = o.loss(yt, yp, sw)
            per_output.append(value)
            weighted = value if o.weight == 1.0 else value * o.weight
            total = weighted if total is None else total + weighted
        for penalty in self.losses:
            total = total + penalty
        return total, per_output

    def _update_trackers(self, total, per_output, y_true, y_pred, sample_weights, n):
        self._loss_tracker.update(_value(total), n)
        multi = len(self._outputs) > 1
        for o, loss, yt, yp, sw in zip(self._outputs, per_output, y_true, y_pred,
                                       sample_weights):
            if multi and loss is not None:
                o.loss_tracker.update(_value(loss), n)
            if yt is None:
                continue
            for m, weighted in zip(o.metrics, o.metric_weighted):
                m.update_state(yt, yp, sample_weight=sw if weighted else None)


def _batchless(shape):
    return str((None,) + tuple(shape[1:]))


def _as_list(metrics):
    if metrics is None:
        return []
    return list(metrics) if isinstance(metrics, (list, tuple)) else [metrics]


def _metric_name(identifier):
    if isinstance(identifier, str):
        return identifier
    name = getattr(identifier, "name", None)
    if isinstance(name, str):
        return name
    return getattr(identifier, "__name__", type(identifier).__name__)


def _format_results(logs, names, return_dict):
    values = {k: float(_backend().to_numpy(v)) if not isinstance(v, float) else v
              for k, v in logs.items()}
    if return_dict:
        return values
    ordered = [values[k] for k in names if k in values]
    return ordered[0] if len(ordered) == 1 else ordered
