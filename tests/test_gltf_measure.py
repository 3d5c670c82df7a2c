"""Measuring glTF (SPEC.md section 2) against an independent reference.

The reference below decodes accessors with :mod:`struct`, builds node matrices with
its own quaternion code, and poses every vertex one by one in float64; it shares no
code with :mod:`meshpivot.gltf.measure` or :mod:`meshpivot.gltf.accessors` (it reads
raw buffer bytes from the document container only).
"""

from __future__ import annotations

import json
import struct
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshpivot.errors import EmptyInputError, MissingDependencyError, UnreadableInputError, UnsupportedInputError
from meshpivot.gltf import GltfAsset, measure
from meshpivot.gltf.accessors import read_accessor
from meshpivot.gltf.document import GltfDocument, read_document
from meshpivot.gltf.measure import measure_document, transformed_bounds

# --- the reference -------------------------------------------------------------------

FMT = {5120: "b", 5121: "B", 5122: "h", 5123: "H", 5125: "I", 5126: "f"}
NCOMP = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
NORM = {5120: 127.0, 5121: 255.0, 5122: 32767.0, 5123: 65535.0}


def ref_accessor(doc: GltfDocument, index: int) -> list[tuple[float, ...]]:
    data = doc.json
    a = data["accessors"][index]
    n = NCOMP[a["type"]]
    fmt = "<" + FMT[a["componentType"]] * n
    size = struct.calcsize(fmt)
    rows: list[list[float]]
    if "bufferView" in a:
        bv = data["bufferViews"][a["bufferView"]]
        buf = doc.buffer_bytes(bv["buffer"]).tobytes()
        stride = bv.get("byteStride", size)
        base = bv.get("byteOffset", 0) + a.get("byteOffset", 0)
        rows = [list(struct.unpack_from(fmt, buf, base + k * stride)) for k in range(a["count"])]
    else:
        rows = [[0] * n for _ in range(a["count"])]
    sp = a.get("sparse")
    if sp:
        ibv = data["bufferViews"][sp["indices"]["bufferView"]]
        vbv = data["bufferViews"][sp["values"]["bufferView"]]
        ibuf = doc.buffer_bytes(ibv["buffer"]).tobytes()
        vbuf = doc.buffer_bytes(vbv["buffer"]).tobytes()
        ifmt = "<" + FMT[sp["indices"]["componentType"]]
        for k in range(sp["count"]):
            i = struct.unpack_from(
                ifmt, ibuf, ibv.get("byteOffset", 0) + sp["indices"].get("byteOffset", 0) + k * struct.calcsize(ifmt)
            )[0]
            rows[i] = list(
                struct.unpack_from(fmt, vbuf, vbv.get("byteOffset", 0) + sp["values"].get("byteOffset", 0) + k * size)
            )
    if a.get("normalized"):
        d = NORM[a["componentType"]]
        rows = [[max(c / d, -1.0) for c in r] for r in rows]
    return [tuple(float(c) for c in r) for r in rows]


def ref_rotate(q: list[float], v: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    norm = (x * x + y * y + z * z + w * w) ** 0.5
    u = np.array([x, y, z]) / norm
    w /= norm
    return v + 2 * w * np.cross(u, v) + 2 * np.cross(u, np.cross(u, v))


def ref_trs(t: list[float] | None, r: list[float] | None, s: list[float] | None) -> np.ndarray:
    m = np.eye(4)
    scale = s or [1, 1, 1]
    for i in range(3):
        e = np.zeros(3)
        e[i] = scale[i]
        m[:3, i] = ref_rotate(r, e) if r else e
    if t:
        m[:3, 3] = t
    return m


def ref_local(node: dict[str, Any]) -> np.ndarray:
    if "matrix" in node:
        return np.array(node["matrix"], dtype=float).reshape(4, 4).T
    return ref_trs(node.get("translation"), node.get("rotation"), node.get("scale"))


def ref_worlds(data: dict[str, Any]) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}

    def visit(i: int, parent: np.ndarray) -> None:
        out[i] = parent @ ref_local(data["nodes"][i])
        for c in data["nodes"][i].get("children", []):
            visit(c, out[i])

    children = {c for n in data.get("nodes", []) for c in n.get("children", [])}
    for i in range(len(data.get("nodes", []))):
        if i not in children:
            visit(i, np.eye(4))
    return out


