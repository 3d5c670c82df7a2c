"""USD, USDA, USDC and USDZ files through ``usd-core`` (the ``pxr`` package).

Frame
    A stage states its own frame: ``upAxis`` (``Y`` or ``Z``) and ``metersPerUnit``
    (USD's fallback when unauthored is ``Y`` and ``0.01``, centimetres). A stage point
    ``p`` is brought into meshpivot's frame (Y-up metres) by ``C = metersPerUnit * R``
    with ``R = I`` for Y-up and ``R: (x, y, z) -> (x, z, -y)`` for Z-up.

Measuring
    Every drawn gprim counts: active, defined, loaded prims (instance proxies
    included) that are not ``invisible`` and whose purpose is ``default`` or
    ``render`` (what a final render draws; ``proxy`` and ``guide`` do not count).
    Point-based gprims (meshes, points, curves) are measured from their ``points``
    mapped by their local-to-world transform, never from an authored ``extent``
    (which ``UsdGeom.BBoxCache`` trusts even when stale); a mesh counts only the
    points its ``faceVertexIndices`` reference. Skinned meshes are posed by their
    skeleton (``UsdSkel``; blend shapes are not applied). Implicit shapes (cube,
    sphere, ...) contribute the transformed corners of their computed extent, and
    point instancers the box ``UsdGeom.BBoxCache`` computes for them (which uses
    the prototypes' authored extents); both are noted. Values are read at the
    default time; when a drawn prim's points or transform have only time samples,
    the whole stage is read at its earliest time sample instead, and noted.

Writing
    The fit ``x' = s * x + t`` (Y-up metres) becomes, in the stage frame,
    ``C^-1 (s * C p + t)``: scale ``(sx, sy, sz)`` and translation ``t / mpu`` for a
    Y-up stage, scale ``(sx, sz, sy)`` and translation ``(tx, -tz, ty) / mpu`` for
    Z-up. It is recorded as two ops, ``xformOp:translate:meshpivot_fit`` and
    ``xformOp:scale:meshpivot_fit``, put first in ``xformOpOrder`` (the first op is
    the outermost) on every *topmost* xformable prim: a root xformable prim, or the
    first xformable below root prims that are not xformable (a ``Scope``, an
    untyped ``def``). Their parents contribute no transform, so each of them, and
    everything below it, ends up at ``Fit . world``: exactly the wrap of SPEC.md 7.
    For the usual asset (one default prim holding everything) that is the default
    prim alone. No prim is created, renamed or reparented, so paths that bindings,
    relationships and other files refer to stay valid.

    Only the root layer is edited, on an anonymous copy; the input and the layers
    it refers to are never written. The output format follows the output's
    extension (``.usda``, ``.usdc``, ``.usd``, ``.usdz``). A USDZ input is written
    back as a USDZ with every member in its order and, but for the root layer, byte
    for byte (textures included); written as a loose layer, the members are placed
    beside it. Files that a loose input refers to by relative paths inside its
    folder (sublayers, references, payloads, textures) are copied beside the output.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import (
    EmptyInputError,
    MeshPivotError,
    MissingDependencyError,
    NonFiniteInputError,
    NotBakeableError,
    UnreadableInputError,
    UnsupportedInputError,
)
from ..fit import Fit
from ..options import FitOptions
from ..scratch import locked_folder
from ..vectors import merge_bounds, point_bounds
from .base import Asset, Measurement, WriteReport

__all__ = [
    "FIT_OP_SUFFIX",
    "USD_EXTENSIONS",
    "WRAP_REASON",
    "StageFrame",
    "UsdAsset",
    "fit_in_stage_frame",
]

F64 = NDArray[np.float64]

#: Extensions this adapter reads and writes.
USD_EXTENSIONS: tuple[str, ...] = (".usd", ".usda", ".usdc", ".usdz")
#: The op suffix of the ops that record the fit (``xformOp:translate:meshpivot_fit``).
FIT_OP_SUFFIX = "meshpivot_fit"
#: The reason recorded for ``auto`` and ``wrap``.
WRAP_REASON = "USD records the fit as transform ops on the topmost xformable prims (the default prim)"
_BAKE_REFUSED = "USD output records the fit as a transform on the default prim; use wrap or auto"
_RESET = "!resetXformStack!"
_DRAWN_PURPOSES = ("default", "render")
_EXTRA = "pip install 'meshpivot[usd]'"


def _pxr() -> Any:
    """The ``pxr`` modules as a namespace, or MissingDependencyError."""
    try:
        from pxr import Gf, Sdf, Usd, UsdGeom, UsdSkel, UsdUtils, Vt  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(f"reading USD needs usd-core, which is not installed: {_EXTRA}") from None

    class _Pxr:
        pass

    ns: Any = _Pxr()
    ns.Gf, ns.Sdf, ns.Usd, ns.UsdGeom, ns.UsdSkel, ns.UsdUtils, ns.Vt = Gf, Sdf, Usd, UsdGeom, UsdSkel, UsdUtils, Vt
    return ns


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[-1].strip() if text else type(exc).__name__
    return line[:200]


@contextmanager
def _diagnostics(pxr: Any, notes: list[str]) -> Iterator[None]:
    """Collect USD's warnings as notes instead of letting them print on stderr."""
    delegate = pxr.UsdUtils.CoalescingDiagnosticDelegate()
    try:
        yield
    finally:
        seen: set[str] = set()
        for item in delegate.TakeUncoalescedDiagnostics():
            text = " ".join(str(item.commentary).split())[:300]
            if text and text not in seen:
                seen.add(text)
                notes.append(f"usd: {text}")
        del delegate


