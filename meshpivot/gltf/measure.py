"""The measured box of a glTF asset (SPEC.md section 2, exactly).

Every node reachable from the default scene is visited with its authored
``node2world`` matrix; every primitive of every mode contributes the vertices its
indices reference (all of them when it has none), after morph targets at the
default weights. Skinned primitives are posed vertex by vertex with the joints'
authored world matrices and the inverse bind matrices (the mesh node's own
transform is ignored); ``EXT_mesh_gpu_instancing`` expands one box per instance.

All math is float64. The box of a rigid primitive is taken from its local box's
corners only when the matrix is a pure per-axis scale plus translation (then it is
the same number a per-vertex transform gives); otherwise the points are transformed
in chunks, since the box of a rotated point set is not the rotated box. The local box
of an indexed primitive comes from :func:`meshpivot.vectors.referenced_bounds`, which
reads a few chunks of the indices instead of selecting the referenced vertices; only
skinned primitives and rotated nodes or instances select them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import EmptyInputError, NonFiniteInputError, UnreadableInputError, UnsupportedInputError
from ..formats.base import Measurement
from ..vectors import (
    CHUNK,
    affine_points,
    is_per_axis,
    merge_bounds,
    point_bounds,
    referenced_bounds,
    referenced_rows,
)
from .accessors import accessor_info, accessor_view, read_accessor
from .compression import DracoPrimitive, decode_draco_primitive, draco_extension
from .document import GltfDocument, release_pages
from .scene import SceneGraph, default_scene_index, quaternion_matrices, scene_roots

__all__ = [
    "INSTANCING",
    "default_weights",
    "instance_matrices",
    "measure_document",
    "primitive_points",
    "skinned_points",
    "transformed_bounds",
    "world_bounds",
]

F64 = NDArray[np.float64]
Box = tuple[F64, F64]
INSTANCING = "EXT_mesh_gpu_instancing"


class _Primitive:
    """Attribute access for one primitive, Draco-aware (decoded once)."""

    def __init__(self, doc: GltfDocument, mesh: int, index: int) -> None:
        self.doc = doc
        self.mesh = mesh
        self.index = index
        self.where = f"/meshes/{mesh}/primitives/{index}"
        self.json: dict[str, Any] = doc.json["meshes"][mesh]["primitives"][index]
        self._draco: DracoPrimitive | None = None
        if draco_extension(self.json) is not None:
            self._draco = decode_draco_primitive(doc, mesh, index)

    def attribute(self, name: str, *, view: bool = False) -> NDArray[Any] | None:
        """Decoded values of attribute ``name``; with ``view``, plain data comes as a no-copy view."""
        if self._draco is not None and name in self._draco.attributes:
            return self._draco.attributes[name]
        acc = self.json.get("attributes", {}).get(name)
        if acc is None:
            return None
        return _values(self.doc, acc) if view else read_accessor(self.doc, acc)

    def indices(self) -> NDArray[Any] | None:
        """Index values, as a no-copy view where the storage allows."""
        if self._draco is not None and self._draco.indices is not None and "indices" in self.json:
            return self._draco.indices
        acc = self.json.get("indices")
        if acc is None:
            return None
        return _values(self.doc, acc).reshape(-1)


def _values(doc: GltfDocument, acc: int) -> NDArray[Any]:
    """Accessor values as stored when that is their decoded value (plain float or integer
    data with no sparse part and no normalization): a read-only view onto the file's bytes.
    Otherwise the decoded copy of :func:`read_accessor`."""
    info = accessor_info(doc, acc)
    if info.sparse is None and info.buffer_view is not None and not info.normalized and info.column_stride is None:
        return accessor_view(doc, acc)
    return read_accessor(doc, acc)


def default_weights(data: dict[str, Any], node: int) -> F64:
    """Morph weights of ``node``: its ``weights``, else its mesh's, else none (zeros)."""
    n = data["nodes"][node]
    w = n.get("weights")
    if w is None:
        w = data["meshes"][n["mesh"]].get("weights")
    return np.array(w if w is not None else [], dtype=np.float64)


