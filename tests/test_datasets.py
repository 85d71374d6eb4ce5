"""gkeras.datasets against small files in exactly Keras's cache formats (built in a temporary
KERAS_HOME; nothing is downloaded): values, shapes and dtypes as Keras 2.2.4 returns them.

The IMDB/Reuters/Boston expectations were computed by running Keras 2.2.4's own
``keras/datasets/*.py`` on these fixture files (with the NumPy of its day: ``np.load``
unpickling, ``np.array`` of ragged lists giving object arrays), then hard-coded."""
import io
import os
import pickle
import zipfile

import numpy
import pytest

import gkeras
from gkeras import config
from gkeras.datasets import (boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                             reuters)
from gkeras.datasets.cifar import load_batch
from gkeras.utils import data_utils
from gkeras.utils.safe_pickle import load_npz, restricted_load

import dataset_files as files


@pytest.fixture
def datasets_dir(tmp_path, monkeypatch):
    """``$KERAS_HOME/datasets`` in a fresh KERAS_HOME, with every download failing."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))

    def offline(url):
        raise AssertionError(f"a test tried to download {url}")
    monkeypatch.setattr(data_utils, "urlopen", offline)
    return files.datasets_dir(str(tmp_path / "keras_home"))


def accept_fixture(monkeypatch, module, path, attribute="FILE_HASH"):
    """Make ``module`` expect the hash of our fixture at ``path`` instead of the real file's."""
    monkeypatch.setattr(module, attribute, data_utils._hash_file(path, "md5"))


def test_keras2_module_paths_and_the_real_files_origins_and_hashes():
    from gkeras.datasets import mnist as mnist_module  # `from keras.datasets import mnist`
    assert mnist_module is gkeras.datasets.mnist
    assert set(gkeras.datasets.__all__) == {"boston_housing", "cifar10", "cifar100",
                                            "fashion_mnist", "imdb", "mnist", "reuters"}
    # Keras 2.2.4's origins and hashes
    assert (mnist.ORIGIN, mnist.FILE_HASH) == (
        "https://s3.amazonaws.com/img-datasets/mnist.npz", "8a61469f7ea1b51cbae51d4f78837e45")
    assert (imdb.ORIGIN, imdb.FILE_HASH) == (
        "https://s3.amazonaws.com/text-datasets/imdb.npz", "599dadb1135973df5b59232a0e9a887c")
    assert (imdb.WORD_INDEX_ORIGIN, imdb.WORD_INDEX_HASH) == (
        "https://s3.amazonaws.com/text-datasets/imdb_word_index.json",
        "bfafd718b763782e994055a2d397834f")
    assert (reuters.ORIGIN, reuters.FILE_HASH) == (
        "https://s3.amazonaws.com/text-datasets/reuters.npz", "87aedbeb0cb229e378797a632c1997b6")
    assert (reuters.WORD_INDEX_ORIGIN, reuters.WORD_INDEX_HASH) == (
        "https://s3.amazonaws.com/text-datasets/reuters_word_index.json",
        "4d44cc38712099c9e383dc6e5f11a921")
    assert (boston_housing.ORIGIN, boston_housing.FILE_HASH) == (
        "https://s3.amazonaws.com/keras-datasets/boston_housing.npz",
        "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")
    assert cifar10.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert cifar100.ORIGIN == "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    assert fashion_mnist.BASE_URL == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"


# ---- MNIST, Fashion-MNIST -----------------------------------------------------------------

def digits(n, offset):
    return (numpy.arange(n * 28 * 28).reshape(n, 28, 28) * 7 + offset).astype(numpy.uint8)


def test_mnist_reads_the_cached_npz(datasets_dir, monkeypatch):
    path = files.write_npz(os.path.join(datasets_dir, "mnist.npz"),
                           x_train=digits(3, 0), y_train=numpy.array([5, 0, 4], numpy.uint8),
                           x_test=digits(2, 1), y_test=numpy.array([7, 2], numpy.uint8))
    accept_fixture(monkeypatch, mnist, path)
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    numpy.testing.assert_array_equal(x_train, digits(3, 0))
    numpy.testing.assert_array_equal(x_test, digits(2, 1))
    assert y_train.tolist() == [5, 0, 4] and y_test.tolist() == [7, 2]
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {numpy.dtype("uint8")}


