"""DataParallel's parts in one process: shards, the reverse pass's gradient hook, gradient
buckets, summed logs, the NCCL communicator on the fake device, and argument errors. The
multi-process behaviour is tested under mpiexec in test_data_parallel_mpi.py."""
import os
import sys

import numpy
import pytest

import gkeras as keras
from gkeras import backends, layers
from gkeras.autograd import GradientTape, backward
from gkeras.backends.cupy_backend import CupyBackend
from gkeras.backends.cupy_collectives import NcclCommunicator
from gkeras.distribution import DataParallel
from gkeras.distribution.gradient_buckets import GradientBuckets

sys.path.insert(0, os.path.dirname(__file__))
from fakes import FakeNccl, MirrorCommunicator  # noqa: E402
from fakecupy import FakeCupy  # noqa: E402


@pytest.fixture(autouse=True)
def _keep_excepthook(monkeypatch):
    # an active DataParallel aborts the job on an uncaught exception: not in this process
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)


def _data_parallel(rank, size, same_machine=False, **kwargs):
    return DataParallel(communicator=MirrorCommunicator(rank, size, same_machine=same_machine),
                        **kwargs)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
@pytest.mark.parametrize("length", [1, 2, 3, 5, 9, 10])
def test_shards_cover_each_batch_once_in_order_with_shares_summing_to_one(size, length):
    start = 11
    parts, shares, counted = [], [], []
    for rank in range(size):
        dp = _data_parallel(rank, size)
        index, share, keep = dp.shard_index(slice(start, start + length), length)
        array_index = dp.shard_index(numpy.arange(start, start + length), length)[0]
        numpy.testing.assert_array_equal(numpy.arange(index.start, index.stop), array_index)
        if keep:
            parts.append(array_index)
        else:  # no sample: the batch's first one, not counted, share 0
            assert (index.start, index.stop, share) == (start, start + 1, 0.0)
        shares.append(share)
        counted.append(keep)
    numpy.testing.assert_array_equal(numpy.concatenate(parts), numpy.arange(start, start + length))
    assert sum(shares) == pytest.approx(1.0)
    assert sum(counted) == min(size, length)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def _mlp():
    numpy.random.seed(1)
    model = keras.Sequential([layers.Dense(5, activation="relu", input_shape=(4,)),
                              layers.Dense(6, activation="tanh"), layers.Dense(2)])
    model.build((None, 4))
    return model


def _loss(model, x):
    return keras.ops.mean(model(x) ** 2)


def test_the_gradient_hook_gives_each_final_gradient_last_layer_first():
    model = _mlp()
    x = numpy.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    variables = model.trainable_weights
    with GradientTape():
        loss = _loss(model, x)
    expected = backward(loss, variables)
    seen = []
    with GradientTape():
        loss = _loss(model, x)
    grads = backward(loss, variables, on_gradient=lambda i, g: seen.append((i, g)))
    assert sorted(i for i, _ in seen) == list(range(len(variables)))
    # the reverse pass finishes the last layer's gradients first
    assert [i for i, _ in seen][:2] in ([4, 5], [5, 4])
    assert [i for i, _ in seen][-2:] in ([0, 1], [1, 0])
    for i, g in seen:
        numpy.testing.assert_array_equal(g, expected[i])
        numpy.testing.assert_array_equal(grads[i], expected[i])


def test_the_gradient_hook_counts_a_variable_used_twice_once_it_is_complete():
    w = keras.Variable(numpy.array([1.5, -2.0]))
    seen = []
    with GradientTape():
        y = keras.ops.sum(w * w + w * 3.0)
    backward(y, [w], on_gradient=lambda i, g: seen.append(numpy.array(g)))
    assert len(seen) == 1
    numpy.testing.assert_allclose(seen[0], 2 * numpy.array([1.5, -2.0]) + 3.0)


