"""fit / evaluate / predict from a Python generator (any iterator) or a ``keras.utils.Sequence``:
Keras 2.2.4's ``fit_generator``, ``evaluate_generator``, ``predict_generator``, mixed into
``Model``; ``fit``/``evaluate``/``predict`` hand such an ``x`` to them.

A batch is ``x``, ``(x, y)`` or ``(x, y, sample_weight)``. With ``workers > 0`` the batches are
made on background threads (gkeras/utils/enqueuers.py), converted and copied to the device
there, ahead of the step that uses them; on a GPU the copy runs on the thread's own stream and
the training stream waits for it on the device (no host synchronisation). ``workers=0`` makes
them on the calling thread.
"""
import numpy

from ..backends import current as _backend
from ..utils import data as data_utils
from ..utils.enqueuers import GeneratorEnqueuer, OrderedEnqueuer
from ..utils.sequence import Sequence
from . import arguments
from .compiling import _format_results
from .data_preparation import _batch_weights, _unpack_validation
from .distributed import data_parallel_call


def is_batch_source(value):
    """A ``Sequence`` or an iterator (a generator): data that yields whole batches."""
    return isinstance(value, Sequence) or (hasattr(value, "__next__") and
                                           hasattr(value, "__iter__"))


class GeneratorTraining:
    """``fit_generator``/``evaluate_generator``/``predict_generator`` (Keras 2.2.4)."""

    @data_parallel_call
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      class_weight=None, max_queue_size=10, workers=1,
                      use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Train on the batches of ``generator``; returns the ``History``."""
        return self._fit_source(
            "fit_generator", generator, steps_per_epoch, epochs, verbose, callbacks,
            validation_data, validation_steps, class_weight, max_queue_size, workers,
            use_multiprocessing, shuffle, initial_epoch, validation_freq=1)

    @data_parallel_call
    def evaluate_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0, callbacks=None,
                           return_dict=False):
        """What ``evaluate`` returns, over ``steps`` batches (each weighted by its size)."""
        self._require_compiled("training/testing")
        steps, cbs, feed = self._one_pass("evaluate_generator", "test", generator, steps,
                                          max_queue_size, workers, use_multiprocessing,
                                          verbose, callbacks)
        try:
            cbs.on_test_begin()
            logs = self._evaluate_feed(feed, steps, cbs)
            cbs.on_test_end(logs)
        finally:
            feed.stop()
        return _format_results(logs, self.metrics_names, return_dict)

    @data_parallel_call
    def predict_generator(self, generator, steps=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0, callbacks=None):
        """The outputs of ``steps`` batches, concatenated (a list for several outputs).
        Data parallel: every rank predicts every batch (a generator's batches cannot be
        split and joined back in order without holding them all)."""
        steps, cbs, feed = self._one_pass("predict_generator", "predict", generator, steps,
                                          max_queue_size, workers, use_multiprocessing,
                                          verbose, callbacks)
        try:
            return self._predict_loop(self._built_inputs(feed, steps), cbs)
        finally:
            feed.stop()

    def _one_pass(self, method, mode, generator, steps, max_queue_size, workers,
                  use_multiprocessing, verbose, callbacks):
        """``(steps, callbacks, feed)`` of one evaluate or predict pass over a generator."""
        from .. import callbacks as callbacks_module
        verbose = arguments.verbose(method, verbose)
        workers, max_queue_size = _pool_arguments(method, workers, max_queue_size)
        steps = _steps(method, "steps", generator, steps)
        callbacks, verbose = self._rank_callbacks(callbacks, verbose)
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=steps)
        feed = _Feed(self, generator, mode, method, workers, max_queue_size,
                     use_multiprocessing, shuffle=False)
        return steps, cbs, feed

    def _built_inputs(self, feed, steps):
        """The inputs of ``steps`` batches of ``feed``, the model built on the first."""
        for _ in range(steps):
            batch = feed.next(f"{steps} (steps)")
            self._ensure_built(batch.xs)
            yield batch.xs

    # --- the loops -------------------------------------------------------------------------
    def _fit_source(self, method, generator, steps_per_epoch, epochs, verbose, callbacks,
                    validation_data, validation_steps, class_weight, max_queue_size, workers,
                    use_multiprocessing, shuffle, initial_epoch, validation_freq):
        from .. import callbacks as callbacks_module, losses as losses_module
        self._require_compiled("training/testing")
        epochs = arguments._integer(method, "epochs", epochs, 0)
        initial_epoch = arguments._integer(method, "initial_epoch", initial_epoch, 0)
        verbose = arguments.verbose(method, verbose)
        workers, max_queue_size = _pool_arguments(method, workers, max_queue_size)
        if shuffle not in (True, False):
            raise ValueError(f"{method}: shuffle must be True or False with a generator or a "
                             f"Sequence, received {shuffle!r}.")
        steps_per_epoch = _steps(method, "steps_per_epoch", generator, steps_per_epoch)
        validation = _Validation(self, method, validation_data, validation_steps, workers,
                                 max_queue_size, use_multiprocessing)
        class_table = losses_module.class_weight_table(class_weight) if class_weight else None
        callbacks, verbose = self._rank_callbacks(callbacks, verbose)
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps_per_epoch)
        self.stop_training = False
        feed = None
        try:
            validation.start()
            feed = _Feed(self, generator, "train", method, workers, max_queue_size,
                         use_multiprocessing, shuffle)
            cbs.on_train_begin()
            epoch_logs = {}
            for epoch in range(initial_epoch, epochs):
                self._reset_metrics()
                cbs.on_epoch_begin(epoch)
                self._first_batch = True
                with _backend().deferred_checks():
                    for step in range(steps_per_epoch):
                        batch = feed.next(f"{steps_per_epoch * (epochs - initial_epoch)} "
                                          "(steps_per_epoch times epochs)")
                        if feed.taken == 1:  # the model's weights exist after its first batch
                            self._ensure_built(batch.xs)
                            self._trainable_cache = self.trainable_weights
                            self._start_data_parallel_training()
                        cbs.on_train_batch_begin(step)
                        weights = _batch_weights(batch.sws, batch.ys, slice(None), class_table)
                        self._train_step(*self._shard_batch(batch.xs, batch.ys, weights,
                                                            batch.size))
                        cbs.on_train_batch_end(step, self._logs())
                        if self._stop_requested():
                            break
                    self._end_data_parallel_epoch()
                    epoch_logs = self._logs()
                    if validation.active and _should_validate(epoch, validation_freq):
                        val_logs = validation.evaluate(batch.size)
                        epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                epoch_logs = callbacks_module._pythonify_logs(epoch_logs)
                cbs.on_epoch_end(epoch, epoch_logs)
                if self._stop_requested():
                    break
            cbs.on_train_end(epoch_logs)
        finally:
            try:
                if feed is not None:
                    feed.stop()
            finally:
                validation.stop()
        self.history = cbs.history
        return self.history

    def _evaluate_feed(self, feed, steps, callbacks=None):
        self._reset_metrics()
        self._first_batch = True
        with _backend().deferred_checks():
            for step in range(steps):
                batch = feed.next(f"{steps} per evaluation (steps)")
                self._ensure_built(batch.xs)
                if callbacks is not None:
                    callbacks.on_test_batch_begin(step)
                xs, ys, sws, _, counted = self._shard_batch(batch.xs, batch.ys, batch.sws,
                                                            batch.size)
                self._test_step(xs, ys, sws, counted)
                if callbacks is not None:
                    callbacks.on_test_batch_end(step, self._logs())
        return self._logs()


class _Validation:
    """fit_generator's validation data: arrays (a tuple), or a generator/Sequence read by its
    own feed, started once (``start``) and read ``validation_steps`` batches per epoch (as
    Keras 2.2.4). The constructor checks the data and starts no thread."""

    def __init__(self, model, method, data, steps, workers, max_queue_size,
                 use_multiprocessing):
        self.model = model
        self.feed = self.arrays = self.source = None
        self.active = data is not None
        if data is None:
            return
        if is_batch_source(data):
            if not isinstance(data, Sequence) and steps is None:
                raise ValueError(f"{method}: `validation_steps=None` is only valid for a "
                                 "generator based on the `keras.utils.Sequence` class. Please "
                                 "specify `validation_steps` or use the "
                                 "`keras.utils.Sequence` class.")
            self.steps = _steps(method, "validation_steps", data, steps)
            self.source = (data, method, workers, max_queue_size, use_multiprocessing)
            return
        x, y, sample_weight = _unpack_validation(data)
        xs, ys = model._prepare_x(x, "validation x"), model._prepare_y(y)
        sws = model._prepare_sample_weight(sample_weight, len(ys))
        self.n = data_utils.cardinality(xs + [a for a in ys if a is not None],
                                        "validation_data")
        self.arrays = model._device_arrays(xs, ys, sws)
        self.steps = arguments.steps(method, "validation_steps", steps)

    def start(self):
        if self.source is not None:
            data, method, workers, max_queue_size, use_multiprocessing = self.source
            self.feed = _Feed(self.model, data, "test", method, workers, max_queue_size,
                              use_multiprocessing, shuffle=False)

    def evaluate(self, batch_size):
        """The validation logs; arrays are batched as the last training batch (Keras 2.2.4)."""
        if self.feed is not None:
            return self.model._evaluate_feed(self.feed, self.steps)
        return self.model._evaluate_arrays(*self.arrays, (0, self.n), batch_size, self.steps)

    def stop(self):
        if self.feed is not None:
            self.feed.stop()


class _Batch:
    """One converted batch: device arrays per input, output and sample weight."""

    def __init__(self, size, xs, ys, sws, ready):
        self.size, self.xs, self.ys, self.sws, self.ready = size, xs, ys, sws, ready


class _Feed:
    """The converted batches of a generator or Sequence, prefetched when ``workers > 0``."""

    def __init__(self, model, source, mode, method, workers, max_queue_size,
                 use_multiprocessing, shuffle):
        self.method = method
        self.taken = 0
        self.enqueuer = None
        convert = _Converter(model, mode, method, _backend().current_stream())
        if workers == 0:
            batches = _sequence_passes(source, shuffle) if isinstance(source, Sequence) \
                else source
            self.batches = map(convert, batches)
            return
        if isinstance(source, Sequence):
            self.enqueuer = OrderedEnqueuer(source, use_multiprocessing, shuffle=shuffle,
                                            transform=convert)
        else:
            self.enqueuer = GeneratorEnqueuer(source, use_multiprocessing, transform=convert)
        self.enqueuer.start(workers=workers, max_queue_size=max_queue_size)
        self.batches = self.enqueuer.get()

    def next(self, needed):
        """The next batch, ready for this thread's stream; StopIteration (as Keras 2.2.4)
        with the count and ``needed`` (the batches the loop needs) when a generator ends."""
        try:
            batch = next(self.batches)
        except StopIteration:
            self.stop()
            raise StopIteration(
                f"{self.method}: the generator stopped after {self.taken} batch(es), but "
                f"{needed} are needed. Make sure it yields at least that many, e.g. loop over "
                "the data forever, as Keras generators do.") from None
        _backend().wait_ready(batch.ready)
        self.taken += 1
        return batch

    def stop(self):
        if self.enqueuer is not None:
            self.enqueuer.stop()


class _Converter:
    """A raw batch -> ``_Batch``: checked against the model, cast to the dtypes fit gives
    arrays, and copied to the device for ``consumer_stream``. Runs on the prefetch thread."""

    def __init__(self, model, mode, method, consumer_stream):
        self.model, self.mode, self.method = model, mode, method
        self.consumer_stream = consumer_stream

    def __call__(self, batch):
        model = self.model
        x, y, sample_weight = self._unpack(batch)
        xs = [_host_array(a, "x", model.dtype) for a in model._prepare_x(x)]
        ys = sws = []
        if self.mode != "predict":
            ys = [_host_array(a, "y") for a in model._prepare_y(y)]
            sws = model._prepare_sample_weight(sample_weight, len(ys))
        sizes = {int(a.shape[0]) for a in xs + ys + sws if a is not None}
        if len(sizes) > 1:
            raise ValueError(f"{self.method}: the arrays of a batch hold different numbers of "
                             f"samples: {sorted(sizes)}.")
        if sizes == {0}:
            raise ValueError(f"{self.method}: received an empty batch. Batches should contain "
                             "at least one item.")
        arrays, ready = _backend().copy_to_device_async(xs + ys + sws, self.consumer_stream)
        nx, ny = len(xs), len(ys)
        return _Batch(sizes.pop(), arrays[:nx], arrays[nx:nx + ny], arrays[nx + ny:], ready)

    def _unpack(self, batch):
        if self.mode == "predict":
            if isinstance(batch, tuple) and len(batch) in (2, 3):
                return batch[0], None, None  # a training generator: its targets are not used
            return batch, None, None
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise ValueError(f"{self.method}: output of generator should be a tuple "
                             f"`(x, y, sample_weight)` or `(x, y)`. Found: {_describe(batch)}.")
        return tuple(batch) + (None,) * (3 - len(batch))


def _host_array(value, what, float_dtype=None):
    """A host array of the dtype ``fit`` gives that data on the device (device arrays pass)."""
    value = data_utils.to_host_array(value, what)
    if value is None or not isinstance(value, numpy.ndarray):
        return value
    return numpy.asarray(value, dtype=data_utils.device_dtype(value.dtype, float_dtype))


def _sequence_passes(sequence, shuffle):
    """``workers=0``: a Sequence's batches pass after pass, ``on_epoch_end`` after each."""
    import random
    while True:
        order = list(range(len(sequence)))
        if shuffle:
            random.shuffle(order)
        for position, index in enumerate(order):
            batch = sequence[index]
            if position == len(order) - 1:
                sequence.on_epoch_end()
            yield batch


def _steps(method, name, source, steps):
    if steps is None:
        if isinstance(source, Sequence):
            return arguments._integer(method, f"len() of the Sequence (the default {name})",
                                      len(source), 1)
        raise ValueError(f"{method}: `{name}=None` is only valid for a generator based on the "
                         f"`keras.utils.Sequence` class. Please specify `{name}` or use the "
                         "`keras.utils.Sequence` class.")
    return arguments.steps(method, name, steps)


def _pool_arguments(method, workers, max_queue_size):
    workers = arguments._integer(method, "workers", workers, 0)
    if not arguments._is_integer(max_queue_size):
        raise ValueError(f"{method}: max_queue_size must be an integer, received "
                         f"{max_queue_size!r}.")
    return workers, int(max_queue_size)


def _describe(value):
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} of shape {tuple(shape)}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} element(s)"
    return repr(value)[:200]


def _should_validate(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return epoch + 1 in freq