def test_mnist_path_argument_names_the_cached_file(datasets_dir, monkeypatch):
    path = files.write_npz(os.path.join(datasets_dir, "my_mnist.npz"),
                           x_train=digits(1, 3), y_train=numpy.array([1], numpy.uint8),
                           x_test=digits(1, 4), y_test=numpy.array([2], numpy.uint8))
    accept_fixture(monkeypatch, mnist, path)
    (x_train, _), _ = mnist.load_data(path="my_mnist.npz")
    numpy.testing.assert_array_equal(x_train, digits(1, 3))


def test_a_cached_file_with_the_wrong_hash_is_fetched_again(datasets_dir):
    files.write_npz(os.path.join(datasets_dir, "mnist.npz"), x_train=digits(1, 0))
    with pytest.raises(AssertionError, match="tried to download "
                       "https://s3.amazonaws.com/img-datasets/mnist.npz"):
        mnist.load_data()


def test_fashion_mnist_reads_the_gzipped_idx_files(datasets_dir):
    directory = os.path.join(datasets_dir, "fashion-mnist")
    os.makedirs(directory)
    y_train, y_test = numpy.array([9, 0, 3], numpy.uint8), numpy.array([1, 8], numpy.uint8)
    for name, array in zip(fashion_mnist.FILES, (y_train, digits(3, 5), y_test, digits(2, 6))):
        files.write_idx_gz(os.path.join(directory, name), array)
    (x_tr, y_tr), (x_te, y_te) = fashion_mnist.load_data()
    numpy.testing.assert_array_equal(x_tr, digits(3, 5))
    numpy.testing.assert_array_equal(x_te, digits(2, 6))
    assert y_tr.tolist() == [9, 0, 3] and y_te.tolist() == [1, 8]
    assert x_tr.shape == (3, 28, 28) and x_te.shape == (2, 28, 28)
    assert {a.dtype for a in (x_tr, y_tr, x_te, y_te)} == {numpy.dtype("uint8")}
    assert not x_tr.flags.writeable  # views of the decompressed bytes, as in Keras 2.2.4


# ---- CIFAR ---------------------------------------------------------------------------------

def images(n, offset):
    """``n`` CIFAR images as stored: rows of 3072 = 3 channel planes of 32x32."""
    return ((numpy.arange(n * 3072).reshape(n, 3072) * 13 + offset) % 251).astype(numpy.uint8)


def write_cifar10(datasets_dir, pickler=files.py2_pickle):
    members, labels = {}, {}
    for i in range(1, 6):
        labels[i] = [(i + k) % 10 for k in range(2)]
        members[f"cifar-10-batches-py/data_batch_{i}"] = pickler(
            files.cifar_batch(images(2, i), labels[i]))
    members["cifar-10-batches-py/test_batch"] = pickler(files.cifar_batch(images(3, 9),
                                                                          [6, 9, 9]))
    members["cifar-10-batches-py/batches.meta"] = pickler({b"label_names": [b"airplane"]})
    files.write_tar_gz(os.path.join(datasets_dir, "cifar-10-batches-py.tar.gz"), members)
    x_train = numpy.concatenate([images(2, i) for i in range(1, 6)]).reshape(10, 3, 32, 32)
    y_train = [label for i in range(1, 6) for label in labels[i]]
    return x_train, y_train, images(3, 9).reshape(3, 3, 32, 32), [6, 9, 9]


@pytest.mark.parametrize("pickler", [files.py2_pickle, lambda obj: pickle.dumps(obj, 2)],
                         ids=["python2-cPickle", "python3-protocol2"])
def test_cifar10_extracts_and_reads_the_pickled_batches_channels_last(datasets_dir, pickler):
    x_train, y_train, x_test, y_test = write_cifar10(datasets_dir, pickler)
    (xtr, ytr), (xte, yte) = cifar10.load_data()
    assert os.path.isdir(os.path.join(datasets_dir, "cifar-10-batches-py"))
    numpy.testing.assert_array_equal(xtr, x_train.transpose(0, 2, 3, 1))
    numpy.testing.assert_array_equal(xte, x_test.transpose(0, 2, 3, 1))
    assert xtr.shape == (10, 32, 32, 3) and xte.shape == (3, 32, 32, 3)
    assert ytr.tolist() == [[v] for v in y_train] and yte.tolist() == [[6], [9], [9]]
    # Keras 2.2.4: uint8 images; training labels uint8, test labels int64
    assert (xtr.dtype, ytr.dtype, xte.dtype, yte.dtype) == (
        numpy.uint8, numpy.uint8, numpy.uint8, numpy.int64)
    assert xtr[0, 0, 1].tolist() == [x_train[0, 0, 0, 1], x_train[0, 1, 0, 1],
                                      x_train[0, 2, 0, 1]]  # pixel (0, 1): its R, G, B planes