def test_buckets_start_during_the_reverse_pass_and_return_the_sums():
    model = _mlp()
    variables = model.trainable_weights
    communicator = MirrorCommunicator(0, 3)
    # one bucket per ~40 bytes: several buckets, started one by one as gradients finish
    buckets = GradientBuckets(variables, communicator, bucket_bytes=40)
    assert len(buckets.buckets) > 2
    x = numpy.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    with GradientTape():
        loss = _loss(model, x)
    expected = backward(loss, variables)
    started_before_the_end = []

    def hook(i, grad):
        buckets.add(i, grad)
        started_before_the_end.append(len(communicator.started))

    buckets.start()
    with GradientTape():
        loss = _loss(model, x)
    summed = buckets.finish(backward(loss, variables, on_gradient=hook))
    assert started_before_the_end[-2] >= 1  # a bucket was summed before the last gradient
    assert len(communicator.started) == len(buckets.buckets)
    for s, e in zip(summed, expected):
        numpy.testing.assert_allclose(s, 3 * e, rtol=1e-6)
    # one flat buffer per dtype: the buckets are contiguous slices of it
    assert all(b.array.base is not None for b in buckets.buckets)


def test_buckets_fill_zeros_for_variables_outside_the_graph_and_keep_their_none():
    a, b = keras.Variable(numpy.ones(3)), keras.Variable(numpy.ones(2))
    communicator = MirrorCommunicator(0, 2)
    buckets = GradientBuckets([a, b], communicator, bucket_bytes=1)
    buckets.start()
    with GradientTape():
        y = keras.ops.sum(a * 2.0)
    grads = backward(y, [a, b], on_gradient=buckets.add)
    summed = buckets.finish(grads)
    numpy.testing.assert_array_equal(summed[0], [4.0, 4.0, 4.0])
    assert summed[1] is None
    assert len(communicator.started) == 2  # b's bucket still joins the sums (of zeros)
    numpy.testing.assert_array_equal(communicator.started[0], [2.0, 2.0, 2.0])
    numpy.testing.assert_array_equal(communicator.started[1], [0.0, 0.0])


def test_logs_are_computed_from_the_summed_states():
    model = _mlp()
    model.compile("sgd", "mse", metrics=["mae"])
    rng = numpy.random.default_rng(2)
    x = rng.normal(size=(8, 4)).astype("float32")
    y = rng.normal(size=(8, 2)).astype("float32")

    def logs_of(rows, communicator):
        model._data_parallel = DataParallel(communicator=communicator)
        model._reset_metrics()
        model._first_batch = True
        model._test_step([x[rows]], [y[rows]], [None])
        logs = {name: float(value) for name, value in model._logs().items()}
        model._data_parallel = None
        return logs

    # the peer (rank 1) evaluated the last 5 rows: its summed state is what it sends
    peer = MirrorCommunicator(1, 2, peer=numpy.zeros(1))
    logs_of(slice(3, 8), peer)
    logs = logs_of(slice(0, 3), MirrorCommunicator(0, 2, peer=peer.started[0]))
    # the same as one process evaluating all 8 rows in one batch
    loss, mae = model.evaluate(x, y, batch_size=8, verbose=0)
    assert logs == pytest.approx({"loss": loss, "mae": mae}, rel=1e-6)


def test_one_process_runs_as_without_a_distribution():
    dp = DataParallel()
    keras.distribution.set_distribution(dp)
    try:
        assert dp.num_processes == 1 and not dp.active and dp.is_chief
        assert keras.distribution.distribution() is dp
        model = _mlp()
        model.compile("sgd", "mse")
        x = numpy.ones((5, 4), "float32")
        model.fit(x, numpy.zeros((5, 2), "float32"), epochs=1, verbose=0)
    finally:
        keras.distribution.set_distribution(None)


