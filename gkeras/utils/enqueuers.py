"""Keras 2.2.4's enqueuers: batches made on background threads (or processes) into a bounded
queue, so the next batches are ready while the model trains on the current one.

* ``GeneratorEnqueuer`` reads a Python generator/iterator. Worker threads take turns (a lock:
  a generator cannot run on two threads at once), so the batches keep their order. A generator
  object cannot be shared with other processes: ``use_multiprocessing=True`` reads it on
  threads too, with a warning.
* ``OrderedEnqueuer`` reads a ``Sequence`` by index with ``workers`` threads, or processes
  with ``use_multiprocessing=True``, and yields the batches in index order (shuffled per pass
  with ``shuffle=True``). After the consumer has taken every batch of a pass it calls
  ``sequence.on_epoch_end()``, then starts the next pass.

``get()`` yields the batches; an exception raised while making one is raised there, as it
was raised, after the workers are stopped; a finished generator ends ``get()``. ``stop()``
joins every thread it started. ``transform`` (not in Keras) is applied to each batch on the
background thread, in order: fit uses it to copy the batch to the device ahead of its step.
"""
import collections
import multiprocessing
import queue
import random
import threading
import warnings

_POLL_S = 0.05  # how often a blocked put/get looks at the stop signal


class SequenceEnqueuer:
    """The base class: ``start(workers, max_queue_size)``, ``get()``, ``stop()``.

    At most ``max_queue_size`` batches wait in the queue; besides, each worker holds at most
    the one batch it is making.
    """

    def __init__(self, sequence, use_multiprocessing=False, transform=None):
        self.sequence = sequence
        self.use_multiprocessing = use_multiprocessing
        self.transform = transform
        self.workers = 0
        self.queue = None
        self.stop_signal = None
        self._threads = []
        self._taken = 0
        self._put_count = 0
        self._progress = threading.Condition()

    def is_running(self):
        return self.stop_signal is not None and not self.stop_signal.is_set()

    def start(self, workers=1, max_queue_size=10):
        """Start making batches on ``workers`` threads (``max_queue_size`` <= 0: unbounded)."""
        if self.is_running():
            raise RuntimeError(f"{type(self).__name__} is already running; stop() it first.")
        self.workers = max(int(workers), 1)
        self.queue = queue.Queue(max_queue_size)
        self.stop_signal = threading.Event()
        self._taken = self._put_count = 0
        self._threads = [threading.Thread(target=self._run, daemon=True,
                                          name=f"gkeras-{type(self).__name__}-{i}")
                         for i in range(self._thread_count())]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout=None):
        """Stop the workers and wait for them (a batch being made is finished first)."""
        if self.stop_signal is None:
            return
        self.stop_signal.set()
        with self._progress:
            self._progress.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout)
        self._threads = []
        if self.queue is not None:
            with self.queue.mutex:
                self.queue.queue.clear()

    def get(self):
        """The batches, in order; re-raises a worker's exception; ends with the generator."""
        while self.is_running():
            try:
                kind, value = self.queue.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            if kind == "batch":
                with self._progress:
                    self._taken += 1
                    self._progress.notify_all()
                yield value
            elif kind == "end":
                self.stop()
                return
            else:
                self.stop()
                raise value

    # --- for the workers ---------------------------------------------------------------------
    def _thread_count(self):
        return 1

    def _run(self):
        raise NotImplementedError

    def _make(self, batch):
        return batch if self.transform is None else self.transform(batch)

    def _put(self, kind, value=None):
        """Queue one item, waiting while the queue is full; False once stopped."""
        while not self.stop_signal.is_set():
            try:
                self.queue.put((kind, value), timeout=_POLL_S)
            except queue.Full:
                continue
            if kind == "batch":
                with self._progress:
                    self._put_count += 1
            return True
        return False


