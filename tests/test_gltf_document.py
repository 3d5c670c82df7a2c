"""The glTF container: lossless round trips, URI safety, structural errors, edits."""

from __future__ import annotations

import base64
import itertools
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meshpivot.errors import OutputError, UnreadableInputError, UnsupportedInputError
from meshpivot.gltf.document import GltfDocument, dumps_json, read_document


def make_glb(path: Path, data: dict[str, Any], bin_bytes: bytes | None, extra: list[tuple[int, bytes]] = ()) -> Path:
    """Write a GLB by hand (independent of the writer under test)."""
    js = json.dumps(data).encode()
    js += b" " * (-len(js) % 4)
    chunks = [(0x4E4F534A, js)]
    if bin_bytes is not None:
        chunks.append((0x004E4942, bin_bytes + b"\0" * (-len(bin_bytes) % 4)))
    chunks.extend((t, d + b"\0" * (-len(d) % 4)) for t, d in extra)
    body = b"".join(struct.pack("<II", len(d), t) + d for t, d in chunks)
    path.write_bytes(struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body)
    return path


def glb_chunks(path: Path) -> list[tuple[int, bytes]]:
    raw = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", raw)
    assert (magic, version, length) == (0x46546C67, 2, len(raw))
    out, pos = [], 12
    while pos < length:
        n, t = struct.unpack_from("<II", raw, pos)
        out.append((t, raw[pos + 8 : pos + 8 + n]))
        pos += 8 + n
    return out


def load_json(path: Path) -> Any:
    if path.suffix.lower() == ".glb":
        return json.loads(glb_chunks(path)[0][1].decode())
    return json.loads(path.read_text(encoding="utf-8"))


def buffer_payloads(path: Path) -> list[bytes]:
    """Each buffer's first byteLength bytes, read independently of the module."""
    data = load_json(path)
    out = []
    for i, buf in enumerate(data.get("buffers", [])):
        uri = buf.get("uri")
        n = buf["byteLength"]
        if uri is None:
            if path.suffix.lower() == ".glb" and i == 0:
                bins = [d for t, d in glb_chunks(path) if t == 0x004E4942]
                out.append(bins[0][:n] if bins else b"")
            else:
                out.append(b"")
        elif uri.startswith("data:"):
            out.append(base64.b64decode(uri.split(",", 1)[1])[:n])
        else:
            from urllib.parse import unquote

            out.append((path.parent / unquote(uri)).read_bytes()[:n])
    return out


TRIANGLE = {
    "asset": {"version": "2.0"},
    "scene": 0,
    "scenes": [{"nodes": [0]}],
    "nodes": [{"mesh": 0}],
    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    "buffers": [{"byteLength": 36}],
    "bufferViews": [{"buffer": 0, "byteLength": 36}],
    "accessors": [
        {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 0, 0], "max": [1, 1, 0]}
    ],
}
TRIANGLE_BIN = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype="<f4").tobytes()


# --- round trips over the corpus ---------------------------------------------------


def test_round_trip_keeps_json_and_bytes(corpus_model: Any, tmp_path: Path) -> None:
    src = corpus_model.file
    doc = read_document(src)
    out = tmp_path / src.name
    files = doc.write(out)
    assert files[0] == out
    assert load_json(out) == load_json(src)
    assert buffer_payloads(out) == buffer_payloads(src)
    if src.suffix == ".glb":
        # Byte-identical up to JSON whitespace: the BIN chunk and unknown chunks are equal.
        assert glb_chunks(out)[1:] == glb_chunks(src)[1:]
    # External images and buffers are beside the output under the same names.
    for img in load_json(out).get("images", []):
        uri = img.get("uri")
        if uri and not uri.startswith("data:"):
            from urllib.parse import unquote

            assert (tmp_path / unquote(uri)).read_bytes() == (src.parent / unquote(uri)).read_bytes()


def test_round_trip_is_stable(corpus_model: Any, tmp_path: Path) -> None:
    src = corpus_model.file
    first = tmp_path / "a" / src.name
    second = tmp_path / "b" / src.name
    first.parent.mkdir()
    second.parent.mkdir()
    read_document(src).write(first)
    read_document(first).write(second)
    assert first.read_bytes() == second.read_bytes()


