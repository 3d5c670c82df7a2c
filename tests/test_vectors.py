"""Bounds and vector transforms (normals by cofactor, tangents with w sign)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from meshpivot.errors import EmptyInputError, NonFiniteInputError
from meshpivot.vectors import (
    cofactor,
    merge_bounds,
    point_bounds,
    referenced_bounds,
    referenced_rows,
    scale_columns,
    shift_columns,
    transform_directions,
    transform_normals,
    transform_points,
    transform_tangents,
)

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
factor = st.one_of(st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3))
matrices = arrays(np.float64, (3, 3), elements=st.floats(-10, 10)).filter(lambda m: abs(np.linalg.det(m)) > 1e-3)


@given(arrays(np.float32, st.tuples(st.integers(1, 50), st.just(3)), elements=finite.map(np.float32)))
def test_point_bounds_equal_numpy_min_max(points: np.ndarray) -> None:
    lo, hi = point_bounds(points)
    assert lo.tolist() == points.min(axis=0).astype(np.float64).tolist()
    assert hi.tolist() == points.max(axis=0).astype(np.float64).tolist()


def test_point_bounds_handles_strided_views_and_chunks() -> None:
    rng = np.random.default_rng(1)
    inter = rng.normal(size=(300_000, 8)).astype(np.float32)
    view = inter[:, 2:5]
    lo, hi = point_bounds(view)
    assert np.array_equal(lo, view.min(axis=0)) and np.array_equal(hi, view.max(axis=0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_point_bounds_rejects_non_finite(bad: float) -> None:
    pts = np.zeros((4, 3), dtype=np.float32)
    pts[2, 1] = bad
    with pytest.raises(NonFiniteInputError, match="NaN or infinite"):
        point_bounds(pts)


def test_point_bounds_rejects_empty() -> None:
    with pytest.raises(EmptyInputError):
        point_bounds(np.zeros((0, 3)))
    with pytest.raises(EmptyInputError):
        merge_bounds([])


# Few distinct values: ties on the extreme values are the rule, not the exception.
tied = st.sampled_from([-1e3, -2.5, -1.0, -0.0, 0.0, 1.0, 2.5, 1e3]).map(np.float32)


@st.composite
def indexed_points(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """Points, indices into them (often skipping the extreme rows, in any order) and a chunk
    size; rows no index references may be NaN or infinite."""
    n = draw(st.integers(1, 40))
    pts = draw(arrays(np.float32, (n, 3), elements=st.one_of(tied, finite.map(np.float32))))
    used = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    idx = draw(st.lists(st.sampled_from(used), min_size=1, max_size=80))
    for row in draw(st.sets(st.integers(0, n - 1).filter(lambda r: r not in used), max_size=3)):
        pts[row, draw(st.integers(0, 2))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.uint32, np.int64]))
    return pts, np.array(idx, dtype=dtype), draw(st.integers(1, 9))


@given(indexed_points())
def test_referenced_bounds_equal_bounds_of_referenced_rows(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    pts, idx, chunk = case
    lo, hi = referenced_bounds(pts, idx, chunk=chunk)
    want_lo, want_hi = point_bounds(pts[np.unique(idx)])
    assert lo.tolist() == want_lo.tolist() and hi.tolist() == want_hi.tolist()


@given(indexed_points())
def test_referenced_rows_mark_exactly_the_indices(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    pts, idx, chunk = case
    used = referenced_rows(idx, len(pts), chunk=chunk)
    assert np.flatnonzero(used).tolist() == np.unique(idx).tolist()


@given(arrays(np.float32, st.tuples(st.integers(1, 40), st.just(3)), elements=tied), st.integers(1, 9))
def test_referenced_bounds_of_every_row_are_point_bounds(points: np.ndarray, chunk: int) -> None:
    # Equal as numbers: where -0.0 and 0.0 tie, which one a min returns depends on the chunking.
    lo, hi = referenced_bounds(points, None, chunk=chunk)
    want_lo, want_hi = point_bounds(points)
    assert lo.tolist() == want_lo.tolist() and hi.tolist() == want_hi.tolist()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("indices", [[0, 1, 2, 2], None])
def test_referenced_bounds_reject_a_referenced_non_finite_row(bad: float, indices: list[int] | None) -> None:
    pts = np.arange(12, dtype=np.float32).reshape(4, 3)
    pts[2, 1] = bad
    with pytest.raises(NonFiniteInputError, match="NaN or infinite"):
        referenced_bounds(pts, indices, chunk=2)


def test_referenced_bounds_reject_no_rows_and_no_indices() -> None:
    with pytest.raises(EmptyInputError):
        referenced_bounds(np.zeros((0, 3)), np.zeros(0, dtype=np.uint32))
    with pytest.raises(EmptyInputError):
        referenced_bounds(np.zeros((4, 3)), np.zeros(0, dtype=np.uint32))


def _grid_in_first_use_order(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A side x side height field, rows of vertices numbered as their triangles use them."""
    y, x = np.mgrid[0:side, 0:side]
    h = np.sin(x * 0.37) * np.cos(y * 0.21)
    pts = np.stack([x, h, y], axis=-1).reshape(-1, 3).astype(np.float32)
    v = np.arange(side * side).reshape(side, side)
    a, b, c, d = v[:-1, :-1], v[:-1, 1:], v[1:, :-1], v[1:, 1:]
    return pts, np.stack([a, c, b, b, c, d], axis=-1).reshape(-1).astype(np.uint32)


