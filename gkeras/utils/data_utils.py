"""Keras 2's ``keras.utils.data_utils``: ``get_file`` (download once, cache, verify, extract)
and ``validate_file``.

Files live in ``<cache_dir>/<cache_subdir>/<fname>``; ``cache_dir`` defaults to
``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when that is not writable). A download
goes to a temporary file in the cache directory, is checked against ``file_hash``, and only
then renamed into place, so an interrupted or corrupt download never sits in the cache.
Archives are checked member by member (nothing may land outside the target directory) and
unpacked into a temporary directory before being moved into place.
"""
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import uuid
import zipfile

from .. import config
from .progbar import Progbar
# Keras 2's keras.utils.data_utils also held these:
from .enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer  # noqa: F401
from .sequence import Sequence  # noqa: F401

# The function that opens URLs; tests replace it so that nothing touches the network.
urlopen = urllib.request.urlopen

_CHUNK_SIZE = 8192


class DownloadError(OSError):
    """``get_file`` could not fetch a file that is not in the cache."""


def _hash_algorithm(file_hash, algorithm):
    if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64):
        return "sha256"
    if algorithm in ("md5", "auto"):
        return "md5"
    raise ValueError(f"get_file: hash_algorithm must be 'md5', 'sha256' or 'auto'. "
                     f"Received: hash_algorithm={algorithm!r}")


def _hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The hex digest of the file at ``fpath``: ``'sha256'``, or ``'md5'``."""
    hasher = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether the file at ``fpath`` has hash ``file_hash``.

    Args:
        fpath: path of the file to check.
        file_hash: the expected sha256 or md5 hex digest.
        algorithm: ``'sha256'``, ``'md5'`` or ``'auto'`` (sha256 for a 64-character hash,
            md5 otherwise).
        chunk_size: bytes read at a time.
    """
    hasher = _hash_algorithm(str(file_hash), algorithm)
    return _hash_file(fpath, hasher, chunk_size) == str(file_hash)


def _cache_root(cache_dir):
    base = os.path.expanduser(cache_dir if cache_dir is not None else config.keras_home())
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return base


def _inside(root, name):
    root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def _checked_tar_members(archive, file_path, path):
    members = archive.getmembers()
    for member in members:
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"{file_path}: refused to extract {member.name!r}: only regular "
                             "files and directories are extracted (not links or devices).")
        if not _inside(path, member.name):
            raise ValueError(f"{file_path}: refused to extract {member.name!r}: it would be "
                             f"written outside {path}.")
    return members


def _checked_zip_members(archive, file_path, path):
    names = archive.namelist()
    for name in names:
        if os.path.isabs(name) or not _inside(path, name):
            raise ValueError(f"{file_path}: refused to extract {name!r}: it would be written "
                             f"outside {path}.")
    return names


def _move_into(source_dir, target_dir):
    """Move the contents of ``source_dir`` into ``target_dir``: new entries in one rename,
    existing directories merged, existing files replaced (as extracting over them would)."""
    for name in os.listdir(source_dir):
        source, target = os.path.join(source_dir, name), os.path.join(target_dir, name)
        if os.path.isdir(source) and os.path.isdir(target):
            _move_into(source, target)
        else:
            os.replace(source, target)


def _archive_types(archive_format):
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    if isinstance(archive_format, str):
        return [archive_format]
    return list(archive_format)


