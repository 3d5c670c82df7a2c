"""The corpus proof of the glTF engine (issue: exact, lossless fitting of GLB and glTF).

Every ``.glb`` / ``.gltf`` of ``../shared/corpus`` is fitted under four requests, in
every mode that applies (``bake`` where it is exact, ``wrap``, ``auto``), and each
output is checked:

* ``verify`` passes, and the engine's measurement equals the fit's target box;
* an independent measurement (``ref_box`` of ``test_gltf_measure.py``: struct-based
  decoding, its own node matrices, not the engine's code path) agrees;
* the JSON outside the fields a fit may edit equals the input's;
* animations play the same motion, transformed: sampled frames are posed in input and
  output, and the boxes and node origins agree after the fit;
* ``bake`` and ``wrap`` measure the same to float32 precision;
* the Khronos validator reports no issue code the input did not have.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from meshpivot.api import apply_file, verify_file
from meshpivot.errors import FlatAxisError, NotBakeableError
from meshpivot.gltf.accessors import read_accessor
from meshpivot.gltf.document import GltfDocument, read_document
from meshpivot.gltf.measure import measure_document
from meshpivot.gltf.scene import SceneGraph
from meshpivot.options import FitOptions

pytestmark = pytest.mark.corpus

REQUESTS = {
    "stretch": FitOptions([1, 2, 0.5], [0, -0.5, 0]),
    "auto-axes": FitOptions([-1, 1.8, -1], [0.5, 0.5, -0.5]),
    "aspect": FitOptions([2, 2, 2], preserve_aspect_ratio=True),
    "all-auto": FitOptions(pivot_point=[0, -0.5, 0]),
}
MODES = ("bake", "wrap", "auto")
REL = 2e-6  # float32 storage: a few roundings of 6e-8 of the extent


def _load_reference() -> ModuleType:
    name = "meshpivot_tests_measure_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("test_gltf_measure.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@dataclass
class Output:
    model: str
    request: str
    mode: str  # asked for
    used: str  # bake / wrap
    path: Path
    options: FitOptions
    scale: np.ndarray
    translation: np.ndarray


_RESULTS: dict[str, tuple[list[Output], dict[str, str]]] = {}


def fitted_outputs(src: Path, model: str, out_root: Path) -> tuple[list[Output], dict[str, str]]:
    """Apply every request in every mode once per model; outputs are cached per session."""
    if model in _RESULTS:
        return _RESULTS[model]
    outs: list[Output] = []
    refused: dict[str, str] = {}
    for rname, opts in REQUESTS.items():
        for mode in MODES:
            folder = out_root / model.replace("/", "__") / f"{rname}-{mode}"
            folder.mkdir(parents=True, exist_ok=True)
            dst = folder / src.name
            o = opts.updated(mode=mode)
            try:
                res = apply_file(src, dst, o)
            except FlatAxisError as exc:
                refused[f"{rname}-{mode}"] = f"flat: {exc}"
                continue
            except NotBakeableError as exc:
                assert mode == "bake", f"{mode} must never refuse: {exc}"
                refused[f"{rname}-{mode}"] = f"not bakeable: {exc}"
                continue
            outs.append(Output(model, rname, mode, res.mode, dst, o, res.fit.scale, res.fit.translation))
    # one cross-format output per model: .glb <-> .gltf
    other = ".gltf" if src.suffix == ".glb" else ".glb"
    folder = out_root / model.replace("/", "__") / "cross"
    folder.mkdir(parents=True, exist_ok=True)
    dst = (folder / src.name).with_suffix(other)
    try:
        res = apply_file(src, dst, REQUESTS["all-auto"])
        outs.append(
            Output(model, "all-auto", "auto", res.mode, dst, REQUESTS["all-auto"], res.fit.scale, res.fit.translation)
        )
    except FlatAxisError:
        pass
    _RESULTS[model] = (outs, refused)
    return outs, refused


@pytest.fixture(scope="session")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("corpus-out")


@pytest.fixture
def outputs(corpus_model: Any, out_root: Path) -> tuple[list[Output], dict[str, str]]:
    return fitted_outputs(corpus_model.file, corpus_model.path, out_root)


def is_flat(lo: np.ndarray, hi: np.ndarray) -> bool:
    return bool(np.any(hi - lo <= 0))


def test_every_mode_that_applies_writes_an_output(corpus_model: Any, outputs: Any) -> None:
    outs, refused = outputs
    m = measure_document(read_document(corpus_model.file))
    for key, why in refused.items():
        if why.startswith("flat"):
            assert is_flat(m.lo, m.hi), key
            assert key.startswith("stretch"), f"{key}: only the stretch request targets every axis"
        else:
            assert key.endswith("-bake"), key
    # wrap and auto always succeed unless the asset is flat along a stretched axis
    for rname in REQUESTS:
        if f"{rname}-wrap" not in refused:
            assert any(o.request == rname and o.mode == "auto" for o in outs)
    # auto bakes where bake is exact, and wraps where it is not
    for o in outs:
        if o.mode == "auto" and o.path.parent.name != "cross":
            assert o.used == ("wrap" if f"{o.request}-bake" in refused else "bake"), o.path


def test_outputs_verify_and_measure_the_target_box(outputs: Any) -> None:
    for o in outputs[0]:
        res = verify_file(o.path, o.options)
        assert res.passed, f"{o.path}: " + "; ".join(c.describe() for c in res.failures)


def _fit_box(o: Output, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lo * o.scale + o.translation, hi * o.scale + o.translation


def _close_boxes(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], what: str) -> None:
    ext = max(float(np.max(a[1] - a[0])), 1e-12)
    err = max(float(np.max(np.abs(a[0] - b[0]))), float(np.max(np.abs(a[1] - b[1]))))
    assert err <= REL * ext, f"{what}: boxes differ by {err:.3g} (extent {ext:.3g}): {a} vs {b}"


def test_an_independent_measurement_agrees(corpus_model: Any, outputs: Any) -> None:
    ref = _load_reference()
    src = read_document(corpus_model.file)
    if ref.uses_compression(src.json):
        pytest.skip("the reference does not decode Draco/meshopt; the engine's decoders are checked elsewhere")
    lo, hi = ref.ref_box(src)
    for o in outputs[0]:
        out = read_document(o.path)
        got = ref.ref_box(out)
        _close_boxes(_fit_box(o, lo, hi), got, str(o.path))


def test_bake_and_wrap_measure_the_same(outputs: Any) -> None:
    outs = outputs[0]
    for rname in REQUESTS:
        pair = {o.mode: o for o in outs if o.request == rname and o.path.parent.name != "cross"}
        if "bake" in pair and "wrap" in pair:
            a = measure_document(read_document(pair["bake"].path))
            b = measure_document(read_document(pair["wrap"].path))
            _close_boxes((a.lo, a.hi), (b.lo, b.hi), f"{pair['bake'].path} vs wrap")


# --- JSON outside the edited fields ----------------------------------------------------------

# What a fit may change: (path pattern with * for any index or key), for both modes.
EDITABLE = (
    "/nodes/*/translation",
    "/nodes/*/scale",
    "/nodes/*/matrix",
    "/nodes/*/mesh",
    "/nodes/*/children",
    "/scenes/*/nodes",
    "/accessors/*/min",
    "/accessors/*/max",
    "/buffers/*/byteLength",
    "/buffers/*/uri",
    "/meshes/*/primitives/*/attributes/*",
    "/meshes/*/primitives/*/targets/*/*",
    "/skins/*/inverseBindMatrices",
    "/animations/*/samplers/*/output",
    "/cameras/*/perspective/znear",
    "/cameras/*/perspective/zfar",
    "/cameras/*/orthographic/*",
    "/extensions/KHR_lights_punctual/lights/*/range",
    "/materials/*/extensions/KHR_materials_volume/thicknessFactor",
    "/materials/*/extensions/KHR_materials_volume/attenuationDistance",
    "/nodes/*/extensions/EXT_mesh_gpu_instancing/attributes/TRANSLATION",
    "/images/*/uri",
    "/images/*/bufferView",
    "/images/*/mimeType",
    "/bufferViews/*",
)
APPENDABLE = ("/nodes", "/meshes", "/accessors", "/bufferViews", "/buffers")


def _match(path: str, pattern: str) -> bool:
    a, b = path.split("/"), pattern.split("/")
    if len(a) < len(b):
        return False
    return all(q == "*" or p == q for p, q in zip(a, b, strict=False))


def json_differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Paths where ``b`` differs from ``a`` (appended list items reported as ``path/+``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in a.keys() | b.keys():
            if k not in a or k not in b:
                out.append(f"{path}/{k}")
            else:
                out += json_differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in json_differences(x, y, f"{path}/{i}")]
        if len(b) > len(a):
            out.append(f"{path}/+")
        elif len(a) > len(b):
            out.append(f"{path}/-")
        return out
    if type(a) is not type(b) or a != b:
        return [path]
    return []


def test_json_outside_the_edited_fields_is_unchanged(corpus_model: Any, outputs: Any) -> None:
    src = read_document(corpus_model.file).json
    for o in outputs[0]:
        out = read_document(o.path).json
        cross = o.path.suffix != corpus_model.file.suffix
        for d in json_differences(src, out):
            if cross and (d.startswith("/buffers/") or _match(d, "/bufferViews/*/buffer")):
                continue  # .gltf -> .glb merges every buffer into the BIN chunk
            if d.endswith("/+") and d[:-2] in APPENDABLE:
                continue
            if d == "/extensionsUsed/+" or d == "/extensionsUsed/-":
                pytest.fail(f"{o.path}: extensionsUsed changed")
            assert any(_match(d, p) for p in EDITABLE), f"{o.path}: {d} changed"


def test_integer_min_max_stay_integers(outputs: Any) -> None:
    for o in outputs[0]:
        for i, acc in enumerate(read_document(o.path).json.get("accessors", [])):
            if acc.get("componentType") != 5126 and "min" in acc:
                assert all(isinstance(v, int) for v in acc["min"] + acc["max"]), f"{o.path}: /accessors/{i}"


# --- animations: the same motion, transformed -----------------------------------------------


def _sample(doc: GltfDocument, sampler: dict[str, Any], t: float) -> np.ndarray:
    times = np.asarray(read_accessor(doc, sampler["input"]), dtype=np.float64).reshape(-1)
    values = np.asarray(read_accessor(doc, sampler["output"]), dtype=np.float64)
    values = values.reshape(len(values), -1)
    interp = sampler.get("interpolation", "LINEAR")
    if interp == "CUBICSPLINE":
        values = values.reshape(len(times), 3, -1)[:, 1, :]  # keyframe values (t is a keyframe time)
    k = int(np.searchsorted(times, t, side="right")) - 1
    k = min(max(k, 0), len(times) - 1)
    if interp != "LINEAR" or k == len(times) - 1 or t <= times[0]:
        return np.asarray(values[k])
    u = (t - times[k]) / (times[k + 1] - times[k])
    return np.asarray(values[k] * (1 - u) + values[k + 1] * u)  # lerp: compared input vs output alike


def posed(doc: GltfDocument, anim: int, t: float) -> GltfDocument:
    """A shallow copy of ``doc`` whose node TRS and weights are animation ``anim`` at ``t``."""
    data = copy.deepcopy(doc.json)
    a = data["animations"][anim]
    for ch in a.get("channels", []):
        target = ch.get("target", {})
        node, path = target.get("node"), target.get("path")
        if not isinstance(node, int) or path not in ("translation", "rotation", "scale", "weights"):
            continue
        v = _sample(doc, a["samplers"][ch["sampler"]], t)
        if path == "rotation":
            v = v / np.linalg.norm(v)
        data["nodes"][node][path] = [float(x) for x in v]
    clone = copy.copy(doc)
    clone.json = data
    return clone


def _keyframe_times(doc: GltfDocument, anim: int) -> list[float]:
    times: set[float] = set()
    for s in doc.json["animations"][anim].get("samplers", []):
        ts = np.asarray(read_accessor(doc, s["input"]), dtype=np.float64).reshape(-1)
        times.update(float(x) for x in ts[:: max(1, len(ts) // 3)])
    return sorted(times)[:6]


def origin_matters(data: dict[str, Any], i: int) -> bool:
    """Whether anything renders from node ``i``'s origin, not just its mesh's vertices.

    A skinned mesh node's own transform is ignored by renderers; a static mesh-only node
    may have its translation moved into its vertices by ``bake``.
    """
    node = data["nodes"][i]
    if "mesh" in node and "skin" in node:
        return False
    joints = {j for skin in data.get("skins", []) for j in skin.get("joints", [])}
    animated = {
        ch.get("target", {}).get("node")
        for a in data.get("animations", [])
        for ch in a.get("channels", [])
        if ch.get("target", {}).get("path") != "weights"
    }
    return bool(node.get("children") or "camera" in node or node.get("extensions") or i in joints or i in animated)


def test_animations_play_the_same_motion_transformed(corpus_model: Any, outputs: Any) -> None:
    src = read_document(corpus_model.file)
    anims = src.json.get("animations", [])
    if not anims:
        pytest.skip("no animation")
    for o in outputs[0]:
        out = read_document(o.path)
        for ai in range(min(2, len(anims))):
            for t in _keyframe_times(src, ai):
                a, b = posed(src, ai, t), posed(out, ai, t)
                ma, mb = measure_document(a), measure_document(b)
                _close_boxes(_fit_box(o, ma.lo, ma.hi), (mb.lo, mb.hi), f"{o.path} animation {ai} t={t:g}")
                ga, gb = SceneGraph(a.json), SceneGraph(b.json)
                ext = float(np.max(mb.hi - mb.lo))
                for i in range(len(src.json.get("nodes", []))):
                    if not origin_matters(src.json, i):
                        continue
                    want = ga.world[i][:3, 3] * o.scale + o.translation
                    got = gb.world[i][:3, 3]
                    assert np.max(np.abs(want - got)) <= 1e-5 * max(ext, 1.0), (
                        f"{o.path}: node {i} at t={t:g} is at {got}, expected {want}"
                    )


# --- the Khronos validator --------------------------------------------------------------------


def test_the_validator_finds_no_new_issue(corpus_models: list[Any], out_root: Path, validator: Any) -> None:
    pairs: list[tuple[Path, Path]] = []
    for entry in corpus_models:
        outs, _ = fitted_outputs(entry.file, entry.path, out_root)
        pairs += [(entry.file, o.path) for o in outs]
    reports = validator.validate(sorted({p for pair in pairs for p in pair}))
    problems = []
    for src, out in pairs:
        new = validator.new_issue_codes(reports[src], reports[out])
        if new:
            problems.append(f"{out}: {sorted(new)} ({reports[out].summary()})")
    assert not problems, "\n".join(problems[:20])


def test_outputs_are_deterministic(corpus_model: Any, tmp_path: Path) -> None:
    opts = REQUESTS["aspect"]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    apply_file(corpus_model.file, a / corpus_model.file.name, opts)
    apply_file(corpus_model.file, b / corpus_model.file.name, opts)
    for f in a.iterdir():
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name