def test_referenced_bounds_read_few_index_chunks_when_vertices_follow_first_use() -> None:
    pts, idx = _grid_in_first_use_order(100)
    read: list[int] = []
    lo, hi = referenced_bounds(pts, idx, chunk=256, release=lambda a: read.append(a.ndim))
    assert lo.tolist() == point_bounds(pts)[0].tolist() and hi.tolist() == point_bounds(pts)[1].tolist()
    assert read.count(2) == -(-len(pts) // 256)  # every block of points, once
    assert read.count(1) == 0  # settled by the guessed chunks: no pass over the 230 index chunks


@given(indexed_points(), st.integers(1, 4))
def test_referenced_bounds_with_guesses_in_smaller_chunks(case: tuple[np.ndarray, np.ndarray, int], hint: int) -> None:
    from unittest import mock

    import meshpivot.vectors as vectors_module

    pts, idx, chunk = case
    with mock.patch.object(vectors_module, "HINT_CHUNK", hint):  # guessed chunks smaller than the others
        lo, hi = referenced_bounds(pts, idx, chunk=chunk + 4)
    want_lo, want_hi = point_bounds(pts[np.unique(idx)])
    assert lo.tolist() == want_lo.tolist() and hi.tolist() == want_hi.tolist()


@pytest.mark.parametrize("used", [0, 2])
def test_referenced_bounds_find_a_side_through_any_row_on_it(used: int) -> None:
    # Rows 0 and 2, in different chunks of points, lie on the min face of x; the last index uses one.
    pts = np.array([[0, 2, 2], [1, 1, 1], [0, 2, 2], [3, 3, 3]], dtype=np.float32)
    idx = np.array([1, 3, 1, 3, 1, 3, 1, 3, used], dtype=np.uint16)
    read: list[int] = []
    lo, _ = referenced_bounds(pts, idx, chunk=2, release=lambda a: read.append(len(a)))
    assert lo.tolist() == [0, 1, 1]
    # 2 blocks of points, twice (the guesses miss: every row on the x sides is looked up);
    # each index chunk once; no selection pass.
    assert sorted(read) == [1, 2, 2, 2, 2, 2, 2, 2, 2]


@pytest.mark.parametrize("used", [1, 2])
def test_referenced_bounds_find_a_side_through_a_later_row_of_the_same_chunk(
    used: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows 0, 1 and 2 of one chunk lie on the min face of x and the max faces of y and z;
    # the indices skip row 0, as a primitive sharing its vertex buffer with another may.
    # A later row of the chunk settles those sides: no selection of referenced rows.
    import meshpivot.vectors as vectors_module

    def no_selection(*_args: object, **_kw: object) -> None:
        raise AssertionError("fell back to selecting the referenced rows")

    monkeypatch.setattr(vectors_module, "referenced_rows", no_selection)
    pts = np.array([[0, 2, 2], [0, 2, 2], [0, 2, 2], [3, 1, 1]], dtype=np.float32)
    idx = np.array([3, 3, 3, used, 3], dtype=np.uint16)
    lo, hi = referenced_bounds(pts, idx, chunk=4)
    assert lo.tolist() == [0, 1, 1] and hi.tolist() == [3, 2, 2]


@given(matrices)
def test_cofactor_is_det_times_inverse_transpose(m: np.ndarray) -> None:
    np.testing.assert_allclose(cofactor(m), np.linalg.det(m) * np.linalg.inv(m).T, rtol=1e-9, atol=1e-9)


def test_cofactor_exists_for_zero_scale() -> None:
    assert cofactor([2.0, 3.0, 0.0]).tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 6.0]]


@given(
    arrays(np.float64, (10, 3), elements=finite).filter(lambda a: bool(np.all(np.linalg.norm(a, axis=1) > 1e-3))),
    st.one_of(st.tuples(factor, factor, factor).map(np.array), matrices),
)
def test_normals_equal_the_inverse_transpose_result(normals: np.ndarray, linear: np.ndarray) -> None:
    m = np.diag(linear) if linear.shape == (3,) else linear
    want = normals @ np.linalg.inv(m)  # (M^-T n) for row vectors
    want *= np.sign(np.linalg.det(m))  # cofactor keeps orientation for mirrors: det * M^-T
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    got = transform_normals(normals, linear)
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-12)


