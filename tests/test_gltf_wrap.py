"""The ``wrap`` representation: one root node carries the fit; nothing else changes."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meshpivot.errors import NotBakeableError
from meshpivot.fit import compute_fit
from meshpivot.gltf import GltfAsset
from meshpivot.gltf.document import read_document
from meshpivot.gltf.measure import measure_document
from meshpivot.gltf.wrap import WRAPPER_NAME, wrap_document
from meshpivot.options import FitOptions

STRETCH = FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=[0, -0.5, 0], mode="wrap")
TARGET = np.array(STRETCH.scaled_bbox)


def stretch_for(size: np.ndarray) -> FitOptions:
    """The stretch request, with flat axes left automatic (they cannot be stretched)."""
    return STRETCH.updated(scaled_bbox=[t if e > 0 else -1 for t, e in zip(TARGET, size, strict=True)])


def glb_bin(path: Path) -> bytes:
    raw = path.read_bytes()
    pos, out = 12, b""
    while pos < len(raw):
        n, t = struct.unpack_from("<II", raw, pos)
        if t == 0x004E4942:
            out = raw[pos + 8 : pos + 8 + n]
        pos += 8 + n
    return out


def json_of(path: Path) -> dict[str, Any]:
    return read_document(path).json


def unwrap(data: dict[str, Any]) -> dict[str, Any]:
    """Undo a wrap in a copy of ``data``: drop the added nodes, restore scene roots."""
    out = copy.deepcopy(data)
    nodes = out["nodes"]
    added = [i for i, n in enumerate(nodes) if str(n.get("name", "")).startswith(WRAPPER_NAME)]
    assert added == list(range(len(nodes) - len(added), len(nodes))), "wrappers are appended last"
    for scene in out.get("scenes", []):
        roots: list[int] = []
        for r in scene.get("nodes", []):
            roots.extend(nodes[r]["children"] if r in added else [r])
        scene["nodes"] = roots
    del nodes[len(nodes) - len(added) :]
    return out


def same_roots(a: list[int], b: list[int]) -> bool:
    return sorted(a) == sorted(b)


def test_wrap_fits_the_target_and_changes_nothing_else(corpus_model: Any, tmp_path: Path) -> None:
    src = corpus_model.file
    asset = GltfAsset(src)
    before = asset.measure()
    options = stretch_for(before.size)
    fit = compute_fit(before.lo, before.hi, options)
    out = tmp_path / src.name
    report = asset.write_fitted(fit, out, options)
    assert report.mode == "wrap" and report.files[0] == out
    after = measure_document(read_document(out))
    size = before.size * fit.scale
    lo = np.array([-0.5, 0, -0.5]) * size
    np.testing.assert_allclose(after.lo, lo, rtol=0, atol=1e-6 * max(size))
    np.testing.assert_allclose(after.hi, lo + size, rtol=0, atol=1e-6 * max(size))
    np.testing.assert_allclose(after.size[before.size > 0], TARGET[before.size > 0], rtol=1e-6)
    # JSON: equal to the input's once the wrapper is taken out (scene root order aside).
    original = json_of(src)
    restored = unwrap(json_of(out))
    for s_in, s_out in zip(original.get("scenes", []), restored.get("scenes", []), strict=True):
        assert same_roots(s_in.get("nodes", []), s_out.get("nodes", []))
        s_out["nodes"] = s_in.get("nodes", [])
    assert restored == original
    if src.suffix == ".glb":
        assert glb_bin(out) == glb_bin(src)


def test_wrap_output_passes_the_validator(corpus_models: list[Any], validator: Any, tmp_path: Path) -> None:
    pairs = {}
    for k, entry in enumerate(corpus_models):
        asset = GltfAsset(entry.file)
        m = asset.measure()
        out = tmp_path / str(k) / entry.file.name
        out.parent.mkdir()
        options = stretch_for(m.size)
        asset.write_fitted(compute_fit(m.lo, m.hi, options), out, options)
        pairs[entry.file] = out
    reports = validator.validate([*pairs, *pairs.values()])
    problems = {}
    for src, out in pairs.items():
        new = validator.new_issue_codes(reports[src], reports[out])
        if new:
            problems[str(src.name)] = sorted(new)
    assert not problems


def test_skinned_mesh_nodes_stay_scene_roots(corpus_dir: Path, tmp_path: Path) -> None:
    src = corpus_dir / "SimpleSkin-gltf/SimpleSkin.gltf"
    asset = GltfAsset(src)
    m = asset.measure()
    out = tmp_path / "SimpleSkin.gltf"
    options = stretch_for(m.size)
    asset.write_fitted(compute_fit(m.lo, m.hi, options), out, options)
    data = json_of(out)
    roots = data["scenes"][0]["nodes"]
    assert 0 in roots  # the skinned mesh node
    wrapper = data["nodes"][roots[0] if roots[0] != 0 else roots[1]]
    assert wrapper["name"] == WRAPPER_NAME and wrapper["children"] == [1]


def test_every_scene_is_wrapped_with_the_same_fit(corpus_dir: Path, tmp_path: Path) -> None:
    src = corpus_dir / "MultipleScenes-gltf/MultipleScenes.gltf"
    asset = GltfAsset(src)
    m = asset.measure()
    options = stretch_for(m.size)
    fit = compute_fit(m.lo, m.hi, options)
    out = tmp_path / "MultipleScenes.gltf"
    asset.write_fitted(fit, out, options)
    doc = read_document(out)
    from meshpivot.gltf.measure import world_bounds

    for s in range(len(doc.json["scenes"])):
        before = world_bounds(read_document(src), s)
        after = world_bounds(doc, s)
        np.testing.assert_allclose(after[0], before[0] * fit.scale + fit.translation, atol=1e-12)
        np.testing.assert_allclose(after[1], before[1] * fit.scale + fit.translation, atol=1e-12)


def test_scenes_sharing_roots_never_give_a_node_two_parents() -> None:
    fit = compute_fit([0, 0, 0], [1, 1, 1], FitOptions([2, 2, 2]))
    data: dict[str, Any] = {"scenes": [{"nodes": [0, 1]}, {"nodes": [0]}, {"nodes": [1, 0]}],
                            "nodes": [{}, {}]}
    added, notes = wrap_document(data, fit)
    parents: dict[int, int] = {}
    for i, n in enumerate(data["nodes"]):
        for c in n.get("children", []):
            assert c not in parents
            parents[c] = i
    assert parents.keys() == {0, 1}
    assert len(added) == 2 and notes
    assert data["scenes"][0]["nodes"] == data["scenes"][2]["nodes"] or same_roots(
        data["scenes"][0]["nodes"], data["scenes"][2]["nodes"]
    )


def test_one_scene_gets_one_wrapper_with_trs() -> None:
    fit = compute_fit([0, 0, 0], [2, 4, 1], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    data: dict[str, Any] = {"scene": 0, "scenes": [{"nodes": [1, 0]}], "nodes": [{}, {}]}
    added, notes = wrap_document(data, fit)
    assert added == [2] and not notes
    assert data["scenes"][0]["nodes"] == [2]
    assert data["nodes"][2] == {
        "name": WRAPPER_NAME,
        "children": [1, 0],
        "translation": [-0.5, -0.0, -0.25],
        "scale": [0.5, 0.5, 0.5],
    }
    json.dumps(data)  # plain JSON values


def test_bake_refuses_what_it_cannot_do_exactly_and_names_it(corpus_dir: Path, tmp_path: Path) -> None:
    asset = GltfAsset(corpus_dir / "CesiumMilkTruck/CesiumMilkTruck.glb")
    m = asset.measure()
    options = FitOptions([1, 2, 0.5], mode="bake")  # per-axis, and the wheels' rotation is animated
    with pytest.raises(NotBakeableError, match=r"/animations/0/channels/0 animates the rotation of /nodes/\d+"):
        asset.write_fitted(compute_fit(m.lo, m.hi, options), tmp_path / "o.glb", options)
    assert not (tmp_path / "o.glb").exists()


def test_auto_bakes_where_exact_and_says_why_it_wrapped_otherwise(corpus_dir: Path, tmp_path: Path) -> None:
    box = GltfAsset(corpus_dir / "Box/Box.glb")
    m = box.measure()
    options = FitOptions([1, 1, 1])
    report = box.write_fitted(compute_fit(m.lo, m.hi, options), tmp_path / "box.glb", options)
    assert report.mode == "bake" and "uniform scale" in report.reason
    truck = GltfAsset(corpus_dir / "CesiumMilkTruck/CesiumMilkTruck.glb")
    m = truck.measure()
    options = FitOptions([1, 2, 0.5])
    report = truck.write_fitted(compute_fit(m.lo, m.hi, options), tmp_path / "truck.glb", options)
    assert report.mode == "wrap" and "bake would not be exact" in report.reason
    assert "animates the rotation" in report.reason
