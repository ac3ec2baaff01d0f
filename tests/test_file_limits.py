"""Files from strangers cost what they declare, checked before it is spent (issue 21, item 7).

A ``.netfit`` upload whose .npy header claims a (4,000,000, 128) float32 array made the server
inflate 2 GB before refusing it; a small PNG declaring 100,000 x 100,000 pixels gave a 500. Here
each array's header is compared with the model's config (and a cap), the zip's directory with its
limits, and a picture's declared size with a cap, before any data are read or decoded, and the
playground answers 400 with what was wrong, naming the user's file.
"""
import io
import json
import struct
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np
import pytest

import netfit as nf
from netfit import images, saving
from netfit.io import ModelFileError, load_model
from netfit.layers import Dense, Flatten

HUGE = (4_000_000, 128)                 # the issue's header: 2,048,000,000 bytes of float32


@pytest.fixture
def mlp(tmp_path):
    """The lecture's MLP (784-128-10), compiled with Adam and saved, as the playground's uploads are."""
    model = nf.zoo.lecture_mlp(seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    path = tmp_path / "mnist_mlp.netfit"
    model.save(path)
    return path, model


def _npy_header(shape, descr="<f4"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _rewrite(src, dest, members=None, edit_json=None, compression=zipfile.ZIP_DEFLATED):
    """Copy the zip at src to dest, replacing members by ``members`` {name: bytes} and editing netfit.json."""
    members = members or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", compression) as zout:
        for name in zin.namelist():
            data = members.get(name, zin.read(name))
            if name == "netfit.json" and edit_json:
                meta = json.loads(data)
                edit_json(meta)
                data = json.dumps(meta).encode()
            zout.writestr(name, data)
    return dest


def _evil(src, dest, shape=HUGE, edit_json=None):
    """The issue's upload: weight 0's header claims ``shape``; 64 KiB of its zeros follow (no more needed)."""
    return _rewrite(src, dest, {"arrays/weight_0.npy": _npy_header(shape) + bytes(1 << 16)}, edit_json)


@pytest.fixture
def no_array_data(monkeypatch):
    """Fail the test if any array's data are read (np.lib.format.read_array is the one reader of data)."""
    def refuse(*args, **kwargs):
        raise AssertionError("array data were read")
    monkeypatch.setattr(np.lib.format, "read_array", refuse)


def _refused(path, match=None):
    """(the ModelFileError of load_model(path), the peak bytes Python and NumPy allocated to raise it)."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=match) as error:
            load_model(path)
        return error.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- .netfit files: every array against the config, before its data ------------------------------------------
def test_the_issues_upload_is_refused_from_its_header(mlp, tmp_path, no_array_data):
    evil = _evil(mlp[0], tmp_path / "evil.netfit")
    error, peak = _refused(evil)
    assert str(error).startswith(f"load_model: {str(evil)!r}: expected array 'weight_0' (kernel of layer 'dense') "
                              f"as float32 of shape (784, 128), as the model's config declares, got float32 of "
                              f"shape (4000000, 128); refusing the file before reading its data.")
    assert peak < 8 << 20, f"{peak:,} bytes allocated to refuse it"


def _deflated_zeros(header, size):
    """A raw deflate stream of ``header`` and ``size`` zero bytes, built in milliseconds: after a full
    flush deflate starts afresh, so each MiB of zeros is coded by the same bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(header) + packer.flush(zlib.Z_FULL_FLUSH)
    mib = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH) == mib
    return head + mib * (size >> 20) + packer.compress(bytes(size % (1 << 20))) + packer.flush()


def _as_deflated(path, member, stream, size):
    """Put the raw deflate ``stream`` in ``member`` of the zip at path, declared as ``size`` bytes inflated."""
    with zipfile.ZipFile(path) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members[member] = stream
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    data = bytearray(path.read_bytes())
    for signature, method_at, size_at in ((b"PK\x03\x04", 8, 22), (b"PK\x01\x02", 10, 24)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(member)] == member.encode():
                struct.pack_into("<H", data, at + method_at, zipfile.ZIP_DEFLATED)
                struct.pack_into("<I", data, at + size_at, size)
            at = data.find(signature, at + 1)
    path.write_bytes(bytes(data))
    return path


def test_a_real_2gb_bomb_is_refused_as_fast_as_its_header(mlp, tmp_path, no_array_data):
    # weight_0 really inflates to 2 GB (header and zeros, ~2 MB deflated): refused without inflating it.
    header, size = _npy_header(HUGE), HUGE[0] * HUGE[1] * 4
    stream = _deflated_zeros(header, size)
    assert zlib.decompressobj(-15).decompress(stream, 3 << 20)[:len(header) + 4] == header + bytes(4)
    evil = _as_deflated(_rewrite(mlp[0], tmp_path / "bomb.netfit"), "arrays/weight_0.npy", stream,
                        len(header) + size)
    assert evil.stat().st_size < 3 << 20
    with zipfile.ZipFile(evil) as archive:
        info = archive.getinfo("arrays/weight_0.npy")
        assert info.file_size == 2_048_000_128 and info.file_size < info.compress_size * saving.DEFLATE_MAX_RATIO
    _, peak = _refused(evil, match=r"got float32 of shape \(4000000, 128\)")
    assert peak < 8 << 20, f"{peak:,} bytes allocated to refuse it"


def test_a_config_that_matches_the_huge_array_meets_the_cap(mlp, tmp_path, no_array_data, monkeypatch):
    def widen(meta):                       # the attacker edits the config too: input 4,000,000 numbers
        meta["model_config"]["input_shape"] = [4_000_000]
    evil = _evil(mlp[0], tmp_path / "evil.netfit", edit_json=widen)
    built = []
    monkeypatch.setattr(nf.Sequential, "build", lambda self, *a: built.append(1))
    with pytest.raises(ModelFileError, match=r"expected at most 1,073,741,824 bytes of arrays \(max_bytes\), got a "
                                             r"model whose config declares 2,048,005,672 bytes for its layers' "
                                             r"weights; refusing it before reading them"):
        load_model(evil)
    assert not built                                   # refused before a weight was allocated


def test_max_bytes_counts_weights_and_optimizer_state(mlp):
    path, model = mlp
    weights = sum(w.nbytes for w in model.get_weights())                  # 407,080
    state = sum(np.asarray(v).nbytes for v in model.optimizer.get_state().values())
    assert load_model(path, max_bytes=weights + state).count_params() == 101_770
    with pytest.raises(ModelFileError, match=f"declares {weights + state:,} bytes for its weights and optimizer"):
        load_model(path, max_bytes=weights + state - 1)
    with pytest.raises(ModelFileError, match=f"declares {weights:,} bytes for its layers' weights"):
        load_model(path, max_bytes=weights - 1)
    assert not load_model(path, compile=False, max_bytes=weights).compiled    # the state is not read then
    assert load_model(path, max_bytes=None).count_params() == 101_770
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="expected max_bytes a positive integer or None"):
            load_model(path, max_bytes=bad)


