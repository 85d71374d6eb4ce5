"""Tiny stand-ins for the files Keras 2 downloads into ``~/.keras/datasets``, in the exact
formats of the real ones (names, keys, dtypes, pickles, archive layout), so the Keras 2.2.4
examples load them through ``keras.datasets`` without a network. Images carry a bright square
whose place depends on the label, so the tasks are learnable; the scripts' results are only
checked to be finite, not good."""
import io
import json
import os
import pickle
import tarfile

import numpy

CIFAR10_LABELS = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                  "ship", "truck"]


def _labelled_images(rng, n, height, width, channels=None):
    """uint8 images (n, height, width[, channels]) and uint8 labels ``i % 10``."""
    labels = (numpy.arange(n) % 10).astype("uint8")
    rng.shuffle(labels)
    shape = (n, height, width) + ((channels,) if channels else ())
    # sparse noise keeps the files small once compressed, as the real ones are
    images = numpy.where(rng.random(shape) < 0.03, rng.integers(0, 256, size=shape),
                         0).astype("uint8")
    side = height // 4
    for label in range(10):
        row, col = divmod(label, 4)
        top, left = row * side, col * side
        images[labels == label, top:top + side, left:left + side] = 220
    return images, labels


def mnist(datadir, n_train, n_test, seed=0):
    """``mnist.npz``: x_train uint8 (n, 28, 28), y_train uint8 (n,), x_test, y_test."""
    rng = numpy.random.default_rng(seed)
    x_train, y_train = _labelled_images(rng, n_train, 28, 28)
    x_test, y_test = _labelled_images(rng, n_test, 28, 28)
    numpy.savez_compressed(os.path.join(datadir, "mnist.npz"), x_train=x_train,
                           y_train=y_train, x_test=x_test, y_test=y_test)


def _pickled_member(tar, name, value):
    # Python 2 wrote these pickles: str keys arrive as bytes, hence the bytes keys
    data = pickle.dumps(value, protocol=2)
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def cifar10(datadir, per_batch, n_test, seed=0):
    """``cifar-10-batches-py.tar.gz``: the folder ``cifar-10-batches-py`` with the pickled
    dicts ``data_batch_1`` .. ``data_batch_5`` and ``test_batch`` (b'data': uint8 (n, 3072),
    channels first; b'labels': a list of ints) and ``batches.meta``."""
    rng = numpy.random.default_rng(seed)
    path = os.path.join(datadir, "cifar-10-batches-py.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for name in batches:
            n = n_test if name == "test_batch" else per_batch
            images, labels = _labelled_images(rng, n, 32, 32, channels=3)
            _pickled_member(tar, f"cifar-10-batches-py/{name}", {
                b"batch_label": f"{name} (gkeras test stand-in)".encode(),
                b"labels": [int(label) for label in labels],
                b"data": images.transpose(0, 3, 1, 2).reshape(n, 3072),
                b"filenames": [f"image_{i}.png".encode() for i in range(n)]})
        _pickled_member(tar, "cifar-10-batches-py/batches.meta", {
            b"num_cases_per_batch": per_batch, b"num_vis": 3072,
            b"label_names": [label.encode() for label in CIFAR10_LABELS]})


def _sequences(rng, n, vocabulary, shortest, longest):
    """An object array of ``n`` lists of word ranks (1 = the most frequent word)."""
    out = numpy.empty(n, dtype=object)
    for i, length in enumerate(rng.integers(shortest, longest + 1, size=n)):
        ranks = numpy.minimum(rng.zipf(1.3, size=length), vocabulary)
        out[i] = [int(rank) for rank in ranks]
    return out


def _word_index(path, vocabulary):
    with open(path, "w") as f:
        json.dump({f"word{rank}": rank for rank in range(1, vocabulary + 1)}, f)


def imdb(datadir, n_train, n_test, vocabulary=30000, seed=0):
    """``imdb.npz`` (x_train, x_test: object arrays of int lists; y_train, y_test: int64 0/1)
    and ``imdb_word_index.json`` ({word: rank})."""
    rng = numpy.random.default_rng(seed)
    labels = lambda n: (numpy.arange(n) % 2).astype("int64")  # noqa: E731
    numpy.savez(os.path.join(datadir, "imdb.npz"),
                x_train=_sequences(rng, n_train, vocabulary, 10, 150), y_train=labels(n_train),
                x_test=_sequences(rng, n_test, vocabulary, 10, 150), y_test=labels(n_test))
    _word_index(os.path.join(datadir, "imdb_word_index.json"), 2000)


def reuters(datadir, n, classes=46, vocabulary=30000, seed=0):
    """``reuters.npz`` (x: object array of int lists; y: int64 topics 0..45, all present) and
    ``reuters_word_index.json``."""
    rng = numpy.random.default_rng(seed)
    topics = (numpy.arange(n) % classes).astype("int64")
    numpy.savez(os.path.join(datadir, "reuters.npz"),
                x=_sequences(rng, n, vocabulary, 10, 120), y=topics)
    _word_index(os.path.join(datadir, "reuters_word_index.json"), 2000)


WORDS = ("the model learns a small set of words from these lines and the test only checks "
         "that training runs end to end on gkeras with the keras two scripts").split()


def _sentences(rng, n, shortest, longest):
    return [" ".join(rng.choice(WORDS, size=rng.integers(shortest, longest + 1)))
            for _ in range(n)]


def nietzsche(datadir, characters=900, seed=0):
    """``nietzsche.txt``: plain text (lstm_text_generation lower-cases and cuts it)."""
    rng = numpy.random.default_rng(seed)
    text = ". ".join(_sentences(rng, 200, 4, 12)).capitalize()[:characters]
    with open(os.path.join(datadir, "nietzsche.txt"), "w", encoding="utf-8") as f:
        f.write(text)


def fra_eng(workdir, n=120, seed=0):
    """``fra-eng/fra.txt`` in the working folder, as lstm_seq2seq reads it: one
    ``english<TAB>french`` pair a line (the two-column file of Keras 2.2.4's time)."""
    rng = numpy.random.default_rng(seed)
    os.makedirs(os.path.join(workdir, "fra-eng"))
    pairs = [f"{english}\t{english[::-1]}" for english in _sentences(rng, n, 1, 3)]
    with open(os.path.join(workdir, "fra-eng", "fra.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(pairs) + "\n")


def glove_and_newsgroups(workdir, groups=3, per_group=12, seed=0):
    """``glove.6B/glove.6B.100d.txt`` (``word v1 .. v100`` lines) and ``20_newsgroup/<group>/
    <number>`` posts (a header, a blank line, the text) in the working folder."""
    rng = numpy.random.default_rng(seed)
    os.makedirs(os.path.join(workdir, "glove.6B"))
    with open(os.path.join(workdir, "glove.6B", "glove.6B.100d.txt"), "w") as f:
        for word in sorted(set(WORDS)):
            f.write(word + " " + " ".join(f"{v:.5f}" for v in rng.normal(size=100)) + "\n")
    for group in range(groups):
        folder = os.path.join(workdir, "20_newsgroup", f"group.{group}")
        os.makedirs(folder)
        for number in range(per_group):
            with open(os.path.join(folder, str(50000 + number)), "w", encoding="latin-1") as f:
                f.write(f"From: someone@example.com\nSubject: post {number}\n\n"
                        + " ".join(_sentences(rng, 6, 5, 15)) + "\n")
