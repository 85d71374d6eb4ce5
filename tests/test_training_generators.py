"""Training from generators and Sequences (Keras 2.2.4's fit_generator, evaluate_generator,
predict_generator, and fit/evaluate/predict given such an ``x``).

Training from batches is training from arrays: the same batches give bit-identical weights and
history, whatever the number of workers; evaluation is weighted by batch sizes as Keras 2.2.4;
errors are clear; a generator's exception reaches the caller as raised and no thread is left;
on the (fake) GPU the batches are copied once each, on a prefetch stream, with no sync.
"""
import random
import threading
import warnings

import numpy as np
import pytest

import gkeras
from gkeras import backends, callbacks, layers
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.utils import Sequence

from fakecupy import FakeCupy

N, BATCH = 50, 16  # the last batch holds 2 samples: batch-size weighting matters
RNG = np.random.default_rng(0)
X = RNG.standard_normal((N, 5)).astype("float32")
X2 = RNG.standard_normal((N, 3)).astype("float32")
LABELS = RNG.integers(0, 3, N)
TARGET = RNG.standard_normal((N, 1)).astype("float32")
WEIGHTS = RNG.uniform(0.5, 2.0, N).astype("float32")
X_VAL, LABELS_VAL = X[:20] * 0.5, LABELS[:20]


def _slices(n=N, batch=BATCH):
    return [slice(i, min(i + batch, n)) for i in range(0, n, batch)]