def ref_box(doc: GltfDocument) -> tuple[np.ndarray, np.ndarray]:
    data = doc.json
    world = ref_worlds(data)
    scene = data["scenes"][data.get("scene", 0)]
    points: list[np.ndarray] = []

    def draw(i: int) -> None:
        node = data["nodes"][i]
        if "mesh" in node:
            mesh = data["meshes"][node["mesh"]]
            weights = node.get("weights", mesh.get("weights", []))
            for prim in mesh["primitives"]:
                pos = [np.array(p) for p in ref_accessor(doc, prim["attributes"]["POSITION"])]
                for t, target in enumerate(prim.get("targets", [])):
                    if t < len(weights) and weights[t] and "POSITION" in target:
                        for k, d in enumerate(ref_accessor(doc, target["POSITION"])):
                            pos[k] = pos[k] + weights[t] * np.array(d)
                if "indices" in prim:
                    used = sorted({int(i[0]) for i in ref_accessor(doc, prim["indices"])})
                else:
                    used = list(range(len(pos)))
                if "skin" in node:
                    skin = data["skins"][node["skin"]]
                    ibms = [np.array(m).reshape(4, 4).T for m in ref_accessor(doc, skin["inverseBindMatrices"])]
                    mats = [world[j] @ ibms[k] for k, j in enumerate(skin["joints"])]
                    sets = []
                    s = 0
                    while f"JOINTS_{s}" in prim["attributes"]:
                        sets.append(
                            (
                                ref_accessor(doc, prim["attributes"][f"JOINTS_{s}"]),
                                ref_accessor(doc, prim["attributes"][f"WEIGHTS_{s}"]),
                            )
                        )
                        s += 1
                    for v in used:
                        p = np.append(pos[v], 1.0)
                        acc = np.zeros(4)
                        for joints, ws in sets:
                            for j, w in zip(joints[v], ws[v], strict=True):
                                if w:
                                    acc += w * (mats[int(j)] @ p)
                        points.append(acc[:3])
                else:
                    inst = [np.eye(4)]
                    ext = node.get("extensions", {}).get("EXT_mesh_gpu_instancing")
                    if ext:
                        at = ext["attributes"]
                        n = data["accessors"][next(iter(at.values()))]["count"]
                        ts = ref_accessor(doc, at["TRANSLATION"]) if "TRANSLATION" in at else [None] * n
                        rs = ref_accessor(doc, at["ROTATION"]) if "ROTATION" in at else [None] * n
                        ss = ref_accessor(doc, at["SCALE"]) if "SCALE" in at else [None] * n
                        inst = [
                            ref_trs(list(t) if t else None, list(r) if r else None, list(s) if s else None)
                            for t, r, s in zip(ts, rs, ss, strict=True)
                        ]
                    for m in inst:
                        full = world[i] @ m
                        pts = np.array([pos[v] for v in used])
                        points.append(np.c_[pts, np.ones(len(pts))] @ full.T[:, :3])
        for c in node.get("children", []):
            draw(c)

    for r in scene["nodes"]:
        draw(r)
    allp = np.vstack([np.atleast_2d(p) for p in points])
    return allp.min(axis=0), allp.max(axis=0)


def uses_compression(data: dict[str, Any]) -> bool:
    used = data.get("extensionsUsed", [])
    return "KHR_draco_mesh_compression" in used or "EXT_meshopt_compression" in used


# --- the corpus ---------------------------------------------------------------------


def test_engine_matches_the_reference(corpus_model: Any) -> None:
    doc = read_document(corpus_model.file)
    if uses_compression(doc.json):
        pytest.skip("compressed: compared with its uncompressed sibling instead")
    m = measure_document(doc)
    lo, hi = ref_box(doc)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(np.r_[lo, hi]))))
    np.testing.assert_allclose(m.lo, lo, rtol=0, atol=tol)
    np.testing.assert_allclose(m.hi, hi, rtol=0, atol=tol)


