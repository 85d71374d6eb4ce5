"""Small files in exactly the formats of Keras's dataset cache, for tests and nothing else.

CIFAR's python batches were written by Python 2's cPickle (protocol 2) with NumPy 1.x: every
string is a Python 2 ``str`` (the SHORT_BINSTRING/BINSTRING opcodes, read back as ``bytes``
with ``encoding='bytes'``), and arrays are rebuilt by ``numpy.core.multiarray._reconstruct``.
``py2_pickle`` writes such files from Python 3.
"""
import gzip
import io
import json
import os
import pickle
import struct
import tarfile

import numpy

_RECONSTRUCT = numpy.empty(0).__reduce__()[0]
_PY2_GLOBALS = {id(_RECONSTRUCT): "numpy.core.multiarray\n_reconstruct\n",
                id(numpy.ndarray): "numpy\nndarray\n", id(numpy.dtype): "numpy\ndtype\n"}


class _Py2Pickler(pickle._Pickler):
    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str

    def save_global(self, obj, name=None):
        if id(obj) in _PY2_GLOBALS:
            self.write(pickle.GLOBAL + _PY2_GLOBALS[id(obj)].encode("ascii"))
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def py2_pickle(obj):
    """``obj`` pickled as Python 2's cPickle at protocol 2 wrote it."""
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def datasets_dir(keras_home):
    path = os.path.join(keras_home, "datasets")
    os.makedirs(path, exist_ok=True)
    return path


def write_npz(path, **arrays):
    # numpy.savez pickles object arrays (protocol 3), as the real imdb/reuters files hold
    numpy.savez(path, **arrays)
    return path


def object_array(lists):
    out = numpy.empty(len(lists), dtype=object)
    for i, x in enumerate(lists):
        out[i] = list(x)
    return out


def write_idx_gz(path, array):
    """An MNIST-style gzipped IDX file: magic (0, 0, uint8 code 8, ndim), big-endian sizes."""
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "i" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(numpy.uint8).tobytes())


def cifar_batch(data, labels, label_key="labels", **extra):
    """A CIFAR batch dict: bytes keys (Python 2 str), data ``(n, 3072)`` uint8."""
    batch = {b"batch_label": b"training batch 1 of 5",
             b"data": numpy.ascontiguousarray(data.reshape(len(data), 3072), numpy.uint8),
             label_key.encode(): [int(v) for v in labels],
             b"filenames": [b"img_%d.png" % i for i in range(len(data))]}
    batch.update({k.encode(): v for k, v in extra.items()})
    return batch


def write_tar_gz(path, members):
    """``members``: ``{name inside the archive: bytes}``."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f)
    return path


# Tiny stand-ins for the real files' contents: word ids start at 1 (1 = most frequent word).
IMDB = {
    "x_train": [[1, 14, 22, 16], [5, 25, 100, 43, 8, 2], [9, 4], [7, 7, 30, 1, 12],
                [3, 18, 6], [11, 2, 40, 19, 17, 21, 5]],
    "y_train": [1, 0, 0, 1, 1, 0],
    "x_test": [[2, 13, 5], [60, 4, 4, 9, 1], [15], [8, 27, 3, 3]],
    "y_test": [0, 1, 1, 0],
}
REUTERS = {
    "x": [[1, 2, 3, 4], [5, 6, 7], [12, 1, 9, 10, 31], [2, 2], [4, 50, 6, 1, 8, 3],
          [20, 11], [3, 3, 3, 7, 1], [9, 14, 2, 6], [1], [16, 5, 4, 2, 25, 8, 1]],
    "y": [3, 4, 3, 1, 45, 3, 19, 4, 0, 3],
}
WORD_INDEX = {"the": 1, "and": 2, "a": 3, "of": 4, "to": 5}


def write_imdb(directory):
    write_npz(os.path.join(directory, "imdb.npz"),
              x_train=object_array(IMDB["x_train"]), y_train=numpy.array(IMDB["y_train"]),
              x_test=object_array(IMDB["x_test"]), y_test=numpy.array(IMDB["y_test"]))
    write_json(os.path.join(directory, "imdb_word_index.json"), WORD_INDEX)


def write_reuters(directory):
    write_npz(os.path.join(directory, "reuters.npz"),
              x=object_array(REUTERS["x"]), y=numpy.array(REUTERS["y"]))
    write_json(os.path.join(directory, "reuters_word_index.json"), WORD_INDEX)


def boston_arrays():
    x = numpy.arange(10 * 13, dtype=numpy.float64).reshape(10, 13) / 8.0
    y = numpy.arange(10, dtype=numpy.float64) * 2.5 + 5.0
    return x, y


def write_boston(directory):
    x, y = boston_arrays()
    write_npz(os.path.join(directory, "boston_housing.npz"), x=x, y=y)
