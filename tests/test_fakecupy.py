"""The fake device is at least as strict as CuPy: every transfer and sync is counted."""
import numpy as np
import pytest

from fakecupy import DeviceArray, FakeCupy


@pytest.fixture
def fake():
    return FakeCupy()


def _device(fake, values):
    array = fake.asarray(np.asarray(values))
    fake.reset()
    return array


def test_making_a_device_array_from_host_data_is_one_copy(fake):
    for value in (np.ones(3), [1.0, 2.0], 3.0):
        fake.reset()
        assert isinstance(fake.asarray(value), DeviceArray)
        assert fake.counts["to_device"] == 1
    device = _device(fake, [1.0])
    assert fake.asarray(device) is device and fake.counts["to_device"] == 0


@pytest.mark.parametrize("call", [
    lambda xp, a: xp.take(a, np.arange(2)),                 # host indices
    lambda xp, a: xp.take(a, indices=np.arange(2)),         # ... as a keyword
    lambda xp, a: xp.take_along_axis(a, a.astype("int64"), 0) + xp.asarray(np.zeros(1)),
    lambda xp, a: a[np.array([0, 2])],
    lambda xp, a: a[[0, 2]],
    lambda xp, a: a.__setitem__(slice(0, 2), np.zeros(2)),
], ids=["take", "take_keyword", "asarray", "getitem_array", "getitem_list", "setitem"])
def test_host_arrays_in_any_position_are_counted_copies(fake, call):
    call(fake, _device(fake, [1.0, 0.0, 2.0]))
    assert fake.counts["to_device"] == 1, fake.sites


@pytest.mark.parametrize("call", [
    lambda xp, a: a * np.ones(3),
    lambda xp, a: xp.exp(np.ones(3)),
    lambda xp, a: xp.sum(np.ones(3)),
    lambda xp, a: xp.concatenate([a, np.ones(3)]),
    lambda xp, a: xp.where(a > 0, a, np.ones(3)),
], ids=["ufunc", "ufunc_operand", "function_operand", "concatenate", "where"])
def test_host_arrays_mixed_into_device_computation_are_refused(fake, call):
    with pytest.raises(TypeError, match="Unsupported type"):
        call(fake, _device(fake, [1.0, 0.0, 2.0]))


@pytest.mark.parametrize("call", [
    lambda xp, a: xp.nonzero(a), lambda xp, a: a.nonzero(), lambda xp, a: xp.flatnonzero(a),
    lambda xp, a: xp.argwhere(a), lambda xp, a: xp.unique(a),
    lambda xp, a: xp.compress(a > 0, a), lambda xp, a: xp.extract(a > 0, a),
    lambda xp, a: xp.where(a > 0), lambda xp, a: a[a > 0],
    lambda xp, a: xp.allclose(a, a), lambda xp, a: xp.array_equal(a, a),
    lambda xp, a: xp.repeat(a, a.astype("int64")), lambda xp, a: float(a.sum()),
    lambda xp, a: a.tolist(), lambda xp, a: xp.asnumpy(a), lambda xp, a: str(a),
], ids=["nonzero", "nonzero_method", "flatnonzero", "argwhere", "unique", "compress",
        "extract", "where_1arg", "bool_mask", "allclose", "array_equal", "repeat_device",
        "float", "tolist", "asnumpy", "str"])
def test_functions_that_synchronise_are_counted(fake, call):
    call(fake, _device(fake, [1.0, 0.0, 2.0]))
    assert fake.counts["to_host"] == 1, fake.sites


def test_device_computation_reads_and_copies_nothing(fake):
    a = _device(fake, [[1.0, -2.0], [3.0, 4.0]])
    out = fake.where(a > 0, fake.exp(a) * 2.0, a.sum(axis=0)) @ a.T
    out = fake.take(out, fake.arange(2), axis=0)[:, ::-1]
    assert isinstance(out, DeviceArray) and out.shape == (2, 2)
    assert fake.counts == {"to_host": 0, "to_device": 0, "synchronize": 0}
    host = np.array([[1.0, -2.0], [3.0, 4.0]])
    want = np.where(host > 0, np.exp(host) * 2.0, host.sum(axis=0)) @ host.T
    np.testing.assert_allclose(out.get(), want[:, ::-1], rtol=1e-12)


