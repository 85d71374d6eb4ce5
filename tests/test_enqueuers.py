"""gkeras.utils.enqueuers: Keras 2.2.4's GeneratorEnqueuer and OrderedEnqueuer.

Batches keep their order (workers > 1 too), a shuffled Sequence gives a permutation per pass
with ``on_epoch_end`` between passes, the queue is bounded by ``max_queue_size``, a worker's
exception reaches ``get()``'s caller as raised, and ``stop()`` leaves no thread running.
"""
import random
import threading
import time

import pytest

from gkeras.utils import Sequence
from gkeras.utils.enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer


class Numbers(Sequence):
    """Batch ``i`` is ``i``; ``__getitem__`` sleeps a random while (out-of-order finishes)."""

    def __init__(self, n, jitter=0.0, fail_at=None):
        self.n, self.jitter, self.fail_at = n, jitter, fail_at
        self.epoch_ends = 0
        self.requested = []

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        self.requested.append(index)
        if self.jitter:
            time.sleep(random.random() * self.jitter)
        if index == self.fail_at:
            raise KeyError(f"no batch {index} in this Sequence")
        return index

    def on_epoch_end(self):
        self.epoch_ends += 1


def _take(enqueuer, count):
    batches = enqueuer.get()
    return [next(batches) for _ in range(count)]


@pytest.fixture
def no_thread_left():
    before = threading.active_count()
    yield
    assert threading.active_count() == before


def test_ordered_enqueuer_keeps_index_order_with_several_workers(no_thread_left):
    enqueuer = OrderedEnqueuer(Numbers(12, jitter=0.01))
    enqueuer.start(workers=4, max_queue_size=3)
    try:
        assert _take(enqueuer, 30) == [i % 12 for i in range(30)]
    finally:
        enqueuer.stop()


def test_ordered_enqueuer_shuffles_each_pass_and_calls_on_epoch_end_between(no_thread_left):
    random.seed(3)
    sequence = Numbers(10)
    enqueuer = OrderedEnqueuer(sequence, shuffle=True)
    enqueuer.start(workers=2, max_queue_size=2)
    try:
        batches = enqueuer.get()
        orders = []
        for epoch in range(3):
            first = next(batches)  # a pass starts after the previous one's on_epoch_end
            assert sequence.epoch_ends == epoch
            orders.append([first] + [next(batches) for _ in range(9)])
    finally:
        enqueuer.stop()
    for order in orders:
        assert sorted(order) == list(range(10))
    assert orders[0] != list(range(10)) and orders[0] != orders[1]


def test_ordered_enqueuer_last_consumed_pass_gets_its_on_epoch_end_before_stop_returns(
        no_thread_left):
    for _ in range(5):
        sequence = Numbers(4)
        enqueuer = OrderedEnqueuer(sequence)
        enqueuer.start(workers=2, max_queue_size=10)
        assert _take(enqueuer, 8) == [0, 1, 2, 3, 0, 1, 2, 3]
        enqueuer.stop()
        assert sequence.epoch_ends == 2


def test_generator_enqueuer_keeps_order_with_several_workers_and_ends_with_the_generator(
        no_thread_left):
    enqueuer = GeneratorEnqueuer(iter(range(50)))
    enqueuer.start(workers=3, max_queue_size=4)
    assert list(enqueuer.get()) == list(range(50))
    assert not enqueuer.is_running()


def test_transform_runs_on_the_worker_thread_in_order(no_thread_left):
    threads = set()

    def transform(batch):
        threads.add(threading.current_thread().name)
        return batch * 10

    enqueuer = OrderedEnqueuer(Numbers(5), transform=transform)
    enqueuer.start(workers=2)
    try:
        assert _take(enqueuer, 5) == [0, 10, 20, 30, 40]
    finally:
        enqueuer.stop()
    assert threading.current_thread().name not in threads


@pytest.mark.parametrize("max_queue_size", [1, 3])
def test_generator_enqueuer_makes_at_most_max_queue_size_batches_ahead(max_queue_size,
                                                                       no_thread_left):
    made = []

    def counting():
        while True:
            made.append(len(made))
            yield made[-1]

    enqueuer = GeneratorEnqueuer(counting())
    enqueuer.start(workers=1, max_queue_size=max_queue_size)
    try:
        assert _take(enqueuer, 2) == [0, 1]
        time.sleep(0.3)
        # the queue is full, and the worker waits to put the one batch it holds
        assert len(made) == 2 + max_queue_size + 1
    finally:
        enqueuer.stop()


def test_ordered_enqueuer_bound_counts_the_workers_batches_in_flight(no_thread_left):
    sequence = Numbers(1000)
    enqueuer = OrderedEnqueuer(sequence)
    enqueuer.start(workers=3, max_queue_size=2)
    try:
        _take(enqueuer, 4)
        time.sleep(0.3)
        assert 4 + 2 <= len(sequence.requested) <= 4 + 2 + 3
    finally:
        enqueuer.stop()


@pytest.mark.parametrize("workers", [1, 3])
def test_a_sequence_error_reaches_the_consumer_as_raised(workers, no_thread_left):
    enqueuer = OrderedEnqueuer(Numbers(6, fail_at=4))
    enqueuer.start(workers=workers)
    batches = enqueuer.get()
    assert [next(batches) for _ in range(4)] == [0, 1, 2, 3]
    with pytest.raises(KeyError, match="no batch 4 in this Sequence") as error:
        next(batches)
    assert any(entry.name == "__getitem__" for entry in error.traceback)
    assert not enqueuer.is_running()
    enqueuer.stop()  # again: a no-op


def test_a_generator_error_reaches_the_consumer_with_its_traceback(no_thread_left):
    def failing():
        yield 1
        raise ZeroDivisionError("the generator's own message")

    enqueuer = GeneratorEnqueuer(failing())
    enqueuer.start(workers=2)
    batches = enqueuer.get()
    assert next(batches) == 1
    with pytest.raises(ZeroDivisionError, match="the generator's own message") as error:
        next(batches)
    assert any(entry.name == "failing" for entry in error.traceback)


def test_stop_while_the_queue_is_full_joins_every_worker(no_thread_left):
    enqueuer = OrderedEnqueuer(Numbers(100))
    enqueuer.start(workers=4, max_queue_size=1)
    time.sleep(0.1)
    enqueuer.stop()
    assert not enqueuer.is_running()


def test_keras_224_names_and_defaults():
    assert issubclass(OrderedEnqueuer, SequenceEnqueuer)
    assert issubclass(GeneratorEnqueuer, SequenceEnqueuer)
    ordered = OrderedEnqueuer(Numbers(2))
    assert (ordered.use_multiprocessing, ordered.shuffle) == (False, False)
    with pytest.warns(DeprecationWarning, match="wait_time"):
        GeneratorEnqueuer(iter([]), wait_time=0.01)
    with pytest.warns(UserWarning, match="threads"):
        GeneratorEnqueuer(iter([]), use_multiprocessing=True)


def test_keras_utils_exports_the_enqueuers_as_keras_224():
    import gkeras.utils
    assert gkeras.utils.GeneratorEnqueuer is GeneratorEnqueuer
    assert gkeras.utils.OrderedEnqueuer is OrderedEnqueuer
