"""The ``meshpivot`` command line: every command, every exit code, every bad input.

Most tests run the CLI in-process through :func:`meshpivot.cli.main` (fast); a few
run the installed console script and ``python -m meshpivot`` to prove the entry
points and that no traceback reaches the user. Inputs are small OBJ/PLY/STL files
written by the tests themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

import meshpivot
from meshpivot import cli
from meshpivot.errors import EXIT_CODES
from meshpivot.formats import KNOWN_EXTENSIONS

SAMPLES = Path(__file__).resolve().parents[1] / "samples"

Vec = tuple[float, float, float]

# ---------------------------------------------------------------------- fixtures


def _box_corners(lo: Vec, hi: Vec) -> list[Vec]:
    return [(x, y, z) for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])]


# Twelve triangles of a box over the corners above (0-based, outward winding not needed).
_BOX_FACES = [
    (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5),
    (0, 4, 5), (0, 5, 1), (2, 3, 7), (2, 7, 6),
    (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
]  # fmt: skip


def _num(v: float) -> str:
    return repr(float(v))


def write_obj(path: Path, lo: Vec = (1, 2, 3), hi: Vec = (3, 6, 4)) -> Path:
    """A box OBJ from ``lo`` to ``hi`` (default 2 x 4 x 1 m, away from the origin)."""
    lines = ["# box", "o box"]
    lines += [f"v {_num(x)} {_num(y)} {_num(z)}" for x, y, z in _box_corners(lo, hi)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in _BOX_FACES]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ply(path: Path, lo: Vec = (1, 2, 3), hi: Vec = (3, 6, 4)) -> Path:
    corners = _box_corners(lo, hi)
    head = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(corners)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(_BOX_FACES)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    body = [f"{_num(x)} {_num(y)} {_num(z)}" for x, y, z in corners]
    body += [f"3 {a} {b} {c}" for a, b, c in _BOX_FACES]
    path.write_text("\n".join(head + body) + "\n")
    return path


def write_stl(path: Path, lo: Vec = (1, 2, 3), hi: Vec = (3, 6, 4)) -> Path:
    corners = _box_corners(lo, hi)
    lines = ["solid box"]
    for tri in _BOX_FACES:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [
            f"      vertex {_num(corners[i][0])} {_num(corners[i][1])} {_num(corners[i][2])}" for i in tri
        ]
        lines += ["    endloop", "  endfacet"]
    lines.append("endsolid box")
    path.write_text("\n".join(lines) + "\n")
    return path


WRITERS = {".obj": write_obj, ".ply": write_ply, ".stl": write_stl}


def write_quad_obj(path: Path) -> Path:
    """A flat 2 x 1 m quad in the XY plane (zero depth)."""
    path.write_text("v 0 0 0\nv 2 0 0\nv 2 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> str:
    """stderr is exactly one ``meshpivot: error: ...`` line holding ``fragments``."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert err.endswith("\n")
    line = lines[0]
    assert line.startswith("meshpivot: error: "), line
    for f in fragments:
        assert f in line, (f, line)
    return line


def assert_nothing_written(out_dir: Path, *keep: Path) -> None:
    """No output and no staging folder: only the files in ``keep`` remain."""
    names = sorted(p.name for p in out_dir.iterdir())
    assert not [n for n in names if n.startswith(".meshpivot-")], names
    assert names == sorted(p.name for p in keep), names


# ----------------------------------------------------------------------- help


def test_help_lists_commands_formats_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert code == 0 and err == ""
    for command in ("apply", "verify", "inspect"):
        assert command in out
    for ext in KNOWN_EXTENSIONS:
        assert ext.lstrip(".") in out
    for exit_code in EXIT_CODES:
        assert f"\n  {exit_code} " in out
    assert "130" in out


@pytest.mark.parametrize("command", ["apply", "verify", "inspect"])
def test_command_help_has_examples_and_exit_codes(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, err = run(capsys, command, "--help")
    assert code == 0 and err == ""
    assert f"meshpivot {command} " in out.split("examples:")[1]
    assert "exit codes:" in out
    for exit_code in EXIT_CODES:
        assert f"\n  {exit_code} " in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import meshpivot

    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"meshpivot {meshpivot.__version__}"


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert_one_error_line(err, "command is required")


def test_unknown_command_and_flag_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "fit", "x.obj")
    assert code == 2
    assert_one_error_line(err, "invalid choice")
    src = write_obj(tmp_path / "in.obj")
    code, _, err = run(capsys, "inspect", src, "--bogus")
    assert code == 2
    assert_one_error_line(err, "--bogus", "meshpivot inspect --help")


