"""get_file: Keras 2.2.4's cache layout and arguments, hash checks, downloads that never leave a
partial file, the offline error, and extraction that never writes outside its directory.
Nothing here touches the network: ``data_utils.urlopen`` is replaced by a fake server."""
import hashlib
import io
import os
import tarfile
import urllib.error
import zipfile

import pytest

import gkeras
from gkeras.utils import data_utils
from gkeras.utils.data_utils import DownloadError, get_file, validate_file

from dataset_files import write_tar_gz

PAYLOAD = b"gkeras get_file test payload\n" * 1000  # 29,000 bytes: several 8 KiB chunks
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()
URL = "https://example.invalid/files/data.bin"


class FakeResponse:
    def __init__(self, data, fail_after=None):
        self._data = io.BytesIO(data)
        self._fail_after = fail_after
        self.headers = {"Content-Length": str(len(data))}

    def read(self, size):
        if self._fail_after is not None and self._data.tell() >= self._fail_after:
            raise ConnectionResetError("connection reset by peer")
        return self._data.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class FakeServer:
    """Serves ``files`` ({url: bytes}); records the URLs asked for."""

    def __init__(self, files=None, fail_after=None):
        self.files = dict(files or {})
        self.requests = []
        self.fail_after = fail_after

    def __call__(self, url):
        self.requests.append(url)
        if url not in self.files:
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
        return FakeResponse(self.files[url], self.fail_after)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty KERAS_HOME, and no network: any download attempt fails like an offline host."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(data_utils, "urlopen", FakeServer())
    return tmp_path / "keras_home"


def serve(monkeypatch, files, **kwargs):
    server = FakeServer(files, **kwargs)
    monkeypatch.setattr(data_utils, "urlopen", server)
    return server