def test_counts_match_checks(corpus_model: Any, corpus_checks: dict[str, dict[str, str]]) -> None:
    row = corpus_checks.get(corpus_model.path)
    if row is None:
        pytest.skip("not in CHECKS.tsv")
    m = GltfAsset(corpus_model.file).measure()
    for key in ("nodes", "meshes", "primitives", "vertices", "skins", "animations", "scenes"):
        assert m.counts[key] == int(row[key]), key
    assert m.format == corpus_model.file.suffix[1:]


SIBLINGS = {
    "Box-draco/Box.gltf": "Box/Box.glb",
    "BoxMeshopt/BoxMeshopt.glb": "Box/Box.glb",
    "CesiumMan-draco/CesiumMan.gltf": "CesiumMan/CesiumMan.glb",
    "CesiumMan-meshopt-gltfpack/CesiumMan.glb": "CesiumMan/CesiumMan.glb",
    "Duck-draco/Duck.gltf": "Duck/Duck.glb",
    "Duck-quantized/Duck.gltf": "Duck/Duck.glb",
    "MorphPrimitivesTest-draco/MorphPrimitivesTest.gltf": "MorphPrimitivesTest/MorphPrimitivesTest.glb",
    "RiggedSimple-draco/RiggedSimple.gltf": "RiggedSimple/RiggedSimple.glb",
}


@pytest.mark.parametrize(("packed", "plain"), sorted(SIBLINGS.items()))
def test_compressed_and_quantized_match_the_plain_sibling(corpus_dir: Path, packed: str, plain: str) -> None:
    a = GltfAsset(corpus_dir / packed).measure()
    b = GltfAsset(corpus_dir / plain).measure()
    # Quantization moves vertices by at most about 1e-3 of the extent.
    tol = 2e-3 * float(np.max(b.size))
    np.testing.assert_allclose(a.lo, b.lo, rtol=0, atol=tol)
    np.testing.assert_allclose(a.hi, b.hi, rtol=0, atol=tol)


def test_missing_draco_names_the_extra(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "DracoPy", None)
    with pytest.raises(MissingDependencyError, match=r"meshpivot\[draco\]"):
        GltfAsset(corpus_dir / "Box-draco/Box.gltf").measure()


def test_missing_meshopt_names_the_extra(corpus_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "meshoptimizer", None)
    with pytest.raises(MissingDependencyError, match=r"meshpivot\[meshopt\]"):
        GltfAsset(corpus_dir / "BoxMeshopt/BoxMeshopt.glb").measure()


@pytest.mark.parametrize("stride", [0, 6, 2**31, 260])
def test_meshopt_stride_outside_the_extension_limits_is_one_clear_error(
    corpus_dir: Path, tmp_path: Path, stride: int
) -> None:
    from meshpivot.gltf.document import read_document

    doc = read_document(corpus_dir / "BoxMeshopt/BoxMeshopt.glb")
    position = doc.json["meshes"][0]["primitives"][0]["attributes"]["POSITION"]
    view = doc.json["accessors"][position]["bufferView"]
    ext = doc.json["bufferViews"][view]["extensions"]["EXT_meshopt_compression"]
    ext["byteStride"] = stride
    doc.write(tmp_path / "bad.glb")
    with pytest.raises(UnreadableInputError, match=rf"byteStride is {stride}; for mode {ext['mode']} it must be"):
        GltfAsset(tmp_path / "bad.glb").measure()


# --- hand-made cases ----------------------------------------------------------------


def build(data: dict[str, Any], arrays: list[np.ndarray]) -> GltfDocument:
    """A GLB document whose bufferView k holds arrays[k]."""
    blob = b""
    views = []
    for a in arrays:
        raw = a.tobytes()
        views.append({"buffer": 0, "byteOffset": len(blob), "byteLength": len(raw)})
        blob += raw + b"\0" * (-len(raw) % 4)
    full = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": len(blob)}], "bufferViews": views, **data}
    return GltfDocument(json.loads(json.dumps(full)), format="glb", glb_bin=np.frombuffer(blob, np.uint8))


CUBE = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype="<f4")


def acc(view: int, count: int, typ: str = "VEC3", ctype: int = 5126, **kw: Any) -> dict[str, Any]:
    return {"bufferView": view, "componentType": ctype, "count": count, "type": typ, **kw}