@pytest.mark.parametrize("kwargs, message", [
    (dict(device_mesh=object()), "device meshes"),
    (dict(auto_shard_dataset=False), "auto_shard_dataset=False"),
    (dict(bucket_size_mb=0), "bucket_size_mb must be a positive number"),
    (dict(devices=["gpu:0"]), "1 device(s) given"),
    (dict(devices=["gpu:0", "tpu:1"]), "'gpu:N' or 'cpu:N'"),
])
def test_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _data_parallel(0, 2, **kwargs)


def test_set_distribution_takes_a_data_parallel_or_none():
    with pytest.raises(TypeError, match="DataParallel or None; received str"):
        keras.distribution.set_distribution("data_parallel")


def test_a_launch_of_several_processes_without_mpi4py_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(RuntimeError, match=r"launched with 4 processes.*gkeras\[mpi\]"):
        DataParallel()


@pytest.fixture
def fake_device():
    saved = backends.current()
    device = FakeCupy(device_count=2)
    device.cuda.nccl = FakeNccl()
    used = []
    device.cuda.Device = lambda index: type("D", (), {"use": lambda self: used.append(index)})()
    backends.set_backend(CupyBackend(xp=device))
    yield device, used
    backends.set_backend(saved)


def test_nccl_sums_gradient_buckets_on_its_stream_without_host_transfers(fake_device):
    device, used = fake_device
    dp = _data_parallel(1, 2, same_machine=True)
    assert used == [1]  # the process of local rank 1 takes GPU 1
    communicator = dp._device
    assert isinstance(communicator, NcclCommunicator)
    model = _mlp()
    variables = model.trainable_weights
    x = device.asarray(numpy.random.default_rng(0).normal(size=(7, 4)).astype("float32"))
    with GradientTape():
        loss = _loss(model, x)
    expected = [numpy.asarray(g.get()) for g in backward(loss, variables)]
    buckets = dp.gradient_buckets(variables)
    device.reset()
    buckets.start()
    with GradientTape():
        loss = _loss(model, x)
    summed = buckets.finish(backward(loss, variables, on_gradient=buckets.add))
    assert device.counts["to_host"] == 0 and device.counts["synchronize"] == 0
    calls = device.cuda.nccl.calls
    assert [c[0] for c in calls] == ["allReduce"] * len(buckets.buckets)
    assert all(c[1] == c[2] and c[5] == FakeNccl.NCCL_SUM and c[6] == communicator.stream.ptr
               for c in calls)
    assert sum(c[3] for c in calls) == sum(int(numpy.prod(v.shape)) for v in variables)
    # the sums wait for the gradients, and the training stream waits for the sums
    assert len(communicator.stream.waited) == len(calls)
    assert len(device.cuda.get_current_stream().waited) == len(calls)
    for s, e in zip(summed, expected):
        numpy.testing.assert_allclose(s.get(), 2 * e, rtol=1e-6)


def test_nccl_refuses_more_processes_than_gpus(fake_device):
    with pytest.raises(RuntimeError, match="3 processes run on this machine but it has 2"):
        _data_parallel(0, 3, same_machine=True)


@pytest.mark.gpu
def test_nccl_sums_device_arrays_in_place_in_a_job_of_one():
    backend = backends.current()
    if backend.name != "cupy":
        pytest.skip("runs with KERAS_BACKEND=cupy")
    xp = backend.xp
    if isinstance(xp, FakeCupy):
        xp.cuda.nccl = FakeNccl()
    elif not getattr(xp.cuda.nccl, "available", True):
        pytest.skip("this CuPy has no NCCL")
    communicator = NcclCommunicator(xp, MirrorCommunicator(0, 1))
    model = _mlp()
    variables = model.trainable_weights
    x = xp.asarray(numpy.random.default_rng(0).normal(size=(7, 4)).astype("float32"))
    with GradientTape():
        loss = _loss(model, x)
    expected = [backend.to_numpy(g) for g in backward(loss, variables)]
    buckets = GradientBuckets(variables, communicator, bucket_bytes=64)
    buckets.start()
    with GradientTape():
        loss = _loss(model, x)
    summed = buckets.finish(backward(loss, variables, on_gradient=buckets.add))
    for s, e in zip(summed, expected):
        numpy.testing.assert_allclose(backend.to_numpy(s), e, rtol=1e-6)


