"""Verify and inspect many files: verdicts, exit codes, reports, parallelism, crashes, Dask.

A folder of generated outputs stands in for what a hosted API returned: correct
files (GLB and OBJ made by :func:`meshpivot.api.apply_file` from the samples, and
boxes written here), files a millimetre off in size or in pivot, a file with its
width and height swapped, and unreadable files. Most CLI runs use ``--jobs 1``
(in-process, fast); a few use worker processes to prove that parallel output is
identical to serial output and that a crashing reader loses no other result.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshpivot import batch, cli
from meshpivot.api import apply_file
from meshpivot.batch import (
    CRASH_TEST_ENV,
    HANG_TEST_ENV,
    check_one,
    expand_inputs,
    inspect_many,
    inspect_one,
    junit_xml,
    read_manifest,
    summarize,
    verify_many,
)
from meshpivot.errors import InternalError, SpecError
from meshpivot.options import FitOptions

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SPEC = ["--scaled-bbox", "0.5", "0.9", "0.5", "--pivot", "0", "-0.5", "0"]
OPTIONS = FitOptions(scaled_bbox=[0.5, 0.9, 0.5], pivot_point=[0, -0.5, 0])

Vec = tuple[float, float, float]

# ---------------------------------------------------------------------- fixtures

_FACES = [
    (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
    (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
]  # fmt: skip


def write_box(path: Path, size: Vec = (0.5, 0.9, 0.5), lift: Vec = (0, 0, 0)) -> Path:
    """An OBJ box of ``size`` with its origin at the bottom centre, moved by ``lift``."""
    lo = (-size[0] / 2 + lift[0], lift[1], -size[2] / 2 + lift[2])
    hi = (size[0] / 2 + lift[0], size[1] + lift[1], size[2] / 2 + lift[2])
    corners = [(x, y, z) for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])]
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in corners]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in _FACES]
    path.write_text("\n".join(lines) + "\n")
    return path


#: name -> (status, names of the failing checks) against OPTIONS.
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "chair_fit.glb": ("passed", set()),
    "chair_fit.obj": ("passed", set()),
    "box_ok.obj": ("passed", set()),
    "chair_wide_1mm.glb": ("failed", {"size_x"}),
    "box_tall_1mm.obj": ("failed", {"size_y", "pivot_y"}),
    "box_lifted_1mm.obj": ("failed", {"pivot_y"}),
    "box_flipped.obj": ("failed", {"size_x", "size_y"}),
    "corrupt.glb": ("unreadable", set()),
    "empty.obj": ("unreadable", set()),
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of outputs checked against OPTIONS (see EXPECTED), with a subfolder."""
    gltf = pytest.importorskip("meshpivot.gltf")
    if not hasattr(gltf, "GltfAsset"):
        pytest.skip("the glTF engine is not there yet")
    d = tmp_path_factory.mktemp("outputs")
    (d / "sub").mkdir()
    apply_file(SAMPLES / "chair.glb", d / "chair_fit.glb", OPTIONS)
    apply_file(SAMPLES / "chair.obj", d / "sub" / "chair_fit.obj", OPTIONS)
    apply_file(SAMPLES / "chair.glb", d / "chair_wide_1mm.glb", OPTIONS.updated(scaled_bbox=[0.501, 0.9, 0.5]))
    write_box(d / "box_ok.obj")
    write_box(d / "box_tall_1mm.obj", size=(0.5, 0.901, 0.5), lift=(0, -0.0005, 0))  # centred on the old box
    write_box(d / "sub" / "box_lifted_1mm.obj", lift=(0, 0.001, 0))
    write_box(d / "box_flipped.obj", size=(0.9, 0.5, 0.5))
    (d / "corrupt.glb").write_bytes(b"glTF" + bytes(range(256)) * 4)
    (d / "sub" / "empty.obj").write_text("# nothing here\n")
    (d / "notes.txt").write_text("not a model\n")
    (d / ".hidden").mkdir()
    write_box(d / ".hidden" / "staged.obj")
    return d


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def files(outputs: Path) -> list[Path]:
    return sorted(p for p in outputs.rglob("*") if p.name in EXPECTED)


def status_of(out: str) -> dict[str, str]:
    """{file name: PASS/FAIL/UNREADABLE} from the per-file lines of the text report."""
    found = {}
    for line in out.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASS", "FAIL", "UNREADABLE", "OK"):
            found[Path(rest.strip().split(":")[0].split(" (")[0]).name] = word
    return found


_WORD = {"passed": "PASS", "failed": "FAIL", "unreadable": "UNREADABLE"}


# ------------------------------------------------------------------ unit of work


def test_check_one_gives_each_generated_output_its_verdict(outputs: Path) -> None:
    for path in files(outputs):
        record = check_one(str(path), OPTIONS.to_dict())
        status, bad = EXPECTED[path.name]
        assert record["status"] == status, (path.name, record)
        assert {c["name"] for c in record["checks"] if not c["passed"]} == bad, path.name
        assert record["path"] == str(path)
        assert json.loads(json.dumps(record)) == record  # plain JSON values
        assert pickle.loads(pickle.dumps(record)) == record
        if status == "unreadable":
            assert record["measured"] is None and record["checks"] == []
            assert record["error"] and "\n" not in record["error"]
        else:
            assert record["error"] is None
            assert record["measured"]["size"] == pytest.approx(
                [0.9, 0.5, 0.5] if "flipped" in path.name else [0.5, 0.9, 0.5], abs=2e-3
            )