def test_cifar10_channels_first_follows_image_data_format(datasets_dir):
    x_train, _, x_test, _ = write_cifar10(datasets_dir)
    config.set_image_data_format("channels_first")
    (xtr, _), (xte, _) = cifar10.load_data()
    numpy.testing.assert_array_equal(xtr, x_train)
    numpy.testing.assert_array_equal(xte, x_test)
    assert xtr.shape == (10, 3, 32, 32)


def write_cifar100(datasets_dir):
    train = files.cifar_batch(images(4, 1), [11, 98, 0, 57], label_key="fine_labels",
                              coarse_labels=[3, 19, 4, 0])
    test = files.cifar_batch(images(2, 2), [42, 7], label_key="fine_labels",
                             coarse_labels=[8, 1])
    files.write_tar_gz(os.path.join(datasets_dir, "cifar-100-python.tar.gz"),
                       {"cifar-100-python/train": files.py2_pickle(train),
                        "cifar-100-python/test": files.py2_pickle(test)})


@pytest.mark.parametrize("label_mode,y_train,y_test", [
    ("fine", [11, 98, 0, 57], [42, 7]), ("coarse", [3, 19, 4, 0], [8, 1])])
def test_cifar100_label_modes(datasets_dir, label_mode, y_train, y_test):
    write_cifar100(datasets_dir)
    (xtr, ytr), (xte, yte) = cifar100.load_data(label_mode=label_mode)
    numpy.testing.assert_array_equal(xtr, images(4, 1).reshape(4, 3, 32, 32)
                                     .transpose(0, 2, 3, 1))
    numpy.testing.assert_array_equal(xte, images(2, 2).reshape(2, 3, 32, 32)
                                     .transpose(0, 2, 3, 1))
    assert ytr.tolist() == [[v] for v in y_train] and yte.tolist() == [[v] for v in y_test]
    assert (xtr.dtype, ytr.dtype, yte.dtype) == (numpy.uint8, numpy.int64, numpy.int64)


def test_cifar100_refuses_an_unknown_label_mode():
    with pytest.raises(ValueError, match='`label_mode` must be one of `"fine"`, `"coarse"`. '
                       "Received: label_mode='medium'"):
        cifar100.load_data(label_mode="medium")


# ---- IMDB, Reuters: every option, as Keras 2.2.4 computes it --------------------------------

