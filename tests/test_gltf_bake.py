"""The ``bake`` representation on small hand-built documents: each case peers get wrong.

Every expectation is computed here, independently of the engine: accessors are read
from the GLB bytes with numpy (:class:`Glb`), node matrices are built with this
module's own quaternion code, and the expected maps are written out as explicit
matrices (``G = L^-1 S L``, cofactor ``= det(G) G^-T``). Each case also checks that
the bake is lossless (JSON outside the edited fields, buffer bytes outside the edited
accessors) and, where it applies, that ``wrap`` renders the same.

Documents are built by one ``make_*`` function per case, so that the last test can
run the Khronos validator on every input and output in one batch.
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from meshpivot.errors import NotBakeableError
from meshpivot.fit import Fit, compute_fit
from meshpivot.formats.base import WriteReport
from meshpivot.gltf import GltfAsset
from meshpivot.gltf.accessors import accessor_info, read_accessor
from meshpivot.gltf.bake import bake_fit
from meshpivot.gltf.document import GltfDocument, read_document
from meshpivot.gltf.measure import measure_document, world_bounds
from meshpivot.options import FitOptions

# --- the reference: GLB bytes, accessors, node matrices ---------------------------------

DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


@dataclass
class Glb:
    """A GLB file parsed here: its JSON and its BIN chunk."""

    json: dict[str, Any]
    bin: bytes

    @classmethod
    def read(cls, path: Path) -> Glb:
        raw = path.read_bytes()
        magic, version, length = struct.unpack_from("<4sII", raw, 0)
        assert magic == b"glTF" and version == 2 and length == len(raw)
        pos, data, blob = 12, None, b""
        while pos < len(raw):
            n, kind = struct.unpack_from("<II", raw, pos)
            chunk = raw[pos + 8 : pos + 8 + n]
            if kind == 0x4E4F534A:
                data = json.loads(chunk)
            elif kind == 0x004E4942:
                blob = chunk
            pos += 8 + n
        assert data is not None
        return cls(data, blob)

    def raw(self, k: int) -> np.ndarray:
        """Accessor ``k`` as stored, ``(count, ncomp)``, sparse substitution applied."""
        a = self.json["accessors"][k]
        dt = np.dtype(DTYPES[a["componentType"]])
        n, count = NCOMP[a["type"]], a["count"]
        out = np.zeros((count, n), dtype=dt)
        if "bufferView" in a:
            bv = self.json["bufferViews"][a["bufferView"]]
            start = bv.get("byteOffset", 0) + a.get("byteOffset", 0)
            stride = bv.get("byteStride", dt.itemsize * n)
            for i in range(count):
                out[i] = np.frombuffer(self.bin, dt, n, start + i * stride)
        sp = a.get("sparse")
        if sp:
            ip, vp = sp["indices"], sp["values"]
            ibv, vbv = self.json["bufferViews"][ip["bufferView"]], self.json["bufferViews"][vp["bufferView"]]
            idx = np.frombuffer(
                self.bin, DTYPES[ip["componentType"]], sp["count"], ibv.get("byteOffset", 0) + ip.get("byteOffset", 0)
            )
            vals = np.frombuffer(self.bin, dt, sp["count"] * n, vbv.get("byteOffset", 0) + vp.get("byteOffset", 0))
            out[idx.astype(int)] = vals.reshape(-1, n)
        return out

    def values(self, k: int) -> np.ndarray:
        """Accessor ``k`` decoded to float64 (normalized integers by the glTF formulas)."""
        a = self.json["accessors"][k]
        out = self.raw(k).astype(np.float64)
        if a.get("normalized"):
            top = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}[a["componentType"]]
            out = np.maximum(out / top, -1.0)
        return out

    def spans(self, k: int) -> list[tuple[int, int]]:
        """Byte ranges of accessor ``k``'s stored values (base and sparse values; not sparse indices)."""
        a = self.json["accessors"][k]
        views = self.json["bufferViews"]
        elem = np.dtype(DTYPES[a["componentType"]]).itemsize * NCOMP[a["type"]]
        out = []
        if "bufferView" in a:
            bv = views[a["bufferView"]]
            start = bv.get("byteOffset", 0) + a.get("byteOffset", 0)
            out.append((start, start + bv.get("byteStride", elem) * (a["count"] - 1) + elem))
        if "sparse" in a:
            vp = a["sparse"]["values"]
            start = views[vp["bufferView"]].get("byteOffset", 0) + vp.get("byteOffset", 0)
            out.append((start, start + elem * a["sparse"]["count"]))
        return out


def quat_matrix(q: list[float]) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def local_matrix(node: dict[str, Any]) -> np.ndarray:
    if "matrix" in node:
        return np.array(node["matrix"], dtype=float).reshape(4, 4).T
    m = np.eye(4)
    m[:3, :3] = quat_matrix(node.get("rotation", [0, 0, 0, 1])) @ np.diag(node.get("scale", [1, 1, 1]))
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def worlds(data: dict[str, Any]) -> dict[int, np.ndarray]:
    nodes = data["nodes"]
    out: dict[int, np.ndarray] = {}

    def visit(i: int, parent: np.ndarray) -> None:
        out[i] = parent @ local_matrix(nodes[i])
        for c in nodes[i].get("children", []):
            visit(c, out[i])

    children = {c for n in nodes for c in n.get("children", [])}
    for i in range(len(nodes)):
        if i not in children:
            visit(i, np.eye(4))
    return out


def apply(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    return p @ m[:3, :3].T + m[:3, 3]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def fitted(fit: Fit, p: np.ndarray) -> np.ndarray:
    """``S x + t`` in the root frame, written out."""
    return p * fit.scale + fit.translation


def rot(axis: str, degrees: float) -> list[float]:
    """A unit quaternion (x, y, z, w) turning ``degrees`` about ``axis``."""
    h = math.radians(degrees) / 2
    q = [0.0, 0.0, 0.0, math.cos(h)]
    q["xyz".index(axis)] = math.sin(h)
    return q


def rot_matrix(axis: str, degrees: float) -> np.ndarray:
    """The same turn as an explicit matrix (independent of :func:`quat_matrix`)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def mesh_points(g: Glb, node: int, weights: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Local and world positions of every vertex of ``node``'s mesh (morphs at ``weights``)."""
    data = g.json
    n = data["nodes"][node]
    mesh = data["meshes"][n["mesh"]]
    w = weights if weights is not None else n.get("weights", mesh.get("weights", []))
    local = []
    for prim in mesh["primitives"]:
        p = g.values(prim["attributes"]["POSITION"])
        for k, target in enumerate(prim.get("targets", [])):
            if k < len(w) and "POSITION" in target:
                p = p + w[k] * g.values(target["POSITION"])
        local.append(p)
    pts = np.concatenate(local)
    return pts, apply(worlds(data)[node], pts)


def skinned_points(g: Glb, node: int) -> np.ndarray:
    """World positions of a skinned mesh node: ``sum_k w_k (world_j IBM_j) p``."""
    data = g.json
    n = data["nodes"][node]
    skin = data["skins"][n["skin"]]
    world = worlds(data)
    ibm = g.values(skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    joint = [world[j] @ ibm[k] for k, j in enumerate(skin["joints"])]
    out = []
    for prim in data["meshes"][n["mesh"]]["primitives"]:
        a = prim["attributes"]
        p, js, ws = g.values(a["POSITION"]), g.raw(a["JOINTS_0"]), g.values(a["WEIGHTS_0"])
        for v in range(len(p)):
            out.append(sum(ws[v, c] * apply(joint[int(js[v, c])], p[v]) for c in range(4)))
    return np.array(out)


def json_diff(a: Any, b: Any, ptr: str = "") -> set[str]:
    """JSON pointers where ``a`` and ``b`` differ (types compared too: ``1`` is not ``1.0``).

    Lists of numbers count as one value; items or keys present on one side only are
    reported by their own pointer; a changed key order is reported as ``ptr#order``.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                out.add(f"{ptr}/{k}")
            else:
                out |= json_diff(a[k], b[k], f"{ptr}/{k}")
        if [k for k in a if k in b] != [k for k in b if k in a]:
            out.add(f"{ptr}#order")
        return out
    if isinstance(a, list) and isinstance(b, list) and not all(isinstance(v, (int, float)) for v in a + b):
        out = {f"{ptr}/{i}" for i in range(min(len(a), len(b)), max(len(a), len(b)))}
        for i in range(min(len(a), len(b))):
            out |= json_diff(a[i], b[i], f"{ptr}/{i}")
        return out
    same = json.dumps(a) == json.dumps(b)  # exact, and type-aware (1 vs 1.0)
    return set() if same else {ptr}


def assert_bytes_kept(src: Glb, out: Glb, edited: list[int]) -> None:
    """BIN bytes of ``out`` equal ``src``'s outside the edited accessors (``src`` indices)."""
    assert len(out.bin) >= len(src.bin)
    keep = np.ones(len(src.bin), dtype=bool)
    for k in edited:
        for lo, hi in src.spans(k):
            keep[lo:hi] = False
    a = np.frombuffer(src.bin, np.uint8)
    b = np.frombuffer(out.bin[: len(src.bin)], np.uint8)
    changed = np.flatnonzero((a != b) & keep)
    assert changed.size == 0, f"bytes changed outside the edited accessors, first at {changed[:5]}"


def assert_min_max(g: Glb) -> None:
    """Every accessor's ``min``/``max`` equals its stored values' (ints stay ints)."""
    for k, a in enumerate(g.json["accessors"]):
        if "min" not in a and "max" not in a:
            continue
        raw = g.raw(k)
        is_int = raw.dtype.kind in "iu"
        for key, fn in (("min", np.min), ("max", np.max)):
            want = fn(raw, axis=0)
            assert a[key] == [int(v) if is_int else float(v) for v in want], (k, key)
            assert all(isinstance(v, int) for v in a[key]) == is_int, (k, key, a[key])


def bake_diff(src: Glb, out: Glb) -> set[str]:
    return json_diff(src.json, out.json)


def appended(src: Glb, out: Glb, *keys: str) -> set[str]:
    """Pointers of the items appended to top-level arrays ``keys``."""
    return {f"/{k}/{i}" for k in keys for i in range(len(src.json.get(k, [])), len(out.json.get(k, [])))}


def minmax(*accs: int) -> set[str]:
    return {f"/accessors/{k}/{m}" for k in accs for m in ("min", "max")}


# --- building documents ----------------------------------------------------------------------

CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype="<f4")
QUADS = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
CUBE_IDX = np.array([[q[0], q[1], q[2], q[0], q[2], q[3]] for q in QUADS], dtype="<u2").ravel()
TETRA_IDX = np.array([0, 1, 2, 0, 3, 1, 0, 2, 3, 1, 3, 2], dtype="<u2")

View = np.ndarray | tuple[np.ndarray, dict[str, Any]]


def build(data: dict[str, Any], views: list[View]) -> GltfDocument:
    """A GLB document whose bufferView k holds views[k] (an array, or (array, extra view keys))."""
    blob = b""
    out = []
    for v in views:
        arr, extra = v if isinstance(v, tuple) else (v, {})
        raw = np.ascontiguousarray(arr).tobytes()
        out.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(raw), **extra})
        blob += raw + b"\0" * (-len(raw) % 4)
    full = {"asset": {"version": "2.0", "generator": "meshpivot tests"}, **data}
    full["buffers"] = [{"byteLength": len(blob)}]
    full["bufferViews"] = out
    return GltfDocument(json.loads(json.dumps(full)), format="glb", glb_bin=np.frombuffer(blob, np.uint8))