def _checked_indices(prim: _Primitive, n: int) -> NDArray[Any] | None:
    """The indices of ``prim`` (``None``: it has none), each checked to be below ``n``.

    Raises
    ------
    UnreadableInputError
        An index is ``n`` or more.
    """
    idx = prim.indices()
    if idx is not None:
        _check_range(idx, n, prim.where)
    return idx


def _check_range(idx: NDArray[Any], n: int, where: str) -> None:
    for k in range(0, len(idx), 4 * CHUNK):  # chunked, each chunk's file pages dropped once read
        part = idx[k : k + 4 * CHUNK]
        top = int(part.max())
        if top >= n:
            raise UnreadableInputError(f"{where}/indices reference vertex {top} but POSITION has {n} vertices")
        release_pages(part)


#: Index arrays at least this long are range-checked in a second thread, while the first
#: reads the positions (both passes run at memory speed; on two cores they overlap).
#: Shorter ones are checked at once: starting a thread would cost more than it saves.
BACKGROUND_CHECK_MIN = 1 << 21


class _IndexCheck:
    """The range check of one primitive's indices (:func:`_checked_indices`), run in a
    second thread for long index arrays (:data:`BACKGROUND_CHECK_MIN`).

    ``indices`` is the unchecked array (``None``: the primitive has none); :meth:`wait`
    returns it once checked, or raises what the check found.
    """

    def __init__(self, prim: _Primitive, n: int) -> None:
        self.indices = prim.indices()
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self.indices is None:
            return
        if len(self.indices) >= BACKGROUND_CHECK_MIN:
            thread = threading.Thread(
                target=self._run, args=(self.indices, n, prim.where), name="meshpivot-index-check", daemon=True
            )
            try:
                thread.start()
            except RuntimeError:  # no thread to be had (a process or thread limit): check at once
                pass
            else:
                self._thread = thread
                return
        _check_range(self.indices, n, prim.where)

    def _run(self, idx: NDArray[Any], n: int, where: str) -> None:
        try:
            _check_range(idx, n, where)
        except BaseException as exc:  # handed to the thread that waits
            self._failure = exc

    def wait(self) -> NDArray[Any] | None:
        """The checked indices; raises :class:`UnreadableInputError` for one out of range."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._failure is not None:
            raise self._failure
        return self.indices


def _used_mask(idx: NDArray[Any] | None, n: int) -> NDArray[np.bool_] | None:
    """Which of ``n`` vertices the checked indices ``idx`` reference (``None``: all of them)."""
    if idx is None:
        return None
    mask = referenced_rows(idx, n, chunk=4 * CHUNK, release=release_pages)
    if mask.all():
        return None  # every vertex is drawn: no need to select
    return mask


def _morphed_points(doc: GltfDocument, p: _Primitive, weights: F64) -> NDArray[Any]:
    """Local positions of every vertex of ``p`` after morph targets: the stored data
    (a read-only view where possible) when no target applies, else a float64 copy.

    Raises
    ------
    UnreadableInputError
        No POSITION, or a target with another vertex count.
    """
    pos = p.attribute("POSITION", view=True)
    if pos is None:
        raise UnreadableInputError(f"{p.where}/attributes has no POSITION")
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise UnreadableInputError(f"{p.where}/attributes/POSITION is not VEC3")
    points: NDArray[Any] = pos
    targets = p.json.get("targets") or []
    for t, target in enumerate(targets):
        w = float(weights[t]) if t < len(weights) else 0.0
        if w == 0.0 or not isinstance(target, dict) or "POSITION" not in target:
            continue
        if points is pos:
            points = np.array(pos, dtype=np.float64)  # our own copy, morphed below
        delta = read_accessor(doc, target["POSITION"])
        if delta.shape != points.shape:
            raise UnreadableInputError(
                f"{p.where}/targets/{t}/POSITION has {len(delta)} vertices; POSITION has {len(points)}"
            )
        points += w * delta.astype(np.float64)
    return points


def primitive_points(
    doc: GltfDocument, mesh: int, index: int, weights: F64, *, prim: _Primitive | None = None
) -> tuple[NDArray[Any], NDArray[np.bool_] | None]:
    """Local positions of one primitive after morph targets, referenced vertices only.

    Parameters
    ----------
    doc : GltfDocument
    mesh, index : int
        ``meshes[mesh].primitives[index]``.
    weights : (k,) float64
        Morph weights; missing ones count as 0.

    Returns
    -------
    points : (n, 3) float32 or float64
        The referenced vertices (all when the primitive has no indices). Unmorphed plain
        float data is a read-only view onto the file's bytes; bounds code widens chunks
        to float64 itself.
    mask : (count,) bool or None
        Which vertices were kept (``None``: all), for selecting other attributes.

    Raises
    ------
    UnreadableInputError
        No POSITION, or indices beyond the vertex count.
    """
    p = prim if prim is not None else _Primitive(doc, mesh, index)
    points = _morphed_points(doc, p, weights)
    mask = _used_mask(_checked_indices(p, len(points)), len(points))
    if mask is not None:
        points = points[mask]
    return points, mask


def transformed_bounds(points: F64, matrix: F64, *, what: str = "points") -> Box:
    """Box of ``points`` mapped by the affine ``matrix`` (exact, chunked).

    Parameters
    ----------
    points : (n, 3) float64
    matrix : (4, 4) float64
        The bottom row is ignored (glTF node matrices are affine).
    """
    if _diagonal(matrix):
        # Chunk by chunk, dropping each chunk's file pages: memory does not grow with the file.
        return _scaled_box(referenced_bounds(points, None, what=what, release=release_pages), matrix)
    boxes = [
        point_bounds(affine_points(points[k : k + CHUNK], matrix), what=what) for k in range(0, len(points), CHUNK)
    ]
    return merge_bounds(boxes)


def _diagonal(matrix: F64) -> bool:
    """Whether the linear part of the affine ``matrix`` is a pure per-axis scale."""
    return is_per_axis(matrix[:3, :3])


def _scaled_box(box: Box, matrix: F64) -> Box:
    """``box`` mapped by an affine ``matrix`` whose linear part is diagonal: exact, since
    the box of a per-axis scaled (and translated) point set is the scaled box."""
    s, t = np.diag(matrix[:3, :3]), matrix[:3, 3]
    a, b = box[0] * s + t, box[1] * s + t
    return np.minimum(a, b), np.maximum(a, b)


def skinned_points(
    doc: GltfDocument, graph: SceneGraph, prim: _Primitive, skin: int, points: F64, mask: NDArray[np.bool_] | None
) -> F64:
    """Pose ``points`` (already morphed and masked) with ``skins[skin]``.

    Returns
    -------
    (n, 3) float64
        World positions: ``sum_k w_k * (world[joint_k] @ IBM[joint_k]) @ p``.
    """
    data = doc.json
    skins = data.get("skins", [])
    if not isinstance(skin, int) or not 0 <= skin < len(skins):
        raise UnreadableInputError(f"skin {skin!r} does not exist (/skins has {len(skins)})")
    sk = skins[skin]
    joints = sk.get("joints", [])
    nj = len(joints)
    for k, j in enumerate(joints):
        if not isinstance(j, int) or not 0 <= j < len(graph.world):
            raise UnreadableInputError(f"/skins/{skin}/joints/{k} is {j!r}; not a node")
    if "inverseBindMatrices" in sk:
        ibm = read_accessor(doc, sk["inverseBindMatrices"]).astype(np.float64).reshape(-1, 4, 4)
        ibm = np.transpose(ibm, (0, 2, 1))  # stored column-major
        if len(ibm) < nj:
            raise UnreadableInputError(f"/skins/{skin}/inverseBindMatrices has {len(ibm)} matrices for {nj} joints")
    else:
        ibm = np.broadcast_to(np.eye(4), (nj, 4, 4))
    jm = np.stack([graph.world[j] @ ibm[k] for k, j in enumerate(joints)]) if nj else np.zeros((0, 4, 4))
    out = np.zeros(points.shape, dtype=np.float64)
    s = 0
    found = False
    while True:
        jv = prim.attribute(f"JOINTS_{s}")
        wv = prim.attribute(f"WEIGHTS_{s}")
        if jv is None or wv is None:
            break
        found = True
        if mask is not None:
            jv, wv = jv[mask], wv[mask]
        where = f"{prim.where}/attributes/JOINTS_{s}"
        w = np.asarray(wv, dtype=np.float64).reshape(len(points), -1)
        jv = np.where(w != 0.0, np.asarray(jv).reshape(len(points), -1), 0)  # a weightless joint is unused
        acc = prim.json.get("attributes", {}).get(f"JOINTS_{s}")
        if prim._draco is None and isinstance(acc, int) and accessor_info(doc, acc).normalized and jv.any():
            # Decoded, a stored joint 1 would read as 1/255; 0 reads as 0 either way.
            raise UnreadableInputError(f"{where} is normalized; glTF stores joint indices as plain unsigned integers")
        odd = ~((jv >= 0) & (jv < nj))  # NaN included
        if jv.dtype.kind == "f":  # outside glTF's rules (unsigned integers), read by value
            odd |= jv != np.floor(jv)
        if odd.any():
            bad = jv[odd][0]
            shown = repr(float(bad)) if jv.dtype.kind == "f" else str(int(bad))
            raise UnreadableInputError(
                f"{where} holds {shown}; expected the index of one of the {nj} joints of /skins/{skin}"
            )
        jidx = jv.astype(np.int64)
        for c in range(jidx.shape[1]):
            for k in range(0, len(points), CHUNK):
                sl = slice(k, k + CHUNK)
                m = jm[jidx[sl, c]]  # (n, 4, 4)
                p = points[sl]
                posed = np.einsum("nij,nj->ni", m[:, :3, :3], p) + m[:, :3, 3]
                out[sl] += w[sl, c : c + 1] * posed
        s += 1
    if not found:
        raise UnreadableInputError(f"{prim.where} is skinned but has no JOINTS_0/WEIGHTS_0")
    return out


def instance_matrices(doc: GltfDocument, node: int) -> F64 | None:
    """Per-instance (m, 4, 4) local matrices of ``EXT_mesh_gpu_instancing`` on ``node``, or ``None``."""
    ext = doc.json["nodes"][node].get("extensions", {}).get(INSTANCING)
    if not isinstance(ext, dict):
        return None
    attrs = ext.get("attributes", {})
    parts = {
        k: read_accessor(doc, attrs[k]).astype(np.float64) for k in ("TRANSLATION", "ROTATION", "SCALE") if k in attrs
    }
    for k, v in parts.items():
        if not np.isfinite(v).all():
            raise NonFiniteInputError(f"/nodes/{node}/extensions/{INSTANCING}/attributes/{k} holds NaN or infinity")
    counts = {len(v) for v in parts.values()}
    if len(counts) > 1:
        raise UnreadableInputError(f"/nodes/{node}/extensions/{INSTANCING} attributes have different counts")
    n = counts.pop() if counts else 0
    m = np.tile(np.eye(4), (n, 1, 1))
    if "ROTATION" in parts:
        m[:, :3, :3] = quaternion_matrices(parts["ROTATION"])
    if "SCALE" in parts:
        m[:, :3, :3] *= parts["SCALE"][:, None, :]
    if "TRANSLATION" in parts:
        m[:, :3, 3] = parts["TRANSLATION"]
    return m


class _Local:
    """One primitive's local positions after morph targets, shared by every node that
    draws it with the same weights. The box of the referenced vertices and the referenced
    vertices themselves are each computed once, when first asked for.

    Parameters
    ----------
    prim : _Primitive
    points : (n, 3) array
        Every vertex (see :func:`_morphed_points`).
    check : _IndexCheck
        The primitive's indices and their range check; no indices: every vertex is drawn.
    """

    def __init__(self, prim: _Primitive, points: NDArray[Any], check: _IndexCheck) -> None:
        self.prim = prim
        self.points = points
        self.check = check
        self._box: Box | None = None
        self._referenced: tuple[NDArray[Any], NDArray[np.bool_] | None] | None = None

    @property
    def indices(self) -> NDArray[Any] | None:
        """The checked indices (``None``: every vertex is drawn); waits for the check."""
        return self.check.wait()

    @property
    def drawn(self) -> bool:
        """Whether the primitive draws any vertex."""
        idx = self.check.indices
        return len(self.points) > 0 and (idx is None or len(idx) > 0)

    def box(self, what: str) -> Box:
        """The box of the referenced vertices in the primitive's frame (no selection made).

        The positions are read while the indices are still being checked.
        """
        if self._box is None:
            self._box = referenced_bounds(
                self.points,
                self.check.indices,
                what=what,
                release=release_pages,
                ready=self.check.wait,
                extremes=self._note_stored_bounds(),
            )
        return self._box

    def _note_stored_bounds(self) -> Callable[[F64, F64], None] | None:
        """Where the extremes of every row go when the points are a POSITION accessor's own
        plain float values (not morphed, quantized or sparse): the document keeps them."""
        acc = self.prim.json.get("attributes", {}).get("POSITION")
        doc = self.prim.doc
        # Draco: decoded, not stored values; morphed or normalized points are a float64
        # copy, quantized ones integers; a sparse accessor's values are a patched copy.
        if acc is None or self.prim._draco is not None or self.points.dtype != np.float32:
            return None
        if accessor_info(doc, acc).sparse is not None:
            return None

        def note(lo: F64, hi: F64) -> None:
            doc.stored_bounds[acc] = (lo, hi)

        return note

    def referenced(self) -> tuple[NDArray[Any], NDArray[np.bool_] | None]:
        """The referenced vertices and which were kept (``None``: all), as :func:`primitive_points` gives them."""
        if self._referenced is None:
            mask = _used_mask(self.indices, len(self.points))
            self._referenced = (self.points if mask is None else self.points[mask], mask)
        return self._referenced


def _rigid_box(local: _Local, matrix: F64, what: str) -> Box:
    """Box of the referenced vertices of ``local`` under the affine ``matrix``: from the
    local box when the matrix only scales and translates, else from the points."""
    if _diagonal(matrix):
        return _scaled_box(local.box(what), matrix)
    return transformed_bounds(local.referenced()[0], matrix, what=what)


#: Point transforms that measuring rotated GPU instances may cost (instances x vertices):
#: about five seconds of work. Beyond it a file is refused rather than left to run for minutes.
INSTANCE_WORK_LIMIT = 500_000_000


def _instance_boxes(local: _Local, node2world: F64, instances: F64, what: str) -> list[Box]:
    """Boxes of the referenced vertices of ``local`` under every instance: the local box,
    taken once, for scale-only instances; the points for rotated ones."""
    boxes: list[Box] = []
    rotated = 0
    for inst in instances:
        m = node2world @ inst
        if not _diagonal(m):
            rotated += 1
            n = len(local.referenced()[0])
            if rotated * n > INSTANCE_WORK_LIMIT:
                raise UnsupportedInputError(
                    f"{what}: {len(instances)} rotated GPU instances of {n} vertices are more than "
                    f"meshpivot measures exactly ({INSTANCE_WORK_LIMIT:.0e} point transforms)"
                )
        boxes.append(_rigid_box(local, m, what))
    return boxes


class _Cache:
    """Decoded primitives and their morphed local points, shared by every node using a mesh."""

    def __init__(self) -> None:
        self.prims: dict[tuple[int, int], _Primitive] = {}
        self.locals: dict[tuple[int, int, bytes], _Local] = {}

    def primitive(self, doc: GltfDocument, mesh: int, i: int) -> _Primitive:
        key = (mesh, i)
        if key not in self.prims:
            self.prims[key] = _Primitive(doc, mesh, i)
        return self.prims[key]

    def local(self, doc: GltfDocument, mesh: int, i: int, weights: F64) -> _Local:
        key = (mesh, i, weights.tobytes())
        if key not in self.locals:
            prim = self.primitive(doc, mesh, i)
            points = _morphed_points(doc, prim, weights)
            self.locals[key] = _Local(prim, points, _IndexCheck(prim, len(points)))
        return self.locals[key]

    def close(self) -> None:
        """Wait for every index check, raising nothing: no thread may outlive the document's maps."""
        for local in self.locals.values():
            try:
                local.check.wait()
            except Exception:
                pass  # an error is already on its way (_node_boxes waits for each check)


