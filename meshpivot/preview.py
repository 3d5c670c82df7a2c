"""A picture of the fit: three orthographic views of an asset, its box, origin and pivot.

The picture is a PNG drawn with Pillow and numpy only (no display, no GPU). One
asset fills a *panel* of 2 x 2 cells, each ``view_size`` pixels square (600 by
default), laid out as a third-angle drawing so that neighbouring views share an axis:

=====================================  =====================================
**top** (from +Y): +X right, +Z down   **info**: name, sizes, box, request,
                                       verdict, legend
**front** (from +Z): +X right, +Y up   **side** (from +X): +Z left, +Y up
=====================================  =====================================

All three views of a panel share one scale (pixels per metre), so the top view lines
up with the front view column and the side view with the front view row. Each view
shows the triangles as a shaded silhouette (flat shading by ``|normal . light|``,
nearest surface in front, lines and points drawn one pixel wide), a light grid, the
bounding box of SPEC.md section 2 (orange) with its sizes in metres, the origin
``(0, 0, 0)`` (red cross), the requested pivot, i.e. the point of the box that
``options.pivot_point`` names (blue ring), and the ground plane ``y = 0`` (green line)
in the front and side views. A panel is ``(2 * view_size, 2 * view_size)`` pixels;
:func:`preview_before_after` puts two panels side by side, ``(4 * view_size,
2 * view_size)``.

Rasterisation is vectorised numpy: every triangle's pixel-centre bounding box is
expanded into candidate pixels (``np.repeat``), tested with edge functions and
depth-resolved with ``np.minimum.at`` on a key that packs depth and shade, in chunks
of bounded size. Triangles too small to cover a pixel centre are splatted at their
centroid, so thin parts never vanish. A million triangles take about a second.

Output is deterministic (same input, same PNG bytes) and written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import MeshPivotError, MissingDependencyError, OutputError, SpecError
from .geometry import WorldGeometry, world_geometry
from .options import FitOptions
from .scratch import STAGING_PREFIX, locked_folder
from .vectors import values_checked_here

try:
    from PIL import Image, ImageDraw, ImageFont
except ImportError:  # pragma: no cover - checked by _require_pillow
    _HAVE_PIL = False
else:
    _HAVE_PIL = True

__all__ = [
    "DEFAULT_VIEW_SIZE",
    "VIEWS",
    "PanelLayout",
    "ViewLayout",
    "ViewName",
    "panel_layout",
    "panel_size",
    "preview_before_after",
    "preview_file",
    "rasterize",
    "render_panel",
    "render_preview",
]

F64 = NDArray[np.float64]
ViewName = Literal["front", "side", "top"]
VIEWS: tuple[ViewName, ...] = ("front", "side", "top")

#: Pixels per side of one view cell; a panel is two cells by two.
DEFAULT_VIEW_SIZE = 600
_MIN_VIEW_SIZE = 400

# Cell furniture, in pixels.
_TITLE_H = 30  # title strip at the top of a view cell
_MARGIN = 58  # room around the drawing for dimension labels
_CHUNK = 1 << 21  # candidate pixels per rasterisation chunk

# Colours (RGB).
BACKGROUND = (255, 255, 255)
INFO_BACKGROUND = (245, 247, 250)
TITLE_BACKGROUND = (233, 237, 242)
GRID = (234, 237, 241)
CELL_BORDER = (196, 202, 210)
TEXT = (33, 37, 41)
MUTED = (108, 117, 125)
SURFACE = (112, 132, 158)  # lit colour of the silhouette; shading scales it
OUTLINE = (44, 56, 74)
FEATURE = (70, 86, 110)
LINE_GEOMETRY = (44, 56, 74)
BOX = (232, 119, 34)
ORIGIN = (214, 39, 40)
PIVOT = (31, 99, 235)
GROUND = (46, 139, 87)
PASS = (25, 135, 84)
FAIL = (200, 35, 51)

# Per view: world axis for the horizontal (u, to the right) and vertical (v, up)
# image axes with their signs, and the depth axis (toward the viewer).
#   front, from +Z looking -Z: u = +x, v = +y, toward viewer +z
#   side,  from +X looking -X: u = -z, v = +y, toward viewer +x
#   top,   from +Y looking -Y: u = +x, v = -z, toward viewer +y
_AXES: dict[ViewName, tuple[tuple[int, float], tuple[int, float], int]] = {
    "front": ((0, 1.0), (1, 1.0), 2),
    "side": ((2, -1.0), (1, 1.0), 0),
    "top": ((0, 1.0), (2, -1.0), 1),
}
# Cell of each view in the panel (column, row), third-angle arrangement.
_CELLS: dict[ViewName, tuple[int, int]] = {"top": (0, 0), "front": (0, 1), "side": (1, 1)}
_INFO_CELL = (1, 0)
_TITLES: dict[ViewName, str] = {
    "front": "FRONT  from +Z:  +X right, +Y up",
    "side": "SIDE  from +X:  +Z left, +Y up",
    "top": "TOP  from +Y:  +X right, +Z down",
}


def _require_pillow() -> None:
    if not _HAVE_PIL:
        raise MissingDependencyError("preview needs Pillow; install it with: pip install 'meshpivot[preview]'")


# --- layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewLayout:
    """Where one orthographic view sits in a panel and how it maps world points.

    Attributes
    ----------
    name : {'front', 'side', 'top'}
    left, top : int
        The cell's top-left pixel in the panel.
    size : int
        The cell's side in pixels.
    scale : float
        Pixels per metre (shared by the views of a panel).
    centre_u, centre_v : float
        The world coordinates (along the view's u and v axes) shown at the centre
        of the drawing area.
    """

    name: ViewName
    left: int
    top: int
    size: int
    scale: float
    centre_u: float
    centre_v: float

    @property
    def centre_px(self) -> tuple[float, float]:
        """Panel pixel coordinates (column, row) of the drawing area's centre."""
        return self.left + self.size / 2, self.top + _TITLE_H + (self.size - _TITLE_H) / 2

    def uv(self, points: ArrayLike) -> tuple[F64, F64, F64]:
        """View coordinates of world points: ``u`` right, ``v`` up, ``w`` toward the viewer.

        Parameters
        ----------
        points : (n, 3) float
        """
        p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        (iu, su), (iv, sv), iw = _AXES[self.name]
        return p[:, iu] * su, p[:, iv] * sv, p[:, iw]

    def project(self, points: ArrayLike) -> F64:
        """Panel pixel coordinates of world points.

        Parameters
        ----------
        points : (n, 3) float
            World positions (metres, Y up).

        Returns
        -------
        (n, 2) float64
            Continuous ``(column, row)``; the point lies in pixel
            ``floor(column), floor(row)`` of the panel.
        """
        u, v, _ = self.uv(points)
        cx, cy = self.centre_px
        return np.stack([cx + (u - self.centre_u) * self.scale, cy - (v - self.centre_v) * self.scale], axis=1)

    def pixel(self, point: ArrayLike) -> tuple[int, int]:
        """The panel pixel ``(column, row)`` that a world point falls in."""
        c, r = self.project(point)[0]
        return int(np.floor(c)), int(np.floor(r))

    def inner(self) -> tuple[int, int, int, int]:
        """The drawing area ``(left, top, right, bottom)`` in panel pixels (inclusive)."""
        return (
            self.left + _MARGIN,
            self.top + _TITLE_H + _MARGIN,
            self.left + self.size - 1 - _MARGIN,
            self.top + self.size - 1 - _MARGIN,
        )


@dataclass(frozen=True)
class PanelLayout:
    """The three views of one panel, the box they show and the requested pivot.

    Attributes
    ----------
    views : dict of str to ViewLayout
    lo, hi : (3,) float64
        The box drawn.
    pivot : (3,) float64 or None
        The point of the box that ``options.pivot_point`` names (``None`` without options).
    width, height : int
        Panel size in pixels.
    """

    views: dict[ViewName, ViewLayout]
    lo: F64
    hi: F64
    pivot: F64 | None
    width: int
    height: int
    info: tuple[int, int]


def panel_size(view_size: int = DEFAULT_VIEW_SIZE) -> tuple[int, int]:
    """``(width, height)`` of one panel in pixels: two cells by two."""
    return 2 * view_size, 2 * view_size


def _check_view_size(view_size: int) -> int:
    if isinstance(view_size, bool) or not isinstance(view_size, int) or view_size < _MIN_VIEW_SIZE:
        raise SpecError(f"view_size is {view_size!r}; expected an integer >= {_MIN_VIEW_SIZE} (pixels)")
    return view_size


def _requested_pivot(lo: F64, hi: F64, options: FitOptions | None) -> F64 | None:
    if options is None:
        return None
    p = np.array(options.pivot_point, dtype=np.float64)
    out: F64 = (0.5 - p) * lo + (0.5 + p) * hi  # SPEC.md section 4, on the box as it is
    return out


def _framed_region(lo: F64, hi: F64) -> tuple[F64, F64]:
    """The box, grown to include the origin when the origin is near it."""
    span = float(np.max(hi - lo))
    reach = max(span, 1e-9)
    origin_gap = np.maximum(np.maximum(lo, 0.0) - 0.0, 0.0) + np.maximum(0.0 - hi, 0.0)
    if float(np.max(origin_gap)) <= reach:
        return np.minimum(lo, 0.0), np.maximum(hi, 0.0)
    return lo.copy(), hi.copy()


def panel_layout(
    lo: ArrayLike,
    hi: ArrayLike,
    *,
    options: FitOptions | None = None,
    view_size: int = DEFAULT_VIEW_SIZE,
    left: int = 0,
) -> PanelLayout:
    """Lay out the three views of a box on a panel.

    The views share one scale, the largest that fits the box (and the origin, when
    it lies within one box size of the box) into every drawing area.

    Parameters
    ----------
    lo, hi : (3,) float
        The box to show.
    options : FitOptions, optional
        Gives the requested pivot.
    view_size : int
        Cell side in pixels.
    left : int
        Column offset of the panel in the picture (the second panel of
        :func:`preview_before_after` starts at ``2 * view_size``).

    Returns
    -------
    PanelLayout

    Examples
    --------
    >>> lay = panel_layout([-0.5, 0, -0.5], [0.5, 1, 0.5], view_size=400)
    >>> lay.width, lay.height
    (800, 800)
    >>> front, top = lay.views["front"], lay.views["top"]
    >>> front.pixel([0.5, 0, 0])[0] == top.pixel([0.5, 0, 0])[0]  # top and front share columns
    True
    """
    view_size = _check_view_size(view_size)
    lo_a = np.array(lo, dtype=np.float64).reshape(3)
    hi_a = np.array(hi, dtype=np.float64).reshape(3)
    rlo, rhi = _framed_region(lo_a, hi_a)
    ext = rhi - rlo
    span = float(np.max(ext))
    floor = span * 1e-6 if span > 0 else 1.0
    ext = np.maximum(ext, floor)
    w_in = view_size - 2 * _MARGIN
    h_in = view_size - _TITLE_H - 2 * _MARGIN
    scale = min(w_in / ext[0], h_in / ext[1], h_in / ext[2], w_in / ext[2])
    centre = (rlo + rhi) / 2
    views: dict[ViewName, ViewLayout] = {}
    for name in VIEWS:
        col, row = _CELLS[name]
        (iu, su), (iv, sv), _ = _AXES[name]
        views[name] = ViewLayout(
            name=name,
            left=left + col * view_size,
            top=row * view_size,
            size=view_size,
            scale=float(scale),
            centre_u=float(centre[iu] * su),
            centre_v=float(centre[iv] * sv),
        )
    w, h = panel_size(view_size)
    info = (left + _INFO_CELL[0] * view_size, _INFO_CELL[1] * view_size)
    return PanelLayout(views, lo_a, hi_a, _requested_pivot(lo_a, hi_a, options), w, h, info)


# --- rasterisation ------------------------------------------------------------------


def _unit_normals(vertices: NDArray[np.float32], triangles: NDArray[np.int32]) -> NDArray[np.float32]:
    """(m, 3) float32 unit face normals (zero for degenerate triangles)."""
    a = vertices[triangles[:, 0]]
    e1 = vertices[triangles[:, 1]] - a
    e2 = vertices[triangles[:, 2]] - a
    n = np.empty_like(e1)
    n[:, 0] = e1[:, 1] * e2[:, 2] - e1[:, 2] * e2[:, 1]
    n[:, 1] = e1[:, 2] * e2[:, 0] - e1[:, 0] * e2[:, 2]
    n[:, 2] = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    length = np.sqrt(n[:, 0] * n[:, 0] + n[:, 1] * n[:, 1] + n[:, 2] * n[:, 2])
    n /= np.where(length > 0, length, 1.0)[:, None]
    return n


def _shades(normals: NDArray[np.float32], light: F64) -> NDArray[np.int64]:
    """Per-triangle shade 1..255: ``ambient + diffuse * |n . light|`` (two-sided)."""
    cos = np.abs(normals @ light.astype(np.float32))
    shade = 0.30 + 0.70 * np.clip(cos, 0.0, 1.0)
    return np.clip(np.rint(shade * 255.0), 2, 255).astype(np.int64)


def _view_light(name: ViewName) -> F64:
    """World light direction for a view: from the viewer's upper left, slightly behind them."""
    (iu, su), (iv, sv), iw = _AXES[name]
    d = np.zeros(3)
    d[iu] += -0.45 * su
    d[iv] += 0.60 * sv
    d[iw] += 0.66
    out: F64 = d / np.linalg.norm(d)
    return out


def _segment_pixels(
    x0: F64, y0: F64, d0: F64, x1: F64, y1: F64, d1: F64
) -> tuple[NDArray[np.int64], NDArray[np.int64], F64]:
    """Pixels (column, row, depth) along segments, about one sample per pixel."""
    steps = np.ceil(np.maximum(np.abs(x1 - x0), np.abs(y1 - y0))).astype(np.int64) + 1
    steps = np.minimum(steps, 1 << 16)
    seg = np.repeat(np.arange(len(x0)), steps)
    start = np.cumsum(steps) - steps
    k = np.arange(int(steps.sum())) - np.repeat(start, steps)
    t = k / np.maximum(steps[seg] - 1, 1)
    xs = x0[seg] + (x1[seg] - x0[seg]) * t
    ys = y0[seg] + (y1[seg] - y0[seg]) * t
    ds = d0[seg] + (d1[seg] - d0[seg]) * t
    return np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64), ds


