"""Reading pickled data files without running code.

The classic datasets ship as pickles (CIFAR's python batches) or as ``.npz`` archives holding
object arrays, which are pickles too (IMDB's and Reuters' lists of word ids). A plain
``pickle.load`` runs whatever function the file names; ``restricted_load`` only rebuilds NumPy
arrays, dtypes, NumPy scalars and plain Python containers, and refuses every other global with
an error naming it, before anything is called.
"""
import codecs
import io
import pickle
import zipfile

import numpy
import numpy.lib.format as npy_format

_RECONSTRUCT = numpy.empty(0).__reduce__()[0]  # numpy's ndarray reconstructor
_SCALAR = numpy.int64(0).__reduce__()[0]  # numpy's scalar reconstructor


def _latin1_encode(text, encoding):
    # Python 3 writes ``bytes`` at pickle protocol 2 as a call ``_codecs.encode(text, 'latin1')``
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(
            f"refused _codecs.encode with encoding {encoding!r}: only 'latin1' rebuilds bytes.")
    return codecs.encode(text, "latin1")


_NUMPY_CORE = ("numpy.core.multiarray", "numpy._core.multiarray")
_ALLOWED = {
    **{(module, "_reconstruct"): _RECONSTRUCT for module in _NUMPY_CORE},
    **{(module, "scalar"): _SCALAR for module in _NUMPY_CORE},
    ("numpy", "ndarray"): numpy.ndarray,
    ("numpy", "dtype"): numpy.dtype,
    ("_codecs", "encode"): _latin1_encode,
    # plain containers and numbers (Python 2 files name the builtins module ``__builtin__``)
    **{(module, cls.__name__): cls
       for module in ("builtins", "__builtin__")
       for cls in (list, dict, tuple, set, frozenset, bytes, bytearray, str, int, float,
                   complex, bool)},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source, encoding):
        super().__init__(file, encoding=encoding)
        self._source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"{self._source}: refused to load '{module}.{name}'. This file asks to run "
                "code that a data file does not need; gkeras only rebuilds NumPy arrays and "
                "plain Python values from pickled data, never arbitrary objects.") from None


def restricted_load(file, source, encoding="ASCII"):
    """Unpickle ``file`` (an open binary file) allowing only NumPy arrays, dtypes, NumPy
    scalars and builtin values. ``source`` names the file in errors; ``encoding`` decodes
    Python 2 strings as in ``pickle.load`` (``'bytes'`` keeps them as bytes)."""
    return _RestrictedUnpickler(file, source, encoding).load()


def _read_npy(file, source):
    version = npy_format.read_magic(file)
    if version == (1, 0):
        shape, fortran_order, dtype = npy_format.read_array_header_1_0(file)
    elif version == (2, 0):
        shape, fortran_order, dtype = npy_format.read_array_header_2_0(file)
    else:
        raise ValueError(f"{source}: unsupported .npy format version {version}.")
    if not dtype.hasobject:
        file.seek(0)
        return npy_format.read_array(file, allow_pickle=False)
    # object arrays are stored as a pickle of the whole array (latin1: Python 2 era files)
    array = restricted_load(file, source, encoding="latin1")
    if not isinstance(array, numpy.ndarray) or array.shape != tuple(shape):
        raise ValueError(f"{source}: the pickled payload is not the {tuple(shape)} array its "
                         "header announces.")
    return array


def load_npz(path):
    """``{name: array}`` of the ``.npy`` members of the ``.npz`` archive at ``path``; object
    arrays are read with ``restricted_load`` (like ``numpy.load(allow_pickle=True)``, but no
    code runs)."""
    with zipfile.ZipFile(path) as archive:
        out = {}
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as raw:
                # a seekable in-memory copy: the header readers need to rewind
                out[member[:-len(".npy")]] = _read_npy(io.BytesIO(raw.read()),
                                                       f"{path} ({member})")
        return out
