"""h5py Datasets as fit/evaluate/predict data: read one batch at a time, never whole."""
import h5py
import numpy as np
import pytest

from gkeras.layers import Dense
from gkeras.models import Sequential
from gkeras.optimizers import SGD

N = 1000  # rows on disk
BATCH = 64


@pytest.fixture
def h5_data(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, 3)).astype("float32")
    y = rng.standard_normal((N, 1)).astype("float32")
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"], f["y"] = x, y
    f = h5py.File(tmp_path / "data.h5", "r")
    yield f["x"], f["y"], x, y
    f.close()


@pytest.fixture
def reads(monkeypatch):
    """Records every selection read from an h5py Dataset; whole-array reads fail the test."""
    log = []
    original = h5py.Dataset.__getitem__

    def getitem(self, selection):
        log.append((self.name, selection))
        return original(self, selection)

    def whole(self, *args, **kwargs):
        raise AssertionError(f"{self.name} was read whole")

    monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)
    monkeypatch.setattr(h5py.Dataset, "__array__", whole)
    monkeypatch.setattr(h5py.Dataset, "read_direct", whole)
    return log


def linear_model(lr=0.0):
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(SGD(learning_rate=lr), "mse", metrics=["mae"])
    return model


def forward(model, x):
    w, b = model.get_weights()
    return x.astype("float64") @ w + b


def contiguous(start, stop):
    return [slice(i, min(i + BATCH, stop)) for i in range(start, stop, BATCH)]


def selections(log, name):
    return [sel for dataset, sel in log if dataset == name]


def test_fit_reads_one_batch_at_a_time_in_order(h5_data, reads):
    hx, hy, x, y = h5_data
    model = linear_model()
    history = model.fit(hx, hy, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    assert selections(reads, "/x") == contiguous(0, N) * 2
    assert selections(reads, "/y") == contiguous(0, N) * 2
    pred = forward(model, x)
    np.testing.assert_allclose(history.history["loss"], [np.mean((pred - y) ** 2)] * 2,
                               rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], [np.mean(np.abs(pred - y))] * 2,
                               rtol=1e-5)


def test_fit_matches_the_same_fit_on_numpy_arrays(h5_data):
    hx, hy, x, y = h5_data
    on_disk, in_memory = linear_model(lr=0.05), linear_model(lr=0.05)
    in_memory.set_weights(on_disk.get_weights())
    h1 = on_disk.fit(hx, hy, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    h2 = in_memory.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-6)
    for a, b in zip(on_disk.get_weights(), in_memory.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_shuffle_batch_permutes_contiguous_chunks(h5_data, reads):
    hx, hy, _, _ = h5_data
    np.random.seed(0)
    linear_model().fit(hx, hy, batch_size=BATCH, epochs=3, shuffle="batch", verbose=0)
    per_epoch = len(contiguous(0, N))  # 15 full chunks, then 40 rows
    x_reads = selections(reads, "/x")
    assert x_reads == selections(reads, "/y")  # x and y read the same rows
    orders = []
    for epoch in range(3):
        chunks = x_reads[epoch * per_epoch:(epoch + 1) * per_epoch]
        assert chunks[-1] == slice(960, 1000)  # the partial chunk stays last
        assert sorted(chunks[:-1], key=lambda s: s.start) == contiguous(0, 960)
        orders.append([s.start for s in chunks])
    assert orders[0] != list(range(0, N, BATCH)) and orders[0] != orders[1]


def test_shuffle_true_is_refused_with_a_hint(h5_data, reads):
    hx, hy, _, _ = h5_data
    model = linear_model(lr=0.1)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="shuffle=True cannot be used with h5py.*'batch'"):
        model.fit(hx, hy, epochs=1, verbose=0)  # shuffle=True is fit's default
    assert reads == []
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_validation_split_reads_the_last_rows(h5_data, reads):
    hx, hy, x, y = h5_data
    model = linear_model()
    history = model.fit(hx, hy, batch_size=BATCH, epochs=1, shuffle="batch",
                        validation_split=0.2, verbose=0)
    x_reads = selections(reads, "/x")
    assert all(s.stop <= 800 for s in x_reads[:13]) and x_reads[12] == slice(768, 800)
    assert x_reads[13:] == [slice(800 + i, min(800 + i + BATCH, N)) for i in range(0, 200, BATCH)]
    pred = forward(model, x)
    assert history.history["val_loss"][0] == pytest.approx(np.mean((pred[800:] - y[800:]) ** 2),
                                                           rel=1e-5)


def test_evaluate_and_predict_read_batches(h5_data, reads):
    hx, hy, x, y = h5_data
    model = linear_model()
    pred = forward(model, x)
    loss, mae = model.evaluate(hx, hy, batch_size=BATCH, verbose=0)
    assert loss == pytest.approx(np.mean((pred - y) ** 2), rel=1e-5)
    assert mae == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-5)
    assert selections(reads, "/x") == contiguous(0, N)
    reads.clear()
    out = model.predict(hx, batch_size=BATCH)
    np.testing.assert_allclose(out, pred, rtol=1e-5, atol=1e-6)
    assert selections(reads, "/x") == contiguous(0, N) and selections(reads, "/y") == []


def test_h5py_x_with_numpy_y(h5_data, reads):
    hx, _, x, y = h5_data
    model = linear_model()
    history = model.fit(hx, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(
        np.mean((forward(model, x) - y) ** 2), rel=1e-5)
    assert selections(reads, "/x") == contiguous(0, N)