@pytest.mark.parametrize("name, header, message", [
    ("arrays/weight_1.npy", _npy_header((128,), "<f8"), r"'weight_1' \(bias of layer 'dense'\) as float32 of "
                                                        r"shape \(128,\), .* got float64 of shape \(128,\)"),
    ("arrays/weight_1.npy", _npy_header((128,), "|O"), r"'weight_1' .* got object of shape \(128,\)"),
    ("arrays/opt_m.npy", _npy_header((101_770 * 1000,)), r"'opt_m' \(optimizer state 'm'\) as float32 of shape "
                                                         r"\(101770,\), .*got float32 of shape \(101770000,\)"),
    ("arrays/opt_iterations.npy", _npy_header((), "<f4"), r"'opt_iterations' .* as int64 of shape \(\), .* "
                                                           r"got float32"),
])
def test_every_array_is_checked_from_its_header(mlp, tmp_path, no_array_data, name, header, message):
    evil = _rewrite(mlp[0], tmp_path / "evil.netfit", {name: header + bytes(64)})
    with pytest.raises(ModelFileError, match=message):
        load_model(evil)


def test_a_header_that_agrees_but_a_declared_size_that_does_not(mlp, tmp_path):
    good = mlp[0]
    with zipfile.ZipFile(good) as archive:
        bias = archive.read("arrays/weight_1.npy")
    evil = _rewrite(good, tmp_path / "evil.netfit", {"arrays/weight_1.npy": bias + bytes(4)})
    with pytest.raises(ModelFileError, match=r"expected member 'arrays/weight_1.npy' of 640 bytes \(its header "
                                             r"declares float32 of shape \(128,\)\), got 644"):
        load_model(evil)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m["arrays"].remove("opt_v"), r"holds an array it does not list \('opt_v'\)"),
    (lambda m: m["arrays"].append("weight_9"), r"is missing the array 'weight_9'"),
    (lambda m: m["arrays"].append("weight_0"), r"lists an array twice"),
    (lambda m: m.update(compile_config=None), r"holds optimizer state \('opt_iterations'\) but no optimizer"),
])
def test_the_listed_arrays_are_exactly_the_members(mlp, tmp_path, edit, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(_rewrite(mlp[0], tmp_path / "evil.netfit", edit_json=edit))


# -- the zip itself: declared sizes, members, methods, the JSON ------------------------------------------
def _declare(path, member, size):
    """Make the zip's directory declare ``size`` uncompressed bytes for ``member`` (its data unchanged)."""
    data = bytearray(path.read_bytes())
    at = 0
    while (at := data.find(b"PK\x01\x02", at + 1)) >= 0:
        length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + length] == member.encode():
            struct.pack_into("<I", data, at + 24, size)
    path.write_bytes(bytes(data))
    return path


