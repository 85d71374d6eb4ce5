"""compile / fit / evaluate / predict, mixed into ``Model``.

One training step: forward under a tape, total loss (weighted output losses plus layer
losses), one reverse pass, one optimizer update. Losses and metrics accumulate on the
backend's device; only the progress bar (throttled) and epoch-end callbacks read them.
"""
import warnings

import numpy

from .. import config
from ..autograd import GradientTape, Tensor, backward
from ..backends import current as _backend
from ..layers.base import flatten
from ..utils import data as data_utils
from . import arguments


class _RunningMean:
    """Batch-size-weighted mean of scalar device values (count kept on the host)."""

    def __init__(self, name):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update(self, value, n):
        self.total = self.total + value * n
        self.count += n

    def result(self):
        return self.total / max(self.count, 1)


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


class Trainer:
    def __init__(self):
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._outputs = None
        self._compiled = False

    # --- compile -----------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, **kwargs):
        """Configure training. ``loss``/``metrics``/``loss_weights`` may be given per output
        as lists or as dicts keyed by output name."""
        from .. import losses, optimizers
        for legacy in ("sample_weight_mode", "run_eagerly", "jit_compile", "steps_per_execution",
                       "auto_scale_loss"):
            kwargs.pop(legacy, None)
        if kwargs:
            raise TypeError(f"compile: unexpected keyword argument(s) {sorted(kwargs)}.")
        if loss is None:
            raise ValueError("compile: `loss` is required to train the model.")
        self.optimizer = optimizers.get(optimizer)
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
        return {name: _value(tracker.result()) for name, tracker in self._all_trackers()}

    # --- data ----------------------------------------------------------------------------------
    def _prepare_x(self, x, what="x"):
        if isinstance(x, dict):
            if not getattr(self, "_is_graph_network", False):
                raise TypeError(f"Model '{self.name}' has no named inputs: give {what} as an "
                                "array or a list of arrays, not a dict.")
            x = [x[name] if name in x else _missing(self, name, x) for name in self.input_names]
        xs = x if isinstance(x, (list, tuple)) and not _is_number_list(x) else [x]
        xs = [data_utils.to_host_array(a, what) for a in xs]
        if getattr(self, "_is_graph_network", False):
            if len(xs) != len(self.inputs):
                raise ValueError(
                    f"Model '{self.name}' expects {len(self.inputs)} input array(s) "
                    f"({', '.join(self.input_names)}), but received {len(xs)}.")
            for i, (a, spec) in enumerate(zip(xs, self.inputs)):
                if a.ndim != len(spec.shape) or any(
                        s is not None and d != s for s, d in zip(spec.shape[1:], a.shape[1:])):
                    raise ValueError(
                        f"Input {i} ('{self.input_names[i]}') of model '{self.name}' expects "
                        f"shape {spec.shape}, but the data has shape {tuple(a.shape)}.")
        return xs

    def _prepare_y(self, y):
        names = [o.name for o in self._outputs]
        if isinstance(y, dict):
            unknown = [k for k in y if k not in names]
            if unknown:
                raise ValueError(f"Unknown output name(s) {unknown} in y; the model's outputs "
                                 f"are {names}.")
            ys = [y.get(n) for n in names]
        elif isinstance(y, (list, tuple)) and len(names) > 1:
            ys = list(y)
        else:
            ys = [y]
        if len(ys) != len(names):
            raise ValueError(f"Model '{self.name}' has {len(names)} output(s) ({names}), but y "
                             f"holds {len(ys)} array(s).")
        missing = [o.name for o, a in zip(self._outputs, ys) if a is None and o.loss is not None]
        if missing:
            raise ValueError(f"Model '{self.name}': y holds no targets for output(s) {missing}, "
                             "which have a loss; give their targets or compile without a loss "
                             "for them.")
        return [data_utils.to_host_array(a, "y") for a in ys]

    def _prepare_sample_weight(self, sample_weight, n_outputs):
        if sample_weight is None:
            return [None] * n_outputs
        if isinstance(sample_weight, dict):
            return [None if sample_weight.get(o.name) is None else
                    numpy.asarray(sample_weight[o.name], dtype=config.floatx())
                    for o in self._outputs]
        if isinstance(sample_weight, (list, tuple)) and n_outputs > 1:
            return [None if w is None else numpy.asarray(w, dtype=config.floatx())
                    for w in sample_weight]
        sw = numpy.asarray(sample_weight, dtype=config.floatx())
        if sw.ndim != 1:
            raise ValueError(f"sample_weight must be a 1-D array of one weight per sample, "
                             f"received shape {sw.shape}.")
        return [sw] * n_outputs

    def _check_finite(self, arrays, what):
        """Warn (never refuse: it is the user's data, Keras trains on it) about NaN or inf in
        in-memory arrays; h5py data is not read for this."""
        for a in arrays:
            if isinstance(a, numpy.ndarray) and a.dtype.kind == "f" and \
                    not numpy.isfinite(a).all():
                bad = numpy.argwhere(~numpy.isfinite(a))[0]
                warnings.warn(f"fit: {what} contains NaN or inf values (first at index "
                              f"{tuple(int(i) for i in bad)}); the loss may become NaN "
                              "(TerminateOnNaN stops training then).", stacklevel=3)

    def _ensure_built(self, xs):
        if getattr(self, "_is_graph_network", False) or self.built:
            return
        if type(self).__name__ == "Sequential":
            if len(xs) == 1:
                self.build((None,) + tuple(xs[0].shape[1:]))
            return
        # a subclassed model makes its weights on its first call; build it now so that
        # fit's list of trainable weights, taken before the first step, holds them
        shapes = [(None,) + tuple(a.shape[1:]) for a in xs]
        self._maybe_build(shapes[0] if len(shapes) == 1 else shapes)

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

    # --- one step ------------------------------------------------------------------------------
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

    def _forward_and_loss(self, xs, ys, sws, training):
        preds = flatten(self(xs if len(xs) > 1 else xs[0], training=training))
        if self._first_batch:
            self._check_targets(ys, preds)
            self._build_metrics(ys, preds)
            self._first_batch = False
        total, per_output = self._compute_loss(ys, preds, sws)
        return preds, total, per_output

    def _train_step(self, xs, ys, sws):
        with GradientTape():
            preds, total, per_output = self._forward_and_loss(xs, ys, sws, training=True)
        variables = self._trainable_cache
        self.optimizer.apply(backward(total, variables), variables)
        self._update_trackers(total, per_output, ys, preds, sws, int(xs[0].shape[0]))

    def _test_step(self, xs, ys, sws):
        preds, total, per_output = self._forward_and_loss(xs, ys, sws, training=False)
        self._update_trackers(total, per_output, ys, preds, sws, int(xs[0].shape[0]))

    # --- fit -----------------------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=10, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, nb_epoch=None, **kwargs):
        """Train for ``epochs`` epochs (default 10, as the guide documents); returns History."""
        from .. import callbacks as callbacks_module, losses as losses_module
        self._require_compiled("training/testing")
        if kwargs:
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}.")
        if nb_epoch is not None:
            epochs = nb_epoch
        (epochs, initial_epoch, batch_size, verbose, steps_per_epoch, validation_steps,
         validation_batch_size, validation_freq, validation_split) = arguments.fit_arguments(
            epochs, initial_epoch, batch_size, verbose, steps_per_epoch, validation_steps,
            validation_batch_size, validation_freq, validation_split)
        xs = self._prepare_x(x)
        ys = self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        n = data_utils.cardinality(xs, "x")
        n_y = data_utils.cardinality([a for a in ys if a is not None], "y")
        if n != n_y:
            raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, y sizes: {n_y}. "
                             "Make sure all arrays contain the same number of samples.")
        for sw in sws:
            if sw is not None and sw.shape[0] != n:
                raise ValueError(f"sample_weight has {sw.shape[0]} entries, but x has {n} "
                                 "samples.")
        h5 = any(data_utils.is_h5_dataset(a) for a in xs + ys)
        if h5 and shuffle is True:
            raise ValueError("fit: shuffle=True cannot be used with h5py Datasets (they are "
                             "read one batch at a time); use shuffle='batch' or shuffle=False.")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', received {shuffle!r}.")
        self._check_finite(xs, "x")
        self._check_finite(ys, "y")
        if class_weight is not None and len(ys) > 1 and not isinstance(class_weight, dict):
            raise ValueError("class_weight must be a dict {class_index: weight}.")
        self._ensure_built(xs)

        if validation_data is not None:
            val = _unpack_validation(validation_data)
            val_xs, val_ys = self._prepare_x(val[0], "validation x"), self._prepare_y(val[1])
            val_sws = self._prepare_sample_weight(val[2], len(ys))
            val_range = (0, data_utils.cardinality(
                val_xs + [a for a in val_ys if a is not None], "validation_data"))
            train_range = (0, n)
        elif validation_split:
            split_at = int(n * (1.0 - validation_split))  # the last fraction, before shuffling
            val_xs, val_ys, val_sws = xs, ys, sws
            train_range, val_range = (0, split_at), (split_at, n)
        else:
            val_xs = None
            train_range = (0, n)

        dtype = self.dtype
        dev_xs = [data_utils.device_array(a, _float_dtype(a, dtype)) for a in xs]
        dev_ys = [data_utils.device_array(a) for a in ys]
        dev_sws = [data_utils.device_array(w) for w in sws]
        if val_xs is not None:
            if val_xs is xs:
                dev_val = (dev_xs, dev_ys, dev_sws)
            else:
                dev_val = ([data_utils.device_array(a, _float_dtype(a, dtype)) for a in val_xs],
                           [data_utils.device_array(a) for a in val_ys],
                           [data_utils.device_array(w) for w in val_sws])

        # once per fit: a per-batch table would be a host-to-device copy every step
        class_table = losses_module.class_weight_table(class_weight) if class_weight else None
        n_train = train_range[1] - train_range[0]
        steps = steps_per_epoch or -(-n_train // batch_size)
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._trainable_cache = self.trainable_weights
        rng = numpy.random.default_rng(numpy.random.randint(2**31))
        batch_stream = _BatchStream(n_train, batch_size, shuffle, rng, train_range[0])
        cbs.on_train_begin()
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            self._first_batch = True  # each call checks its targets on its first batch
            with _backend().deferred_checks():  # a device backend reads them at epoch end
                for step in range(steps):
                    index = batch_stream.next()
                    if index is None:
                        break
                    cbs.on_train_batch_begin(step)
                    bx = [data_utils.take(a, index, dtype) for a in dev_xs]
                    by = [data_utils.take(a, index) for a in dev_ys]
                    bw = _batch_weights(dev_sws, by, index, class_table)
                    self._train_step(bx, by, bw)
                    cbs.on_train_batch_end(step, self._logs())
                    if self.stop_training:
                        break
                epoch_logs = self._logs()
                if val_xs is not None and _should_validate(epoch, validation_freq):
                    val_logs = self._evaluate_arrays(*dev_val, val_range,
                                                     validation_batch_size or batch_size,
                                                     validation_steps)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            # read from the device once: on_train_end gets these same floats
            epoch_logs = callbacks_module._pythonify_logs(epoch_logs)
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        self.history = cbs.history
        return self.history

    def _evaluate_arrays(self, xs, ys, sws, sample_range, batch_size, steps=None,
                         callbacks=None):
        self._reset_metrics()
        self._first_batch = True
        start, stop = sample_range
        batches = data_utils.epoch_batches(stop - start, batch_size, False, None, start)
        if steps is not None:
            batches = batches[:steps]
        with _backend().deferred_checks():
            for step, index in enumerate(batches):
                if callbacks is not None:
                    callbacks.on_test_batch_begin(step)
                bx = [data_utils.take(a, index, self.dtype) for a in xs]
                by = [data_utils.take(a, index) for a in ys]
                bw = [data_utils.take(w, index) for w in sws]
                self._test_step(bx, by, bw)
                if callbacks is not None:
                    callbacks.on_test_batch_end(step, self._logs())
        return self._logs()

    # --- evaluate / predict ----------------------------------------------------------------
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """The loss (a scalar) or ``[loss, *metrics]`` ordered as ``metrics_names``."""
        from .. import callbacks as callbacks_module
        self._require_compiled("training/testing")
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}.")
        verbose = arguments.verbose("evaluate", verbose)
        batch_size = arguments.batch_size("evaluate", batch_size)
        steps = arguments.steps("evaluate", "steps", steps)
        xs, ys = self._prepare_x(x), self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        n = data_utils.cardinality(xs, "x")
        if n != data_utils.cardinality([a for a in ys if a is not None], "y"):
            raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, y sizes: "
                             f"{data_utils.cardinality(ys, 'y')}. Make sure all arrays contain "
                             "the same number of samples.")
        self._ensure_built(xs)
        dtype = self.dtype
        dev = ([data_utils.device_array(a, _float_dtype(a, dtype)) for a in xs],
               [data_utils.device_array(a) for a in ys],
               [data_utils.device_array(w) for w in sws])
        cbs = callbacks_module.CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
            steps=steps or -(-n // batch_size))
        cbs.on_test_begin()
        logs = self._evaluate_arrays(*dev, (0, n), batch_size, steps, cbs)
        cbs.on_test_end(logs)
        return _format_results(logs, self.metrics_names, return_dict)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None):
        """Outputs as NumPy arrays (a list for several outputs). Needs no compile."""
        from .. import callbacks as callbacks_module
        verbose = arguments.verbose("predict", verbose)
        batch_size = arguments.batch_size("predict", batch_size)
        steps = arguments.steps("predict", "steps", steps)
        xs = self._prepare_x(x)
        n = data_utils.cardinality(xs, "x")
        self._ensure_built(xs)
        dev_xs = [data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs]
        batches = data_utils.epoch_batches(n, batch_size, False, None)
        if steps is not None:
            batches = batches[:steps]
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=len(batches))
        cbs.on_predict_begin()
        chunks = None
        with _backend().deferred_checks():
            for step, index in enumerate(batches):
                cbs.on_predict_batch_begin(step)
                bx = [data_utils.take(a, index, self.dtype) for a in dev_xs]
                out = self(bx if len(bx) > 1 else bx[0], training=False)
                flat = [_value(o) for o in flatten(out)]
                if chunks is None:
                    chunks = [[] for _ in flat]
                for chunk, f in zip(chunks, flat):
                    chunk.append(f)
                cbs.on_predict_batch_end(step, {"outputs": out})
        cbs.on_predict_end()
        if chunks is None:
            raise ValueError("predict: the input holds no samples.")
        xp = _backend().xp
        return self._structure_outputs(
            [_backend().to_numpy(xp.concatenate(c, axis=0)) for c in chunks])

    def predict_on_batch(self, x):
        xs = self._prepare_x(x)
        self._ensure_built(xs)
        out = self([data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs]
                   if len(xs) > 1 else
                   data_utils.device_array(xs[0], _float_dtype(xs[0], self.dtype)),
                   training=False)
        return self._structure_outputs([o.numpy() for o in flatten(out)])

    def _structure_outputs(self, results):
        """One array, a list, or a dict when the model's outputs were given as a dict."""
        if isinstance(getattr(self, "_nested_outputs", None), dict):
            return dict(zip(self._nested_outputs, results))
        return results[0] if len(results) == 1 else results

    def predict_classes(self, x, batch_size=32, verbose=1):
        """Keras 2 (the guide): argmax for several units, ``p > 0.5`` for one."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    def predict_proba(self, x, batch_size=32, verbose=0):
        """Keras 2 (the guide): the model's outputs, read as probabilities."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient update on one batch; returns this batch's loss (and metrics)."""
        self._require_compiled("training/testing")
        xs, ys = self._prepare_x(x), self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        self._ensure_built(xs)
        self._trainable_cache = self.trainable_weights
        self._reset_metrics()
        self._first_batch = True
        bx = [data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs]
        by = [data_utils.device_array(a) for a in ys]
        bw = _batch_weights([data_utils.device_array(w) for w in sws], by, slice(None),
                            class_weight)
        self._train_step(bx, by, bw)
        return _format_results(self._logs(), self.metrics_names, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("training/testing")
        xs, ys = self._prepare_x(x), self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        self._ensure_built(xs)
        self._reset_metrics()
        self._first_batch = True
        self._test_step([data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs],
                        [data_utils.device_array(a) for a in ys],
                        [data_utils.device_array(w) for w in sws])
        return _format_results(self._logs(), self.metrics_names, return_dict)


class _BatchStream:
    """Batch indices across epochs (``steps_per_epoch`` may cut an epoch anywhere)."""

    def __init__(self, n, batch_size, shuffle, rng, start):
        self.args = (n, batch_size, shuffle, rng, start)
        self.pending = []

    def next(self):
        if not self.pending:
            if self.args[0] == 0:
                return None
            self.pending = list(reversed(data_utils.epoch_batches(*self.args)))
        return self.pending.pop()


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


def _missing(model, name, x):
    raise ValueError(f"Model '{model.name}': no data for input '{name}'; the dict holds "
                     f"{sorted(x)}.")


def _is_number_list(values):
    return len(values) > 0 and all(isinstance(v, (int, float, bool)) for v in values)


def _float_dtype(array, dtype):
    return dtype if array is not None and numpy.dtype(array.dtype).kind == "f" else None


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                         "(x_val, y_val, val_sample_weight).")
    return tuple(validation_data) + (None,) * (3 - len(validation_data))


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq


def _batch_weights(sample_weights, y_batch, index, class_weight):
    """The batch's sample weights, times ``class_weight[label]`` (1 for unlisted classes)."""
    from ..losses import class_weight_to_sample_weight
    weights = [data_utils.take(w, index) for w in sample_weights]
    if class_weight is None or len(class_weight) == 0:  # a dict or a device table
        return weights
    out = []
    for w, y in zip(weights, y_batch):
        cw = class_weight_to_sample_weight(y, class_weight)
        out.append(cw if w is None else w * cw)
    return out


def _format_results(logs, names, return_dict):
    values = {k: float(_backend().to_numpy(v)) if not isinstance(v, float) else v
              for k, v in logs.items()}
    if return_dict:
        return values
    ordered = [values[k] for k in names if k in values]
    return ordered[0] if len(ordered) == 1 else ordered


class Saving:
    """``save``/``save_weights``/``load_weights`` (HDF5, written atomically)."""

    def save_weights(self, filepath, overwrite=True, save_format=None):
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        from ..saving import load_weights
        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None):
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