class _StepTransfers(keras.callbacks.Callback):
    """The fake device's transfer counts over the steps after the first (the first builds
    the optimizer's state); the last batch's counts are read before the epoch's end."""

    def __init__(self, device):
        super().__init__()
        self.device, self.counts = device, None

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 1:
            self.device.reset()

    def on_train_batch_end(self, batch, logs=None):
        self.counts = dict(self.device.counts)


@pytest.mark.parametrize("distributed", [False, True])
def test_a_data_parallel_step_on_the_gpu_reads_nothing_back_to_the_host(fake_device,
                                                                         distributed):
    device, _ = fake_device
    if distributed:
        keras.distribution.set_distribution(_data_parallel(0, 2))
    try:
        model = _mlp()
        model.compile("adam", "mse", metrics=["mae"])
        probe = _StepTransfers(device)
        x = numpy.random.default_rng(0).normal(size=(40, 4)).astype("float32")
        model.fit(x, numpy.zeros((40, 2), "float32"), batch_size=8, epochs=1, verbose=0,
                  callbacks=[probe], shuffle=False)
    finally:
        keras.distribution.set_distribution(None)
    assert probe.counts == {"to_host": 0, "to_device": 0, "synchronize": 0}
    if distributed:  # the gradient and metric sums went through NCCL
        assert len(device.cuda.nccl.calls) >= 2 * 5


@pytest.mark.parametrize("jit_compile", ["auto", True])
def test_data_parallel_steps_are_not_captured_as_graphs(fake_device, jit_compile):
    """compile(jit_compile=...) (gkeras/models/step_capture.py): the gradient sums of a
    data-parallel step are collective calls made from the host, which a graph cannot
    hold; 'auto' trains eagerly after a warning, True names the reason."""
    from gkeras.models.step_capture import CaptureError
    keras.distribution.set_distribution(_data_parallel(0, 2))
    try:
        model = _mlp()
        model.compile("adam", "mse", jit_compile=jit_compile)
        x = numpy.random.default_rng(0).normal(size=(40, 4)).astype("float32")
        y = numpy.zeros((40, 2), "float32")
        if jit_compile is True:
            with pytest.raises(CaptureError, match="data-parallel training"):
                model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        else:
            with pytest.warns(UserWarning, match="data-parallel training"):
                model.fit(x, y, batch_size=8, epochs=2, verbose=0)
            assert int(model.optimizer.iterations) == 10
    finally:
        keras.distribution.set_distribution(None)


def test_ranks_sharing_a_machine_split_its_cores_unless_the_user_chose(monkeypatch):
    from gkeras.backends import blas_threads
    calls = []
    monkeypatch.setattr(blas_threads, "_controls", (lambda: 8, calls.append))
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "numba", None)
    blas_threads.share_cores(1)
    assert calls == []
    blas_threads.share_cores(3)
    assert calls == [2] and os.environ["NUMBA_NUM_THREADS"] == "2"
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    blas_threads.share_cores(2)
    assert calls == [2]


def test_the_mpi_communicator_in_a_job_of_one():
    pytest.importorskip("mpi4py")
    from gkeras.distribution import MPICommunicator
    communicator = MPICommunicator(timeout=5)
    assert (communicator.rank, communicator.size) == (0, 1)
    a = numpy.arange(6, dtype="float32")
    communicator.allreduce(a)
    numpy.testing.assert_array_equal(a, numpy.arange(6))
    rows = numpy.arange(12.0).reshape(4, 3)
    numpy.testing.assert_array_equal(communicator.allgather_rows(rows), rows)
    assert communicator.allgather_rows(rows[:0]).shape == (0, 3)
    assert communicator.any(True) and not communicator.any(False)
    assert communicator.broadcast_object({"seed": 3}) == {"seed": 3}
    communicator.barrier()