def cache_listing(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def test_keras2_module_paths():
    assert gkeras.utils.get_file is gkeras.utils.data_utils.get_file
    assert gkeras.utils.data_utils.validate_file is validate_file
    assert gkeras.utils.data_utils.Sequence is gkeras.utils.Sequence


def test_download_lands_in_keras_home_datasets_with_a_progress_bar(home, monkeypatch, capsys):
    server = serve(monkeypatch, {URL: PAYLOAD})
    path = get_file("data.bin", origin=URL, file_hash=PAYLOAD_SHA256)
    assert path == os.path.join(str(home), "datasets", "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    out = capsys.readouterr().out
    assert out.startswith(f"Downloading data from {URL}\n")
    assert out.count("29000/29000 [==============================]") == 1
    assert cache_listing(home / "datasets") == ["data.bin"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not a temp file's owner-only mode
    # cached now: no second request, even with the network gone
    monkeypatch.setattr(data_utils, "urlopen", FakeServer())
    assert get_file("data.bin", origin=URL, file_hash=PAYLOAD_SHA256) == path
    assert server.requests == [URL]


def test_cache_dir_cache_subdir_and_absolute_fname(home, tmp_path, monkeypatch):
    serve(monkeypatch, {URL: PAYLOAD})
    path = get_file("a.bin", URL, cache_dir=str(tmp_path / "cache"), cache_subdir="models")
    assert path == str(tmp_path / "cache" / "models" / "a.bin")
    path = get_file("b.bin", URL, cache_subdir=str(tmp_path / "absolute_subdir"))
    assert path == str(tmp_path / "absolute_subdir" / "b.bin")
    path = get_file(str(tmp_path / "elsewhere" / "c.bin"), URL)
    assert path == str(tmp_path / "elsewhere" / "c.bin")
    for name in (tmp_path / "cache" / "models" / "a.bin", tmp_path / "absolute_subdir" / "b.bin",
                 tmp_path / "elsewhere" / "c.bin"):
        assert name.read_bytes() == PAYLOAD


def test_default_cache_is_home_dot_keras_without_keras_home(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    serve(monkeypatch, {URL: PAYLOAD})
    assert get_file("data.bin", URL) == str(tmp_path / ".keras" / "datasets" / "data.bin")


def test_unwritable_cache_dir_falls_back_to_tmp_dot_keras(tmp_path, monkeypatch):
    locked = str(tmp_path / "locked")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: p != locked and real_access(p, mode))
    assert data_utils._cache_root(locked) == os.path.join("/tmp", ".keras")
    assert data_utils._cache_root(str(tmp_path / "open")) == str(tmp_path / "open")


def test_validate_file_picks_the_algorithm_by_hash_length(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert data_utils._hash_file(str(path)) == PAYLOAD_SHA256
    assert data_utils._hash_file(str(path), "md5", chunk_size=1000) == PAYLOAD_MD5
    assert validate_file(str(path), PAYLOAD_SHA256)
    assert validate_file(str(path), PAYLOAD_MD5)
    assert validate_file(str(path), PAYLOAD_SHA256, algorithm="sha256")
    assert validate_file(str(path), PAYLOAD_MD5, algorithm="md5")
    assert not validate_file(str(path), PAYLOAD_MD5, algorithm="sha256")
    assert not validate_file(str(path), "0" * 64)
    assert not validate_file(str(path), "0" * 32)
    with pytest.raises(ValueError, match="hash_algorithm must be 'md5', 'sha256' or 'auto'"):
        validate_file(str(path), PAYLOAD_MD5, algorithm="sha1")


def test_outdated_cached_file_is_downloaded_again(home, monkeypatch, capsys):
    stale = home / "datasets" / "data.bin"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an older version")
    server = serve(monkeypatch, {URL: PAYLOAD})
    path = get_file("data.bin", URL, md5_hash=PAYLOAD_MD5)  # Keras 1's argument: md5
    assert stale.read_bytes() == PAYLOAD and path == str(stale)
    assert server.requests == [URL]
    out = capsys.readouterr().out
    assert ("A local file was found, but it seems to be incomplete or outdated because the md5 "
            f"file hash does not match the original value of {PAYLOAD_MD5} so we will "
            "re-download the data.") in out


def test_corrupt_download_is_an_error_and_leaves_the_cache_untouched(home, monkeypatch):
    serve(monkeypatch, {URL: PAYLOAD[:-1]})
    with pytest.raises(ValueError) as info:
        get_file("data.bin", URL, file_hash=PAYLOAD_SHA256)
    message = str(info.value)
    assert f"downloaded from {URL} is incomplete or corrupted" in message
    assert f"sha256 hash is {hashlib.sha256(PAYLOAD[:-1]).hexdigest()}" in message
    assert f"expected {PAYLOAD_SHA256}" in message
    assert cache_listing(home / "datasets") == []


def test_interrupted_download_leaves_no_partial_file(home, monkeypatch):
    serve(monkeypatch, {URL: PAYLOAD}, fail_after=16384)
    with pytest.raises(DownloadError, match="connection reset by peer"):
        get_file("data.bin", URL)
    assert cache_listing(home / "datasets") == []


def test_offline_error_names_the_file_the_url_and_where_to_put_it(home):
    with pytest.raises(DownloadError) as info:
        get_file("mnist.npz", origin="https://s3.amazonaws.com/img-datasets/mnist.npz",
                 file_hash="8a61469f7ea1b51cbae51d4f78837e45")
    expected_path = os.path.join(str(home), "datasets", "mnist.npz")
    assert str(info.value) == (
        "URL fetch failure on https://s3.amazonaws.com/img-datasets/mnist.npz: [Errno -3] "
        "Temporary failure in name resolution. Could not download 'mnist.npz' from "
        "https://s3.amazonaws.com/img-datasets/mnist.npz. To use it offline, download it "
        f"elsewhere and put the file at {expected_path}; get_file then uses it without any "
        "network access. Its expected hash is 8a61469f7ea1b51cbae51d4f78837e45.")
    assert isinstance(info.value, OSError)
    assert cache_listing(home / "datasets") == []


def test_offline_error_for_an_archive_names_the_extracted_directory_too(home):
    with pytest.raises(DownloadError) as info:
        get_file("cifar-10-batches-py", origin="https://www.cs.toronto.edu/~kriz/x.tar.gz",
                 untar=True)
    datadir = os.path.join(str(home), "datasets")
    assert (f"put the file at {os.path.join(datadir, 'cifar-10-batches-py.tar.gz')} (or its "
            f"extracted contents at {os.path.join(datadir, 'cifar-10-batches-py')})"
            ) in str(info.value)


def test_http_error_reports_the_status(home, monkeypatch):
    def not_found(url):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
    monkeypatch.setattr(data_utils, "urlopen", not_found)
    with pytest.raises(DownloadError, match=f"URL fetch failure on {URL}: 404 -- Not Found"):
        get_file("data.bin", URL)


def test_file_url_origin_works_without_a_network(home, tmp_path, monkeypatch):
    source = tmp_path / "source.bin"
    source.write_bytes(PAYLOAD)
    monkeypatch.setattr(data_utils, "urlopen", data_utils.urllib.request.urlopen)  # the real one
    path = get_file("copy.bin", origin=source.as_uri(), file_hash=PAYLOAD_MD5)
    assert open(path, "rb").read() == PAYLOAD


def tar_bytes(tmp_path, members):
    return open(write_tar_gz(str(tmp_path / "archive.tar.gz"), members), "rb").read()


def test_untar_extracts_once_and_returns_the_directory(home, tmp_path, monkeypatch):
    archive = tar_bytes(tmp_path, {"pack/a.txt": b"alpha", "pack/sub/b.txt": b"beta"})
    server = serve(monkeypatch, {URL: archive})
    path = get_file("pack", origin=URL, untar=True)
    assert path == os.path.join(str(home), "datasets", "pack")
    assert open(os.path.join(path, "a.txt"), "rb").read() == b"alpha"
    assert open(os.path.join(path, "sub", "b.txt"), "rb").read() == b"beta"
    assert cache_listing(home / "datasets") == ["pack", "pack.tar.gz"]  # no staging dir left
    os.remove(os.path.join(path, "a.txt"))  # not extracted again while the directory exists
    assert get_file("pack", origin=URL, untar=True) == path
    assert not os.path.exists(os.path.join(path, "a.txt")) and server.requests == [URL]


def test_untar_uses_an_extracted_directory_without_its_archive(home):
    extracted = home / "datasets" / "pack"
    extracted.mkdir(parents=True)
    assert get_file("pack", origin=URL, untar=True) == str(extracted)


@pytest.mark.parametrize("kind", ["tar", "zip"])
def test_extract_unpacks_next_to_the_archive(home, tmp_path, monkeypatch, kind):
    if kind == "tar":
        data = tar_bytes(tmp_path, {"d/x.txt": b"x", "y.txt": b"y"})
    else:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("d/x.txt", b"x")
            archive.writestr("y.txt", b"y")
        data = buffer.getvalue()
    serve(monkeypatch, {URL: data})
    path = get_file("bundle", origin=URL, extract=True)
    assert path == os.path.join(str(home), "datasets", "bundle")
    assert (home / "datasets" / "d" / "x.txt").read_bytes() == b"x"
    assert (home / "datasets" / "y.txt").read_bytes() == b"y"


def test_archive_format_chooses_what_is_extracted(tmp_path):
    archive = write_tar_gz(str(tmp_path / "a.tar.gz"), {"x.txt": b"x"})
    assert not data_utils._extract_archive(archive, str(tmp_path / "out"), "zip")
    assert not data_utils._extract_archive(archive, str(tmp_path / "out"), None)
    assert not os.path.exists(tmp_path / "out")
    assert data_utils._extract_archive(archive, str(tmp_path / "out"), ["zip", "tar"])
    assert (tmp_path / "out" / "x.txt").read_bytes() == b"x"
    with pytest.raises(ValueError, match="archive_format must be"):
        data_utils._extract_archive(archive, str(tmp_path / "out"), "rar")


def test_extracting_over_existing_files_replaces_them_and_keeps_the_rest(tmp_path):
    out = tmp_path / "out"
    (out / "d").mkdir(parents=True)
    (out / "d" / "x.txt").write_bytes(b"old")
    (out / "d" / "keep.txt").write_bytes(b"keep")
    archive = write_tar_gz(str(tmp_path / "a.tar.gz"), {"d/x.txt": b"new"})
    assert data_utils._extract_archive(archive, str(out))
    assert (out / "d" / "x.txt").read_bytes() == b"new"
    assert (out / "d" / "keep.txt").read_bytes() == b"keep"


@pytest.mark.parametrize("member", ["../escape.txt", "d/../../escape.txt", "/tmp/escape.txt"])
def test_tar_members_outside_the_target_are_refused_before_anything_is_written(tmp_path,
                                                                                member):
    archive = write_tar_gz(str(tmp_path / "evil.tar.gz"), {"ok.txt": b"ok", member: b"boo"})
    out = tmp_path / "a" / "out"
    with pytest.raises(ValueError, match="refused to extract .*escape.txt.*outside"):
        data_utils._extract_archive(archive, str(out))
    assert cache_listing(out) == [] and not os.path.exists(tmp_path / "a" / "escape.txt")


def test_tar_links_are_refused(tmp_path):
    path = str(tmp_path / "link.tar")
    with tarfile.open(path, "w") as archive:
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        archive.addfile(link)
    with pytest.raises(ValueError, match="refused to extract 'passwd': only regular files"):
        data_utils._extract_archive(path, str(tmp_path / "out"))
    assert cache_listing(tmp_path / "out") == []


def test_zip_members_outside_the_target_are_refused(tmp_path):
    path = str(tmp_path / "evil.zip")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ok.txt", b"ok")
        archive.writestr("../escape.txt", b"boo")
    with pytest.raises(ValueError, match="refused to extract '../escape.txt'"):
        data_utils._extract_archive(path, str(tmp_path / "out"))
    assert cache_listing(tmp_path / "out") == [] and not os.path.exists(tmp_path / "escape.txt")


def test_bad_hash_algorithm_is_refused_before_any_download(home):
    with pytest.raises(ValueError, match="Received: hash_algorithm='sha1'"):
        get_file("data.bin", URL, file_hash=PAYLOAD_MD5, hash_algorithm="sha1")
    assert data_utils.urlopen.requests == []
