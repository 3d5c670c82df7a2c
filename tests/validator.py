"""Run the Khronos glTF-Validator (npm ``gltf-validator``) from Python tests.

``validate(paths)`` starts node once on ``tests/tools/validate.mjs`` for any number of
``.glb`` / ``.gltf`` files and returns one :class:`Report` per path. The npm package is
looked up in ``node_modules`` at the repository root (``make node_modules`` /
``npm ci`` puts it there).

What "no new issue" means (SPEC.md section 6) is fixed in one place,
:func:`new_issue_codes`: the issue *codes* of severity error, warning and info in the
output that the input did not have. Hints are left out (advice such as
``BUFFER_VIEW_TARGET_MISSING``, not problems); a caller may ask for other severities.

Tests reach this module through the ``validator`` fixture of ``tests/conftest.py``,
which skips when node or the package is missing and fails instead under ``CI``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "COMPARED_SEVERITIES",
    "REJECTED",
    "SCRIPT",
    "SEVERITIES",
    "Report",
    "ValidatorUnavailable",
    "new_issue_codes",
    "unavailable_reason",
    "validate",
]

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "tools" / "validate.mjs"
PACKAGE = ROOT / "node_modules" / "gltf-validator"

#: Report attribute names, indexed by the validator's numeric severity.
SEVERITIES = ("errors", "warnings", "infos", "hints")
#: What :func:`new_issue_codes` compares by default.
COMPARED_SEVERITIES = ("errors", "warnings", "infos")
#: Error code given to a file the validator could not run on at all (unreadable file,
#: unrecognisable format). It is not a Khronos code.
REJECTED = "VALIDATOR_REJECTED"


class ValidatorUnavailable(RuntimeError):
    """node or the ``gltf-validator`` package is missing."""


@dataclass(frozen=True)
class Report:
    """What the validator said about one file.

    Attributes
    ----------
    path : Path
        The file, as passed to :func:`validate`.
    errors, warnings, infos, hints : frozenset of str
        Issue codes per severity, e.g. ``{"ACCESSOR_TOTAL_OFFSET_ALIGNMENT"}``.
    num_errors, num_warnings, num_infos, num_hints : int
        Message counts per severity as the validator reports them (a code can occur
        many times).
    messages : tuple of dict
        The validator's messages: ``code``, ``message``, ``severity`` (0 error, 1
        warning, 2 info, 3 hint) and ``pointer`` or ``offset``.
    raw : dict
        The full report (``info`` holds counts, extensions, resources), or
        ``{"error": reason}`` when the validator rejected the file.
    """

    path: Path
    errors: frozenset[str] = frozenset()
    warnings: frozenset[str] = frozenset()
    infos: frozenset[str] = frozenset()
    hints: frozenset[str] = frozenset()
    num_errors: int = 0
    num_warnings: int = 0
    num_infos: int = 0
    num_hints: int = 0
    messages: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_line(cls, path: Path, line: Mapping[str, Any]) -> Report:
        """Build a report from one JSON line of ``validate.mjs``."""
        if "report" not in line:
            reason = str(line.get("error", "no report"))
            message = {"code": REJECTED, "message": reason, "severity": 0}
            return cls(path, errors=frozenset([REJECTED]), num_errors=1, messages=(message,), raw=dict(line))
        raw = dict(line["report"])
        issues = raw.get("issues", {})
        messages = tuple(issues.get("messages", ()))
        codes: dict[str, set[str]] = {name: set() for name in SEVERITIES}
        for m in messages:
            codes[SEVERITIES[int(m["severity"])]].add(str(m["code"]))
        return cls(
            path,
            errors=frozenset(codes["errors"]),
            warnings=frozenset(codes["warnings"]),
            infos=frozenset(codes["infos"]),
            hints=frozenset(codes["hints"]),
            num_errors=int(issues.get("numErrors", 0)),
            num_warnings=int(issues.get("numWarnings", 0)),
            num_infos=int(issues.get("numInfos", 0)),
            num_hints=int(issues.get("numHints", 0)),
            messages=messages,
            raw=raw,
        )

    @property
    def ok(self) -> bool:
        """No errors and no warnings."""
        return self.num_errors == 0 and self.num_warnings == 0

    def codes(self, severities: Iterable[str] = COMPARED_SEVERITIES) -> frozenset[str]:
        """The union of the issue codes of the given severities."""
        out: frozenset[str] = frozenset()
        for name in severities:
            out |= getattr(self, name)
        return out

    def summary(self) -> str:
        """One line per message, for assertion messages."""
        lines = [
            f"{self.path}: {self.num_errors} errors, {self.num_warnings} warnings, "
            f"{self.num_infos} infos, {self.num_hints} hints"
        ]
        for m in self.messages:
            where = m.get("pointer", m.get("offset", ""))
            lines.append(f"  [{SEVERITIES[int(m['severity'])]}] {m['code']} {where}: {m['message']}")
        return "\n".join(lines)


def unavailable_reason() -> str | None:
    """Why :func:`validate` cannot run here, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH (the Khronos glTF-Validator runs on node)"
    if not (PACKAGE / "package.json").is_file():
        return f"{PACKAGE} is missing; run `make node_modules` (npm ci) at the repository root"
    return None


def validate(paths: Iterable[str | os.PathLike[str]], *, timeout: float = 600.0) -> dict[Path, Report]:
    """Validate ``.glb`` / ``.gltf`` files with one node process.

    Parameters
    ----------
    paths : iterable of path-like
        Files to validate; external resources are read from each file's folder.
    timeout : float
        Seconds before the node process is killed.

    Returns
    -------
    dict of Path to Report
        Keyed by ``Path(p)`` for every ``p`` in ``paths``, in order.

    Raises
    ------
    ValidatorUnavailable
        node or the npm package is missing.
    RuntimeError
        node failed or its output does not match the files.
    """
    files = [Path(p) for p in paths]
    if not files:
        return {}
    reason = unavailable_reason()
    if reason is not None:
        raise ValidatorUnavailable(reason)
    proc = subprocess.run(
        ["node", str(SCRIPT), *(str(f) for f in files)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [json.loads(s) for s in proc.stdout.splitlines() if s.strip()]
    if proc.returncode != 0 or len(lines) != len(files):
        raise RuntimeError(
            f"validate.mjs exited {proc.returncode} with {len(lines)} reports for {len(files)} files:\n"
            f"{proc.stderr.strip()}"
        )
    return {f: Report.from_line(f, line) for f, line in zip(files, lines, strict=True)}


def new_issue_codes(
    input_report: Report,
    output_report: Report,
    severities: Iterable[str] = COMPARED_SEVERITIES,
) -> set[str]:
    """Issue codes the output has and the input had not (SPEC.md section 6).

    Codes are compared as sets over ``severities`` (default errors, warnings and infos;
    hints are ignored). A code the input already had may occur more often in the output.

    Examples
    --------
    >>> a = Report(Path("in.glb"), warnings=frozenset({"NODE_SKINNED_MESH_NON_ROOT"}))
    >>> b = Report(Path("out.glb"), errors=frozenset({"ACCESSOR_MAX_MISMATCH"}),
    ...            warnings=frozenset({"NODE_SKINNED_MESH_NON_ROOT"}))
    >>> sorted(new_issue_codes(a, b))
    ['ACCESSOR_MAX_MISMATCH']
    """
    wanted = tuple(severities)
    return set(output_report.codes(wanted) - input_report.codes(wanted))