# (dataset, load_data arguments, x_train, y_train, x_test, y_test, dtypes), from Keras 2.2.4
KERAS_224 = [
    ("imdb", {},
     [[1, 8, 28, 2, 46, 11, 5], [1, 4, 17, 25, 19], [1, 10, 10, 33, 4, 15], [1, 12, 7],
      [1, 6, 21, 9], [1, 14, 5, 43, 22, 20, 24, 8]], [0, 1, 1, 0, 1, 0],
     [[1, 5, 16, 8], [1, 63, 7, 7, 12, 4], [1, 11, 30, 6, 6], [1, 18]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"num_words": 10},
     [[1, 8, 2, 2, 2, 2, 5], [1, 4, 2, 2, 2], [1, 2, 2, 2, 4, 2], [1, 2, 7], [1, 6, 2, 9],
      [1, 2, 5, 2, 2, 2, 2, 8]], [0, 1, 1, 0, 1, 0],
     [[1, 5, 2, 8], [1, 2, 7, 7, 2, 4], [1, 2, 2, 6, 6], [1, 2]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"skip_top": 4},
     [[2, 8, 28, 2, 46, 11, 5], [2, 4, 17, 25, 19], [2, 10, 10, 33, 4, 15], [2, 12, 7],
      [2, 6, 21, 9], [2, 14, 5, 43, 22, 20, 24, 8]], [0, 1, 1, 0, 1, 0],
     [[2, 5, 16, 8], [2, 63, 7, 7, 12, 4], [2, 11, 30, 6, 6], [2, 18]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"num_words": 12, "skip_top": 5, "oov_char": None},
     [[8, 11, 5], [], [10, 10], [7], [6, 9], [5, 8]], [0, 1, 1, 0, 1, 0],
     [[5, 8], [7, 7], [11, 6, 6], []], [0, 1, 0, 1], ["object", "int64", "object", "int64"]),
    # train and test filtered apart, as Keras after 2.2.4 (2.2.4 split the filtered reviews
    # at the unfiltered training size: [1, 5, 16, 8] and [1, 18] landed in x_train)
    ("imdb", {"maxlen": 5},
     [[1, 12, 7], [1, 6, 2, 9]], [0, 1], [[1, 5, 16, 8], [1, 18]], [0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"start_char": None, "index_from": 0},
     [[5, 25, 2, 43, 8, 2], [1, 14, 22, 16], [7, 7, 30, 1, 12], [9, 4], [3, 18, 6],
      [11, 2, 40, 19, 17, 21, 5]], [0, 1, 1, 0, 1, 0],
     [[2, 13, 5], [60, 4, 4, 9, 1], [8, 27, 3, 3], [15]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"start_char": None},
     [[8, 28, 2, 46, 11, 5], [4, 17, 25, 19], [10, 10, 33, 4, 15], [12, 7], [6, 21, 9],
      [14, 5, 43, 22, 20, 24, 8]], [0, 1, 1, 0, 1, 0],
     [[5, 16, 8], [63, 7, 7, 12, 4], [11, 30, 6, 6], [18]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"index_from": 10, "start_char": 7, "oov_char": 9, "num_words": 18},
     [[7, 15, 9, 9, 9, 9, 12], [7, 11, 9, 9, 9], [7, 17, 17, 9, 11, 9], [7, 9, 14],
      [7, 13, 9, 16], [7, 9, 12, 9, 9, 9, 9, 15]], [0, 1, 1, 0, 1, 0],
     [[7, 12, 9, 15], [7, 9, 14, 14, 9, 11], [7, 9, 9, 13, 13], [7, 9]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("imdb", {"seed": 7},
     [[1, 10, 10, 33, 4, 15], [1, 14, 5, 43, 22, 20, 24, 8], [1, 4, 17, 25, 19], [1, 12, 7],
      [1, 8, 28, 2, 46, 11, 5], [1, 6, 21, 9]], [1, 0, 1, 0, 0, 1],
     [[1, 11, 30, 6, 6], [1, 63, 7, 7, 12, 4], [1, 5, 16, 8], [1, 18]], [0, 1, 0, 1],
     ["object", "int64", "object", "int64"]),
    ("reuters", {},
     [[1, 19, 8, 7, 5, 28, 11, 4], [1, 5, 5], [1, 6, 6, 6, 10, 4], [1, 8, 9, 10],
      [1, 4, 5, 6, 7], [1, 12, 17, 5, 9], [1, 7, 2, 9, 4, 11, 6], [1, 4]],
     [3, 1, 19, 4, 3, 4, 45, 0],
     [[1, 15, 4, 12, 13, 34], [1, 23, 14]], [3, 3], ["object", "int64", "object", "int64"]),
    ("reuters", {"num_words": 8},
     [[1, 2, 2, 7, 5, 2, 2, 4], [1, 5, 5], [1, 6, 6, 6, 2, 4], [1, 2, 2, 2], [1, 4, 5, 6, 7],
      [1, 2, 2, 5, 2], [1, 7, 2, 2, 4, 2, 6], [1, 4]], [3, 1, 19, 4, 3, 4, 45, 0],
     [[1, 2, 4, 2, 2, 2], [1, 2, 2]], [3, 3], ["object", "int64", "object", "int64"]),
    ("reuters", {"test_split": 0.5, "seed": 1},
     [[1, 15, 4, 12, 13, 34], [1, 19, 8, 7, 5, 28, 11, 4], [1, 6, 6, 6, 10, 4],
      [1, 7, 2, 9, 4, 11, 6], [1, 4, 5, 6, 7]], [3, 3, 19, 45, 3],
     [[1, 5, 5], [1, 8, 9, 10], [1, 12, 17, 5, 9], [1, 4], [1, 23, 14]], [1, 4, 4, 0, 3],
     ["object", "int64", "object", "int64"]),
    # sequences of one length make a 2-D int array, as NumPy's np.array did for Keras 2.2.4
    ("reuters", {"maxlen": 5},
     [[1, 5, 5], [1, 8, 9, 10], [1, 4]], [1, 4, 0],
     [[1, 2, 14]], [3], ["object", "int64", "int64", "int64"]),
    ("reuters", {"skip_top": 4, "oov_char": None},
     [[19, 8, 7, 5, 28, 11, 4], [5, 5], [6, 6, 6, 10, 4], [8, 9, 10], [4, 5, 6, 7],
      [12, 17, 5, 9], [7, 9, 4, 11, 6], [4]], [3, 1, 19, 4, 3, 4, 45, 0],
     [[15, 4, 12, 13, 34], [23, 14]], [3, 3], ["object", "int64", "object", "int64"]),
    ("reuters", {"maxlen": 6, "num_words": 9, "start_char": None, "index_from": 2},
     [[4, 4], [5, 5, 5, 2, 3], [7, 8, 2], [3, 4, 5, 6], [2, 2, 4, 8], [3]],
     [1, 19, 4, 3, 4, 0],
     [[2, 3, 2, 2, 2], [2, 2]], [3, 3], ["object", "int64", "object", "int64"]),
]


@pytest.fixture
def text_datasets(datasets_dir, monkeypatch):
    files.write_imdb(datasets_dir)
    files.write_reuters(datasets_dir)
    for module, name in ((imdb, "imdb"), (reuters, "reuters")):
        accept_fixture(monkeypatch, module, os.path.join(datasets_dir, name + ".npz"))
        accept_fixture(monkeypatch, module,
                       os.path.join(datasets_dir, name + "_word_index.json"), "WORD_INDEX_HASH")
    return datasets_dir


@pytest.mark.parametrize("name,kwargs,x_train,y_train,x_test,y_test,dtypes", KERAS_224,
                         ids=[f"{case[0]}-{case[1]}" for case in KERAS_224])
def test_word_sequences_match_keras_224(text_datasets, name, kwargs, x_train, y_train, x_test,
                                        y_test, dtypes):
    module = {"imdb": imdb, "reuters": reuters}[name]
    (xtr, ytr), (xte, yte) = module.load_data(**kwargs)
    assert [str(a.dtype) for a in (xtr, ytr, xte, yte)] == dtypes
    assert [list(x) for x in xtr] == x_train and [list(x) for x in xte] == x_test
    assert ytr.tolist() == y_train and yte.tolist() == y_test
    for array in (xtr, xte):
        if array.dtype == object:
            assert array.ndim == 1 and all(type(x) is list for x in array)
            assert all(type(w) is int for x in array for w in x)


def test_imdb_order_is_numpys_global_shuffle_seeded_with_seed(text_datasets):
    """The algorithm behind the table: seed NumPy's global generator, shuffle the training
    indices, then the test indices; mark with start_char, shift by index_from; the largest id
    is out of vocabulary when num_words is None. Afterwards the global generator continues
    from there, as in Keras."""
    rng = numpy.random.RandomState(113)
    train_order, test_order = numpy.arange(6), numpy.arange(4)
    rng.shuffle(train_order)
    rng.shuffle(test_order)
    shifted = [[1] + [w + 3 for w in files.IMDB["x_train"][i]] for i in train_order]
    largest = max(max(x) for x in shifted + [[1] + [w + 3 for w in files.IMDB["x_test"][i]]
                                             for i in test_order])
    expected = [[w if w < largest else 2 for w in x] for x in shifted]
    (x_train, y_train), _ = imdb.load_data()
    assert [list(x) for x in x_train] == expected
    assert y_train.tolist() == [files.IMDB["y_train"][i] for i in train_order]
    assert numpy.random.random_sample() == rng.random_sample()


def test_imdb_maxlen_that_keeps_nothing_is_an_error(text_datasets):
    with pytest.raises(ValueError, match="After filtering for sequences shorter than maxlen=2, "
                       "no sequence was kept. Increase maxlen."):
        imdb.load_data(maxlen=2)


def test_reuters_maxlen_that_keeps_nothing_without_num_words_is_an_error(text_datasets):
    with pytest.raises(ValueError, match="maxlen filtered out every sequence"):
        reuters.load_data(maxlen=2)
    (x_train, _), (x_test, _) = reuters.load_data(maxlen=2, num_words=10)  # as Keras: empty
    assert x_train.shape == (0,) and x_test.shape == (0,)


def test_nb_words_is_keras1s_num_words_and_other_keywords_are_refused(text_datasets):
    with pytest.warns(UserWarning, match="renamed `num_words`"):
        (x_train, _), _ = imdb.load_data(nb_words=10)
    assert [list(x) for x in x_train] == KERAS_224[1][2]
    with pytest.raises(TypeError, match="Unrecognized keyword arguments: {'num_word': 10}"):
        reuters.load_data(num_word=10)


def test_word_indexes(text_datasets):
    assert imdb.get_word_index() == files.WORD_INDEX
    assert reuters.get_word_index() == files.WORD_INDEX


# ---- Boston housing ------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,y_train,y_test", [
    ({}, [27.5, 12.5, 20.0, 7.5, 5.0, 22.5, 15.0, 25.0], [10.0, 17.5]),
    ({"test_split": 0.3, "seed": 5}, [27.5, 17.5, 10.0, 15.0, 22.5, 7.5, 5.0],
     [25.0, 20.0, 12.5])])
