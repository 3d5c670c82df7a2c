"""Verification of a measured box against a request (SPEC.md section 8), pure numpy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .fit import AXES
from .options import FitOptions

__all__ = ["Check", "verify_box"]

_SIZE_NAMES = ("width", "height", "depth")


@dataclass(frozen=True)
class Check:
    """One verified property.

    Attributes
    ----------
    name : str
        ``size_x``, ``pivot_y``, ``fills_target``, ...
    measured, expected, tolerance : float
        What was found, what was asked for, and how far apart they may be.
    relation : str
        ``==`` (within tolerance) or ``<=`` (at most expected + tolerance).
    passed : bool
    """

    name: str
    measured: float
    expected: float
    tolerance: float
    relation: str
    passed: bool

    def describe(self) -> str:
        """One line: name, measured, expected and tolerance."""
        verdict = "ok" if self.passed else "FAILED"
        return (
            f"{self.name}: measured {self.measured:.9g}, expected {self.relation} "
            f"{self.expected:.9g} (tolerance {self.tolerance:.3g}) {verdict}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "name": self.name,
            "measured": self.measured,
            "expected": self.expected,
            "tolerance": self.tolerance,
            "relation": self.relation,
            "passed": self.passed,
        }


def verify_box(lo: ArrayLike, hi: ArrayLike, options: FitOptions) -> list[Check]:
    """Check a measured box ``[lo, hi]`` against ``options`` (SPEC.md section 8).

    Sizes: an axis with a target must equal it (stretch), or be at most it with at
    least one axis equal (``preserve_aspect_ratio``); auto axes are not checked.
    Pivot: ``lo_i == -(0.5 + p_i) * E_i`` on every axis. A check holds within
    ``atol + rtol * size``.

    Parameters
    ----------
    lo, hi : (3,) float
    options : FitOptions

    Returns
    -------
    list of Check
        Sizes first, then ``fills_target`` (preserve_aspect_ratio only), then pivots.

    Examples
    --------
    >>> [c.passed for c in verify_box([-0.5, 0, -1], [0.5, 2, 1], FitOptions([1, 2, 2], [0, -0.5, 0]))]
    [True, True, True, True, True, True]
    """
    lo_a = np.asarray(lo, dtype=np.float64).reshape(3)
    hi_a = np.asarray(hi, dtype=np.float64).reshape(3)
    ext = hi_a - lo_a
    rtol, atol = options.rtol, options.atol
    checks: list[Check] = []
    targets = options.scaled_bbox
    axes = options.target_axes
    if options.preserve_aspect_ratio:
        equal_any = False
        for i in axes:
            tol = atol + rtol * targets[i]
            checks.append(
                Check(f"size_{AXES[i]}", float(ext[i]), targets[i], tol, "<=", bool(ext[i] <= targets[i] + tol))
            )
            equal_any = equal_any or bool(abs(ext[i] - targets[i]) <= tol)
        if axes:
            # The largest uniform factor makes at least one axis touch its target.
            gaps = [abs(float(ext[i]) - targets[i]) for i in axes]
            k = int(np.argmin(gaps))
            i = axes[k]
            checks.append(
                Check("fills_target", float(ext[i]), targets[i], atol + rtol * targets[i], "==", equal_any)
            )
    else:
        for i in axes:
            tol = atol + rtol * targets[i]
            checks.append(
                Check(
                    f"size_{AXES[i]}", float(ext[i]), targets[i], tol, "==", bool(abs(ext[i] - targets[i]) <= tol)
                )
            )
    for i in range(3):
        expected = float(-(0.5 + options.pivot_point[i]) * ext[i]) + 0.0  # no "-0"
        tol = atol + rtol * float(ext[i])
        checks.append(
            Check(f"pivot_{AXES[i]}", float(lo_a[i]), expected, tol, "==", bool(abs(lo_a[i] - expected) <= tol))
        )
    return checks