# --- frame ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFrame:
    """A stage's up axis and unit.

    Attributes
    ----------
    up : {'Y', 'Z'}
    meters_per_unit : float
    """

    up: str
    meters_per_unit: float

    def to_yup_metres(self, points: F64) -> F64:
        """(n, 3) stage points to Y-up metres (a new array)."""
        m = self.meters_per_unit
        if self.up == "Z":
            out = np.empty_like(points)
            out[:, 0] = points[:, 0] * m
            out[:, 1] = points[:, 2] * m
            out[:, 2] = points[:, 1] * -m
            return out
        return points * m


def fit_in_stage_frame(fit: Fit, frame: StageFrame) -> tuple[F64, F64]:
    """The fit as ``(scale, translation)`` in a stage's frame.

    Parameters
    ----------
    fit : Fit
        ``x' = scale * x + translation`` in Y-up metres.
    frame : StageFrame

    Returns
    -------
    scale, translation : (3,) float64
        ``p' = scale * p + translation`` for stage points ``p``.

    Examples
    --------
    >>> f = Fit(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3]), np.zeros(3), np.ones(3))
    >>> s, t = fit_in_stage_frame(f, StageFrame("Z", 0.5))
    >>> s.tolist(), t.tolist()
    ([1.0, 3.0, 2.0], [0.2, -0.6, 0.4])
    """
    s = np.asarray(fit.scale, dtype=np.float64)
    t = np.asarray(fit.translation, dtype=np.float64) / frame.meters_per_unit
    if frame.up == "Z":
        return np.array([s[0], s[2], s[1]]), np.array([t[0], -t[2], t[1]])
    return s.copy(), t


# --- measuring -----------------------------------------------------------------------


def _matrix(gf_matrix: Any) -> F64:
    """A Gf.Matrix4d as (4, 4) float64 (row vectors: ``[p, 1] @ M``)."""
    return np.array(gf_matrix, dtype=np.float64).reshape(4, 4)


def _to_world(points: F64, m: F64) -> F64:
    """(n, 3) local points mapped by a row-vector USD matrix, spelled out per column."""
    out = np.empty_like(points)
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    for j in range(3):
        col = out[:, j]
        np.multiply(x, m[0, j], out=col)
        col += y * m[1, j]
        col += z * m[2, j]
        col += m[3, j]
    return out