def test_normals_stay_perpendicular_to_surface_under_stretch() -> None:
    # A plane x + y = 1 with normal (1,1,0)/sqrt2, stretched by (2, 1, 1): the plane becomes x/2 + y = 1.
    n = transform_normals(np.array([[1.0, 1.0, 0.0]]) / np.sqrt(2), [2.0, 1.0, 1.0])
    tangent_in_plane = np.array([2.0, -1.0, 0.0])  # image of (1, -1, 0)
    assert abs(float(n[0] @ tangent_in_plane)) < 1e-12


def test_tangent_rotates_with_a_90_degree_turn() -> None:
    turn = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # +90 deg about z
    got = transform_tangents(np.array([[1.0, 0.0, 0.0, 1.0]]), turn)
    np.testing.assert_allclose(got, [[0.0, 1.0, 0.0, 1.0]], atol=1e-15)


def test_tangent_w_flips_under_mirroring_and_xyz_renormalises() -> None:
    got = transform_tangents(np.array([[0.6, 0.8, 0.0, 1.0]], dtype=np.float32), [-2.0, 1.0, 1.0])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[0, :3], np.array([-1.2, 0.8, 0.0]) / np.hypot(1.2, 0.8), rtol=1e-6)
    assert got[0, 3] == -1.0


def test_directions_use_the_linear_part_only() -> None:
    d = transform_directions(np.array([[1.0, 1.0, 1.0]]), [2.0, 3.0, 4.0])
    assert d.tolist() == [[2.0, 3.0, 4.0]]


def test_points_are_written_through_out_and_cast_once() -> None:
    pts = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
    res = transform_points(pts, [2.0, 2.0, 2.0], [-1.0, 0.0, 0.0], out=pts)
    assert res is pts and pts.tolist() == [[1.0, 4.0, 6.0]]
    src = np.array([[0.1, 0.2, 0.3]], dtype=np.float32)
    copy = src.copy()
    got = transform_points(src, [3.0, 3.0, 3.0], [0.0, 0.0, 0.0])
    assert np.array_equal(src, copy)
    assert got.dtype == np.float32
    assert got[0, 0] == np.float32(np.float64(np.float32(0.1)) * 3.0)


def test_points_under_a_general_matrix_match_matmul() -> None:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(3, 3))
    pts = rng.normal(size=(100, 3))
    np.testing.assert_allclose(transform_points(pts, m, [1.0, 2.0, 3.0]), pts @ m.T + [1, 2, 3], atol=1e-12)


@given(
    arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(1, 4)), elements=finite),
    st.lists(st.one_of(factor, finite), min_size=4, max_size=4),
)
def test_column_operations_equal_broadcasting_bit_for_bit(work: np.ndarray, values: list[float]) -> None:
    k = work.shape[1]
    row = np.array(values[:k])
    assert scale_columns(work.copy(), row).tobytes() == (work * row).tobytes()
    assert shift_columns(work.copy(), row).tobytes() == (work + row).tobytes()


def test_normalized_rows_match_the_norm_numpy_computes() -> None:
    # Each row divided by its length (to an ulp or two: the sums run in another order), zero rows kept.
    rng = np.random.default_rng(3)
    v = rng.normal(size=(100_000, 3)) * np.exp(rng.uniform(-8, 8, (100_000, 1)))
    v[::997] = 0.0
    out = transform_normals(v, [1.0, 1.0, 1.0])
    norms = np.sqrt((v * v).sum(axis=1))
    nz = norms > 0
    np.testing.assert_allclose(out[nz], v[nz] / norms[nz, None], rtol=1e-15, atol=0)
    assert not out[~nz].any()


def test_column_operations_take_a_single_point_too() -> None:
    point = np.array([1.0, -2.0, 3.0])
    assert scale_columns(point.copy(), [2.0, 3.0, 4.0]).tolist() == [2.0, -6.0, 12.0]
    assert shift_columns(point.copy(), [1.0, 1.0, 1.0]).tolist() == [2.0, -1.0, 4.0]
    assert transform_points(point, [2.0, 3.0, 4.0], [1.0, 1.0, 1.0]).tolist() == [3.0, -5.0, 13.0]


@pytest.mark.parametrize("order", ["C", "F"])
def test_normals_are_the_same_bytes_as_numpys_einsum_norm(order: str) -> None:
    # Earlier releases normalised with np.einsum("ij,ij->i"); its order of summation depends
    # on the memory layout (ASCII PLY columns arrive column-major). Outputs must not change.
    rng = np.random.default_rng(11)
    v = np.array(rng.normal(size=(5000, 3)) * np.exp(rng.uniform(-6, 6, (5000, 1))), order=order)
    work = np.array(v, dtype=np.float64)  # as transform_normals copies it
    norms = np.sqrt(np.einsum("ij,ij->i", work, work))
    want = work * (1.0 / norms)[:, None]
    got = transform_normals(v, [1.0, 1.0, 1.0])
    assert got.tobytes(order="C") == np.ascontiguousarray(want).tobytes()
