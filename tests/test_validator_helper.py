"""The Khronos validator helper (tests/validator.py) reports what the validator says."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]

# One triangle: 3 float32 positions (36 bytes) and 3 uint16 indices (6 bytes + 2 padding).
POSITIONS = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
INDICES = struct.pack("<3H", 0, 1, 2) + b"\0\0"
BUFFER = POSITIONS + INDICES


def triangle_gltf(uri: str, *, position_count: int = 3) -> dict[str, Any]:
    """A minimal valid glTF whose one buffer is at ``uri``."""
    return {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": position_count,
                "type": "VEC3",
                "min": [0, 0, 0],
                "max": [1, 1, 0],
            },
            {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"},
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36, "target": 34962},
            {"buffer": 0, "byteOffset": 36, "byteLength": 6, "target": 34963},
        ],
        "buffers": [{"uri": uri, "byteLength": len(BUFFER)}],
    }


def write_gltf(folder: Path, name: str, gltf: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(gltf), encoding="utf-8")
    return path


def data_uri(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode("ascii")


def test_valid_gltf_with_external_buffer_has_no_issues(validator: ModuleType, tmp_path: Path) -> None:
    # The buffer file name needs percent-decoding: the URI says "tri%20angle.bin".
    (tmp_path / "tri angle.bin").write_bytes(BUFFER)
    path = write_gltf(tmp_path, "tri.gltf", triangle_gltf("tri%20angle.bin"))
    report = validator.validate([path])[path]
    assert report.ok, report.summary()
    assert report.num_errors == report.num_warnings == 0
    assert report.errors == report.warnings == frozenset()
    assert report.raw["info"]["totalVertexCount"] == 3


def test_valid_gltf_with_data_uri_has_no_issues(validator: ModuleType, tmp_path: Path) -> None:
    path = write_gltf(tmp_path, "tri.gltf", triangle_gltf(data_uri(BUFFER)))
    report = validator.validate([path])[path]
    assert report.ok, report.summary()


def test_accessor_beyond_its_buffer_view_is_an_error(validator: ModuleType, tmp_path: Path) -> None:
    path = write_gltf(tmp_path, "long.gltf", triangle_gltf(data_uri(BUFFER), position_count=4))
    report = validator.validate([path])[path]
    assert "ACCESSOR_TOO_LONG" in report.errors, report.summary()
    assert report.num_errors >= 1
    assert not report.ok


def test_missing_external_buffer_is_reported(validator: ModuleType, tmp_path: Path) -> None:
    path = write_gltf(tmp_path, "tri.gltf", triangle_gltf("absent.bin"))
    report = validator.validate([path])[path]
    assert "IO_ERROR" in report.errors, report.summary()


def test_unrecognisable_file_is_rejected_not_crashed(validator: ModuleType, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00not a gltf")
    missing = tmp_path / "missing.glb"
    reports = validator.validate([junk, missing])
    assert reports[junk].errors == {validator.REJECTED}
    assert reports[missing].errors == {validator.REJECTED}


def test_many_files_in_one_call_keep_their_order(validator: ModuleType, tmp_path: Path) -> None:
    good = write_gltf(tmp_path, "good.gltf", triangle_gltf(data_uri(BUFFER)))
    bad = write_gltf(tmp_path, "bad.gltf", triangle_gltf(data_uri(BUFFER), position_count=4))
    reports = validator.validate([bad, good, bad])
    assert list(reports) == [bad, good]
    assert reports[good].ok and not reports[bad].ok


def test_new_issue_codes_lists_only_codes_the_input_lacked(validator: ModuleType, tmp_path: Path) -> None:
    good = write_gltf(tmp_path, "good.gltf", triangle_gltf(data_uri(BUFFER)))
    bad = write_gltf(tmp_path, "bad.gltf", triangle_gltf(data_uri(BUFFER), position_count=4))
    reports = validator.validate([good, bad])
    assert "ACCESSOR_TOO_LONG" in validator.new_issue_codes(reports[good], reports[bad])
    assert validator.new_issue_codes(reports[bad], reports[good]) == set()
    assert validator.new_issue_codes(reports[bad], reports[bad]) == set()


def test_new_issue_codes_ignores_hints_unless_asked(validator: ModuleType) -> None:
    report = validator.Report
    before = report(Path("a.glb"), warnings=frozenset({"NODE_SKINNED_MESH_NON_ROOT"}))
    after = report(
        Path("b.glb"),
        warnings=frozenset({"NODE_SKINNED_MESH_NON_ROOT"}),
        infos=frozenset({"UNUSED_OBJECT"}),
        hints=frozenset({"BUFFER_VIEW_TARGET_MISSING"}),
    )
    assert validator.new_issue_codes(before, after) == {"UNUSED_OBJECT"}
    assert validator.new_issue_codes(before, after, ("errors", "warnings")) == set()
    assert validator.new_issue_codes(before, after, validator.SEVERITIES) == {
        "UNUSED_OBJECT",
        "BUFFER_VIEW_TARGET_MISSING",
    }


def test_corpus_inputs_match_the_recorded_verdicts(
    validator: ModuleType, corpus_models: list[Any], corpus_checks: dict[str, dict[str, str]]
) -> None:
    reports = validator.validate(e.file for e in corpus_models)
    assert len(reports) == len(corpus_models) > 0
    for entry in corpus_models:
        report = reports[entry.file]
        check = corpus_checks[entry.path]
        expected = {c for c in check["validator_codes"].split(",") if c}
        assert report.num_errors == int(check["validator_errors"]), report.summary()
        assert report.num_warnings == int(check["validator_warnings"]), report.summary()
        assert report.errors | report.warnings == expected, report.summary()


@pytest.mark.parametrize("name", ["chair.glb"])
def test_sample_assets_pass_the_validator_cleanly(validator: ModuleType, name: str) -> None:
    path = ROOT / "samples" / name
    report = validator.validate([path])[path]
    assert report.ok, report.summary()
    assert report.num_infos == report.num_hints == 0, report.summary()
