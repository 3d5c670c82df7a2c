"""Laws of SPEC.md sections 3-5 for the pure core, checked with hypothesis."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from meshpivot.errors import FlatAxisError, SpecError
from meshpivot.fit import COORDINATE_MAX, EXTENT_MIN, compute_fit, compute_scale, pivot_of_origin, target_box
from meshpivot.options import FitOptions
from meshpivot.vectors import point_bounds, transform_points

coord = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
size = st.floats(1e-3, 1e3, allow_nan=False, allow_infinity=False)
target = st.one_of(st.just(-1.0), size)
pivot_coord = st.one_of(st.sampled_from([-0.5, 0.0, 0.5]), st.floats(-0.5, 0.5))


@st.composite
def clouds(draw: st.DrawFn, dtype: type = np.float64) -> np.ndarray:
    n = draw(st.integers(2, 40))
    pts = draw(arrays(dtype, (n, 3), elements=coord))
    ext = pts.max(axis=0).astype(np.float64) - pts.min(axis=0)
    # A flat or nearly flat axis has its own laws (tested below); keep boxes solid here.
    assume(bool(np.all(ext > 1e-2 * max(1.0, float(np.abs(pts).max())))))
    return pts


@st.composite
def requests(draw: st.DrawFn, preserve: bool | None = None) -> FitOptions:
    return FitOptions(
        scaled_bbox=draw(st.tuples(target, target, target)),
        pivot_point=draw(st.tuples(pivot_coord, pivot_coord, pivot_coord)),
        preserve_aspect_ratio=draw(st.booleans()) if preserve is None else preserve,
    )


def fitted(points: np.ndarray, options: FitOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = point_bounds(points)
    fit = compute_fit(lo, hi, options)
    out = transform_points(points, fit.scale, fit.translation)
    return out, *point_bounds(out)


def close(a: float, b: float, scale: float, rel: float = 1e-12) -> bool:
    return abs(a - b) <= rel * max(scale, 1e-300)


@given(clouds(), requests())
def test_box_sits_where_the_pivot_says(points: np.ndarray, options: FitOptions) -> None:
    _, lo2, hi2 = fitted(points, options)
    ext = hi2 - lo2
    want_lo, want_hi = target_box(ext, options.pivot_point)
    for i in range(3):
        assert close(lo2[i], want_lo[i], ext[i])
        assert close(hi2[i], want_hi[i], ext[i])


@given(clouds(), requests(preserve=False))
def test_stretched_sizes_equal_targets(points: np.ndarray, options: FitOptions) -> None:
    _, lo2, hi2 = fitted(points, options)
    for i in options.target_axes:
        assert close(hi2[i] - lo2[i], options.scaled_bbox[i], options.scaled_bbox[i])


@given(clouds(), requests(preserve=False))
def test_auto_axes_take_geometric_mean_of_stretched_factors(points: np.ndarray, options: FitOptions) -> None:
    lo, hi = point_bounds(points)
    scale = compute_fit(lo, hi, options).scale
    axes = options.target_axes
    auto = [i for i in range(3) if i not in axes]
    if not axes:
        assert scale.tolist() == [1.0, 1.0, 1.0]
        return
    mean = math.prod(options.scaled_bbox[i] / (hi[i] - lo[i]) for i in axes) ** (1 / len(axes))
    for i in auto:
        assert scale[i] == pytest.approx(mean, rel=1e-12)


@given(clouds(), requests(preserve=True))
def test_preserve_aspect_ratio_is_uniform_fits_inside_and_touches(points: np.ndarray, options: FitOptions) -> None:
    lo, hi = point_bounds(points)
    fit = compute_fit(lo, hi, options)
    assert fit.is_uniform
    _, lo2, hi2 = fitted(points, options)
    ext = hi2 - lo2
    axes = options.target_axes
    for i in axes:
        assert ext[i] <= options.scaled_bbox[i] * (1 + 1e-12)
    if axes:
        assert any(close(ext[i], options.scaled_bbox[i], options.scaled_bbox[i]) for i in axes)
    else:
        assert fit.scale.tolist() == [1.0, 1.0, 1.0]


@given(clouds(np.float32), requests())
def test_bottom_pivot_puts_lowest_vertex_on_zero_exactly(points: np.ndarray, options: FitOptions) -> None:
    opts = options.updated(pivot_point=(options.pivot_point[0], -0.5, options.pivot_point[2]))
    out, lo2, _ = fitted(points, opts)
    assert out.dtype == np.float32
    assert lo2[1] == 0.0
    opts = options.updated(pivot_point=(0.5, 0.5, 0.5))
    _, _, hi2 = fitted(points, opts)
    assert hi2.tolist() == [0.0, 0.0, 0.0]


@given(clouds(), requests())
def test_second_application_changes_nothing(points: np.ndarray, options: FitOptions) -> None:
    once, lo1, hi1 = fitted(points, options)
    twice, _, _ = fitted(once, options)
    ext = float((hi1 - lo1).max())
    assert np.max(np.abs(twice - once)) <= 1e-12 * ext


@given(clouds(np.float32), requests())
def test_second_application_on_float32_moves_at_most_one_ulp(points: np.ndarray, options: FitOptions) -> None:
    once, _, _ = fitted(points, options)
    twice, _, _ = fitted(once, options)
    ulp = np.spacing(np.float32(np.abs(once).max()))
    assert np.max(np.abs(twice.astype(np.float64) - once)) <= ulp


@given(clouds(), requests())
def test_input_arrays_are_not_mutated(points: np.ndarray, options: FitOptions) -> None:
    before = points.copy()
    fitted(points, options)
    assert np.array_equal(points, before)


@given(
    clouds(),
    requests(),
    st.floats(1e-3, 1e3),
    st.tuples(coord, coord, coord),
)
def test_result_does_not_depend_on_where_or_how_big(
    points: np.ndarray, options: FitOptions, k: float, shift: tuple[float, float, float]
) -> None:
    # Where the input sat never matters; how big it was matters only on all-auto requests,
    # which keep the size by definition.
    if not options.target_axes:
        k = 1.0
    a, lo_a, hi_a = fitted(points, options)
    b, _, _ = fitted(points * k + np.array(shift), options)
    ext = float((hi_a - lo_a).max())
    assert np.max(np.abs(a - b)) <= 1e-9 * ext


def test_worked_example_from_readme() -> None:
    # A 2 x 4 x 1 box with its min corner at (1, 1, 1), asked for 1 x 2 x 0.5, bottom centre.
    fit = compute_fit([1, 1, 1], [3, 5, 2], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    assert fit.scale.tolist() == [0.5, 0.5, 0.5]
    assert fit.translation.tolist() == [-1.0, -0.5, -0.75]
    lo, hi = fit.target_bounds()
    assert lo.tolist() == [-0.5, 0.0, -0.25] and hi.tolist() == [0.5, 2.0, 0.25]


def test_stretch_with_one_target_is_uniform() -> None:
    fit = compute_fit([0, 0, 0], [2, 4, 8], FitOptions([-1, 1, -1]))
    assert fit.scale.tolist() == [0.25, 0.25, 0.25]


def test_auto_axis_takes_geometric_mean() -> None:
    fit = compute_fit([0, 0, 0], [1, 1, 1], FitOptions([2, -1, 8]))
    assert fit.scale.tolist() == [2.0, pytest.approx(4.0, rel=1e-15), 8.0]


def test_all_auto_is_identity_scale_and_pivot_still_moves() -> None:
    fit = compute_fit([1, 2, 3], [3, 4, 5], FitOptions(pivot_point=[0, -0.5, 0]))
    assert fit.scale.tolist() == [1.0, 1.0, 1.0]
    assert fit.translation.tolist() == [-2.0, -2.0, -4.0]


def test_flat_axis_with_target_is_an_error_when_stretching() -> None:
    with pytest.raises(FlatAxisError, match=r"flat along z .*scaled_bbox\[2\]"):
        compute_fit([0, 0, 0], [1, 1, 0], FitOptions([1, 1, 1]))


def test_flat_axis_is_left_out_under_preserve_aspect_ratio() -> None:
    fit = compute_fit([0, 0, 0], [1, 2, 0], FitOptions([1, 1, 1], preserve_aspect_ratio=True))
    assert fit.scale.tolist() == [0.5, 0.5, 0.5]


def test_every_target_axis_flat_is_an_error_under_preserve_aspect_ratio() -> None:
    with pytest.raises(FlatAxisError, match="every axis with a target size is flat"):
        compute_fit([0, 0, 0], [1, 0, 0], FitOptions([-1, 1, 1], preserve_aspect_ratio=True))


def test_flat_auto_axis_is_fine() -> None:
    fit = compute_fit([0, 0, 0], [2, 4, 0], FitOptions([1, 1, -1]))
    assert fit.scale.tolist()[:2] == [0.5, 0.25]


def test_compute_scale_returns_positive_factors() -> None:
    assert np.all(compute_scale([1e-9, 1e9, 1], FitOptions([1, 1, 1])) > 0)


def test_pivot_of_origin_describes_the_file_as_it_is() -> None:
    assert pivot_of_origin([-1, 0, -2], [1, 3, 2]) == [0.0, -0.5, 0.0]
    assert pivot_of_origin([1, 0, 0], [2, 0, 1])[:2] == [-1.5, None]


# --- the range of floating-point numbers -----------------------------------------------

any_extent = st.floats(0.0, 1e308, allow_nan=False, allow_infinity=False)
any_target = st.one_of(st.just(-1.0), st.floats(1e-320, 1e308, allow_nan=False, allow_infinity=False))
any_coord = st.floats(-1e307, 1e307, allow_nan=False, allow_infinity=False)


@given(
    st.tuples(any_coord, any_coord, any_coord),
    st.tuples(any_extent, any_extent, any_extent),
    st.tuples(any_target, any_target, any_target),
    st.tuples(pivot_coord, pivot_coord, pivot_coord),
    st.booleans(),
)
def test_a_fit_is_finite_and_storable_or_an_error_that_says_so(
    corner: tuple[float, float, float],
    extents: tuple[float, float, float],
    targets: tuple[float, float, float],
    pivot: tuple[float, float, float],
    preserve: bool,
) -> None:
    # Across the whole float64 range: either factors > 0 and a fitted box inside float32's
    # range whose extents did not collapse, or one of the two errors of the request.
    lo = np.array(corner)
    hi = lo + np.array(extents)
    assume(np.all(np.isfinite(hi)))
    options = FitOptions(scaled_bbox=targets, pivot_point=pivot, preserve_aspect_ratio=preserve)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning on the way either
        try:
            fit = compute_fit(lo, hi, options)
        except (SpecError, FlatAxisError):
            return
    assert np.all(np.isfinite(fit.scale)) and np.all(fit.scale > 0)
    assert np.all(np.isfinite(fit.translation))
    t_lo, t_hi = fit.target_bounds()
    assert np.all(np.abs(t_lo) <= COORDINATE_MAX) and np.all(np.abs(t_hi) <= COORDINATE_MAX)
    grown = (hi - lo >= EXTENT_MIN) & ~(t_hi - t_lo >= EXTENT_MIN)
    assert not grown.any(), (t_hi - t_lo).tolist()


@pytest.mark.parametrize(
    ("hi", "targets", "message"),
    [
        ((1.0, 1.0, 1.0), (1e39, -1, -1), r"would reach 5e\+38 m from the origin, beyond 3\.4e\+38"),
        ((1e-30, 1.0, 1.0), (1e300, -1, -1), r"scaled_bbox\[0\] = 1e\+300 m for a measured x extent of 1e-30 .*inf"),
        ((1.0, 1.0, 1.0), (1e-300, -1, -1), r"shrink the x extent from 1 m to 1e-300 m, below 1\.18e-38"),
        ((1e300, 1.0, 1.0), (1e-30, -1, -1), r"scale factor of 0: out of the range"),
    ],
)
def test_fits_out_of_floating_point_range_are_request_errors(
    hi: tuple[float, float, float], targets: tuple[float, float, float], message: str
) -> None:
    with pytest.raises(SpecError, match=message):
        compute_fit([0, 0, 0], hi, FitOptions(scaled_bbox=targets))
