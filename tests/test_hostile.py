"""Every kind of broken input in ``hostile_cases.CASES`` is refused cleanly (issue 6).

For each case and each of ``inspect``, ``verify`` and ``apply`` (run in-process
through :func:`meshpivot.cli.main`): exit code 3, exactly one line on stderr that
names the file, the expected message fragment and (where there is one) the JSON
pointer, no traceback, no output file and no ``.meshpivot-*`` staging folder left,
the input folder byte for byte unchanged, and a bounded time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from meshpivot.cli import main
from meshpivot.errors import EXIT_INPUT

#: Generous per-command limit (the cases take milliseconds; a loaded CI machine is slow).
TIME_LIMIT = 2.0

#: Cases that fail today because of a bug in a module this suite's owner may not edit.
KNOWN_BUGS: dict[str, str] = {}  # catalogue cases that still fail: none


def _load_cases() -> ModuleType:
    # Loaded by path: with --import-mode=importlib the tests folder is not on sys.path.
    name = "meshpivot_tests_hostile_cases"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("hostile_cases.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while building
        spec.loader.exec_module(module)
    return sys.modules[name]


hostile = _load_cases()
CASES = hostile.CASES
COMMANDS = ("inspect", "verify", "apply")


def _snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (symbolic links by their target's name)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        if p.is_symlink():
            out[rel] = "link:" + str(p.readlink())
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def _params() -> list[object]:
    out: list[object] = []
    for case in CASES:
        marks = [pytest.mark.xfail(reason=KNOWN_BUGS[case.name], strict=True)] if case.name in KNOWN_BUGS else []
        for command in COMMANDS:
            out.append(pytest.param(case, command, id=f"{case.name}-{command}", marks=marks))
    return out


def test_catalogue_has_at_least_40_distinct_kinds() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    assert len(names) >= 40


@pytest.mark.parametrize(("case", "command"), _params())
def test_broken_input_is_refused_cleanly(
    case: object, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "in"
    work.mkdir()
    src = case.build(work)  # type: ignore[attr-defined]
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = _snapshot(work)
    argv = {
        "inspect": ["inspect", str(src)],
        "verify": ["verify", str(src)],
        "apply": ["apply", str(src), str(out_dir / ("fitted" + src.suffix))],
    }[command]
    capsys.readouterr()

    start = time.perf_counter()
    code = main(argv)
    elapsed = time.perf_counter() - start

    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == EXIT_INPUT, captured.err
    assert len(lines) == 1, captured.err
    line = lines[0]
    assert line.startswith(f"meshpivot: error: {src}: "), line
    assert case.fragment in line, line  # type: ignore[attr-defined]
    pointer = case.pointer  # type: ignore[attr-defined]
    if pointer is not None:
        assert pointer in line, line
    assert "Traceback" not in captured.err + captured.out
    assert list(out_dir.iterdir()) == [], "apply left files behind"
    assert _snapshot(work) == before, "the input folder changed"
    assert elapsed < TIME_LIMIT, f"{command} took {elapsed:.2f} s"


def _extras_glb(folder: Path, extras: object) -> Path:
    data = hostile.base_json()
    data["extras"] = extras
    path = folder / "big.glb"
    path.write_bytes(hostile.make_glb(data, hostile.base_bin()))
    return path


def test_huge_json_is_read_in_bounded_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _extras_glb(tmp_path, "x" * (50 << 20))  # a 50 MB extras string is valid glTF
    start = time.perf_counter()
    code = main(["apply", str(src), str(tmp_path / "out.glb")])
    elapsed = time.perf_counter() - start
    assert code == 0, capsys.readouterr().err
    assert elapsed < 20, f"50 MB of JSON took {elapsed:.1f} s"


def test_nesting_the_reader_accepts_is_also_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested: object = []
    for _ in range(500):
        nested = [nested]
    src = _extras_glb(tmp_path, nested)
    out = tmp_path / "out.gltf"
    assert main(["apply", str(src), str(out)]) == 0, capsys.readouterr().err
    assert json.loads(out.read_text(encoding="utf-8"))["extras"] == nested