def test_check_one_reports_missing_and_unsupported_files_instead_of_raising(tmp_path: Path) -> None:
    assert check_one(str(tmp_path / "nope.glb"))["error"] == "no such file"
    (tmp_path / "a.xyz").write_text("x")
    record = check_one(str(tmp_path / "a.xyz"), OPTIONS.to_dict())
    assert record["status"] == "unreadable" and "unsupported file type '.xyz'" in record["error"]
    with pytest.raises(SpecError):  # a bad request is the caller's error, not the file's
        check_one(str(tmp_path / "a.xyz"), {"pivot_point": [0, 1, 0]})


def test_inspect_one_has_the_inspect_json_fields(outputs: Path) -> None:
    record = inspect_one(str(outputs / "box_ok.obj"))
    assert record["status"] == "ok" and record["error"] is None
    assert record["size"] == pytest.approx([0.5, 0.9, 0.5])
    assert record["pivot_point"] == pytest.approx([0, -0.5, 0])
    bad = inspect_one(str(outputs / "corrupt.glb"))
    assert bad["status"] == "unreadable" and bad["size"] is None and bad["error"]
    assert set(bad) == set(record)


# ------------------------------------------------------------------------ inputs


def test_expand_inputs_recurses_folders_expands_globs_and_keeps_missing_paths(outputs: Path) -> None:
    listed = expand_inputs([outputs])
    assert listed == sorted(listed, key=lambda p: p.relative_to(outputs).parts)
    assert [p.name for p in listed] == [p.name for p in sorted(files(outputs), key=lambda p: p.parts)]
    assert not [p for p in listed if ".hidden" in p.parts or p.suffix == ".txt"]

    pattern = str(outputs / "**" / "*.obj")
    assert {p.name for p in expand_inputs([pattern])} == {n for n in EXPECTED if n.endswith(".obj")}
    # Given explicitly, a file is kept whatever its extension; a missing path or an
    # empty pattern stays in the list (reported as unreadable later); duplicates go.
    items = [outputs / "notes.txt", outputs / "gone.glb", str(outputs / "*.fbx"), outputs / "box_ok.obj", outputs]
    got = expand_inputs(items)
    assert got[:4] == [outputs / "notes.txt", outputs / "gone.glb", outputs / "*.fbx", outputs / "box_ok.obj"]
    assert len(got) == 4 + len(EXPECTED) - 1


def test_expand_inputs_is_deterministic(outputs: Path) -> None:
    items = [str(outputs / "sub"), str(outputs / "*.glb"), str(outputs)]
    assert expand_inputs(items) == expand_inputs(items)


# ------------------------------------------------------------------- the CLI


def test_batch_verdicts_summary_and_exit_code(capsys: pytest.CaptureFixture[str], outputs: Path) -> None:
    code, out, err = run(capsys, "verify", outputs, *SPEC, "--jobs", "1")
    assert (code, err) == (1, "")
    assert status_of(out) == {name: _WORD[status] for name, (status, _) in EXPECTED.items()}
    flipped = next(line for line in out.splitlines() if "box_flipped.obj" in line)
    assert "size_x measured 0.9, expected == 0.5 (tolerance" in flipped
    assert "size_y measured 0.5, expected == 0.9" in flipped
    assert "summary: 9 files: 3 passed, 4 failed, 2 unreadable" in out
    # The worst deviation per check, with its tolerance and file.
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("size_", "pivot_"))}
    assert float(rows["size_x"][1]) == pytest.approx(0.4) and rows["size_x"][4].endswith("box_flipped.obj")
    assert float(rows["pivot_y"][1]) == pytest.approx(0.001, rel=1e-3)
    assert float(rows["pivot_y"][2]) == pytest.approx(1e-6 + 1e-5 * 0.9, rel=1e-3)
    assert "atol 1e-06 m + rtol 1e-05 x size" in out


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (["chair_fit.glb", "box_ok.obj"], 0),
        (["chair_fit.glb", "corrupt.glb"], 3),
        (["box_ok.obj", "empty.obj", "corrupt.glb"], 3),
        (["box_ok.obj", "box_lifted_1mm.obj"], 1),
        (["corrupt.glb", "chair_wide_1mm.glb", "box_ok.obj"], 1),
    ],
)
def test_batch_exit_codes(capsys: pytest.CaptureFixture[str], outputs: Path, names: list[str], code: int) -> None:
    paths = [next(outputs.rglob(n)) for n in names]
    got, out, _ = run(capsys, "verify", *paths, *SPEC, "-j", "1")
    assert got == code, out


def test_files_after_flags_and_missing_files_are_part_of_the_batch(
    capsys: pytest.CaptureFixture[str], outputs: Path
) -> None:
    code, out, err = run(capsys, "verify", outputs / "box_ok.obj", *SPEC, outputs / "gone.glb", "--jobs", "1")
    assert (code, err) == (3, "")
    assert status_of(out) == {"box_ok.obj": "PASS", "gone.glb": "UNREADABLE"}
    assert f"UNREADABLE  {outputs / 'gone.glb'}: no such file" in out
    code, out, _ = run(capsys, "inspect", outputs / "box_ok.obj", outputs / "*.fbx", "-j", "1")
    assert code == 3
    assert f"UNREADABLE  {outputs / '*.fbx'}: no file matches this pattern" in out