def acc(view: int | None, count: int, typ: str = "VEC3", ctype: int = 5126, **kw: Any) -> dict[str, Any]:
    a: dict[str, Any] = {} if view is None else {"bufferView": view}
    return {**a, "componentType": ctype, "count": count, "type": typ, **kw}


def pos(view: int | None, arr: np.ndarray, **kw: Any) -> dict[str, Any]:
    """A POSITION accessor for ``arr`` (its rows) with min/max of the stored values."""
    conv = int if arr.dtype.kind in "iu" else float
    lo = [conv(v) for v in arr[:, :3].min(axis=0)]
    hi = [conv(v) for v in arr[:, :3].max(axis=0)]
    ctype = {"f": 5126, "i": {1: 5120, 2: 5122}, "u": {1: 5121, 2: 5123}}[arr.dtype.kind]
    if isinstance(ctype, dict):
        ctype = ctype[arr.dtype.itemsize]
    return acc(view, len(arr), "VEC3", ctype, min=lo, max=hi, **kw)


def pad4(arr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Rows of 3 small integers padded to 4-byte aligned element slots (a strided view)."""
    wide = np.zeros((len(arr), 4), dtype=arr.dtype)
    wide[:, :3] = arr
    return wide, {"byteStride": 4 * arr.dtype.itemsize, "target": 34962}


def prim(attrs: dict[str, int], indices: int | None = None, **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {"attributes": attrs}
    if indices is not None:
        p["indices"] = indices
    return {**p, **kw}


def per_axis_fit(lo: Any, hi: Any, scale: Any, translation: Any) -> Fit:
    return Fit(
        scale=np.array(scale, dtype=float),
        translation=np.array(translation, dtype=float),
        source_lo=np.array(lo, dtype=float),
        source_hi=np.array(hi, dtype=float),
    )


STRETCH = FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=[0, -0.5, 0])
UNIFORM = FitOptions(scaled_bbox=[3, 3, 3], pivot_point=[0.5, 0.5, -0.5], preserve_aspect_ratio=True)


@dataclass
class Made:
    """One case: the input file, the fit, and the outputs written per mode."""

    src: Path
    fit: Fit
    outs: dict[str, Path] = field(default_factory=dict)
    reports: dict[str, WriteReport] = field(default_factory=dict)
    errors: dict[str, NotBakeableError] = field(default_factory=dict)

    def glb(self, mode: str = "bake") -> Glb:
        return Glb.read(self.outs[mode])

    @property
    def input(self) -> Glb:
        return Glb.read(self.src)


def run(
    doc: GltfDocument,
    folder: Path,
    name: str,
    fit: Fit | FitOptions,
    modes: tuple[str, ...] = ("bake", "wrap"),
) -> Made:
    """Write ``doc`` as ``folder/name.glb``, fit it and write one output per mode."""
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{name}.glb"
    doc.write(src)
    asset = GltfAsset(src)
    if isinstance(fit, FitOptions):
        m = asset.measure()
        fit = compute_fit(m.lo, m.hi, fit)
    made = Made(src, fit)
    for mode in modes:
        out = folder / f"{name}.{mode}.glb"
        try:
            made.reports[mode] = asset.write_fitted(fit, out, FitOptions(mode=mode))  # type: ignore[arg-type]
        except NotBakeableError as exc:
            made.errors[mode] = exc
        else:
            made.outs[mode] = out
    return made


def assert_renders_as_wrap(made: Made, nodes: list[int]) -> None:
    """Each mesh node's world vertices: bake == wrap == S x + t of the input's."""
    src, bake, wrap = made.input, made.glb("bake"), made.glb("wrap")
    for node in nodes:
        want = fitted(made.fit, mesh_points(src, node)[1])
        np.testing.assert_allclose(mesh_points(bake, node)[1], want, rtol=0, atol=1e-5, err_msg=f"bake {node}")
        np.testing.assert_allclose(mesh_points(wrap, node)[1], want, rtol=0, atol=1e-5, err_msg=f"wrap {node}")


# --- 1. tangents under a turned node ---------------------------------------------------------

NORMALS = unit(CUBE.astype(np.float64)).astype("<f4")
TANGENTS = np.array(
    [[1, 1, 0, 1], [1, 1, 0, -1], [1, 1, 0, 1], [1, 1, 0, -1], [1, 0, 0, 1], [1, 0, 0, -1], [0, 0, 1, 1], [0, 1, 1, 1]],
    dtype=np.float64,
)
TANGENTS[:, :3] = unit(TANGENTS[:, :3])
TANGENTS = TANGENTS.astype("<f4")


def tangent_doc(node: dict[str, Any]) -> GltfDocument:
    box = CUBE * np.array([1, 2, 3], dtype="<f4")
    return build(
        {
            "scene": 0,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"name": "turned", "mesh": 0, **node}],
            "meshes": [{"primitives": [prim({"POSITION": 0, "NORMAL": 1, "TANGENT": 2}, 3)]}],
            "accessors": [pos(0, box), acc(1, 8), acc(2, 8, "VEC4"), acc(3, 36, "SCALAR", 5123)],
        },
        [box, NORMALS, TANGENTS, CUBE_IDX],
    )


TURN_Z = {"rotation": rot("z", 90), "translation": [1.0, 2.0, 3.0]}


def make_tangent_rotation(tmp: Path) -> Made:
    return run(tangent_doc(TURN_Z), tmp, "tangent_turn", per_axis_fit([-2, -1, -3], [2, 1, 3], [2, 1, 1], [0.5, -1, 0]))


def make_tangent_uniform(tmp: Path) -> Made:
    return run(tangent_doc(TURN_Z), tmp, "tangent_uniform", per_axis_fit([-2, -1, -3], [2, 1, 3], [2, 2, 2], [0, 1, 0]))


def check_vectors(made: Made, lin_in: np.ndarray) -> None:
    """Stored normals/tangents equal the hand-derived maps, and render like wrap's."""
    src, out = made.input, made.glb()
    S = np.diag(made.fit.scale)
    G = np.linalg.inv(lin_in) @ S @ lin_in
    cof = np.linalg.det(G) * np.linalg.inv(G).T
    assert np.linalg.det(G) > 0
    n_in, t_in = src.values(1), src.values(2)
    n_out, t_out = out.values(1), out.values(2)
    np.testing.assert_allclose(out.values(0), src.values(0) @ G.T, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(n_out, unit(n_in @ cof.T), rtol=0, atol=2e-7)
    np.testing.assert_allclose(t_out[:, :3], unit(t_in[:, :3] @ G.T), rtol=0, atol=2e-7)
    assert np.array_equal(t_out[:, 3], t_in[:, 3])  # det G = det S > 0: w unchanged
    # World-space frames agree with the wrap output: direction and handedness.
    wrap = made.glb("wrap")
    wb, ww = worlds(out.json)[0][:3, :3], worlds(wrap.json)
    wrap_lin = ww[len(wrap.json["nodes"]) - 1][:3, :3] @ local_matrix(wrap.json["nodes"][0])[:3, :3]
    np.testing.assert_allclose(unit(t_out[:, :3] @ wb.T), unit(t_in[:, :3] @ wrap_lin.T), atol=1e-6)
    np.testing.assert_allclose(unit(n_out @ np.linalg.inv(wb)), unit(n_in @ np.linalg.inv(wrap_lin)), atol=1e-6)
    assert np.sign(np.linalg.det(wb)) == np.sign(np.linalg.det(wrap_lin))
    assert_renders_as_wrap(made, [0])
    assert bake_diff(src, out) == {"/nodes/0/translation"} | minmax(0)
    assert_bytes_kept(src, out, [0, 1, 2])
    assert_min_max(out)


def test_tangent_of_a_turned_node_under_a_per_axis_fit(tmp_path: Path) -> None:
    made = make_tangent_rotation(tmp_path)
    R = rot_matrix("z", 90)
    G = R.T @ np.diag([2.0, 1, 1]) @ R
    np.testing.assert_allclose(G, np.diag([1.0, 2, 1]), atol=1e-15)  # by hand: x stays, y doubles
    out = made.glb()
    t = out.values(2)
    np.testing.assert_allclose(t[0], [1 / math.sqrt(5), 2 / math.sqrt(5), 0, 1], atol=1e-7)
    np.testing.assert_allclose(t[1], [1 / math.sqrt(5), 2 / math.sqrt(5), 0, -1], atol=1e-7)
    np.testing.assert_allclose(t[4], [1, 0, 0, 1], atol=1e-7)  # along x: unchanged (G e_x = e_x)
    # the naive S t (ignoring the node's turn) would give (2, 1, 0)/sqrt(5)
    # The root translation is mapped by S, then + t.
    np.testing.assert_allclose(out.json["nodes"][0]["translation"], [2 * 1 + 0.5, 2 - 1, 3], atol=1e-12)
    check_vectors(made, R)


def test_tangent_unchanged_under_a_uniform_fit(tmp_path: Path) -> None:
    made = make_tangent_uniform(tmp_path)
    src, out = made.input, made.glb()
    assert np.array_equal(out.raw(2), src.raw(2))  # (1,0,0,1) and all others: same bits
    assert np.array_equal(out.raw(1), src.raw(1))
    np.testing.assert_array_equal(out.values(0), src.values(0) * 2)
    assert bake_diff(src, out) == {"/nodes/0/translation"} | minmax(0)
    assert_bytes_kept(src, out, [0])
    assert_renders_as_wrap(made, [0])
    assert_min_max(out)


# --- 2. tangent w under a mirrored node ------------------------------------------------------

MIRROR = {"rotation": rot("z", 30), "scale": [-1.0, 1.0, 1.0], "translation": [0.5, 1.0, 0.0]}


def make_tangent_mirror(tmp: Path) -> Made:
    return run(tangent_doc(MIRROR), tmp, "tangent_mirror", STRETCH)


def test_tangent_w_of_a_mirrored_node(tmp_path: Path) -> None:
    made = make_tangent_mirror(tmp_path)
    assert not made.fit.is_uniform
    lin = rot_matrix("z", 30) @ np.diag([-1.0, 1, 1])
    assert np.linalg.det(lin) < 0
    G = np.linalg.inv(lin) @ np.diag(made.fit.scale) @ lin
    assert abs(G[0, 1]) > 0.05  # not axis-aligned: a real test of the map
    out = made.glb()
    assert out.values(2)[:, 3].tolist() == [1, -1, 1, -1, 1, -1, 1, 1]
    check_vectors(made, lin)


# --- 3. morph deltas are scaled, never translated --------------------------------------------

DELTAS = np.array([[0, 0.5, 0], [0.25, 0, -0.1]] * 4, dtype="<f4")


def make_morph(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "translation": [100.0, -50.0, 20.0]}],
            "meshes": [
                {
                    "primitives": [prim({"POSITION": 0}, 2, targets=[{"POSITION": 1}])],
                    "weights": [1.0],
                    "extras": {"targetNames": ["lift"], "empty": {}},
                }
            ],
            "accessors": [pos(0, CUBE), pos(1, DELTAS), acc(2, 36, "SCALAR", 5123)],
        },
        [CUBE, DELTAS, CUBE_IDX],
    )
    return run(doc, tmp, "morph", STRETCH)


