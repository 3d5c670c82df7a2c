"""USD, USDA, USDC and USDZ files (meshpivot.formats.usd).

Fixtures are built here with usd-core; expected boxes are worked out by hand in
each test. Skipped when usd-core is missing, failed instead under CI.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from meshpivot.api import apply_file, inspect_file, verify_file
from meshpivot.errors import (
    EmptyInputError,
    NonFiniteInputError,
    NotBakeableError,
    UnreadableInputError,
    UnsupportedInputError,
)
from meshpivot.fit import Fit, compute_fit
from meshpivot.formats import open_asset
from meshpivot.options import FitOptions

if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
    import pxr  # noqa: F401 - required under CI: fail loudly if missing
pytest.importorskip("pxr", reason="usd-core is not installed (pip install 'meshpivot[usd]')")

from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade, UsdSkel, UsdUtils, Vt

from meshpivot.formats.usd import (
    FIT_OP_SUFFIX,
    StageFrame,
    UsdAsset,
    fit_in_stage_frame,
)

TARGET = (1.0, 2.0, 0.5)
BOTTOM = (0.0, -0.5, 0.0)
OPTIONS = FitOptions(scaled_bbox=TARGET, pivot_point=BOTTOM)
MOCAP = Path(__file__).resolve().parents[1].parent / "shared" / "formats" / "USD" / "MotionCaptureROM.usdc"
T_OP = f"xformOp:translate:{FIT_OP_SUFFIX}"
S_OP = f"xformOp:scale:{FIT_OP_SUFFIX}"


# --- fixtures built with pxr ----------------------------------------------------------


def _cube_points(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> list[Gf.Vec3f]:
    return [Gf.Vec3f(*(hi[i] if (k >> i) & 1 else lo[i] for i in range(3))) for k in range(8)]


def _mesh(stage: Any, path: str, points: list[Gf.Vec3f], faces: list[list[int]] | None = None) -> Any:
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray(points))
    faces = faces if faces is not None else [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4]]
    mesh.CreateFaceVertexCountsAttr([len(f) for f in faces])
    mesh.CreateFaceVertexIndicesAttr([i for f in faces for i in f])
    return mesh


def _new_stage(path: Path, up: str = "Y", mpu: float = 1.0) -> Any:
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, up)
    UsdGeom.SetStageMetersPerUnit(stage, mpu)
    return stage


def make_yup_cm(path: Path) -> Path:
    """Y-up centimetres: a 100 cm cube at [0, 100]^3 under /root translated by (10, 20, 30) cm."""
    stage = _new_stage(path, "Y", 0.01)
    root = UsdGeom.Xform.Define(stage, "/root")
    root.AddTranslateOp().Set(Gf.Vec3d(10, 20, 30))
    _mesh(stage, "/root/cube", _cube_points((0, 0, 0), (100, 100, 100)))
    stage.SetDefaultPrim(root.GetPrim())
    stage.Save()
    return path


def make_zup_m(path: Path) -> Path:
    """Z-up metres: a box x in [1, 2], y in [3, 5], z in [6, 9]."""
    stage = _new_stage(path, "Z", 1.0)
    root = UsdGeom.Xform.Define(stage, "/root")
    _mesh(stage, "/root/box", _cube_points((1, 3, 6), (2, 5, 9)))
    stage.SetDefaultPrim(root.GetPrim())
    stage.Save()
    return path


def make_nested(path: Path) -> Path:
    """Y-up metres. /root: translate (1,0,0), rotateZ 90, scale 2 (op order: first is outermost).

    /root/a/unit: the unit cube [0,1]^3 -> scale [0,2]^3 -> rotZ90 (x,y)->(-y,x): x [-2,0], y [0,2]
    -> translate: x [-1,1]. /root/b (translate (0,0,3), scale (1,1,0.5)) / small: [5,6]^3 -> z [5.5,6].
    Box: lo (-1, 0, 0), hi (6, 6, 6).
    """
    stage = _new_stage(path, "Y", 1.0)
    root = UsdGeom.Xform.Define(stage, "/root")
    root.AddTranslateOp().Set(Gf.Vec3d(1, 0, 0))
    root.AddRotateZOp().Set(90.0)
    root.AddScaleOp().Set(Gf.Vec3f(2, 2, 2))
    UsdGeom.Xform.Define(stage, "/root/a")
    _mesh(stage, "/root/a/unit", _cube_points((0, 0, 0), (1, 1, 1)))
    b = UsdGeom.Xform.Define(stage, "/b")
    b.AddTranslateOp().Set(Gf.Vec3d(0, 0, 3))
    b.AddScaleOp().Set(Gf.Vec3f(1, 1, 0.5))
    _mesh(stage, "/b/small", _cube_points((5, 5, 5), (6, 6, 6)))
    stage.SetDefaultPrim(root.GetPrim())
    stage.Save()
    return path


NESTED_BOX = (np.array([-1.0, 0.0, 0.0]), np.array([6.0, 6.0, 6.0]))


def make_no_default(path: Path) -> Path:
    """No default prim; roots: an Xform /a, a Mesh /m, and a Scope /s holding an Xform /s/x.

    /a: [0,1]^3 translated (-2,0,0); /m: [0,1]^3 at (3,0,0)-(4,1,1); /s/x: [0,1]^3 translated (0,5,0).
    Box: lo (-2, 0, 0), hi (4, 6, 1).
    """
    stage = _new_stage(path, "Y", 1.0)
    a = UsdGeom.Xform.Define(stage, "/a")
    a.AddTranslateOp().Set(Gf.Vec3d(-2, 0, 0))
    _mesh(stage, "/a/cube", _cube_points((0, 0, 0), (1, 1, 1)))
    _mesh(stage, "/m", _cube_points((3, 0, 0), (4, 1, 1)))
    UsdGeom.Scope.Define(stage, "/s")
    x = UsdGeom.Xform.Define(stage, "/s/x")
    x.AddTranslateOp().Set(Gf.Vec3d(0, 5, 0))
    _mesh(stage, "/s/x/cube", _cube_points((0, 0, 0), (1, 1, 1)))
    stage.Save()
    return path


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buf = BytesIO()
    Image.new("RGB", (2, 2), (200, 30, 40)).save(buf, format="PNG")
    return buf.getvalue()


def make_textured_usda(folder: Path) -> Path:
    """Y-up metres cube [0,1]^3 with a UsdPreviewSurface reading textures/tex.png."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "textures").mkdir(exist_ok=True)
    (folder / "textures" / "tex.png").write_bytes(_png())
    path = folder / "textured.usda"
    stage = _new_stage(path, "Y", 1.0)
    root = UsdGeom.Xform.Define(stage, "/root")
    mesh = _mesh(stage, "/root/cube", _cube_points((0, 0, 0), (1, 1, 1)))
    material = UsdShade.Material.Define(stage, "/root/mat")
    surface = UsdShade.Shader.Define(stage, "/root/mat/surface")
    surface.CreateIdAttr("UsdPreviewSurface")
    reader = UsdShade.Shader.Define(stage, "/root/mat/tex")
    reader.CreateIdAttr("UsdUVTexture")
    reader.CreateInput("file", Sdf.ValueTypeNames.Asset).Set("textures/tex.png")
    reader.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(reader.ConnectableAPI(), "rgb")
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(mesh.GetPrim()).Bind(material)
    stage.SetDefaultPrim(root.GetPrim())
    stage.Save()
    return path