class GeneratorEnqueuer(SequenceEnqueuer):
    """Reads ``generator`` (any iterator) on ``workers`` threads taking turns; see the module
    docstring. ``wait_time`` is accepted and unused (as in Keras 2.2.4); ``random_seed`` seeds
    NumPy's global generator before the first batch (Keras seeds each worker process)."""

    def __init__(self, generator, use_multiprocessing=False, wait_time=None, random_seed=None,
                 transform=None):
        super().__init__(generator, use_multiprocessing, transform)
        if wait_time is not None:
            warnings.warn("`wait_time` is not used anymore.", DeprecationWarning, stacklevel=2)
        if use_multiprocessing:
            warnings.warn("gkeras reads a generator on threads even with "
                          "use_multiprocessing=True (a generator object cannot be shared with "
                          "other processes); use a keras.utils.Sequence for worker processes.",
                          UserWarning, stacklevel=2)
        self.random_seed = random_seed
        self._lock = threading.Lock()
        self._finished = False

    def _thread_count(self):
        return self.workers

    def start(self, workers=1, max_queue_size=10):
        self._finished = False
        if self.random_seed is not None:
            import numpy
            numpy.random.seed(self.random_seed)
        super().start(workers, max_queue_size)

    def _run(self):
        while True:
            with self._lock:  # next() and the put in one turn: the batches keep their order
                if self._finished or self.stop_signal.is_set():
                    return
                try:
                    kind, value = "batch", self._make(next(self.sequence))
                except StopIteration:
                    kind, value = "end", None
                except BaseException as error:  # reaches the consumer, raised there
                    kind, value = "error", error
                if kind != "batch":
                    self._finished = True
                if not self._put(kind, value):
                    return


class OrderedEnqueuer(SequenceEnqueuer):
    """Reads a ``Sequence`` by index on ``workers`` threads (processes with
    ``use_multiprocessing=True``); batches come out in index order, reshuffled per pass with
    ``shuffle=True``; ``on_epoch_end`` after each pass is consumed."""

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False, transform=None):
        super().__init__(sequence, use_multiprocessing, transform)
        self.shuffle = shuffle

    def _run(self):
        try:
            while not self.stop_signal.is_set():
                if not self._one_pass():
                    return
                if not self._wait_consumed():
                    return
                self.sequence.on_epoch_end()
        except BaseException as error:  # reaches the consumer, raised there
            self._put("error", error)

    def _one_pass(self):
        """Make and queue every batch of one pass; ``workers`` batches in flight at most."""
        order = list(range(len(self.sequence)))
        if self.shuffle:
            random.shuffle(order)
        with _executor(self.sequence, self.workers, self.use_multiprocessing) as submit:
            in_flight = collections.deque()
            for index in order:
                if self.stop_signal.is_set():
                    return False
                in_flight.append(submit(index))
                if len(in_flight) >= self.workers:
                    if not self._put("batch", self._make(in_flight.popleft()())):
                        return False
            while in_flight:
                if not self._put("batch", self._make(in_flight.popleft()())):
                    return False
        return True

    def _wait_consumed(self):
        """Wait until the consumer has taken every batch queued (or stop); the last pass of a
        training run still gets its ``on_epoch_end`` when it was consumed before ``stop``."""
        with self._progress:
            while self._taken < self._put_count:
                if self.stop_signal.is_set():
                    return False
                self._progress.wait(_POLL_S)
        return True


class _executor:
    """``submit(index)`` -> a callable giving ``sequence[index]``: threads, or a process pool
    that holds a copy of the sequence (made anew each pass, after ``on_epoch_end``)."""

    def __init__(self, sequence, workers, use_processes):
        self.sequence, self.workers, self.use_processes = sequence, workers, use_processes
        self.pool = None

    def __enter__(self):
        if self.use_processes:
            self.pool = multiprocessing.Pool(self.workers, initializer=_init_process,
                                             initargs=(self.sequence,))
            return lambda index: self.pool.apply_async(_item_in_process, (index,)).get
        from concurrent.futures import ThreadPoolExecutor
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="gkeras-sequence")
        return lambda index: self.pool.submit(self.sequence.__getitem__, index).result

    def __exit__(self, *exc):
        if self.use_processes:
            self.pool.terminate()
            self.pool.join()
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return False


_PROCESS_SEQUENCE = None


def _init_process(sequence):
    global _PROCESS_SEQUENCE
    _PROCESS_SEQUENCE = sequence


def _item_in_process(index):
    return _PROCESS_SEQUENCE[index]