def _drawn_prims(pxr: Any, stage: Any, time: Any) -> Iterator[Any]:
    """Every prim that may draw (see the module docstring); children of point instancers skipped."""
    Usd, UsdGeom = pxr.Usd, pxr.UsdGeom
    it = iter(Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)))
    for prim in it:
        if prim.IsA(UsdGeom.Imageable):
            img = UsdGeom.Imageable(prim)
            if img.GetVisibilityAttr().Get(time) == UsdGeom.Tokens.invisible:
                it.PruneChildren()
                continue
            purpose = img.GetPurposeAttr().Get()
            if purpose and str(purpose) not in _DRAWN_PURPOSES:
                it.PruneChildren()
                continue
        if prim.IsA(UsdGeom.PointInstancer):
            it.PruneChildren()  # prototypes draw only through the instancer
            yield prim
        elif prim.IsA(UsdGeom.Gprim):
            yield prim


def _sampled_only(attr: Any, default: Any) -> bool:
    return bool(attr and attr.GetNumTimeSamples() > 0 and attr.Get(default) is None)


def _static_time(pxr: Any, stage: Any) -> tuple[Any, str | None]:
    """Default time, or the earliest time when drawn data exists only as time samples."""
    Usd, UsdGeom = pxr.Usd, pxr.UsdGeom
    default = Usd.TimeCode.Default()
    for prim in _drawn_prims(pxr, stage, default):
        if prim.IsA(UsdGeom.PointBased) and _sampled_only(UsdGeom.PointBased(prim).GetPointsAttr(), default):
            return Usd.TimeCode.EarliestTime(), f"{prim.GetPath()}.points has only time samples"
        p = prim
        while p and not p.IsPseudoRoot():
            if p.IsA(UsdGeom.Xformable):
                for op in UsdGeom.Xformable(p).GetOrderedXformOps():
                    if _sampled_only(op.GetAttr(), default):
                        return Usd.TimeCode.EarliestTime(), f"{op.GetAttr().GetPath()} has only time samples"
            p = p.GetParent()
    return default, None


def _skinned_points(pxr: Any, stage: Any, time: Any, notes: list[str]) -> dict[str, F64]:
    """World points (stage frame) of skinned point-based prims, by prim path."""
    Usd, UsdGeom, UsdSkel = pxr.Usd, pxr.UsdGeom, pxr.UsdSkel
    out: dict[str, F64] = {}
    roots = [p for p in stage.Traverse(Usd.TraverseInstanceProxies()) if p.IsA(UsdSkel.Root)]
    if not roots:
        return out
    cache = UsdSkel.Cache()
    blend = False
    for root_prim in roots:
        root = UsdSkel.Root(root_prim)
        cache.Populate(root, Usd.TraverseInstanceProxies())
        for binding in cache.ComputeSkelBindings(root, Usd.TraverseInstanceProxies()):
            skel_query = cache.GetSkelQuery(binding.GetSkeleton())
            xforms = skel_query.ComputeSkinningTransforms(time)
            skel_to_world = _matrix(UsdGeom.Xformable(skel_query.GetPrim()).ComputeLocalToWorldTransform(time))
            for target in binding.GetSkinningTargets():
                prim = target.GetPrim()
                if not prim.IsA(UsdGeom.PointBased) or xforms is None:
                    continue
                points = UsdGeom.PointBased(prim).GetPointsAttr().Get(time)
                if points is None:
                    continue
                if target.HasBlendShapes():
                    blend = True
                if not target.ComputeSkinnedPoints(xforms, points, time):
                    notes.append(f"{prim.GetPath()}: skinning failed; measured as authored")
                    continue
                local = np.array(points, dtype=np.float64).reshape(-1, 3)
                out[str(prim.GetPath())] = _to_world(local, skel_to_world)
    if out:
        notes.append(f"{len(out)} skinned prim(s) posed by their skeletons at the measured time")
    if blend:
        notes.append("blend shapes are not applied when measuring")
    return out