def make_usdz(folder: Path) -> Path:
    src = make_textured_usda(folder / "src")
    out = folder / "textured.usdz"
    assert UsdUtils.CreateNewUsdzPackage(str(src), str(out))
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open_asset(path) as asset:
        m = asset.measure()
    return m.lo, m.hi


def assert_fitted(path: Path, options: FitOptions = OPTIONS) -> None:
    lo, hi = measure(path)
    np.testing.assert_allclose(lo, [-0.5, 0.0, -0.25], atol=1e-9)
    np.testing.assert_allclose(hi, [0.5, 2.0, 0.25], atol=1e-9)
    result = verify_file(path, options)
    assert result.passed, result.failures


# --- measuring ------------------------------------------------------------------------


def test_yup_centimetre_stage_is_measured_in_metres(tmp_path: Path) -> None:
    with UsdAsset(make_yup_cm(tmp_path / "cm.usda")) as asset:
        m = asset.measure()
    np.testing.assert_allclose(m.lo, [0.1, 0.2, 0.3], rtol=1e-12)
    np.testing.assert_allclose(m.hi, [1.1, 1.2, 1.3], rtol=1e-12)
    assert m.counts == {"meshes": 1, "vertices": 8, "faces": 5, "gprims": 1}
    assert m.format == "usda"
    assert "metersPerUnit 0.01" in m.notes[0]


