"""Tests of meshpivot.geometry and meshpivot.preview: the picture of the fit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import trimesh

from meshpivot.errors import OutputError, SpecError, UnsupportedInputError
from meshpivot.geometry import WorldGeometry, world_geometry
from meshpivot.options import FitOptions
from meshpivot.preview import (
    BOX,
    ORIGIN,
    PIVOT,
    panel_layout,
    panel_size,
    preview_before_after,
    preview_file,
    rasterize,
    render_panel,
    render_preview,
)

Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[1]
CHAIR_GLB = ROOT / "samples" / "chair.glb"
CHAIR_OBJ = ROOT / "samples" / "chair.obj"
VIEW = 400  # the smallest cells: fast tests


def box_geometry(lo: list[float], hi: list[float]) -> WorldGeometry:
    """An axis-aligned box mesh spanning ``[lo, hi]``."""
    mesh = trimesh.creation.box(bounds=[lo, hi])
    return WorldGeometry(np.asarray(mesh.vertices), np.asarray(mesh.faces))


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def colour_at(img: np.ndarray, col: int, row: int) -> tuple[int, int, int]:
    r, g, b = img[row, col]
    return int(r), int(g), int(b)


# --- geometry ------------------------------------------------------------------------


def test_gltf_geometry_box_equals_measured_box() -> None:
    from meshpivot.api import measure_file

    g = world_geometry(CHAIR_GLB)
    m = measure_file(CHAIR_GLB)
    assert g.vertices.dtype == np.float32 and g.triangles.dtype == np.int32
    assert g.triangle_count == 1080
    np.testing.assert_array_equal(g.bounds()[0], m.lo)
    np.testing.assert_array_equal(g.bounds()[1], m.hi)


def test_obj_geometry_matches_glb() -> None:
    a = world_geometry(CHAIR_OBJ)
    b = world_geometry(CHAIR_GLB)
    assert a.triangle_count == b.triangle_count
    np.testing.assert_allclose(a.bounds()[0], b.bounds()[0], atol=1e-6)
    np.testing.assert_allclose(a.bounds()[1], b.bounds()[1], atol=1e-6)


def test_strips_fans_lines_and_points_are_drawn(corpus_dir: Path) -> None:
    g = world_geometry(corpus_dir / "MeshPrimitiveModes-gltf" / "MeshPrimitiveModes.gltf")
    assert g.triangle_count > 0 and len(g.lines) > 0 and len(g.points) > 0


def test_skinned_geometry_is_posed_like_measure(corpus_dir: Path) -> None:
    from meshpivot.api import measure_file

    path = corpus_dir / "CesiumMan" / "CesiumMan.glb"
    g = world_geometry(path)
    m = measure_file(path)
    np.testing.assert_allclose(g.bounds()[0], m.lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.bounds()[1], m.hi, rtol=0, atol=1e-12)
    # The posed vertices themselves (float32) stay inside the measured box.
    v = g.used_vertices().astype(np.float64)
    assert np.all(v >= m.lo - 1e-6) and np.all(v <= m.hi + 1e-6)


def test_unknown_format_without_reader_is_unsupported(tmp_path: Path) -> None:
    bad = tmp_path / "a.xyz"
    bad.write_text("1 2 3\n")
    with pytest.raises(UnsupportedInputError):
        world_geometry(bad)


# --- layout and rasteriser -----------------------------------------------------------


def test_views_share_scale_and_axes() -> None:
    lay = panel_layout([-1, 0, -2], [1, 3, 2], view_size=VIEW)
    front, side, top = lay.views["front"], lay.views["side"], lay.views["top"]
    p = [0.7, 1.2, -0.4]
    assert front.pixel(p)[0] == top.pixel(p)[0]  # top view above front: same columns
    assert front.pixel(p)[1] == side.pixel(p)[1]  # side view beside front: same rows
    # Side view from +X: +Z points left. Top view from +Y: +Z points down.
    assert side.project([[0, 0, 1]])[0, 0] < side.project([[0, 0, 0]])[0, 0]
    assert top.project([[0, 0, 1]])[0, 1] > top.project([[0, 0, 0]])[0, 1]


def test_rasterize_fills_inside_only() -> None:
    xy = np.array([[10.2, 10.2], [50.7, 12.0], [20.0, 40.9]])
    img = rasterize(xy, [0.0, 0.0, 0.0], [[0, 1, 2]], [200], 64, 64)
    rows, cols = np.nonzero(img)
    assert len(rows) > 300 and set(np.unique(img[img > 0]).tolist()) == {200}
    assert cols.min() >= 10 and cols.max() <= 50 and rows.min() >= 10 and rows.max() <= 40


def test_rasterize_nearest_triangle_wins() -> None:
    xy = np.array([[0, 0], [32, 0], [0, 32], [0, 0], [32, 0], [0, 32]], dtype=float)
    depth = [5.0, 5.0, 5.0, 1.0, 1.0, 1.0]
    img = rasterize(xy, depth, [[0, 1, 2], [3, 4, 5]], [50, 150], 32, 32)
    assert img[4, 4] == 150
    img = rasterize(xy, depth, [[3, 4, 5], [0, 1, 2]], [150, 50], 32, 32)
    assert img[4, 4] == 150


def test_subpixel_triangles_are_splatted() -> None:
    xy = np.array([[5.1, 5.1], [5.3, 5.1], [5.1, 5.3]])
    img = rasterize(xy, [0, 0, 0], [[0, 1, 2]], [99], 16, 16)
    assert img[5, 5] == 99 and np.count_nonzero(img) == 1


# --- pictures ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def offset_box_png(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldGeometry, FitOptions]:
    geom = box_geometry([0.2, 0.1, -0.3], [1.2, 2.1, 0.5])
    opts = FitOptions(pivot_point=[0.5, -0.5, -0.25])
    out = tmp_path_factory.mktemp("pv") / "box.png"
    assert render_preview(geom, out, options=opts, title="box", view_size=VIEW) == out
    return out, geom, opts


def test_image_size_is_two_cells_by_two(offset_box_png: tuple[Path, WorldGeometry, FitOptions]) -> None:
    out, _, _ = offset_box_png
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == panel_size(VIEW) == (2 * VIEW, 2 * VIEW)


@pytest.mark.parametrize("view", ["front", "side", "top"])
def test_markers_sit_where_the_projection_puts_them(
    offset_box_png: tuple[Path, WorldGeometry, FitOptions], view: str
) -> None:
    out, geom, opts = offset_box_png
    img = pixels(out)
    lo, hi = geom.bounds()
    lay = panel_layout(lo, hi, options=opts, view_size=VIEW)
    v = lay.views[view]  # type: ignore[index]
    # Origin: a red cross centred on its pixel.
    oc, orow = v.pixel([0, 0, 0])
    assert colour_at(img, oc, orow) == ORIGIN
    assert colour_at(img, oc + 9, orow) == ORIGIN and colour_at(img, oc, orow - 9) == ORIGIN
    # Requested pivot: the point of the box that pivot_point names, a blue dot in a ring.
    p = np.array(opts.pivot_point)
    pivot = (0.5 - p) * lo + (0.5 + p) * hi
    np.testing.assert_allclose(lay.pivot, pivot)
    pc, pr = v.pixel(pivot)
    assert colour_at(img, pc, pr) == PIVOT
    ring = [colour_at(img, pc + dx, pr + dy) for dx, dy in ((7, 0), (-7, 0), (0, 7), (0, -7))]
    assert ring.count(PIVOT) >= 2  # the origin's cross may cover part of the ring


@pytest.fixture(scope="module")
def far_box_png(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, WorldGeometry]:
    # Far from the origin and without options: no marker covers the box outline.
    geom = box_geometry([100.0, 50.0, -30.0], [101.0, 52.0, -29.2])
    out = tmp_path_factory.mktemp("pv") / "far.png"
    render_preview(geom, out, view_size=VIEW)
    return out, geom


@pytest.mark.parametrize("view", ["front", "side", "top"])
def test_box_outline_and_silhouette_inside_it(far_box_png: tuple[Path, WorldGeometry], view: str) -> None:
    out, geom = far_box_png
    img = pixels(out).astype(int)
    lo, hi = geom.bounds()
    v = panel_layout(lo, hi, view_size=VIEW).views[view]  # type: ignore[index]
    corners = v.project(np.stack([lo, hi]))
    c0, c1 = sorted(int(np.floor(c)) for c in corners[:, 0])
    r0, r1 = sorted(int(np.floor(r)) for r in corners[:, 1])
    # Outline: the box colour along every edge.
    for edge in (img[r0, c0 : c1 + 1], img[r1, c0 : c1 + 1], img[r0 : r1 + 1, c0], img[r0 : r1 + 1, c1]):
        assert np.all(edge == BOX)
    # Silhouette: blue-grey pixels (blue channel clearly above red) fill the inside
    # of the box, and none lie outside it within the view's drawing cell.
    cell = img[v.top + 31 : v.top + v.size - 1, v.left + 1 : v.left + v.size - 1]
    r, g, b = cell[..., 0], cell[..., 1], cell[..., 2]
    surface = (b - r > 25) & (b > g) & (g > r) & (b < 200)  # shades of the slate surface colour
    rows, cols = np.nonzero(surface)
    rows += v.top + 31
    cols += v.left + 1
    inside = (cols >= c0) & (cols <= c1) & (rows >= r0) & (rows <= r1)
    assert inside.all()
    area = (c1 - c0 - 1) * (r1 - r0 - 1)
    assert inside.sum() > 0.8 * area


def test_same_input_gives_same_bytes(tmp_path: Path) -> None:
    opts = FitOptions(pivot_point=[0, -0.5, 0])
    a = preview_file(CHAIR_GLB, tmp_path / "a.png", opts, view_size=VIEW)
    b = preview_file(CHAIR_GLB, tmp_path / "b.png", opts, view_size=VIEW)
    assert a.read_bytes() == b.read_bytes()


def test_before_after_is_twice_as_wide(tmp_path: Path) -> None:
    from meshpivot.api import apply_file

    opts = FitOptions(scaled_bbox=[1, -1, -1], pivot_point=[0, -0.5, 0])
    fitted = tmp_path / "chair_fit.glb"
    apply_file(CHAIR_GLB, fitted, opts)
    out = preview_before_after(str(CHAIR_GLB), str(fitted), str(tmp_path / "ba.png"), opts, view_size=VIEW)
    assert out == tmp_path / "ba.png"
    w, h = panel_size(VIEW)
    img = pixels(out)
    assert img.shape[:2] == (h, 2 * w)
    # After the fit the requested pivot is the origin: cross over the ring in the right half.
    g = world_geometry(fitted)
    lay = panel_layout(*g.bounds(), options=opts, view_size=VIEW, left=w)
    c, r = lay.views["front"].pixel([0, 0, 0])
    assert colour_at(img, c, r) == ORIGIN
    assert colour_at(img, c + 8, r + 1) == PIVOT or colour_at(img, c + 8, r - 1) == PIVOT


def test_obj_and_skinned_gltf_render(tmp_path: Path, corpus_dir: Path) -> None:
    for src in (CHAIR_OBJ, corpus_dir / "CesiumMan" / "CesiumMan.glb"):
        out = preview_file(src, tmp_path / (src.stem + ".png"), None, view_size=VIEW)
        img = pixels(out)
        assert img.shape[:2] == (2 * VIEW, 2 * VIEW)
        assert np.any(np.all(img == ORIGIN, axis=-1)) or src.suffix == ".obj"  # chair's origin is off view


def test_no_pivot_marker_without_options(tmp_path: Path) -> None:
    out = render_preview(box_geometry([-1, 0, -1], [1, 1, 1]), tmp_path / "p.png", view_size=VIEW)
    assert not np.any(np.all(pixels(out) == PIVOT, axis=-1))


def test_write_is_atomic_and_errors_are_meshpivot_errors(tmp_path: Path) -> None:
    geom = box_geometry([0, 0, 0], [1, 1, 1])
    with pytest.raises(OutputError):
        render_preview(geom, tmp_path / "missing" / "p.png", view_size=VIEW)
    with pytest.raises(SpecError):
        render_preview(geom, tmp_path / "p.png", view_size=10)
    out = tmp_path / "p.png"
    out.write_bytes(b"old")
    render_preview(geom, out, view_size=VIEW)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.png"]  # no temporary left behind


def test_million_triangles_render(tmp_path: Path) -> None:
    n = 708  # 2 * 707**2 = 999,698 triangles: a wavy sheet
    u = np.linspace(-1, 1, n)
    x, z = np.meshgrid(u, u)
    y = 0.2 * np.sin(6 * x) * np.cos(4 * z) + 0.3
    vertices = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(n - 1))
    a = (j * n + i).ravel()
    faces = np.concatenate([np.stack([a, a + n, a + 1], 1), np.stack([a + 1, a + n, a + n + 1], 1)])
    geom = WorldGeometry(vertices, faces)
    assert geom.triangle_count > 990_000
    start = time.perf_counter()
    out = render_preview(geom, tmp_path / "big.png", options=FitOptions(pivot_point=[0, -0.5, 0]))
    elapsed = time.perf_counter() - start
    print(f"\n1M triangles, 600 px views: {elapsed:.2f} s")
    assert out.is_file() and elapsed < 60
    image, layout = render_panel(geom, view_size=VIEW)
    assert image.size == (layout.width, layout.height)