@dataclass
class _Measured:
    lo: F64
    hi: F64
    counts: dict[str, int]
    notes: list[str]


def _measure_stage(pxr: Any, stage: Any, frame: StageFrame) -> _Measured:
    UsdGeom = pxr.UsdGeom
    time, why = _static_time(pxr, stage)
    notes: list[str] = []
    if why is not None:
        notes.append(f"measured at the earliest time sample: {why}")
    skinned = _skinned_points(pxr, stage, time, notes)
    xf_cache = UsdGeom.XformCache(time)
    boxes: list[tuple[F64, F64]] = []
    counts = {"meshes": 0, "vertices": 0, "faces": 0, "gprims": 0}
    implicit: list[str] = []
    instancers: list[str] = []
    for prim in _drawn_prims(pxr, stage, time):
        path = str(prim.GetPath())
        counts["gprims"] += 1
        if prim.IsA(UsdGeom.PointInstancer):
            cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render], useExtentsHint=False)
            rng = cache.ComputeWorldBound(prim).ComputeAlignedRange()
            if not rng.IsEmpty():
                corners = _box_corners(np.array(rng.GetMin(), dtype=np.float64), np.array(rng.GetMax(), np.float64))
                boxes.append(point_bounds(frame.to_yup_metres(corners), what=path))
                instancers.append(path)
            continue
        world = _matrix(xf_cache.GetLocalToWorldTransform(prim))
        if prim.IsA(UsdGeom.PointBased):
            raw = UsdGeom.PointBased(prim).GetPointsAttr().Get(time)
            n_points = 0 if raw is None else len(raw)
            points: F64 | None = None
            if path in skinned:
                points = skinned[path]
            elif raw is not None and n_points:
                points = _to_world(np.array(raw, dtype=np.float64).reshape(-1, 3), world)
            if prim.IsA(UsdGeom.Mesh):
                mesh = UsdGeom.Mesh(prim)
                counts["meshes"] += 1
                fvc = mesh.GetFaceVertexCountsAttr().Get(time)
                counts["faces"] += 0 if fvc is None else len(fvc)
                fvi = mesh.GetFaceVertexIndicesAttr().Get(time)
                if points is not None and fvi is not None and len(fvi):
                    idx = np.unique(np.array(fvi, dtype=np.int64))
                    if idx[0] < 0 or idx[-1] >= n_points:
                        raise UnreadableInputError(
                            f"{path}: faceVertexIndices reach {int(idx[-1])} (or below 0) "
                            f"but the mesh has {n_points} points"
                        )
                    points = points[idx]
            counts["vertices"] += n_points
            if points is not None and len(points):
                boxes.append(point_bounds(frame.to_yup_metres(points), what=f"{path}.points"))
            continue
        extent = UsdGeom.Boundable.ComputeExtentFromPlugins(UsdGeom.Boundable(prim), time)
        if extent is not None and len(extent) == 2:
            local = _box_corners(np.array(extent[0], dtype=np.float64), np.array(extent[1], dtype=np.float64))
            boxes.append(point_bounds(frame.to_yup_metres(_to_world(local, world)), what=f"{path} extent"))
            implicit.append(path)
    if not boxes:
        raise EmptyInputError("the stage has no drawn geometry (no visible mesh, points or shape), so no box")
    lo, hi = merge_bounds(boxes)
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise NonFiniteInputError("a transformed vertex coordinate is NaN or infinite")
    if implicit:
        notes.append(f"{len(implicit)} implicit shape(s) measured by the corners of their extent, e.g. {implicit[0]}")
    if instancers:
        notes.append(f"{len(instancers)} point instancer(s) measured by USD's bbox (prototype extents)")
    return _Measured(lo, hi, counts, notes)


def _box_corners(lo: F64, hi: F64) -> F64:
    """(8, 3) corners of the box ``[lo, hi]``."""
    return np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])


# --- writing -------------------------------------------------------------------------


