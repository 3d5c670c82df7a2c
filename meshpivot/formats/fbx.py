"""FBX files, read through ufbx and normalised to the Y-up metre frame; never written.

Reading (``pip install 'meshpivot[fbx]'``): ufbx loads the file with its axis and
unit settings converted to right-handed +Y up, metres (``target_axes``,
``target_unit_meters``, ``space_conversion=TRANSFORM_ROOT``), so every node's world
matrix already includes the conversion. The measured box (SPEC.md section 2 as far
as FBX allows) holds, for every node with a mesh, the vertices that its faces use,
mapped by the node's geometry-to-world matrix (geometric transform included). A
skinned mesh is posed by its bones' authored, non-animated transforms (ufbx's
``evaluate_skinning``), as glTF skins are. Animation, blend shapes and NURBS are
not evaluated.

Writing: FBX cannot be written. ``apply`` converts to ``.glb``, ``.obj``, ``.ply`` or
``.stl`` through trimesh: polygons are fan-triangulated, positions, normals and the
first UV set are kept; materials, textures, animation and skins are not.

Isolation: the ufbx 0.0.5 binding caches the Python object of each scene element
without owning a reference to it, and hands the cached object out again without
taking one: an element fetched twice from a list (``scene.nodes[i]``), or dropped
and fetched again, is freed while still in use, and the interpreter crashes. This
module fetches each node once and keeps it referenced until the scene is done and,
by default, reads each file in a child process (:data:`ISOLATE_READER`), so that a
crash in the native reader becomes an :class:`~meshpivot.errors.UnreadableInputError`
instead of ending the caller's process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import (
    EmptyInputError,
    MeshPivotError,
    MissingDependencyError,
    UnreadableInputError,
    UnsupportedInputError,
)
from ..fit import Fit
from ..options import FitOptions
from ..scratch import locked_folder
from ..vectors import merge_bounds, point_bounds, transform_normals, transform_points
from .base import Asset, Measurement, WriteReport

__all__ = ["CONVERTS_TO", "ISOLATE_READER", "FbxAsset", "FbxMesh", "FbxScene", "read_fbx"]

F64 = NDArray[np.float64]

#: Output types an FBX input can be converted to.
CONVERTS_TO: tuple[str, ...] = (".glb", ".obj", ".ply", ".stl")
#: Read FBX files in a child process so that a crash of the native reader cannot end
#: the caller's process (costs one interpreter start per file).
ISOLATE_READER = True
#: Seconds a child reader may take before it is stopped.
READER_TIMEOUT = 600.0

_INSTALL = "pip install 'meshpivot[fbx]'"
_EXIT_UFBX_ERROR = 3
_EXIT_NO_UFBX = 5
_AXIS_NAMES = {0: "+X", 1: "-X", 2: "+Y", 3: "-Y", 4: "+Z", 5: "-Z"}
_LOSSY = "converted from FBX (lossy: polygons triangulated; materials, textures, animation and skins not carried)"


@dataclass
class FbxMesh:
    """One node's mesh in world space (Y-up metres).

    Attributes
    ----------
    name : str
        The node's name.
    positions : (n, 3) float64
        Every vertex of the mesh, mapped to world space.
    corners : (k,) int64
        For each face corner, the index of its vertex in ``positions``.
    faces : (f, 2) int64
        ``(first corner, corner count)`` per face; counts below 3 are points or lines.
    normals : (k, 3) float64 or None
        Unit normal per corner in world space.
    uvs : (k, 2) float64 or None
        First UV set, per corner.
    skinned : bool
        Positions posed by the skin's bones.
    """

    name: str
    positions: F64
    corners: NDArray[np.int64]
    faces: NDArray[np.int64]
    normals: F64 | None = None
    uvs: F64 | None = None
    skinned: bool = False

    def drawn_points(self) -> F64:
        """(m, 3) float64: the vertices some face uses."""
        if len(self.corners) == 0:
            return np.empty((0, 3))
        return self.positions[np.unique(self.corners)]

    def triangle_corners(self) -> NDArray[np.int64]:
        """(t, 3) int64 corner indices: polygons fan-triangulated, points and lines left out."""
        counts = self.faces[:, 1] if len(self.faces) else np.empty(0, dtype=np.int64)
        polys = counts >= 3
        starts = self.faces[polys, 0]
        ntri = counts[polys] - 2
        if len(ntri) == 0:
            return np.empty((0, 3), dtype=np.int64)
        first = np.repeat(starts, ntri)
        # k-th triangle of a face: (start, start + k + 1, start + k + 2)
        offsets = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri)
        return np.stack([first, first + offsets + 1, first + offsets + 2], axis=1)


@dataclass
class FbxScene:
    """What :func:`read_fbx` extracts from a file.

    Attributes
    ----------
    meshes : list of FbxMesh
    up_axis : str
        The file's up axis (``+Y``, ``+Z``, ...), from its global settings.
    unit_meters : float
        Metres per unit of the file (``UnitScaleFactor / 100``).
    counts : dict of str to int
    notes : list of str
    """

    meshes: list[FbxMesh]
    up_axis: str
    unit_meters: float
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# --- reading through ufbx --------------------------------------------------------------


def _uints(values: Any) -> NDArray[np.int64]:
    # Uint32List has no buffer interface in ufbx 0.0.5: read it element by element.
    n = len(values)
    return np.fromiter(values, dtype=np.int64, count=n)


def _vec3s(values: Any) -> F64:
    return np.array(values, dtype=np.float64).reshape(-1, 3)


def _corner_attribute(attr: Any, width: int) -> F64 | None:
    """Per-corner values of a ufbx vertex attribute, or None when it does not exist."""
    if not attr.exists:
        return None
    values = attr.values
    table = np.array(values, dtype=np.float64).reshape(-1, width)
    indices = attr.indices
    return table[_uints(indices)]


def _matrix(m: Any) -> tuple[F64, F64]:
    """ufbx Matrix (four columns) as ``(linear (3, 3), translation (3,))``."""
    cols = np.array(m, dtype=np.float64).reshape(4, 3)
    return cols[:3].T.copy(), cols[3].copy()


def _load_options(ufbx: Any) -> dict[str, Any]:
    return {
        "target_axes": ufbx.axes_right_handed_y_up,
        "target_unit_meters": 1.0,
        "space_conversion": ufbx.SpaceConversion.TRANSFORM_ROOT,
        "evaluate_skinning": True,
        "ignore_animation": True,
    }


def _import_ufbx() -> Any:
    try:
        import ufbx  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(f"reading FBX needs the ufbx package: {_INSTALL}") from None
    return ufbx


def _extract(scene: Any) -> FbxScene:
    settings = scene.settings
    axes = settings.axes
    up = _AXIS_NAMES.get(int(axes.up), "?")
    unit = float(settings.unit_meters)
    meshes: list[FbxMesh] = []
    notes: list[str] = []
    nodes = scene.nodes
    kept: list[Any] = []  # every node stays referenced until the scene is done: see the module doc
    for i in range(len(nodes)):
        node = nodes[i]  # each element fetched once, never through a second list
        kept.append(node)
        mesh = node.mesh
        if mesh is None:
            continue
        name = str(node.name)
        vertices = mesh.vertices
        local = _vec3s(vertices)
        linear, translation = _matrix(node.geometry_to_world)
        skins = mesh.skin_deformers
        skinned = len(skins) > 0 and not mesh.skinned_is_local
        if skinned:
            posed = mesh.skinned_position
            posed_values = posed.values
            positions = _vec3s(posed_values)
        else:
            positions = np.asarray(transform_points(local, linear, translation), dtype=np.float64)
        vertex_indices = mesh.vertex_indices
        corners = _uints(vertex_indices)
        face_list = mesh.faces
        faces = np.array(face_list, dtype=np.int64).reshape(-1, 2)
        normals = None
        if skinned:
            skinned_normal = mesh.skinned_normal
            normals = _corner_attribute(skinned_normal, 3)
        else:
            vertex_normal = mesh.vertex_normal
            raw = _corner_attribute(vertex_normal, 3)
            if raw is not None:
                normals = np.asarray(transform_normals(raw, linear), dtype=np.float64)
        vertex_uv = mesh.vertex_uv
        uvs = _corner_attribute(vertex_uv, 2)
        meshes.append(FbxMesh(name, positions, corners, faces, normals, uvs, skinned))
    if any(m.skinned for m in meshes):
        notes.append("skinned meshes posed by their bones' authored (non-animated) transforms")
    counts = {
        "meshes": len(meshes),
        "nodes": len(nodes),
        "vertices": sum(len(m.positions) for m in meshes),
        "faces": sum(len(m.faces) for m in meshes),
    }
    if abs(unit - 1.0) > 1e-12 or up != "+Y":
        notes.append(f"FBX axes/units normalised to Y-up metres (file: up {up}, {unit:g} m per unit)")
    return FbxScene(meshes=meshes, up_axis=up, unit_meters=unit, counts=counts, notes=notes)


def _read_in_process(path: Path) -> FbxScene:
    ufbx = _import_ufbx()
    try:
        scene = ufbx.load_file(str(path), **_load_options(ufbx))
    except ufbx.UfbxError as exc:
        raise UnreadableInputError(_ufbx_message(exc), path) from None
    except (OSError, ValueError, RuntimeError) as exc:
        raise UnreadableInputError(f"FBX data is corrupt or unreadable ({exc})", path) from None
    return _extract(scene)


def _ufbx_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    kind = type(exc).__name__
    reason = f"{kind}: {text}" if text else kind
    return f"FBX data is corrupt, truncated or not FBX (ufbx {reason[:200]})"


# --- the child-process reader ------------------------------------------------------------


def _save(scene: FbxScene, out: Path) -> None:
    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {
        "up_axis": scene.up_axis,
        "unit_meters": scene.unit_meters,
        "counts": scene.counts,
        "notes": scene.notes,
        "meshes": [],
    }
    for i, m in enumerate(scene.meshes):
        meta["meshes"].append(
            {"name": m.name, "skinned": m.skinned, "normals": m.normals is not None, "uvs": m.uvs is not None}
        )
        arrays[f"p{i}"] = m.positions
        arrays[f"c{i}"] = m.corners
        arrays[f"f{i}"] = m.faces
        if m.normals is not None:
            arrays[f"n{i}"] = m.normals
        if m.uvs is not None:
            arrays[f"u{i}"] = m.uvs
    arrays["meta"] = np.array(json.dumps(meta))
    with out.open("wb") as fh:
        np.savez(fh, **arrays)


def _load(out: Path) -> FbxScene:
    with np.load(out, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        meshes = []
        for i, info in enumerate(meta["meshes"]):
            meshes.append(
                FbxMesh(
                    name=info["name"],
                    positions=data[f"p{i}"],
                    corners=data[f"c{i}"],
                    faces=data[f"f{i}"],
                    normals=data[f"n{i}"] if info["normals"] else None,
                    uvs=data[f"u{i}"] if info["uvs"] else None,
                    skinned=bool(info["skinned"]),
                )
            )
    return FbxScene(
        meshes=meshes,
        up_axis=meta["up_axis"],
        unit_meters=float(meta["unit_meters"]),
        counts={k: int(v) for k, v in meta["counts"].items()},
        notes=list(meta["notes"]),
    )


def _child_main(argv: list[str]) -> int:
    """Entry point of the child reader: ``SRC OUT.npz``; exit status tells the parent why."""
    src, out = Path(argv[0]), Path(argv[1])
    try:
        scene = _read_in_process(src)
    except MissingDependencyError as exc:
        print(exc.message, file=sys.stderr)
        return _EXIT_NO_UFBX
    except MeshPivotError as exc:
        print(exc.message, file=sys.stderr)
        return _EXIT_UFBX_ERROR
    _save(scene, out)
    return 0


def _read_isolated(path: Path) -> FbxScene:
    if importlib.util.find_spec("ufbx") is None:
        raise MissingDependencyError(f"reading FBX needs the ufbx package: {_INSTALL}", path)
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    code = "import sys; from meshpivot.formats.fbx import _child_main; sys.exit(_child_main(sys.argv[1:]))"
    with locked_folder("meshpivot-locked-fbx-") as tmp:
        out = Path(tmp) / "scene.npz"
        try:
            proc = subprocess.run(
                [sys.executable, "-c", code, str(path), str(out)],
                env=env,
                capture_output=True,
                text=True,
                timeout=READER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UnreadableInputError(f"the FBX reader took more than {READER_TIMEOUT:g} s; stopped", path) from None
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        if proc.returncode == 0 and out.is_file():
            return _load(out)
        if proc.returncode == _EXIT_NO_UFBX:
            raise MissingDependencyError(last or f"reading FBX needs the ufbx package: {_INSTALL}", path)
        if proc.returncode == _EXIT_UFBX_ERROR:
            raise UnreadableInputError(last or "FBX data is corrupt", path)
        if proc.returncode < 0:
            try:
                sig = signal.Signals(-proc.returncode).name
            except ValueError:
                sig = f"signal {-proc.returncode}"
            raise UnreadableInputError(f"the FBX reader (ufbx) crashed on this file ({sig})", path)
        raise UnreadableInputError(
            f"the FBX reader failed (exit status {proc.returncode}: {last[:200] or 'no message'})", path
        )


def read_fbx(path: str | Path, *, isolate: bool | None = None) -> FbxScene:
    """Read an FBX file into world-space meshes in the Y-up metre frame.

    Parameters
    ----------
    path : str or Path
    isolate : bool, optional
        Read in a child process (default :data:`ISOLATE_READER`), so that a crash of
        the native reader raises instead of ending this process.

    Returns
    -------
    FbxScene

    Raises
    ------
    MissingDependencyError
        ufbx is not installed.
    UnreadableInputError
        The file is corrupt, truncated or not FBX, or the reader crashed.
    """
    p = Path(path)
    if isolate is None:
        isolate = ISOLATE_READER
    return _read_isolated(p) if isolate else _read_in_process(p)


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name.1``, ``name.2``, ... when it is taken (FBX node names need not be unique)."""
    out, k = name, 0
    while out in taken:
        k += 1
        out = f"{name}.{k}"
    return out


