"""OBJ, PLY and STL files and in-memory trimesh objects (meshpivot.formats.trimesh_formats)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from meshpivot.errors import (
    EmptyInputError,
    FlatAxisError,
    InputError,
    NonFiniteInputError,
    UnreadableInputError,
    UnsupportedInputError,
)
from meshpivot.fit import compute_fit
from meshpivot.formats import open_asset
from meshpivot.formats.trimesh_formats import (
    BAKE_REASON,
    TrimeshAsset,
    fit_trimesh,
    measure_trimesh,
)
from meshpivot.options import FitOptions

SHARED_FORMATS = Path(__file__).resolve().parents[1].parent / "shared" / "formats"
TARGET = (1.0, 2.0, 0.5)
BOTTOM = (0.0, -0.5, 0.0)


@pytest.fixture(scope="session")
def shared_formats() -> Path:
    """../shared/formats, skipped when absent (a failure in CI)."""
    if not SHARED_FORMATS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_FORMATS} is missing; CI needs the shared test files")
        pytest.skip(f"{SHARED_FORMATS} is missing")
    return SHARED_FORMATS


def _corpus() -> list[str]:
    if not SHARED_FORMATS.is_dir():
        return []
    files = []
    for sub, ext in (("OBJ", "*.obj"), ("PLY", "*.ply"), ("STL", "*.stl")):
        files += [f"{sub}/{p.name}" for p in sorted((SHARED_FORMATS / sub).glob(ext))]
    return files


# float32 storage loses about 6e-8 of a size; ASCII text with repr keeps float64.
_FLOAT32 = {"PLY/cube_binary.ply", "STL/Spider_binary.stl", "PLY/cube.ply", "PLY/float-color.ply"}


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fit_file(src: Path, dest: Path, options: FitOptions) -> tuple[object, object]:
    asset = open_asset(src)
    measured = asset.measure()
    fit = compute_fit(measured.lo, measured.hi, options)
    report = asset.write_fitted(fit, dest, options)
    return measured, report


# --- the corpus: sizes and pivot after a round trip --------------------------------


@pytest.mark.parametrize("name", _corpus() or ["(no corpus)"])
def test_fitted_file_measures_to_target_box(shared_formats: Path, name: str, tmp_path: Path) -> None:
    src = shared_formats / name
    before = _hashes(src.parent)
    measured = open_asset(src).measure()
    # A flat axis cannot stretch: leave it automatic.
    target = tuple(t if e > 0 else -1.0 for t, e in zip(TARGET, measured.size, strict=True))
    options = FitOptions(scaled_bbox=target, pivot_point=BOTTOM)
    dest = tmp_path / "stage" / ("out" + src.suffix)
    dest.parent.mkdir()
    _, report = _fit_file(src, dest, options)

    assert report.mode == "bake" and report.reason == BAKE_REASON
    assert report.files[0] == dest
    assert all(p.resolve().is_relative_to(dest.parent.resolve()) for p in report.files)
    assert sorted(p for p in dest.parent.rglob("*") if p.is_file()) == sorted(report.files)

    out = open_asset(dest).measure()
    rtol = 1e-6 if name in _FLOAT32 else 1e-12
    size = out.size
    for i, t in enumerate(target):
        if t > 0:
            assert size[i] == pytest.approx(t, rel=rtol)
    p = np.array(BOTTOM)
    np.testing.assert_allclose(out.lo, -(0.5 + p) * size, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(out.hi, (0.5 - p) * size, rtol=rtol, atol=1e-12)
    assert out.lo[1] == 0.0  # bottom pivot: lowest vertex exactly on y = 0
    assert out.counts["vertices"] == measured.counts["vertices"]
    assert out.counts["faces"] == measured.counts["faces"]
    assert _hashes(src.parent) == before  # the input folder is untouched


@pytest.mark.parametrize("name", _corpus() or ["(no corpus)"])
def test_second_application_is_a_no_op(shared_formats: Path, name: str, tmp_path: Path) -> None:
    src = shared_formats / name
    measured = open_asset(src).measure()
    target = tuple(t if e > 0 else -1.0 for t, e in zip(TARGET, measured.size, strict=True))
    options = FitOptions(scaled_bbox=target, pivot_point=BOTTOM)
    first = tmp_path / "a" / ("out" + src.suffix)
    first.parent.mkdir()
    _fit_file(src, first, options)
    again = open_asset(first).measure()
    fit = compute_fit(again.lo, again.hi, options)
    np.testing.assert_allclose(fit.scale, 1.0, rtol=1e-6)
    np.testing.assert_allclose(fit.translation, 0.0, atol=1e-6)


# --- OBJ: lossless but for coordinates ------------------------------------------------


def _obj_lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return raw.decode("utf-16").splitlines(keepends=True)
    return raw.decode("latin-1").splitlines(keepends=True)


@pytest.mark.parametrize("name", ["spider.obj", "cube_usemtl.obj", "box.obj", "box_UTF16BE.obj"])
def test_obj_keeps_every_line_but_v_and_vn(shared_formats: Path, name: str, tmp_path: Path) -> None:
    src = shared_formats / "OBJ" / name
    dest = tmp_path / "fitted.obj"
    _fit_file(src, dest, FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=[0, -0.5, 0]))
    assert dest.read_bytes()[:2] == src.read_bytes()[:2]  # byte order mark kept
    old, new = _obj_lines(src), _obj_lines(dest)
    assert len(old) == len(new)
    changed = 0
    for a, b in zip(old, new, strict=True):
        if a.split()[:1] in (["v"], ["vn"]):
            assert a.split()[0] == b.split()[0]
            assert len(a.split()) == len(b.split())
            assert a[len(a.rstrip("\r\n")) :] == b[len(b.rstrip("\r\n")) :]  # line ending
            changed += 1
        else:
            assert a == b
    assert changed > 0


def test_obj_copies_mtl_and_textures_beside_output(shared_formats: Path, tmp_path: Path) -> None:
    src = shared_formats / "OBJ" / "spider.obj"
    before = _hashes(src.parent)
    dest = tmp_path / "spider_fitted.obj"
    _, report = _fit_file(src, dest, FitOptions(scaled_bbox=[1, -1, -1]))
    names = {p.name for p in report.files}
    assert names == {
        "spider_fitted.obj",
        "spider.mtl",
        "wal67ar_small.jpg",
        "wal69ar_small.jpg",
        "SpiderTex.jpg",
        "drkwood2.jpg",
        "engineflare1.jpg",
    }
    for p in report.files[1:]:
        assert p.read_bytes() == (src.parent / p.name).read_bytes()
    assert _hashes(src.parent) == before


def test_obj_keeps_extra_vertex_components_and_comments(tmp_path: Path) -> None:
    src = tmp_path / "in" / "colours.obj"
    src.parent.mkdir()
    src.write_bytes(
        b"# colours\r\nv 0 0 0 1 0 0 # red\r\nv 2 0 0 0 1 0\r\nv\t0  4\t0 0 0 1\r\n"
        b"v 0 0 8 1.0\r\nf 1 2 3 4\r\n"
    )
    dest = tmp_path / "out" / "colours.obj"
    dest.parent.mkdir()
    _fit_file(src, dest, FitOptions(scaled_bbox=[1, -1, -1], pivot_point=[-0.5, -0.5, -0.5]))
    assert dest.read_bytes() == (
        b"# colours\r\nv 0.0 0.0 0.0 1 0 0 # red\r\nv 1.0 0.0 0.0 0 1 0\r\nv\t0.0  2.0\t0.0 0 0 1\r\n"
        b"v 0.0 0.0 4.0 1.0\r\nf 1 2 3 4\r\n"
    )


def test_obj_normals_follow_the_cofactor_and_are_unit(tmp_path: Path) -> None:
    src = tmp_path / "n.obj"
    src.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvn 1 1 0\nvn 0 0 -1\nf 1//1 2//1 3//2 4//2\n")
    dest = tmp_path / "out" / "n.obj"
    dest.parent.mkdir()
    _fit_file(src, dest, FitOptions(scaled_bbox=[2, 4, 1]))
    normals = np.array([[float(t) for t in line.split()[1:]] for line in dest.read_text().splitlines()
                        if line.startswith("vn ")])  # fmt: skip
    scale = np.array([2.0, 4.0, 1.0])
    expected = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, -1.0]]) / scale  # inverse-transpose
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(normals, expected, rtol=1e-15)


def test_obj_unreferenced_vertices_are_not_measured_but_are_moved(tmp_path: Path) -> None:
    src = tmp_path / "stray.obj"
    src.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 100 -50 7\nv 0 0 1\nf 1 2 3\nl 1 -1\n")
    measured = open_asset(src).measure()
    assert measured.lo.tolist() == [0, 0, 0] and measured.hi.tolist() == [1, 1, 1]
    assert any("not measured" in note for note in measured.notes)
    dest = tmp_path / "o" / "stray.obj"
    dest.parent.mkdir()
    _fit_file(src, dest, FitOptions(scaled_bbox=[2, -1, -1]))
    lines = [line.split() for line in dest.read_text().splitlines() if line.startswith("v ")]
    assert [float(t) for t in lines[3][1:]] == [199.0, -101.0, 13.0]


def test_obj_point_only_file_counts_every_vertex(shared_formats: Path, tmp_path: Path) -> None:
    measured = open_asset(shared_formats / "OBJ" / "testpoints.obj").measure()
    assert measured.size.tolist() == [1.0, 1.0, 1.0]
    assert measured.counts["faces"] == 0 and measured.counts["points"] == 6
    bare = tmp_path / "bare.obj"
    bare.write_text("v 1 2 3\nv -1 0 5\n")
    m = open_asset(bare).measure()
    assert m.lo.tolist() == [-1, 0, 3] and m.hi.tolist() == [1, 2, 5]


def test_obj_missing_mtl_is_noted_not_fatal(tmp_path: Path) -> None:
    src = tmp_path / "in" / "m.obj"
    src.parent.mkdir()
    (tmp_path / "secret.mtl").write_text("newmtl x\n")
    src.write_text("mtllib missing.mtl ../secret.mtl\nv 0 0 0\nv 1 1 1\nl 1 2\n")
    dest = tmp_path / "out" / "m.obj"
    dest.parent.mkdir()
    _, report = _fit_file(src, dest, FitOptions())
    assert report.files == [dest]  # nothing from outside the input's folder
    assert len(report.notes) == 2 and all("not found" in n for n in report.notes)


def test_obj_round_trips_float64_positions(tmp_path: Path) -> None:
    src = tmp_path / "p.obj"
    src.write_text("v 0.1 0.2 0.3\nv 1.7 -2.9 3.3333333333333335\nl 1 2\n")
    asset = open_asset(src)
    m = asset.measure()
    fit = compute_fit(m.lo, m.hi, FitOptions(scaled_bbox=[0.3, -1, -1], pivot_point=[0.5, 0.5, 0.5]))
    dest = tmp_path / "o" / "p.obj"
    dest.parent.mkdir()
    asset.write_fitted(fit, dest, FitOptions())
    out = open_asset(dest).measure()
    lo, hi = fit.target_bounds()
    assert out.lo.tolist() == lo.tolist() and out.hi.tolist() == hi.tolist()
    assert out.hi.tolist() == [0.0, 0.0, 0.0]


@settings(derandomize=True, max_examples=40, deadline=None)
@given(
    points=st.lists(
        st.tuples(*[st.floats(-1e6, 1e6, allow_nan=False, width=64)] * 3), min_size=2, max_size=20
    ),
    pivot=st.tuples(*[st.sampled_from([-0.5, -0.25, 0.0, 0.5])] * 3),
)
def test_obj_property_box_lands_where_spec_says(
    tmp_path_factory: pytest.TempPathFactory,
    points: list[tuple[float, float, float]],
    pivot: tuple[float, ...],
) -> None:
    arr = np.array(points)
    if np.any(np.ptp(arr, axis=0) == 0):
        return
    folder = tmp_path_factory.mktemp("prop")
    src = folder / "p.obj"
    src.write_text("".join(f"v {x!r} {y!r} {z!r}\n" for x, y, z in points))
    options = FitOptions(scaled_bbox=[1, 2, 3], pivot_point=pivot)
    dest = folder / "o" / "p.obj"
    dest.parent.mkdir()
    _fit_file(src, dest, options)
    out = open_asset(dest).measure()
    np.testing.assert_allclose(out.size, [1, 2, 3], rtol=1e-9)
    p = np.array(pivot)
    np.testing.assert_allclose(out.lo, -(0.5 + p) * out.size, rtol=1e-9, atol=1e-9)
    for i in range(3):
        if pivot[i] == -0.5:
            assert out.lo[i] == 0.0
        if pivot[i] == 0.5:
            assert out.hi[i] == 0.0


# --- PLY and STL: only coordinates change ---------------------------------------------


def test_binary_stl_keeps_header_and_attributes(shared_formats: Path, tmp_path: Path) -> None:
    src = shared_formats / "STL" / "Spider_binary.stl"
    dest = tmp_path / "s.stl"
    _, report = _fit_file(src, dest, FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=BOTTOM))
    assert report.notes == []
    old, new = src.read_bytes(), dest.read_bytes()
    assert len(old) == len(new) and old[:84] == new[:84]
    dt = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
    a = np.frombuffer(old, dt, offset=84)
    b = np.frombuffer(new, dt, offset=84)
    assert np.array_equal(a["attr"], b["attr"])
    norms = np.linalg.norm(b["normal"], axis=1)
    np.testing.assert_allclose(norms[norms > 0], 1.0, rtol=1e-6)


def test_ascii_stl_keeps_solid_names_and_layout(shared_formats: Path, tmp_path: Path) -> None:
    src = shared_formats / "STL" / "triangle_with_two_solids.stl"
    dest = tmp_path / "t.stl"
    _fit_file(src, dest, FitOptions(scaled_bbox=[1, 2, -1]))
    for a, b in zip(src.read_text().splitlines(True), dest.read_text().splitlines(True), strict=True):
        if a.split()[:1] != ["vertex"]:
            assert a == b


@pytest.mark.parametrize("name", ["cube.ply", "cube_binary.ply", "float-color.ply"])
def test_ply_keeps_header_faces_and_other_properties(shared_formats: Path, name: str, tmp_path: Path) -> None:
    src = shared_formats / "PLY" / name
    dest = tmp_path / name
    _, report = _fit_file(src, dest, FitOptions(scaled_bbox=[2, -1, -1], pivot_point=BOTTOM))
    assert report.notes == []
    old, new = src.read_bytes(), dest.read_bytes()
    end = old.index(b"end_header\n") + len(b"end_header\n")
    assert old[:end] == new[:end]
    assert len(old) == len(new) or b"ascii" in old[:end]
    if b"ascii" in old[:end]:
        old_lines = old[end:].decode().splitlines()
        new_lines = new[end:].decode().splitlines()
        n = int(re.search(rb"element vertex (\d+)", old).group(1))  # type: ignore[union-attr]
        assert old_lines[n:] == new_lines[n:]  # faces
        for a, b in zip(old_lines[:n], new_lines[:n], strict=True):
            assert a.split()[3:] == b.split()[3:]  # colours and the rest
    else:
        assert old[-12 * 13 :] == new[-12 * 13 :]  # the 12 faces (1 + 3 * 4 bytes each)


def test_big_endian_binary_ply_stays_big_endian(tmp_path: Path) -> None:
    header = (
        b"ply\nformat binary_big_endian 1.0\nelement vertex 3\nproperty double x\n"
        b"property double y\nproperty double z\nproperty uchar red\nelement face 1\n"
        b"property list uchar int vertex_indices\nend_header\n"
    )
    verts = np.array([(0, 0, 0, 7), (4, 0, 0, 8), (0, 2, 1, 9)],
                     dtype=[("x", ">f8"), ("y", ">f8"), ("z", ">f8"), ("r", "u1")])  # fmt: skip
    face = b"\x03" + np.array([0, 1, 2], ">i4").tobytes()
    src = tmp_path / "be.ply"
    src.write_bytes(header + verts.tobytes() + face)
    dest = tmp_path / "o" / "be.ply"
    dest.parent.mkdir()
    _fit_file(src, dest, FitOptions(scaled_bbox=[1, -1, -1], pivot_point=[-0.5, -0.5, -0.5]))
    out = np.frombuffer(dest.read_bytes(), verts.dtype, count=3, offset=len(header))
    assert out["x"].tolist() == [0, 1, 0] and out["y"].tolist() == [0, 0, 0.5]
    assert out["r"].tolist() == [7, 8, 9]
    assert dest.read_bytes()[-13:] == face


# --- other formats through trimesh ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suffix"), [("OBJ/cube_usemtl.obj", ".ply"), ("STL/Spider_binary.stl", ".obj"),
                         ("PLY/cube.ply", ".stl"), ("OBJ/box_UTF16BE.obj", ".stl")]
)  # fmt: skip
def test_cross_format_output_is_marked_lossy(
    shared_formats: Path, name: str, suffix: str, tmp_path: Path
) -> None:
    dest = tmp_path / ("out" + suffix)
    _, report = _fit_file(
        shared_formats / name, dest, FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=BOTTOM)
    )
    assert any("converted through trimesh (lossy)" in n for n in report.notes)
    out = open_asset(dest).measure()
    np.testing.assert_allclose(out.size, [1, 2, 0.5], rtol=1e-6)
    assert abs(out.lo[1]) <= 1e-7


def test_wrap_mode_is_refused(shared_formats: Path, tmp_path: Path) -> None:
    asset = open_asset(shared_formats / "OBJ" / "box.obj")
    m = asset.measure()
    options = FitOptions(scaled_bbox=[1, 1, 1], mode="wrap")
    with pytest.raises(UnsupportedInputError, match="mode 'wrap' needs a scene graph"):
        asset.write_fitted(compute_fit(m.lo, m.hi, options), tmp_path / "o.obj", options)
    assert not (tmp_path / "o.obj").exists()


# --- bad input ------------------------------------------------------------------------


def _corrupt_cases(formats: Path) -> list[tuple[str, bytes, type[InputError]]]:
    spider = (formats / "STL" / "Spider_binary.stl").read_bytes()
    cube = (formats / "PLY" / "cube_binary.ply").read_bytes()
    garbage = bytes(np.random.default_rng(7).integers(0, 256, 4000, dtype=np.uint8))
    return [
        ("truncated.stl", spider[: len(spider) - 25], UnreadableInputError),
        ("short.stl", spider[:40], UnreadableInputError),
        ("truncated.ply", cube[: len(cube) - 30], UnreadableInputError),
        ("header_only.ply", cube[:150], UnreadableInputError),
        ("garbage.ply", garbage, UnreadableInputError),
        ("garbage.stl", garbage, UnreadableInputError),
        ("garbage.obj", garbage, UnreadableInputError),
        ("empty.obj", b"", EmptyInputError),
        ("comments.obj", b"# nothing here\n\n", EmptyInputError),
        ("nan.obj", b"v 0 0 0\nv nan 1 1\nv 1 1 1\nf 1 2 3\n", NonFiniteInputError),
        ("inf.stl", b"solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex inf 0 0\n"
                    b"vertex 0 1 0\nendloop\nendfacet\nendsolid x\n", NonFiniteInputError),
        ("nan.ply", b"ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                    b"property float z\nend_header\n0 0 0\nnan 1 1\n", NonFiniteInputError),
        ("bad_number.obj", b"v 0 zero 0\n", UnreadableInputError),
        ("bad_index.obj", b"v 0 0 0\nf 1 2 3\n", UnreadableInputError),
        ("empty.stl", b"", UnreadableInputError),
        ("no_facets.stl", b"solid empty\nendsolid empty\n", EmptyInputError),
        ("zero.stl", b"\0" * 80 + b"\0\0\0\0", EmptyInputError),
    ]  # fmt: skip


def test_bad_inputs_raise_the_right_error_in_one_line(shared_formats: Path, tmp_path: Path) -> None:
    for name, data, error in _corrupt_cases(shared_formats):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(error) as info:
            open_asset(path).measure()
        message = str(info.value)
        assert "\n" not in message, name
        assert str(path) in message, name  # the adapter names the file
        assert len(message) < 300, name


def test_flat_triangle_measures_but_cannot_stretch_along_z(shared_formats: Path) -> None:
    m = open_asset(shared_formats / "STL" / "triangle.stl").measure()
    assert m.lo.tolist() == [-1, -1, 0] and m.hi.tolist() == [1, 1, 0]
    with pytest.raises(FlatAxisError):
        compute_fit(m.lo, m.hi, FitOptions(scaled_bbox=[1, 2, 0.5]))
    fit = compute_fit(m.lo, m.hi, FitOptions(scaled_bbox=[1, 2, -1]))
    assert fit.scale[2] > 0


def test_adapter_rejects_other_extensions(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedInputError):
        TrimeshAsset(tmp_path / "x.fbx")


# --- in-memory trimesh objects --------------------------------------------------------


def test_trimesh_unreferenced_vertices_are_ignored_and_input_untouched() -> None:
    box = trimesh.creation.box(extents=[2, 4, 6])
    mesh = trimesh.Trimesh(
        vertices=np.vstack([box.vertices, [[100.0, 100.0, 100.0]]]), faces=box.faces, process=False
    )
    normals = np.array(mesh.vertex_normals)
    vertices = mesh.vertices.copy()
    m = measure_trimesh(mesh)
    assert m.size.tolist() == [2, 4, 6]
    new, fit = fit_trimesh(mesh, FitOptions(scaled_bbox=[1, 1, 1], pivot_point=BOTTOM))
    assert np.array_equal(mesh.vertices, vertices)
    assert np.array_equal(mesh.vertex_normals, normals)
    out = measure_trimesh(new)
    np.testing.assert_allclose(out.size, [1, 1, 1], rtol=1e-12)
    assert out.lo[1] == 0.0
    assert len(new.vertices) == len(mesh.vertices)  # the stray vertex is moved, not dropped
    expected = normals / fit.scale  # inverse-transpose of a diagonal scale
    length = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, length, out=np.zeros_like(expected), where=length > 0)
    np.testing.assert_allclose(new.vertex_normals, expected, atol=1e-12)


def test_scene_uses_world_transforms_and_is_not_mutated() -> None:
    scene = trimesh.Scene()
    box = trimesh.creation.box(extents=[1, 1, 1])
    moved = trimesh.transformations.translation_matrix([10, 0, 0]) @ np.diag([2.0, 3.0, 4.0, 1.0])
    scene.add_geometry(box, node_name="a")
    scene.add_geometry(box, node_name="b", transform=moved)
    transforms = {n: scene.graph[n][0].copy() for n in scene.graph.nodes_geometry}
    m = measure_trimesh(scene)
    assert m.lo.tolist() == [-0.5, -1.5, -2.0] and m.hi.tolist() == [11.0, 1.5, 2.0]
    assert m.counts["meshes"] == 2
    new, _ = fit_trimesh(scene, FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=BOTTOM))
    out = measure_trimesh(new)
    np.testing.assert_allclose(out.size, [1, 2, 0.5], rtol=1e-12)
    np.testing.assert_allclose(out.lo, [-0.5, 0.0, -0.25], atol=1e-12)
    for n, matrix in transforms.items():
        assert np.array_equal(scene.graph[n][0], matrix)
    assert measure_trimesh(scene).lo.tolist() == m.lo.tolist()


def test_point_cloud_fits_and_is_not_mutated() -> None:
    cloud = trimesh.PointCloud(np.array([[0.0, 0, 0], [1, 2, 3], [-1, 5, 2]]))
    vertices = cloud.vertices.copy()
    new, _ = fit_trimesh(cloud, FitOptions(scaled_bbox=[-1, 1, -1], pivot_point=[0.5, 0.5, 0.5]))
    assert np.array_equal(cloud.vertices, vertices)
    out = measure_trimesh(new)
    np.testing.assert_allclose(out.size[1], 1.0)
    assert out.hi.tolist() == [0.0, 0.0, 0.0]


def test_empty_and_unknown_objects_are_errors() -> None:
    with pytest.raises(EmptyInputError):
        measure_trimesh(trimesh.Scene())
    with pytest.raises(UnsupportedInputError):
        measure_trimesh(object())
    with pytest.raises(NonFiniteInputError):
        measure_trimesh(trimesh.PointCloud(np.array([[0.0, 0, 0], [np.nan, 1, 1]])))


# --- OBJ fast paths: plain lines take quicker routes than lines with a comment or a backslash ---

_space = st.text(alphabet=" \t\x0b\x0c\xa0", min_size=1, max_size=3)
_number = st.floats(-1e6, 1e6, allow_nan=False).map(repr) | st.sampled_from(["0", "-0", "1e-3", "+2", ".5", "7."])


@given(
    lead=st.text(alphabet=" \t", max_size=2),
    keyword=st.sampled_from(["v", "vn"]),
    gaps=st.lists(_space, min_size=3, max_size=3),
    numbers=st.lists(_number, min_size=3, max_size=3),
    tail=st.sampled_from(["", " 1.0", " 0.5 0.25 0.125", "\t", " 1 # c", " # c"]),
    ending=st.sampled_from(["\n", "\r\n", "\r", ""]),
    values=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=3, max_size=3),
)
def test_obj_number_replacement_fast_path_equals_the_careful_one(
    lead: str, keyword: str, gaps: list[str], numbers: list[str], tail: str, ending: str, values: list[float]
) -> None:
    from meshpivot.formats.obj import _replace_numbers, _replace_rows

    line = lead + keyword + "".join(g + n for g, n in zip(gaps, numbers, strict=True)) + tail + ending
    lines = [line]
    _replace_rows(lines, np.array([0]), np.array([values]))
    assert lines[0] == _replace_numbers(line, values)


@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(["", "/1", "//2", "/3/4"]), st.booleans()),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_obj_parse_is_the_same_with_comments_on_any_line(
    corners: list[tuple[int, str, bool]], commented: list[bool]
) -> None:
    # A trailing comment sends a line down the careful path; it must change nothing parsed.
    import tempfile

    from meshpivot.formats.obj import read_obj

    body = ["v 0 0 0", "v 1 0 0", "v 0 1 0", "v 1 1 0", "v 2 0 1", "v 0 2 1", "vn 0 0 1"]
    refs = " ".join(f"{-(7 - i) if neg else i}{tail}" for i, tail, neg in corners)
    body.append(f"f {refs}")
    plain = "\n".join(body) + "\n"
    noted = "\n".join(f"{ln} # note" if c else ln for ln, c in zip(body, commented, strict=True)) + "\n"
    parsed = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, text in enumerate((plain, noted)):
            path = Path(tmp) / f"{k}.obj"
            path.write_text(text)
            obj = read_obj(path)
            parsed.append((obj.positions.tolist(), obj.referenced.tolist(), obj.counts, obj.normals.tolist()))
    assert parsed[0] == parsed[1]
    used = {i - 1 for i, _, _ in corners}  # -(7 - i) after six vertices is vertex i too
    assert parsed[0][1] == [i in used for i in range(6)]


def _obj_line(odd: bool) -> st.SearchStrategy[str]:
    """One OBJ line: plain, or (``odd``) with what the bulk scan must read as the careful
    one does, or leave to it: odd blanks, signs, non-numbers, comments, continuations."""

    def pick(plain: list[str], unusual: list[str]) -> st.SearchStrategy[str]:
        return st.sampled_from(plain + unusual) if odd else st.sampled_from(plain)

    gap = pick([" ", "\t", "  ", " \t"], ["\x0b", "\xa0"])
    num = st.floats(allow_nan=odd, allow_infinity=odd, width=32).map(repr) | pick(
        ["0", "-0", "1e-3", "+2", ".5", "7.", "1E+05", "4.9e-324", "1e500", "0.30000000000000004"],
        ["1_0", "0x1p3", "1e", "1-2", "--1", "1..2", "x", "nan"],
    )
    corner = st.tuples(
        pick(["1", "2", "3", "007", "99"], ["0", "-1", "+2", "", "a", "1a", "12345678901234567890"]),
        pick(["", "/1", "//2", "/3/4"], ["/", "/x"]),
    ).map("".join)
    statement = st.one_of(
        st.tuples(
            pick(["v", "vn"], ["V", "vt", "v1"]), st.lists(st.tuples(gap, num), min_size=0 if odd else 3, max_size=7)
        ).map(lambda t: t[0] + "".join(g + n for g, n in t[1])),
        st.tuples(pick(["f", "l", "p"], ["fo"]), st.lists(st.tuples(gap, corner), max_size=5)).map(
            lambda t: t[0] + "".join(g + c for g, c in t[1])
        ),
        pick(
            ["o thing", "o", "g group", "s 1", "s off", "usemtl m", "mtllib a.mtl", "mtllib  b c.mtl ", "mtllib",
             "curv 0 1 1 2", "curv2 1 2", "surf 0 1 0 1 1 2", "cstype bezier", "# comment", "", "  ", "\t# c",
             "vt 0 0"],
            [],
        ),
    )  # fmt: skip
    return st.tuples(
        pick([""], [" ", "\t"]),
        statement,
        pick(["", "", " "], [" # tail", "\\"]),
        pick(["\n", "\n", "\r\n", "\r"], ["\x0c", "\x85"]),
    ).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.booleans().flatmap(lambda odd: st.lists(_obj_line(odd), max_size=14)), st.booleans())
def test_obj_bulk_scan_reads_what_the_careful_scan_reads(lines: list[str], last_newline: bool) -> None:
    # Whenever the bulk scan answers, it is the careful scan's answer, value for value and
    # bit for bit; files the careful scan refuses, the bulk scan leaves to it.
    from meshpivot.formats.obj import _bulk_scan, _careful_scan, _check_references, _logical_lines

    text = "".join(lines)
    if not last_newline:
        text = text.rstrip("\n")
    logical = _logical_lines(text)
    path = Path("x.obj")
    try:
        careful = _careful_scan(logical, path)
    except UnreadableInputError as exc:
        careful = str(exc)
    bulk = _bulk_scan(text.encode("latin-1"), logical)
    if bulk is None:
        return
    try:  # what read_obj checks after either scan
        _check_references(bulk.max_positive, len(bulk.positions), path)
    except UnreadableInputError as exc:
        assert careful == str(exc), text
        return
    assert not isinstance(careful, str), (careful, text)
    for name in ("positions", "v_lines", "normals", "vn_lines", "used"):
        a, b = getattr(careful, name), getattr(bulk, name)
        assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), (name, text)
    assert (careful.max_positive, careful.counts, careful.objects, careful.freeform, careful.mtllibs) == (
        bulk.max_positive, bulk.counts, bulk.objects, bulk.freeform, bulk.mtllibs
    ), text


def test_obj_bulk_scan_takes_plain_files_and_leaves_odd_ones() -> None:
    # The property above holds trivially if the bulk scan declines everything.
    from meshpivot.formats.obj import _bulk_scan, _logical_lines

    def scanned(text: str) -> bool:
        return _bulk_scan(text.encode("latin-1"), _logical_lines(text)) is not None

    plain = "# exported\nmtllib a.mtl\no box\nv 0 0 0\nv 1 0 0 0.5 0.5 0.5\nv 0 1 0\nvn 0 0 1\nvt 0 0\n"
    assert scanned(plain + "usemtl m\ns 1\nf 1/1/1 2/1/1 3//1\nl 1 2\np 3\n")
    assert scanned(plain.replace("\n", "\r\n") + "f 1 2 3")
    for odd in ["f -1 -2 -3\n", "f 1 2 3 # tail\n", " f 1 2 3\n", "f 0 1 2\n", "v 1 2\n", "v nan 0 0\n",
                "f 1\\\n 2 3\n", "f +1 2 3\n", "f 1\xa02 3\n", "v\xa01 2 3\n", "mtllib b.mtl # c\n"]:  # fmt: skip
        assert not scanned(plain + odd), odd


def test_obj_bulk_scan_leaves_a_number_older_numpy_reads_in_part(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # numpy before 2.3 reads "1e" as 1.0 and only warns (newer raises): the careful scan
    # then words the error, as it does on any numpy.
    import warnings

    from meshpivot.formats.obj import _bulk_scan, _logical_lines, read_obj

    real = np.fromstring

    def lenient(text: bytes, dtype: object = float, sep: str = "") -> np.ndarray:
        try:
            return real(text, dtype=dtype, sep=sep)
        except ValueError:
            warnings.warn("string or file could not be read to its end", DeprecationWarning, stacklevel=2)
            head = text.decode("latin-1").rsplit("e", 1)[0]
            return real(head, dtype=dtype, sep=sep)

    monkeypatch.setattr(np, "fromstring", lenient)
    text = "v 0 0 0\nv 1 2 0.5e\np 1 2\n"
    assert _bulk_scan(text.encode("latin-1"), _logical_lines(text)) is None
    with pytest.warns(DeprecationWarning):  # the stand-in behaves as older numpy does
        assert lenient(b"0 0 0 1 2 0.5e", dtype=np.float64, sep=" ").tolist() == [0, 0, 0, 1, 2, 0.5]
    path = tmp_path / "in.obj"
    path.write_text(text)
    with pytest.raises(UnreadableInputError, match=r"line 2: 'v' needs three numbers x y z, got 'v 1 2 0.5e'"):
        read_obj(path)