def _topmost_xformables(pxr: Any, stage: Any) -> list[Any]:
    """Xformable prims whose ancestors are not xformable (their parent-to-world is identity)."""
    UsdGeom = pxr.UsdGeom
    found: list[Any] = []
    todo = list(stage.GetPseudoRoot().GetChildren())
    while todo:
        prim = todo.pop(0)
        if prim.IsA(UsdGeom.Xformable):
            found.append(prim)
        else:
            todo[:0] = list(prim.GetChildren())
    return found


def _op_suffix(prim: Any) -> str:
    suffix, n = FIT_OP_SUFFIX, 1
    while prim.HasAttribute(f"xformOp:translate:{suffix}") or prim.HasAttribute(f"xformOp:scale:{suffix}"):
        n += 1
        suffix = f"{FIT_OP_SUFFIX}_{n}"
    return suffix


def _author_fit(pxr: Any, layer: Any, prim: Any, scale: F64, translation: F64) -> None:
    """Prepend the fit ops to ``prim``'s op order, authored in ``layer``."""
    Gf, Sdf, UsdGeom, Vt = pxr.Gf, pxr.Sdf, pxr.UsdGeom, pxr.Vt
    if prim.IsInstanceProxy():
        raise UnsupportedInputError(f"{prim.GetPath()} is inside an instance; its transform cannot be edited")
    suffix = _op_suffix(prim)
    order = [str(t) for t in (UsdGeom.Xformable(prim).GetXformOpOrderAttr().Get() or [])]
    t_name, s_name = f"xformOp:translate:{suffix}", f"xformOp:scale:{suffix}"
    head = [_RESET] if order[:1] == [_RESET] else []
    new_order = [*head, t_name, s_name, *order[len(head) :]]
    spec = Sdf.CreatePrimInLayer(layer, prim.GetPath())
    t_attr = Sdf.AttributeSpec(spec, t_name, Sdf.ValueTypeNames.Double3)
    t_attr.default = Gf.Vec3d(*(float(v) for v in translation))
    s_attr = Sdf.AttributeSpec(spec, s_name, Sdf.ValueTypeNames.Double3)
    s_attr.default = Gf.Vec3d(*(float(v) for v in scale))
    order_attr = spec.attributes.get("xformOpOrder") if "xformOpOrder" in spec.attributes else None
    if order_attr is None:
        order_attr = Sdf.AttributeSpec(spec, "xformOpOrder", Sdf.ValueTypeNames.TokenArray, Sdf.VariabilityUniform)
    order_attr.default = Vt.TokenArray(new_order)


def _is_text_layer(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(5) == b"#usda"


def _copy_dependencies(pxr: Any, src: Path, dest_dir: Path, notes: list[str]) -> list[tuple[str, Path]]:
    """Copy the files ``src`` refers to inside its folder into ``dest_dir`` at the same relative paths.

    Returns
    -------
    list of (str, Path)
        ``(relative name, copied file)`` for every file copied.
    """
    layers, assets, unresolved = pxr.UsdUtils.ComputeAllDependencies(str(src))
    base = src.parent.resolve()
    copied: list[tuple[str, Path]] = []
    outside: list[str] = []
    for dep in [*(lyr.realPath for lyr in layers), *assets]:
        if not dep:
            continue
        real = Path(dep).resolve()
        if real == src.resolve():
            continue
        try:
            rel = real.relative_to(base)
        except ValueError:
            outside.append(str(real))
            continue
        target = dest_dir / rel
        if real.is_file() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, target)
            copied.append((rel.as_posix(), target))
    if outside:
        notes.append(
            f"{len(outside)} referenced file(s) outside the input's folder were not copied "
            f"(the output refers to them as authored), e.g. {outside[0]}"
        )
    if unresolved:
        notes.append(
            f"{len(unresolved)} referenced file(s) could not be found and were not carried, e.g. {unresolved[0]!r}"
        )
    return copied