def test_json_lines_hold_every_check(capsys: pytest.CaptureFixture[str], outputs: Path) -> None:
    code, out, err = run(capsys, "verify", outputs, *SPEC, "--json", "--jobs", "1")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [Path(r["path"]).name for r in records] == [p.name for p in expand_inputs([outputs])]
    for r in records:
        assert set(r) == {"path", "status", "format", "request", "measured", "checks", "error"}
        status, bad = EXPECTED[Path(r["path"]).name]
        assert r["status"] == status
        assert r["request"]["scaled_bbox"] == [0.5, 0.9, 0.5] and r["request"]["rtol"] == 1e-5
        if status != "unreadable":
            assert [c["name"] for c in r["checks"]] == ["size_x", "size_y", "size_z", "pivot_x", "pivot_y", "pivot_z"]
            for c in r["checks"]:
                assert set(c) == {"name", "measured", "expected", "tolerance", "relation", "passed"}
            assert {c["name"] for c in r["checks"] if not c["passed"]} == bad
            assert set(r["measured"]) == {"min", "max", "size"}
        else:
            assert r["error"]
    assert err.startswith("summary: 9 files")  # the human summary goes to stderr with --json
    _, _, err = run(capsys, "verify", outputs, *SPEC, "--json", "--jobs", "1", "--quiet")
    assert err == ""