def test_zup_stage_is_rotated_into_yup(tmp_path: Path) -> None:
    # Z-up (x, y, z) -> Y-up (x, z, -y): y [3,5] -> z [-5,-3]; z [6,9] -> y [6,9].
    lo, hi = measure(make_zup_m(tmp_path / "z.usdc"))
    np.testing.assert_array_equal(lo, [1, 6, -5])
    np.testing.assert_array_equal(hi, [2, 9, -3])


def test_nested_transforms_apply_in_op_order(tmp_path: Path) -> None:
    lo, hi = measure(make_nested(tmp_path / "nested.usda"))
    np.testing.assert_allclose(lo, NESTED_BOX[0], atol=1e-12)
    np.testing.assert_allclose(hi, NESTED_BOX[1], atol=1e-12)


def test_points_not_stale_extent_and_only_referenced_points(tmp_path: Path) -> None:
    path = tmp_path / "stale.usda"
    stage = _new_stage(path)
    points = [*_cube_points((0, 0, 0), (1, 1, 1)), Gf.Vec3f(50, 50, 50)]  # last point: no face uses it
    mesh = _mesh(stage, "/m", points)
    mesh.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(0, 0, 0), Gf.Vec3f(0.5, 0.5, 0.5)]))  # stale
    stage.Save()
    lo, hi = measure(path)
    np.testing.assert_array_equal(lo, [0, 0, 0])
    np.testing.assert_array_equal(hi, [1, 1, 1])


def test_invisible_and_guide_prims_do_not_count(tmp_path: Path) -> None:
    path = tmp_path / "vis.usda"
    stage = _new_stage(path)
    _mesh(stage, "/a", _cube_points((0, 0, 0), (1, 1, 1)))
    UsdGeom.Imageable(_mesh(stage, "/hidden", _cube_points((9, 9, 9), (10, 10, 10)))).MakeInvisible()
    guide = UsdGeom.Xform.Define(stage, "/guide")
    guide.CreatePurposeAttr(UsdGeom.Tokens.guide)
    _mesh(stage, "/guide/g", _cube_points((-9, -9, -9), (-8, -8, -8)))
    stage.Save()
    lo, hi = measure(path)
    np.testing.assert_array_equal(lo, [0, 0, 0])
    np.testing.assert_array_equal(hi, [1, 1, 1])


def test_time_sampled_points_are_read_at_the_earliest_sample(tmp_path: Path) -> None:
    path = tmp_path / "anim.usda"
    stage = _new_stage(path)
    mesh = _mesh(stage, "/m", _cube_points((0, 0, 0), (1, 1, 1)))
    mesh.GetPointsAttr().Clear()
    mesh.GetPointsAttr().Set(Vt.Vec3fArray(_cube_points((0, 0, 0), (2, 2, 2))), 5.0)
    mesh.GetPointsAttr().Set(Vt.Vec3fArray(_cube_points((0, 0, 0), (4, 4, 4))), 10.0)
    stage.Save()
    with UsdAsset(path) as asset:
        m = asset.measure()
    np.testing.assert_array_equal(m.hi, [2, 2, 2])
    assert any("earliest time sample" in n for n in m.notes)