def test_a_member_declaring_more_than_deflate_can_expand_is_a_bomb(mlp, tmp_path, no_array_data):
    evil = _declare(_rewrite(mlp[0], tmp_path / "evil.netfit"), "arrays/weight_0.npy", 2_048_000_128)
    with zipfile.ZipFile(evil) as archive:
        compressed = archive.getinfo("arrays/weight_0.npy").compress_size
    with pytest.raises(ModelFileError, match=f"member 'arrays/weight_0.npy' declares 2,048,000,128 bytes from "
                                             f"{compressed:,} compressed, more than its data can expand to "
                                             f"\\({compressed * 1032:,}\\): a zip bomb"):
        load_model(evil)
    stored = _declare(_rewrite(mlp[0], tmp_path / "stored.netfit", compression=zipfile.ZIP_STORED),
                      "arrays/weight_1.npy", 641)
    with pytest.raises(ModelFileError, match=r"declares 641 bytes from 640 compressed"):
        load_model(stored)


def test_zeros_deflate_1000_fold_and_still_load(tmp_path):
    # An untrained model with zero kernels and Adam's zero moments: the legitimate file nearest the bound.
    model = nf.Sequential([Flatten(input_shape=(28, 28)), Dense(512, kernel_initializer="zeros"),
                           Dense(10, activation="softmax", kernel_initializer="zeros")], seed=0)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "zeros.netfit")
    with zipfile.ZipFile(tmp_path / "zeros.netfit") as archive:
        info = archive.getinfo("arrays/weight_0.npy")
        assert 900 < info.file_size / info.compress_size < saving.DEFLATE_MAX_RATIO
    loaded = load_model(tmp_path / "zeros.netfit")
    assert all((a == b).all() for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True))


def test_too_many_members_are_refused_before_zipfile_parses_them(mlp, tmp_path, monkeypatch):
    evil = tmp_path / "many.netfit"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("netfit.json", "{}")
        for k in range(saving.MAX_MEMBERS):
            archive.writestr(f"arrays/weight_{k}.npy", b"")
    parsed = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: parsed.append(1))
    with pytest.raises(ModelFileError, match=r"expected a zip file of at most 10,000 members of at most 256 "
                                             r"directory bytes each, got one whose end record declares 10,001 "
                                             r"members in [\d,]+ bytes; refusing it before reading them"):
        load_model(evil)
    assert not parsed
    # An end record that lies (one member declared) cannot make zipfile parse a huge directory either.
    data = bytearray(evil.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 1, 1)
    evil.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"declares 1 members in [\d,]+ bytes"):
        load_model(evil)
    assert not parsed