def _write_usdz(pxr: Any, members: list[tuple[str, Path]], dest: Path) -> None:
    """Write a USDZ (aligned, uncompressed) with ``(name in archive, file)`` members, in order."""
    writer = pxr.Sdf.ZipFileWriter.CreateNew(str(dest))
    for name, path in members:
        writer.AddFile(str(path), name)
    writer.Save()


class UsdAsset(Asset):
    """A ``.usd``, ``.usda``, ``.usdc`` or ``.usdz`` file.

    Parameters
    ----------
    path : Path
        The input; opened on first use, never modified.

    Raises
    ------
    MissingDependencyError
        ``usd-core`` is not installed.
    """

    writes = USD_EXTENSIONS

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path))
        self._pxr = _pxr()
        self._stage_obj: Any = None

    def _stage(self) -> Any:
        if self._stage_obj is None:
            Usd = self._pxr.Usd
            try:
                stage = Usd.Stage.Open(str(self.path), Usd.Stage.LoadAll)
            except Exception as exc:  # pxr raises Tf.ErrorException for any parse error
                reason = _first_line(exc)
                raise UnreadableInputError(f"USD data is corrupt or unreadable ({reason})", self.path) from None
            if stage is None:
                raise UnreadableInputError("USD data is corrupt or unreadable", self.path)
            self._stage_obj = stage
        return self._stage_obj

    def frame(self) -> StageFrame:
        """The stage's up axis and metres per unit (USD's fallbacks when unauthored)."""
        stage = self._stage()
        UsdGeom = self._pxr.UsdGeom
        up = str(UsdGeom.GetStageUpAxis(stage))
        if up not in ("Y", "Z"):
            raise UnsupportedInputError(f"upAxis is {up!r}; expected 'Y' or 'Z'", self.path)
        mpu = float(UsdGeom.GetStageMetersPerUnit(stage))
        if not (np.isfinite(mpu) and mpu > 0):
            raise UnsupportedInputError(f"metersPerUnit is {mpu!r}; expected a number > 0", self.path)
        return StageFrame(up, mpu)

    def _frame_notes(self, frame: StageFrame) -> list[str]:
        stage = self._stage()
        notes = [f"stage upAxis {frame.up}, metersPerUnit {frame.meters_per_unit:g}"]
        if not stage.HasAuthoredMetadata("metersPerUnit"):
            notes.append("metersPerUnit not authored: USD's fallback (0.01, centimetres) used")
        if not stage.HasAuthoredMetadata("upAxis"):
            notes.append(f"upAxis not authored: USD's fallback ({frame.up}) used")
        return notes

    def measure(self) -> Measurement:
        """Measure the stage (see the module docstring).

        Raises
        ------
        UnreadableInputError, UnsupportedInputError, EmptyInputError, NonFiniteInputError
        """
        usd_notes: list[str] = []
        try:
            with _diagnostics(self._pxr, usd_notes):
                frame = self.frame()
                measured = _measure_stage(self._pxr, self._stage(), frame)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None
        return Measurement(
            lo=measured.lo,
            hi=measured.hi,
            counts=measured.counts,
            format=self.path.suffix.lower().lstrip("."),
            notes=[*self._frame_notes(frame), *measured.notes, *usd_notes],
        )

    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Write the stage with the fit recorded as transform ops (see the module docstring).

        Raises
        ------
        NotBakeableError
            ``options.mode == 'bake'``.
        UnsupportedInputError
            ``dest`` is not a USD file, or a transform to edit is inside an instance.
        """
        dest = Path(dest)
        try:
            if options.mode == "bake":
                raise NotBakeableError(_BAKE_REFUSED)
            out_ext = dest.suffix.lower()
            if out_ext not in USD_EXTENSIONS:
                raise UnsupportedInputError(
                    f"cannot write {out_ext or '(no extension)'!r} from USD; expected one of "
                    f"{', '.join(USD_EXTENSIONS)} (convert to other formats with another tool)"
                )
            usd_notes: list[str] = []
            with _diagnostics(self._pxr, usd_notes):
                files, notes = self._write(fit, dest)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None
        return WriteReport(mode="wrap", reason=WRAP_REASON, files=files, notes=[*notes, *usd_notes])

    def _write(self, fit: Fit, dest: Path) -> tuple[list[Path], list[str]]:
        pxr = self._pxr
        stage = self._stage()
        scale, translation = fit_in_stage_frame(fit, self.frame())
        carriers = _topmost_xformables(pxr, stage)
        if not carriers:
            raise UnsupportedInputError("the stage has no xformable prim to carry the fit")
        notes: list[str] = []
        default = stage.GetDefaultPrim()
        names = [str(p.GetPath()) for p in carriers]
        if not (default and len(carriers) == 1 and carriers[0] == default):
            notes.append(f"fit ops written on {len(names)} topmost xformable prim(s): {', '.join(names[:5])}")
        in_usdz = self.path.suffix.lower() == ".usdz"
        try:
            layer = pxr.Sdf.Layer.OpenAsAnonymous(str(self.path))
        except Exception as exc:
            raise UnreadableInputError(f"cannot read the root layer ({_first_line(exc)})") from None
        for prim in carriers:
            _author_fit(pxr, layer, prim, scale, translation)
        with locked_folder("meshpivot-locked-usd-") as tmp:
            work = Path(tmp)
            if in_usdz:
                return self._write_from_usdz(layer, work, dest, notes)
            return self._write_from_loose(layer, work, dest, notes)

    def _export(self, layer: Any, target: Path, text: bool) -> None:
        args = {"format": "usda" if text else "usdc"} if target.suffix.lower() == ".usd" else {}
        try:
            ok = layer.Export(str(target), args=args)
        except Exception as exc:
            raise UnsupportedInputError(f"cannot write {target.name} ({_first_line(exc)})") from None
        if not ok:
            raise UnsupportedInputError(f"cannot write {target.name}")

    def _write_from_usdz(self, layer: Any, work: Path, dest: Path, notes: list[str]) -> tuple[list[Path], list[str]]:
        try:
            with zipfile.ZipFile(self.path) as zf:
                names = [i.filename for i in zf.infolist() if not i.is_dir()]
                zf.extractall(work / "pkg")
        except (OSError, zipfile.BadZipFile) as exc:
            raise UnreadableInputError(f"cannot unpack the USDZ ({exc})") from None
        root_name = names[0]
        pkg = work / "pkg"
        root_text = _is_text_layer(pkg / root_name)
        if dest.suffix.lower() == ".usdz":
            self._export(layer, work / ("root" + Path(root_name).suffix), root_text)
            members = [(n, work / ("root" + Path(root_name).suffix) if n == root_name else pkg / n) for n in names]
            _write_usdz(self._pxr, members, dest)
            return [dest], notes
        self._export(layer, dest, root_text)
        files = [dest]
        for name in names[1:]:
            target = dest.parent / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pkg / name, target)
            files.append(target)
        if len(names) > 1:
            notes.append(f"{len(names) - 1} USDZ member(s) (textures, layers) written beside the output")
        return files, notes

    def _write_from_loose(self, layer: Any, work: Path, dest: Path, notes: list[str]) -> tuple[list[Path], list[str]]:
        text = _is_text_layer(self.path)
        if dest.suffix.lower() == ".usdz":
            # Packaged by hand, asset paths as authored (UsdUtils.CreateNewUsdzPackage
            # renames them and gives up on any unresolved one).
            root = work / (self.path.stem + (".usda" if text else ".usdc"))
            self._export(layer, root, text)
            deps = _copy_dependencies(self._pxr, self.path, work / "deps", notes)
            _write_usdz(self._pxr, [(root.name, root), *deps], dest)
            return [dest], notes
        self._export(layer, dest, text)
        copied = _copy_dependencies(self._pxr, self.path, dest.parent, notes)
        return [dest, *(path for _, path in copied)], notes

    def close(self) -> None:
        """Release the stage (and with it the layers it holds)."""
        self._stage_obj = None
