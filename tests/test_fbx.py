"""FBX input: measured in Y-up metres through ufbx, converted on output, never written."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest

from meshpivot.api import apply_file, measure_file, verify_file
from meshpivot.errors import EXIT_INPUT, MissingDependencyError, UnreadableInputError, UnsupportedInputError
from meshpivot.formats import fbx
from meshpivot.formats.fbx import FbxAsset, read_fbx
from meshpivot.options import FitOptions

pytest.importorskip("ufbx")

# The ASCII box: 47.244 inches (node scale 0.0254) on a side, Z-up, UnitScaleFactor 100
# (1 unit = 1 m), standing on z = 0, its node moved 0.000114116 along x.
HALF = 23.6220474243164 * 0.0254
SHIFT = 0.000114116096496582
ASCII_BOX = "embedded_ascii/box.FBX"


@pytest.fixture(scope="module")
def fbx_dir(formats_dir: Path) -> Path:
    return formats_dir / "FBX"


def fbx_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() == ".fbx")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_sample_measures_finite_nonempty_box(fbx_dir: Path) -> None:
    files = fbx_files(fbx_dir)
    assert len(files) >= 5
    for path in files:
        m = measure_file(path)
        assert m.format == "fbx"
        assert np.all(np.isfinite(m.lo)) and np.all(np.isfinite(m.hi))
        assert np.all(m.size > 0), path
        assert m.counts["meshes"] >= 1


def test_zup_box_is_converted_to_yup_metres(fbx_dir: Path) -> None:
    m = measure_file(fbx_dir / ASCII_BOX)
    np.testing.assert_allclose(m.lo, [-HALF + SHIFT, 0.0, -HALF], atol=1e-6)
    np.testing.assert_allclose(m.hi, [HALF + SHIFT, 2 * HALF, HALF], atol=1e-6)
    assert any("up +Z" in note for note in m.notes)


def _variant(src: Path, dest: Path, replacements: dict[str, str]) -> Path:
    text = src.read_text(encoding="latin-1")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    dest.write_text(text, encoding="latin-1")
    return dest


def test_unit_setting_scales_the_same_model(fbx_dir: Path, tmp_path: Path) -> None:
    src = fbx_dir / ASCII_BOX
    inches = _variant(
        src,
        tmp_path / "box_cm.fbx",
        {'"UnitScaleFactor", "double", "Number", "",100': '"UnitScaleFactor", "double", "Number", "",1'},
    )
    base, scaled = measure_file(src), measure_file(inches)
    np.testing.assert_allclose(scaled.size, base.size * 0.01, rtol=1e-9)
    np.testing.assert_allclose(scaled.lo, base.lo * 0.01, atol=1e-9)


def test_axis_setting_changes_which_extent_is_up(fbx_dir: Path, tmp_path: Path) -> None:
    yup = _variant(
        fbx_dir / ASCII_BOX,
        tmp_path / "box_yup.fbx",
        {
            '"UpAxis", "int", "Integer", "",2': '"UpAxis", "int", "Integer", "",1',
            '"FrontAxis", "int", "Integer", "",1': '"FrontAxis", "int", "Integer", "",2',
            '"FrontAxisSign", "int", "Integer", "",-1': '"FrontAxisSign", "int", "Integer", "",1',
        },
    )
    m = measure_file(yup)
    # Read as Y-up, the file's z (0 .. 2*HALF) is depth, its y is height.
    np.testing.assert_allclose(m.lo, [-HALF + SHIFT, -HALF, 0.0], atol=1e-6)
    np.testing.assert_allclose(m.hi, [HALF + SHIFT, HALF, 2 * HALF], atol=1e-6)


def test_isolated_and_in_process_readers_agree(fbx_dir: Path) -> None:
    path = fbx_dir / "cubes_with_mirroring_and_pivot.fbx"  # several mesh nodes, one mirrored
    a, b = read_fbx(path, isolate=True), read_fbx(path, isolate=False)
    assert [m.name for m in a.meshes] == [m.name for m in b.meshes]
    for x, y in zip(a.meshes, b.meshes, strict=True):
        np.testing.assert_array_equal(x.positions, y.positions)
        np.testing.assert_array_equal(x.corners, y.corners)


def test_world_geometry_matches_the_measured_box(fbx_dir: Path) -> None:
    asset = FbxAsset(fbx_dir / "global_settings.fbx")
    vertices, triangles = asset.world_geometry()
    assert vertices.dtype == np.float32 and triangles.dtype == np.int32
    assert triangles.min() >= 0 and triangles.max() < len(vertices)
    m = asset.measure()
    used = vertices[np.unique(triangles)]
    np.testing.assert_allclose(used.min(axis=0), m.lo, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(used.max(axis=0), m.hi, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("ext", [".glb", ".obj"])
@pytest.mark.parametrize("name", ["cubes_with_mirroring_and_pivot.fbx", ASCII_BOX])
def test_convert_then_verify_passes(fbx_dir: Path, tmp_path: Path, name: str, ext: str) -> None:
    src = fbx_dir / name
    before = digest(src)
    options = FitOptions(scaled_bbox=[1.0, -1, 0.5], pivot_point=[0, -0.5, 0])
    out = tmp_path / f"out{ext}"
    result = apply_file(src, out, options)
    assert result.mode == "bake"
    assert any("converted" in note and "lossy" in note for note in result.notes)
    report = verify_file(out, options)
    assert report.passed, [c.to_dict() for c in report.failures]
    # auto axis: geometric mean of the two stretched axes
    measured = measure_file(src)
    expected_y = measured.size[1] * np.sqrt(1.0 / measured.size[0] * 0.5 / measured.size[2])
    np.testing.assert_allclose(report.measurement.size[1], expected_y, rtol=1e-5)
    assert digest(src) == before


def test_wrap_to_glb_puts_the_fit_on_a_root_node(fbx_dir: Path, tmp_path: Path) -> None:
    options = FitOptions(scaled_bbox=[1, 2, 3], pivot_point=[0.5, 0, -0.5], mode="wrap")
    out = tmp_path / "wrapped.glb"
    assert apply_file(fbx_dir / "box.fbx", out, options).mode == "wrap"
    assert verify_file(out, options).passed


def test_fbx_output_is_refused_and_nothing_written(fbx_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.fbx"
    with pytest.raises(UnsupportedInputError, match="FBX cannot be written") as info:
        apply_file(fbx_dir / "box.fbx", out, FitOptions())
    assert info.value.exit_code == EXIT_INPUT
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty"])
def test_corrupt_fbx_is_unreadable(fbx_dir: Path, tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.fbx"
    if kind == "garbage":
        bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "truncated":
        bad.write_bytes((fbx_dir / "box.fbx").read_bytes()[:3000])
    else:
        bad.write_bytes(b"")
    before = digest(bad)
    with pytest.raises(UnreadableInputError) as info:
        measure_file(bad)
    assert "\n" not in str(info.value)
    assert digest(bad) == before


def test_reader_crash_becomes_unreadable_input(fbx_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashed(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, -11, "", "")

    monkeypatch.setattr(fbx.subprocess, "run", crashed)
    with pytest.raises(UnreadableInputError, match=r"crashed.*SIGSEGV"):
        read_fbx(fbx_dir / "box.fbx", isolate=True)


def test_missing_ufbx_names_the_extra(fbx_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fbx.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"meshpivot\[fbx\]"):
        read_fbx(fbx_dir / "box.fbx", isolate=True)
