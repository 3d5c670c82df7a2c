"""Bounds of point sets and the vector transforms a fit needs (pure numpy).

Shapes lead: ``points : (n, 3)``, ``tangents : (n, 4)``. All math is float64; results
are cast once to the stored dtype. A caller's array changes only through ``out=``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import EmptyInputError, NonFiniteInputError

__all__ = [
    "affine_points",
    "cofactor",
    "is_per_axis",
    "linear_part",
    "merge_bounds",
    "point_bounds",
    "referenced_bounds",
    "referenced_rows",
    "scale_columns",
    "shift_columns",
    "transform_directions",
    "transform_normals",
    "transform_points",
    "transform_tangents",
    "values_checked_here",
]

F64 = NDArray[np.float64]
Linear = ArrayLike  # (3,) per-axis factors or a (3, 3) matrix
CHUNK = 1 << 18  # rows per chunk on hot paths: 256 k vertices
#: Indices per chunk where :func:`referenced_bounds` guesses a side's vertex is first used.
HINT_CHUNK = 1 << 14
Release = Callable[[NDArray[Any]], None]  # told about each slice once it has been read
SIDES = 6  # of a box: bit 2 * axis marks the min face of an axis, bit 2 * axis + 1 its max face


def values_checked_here() -> np.errstate:
    """numpy's floating-point warnings off, and never raised whatever ``np.seterr`` says.

    Around the file functions of :mod:`meshpivot.api` and :mod:`meshpivot.preview` (and
    bake's second writer thread, and :func:`meshpivot.fit.compute_fit`, which checks its
    result): meshpivot tests the values it reads and computes itself (NaN, infinities, overflow: an error
    that names the place). A corrupt float such as a signalling NaN would otherwise also
    make numpy warn as it is widened or scaled, once per place in the code, or raise
    ``FloatingPointError`` for a caller who set numpy to raise.
    """
    return np.errstate(all="ignore")


def point_bounds(points: ArrayLike, *, what: str = "points") -> tuple[F64, F64]:
    """Axis-aligned bounds of ``points``.

    Parameters
    ----------
    points : (n, 3) array
        Any float or integer dtype; not copied when already an array.
    what : str
        Named in error messages.

    Returns
    -------
    lo, hi : (3,) float64

    Raises
    ------
    EmptyInputError
        ``n == 0``.
    NonFiniteInputError
        A coordinate is NaN or infinite.

    Notes
    -----
    Column-wise ``min`` on an ``(n, 3)`` array is slow in numpy (PERF-NOTES.md); this
    reduces each column of a contiguous chunk separately.
    """
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{what} must have shape (n, 3), got {arr.shape}")
    n = arr.shape[0]
    if n == 0:
        raise EmptyInputError(f"{what}: no vertices, so there is no bounding box")
    lo = np.full(3, np.inf)
    hi = np.full(3, -np.inf)
    for start in range(0, n, CHUNK):
        chunk = arr[start : start + CHUNK]
        for i in range(3):
            col = np.ascontiguousarray(chunk[:, i])
            lo[i] = min(lo[i], float(col.min()))
            hi[i] = max(hi[i], float(col.max()))
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        # min/max propagate NaN, and inf shows up as a bound.
        raise NonFiniteInputError(f"{what}: a vertex coordinate is NaN or infinite")
    return lo, hi


def merge_bounds(boxes: list[tuple[F64, F64]]) -> tuple[F64, F64]:
    """The box that holds every box in ``boxes``.

    Raises
    ------
    EmptyInputError
        ``boxes`` is empty.
    """
    if not boxes:
        raise EmptyInputError("no drawable vertex, so there is no bounding box")
    lo = np.min(np.stack([b[0] for b in boxes]), axis=0)
    hi = np.max(np.stack([b[1] for b in boxes]), axis=0)
    return lo, hi


def referenced_rows(
    indices: ArrayLike, n: int, *, chunk: int = CHUNK, release: Release | None = None
) -> NDArray[np.bool_]:
    """Which of ``n`` rows ``indices`` reference.

    Parameters
    ----------
    indices : (m,) integer array
        Each in ``[0, n)``; not copied when already an array.
    n : int
        Rows in the array that ``indices`` index.
    chunk : int
        Indices scattered at a time: no index-sized temporaries.
    release : callable, optional
        Called with each slice of ``indices`` once it has been read (e.g. to drop the
        pages of a memory-mapped file).

    Returns
    -------
    (n,) bool
    """
    idx = np.asarray(indices).reshape(-1)
    used = np.zeros(n, dtype=bool)
    for start in range(0, len(idx), chunk):
        part = idx[start : start + chunk]
        used[part] = True
        if release is not None:
            release(part)
    return used


def referenced_bounds(
    points: ArrayLike,
    indices: ArrayLike | None,
    *,
    what: str = "points",
    chunk: int = CHUNK,
    release: Release | None = None,
    ready: Callable[[], object] | None = None,
    extremes: Callable[[F64, F64], object] | None = None,
) -> tuple[F64, F64]:
    """Axis-aligned bounds of the rows of ``points`` that ``indices`` reference.

    Parameters
    ----------
    points : (n, 3) array
        Any float or integer dtype; not copied when already an array.
    indices : (m,) integer array or None
        Row numbers, each in ``[0, n)``: the caller checks the range (a larger one
        raises ``IndexError`` or is never read). ``None``: every row.
    what : str
        Named in error messages.
    chunk : int
        Rows of ``points``, and indices, read at a time.
    release : callable, optional
        Called with each slice of ``points`` or ``indices`` once it has been read (e.g.
        to drop the pages of a memory-mapped file, so that memory does not grow with it).
    ready : callable, optional
        Called (without arguments) after the pass over ``points`` and before any index
        is read: e.g. to wait for a range check of ``indices`` that runs meanwhile, and
        to raise what it found.
    extremes : callable, optional
        Called with ``(lo, hi)`` of every row, referenced or not, when the pass over
        ``points`` finds them (all finite): the per-column min and max, for a caller
        that needs them too.

    Returns
    -------
    lo, hi : (3,) float64
        The numbers ``point_bounds(points[np.unique(indices)])`` gives (where -0.0 and
        0.0 tie for a bound either may come back, as from :func:`point_bounds`).

    Raises
    ------
    EmptyInputError
        No row, or no index.
    NonFiniteInputError
        A referenced coordinate is NaN or infinite (rows no index references may hold
        anything).

    Notes
    -----
    Selecting the referenced rows costs a scatter of every index and a copy. Instead
    this takes the bounds of every row and, for each of the six sides of the box, rows
    that lie on it (the first of each chunk); once each side has a referenced row, those
    bounds are the answer. Indices are read chunk by chunk, first where each side's
    lowest row is expected to be used first (exporters and meshoptimizer number vertices
    in the order of first use), so a typical mesh reads a few chunks of its indices.
    Before all of them are read, every row on a side not confirmed yet joins the first
    ones: primitives that share one vertex buffer often skip the first row on a side but
    use another. A side with no referenced row, or a coordinate that is not finite,
    falls back to selecting the referenced rows.

    Examples
    --------
    >>> pts = np.array([[0, 0, 0], [1, 2, 3], [9, 9, 9]], dtype=np.float32)
    >>> lo, hi = referenced_bounds(pts, np.array([0, 1, 1, 0]))
    >>> hi.tolist()
    [1.0, 2.0, 3.0]
    """
    arr = np.asarray(points)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{what} must have shape (n, 3), got {arr.shape}")
    if len(arr) == 0:
        return point_bounds(arr, what=what)  # raises EmptyInputError
    idx = None if indices is None else np.asarray(indices).reshape(-1)
    if idx is not None and len(idx) == 0:
        raise EmptyInputError(f"{what}: no vertex is referenced, so there is no bounding box")
    found = _extremes(arr, chunk, release, sides=idx is not None)
    if found is not None and extremes is not None:
        extremes(found[0].copy(), found[1].copy())
    if ready is not None:
        ready()
    if found is not None:
        lo, hi, rows = found
        if idx is None or _sides_referenced(arr, lo, hi, rows, idx, chunk, release):
            return lo, hi
    elif idx is None:
        return point_bounds(arr, what=what)  # raises NonFiniteInputError
    # A side that no index reaches, or a coordinate that is not finite (perhaps unreferenced).
    return _masked_bounds(arr, referenced_rows(idx, len(arr), chunk=chunk, release=release), what, chunk, release)


def _extremes(
    arr: NDArray[Any], chunk: int, release: Release | None, *, sides: bool
) -> tuple[F64, F64, list[NDArray[np.intp]]] | None:
    """Bounds of the ``(n, 3)`` rows of ``arr`` (``n > 0``) and, with ``sides``, for each
    side of the box (see :data:`SIDES`) rows on it: the first of each chunk that reaches
    the side; ``None`` when a coordinate is NaN or infinite.

    One pass, ``chunk`` rows at a time, with the bounds that :func:`point_bounds` gives
    (where -0.0 and 0.0 tie, either). ``argmin``/``argmax`` give a bound and a row on it at
    once: comparing the chunk with its bound to find every such row cost as much as the
    rest of the pass on meshes with many rows on a side (a grid's edges), so that is left
    to :func:`_rows_on_sides`, for the sides these rows do not settle. Each column is
    copied into one reused buffer: a fresh buffer per chunk costs more in page faults
    than the reductions themselves.
    """
    best = np.array([np.inf, -np.inf] * 3)  # by side
    rows: list[list[int]] = [[] for _ in range(SIDES)]
    buf = np.empty(min(chunk, len(arr)), dtype=arr.dtype)
    for start in range(0, len(arr), chunk):
        block = arr[start : start + chunk]
        col = buf[: len(block)]
        for axis in range(3):
            np.copyto(col, block[:, axis])
            for side, at in ((2 * axis, int(col.argmin())), (2 * axis + 1, int(col.argmax()))):
                value = float(col[at])
                if not np.isfinite(value):  # argmin and argmax find NaN; inf shows up as a bound
                    return None
                better = value > best[side] if side % 2 else value < best[side]
                if sides and (better or value == best[side]):
                    rows[side] = [start + at] if better else [*rows[side], start + at]
                if better:
                    best[side] = value
        if release is not None:
            release(block)
    return best[0::2], best[1::2], [np.array(r, dtype=np.intp) for r in rows] if sides else []


def _rows_on_sides(
    arr: NDArray[Any], lo: F64, hi: F64, sides: int, chunk: int, release: Release | None
) -> list[NDArray[np.intp]]:
    """Every row of ``arr`` on each side whose bit ``sides`` holds (empty for the others),
    given the bounds ``lo`` and ``hi``: one more pass over the columns concerned.
    """
    found: list[list[NDArray[np.intp]]] = [[] for _ in range(SIDES)]
    buf = np.empty(min(chunk, len(arr)), dtype=arr.dtype)
    for start in range(0, len(arr), chunk):
        block = arr[start : start + chunk]
        col = buf[: len(block)]
        for axis in range(3):
            if not sides >> (2 * axis) & 3:
                continue
            np.copyto(col, block[:, axis])
            for side, bound in ((2 * axis, lo[axis]), (2 * axis + 1, hi[axis])):
                if sides >> side & 1:
                    found[side].append(np.flatnonzero(col == bound) + start)
        if release is not None:
            release(block)
    return [np.concatenate(r) if r else np.empty(0, dtype=np.intp) for r in found]


def _sides_referenced(
    arr: NDArray[Any],
    lo: F64,
    hi: F64,
    rows: list[NDArray[np.intp]],
    idx: NDArray[Any],
    chunk: int,
    release: Release | None,
) -> bool:
    """Whether, for every side of the box ``lo``, ``hi`` of ``arr``, ``idx`` references a
    row on it, starting from the ``rows[side]`` that :func:`_extremes` found.

    A ``(n,)`` lookup holds bit ``side`` for each row on a side. Indices are read until
    every side is found: for each side not found yet, the (smaller) chunk where its lowest
    row is used first if rows are numbered in the order of first use; then the neighbours
    of those chunks; then all of ``idx``, ``chunk`` indices at a time (the guessed ones
    again among them), after every row on the sides not found yet has joined the lookup
    (:func:`_rows_on_sides`).
    """
    n = len(arr)
    lookup = np.zeros(n, dtype=np.uint8)

    def mark(sides: list[NDArray[np.intp]]) -> None:
        for side, ids in enumerate(sides):
            lookup[ids] |= np.uint8(1 << side)

    mark(rows)
    everything = (1 << SIDES) - 1
    found = 0
    # The guesses read smaller chunks: a sixty-fourth of the indices, at least HINT_CHUNK
    # (a guess is off by about one row of a mesh, so much smaller ones miss), at most
    # ``chunk``. A small mesh is then settled without reading most of its indices. The
    # rest, if it comes to that, is read in ``chunk``s. Guessed chunks are not released:
    # a few dozen at most, and a madvise call each would cost more than they hold.
    small = min(chunk, max(HINT_CHUNK, len(idx) // 64))
    count = -(-len(idx) // small)
    guesses = [min(count - 1, int(ids[0]) * len(idx) // (n * small)) for ids in rows]

    def sides_in(part: NDArray[Any]) -> int:
        return int(np.bitwise_or.reduce(np.take(lookup, part)))  # take: faster than lookup[part]

    seen: set[int] = set()
    for step in (0, -1, 1):
        for side, guess in enumerate(guesses):
            c = guess + step
            if found >> side & 1 or not 0 <= c < count or c in seen:
                continue
            seen.add(c)
            found |= sides_in(idx[c * small : (c + 1) * small])
            if found == everything:
                return True
    mark(_rows_on_sides(arr, lo, hi, everything & ~found, chunk, release))
    for c in range(-(-len(idx) // chunk)):
        part = idx[c * chunk : (c + 1) * chunk]
        found |= sides_in(part)
        if release is not None:
            release(part)
        if found == everything:
            return True
    return False


def _masked_bounds(
    arr: NDArray[Any], used: NDArray[np.bool_], what: str, chunk: int, release: Release | None
) -> tuple[F64, F64]:
    """:func:`point_bounds` of the rows of ``arr`` that ``used`` marks, ``chunk`` rows at a time."""
    parts = []
    for start in range(0, len(arr), chunk):
        block = arr[start : start + chunk]
        kept = block[used[start : start + chunk]]
        if len(kept):
            parts.append(point_bounds(kept, what=what))
        if release is not None:
            release(block)
    return merge_bounds(parts)


def linear_part(linear: Linear) -> F64:
    """A (3, 3) float64 matrix from ``(3,)`` per-axis factors or a ``(3, 3)`` matrix."""
    m = np.asarray(linear, dtype=np.float64)
    if m.shape == (3,):
        return np.diag(m)
    if m.shape == (4, 4):
        return np.array(m[:3, :3])
    if m.shape != (3, 3):
        raise ValueError(f"linear part must have shape (3,), (3, 3) or (4, 4), got {m.shape}")
    return m


def cofactor(linear: Linear) -> F64:
    """Cofactor matrix ``det(L) * inv(L).T`` of the linear part; defined for singular ``L``.

    Its rows are the cross products of the rows of ``L`` taken in cyclic order.
    """
    m = linear_part(linear)
    return np.stack([np.cross(m[1], m[2]), np.cross(m[2], m[0]), np.cross(m[0], m[1])])


def is_per_axis(matrix: ArrayLike) -> bool:
    """Whether the square ``matrix`` (a linear part) only scales each axis: no off-diagonal term."""
    m = np.asarray(matrix)
    return bool(np.count_nonzero(m - np.diag(np.diag(m))) == 0)


def scale_columns(work: NDArray[np.floating], factors: ArrayLike) -> NDArray[np.floating]:
    """``work *= factors`` in place, for ``(n, k)`` ``work`` and ``(k,)`` factors; returns ``work``.

    The same products as broadcasting, computed one column at a time: numpy's loop over
    a strided column is about 4 times faster than its broadcast over rows of three.

    >>> scale_columns(np.ones((2, 3)), [1.0, 2.0, 3.0]).tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    """
    return _by_column(np.multiply, work, factors)


def shift_columns(work: NDArray[np.floating], offsets: ArrayLike) -> NDArray[np.floating]:
    """``work += offsets`` in place, one column at a time (see :func:`scale_columns`)."""
    return _by_column(np.add, work, offsets)


def _by_column(op: np.ufunc, work: NDArray[np.floating], values: ArrayLike) -> NDArray[np.floating]:
    """``op(work, values, out=work)`` for a ``(k,)`` row of values, one column at a time."""
    row = np.asarray(values, dtype=np.float64).reshape(-1)
    if work.ndim != 2:  # one point, say: nothing to gain
        op(work, row, out=work)
        return work
    for i, v in enumerate(row):
        col = work[:, i]
        op(col, v, out=col)
    return work


def _apply_linear(work: F64, m: F64) -> F64:
    """``work @ m.T`` spelled out per component (bit-stable across builds)."""
    if is_per_axis(m):
        scale_columns(work, np.diag(m))
        return work
    x, y, z = work[:, 0].copy(), work[:, 1].copy(), work[:, 2].copy()
    for i in range(3):
        col = work[:, i]
        np.multiply(x, m[i, 0], out=col)
        col += y * m[i, 1]
        col += z * m[i, 2]
    return work


def _store(
    work: NDArray[np.floating], like: NDArray[np.generic], out: NDArray[np.generic] | None
) -> NDArray[np.generic]:
    if out is None:
        return work.astype(like.dtype, copy=False) if like.dtype != work.dtype else work
    np.copyto(out, work, casting="unsafe" if out.dtype.kind in "iu" else "same_kind")
    return out


def transform_points(
    points: ArrayLike,
    linear: Linear,
    translation: ArrayLike,
    *,
    out: NDArray[np.generic] | None = None,
) -> NDArray[np.generic]:
    """Map points by ``x' = L x + t`` (float64 math, cast once to the input dtype).

    Parameters
    ----------
    points : (n, 3) float array
    linear : (3,) or (3, 3)
        Per-axis factors (applied elementwise, exactly) or a matrix.
    translation : (3,)
        Added after the linear part.
    out : (n, 3) array, optional
        Written in place (may be ``points`` itself); otherwise a new array of the
        input's dtype is returned and ``points`` is not changed.

    Returns
    -------
    (n, 3) array
    """
    src = np.asarray(points)
    work = np.array(src, dtype=np.float64)  # a copy we own
    lin = np.asarray(linear, dtype=np.float64)
    if lin.shape == (3,):
        scale_columns(work, lin)
    else:
        _apply_linear(work, linear_part(lin))
    shift_columns(work, np.asarray(translation, dtype=np.float64).reshape(3))
    return _store(work, src, out)


def affine_points(points: ArrayLike, matrix: ArrayLike) -> F64:
    """Points mapped by an affine ``(4, 4)`` matrix, as new float64 values.

    Parameters
    ----------
    points : (n, 3) array
        Any float dtype (a float32 view onto a file is fine); not changed.
    matrix : (4, 4) array
        Column vectors on the right; the bottom row is ignored.

    Returns
    -------
    (n, 3) float64
        The same per-component arithmetic as :func:`transform_points`.
    """
    m = np.asarray(matrix, dtype=np.float64)
    src = np.asarray(points)
    out = np.empty(src.shape, dtype=np.float64)
    transform_points(src, m[:3, :3], m[:3, 3], out=out)
    return out


def _normalize_rows(work: F64) -> F64:
    """Scale each row to unit length in place; zero rows stay zero."""
    x, y, z = work[:, 0], work[:, 1], work[:, 2]
    # Spelled out per column (4x faster than einsum or a broadcast over rows of three), in
    # the order numpy's einsum summed them, kept so that outputs stay byte-identical to
    # earlier releases (and no longer depend on how numpy was built): (x*x + z*z) + y*y for
    # rows in memory order, (x*x + y*y) + z*z for a column-major array (ASCII PLY columns).
    second, third = (y, z) if work.flags.f_contiguous and not work.flags.c_contiguous else (z, y)
    norms = x * x
    norms += second * second
    norms += third * third
    np.sqrt(norms, out=norms)
    # A multiply by a zero-safe reciprocal: boolean row selection is ~20x slower on big arrays.
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    for col in (x, y, z):
        col *= inv
    return work


def transform_normals(
    normals: ArrayLike, linear: Linear, *, out: NDArray[np.generic] | None = None, normalize: bool = True
) -> NDArray[np.generic]:
    """Map normals by the cofactor of the linear part and renormalise them.

    Parameters
    ----------
    normals : (n, 3) float array
    linear : (3,) or (3, 3)
    out : (n, 3) array, optional
        As in :func:`transform_points`.
    normalize : bool
        Renormalise to unit length (default); zero vectors stay zero.
    """
    src = np.asarray(normals)
    work = np.array(src, dtype=np.float64)
    _apply_linear(work, cofactor(linear))
    if normalize:
        _normalize_rows(work)
    return _store(work, src, out)


def transform_directions(
    vectors: ArrayLike, linear: Linear, *, out: NDArray[np.generic] | None = None, normalize: bool = False
) -> NDArray[np.generic]:
    """Map direction vectors (or deltas) by the linear part only, no translation."""
    src = np.asarray(vectors)
    work = np.array(src, dtype=np.float64)
    _apply_linear(work, linear_part(linear))
    if normalize:
        _normalize_rows(work)
    return _store(work, src, out)


def transform_tangents(
    tangents: ArrayLike, linear: Linear, *, out: NDArray[np.generic] | None = None
) -> NDArray[np.generic]:
    """Map glTF tangents: ``xyz`` by the linear part, renormalised; ``w`` times ``sign(det L)``.

    Parameters
    ----------
    tangents : (n, 4) float array
    linear : (3,) or (3, 3)
    out : (n, 4) array, optional
    """
    src = np.asarray(tangents)
    if src.ndim != 2 or src.shape[1] != 4:
        raise ValueError(f"tangents must have shape (n, 4), got {src.shape}")
    m = linear_part(linear)
    work = np.array(src, dtype=np.float64)
    xyz = np.ascontiguousarray(work[:, :3])
    _apply_linear(xyz, m)
    _normalize_rows(xyz)
    work[:, :3] = xyz
    if np.linalg.det(m) < 0:
        work[:, 3] *= -1.0
    return _store(work, src, out)