def _node_boxes(doc: GltfDocument, graph: SceneGraph, node: int, counts: dict[str, int], cache: _Cache) -> list[Box]:
    data = doc.json
    n = data["nodes"][node]
    mesh = n["mesh"]
    meshes = data.get("meshes", [])
    if not isinstance(mesh, int) or not 0 <= mesh < len(meshes):
        raise UnreadableInputError(f"/nodes/{node}/mesh is {mesh!r}; the file has {len(meshes)} meshes")
    weights = default_weights(data, node)
    skin = n.get("skin")
    instances = None if skin is not None else instance_matrices(doc, node)
    boxes: list[Box] = []
    for i in range(len(meshes[mesh].get("primitives", []))):
        local = cache.local(doc, mesh, i, weights)
        if local.drawn:
            what = f"{local.prim.where} (node {node})"
            if skin is not None:
                posed = skinned_points(doc, graph, local.prim, skin, *local.referenced())
                boxes.append(point_bounds(posed, what=what))
                counts["drawn_vertices"] += len(local.points)
            elif instances is not None:
                boxes.extend(_instance_boxes(local, graph.world[node], instances, what))
                counts["drawn_vertices"] += len(local.points) * len(instances)
            else:
                boxes.append(_rigid_box(local, graph.world[node], what))
                counts["drawn_vertices"] += len(local.points)
        # A primitive's index error comes before anything the next one may find, as when
        # the check ran at once (bounding waits for it too; an undrawn one, or one with no
        # instances, would not).
        local.check.wait()
    return boxes


