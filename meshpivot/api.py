"""The Python API: fit, verify and inspect one file. Each call returns a plain result.

These functions are the unit of work of the command line (and of batch runs): they
take paths and a :class:`~meshpivot.options.FitOptions`, and return dataclasses of
plain values. Output is written atomically: every file goes to a private staging
folder beside the output first and is renamed into place only when all of it has
been written, so a failed run leaves no output file and never touches the input.

A run that is killed (SIGKILL, power loss) cannot remove its staging folder. Each
run holds an exclusive ``flock`` on its staging folder while it lives, and the
kernel drops the lock when the process dies however it dies; every ``apply`` first
removes the ``.meshpivot-staging-*`` folders in its output folder whose lock
nobody holds (:mod:`meshpivot.scratch`). So killed runs leave at most one staging
folder behind, until the next run there. (Without ``flock``, on Windows, nothing is
swept.)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .checks import Check, verify_box
from .errors import MeshPivotError, NonFiniteInputError, OutputError, SpecError
from .fit import Fit, compute_fit, pivot_of_origin
from .formats import KNOWN_EXTENSIONS, Asset, Measurement, open_asset
from .options import FitOptions
from .scratch import STAGING_PREFIX, lock_folder, locked_folder
from .vectors import values_checked_here

__all__ = [
    "ApplyResult",
    "InspectResult",
    "VerifyResult",
    "apply_file",
    "inspect_file",
    "measure_file",
    "verify_file",
]

F64 = NDArray[np.float64]


def _floats(a: F64) -> list[float]:
    return [float(v) for v in a]


@dataclass
class ApplyResult:
    """What :func:`apply_file` measured and did.

    Attributes
    ----------
    input, output : str
        Paths.
    before : Measurement
        The input as measured.
    fit : Fit
        The scale and translation applied.
    after_lo, after_hi : (3,) float64
        The box the output occupies (computed from the fit, in float64).
    mode : str
        ``bake`` or ``wrap``; ``reason`` says why.
    files : list of str
        Every file written, the main output first.
    notes : list of str
        Anything lost or changed that the user should know.
    """

    input: str
    output: str
    options: FitOptions
    before: Measurement
    fit: Fit
    after_lo: F64
    after_hi: F64
    mode: str
    reason: str
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return {
            "input": self.input,
            "output": self.output,
            "request": self.options.to_dict(),
            "before": {
                "min": _floats(self.before.lo),
                "max": _floats(self.before.hi),
                "size": _floats(self.before.size),
            },
            "after": {
                "min": _floats(self.after_lo),
                "max": _floats(self.after_hi),
                "size": _floats(self.after_hi - self.after_lo),
            },
            "fit": self.fit.to_dict(),
            "mode": self.mode,
            "reason": self.reason,
            "files": self.files,
            "notes": self.notes,
            "counts": self.before.counts,
        }


@dataclass
class VerifyResult:
    """What :func:`verify_file` measured and whether every check held."""

    path: str
    options: FitOptions
    measurement: Measurement
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """True when every check held."""
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that did not hold."""
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        m = self.measurement
        return {
            "path": self.path,
            "passed": self.passed,
            "request": self.options.to_dict(),
            "measured": {"min": _floats(m.lo), "max": _floats(m.hi), "size": _floats(m.size)},
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class InspectResult:
    """What :func:`inspect_file` found."""

    path: str
    measurement: Measurement

    @property
    def pivot_point(self) -> list[float | None]:
        """The ``pivot_point`` that describes where the origin is now (None: flat axis)."""
        return pivot_of_origin(self.measurement.lo, self.measurement.hi)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        m = self.measurement
        return {
            "path": self.path,
            "format": m.format,
            "min": _floats(m.lo),
            "max": _floats(m.hi),
            "size": _floats(m.size),
            "center": _floats(m.lo / 2 + m.hi / 2),  # as (lo + hi) / 2, without overflowing
            "pivot_point": self.pivot_point,
            "counts": m.counts,
            "notes": m.notes,
        }


def measure_file(path: str | Path) -> Measurement:
    """Measure ``path`` (SPEC.md section 2).

    Raises
    ------
    InputError
        The file cannot be read or used; the error names the path.
    """
    p = Path(path)
    try:
        with values_checked_here(), open_asset(p) as asset:
            return _measured(asset)
    except MeshPivotError as exc:
        raise exc.with_path(p) from None


def _measured(asset: Asset) -> Measurement:
    """``asset.measure()``, whose box must have a finite size."""
    m = asset.measure()
    if not np.all(np.isfinite(m.size)):
        raise NonFiniteInputError(
            f"the bounding box is too large: from {_floats(m.lo)} to {_floats(m.hi)}, its size overflows 1.8e308"
        )
    return m


def inspect_file(path: str | Path) -> InspectResult:
    """Measure ``path`` and describe it: sizes, bounds, where the origin is, counts."""
    return InspectResult(str(path), measure_file(path))


def verify_file(path: str | Path, options: FitOptions) -> VerifyResult:
    """Check that ``path`` has the size and pivot that ``options`` ask for (SPEC.md 8)."""
    m = measure_file(path)
    with values_checked_here():
        return VerifyResult(str(path), options, m, verify_box(m.lo, m.hi, options))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def apply_file(
    src: str | Path, dst: str | Path, options: FitOptions, *, in_place: bool = False
) -> ApplyResult:
    """Fit the asset at ``src`` as ``options`` ask and write it to ``dst``.

    Parameters
    ----------
    src : path
        The input; never modified (with ``in_place``, it is replaced atomically).
    dst : path
        The output; its extension picks the format. Sidecar files (``.bin``,
        ``.mtl``, textures) are written beside it.
    options : FitOptions
        The request, including ``mode``.
    in_place : bool
        Allow ``dst`` to be ``src``.

    Returns
    -------
    ApplyResult

    Raises
    ------
    SpecError
        ``dst`` is ``src`` without ``in_place``.
    InputError
        The input cannot be read or fitted (flat axis, not bakeable, ...).
    OutputError
        The output folder does not exist or cannot be written.
    """
    src_p, dst_p = Path(src), Path(dst)
    if _same_file(src_p, dst_p) and not in_place:
        raise SpecError("the output is the input file; pass --in-place (in_place=True) to replace it", dst_p)
    out_dir = dst_p.parent if str(dst_p.parent) else Path(".")
    if not out_dir.is_dir():
        raise OutputError("the output folder does not exist", out_dir)
    try:
        with values_checked_here(), open_asset(src_p) as asset:
            _check_output_name(dst_p)
            before = _measured(asset)
            fit = compute_fit(before.lo, before.hi, options)
            asset.replace_input = in_place
            protect = set() if in_place else {p.resolve() for p in asset.input_files()}
            with locked_folder(STAGING_PREFIX, out_dir, failure="cannot write in the output folder") as staging:
                report = asset.write_fitted(fit, staging / dst_p.name, options)
                files = _publish(staging, out_dir, dst_p.name, protect)
    except MeshPivotError as exc:
        raise exc.with_path(src_p) from None
    lo, hi = fit.target_bounds()
    return ApplyResult(
        input=str(src_p),
        output=str(dst_p),
        options=options,
        before=before,
        fit=fit,
        after_lo=lo,
        after_hi=hi,
        mode=report.mode,
        reason=report.reason,
        files=[str(out_dir / f) for f in files],
        notes=report.notes,
    )


def _check_output_name(dst: Path) -> None:
    if dst.is_dir():
        raise OutputError("the output is a folder; give a file name such as out.glb", dst)
    if dst.suffix.lower() not in KNOWN_EXTENSIONS:
        known = ", ".join(KNOWN_EXTENSIONS)
        raise SpecError(
            f"cannot write {dst.suffix or '(no extension)'!r} files; the output's extension picks "
            f"the format: one of {known}",
            dst,
        )


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        if not b.is_file() or a.stat().st_size != b.stat().st_size:
            return False
        with a.open("rb") as fa, b.open("rb") as fb:
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    return False
                if not x:
                    return True
    except OSError:
        return False


def _publish(staging: Path, out_dir: Path, main_name: str, protect: set[Path] | None = None) -> list[str]:
    """Move every staged file into ``out_dir``: sidecars first, the main output last.

    A file in ``protect`` (the input's own files, unless the input is being replaced) is
    never replaced by other bytes. Adapters name new sidecars after the output, so this is
    a backstop.
    """
    rel = sorted(
        str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file() or p.is_symlink()
    )
    if main_name not in rel:
        raise OutputError(f"internal: the adapter did not write {main_name}", out_dir)
    rel.remove(main_name)
    # With sidecars, two runs publishing at once could interleave their renames and leave
    # one run's .gltf beside the other's .bin: runs take turns (a lock on the folder).
    lock = lock_folder(out_dir) if rel else None
    try:
        for name in rel:
            target = (out_dir / name).resolve()
            if protect and target in protect and not _same_bytes(staging / name, target):
                raise OutputError(
                    f"writing {name} beside the output would change the input's own {name}; "
                    "write to another folder or name, or pass --in-place",
                    out_dir / name,
                )
        for name in rel:
            target = out_dir / name
            if _same_bytes(staging / name, target):
                continue  # e.g. a texture beside an output written next to its input
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        os.replace(staging / main_name, out_dir / main_name)
    except OSError as exc:
        raise OutputError(f"cannot move the output into place: {exc.strerror or exc}", out_dir) from None
    finally:
        if lock is not None:
            os.close(lock)
    return [main_name, *rel]