def indexed(points: np.ndarray, indices: np.ndarray) -> GltfDocument:
    """One node drawing one primitive: float32 ``points`` and ``<u2`` or ``<u4`` ``indices``."""
    ctype = {"<u2": 5123, "<u4": 5125}[indices.dtype.str]
    return build(
        {
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
            "accessors": [acc(0, len(points)), acc(1, len(indices), "SCALAR", ctype)],
        },
        [points, indices],
    )


def test_rotated_points_are_bounded_not_the_rotated_box() -> None:
    # A cube turned 45 degrees about Y: x extent is 2*sqrt(2), not the corners' box of the box.
    half = np.pi / 8
    doc = build(
        {
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "rotation": [0, np.sin(half), 0, np.cos(half)]}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [acc(0, 8)],
        },
        [CUBE],
    )
    m = measure_document(doc)
    np.testing.assert_allclose(m.hi, [np.sqrt(2), 1, np.sqrt(2)], rtol=1e-12)
    sphere = np.array([[1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1]], dtype=float)
    c = np.cos(np.pi / 4)
    rot = np.array([[c, 0, c, 0], [0, 1, 0, 0], [-c, 0, c, 0], [0, 0, 0, 1]])
    _, hi = transformed_bounds(sphere, rot)
    np.testing.assert_allclose(hi, [c, 0, c], atol=1e-15)


def test_only_referenced_vertices_count() -> None:
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [100, 100, 100]], dtype="<f4")
    doc = indexed(pts, np.array([0, 1, 2], dtype="<u2"))
    m = measure_document(doc)
    np.testing.assert_array_equal(m.hi, [1, 1, 0])


# Three referenced vertices inside two that no index references, the second one NaN.
INNER = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0.5], [100, 100, 100], [-50, -50, np.nan]], dtype="<f4")


def _indexed_doc(node: dict[str, Any], instances: dict[str, np.ndarray] | None = None) -> GltfDocument:
    """One node drawing the first three vertices of INNER by index, with optional GPU instances."""
    arrays = [INNER, np.array([0, 1, 2, 2, 1, 0], dtype="<u2")]
    accessors = [acc(0, 5), acc(1, 6, "SCALAR", 5123)]
    node = dict(node, mesh=0)
    if instances:
        attrs = {}
        for name, values in instances.items():
            attrs[name] = len(arrays)
            accessors.append(acc(len(arrays), len(values), "VEC4" if name == "ROTATION" else "VEC3"))
            arrays.append(values.astype("<f4"))
        node["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": attrs}}
    return build(
        {
            "extensionsUsed": ["EXT_mesh_gpu_instancing"],
            "scenes": [{"nodes": [0]}],
            "nodes": [node],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
            "accessors": accessors,
        },
        arrays,
    )


