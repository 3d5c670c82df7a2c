"""Bake a fit into a glTF document: no new node, everything rewritten exactly (SPEC.md 7).

The fit ``x' = S x + t`` acts in the scene's root frame. Node linear parts (rotation,
scale) are never changed; instead each node ``N`` with world linear part ``L_N`` gets

* its geometry mapped by ``G_N = L_N^-1 S L_N`` (``s I`` for a uniform scale),
* its children's local translations mapped by ``G_N`` too, and a root's translation
  by ``S`` followed by ``+ t``,

so that every node renders exactly where a wrapper node would put it. Around that:
normals by the cofactor of ``G``, tangents by ``G`` (``w`` times ``sign(det)``), morph
deltas by the linear part only, animation translation outputs like the translations
they drive (cubic-spline tangents without ``+ t``), inverse bind matrices, instance
translations, cameras, light ranges and ``KHR_materials_volume``.

Data that cannot be rewritten exactly (quantized or compressed positions) is left
as it is and the map is folded into the node's own scale where that is exact, or,
for skins, into the inverse bind matrices. When neither is exact the bake is refused
with :class:`~meshpivot.errors.NotBakeableError`, naming the node, mesh or extension.

Edits are planned first and applied per accessor: an accessor whose users all need
the same map is edited in place once; users that need another map (or none) get a
copy, appended 4-byte aligned. Bytes outside the edited accessors never change.

This module edits the document in place (:func:`bake_fit`).
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import MeshPivotError, NotBakeableError
from ..fit import Fit
from ..vectors import (
    CHUNK,
    cofactor,
    is_per_axis,
    shift_columns,
    transform_directions,
    transform_points,
    transform_tangents,
)
from .accessors import (
    AccessorInfo,
    _strided,
    accessor_info,
    accessor_view,
    decode_normalized,
    encode_values,
    read_accessor,
    update_min_max,
)
from .compression import draco_extension
from .document import Bytes, Deferred, GltfDocument, release_pages, view_range
from .scene import SceneGraph

__all__ = ["BAKE_SAFE_EXTENSIONS", "BakeReport", "bake_fit"]

F64 = NDArray[np.float64]
Values = NDArray[Any]
Fn = Callable[[Values, NDArray[np.intp]], Values]

#: Extensions whose data a bake handles, or that hold nothing spatial. Any other
#: extension may carry lengths or positions that a bake would not know to change.
BAKE_SAFE_EXTENSIONS = frozenset(
    {
        "KHR_draco_mesh_compression",
        "EXT_meshopt_compression",
        "KHR_mesh_quantization",
        "EXT_mesh_gpu_instancing",
        "KHR_lights_punctual",
        "KHR_materials_volume",
        "KHR_texture_transform",
        "KHR_texture_basisu",
        "EXT_texture_webp",
        "EXT_texture_avif",
        "KHR_materials_emissive_strength",
        "KHR_materials_clearcoat",
        "KHR_materials_ior",
        "KHR_materials_iridescence",
        "KHR_materials_sheen",
        "KHR_materials_specular",
        "KHR_materials_transmission",
        "KHR_materials_unlit",
        "KHR_materials_variants",
        "KHR_materials_anisotropy",
        "KHR_materials_dispersion",
        "KHR_materials_pbrSpecularGlossiness",
        "KHR_xmp_json_ld",
        "KHR_xmp",
        "MSFT_texture_dds",
    }
)

_FLOAT = 5126


@dataclass
class BakeReport:
    """What a bake did: ``reason`` for the user, ``notes`` on anything approximate."""

    reason: str
    notes: list[str] = field(default_factory=list)
    folded_nodes: list[int] = field(default_factory=list)
    copied_meshes: int = 0
    copied_accessors: int = 0


@dataclass
class _Ref:
    """One place in the JSON that references an accessor, and the map it needs there."""

    accessor: int
    key: tuple[Any, ...] | None  # None: must keep the original values
    fn: Fn | None
    set_index: Callable[[int], None]
    deps: tuple[int, ...] = ()


def _key(m: F64) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(m).ravel())


def _lin(m: F64) -> F64:
    """A diagonal matrix as its (3,) factors (applied elementwise, exactly), else itself."""
    if is_per_axis(m):
        return np.array(np.diag(m))
    return m


class _Baker:
    def __init__(self, doc: GltfDocument, fit: Fit, *, dequantize: bool = False) -> None:
        self.doc = doc
        self.data = doc.json
        self.fit = fit
        self.S = np.diag(fit.scale)
        self.t = fit.translation
        self.uniform = fit.is_uniform
        self.dequantize = dequantize
        self.dequantized: set[int] = set()
        self.s = float(fit.scale[0])
        self.graph = SceneGraph(self.data)
        self.nodes: list[dict[str, Any]] = self.data.get("nodes", [])
        self.refs: list[_Ref] = []
        self.report = BakeReport(reason="")
        self._orig: dict[int, Values] = {}
        self.absorbed: set[int] = set()  # root mesh nodes whose translation moves into the vertices
        self.G = [self._geometry_map(i) for i in range(len(self.nodes))]

    # ------------------------------------------------------------ maps per node

    def _geometry_map(self, i: int) -> F64:
        """``G_N = L^-1 S L`` for node ``i``: how its local geometry must change."""
        if self.uniform:
            return self.s * np.eye(3)
        lin = self.graph.world[i][:3, :3]
        if abs(np.linalg.det(lin)) < 1e-300:
            raise NotBakeableError(
                f"/nodes/{i} has a singular transform (a zero scale); a per-axis scale cannot be baked below it"
            )
        g: F64 = np.asarray(np.linalg.solve(lin, self.S @ lin), dtype=np.float64)
        # Clean rounding noise so that axis-aligned nodes keep a diagonal (exact) map.
        g[np.abs(g) < 1e-15 * np.abs(g).max()] = 0.0
        return g

    def _parent_map(self, i: int) -> F64:
        p = self.graph.parent[i]
        return self.S if p < 0 else self.G[p]

    # ------------------------------------------------------------ checks

    def check(self) -> None:
        used = self.data.get("extensionsUsed", [])
        unknown = [e for e in used if e not in BAKE_SAFE_EXTENSIONS]
        if unknown:
            raise NotBakeableError(f"extension {unknown[0]} may hold positions or lengths that a bake would not change")
        if not self.uniform:
            self._check_per_axis()

    def _check_per_axis(self) -> None:
        joints = {j for skin in self.data.get("skins", []) for j in skin.get("joints", [])}
        for a, anim in enumerate(self.data.get("animations", [])):
            for c, ch in enumerate(anim.get("channels", [])):
                target = ch.get("target", {})
                node, path = target.get("node"), target.get("path")
                if path not in ("rotation", "scale") or not isinstance(node, int):
                    continue
                n = self.nodes[node] if 0 <= node < len(self.nodes) else {}
                if "mesh" in n or n.get("children") or node in joints or "camera" in n:
                    raise NotBakeableError(
                        f"/animations/{a}/channels/{c} animates the {path} of /nodes/{node}; "
                        "a per-axis scale cannot be baked exactly under an animated rotation or scale"
                    )
        for i, n in enumerate(self.nodes):
            if "EXT_mesh_gpu_instancing" in n.get("extensions", {}):
                raise NotBakeableError(
                    f"/nodes/{i} uses EXT_mesh_gpu_instancing; a per-axis scale cannot be baked into "
                    "instance transforms exactly"
                )

    # ------------------------------------------------------------ editability

    def _plain_float(self, acc: int) -> bool:
        """True when accessor ``acc`` holds float data (or quantized data that may be
        dequantized) stored uncompressed."""
        try:
            info = accessor_info(self.doc, acc)
        except MeshPivotError:
            return False
        return (info.component_type == _FLOAT or self.dequantize) and self._writable(acc)

    def _editable_positions(self, mesh: int) -> str | None:
        """None when every position-like accessor of ``mesh`` can be rewritten, else why not."""
        for p, prim in enumerate(self.data["meshes"][mesh].get("primitives", [])):
            where = f"/meshes/{mesh}/primitives/{p}"
            if draco_extension(prim) is not None:
                return f"{where} is Draco-compressed"
            attrs = prim.get("attributes", {})
            if "POSITION" in attrs and not self._plain_float(attrs["POSITION"]):
                return f"{where} has quantized or compressed positions"
            for k, target in enumerate(prim.get("targets", [])):
                if "POSITION" in target and not self._plain_float(target["POSITION"]):
                    return f"{where}/targets/{k} has quantized or compressed position deltas"
            if not self.uniform:
                for sem in ("NORMAL", "TANGENT"):
                    if sem in attrs and not self._writable(attrs[sem]):
                        return f"{where} has a compressed {sem}"
        return None

    def _writable(self, acc: int) -> bool:
        """True when accessor ``acc``'s bytes are stored in the file as they are read: not
        Draco-decoded (no bufferView, no sparse part) and in no meshopt-compressed view."""
        info = accessor_info(self.doc, acc)
        if info.buffer_view is None and info.sparse is None:
            return False
        views = self.data.get("bufferViews", [])
        parts = [info.buffer_view]
        if info.sparse is not None:
            parts += [info.sparse.get("indices", {}).get("bufferView"), info.sparse.get("values", {}).get("bufferView")]
        return not any(
            isinstance(bv, int) and "EXT_meshopt_compression" in views[bv].get("extensions", {}) for bv in parts
        )

    # ------------------------------------------------------------ planning

    def plan(self) -> None:
        skins = self.data.get("skins", [])
        absorb = self._skins_that_absorb()
        # 1. decide the geometry map of each node that draws a mesh
        node_key: dict[int, tuple[Any, ...] | None] = {}
        fold: set[int] = set()
        animated = self._animated_nodes()
        for i, n in enumerate(self.nodes):
            if "mesh" not in n:
                continue
            if "skin" in n:
                node_key[i] = None if n["skin"] in absorb else ("lin", _key(self.s * np.eye(3)))
                continue
            why = self._editable_positions(n["mesh"])
            if why is None and self._moves_into_geometry(i, animated):
                node_key[i] = ("abs", _key(self.G[i]), _key(self.graph.local[i][:3, 3]))
                self.absorbed.add(i)
            elif why is None:
                node_key[i] = ("lin", _key(self.G[i]))
            else:
                self._check_fold(i, why)
                fold.add(i)
                node_key[i] = None
        # 2. a mesh whose users need different maps is copied
        by_mesh: dict[int, list[int]] = {}
        for i in node_key:
            by_mesh.setdefault(self.nodes[i]["mesh"], []).append(i)
        mesh_key: dict[int, tuple[Any, ...] | None] = {}
        mesh_node: dict[int, int] = {}
        for m, users in by_mesh.items():
            groups: dict[Any, list[int]] = {}
            for i in users:
                groups.setdefault(node_key[i], []).append(i)
            first = True
            for key, members in groups.items():
                target = m
                if not first:
                    target = len(self.data["meshes"])
                    self.data["meshes"].append(copy.deepcopy(self.data["meshes"][m]))
                    self.report.copied_meshes += 1
                    for i in members:
                        self.nodes[i]["mesh"] = target
                first = False
                mesh_key[target] = key
                mesh_node[target] = members[0]
        # 3. accessor references of every mesh
        for m, key in mesh_key.items():
            i = mesh_node[m]
            offset = self.graph.local[i][:3, 3] if i in self.absorbed else None
            self._plan_mesh(m, key, self.G[i] if key is not None else None, offset)
        # 4. skins
        for k, skin in enumerate(skins):
            self._plan_skin(k, skin, absorb=k in absorb)
        # 5. node translations, folds, animations, instancing
        self._plan_nodes(fold)
        self._plan_animations(fold)
        self._plan_instancing(fold)
        self.report.folded_nodes = sorted(fold)
        # 6. lengths stored outside accessors
        self._scale_lengths(fold)

    def _animated_nodes(self) -> set[int]:
        out: set[int] = set()
        for anim in self.data.get("animations", []):
            for ch in anim.get("channels", []):
                target = ch.get("target", {})
                if isinstance(target.get("node"), int) and target.get("path") != "weights":
                    out.add(target["node"])
        return out

    def _moves_into_geometry(self, i: int, animated: set[int]) -> bool:
        """True for a static root mesh node whose origin nothing else depends on.

        Its translation and the fit's ``t`` then go into the vertices, computed as the
        measurement computes world points, so a ``-0.5``/``+0.5`` pivot lands the extreme
        vertices on exactly zero (SPEC.md 4) instead of a float32 rounding away from it.
        """
        n = self.nodes[i]
        joints = {j for skin in self.data.get("skins", []) for j in skin.get("joints", [])}
        return (
            self.graph.parent[i] < 0
            and not n.get("children")
            and "camera" not in n
            and not n.get("extensions")
            and i not in animated
            and i not in joints  # a joint's origin moves the skinned meshes it drives
            and not self._baseless_sparse_positions(n["mesh"])
            and bool(np.array_equal(self.graph.local[i][:3, :3], np.eye(3)))
        )

    def _baseless_sparse_positions(self, mesh: int) -> bool:
        """True when a POSITION of ``mesh`` is sparse without a bufferView: its implicit
        zeros cannot take a translation (only the sparse values are stored)."""
        accessors = self.data.get("accessors", [])
        for prim in self.data["meshes"][mesh].get("primitives", []):
            a = prim.get("attributes", {}).get("POSITION")
            if isinstance(a, int) and 0 <= a < len(accessors):
                if "sparse" in accessors[a] and "bufferView" not in accessors[a]:
                    return True
        return False

    def _skins_that_absorb(self) -> set[int]:
        """Skins whose meshes keep their geometry; the map goes into the inverse bind matrices."""
        out: set[int] = set()
        for n in self.nodes:
            if "mesh" in n and "skin" in n:
                if not self.uniform or self._editable_positions(n["mesh"]) is not None:
                    out.add(n["skin"])
        return out

    def _check_fold(self, i: int, why: str) -> None:
        n = self.nodes[i]
        if n.get("children"):
            raise NotBakeableError(
                f"{why} and its node /nodes/{i} has children: folding the scale into the node would "
                "scale them too (use wrap, or dequantize the mesh first)"
            )
        if not self.uniform:
            local = self.graph.local[i][:3, :3] @ self.G[i]
            gram = local.T @ local
            if np.abs(gram - np.diag(np.diag(gram))).max() > 1e-12 * np.abs(gram).max():
                raise NotBakeableError(f"{why}; folding the per-axis scale into /nodes/{i} would shear it (use wrap)")
        for sem_material in self._materials_of(n["mesh"]):
            mat = self.data.get("materials", [])[sem_material]
            if "KHR_materials_volume" in mat.get("extensions", {}):
                raise NotBakeableError(f"{why} and uses a KHR_materials_volume material (use wrap)")

    def _materials_of(self, mesh: int) -> set[int]:
        return {
            p["material"] for p in self.data["meshes"][mesh].get("primitives", []) if isinstance(p.get("material"), int)
        }

    def _ref(
        self,
        acc: Any,
        key: tuple[Any, ...] | None,
        fn: Fn | None,
        setter: Callable[[int], None],
        deps: tuple[int, ...] = (),
    ) -> None:
        if isinstance(acc, int) and not isinstance(acc, bool):
            self.refs.append(_Ref(acc, key, fn, setter, deps))

    @staticmethod
    def _setter(obj: dict[str, Any], k: str) -> Callable[[int], None]:
        def set_index(v: int) -> None:
            obj[k] = v

        return set_index

    def _plan_mesh(self, m: int, key: tuple[Any, ...] | None, g: F64 | None, offset: F64 | None = None) -> None:
        for prim in self.data["meshes"][m].get("primitives", []):
            attrs = prim.get("attributes", {})
            for sem, acc in list(attrs.items()):
                fn: Fn | None = None
                kind = None
                if key is not None and g is not None:
                    if sem == "POSITION" and offset is not None:
                        kind, fn = "world-points", _world_points_fn(offset, _lin(g), self.t)
                    elif sem == "POSITION":
                        kind, fn = "points", _points_fn(_lin(g))
                    elif sem == "NORMAL" and not self.uniform:
                        kind, fn = "normals", _normals_fn(g)
                    elif sem == "TANGENT" and not self.uniform:
                        kind, fn = "tangents", _tangents_fn(g)
                self._ref(acc, None if fn is None else (kind, key), fn, self._setter(attrs, sem))
            base_n = attrs.get("NORMAL")
            base_t = attrs.get("TANGENT")
            for target in prim.get("targets", []):
                for sem, acc in list(target.items()):
                    fn = None
                    kind = None
                    deps: tuple[int, ...] = ()
                    if key is not None and g is not None:
                        if sem == "POSITION":
                            kind, fn = "deltas", _deltas_fn(_lin(g))
                        elif sem == "NORMAL" and not self.uniform:
                            kind, fn, deps = _normal_deltas(self, g, base_n)
                        elif sem == "TANGENT" and not self.uniform:
                            kind, fn, deps = _tangent_deltas(self, g, base_t)
                    k2 = None if fn is None else (kind, key, deps)
                    self._ref(acc, k2, fn, self._setter(target, sem), deps)
            for k, acc in (("indices", prim.get("indices")),):
                self._ref(acc, None, None, self._setter(prim, k))

    def _plan_skin(self, k: int, skin: dict[str, Any], *, absorb: bool) -> None:
        joints = skin.get("joints", [])
        ibm = skin.get("inverseBindMatrices")
        if absorb:
            maps = np.stack([self.G[j] for j in joints]) if joints else np.zeros((0, 3, 3))

            def absorb_fn(v: Values, rows: NDArray[np.intp], maps: F64 = maps) -> Values:
                mats = v.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)  # column-major
                out = mats.copy()
                out[:, :3, :] = np.einsum("nij,njk->nik", maps[rows], mats[:, :3, :])
                result: Values = out.transpose(0, 2, 1).reshape(len(v), 16)
                return result

            fn: Fn = absorb_fn
            key: tuple[Any, ...] = ("ibm-absorb", _key(maps))
        else:

            def scale_fn(v: Values, rows: NDArray[np.intp]) -> Values:
                out = np.array(v, dtype=np.float64)
                out[:, 12:15] *= self.s
                return out

            fn = scale_fn
            key = ("ibm-scale", self.s)
        if ibm is None:
            if absorb and joints:
                eye = np.tile(np.eye(4).T.reshape(1, 16), (len(joints), 1))
                skin["inverseBindMatrices"] = self._append_accessor(fn(eye, np.arange(len(joints))), "MAT4")
            return
        self._ref(ibm, key, fn, self._setter(skin, "inverseBindMatrices"))

    def _plan_nodes(self, fold: set[int]) -> None:
        for i, n in enumerate(self.nodes):
            if "mesh" in n and "skin" in n and not n.get("children"):
                continue  # renderers ignore a skinned mesh node's own transform: leave it as it is
            if i in self.absorbed:
                if "translation" in n:
                    n["translation"] = [0.0, 0.0, 0.0]  # moved into the vertices
                if "matrix" in n:
                    mat = list(n["matrix"])
                    mat[12:15] = [0.0, 0.0, 0.0]  # column-major: the translation column
                    n["matrix"] = mat
                    if mat == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]:
                        del n["matrix"]  # the validator flags an explicit identity (NODE_MATRIX_DEFAULT)
                continue
            pm = self._parent_map(i)
            root = self.graph.parent[i] < 0
            if "matrix" in n:
                mat = np.array(n["matrix"], dtype=np.float64).reshape(4, 4).T
                tr = _apply(pm, mat[:3, 3]) + (self.t if root else 0.0)
                if i in fold:
                    mat[:3, :3] = mat[:3, :3] @ self.G[i]
                mat[:3, 3] = tr
                n["matrix"] = [float(v) for v in mat.T.ravel()]
                continue
            tr0 = np.array(n.get("translation", [0.0, 0.0, 0.0]), dtype=np.float64)
            tr = _apply(pm, tr0) + (self.t if root else 0.0)
            if "translation" in n or np.any(tr != 0.0):
                n["translation"] = [float(v) for v in tr]
            if i in fold:
                g = self.G[i]
                # _check_fold proved R S G = R diag(d): the new scale is d.
                local = self.graph.local[i][:3, :3] @ g
                d = np.sqrt(np.diag(local.T @ local))
                old = np.array(n.get("scale", [1.0, 1.0, 1.0]), dtype=np.float64)
                d = np.where(old < 0, -d, d)
                n["scale"] = [float(v) for v in (old * self.s if self.uniform else d)]

    def _plan_animations(self, fold: set[int]) -> None:
        for anim in self.data.get("animations", []):
            samplers = anim.get("samplers", [])
            for ch in anim.get("channels", []):
                target = ch.get("target", {})
                node, path = target.get("node"), target.get("path")
                s_idx = ch.get("sampler")
                if not isinstance(node, int) or not isinstance(s_idx, int) or not 0 <= s_idx < len(samplers):
                    continue
                sampler = samplers[s_idx]
                cubic = sampler.get("interpolation") == "CUBICSPLINE"
                key: tuple[Any, ...]
                if path == "translation":
                    pm = self._parent_map(node)
                    add = self.t if self.graph.parent[node] < 0 else np.zeros(3)
                    key = ("anim-t", _key(pm), _key(add), cubic)
                    self._ref(
                        sampler.get("output"),
                        key,
                        _anim_translation_fn(pm, add, cubic),
                        self._setter(sampler, "output"),
                    )
                elif path == "scale" and node in fold:
                    key = ("anim-s", self.s)
                    self._ref(
                        sampler.get("output"), key, _deltas_fn(np.full(3, self.s)), self._setter(sampler, "output")
                    )
                else:
                    self._ref(sampler.get("output"), None, None, self._setter(sampler, "output"))
                self._ref(sampler.get("input"), None, None, self._setter(sampler, "input"))

    def _plan_instancing(self, fold: set[int]) -> None:
        for i, n in enumerate(self.nodes):
            ext = n.get("extensions", {}).get("EXT_mesh_gpu_instancing")
            if not isinstance(ext, dict):
                continue
            attrs = ext.get("attributes", {})
            for sem, acc in list(attrs.items()):
                if sem == "TRANSLATION" and i not in fold:
                    self._ref(acc, ("inst-t", self.s), _deltas_fn(np.full(3, self.s)), self._setter(attrs, sem))
                else:
                    self._ref(acc, None, None, self._setter(attrs, sem))

    def _scale_lengths(self, fold: set[int]) -> None:
        if not self.uniform:
            used = set(self.data.get("extensionsUsed", []))
            if self.data.get("cameras") or "KHR_lights_punctual" in used or "KHR_materials_volume" in used:
                self.report.notes.append(
                    "per-axis scale: camera projections, light ranges and volume thickness are kept as they were"
                )
            return
        s = self.s
        for cam in self.data.get("cameras", []):
            for kind in ("perspective", "orthographic"):
                proj = cam.get(kind)
                if isinstance(proj, dict):
                    for k in ("znear", "zfar", "xmag", "ymag"):
                        if isinstance(proj.get(k), (int, float)):
                            proj[k] = float(proj[k]) * s
        lights = self.data.get("extensions", {}).get("KHR_lights_punctual", {}).get("lights", [])
        for light in lights:
            if isinstance(light.get("range"), (int, float)):
                light["range"] = float(light["range"]) * s
        for mat in self.data.get("materials", []):
            vol = mat.get("extensions", {}).get("KHR_materials_volume")
            if isinstance(vol, dict):
                for k in ("thicknessFactor", "attenuationDistance"):
                    if isinstance(vol.get(k), (int, float)):
                        vol[k] = float(vol[k]) * s

    # ------------------------------------------------------------ execution

    def original(self, acc: int) -> Values:
        if acc not in self._orig:
            self._orig[acc] = read_accessor(self.doc, acc)
        return self._orig[acc]

    def execute(self) -> None:
        by_acc: dict[int, list[_Ref]] = {}
        for r in self.refs:
            by_acc.setdefault(r.accessor, []).append(r)
        aliased = _aliased_accessors(self.data)
        # Read, before any byte changes, every original that is needed after its accessor
        # may have been edited: a dependency of another edit (morph normal deltas read the
        # base normals), or an accessor whose users need more than one version. Others
        # are read chunk by chunk right before each chunk is rewritten.
        for acc, refs in by_acc.items():
            keys = {r.key for r in refs}
            if keys == {None}:
                continue
            for r in refs:
                for d in r.deps:
                    self.original(d)
            if len(keys) > 1 or acc in aliased or self.data["accessors"][acc].get("sparse") is not None:
                self.original(acc)
        for acc, refs in by_acc.items():
            groups: dict[Any, list[_Ref]] = {}
            for r in refs:
                groups.setdefault(r.key, []).append(r)
            if list(groups) == [None]:
                continue
            if not self._writable(acc):
                raise NotBakeableError(
                    f"/accessors/{acc} is stored compressed (EXT_meshopt_compression); baking it would "
                    "store it uncompressed"
                )
            # Keep the original where a user needs it unchanged or where its bytes are shared
            # with another accessor: those users get transformed copies.
            in_place_done = None in groups or acc in aliased
            quantized = self.dequantize and self.data["accessors"][acc].get("componentType") != _FLOAT
            for key, members in groups.items():
                if key is None:
                    continue
                fn = members[0].fn
                assert fn is not None
                if quantized and key[0] in ("points", "world-points", "deltas"):
                    # Asked to dequantize: the same accessor now holds float32 data.
                    if not in_place_done:
                        self._store_as_float(acc, fn)
                        in_place_done = True
                    else:
                        new = self._append_accessor(fn(self.original(acc), np.arange(len(self.original(acc)))), "VEC3")
                        self._refresh_min_max(new, force=True)
                        for r in members:
                            r.set_index(new)
                    continue
                if not in_place_done:
                    self._write_in_place(acc, fn)
                    in_place_done = True
                    continue
                new = self._copy_accessor(acc, fn)
                for r in members:
                    r.set_index(new)

    def _write_in_place(self, acc: int, fn: Fn) -> None:
        info = accessor_info(self.doc, acc)
        if info.sparse is None:
            assert info.buffer_view is not None  # _writable() excluded Draco-decoded accessors
            self._rewrite_dense(acc, info, fn)
            return
        orig = self.original(acc).reshape(info.count, info.ncomp)
        sparse = info.sparse
        n = int(sparse["count"])
        idx = read_sparse_indices(self.doc, info)
        if info.buffer_view is not None:
            base = _base_values(self.doc, info)
            _store(
                self.doc,
                info,
                info.buffer_view,
                info.byte_offset,
                info.stride,
                fn(base, np.arange(info.count, dtype=np.intp)),
            )
        vals = orig[idx]
        vpart = sparse["values"]
        _store(
            self.doc,
            info,
            int(vpart["bufferView"]),
            int(vpart.get("byteOffset", 0)),
            info.ncomp * info.dtype.itemsize,
            fn(vals, idx),
            count=n,
        )
        self._refresh_min_max(acc)

    def _store_as_float(self, acc: int, fn: Fn) -> None:
        """Replace quantized accessor ``acc``'s storage by float32 values (same index)."""
        orig = self.original(acc)
        values = np.asarray(fn(orig, np.arange(len(orig), dtype=np.intp)), dtype="<f4")
        buf, off = self.doc.append_bytes(np.ascontiguousarray(values))
        a = self.data["accessors"][acc]
        old = a.get("bufferView")
        if isinstance(old, int) and _view_users(self.data, old) == {acc}:
            # Its only user moves: repoint the same view, so that no view is left unused.
            v = self.data["bufferViews"][old]
            v["buffer"] = buf
            v["byteOffset"] = off
            v["byteLength"] = values.nbytes
            v.pop("byteStride", None)
            view = old
        else:
            view = self.doc.add_buffer_view(buf, off, values.nbytes, target=34962)
        for k in ("byteOffset", "normalized", "sparse"):
            a.pop(k, None)
        a["bufferView"] = view
        a["componentType"] = _FLOAT
        self.dequantized.add(acc)
        self._refresh_min_max(acc, force=True)

    def _defer_dense(self, acc: int, info: AccessorInfo, fn: Fn) -> bool:
        """Rewrite a tightly packed accessor while the output is written, chunk by chunk from
        the original bytes, so that no copy of it is held (``False``: not such an accessor)."""
        size = info.ncomp * info.dtype.itemsize
        if info.buffer_view is None or info.stride != size or info.count == 0:
            return False
        buffer, offset, _ = view_range(self.data, info.buffer_view)
        src = accessor_view(self.doc, acc)  # the bytes as read: the file map stays until written

        def stored(start: int = 0, stop: int = info.count) -> Iterator[Values]:
            for vals, rows in _original_chunks(info, src, STREAM_ROWS, start, stop):
                yield encode_values(info, fn(vals, rows))

        def produce(start: int = 0, stop: int = info.count) -> Iterator[Bytes]:
            # Steps are small (cache-sized); writes are large: gather steps into one buffer.
            buf = np.empty(min(stop - start, CHUNK) * size, dtype=np.uint8)
            fill = 0
            for chunk in stored(start, stop):
                raw = chunk.astype(chunk.dtype.newbyteorder("<"), copy=False).reshape(-1).view(np.uint8)
                if fill + len(raw) > len(buf):
                    yield buf[:fill]
                    fill = 0
                buf[fill : fill + len(raw)] = raw
                fill += len(raw)
            if fill:
                yield buf[:fill]

        def pieces() -> list[Deferred]:
            cuts = [*range(0, info.count, PIECE_ROWS), info.count]
            return [Deferred((b - a) * size, functools.partial(produce, a, b)) for a, b in itertools.pairwise(cuts)]

        if not self.doc.defer_range(buffer, offset + info.byte_offset, Deferred(info.count * size, produce, pieces)):
            return False
        if self._wants_min_max(acc):
            if isinstance(fn, _PerAxis):
                # Monotone per component: the stored extremes are the images of the input's.
                lo, hi = _stored_bounds(info, src, self.doc.stored_bounds.get(acc))
                ends = encode_values(info, fn(np.stack([lo, hi]), np.arange(2, dtype=np.intp)))
                self._set_min_max(acc, info, (ends.min(axis=0), ends.max(axis=0)))
            else:
                self._set_min_max(acc, info, _column_bounds(stored()))
        return True

    def _rewrite_dense(self, acc: int, info: AccessorInfo, fn: Fn) -> None:
        """Rewrite a plain accessor in place, chunk by chunk; min/max from the stored chunks."""
        assert info.buffer_view is not None
        orig = self._orig.get(acc)
        if info.count == 0 or (orig is None and self._defer_dense(acc, info, fn)):
            return
        if orig is None:
            chunks = _original_chunks(info, accessor_view(self.doc, acc))  # still the original bytes
        else:  # already decoded
            values = orig.reshape(info.count, info.ncomp)
            steps = range(0, info.count, CHUNK)
            chunks = ((values[k : k + CHUNK], np.arange(k, min(k + CHUNK, info.count))) for k in steps)
        raw = self.doc.view_bytes(info.buffer_view, writable=True)
        out = np.ndarray(
            (info.count, info.ncomp),
            dtype=info.dtype,
            buffer=raw,
            offset=info.byte_offset,
            strides=(info.stride, info.dtype.itemsize),
        )

        def stored() -> Iterator[Values]:
            for vals, rows in chunks:
                new = encode_values(info, fn(vals, rows))
                out[rows[0] : rows[0] + len(rows)] = new
                yield new

        bounds = _column_bounds(stored())  # rewrites every chunk, whether or not min/max are kept
        if self._wants_min_max(acc):
            self._set_min_max(acc, info, bounds)

    def _wants_min_max(self, acc: int) -> bool:
        a = self.data["accessors"][acc]
        return "min" in a or "max" in a

    def _set_min_max(self, acc: int, info: AccessorInfo, bounds: tuple[NDArray[Any], NDArray[Any]]) -> None:
        """Write ``bounds`` of the stored values as the accessor's min/max (integers stay integers)."""
        cast = int if info.dtype.kind in "iu" else float
        a = self.data["accessors"][acc]
        a["min"] = [cast(v) for v in bounds[0]]
        a["max"] = [cast(v) for v in bounds[1]]

    def _copy_accessor(self, acc: int, fn: Fn) -> int:
        info = accessor_info(self.doc, acc)
        orig = self.original(acc).reshape(info.count, info.ncomp)
        new = fn(orig, np.arange(info.count, dtype=np.intp))
        src = self.data["accessors"][acc]
        idx = self._append_accessor(encode_values(info, new), info.type, info=info)
        dst = self.data["accessors"][idx]
        for k in ("name", "extras", "extensions"):
            if k in src:
                dst[k] = copy.deepcopy(src[k])
        self.report.copied_accessors += 1
        self._refresh_min_max(idx, force="min" in src)
        return idx

    def _append_accessor(self, values: Values, type_: str, info: AccessorInfo | None = None) -> int:
        if info is None:
            stored = np.asarray(values, dtype="<f4")
            ctype, normalized = _FLOAT, False
        else:
            stored = values
            ctype, normalized = info.component_type, info.normalized
        count = len(stored)
        buf, off = self.doc.append_bytes(np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<")))
        view = self.doc.add_buffer_view(buf, off, stored.nbytes)
        return self.doc.add_accessor(view, ctype, count, type_, normalized=normalized)

    def _refresh_min_max(self, acc: int, force: bool = False) -> None:
        a = self.data["accessors"][acc]
        if force or "min" in a or "max" in a:
            update_min_max(self.doc, acc)


def _original_chunks(
    info: AccessorInfo, src: Values, step: int = CHUNK, start: int = 0, stop: int | None = None
) -> Iterator[tuple[Values, NDArray[np.intp]]]:
    """``(values, rows)`` of the accessor view ``src`` (rows ``start..stop``, default all),
    ``step`` rows at a time, decoded (plain data as views, not copied); each ``CHUNK``-row
    block's file pages are dropped once read."""
    stop = info.count if stop is None else stop
    for block in range(start, stop, CHUNK):
        end = min(block + CHUNK, stop)
        for k in range(block, end, step):
            part = src[k : min(k + step, end)].reshape(-1, info.ncomp)
            yield (decode_normalized(part) if info.normalized else part), np.arange(k, k + len(part))
        release_pages(src[block:end])


def _stored_bounds(
    info: AccessorInfo, src: Values, noted: tuple[NDArray[Any], NDArray[Any]] | None = None
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per-column min and max of the accessor view ``src``, decoded, in its own type.

    ``noted``: the same, as measuring found them (:attr:`GltfDocument.stored_bounds`), so
    that the values are not read again; else :func:`_column_bounds` reads them. Where a
    bound is zero the two may differ in its sign (which of 0.0 and -0.0 a reduction keeps
    is numpy's choice), so such bounds are read again: the output stays the same bytes.
    """
    if noted is not None and np.all(noted[0] != 0) and np.all(noted[1] != 0):
        return noted[0].astype(src.dtype), noted[1].astype(src.dtype)  # float32 values: exact
    return _column_bounds(vals for vals, _ in _original_chunks(info, src))


def _column_bounds(chunks: Iterable[Values]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per-column min and max over ``(n, k)`` chunks (NaN propagates, as ``min`` does)."""
    lo: NDArray[Any] | None = None
    hi: NDArray[Any] | None = None
    for chunk in chunks:
        c_lo = np.array([chunk[:, c].min() for c in range(chunk.shape[1])])
        c_hi = np.array([chunk[:, c].max() for c in range(chunk.shape[1])])
        lo = c_lo if lo is None else np.minimum(lo, c_lo)
        hi = c_hi if hi is None else np.maximum(hi, c_hi)
    assert lo is not None and hi is not None
    return lo, hi


# ---------------------------------------------------------------- per-array maps


def _apply(m: F64, v: F64) -> F64:
    lin = _lin(m)
    if lin.ndim == 1:
        return np.asarray(v * lin, dtype=np.float64)
    return np.asarray(m @ v, dtype=np.float64)


#: Rows per step when a rewrite streams into the output: small enough that the float64
#: temporaries of one step (1.5 MB each) stay in the CPU cache and are reused, not fresh
#: pages; large enough that a step is mostly numpy loops, which release the GIL, so that
#: both writer threads compute at once (8192 rows: 0.38 s to write the 10M-vertex bench
#: output; 65536: 0.28 s).
STREAM_ROWS = 1 << 16
#: Rows per piece of a streamed rewrite: the writer's threads share the pieces of a large
#: accessor (:meth:`Deferred.split`), so neither waits for the other to finish one alone.
PIECE_ROWS = 4 * CHUNK


@dataclass(frozen=True)
class _PerAxis:
    """A map in which output component ``c`` is a monotone function of input component ``c``
    alone (per-axis factors, then an offset). Its min/max follow from the input's min/max."""

    fn: Fn

    def __call__(self, v: Values, rows: NDArray[np.intp]) -> Values:
        return self.fn(v, rows)


def _per_axis_if(lin: F64, fn: Fn) -> Fn:
    """``fn`` marked as a :class:`_PerAxis` map when ``lin`` is per-axis factors."""
    return _PerAxis(fn) if lin.ndim == 1 else fn


def _wide(v: Values) -> Values:
    """``v`` for the vector functions, which compute in float64 and cast the result back to
    the input's type once: float data as it is (no extra copy), integers widened first
    (their results are rounded by :func:`encode_values`, not truncated by a cast)."""
    arr = np.asarray(v)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _points_fn(lin: F64) -> Fn:
    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        return np.asarray(transform_points(_wide(v), lin, np.zeros(3)))

    return _per_axis_if(lin, fn)


def _world_points_fn(offset: F64, lin: F64, t: F64) -> Fn:
    """Points of a root node with translation ``offset`` and no rotation/scale, moved into the root frame."""

    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        world = shift_columns(np.array(v, dtype=np.float64), offset)  # as the measurement computes world points
        return np.asarray(transform_points(world, lin, t))

    return _per_axis_if(lin, fn)


def _deltas_fn(lin: F64) -> Fn:
    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        return np.asarray(transform_directions(_wide(v), lin))

    return _per_axis_if(lin, fn)


def _normals_fn(g: F64) -> Fn:
    c = cofactor(g)  # once, not per chunk: transform_normals(v, g) is this, renormalised

    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        return np.asarray(transform_directions(_wide(v), c, normalize=True))

    return fn


def _tangents_fn(g: F64) -> Fn:
    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        return np.asarray(transform_tangents(np.asarray(v, dtype=np.float64), g))

    return fn


def _unit(v: F64) -> F64:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    out: F64 = np.divide(v, n, out=np.zeros_like(v), where=n > 0)
    return out


def _normal_deltas(baker: _Baker, g: F64, base: Any) -> tuple[str, Fn, tuple[int, ...]]:
    """Morph normal deltas: exact at weight 1, ``d' = unit(C (n + d)) - unit(C n)``."""
    c = cofactor(g)
    if not isinstance(base, int):
        return "ndeltas", _deltas_fn(c), ()

    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        n = np.asarray(baker.original(base), dtype=np.float64)[rows]
        d = np.asarray(v, dtype=np.float64)
        return _unit((n + d) @ c.T) - _unit(n @ c.T)

    return "ndeltas", fn, (base,)


def _tangent_deltas(baker: _Baker, g: F64, base: Any) -> tuple[str, Fn, tuple[int, ...]]:
    """Morph tangent deltas (xyz): ``d' = unit(G (t + d)) - unit(G t)``."""
    if not isinstance(base, int):
        return "tdeltas", _deltas_fn(g), ()

    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        t = np.asarray(baker.original(base), dtype=np.float64)[rows, :3]
        d = np.asarray(v, dtype=np.float64)
        return _unit((t + d) @ g.T) - _unit(t @ g.T)

    return "tdeltas", fn, (base,)


def _anim_translation_fn(pm: F64, add: F64, cubic: bool) -> Fn:
    lin = _lin(pm)

    def fn(v: Values, rows: NDArray[np.intp]) -> Values:
        out = np.asarray(transform_directions(np.asarray(v, dtype=np.float64), lin), dtype=np.float64)
        if cubic:
            out[rows % 3 == 1] += add  # in-tangent, value, out-tangent per keyframe
        else:
            out += add
        return out

    return fn


# ---------------------------------------------------------------- storage


def _store(
    doc: GltfDocument, info: AccessorInfo, view: int, offset: int, stride: int, values: Values, count: int | None = None
) -> None:
    n = info.count if count is None else count
    raw = doc.view_bytes(view, writable=True)
    out = np.ndarray(
        (n, info.ncomp), dtype=info.dtype, buffer=raw, offset=offset, strides=(stride, info.dtype.itemsize)
    )
    out[...] = encode_values(info, values)


def read_sparse_indices(doc: GltfDocument, info: AccessorInfo) -> NDArray[np.intp]:
    """The element indices of a sparse accessor, as ``intp``."""
    from .accessors import COMPONENT_DTYPES

    assert info.sparse is not None
    part = info.sparse["indices"]
    dtype = COMPONENT_DTYPES[part["componentType"]]
    raw = doc.view_bytes(int(part["bufferView"]))
    n = int(info.sparse["count"])
    return np.frombuffer(raw, dtype=dtype, count=n, offset=int(part.get("byteOffset", 0))).astype(np.intp)


def _base_values(doc: GltfDocument, info: AccessorInfo) -> Values:
    from .accessors import decode_normalized

    assert info.buffer_view is not None
    raw = doc.view_bytes(info.buffer_view)
    base = np.array(_strided(raw, info, info.byte_offset, info.count, info.stride)).reshape(info.count, info.ncomp)
    return decode_normalized(base) if info.normalized else base.astype(np.float64)


def _view_users(data: dict[str, Any], view: int) -> set[int | str]:
    """Accessors (by index) and other objects (by JSON pointer) that reference bufferView ``view``."""
    users: set[int | str] = set()
    for a, acc in enumerate(data.get("accessors", [])):
        sparse = acc.get("sparse") or {}
        if view in (
            acc.get("bufferView"),
            sparse.get("indices", {}).get("bufferView"),
            sparse.get("values", {}).get("bufferView"),
        ):
            users.add(a)
    for i, img in enumerate(data.get("images", [])):
        if img.get("bufferView") == view:
            users.add(f"/images/{i}")
    for m, mesh in enumerate(data.get("meshes", [])):
        for p, prim in enumerate(mesh.get("primitives", [])):
            draco = prim.get("extensions", {}).get("KHR_draco_mesh_compression", {})
            if draco.get("bufferView") == view:
                users.add(f"/meshes/{m}/primitives/{p}")
    return users


def _aliased_accessors(data: dict[str, Any]) -> set[int]:
    """Accessors whose stored bytes overlap another accessor's (conservatively)."""
    from .accessors import COMPONENT_DTYPES, TYPE_SIZES

    views = data.get("bufferViews", [])
    spans: list[tuple[int, int, int, int]] = []  # (buffer, first byte, end byte, accessor)

    def add(a: int, bv: Any, off: Any, count: Any, elem: int, stride: int) -> None:
        if not isinstance(bv, int) or not 0 <= bv < len(views) or not isinstance(count, int) or count <= 0:
            return
        view = views[bv]
        start = int(view.get("byteOffset", 0)) + int(off or 0)
        spans.append((int(view.get("buffer", 0)), start, start + stride * (count - 1) + elem, a))

    for a, acc in enumerate(data.get("accessors", [])):
        dt = COMPONENT_DTYPES.get(acc.get("componentType"))
        ncomp = TYPE_SIZES.get(acc.get("type"))
        if dt is None or ncomp is None:
            continue
        elem = dt.itemsize * ncomp
        bv = acc.get("bufferView")
        if isinstance(bv, int) and 0 <= bv < len(views):
            stride = int(views[bv].get("byteStride") or elem)
            add(a, bv, acc.get("byteOffset"), acc.get("count"), elem, stride)
        sparse = acc.get("sparse")
        if isinstance(sparse, dict):
            n = sparse.get("count")
            idx = sparse.get("indices", {})
            idt = COMPONENT_DTYPES.get(idx.get("componentType"))
            if idt is not None:
                add(a, idx.get("bufferView"), idx.get("byteOffset"), n, idt.itemsize, idt.itemsize)
            val = sparse.get("values", {})
            add(a, val.get("bufferView"), val.get("byteOffset"), n, elem, elem)
    out: set[int] = set()
    spans.sort()
    # Interleaved attributes share bytes ranges without sharing bytes: compare the
    # per-element byte slots when two accessors share a view and a stride.
    slots = _slots(data)
    for k in range(len(spans)):
        b, _, e0, a0 = spans[k]
        for j in range(k + 1, len(spans)):
            b1, s1, _, a1 = spans[j]
            if b1 != b or s1 >= e0:
                break
            if a1 != a0 and not _disjoint_slots(slots.get(a0), slots.get(a1)):
                out.update((a0, a1))
    return out


def _slots(data: dict[str, Any]) -> dict[int, tuple[int, int, int, int]]:
    """(bufferView, stride, first byte in element slot, last byte) of plain strided accessors."""
    from .accessors import COMPONENT_DTYPES, TYPE_SIZES

    views = data.get("bufferViews", [])
    out: dict[int, tuple[int, int, int, int]] = {}
    for a, acc in enumerate(data.get("accessors", [])):
        bv = acc.get("bufferView")
        if not isinstance(bv, int) or "sparse" in acc or not 0 <= bv < len(views):
            continue
        stride = views[bv].get("byteStride")
        dt = COMPONENT_DTYPES.get(acc.get("componentType"))
        ncomp = TYPE_SIZES.get(acc.get("type"))
        if not stride or dt is None or ncomp is None:
            continue
        off = int(acc.get("byteOffset", 0))
        out[a] = (bv, int(stride), off, off + dt.itemsize * ncomp)
    return out


def _disjoint_slots(a: tuple[int, int, int, int] | None, b: tuple[int, int, int, int] | None) -> bool:
    if a is None or b is None or a[0] != b[0] or a[1] != b[1]:
        return False
    stride = a[1]
    if a[3] - a[2] > stride or b[3] - b[2] > stride:
        return False
    a0, a1 = a[2] % stride, a[2] % stride + (a[3] - a[2])
    b0, b1 = b[2] % stride, b[2] % stride + (b[3] - b[2])
    if a1 > stride or b1 > stride:
        return False
    return a1 <= b0 or b1 <= a0


def bake_fit(doc: GltfDocument, fit: Fit, *, dequantize: bool = False) -> BakeReport:
    """Rewrite ``doc`` so that it renders as ``fit`` maps it, without a new node.

    Modified in place: the JSON and the buffers of ``doc``.

    Parameters
    ----------
    doc : GltfDocument
    fit : Fit
    dequantize : bool
        Rewrite quantized (integer) positions and morph position deltas as float32
        instead of folding the fit into their node; compressed data is never re-encoded.

    Returns
    -------
    BakeReport

    Raises
    ------
    NotBakeableError
        The fit cannot be baked exactly; the message names the node, mesh, animation
        or extension. ``doc`` may be partly edited then: open the file again.
    """
    baker = _Baker(doc, fit, dequantize=dequantize)
    baker.check()
    baker.plan()
    baker.execute()
    r = baker.report
    kind = "uniform scale" if baker.uniform else "per-axis scale"
    parts = [f"geometry and node translations rewritten exactly ({kind})"]
    if r.folded_nodes:
        parts.append(f"folded into the scale of {len(r.folded_nodes)} node(s) with quantized or compressed geometry")
    if r.copied_meshes:
        parts.append(f"{r.copied_meshes} mesh(es) copied for users that need different maps")
    if baker.dequantized:
        parts.append(f"{len(baker.dequantized)} quantized accessor(s) dequantized to float32 as asked")
    r.reason = "; ".join(parts)
    return r