def _zbuffer(
    pixels: ArrayLike,
    depth: ArrayLike,
    triangles: ArrayLike,
    shade: ArrayLike,
    width: int,
    height: int,
    *,
    lines: ArrayLike | None = None,
    points: ArrayLike | None = None,
    line_shade: int = 1,
) -> NDArray[np.int64]:
    """Keys ``depth << 8 | shade`` of the nearest primitive per pixel (int64 max: empty).

    Depth is quantised to 40 bits over the vertices' depth range; the arguments are
    those of :func:`rasterize`.
    """
    xy = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
    d = np.asarray(depth, dtype=np.float64).reshape(-1)
    tris = np.asarray(triangles, dtype=np.int64).reshape(-1, 3)
    tshade = np.asarray(shade, dtype=np.int64).reshape(-1)
    size = width * height
    # Key = quantised depth (high bits) | shade (low 8 bits): the minimum wins.
    dmin = float(d.min()) if len(d) else 0.0
    drange = float(d.max()) - dmin if len(d) else 0.0
    dq = float((1 << 40) - 1) / drange if drange > 0 else 0.0
    empty = np.iinfo(np.int64).max
    zbuf = np.full(size, empty, dtype=np.int64)

    def deposit(col: NDArray[np.int64], row: NDArray[np.int64], dep: F64, sh: NDArray[np.int64]) -> None:
        ok = (col >= 0) & (col < width) & (row >= 0) & (row < height)
        if not ok.all():
            col, row, dep, sh = col[ok], row[ok], dep[ok], sh[ok]
        q = np.clip(np.rint((dep - dmin) * dq), 0, (1 << 40) - 1).astype(np.int64)
        np.minimum.at(zbuf, row * width + col, (q << 8) | sh)

    x, y = xy[:, 0], xy[:, 1]
    degenerate_edges: list[NDArray[np.int64]] = []
    for t0 in range(0, len(tris), 1 << 20):
        t = tris[t0 : t0 + (1 << 20)]
        sh_t = tshade[t0 : t0 + (1 << 20)]
        xa, xb, xc = x[t[:, 0]], x[t[:, 1]], x[t[:, 2]]
        ya, yb, yc = y[t[:, 0]], y[t[:, 1]], y[t[:, 2]]
        da, db, dc = d[t[:, 0]], d[t[:, 1]], d[t[:, 2]]
        area2 = (xb - xa) * (yc - ya) - (xc - xa) * (yb - ya)
        # Pixel-centre bounding boxes: columns i with i + 0.5 in [min x, max x].
        i0 = np.maximum(np.ceil(np.minimum(np.minimum(xa, xb), xc) - 0.5), 0).astype(np.int64)
        i1 = np.minimum(np.floor(np.maximum(np.maximum(xa, xb), xc) - 0.5), width - 1).astype(np.int64)
        j0 = np.maximum(np.ceil(np.minimum(np.minimum(ya, yb), yc) - 0.5), 0).astype(np.int64)
        j1 = np.minimum(np.floor(np.maximum(np.maximum(ya, yb), yc) - 0.5), height - 1).astype(np.int64)
        bw = np.maximum(i1 - i0 + 1, 0)
        bh = np.maximum(j1 - j0 + 1, 0)
        flat = area2 == 0
        area = np.where(flat, 0, bw * bh)
        # Splat every triangle at its centroid pixel (covers sub-pixel triangles).
        splat = ~flat
        if splat.any():
            deposit(
                np.floor((xa + xb + xc)[splat] / 3).astype(np.int64),
                np.floor((ya + yb + yc)[splat] / 3).astype(np.int64),
                (da + db + dc)[splat] / 3,
                sh_t[splat],
            )
        if flat.any():
            f = t[flat]
            degenerate_edges.append(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]))
        big = np.flatnonzero(area > 0)
        if len(big) == 0:
            continue
        # Edge functions e_k(p) = A_k * px + B_k * py + C_k, oriented so inside is >= 0,
        # and the depth plane d(p) = P * px + Q * py + R.
        sgn = np.sign(area2[big])
        xa_, xb_, xc_ = xa[big], xb[big], xc[big]
        ya_, yb_, yc_ = ya[big], yb[big], yc[big]
        coeffs = []
        for (x0, y0), (x1, y1) in (((xb_, yb_), (xc_, yc_)), ((xc_, yc_), (xa_, ya_)), ((xa_, ya_), (xb_, yb_))):
            a_ = -(y1 - y0) * sgn
            b_ = (x1 - x0) * sgn
            c_ = -(a_ * x0 + b_ * y0)
            coeffs.append((a_, b_, c_))
        inv = 1.0 / area2[big]
        # Barycentric weight of vertex k is the (unoriented) edge function opposite it / area2.
        wa = [(c[0] * sgn * inv, c[1] * sgn * inv, c[2] * sgn * inv) for c in coeffs]
        da_, db_, dc_ = da[big], db[big], dc[big]
        pp = wa[0][0] * da_ + wa[1][0] * db_ + wa[2][0] * dc_
        qq = wa[0][1] * da_ + wa[1][1] * db_ + wa[2][1] * dc_
        rr = wa[0][2] * da_ + wa[1][2] * db_ + wa[2][2] * dc_
        table = np.stack([c for abc in coeffs for c in abc] + [pp, qq, rr], axis=1)  # (b, 12)
        bi0, bj0, bbw, barea, bsh = i0[big], j0[big], bw[big], area[big], sh_t[big]
        ends = np.cumsum(barea)
        first = 0
        while first < len(big):
            done = int(ends[first - 1]) if first else 0
            last = int(np.searchsorted(ends, done + _CHUNK, side="right"))
            last = max(last, first + 1)
            sel = slice(first, last)
            counts = barea[sel]
            tri = np.repeat(np.arange(first, last), counts)
            starts = np.cumsum(counts) - counts
            local = np.arange(int(counts.sum())) - np.repeat(starts, counts)
            width_t = bbw[tri]
            col = bi0[tri] + local % width_t
            row = bj0[tri] + local // width_t
            px = col + 0.5
            py = row + 0.5
            coef = table[tri]
            inside = coef[:, 0] * px + coef[:, 1] * py + coef[:, 2] >= 0
            inside &= coef[:, 3] * px + coef[:, 4] * py + coef[:, 5] >= 0
            inside &= coef[:, 6] * px + coef[:, 7] * py + coef[:, 8] >= 0
            coef = coef[inside]
            px, py = px[inside], py[inside]
            dep = coef[:, 9] * px + coef[:, 10] * py + coef[:, 11]
            deposit(col[inside], row[inside], dep, bsh[tri[inside]])
            first = last
    segs = [np.asarray(lines, dtype=np.int64).reshape(-1, 2)] if lines is not None else []
    segs += degenerate_edges
    ls = int(np.clip(line_shade, 1, 255))
    for s in segs:
        for k in range(0, len(s), 1 << 20):
            part = s[k : k + (1 << 20)]
            a, b = part[:, 0], part[:, 1]
            col, row, dep = _segment_pixels(x[a], y[a], d[a], x[b], y[b], d[b])
            deposit(col, row, dep, np.full(len(col), ls, dtype=np.int64))
    if points is not None:
        p = np.asarray(points, dtype=np.int64).reshape(-1)
        if len(p):
            deposit(
                np.floor(x[p]).astype(np.int64), np.floor(y[p]).astype(np.int64), d[p], np.full(len(p), ls, np.int64)
            )
    return zbuf.reshape(height, width)