# --- the adapter ---------------------------------------------------------------------------


class FbxAsset(Asset):
    """An FBX file: measured in Y-up metres, converted (never written) on output.

    Parameters
    ----------
    path : Path
        The input; read on first use, never modified.
    """

    writes = CONVERTS_TO

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path))
        self._scene: FbxScene | None = None

    def scene(self) -> FbxScene:
        """The file's meshes in world space (read once).

        Raises
        ------
        MissingDependencyError, UnreadableInputError
        """
        if self._scene is None:
            self._scene = read_fbx(self.path)
        return self._scene

    def measure(self) -> Measurement:
        """Bounds of every mesh node's drawn vertices in Y-up metres (see the module doc).

        Raises
        ------
        MissingDependencyError, UnreadableInputError, EmptyInputError, NonFiniteInputError
        """
        try:
            scene = self.scene()
            boxes = []
            for m in scene.meshes:
                points = m.drawn_points()
                if len(points):
                    boxes.append(point_bounds(points, what=f"FBX vertices (node {m.name!r})"))
            if not boxes:
                raise EmptyInputError("no mesh with a face, so there is no bounding box")
            lo, hi = merge_bounds(boxes)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None
        return Measurement(lo=lo, hi=hi, counts=dict(scene.counts), format="fbx", notes=list(scene.notes))

    def world_geometry(self) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
        """Every mesh's vertices and triangles in world space, Y-up metres.

        Returns
        -------
        vertices : (n, 3) float32
        triangles : (m, 3) int32
            Indices into ``vertices``; polygons fan-triangulated.
        """
        scene = self.scene()
        verts: list[F64] = []
        tris: list[NDArray[np.int64]] = []
        offset = 0
        for m in scene.meshes:
            verts.append(m.positions)
            tris.append(m.corners[m.triangle_corners()] + offset)
            offset += len(m.positions)
        if not verts:
            return np.empty((0, 3), dtype=np.float32), np.empty((0, 3), dtype=np.int32)
        return (
            np.concatenate(verts).astype(np.float32),
            np.concatenate(tris).reshape(-1, 3).astype(np.int32),
        )

    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Convert the fitted asset to ``dest`` (``.glb``, ``.obj``, ``.ply`` or ``.stl``).

        ``bake``/``auto`` move the vertices; ``wrap`` (``.glb`` only) keeps them and puts
        the fit on one new root node.

        Raises
        ------
        UnsupportedInputError
            ``dest`` is ``.fbx`` (FBX cannot be written) or another type that cannot
            be converted to; ``wrap`` for an output without a scene graph.
        """
        dest = Path(dest)
        ext = dest.suffix.lower()
        try:
            if ext == ".fbx":
                raise UnsupportedInputError("FBX cannot be written; name a .glb, .obj, .ply or .stl output to convert")
            if ext not in CONVERTS_TO:
                raise UnsupportedInputError(
                    f"cannot convert FBX to {ext or '(no extension)'!r}; expected one of {', '.join(CONVERTS_TO)}"
                )
            wrap = options.mode == "wrap"
            if wrap and ext != ".glb":
                raise UnsupportedInputError(
                    f"mode 'wrap' needs a scene graph; {ext} has none: use bake or auto, or a .glb output"
                )
            files = self._export(fit, dest, wrap)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None
        notes = [_LOSSY.replace("converted", f"converted to {ext}")]
        if any(len(m.faces) and np.any(m.faces[:, 1] < 3) for m in self.scene().meshes):
            notes.append("point and line faces are measured but not written")
        if wrap:
            return WriteReport(mode="wrap", reason="the fit is on a new root node", files=files, notes=notes)
        return WriteReport(mode="bake", reason="FBX is converted: geometry baked", files=files, notes=notes)

    def _trimeshes(self, fit: Fit | None) -> list[tuple[str, Any]]:
        import trimesh

        out: list[tuple[str, Any]] = []
        for m in self.scene().meshes:
            tri = m.triangle_corners()
            if len(tri) == 0:
                continue
            used, inverse = np.unique(tri, return_inverse=True)
            faces = inverse.reshape(-1, 3)
            positions = m.positions[m.corners[used]]
            normals = None if m.normals is None else m.normals[used]
            if fit is not None:
                positions = np.asarray(transform_points(positions, fit.scale, fit.translation), dtype=np.float64)
                if normals is not None:
                    normals = np.asarray(transform_normals(normals, fit.scale), dtype=np.float64)
            visual = None
            if m.uvs is not None:
                # A plain material without an image: FBX materials are not carried.
                visuals: Any = trimesh.visual
                material = visuals.material.SimpleMaterial(name="fbx")
                visual = visuals.TextureVisuals(uv=m.uvs[used], material=material)
            mesh = trimesh.Trimesh(
                vertices=positions, faces=faces, vertex_normals=normals, visual=visual, process=False
            )
            out.append((_unique(m.name or "mesh", {name for name, _ in out}), mesh))
        if not out:
            raise EmptyInputError("no mesh has a polygon face; nothing to convert")
        return out

    def _export(self, fit: Fit, dest: Path, wrap: bool) -> list[Path]:
        import trimesh

        ext = dest.suffix.lower()
        parts = self._trimeshes(None if wrap else fit)
        scene = trimesh.Scene()
        parent = None
        if wrap:
            parent = _unique("meshpivot_fit", {name for name, _ in parts})
            graph: Any = scene.graph
            graph.update(frame_from=graph.base_frame, frame_to=parent, matrix=fit.matrix)
        for name, mesh in parts:
            scene.add_geometry(mesh, geom_name=name, node_name=name, parent_node_name=parent)
        target: Any = scene
        if ext in (".ply", ".stl"):
            target = trimesh.util.concatenate([mesh for _, mesh in parts])
        kwargs: dict[str, Any] = {"mtl_name": f"{dest.stem}.mtl"} if ext == ".obj" else {}
        before = set(dest.parent.iterdir())
        try:
            target.export(str(dest), file_type=ext.lstrip("."), **kwargs)
        except Exception as exc:
            raise UnsupportedInputError(
                f"trimesh cannot write {ext} from this FBX: {str(exc).splitlines()[0][:200]}"
            ) from None
        written = sorted(set(dest.parent.iterdir()) - before - {dest})
        return [dest, *[p for p in written if p.is_file()]]