def test_morph_deltas_are_only_scaled(tmp_path: Path) -> None:
    made = make_morph(tmp_path)
    fit = made.fit
    assert np.all(np.abs(fit.translation) > 1)  # far from the origin: a translated delta would show
    src, out = made.input, made.glb()
    np.testing.assert_array_equal(out.values(1), (DELTAS.astype(np.float64) * fit.scale).astype("<f4"))
    # A static root node with a translation only: its translation and t move into the
    # vertices (so the bottom pivot lands on exactly zero); the deltas still only scale.
    offset = np.array([100.0, -50.0, 20.0])
    np.testing.assert_array_equal(out.values(0), fitted(fit, CUBE + offset).astype("<f4"))
    assert out.json["nodes"][0]["translation"] == [0.0, 0.0, 0.0]
    assert out.values(0)[:, 1].min() == 0.0
    for w in (0.0, 0.5, 1.0):
        want = fitted(fit, mesh_points(src, 0, [w])[1])
        np.testing.assert_allclose(mesh_points(out, 0, [w])[1], want, rtol=0, atol=1e-4)
        np.testing.assert_allclose(mesh_points(made.glb("wrap"), 0, [w])[1], want, rtol=0, atol=1e-4)
    lo, hi = fit.target_bounds()
    m = measure_document(read_document(made.outs["bake"]))
    np.testing.assert_allclose(m.lo, lo, atol=1e-5)
    np.testing.assert_allclose(m.hi, hi, atol=1e-5)
    assert bake_diff(src, out) == {"/nodes/0/translation"} | minmax(0, 1)
    assert_bytes_kept(src, out, [0, 1])
    assert_min_max(out)


# --- 4. normalized int8 / int16 data ---------------------------------------------------------

QPOS = np.rint(CUBE * np.array([32767, 16000, -8000])).astype("<i2")
QUANT = {"extensionsUsed": ["KHR_mesh_quantization"], "extensionsRequired": ["KHR_mesh_quantization"]}


def quantized_doc(node: dict[str, Any], extra_nodes: list[dict[str, Any]]) -> GltfDocument:
    nodes = [{"mesh": 0, **node}, *extra_nodes]
    roots = [0] + [i for i in range(1, len(nodes)) if i not in node.get("children", [])]
    return build(
        {
            **QUANT,
            "scenes": [{"nodes": roots}],
            "nodes": nodes,
            "meshes": [
                {"primitives": [prim({"POSITION": 0, "NORMAL": 1}, 2)]},
                {"primitives": [prim({"POSITION": 3}, 2)]},
            ],
            "accessors": [
                pos(0, QPOS, normalized=True),
                acc(1, 8, "VEC3", 5120, normalized=True),
                acc(2, 36, "SCALAR", 5123),
                pos(3, CUBE),
            ],
        },
        [pad4(QPOS), pad4(np.rint(NORMALS * 127).astype("<i1")), CUBE_IDX, CUBE],
    )


def make_quantized_positions(tmp: Path) -> Made:
    quantized = {"translation": [1.0, 2.0, 3.0], "rotation": rot("y", 20), "scale": [0.5, 0.5, 0.5]}
    doc = quantized_doc(quantized, [{"mesh": 1, "translation": [5.0, 0.0, 0.0]}])
    return run(doc, tmp, "quantized", UNIFORM)


