"""The shipped samples and what `make demo` does with them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from meshpivot.api import apply_file, inspect_file, verify_file
from meshpivot.options import FitOptions, load_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.mark.parametrize("name", ["chair.glb", "chair.obj"])
def test_demo_fit_is_exact_and_verifies(name: str, tmp_path: Path) -> None:
    options = FitOptions.from_settings(load_settings(SAMPLES / "settings.json"))
    assert options.scaled_bbox == (0.5, 0.9, 0.5) and options.pivot_point == (0.0, -0.5, 0.0)
    src = tmp_path / name
    shutil.copy(SAMPLES / name, src)
    if name.endswith(".obj"):
        shutil.copy(SAMPLES / "chair.mtl", tmp_path / "chair.mtl")
    before = inspect_file(src).measurement
    assert before.lo[1] > 0  # the sample is modelled away from the origin, so the fit visibly works
    out = tmp_path / f"fitted{src.suffix}"
    res = apply_file(src, out, options)
    assert res.mode == "bake"
    m = inspect_file(out).measurement
    assert m.lo[1] == 0.0  # bottom pivot: the lowest vertex is exactly on the ground (SPEC.md 4)
    assert verify_file(out, options).passed


def test_sample_glb_is_valid_and_fitting_adds_no_issue(tmp_path: Path, validator: Any) -> None:
    out = tmp_path / "chair_fitted.glb"
    apply_file(SAMPLES / "chair.glb", out, FitOptions.from_settings(load_settings(SAMPLES / "settings.json")))
    reports = validator.validate([SAMPLES / "chair.glb", out])
    src = reports[SAMPLES / "chair.glb"]
    assert src.num_errors == src.num_warnings == src.num_infos == 0, src.summary()
    assert not validator.new_issue_codes(src, reports[out]), reports[out].summary()