def test_ascontiguousarray_copies_only_what_is_not_contiguous(fake):
    a = _device(fake, np.arange(6.0).reshape(2, 3))
    assert fake.ascontiguousarray(a) is a
    strided = fake.ascontiguousarray(a.T)
    assert strided._host.flags.c_contiguous and strided is not a
    np.testing.assert_array_equal(strided.get(), np.arange(6.0).reshape(2, 3).T)
    assert fake.counts["to_device"] == 0


def test_take_wraps_out_of_range_indices_as_cupy_does(fake):
    a = _device(fake, [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(fake.take(a, fake.arange(2, 5)).get(), [30.0, 10.0, 20.0])


# --- CUDA graphs: capture and replay, as CUDA does them ------------------------------------

def _capture(fake, work):
    stream = fake.cuda.Stream()
    with stream:
        stream.begin_capture()
        assert stream.is_capturing()
        work()
        return stream.end_capture()


def test_captured_work_does_not_run_and_each_launch_replays_it(fake):
    a = _device(fake, [1.0, 1.0])
    results = []
    factor = [0.5]

    def work():
        fake.add(a, 1.0, out=a)
        results.append(a * factor[0])  # a new array: replays write into it
        results.append(a.sum())        # a reduction's 0-d result too
    graph = _capture(fake, work)
    np.testing.assert_array_equal(a.get(), [1.0, 1.0])  # the in-place add was undone
    factor[0] = 10.0  # a Python number is captured by value
    graph.launch()
    np.testing.assert_array_equal(a.get(), [2.0, 2.0])
    np.testing.assert_array_equal(results[0].get(), [1.0, 1.0])
    assert float(results[1].get()) == 4.0
    graph.launch()
    np.testing.assert_array_equal(a.get(), [3.0, 3.0])
    np.testing.assert_array_equal(results[0].get(), [1.5, 1.5])
    assert fake.graph_launches == 2 and fake.captures == 1


def test_item_assignment_and_kernels_writes_are_undone_then_replayed(fake):
    a = _device(fake, [0.0, 0.0, 0.0])
    b = _device(fake, [5.0, 6.0, 7.0])
    graph = _capture(fake, lambda: (a.__setitem__(slice(0, 2), b[1:]),
                                    fake.copyto(b, a * 2.0)))
    np.testing.assert_array_equal(a.get(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.get(), [5.0, 6.0, 7.0])
    graph.launch()
    np.testing.assert_array_equal(a.get(), [6.0, 7.0, 0.0])
    np.testing.assert_array_equal(b.get(), [12.0, 14.0, 0.0])


def test_a_generator_draws_anew_at_each_replay_from_its_state_before_capture(fake):
    generator = fake.random.default_rng(0)
    reference = np.random.default_rng(0)
    drawn = []
    graph = _capture(fake, lambda: drawn.append(generator.random(3)))
    graph.launch()
    np.testing.assert_array_equal(drawn[0].get(), reference.random(3))
    graph.launch()
    np.testing.assert_array_equal(drawn[0].get(), reference.random(3))


@pytest.mark.parametrize("read", [
    lambda fake, a: float(a.sum()), lambda fake, a: a.get(),
    lambda fake, a: fake.cuda.get_current_stream().synchronize(),
    lambda fake, a: a + fake.asarray(np.ones(2)),
], ids=["float", "get", "synchronize", "host_to_device"])
def test_a_host_read_sync_or_copy_during_capture_invalidates_it(fake, read):
    a = _device(fake, [1.0, 2.0])
    stream = fake.cuda.Stream()
    runtime_error = fake.cuda.runtime.CUDARuntimeError
    with stream:
        stream.begin_capture()
        with pytest.raises(runtime_error, match="cudaErrorStreamCaptureInvalidated"):
            read(fake, a)
        with pytest.raises(runtime_error, match="invalidated by"):
            stream.end_capture()
    assert not stream.is_capturing() and fake.captures == 0


def test_capture_needs_a_stream_of_its_own_and_its_work_on_it(fake):
    with pytest.raises(RuntimeError, match="default"):
        fake.null_stream.begin_capture()
    a = _device(fake, [1.0])
    stream = fake.cuda.Stream()
    stream.begin_capture()  # not made the current stream: work goes to the null stream
    with pytest.raises(fake.cuda.runtime.CUDARuntimeError, match="StreamCaptureImplicit"):
        a * 2.0
    with pytest.raises(fake.cuda.runtime.CUDARuntimeError):
        stream.end_capture()