def test_skinned_mesh_is_posed_by_its_skeleton(tmp_path: Path) -> None:
    # One joint whose rest pose moves it +5 in Y from its bind pose: the mesh follows.
    path = tmp_path / "skin.usda"
    stage = _new_stage(path)
    root = UsdSkel.Root.Define(stage, "/Root")
    skel = UsdSkel.Skeleton.Define(stage, "/Root/Skel")
    skel.CreateJointsAttr(["j"])
    skel.CreateBindTransformsAttr(Vt.Matrix4dArray([Gf.Matrix4d(1)]))
    skel.CreateRestTransformsAttr(Vt.Matrix4dArray([Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(0, 5, 0))]))
    mesh = _mesh(stage, "/Root/Mesh", _cube_points((0, 0, 0), (1, 1, 1)))
    binding = UsdSkel.BindingAPI.Apply(mesh.GetPrim())
    binding.CreateSkeletonRel().SetTargets([skel.GetPath()])
    binding.CreateJointIndicesPrimvar(constant=True, elementSize=1).Set([0])
    binding.CreateJointWeightsPrimvar(constant=True, elementSize=1).Set([1.0])
    binding.CreateGeomBindTransformAttr(Gf.Matrix4d(1))
    stage.SetDefaultPrim(root.GetPrim())
    stage.Save()
    with UsdAsset(path) as asset:
        m = asset.measure()
    np.testing.assert_allclose(m.lo, [0, 5, 0], atol=1e-6)
    np.testing.assert_allclose(m.hi, [1, 6, 1], atol=1e-6)
    assert any("skinned" in n for n in m.notes)
    out = tmp_path / "skin_fit.usda"
    apply_file(path, out, OPTIONS)
    assert_fitted(out)


def test_empty_stage_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.usda"
    stage = _new_stage(path)
    UsdGeom.Xform.Define(stage, "/root")
    stage.Save()
    with pytest.raises(EmptyInputError, match="no drawn geometry"):
        measure(path)


def test_nan_point_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nan.usda"
    stage = _new_stage(path)
    _mesh(stage, "/m", [*_cube_points((0, 0, 0), (1, 1, 1))[:7], Gf.Vec3f(float("nan"), 0, 0)])
    stage.Save()
    with pytest.raises(NonFiniteInputError):
        measure(path)


@pytest.mark.parametrize("name", ["bad.usdc", "bad.usda", "bad.usdz"])
def test_corrupt_file_is_unreadable(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"PXR-USDC\x00\x00garbage" if name.endswith("c") else b"#usda 1.0\n( oops \n def {")
    with pytest.raises(UnreadableInputError) as info:
        measure(path)
    assert "\n" not in str(info.value)


# --- writing --------------------------------------------------------------------------