def test_boston_housing_matches_keras_224(datasets_dir, monkeypatch, kwargs, y_train, y_test):
    files.write_boston(datasets_dir)
    accept_fixture(monkeypatch, boston_housing, os.path.join(datasets_dir, "boston_housing.npz"))
    (xtr, ytr), (xte, yte) = boston_housing.load_data(**kwargs)
    x, y = files.boston_arrays()
    assert ytr.tolist() == y_train and yte.tolist() == y_test
    rows = [int(v) for v in (numpy.concatenate([ytr, yte]) - 5.0) / 2.5]  # y[i] = 5 + 2.5 i
    numpy.testing.assert_array_equal(numpy.concatenate([xtr, xte]), x[rows])
    assert xtr.shape == (len(y_train), 13) and xtr.dtype == ytr.dtype == numpy.float64


def test_boston_housing_refuses_a_test_split_outside_0_1():
    with pytest.raises(ValueError, match=r"test_split must be in \[0, 1\). Received: "
                       "test_split=1.0"):
        boston_housing.load_data(test_split=1.0)


# ---- Loading never runs code ---------------------------------------------------------------

class RunsACommand:
    """What a malicious pickle does: ask the loader to call os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_cifar_batch_that_calls_os_system_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": RunsACommand(marker)}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"refused to load 'posix.system'.*never "
                       "arbitrary objects"):
        load_batch(str(path))
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the control: a plain pickle.load does run it
    assert marker.exists()


def npy_bytes(array):
    buffer = io.BytesIO()
    numpy.save(buffer, array)
    return buffer.getvalue()


def npy_with_payload(payload, shape=(2,)):
    """A .npy member announcing an object array, followed by ``payload`` (a pickle)."""
    header = io.BytesIO()
    numpy.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": shape})
    return header.getvalue() + payload


def test_an_npz_object_array_that_calls_os_system_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "imdb.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x_train.npy", npy_with_payload(pickle.dumps(RunsACommand(marker), 3)))
    with pytest.raises(pickle.UnpicklingError, match=r"imdb.npz \(x_train.npy\): refused to "
                       "load 'posix.system'"):
        load_npz(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("payload,refused", [
    (b"cbuiltins\neval\n(V1+1\ntR.", "builtins.eval"),
    (b"cbuiltins\ngetattr\n(cbuiltins\nlist\nVappend\ntR.", "builtins.getattr"),
    (b"ccopyreg\n_reconstructor\n.", "copyreg._reconstructor"),
    (b"cnumpy\nload\n.", "numpy.load")])
def test_only_arrays_and_plain_values_are_rebuilt(payload, refused):
    with pytest.raises(pickle.UnpicklingError, match=f"refused to load '{refused}'"):
        restricted_load(io.BytesIO(payload), "file.pkl")


def test_codecs_encode_only_rebuilds_latin1_bytes():
    assert restricted_load(io.BytesIO(pickle.dumps(b"\xff\x00", protocol=2)), "f") == b"\xff\x00"
    with pytest.raises(pickle.UnpicklingError, match="only 'latin1' rebuilds bytes"):
        restricted_load(io.BytesIO(b"c_codecs\nencode\n(Vx\nVrot13\ntR."), "f")


def test_npz_object_arrays_from_python2_and_python3_both_load(tmp_path):
    lists = files.object_array([[1, 2, 3], [4]])
    path = tmp_path / "both.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("py2.npy", npy_with_payload(files.py2_pickle(lists)))
        archive.writestr("py3.npy", npy_with_payload(pickle.dumps(lists, protocol=3)))
        archive.writestr("ints.npy", npy_bytes(numpy.arange(3)))
    arrays = load_npz(str(path))
    assert [list(x) for x in arrays["py2"]] == [[1, 2, 3], [4]] == [list(x) for x in
                                                                     arrays["py3"]]
    assert arrays["ints"].tolist() == [0, 1, 2]


def test_an_object_payload_that_is_not_the_announced_array_is_refused(tmp_path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", npy_with_payload(pickle.dumps([1, 2], protocol=3)))
    with pytest.raises(ValueError, match=r"odd.npz \(x.npy\): the pickled payload is not the "
                       r"\(2,\) array its header announces"):
        load_npz(str(path))