def test_int16_positions_fold_into_the_node_scale(tmp_path: Path) -> None:
    made = make_quantized_positions(tmp_path)
    fit = made.fit
    assert fit.is_uniform and fit.scale[0] != 1
    src, out = made.input, made.glb()
    assert made.reports["bake"].mode == "bake"
    s = float(fit.scale[0])
    node = out.json["nodes"][0]
    np.testing.assert_allclose(node["scale"], [0.5 * s] * 3, rtol=1e-15)
    np.testing.assert_allclose(node["translation"], np.array([1.0, 2, 3]) * s + fit.translation, rtol=1e-15)
    assert node["rotation"] == src.json["nodes"][0]["rotation"]
    assert np.array_equal(out.raw(0), src.raw(0)) and np.array_equal(out.raw(1), src.raw(1))
    assert_bytes_kept(src, out, [3])  # positions and normals: not a byte changed (3 is the float mesh)
    assert out.json["accessors"][0]["min"] == src.json["accessors"][0]["min"]
    assert all(isinstance(v, int) for v in out.json["accessors"][0]["min"] + out.json["accessors"][0]["max"])
    lo, hi = fit.target_bounds()
    m = measure_document(read_document(made.outs["bake"]))
    np.testing.assert_allclose(m.lo, lo, atol=1e-6)
    np.testing.assert_allclose(m.hi, hi, atol=1e-6)
    assert_renders_as_wrap(made, [0, 1])
    assert bake_diff(src, out) == {"/nodes/0/translation", "/nodes/0/scale", "/nodes/1/translation"} | minmax(3)
    assert_min_max(out)


def make_int8_normals(tmp: Path) -> Made:
    doc = build(
        {
            **QUANT,
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "rotation": rot("y", 30)}],
            "meshes": [{"primitives": [prim({"POSITION": 0, "NORMAL": 1}, 2)]}],
            "accessors": [pos(0, CUBE), acc(1, 8, "VEC3", 5120, normalized=True), acc(2, 36, "SCALAR", 5123)],
        },
        [CUBE, pad4(np.rint(NORMALS * 127).astype("<i1")), CUBE_IDX],
    )
    return run(doc, tmp, "int8_normals", STRETCH)


def test_int8_normals_are_reencoded(tmp_path: Path) -> None:
    made = make_int8_normals(tmp_path)
    src, out = made.input, made.glb()
    R = rot_matrix("y", 30)
    G = R.T @ np.diag(made.fit.scale) @ R
    cof = np.linalg.det(G) * np.linalg.inv(G).T
    n_in = src.values(1)
    want = unit(n_in @ cof.T)
    assert out.json["accessors"][1]["componentType"] == 5120 and out.json["accessors"][1]["normalized"]
    got = out.values(1)
    assert np.abs(got - want).max() <= 1 / 127
    assert not np.array_equal(out.raw(1), src.raw(1))
    np.testing.assert_allclose(out.values(0), CUBE @ G.T, atol=1e-6)
    assert_renders_as_wrap(made, [0])
    assert bake_diff(src, out) == {"/nodes/0/translation"} | minmax(0)
    assert_bytes_kept(src, out, [0, 1])
    assert_min_max(out)


def make_quantized_parent(tmp: Path) -> Made:
    doc = quantized_doc({"children": [1]}, [{"mesh": 1, "translation": [3.0, 0.0, 0.0]}])
    return run(doc, tmp, "quantized_parent", UNIFORM, modes=("bake", "auto"))


def test_quantized_mesh_with_children_is_not_baked(tmp_path: Path) -> None:
    made = make_quantized_parent(tmp_path)
    err = made.errors["bake"]
    assert "/nodes/0" in str(err) and "children" in str(err)
    report = made.reports["auto"]
    assert report.mode == "wrap" and "/nodes/0" in report.reason
    src, out = made.input, made.glb("auto")
    for node in (0, 1):
        want = fitted(made.fit, mesh_points(src, node)[1])
        np.testing.assert_allclose(mesh_points(out, node)[1], want, atol=1e-6)
    assert out.bin[: len(src.bin)] == src.bin


def test_dequantize_only_when_asked(tmp_path: Path, validator: Any) -> None:
    # The case above, which bake refuses, is baked when asked to dequantize: the same
    # accessor then holds float32 positions, exactly mapped; the normals keep int8.
    doc = quantized_doc({"children": [1]}, [{"mesh": 1, "translation": [3.0, 0.0, 0.0]}])
    src_path = tmp_path / "q.glb"
    doc.write(src_path)
    asset = GltfAsset(src_path)
    m = asset.measure()
    options = FitOptions([1, 2, 0.5], [0, -0.5, 0], mode="bake", dequantize=True)
    fit = compute_fit(m.lo, m.hi, options)
    report = asset.write_fitted(fit, tmp_path / "out.glb", options)
    assert report.mode == "bake" and "dequantized to float32 as asked" in report.reason
    src, out = Glb.read(src_path), Glb.read(tmp_path / "out.glb")
    a = out.json["accessors"][0]
    assert a["componentType"] == 5126 and "normalized" not in a
    assert out.json["accessors"][1]["componentType"] == 5120  # normals are not positions: kept
    for node in (0, 1):
        want = fitted(fit, mesh_points(src, node)[1])
        np.testing.assert_allclose(mesh_points(out, node)[1], want, rtol=0, atol=1e-6)
    assert out.json["nodes"][0].get("scale") == src.json["nodes"][0].get("scale")  # nothing folded
    assert_min_max(out)
    reports = validator.validate([src_path, tmp_path / "out.glb"])
    assert not validator.new_issue_codes(reports[src_path], reports[tmp_path / "out.glb"])
    # Not asked: the same request leaves the quantized bytes alone (here: refused).
    with pytest.raises(NotBakeableError, match="children"):
        asset.write_fitted(fit, tmp_path / "no.glb", options.updated(dequantize=False))


# --- 5. sparse positions ---------------------------------------------------------------------

SPARSE_IDX = np.array([1, 6], dtype="<u2")
SPARSE_VALS = np.array([[-3, 0.5, 2], [1, 4, -1]], dtype="<f4")
TETRA_IDX_SPARSE = np.array([1, 2, 3], dtype="<u1")
TETRA_VALS = np.array([[1, 0, 0], [0, 2, 0], [0, 0, 3]], dtype="<f4")


def make_sparse(tmp: Path) -> Made:
    with_base = CUBE.copy()
    with_base[SPARSE_IDX] = SPARSE_VALS
    tetra = np.vstack([np.zeros((1, 3), "<f4"), TETRA_VALS])
    no_base = {
        **pos(None, tetra),
        "sparse": {
            "count": 3,
            "indices": {"bufferView": 7, "componentType": 5121},
            "values": {"bufferView": 8},
        },
    }
    doc = build(
        {
            "scenes": [{"nodes": [0, 1, 2]}],
            "nodes": [
                {"mesh": 0},
                {"mesh": 1, "rotation": rot("y", 90), "translation": [4.0, 0.0, 0.0]},
                {"mesh": 2, "translation": [0.0, 0.0, -4.0]},
            ],
            "meshes": [
                {"primitives": [prim({"POSITION": 0}, 1)]},
                {"primitives": [prim({"POSITION": 2}, 3)]},
                {"primitives": [prim({"POSITION": 4}, 3)]},
            ],
            "accessors": [
                {
                    **pos(0, with_base),
                    "sparse": {
                        "count": 2,
                        "indices": {"bufferView": 3, "componentType": 5123},
                        "values": {"bufferView": 4},
                    },
                },
                acc(1, 36, "SCALAR", 5123),
                {
                    **pos(None, tetra),
                    "sparse": {
                        "count": 3,
                        "indices": {"bufferView": 5, "componentType": 5121},
                        "values": {"bufferView": 6, "byteOffset": 0},
                    },
                },
                acc(2, 12, "SCALAR", 5123),
                no_base,
            ],
        },
        [CUBE, CUBE_IDX, TETRA_IDX, SPARSE_IDX, SPARSE_VALS, *[TETRA_IDX_SPARSE, TETRA_VALS] * 2],
    )
    return run(doc, tmp, "sparse", STRETCH)


def test_sparse_positions_stay_sparse(tmp_path: Path) -> None:
    made = make_sparse(tmp_path)
    src, out = made.input, made.glb()
    fit = made.fit
    S = np.diag(fit.scale)
    R = rot_matrix("y", 90)
    for k in (0, 2, 4):
        a_in, a_out = src.json["accessors"][k], out.json["accessors"][k]
        assert a_out["sparse"] == a_in["sparse"]
        assert a_out.get("bufferView") == a_in.get("bufferView")
    assert "bufferView" not in out.json["accessors"][2] and "bufferView" not in out.json["accessors"][4]
    # Node 0 (a static root without translation) takes t into its vertices: S x + t.
    np.testing.assert_allclose(out.values(0), fitted(fit, src.values(0)), rtol=1e-6, atol=1e-6)
    assert out.raw(0)[1].tolist() != src.raw(0)[1].tolist()  # the sparse values were rewritten
    # Nodes 1 and 2 keep their origins (node 2: its implicit zero rows cannot take a
    # translation, only the sparse values are stored): G x, zeros stay zeros.
    np.testing.assert_allclose(out.values(2), src.values(2) @ (R.T @ S @ R).T, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out.values(4), src.values(4) @ S, rtol=1e-6, atol=1e-6)
    assert out.values(4)[0].tolist() == [0, 0, 0]
    assert_renders_as_wrap(made, [0, 1, 2])
    # node 0 had no translation and gets none; the tetrahedra's min stays 0 (the implicit zero row)
    diff = {"/nodes/1/translation", "/nodes/2/translation", "/accessors/2/max", "/accessors/4/max"} | minmax(0)
    assert bake_diff(src, out) == diff
    assert_bytes_kept(src, out, [0, 2, 4])
    assert_min_max(out)