# ---------------------------------------------------------------------- apply


def test_apply_fits_size_and_pivot_and_reports_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")  # 2 x 4 x 1 m at (1, 2, 3)
    before = sha(src)
    dst = tmp_path / "out.obj"
    code, out, err = run(
        capsys, "apply", src, dst, "--scaled-bbox", "1", "-1", "-1", "--pivot", "0", "-0.5", "0"
    )
    assert (code, err) == (0, "")
    assert dst.is_file() and sha(src) == before
    assert "size    2 x 4 x 1 m  ->  1 x 2 x 0.5 m" in out
    assert "min     1, 2, 3  ->  -0.5, 0, -0.25" in out
    assert "max     3, 6, 4  ->  0.5, 2, 0.25" in out
    assert (
        "pivot   0, -0.5, 0 (x centre, y bottom, z centre): input point 2, 2, 3.5 moved to the origin" in out
    )
    assert "scale   0.5 x 0.5 x 0.5 (uniform)" in out
    assert "mode " in out
    assert f"wrote   {dst}" in out

    code, out, err = run(capsys, "verify", dst, "--scaled-bbox", "1", "-1", "-1", "--pivot", "0", "-0.5", "0")
    assert (code, err) == (0, "")
    assert "verified: all 4 checks hold" in out

    code, out, _ = run(capsys, "inspect", dst, "--json")
    data = json.loads(out)
    assert data["size"] == pytest.approx([1, 2, 0.5])
    assert data["min"][1] == 0.0  # the bottom pivot is exact
    assert data["pivot_point"] == pytest.approx([0, -0.5, 0])


def test_apply_stretches_each_axis(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    code, out, _ = run(
        capsys, "apply", src, dst, "--scaled-bbox", "1", "2", "3", "--pivot", "-0.5", "0.5", "0"
    )
    assert code == 0
    assert "scale   0.5 x 0.5 x 3 (per axis)" in out
    code, out, _ = run(capsys, "verify", dst, "--scaled-bbox", "1", "2", "3", "--pivot", "-0.5", "0.5", "0")
    assert code == 0, out


@pytest.mark.parametrize("pivot", [("0", "-0.5", "0"), ("-.5", "-5e-1", "-0.25"), ("-0", "-0.0", "0.5")])
def test_negative_numbers_are_values_not_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pivot: Sequence[str]
) -> None:
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    code, out, err = run(capsys, "apply", src, dst, "--pivot", *pivot, "--scaled-bbox", "-1", "-1", "2")
    assert (code, err) == (0, ""), err
    code, out, err = run(capsys, "verify", dst, "--pivot", *pivot, "--scaled-bbox", "-1", "-1", "2")
    assert (code, err) == (0, ""), out


