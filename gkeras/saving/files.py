"""File helpers shared by the savers: name checks, opening HDF5 files with clear errors,
atomic writes (temporary file, flush, rename) and HDF5 name-list attributes."""
import contextlib
import os
import secrets

import h5py
import numpy


def _check_h5_name(filepath, what):
    name = os.fspath(filepath)
    if not name.endswith((".h5", ".hdf5")):
        raise ValueError(f"{what}: the file name must end in .h5, .weights.h5 or .hdf5 (HDF5) "
                         f"or, for whole models, .keras (zip archive); received {name!r}.")
    return name


def _is_keras3_weights_name(name):
    return name.endswith(".weights.h5")


def _open_hdf5(filepath, what):
    name = os.fspath(filepath)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{what}: no such file: {name!r}.")
    if not h5py.is_hdf5(name):
        raise ValueError(f"{what}: {name!r} is not an HDF5 file (expected an HDF5 file "
                         "written by save/save_weights, or a '.keras' zip archive).")
    return h5py.File(name, "r")


@contextlib.contextmanager
def naming_file(filepath, what, expected="a Keras HDF5 file"):
    """Errors met while reading ``filepath`` name it: a mismatch (``ValueError``) gets the file
    name in front; a damaged or truncated file (``OSError``/``KeyError`` from h5py) becomes a
    ``ValueError`` that says what was expected."""
    name = os.fspath(filepath)
    try:
        yield
    except FileNotFoundError:
        raise
    except ValueError as e:
        if repr(name) in str(e):
            raise
        raise ValueError(f"{what}: {name!r}: {e}") from None
    except (OSError, KeyError) as e:
        raise ValueError(f"{what}: {name!r} is damaged or truncated ({e}); expected "
                         f"{expected}.") from None


def _new_temporary_file(directory):
    """An empty, uniquely named file in ``directory`` with the umask's permissions (mkstemp's
    0600 would carry over to the saved file)."""
    while True:
        path = os.path.join(directory, f".gkeras-{secrets.token_hex(8)}.h5.tmp")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def _fsync(path):
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(filepath, overwrite):
    """A temporary path next to ``filepath`` to write; on success it is flushed to disk and
    renamed over ``filepath``, on failure removed, so the previous file is never damaged."""
    filepath = os.fspath(filepath)
    if os.path.exists(filepath) and not overwrite:
        raise FileExistsError(f"{filepath} exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: the directory {directory!r} "
                                "does not exist.")
    tmp = _new_temporary_file(directory)
    try:
        yield tmp
        _fsync(tmp)  # on disk before the rename: a crash never leaves a truncated file
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_write(filepath, overwrite, write):
    with atomic_path(filepath, overwrite) as tmp:
        with h5py.File(tmp, "w") as f:
            write(f)


def _decode(values):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _text(raw):
    return raw.decode("utf8") if isinstance(raw, bytes) else str(raw)


def _shapes(arrays):
    return [tuple(a.shape) for a in arrays]


# HDF5 refuses attributes over 64 KiB: Keras splits a long name list into `name0`, `name1`, ...
_HDF5_ATTRIBUTE_LIMIT = 64512


def _write_names(group, key, names):
    data = numpy.array([n.encode("utf8") for n in names])
    chunks = 1
    while data.nbytes / chunks > _HDF5_ATTRIBUTE_LIMIT:
        chunks += 1
    if chunks == 1:
        group.attrs[key] = data
    else:
        for i, part in enumerate(numpy.array_split(data, chunks)):
            group.attrs[f"{key}{i}"] = part


def _read_names(group, key):
    if key in group.attrs:
        return _decode(group.attrs[key])
    names, i = [], 0
    while f"{key}{i}" in group.attrs:
        names += _decode(group.attrs[f"{key}{i}"])
        i += 1
    return names