def _no_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make selecting the referenced vertices fail: the box must come from the indices alone."""
    from meshpivot.gltf import measure as measure_module

    def refuse(*_: Any) -> None:
        raise AssertionError("selected the referenced vertices")

    monkeypatch.setattr(measure_module, "_used_mask", refuse)


def _scaled(lo: list[float], hi: list[float], s: list[float], t: list[float]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(lo) * np.array(s) + np.array(t)
    b = np.array(hi) * np.array(s) + np.array(t)
    return np.minimum(a, b), np.maximum(a, b)


@pytest.mark.parametrize(
    ("node", "s", "t"),
    [
        ({}, [1, 1, 1], [0, 0, 0]),
        ({"translation": [5, -6, 7]}, [1, 1, 1], [5, -6, 7]),
        ({"scale": [2, -3, 0.5], "translation": [1, 2, 3]}, [2, -3, 0.5], [1, 2, 3]),
    ],
)
def test_unreferenced_extremes_are_left_out_under_scale_and_translation(
    node: dict[str, Any], s: list[float], t: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_selection(monkeypatch)
    m = measure_document(_indexed_doc(node))
    lo, hi = _scaled([0, 0, 0], [1, 1, 0.5], s, t)
    np.testing.assert_array_equal(m.lo, lo)
    np.testing.assert_array_equal(m.hi, hi)
    assert m.counts["drawn_vertices"] == 5  # the POSITION count, referenced or not


def test_unreferenced_extremes_are_left_out_of_scale_only_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_selection(monkeypatch)
    inst = {"TRANSLATION": np.array([[0, 0, 0], [10, 0, 0]]), "SCALE": np.array([[1, 1, 1], [-2, 2, 4]])}
    m = measure_document(_indexed_doc({"scale": [1, 3, 1]}, inst))
    a = _scaled([0, 0, 0], [1, 3, 0.5], [1, 1, 1], [0, 0, 0])
    b = _scaled([0, 0, 0], [1, 3, 0.5], [-2, 2, 4], [10, 0, 0])
    np.testing.assert_array_equal(m.lo, np.minimum(a[0], b[0]))
    np.testing.assert_array_equal(m.hi, np.maximum(a[1], b[1]))
    assert m.counts["drawn_vertices"] == 10


@pytest.mark.parametrize("rotated_instances", [False, True])
def test_unreferenced_extremes_are_left_out_of_rotated_nodes_and_instances(rotated_instances: bool) -> None:
    q = [0, np.sin(np.pi / 8), 0, np.cos(np.pi / 8)]
    if rotated_instances:
        inst = {"ROTATION": np.array([q, [0, 0, 0, 1]]), "TRANSLATION": np.array([[0, 0, 0], [3, 0, 0]])}
        doc = _indexed_doc({}, inst)
    else:
        doc = _indexed_doc({"rotation": q, "scale": [2, 1, 1]})
    m = measure_document(doc)
    lo, hi = ref_box(doc)
    np.testing.assert_allclose(m.lo, lo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.hi, hi, rtol=0, atol=1e-12)


@pytest.fixture(params=["at once", "in a second thread"])
def index_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of range-checking indices: at once, and in a second thread while the
    positions are read (what files with millions of indices get)."""
    if request.param == "in a second thread":
        monkeypatch.setattr(measure, "BACKGROUND_CHECK_MIN", 1)
    return str(request.param)


def test_index_beyond_vertices_is_an_error(index_check: str) -> None:
    doc = indexed(CUBE, np.array([0, 1, 9], dtype="<u2"))
    with pytest.raises(UnreadableInputError, match="indices reference vertex 9"):
        measure_document(doc)


def _outcome(doc: GltfDocument) -> tuple[Any, ...]:
    try:
        m = measure_document(doc)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return m.lo.tobytes(), m.hi.tobytes(), sorted(m.counts.items())


def _checking_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "meshpivot-index-check"]


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 12),
    data=st.data(),
    nan_at=st.one_of(st.none(), st.integers(0, 11)),
    rotated=st.booleans(),
    twice=st.booleans(),
)
def test_checking_indices_in_a_second_thread_changes_no_outcome(
    n: int, data: st.DataObject, nan_at: int | None, rotated: bool, twice: bool
) -> None:
    # The same bounds, counts or error (type and message; the index error first when a
    # file has both a bad index and a NaN) whether the check runs at once or meanwhile.
    pts = np.array(data.draw(st.lists(st.tuples(*[st.integers(-50, 50)] * 3), min_size=n, max_size=n)), dtype="<f4")
    if nan_at is not None and nan_at < n:
        pts[nan_at, 1] = np.nan
    idx = np.array(data.draw(st.lists(st.integers(0, n + 1), min_size=1, max_size=40)), dtype="<u4")
    node: dict[str, Any] = {"mesh": 0, "rotation": [0, 0.3826834, 0, 0.9238795]} if rotated else {"mesh": 0}
    prims = [{"attributes": {"POSITION": 0}, "indices": 1}] * (2 if twice else 1)
    doc = build(
        {"scenes": [{"nodes": [0, 1]}], "nodes": [node, {"mesh": 0, "scale": [2, 1, 1]}],
         "meshes": [{"primitives": prims}], "accessors": [acc(0, n), acc(1, len(idx), "SCALAR", 5125)]},
        [pts, idx],
    )  # fmt: skip
    at_once = _outcome(doc)
    threshold = measure.BACKGROUND_CHECK_MIN
    measure.BACKGROUND_CHECK_MIN = 1
    try:
        meanwhile = _outcome(doc)
    finally:
        measure.BACKGROUND_CHECK_MIN = threshold
    assert meanwhile == at_once
    assert not _checking_threads()  # none outlives the measurement, whatever it raised


