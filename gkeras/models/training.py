"""fit / evaluate / predict on arrays, and the steps they run, mixed into ``Model``.

One training step: forward under a tape, total loss (weighted output losses plus layer
losses), one reverse pass, one optimizer update. ``compile`` and the loss/metric bookkeeping
live in compiling.py, the conversion of the user's data in data_preparation.py, training from
generators and ``Sequence``s in training_generator.py.
"""
import numpy

from ..autograd import GradientTape, backward
from ..backends import current as _backend
from ..layers.base import flatten
from ..utils import data as data_utils
from . import arguments, step_capture
from .compiling import Compiling, _format_results, _value
from .data_preparation import (DataPreparation, _batch_weights, _float_dtype,
                               _unpack_validation)
from .distributed import Distributed, data_parallel_call
from .training_generator import GeneratorTraining, _should_validate, is_batch_source


class Trainer(Compiling, DataPreparation, GeneratorTraining, Distributed):
    def __init__(self):
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._outputs = None
        self._compiled = False

    # --- one step ------------------------------------------------------------------------------
    def _forward_and_loss(self, xs, ys, sws, training):
        preds = flatten(self(xs if len(xs) > 1 else xs[0], training=training))
        if self._first_batch:
            self._check_targets(ys, preds)
            self._build_metrics(ys, preds)
            self._first_batch = False
        total, per_output = self._compute_loss(ys, preds, sws)
        return preds, total, per_output

    def _train_step(self, xs, ys, sws, share=None, counted=True):
        """One update. Data parallel: ``share`` is this rank's fraction of the global batch
        (its loss is scaled by it and the gradients summed across ranks); ``counted`` False
        for a rank without samples, which still joins the sums."""
        with GradientTape():
            preds, total, per_output = self._forward_and_loss(xs, ys, sws, training=True)
            # loss scaling (LossScaleOptimizer, loss_scale_factor): the optimizer unscales
            scaled = self.optimizer.scale_loss(total)
            if share is not None:
                scaled = scaled * share
        variables = self._trainable_cache
        buckets = self._gradient_buckets
        if buckets is None:
            grads = backward(scaled, variables)
        else:
            buckets.start()
            grads = buckets.finish(backward(scaled, variables, on_gradient=buckets.add))
        self.optimizer.apply(grads, variables)
        if counted:
            self._update_trackers(total, per_output, ys, preds, sws, int(xs[0].shape[0]))

    def _test_step(self, xs, ys, sws, counted=True):
        preds, total, per_output = self._forward_and_loss(xs, ys, sws, training=False)
        if counted:
            self._update_trackers(total, per_output, ys, preds, sws, int(xs[0].shape[0]))

    # --- fit -----------------------------------------------------------------------------------
    @data_parallel_call
    def fit(self, x=None, y=None, batch_size=None, epochs=10, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False, nb_epoch=None, **kwargs):
        """Train for ``epochs`` epochs (default 10, as the guide documents); returns History.
        ``x`` may be a generator or a ``Sequence`` of batches (then see ``fit_generator``)."""
        from .. import callbacks as callbacks_module, losses as losses_module
        self._require_compiled("training/testing")
        if kwargs:
            raise TypeError(f"fit: unexpected keyword argument(s) {sorted(kwargs)}.")
        if nb_epoch is not None:
            epochs = nb_epoch
        if is_batch_source(x):
            _only_x("fit", y=y, sample_weight=sample_weight, batch_size=batch_size,
                    validation_split=validation_split or None)
            return self._fit_source(
                "fit", x, steps_per_epoch, epochs, verbose, callbacks, validation_data,
                validation_steps, class_weight, max_queue_size, workers, use_multiprocessing,
                shuffle, initial_epoch, arguments.validation_freq(validation_freq))
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
        dev_xs, dev_ys, dev_sws = self._device_arrays(xs, ys, sws)
        if val_xs is not None:
            dev_val = (dev_xs, dev_ys, dev_sws) if val_xs is xs else \
                self._device_arrays(val_xs, val_ys, val_sws)

        # once per fit: a per-batch table would be a host-to-device copy every step
        class_table = losses_module.class_weight_table(class_weight) if class_weight else None
        n_train = train_range[1] - train_range[0]
        steps = steps_per_epoch or -(-n_train // batch_size)
        callbacks, verbose = self._rank_callbacks(callbacks, verbose)
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        self.stop_training = False
        self._trainable_cache = self.trainable_weights
        self._start_data_parallel_training()
        train_step = step_capture.train_step_runner(self)  # jit_compile: CUDA graphs
        rng = numpy.random.default_rng(self._data_parallel.shared_seed()
                                       if self._data_parallel else numpy.random.randint(2**31))
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
                    index, share, counted = self._shard_index(index)
                    bx = [data_utils.take(a, index, dtype) for a in dev_xs]
                    by = [data_utils.take(a, index) for a in dev_ys]
                    bw = _batch_weights(dev_sws, by, index, class_table)
                    train_step(bx, by, bw, share, counted)
                    cbs.on_train_batch_end(step, self._logs())
                    if self._stop_requested():
                        break
                self._end_data_parallel_epoch()
                epoch_logs = self._logs()
                if val_xs is not None and _should_validate(epoch, validation_freq):
                    val_logs = self._evaluate_arrays(*dev_val, val_range,
                                                     validation_batch_size or batch_size,
                                                     validation_steps)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            # read from the device once: on_train_end gets these same floats
            epoch_logs = callbacks_module._pythonify_logs(epoch_logs)
            cbs.on_epoch_end(epoch, epoch_logs)
            if self._stop_requested():
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
                index, _, counted = self._shard_index(index)
                bx = [data_utils.take(a, index, self.dtype) for a in xs]
                by = [data_utils.take(a, index) for a in ys]
                bw = [data_utils.take(w, index) for w in sws]
                self._test_step(bx, by, bw, counted)
                if callbacks is not None:
                    callbacks.on_test_batch_end(step, self._logs())
        return self._logs()

    # --- evaluate / predict ----------------------------------------------------------------
    @data_parallel_call
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, return_dict=False, **kwargs):
        """The loss (a scalar) or ``[loss, *metrics]`` ordered as ``metrics_names``."""
        from .. import callbacks as callbacks_module
        self._require_compiled("training/testing")
        if kwargs:
            raise TypeError(f"evaluate: unexpected keyword argument(s) {sorted(kwargs)}.")
        if is_batch_source(x):
            _only_x("evaluate", y=y, sample_weight=sample_weight, batch_size=batch_size)
            return self.evaluate_generator(x, steps, max_queue_size, workers,
                                           use_multiprocessing, verbose, callbacks, return_dict)
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
        dev = self._device_arrays(xs, ys, sws)
        callbacks, verbose = self._rank_callbacks(callbacks, verbose)
        cbs = callbacks_module.CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
            steps=steps or -(-n // batch_size))
        cbs.on_test_begin()
        logs = self._evaluate_arrays(*dev, (0, n), batch_size, steps, cbs)
        cbs.on_test_end(logs)
        return _format_results(logs, self.metrics_names, return_dict)

    @data_parallel_call
    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False):
        """Outputs as NumPy arrays (a list for several outputs). Needs no compile."""
        from .. import callbacks as callbacks_module
        if is_batch_source(x):
            _only_x("predict", batch_size=batch_size)
            return self.predict_generator(x, steps, max_queue_size, workers,
                                          use_multiprocessing, verbose, callbacks)
        verbose = arguments.verbose("predict", verbose)
        batch_size = arguments.batch_size("predict", batch_size)
        steps = arguments.steps("predict", "steps", steps)
        xs = self._prepare_x(x)
        n = data_utils.cardinality(xs, "x")
        self._ensure_built(xs)
        dev_xs = [data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs]
        if steps is not None:
            n = min(n, steps * batch_size)
        # data parallel: each rank predicts its contiguous part, then all parts are joined
        start, stop = (0, n) if self._data_parallel is None else \
            self._data_parallel.shard_bounds(n)
        rows = None if self._data_parallel is None else stop - start
        batches = data_utils.epoch_batches(max(stop - start, 1), batch_size, False, None,
                                           start if stop > start else 0)
        callbacks, verbose = self._rank_callbacks(callbacks, verbose)
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=len(batches))
        return self._predict_loop(([data_utils.take(a, index, self.dtype) for a in dev_xs]
                                   for index in batches), cbs, rows)

    def _predict_loop(self, batch_inputs, cbs, rows=None):
        """The model's outputs on each list of inputs of ``batch_inputs``, joined on the host
        (a list for several outputs). Data parallel (``rows`` given): this rank's first
        ``rows`` rows, joined with the other ranks' in rank order."""
        cbs.on_predict_begin()
        chunks = None
        with _backend().deferred_checks():
            for step, xs in enumerate(batch_inputs):
                cbs.on_predict_batch_begin(step)
                out = self(xs if len(xs) > 1 else xs[0], training=False)
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
        outputs = [_backend().to_numpy(xp.concatenate(c, axis=0)) for c in chunks]
        if rows is not None:
            outputs = [self._data_parallel.gather_rows(o[:rows]) for o in outputs]
        return self._structure_outputs(outputs)

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

    @data_parallel_call
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One gradient update on one batch; returns this batch's loss (and metrics)."""
        self._require_compiled("training/testing")
        xs, ys = self._prepare_x(x), self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        self._ensure_built(xs)
        self._trainable_cache = self.trainable_weights
        self._start_data_parallel_training(every_call=False)
        self._reset_metrics()
        self._first_batch = True
        bx = [data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs]
        by = [data_utils.device_array(a) for a in ys]
        bw = _batch_weights([data_utils.device_array(w) for w in sws], by, slice(None),
                            class_weight)
        bx, by, bw, share, counted = self._shard_batch(bx, by, bw, int(bx[0].shape[0]))
        self._train_step(bx, by, bw, share, counted)
        return _format_results(self._logs(), self.metrics_names, return_dict)

    @data_parallel_call
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("training/testing")
        xs, ys = self._prepare_x(x), self._prepare_y(y)
        sws = self._prepare_sample_weight(sample_weight, len(ys))
        self._ensure_built(xs)
        self._reset_metrics()
        self._first_batch = True
        bx, by, bw, _, counted = self._shard_batch(
            [data_utils.device_array(a, _float_dtype(a, self.dtype)) for a in xs],
            [data_utils.device_array(a) for a in ys], [data_utils.device_array(w) for w in sws],
            int(xs[0].shape[0]))
        self._test_step(bx, by, bw, counted)
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


def _only_x(method, **unused):
    """With a generator or Sequence as ``x`` its batches hold everything: refuse the rest."""
    given = [name for name, value in unused.items() if value is not None]
    if given:
        raise ValueError(f"{method}: `{given[0]}` must be None when `x` is a generator or a "
                         "keras.utils.Sequence (its batches are (x, y) or "
                         "(x, y, sample_weight)); received "
                         f"{type(unused[given[0]]).__name__}.")


class Saving:
    """``save``/``save_weights``/``load_weights`` (HDF5, written atomically)."""

    def save_weights(self, filepath, overwrite=True, save_format=None):
        from ..distribution import is_chief
        from ..saving import save_weights
        if not is_chief():  # data parallel: every rank holds the same weights; rank 0 writes
            return
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        from ..saving import load_weights
        load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None):
        from ..distribution import is_chief
        from ..saving import save_model
        if not is_chief():
            return
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)
