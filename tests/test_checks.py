"""verify_box: SPEC.md section 8 on measured boxes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshpivot.checks import verify_box
from meshpivot.fit import compute_fit
from meshpivot.options import FitOptions


def names(checks: list) -> list[str]:  # type: ignore[type-arg]
    return [c.name for c in checks]


def test_exact_box_passes_every_check() -> None:
    checks = verify_box([-0.5, 0, -0.25], [0.5, 2, 0.25], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    assert names(checks) == ["size_x", "size_y", "size_z", "pivot_x", "pivot_y", "pivot_z"]
    assert all(c.passed for c in checks)


def test_a_millimetre_off_in_size_fails_with_measured_expected_tolerance() -> None:
    checks = verify_box([-0.5, 0, -0.25], [0.501, 2, 0.25], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    bad = [c for c in checks if not c.passed]
    assert names(bad) == ["size_x", "pivot_x"]
    line = bad[0].describe()
    assert "measured 1.001" in line and "expected == 1" in line and "tolerance 1.1e-05" in line
    assert line.endswith("FAILED")


def test_a_millimetre_off_in_pivot_fails() -> None:
    checks = verify_box([-0.5, 0.001, -0.25], [0.5, 2.001, 0.25], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    assert names([c for c in checks if not c.passed]) == ["pivot_y"]


def test_auto_axes_have_no_size_check() -> None:
    checks = verify_box([-3, 0, -7], [3, 1.8, 7], FitOptions([-1, 1.8, -1], [0, -0.5, 0]))
    assert names(checks) == ["size_y", "pivot_x", "pivot_y", "pivot_z"]
    assert all(c.passed for c in checks)


def test_preserve_aspect_ratio_needs_inside_and_one_axis_touching() -> None:
    opts = FitOptions([2, 2, 2], preserve_aspect_ratio=True)
    ok = verify_box([-0.5, -1, -0.25], [0.5, 1, 0.25], opts)
    assert all(c.passed for c in ok) and "fills_target" in names(ok)
    small = verify_box([-0.5, -0.9, -0.25], [0.5, 0.9, 0.25], opts)
    assert names([c for c in small if not c.passed]) == ["fills_target"]
    big = verify_box([-0.5, -1.1, -0.25], [0.5, 1.1, 0.25], opts)
    assert names([c for c in big if not c.passed]) == ["size_y", "fills_target"]


def test_tolerance_is_atol_plus_rtol_times_size() -> None:
    opts = FitOptions([10, 10, 10], rtol=1e-3, atol=0.01)
    c = verify_box([-5, -5, -5], [5.019, 5, 5], opts)[0]
    assert c.tolerance == pytest.approx(0.02) and c.passed
    assert not verify_box([-5, -5, -5], [5.021, 5, 5], opts)[0].passed


@given(
    st.tuples(*[st.floats(-100, 100)] * 3),
    st.tuples(*[st.floats(0.01, 100)] * 3),
    st.tuples(*[st.one_of(st.just(-1.0), st.floats(0.01, 100))] * 3),
    st.tuples(*[st.floats(-0.5, 0.5)] * 3),
    st.booleans(),
)
def test_what_apply_computes_verify_accepts_even_in_float32(
    lo: tuple[float, ...], ext: tuple[float, ...], bbox: tuple[float, ...], pivot: tuple[float, ...], par: bool
) -> None:
    opts = FitOptions(bbox, pivot, par)
    fit = compute_fit(lo, np.add(lo, ext), opts)
    lo2, hi2 = fit.target_bounds()
    assert all(c.passed for c in verify_box(lo2, hi2, opts))
    assert all(c.passed for c in verify_box(lo2.astype(np.float32), hi2.astype(np.float32), opts))