def world_bounds(doc: GltfDocument, scene: int | None = None) -> tuple[F64, F64, dict[str, int]]:
    """The box of SPEC.md section 2 for ``scene`` (default: the default scene).

    Returns
    -------
    lo, hi : (3,) float64
    counts : dict
        ``drawn_vertices`` (the POSITION count of every drawn primitive, once per
        node and per GPU instance; an indexed primitive counts all its vertices, also
        ones no index references) and ``drawn_nodes`` (mesh nodes drawn).

    Raises
    ------
    EmptyInputError
        No scene, or no drawable vertex.
    NonFiniteInputError
        A coordinate is NaN or infinite.
    UnreadableInputError
        Corrupt structure (see :class:`SceneGraph`, :func:`read_accessor`).
    """
    data = doc.json
    index = default_scene_index(data) if scene is None else scene
    graph = SceneGraph(data)
    counts = {"drawn_vertices": 0, "drawn_nodes": 0}
    boxes: list[Box] = []
    cache = _Cache()
    try:
        for node in graph.descendants(scene_roots(data, index)):
            if "mesh" in data["nodes"][node]:
                counts["drawn_nodes"] += 1
                boxes.extend(_node_boxes(doc, graph, node, counts, cache))
    finally:
        cache.close()
    if not boxes:
        raise EmptyInputError(f"/scenes/{index} draws no vertex, so there is no bounding box")
    lo, hi = merge_bounds(boxes)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        # Finite float32 positions under finite node transforms can still overflow float64.
        raise NonFiniteInputError(f"/scenes/{index}: the world box overflows (a coordinate is beyond 1e308)")
    return lo, hi, counts