def test_apply_json_has_the_result_fields(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    code, out, err = run(capsys, "apply", src, dst, "--scaled-bbox", "4", "-1", "-1", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    for key in ("input", "output", "request", "before", "after", "fit", "mode", "reason", "files", "notes"):
        assert key in data
    assert data["request"]["scaled_bbox"] == [4, -1, -1]
    assert data["before"]["size"] == pytest.approx([2, 4, 1])
    assert data["after"]["size"] == pytest.approx([4, 8, 2])
    assert data["fit"]["scale"] == pytest.approx([2, 2, 2])
    assert data["mode"] in ("bake", "wrap")
    assert data["files"][0] == str(dst)


def test_apply_quiet_prints_nothing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    code, out, err = run(capsys, "apply", src, tmp_path / "out.obj", "--pivot", "0", "-0.5", "0", "-q")
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "out.obj").is_file()


def test_apply_preserve_aspect_ratio_fits_inside(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")  # 2 x 4 x 1
    dst = tmp_path / "out.obj"
    flags = ["--scaled-bbox", "1", "1", "1", "--preserve-aspect-ratio"]
    code, out, _ = run(capsys, "apply", src, dst, *flags)
    assert code == 0
    assert "0.5 x 1 x 0.25 m" in out
    code, out, _ = run(capsys, "verify", dst, *flags)
    assert code == 0, out
    # Stretching instead is a different request, and verify says so.
    code, out, _ = run(capsys, "verify", dst, "--scaled-bbox", "1", "1", "1", "--no-preserve-aspect-ratio")
    assert code == 1


@pytest.mark.parametrize("ext", [".ply", ".stl"])
def test_apply_other_trimesh_formats(capsys: pytest.CaptureFixture[str], tmp_path: Path, ext: str) -> None:
    src = WRITERS[ext](tmp_path / f"in{ext}")
    dst = tmp_path / f"out{ext}"
    flags = ["--scaled-bbox", "-1", "1", "-1", "--pivot", "0", "-0.5", "0"]
    code, out, err = run(capsys, "apply", src, dst, *flags)
    assert (code, err) == (0, ""), err
    code, out, err = run(capsys, "verify", dst, *flags)
    assert (code, err) == (0, ""), out


def test_apply_glb(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    gltf = pytest.importorskip("meshpivot.gltf")
    if not hasattr(gltf, "GltfAsset"):
        pytest.skip("the glTF engine is not there yet")
    trimesh = pytest.importorskip("trimesh")
    src = tmp_path / "in.glb"
    box = trimesh.creation.box(extents=(2, 4, 1))
    box.apply_translation((2, 4, 3.5))
    box.export(src)
    dst = tmp_path / "out.glb"
    flags = ["--scaled-bbox", "1", "-1", "-1", "--pivot", "0", "-0.5", "0"]
    code, out, err = run(capsys, "apply", src, dst, *flags)
    assert (code, err) == (0, ""), err
    code, out, err = run(capsys, "verify", dst, *flags)
    assert (code, err) == (0, ""), out


# ------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "body",
    [
        {"scaled_bbox": [1, -1, -1], "pivot_point": [0, -0.5, 0]},
        {"model": "x", "settings": {"scaled_bbox": [1, -1, -1], "pivot_point": [0, -0.5, 0]}},
        {"input": {"image": "a.png", "settings": {"scaled_bbox": [1, -1, -1], "pivot_point": [0, -0.5, 0]}}},
    ],
    ids=["top-level", "settings", "input.settings"],
)
def test_settings_file_is_read_where_the_hosted_api_puts_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: dict[str, object]
) -> None:
    settings = tmp_path / "request.json"
    settings.write_text(json.dumps(body))
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    code, out, err = run(capsys, "apply", src, dst, "--settings", settings, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["request"]["scaled_bbox"] == [1, -1, -1]
    assert data["after"]["min"] == pytest.approx([-0.5, 0, -0.25])
    code, out, _ = run(capsys, "verify", dst, "--settings", settings)
    assert code == 0, out


def test_flags_override_settings(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    settings = tmp_path / "request.json"
    settings.write_text(json.dumps({"settings": {"scaled_bbox": [1, -1, -1], "pivot_point": [0, -0.5, 0]}}))
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    code, out, _ = run(capsys, "apply", src, dst, "--settings", settings, "--pivot", "0", "0", "0", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["request"]["scaled_bbox"] == [1, -1, -1]  # from the file
    assert data["request"]["pivot_point"] == [0, 0, 0]  # from the flag
    assert data["after"]["min"] == pytest.approx([-0.5, -1, -0.25])
    # A flag also replaces a settings value that would have been an error.
    settings.write_text(json.dumps({"pivot_point": [0, 0.6, 0]}))
    code, _, err = run(capsys, "apply", src, dst, "--settings", settings, "--pivot", "0", "0", "0")
    assert (code, err) == (0, "")


def test_settings_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    settings = tmp_path / "request.json"

    settings.write_text("{not json")
    code, _, err = run(capsys, "apply", src, dst, "--settings", settings)
    assert code == 3
    assert_one_error_line(err, str(settings), "not valid JSON")

    settings.write_text(json.dumps({"prompt": "a chair"}))
    code, _, err = run(capsys, "apply", src, dst, "--settings", settings)
    assert code == 2
    assert_one_error_line(err, str(settings), "none of scaled_bbox")

    settings.write_text(json.dumps({"settings": {"pivot_point": [0, 0.6, 0]}}))
    code, _, err = run(capsys, "verify", src, "--settings", settings)
    assert code == 2
    assert_one_error_line(err, str(settings), "pivot_point[1] is 0.6")

    code, _, err = run(capsys, "apply", src, dst, "--settings", tmp_path / "missing.json")
    assert code == 3
    assert_one_error_line(err, "missing.json")
    assert_nothing_written(tmp_path, src, settings)


# --------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    ("flags", "fragment"),
    [
        (["--scaled-bbox", "a", "b", "c"], "argument --scaled-bbox: 'a' is not a number"),
        (["--scaled-bbox", "1", "2"], "argument --scaled-bbox: expected 3 arguments"),
        (["--pivot", "0"], "argument --pivot: expected 3 arguments"),
        (["--pivot", "0.6", "0", "0"], "pivot_point[0] is 0.6; expected a number in [-0.5, 0.5]"),
        (["--pivot", "0", "-0.51", "0"], "pivot_point[1] is -0.51"),
        (["--pivot", "nan", "0", "0"], "pivot_point[0] is nan"),
        (["--pivot", "0", "-inf", "0"], "pivot_point[1] is -inf"),
        (["--scaled-bbox", "0", "1", "1"], "scaled_bbox[0] is 0.0; expected a size > 0"),
        (["--scaled-bbox", "1", "-2", "1"], "scaled_bbox[1] is -2.0"),
        (["--scaled-bbox", "1", "1", "-0.5"], "scaled_bbox[2] is -0.5"),
        (["--scaled-bbox", "nan", "1", "1"], "scaled_bbox[0] is nan"),
        (["--scaled-bbox", "1", "inf", "1"], "scaled_bbox[1] is inf"),
        (["--scaled-bbox", "1", "1", "-inf"], "scaled_bbox[2] is -inf"),
        (["--mode", "fast"], "argument --mode: invalid choice"),
    ],
)
def test_bad_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], fragment: str
) -> None:
    src = write_obj(tmp_path / "in.obj")
    before = sha(src)
    code, out, err = run(capsys, "apply", src, tmp_path / "out.obj", *flags)
    assert code == 2 and out == ""
    assert_one_error_line(err, fragment)
    assert_nothing_written(tmp_path, src)
    assert sha(src) == before
    if "--mode" not in flags:
        code, out, err = run(capsys, "verify", src, *flags)
        assert code == 2 and out == ""
        assert_one_error_line(err, fragment)


@pytest.mark.parametrize("flags", [["--rtol", "-1"], ["--atol", "x"], ["--rtol", "nan"]])
def test_bad_tolerances_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str]
) -> None:
    src = write_obj(tmp_path / "in.obj")
    code, _, err = run(capsys, "verify", src, *flags)
    assert code == 2
    assert_one_error_line(err, flags[0])


