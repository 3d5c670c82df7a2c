"""OBJ, PLY and STL files, and in-memory trimesh objects.

Files are edited in place where that is possible, so that only coordinates change:
OBJ by :mod:`meshpivot.formats.obj`, STL by :mod:`meshpivot.formats.stl`, PLY by
:mod:`meshpivot.formats.ply` (PLY connectivity is read through trimesh). Writing to
another format (``.obj`` to ``.glb``, say) goes through trimesh and is lossy; so is a
PLY layout that cannot be edited in place. The report says so.

These formats have no scene graph: the fit is always baked into the vertices.

For the Python API, :func:`measure_trimesh` and :func:`fit_trimesh` handle
``trimesh.Trimesh``, ``trimesh.PointCloud`` and ``trimesh.Scene`` objects (world
transforms of the scene graph included; only vertices that faces reference count).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from numpy.typing import NDArray

from ..errors import (
    EmptyInputError,
    MeshPivotError,
    UnreadableInputError,
    UnsupportedInputError,
)
from ..fit import Fit, compute_fit
from ..options import FitOptions
from ..vectors import merge_bounds, point_bounds, transform_normals, transform_points
from .base import Asset, Measurement, WriteReport
from .obj import ObjFile, copy_sidecars, read_obj
from .ply import PlyHeader, PlyLayoutError, fitted_ply_bytes, read_ply_header
from .stl import StlFile, read_stl

__all__ = ["BAKE_REASON", "TrimeshAsset", "fit_trimesh", "measure_trimesh"]

F64 = NDArray[np.float64]

#: The reason recorded for ``auto`` and ``bake``.
BAKE_REASON = "OBJ/PLY/STL have no scene graph: geometry baked"
_CONVERTED = "converted through trimesh (lossy)"
_TRIMESH_EXPORTS = (".obj", ".ply", ".stl", ".glb")


# --- in-memory trimesh objects -------------------------------------------------------


def _drawn_points(geometry: Any) -> NDArray[Any] | None:
    """(n, 3) vertices of ``geometry`` that a renderer draws, or None if it has none."""
    if getattr(geometry, "vertices", None) is None:
        return None
    vertices: NDArray[Any] = np.asarray(geometry.vertices)
    faces = getattr(geometry, "faces", None)
    if isinstance(geometry, trimesh.Trimesh) and faces is not None and len(faces):
        used = np.unique(np.asarray(faces))
        if used[0] < 0 or used[-1] >= len(vertices):
            bad = int(used[0] if used[0] < 0 else used[-1])
            raise UnreadableInputError(f"a face refers to vertex {bad}, but there are {len(vertices)} vertices")
        drawn: NDArray[Any] = vertices[used]
        return drawn
    return vertices


def _face_count(geometry: Any) -> int:
    faces = getattr(geometry, "faces", None)
    return 0 if faces is None else len(faces)


def _boxes(obj: Any, label: str) -> tuple[list[tuple[F64, F64]], dict[str, int]]:
    counts = {"vertices": 0, "faces": 0, "meshes": 0}
    boxes: list[tuple[F64, F64]] = []
    if isinstance(obj, trimesh.Scene):
        graph = obj.graph
        for node in graph.nodes_geometry:
            matrix, name = graph[node]
            geometry: Any = obj.geometry.get(name)
            points = _drawn_points(geometry)
            if points is None or len(points) == 0:
                continue
            m = np.asarray(matrix, dtype=np.float64)
            world = np.asarray(transform_points(points, m[:3, :3], m[:3, 3]))
            boxes.append(point_bounds(world, what=f"{label} (scene node {node!r})"))
            counts["vertices"] += len(geometry.vertices)
            counts["faces"] += _face_count(geometry)
            counts["meshes"] += 1
        return boxes, counts
    points = _drawn_points(obj)
    if points is None:
        raise UnsupportedInputError(
            f"cannot measure a {type(obj).__name__}; expected trimesh.Trimesh, PointCloud or Scene"
        )
    if len(points):
        boxes.append(point_bounds(points, what=label))
    counts["vertices"] = len(obj.vertices)
    counts["faces"] = _face_count(obj)
    counts["meshes"] = 1
    return boxes, counts


def measure_trimesh(obj: Any, *, format_name: str = "trimesh") -> Measurement:
    """Measure a trimesh object (SPEC.md section 2 as far as trimesh allows).

    Parameters
    ----------
    obj : trimesh.Trimesh, trimesh.PointCloud or trimesh.Scene
        For a Scene, every node with geometry counts, at its world transform.
        For a Trimesh with faces, only the vertices the faces reference count.
    format_name : str
        Recorded as the measurement's ``format``.

    Returns
    -------
    Measurement

    Raises
    ------
    EmptyInputError
        No drawable vertex.
    NonFiniteInputError
        A drawn coordinate is NaN or infinite.
    UnsupportedInputError
        ``obj`` is not one of the supported types.

    Examples
    --------
    >>> import trimesh
    >>> m = measure_trimesh(trimesh.creation.box(extents=[2, 4, 6]))
    >>> m.size.tolist()
    [2.0, 4.0, 6.0]
    """
    label = (
        f"{type(obj).__name__} vertices" if format_name == "trimesh" else f"{format_name.upper()} vertices"
    )
    boxes, counts = _boxes(obj, label)
    if not boxes:
        raise EmptyInputError(f"{type(obj).__name__} has no drawable vertex, so there is no bounding box")
    lo, hi = merge_bounds(boxes)
    return Measurement(lo=lo, hi=hi, counts=counts, format=format_name)


def _fitted_geometry(geometry: Any, fit: Fit) -> Any:
    """A fitted copy of one Trimesh or PointCloud; the input is not changed."""
    if isinstance(geometry, trimesh.Trimesh):
        normals = None
        if "vertex_normals" in geometry._cache:  # explicit or already computed normals
            normals = transform_normals(np.asarray(geometry.vertex_normals), fit.scale)
        new: Any = geometry.copy()
        new.vertices = transform_points(np.asarray(geometry.vertices), fit.scale, fit.translation)
        if normals is not None:
            new.vertex_normals = normals
        return new
    new = geometry.copy()
    new.vertices = transform_points(np.asarray(geometry.vertices), fit.scale, fit.translation)
    return new


def fit_trimesh(obj: Any, options: FitOptions) -> tuple[Any, Fit]:
    """Measure a trimesh object and return a fitted copy.

    Parameters
    ----------
    obj : trimesh.Trimesh, trimesh.PointCloud or trimesh.Scene
        Not modified.
    options : FitOptions
        The request. For a Scene the transform goes onto the scene graph (every
        child of the base frame is premultiplied by ``fit.matrix``; geometry is
        shared, untouched); a Trimesh or PointCloud has its vertices moved (float64
        math) and vertex normals mapped by the cofactor.

    Returns
    -------
    fitted : same type as ``obj``
    fit : Fit

    Raises
    ------
    EmptyInputError, NonFiniteInputError, FlatAxisError, UnsupportedInputError

    Examples
    --------
    >>> import trimesh
    >>> box = trimesh.creation.box(extents=[2, 4, 6])
    >>> new, fit = fit_trimesh(box, FitOptions(scaled_bbox=[1, -1, -1], pivot_point=[0, -0.5, 0]))
    >>> new.bounds.tolist()
    [[-0.5, 0.0, -1.5], [0.5, 2.0, 1.5]]
    """
    measured = measure_trimesh(obj)
    fit = compute_fit(measured.lo, measured.hi, options)
    if isinstance(obj, trimesh.Scene):
        scene: Any = obj.copy()
        scene.apply_transform(fit.matrix)
        return scene, fit
    return _fitted_geometry(obj, fit), fit


# --- files ---------------------------------------------------------------------------


def _load_with_trimesh(path: Path, data: bytes | None = None) -> Any:
    """``trimesh.load`` with ``process=False``; any failure becomes one short line.

    ``data``, when given, is read instead of the file (as ``path``'s type, resolving
    sidecar files in ``path``'s folder).
    """
    try:
        if data is None:
            return trimesh.load(str(path), process=False)
        return trimesh.load(
            io.BytesIO(data),
            file_type=path.suffix.lower().lstrip("."),
            resolver=trimesh.resolvers.FilePathResolver(str(path.parent)),
            process=False,
        )
    except MeshPivotError:
        raise
    except Exception as exc:  # trimesh raises many types for corrupt data
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        kind = path.suffix.lower().lstrip(".").upper()
        raise UnreadableInputError(
            f"{kind} data is corrupt or truncated (trimesh: {reason[:200]})", path
        ) from None


class TrimeshAsset(Asset):
    """An OBJ, PLY or STL file.

    Parameters
    ----------
    path : Path
        The input; read on first use, never modified.
    """

    writes = _TRIMESH_EXPORTS

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path))
        self.kind = self.path.suffix.lower().lstrip(".")
        if self.kind not in ("obj", "ply", "stl"):
            raise UnsupportedInputError(
                f"unsupported file type {self.path.suffix!r}; expected .obj, .ply or .stl", self.path
            )
        self._obj: ObjFile | None = None
        self._stl: StlFile | None = None
        self._ply: tuple[bytes, PlyHeader, Any] | None = None

    # Parsed data, read once.

    def _obj_file(self) -> ObjFile:
        if self._obj is None:
            self._obj = read_obj(self.path)
        return self._obj

    def _stl_file(self) -> StlFile:
        if self._stl is None:
            self._stl = read_stl(self.path)
        return self._stl

    def _ply_file(self) -> tuple[bytes, PlyHeader, Any]:
        if self._ply is None:
            try:
                raw = self.path.read_bytes()
            except OSError as exc:
                raise UnreadableInputError(f"cannot read: {exc.strerror or exc}", self.path) from None
            header = read_ply_header(raw, self.path)
            self._ply = (raw, header, _load_with_trimesh(self.path))
        return self._ply

    def measure(self) -> Measurement:
        """Measure the file (see the module docstring for what counts).

        Raises
        ------
        UnreadableInputError, EmptyInputError, NonFiniteInputError
        """
        try:
            if self.kind == "obj":
                return self._obj_file().measure()
            if self.kind == "stl":
                return self._stl_file().measure()
            _, header, loaded = self._ply_file()
            measured = measure_trimesh(loaded, format_name="ply")
            vertex = header.element("vertex")
            if vertex is not None:
                measured.counts["vertices"] = vertex.count
            measured.notes.append(f"PLY {header.encoding}")
            return measured
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None

    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Write the asset mapped by ``fit`` to ``dest`` (format from its suffix).

        Same format as the input: edited in place, lossless but for coordinates (OBJ
        also gets its ``.mtl`` files and textures beside ``dest``). Another format:
        converted through trimesh, lossy.

        Raises
        ------
        UnsupportedInputError
            ``options.mode == 'wrap'`` (no scene graph), or an output type trimesh
            cannot write.
        """
        dest = Path(dest)
        if options.mode == "wrap":
            raise UnsupportedInputError(
                f"mode 'wrap' needs a scene graph; .{self.kind} files have none: use bake or auto",
                self.path,
            )
        out_kind = dest.suffix.lower().lstrip(".")
        try:
            if out_kind == self.kind:
                files, notes = self._write_same(fit, dest)
            else:
                files, notes = self._write_converted(fit, dest, out_kind)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None
        return WriteReport(mode="bake", reason=BAKE_REASON, files=files, notes=notes)

    def _write_same(self, fit: Fit, dest: Path) -> tuple[list[Path], list[str]]:
        if self.kind == "obj":
            obj = self._obj_file()
            dest.write_bytes(obj.fitted_bytes(fit))
            extra, notes = copy_sidecars(obj, dest.parent)
            return [dest, *[f for f in extra if f != dest]], notes
        if self.kind == "stl":
            dest.write_bytes(self._stl_file().fitted_bytes(fit))
            return [dest], []
        raw, header, _ = self._ply_file()
        try:
            data = fitted_ply_bytes(raw, header, fit, self.path)
        except PlyLayoutError as exc:
            files, notes = self._write_converted(fit, dest, "ply", encoding=header.encoding)
            return files, [f"{_CONVERTED}: {exc} (faces triangulated, extra properties may be lost)", *notes]
        dest.write_bytes(data)
        return [dest], []

    def _write_converted(
        self, fit: Fit, dest: Path, out_kind: str, encoding: str | None = None
    ) -> tuple[list[Path], list[str]]:
        if "." + out_kind not in _TRIMESH_EXPORTS:
            raise UnsupportedInputError(
                f"cannot write .{out_kind} from .{self.kind}; expected one of {', '.join(self.writes)}"
            )
        if self.kind == "ply":
            loaded = self._ply_file()[2]
        elif self.kind == "obj":
            # Hand trimesh the text already decoded (UTF-16 included), with the
            # input's folder to resolve materials and textures.
            obj = self._obj_file()
            text = "".join(obj.lines).encode("utf-8", errors="replace")
            loaded = _load_with_trimesh(self.path, data=text)
        else:
            loaded = _load_with_trimesh(self.path)
        fitted: Any
        if isinstance(loaded, trimesh.Scene):
            fitted = loaded.copy()
            fitted.apply_transform(fit.matrix)
            if out_kind in ("ply", "stl"):
                fitted = fitted.to_geometry()
        else:
            fitted = _fitted_geometry(loaded, fit)
        kwargs: dict[str, Any] = {}
        if out_kind == "ply":
            kwargs["encoding"] = "ascii" if encoding == "ascii" else "binary"
        before = set(dest.parent.iterdir())
        try:
            fitted.export(str(dest), file_type=out_kind, **kwargs)
        except Exception as exc:
            raise UnsupportedInputError(
                f"trimesh cannot write .{out_kind} from this .{self.kind}: {str(exc).splitlines()[0][:200]}"
            ) from None
        written = sorted(set(dest.parent.iterdir()) - before - {dest})
        notes = [f"{_CONVERTED}: .{self.kind} to .{out_kind}"]
        if out_kind == "ply" and encoding == "binary_big_endian":
            notes.append("big-endian PLY written as little-endian")
        return [dest, *written], notes