def test_no_index_check_outlives_a_failed_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    # The document's maps may be closed as soon as measuring fails: a check still
    # reading them would crash the process. Here the check is slow and the positions fail.
    check = measure._check_range

    def slow(*args: Any) -> None:
        time.sleep(0.3)
        check(*args)

    def failing(*args: Any, **kw: Any) -> None:
        raise EmptyInputError("the positions failed first")

    monkeypatch.setattr(measure, "BACKGROUND_CHECK_MIN", 1)
    monkeypatch.setattr(measure, "_check_range", slow)
    monkeypatch.setattr(measure, "referenced_bounds", failing)
    doc = indexed(CUBE, np.array([0, 1, 2], dtype="<u4"))
    with pytest.raises(EmptyInputError, match="the positions failed first"):
        measure_document(doc)
    assert not _checking_threads()


@pytest.mark.parametrize("undrawn", ["no vertices", "no instances"])
def test_an_index_error_of_an_undrawn_primitive_still_comes_first(index_check: str, undrawn: str) -> None:
    # Node 0's primitive is never bounded; node 1 has a NaN. The index error of node 0
    # is reported, as when every check ran at once.
    tri = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype="<f4")
    nan = tri.copy()
    nan[1, 0] = np.nan
    idx = np.array([0, 1, 200], dtype="<u4")
    node0: dict[str, Any] = {"mesh": 0}
    extra: dict[str, Any] = {}
    if undrawn == "no instances":
        node0["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 3}}}
        extra = {"extensionsUsed": ["EXT_mesh_gpu_instancing"]}
        first = acc(0, 3)
    else:
        first = {"componentType": 5126, "count": 0, "type": "VEC3"}
    doc = build(
        {**extra, "scenes": [{"nodes": [0, 1]}], "nodes": [node0, {"mesh": 1}],
         "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]},
                    {"primitives": [{"attributes": {"POSITION": 2}}]}],
         "accessors": [first, acc(1, 3, "SCALAR", 5125), acc(2, 3),
                       {"componentType": 5126, "count": 0, "type": "VEC3"}]},
        [tri, idx, nan],
    )  # fmt: skip
    with pytest.raises(UnreadableInputError, match="indices reference vertex 200"):
        measure_document(doc)


def test_no_thread_to_be_had_checks_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # A process or thread limit: Thread.start raises RuntimeError. The check runs at once.
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(measure, "BACKGROUND_CHECK_MIN", 1)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    bad = indexed(CUBE, np.array([0, 1, 9], dtype="<u4"))
    with pytest.raises(UnreadableInputError, match="indices reference vertex 9"):
        measure_document(bad)
    bad.json["accessors"][1]["count"] = 2  # indices 0 and 1 only
    assert measure_document(bad).lo.tolist() == [-1, -1, -1]


def test_checking_indices_meanwhile_gives_the_corpus_the_same_boxes(
    corpus_models: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = {e.path: _outcome(read_document(e.file)) for e in corpus_models}
    monkeypatch.setattr(measure, "BACKGROUND_CHECK_MIN", 1)
    started = []
    real = threading.Thread.start

    def counted(self: threading.Thread) -> None:
        started.append(self.name)
        real(self)

    monkeypatch.setattr(threading.Thread, "start", counted)
    meanwhile = {e.path: _outcome(read_document(e.file)) for e in corpus_models}
    assert meanwhile == at_once
    assert started.count("meshpivot-index-check") > len(corpus_models) // 2  # the threads did run
    assert not _checking_threads()


def test_skinned_mesh_node_own_translation_is_ignored() -> None:
    ibm = np.eye(4, dtype="<f4").T.reshape(1, 16)
    joints = np.zeros((8, 4), dtype="u1")
    weights = np.tile(np.array([1, 0, 0, 0], dtype="<f4"), (8, 1))
    doc = build(
        {
            "scenes": [{"nodes": [0, 1]}],
            "nodes": [{"mesh": 0, "skin": 0, "translation": [100, 0, 0]}, {"translation": [0, 5, 0]}],
            "skins": [{"joints": [1], "inverseBindMatrices": 3}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "JOINTS_0": 1, "WEIGHTS_0": 2}}]}],
            "accessors": [acc(0, 8), acc(1, 8, "VEC4", 5121), acc(2, 8, "VEC4"), acc(3, 1, "MAT4")],
        },
        [CUBE, joints, weights, ibm],
    )
    m = measure_document(doc)
    np.testing.assert_array_equal(m.lo, [-1, 4, -1])
    np.testing.assert_array_equal(m.hi, [1, 6, 1])
    np.testing.assert_allclose(ref_box(doc)[0], m.lo)