class ArraySequence(Sequence):
    """Batches of arrays, in order; counts ``on_epoch_end`` and logs the indices read."""

    def __init__(self, *arrays, batch=BATCH):
        self.arrays, self.batch = arrays, batch
        self.epoch_ends = 0
        self.read = []

    def __len__(self):
        first = self.arrays[0][0] if isinstance(self.arrays[0], list) else self.arrays[0]
        return -(-len(first) // self.batch)

    def __getitem__(self, index):
        self.read.append(index)
        part = slice(index * self.batch, (index + 1) * self.batch)
        batch = tuple(a[part] if not isinstance(a, list) else [b[part] for b in a]
                      for a in self.arrays)
        return batch[0] if len(batch) == 1 else batch

    def on_epoch_end(self):
        self.epoch_ends += 1


def forever(*arrays):
    """A Keras-style generator: the batches of ``arrays``, in order, over and over."""
    while True:
        yield from ArraySequence(*arrays)


def classifier():
    gkeras.utils.set_random_seed(7)
    model = gkeras.Sequential([layers.Dense(8, activation="relu", input_shape=(5,)),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def two_in_two_out():
    gkeras.utils.set_random_seed(7)
    a, b = layers.Input((5,), name="a"), layers.Input((3,), name="b")
    hidden = layers.Concatenate()([layers.Dense(6, activation="tanh")(a), b])
    cls = layers.Dense(3, activation="softmax", name="cls")(hidden)
    reg = layers.Dense(1, name="reg")(hidden)
    model = gkeras.Model([a, b], [cls, reg])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics={"cls": ["accuracy"]})
    return model


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


@pytest.fixture(autouse=True)
def no_thread_left():
    before = threading.active_count()
    yield
    assert threading.active_count() == before


# --- fit ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 1, 3])
@pytest.mark.parametrize("source", ["sequence", "generator"])
def test_fit_generator_equals_fit_on_the_same_batches(source, workers):
    reference = classifier()
    expected = reference.fit(X, LABELS, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    model = classifier()
    data = ArraySequence(X, LABELS) if source == "sequence" else forever(X, LABELS)
    history = model.fit_generator(data, steps_per_epoch=4, epochs=3, shuffle=False,
                                  verbose=0, workers=workers)
    assert history.history == expected.history
    assert history is model.history
    assert_same_weights(model, reference)


def test_fit_takes_a_generator_as_x_with_several_inputs_outputs_and_sample_weights():
    reference = two_in_two_out()
    expected = reference.fit([X, X2], [LABELS, TARGET], sample_weight=[WEIGHTS, WEIGHTS],
                             batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = two_in_two_out()
    data = ArraySequence([X, X2], [LABELS, TARGET], [WEIGHTS, WEIGHTS])
    history = model.fit(data, epochs=2, shuffle=False, verbose=0, workers=2)
    assert history.history == expected.history
    assert_same_weights(model, reference)


def test_fit_with_class_weight_equals_fit_on_arrays():
    class_weight = {0: 0.5, 2: 3.0}
    reference = classifier()
    expected = reference.fit(X, LABELS, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                             class_weight=class_weight)
    model = classifier()
    history = model.fit_generator(forever(X, LABELS), steps_per_epoch=4, epochs=2,
                                  shuffle=False, verbose=0, class_weight=class_weight)
    assert history.history == expected.history
    assert_same_weights(model, reference)


@pytest.mark.parametrize("kind", ["tuple", "sequence", "generator"])
def test_validation_data_as_arrays_a_sequence_or_a_generator(kind):
    reference = classifier()
    # Keras 2.2.4 batches validation arrays as the epoch's last training batch: 2 samples
    expected = reference.fit(X, LABELS, batch_size=BATCH, epochs=2, shuffle=False, verbose=0,
                             validation_data=(X_VAL, LABELS_VAL),
                             validation_batch_size=2 if kind == "tuple" else None)
    validation = {"tuple": (X_VAL, LABELS_VAL),
                  "sequence": ArraySequence(X_VAL, LABELS_VAL),
                  "generator": forever(X_VAL, LABELS_VAL)}[kind]
    model = classifier()
    history = model.fit_generator(ArraySequence(X, LABELS), epochs=2, shuffle=False,
                                  verbose=0, validation_data=validation,
                                  validation_steps=2 if kind == "generator" else None)
    assert history.history == expected.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_shuffle_permutes_the_batch_order_each_epoch_and_on_epoch_end_runs_each_epoch(workers):
    random.seed(11)
    sequence = ArraySequence(X, LABELS, batch=5)  # 10 batches
    model = classifier()
    model.fit_generator(sequence, epochs=3, verbose=0, workers=workers, shuffle=True)
    assert sequence.epoch_ends == 3
    if workers < 2:  # the reads are the training order: train on those batches by hand
        reference = classifier()
        for index in sequence.read[:30]:
            reference.train_on_batch(*ArraySequence(X, LABELS, batch=5)[index])
        assert_same_weights(model, reference)
    # (workers read ahead into a fourth pass before fit stops them)
    epochs = [sequence.read[i * 10:(i + 1) * 10] for i in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(10))
    assert epochs[0] != list(range(10)) and epochs[0] != epochs[1]

    unshuffled = ArraySequence(X, LABELS, batch=5)
    classifier().fit_generator(unshuffled, epochs=2, verbose=0, workers=workers, shuffle=False)
    assert unshuffled.epoch_ends == 2
    if workers < 2:  # several workers may start their reads in any order
        assert unshuffled.read[:20] == list(range(10)) * 2


def test_initial_epoch_runs_the_remaining_epochs_only():
    seen = []
    record = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))
    sequence = ArraySequence(X, LABELS)
    history = classifier().fit_generator(sequence, epochs=5, initial_epoch=3, verbose=0,
                                         callbacks=[record], shuffle=False, workers=0)
    assert seen == [3, 4] and history.epoch == [3, 4]
    assert len(history.history["loss"]) == 2 and len(sequence.read) == 8


def test_callbacks_and_the_progress_bar_count_steps(capsys):
    batches = []
    record = callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: batches.append((batch, sorted(logs))))
    classifier().fit_generator(forever(X, LABELS), steps_per_epoch=3, epochs=2, verbose=1,
                               callbacks=[record])
    assert [b for b, _ in batches] == [0, 1, 2, 0, 1, 2]
    assert batches[0][1] == ["accuracy", "loss"]
    out = capsys.readouterr().out
    assert "Epoch 2/2" in out and "3/3 [" in out


def test_early_stopping_ends_training_and_stops_the_workers():
    class StopAfterFirstBatch(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    history = classifier().fit_generator(forever(X, LABELS), steps_per_epoch=4, epochs=3,
                                         verbose=0, callbacks=[StopAfterFirstBatch()],
                                         workers=2)
    assert len(history.history["loss"]) == 1


def test_process_workers_for_a_sequence_give_the_same_training():
    reference = classifier()
    expected = reference.fit(X, LABELS, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = classifier()
    history = model.fit_generator(ArraySequence(X, LABELS), epochs=2, shuffle=False,
                                  verbose=0, workers=2, use_multiprocessing=True)
    assert history.history == expected.history
    assert_same_weights(model, reference)


def test_use_multiprocessing_with_a_generator_warns_and_reads_it_on_threads():
    reference = classifier()
    reference.fit(X, LABELS, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    model = classifier()
    with pytest.warns(UserWarning, match="threads"):
        model.fit_generator(forever(X, LABELS), steps_per_epoch=4, verbose=0, workers=2,
                            use_multiprocessing=True)
    assert_same_weights(model, reference)


# --- evaluate / predict ------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [0, 2])
def test_evaluate_generator_equals_evaluate_weighted_by_batch_size(workers):
    model = two_in_two_out()
    model.fit([X, X2], [LABELS, TARGET], epochs=1, verbose=0)
    expected = model.evaluate([X, X2], [LABELS, TARGET], sample_weight=[WEIGHTS, WEIGHTS],
                              batch_size=BATCH, verbose=0)
    data = ArraySequence([X, X2], [LABELS, TARGET], [WEIGHTS, WEIGHTS])
    assert model.evaluate_generator(data, workers=workers) == expected
    assert model.evaluate(data, verbose=0, workers=workers) == expected
    assert model.evaluate_generator(forever([X, X2], [LABELS, TARGET], [WEIGHTS, WEIGHTS]),
                                    steps=4) == expected
    # by hand, as Keras 2.2.4: the batches' losses averaged with the batch sizes as weights
    per_batch = [model.test_on_batch([X[s], X2[s]], [LABELS[s], TARGET[s]],
                                     sample_weight=[WEIGHTS[s], WEIGHTS[s]])[0]
                 for s in _slices()]
    assert expected[0] == pytest.approx(np.average(per_batch, weights=[16, 16, 16, 2]),
                                        rel=1e-6)


@pytest.mark.parametrize("workers", [0, 2])
def test_predict_generator_concatenates_every_output(workers):
    model = two_in_two_out()
    expected = model.predict([X, X2], batch_size=BATCH)
    for data in (ArraySequence([X, X2]), ArraySequence([X, X2], [LABELS, TARGET])):
        out = model.predict_generator(data, workers=workers)
        assert isinstance(out, list) and len(out) == 2
        for got, want in zip(out, expected):
            np.testing.assert_array_equal(got, want)
    single = classifier()
    np.testing.assert_array_equal(single.predict(forever(X), steps=4), single.predict(X))


# --- errors ------------------------------------------------------------------------------------
def test_a_plain_generator_needs_steps_per_epoch():
    with pytest.raises(ValueError, match=r"`steps_per_epoch=None` is only valid for a "
                                         r"generator based on the `keras.utils.Sequence`"):
        classifier().fit_generator(forever(X, LABELS))
    with pytest.raises(ValueError, match="`steps=None` is only valid"):
        classifier().evaluate_generator(forever(X, LABELS))
    with pytest.raises(ValueError, match="`validation_steps=None` is only valid"):
        classifier().fit_generator(forever(X, LABELS), steps_per_epoch=2,
                                   validation_data=forever(X, LABELS))


@pytest.mark.parametrize("argument", [dict(y=LABELS), dict(sample_weight=WEIGHTS),
                                      dict(batch_size=8), dict(validation_split=0.2)])
def test_fit_refuses_arrays_besides_a_generator(argument):
    name = next(iter(argument))
    with pytest.raises(ValueError, match=f"fit: `{name}` must be None when `x` is a "
                                         "generator or a keras.utils.Sequence"):
        classifier().fit(ArraySequence(X, LABELS), **argument)
    with pytest.raises(ValueError, match="`y` must be None"):
        classifier().evaluate(forever(X, LABELS), LABELS, steps=1)


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("batch, found", [
    (X[:4], r"ndarray of shape \(4, 5\)"),
    ((X[:4], LABELS[:4], WEIGHTS[:4], WEIGHTS[:4]), "a tuple of 4 element"),
])
def test_a_batch_of_the_wrong_structure_is_a_clear_error(batch, found, workers):
    def wrong():
        while True:
            yield batch

    with pytest.raises(ValueError, match="fit_generator: output of generator should be a "
                                         r"tuple `\(x, y, sample_weight\)` or `\(x, y\)`. "
                                         f"Found: {found}"):
        classifier().fit_generator(wrong(), steps_per_epoch=2, verbose=0, workers=workers)


def test_a_batch_that_does_not_fit_the_model_names_the_model():
    def wrong_width():
        while True:
            yield X2[:4], LABELS[:4]

    with pytest.raises(ValueError, match=r"expects shape \(None, 5\), but the data has shape "
                                         r"\(4, 3\)"):
        classifier().fit_generator(wrong_width(), steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples: \\[3, 4\\]"):
        classifier().fit_generator(iter([(X[:4], LABELS[:3])]), steps_per_epoch=1, verbose=0)


def test_a_bad_argument_after_the_validation_data_leaves_no_thread():
    with pytest.raises(ValueError, match="class_weight keys must be non-negative"):
        classifier().fit_generator(ArraySequence(X, LABELS), validation_data=forever(X, LABELS),
                                   validation_steps=2, class_weight={-1: 2.0}, workers=2)


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_an_exception_in_the_generator_reaches_the_caller_as_raised(workers):
    def failing():
        yield X[:8], LABELS[:8]
        yield X[:8], LABELS[:8]
        raise ArithmeticError("bad record 17 in shard 2")

    with pytest.raises(ArithmeticError, match="^bad record 17 in shard 2$") as error:
        classifier().fit_generator(failing(), steps_per_epoch=4, verbose=0, workers=workers)
    assert any(entry.name == "failing" for entry in error.traceback)


@pytest.mark.parametrize("workers", [0, 2])
def test_an_exception_in_a_sequence_reaches_the_caller(workers):
    class Broken(ArraySequence):
        def __getitem__(self, index):
            if index == 2:
                raise IndexError("batch 2 is missing on disk")
            return super().__getitem__(index)

    with pytest.raises(IndexError, match="batch 2 is missing on disk"):
        classifier().predict_generator(Broken(X), workers=workers)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_generator_that_runs_out_raises_stop_iteration_with_the_count(workers):
    with pytest.raises(StopIteration, match=r"fit_generator: the generator stopped after 5 "
                                            r"batch\(es\), but 8 \(steps_per_epoch times "
                                            r"epochs\) are needed"):
        five_batches = (list(ArraySequence(X, LABELS)) * 2)[:5]
        classifier().fit_generator(iter(five_batches), steps_per_epoch=4, epochs=2,
                                   verbose=0, workers=workers)


# --- the (fake) GPU ----------------------------------------------------------------------------
@pytest.fixture
def fake():
    saved = backends.current()
    device = FakeCupy()
    backends.set_backend(CupyBackend(xp=device))
    yield device
    backends.set_backend(saved)


def _fit_on_fake(fake, steps, epochs=2):
    model = classifier()
    model.fit(X[:8], LABELS[:8], epochs=1, verbose=0)  # compile-time and first-call transfers
    fake.reset()
    fake.null_stream.waited.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batches = list(ArraySequence(X, LABELS)) * epochs
        # exactly the batches fit takes: an endless generator would be read (and copied) ahead
        model.fit_generator(iter(batches[:steps * epochs]), steps_per_epoch=steps,
                            epochs=epochs, verbose=0, workers=1)
    return dict(fake.counts), list(fake.sites["to_device"])


def test_fit_from_a_generator_on_the_fake_gpu_copies_each_array_once_without_syncs(fake):
    counts, sites = _fit_on_fake(fake, steps=3)
    prefetch = [s for s in sites if "copy_to_device_async" in s]
    assert len(prefetch) == 2 * 3 * 2  # x and y of each of the 6 batches, nothing more
    # every batch copy ran on a non-blocking stream of the prefetch thread, and the
    # training stream waited for each on the device
    assert len(fake.copy_streams) == 12
    assert all(s.non_blocking and not s.null for s in fake.copy_streams)
    waited = fake.null_stream.waited
    assert len(waited) == 6 and all(e.stream in fake.copy_streams for e in waited)
    assert counts["synchronize"] == 0

    longer, _ = _fit_on_fake(fake, steps=4)
    # reads and copies per step: none besides the batches' own copies
    assert longer["to_host"] == counts["to_host"]
    assert longer["to_device"] - counts["to_device"] == 2 * 1 * 2


@pytest.mark.gpu
def test_fit_from_a_sequence_on_the_gpu_equals_fit_on_arrays():
    reference = classifier()
    expected = reference.fit(X, LABELS, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = classifier()
    history = model.fit(ArraySequence(X, LABELS), epochs=2, shuffle=False, verbose=0,
                        workers=2)
    assert history.history == expected.history
    assert_same_weights(model, reference)


def test_the_prefetch_primitives_against_numpy(fake):
    """copy_to_device_async gives the host values on the device (None stays None, device
    arrays pass uncopied); the copy is queued on the calling thread's non-blocking stream
    after the consumer stream's allocation point; wait_ready waits on the device only."""
    backend = backends.current()
    consumer = backend.current_stream()
    host = [X[:4], None, LABELS[:4]]
    on_device = backend.asarray(WEIGHTS[:4])
    fake.reset()
    arrays, ready = backend.copy_to_device_async(host + [on_device], consumer)
    np.testing.assert_array_equal(fake.asnumpy(arrays[0]), X[:4])
    np.testing.assert_array_equal(fake.asnumpy(arrays[2]), LABELS[:4])
    assert arrays[1] is None and arrays[3] is on_device
    assert arrays[0].dtype == X.dtype and arrays[2].dtype == LABELS.dtype
    copy_stream = fake.copy_streams[0]
    assert copy_stream.non_blocking and fake.copy_streams == [copy_stream, copy_stream]
    assert [e.stream for e in copy_stream.waited] == [consumer]
    assert ready.stream is copy_stream and fake.counts["synchronize"] == 0
    backend.wait_ready(ready)
    assert fake.null_stream.waited[-1] is ready
    assert fake.counts["synchronize"] == 0

    numpy_backend = backends.numpy_backend.NumpyBackend()
    arrays, ready = numpy_backend.copy_to_device_async(host, numpy_backend.current_stream())
    assert ready is None and arrays[1] is None
    np.testing.assert_array_equal(arrays[0], X[:4])
    assert numpy_backend.wait_ready(ready) is None