# --- 6. one accessor shared by two meshes ----------------------------------------------------


def make_shared_accessor(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [2, 3]}],
            "nodes": [
                {"mesh": 0, "translation": [-2.0, 0.0, 0.0]},
                {"mesh": 1, "translation": [0.0, 1.0, 0.0]},
                {"name": "holder", "translation": [2.0, 0.0, 0.0], "children": [1]},
                {"name": "holder 2", "translation": [0.0, 0.0, 1.0], "children": [0]},
            ],
            "materials": [{"name": "a"}, {"name": "b"}],
            "meshes": [
                {"primitives": [prim({"POSITION": 0}, 1, material=0)]},
                {"primitives": [prim({"POSITION": 0}, 1, material=1)]},
            ],
            "accessors": [pos(0, CUBE), acc(1, 36, "SCALAR", 5123)],
        },
        [CUBE, CUBE_IDX],
    )
    return run(doc, tmp, "shared_accessor", STRETCH)


def test_shared_accessor_is_transformed_once(tmp_path: Path) -> None:
    made = make_shared_accessor(tmp_path)
    src, out = made.input, made.glb()
    want = (CUBE.astype(np.float64) * made.fit.scale).astype("<f4")
    np.testing.assert_array_equal(out.values(0), want)  # S x, not S S x
    assert len(out.json["accessors"]) == len(src.json["accessors"])
    assert len(out.json["meshes"]) == len(src.json["meshes"])
    assert_renders_as_wrap(made, [0, 1])
    assert bake_diff(src, out) == {f"/nodes/{i}/translation" for i in range(4)} | minmax(0)
    assert_bytes_kept(src, out, [0])
    assert_min_max(out)
    doc = read_document(made.src)
    report = bake_fit(doc, made.fit)
    assert report.copied_accessors == 0 and report.copied_meshes == 0


# --- 7. one mesh used by two differently turned nodes ----------------------------------------


def make_shared_mesh(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [0, 1]}],
            "nodes": [
                {"name": "plain", "mesh": 0},
                {"name": "turned", "mesh": 0, "rotation": rot("y", 90), "translation": [3.0, 0.0, 0.0]},
            ],
            "meshes": [{"name": "box", "primitives": [prim({"POSITION": 0, "NORMAL": 1}, 2)]}],
            "accessors": [pos(0, CUBE * np.array([1, 2, 0.5], "<f4")), acc(1, 8), acc(2, 36, "SCALAR", 5123)],
        },
        [CUBE * np.array([1, 2, 0.5], "<f4"), NORMALS, CUBE_IDX],
    )
    return run(doc, tmp, "shared_mesh", STRETCH)


def test_mesh_used_by_two_maps_is_copied(tmp_path: Path) -> None:
    made = make_shared_mesh(tmp_path)
    src, out = made.input, made.glb()
    assert len(out.json["meshes"]) == 2
    assert out.json["nodes"][0]["mesh"] == 0 and out.json["nodes"][1]["mesh"] == 1
    assert out.json["meshes"][1]["name"] == "box"
    assert_renders_as_wrap(made, [0, 1])
    S = np.diag(made.fit.scale)
    R = rot_matrix("y", 90)
    G1 = R.T @ S @ R
    p1 = out.json["meshes"][1]["primitives"][0]["attributes"]["POSITION"]
    np.testing.assert_allclose(out.values(p1), src.values(0) @ G1.T, atol=1e-6)
    np.testing.assert_allclose(out.values(0), fitted(made.fit, src.values(0)), atol=1e-6)  # t moved in
    # Normals follow each copy: world normals equal the wrap output's.
    n1 = out.json["meshes"][1]["primitives"][0]["attributes"]["NORMAL"]
    cof = np.linalg.det(G1) * np.linalg.inv(G1).T
    np.testing.assert_allclose(out.values(n1), unit(src.values(1) @ cof.T), atol=2e-7)
    diff = {"/nodes/1/translation", "/nodes/1/mesh", "/buffers/0/byteLength"}
    diff |= minmax(0) | appended(src, out, "meshes", "accessors", "bufferViews")
    assert bake_diff(src, out) == diff
    assert_bytes_kept(src, out, [0, 1])
    assert_min_max(out)


# --- 8. a skinned mesh node with its own (ignored) translation -------------------------------


def skin_doc() -> GltfDocument:
    box = (CUBE + np.array([0, 1, 0], "<f4")) * np.array([0.5, 1, 0.5], "<f4")  # y in [0, 2]
    joints = np.zeros((8, 4), "<u1")
    weights = np.zeros((8, 4), "<f4")
    top = box[:, 1] > 1
    joints[top, 1] = 1
    weights[:, 0] = np.where(top, 0.25, 1.0)
    weights[:, 1] = 1 - weights[:, 0]
    nodes = [
        {"name": "hip", "translation": [0.0, 0.5, 0.0], "rotation": rot("x", 10), "children": [1]},
        {"name": "knee", "translation": [0.0, 1.0, 0.0], "rotation": rot("z", 30)},
        {"name": "skinned", "mesh": 0, "skin": 0, "translation": [5.0, 5.0, 5.0]},
    ]
    bind = worlds({"nodes": nodes})
    ibm = np.stack([np.linalg.inv(bind[j]).T.ravel() for j in (0, 1)]).astype("<f4")
    return build(
        {
            "scenes": [{"nodes": [0, 2]}],
            "nodes": nodes,
            "skins": [{"joints": [0, 1], "inverseBindMatrices": 3, "skeleton": 0}],
            "meshes": [{"primitives": [prim({"POSITION": 0, "JOINTS_0": 1, "WEIGHTS_0": 2}, 4)]}],
            "accessors": [
                pos(0, box),
                acc(1, 8, "VEC4", 5121),
                acc(2, 8, "VEC4"),
                acc(3, 2, "MAT4"),
                acc(4, 36, "SCALAR", 5123),
            ],
        },
        [box, joints, weights, ibm, CUBE_IDX],
    )


def make_skin_uniform(tmp: Path) -> Made:
    return run(skin_doc(), tmp, "skin_uniform", UNIFORM)


def make_skin_per_axis(tmp: Path) -> Made:
    return run(skin_doc(), tmp, "skin_per_axis", STRETCH)