def rasterize(
    pixels: ArrayLike,
    depth: ArrayLike,
    triangles: ArrayLike,
    shade: ArrayLike,
    width: int,
    height: int,
    *,
    lines: ArrayLike | None = None,
    points: ArrayLike | None = None,
    line_shade: int = 1,
) -> NDArray[np.uint8]:
    """Fill triangles into a ``height x width`` shade image, nearest surface in front.

    Parameters
    ----------
    pixels : (n, 2) float
        Continuous pixel coordinates ``(column, row)`` of the vertices; pixel
        ``(i, j)`` covers ``[i, i + 1) x [j, j + 1)`` and is sampled at its centre.
    depth : (n,) float
        Distance from the viewer (smaller is nearer).
    triangles : (m, 3) int
    shade : (m,) int
        Per-triangle shade 1..255.
    width, height : int
    lines : (k, 2) int, optional
        Segments, drawn one pixel wide with ``line_shade``.
    points : (p,) int, optional
        Vertices drawn as single pixels with ``line_shade``.
    line_shade : int
        Shade of lines, points and degenerate (zero-area) triangles, 1..255.

    Returns
    -------
    (height, width) uint8
        0 where nothing is drawn, else the shade of the nearest primitive.

    Notes
    -----
    Work is proportional to the sum of the triangles' pixel bounding-box areas,
    processed in chunks of about two million candidate pixels. A triangle that
    covers no pixel centre (smaller than a pixel, or seen edge-on) is splatted at
    its centroid pixel; one with zero projected area is drawn as its three edges.
    """
    keys = _zbuffer(
        pixels, depth, triangles, shade, width, height, lines=lines, points=points, line_shade=line_shade
    )
    out = np.zeros(keys.shape, dtype=np.uint8)
    drawn = keys != np.iinfo(np.int64).max
    out[drawn] = (keys[drawn] & 0xFF).astype(np.uint8)
    return out