def _extract_archive(file_path, path=".", archive_format="auto"):
    """Extract the tar (plain, gz, bz2, xz) or zip archive at ``file_path`` into ``path``.

    Returns True if the file matched one of ``archive_format`` (``'auto'`` = tar then zip,
    ``'tar'``, ``'zip'``, a list of these, or None) and was extracted, False otherwise.
    Raises ValueError, before writing anything, if a member would land outside ``path``.
    """
    for archive_type in _archive_types(archive_format):
        if archive_type == "tar" and tarfile.is_tarfile(file_path):
            opener, checker = tarfile.open, _checked_tar_members
        elif archive_type == "zip" and zipfile.is_zipfile(file_path):
            opener, checker = zipfile.ZipFile, _checked_zip_members
        elif archive_type in ("tar", "zip"):
            continue
        else:
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip', a list of these or "
                             f"None. Received: {archive_format!r}")
        os.makedirs(path, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".extracting-", dir=path)
        try:
            with opener(file_path) as archive:
                members = checker(archive, file_path, path)
                # the standard library's own tar checks too, where this Python has them
                extra = {"filter": "data"} if opener is tarfile.open and \
                    hasattr(tarfile, "data_filter") else {}
                archive.extractall(staging, members, **extra)
            _move_into(staging, path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return True
    return False


def _download(origin, fpath, file_hash, hash_algorithm):
    """Fetch ``origin`` into ``fpath`` through a temporary file, checking ``file_hash``."""
    print("Downloading data from", origin)
    os.makedirs(os.path.dirname(fpath), exist_ok=True)
    # a unique name next to the target (one file system: the final rename is atomic), created
    # with the usual permissions (mkstemp's would be owner-only)
    partial = f"{fpath}.{uuid.uuid4().hex[:12]}.part"
    try:
        with open(partial, "xb") as out, urlopen(origin) as response:
            length = response.headers.get("Content-Length") if response.headers else None
            progbar = Progbar(int(length) if length else None)
            received = 0
            for chunk in iter(lambda: response.read(_CHUNK_SIZE), b""):
                out.write(chunk)
                received += len(chunk)
                progbar.update(received)
            if received != progbar.target:  # the bar finalizes itself on reaching its target
                progbar.update(received, finalize=True)
        if file_hash is not None:
            algorithm = _hash_algorithm(str(file_hash), hash_algorithm)
            actual = _hash_file(partial, algorithm)
            if actual != str(file_hash):
                raise ValueError(
                    f"The file downloaded from {origin} is incomplete or corrupted: its "
                    f"{algorithm} hash is {actual}, expected {file_hash}. Nothing was written "
                    f"to {fpath}.")
        os.replace(partial, fpath)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _offline_help(fname, origin, fpath, extracted, file_hash):
    where = f"put the file at {fpath}"
    if extracted:
        where += f" (or its extracted contents at {extracted})"
    check = f" Its expected hash is {file_hash}." if file_hash else ""
    return (f"Could not download {os.path.basename(fname)!r} from {origin}. To use it offline, "
            f"download it elsewhere and {where}; get_file then uses it without any network "
            f"access.{check}")


def get_file(fname, origin, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None):
    """Download a file from a URL unless it is already in the cache; return its path.

    The file goes to ``<cache_dir>/<cache_subdir>/<fname>`` (e.g.
    ``~/.keras/datasets/example.txt``). An absolute ``fname`` or ``cache_subdir`` is used as
    given.

    Args:
        fname: name of the file (an absolute path: the file is stored there).
        origin: the URL of the file (``file://`` URLs work too).
        untar: deprecated in favor of ``extract``: the download is ``fname + '.tar.gz'``,
            extracted into the cache; the returned path is ``<cache>/<fname>``.
        md5_hash: deprecated in favor of ``file_hash``: the file's md5 hash.
        file_hash: the expected sha256 or md5 hash of the file. A cached file that does not
            match is downloaded again; a download that does not match is an error.
        cache_subdir: subdirectory of the cache directory (an absolute path: used as is).
        hash_algorithm: ``'md5'``, ``'sha256'`` or ``'auto'`` (by the hash's length).
        extract: whether to extract the file as a tar or zip archive next to it.
        archive_format: ``'auto'`` (tar, then zip), ``'tar'``, ``'zip'``, a list, or None.
        cache_dir: the cache directory; default ``$KERAS_HOME``, else ``~/.keras`` (falling
            back to ``/tmp/.keras`` when not writable).

    Returns:
        The path of the file (with ``untar``: of the extracted directory).
    """
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if file_hash is not None:
        _hash_algorithm(str(file_hash), hash_algorithm)
    datadir = os.path.join(_cache_root(cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    extracted = None
    if untar:
        extracted = os.path.join(datadir, fname)
        fpath = extracted + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)

    download = not os.path.exists(fpath)
    if untar and os.path.exists(extracted):
        download = False  # already extracted: the archive is no longer needed
    elif not download and file_hash is not None and \
            not validate_file(fpath, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{_hash_algorithm(str(file_hash), hash_algorithm)} file hash does not match the "
              f"original value of {file_hash} so we will re-download the data.")
        download = True

    if download:
        try:
            _download(origin, fpath, file_hash, hash_algorithm)
        except urllib.error.HTTPError as e:
            raise DownloadError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}. "
                                + _offline_help(fname, origin, fpath, extracted, file_hash)
                                ) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", None) or e
            raise DownloadError(f"URL fetch failure on {origin}: {reason}. "
                                + _offline_help(fname, origin, fpath, extracted, file_hash)
                                ) from None

    if untar:
        if not os.path.exists(extracted):
            _extract_archive(fpath, datadir, archive_format="tar")
        return extracted
    if extract:
        _extract_archive(fpath, datadir, archive_format)
    return fpath