def measure_document(doc: GltfDocument) -> Measurement:
    """Measure ``doc`` (SPEC.md section 2) and count what it holds.

    Returns
    -------
    Measurement
        ``counts`` has ``nodes``, ``meshes``, ``primitives``, ``vertices`` (sum of
        POSITION counts over every mesh primitive), ``skins``, ``animations``,
        ``scenes``, ``materials``, ``textures``, ``images``, ``drawn_nodes`` and
        ``drawn_vertices``.
    """
    lo, hi, drawn = world_bounds(doc)
    data = doc.json
    meshes = data.get("meshes", [])
    prims = [p for m in meshes for p in m.get("primitives", [])]
    accessors = data.get("accessors", [])
    vertices = 0
    for p in prims:
        a = p.get("attributes", {}).get("POSITION")
        if isinstance(a, int) and 0 <= a < len(accessors):
            vertices += int(accessors[a].get("count", 0))
    counts = {
        "nodes": len(data.get("nodes", [])),
        "meshes": len(meshes),
        "primitives": len(prims),
        "vertices": vertices,
        "skins": len(data.get("skins", [])),
        "animations": len(data.get("animations", [])),
        "scenes": len(data.get("scenes", [])),
        "materials": len(data.get("materials", [])),
        "textures": len(data.get("textures", [])),
        "images": len(data.get("images", [])),
        **drawn,
    }
    return Measurement(lo=lo, hi=hi, counts=counts, format=doc.format)