def test_fit_in_stage_frame_for_zup_swaps_y_and_z() -> None:
    fit = Fit(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3]), np.zeros(3), np.ones(3))
    s, t = fit_in_stage_frame(fit, StageFrame("Z", 0.01))
    np.testing.assert_array_equal(s, [1.0, 3.0, 2.0])
    np.testing.assert_allclose(t, [10.0, -30.0, 20.0])
    s, t = fit_in_stage_frame(fit, StageFrame("Y", 0.01))
    np.testing.assert_array_equal(s, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(t, [10.0, 20.0, 30.0])


@pytest.mark.parametrize(
    ("maker", "src_name", "dst_name"),
    [
        (make_yup_cm, "cm.usda", "out.usda"),
        (make_yup_cm, "cm.usda", "out.usdc"),
        (make_zup_m, "z.usdc", "out.usdc"),
        (make_zup_m, "z.usdc", "out.usd"),
        (make_nested, "nested.usda", "out.usda"),
        (make_no_default, "nodefault.usda", "out.usda"),
    ],
)
def test_apply_fits_target_and_leaves_input_unchanged(tmp_path: Path, maker: Any, src_name: str, dst_name: str) -> None:
    src = maker(tmp_path / src_name)
    before = sha(src)
    (tmp_path / "out").mkdir()
    dst = tmp_path / "out" / dst_name
    result = apply_file(src, dst, OPTIONS)
    assert result.mode == "wrap"
    assert result.files[0] == str(dst)
    assert sha(src) == before
    assert_fitted(dst)
    # The input's frame metadata is kept; the output is the same kind of layer.
    in_stage, out_stage = Usd.Stage.Open(str(src)), Usd.Stage.Open(str(dst))
    assert UsdGeom.GetStageUpAxis(out_stage) == UsdGeom.GetStageUpAxis(in_stage)
    assert UsdGeom.GetStageMetersPerUnit(out_stage) == UsdGeom.GetStageMetersPerUnit(in_stage)
    if dst_name.endswith(".usd"):
        assert dst.read_bytes()[:8] == b"PXR-USDC"  # the input was binary


def test_fit_ops_come_first_on_the_default_prim(tmp_path: Path) -> None:
    src = make_nested(tmp_path / "nested.usda")
    dst = tmp_path / "fit.usda"
    apply_file(src, dst, OPTIONS)
    stage = Usd.Stage.Open(str(dst))
    order = list(UsdGeom.Xformable(stage.GetPrimAtPath("/root")).GetXformOpOrderAttr().Get())
    assert order == [T_OP, S_OP, "xformOp:translate", "xformOp:rotateZ", "xformOp:scale"]
    # /b is a root xformable too: it gets the same outer transform.
    assert list(UsdGeom.Xformable(stage.GetPrimAtPath("/b")).GetXformOpOrderAttr().Get())[:2] == [T_OP, S_OP]
    assert stage.GetPrimAtPath("/root").GetAttribute(S_OP).Get() == stage.GetPrimAtPath("/b").GetAttribute(S_OP).Get()


def test_zup_fit_ops_are_in_the_stage_frame(tmp_path: Path) -> None:
    src = make_zup_m(tmp_path / "z.usda")
    dst = tmp_path / "fit.usda"
    result = apply_file(src, dst, OPTIONS)
    stage = Usd.Stage.Open(str(dst))
    prim = stage.GetPrimAtPath("/root")
    sx, sy, sz = result.fit.scale
    np.testing.assert_allclose(list(prim.GetAttribute(S_OP).Get()), [sx, sz, sy])


def test_no_default_prim_puts_the_fit_on_every_topmost_xformable(tmp_path: Path) -> None:
    src = make_no_default(tmp_path / "nd.usda")
    dst = tmp_path / "fit.usda"
    result = apply_file(src, dst, OPTIONS)
    stage = Usd.Stage.Open(str(dst))
    for path in ("/a", "/m", "/s/x"):
        assert stage.GetPrimAtPath(path).HasAttribute(T_OP), path
    assert not stage.GetPrimAtPath("/s").HasAttribute(T_OP)
    assert any("3 topmost xformable" in n for n in result.notes)


def test_second_application_changes_nothing(tmp_path: Path) -> None:
    src = make_nested(tmp_path / "nested.usda")
    once, twice = tmp_path / "once.usda", tmp_path / "twice.usda"
    apply_file(src, once, OPTIONS)
    result = apply_file(once, twice, OPTIONS)
    np.testing.assert_allclose(result.fit.scale, 1.0, rtol=1e-12)
    np.testing.assert_allclose(result.fit.translation, 0.0, atol=1e-12)
    stage = Usd.Stage.Open(str(twice))
    assert stage.GetPrimAtPath("/root").HasAttribute(f"xformOp:scale:{FIT_OP_SUFFIX}_2")


def test_usdz_round_trip_keeps_every_member(tmp_path: Path) -> None:
    src = make_usdz(tmp_path)
    before = sha(src)
    with zipfile.ZipFile(src) as zf:
        in_names = zf.namelist()
        in_members = {n: zf.read(n) for n in in_names}
    texture = next(n for n in in_names if n.endswith(".png"))
    dst = tmp_path / "out" / "fit.usdz"
    dst.parent.mkdir()
    result = apply_file(src, dst, OPTIONS)
    assert result.files == [str(dst)]
    assert sha(src) == before
    with zipfile.ZipFile(dst) as zf:
        assert zf.namelist() == in_names
        assert zf.read(texture) == in_members[texture] == _png()
        assert zf.read(in_names[0]) != in_members[in_names[0]]  # the root layer carries the fit
        for info in zf.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
    assert_fitted(dst)
    # The packaged texture still resolves.
    _layers, assets, unresolved = UsdUtils.ComputeAllDependencies(str(dst))
    assert not unresolved and any(a.endswith(".png]") or a.endswith(".png") for a in assets)


def test_usdz_to_usda_writes_members_beside(tmp_path: Path) -> None:
    src = make_usdz(tmp_path)
    dst = tmp_path / "out" / "fit.usda"
    dst.parent.mkdir()
    result = apply_file(src, dst, OPTIONS)
    pngs = [Path(f) for f in result.files if f.endswith(".png")]
    assert pngs and pngs[0].read_bytes() == _png()
    assert_fitted(dst)
    assert not UsdUtils.ComputeAllDependencies(str(dst))[2]


def test_loose_usda_to_other_folder_and_to_usdz_carries_textures(tmp_path: Path) -> None:
    src = make_textured_usda(tmp_path / "src")
    (tmp_path / "out").mkdir()
    result = apply_file(src, tmp_path / "out" / "fit.usda", OPTIONS)
    assert (tmp_path / "out" / "textures" / "tex.png").read_bytes() == _png()
    assert str(tmp_path / "out" / "textures" / "tex.png") in result.files
    apply_file(src, tmp_path / "out" / "fit.usdz", OPTIONS)
    with zipfile.ZipFile(tmp_path / "out" / "fit.usdz") as zf:
        assert zf.namelist() == ["textured.usda", "textures/tex.png"]
    assert_fitted(tmp_path / "out" / "fit.usdz")
    assert not UsdUtils.ComputeAllDependencies(str(tmp_path / "out" / "fit.usdz"))[2]


def test_bake_is_refused(tmp_path: Path) -> None:
    src = make_yup_cm(tmp_path / "cm.usda")
    with pytest.raises(NotBakeableError, match="use wrap or auto"):
        apply_file(src, tmp_path / "out.usda", FitOptions(scaled_bbox=TARGET, mode="bake"))
    assert not (tmp_path / "out.usda").exists()


def test_non_usd_output_is_refused(tmp_path: Path) -> None:
    src = make_yup_cm(tmp_path / "cm.usda")
    with UsdAsset(src) as asset:
        m = asset.measure()
        fit = compute_fit(m.lo, m.hi, OPTIONS)
        with pytest.raises(UnsupportedInputError, match=r"cannot write '\.glb' from USD"):
            asset.write_fitted(fit, tmp_path / "out.glb", OPTIONS)


# --- the shared sample ------------------------------------------------------------------


def test_motion_capture_rom_sample_measures_and_fits(tmp_path: Path) -> None:
    if not MOCAP.is_file():
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{MOCAP} is missing (required when CI is set)")
        pytest.skip(f"{MOCAP} is missing")
    info = inspect_file(MOCAP)
    m = info.measurement
    # Z-up, metersPerUnit 1, 24 static meshes (no skeleton, no time samples), Blender export.
    assert m.counts["meshes"] == 24 and m.counts["faces"] == 2000
    assert "upAxis Z" in m.notes[0]
    np.testing.assert_allclose(m.lo, [-30.5935688, -39.83939362, -68.36332703], rtol=1e-6)
    np.testing.assert_allclose(m.hi, [34.01142502, -9.44011402, -0.97035366], rtol=1e-6)
    before = sha(MOCAP)
    for name in ("fit.usdc", "fit.usdz"):
        result = apply_file(MOCAP, tmp_path / name, OPTIONS)
        assert_fitted(tmp_path / name)
        # Its one texture path uses Windows separators and resolves nowhere: said, not hidden.
        assert any("could not be found" in n for n in result.notes)
    assert sha(MOCAP) == before


def test_implicit_shapes_and_point_instancers_count(tmp_path: Path) -> None:
    # Cube size 2 at (10, 0, 0): [9, 11] x [-1, 1]^2. Instancer: prototype [0,1]^3 at (0,0,-5) and (0,3,-5).
    path = tmp_path / "shapes.usda"
    stage = _new_stage(path)
    cube = UsdGeom.Cube.Define(stage, "/cube")
    cube.CreateSizeAttr(2.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(10, 0, 0))
    inst = UsdGeom.PointInstancer.Define(stage, "/inst")
    proto = _mesh(stage, "/inst/protos/box", _cube_points((0, 0, 0), (1, 1, 1)))
    proto.CreateExtentAttr(Vt.Vec3fArray([Gf.Vec3f(0, 0, 0), Gf.Vec3f(1, 1, 1)]))
    inst.CreatePrototypesRel().SetTargets([proto.GetPath()])
    inst.CreateProtoIndicesAttr([0, 0])
    inst.CreatePositionsAttr(Vt.Vec3fArray([Gf.Vec3f(0, 0, -5), Gf.Vec3f(0, 3, -5)]))
    stage.Save()
    with UsdAsset(path) as asset:
        m = asset.measure()
    np.testing.assert_allclose(m.lo, [0, -1, -5], atol=1e-6)
    np.testing.assert_allclose(m.hi, [11, 4, 1], atol=1e-6)
    assert any("implicit shape" in n for n in m.notes) and any("point instancer" in n for n in m.notes)