# --- drawing ------------------------------------------------------------------------


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (ImportError, OSError, TypeError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _metres(value: float) -> str:
    """A length for a label: ``1.000 m``; very large or small values in general format."""
    v = float(value)
    if v == 0 or 0.001 <= abs(v) < 100000:
        return f"{v:.3f} m"
    return f"{v:.4g} m"


def _number(value: float, digits: int = 3) -> str:
    """``value`` rounded for display, without a ``-0.000``."""
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _triple(values: ArrayLike) -> str:
    return "(" + ", ".join(_number(v) for v in np.asarray(values).reshape(-1)) + ")"


def _nice_step(span_m: float, target_lines: int = 8) -> float:
    """A grid step of 1, 2 or 5 times a power of ten giving about ``target_lines`` lines."""
    if not span_m > 0:
        return 1.0
    raw = span_m / target_lines
    power = 10.0 ** np.floor(np.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if raw <= m * power:
            return float(m * power)
    return float(10 * power)  # pragma: no cover


class _Canvas:
    """A Pillow image with the text and marker helpers the panels use."""

    def __init__(self, width: int, height: int, view_size: int = DEFAULT_VIEW_SIZE) -> None:
        self.image = Image.new("RGB", (width, height), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        compact = view_size < 560
        self.view_size = view_size
        self.small = _font(11 if compact else 12)
        self.normal = _font(12 if compact else 14)
        self.large = _font(17 if compact else 20)
        self.step = 19 if compact else 22
        self.value_column = 118 if compact else 150

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        fill: tuple[int, int, int] = TEXT,
        *,
        font: ImageFont.FreeTypeFont | ImageFont.ImageFont | None = None,
        anchor: str = "la",
        halo: bool = False,
    ) -> None:
        f = font if font is not None else self.normal
        if halo:  # a white outline keeps labels readable over the silhouette
            self.draw.text(xy, text, fill=fill, font=f, anchor=anchor, stroke_width=2, stroke_fill=BACKGROUND)
        else:
            self.draw.text(xy, text, fill=fill, font=f, anchor=anchor)

    def vertical_text(self, centre: tuple[float, float], text: str, fill: tuple[int, int, int]) -> None:
        """Text rotated 90 degrees counter-clockwise (reads bottom to top), centred at ``centre``."""
        box = self.draw.textbbox((0, 0), text, font=self.normal, anchor="lt", stroke_width=2)
        w, h = int(box[2] - box[0]) + 2, int(box[3] - box[1]) + 2
        tile = Image.new("L", (w, h), 0)
        ImageDraw.Draw(tile).text((1, 1), text, fill=255, font=self.normal, anchor="lt")
        halo = Image.new("L", (w, h), 0)
        ImageDraw.Draw(halo).text((1, 1), text, fill=255, font=self.normal, anchor="lt", stroke_width=2)
        tile = tile.transpose(Image.Transpose.ROTATE_90)
        halo = halo.transpose(Image.Transpose.ROTATE_90)
        at = (round(centre[0] - h / 2), round(centre[1] - w / 2))
        self.image.paste(BACKGROUND, at, halo)
        self.image.paste(fill, at, tile)

    def arrow(
        self, start: tuple[float, float], end: tuple[float, float], fill: tuple[int, int, int], width: int = 2
    ) -> None:
        self.draw.line([start, end], fill=fill, width=width)
        dx, dy = end[0] - start[0], end[1] - start[1]
        n = float(np.hypot(dx, dy)) or 1.0
        ux, uy = dx / n, dy / n
        head = 7.0
        left = (end[0] - head * ux + head * 0.5 * uy, end[1] - head * uy - head * 0.5 * ux)
        right = (end[0] - head * ux - head * 0.5 * uy, end[1] - head * uy + head * 0.5 * ux)
        self.draw.polygon([end, left, right], fill=fill)


def _dimension(
    canvas: _Canvas, a: tuple[int, int], b: tuple[int, int], label: str, *, side: Literal["below", "above", "right"]
) -> None:
    """A dimension line with end ticks along one box edge, offset outside it, labelled."""
    gap = 14
    if side in ("below", "above"):
        y = a[1] + gap if side == "below" else a[1] - gap
        canvas.draw.line([(a[0], y), (b[0], y)], fill=BOX, width=1)
        for x in (a[0], b[0]):
            canvas.draw.line([(x, y - 5), (x, y + 5)], fill=BOX, width=1)
        ty = y + 4 if side == "below" else y - 4
        canvas.text(((a[0] + b[0]) / 2, ty), label, BOX, anchor="mt" if side == "below" else "mb", halo=True)
    else:
        x = a[0] + gap
        canvas.draw.line([(x, a[1]), (x, b[1])], fill=BOX, width=1)
        for y in (a[1], b[1]):
            canvas.draw.line([(x - 5, y), (x + 5, y)], fill=BOX, width=1)
        canvas.vertical_text((x + 12, (a[1] + b[1]) / 2), label, BOX)


def _axis_gizmo(canvas: _Canvas, view: ViewLayout) -> None:
    """Two arrows in the cell's lower-left corner naming the image axes."""
    (iu, su), (iv, sv), _ = _AXES[view.name]
    names = "XYZ"
    length = 26
    ox = view.left + 14 + (length if su < 0 else 0)
    oy = view.top + view.size - 14 - (length if sv < 0 else 0)
    # Horizontal arrow: the +axis points right when su > 0, else left.
    h_end = (ox + length * su, oy)
    v_end = (ox, oy - length * sv)
    canvas.arrow((ox, oy), h_end, MUTED)
    canvas.arrow((ox, oy), v_end, MUTED)
    canvas.text((h_end[0], oy - 5), f"+{names[iu]}", MUTED, font=canvas.small, anchor="mb")
    canvas.text((ox + 6, v_end[1]), f"+{names[iv]}", MUTED, font=canvas.small, anchor="lm")


def _clip_line(a: float, b: float, lo: int, hi: int) -> tuple[float, float]:
    return max(min(a, b), lo), min(max(a, b), hi)


def _draw_grid(canvas: _Canvas, view: ViewLayout, step: float) -> None:
    l_, t_, r_, b_ = view.left + 1, view.top + _TITLE_H + 1, view.left + view.size - 2, view.top + view.size - 2
    cx, cy = view.centre_px
    s = view.scale
    u_lo = view.centre_u + (l_ - cx) / s
    u_hi = view.centre_u + (r_ - cx) / s
    v_lo = view.centre_v - (b_ - cy) / s
    v_hi = view.centre_v - (t_ - cy) / s
    for k in range(int(np.ceil(u_lo / step)), int(np.floor(u_hi / step)) + 1):
        px = int(np.floor(cx + (k * step - view.centre_u) * s))
        canvas.draw.line([(px, t_), (px, b_)], fill=GRID)
    for k in range(int(np.ceil(v_lo / step)), int(np.floor(v_hi / step)) + 1):
        py = int(np.floor(cy - (k * step - view.centre_v) * s))
        canvas.draw.line([(l_, py), (r_, py)], fill=GRID)


def _draw_silhouette(canvas: _Canvas, view: ViewLayout, geometry: WorldGeometry, shades: NDArray[np.int64]) -> None:
    """Shaded silhouette with a dark outline and darker lines at depth steps and creases."""
    size = view.size
    h = size - _TITLE_H
    xy = view.project(geometry.vertices)
    xy[:, 0] -= view.left
    xy[:, 1] -= view.top + _TITLE_H
    _, _, w = view.uv(geometry.vertices)
    keys = _zbuffer(
        xy, -w, geometry.triangles, shades, size, h, lines=geometry.lines, points=geometry.points, line_shade=1
    )
    mask = keys != np.iinfo(np.int64).max
    if not mask.any():
        return
    shade = np.where(mask, keys & 0xFF, 0).astype(np.uint8)
    depth = np.where(mask, keys >> 8, 0)
    box = (view.left, view.top + _TITLE_H, view.left + size, view.top + size)
    rgb = np.asarray(canvas.image.crop(box)).copy()
    lut = np.array(SURFACE, dtype=np.float64)[None, :] * (0.25 + 0.9 * np.arange(256)[:, None] / 255.0)
    lut = np.clip(np.rint(lut), 0, 255).astype(np.uint8)
    lut[1] = LINE_GEOMETRY
    colours = lut[shade]
    # Inner feature lines: a depth step of more than four pixel widths between
    # neighbours (a surface steeper than 76 degrees, or one part in front of another),
    # or a change of shade (a crease between facets lit differently). Keys quantise
    # depth over the vertices' depth range exactly as _zbuffer does.
    drange = float(w.max() - w.min()) if len(w) else 0.0
    per_metre = ((1 << 40) - 1) / drange if drange > 0 else 0.0
    step = int(4.0 / view.scale * per_metre) if drange > 0 else 1 << 62
    shade_i = shade.astype(np.int16)
    feature = np.zeros_like(mask)
    edge = np.zeros_like(mask)
    for a, b in (
        ((slice(1, None), slice(None)), (slice(None, -1), slice(None))),
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
    ):
        both = mask[a] & mask[b]
        jump = both & ((np.abs(depth[a] - depth[b]) > step) | (np.abs(shade_i[a] - shade_i[b]) > 28))
        # Mark the nearer pixel of a depth step (the one in front carries the line).
        nearer_a = depth[a] <= depth[b]
        feature[a] |= jump & nearer_a
        feature[b] |= jump & ~nearer_a
        edge[a] |= mask[a] & ~mask[b]
        edge[b] |= mask[b] & ~mask[a]
    edge[0, :] |= mask[0, :]
    edge[-1, :] |= mask[-1, :]
    edge[:, 0] |= mask[:, 0]
    edge[:, -1] |= mask[:, -1]
    colours[feature] = FEATURE
    colours[edge] = OUTLINE
    rgb[mask] = colours[mask]
    canvas.image.paste(Image.fromarray(rgb, "RGB"), box[:2])


def _marker_positions(view: ViewLayout, point: F64) -> tuple[int, int, bool]:
    c, r = view.pixel(point)
    l_, t_, r_, b_ = view.left + 4, view.top + _TITLE_H + 4, view.left + view.size - 5, view.top + view.size - 5
    inside = l_ <= c <= r_ and t_ <= r <= b_
    return min(max(c, l_), r_), min(max(r, t_), b_), inside


def _draw_view(
    canvas: _Canvas, view: ViewLayout, layout: PanelLayout, geometry: WorldGeometry, shades: NDArray[np.int64]
) -> None:
    d = canvas.draw
    top_strip = (view.left, view.top, view.left + view.size - 1, view.top + _TITLE_H - 1)
    span = float(np.max(layout.hi - layout.lo))
    _draw_grid(canvas, view, _nice_step(max(span, (view.size - 2 * _MARGIN) / view.scale)))
    # Ground plane y = 0 (front and side views).
    if view.name in ("front", "side"):
        cx, cy = view.centre_px
        gy = int(np.floor(cy - (0.0 - view.centre_v) * view.scale))
        t_, b_ = view.top + _TITLE_H + 1, view.top + view.size - 2
        if t_ <= gy <= b_:
            d.line([(view.left + 1, gy), (view.left + view.size - 2, gy)], fill=GROUND, width=1)
            label_y = gy - 3 if gy - 18 > t_ else gy + 3
            canvas.text(
                (view.left + view.size - 8, label_y), "ground y = 0", GROUND, font=canvas.small,
                anchor="rb" if label_y < gy else "rt",
            )
        else:
            where = "below" if gy > b_ else "above"
            ry = b_ - 4 if gy > b_ else t_ + 4
            canvas.text((view.left + view.size - 8, ry), f"ground y = 0 is {where} the view", GROUND,
                        font=canvas.small, anchor="rb" if gy > b_ else "rt")
    _draw_silhouette(canvas, view, geometry, shades)
    # Bounding box.
    corners = view.project(np.stack([layout.lo, layout.hi]))
    c0, c1 = sorted(int(np.floor(v)) for v in corners[:, 0])
    r0, r1 = sorted(int(np.floor(v)) for v in corners[:, 1])
    d.rectangle([c0, r0, c1, r1], outline=BOX, width=1)
    ext = layout.hi - layout.lo
    (iu, _), (iv, _), _ = _AXES[view.name]
    if view.name == "top":
        _dimension(canvas, (c0, r0), (c1, r0), f"W {_metres(ext[iu])}", side="above")
    else:
        _dimension(canvas, (c0, r1), (c1, r1), f"{'W' if iu == 0 else 'D'} {_metres(ext[iu])}", side="below")
    _dimension(canvas, (c1, r0), (c1, r1), f"{'H' if iv == 1 else 'D'} {_metres(ext[iv])}", side="right")
    # Labels first, markers over them; the requested pivot (blue ring) under the origin
    # (red cross), so that both stay visible when they coincide.
    oc, orow, inside = _marker_positions(view, np.zeros(3))
    if inside:
        canvas.text((oc + 11, orow - 6), "origin", ORIGIN, font=canvas.small, anchor="lb", halo=True)
    if layout.pivot is not None:
        pc, pr, _ = _marker_positions(view, layout.pivot)
        canvas.text((pc - 11, pr - 6), "pivot", PIVOT, font=canvas.small, anchor="rb", halo=True)
        d.ellipse([pc - 8, pr - 8, pc + 8, pr + 8], outline=PIVOT, width=2)
        d.ellipse([pc - 2, pr - 2, pc + 2, pr + 2], fill=PIVOT)
    if inside:
        d.line([(oc - 11, orow), (oc + 11, orow)], fill=ORIGIN, width=2)
        d.line([(oc, orow - 11), (oc, orow + 11)], fill=ORIGIN, width=2)
        d.point((oc, orow), fill=ORIGIN)
    else:  # the origin is far away: an arrow near the border points to it
        cx, cy = view.centre_px
        tc, tr = view.project(np.zeros((1, 3)))[0]
        to = np.array([tc - cx, tr - cy])
        to /= float(np.hypot(to[0], to[1])) or 1.0
        inset = 40
        lo_c, hi_c = view.left + inset, view.left + view.size - 1 - inset
        lo_r, hi_r = view.top + _TITLE_H + inset, view.top + view.size - 1 - inset
        # Walk from the centre toward the origin until the inset border.
        reach = min(
            ((hi_c - cx) / to[0]) if to[0] > 0 else ((lo_c - cx) / to[0]) if to[0] < 0 else np.inf,
            ((hi_r - cy) / to[1]) if to[1] > 0 else ((lo_r - cy) / to[1]) if to[1] < 0 else np.inf,
        )
        tip = (cx + reach * to[0], cy + reach * to[1])
        tail = (tip[0] - 26 * to[0], tip[1] - 26 * to[1])
        canvas.arrow(tail, tip, ORIGIN, width=3)
        # The label goes beside the arrow, on the side away from the drawing's centre.
        label = "origin off view"
        tw = float(canvas.draw.textlength(label, font=canvas.small))
        side = -1.0 if tip[0] < cx else 1.0
        lx = tail[0] + side * (8 + tw / 2) if abs(to[0]) < 0.9 else tail[0]
        ly = tail[1] if abs(to[0]) < 0.9 else tail[1] + (14 if to[1] <= 0 else -14)
        lx = min(max(lx, view.left + 6 + tw / 2), view.left + view.size - 6 - tw / 2)
        ly = min(max(ly, view.top + _TITLE_H + 10), view.top + view.size - 10)
        canvas.text((lx, ly), label, ORIGIN, font=canvas.small, anchor="mm", halo=True)
    _axis_gizmo(canvas, view)
    d.rectangle(top_strip, fill=TITLE_BACKGROUND)
    canvas.text((view.left + 10, view.top + _TITLE_H / 2), _TITLES[view.name], TEXT, anchor="lm")
    d.rectangle([view.left, view.top, view.left + view.size - 1, view.top + view.size - 1], outline=CELL_BORDER)


def _verdict_lines(layout: PanelLayout, options: FitOptions) -> list[tuple[str, tuple[int, int, int]]]:
    from .checks import verify_box

    checks = verify_box(layout.lo, layout.hi, options)
    failed = [c for c in checks if not c.passed]
    lines: list[tuple[str, tuple[int, int, int]]] = []
    if not failed:
        lines.append((f"verify: PASS (all {len(checks)} checks hold)", PASS))
    else:
        lines.append((f"verify: FAIL ({len(failed)} of {len(checks)} checks)", FAIL))
        for c in failed[:4]:
            lines.append((f"  {c.name}: {c.measured:.6g}, expected {c.relation} {c.expected:.6g}", FAIL))
    return lines


def _draw_info(
    canvas: _Canvas,
    layout: PanelLayout,
    geometry: WorldGeometry,
    options: FitOptions | None,
    title: str | None,
    view_size: int,
) -> None:

    # Drawn on its own tile, so that long text is clipped at the cell's border.
    tile = _Canvas(view_size, view_size, view_size)
    _draw_info_tile(tile, layout, geometry, options, title, view_size)
    canvas.image.paste(tile.image, layout.info)


def _draw_info_tile(
    canvas: _Canvas,
    layout: PanelLayout,
    geometry: WorldGeometry,
    options: FitOptions | None,
    title: str | None,
    view_size: int,
) -> None:
    from .fit import pivot_of_origin

    left, top = 0, 0
    d = canvas.draw
    d.rectangle([left, top, left + view_size - 1, top + view_size - 1], fill=INFO_BACKGROUND, outline=CELL_BORDER)
    x = left + 20
    y = top + 20
    canvas.text((x, y), title or "meshpivot preview", TEXT, font=canvas.large)
    y += canvas.step + 12
    ext = layout.hi - layout.lo
    step = canvas.step

    def row(label: str, value: str, colour: tuple[int, int, int] = TEXT) -> None:
        nonlocal y
        canvas.text((x, y), label, MUTED)
        canvas.text((x + canvas.value_column, y), value, colour)
        y += step

    row("size W x H x D", f"{ext[0]:.3f} x {ext[1]:.3f} x {ext[2]:.3f} m")
    row("box min", _triple(layout.lo))
    row("box max", _triple(layout.hi))
    where = pivot_of_origin(layout.lo, layout.hi)
    row("origin is at", "pivot_point (" + ", ".join("flat" if v is None else _number(v) for v in where) + ")")
    counts = f"{geometry.triangle_count:,} triangles, {len(geometry.vertices):,} vertices"
    if len(geometry.lines):
        counts += f", {len(geometry.lines):,} lines"
    row("drawn", counts)
    y += 10
    if options is not None:
        canvas.text((x, y), "requested", TEXT)
        y += step
        bbox = ", ".join("auto" if v == -1 else f"{v:g}" for v in options.scaled_bbox)
        row("scaled_bbox", f"[{bbox}]" + ("  (preserve aspect)" if options.preserve_aspect_ratio else ""))
        row("pivot_point", "[" + ", ".join(f"{v:g}" for v in options.pivot_point) + "]")
        assert layout.pivot is not None
        offset = float(np.linalg.norm(layout.pivot))
        row("pivot is at", _triple(layout.pivot))
        row("pivot to origin", _metres(offset), PASS if offset == 0 else TEXT)
        for text, colour in _verdict_lines(layout, options):
            canvas.text((x, y), text, colour)
            y += step
        y += 10
    # Legend.
    y = max(y, top + view_size - 3 * step - 16)
    canvas.text((x, y), "legend", TEXT)
    y += step
    def cross(cx: int, cy: int) -> None:
        d.line([(cx - 8, cy), (cx + 8, cy)], fill=ORIGIN, width=2)
        d.line([(cx, cy - 8), (cx, cy + 8)], fill=ORIGIN, width=2)

    items: list[tuple[str, Callable[[int, int], None]]] = [
        ("origin (0, 0, 0)", cross),
        ("requested pivot", lambda cx, cy: d.ellipse([cx - 7, cy - 7, cx + 7, cy + 7], outline=PIVOT, width=2)),
        ("bounding box", lambda cx, cy: d.rectangle(
            [cx - 9, cy - 6, cx + 9, cy + 6], outline=BOX)),
        ("ground y = 0", lambda cx, cy: d.line([(cx - 10, cy), (cx + 10, cy)], fill=GROUND, width=2)),
    ]
    if options is None:
        del items[1]
    col_w = (view_size - 48) // 2
    for k, (text, symbol) in enumerate(items):
        cx = x + 10 + (k % 2) * col_w
        cy = y + (k // 2) * step + 7
        symbol(cx, cy)
        canvas.text((cx + 18, cy), text, TEXT, font=canvas.small, anchor="lm")


def render_panel(
    geometry: WorldGeometry,
    *,
    options: FitOptions | None = None,
    title: str | None = None,
    view_size: int = DEFAULT_VIEW_SIZE,
    canvas: _Canvas | None = None,
    left: int = 0,
) -> tuple[Image.Image, PanelLayout]:
    """Draw one panel (three views and the info cell) and return it with its layout.

    Parameters
    ----------
    geometry : WorldGeometry
    options : FitOptions, optional
        The request: marks the requested pivot and checks the box against it.
    title : str, optional
        Shown at the top of the info cell.
    view_size : int
        Cell side in pixels; the panel is ``(2 * view_size, 2 * view_size)``.

    Returns
    -------
    image : PIL.Image.Image
    layout : PanelLayout
        Use ``layout.views[name].pixel(point)`` to find a world point in the image.
    """
    _require_pillow()
    view_size = _check_view_size(view_size)
    lo, hi = geometry.bounds()
    layout = panel_layout(lo, hi, options=options, view_size=view_size, left=left)
    if canvas is None:
        w, h = panel_size(view_size)
        canvas = _Canvas(w, h, view_size)
    normals = _unit_normals(geometry.vertices, geometry.triangles)
    for name in VIEWS:
        shades = _shades(normals, _view_light(name))
        _draw_view(canvas, layout.views[name], layout, geometry, shades)
    _draw_info(canvas, layout, geometry, options, title, view_size)
    return canvas.image, layout


def _write_png(image: Image.Image, out_png: str | Path) -> Path:
    out = Path(out_png)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write the picture: folder {str(folder)!r} does not exist", out)
    try:
        # Staged like apply's output: a killed run's folder is removed by the next run here.
        with locked_folder(STAGING_PREFIX, folder, failure="cannot write the picture", about=out) as staging:
            tmp = staging / out.name
            with open(tmp, "wb") as f:
                image.save(f, format="PNG", optimize=False, compress_level=6)
            os.replace(tmp, out)
    except OSError as exc:
        raise OutputError(f"cannot write the picture: {exc.strerror or exc}", out) from None
    return out


def render_preview(
    geometry: WorldGeometry,
    out_png: str | Path,
    *,
    options: FitOptions | None = None,
    title: str | None = None,
    view_size: int = DEFAULT_VIEW_SIZE,
) -> Path:
    """Draw one panel of ``geometry`` and write it to ``out_png`` (atomically).

    Parameters
    ----------
    geometry : WorldGeometry
        What to draw (see :func:`meshpivot.geometry.world_geometry`).
    out_png : str or Path
        The PNG to write; replaced if it exists.
    options : FitOptions, optional
        The request: marks the requested pivot and shows the verdict of ``verify``.
    title : str, optional
        Heading of the info cell (the file name, usually).
    view_size : int
        Cell side in pixels; the image is ``(2 * view_size, 2 * view_size)``.

    Returns
    -------
    Path
        ``out_png``.

    Raises
    ------
    OutputError
        The PNG cannot be written.
    EmptyInputError
        The geometry draws nothing.
    MissingDependencyError
        Pillow is not installed.
    """
    image, _ = render_panel(geometry, options=options, title=title, view_size=view_size)
    return _write_png(image, out_png)


def preview_file(
    path: str | Path,
    out_png: str | Path,
    options: FitOptions | None = None,
    *,
    view_size: int = DEFAULT_VIEW_SIZE,
) -> Path:
    """Read an asset and write its picture (front, side and top views) to ``out_png``.

    Parameters
    ----------
    path : str or Path
        Any format :func:`meshpivot.geometry.world_geometry` reads.
    out_png : str or Path
    options : FitOptions, optional
        The request to mark and check.
    view_size : int
        Cell side in pixels; the image is ``(2 * view_size, 2 * view_size)``.

    Returns
    -------
    Path
        ``out_png``.

    Raises
    ------
    UnreadableInputError, UnsupportedInputError, EmptyInputError, NonFiniteInputError
        The asset cannot be read or draws nothing.
    OutputError
        The PNG cannot be written.
    """
    _require_pillow()
    p = Path(path)
    with values_checked_here():
        try:
            geometry = world_geometry(p)
        except MeshPivotError as exc:
            raise exc.with_path(p) from None
        return render_preview(geometry, out_png, options=options, title=p.name, view_size=view_size)


def preview_before_after(
    src: str | Path,
    dst: str | Path,
    out_png: str | Path,
    options: FitOptions | None = None,
    *,
    view_size: int = DEFAULT_VIEW_SIZE,
) -> Path:
    """Write ``src`` (left) and ``dst`` (right) side by side, three views each.

    Each half has its own scale. With ``options``, both halves mark the requested
    pivot on their own box, and the right half shows whether ``dst`` passes
    ``verify``.

    Parameters
    ----------
    src, dst : str or Path
        The input and the fitted output.
    out_png : str or Path
    options : FitOptions, optional
    view_size : int
        Cell side in pixels; the image is ``(4 * view_size, 2 * view_size)``.

    Returns
    -------
    Path
        ``out_png``.

    Raises
    ------
    UnreadableInputError, UnsupportedInputError, EmptyInputError, NonFiniteInputError, OutputError
    """
    _require_pillow()
    view_size = _check_view_size(view_size)
    geoms = []
    with values_checked_here():
        for p in (Path(src), Path(dst)):
            try:
                geoms.append((p, world_geometry(p)))
            except MeshPivotError as exc:
                raise exc.with_path(p) from None
        w, h = panel_size(view_size)
        canvas = _Canvas(2 * w, h, view_size)
        for k, (p, geom) in enumerate(geoms):
            label = ("BEFORE: " if k == 0 else "AFTER: ") + p.name
            render_panel(geom, options=options, title=label, view_size=view_size, canvas=canvas, left=k * w)
        canvas.draw.line([(w - 1, 0), (w - 1, h - 1)], fill=TEXT, width=2)
        return _write_png(canvas.image, out_png)