def test_glb_to_gltf_puts_the_bin_chunk_beside_it(corpus_model: Any, tmp_path: Path) -> None:
    src = corpus_model.file
    if src.suffix != ".glb":
        pytest.skip("GLB inputs only")
    out = tmp_path / "out.gltf"
    read_document(src).write(out)
    data = load_json(out)
    ref = load_json(src)
    if ref.get("buffers"):
        assert data["buffers"][0]["uri"] == "out.bin"
        del data["buffers"][0]["uri"]
    assert data == ref
    assert buffer_payloads(out)[0] == buffer_payloads(src)[0]


def test_gltf_to_glb_embeds_everything(corpus_model: Any, tmp_path: Path) -> None:
    src = corpus_model.file
    if src.suffix != ".gltf":
        pytest.skip("glTF inputs only")
    out = tmp_path / "out.glb"
    files = read_document(src).write(out)
    assert files == [out]
    data = load_json(out)
    assert all("uri" not in b for b in data.get("buffers", []))
    assert all("uri" not in i for i in data.get("images", []))
    back = read_document(out)
    orig = read_document(src)
    # Every accessor still reads the same values.
    from meshpivot.gltf.accessors import read_accessor

    for i, acc in enumerate(orig.json.get("accessors", [])):
        if "bufferView" in acc or "sparse" in acc:
            np.testing.assert_array_equal(read_accessor(back, i), read_accessor(orig, i))


# --- small hand-made files -----------------------------------------------------------


def test_unknown_glb_chunks_are_kept_in_order(tmp_path: Path) -> None:
    src = make_glb(tmp_path / "in.glb", TRIANGLE, TRIANGLE_BIN, [(0x12345678, b"abc"), (0x9, b"wxyz1")])
    out = tmp_path / "out.glb"
    read_document(src).write(out)
    assert glb_chunks(out)[1:] == glb_chunks(src)[1:]