@pytest.mark.parametrize("maker", [make_skin_uniform, make_skin_per_axis], ids=["uniform", "per-axis"])
def test_skinned_mesh_node_keeps_its_ignored_transform(tmp_path: Path, maker: Callable[[Path], Made]) -> None:
    made = maker(tmp_path)
    src, out = made.input, made.glb()
    assert out.json["nodes"][2] == src.json["nodes"][2]
    want = fitted(made.fit, skinned_points(src, 2))
    np.testing.assert_allclose(skinned_points(out, 2), want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(skinned_points(made.glb("wrap"), 2), want, rtol=0, atol=1e-5)
    lo, hi = made.fit.target_bounds()
    m = measure_document(read_document(made.outs["bake"]))
    np.testing.assert_allclose(m.lo, lo, atol=1e-5)
    np.testing.assert_allclose(m.hi, hi, atol=1e-5)
    diff = {"/nodes/0/translation", "/nodes/1/translation"}
    if made.fit.is_uniform:
        diff |= minmax(0)
        np.testing.assert_array_equal(out.values(0), (src.values(0) * made.fit.scale[0]).astype("<f4"))
    else:
        assert np.array_equal(out.raw(0), src.raw(0))  # per-axis: the map went into the IBMs
    assert bake_diff(src, out) == diff
    assert_bytes_kept(src, out, [0, 3])
    assert_min_max(out)


# --- 9. EXT_mesh_gpu_instancing --------------------------------------------------------------

INST_T = np.array([[0, 0, 0], [4, 0, 0], [0, 3, -2]], dtype="<f4")
INST_R = np.array([[0, 0, 0, 1], rot("y", 90), rot("x", 45)], dtype="<f4")
INST_S = np.array([[1, 1, 1], [0.5, 2, 1], [1, 1, 3]], dtype="<f4")


def instancing_doc() -> GltfDocument:
    return build(
        {
            "extensionsUsed": ["EXT_mesh_gpu_instancing"],
            "scenes": [{"nodes": [0]}],
            "nodes": [
                {
                    "mesh": 0,
                    "translation": [1.0, 0.0, 0.0],
                    "extensions": {
                        "EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 2, "ROTATION": 3, "SCALE": 4}}
                    },
                }
            ],
            "meshes": [{"primitives": [prim({"POSITION": 0}, 1)]}],
            "accessors": [pos(0, CUBE), acc(1, 36, "SCALAR", 5123), acc(2, 3), acc(3, 3, "VEC4"), acc(4, 3)],
        },
        [CUBE, CUBE_IDX, INST_T, INST_R, INST_S],
    )


def instance_points(g: Glb) -> np.ndarray:
    world = worlds(g.json)[0]
    attrs = g.json["nodes"][0]["extensions"]["EXT_mesh_gpu_instancing"]["attributes"]
    t, r, s = g.values(attrs["TRANSLATION"]), g.values(attrs["ROTATION"]), g.values(attrs["SCALE"])
    out = []
    for k in range(len(t)):
        m = np.eye(4)
        m[:3, :3] = quat_matrix(list(r[k])) @ np.diag(s[k])
        m[:3, 3] = t[k]
        out.append(apply(world @ m, mesh_points(g, 0)[0]))
    return np.concatenate(out)


def make_instancing(tmp: Path) -> Made:
    return run(instancing_doc(), tmp, "instancing", UNIFORM)


def make_instancing_per_axis(tmp: Path) -> Made:
    return run(instancing_doc(), tmp, "instancing_per_axis", STRETCH, modes=("bake", "auto"))


def test_instancing_under_a_uniform_fit(tmp_path: Path) -> None:
    made = make_instancing(tmp_path)
    src, out = made.input, made.glb()
    s = float(made.fit.scale[0])
    np.testing.assert_array_equal(out.values(2), (INST_T.astype(np.float64) * s).astype("<f4"))
    assert np.array_equal(out.raw(3), src.raw(3)) and np.array_equal(out.raw(4), src.raw(4))
    want = fitted(made.fit, instance_points(src))
    np.testing.assert_allclose(instance_points(out), want, atol=1e-5)
    np.testing.assert_allclose(instance_points(made.glb("wrap")), want, atol=1e-5)
    lo, hi = made.fit.target_bounds()
    m = measure_document(read_document(made.outs["bake"]))
    np.testing.assert_allclose(m.lo, lo, atol=1e-5)
    np.testing.assert_allclose(m.hi, hi, atol=1e-5)
    assert bake_diff(src, out) == {"/nodes/0/translation"} | minmax(0)
    assert_bytes_kept(src, out, [0, 2])
    assert_min_max(out)


def test_instancing_under_a_per_axis_fit_wraps(tmp_path: Path) -> None:
    made = make_instancing_per_axis(tmp_path)
    assert "EXT_mesh_gpu_instancing" in str(made.errors["bake"])
    assert made.reports["auto"].mode == "wrap"
    src, out = made.input, made.glb("auto")
    np.testing.assert_allclose(instance_points(out), fitted(made.fit, instance_points(src)), atol=1e-5)


# --- 10. cameras under a scaled parent -------------------------------------------------------

CAMERAS = [
    {"type": "perspective", "perspective": {"yfov": 0.8, "znear": 0.1, "zfar": 100, "aspectRatio": 1.5}},
    {"type": "orthographic", "orthographic": {"xmag": 2, "ymag": 1.5, "znear": 0.01, "zfar": 50}},
    {"type": "perspective", "name": "infinite", "perspective": {"yfov": 1, "znear": 0.25}},
]


def make_cameras(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [0, 4]}],
            "cameras": CAMERAS,
            "nodes": [
                {"name": "rig", "scale": [2.0, 2.0, 2.0], "translation": [0.0, 1.0, 0.0], "children": [1, 2, 3]},
                {"camera": 0, "translation": [0.0, 0.0, 5.0]},
                {"camera": 1, "translation": [1.0, 0.0, 0.0], "rotation": rot("y", 90)},
                {"camera": 2, "translation": [0.0, 2.0, 0.0], "rotation": rot("x", -30)},
                {"mesh": 0},
            ],
            "meshes": [{"primitives": [prim({"POSITION": 0}, 1)]}],
            "accessors": [pos(0, CUBE), acc(1, 36, "SCALAR", 5123)],
        },
        [CUBE, CUBE_IDX],
    )
    return run(doc, tmp, "cameras", UNIFORM)


def test_camera_under_a_parent_scale(tmp_path: Path) -> None:
    made = make_cameras(tmp_path)
    src, out = made.input, made.glb()
    s = float(made.fit.scale[0])
    cams = out.json["cameras"]
    assert cams[0]["perspective"] == {"yfov": 0.8, "znear": 0.1 * s, "zfar": 100 * s, "aspectRatio": 1.5}
    assert cams[1]["orthographic"] == {"xmag": 2 * s, "ymag": 1.5 * s, "znear": 0.01 * s, "zfar": 50 * s}
    assert cams[2]["perspective"] == {"yfov": 1, "znear": 0.25 * s}  # infinite stays infinite
    w_in, w_out, w_wrap = worlds(src.json), worlds(out.json), worlds(made.glb("wrap").json)
    for node in (1, 2, 3):
        want = fitted(made.fit, w_in[node][:3, 3])
        np.testing.assert_allclose(w_out[node][:3, 3], want, atol=1e-12)
        np.testing.assert_allclose(w_wrap[node][:3, 3], want, atol=1e-12)
        np.testing.assert_allclose(w_out[node][:3, :3], w_in[node][:3, :3], atol=1e-15)  # still looks the same way
    assert_renders_as_wrap(made, [4])
    diff = {f"/nodes/{i}/translation" for i in range(4)} | minmax(0)  # node 4: t went into the vertices
    diff |= {"/cameras/0/perspective/znear", "/cameras/0/perspective/zfar", "/cameras/2/perspective/znear"}
    diff |= {f"/cameras/1/orthographic/{k}" for k in ("xmag", "ymag", "znear", "zfar")}
    assert bake_diff(src, out) == diff
    assert_bytes_kept(src, out, [0])
    assert_min_max(out)


# --- 11. several scenes ----------------------------------------------------------------------


def make_scenes(tmp: Path) -> Made:
    doc = build(
        {
            "scene": 0,
            "scenes": [{"name": "main", "nodes": [0]}, {"name": "other", "nodes": [1]}],
            "nodes": [
                {"mesh": 0, "translation": [0.0, 1.0, 0.0]},
                {"mesh": 1, "rotation": rot("y", 45), "translation": [10.0, 0.0, -3.0], "scale": [1.0, 3.0, 1.0]},
            ],
            "meshes": [{"primitives": [prim({"POSITION": 0}, 2)]}, {"primitives": [prim({"POSITION": 1}, 2)]}],
            "accessors": [pos(0, CUBE), pos(1, CUBE * 0.5), acc(2, 36, "SCALAR", 5123)],
        },
        [CUBE, (CUBE * 0.5).astype("<f4"), CUBE_IDX],
    )
    return run(doc, tmp, "scenes", STRETCH)


def test_every_scene_gets_the_fit(tmp_path: Path) -> None:
    made = make_scenes(tmp_path)
    src, out = made.input, made.glb()
    lo, hi = made.fit.target_bounds()
    doc_out = read_document(made.outs["bake"])
    lo0, hi0, _ = world_bounds(doc_out, scene=0)
    np.testing.assert_allclose(lo0, lo, atol=1e-6)
    np.testing.assert_allclose(hi0, hi, atol=1e-6)
    other = fitted(made.fit, mesh_points(src, 1)[1])
    lo1, hi1, _ = world_bounds(doc_out, scene=1)
    np.testing.assert_allclose(lo1, other.min(axis=0), atol=1e-5)
    np.testing.assert_allclose(hi1, other.max(axis=0), atol=1e-5)
    lo_w, hi_w, _ = world_bounds(read_document(made.outs["wrap"]), scene=1)
    np.testing.assert_allclose(lo1, lo_w, atol=1e-5)
    np.testing.assert_allclose(hi1, hi_w, atol=1e-5)
    assert_renders_as_wrap(made, [0, 1])
    assert bake_diff(src, out) == {"/nodes/0/translation", "/nodes/1/translation"} | minmax(0, 1)
    assert_bytes_kept(src, out, [0, 1])
    assert_min_max(out)


# --- 12. animated translations, cubic spline -------------------------------------------------

TIMES = np.array([0, 1, 2], dtype="<f4")
CUBIC = np.array(
    [[0, 0, 0], [0, 0, 0], [1, 0, 0], [-1, 1, 0], [2, 1, 0], [0, 0, 3], [0, 2, 0], [3, 0, 1], [0, 0, 0]], dtype="<f4"
)  # (in-tangent, value, out-tangent) per keyframe
LINEAR = np.array([[0, 1, 0], [1, 1, 0], [0, 2, 1]], dtype="<f4")