def test_output_equal_to_input_needs_in_place(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    before = sha(src)
    flags = ["--scaled-bbox", "1", "-1", "-1", "--pivot", "0", "-0.5", "0"]
    code, out, err = run(capsys, "apply", src, src, *flags)
    assert code == 2 and out == ""
    assert_one_error_line(err, "--in-place")
    assert sha(src) == before
    assert_nothing_written(tmp_path, src)

    code, out, err = run(capsys, "apply", src, src, *flags, "--in-place")
    assert (code, err) == (0, "")
    assert sha(src) != before
    assert_nothing_written(tmp_path, src)
    code, out, _ = run(capsys, "verify", src, *flags)
    assert code == 0, out


# ---------------------------------------------------------------- input errors


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _garbage(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 3 + b"\x00\xff" * 37)
    return path


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.obj", "no such file"),
        (lambda d: _mkdir(d / "x.obj"), "not a regular file"),
        (lambda d: _garbage(d / "junk.stl"), ""),
        (lambda d: _garbage(d / "junk.ply"), ""),
        (lambda d: _garbage(d / "junk.obj"), ""),
        (lambda d: write_obj(d / "box.xyz"), "unsupported file type '.xyz'"),
        (lambda d: write_obj(d / "noext"), "unsupported file type"),
        (lambda d: _text(d / "empty.obj", "# nothing here\n"), ""),
        (lambda d: _text(d / "empty.stl", "solid x\nendsolid x\n"), ""),
        (lambda d: _text(d / "nan.obj", "v 0 0 0\nv 1 nan 0\nv 0 1 1\nf 1 2 3\n"), ""),
        (lambda d: _text(d / "inf.obj", "v 0 0 0\nv 1 inf 0\nv 0 1 1\nf 1 2 3\n"), ""),
    ],
    ids=[
        "missing", "directory", "garbage-stl", "garbage-ply", "garbage-obj", "unknown-extension",
        "no-extension", "empty-obj", "empty-stl", "nan-vertex", "inf-vertex",
    ],
)  # fmt: skip
def test_unusable_input_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, fragment: str
) -> None:
    indir = tmp_path / "in"
    outdir = tmp_path / "out"
    indir.mkdir()
    outdir.mkdir()
    src: Path = make(indir)  # type: ignore[operator]
    before = sorted((p.name, sha(p) if p.is_file() else "") for p in indir.iterdir())
    for argv in (["inspect", src], ["verify", src], ["apply", src, outdir / f"out{src.suffix or '.obj'}"]):
        code, out, err = run(capsys, *argv)
        assert code == 3, (argv, out, err)
        assert out == ""
        assert_one_error_line(err, str(src), fragment)
    assert_nothing_written(outdir)
    assert sorted((p.name, sha(p) if p.is_file() else "") for p in indir.iterdir()) == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_file_without_read_permission_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    src.chmod(0)
    try:
        code, _, err = run(capsys, "inspect", src)
    finally:
        src.chmod(0o644)
    assert code == 3
    assert_one_error_line(err, str(src))