def test_junit_report_parses_with_failures_and_errors(
    capsys: pytest.CaptureFixture[str], outputs: Path, tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    code, out, _ = run(capsys, "verify", outputs, *SPEC, "--junit", report, "--jobs", "1", "-q")
    assert code == 1
    assert "PASS" not in out and "FAIL" in out  # --quiet lists only files that did not pass
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert int(suite.get("tests", "")) == len(cases) == 7 * 6 + 2
    assert int(suite.get("failures", "")) == sum(len(bad) for _, bad in EXPECTED.values()) == 6
    assert int(suite.get("errors", "")) == 2
    by_id = {(Path(c.get("classname", "")).name, c.get("name")): c for c in cases}
    fail = by_id[("box_lifted_1mm.obj", "pivot_y")].find("failure")
    assert fail is not None
    message = fail.get("message", "")
    assert "measured 0.001" in message and "expected == 0" in message and "tolerance" in message
    assert "tolerance=" in (fail.text or "")
    assert by_id[("box_ok.obj", "size_x")].find("failure") is None
    error = by_id[("corrupt.glb", "read")].find("error")
    assert error is not None and error.get("type") == "unreadable" and error.get("message")


def test_junit_for_a_single_file_too(capsys: pytest.CaptureFixture[str], outputs: Path, tmp_path: Path) -> None:
    report = tmp_path / "one.xml"
    code, out, _ = run(capsys, "verify", outputs / "box_ok.obj", *SPEC, "--junit", report)
    assert code == 0 and "verified: all 6 checks hold" in out  # the one-file report, as before
    names = [case.get("name") for case in ET.parse(report).getroot().iter("testcase")]
    assert names == ["size_x", "size_y", "size_z", "pivot_x", "pivot_y", "pivot_z"]
    code, _, err = run(capsys, "verify", outputs / "corrupt.glb", *SPEC, "--junit", report)
    assert code == 3 and err.startswith("meshpivot: error: ")
    assert ET.parse(report).getroot().find("testsuite/testcase/error") is not None


def test_parallel_output_is_identical_to_serial_and_keeps_input_order(
    capsys: pytest.CaptureFixture[str], outputs: Path
) -> None:
    # An order that is neither sorted nor the folder's: it must come back as given.
    order = [*reversed(files(outputs)), outputs / "gone.obj"]
    for fmt in ([], ["--json"]):
        serial = run(capsys, "verify", *order, *SPEC, *fmt, "--jobs", "1")
        parallel = run(capsys, "verify", *order, *SPEC, *fmt, "--jobs", "2")
        assert parallel == serial
        assert serial[0] == 1
    names = [Path(json.loads(line)["path"]).name for line in serial[1].splitlines()]
    assert names == [p.name for p in order]


def test_verify_many_api_matches_serial_and_accepts_a_request_per_file(outputs: Path) -> None:
    serial = verify_many([outputs], OPTIONS, jobs=1)
    assert [r["status"] for r in serial] == [EXPECTED[Path(r["path"]).name][0] for r in serial]
    assert verify_many([outputs], OPTIONS.to_dict(), jobs=1) == serial  # a settings mapping works too

    def per_file(path: Path) -> FitOptions:
        return OPTIONS.updated(scaled_bbox=[0.9, 0.5, 0.5]) if "flipped" in path.name else OPTIONS

    records = verify_many([outputs / "box_flipped.obj", outputs / "box_ok.obj"], per_file, jobs=1)
    assert [r["status"] for r in records] == ["passed", "passed"]
    assert [r["status"] for r in inspect_many([outputs / "box_ok.obj", outputs / "corrupt.glb"], jobs=1)] == [
        "ok",
        "unreadable",
    ]


# ------------------------------------------------------------------- requests


def test_settings_under_input_settings(capsys: pytest.CaptureFixture[str], outputs: Path, tmp_path: Path) -> None:
    body = {"input": {"image_url": "x.png", "settings": {"scaled_bbox": [0.5, 0.9, 0.5], "pivot_point": [0, -0.5, 0]}}}
    settings = tmp_path / "session.json"
    settings.write_text(json.dumps(body))
    code, out, _ = run(capsys, "verify", outputs, "--settings", settings, "-j", "1")
    assert code == 1
    assert status_of(out) == {name: _WORD[status] for name, (status, _) in EXPECTED.items()}


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    d = tmp_path / "job"
    d.mkdir()
    write_box(d / "one_m.obj", size=(1, 1, 1))  # bottom centre
    write_box(d / "tall.obj", size=(0.5, 2, 0.5), lift=(0, -1, 0))  # centred
    write_box(d / "fit.obj", size=(0.5, 1, 0.25), lift=(0, -0.5, 0))  # fits 1 x 1 x 1 without distortion
    write_box(d / "spec.obj")  # the flags' request
    return d


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "scaled_bbox", "pivot_point", "preserve_aspect_ratio", "note"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_manifest_csv_gives_each_file_its_request(
    capsys: pytest.CaptureFixture[str], manifest_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _write_csv(
        manifest_dir / "outputs.csv",
        [
            {"path": "tall.obj", "scaled_bbox": "[0.5, 2, 0.5]", "pivot_point": "0 0 0", "note": "centred"},
            {"path": "one_m.obj", "scaled_bbox": "1 1 1", "pivot_point": "0,-0.5,0", "preserve_aspect_ratio": ""},
            {"path": "fit.obj", "scaled_bbox": "1 1 1", "pivot_point": "", "preserve_aspect_ratio": "true"},
        ],
    )
    monkeypatch.chdir(tmp_path)  # paths are relative to the manifest, not to the working folder
    # Without PATHs: the manifest's files, in its order. --pivot fills the empty cell of fit.obj.
    code, out, _ = run(capsys, "verify", "--manifest", manifest, "--pivot", "0", "0", "0", "-j", "1")
    assert code == 0, out
    assert [line.split()[1] for line in out.splitlines()[:3]] == [
        str(manifest_dir / n) for n in ("tall.obj", "one_m.obj", "fit.obj")
    ]
    assert "summary: 3 files: 3 passed" in out and "fills_target" in out
    # With PATHs: those files; one not in the manifest uses the flags.
    code, out, _ = run(capsys, "verify", manifest_dir, "--manifest", manifest, *SPEC, "-j", "1")
    assert code == 1
    assert status_of(out) == {"fit.obj": "FAIL", "one_m.obj": "PASS", "spec.obj": "PASS", "tall.obj": "PASS"}
    # fit.obj's row says nothing of the pivot, and --pivot 0 -0.5 0 does not describe it.
    assert "pivot_y" in next(line for line in out.splitlines() if "fit.obj" in line)


def test_manifest_jsonl_rows_with_settings_objects(capsys: pytest.CaptureFixture[str], manifest_dir: Path) -> None:
    rows = [
        {"path": "one_m.obj", "scaled_bbox": [1, 1, 1], "pivot_point": [0, -0.5, 0]},
        {"path": str(manifest_dir / "tall.obj"), "settings": {"scaled_bbox": [0.5, 2, 0.5]}},
        {"path": "spec.obj", "input": {"settings": {"scaled_bbox": [0.5, 0.8, 0.5], "pivot_point": [0, -0.5, 0]}}},
        {"path": "fit.obj"},
    ]
    manifest = manifest_dir / "outputs.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [p.name for p, _ in read_manifest(manifest)] == ["one_m.obj", "tall.obj", "spec.obj", "fit.obj"]
    code, out, _ = run(capsys, "verify", "--manifest", manifest, "--json", "-j", "1")
    records = {Path(r["path"]).name: r for r in map(json.loads, out.splitlines())}
    assert code == 1
    assert {n: r["status"] for n, r in records.items()} == {
        "one_m.obj": "passed",
        "tall.obj": "passed",  # centre pivot: the default
        "spec.obj": "failed",  # 0.9 tall, asked 0.8
        "fit.obj": "passed",  # no request in the row: the default (centre pivot), which it has
    }
    assert records["spec.obj"]["request"]["scaled_bbox"] == [0.5, 0.8, 0.5]


@pytest.mark.parametrize(
    ("text", "fragment", "code"),
    [
        ("path,scaled_bbox\na.obj,1 2\n", "line 2: scaled_bbox is [1.0, 2.0]", 2),
        ("path,pivot_point\na.obj,0 0\nb.obj,0 0.7 0\n", "line 2: pivot_point", 2),
        ("file,scaled_bbox\na.obj,1 1 1\n", "no 'path' column", 2),
        ("path,preserve_aspect_ratio\na.obj,maybe\n", "preserve_aspect_ratio is 'maybe'", 2),
    ],
)
def test_bad_manifests_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, fragment: str, code: int
) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(text)
    got, out, err = run(capsys, "verify", "--manifest", manifest)
    assert got == code and out == ""
    assert len(err.splitlines()) == 1 and err.startswith(f"meshpivot: error: {manifest}: ")
    assert fragment in err
    got, _, err = run(capsys, "verify", "--manifest", tmp_path / "missing.jsonl")
    assert got == 3 and "cannot read the manifest" in err


def test_no_files_found_is_an_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    code, out, err = run(capsys, "verify", tmp_path, "-j", "1")
    assert code == 3 and out == ""
    assert err.startswith("meshpivot: error: no files to verify") and len(err.splitlines()) == 1
    code, _, err = run(capsys, "verify")
    assert code == 2 and "required: PATH" in err
    code, _, err = run(capsys, "verify", tmp_path, "--jobs", "0")
    assert code == 2 and "--jobs" in err


# -------------------------------------------------------------------- inspect


def test_inspect_many(capsys: pytest.CaptureFixture[str], outputs: Path) -> None:
    code, out, _ = run(capsys, "inspect", outputs / "box_ok.obj", outputs / "box_flipped.obj", "-j", "1")
    assert code == 0
    assert "OK          " in out and "size 0.9 x 0.5 x 0.5 m" in out and "summary: 2 files: 2 ok, 0 unreadable" in out
    code, out, _ = run(capsys, "inspect", outputs, "--json", "-j", "1")
    assert code == 3
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(EXPECTED)
    assert {r["status"] for r in records} == {"ok", "unreadable"}


# ------------------------------------------------------------ progress bar


def test_progress_bar_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tqdm")
    paths = [outputs / "box_ok.obj", outputs / "box_flipped.obj"]
    _, _, err = run(capsys, "verify", *paths, *SPEC, "--json", "-q", "-j", "1")
    assert err == ""  # not a terminal: no bar
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _, out, err = run(capsys, "verify", *paths, *SPEC, "--json", "-j", "1")
    assert "0/2" in err and "file" in err
    assert len(out.splitlines()) == 2
    _, _, err = run(capsys, "verify", *paths, *SPEC, "--json", "-j", "1", "--quiet")
    assert err == ""


# ----------------------------------------------------------- crash isolation


@pytest.fixture
def twenty(tmp_path: Path) -> list[Path]:
    paths = [write_box(tmp_path / f"box_{i:02d}.obj") for i in range(20)]
    crash = tmp_path / "box_07_crash_me.obj"
    paths[7].rename(crash)
    paths[7] = crash
    return paths


@pytest.fixture(params=["forked", "executor"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of running workers: forked processes on pipes (Linux) and the spawned
    ProcessPoolExecutor that other platforms use."""
    if request.param == "executor":
        monkeypatch.setattr(batch, "_START_METHOD", "spawn")
    elif batch._START_METHOD != "fork":
        pytest.skip("workers are forked only on Linux")
    return str(request.param)


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail a test that would otherwise wait forever (a worker that never gets its task)."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimeoutError("the batch did not end within 120 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, 120)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def reruns(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The files a batch re-runs one process each (after a worker died), in call order."""
    seen: list[int] = []
    isolated = batch._run_isolated

    def spy(kind: Any, tasks: Any, indices: list[int], timeout: Any) -> Any:
        seen.extend(indices)
        return isolated(kind, tasks, indices, timeout)

    monkeypatch.setattr(batch, "_run_isolated", spy)
    return seen


def children() -> set[int]:
    """The live child processes of this one (Linux)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_crashing_reader_loses_no_other_result(
    capsys: pytest.CaptureFixture[str],
    twenty: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    engine: str,
) -> None:
    monkeypatch.setenv(CRASH_TEST_ENV, "crash_me")
    report = tmp_path / "r.xml"
    code, out, err = run(capsys, "verify", *twenty, *SPEC, "--jobs", "2", "--junit", report)
    assert code == 3, out
    assert err == ""
    lines = out.splitlines()[:20]
    assert [line.split()[1].rstrip(":") for line in lines] == [str(p) for p in twenty]
    assert lines[7] == f"UNREADABLE  {twenty[7]}: reader crashed: signal 11 (SIGSEGV)"
    assert all(line.startswith("PASS ") for i, line in enumerate(lines) if i != 7)
    assert "summary: 20 files: 19 passed, 0 failed, 1 unreadable" in out
    assert ET.parse(report).getroot().get("errors") == "1"


def test_each_dead_worker_is_replaced_and_the_batch_goes_on(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch, deadline: None, reruns: list[int]
) -> None:
    # Three crashes with two workers: every worker dies at least once, and the files
    # behind and between the crashes still get their verdicts, in input order.
    monkeypatch.setenv(CRASH_TEST_ENV, "crash_me")
    paths = list(twenty)
    for k in (0, 12, 19):
        paths[k] = paths[k].rename(paths[k].with_name(f"box_{k:02d}_crash_me.obj"))
    records = verify_many(paths, OPTIONS, jobs=2)
    assert sorted(reruns) == [0, 7, 12, 19]  # only the files the dead workers held
    assert [r["path"] for r in records] == [str(p) for p in paths]
    crashed = {i for i, r in enumerate(records) if r["status"] == "unreadable"}
    assert crashed == {0, 7, 12, 19}
    assert {records[i]["error"] for i in crashed} == {"reader crashed: signal 11 (SIGSEGV)"}
    assert all(r["status"] == "passed" for i, r in enumerate(records) if i not in crashed)


def test_more_files_than_the_task_pipe_holds(tmp_path: Path, deadline: None, reruns: list[int]) -> None:
    # 20,000 task numbers are 80 KB, more than a pipe holds (64 KB): the parent feeds
    # the rest as the workers take them. Missing files make quick, distinct records.
    paths = [tmp_path / f"missing_{k:05d}.stl" for k in range(20_000)]
    parallel = inspect_many(paths, jobs=2)
    assert parallel == inspect_many(paths, jobs=1)
    assert [r["path"] for r in parallel] == [str(p) for p in paths]
    assert {r["status"] for r in parallel} == {"unreadable"}
    assert reruns == []  # every file ran in the pool


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")
def test_stopping_early_stops_the_workers(twenty: list[Path], deadline: None) -> None:
    before = children()
    records = batch.run_many(twenty, OPTIONS, jobs=2)
    assert next(records)["path"] == str(twenty[0])
    assert children() - before  # the workers are busy with the rest
    records.close()  # as a Ctrl-C or a caller that has seen enough would
    assert not children() - before  # killed and reaped, not left to finish


def test_workers_that_die_outside_any_file_are_an_internal_error(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    _forked_only()
    started = []
    fork = os.fork

    def counted() -> int:
        started.append(1)
        return fork()

    monkeypatch.setattr(os, "fork", counted)
    monkeypatch.setattr(batch, "_worker_init", lambda *args: os._exit(5))
    with pytest.raises(
        InternalError, match=r"ended before the batch did \(the worker process exited with code 5\)"
    ):
        verify_many(twenty, OPTIONS, jobs=2)
    assert len(started) == 2 + batch._FUTILE_STARTS * 2  # replaced a while, then given up


def _forked_only() -> None:
    if batch._START_METHOD != "fork":
        pytest.skip("workers are forked only on Linux")


@pytest.mark.parametrize(("jobs", "timeout"), [(1, 30.0), (2, None)])
def test_a_worker_killed_between_two_files_is_replaced(
    twenty: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    deadline: None,
    reruns: list[int],
    jobs: int,
    timeout: float | None,
) -> None:
    # An outside SIGKILL (the OOM killer, say) just after a worker sent a record: it held
    # no file, and its place is taken all the same. With one job nothing else is left.
    _forked_only()
    write = batch._write_all

    def write_then_die(fd: int, data: bytes) -> None:
        write(fd, data)
        if batch._RECORD.unpack_from(data)[0] == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(batch, "_write_all", write_then_die)
    records = list(batch.run_many(twenty[:8], OPTIONS, jobs, timeout=timeout))
    assert [(r["path"], r["status"]) for r in records] == [(str(p), "passed") for p in twenty[:8]]
    assert reruns == []


def test_a_file_taken_by_a_worker_killed_before_it_said_so_is_run_again(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch, deadline: None, reruns: list[int]
) -> None:
    # Killed between reading a task number and noting it in its slot: nobody holds
    # file 3, which is run again on its own at the end.
    _forked_only()
    real = batch._NUMBER

    class Numbers:
        size = real.size
        pack = staticmethod(real.pack)

        @staticmethod
        def unpack(raw: bytes) -> tuple[int]:
            (i,) = real.unpack(raw)
            if i == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return (i,)

    monkeypatch.setattr(batch, "_NUMBER", Numbers)
    records = verify_many(twenty[:8], OPTIONS, jobs=1, timeout=30)
    assert [(r["path"], r["status"]) for r in records] == [(str(p), "passed") for p in twenty[:8]]
    assert reruns == [3]


def test_time_spent_handing_over_a_record_is_not_reading_time(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # Records larger than a pipe holds wait for a consumer that is busy (a slow terminal,
    # a pager): the workers are done reading and must not be killed for the timeout.
    _forked_only()

    def big(path: str, _options: Any = None) -> dict[str, Any]:
        return {"path": path, "status": "ok", "blob": "x" * 300_000}

    monkeypatch.setitem(batch._WORKERS, "inspect", big)
    records = batch.run_many(twenty[:6], kind="inspect", jobs=2, timeout=1.0)
    first = next(records)
    time.sleep(2.0)
    rest = list(records)
    assert [r["path"] for r in [first, *rest]] == [str(p) for p in twenty[:6]]
    assert {r["status"] for r in [first, *rest]} == {"ok"}, [r.get("error") for r in rest]


def test_the_parent_lets_records_gather_while_files_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # Woken for every record, the parent would take CPU time that the workers need; while
    # files wait in the task pipe it looks at the pipes every _GATHER_SECONDS instead.
    # About 0.2 s of work: some 60 looks here, against 340-380 without the pauses.
    _forked_only()

    def a_millisecond(path: str, _options: Any = None) -> dict[str, Any]:
        time.sleep(0.001)
        return {"path": path, "status": "ok"}

    looks = 0
    ready = batch._ready

    def counted(poller: Any, timeout: float | None) -> list[int]:
        nonlocal looks
        looks += 1
        return ready(poller, timeout)

    monkeypatch.setitem(batch._WORKERS, "inspect", a_millisecond)
    monkeypatch.setattr(batch, "_ready", counted)
    paths = [str(tmp_path / f"file_{k:03d}.stl") for k in range(400)]
    records = list(batch.run_many(paths, kind="inspect", jobs=2))
    assert sorted(r["path"] for r in records) == paths
    assert looks < len(paths) / 3, looks


def test_the_parent_pauses_less_as_the_task_pipe_runs_dry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # A full pause while the last files are read kept their records waiting once the
    # workers were done: the pause is cut to the time the task pipe should last.
    _forked_only()
    starts = tmp_path / "starts"

    def a_millisecond(path: str, _options: Any = None) -> dict[str, Any]:
        with open(starts, "a") as f:  # one short appended line per file, from either worker
            f.write(f"{time.monotonic()!r}\n")
        time.sleep(0.001)
        return {"path": path, "status": "ok"}

    calls: list[tuple[float, int]] = []
    chosen: list[float] = []
    slept: list[float] = []
    pause, sleep, ready = batch._gather_pause, time.sleep, batch._ready
    since = [time.monotonic()]  # a moment before the parent last counted the files waiting
    parent = os.getpid()

    def looked(poller: Any, timeout: float | None) -> list[int]:
        found = ready(poller, timeout)
        since[0] = time.monotonic()  # the next count comes after this
        return found

    def noted(waiting: int, taken: int, elapsed: float) -> float:
        calls.append((since[0], waiting))
        chosen.append(pause(waiting, taken, elapsed))
        return chosen[-1]

    def sleeping(seconds: float) -> None:
        if os.getpid() == parent:  # the workers sleep in a_millisecond
            slept.append(seconds)
        sleep(seconds)

    monkeypatch.setitem(batch._WORKERS, "inspect", a_millisecond)
    monkeypatch.setattr(batch, "_ready", looked)
    monkeypatch.setattr(batch, "_gather_pause", noted)
    monkeypatch.setattr(time, "sleep", sleeping)
    # Longer full pauses than the 4 ms default: files that a busy machine stretches to a few
    # milliseconds still empty the pipe in less than one of them, near the end.
    monkeypatch.setattr(batch, "_GATHER_SECONDS", 0.03)
    paths = [str(tmp_path / f"file_{k:03d}.stl") for k in range(150)]
    records = list(batch.run_many(paths, kind="inspect", jobs=2))
    assert sorted(r["path"] for r in records) == paths
    began = sorted(float(t) for t in starts.read_text().split())
    assert len(began) == len(paths) and calls
    # Before a look, the files not begun yet are at least those still waiting at the look.
    overshoot = [waiting - sum(t > when for t in began) for when, waiting in calls]
    assert max(overshoot) <= 0, overshoot
    # Every pause is one that _gather_pause chose (shorter near the end), none a fixed one.
    assert slept == chosen
    assert min(chosen) < batch._GATHER_SECONDS  # the pipe ran low while looks were still paused


@given(
    waiting=st.integers(0, 10**6),
    taken=st.integers(0, 10**6),
    elapsed=st.floats(0.0, 1e4, allow_nan=False),
)
def test_a_gather_pause_is_short_of_the_time_left_in_the_task_pipe(waiting: int, taken: int, elapsed: float) -> None:
    pause = batch._gather_pause(waiting, taken, elapsed)
    assert 0.0 <= pause <= batch._GATHER_SECONDS
    if taken == 0:
        assert pause == batch._GATHER_SECONDS  # no pace known yet
    else:
        assert pause <= 0.5 * waiting * elapsed / taken * (1 + 1e-12)  # half the time to empty it
        assert batch._gather_pause(waiting + 1, taken, elapsed) >= pause


def test_a_forked_worker_imports_each_reader_once_and_not_against_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # The reader of an extension is imported (slowly, here) once per worker, before the
    # file's time starts: a timeout shorter than the import does not end the file. An
    # import that failed is tried again for the next file of its extension.
    _forked_only()
    imports = tmp_path / "imports"

    def slow_import(path: str) -> bool:
        ext = os.path.splitext(path)[1]
        with open(imports, "a") as f:
            f.write(ext + "\n")
        if ext == ".OBJ":
            return False  # failed (the worker function would say why, for each file)
        time.sleep(1.2)
        return True

    def quick(path: str, _options: Any = None) -> dict[str, Any]:
        return {"path": path, "status": "ok"}

    monkeypatch.setitem(batch._WORKERS, "inspect", quick)
    monkeypatch.setattr(batch, "_preload", slow_import)
    paths = [str(tmp_path / f"file_{k:02d}.{'stl' if k % 2 else 'OBJ'}") for k in range(30)]
    records = list(batch.run_many(paths, kind="inspect", jobs=2, timeout=1.0))
    assert [r["path"] for r in records] == paths
    assert {r["status"] for r in records} == {"ok"}, [r.get("error") for r in records]
    seen = imports.read_text().split()
    assert seen.count(".OBJ") == 15  # failed each time: tried for each file
    assert 1 <= seen.count(".stl") <= 2, seen  # once per worker, not once per file


def test_records_larger_than_a_pipe_are_read_without_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # A 300 KB record fills the worker's pipe several times over, the worker blocked
    # writing meanwhile: the parent reads on without pausing between the parts.
    _forked_only()

    def big(path: str, _options: Any = None) -> dict[str, Any]:
        return {"path": path, "status": "ok", "blob": "x" * 300_000}

    pauses = 0
    sleep = time.sleep

    def counted(seconds: float) -> None:
        nonlocal pauses
        pauses += 1  # the parent sleeps only to let records gather
        sleep(seconds)

    monkeypatch.setitem(batch._WORKERS, "inspect", big)
    monkeypatch.setattr(time, "sleep", counted)
    paths = [str(tmp_path / f"file_{k:02d}.stl") for k in range(40)]
    records = list(batch.run_many(paths, kind="inspect", jobs=2))
    assert sorted(r["path"] for r in records) == paths
    assert pauses <= len(paths), pauses  # at most one per record, not one per 64 KiB


def test_a_crash_is_handled_when_sigchld_is_ignored(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch, deadline: None
) -> None:
    # The system then reaps the children itself: waiting for the dead worker finds nothing.
    _forked_only()
    monkeypatch.setenv(CRASH_TEST_ENV, "crash_me")
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        records = verify_many(twenty, OPTIONS, jobs=2)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert [r["path"] for r in records] == [str(p) for p in twenty]
    assert [r["status"] for r in records] == ["passed"] * 7 + ["unreadable"] + ["passed"] * 12


def test_batches_in_two_threads_at_once(twenty: list[Path], deadline: None) -> None:
    # Forks take turns with the opening and closing of pipe ends: a worker forked for one
    # batch holds none of the other's (the death of one of its workers would go unseen).
    serial = verify_many(twenty, OPTIONS, jobs=1)
    found: list[object] = []

    def run() -> None:
        for _ in range(4):
            try:
                found.append(verify_many(twenty, OPTIONS, jobs=2) == serial)
            except Exception as exc:  # reported below, with the thread's result
                found.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert found == [True] * 8
    assert not batch._BATCH_FDS  # every pipe end of both batches closed


def test_a_record_that_cannot_be_sent_is_reported_for_its_file(
    twenty: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _forked_only()

    def odd(path: str, options: Any = None) -> dict[str, Any]:
        record = check_one(path, options)
        if "box_05" in path:
            record["extra"] = lambda: None  # not picklable: a bug in a worker function
        return record

    monkeypatch.setitem(batch._WORKERS, "verify", odd)
    records = verify_many(twenty[:8], OPTIONS, jobs=2)
    assert [r["status"] for r in records] == ["passed"] * 5 + ["unreadable"] + ["passed"] * 2
    assert "pickle" in str(records[5]["error"])


def test_workers_left_to_exit_on_their_own_are_reaped(twenty: list[Path], deadline: None) -> None:
    _forked_only()
    verify_many(twenty[:4], OPTIONS, jobs=2)
    left = list(batch._unreaped)
    deadline = time.monotonic() + 30
    while batch._unreaped and time.monotonic() < deadline:
        time.sleep(0.01)
        batch._reap()
    assert not batch._unreaped
    for pid in left:
        with pytest.raises(ChildProcessError):  # no zombie left behind
            os.waitpid(pid, os.WNOHANG)


def test_crash_hook_is_inert_in_the_main_process(twenty: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CRASH_TEST_ENV, "crash_me")
    assert check_one(str(twenty[7]), OPTIONS.to_dict())["status"] == "passed"


# ------------------------------------------------------------------------ Dask


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[tuple[object, str]]:
    """An in-process LocalCluster (threads: fast to start) and a client of it."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client, cluster.scheduler_address


def test_verify_many_on_dask_equals_serial(outputs: Path, dask_cluster: tuple[object, str]) -> None:
    client, _ = dask_cluster
    serial = verify_many([outputs], OPTIONS, jobs=1)
    assert verify_many([outputs], OPTIONS, client=client) == serial
    assert inspect_many([outputs], client=client) == inspect_many([outputs], jobs=1)


def test_cli_dask_scheduler(
    capsys: pytest.CaptureFixture[str], outputs: Path, dask_cluster: tuple[object, str]
) -> None:
    _, address = dask_cluster
    serial = run(capsys, "verify", outputs, *SPEC, "--json", "-j", "1")
    on_dask = run(capsys, "verify", outputs, *SPEC, "--json", "--dask-scheduler", address)
    assert on_dask == serial


def test_cli_dask_scheduler_without_dask(
    capsys: pytest.CaptureFixture[str], outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    code, out, err = run(capsys, "verify", outputs, "--dask-scheduler", "tcp://127.0.0.1:1")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "meshpivot: error: --dask-scheduler needs dask.distributed, which is not installed: "
        "pip install 'meshpivot[dask]'"
    ]


# --------------------------------------------------------------- report helpers


def test_summarize_and_junit_from_records() -> None:
    records = [
        {"path": "a.glb", "status": "passed", "checks": [_check("size_x", 1.0, 1.0)]},
        {"path": "b.glb", "status": "failed", "checks": [_check("size_x", 1.2, 1.0, passed=False)]},
        {"path": "c.glb", "status": "passed", "checks": [_check("size_x", 0.5, 1.0, relation="<=")]},
        {"path": "d.glb", "status": "unreadable", "checks": [], "error": "no such file"},
    ]
    summary = summarize(records)
    assert summary.counts == {"passed": 2, "failed": 1, "unreadable": 1} and summary.total == 4
    (stat,) = summary.checks
    assert (stat.name, stat.path, stat.failed) == ("size_x", "b.glb", 1)
    assert stat.deviation == pytest.approx(0.2)  # an at-most check under its target deviates by 0
    root = junit_xml(records).getroot()
    assert root.get("tests") == "4" and root.get("failures") == "1" and root.get("errors") == "1"


def _check(
    name: str, measured: float, expected: float, *, passed: bool = True, relation: str = "=="
) -> dict[str, object]:
    return {
        "name": name,
        "measured": measured,
        "expected": expected,
        "tolerance": 1e-5,
        "relation": relation,
        "passed": passed,
    }


def test_copying_a_folder_keeps_verdicts(outputs: Path, tmp_path: Path) -> None:
    """Verdicts depend on the files, not on where they are: a copied folder gives the same ones."""
    copy = tmp_path / "copy"
    shutil.copytree(outputs, copy)
    here = [(Path(r["path"]).name, r["status"]) for r in verify_many([outputs], OPTIONS, jobs=1)]
    there = [(Path(r["path"]).name, r["status"]) for r in verify_many([copy], OPTIONS, jobs=1)]
    assert here == there


def test_verify_many_on_a_cluster_of_worker_processes(outputs: Path) -> None:
    """check_one and its records cross process boundaries: a LocalCluster with a worker process."""
    distributed = pytest.importorskip("distributed")
    paths = [outputs / "box_ok.obj", outputs / "chair_fit.glb", outputs / "box_flipped.obj", outputs / "corrupt.glb"]
    with (
        distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        assert verify_many(paths, OPTIONS, client=client) == verify_many(paths, OPTIONS, jobs=1)


def test_a_hanging_reader_times_out_and_the_others_finish(
    capsys: pytest.CaptureFixture[str],
    twenty: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
    reruns: list[int],
) -> None:
    monkeypatch.setenv(HANG_TEST_ENV, "box_03")
    paths = twenty[:6]
    code, out, err = run(capsys, "verify", *paths, *SPEC, "--jobs", "2", "--timeout", "1.5")
    assert (code, err) == (3, "")
    lines = out.splitlines()[:6]
    assert [line.split()[1].rstrip(":") for line in lines] == [str(p) for p in paths]
    assert lines[3] == f"UNREADABLE  {paths[3]}: timed out after 1.5 s (the reader was stopped)"
    assert sum(line.startswith("PASS ") for line in lines) == 5, out
    if engine == "forked":
        assert 3 not in reruns  # reported as it was stopped, not tried again


@pytest.mark.parametrize(("paths", "loaded"), [(["a.obj", "b.GLB"], True), (["a.obj", "b.stl"], False)])
def test_the_gltf_engine_is_loaded_before_workers_are_forked(paths: list[str], loaded: bool) -> None:
    # Forked workers then start ready; other readers load in the worker that needs them.
    import subprocess

    code = (
        "import sys\n"
        "from meshpivot import batch\n"
        f"batch._load_before_fork([(p, None) for p in {paths!r}])\n"
        "print(sorted(m for m in ('numpy', 'meshpivot.gltf', 'trimesh') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(["meshpivot.gltf", "numpy"] if loaded else [])