def test_other_compression_and_a_huge_netfit_json_are_refused(mlp, tmp_path):
    bz = _rewrite(mlp[0], tmp_path / "bz.netfit", compression=zipfile.ZIP_BZIP2)
    with pytest.raises(ModelFileError, match="expected members stored or deflated .* compressed with method 12"):
        load_model(bz)
    big = _rewrite(mlp[0], tmp_path / "big.netfit",
                   edit_json=lambda m: m["metadata"].update(padding=" " * saving.MAX_JSON_BYTES))
    with pytest.raises(ModelFileError, match=r"expected netfit.json of at most 16,777,216 bytes, got 16,7\d\d,\d+"):
        load_model(big)


# -- file objects: an upload is read where it is, and errors name the user's file ----------------------------
def test_file_objects_load_and_errors_name_them(mlp, tmp_path):
    path, model = mlp
    data = path.read_bytes()
    loaded = load_model(io.BytesIO(data))
    assert all((a == b).all() for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True))
    with open(path, "rb") as handle:
        assert load_model(handle).count_params() == model.count_params()
    upload = io.BytesIO(_evil(path, tmp_path / "evil.netfit").read_bytes())
    upload.name = "my_model.netfit"
    with pytest.raises(ModelFileError, match=r"^load_model: 'my_model.netfit': expected array 'weight_0'"):
        load_model(upload)
    with pytest.raises(ModelFileError, match=r"^load_model: the file object is not a netfit model file"):
        load_model(io.BytesIO(b"not a zip"))