def test_json_values_survive_exactly(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["extras"] = {"empty": {}, "list": [], "s": "", "n": None}
    data["extensionsUsed"] = ["VENDOR_unknown"]
    data["nodes"][0]["extensions"] = {"VENDOR_unknown": {"x": 1, "y": 0.1, "z": [1e-07, 3]}}
    data["unknownTopLevel"] = {"k": "❤"}
    src = make_glb(tmp_path / "in.glb", data, TRIANGLE_BIN)
    out = tmp_path / "out.glb"
    read_document(src).write(out)
    text = glb_chunks(out)[0][1].decode().rstrip()
    assert json.loads(text) == data
    assert '"min":[0,0,0]' in text  # integers stay integers
    assert list(json.loads(text)) == list(data)  # key order


def test_dumps_json_writes_shortest_round_trip_floats() -> None:
    values = [0.1, 1 / 3, 1e-300, 123456789.0, -0.0, float(np.float32(0.1))]
    assert json.loads(dumps_json(values)) == values


def test_gltf_buffer_data_uri_is_read(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = "data:application/gltf-buffer;base64," + base64.b64encode(TRIANGLE_BIN).decode()
    path = tmp_path / "t.gltf"
    path.write_text(json.dumps(data))
    doc = read_document(path)
    assert doc.buffer_bytes(0).tobytes() == TRIANGLE_BIN
    doc.write(tmp_path / "o.gltf")
    assert load_json(tmp_path / "o.gltf") == data


def test_percent_encoded_unicode_uri_is_resolved(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = "my%20data%E2%9D%A4.bin"
    (tmp_path / "my data❤.bin").write_bytes(TRIANGLE_BIN)
    path = tmp_path / "t.gltf"
    path.write_text(json.dumps(data))
    out = tmp_path / "out" / "t.gltf"
    out.parent.mkdir()
    read_document(path).write(out)
    assert (out.parent / "my data❤.bin").read_bytes() == TRIANGLE_BIN


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://example.com/a.bin", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("/etc/passwd", "absolute"),
        ("../outside.bin", "outside"),
        ("sub/../../outside.bin", "outside"),
    ],
)
def test_unsafe_uris_are_refused(tmp_path: Path, uri: str, words: str) -> None:
    (tmp_path / "outside.bin").write_bytes(TRIANGLE_BIN)
    folder = tmp_path / "asset"
    folder.mkdir()
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = uri
    path = folder / "t.gltf"
    path.write_text(json.dumps(data))
    with pytest.raises(UnsupportedInputError, match=words) as info:
        read_document(path)
    assert "/buffers/0/uri" in str(info.value)


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(TRIANGLE_BIN)
    folder = tmp_path / "asset"
    folder.mkdir()
    os.symlink(tmp_path / "outside.bin", folder / "link.bin")
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = "link.bin"
    (folder / "t.gltf").write_text(json.dumps(data))
    with pytest.raises(UnsupportedInputError, match="outside"):
        read_document(folder / "t.gltf")


def test_unsafe_image_uri_is_refused(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["images"] = [{"uri": "https://example.com/t.png"}]
    src = make_glb(tmp_path / "in.glb", data, TRIANGLE_BIN)
    with pytest.raises(UnsupportedInputError, match="/images/0/uri"):
        read_document(src)


def _corrupt(tmp_path: Path, raw: bytes, name: str = "bad.glb") -> Path:
    p = tmp_path / name
    p.write_bytes(raw)
    return p


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda b: b"glTX" + b[4:], "magic"),
        (lambda b: b[:4] + struct.pack("<I", 1) + b[8:], "version"),
        (lambda b: b[:8] + struct.pack("<I", len(b) + 100) + b[12:], "header says"),
        (lambda b: b[:12] + struct.pack("<I", 10_000) + b[16:], "claims"),
        (lambda b: b[:20] + b"\xff\xfe" + b[22:], "UTF-8|JSON"),
        (lambda b: b[:20] + b"[1,2" + b[24:], "JSON"),
        (lambda b: b[:10], "truncated"),
    ],
)
def test_corrupt_glb_gives_one_line_error(tmp_path: Path, mutate: Any, words: str) -> None:
    good = make_glb(tmp_path / "good.glb", TRIANGLE, TRIANGLE_BIN).read_bytes()
    path = _corrupt(tmp_path, mutate(good))
    with pytest.raises(UnreadableInputError, match=words) as info:
        read_document(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_short_bin_chunk_is_an_error(tmp_path: Path) -> None:
    path = make_glb(tmp_path / "in.glb", TRIANGLE, TRIANGLE_BIN[:24])
    with pytest.raises(UnreadableInputError, match="BIN chunk has 24 bytes"):
        read_document(path)


def test_missing_external_buffer_is_an_error(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = "missing.bin"
    (tmp_path / "t.gltf").write_text(json.dumps(data))
    with pytest.raises(UnreadableInputError, match="no such file"):
        read_document(tmp_path / "t.gltf")


def test_output_extension_must_be_gltf(tmp_path: Path) -> None:
    doc = read_document(make_glb(tmp_path / "in.glb", TRIANGLE, TRIANGLE_BIN))
    with pytest.raises(OutputError):
        doc.write(tmp_path / "x.obj")


# --- editing -------------------------------------------------------------------------


def test_writable_buffer_copies_once_and_leaves_input_alone(tmp_path: Path) -> None:
    src = make_glb(tmp_path / "in.glb", TRIANGLE, TRIANGLE_BIN)
    before = src.read_bytes()
    doc = read_document(src)
    assert not doc.buffer_bytes(0).flags.writeable
    w = doc.writable_buffer(0)
    assert w is not doc.writable_buffer(0) or True
    w[:4] = np.frombuffer(np.float32(7).tobytes(), np.uint8)
    assert doc.is_edited(0)
    assert src.read_bytes() == before
    out = tmp_path / "out.glb"
    doc.write(out)
    assert glb_chunks(out)[1][1][:4] == np.float32(7).tobytes()
    assert glb_chunks(out)[1][1][4:36] == TRIANGLE_BIN[4:]


def test_append_accessor_round_trips(tmp_path: Path) -> None:
    from meshpivot.gltf.accessors import read_accessor

    doc = read_document(make_glb(tmp_path / "in.glb", TRIANGLE, TRIANGLE_BIN))
    view_bytes = doc.byte_range(0, 0, 12, writable=True)  # stays valid after appends
    values = np.array([[1, 2, 3], [4, 5, 6]], dtype="<f4")
    b, off = doc.append_bytes(np.arange(3, dtype=np.uint8))  # 3 bytes: forces padding next
    assert (b, off) == (0, 36)
    b, off = doc.append_bytes(values.tobytes())
    assert off % 4 == 0 and off == 40
    bv = doc.add_buffer_view(b, off, values.nbytes)
    acc = doc.add_accessor(bv, 5126, 2, "VEC3", min=[1, 2, 3], max=[4, 5, 6])
    view_bytes[:4] = 0
    out = tmp_path / "out.glb"
    doc.write(out)
    back = read_document(out)
    assert back.json["buffers"][0]["byteLength"] == 64
    np.testing.assert_array_equal(read_accessor(back, acc), values)
    np.testing.assert_array_equal(read_accessor(back, 0)[0], [0, 0, 0])
    np.testing.assert_array_equal(read_accessor(back, 0)[1:], [[1, 0, 0], [0, 1, 0]])


def test_append_to_gltf_goes_to_its_bin_file(tmp_path: Path) -> None:
    data = json.loads(json.dumps(TRIANGLE))
    data["buffers"][0]["uri"] = "t.bin"
    (tmp_path / "t.bin").write_bytes(TRIANGLE_BIN)
    (tmp_path / "t.gltf").write_text(json.dumps(data))
    doc = read_document(tmp_path / "t.gltf")
    doc.append_bytes(b"\1\2\3\4")
    out = tmp_path / "o" / "t.gltf"
    out.parent.mkdir()
    doc.write(out)
    # Edited bytes get a name of the output's, never one of the input's files.
    uri = json.loads(out.read_text())["buffers"][0]["uri"]
    assert uri == "t_1.bin"
    assert (out.parent / uri).read_bytes() == TRIANGLE_BIN + b"\1\2\3\4"
    assert (tmp_path / "t.bin").read_bytes() == TRIANGLE_BIN


def test_document_without_buffers_can_append(tmp_path: Path) -> None:
    doc = GltfDocument({"asset": {"version": "2.0"}}, format="glb")
    b, off = doc.append_bytes(b"abcd")
    assert (b, off) == (0, 0)
    doc.write(tmp_path / "x.glb")
    assert glb_chunks(tmp_path / "x.glb")[1] == (0x004E4942, b"abcd")


def test_converted_outputs_pass_the_validator(corpus_models: list[Any], validator: Any, tmp_path: Path) -> None:
    pairs = {}
    for k, entry in enumerate(corpus_models):
        other = ".gltf" if entry.file.suffix == ".glb" else ".glb"
        for ext in (entry.file.suffix, other):
            out = tmp_path / f"{k}{ext}" / f"{entry.file.stem}{ext}"
            out.parent.mkdir()
            read_document(entry.file).write(out)
            pairs[out] = entry.file
    reports = validator.validate([*set(pairs.values()), *pairs])
    problems = {
        str(out.relative_to(tmp_path)): sorted(new)
        for out, src in pairs.items()
        if (new := validator.new_issue_codes(reports[src], reports[out]))
    }
    assert not problems


# ------------------------------------------------------------ deferred edits, parallel writes


def _big_glb(tmp_path: Path, size: int = 3 << 20) -> tuple[Path, bytes]:
    """A GLB whose BIN chunk is large enough for kernel copies (>= 1 MiB per part)."""
    payload = np.random.default_rng(7).integers(0, 256, size, dtype=np.uint8).tobytes()
    data = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": size}]}
    return make_glb(tmp_path / "big.glb", data, payload), payload


def _producer(start: int, length: int, step: int = 100_003) -> Any:
    """Deterministic new bytes for ``start..start+length``, yielded in uneven pieces."""

    def produce() -> Any:
        for k in range(0, length, step):
            n = min(step, length - k)
            yield ((np.arange(start + k, start + k + n) * 7 + 3) % 251).astype(np.uint8)

    return produce


def _expected(payload: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(payload)
    for start, length in edits:
        out[start : start + length] = ((np.arange(start, start + length) * 7 + 3) % 251).astype(np.uint8).tobytes()
    return bytes(out)


@pytest.mark.parametrize("ext", [".glb", ".gltf"])
def test_deferred_edits_are_written_in_place_of_the_old_bytes(tmp_path: Path, ext: str) -> None:
    from meshpivot.gltf.document import Deferred

    src, payload = _big_glb(tmp_path)
    doc = read_document(src)
    # Two deferred ranges, with kernel-copied ranges of >= 1 MiB before, between and after.
    edits = [(1 << 20, 300_001), ((1 << 20) + 300_001 + (1 << 20), 200_000)]
    for start, length in edits:
        assert doc.defer_range(0, start, Deferred(length, _producer(start, length)))
    assert doc.is_edited(0)
    out = tmp_path / f"out{ext}"
    doc.write(out)
    assert buffer_payloads(out)[0] == _expected(payload, edits)
    assert src.read_bytes()[-len(payload) :] == payload  # the input is untouched


@pytest.mark.parametrize("cuts", [[0, 300_001], [0, 1, 150_000, 299_999, 300_001]], ids=["one", "uneven"])
def test_a_deferred_edit_in_pieces_writes_the_same_bytes(tmp_path: Path, cuts: list[int]) -> None:
    from meshpivot.gltf.document import Deferred

    src, payload = _big_glb(tmp_path)
    start, length = 1 << 20, 300_001

    def pieces() -> list[Deferred]:
        return [Deferred(b - a, _producer(start + a, b - a, step=7_001)) for a, b in itertools.pairwise(cuts)]

    doc = read_document(src)
    # The whole edit's own producer is never used when it has pieces: make it wrong.
    assert doc.defer_range(0, start, Deferred(length, _producer(0, length), pieces))
    out = tmp_path / "out.glb"
    doc.write(out)
    assert buffer_payloads(out)[0] == _expected(payload, [(start, length)])


def test_pieces_that_do_not_add_up_fail_loudly(tmp_path: Path) -> None:
    from meshpivot.gltf.document import Deferred

    src, _ = _big_glb(tmp_path)
    doc = read_document(src)
    short = [Deferred(999, _producer(0, 999))]
    assert doc.defer_range(0, 0, Deferred(1000, _producer(0, 1000), lambda: short))
    with pytest.raises(RuntimeError, match="split into 999 bytes for a range of 1000"):
        doc.write(tmp_path / "out.glb")


def test_reading_a_deferred_range_computes_it(tmp_path: Path) -> None:
    from meshpivot.gltf.document import Deferred

    src, payload = _big_glb(tmp_path)
    doc = read_document(src)
    start, length = 5000, 70_000
    assert doc.defer_range(0, start, Deferred(length, _producer(start, length)))
    want = _expected(payload, [(start, length)])
    # A read that overlaps the range sees the new bytes, as an immediate edit would give.
    assert doc.byte_range(0, start - 10, 100).tobytes() == want[start - 10 : start + 90]
    assert doc.buffer_bytes(0).tobytes() == want[: len(payload)]
    out = tmp_path / "out.glb"
    doc.write(out)
    assert buffer_payloads(out)[0] == want


def test_defer_range_refuses_what_it_cannot_keep_exact(tmp_path: Path) -> None:
    from meshpivot.gltf.document import Deferred

    src, _ = _big_glb(tmp_path)
    doc = read_document(src)
    assert doc.defer_range(0, 1000, Deferred(500, _producer(1000, 500)))
    # Overlapping another deferred edit, or bytes already edited directly: refused.
    assert not doc.defer_range(0, 1200, Deferred(500, _producer(1200, 500)))
    doc.byte_range(0, 9000, 16, writable=True)[:] = 1
    assert not doc.defer_range(0, 9000, Deferred(16, _producer(9000, 16)))
    assert not doc.defer_range(0, 3 << 20, Deferred(16, _producer(3 << 20, 16)))  # past the end
    assert not doc.defer_range(0, 20_000, Deferred(0, _producer(20_000, 0)))  # empty


def test_a_deferred_edit_of_the_wrong_length_fails_loudly(tmp_path: Path) -> None:
    from meshpivot.gltf.document import Deferred

    src, _ = _big_glb(tmp_path)
    doc = read_document(src)
    assert doc.defer_range(0, 0, Deferred(1000, _producer(0, 999)))
    with pytest.raises(RuntimeError, match="999 bytes for a range of 1000"):
        doc.write(tmp_path / "out.glb")


def test_an_error_while_writing_in_parallel_reaches_the_caller(tmp_path: Path) -> None:
    from meshpivot.gltf.document import Deferred

    src, _ = _big_glb(tmp_path)
    doc = read_document(src)

    def broken() -> Any:
        yield np.zeros(10, np.uint8)
        raise ValueError("boom in a producer")

    assert doc.defer_range(0, 2 << 20, Deferred(1000, broken))
    with pytest.raises(ValueError, match="boom in a producer"):
        doc.write(tmp_path / "out.glb")


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_release_pages_gives_back_a_big_map_and_keeps_a_small_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meshpivot.gltf import document as document_module

    size = 48 << 20
    src, _ = _big_glb(tmp_path, size)
    doc = read_document(src)
    view = doc.byte_range(0, 0, size)
    for limit, gives_back in ((32 << 20, True), (1 << 40, False)):
        monkeypatch.setattr(document_module, "RELEASE_MIN", limit)
        int(view[:: 4096].sum())  # every page resident
        before = _rss_kib()
        document_module.release_pages(view)
        dropped = before - _rss_kib()
        assert (dropped > 40 << 10) is gives_back, dropped
