"""The contract: how a measured box and a request become a transform (SPEC.md 3-5).

Conventions, stated once for the whole package:

* Frame: glTF 2.0, right-handed, +Y up, front faces +Z, metres. Axis 0 is X
  (width), 1 is Y (height), 2 is Z (depth).
* A box is a pair ``(lo, hi)`` of ``(3,)`` float64 arrays with ``lo <= hi``.
* The fit is ``x' = s * x - P`` in the scene's root frame: scale first (per axis,
  ``s > 0``), then move the pivot ``P`` (a point of the *scaled* box) to the origin.
  ``translation`` is ``-P``.
* Matrices are 4x4, column vectors on the right, translation in ``M[:3, 3]``.
* Calculations are carried out in float64 and cast to the stored type once. Scale and
  translation are applied elementwise (never through ``matmul``, which is not
  bit-identical across builds), so ``P`` computed with the exact form
  ``(0.5 - p) * lo + (0.5 + p) * hi`` makes a ``-0.5`` / ``+0.5`` pivot land the
  extreme vertices on exactly zero.

This module knows nothing of files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import FlatAxisError, SpecError
from .options import FitOptions
from .vectors import values_checked_here

__all__ = [
    "AXES",
    "Fit",
    "compute_fit",
    "pivot_of_origin",
    "target_box",
]

AXES = ("x", "y", "z")
F64 = NDArray[np.float64]
#: The largest coordinate a fit may give: float32's, the type meshes are stored and drawn
#: in (glTF, PLY, STL and USD store it; OBJ is read back so by most software).
COORDINATE_MAX = float(np.finfo(np.float32).max)
#: float32's smallest normal number: an extent a fit shrinks below it collapses when stored.
EXTENT_MIN = float(np.finfo(np.float32).tiny)


@dataclass(frozen=True)
class Fit:
    """A per-axis scale followed by a translation: ``x' = scale * x + translation``.

    Attributes
    ----------
    scale : (3,) float64
        Per-axis factors, all ``> 0``.
    translation : (3,) float64
        ``-P``, where ``P`` is the pivot in the scaled frame.
    source_lo, source_hi : (3,) float64
        The measured box the fit was computed from.
    """

    scale: F64
    translation: F64
    source_lo: F64
    source_hi: F64

    @property
    def pivot(self) -> F64:
        """The pivot ``P`` in the scaled frame (``-translation``)."""
        return -self.translation

    @property
    def is_uniform(self) -> bool:
        """True when the three scale factors are equal."""
        return bool(self.scale[0] == self.scale[1] == self.scale[2])

    @property
    def is_identity(self) -> bool:
        """True when the fit changes nothing."""
        return bool(np.all(self.scale == 1.0) and np.all(self.translation == 0.0))

    @property
    def matrix(self) -> F64:
        """(4, 4) float64: ``diag(scale)`` with ``translation`` in the last column."""
        m = np.eye(4)
        m[0, 0], m[1, 1], m[2, 2] = self.scale
        m[:3, 3] = self.translation
        return m

    def target_bounds(self) -> tuple[F64, F64]:
        """The box the fitted asset occupies, computed exactly as points are mapped."""
        lo = self.source_lo * self.scale + self.translation
        hi = self.source_hi * self.scale + self.translation
        return lo, hi

    def to_dict(self) -> dict[str, list[float]]:
        """Plain JSON-ready values."""
        return {
            "scale": [float(v) for v in self.scale],
            "translation": [float(v) for v in self.translation],
        }


def _as_box(lo: ArrayLike, hi: ArrayLike) -> tuple[F64, F64]:
    lo_a = np.array(lo, dtype=np.float64).reshape(3)
    hi_a = np.array(hi, dtype=np.float64).reshape(3)
    if not (np.all(np.isfinite(lo_a)) and np.all(np.isfinite(hi_a))):
        raise ValueError(f"box is not finite: lo={lo_a.tolist()}, hi={hi_a.tolist()}")
    if np.any(hi_a < lo_a):
        raise ValueError(f"box has hi < lo: lo={lo_a.tolist()}, hi={hi_a.tolist()}")
    return lo_a, hi_a


def compute_scale(extents: ArrayLike, options: FitOptions) -> F64:
    """Per-axis scale factors for measured ``extents`` (SPEC.md section 3).

    Parameters
    ----------
    extents : (3,) float
        Measured sizes, ``>= 0``.
    options : FitOptions
        The request.

    Returns
    -------
    (3,) float64
        Factors, all ``> 0``.

    Raises
    ------
    FlatAxisError
        An axis with a target has zero extent (stretch), or every axis with a
        target is flat (``preserve_aspect_ratio``).
    SpecError
        A factor is not a positive finite number (a target and an extent too far apart).
    """
    ext = np.array(extents, dtype=np.float64).reshape(3)
    targets = options.scaled_bbox
    axes = options.target_axes
    if not axes:
        return np.ones(3)
    if options.preserve_aspect_ratio:
        ratios = [(_factor(targets[i], ext[i], i), i) for i in axes if ext[i] > 0]
        if not ratios:
            names = ", ".join(f"{AXES[i]} ({'width height depth'.split()[i]})" for i in axes)
            raise FlatAxisError(
                f"every axis with a target size is flat (zero extent): {names}; "
                "there is nothing to scale"
            )
        return np.full(3, min(ratios)[0])
    flat = [i for i in axes if not ext[i] > 0]
    if flat:
        i = flat[0]
        raise FlatAxisError(
            f"the asset is flat along {AXES[i]} (extent 0) but scaled_bbox[{i}] asks for "
            f"{targets[i]:g} m; use -1 for that axis or preserve_aspect_ratio"
        )
    scale = np.empty(3)
    factors = []
    for i in axes:
        scale[i] = _factor(targets[i], ext[i], i)
        factors.append(scale[i])
    # Geometric mean of the stretched axes' factors, for the auto axes.
    mean = math.exp(sum(math.log(f) for f in factors) / len(factors))
    if len(set(factors)) == 1:
        mean = factors[0]  # exact when all targets agree (one target, or uniform)
    for i in range(3):
        if i not in axes:
            scale[i] = mean
    return scale


def _factor(target: float, extent: float, axis: int) -> float:
    """``target / extent``, which must be a positive finite number."""
    f = float(target) / float(extent)  # Python floats: inf or 0.0 out of range, no warning
    if not (math.isfinite(f) and f > 0.0):
        raise SpecError(
            f"scaled_bbox[{axis}] = {target:g} m for a measured {AXES[axis]} extent of {extent:g} "
            f"needs a scale factor of {f:g}: out of the range of floating-point numbers"
        )
    return f


def compute_fit(lo: ArrayLike, hi: ArrayLike, options: FitOptions) -> Fit:
    """Compute the fit that maps the measured box ``[lo, hi]`` as ``options`` ask.

    Parameters
    ----------
    lo, hi : (3,) float
        The measured box (SPEC.md section 2).
    options : FitOptions
        The request.

    Returns
    -------
    Fit

    Raises
    ------
    FlatAxisError
        See :func:`compute_scale`.
    SpecError
        A factor out of range (:func:`compute_scale`), a fitted box that reaches beyond
        :data:`COORDINATE_MAX`, or an extent shrunk below :data:`EXTENT_MIN`.

    Examples
    --------
    >>> f = compute_fit([0, 0, 0], [2, 4, 1], FitOptions([1, 2, 0.5], [0, -0.5, 0]))
    >>> f.scale.tolist(), f.translation.tolist()
    ([0.5, 0.5, 0.5], [-0.5, -0.0, -0.25])
    """
    lo_a, hi_a = _as_box(lo, hi)
    with values_checked_here():  # what overflows is checked below
        scale = compute_scale(hi_a - lo_a, options)
        slo = lo_a * scale
        shi = hi_a * scale
        p = np.array(options.pivot_point, dtype=np.float64)
        pivot = (0.5 - p) * slo + (0.5 + p) * shi
        fit = Fit(scale=scale, translation=-pivot, source_lo=lo_a, source_hi=hi_a)
        t_lo, t_hi = fit.target_bounds()
        reach = max(float(np.max(np.abs(b))) for b in (t_lo, t_hi, pivot))
        fitted = t_hi - t_lo
    if not reach <= COORDINATE_MAX:  # NaN included
        raise SpecError(
            f"the fitted box would reach {reach:g} m from the origin, beyond {COORDINATE_MAX:.3g}, "
            "the largest float32, in which meshes are stored and drawn"
        )
    for i in range(3):
        extent = float(hi_a[i] - lo_a[i])
        if extent >= EXTENT_MIN and not fitted[i] >= EXTENT_MIN:
            raise SpecError(
                f"the fit would shrink the {AXES[i]} extent from {extent:g} m to {float(fitted[i]):g} m, "
                f"below {EXTENT_MIN:.3g}, the smallest normal float32: the axis would collapse"
            )
    return fit


def target_box(extents: ArrayLike, pivot_point: ArrayLike) -> tuple[F64, F64]:
    """Where a box of ``extents`` must sit for ``pivot_point``: ``[-(0.5+p)E, (0.5-p)E]``."""
    e = np.array(extents, dtype=np.float64).reshape(3)
    p = np.array(pivot_point, dtype=np.float64).reshape(3)
    return -(0.5 + p) * e, (0.5 - p) * e


def pivot_of_origin(lo: ArrayLike, hi: ArrayLike) -> list[float | None]:
    """The ``pivot_point`` that describes where the origin lies in the box ``[lo, hi]``.

    ``-0.5`` is the min face, ``+0.5`` the max face; values outside ``[-0.5, 0.5]``
    mean the origin is outside the box. ``None`` for a flat axis.

    Examples
    --------
    >>> pivot_of_origin([-1, 0, -2], [1, 3, 2])
    [0.0, -0.5, 0.0]
    """
    lo_a, hi_a = _as_box(lo, hi)
    out: list[float | None] = []
    for i in range(3):
        e = hi_a[i] - lo_a[i]
        out.append(None if e <= 0 else float(-lo_a[i] / e - 0.5))
    return out