@pytest.mark.parametrize("ext", [".obj", ".ply", ".stl"])
def test_read_error_exits_3(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str
) -> None:
    """The same as a file without read permission, but also when the tests run as root."""
    src = WRITERS[ext](tmp_path / f"in{ext}")
    real_read_bytes = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self == src:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    code, out, err = run(capsys, "inspect", src)
    assert code == 3 and out == ""
    assert_one_error_line(err, str(src))


def test_flat_mesh_cannot_stretch_along_its_flat_axis(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = write_quad_obj(tmp_path / "quad.obj")
    before = sha(src)
    code, out, err = run(capsys, "apply", src, tmp_path / "out.obj", "--scaled-bbox", "1", "1", "1")
    assert code == 3 and out == ""
    assert_one_error_line(err, str(src), "flat along z")
    assert_nothing_written(tmp_path, src)
    assert sha(src) == before
    # Leaving that axis auto, or fitting inside the box, works.
    code, _, err = run(capsys, "apply", src, tmp_path / "a.obj", "--scaled-bbox", "1", "1", "-1")
    assert (code, err) == (0, "")
    code, _, err = run(
        capsys, "apply", src, tmp_path / "b.obj", "--scaled-bbox", "1", "1", "1", "--preserve-aspect-ratio"
    )
    assert (code, err) == (0, "")
    code, out, _ = run(
        capsys, "verify", tmp_path / "b.obj", "--scaled-bbox", "1", "1", "1", "--preserve-aspect-ratio"
    )
    assert code == 0, out


def test_missing_output_folder_exits_3(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    code, out, err = run(capsys, "apply", src, tmp_path / "nowhere" / "out.obj")
    assert code == 3 and out == ""
    assert_one_error_line(err, "nowhere", "output folder does not exist")
    assert_nothing_written(tmp_path, src)


# ----------------------------------------------------------------- inspect


def test_inspect_reports_where_the_origin_lies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj", lo=(-1, 0, -1.5), hi=(1, 2, 1.5))
    code, out, err = run(capsys, "inspect", src)
    assert (code, err) == (0, "")
    assert "size    2 x 2 x 3 m" in out
    assert "min     -1, 0, -1.5" in out
    assert "max     1, 2, 1.5" in out
    assert "centre  0, 1, 0" in out
    assert "origin  pivot_point 0, -0.5, 0 (x centre, y bottom, z centre)" in out
    assert "vertices 8" in out

    code, out, _ = run(capsys, "inspect", src, "--json")
    data = json.loads(out)
    assert data["pivot_point"] == [0, -0.5, 0]
    assert data["size"] == [2, 2, 3]
    assert data["center"] == [0, 1, 0]
    assert data["format"] == "obj"
    assert data["counts"]["vertices"] == 8


def test_inspect_origin_outside_the_box_and_flat_axes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "inspect", write_obj(tmp_path / "far.obj"))  # box at (1..3, 2..6, 3..4)
    assert code == 0
    assert "origin  pivot_point -1, -1, -3.5 (x outside the box" in out
    code, out, _ = run(capsys, "inspect", write_quad_obj(tmp_path / "quad.obj"))
    assert code == 0
    assert "pivot_point -0.5, -0.5, flat (x left, y bottom, z flat)" in out
    code, out, _ = run(capsys, "inspect", tmp_path / "quad.obj", "--json")
    assert json.loads(out)["pivot_point"] == [-0.5, -0.5, None]


# ------------------------------------------------------------------ verify


def test_verify_failure_names_measured_expected_and_tolerance(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = write_obj(tmp_path / "in.obj", lo=(-1, 0, -0.5), hi=(1, 2, 0.5))  # 2 x 2 x 1, bottom centre
    code, out, err = run(capsys, "verify", src, "--scaled-bbox", "2", "3", "-1", "--pivot", "0", "-0.5", "0")
    assert code == 1 and err == ""
    failed = [line for line in out.splitlines() if line.endswith(" FAILED")]
    assert len(failed) == 1
    line = failed[0]
    assert "size_y" in line and "measured 2" in line and "expected == 3" in line and "tolerance" in line
    assert "verification failed: 1 of 5 checks (size_y)" in out

    code, out, _ = run(capsys, "verify", src, "--scaled-bbox", "2", "3", "-1", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["passed"] is False
    bad = {c["name"]: c for c in data["checks"] if not c["passed"]}
    assert set(bad) == {"size_y", "pivot_y"}
    assert bad["size_y"]["measured"] == 2 and bad["size_y"]["expected"] == 3


def test_verify_pass_and_tolerances(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj", lo=(-1, 0, -0.5), hi=(1, 2.001, 0.5))
    flags = ["--scaled-bbox", "2", "2", "1", "--pivot", "0", "-0.5", "0"]
    code, out, _ = run(capsys, "verify", src, *flags)
    assert code == 1
    code, out, _ = run(capsys, "verify", src, *flags, "--atol", "0.01")
    assert code == 0, out
    assert out.count("\ncheck   ") == 6 and out.count(" ok\n") == 6
    code, out, _ = run(capsys, "verify", src, *flags, "--rtol", "0.001", "--json")
    assert code == 0
    assert json.loads(out)["request"]["rtol"] == 0.001


def test_verify_without_flags_checks_the_centre_pivot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "verify", write_obj(tmp_path / "c.obj", lo=(-1, -1, -1), hi=(1, 1, 1)))
    assert code == 0
    assert "verified: all 3 checks hold" in out
    code, out, _ = run(capsys, "verify", write_obj(tmp_path / "far.obj"))
    assert code == 1


# ------------------------------------------------------- unexpected failures


def test_internal_error_is_one_line_and_exit_4(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import meshpivot.api

    def boom(path: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(meshpivot.api, "inspect_file", boom)
    monkeypatch.delenv("MESHPIVOT_DEBUG", raising=False)
    code, out, err = run(capsys, "inspect", tmp_path / "x.obj")
    assert code == 4 and out == ""
    assert err.splitlines() == [
        "meshpivot: internal error: RuntimeError: boom second line "
        "(please report it; run with MESHPIVOT_DEBUG=1 for a traceback)"
    ]
    monkeypatch.setenv("MESHPIVOT_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli.main(["inspect", str(tmp_path / "x.obj")])


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [(KeyboardInterrupt, 130, "meshpivot: interrupted\n"), (BrokenPipeError, 141, "")],
)
def test_interrupt_and_broken_pipe(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    exc: type[BaseException],
    code: int,
    stderr: str,
) -> None:
    import meshpivot.api

    def stop(path: object) -> None:
        raise exc()

    monkeypatch.setattr(meshpivot.api, "inspect_file", stop)
    assert run(capsys, "inspect", "x.obj") == (code, "", stderr)


# --------------------------------------------------------------- entry points


def _console_script() -> Path:
    script = Path(sys.executable).parent / "meshpivot"
    if not script.exists():
        pytest.skip("the meshpivot console script is not installed next to this python")
    return script


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MESHPIVOT_DEBUG", None)
    return env


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (default environment: :func:`_clean_env`)."""
    env = _clean_env() if env is None else env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


def _console_code(argv: list[str], before: str) -> str:
    """Code that runs ``before`` (hooks: atexit, spies on ``cli``), then ``meshpivot ARGV`` through console()."""
    head = "import atexit, gc, os, sys\nimport meshpivot.cli as cli\n"
    return f"{head}{before}sys.argv = ['meshpivot', *{argv!r}]\ncli.console()\n"


def test_console_script_runs_commands(tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    dst = tmp_path / "out.obj"
    script = str(_console_script())
    env = _clean_env()
    done = subprocess.run(
        [script, "apply", str(src), str(dst), "--scaled-bbox", "1", "-1", "-1", "--pivot", "0", "-0.5", "0"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert "->" in done.stdout
    done = subprocess.run(
        [script, "verify", str(dst), "--scaled-bbox", "1", "2", "-1"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "FAILED" in done.stdout and done.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["apply", "{d}/missing.obj", "{d}/out.obj"],
        ["inspect", "{d}/junk.stl"],
        ["verify", "{d}/in.obj", "--pivot", "0", "0.7", "0"],
        ["apply", "{d}/in.obj", "{d}/out.obj", "--scaled-bbox", "1", "x", "1"],
    ],
)
def test_python_dash_m_errors_have_no_traceback(tmp_path: Path, argv: list[str]) -> None:
    write_obj(tmp_path / "in.obj")
    _garbage(tmp_path / "junk.stl")
    done = subprocess.run(
        [sys.executable, "-m", "meshpivot", *(a.format(d=tmp_path) for a in argv)],
        capture_output=True, text=True, env=_clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode in (2, 3)
    assert done.stdout == ""
    assert_one_error_line(done.stderr)
    assert not (tmp_path / "out.obj").exists()


def test_broken_pipe_on_stdout_exits_quietly(tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshpivot", "inspect", str(src)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_clean_env(),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before anything is printed
    err = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in err and err == ""
    assert proc.returncode in (0, 141)


def test_console_exit_flushes_output_and_runs_exit_handlers(tmp_path: Path) -> None:
    # console() ends the process without Python's teardown: stdout must still be complete
    # and atexit handlers (and pending weakref finalizers) must still run.
    marker = tmp_path / "exit-handler-ran"
    code = (
        "import atexit, pathlib, sys, tempfile, weakref\n"
        f"atexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')\n"
        f"d = tempfile.mkdtemp(dir={str(tmp_path)!r})\n"
        "class Holder: pass\n"
        "h = Holder(); weakref.finalize(h, __import__('shutil').rmtree, d)\n"
        "sys.argv = ['meshpivot', '--help']\n"
        "from meshpivot.cli import console\n"
        "console()\n"
    )
    done = _python(code)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: meshpivot") and "verify" in done.stdout
    assert marker.read_text() == "yes"
    assert [p.name for p in tmp_path.iterdir()] == [marker.name]  # the finalizer removed its folder


def test_console_exit_codes_survive_the_fast_exit(tmp_path: Path) -> None:
    script = str(_console_script())
    done = subprocess.run([script, "--version"], capture_output=True, text=True, env=_clean_env(), check=False)
    assert (done.returncode, done.stdout.strip()) == (0, f"meshpivot {meshpivot.__version__}")
    done = subprocess.run([script, "verify"], capture_output=True, text=True, env=_clean_env(), check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert_one_error_line(done.stderr)


def test_importing_the_cli_module_does_not_load_numpy() -> None:
    # console() must run before numpy loads, so that its BLAS settings take effect.
    code = "import sys, meshpivot, meshpivot.cli; print(sorted(m for m in ('numpy', 'trimesh') if m in sys.modules))"
    done = _python(code)
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "[]", "")


@pytest.mark.parametrize("files", [1, 3])
def test_verify_of_gltf_loads_no_pool_or_scratch_machinery(tmp_path: Path, files: int) -> None:
    # Start-up is most of a verify: it imports neither the executor pool nor what only
    # writing needs (tempfile, shutil: argparse's default help layout imports shutil too),
    # serially and on a batch run with --jobs 2 alike.
    paths = [str(shutil.copy(SAMPLES / "chair.glb", tmp_path / f"in{k}.glb")) for k in range(files)]
    code = (
        "import sys\n"
        "from meshpivot.cli import main\n"
        f"code = main(['verify', *{paths!r}, '--jobs', '2', '-q'])\n"
        "heavy = ('multiprocessing', 'concurrent.futures', 'tempfile', 'shutil', 'xml.etree.ElementTree', 'trimesh')\n"
        "print(code in (0, 1), sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = _python(code)
    assert (done.returncode, done.stdout.splitlines()[-1], done.stderr) == (0, "True []", "")


def test_submodules_are_still_attributes_of_the_package() -> None:
    code = (
        "import meshpivot\n"
        "print(meshpivot.api.apply_file.__name__, meshpivot.vectors.CHUNK > 0, meshpivot.gltf.__name__)\n"
    )
    done = _python(code)
    assert (done.returncode, done.stdout.split(), done.stderr) == (0, ["apply_file", "True", "meshpivot.gltf"], "")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="counts threads through /proc")
def test_console_runs_numpy_blas_on_one_thread_unless_told_otherwise(tmp_path: Path) -> None:
    src = write_obj(tmp_path / "in.obj")
    code = _console_code(
        ["inspect", str(src)],
        "def report():\n"
        "    threads = open('/proc/self/status').read().split('Threads:')[1].split()[0]\n"
        "    names = ('OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')\n"
        "    sys.stderr.write(' '.join([threads, *(os.environ.get(n, '-') for n in names)]))\n"
        "atexit.register(report)\n",
    )
    env = _clean_env()
    env.pop("OPENBLAS_NUM_THREADS", None)
    env["MKL_NUM_THREADS"] = "3"  # the user's own setting stays
    done = _python(code, env)
    assert done.returncode == 0 and "numpy" not in done.stderr
    assert done.stderr.split() == ["1", "1", "3"]  # numpy loaded, with no BLAS thread of its own


def test_console_collects_cycles_again_once_the_imports_are_done(tmp_path: Path) -> None:
    # The start-up's imports run with the collector paused; the command itself runs
    # with it on, the imported objects frozen out of its sight.
    src = write_obj(tmp_path / "in.obj")
    code = _console_code(
        ["inspect", str(src)],
        "resume = cli._resume_collector\n"
        "def spy():\n"
        "    sys.stderr.write(f'{gc.isenabled()} {\"numpy\" in sys.modules} ')\n"
        "    resume()\n"
        "cli._resume_collector = spy\n"
        "atexit.register(lambda: sys.stderr.write(f'{gc.isenabled()} {gc.get_freeze_count() > 1000}'))\n",
    )
    done = _python(code)
    assert done.returncode == 0
    assert done.stderr.split() == ["False", "True", "True", "True"]


@pytest.mark.parametrize("argv", [["--version"], ["verify", "--no-such-flag"]])
def test_console_collects_cycles_again_after_an_early_end(argv: list[str]) -> None:
    # --version and usage errors end before the imports: the collector is on again for
    # whatever runs after (exit handlers, a caller that catches SystemExit).
    code = _console_code(argv, "atexit.register(lambda: sys.stderr.write(f'collecting={gc.isenabled()}'))\n")
    done = _python(code)
    assert done.returncode in (0, 2)
    assert done.stderr.split()[-1].endswith("collecting=True"), done.stderr


def test_main_leaves_the_collector_as_it_found_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import gc

    src = write_obj(tmp_path / "in.obj")
    frozen = gc.get_freeze_count()
    code, _, _ = run(capsys, "inspect", src)
    assert code == 0 and gc.isenabled() and gc.get_freeze_count() == frozen


# --- preview ------------------------------------------------------------------------------


def test_preview_writes_a_png_with_the_documented_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from PIL import Image

    src = write_obj(tmp_path / "box.obj")
    png = tmp_path / "box.png"
    code, out, err = run(capsys, "preview", src, "-o", png, "--pivot", "0", "-0.5", "0")
    assert code == 0 and err == "" and str(png) in out
    assert Image.open(png).size == (1200, 1200)


def test_apply_preview_draws_before_and_after(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from PIL import Image

    src = write_obj(tmp_path / "box.obj")
    png = tmp_path / "fit.png"
    code, out, _ = run(capsys, "apply", src, tmp_path / "out.obj", "--scaled-bbox", "1", "1", "1", "--preview", png)
    assert code == 0 and "preview" in out
    assert Image.open(png).size == (2400, 1200)


def test_apply_preview_with_in_place_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    src = write_obj(tmp_path / "box.obj")
    before = sha(src)
    code, _, err = run(capsys, "apply", src, src, "--in-place", "--preview", tmp_path / "x.png")
    assert code == 2
    assert_one_error_line(err, "", "--preview")
    assert sha(src) == before and not (tmp_path / "x.png").exists()