# -- weights files (model.load_weights): the model's own shapes bound what is read ---------------------------
def test_load_weights_reads_nothing_larger_than_the_models_weights(tmp_path, monkeypatch):
    model = nf.Sequential([Dense(4, input_shape=(3,)), Dense(2)], seed=0)
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    with zipfile.ZipFile(path) as zin:
        members = {name: zin.read(name) for name in zin.namelist()}
    members["weight_0.npy"] = _npy_header(HUGE) + bytes(64)          # disagrees with the manifest and the model
    with zipfile.ZipFile(path, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    read = []
    monkeypatch.setattr(nf.weights_file, "read_npy", lambda archive, member, *rest: read.append(member)
                        or saving.read_npy(archive, member, *rest))
    before = model.get_weights()
    with pytest.raises(ModelFileError, match=r"weight_0 should be a float32 array of shape \(3, 4\) \(its "
                                             r"manifest says\), got float32 of shape \(4000000, 128\); "
                                             r"refusing the file before reading its data"):
        model.load_weights(path)
    assert read == ["manifest.npy"]
    assert all((a == b).all() for a, b in zip(before, model.get_weights(), strict=True))


# -- pictures: the declared size against a cap, before decoding ----------------------------------------------
def png(width, height, rows=1):
    """An 8-bit grey PNG declaring width x height, with ``rows`` rows of zeros deflated (the rest missing)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    pixels = b"".join(packer.compress(bytes(width + 1)) for _ in range(rows)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any picture's pixels are decoded."""
    ImageFile = pytest.importorskip("PIL.ImageFile")

    def refuse(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("width, height, declared", [
    (100_000, 100_000, "10,000,000,000 pixels"),                 # over twice Pillow's limit: its error
    (10_000, 10_000, "10,000 x 10,000 = 100,000,000 pixels"),    # over Pillow's limit: its warning
    (6_000, 6_000, "6,000 x 6,000 = 36,000,000 pixels"),         # under Pillow's, over netfit's
])
def test_a_png_bomb_is_refused_before_decoding(tmp_path, no_decoding, width, height, declared):
    path = tmp_path / "bomb.png"
    path.write_bytes(png(width, height))
    assert path.stat().st_size < 2_000
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # no DecompressionBombWarning escapes
        with pytest.raises(ValueError) as error:
            images.read_image(path, (28, 28), where="predict")
    assert str(error.value) == (f"predict: expected a picture of at most 33,554,432 pixels, got {str(path)!r} "
                                f"declaring {declared} (a decompression bomb, or a photo too large); refusing it "
                                f"before decoding. Scale it down: a digit needs no more than a few hundred pixels "
                                f"a side.")


def test_the_picture_cap_is_max_pixels_or_pillows_if_lower(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "digit.png"
    grey = np.zeros((300, 200), np.uint8)
    grey[50:250, 80:120] = 255
    Image.fromarray(grey).save(path)
    assert images.read_image(path, (28, 28)).shape == (28, 28)
    with pytest.raises(ValueError, match=r"at most 59,999 pixels, got .* declaring 200 x 300 = 60,000 pixels"):
        images.read_image(path, (28, 28), max_pixels=59_999)
    assert images.read_image(path, (28, 28), max_pixels=60_000).shape == (28, 28)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)                   # a stricter Pillow setting holds
    with pytest.raises(ValueError, match=r"at most 50,000 pixels, got .* declaring 200 x 300 = 60,000 pixels"):
        images.read_image(path, (28, 28))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)                     # Pillow's check off: netfit's holds
    with pytest.raises(ValueError, match=r"at most 59,999 pixels"):
        images.read_image(path, (28, 28), max_pixels=59_999)
    with pytest.raises(ValueError, match="expected max_pixels a positive integer, got 0"):
        images.read_image(path, (28, 28), max_pixels=0)


# -- the playground: such files get 400 and say why, naming the user's file ------------------------------------
@pytest.fixture
def client():
    pytest.importorskip("starlette")
    pytest.importorskip("PIL")
    from netfit.datasets import _files, zipcode
    if None in _files.find(zipcode.SPEC).values():
        pytest.skip("the ZIP digits are not available offline (set NETFIT_DATA_DIR)")
    with warnings.catch_warnings():                      # Starlette 1.x asks for httpx2; httpx works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from netfit.serve.app import create_app
    app = create_app(token="t", settings={"data": "zip", "preset": "net1", "limit": 100, "test_limit": 20})
    yield TestClient(app, base_url="http://127.0.0.1", headers={"X-Netfit-Token": "t"})
    app.state.playground.trainer.stop()


def test_the_playground_refuses_the_issues_upload_with_400(client, mlp, tmp_path):
    before = [w.copy() for w in client.app.state.playground.session.model.get_weights()]
    evil = _evil(mlp[0], tmp_path / "evil.netfit").read_bytes()
    named = client.post("/api/weights?name=mnist_mlp.netfit", content=evil)
    assert named.status_code == 400
    assert named.json()["error"].startswith("load_model: 'mnist_mlp.netfit': expected array 'weight_0' (kernel of "
                                            "layer 'dense') as float32 of shape (784, 128), as the model's config "
                                            "declares, got float32 of shape (4000000, 128)")
    unnamed = client.post("/api/weights", content=evil)                # curl: no name, and never a temp path
    assert unnamed.status_code == 400 and unnamed.json()["error"].startswith("load_model: the uploaded file: ")
    bomb = _declare(_rewrite(mlp[0], tmp_path / "bomb.netfit"), "arrays/weight_0.npy", 2_048_000_128)
    response = client.post("/api/weights?name=bomb.netfit", content=bomb.read_bytes())
    assert response.status_code == 400 and "'bomb.netfit'" in response.json()["error"]
    assert "a zip bomb" in response.json()["error"]
    for a, b in zip(before, client.app.state.playground.session.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("width, height", [(100_000, 100_000), (10_000, 10_000), (6_000, 6_000)])
def test_the_playground_refuses_a_png_bomb_with_400(client, width, height):
    for route in ("/api/predict", "/api/backprop?label=3"):
        response = client.post(route, content=png(width, height))
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error.startswith("predict: expected a picture of at most 33,554,432 pixels, got ")
        assert f"declaring {width * height:,} pixels" in error or f"= {width * height:,} pixels" in error