def _float_joints(joint: float, weight: float = 1.0, dtype: str = "<f4", **joints_acc: Any) -> GltfDocument:
    """The skinned cube of the test above, its JOINTS_0 stored as ``dtype`` (floats unless
    said): ``joint`` with ``weight``; ``joints_acc`` goes into the JOINTS_0 accessor."""
    ibm = np.eye(4, dtype="<f4").T.reshape(1, 16)
    joints = np.tile(np.array([0, joint, 0, 0]).astype(dtype), (8, 1))
    weights = np.tile(np.array([1 - weight, weight, 0, 0], dtype="<f4"), (8, 1))
    ctype = {"<f4": 5126, "i1": 5120, "u1": 5121}[dtype]
    return build(
        {
            "scenes": [{"nodes": [0, 1]}],
            "nodes": [{"mesh": 0, "skin": 0}, {"translation": [0, 5, 0]}],
            "skins": [{"joints": [1], "inverseBindMatrices": 3}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "JOINTS_0": 1, "WEIGHTS_0": 2}}]}],
            "accessors": [acc(0, 8), acc(1, 8, "VEC4", ctype, **joints_acc), acc(2, 8, "VEC4"), acc(3, 1, "MAT4")],
        },
        [CUBE, joints, weights, ibm],
    )


@pytest.mark.parametrize(
    ("joint", "dtype", "shown"),
    [
        (float("nan"), "<f4", "nan"),
        (float("inf"), "<f4", "inf"),
        (1e30, "<f4", r"1\.0000000150474662e\+30"),
        (-1.0, "<f4", r"-1\.0"),
        (0.5, "<f4", r"0\.5"),
        (1.0, "<f4", r"1\.0"),
        (-1, "i1", "-1"),  # signed joints, also out of glTF's rules: the value, not the largest one
        (3, "u1", "3"),
    ],
)
def test_joints_that_name_no_joint_are_reported_by_value_without_a_numpy_warning(
    joint: float, dtype: str, shown: str
) -> None:
    # A float joint (out of glTF's rules: joints are unsigned integers) is read by value: one
    # that is not a whole joint index is an error naming the accessor, never a cast warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = rf"/attributes/JOINTS_0 holds {shown}; .*one of the 1 joints of /skins/0$"
        with pytest.raises(UnreadableInputError, match=message):
            measure_document(_float_joints(joint, dtype=dtype))


def test_normalized_joints_are_reported_as_such() -> None:
    # Normalized, the stored joint 1 would read as 1/255: the message names the flag instead.
    with pytest.raises(UnreadableInputError, match=r"/attributes/JOINTS_0 is normalized; "):
        measure_document(_float_joints(1, dtype="u1", normalized=True))
    # Joints that are all 0 read as 0 either way: measured, as they were before the check.
    m = measure_document(_float_joints(0, dtype="u1", normalized=True))
    np.testing.assert_array_equal(m.lo, [-1, 4, -1])


def test_float_joints_that_name_a_joint_or_weigh_nothing_are_used() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        posed = measure_document(_float_joints(0.0))
        weightless = measure_document(_float_joints(float("nan"), weight=0.0))
    for m in (posed, weightless):
        np.testing.assert_array_equal(m.lo, [-1, 4, -1])
        np.testing.assert_array_equal(m.hi, [1, 6, 1])


def test_morph_weights_node_then_mesh_then_zero() -> None:
    delta = np.tile(np.array([0, 10, 0], dtype="<f4"), (8, 1))
    base = {
        "scenes": [{"nodes": [0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "targets": [{"POSITION": 1}]}]}],
        "accessors": [acc(0, 8), acc(1, 8)],
    }
    cases = [({"mesh": 0}, None, 1), ({"mesh": 0}, [0.5], 6), ({"mesh": 0, "weights": [1.0]}, [0.5], 11)]
    for node, mesh_weights, top in cases:
        data = json.loads(json.dumps(base))
        data["nodes"] = [node]
        if mesh_weights is not None:
            data["meshes"][0]["weights"] = mesh_weights
        m = measure_document(build(data, [CUBE, delta]))
        assert m.hi[1] == top


