"""What an asset draws, as one triangle soup in the Y-up metre root frame.

:func:`world_geometry` gathers every drawn vertex of a file into one
:class:`WorldGeometry`: vertex positions in the scene's root frame (the frame of
SPEC.md section 1, where the box of section 2 is measured) and the triangles, line
segments and points that use them. It feeds pictures (:mod:`meshpivot.preview`),
not the fit: positions are float32, while the box it carries (``lo``, ``hi``) is the
float64 box of the same points, as :func:`meshpivot.api.measure_file` reports it.

* glTF (``.glb``, ``.gltf``) goes through the glTF engine: the default scene, node
  world matrices, skins posed at their authored joint transforms, morph targets at
  the default weights, ``EXT_mesh_gpu_instancing`` expanded, Draco decoded, only the
  vertices that indices reference. Strips and fans become triangles; line loops and
  strips become segments.
* OBJ, PLY and STL go through trimesh (``process=False``), every scene node at its
  world transform; the box is the one the format adapter measures.
* Any other format works when its adapter has a ``world_geometry()`` method that
  returns a :class:`WorldGeometry`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import EmptyInputError, MeshPivotError, NonFiniteInputError, UnreadableInputError, UnsupportedInputError
from .vectors import affine_points

__all__ = ["WorldGeometry", "gltf_geometry", "trimesh_geometry", "world_geometry"]

F64 = NDArray[np.float64]
I32 = NDArray[np.int32]

# glTF primitive modes.
_POINTS, _LINES, _LINE_LOOP, _LINE_STRIP, _TRIANGLES, _TRIANGLE_STRIP, _TRIANGLE_FAN = range(7)


def _index_array(values: ArrayLike | None, width: int) -> I32:
    if values is None:
        return np.zeros((0, width) if width > 1 else (0,), dtype=np.int32)
    a = np.asarray(values)
    shape = (-1, width) if width > 1 else (-1,)
    return np.ascontiguousarray(a.reshape(shape), dtype=np.int32)


@dataclass(frozen=True)
class WorldGeometry:
    """Drawn geometry of an asset in the Y-up metre root frame.

    Parameters
    ----------
    vertices : (n, 3) float32
        Positions in metres, +Y up, front +Z.
    triangles : (m, 3) int32
        Indices into ``vertices``; winding as authored.
    lines : (k, 2) int32, optional
        Line segments (glTF lines, line strips and loops; OBJ ``l``).
    points : (p,) int32, optional
        Vertices drawn as points.
    lo, hi : (3,) float64, optional
        The measured box. When omitted, :meth:`bounds` computes it from the
        vertices that the triangles, lines and points use.

    Raises
    ------
    UnreadableInputError
        An index is out of range, or an array has the wrong shape.

    Examples
    --------
    >>> g = WorldGeometry([[0, 0, 0], [1, 0, 0], [0, 2, 0], [9, 9, 9]], [[0, 1, 2]])
    >>> [v.tolist() for v in g.bounds()]
    [[0.0, 0.0, 0.0], [1.0, 2.0, 0.0]]
    """

    vertices: NDArray[np.float32]
    triangles: I32
    lines: I32 = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int32))
    points: I32 = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    lo: F64 | None = None
    hi: F64 | None = None

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(np.asarray(self.vertices, dtype=np.float32))
        if v.ndim != 2 or v.shape[1] != 3:
            if v.size == 0:
                v = v.reshape(0, 3)
            else:
                raise UnreadableInputError(f"vertices have shape {v.shape}; expected (n, 3)")
        object.__setattr__(self, "vertices", v)
        for name, width in (("triangles", 3), ("lines", 2), ("points", 1)):
            arr = np.asarray(getattr(self, name))
            if arr.size == 0:
                arr = arr.reshape((0, width) if width > 1 else (0,))
            elif arr.ndim != (2 if width > 1 else 1) or (width > 1 and arr.shape[1] != width):
                raise UnreadableInputError(f"{name} have shape {arr.shape}; expected (m, {width})")
            idx = _index_array(arr, width)
            if idx.size and (int(idx.reshape(-1).min()) < 0 or int(idx.reshape(-1).max()) >= len(v)):
                raise UnreadableInputError(f"{name} reference a vertex outside 0..{len(v) - 1}")
            object.__setattr__(self, name, idx)
        for name in ("lo", "hi"):
            val = getattr(self, name)
            if val is not None:
                object.__setattr__(self, name, np.array(val, dtype=np.float64).reshape(3))

    def used_vertices(self) -> NDArray[np.float32]:
        """(u, 3) float32: the vertices that a triangle, line or point uses."""
        used = np.zeros(len(self.vertices), dtype=bool)
        used[self.triangles.reshape(-1)] = True
        used[self.lines.reshape(-1)] = True
        used[self.points] = True
        out: NDArray[np.float32] = self.vertices[used]
        return out

    def bounds(self) -> tuple[F64, F64]:
        """The box ``(lo, hi)`` of the drawn vertices, float64.

        Raises
        ------
        EmptyInputError
            Nothing is drawn.
        NonFiniteInputError
            A drawn coordinate is NaN or infinite.
        """
        if self.lo is not None and self.hi is not None:
            return self.lo, self.hi
        used = self.used_vertices()
        if len(used) == 0:
            raise EmptyInputError("the geometry draws no vertex, so there is no bounding box")
        cols = [used[:, i] for i in range(3)]  # per-column reductions are fast (PERF-NOTES.md)
        lo = np.array([float(c.min()) for c in cols])
        hi = np.array([float(c.max()) for c in cols])
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise NonFiniteInputError("a drawn vertex coordinate is NaN or infinite")
        return lo, hi

    @property
    def triangle_count(self) -> int:
        """Number of triangles."""
        return len(self.triangles)


class _Builder:
    """Collects pieces of geometry and concatenates them once."""

    def __init__(self) -> None:
        self.vertices: list[F64] = []
        self.triangles: list[NDArray[np.int64]] = []
        self.lines: list[NDArray[np.int64]] = []
        self.points: list[NDArray[np.int64]] = []
        self.count = 0
        self.lo = np.full(3, np.inf)
        self.hi = np.full(3, -np.inf)

    def add(
        self,
        vertices: F64,
        triangles: NDArray[Any] | None = None,
        lines: NDArray[Any] | None = None,
        points: NDArray[Any] | None = None,
    ) -> None:
        if len(vertices) == 0:
            return
        base = self.count
        self.vertices.append(vertices)
        self.count += len(vertices)
        for store, part in ((self.triangles, triangles), (self.lines, lines), (self.points, points)):
            if part is not None and len(part):
                store.append(np.asarray(part, dtype=np.int64) + base)
        for i in range(3):
            col = vertices[:, i]
            self.lo[i] = min(self.lo[i], float(col.min()))
            self.hi[i] = max(self.hi[i], float(col.max()))

    def build(self, what: str) -> WorldGeometry:
        if self.count == 0:
            raise EmptyInputError(f"{what} draws no vertex, so there is no picture")
        if self.count > np.iinfo(np.int32).max:
            raise UnsupportedInputError(f"{what} draws {self.count} vertices; the preview handles at most 2**31 - 1")
        if not (np.all(np.isfinite(self.lo)) and np.all(np.isfinite(self.hi))):
            raise NonFiniteInputError(f"{what}: a drawn vertex coordinate is NaN or infinite")

        def cat(parts: list[NDArray[np.int64]], width: int) -> I32:
            if not parts:
                return np.zeros((0, width) if width > 1 else (0,), dtype=np.int32)
            return np.concatenate(parts).astype(np.int32)

        return WorldGeometry(
            vertices=np.concatenate(self.vertices).astype(np.float32),
            triangles=cat(self.triangles, 3),
            lines=cat(self.lines, 2),
            points=cat(self.points, 1),
            lo=self.lo.copy(),
            hi=self.hi.copy(),
        )


_Elements = tuple["NDArray[np.int64] | None", "NDArray[np.int64] | None", "NDArray[np.int64] | None"]


def _elements(mode: int, idx: NDArray[np.int64]) -> _Elements:
    """Triangles, segments and points of a glTF primitive ``mode`` over vertex list ``idx``."""
    n = len(idx)
    if mode == _TRIANGLES:
        return idx[: n - n % 3].reshape(-1, 3), None, None
    if mode == _TRIANGLE_STRIP:
        if n < 3:
            return None, None, None
        k = np.arange(n - 2)
        odd = (k % 2).astype(bool)
        a = np.where(odd, k + 1, k)  # odd triangles swap their first two vertices (glTF 3.7.2.1)
        b = np.where(odd, k, k + 1)
        return np.stack([idx[a], idx[b], idx[k + 2]], axis=1), None, None
    if mode == _TRIANGLE_FAN:
        if n < 3:
            return None, None, None
        k = np.arange(1, n - 1)
        return np.stack([np.full(len(k), idx[0]), idx[k], idx[k + 1]], axis=1), None, None
    if mode == _LINES:
        return None, idx[: n - n % 2].reshape(-1, 2), None
    if mode == _LINE_STRIP:
        return None, (np.stack([idx[:-1], idx[1:]], axis=1) if n >= 2 else None), None
    if mode == _LINE_LOOP:
        return None, (np.stack([idx, np.roll(idx, -1)], axis=1) if n >= 2 else None), None
    return None, None, idx  # POINTS


def gltf_geometry(path: str | Path) -> WorldGeometry:
    """World geometry of a ``.glb`` / ``.gltf`` file (see the module docstring).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    WorldGeometry
        ``lo``/``hi`` equal the box of :func:`meshpivot.gltf.measure.world_bounds`
        up to float64 rounding.

    Raises
    ------
    UnreadableInputError, UnsupportedInputError, EmptyInputError, NonFiniteInputError
    """
    # skinned_points takes the engine's (private) primitive reader, so we use it too.
    from .gltf.document import read_document
    from .gltf.measure import _Primitive, default_weights, instance_matrices, primitive_points, skinned_points
    from .gltf.scene import SceneGraph, default_scene_index, scene_roots

    p = Path(path)
    try:
        doc = read_document(p)
        data = doc.json
        index = default_scene_index(data)
        graph = SceneGraph(data)
        meshes = data.get("meshes", [])
        out = _Builder()
        prims: dict[tuple[int, int], _Primitive] = {}
        for node in graph.descendants(scene_roots(data, index)):
            n = data["nodes"][node]
            if "mesh" not in n:
                continue
            mesh = n["mesh"]
            if not isinstance(mesh, int) or not 0 <= mesh < len(meshes):
                raise UnreadableInputError(f"/nodes/{node}/mesh is {mesh!r}; the file has {len(meshes)} meshes")
            weights = default_weights(data, node)
            skin = n.get("skin")
            instances = None if skin is not None else instance_matrices(doc, node)
            for i in range(len(meshes[mesh].get("primitives", []))):
                key = (mesh, i)
                if key not in prims:
                    prims[key] = _Primitive(doc, mesh, i)
                prim = prims[key]
                points, mask = primitive_points(doc, mesh, i, weights, prim=prim)
                if len(points) == 0:
                    continue
                raw = prim.indices()
                if raw is None:
                    idx = np.arange(len(points), dtype=np.int64)
                else:
                    idx = np.asarray(raw, dtype=np.int64)
                    if mask is not None:  # None: every vertex is referenced, none was dropped
                        remap = np.cumsum(mask, dtype=np.int64) - 1  # old vertex -> kept vertex
                        idx = remap[idx]
                mode = prim.json.get("mode", _TRIANGLES)
                tris, segs, pts = _elements(mode if isinstance(mode, int) else _TRIANGLES, idx)
                if skin is not None:
                    out.add(skinned_points(doc, graph, prim, skin, points, mask), tris, segs, pts)
                elif instances is not None:
                    for inst in instances:
                        out.add(affine_points(points, graph.world[node] @ inst), tris, segs, pts)
                else:
                    out.add(affine_points(points, graph.world[node]), tris, segs, pts)
        return out.build(f"/scenes/{index}")
    except MeshPivotError as exc:
        raise exc.with_path(p) from None


def _trimesh_parts(geometry: Any, matrix: F64, out: _Builder) -> None:
    import trimesh

    vertices = getattr(geometry, "vertices", None)
    if vertices is None or len(vertices) == 0:
        return
    world = affine_points(np.asarray(vertices, dtype=np.float64), matrix)
    if isinstance(geometry, trimesh.Trimesh):
        faces = np.asarray(geometry.faces, dtype=np.int64).reshape(-1, 3)
        out.add(world, faces if len(faces) else None, None, None if len(faces) else np.arange(len(world)))
    elif isinstance(geometry, trimesh.PointCloud):
        out.add(world, None, None, np.arange(len(world)))
    elif hasattr(geometry, "entities"):  # Path3D: polylines through vertex indices
        segs = []
        for entity in geometry.entities:
            ids = np.asarray(entity.points, dtype=np.int64)
            if len(ids) >= 2:
                segs.append(np.stack([ids[:-1], ids[1:]], axis=1))
        if segs:
            out.add(world, None, np.concatenate(segs), None)


def trimesh_geometry(path: str | Path) -> WorldGeometry:
    """World geometry of an OBJ, PLY or STL file, read by trimesh with ``process=False``.

    The box is the one the format adapter measures (so it matches ``inspect``).

    Raises
    ------
    UnreadableInputError, EmptyInputError, NonFiniteInputError
    """
    import trimesh

    from .formats import open_asset
    from .formats.trimesh_formats import _load_with_trimesh  # one-line errors for corrupt files

    p = Path(path)
    try:
        obj = _load_with_trimesh(p)
        out = _Builder()
        if isinstance(obj, trimesh.Scene):
            for node in obj.graph.nodes_geometry:
                matrix, name = obj.graph[node]
                geometry = obj.geometry.get(name)
                if geometry is not None:
                    _trimesh_parts(geometry, np.asarray(matrix, dtype=np.float64), out)
        else:
            _trimesh_parts(obj, np.eye(4), out)
        geom = out.build(p.suffix.upper().lstrip(".") + " file")
        with open_asset(p) as asset:
            m = asset.measure()
        return WorldGeometry(geom.vertices, geom.triangles, geom.lines, geom.points, m.lo, m.hi)
    except MeshPivotError as exc:
        raise exc.with_path(p) from None


def world_geometry(path: str | Path) -> WorldGeometry:
    """Everything ``path`` draws, in the Y-up metre root frame.

    Parameters
    ----------
    path : str or Path
        ``.glb``, ``.gltf``, ``.obj``, ``.ply``, ``.stl``, or a format whose adapter
        provides ``world_geometry()``.

    Returns
    -------
    WorldGeometry

    Raises
    ------
    UnsupportedInputError
        The format has no geometry reader for pictures yet.
    UnreadableInputError, EmptyInputError, NonFiniteInputError
        The file cannot be read, draws nothing, or holds a NaN or infinite coordinate.
    """
    from .formats import adapter_for, open_asset

    p = Path(path)
    ext = p.suffix.lower()
    adapter_for(p)  # unknown extensions fail here, with the list of known ones
    if not p.is_file():
        raise UnreadableInputError("no such file" if not p.exists() else "not a regular file", p)
    if ext in (".glb", ".gltf"):
        return gltf_geometry(p)
    if ext in (".obj", ".ply", ".stl"):
        return trimesh_geometry(p)
    with open_asset(p) as asset:
        method = getattr(asset, "world_geometry", None)
        if method is None:
            raise UnsupportedInputError(f"preview does not support {ext} yet", p)
        geom = method()
    if not isinstance(geom, WorldGeometry):
        raise UnsupportedInputError(f"the {ext} reader returned {type(geom).__name__}, not WorldGeometry", p)
    return geom
