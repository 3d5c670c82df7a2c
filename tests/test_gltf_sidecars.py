"""Files beside a glTF output: external buffers, in-place runs, replaced inputs, packing.

Regression tests for problems an independent review reproduced: an edited external
buffer of a GLB never written, an in-place run writing over another asset's buffer,
unchanged bytes copied from an input replaced during the run, and meshopt fallback
buffers packed past the end of a GLB's BIN chunk.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meshpivot.api import apply_file, inspect_file, verify_file
from meshpivot.errors import OutputError
from meshpivot.gltf.document import read_document
from meshpivot.options import FitOptions

BOX = np.array([[x, y, z] for x in (0, 1) for y in (0, 2) for z in (0, 1)], dtype="<f4")
STRETCH = FitOptions(scaled_bbox=(2, -1, -1), pivot_point=(0, -0.5, 0), mode="bake")


def gltf_json(uri: str | None, positions: np.ndarray) -> dict[str, Any]:
    buf: dict[str, Any] = {"byteLength": positions.nbytes}
    if uri is not None:
        buf = {"uri": uri, **buf}
    return {
        "asset": {"version": "2.0"},
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "mode": 0}]}],
        "buffers": [buf],
        "bufferViews": [{"buffer": 0, "byteLength": positions.nbytes}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": len(positions), "type": "VEC3",
             "min": positions.min(0).tolist(), "max": positions.max(0).tolist()}
        ],
    }  # fmt: skip


def glb_bytes(data: dict[str, Any], bin_: bytes | None) -> bytes:
    js = json.dumps(data).encode()
    js += b" " * (-len(js) % 4)
    chunks = struct.pack("<II", len(js), 0x4E4F534A) + js
    if bin_ is not None:
        bin_ += b"\0" * (-len(bin_) % 4)
        chunks += struct.pack("<II", len(bin_), 0x004E4942) + bin_
    return struct.pack("<III", 0x46546C67, 2, 12 + len(chunks)) + chunks


def test_a_glb_with_an_external_buffer_gets_its_edited_buffer_written(tmp_path: Path) -> None:
    (tmp_path / "geo.bin").write_bytes(BOX.tobytes())
    src = tmp_path / "in.glb"
    src.write_bytes(glb_bytes(gltf_json("geo.bin", BOX), None))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    (tmp_path / "out").mkdir()
    for out in (tmp_path / "out" / "fit.glb", tmp_path / "fit2.glb"):  # elsewhere, and beside the input
        apply_file(src, out, STRETCH)
        assert verify_file(out, STRETCH).passed
        assert inspect_file(out).measurement.size.tolist() == [2.0, 4.0, 2.0]
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_in_place_keeps_the_buffer_name_and_leaves_other_files_alone(tmp_path: Path) -> None:
    (tmp_path / "geometry.bin").write_bytes(BOX.tobytes())
    model = tmp_path / "model.gltf"
    model.write_text(json.dumps(gltf_json("geometry.bin", BOX)))
    other_bin = (BOX * 3).astype("<f4").tobytes()
    (tmp_path / "model.bin").write_bytes(other_bin)  # another asset's buffer
    (tmp_path / "other.gltf").write_text(json.dumps(gltf_json("model.bin", BOX * 3)))
    apply_file(model, model, STRETCH, in_place=True)
    assert (tmp_path / "model.bin").read_bytes() == other_bin
    assert json.loads(model.read_text())["buffers"][0]["uri"] == "geometry.bin"
    assert verify_file(model, STRETCH).passed
    assert inspect_file(tmp_path / "other.gltf").measurement.size.tolist() == [3.0, 6.0, 3.0]


def test_a_previous_output_is_replaced_with_its_buffer(tmp_path: Path) -> None:
    (tmp_path / "geo.bin").write_bytes(BOX.tobytes())
    src = tmp_path / "a.gltf"
    src.write_text(json.dumps(gltf_json("geo.bin", BOX)))
    out = tmp_path / "out" / "fit.gltf"
    out.parent.mkdir()
    apply_file(src, out, STRETCH)
    other = STRETCH.updated(scaled_bbox=(3, -1, -1))
    apply_file(src, out, other)  # a second request: fit.bin changes, and may
    assert verify_file(out, other).passed


def test_unchanged_bytes_come_from_what_was_read_even_if_the_input_is_replaced(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    big = rng.random((300_000, 3)).astype("<f4")  # 3.6 MB: copied by the kernel when unchanged
    data = gltf_json(None, big)
    src = tmp_path / "in.glb"
    src.write_bytes(glb_bytes(data, big.tobytes()))
    doc = read_document(src)
    other = (big + 1).astype("<f4")
    (tmp_path / "other.glb").write_bytes(glb_bytes(data, other.tobytes()))
    os.replace(tmp_path / "other.glb", src)  # someone replaces the input while we work
    doc.write(tmp_path / "out.glb")
    out = read_document(tmp_path / "out.glb")
    assert np.array_equal(np.frombuffer(out.buffer_bytes(0), "<f4").reshape(-1, 3), big)


def test_meshopt_fallback_buffers_stay_separate_when_packed_into_a_glb(
    tmp_path: Path, corpus_dir: Path, validator: Any
) -> None:
    a, b = tmp_path / "a.gltf", tmp_path / "b.glb"
    apply_file(corpus_dir / "BoxMeshopt" / "BoxMeshopt.glb", a, FitOptions(scaled_bbox=(1, -1, -1)))
    opts = FitOptions(scaled_bbox=(2, -1, -1))
    apply_file(a, b, opts)
    assert verify_file(b, opts).passed
    reports = validator.validate([a, b])
    assert reports[b].num_errors == 0, reports[b].summary()
    assert not validator.new_issue_codes(reports[a], reports[b])


def test_a_document_is_not_written_onto_its_own_source(tmp_path: Path) -> None:
    src = tmp_path / "same.glb"
    src.write_bytes(glb_bytes(gltf_json(None, BOX), BOX.tobytes()))
    before = src.read_bytes()
    with pytest.raises(OutputError, match="onto the file it was read from"):
        read_document(src).write(src)
    assert src.read_bytes() == before