def hermite(out: np.ndarray, k: int, u: float, dt: float) -> np.ndarray:
    p0, m0, m1, p1 = out[3 * k + 1], out[3 * k + 2], out[3 * k + 3], out[3 * k + 4]
    return (
        (2 * u**3 - 3 * u**2 + 1) * p0
        + (u**3 - 2 * u**2 + u) * dt * m0
        + (-2 * u**3 + 3 * u**2) * p1
        + (u**3 - u**2) * dt * m1
    )


def make_animation(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [0]}],
            "nodes": [
                {"name": "root", "mesh": 0, "rotation": rot("z", 90), "translation": [0.0, 0.0, 1.0], "children": [1]},
                {"name": "child", "mesh": 0, "translation": [0.0, 2.0, 0.0]},
            ],
            "meshes": [{"primitives": [prim({"POSITION": 0}, 1)]}],
            "animations": [
                {
                    "name": "move",
                    "samplers": [
                        {"input": 2, "output": 3, "interpolation": "CUBICSPLINE"},
                        {"input": 2, "output": 4},
                    ],
                    "channels": [
                        {"sampler": 0, "target": {"node": 0, "path": "translation"}},
                        {"sampler": 1, "target": {"node": 1, "path": "translation"}},
                    ],
                }
            ],
            "accessors": [
                pos(0, CUBE),
                acc(1, 36, "SCALAR", 5123),
                acc(2, 3, "SCALAR", min=[0.0], max=[2.0]),
                acc(3, 9),
                acc(4, 3),
            ],
        },
        [CUBE, CUBE_IDX, TIMES, CUBIC, LINEAR],
    )
    return run(doc, tmp, "animation", STRETCH)


def test_cubic_spline_translation_channel(tmp_path: Path) -> None:
    made = make_animation(tmp_path)
    fit = made.fit
    src, out = made.input, made.glb()
    S = np.diag(fit.scale)
    got = out.values(3)
    cubic = CUBIC.astype(np.float64)
    for k in range(3):
        np.testing.assert_allclose(got[3 * k], cubic[3 * k] @ S, atol=1e-6)  # in-tangent: scaled only
        np.testing.assert_allclose(got[3 * k + 2], cubic[3 * k + 2] @ S, atol=1e-6)  # out-tangent
        np.testing.assert_allclose(got[3 * k + 1], fitted(fit, cubic[3 * k + 1]), atol=1e-6)  # value: S v + t
    # The child's channel is a local translation under the turned root: mapped by G_root.
    R = rot_matrix("z", 90)
    np.testing.assert_allclose(out.values(4), LINEAR @ (R.T @ S @ R).T, atol=1e-6)
    assert np.array_equal(out.raw(2), src.raw(2))  # times untouched
    # Between keyframes the root still moves on the fitted curve.
    for k, u in ((0, 0.3), (1, 0.75)):
        np.testing.assert_allclose(hermite(got, k, u, 1.0), fitted(fit, hermite(cubic, k, u, 1.0)), atol=1e-5)
    assert_renders_as_wrap(made, [0, 1])
    assert bake_diff(src, out) == {"/nodes/0/translation", "/nodes/1/translation"} | minmax(0)
    assert_bytes_kept(src, out, [0, 3, 4])
    assert_min_max(out)


# --- regressions: static root mesh nodes whose translation moves into the vertices ----------


def make_matrix_root(tmp: Path) -> Made:
    doc = build(
        {
            "scenes": [{"nodes": [0, 1]}],
            "nodes": [
                {"mesh": 0, "matrix": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 5, 6, 7, 1]},
                {"mesh": 0, "matrix": [0, 0, -1, 0, 0, 1, 0, 0, 1, 0, 0, 0, -5, 0, 0, 1]},
            ],
            "meshes": [{"primitives": [prim({"POSITION": 0}, 1)]}],
            "accessors": [pos(0, CUBE), acc(1, 36, "SCALAR", 5123)],
        },
        [CUBE, CUBE_IDX],
    )
    return run(doc, tmp, "matrix_root", STRETCH)


def test_root_matrix_translation_is_not_counted_twice(tmp_path: Path) -> None:
    # A root node given as a pure-translation matrix: its translation goes into the
    # vertices, so the matrix must lose it (it was applied twice before the fix).
    made = make_matrix_root(tmp_path)
    out = made.glb()
    assert_renders_as_wrap(made, [0, 1])
    assert "matrix" not in out.json["nodes"][0]  # now the identity, which the validator flags when explicit
    assert out.json["nodes"][1]["matrix"][12:15] == fitted(made.fit, np.array([-5.0, 0, 0])).tolist()
    p0 = out.json["meshes"][out.json["nodes"][0]["mesh"]]["primitives"][0]["attributes"]["POSITION"]
    np.testing.assert_array_equal(out.values(p0), fitted(made.fit, CUBE + np.array([5.0, 6, 7])).astype("<f4"))
    assert_min_max(out)


def make_joint_root(tmp: Path) -> Made:
    nodes = [{"name": "bone with a mesh", "mesh": 1, "translation": [0.0, 3.0, 0.0]}, {"mesh": 0, "skin": 0}]
    ibm = np.linalg.inv(worlds({"nodes": nodes})[0]).T.reshape(1, 16).astype("<f4")
    joints, weights = np.zeros((8, 4), "<u1"), np.zeros((8, 4), "<f4")
    weights[:, 0] = 1
    doc = build(
        {
            "scenes": [{"nodes": [0, 1]}],
            "nodes": nodes,
            "skins": [{"joints": [0], "inverseBindMatrices": 3}],
            "meshes": [
                {"primitives": [prim({"POSITION": 0, "JOINTS_0": 1, "WEIGHTS_0": 2}, 4)]},
                {"primitives": [prim({"POSITION": 5}, 4)]},
            ],
            "accessors": [
                pos(0, CUBE),
                acc(1, 8, "VEC4", 5121),
                acc(2, 8, "VEC4"),
                acc(3, 1, "MAT4"),
                acc(4, 36, "SCALAR", 5123),
                pos(5, CUBE * 0.5),
            ],
        },
        [CUBE, joints, weights, ibm, CUBE_IDX, (CUBE * 0.5).astype("<f4")],
    )
    return run(doc, tmp, "joint_root", STRETCH)


def test_root_mesh_node_that_is_a_joint_keeps_its_origin(tmp_path: Path) -> None:
    # A static root mesh node that is also a joint: moving its translation into its own
    # vertices would move every skinned vertex it drives (it did before the fix).
    made = make_joint_root(tmp_path)
    src, out = made.input, made.glb()
    want = fitted(made.fit, skinned_points(src, 1))
    np.testing.assert_allclose(skinned_points(out, 1), want, atol=1e-5)
    np.testing.assert_allclose(skinned_points(made.glb("wrap"), 1), want, atol=1e-5)
    assert_renders_as_wrap(made, [0])
    np.testing.assert_allclose(out.json["nodes"][0]["translation"], fitted(made.fit, np.array([0.0, 3, 0])))
    assert_min_max(out)


# --- 13 / 14. every output: validator, min/max ----------------------------------------------

MAKERS: list[Callable[[Path], Made]] = [
    make_tangent_rotation,
    make_tangent_uniform,
    make_tangent_mirror,
    make_morph,
    make_quantized_positions,
    make_int8_normals,
    make_quantized_parent,
    make_sparse,
    make_shared_accessor,
    make_shared_mesh,
    make_skin_uniform,
    make_skin_per_axis,
    make_instancing,
    make_instancing_per_axis,
    make_cameras,
    make_scenes,
    make_animation,
    make_matrix_root,
    make_joint_root,
]


def test_every_output_passes_the_validator(tmp_path: Path, validator: ModuleType) -> None:
    pairs: list[tuple[Path, Path]] = []
    for make in MAKERS:
        made = make(tmp_path / make.__name__)
        pairs += [(made.src, out) for out in made.outs.values()]
        for out in made.outs.values():
            assert_min_max(Glb.read(out))
    reports = validator.validate(sorted({p for pair in pairs for p in pair}))
    new = {out: codes for src, out in pairs if (codes := validator.new_issue_codes(reports[src], reports[out]))}
    assert new == {}, "\n".join(reports[out].summary() for out in new)


# --- the streamed rewrite (large tightly packed accessors) against the in-memory one ---------------