def test_gpu_instances_are_each_bounded() -> None:
    t = np.array([[0, 0, 0], [10, 0, 0]], dtype="<f4")
    sc = np.array([[1, 1, 1], [2, 2, 2]], dtype="<f4")
    doc = build(
        {
            "extensionsUsed": ["EXT_mesh_gpu_instancing"],
            "scenes": [{"nodes": [0]}],
            "nodes": [
                {"mesh": 0, "extensions": {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 1, "SCALE": 2}}}}
            ],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [acc(0, 8), acc(1, 2), acc(2, 2)],
        },
        [CUBE, t, sc],
    )
    m = measure_document(doc)
    np.testing.assert_array_equal(m.lo, [-1, -2, -2])
    np.testing.assert_array_equal(m.hi, [12, 2, 2])


def _instanced(points: np.ndarray, n: int, rotated: bool) -> GltfDocument:
    rng = np.random.default_rng(7)
    t = rng.uniform(-100, 100, (n, 3)).astype("<f4")
    attrs: dict[str, int] = {"TRANSLATION": 1}
    arrays = [points, t]
    if rotated:
        q = rng.normal(size=(n, 4))
        arrays.append((q / np.linalg.norm(q, axis=1, keepdims=True)).astype("<f4"))
        attrs["ROTATION"] = 2
    return build(
        {
            "extensionsUsed": ["EXT_mesh_gpu_instancing"],
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0, "extensions": {"EXT_mesh_gpu_instancing": {"attributes": attrs}}}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [acc(0, len(points)), acc(1, n)] + ([acc(2, n, "VEC4")] if rotated else []),
        },
        arrays,
    )


def test_many_unrotated_instances_cost_one_bounds_pass() -> None:
    # 20 000 instances of 20 000 points: once a time bomb (every instance re-bounded every point).
    pts = np.random.default_rng(3).uniform(-1, 1, (20_000, 3)).astype("<f4")
    doc = _instanced(pts, 20_000, rotated=False)
    t = read_accessor(doc, 1).astype(np.float64)
    m = measure_document(doc)
    np.testing.assert_array_equal(m.lo, pts.min(0).astype(np.float64) + t.min(0))
    np.testing.assert_array_equal(m.hi, pts.max(0).astype(np.float64) + t.max(0))


def test_too_many_rotated_instance_points_are_refused_not_left_running(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshpivot.gltf import measure as measure_module

    monkeypatch.setattr(measure_module, "INSTANCE_WORK_LIMIT", 50_000)
    doc = _instanced(CUBE, 10_000, rotated=True)  # 80 000 point transforms
    with pytest.raises(UnsupportedInputError, match="rotated GPU instances of 8 vertices"):
        measure_document(doc)
    monkeypatch.setattr(measure_module, "INSTANCE_WORK_LIMIT", 100_000)
    assert np.all(np.isfinite(measure_document(doc).lo))


def test_no_scene_is_empty() -> None:
    with pytest.raises(EmptyInputError, match="no scene"):
        measure_document(build({"nodes": []}, []))


@pytest.mark.parametrize(
    ("nodes", "words"),
    [
        ([{"children": [1]}, {"children": [0]}], "cycle"),
        ([{"children": [2]}, {"children": [2]}, {}], "two parents"),
        ([{"children": [5]}], "children/0"),
    ],
)
def test_broken_hierarchy_is_an_error(nodes: list[dict[str, Any]], words: str) -> None:
    with pytest.raises(UnreadableInputError, match=words):
        measure_document(build({"scenes": [{"nodes": [0]}], "nodes": nodes}, []))


def test_nan_position_is_an_error() -> None:
    from meshpivot.errors import NonFiniteInputError

    pts = CUBE.copy()
    pts[3, 1] = np.nan
    doc = build(
        {
            "scenes": [{"nodes": [0]}],
            "nodes": [{"mesh": 0}],
            "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
            "accessors": [acc(0, 8)],
        },
        [pts],
    )
    with pytest.raises(NonFiniteInputError):
        measure_document(doc)