def _packed_and_interleaved(node: dict[str, Any], n: int) -> tuple[GltfDocument, GltfDocument]:
    """The same mesh twice: tightly packed POSITION/NORMAL (rewritten while the output is written,
    chunk by chunk) and interleaved in one strided view (rewritten in memory)."""
    rng = np.random.default_rng(11)
    p = (rng.normal(size=(n, 3)) * [4.0, 1.0, 2.0] + [10.0, -3.0, 0.5]).astype("<f4")
    nrm = unit(rng.normal(size=(n, 3))).astype("<f4")
    nrm_acc = {"min": [float(v) for v in nrm.min(axis=0)], "max": [float(v) for v in nrm.max(axis=0)]}
    scene = {"scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0, **node}]}
    mesh = {"meshes": [{"primitives": [prim({"POSITION": 0, "NORMAL": 1})]}]}
    packed = build({**scene, **mesh, "accessors": [pos(0, p), acc(1, n, **nrm_acc)]}, [p, nrm])
    both = np.hstack([p, nrm])
    inter = build(
        {**scene, **mesh, "accessors": [pos(0, p), acc(0, n, byteOffset=12, **nrm_acc)]},
        [(both, {"byteStride": 24, "target": 34962})],
    )
    return packed, inter


@pytest.mark.parametrize(
    "node",
    [{}, {"translation": [3.0, -2.0, 5.0]}, {"scale": [-1.0, 2.0, 0.5]}, {"rotation": rot("y", 30)}],
    ids=["plain", "translated root", "mirrored", "turned"],
)
def test_streamed_rewrite_equals_the_in_memory_one(
    tmp_path: Path, node: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import meshpivot.gltf.bake as bake_module

    # Small steps and blocks, so that a write buffer is filled, written and refilled.
    monkeypatch.setattr(bake_module, "STREAM_ROWS", 1000)
    monkeypatch.setattr(bake_module, "CHUNK", 4500)
    monkeypatch.setattr(bake_module, "PIECE_ROWS", 7000)  # pieces that end inside a block
    n = 20_011  # several blocks of several steps, the last ones short
    packed, inter = _packed_and_interleaved(node, n)
    a = run(packed, tmp_path, "packed", STRETCH, modes=("bake",))
    b = run(inter, tmp_path, "inter", STRETCH, modes=("bake",))
    ga, gb = a.glb(), b.glb()
    for k in (0, 1):
        np.testing.assert_array_equal(ga.raw(k), gb.raw(k), err_msg=f"accessor {k}")
        assert ga.json["accessors"][k].get("min") == gb.json["accessors"][k].get("min")
        assert ga.json["accessors"][k].get("max") == gb.json["accessors"][k].get("max")
    assert_min_max(ga)
    assert_min_max(gb)
    assert_renders_as_wrap(run(packed, tmp_path, "packed2", a.fit), [0])
    # The two paths really differ: only the packed accessors are left to the writer.
    for made, deferred in ((a, True), (b, False)):
        doc = read_document(made.src)
        bake_fit(doc, made.fit)
        assert bool(doc._buffers[0].deferred) is deferred
    # Reading a deferred accessor computes it: the same values as written.
    doc = read_document(a.src)
    bake_fit(doc, a.fit)
    for k in (0, 1):
        np.testing.assert_array_equal(read_accessor(doc, k), ga.raw(k), err_msg=f"accessor {k} read back")
    assert not doc._buffers[0].deferred


# --- what measuring read is not read again ---------------------------------------------------


def test_baking_uses_the_bounds_measuring_noted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import meshpivot.gltf.bake as bake_module

    packed, _ = _packed_and_interleaved({}, 5_003)
    src = tmp_path / "in.glb"
    packed.write(src)
    asset = GltfAsset(src)
    m = asset.measure()
    points = read_accessor(asset.document, 0)
    noted = asset.document.stored_bounds[0]
    np.testing.assert_array_equal(noted[0], points.min(axis=0))  # exactly the column extremes
    np.testing.assert_array_equal(noted[1], points.max(axis=0))
    assert set(asset.document.stored_bounds) == {0}  # positions only: normals were not read

    given = []
    stored_bounds = bake_module._stored_bounds
    column_bounds = bake_module._column_bounds

    def spy(info: Any, src: Any, noted: Any = None) -> Any:
        given.append(noted)
        monkeypatch.setattr(bake_module, "_column_bounds", None)  # fails if the values are read again
        try:
            return stored_bounds(info, src, noted)
        finally:
            monkeypatch.setattr(bake_module, "_column_bounds", column_bounds)

    monkeypatch.setattr(bake_module, "_stored_bounds", spy)
    out = tmp_path / "out.glb"
    asset.write_fitted(compute_fit(m.lo, m.hi, STRETCH), out, STRETCH)
    assert len(given) == 1 and given[0] is not None  # the positions' per-axis min/max, from measuring
    assert_min_max(Glb.read(out))


@pytest.mark.parametrize("how", ["replaced after", "replaced while measured", "rewritten in place"])
def test_noted_bounds_are_dropped_when_the_input_changed_in_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    # The input changes under the command: replaced (an exporter's atomic save) after or
    # while it was measured, or rewritten in place, same size, its mtime put back (rsync
    # --inplace -t). The min/max written must be those of the values written.
    import meshpivot.gltf as gltf_module

    packed, _ = _packed_and_interleaved({}, 2_000)
    src = tmp_path / "in.glb"
    packed.write(src)
    # The same file with its positions doubled, byte for byte in place (JSON untouched).
    raw = bytearray(src.read_bytes())
    data = json.loads(raw[20 : 20 + struct.unpack_from("<I", raw, 12)[0]])
    at = 20 + struct.unpack_from("<I", raw, 12)[0] + 8 + data["bufferViews"][0].get("byteOffset", 0)
    doubled = read_accessor(read_document(src), 0) * np.float32(2)
    raw[at : at + doubled.nbytes] = doubled.astype("<f4").tobytes()
    other = tmp_path / "other.glb"
    other.write_bytes(bytes(raw))
    if how == "replaced while measured":
        measure_it = gltf_module.measure_document

        def racing(doc: GltfDocument) -> Any:
            other.replace(src)
            return measure_it(doc)

        monkeypatch.setattr(gltf_module, "measure_document", racing)
    asset = GltfAsset(src)
    m = asset.measure()
    if how == "replaced after":
        other.replace(src)
    elif how == "rewritten in place":
        st = src.stat()
        with src.open("r+b") as f:
            f.write(other.read_bytes())
        os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns))
    out = tmp_path / "out.glb"
    asset.write_fitted(compute_fit(m.lo, m.hi, STRETCH), out, STRETCH)
    assert_min_max(Glb.read(out))


def test_bounds_with_a_zero_are_read_again() -> None:
    # Which of 0.0 and -0.0 a reduction keeps is numpy's choice: where a noted bound is
    # zero, the stored values decide, as they always did.
    import meshpivot.gltf.bake as bake_module

    values = np.array([[-0.0, 1.0, 2.0], [0.0, 3.0, -0.0], [5.0, 2.0, 0.0]], dtype="<f4")
    info = accessor_info(build({"accessors": [pos(0, values)]}, [values]), 0)
    noted = (np.array([0.0, 1.0, -0.0]), np.array([5.0, 3.0, 2.0]))
    got = bake_module._stored_bounds(info, values, noted)
    want = bake_module._column_bounds(iter([values]))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
        assert np.signbit(g).tolist() == np.signbit(w).tolist()
    exact = (np.array([-1.0, 1.0, 2.0]), np.array([5.0, 3.0, 4.0]))
    assert [b.tolist() for b in bake_module._stored_bounds(info, values, exact)] == [[-1, 1, 2], [5, 3, 4]]


@pytest.mark.parametrize("case", ["morphed", "quantized", "sparse"])
def test_only_plain_stored_positions_are_noted(tmp_path: Path, case: str) -> None:
    n = 8
    if case == "sparse":  # the values measured are the stored ones patched, a copy
        patch = {"count": 1, "indices": {"bufferView": 1, "componentType": 5125}, "values": {"bufferView": 2}}
        doc = build(
            {"scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
             "meshes": [{"primitives": [prim({"POSITION": 0})]}],
             "accessors": [pos(0, CUBE, sparse=patch)]},
            [CUBE, np.array([0], dtype="<u4"), np.array([[9, 9, 9]], dtype="<f4")],
        )  # fmt: skip
    elif case == "morphed":  # the box measured is of the morphed points, not of the stored ones
        delta = np.full((n, 3), 0.5, dtype="<f4")
        doc = build(
            {"scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
             "meshes": [{"primitives": [prim({"POSITION": 0}, targets=[{"POSITION": 1}])], "weights": [1.0]}],
             "accessors": [pos(0, CUBE), acc(1, n)]},
            [CUBE, delta],
        )  # fmt: skip
    else:
        q = (CUBE * 100).astype("<i2")
        doc = build(
            {"scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
             "meshes": [{"primitives": [prim({"POSITION": 0})]}],
             "accessors": [acc(0, n, componentType=5122, min=q.min(axis=0).tolist(), max=q.max(axis=0).tolist())]},
            [q],
        )  # fmt: skip
    measure_document(doc)
    assert doc.stored_bounds == {}
