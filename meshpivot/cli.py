"""The ``meshpivot`` command line: ``apply``, ``verify`` and ``inspect``.

A thin front end over :mod:`meshpivot.api` (one file) and :mod:`meshpivot.batch`
(``verify`` / ``inspect`` of many files, folders and glob patterns). It parses flags
and settings files into one :class:`~meshpivot.options.FitOptions` (one per file
with ``--manifest``), calls the API and prints the result:
data on stdout (human text, or JSON with ``--json``), diagnostics on stderr. Every
error is one line, ``meshpivot: error: PATH: message``, and exits with the code of
its class (:data:`meshpivot.errors.EXIT_CODES`); a traceback is shown only for an
internal error and only when ``MESHPIVOT_DEBUG=1``.

Only the standard library and meshpivot's light modules are imported here (numpy
included: it loads with the command's first real work, after :func:`console` has set
up the process); the format adapters (trimesh, pygltflib), tqdm and dask load when
they are needed, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import re
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from .errors import (
    EXIT_CODES,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERIFY_FAILED,
    MeshPivotError,
    SpecError,
    UnreadableInputError,
)
from .formats import KNOWN_EXTENSIONS
from .options import DEFAULT_ATOL, DEFAULT_RTOL, MODES, FitOptions, load_settings

if TYPE_CHECKING:
    from .api import ApplyResult, InspectResult, VerifyResult

__all__ = ["build_parser", "main"]

PROG = "meshpivot"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

_DEBUG_ENV = "MESHPIVOT_DEBUG"

# argparse only takes "-1" and "-.5" as values, not "-1e-3" or "-inf"; widen it so
# that every float literal is a value (no meshpivot option looks like a number).
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class _Exit(Exception):
    """Raised instead of ``sys.exit`` inside the parser, so ``main`` returns a code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and which never calls sys.exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER

    def error(self, message: str) -> NoReturn:
        _usage_error(message, self.prog.split()[-1] if " " in self.prog else None)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


class _Help(argparse.RawDescriptionHelpFormatter):
    """argparse's help layout at the terminal's width, found without :mod:`shutil`: every
    argument added builds a formatter, and the default one imports shutil (and with it
    bz2 and lzma, about 3 ms of every command's start-up) only to ask that width."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2  # as argparse does with shutil.get_terminal_size()
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """What ``shutil.get_terminal_size().columns`` gives: ``$COLUMNS``, else the width of
    the terminal on standard output, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            out = sys.__stdout__
            columns = os.get_terminal_size(out.fileno()).columns if out is not None else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _usage_error(message: str, command: str | None) -> NoReturn:
    """Print one line, pointing at the help of ``command``, and exit 2."""
    where = f"{PROG} {command}" if command else PROG
    _print_error(f"{message} (see '{where} --help')")
    raise _Exit(EXIT_USAGE)


def _number(text: str) -> float:
    """argparse type: a float literal (range checks belong to FitOptions)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _tolerance(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number >= 0")
    return value


# --------------------------------------------------------------------------- help


def _exit_table() -> str:
    rows = [*sorted(EXIT_CODES.items()), (EXIT_INTERRUPTED, "interrupted (Ctrl-C)")]
    return "\n".join(
        textwrap.fill(text, width=79, initial_indent=f"  {code:<5}", subsequent_indent=" " * 7) for code, text in rows
    )


_EXIT_HELP = f"""\
exit codes:
{_exit_table()}
errors are one line on stderr: 'meshpivot: error: PATH: message'"""
_FORMATS = ", ".join(ext.lstrip(".") for ext in KNOWN_EXTENSIONS)

_SPEC_HELP = """\
semantics (glTF frame: +Y up, front +Z, metres; width = X, height = Y, depth = Z):
  --scaled-bbox W H D   target size; each > 0 (metres) or exactly -1 (auto).
                        Without --preserve-aspect-ratio every given axis is
                        stretched to its size and an auto axis takes the
                        geometric mean of the given factors; with it, one
                        uniform factor, the largest that fits inside the box.
  --pivot X Y Z         where the origin goes, each in [-0.5, 0.5] of the
                        scaled box: 0 centre, -0.5 min face, +0.5 max face;
                        0 -0.5 0 is bottom centre."""

_MAIN_DESCRIPTION = """\
Fit 3D assets to a target bounding box and pivot (the scaled_bbox, pivot_point
and preserve_aspect_ratio settings of hosted image-to-3D APIs), on your own files."""

_MAIN_EPILOG = f"""\
formats: {_FORMATS} (the output's extension picks the format)

examples:
  meshpivot inspect chair.glb
  meshpivot apply chair.glb chair_fit.glb --scaled-bbox 1 -1 -1 --pivot 0 -0.5 0
  meshpivot verify chair_fit.glb --scaled-bbox 1 -1 -1 --pivot 0 -0.5 0

run 'meshpivot COMMAND --help' for the flags of a command.

{_EXIT_HELP}"""

_APPLY_EPILOG = f"""\
{_SPEC_HELP}

examples:
  # 1 m wide, height and depth follow; origin at the bottom centre
  meshpivot apply chair.obj chair_1m.obj --scaled-bbox 1 -1 -1 --pivot 0 -0.5 0
  # fit inside a 2 x 2 x 2 m box without distortion
  meshpivot apply tree.glb tree_fit.glb --scaled-bbox 2 2 2 --preserve-aspect-ratio
  # the settings of a hosted-API request body; a flag overrides them
  meshpivot apply in.glb out.glb --settings request.json --pivot 0 0 0
  # replace the file itself
  meshpivot apply prop.stl prop.stl --pivot 0 -0.5 0 --in-place

The output is written atomically (staged in the output folder, then renamed):
a failed run leaves no output and never touches the input.

{_EXIT_HELP}"""

_VERIFY_EPILOG = f"""\
Checks, per axis, within atol + rtol * size (defaults rtol {DEFAULT_RTOL:g}, atol
{DEFAULT_ATOL:g} m): axes with a target have that size (at most that size with
one axis equal under --preserve-aspect-ratio); auto (-1) axes are not checked;
the box sits where the pivot puts it. Without flags only the pivot [0, 0, 0]
is checked.

many files: PATH may be a file, a folder (searched recursively for known
extensions, hidden entries skipped) or a quoted glob pattern ('out/**/*.glb').
With more than one file (or a folder, a pattern, or --manifest) every file gets
one line (PASS, FAIL with the failing checks, UNREADABLE with the reason), in
the order given, then a summary: files passed, failed and unreadable, and per
check the worst deviation across files with its tolerance. A progress bar is
drawn on stderr when it is a terminal (not with --quiet). Batch exit code: 1 if
any file failed, else 3 if any file was unreadable, else 0.

where the request comes from, most specific first: the file's row in
--manifest, then the flags, then --settings, then the defaults. --rtol and
--atol apply to every file.

--manifest FILE.csv: a header row with 'path' and any of 'scaled_bbox',
'pivot_point' ('1 2 0.5' or '[1, 2, 0.5]'), 'preserve_aspect_ratio'
(true/false); an empty cell falls back to the flags. FILE.jsonl: one object
per line, {{"path": ..., "scaled_bbox": [...], ...}} or {{"path": ...,
"settings": {{...}}}}. Paths are relative to the manifest's folder. Without
PATH arguments the manifest's files are checked, in its order; with them,
those files are checked and the manifest only supplies their requests.

--json prints JSON Lines, one object per file: path, status (passed, failed,
unreadable), format, request, measured (min, max, size), checks (name,
measured, expected, tolerance, relation, passed) and error; the summary then
goes to stderr. (One plain file: one indented JSON object, as before.)
--junit FILE writes a JUnit XML report: one test case per file and check
(classname = the file), a <failure> with measured, expected and tolerance for
a failed check, an <error> for an unreadable file.

examples:
  meshpivot verify chair_1m.obj --scaled-bbox 1 -1 -1 --pivot 0 -0.5 0
  meshpivot verify out.glb --settings request.json --json
  meshpivot verify out/ 'more/**/*.glb' --settings request.json --junit report.xml
  meshpivot verify --manifest outputs.csv --jobs 8 --json > results.jsonl
  meshpivot verify out/ --scaled-bbox 1 -1 -1 --dask-scheduler tcp://10.0.0.5:8786

{_EXIT_HELP}"""

_INSPECT_EPILOG = f"""\
The origin is reported as the pivot_point that describes the file as it is
(-0.5 min face, 0 centre, +0.5 max face; outside [-0.5, 0.5] the origin lies
outside the box; 'flat' for an axis with zero extent).

PATH may be a file, a folder (searched recursively) or a quoted glob pattern.
With more than one file, one line per file (OK or UNREADABLE) and a summary;
--json prints JSON Lines, one object per file with a 'status' (ok,
unreadable) and an 'error'. Batch exit code: 3 if any file was unreadable.

examples:
  meshpivot inspect chair.glb
  meshpivot inspect chair.glb --json
  meshpivot inspect out/ 'models/**/*.usdz' --jobs 4 --json

{_EXIT_HELP}"""


_PREVIEW_EPILOG = """examples:
  meshpivot preview chair.glb -o chair.png
  # mark where a pivot would go, and check the file against a request
  meshpivot preview chair_fit.glb -o chair_fit.png --scaled-bbox 0.5 0.9 0.5 --pivot 0 -0.5 0

Views: FRONT from +Z (+X right, +Y up), SIDE from +X (+Z left, +Y up), TOP from +Y
(+X right, +Z down). Red cross: the origin; blue ring: the requested pivot; green line:
the ground y = 0. Needs Pillow (pip install 'meshpivot[preview]').
"""


def _add_spec_flags(p: argparse.ArgumentParser, *, manifest: bool = False) -> None:
    title = "request (flags override --settings" + ("; a --manifest row overrides both)" if manifest else ")")
    g = p.add_argument_group(title)
    g.add_argument(
        "--scaled-bbox",
        nargs=3,
        type=_number,
        metavar=("W", "H", "D"),
        help="target width, height, depth in metres; -1 = auto (default: -1 -1 -1)",
    )
    g.add_argument(
        "--pivot",
        nargs=3,
        type=_number,
        metavar=("X", "Y", "Z"),
        help="pivot_point, each in [-0.5, 0.5] of the scaled box (default: 0 0 0)",
    )
    g.add_argument(
        "--preserve-aspect-ratio",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one uniform scale that fits inside the target box (default: off)",
    )
    g.add_argument(
        "--settings",
        metavar="FILE.json",
        help="a hosted-API request body: scaled_bbox, pivot_point, preserve_aspect_ratio "
        "at the top level, under 'settings' or under 'input.settings'",
    )


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _seconds(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0")
    return value


def _add_batch_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("many files")
    g.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="files measured in parallel processes (default: the number of CPUs; 1 = serially in this "
        "process). Results are printed in input order either way; a reader that crashes its process "
        "makes that file UNREADABLE and the others still get their verdicts",
    )
    g.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run the files on this dask.distributed scheduler (e.g. tcp://host:8786) instead of local "
        "processes; the workers need meshpivot installed and the files at the same paths",
    )
    g.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="stop a reader that takes longer than this on one file and report the file UNREADABLE "
        "(local worker processes only: files then run in one even with --jobs 1; process start-up and "
        "the format's import do not count)",
    )
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar; list only files that did not pass")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``meshpivot`` (its errors raise instead of exiting)."""
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description=_MAIN_DESCRIPTION,
        epilog=_MAIN_EPILOG,
        formatter_class=_Help,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    p = sub.add_parser(
        "apply",
        help="write a copy of an asset fitted to a size and pivot",
        description="Fit the asset IN to a target size and pivot and write it to OUT.",
        epilog=_APPLY_EPILOG,
        formatter_class=_Help,
    )
    p.add_argument("input", metavar="IN", help=f"input file ({_FORMATS})")
    p.add_argument("output", metavar="OUT", help="output file; its extension picks the format")
    _add_spec_flags(p)
    p.add_argument(
        "--mode",
        choices=MODES,
        default=None,
        help="how scene formats record the transform: bake into the geometry, wrap in a new "
        "root node, or auto (bake where exact, else wrap; default)",
    )
    p.add_argument("--in-place", action="store_true", help="allow OUT to be IN (replaced atomically)")
    p.add_argument(
        "--dequantize",
        action="store_true",
        default=None,
        help="let bake rewrite quantized (integer) positions as float32 instead of folding the fit into "
        "their node or falling back to wrap (off: quantized data is never changed)",
    )
    p.add_argument(
        "--preview",
        metavar="OUT.png",
        help="also draw the asset before and after side by side (front, side and top views) into OUT.png",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_apply)

    p = sub.add_parser(
        "preview",
        help="draw front, side and top views with the box, origin and pivot",
        description="Draw FILE as a PNG: front, side and top orthographic views with the bounding box and its "
        "sizes in metres, the origin, the requested pivot and the ground plane, and the verdict of verify.",
        epilog=_PREVIEW_EPILOG,
        formatter_class=_Help,
    )
    p.add_argument("input", metavar="FILE", help=f"file to draw ({_FORMATS})")
    p.add_argument("-o", "--output", metavar="OUT.png", required=True, help="the PNG to write")
    _add_spec_flags(p)
    p.set_defaults(func=_cmd_preview)

    p = sub.add_parser(
        "verify",
        help="check that a file has the size and pivot asked for",
        description="Measure each PATH and check it against a request (exit 0 ok, 1 failed).",
        epilog=_VERIFY_EPILOG,
        formatter_class=_Help,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"files ({_FORMATS}), folders or glob patterns")
    _add_spec_flags(p, manifest=True)
    p.add_argument(
        "--manifest",
        metavar="FILE.csv|FILE.jsonl",
        help="a request per file (see below); files not in it use the flags / --settings",
    )
    p.add_argument("--rtol", type=_tolerance, metavar="R", help=f"relative tolerance (default {DEFAULT_RTOL:g})")
    p.add_argument(
        "--atol", type=_tolerance, metavar="A", help=f"absolute tolerance, metres (default {DEFAULT_ATOL:g})"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON (JSON Lines for many files)")
    p.add_argument("--junit", metavar="FILE.xml", help="also write a JUnit XML report to FILE.xml")
    _add_batch_flags(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser(
        "inspect",
        help="show sizes, bounds, where the origin is, and counts",
        description="Measure each PATH and describe it.",
        epilog=_INSPECT_EPILOG,
        formatter_class=_Help,
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help=f"files ({_FORMATS}), folders or glob patterns")
    p.add_argument("--json", action="store_true", help="print the result as JSON (JSON Lines for many files)")
    _add_batch_flags(p)
    p.set_defaults(func=_cmd_inspect)
    return parser


# ------------------------------------------------------------------------ options

_FLAG_OF = {
    "scaled_bbox": "--scaled-bbox",
    "pivot_point": "--pivot",
    "preserve_aspect_ratio": "--preserve-aspect-ratio",
}


def _options(args: argparse.Namespace, **extra: Any) -> FitOptions:
    """Build the one FitOptions from ``--settings`` and the flags (flags win).

    A bad value is reported against where it came from: the settings file (as the
    error's path) or the flag.
    """
    settings: dict[str, Any] = {}
    if args.settings is not None:
        settings = load_settings(args.settings)
    flags: dict[str, Any] = {
        "scaled_bbox": args.scaled_bbox,
        "pivot_point": args.pivot,
        "preserve_aspect_ratio": args.preserve_aspect_ratio,
        **extra,
    }
    flags = {k: v for k, v in flags.items() if v is not None}
    try:
        return FitOptions(**{**settings, **flags})
    except SpecError as exc:
        field = re.match(r"\w+", exc.message)
        name = field.group(0) if field else ""
        if name in flags and name in _FLAG_OF:
            raise SpecError(f"argument {_FLAG_OF[name]}: {exc.message}") from None
        if name in settings and args.settings is not None:
            raise exc.with_path(args.settings) from None
        raise


# ------------------------------------------------------------------------- output


def _g(value: float) -> str:
    """A number for people: 6 significant digits, no '-0'."""
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text


def _vec(values: Sequence[float | None], sep: str = ", ") -> str:
    return sep.join("flat" if v is None else _g(v) for v in values)


def _size(values: Sequence[float]) -> str:
    return f"{_vec(values, ' x ')} m"


_FACE_NAMES = (("left", "centre", "right"), ("bottom", "centre", "top"), ("back", "centre", "front"))


def _pivot_words(pivot: Sequence[float | None]) -> str:
    """``(x centre, y bottom, z centre)`` for the named positions, else ''."""
    words = []
    for axis, (v, names) in enumerate(zip(pivot, _FACE_NAMES, strict=True)):
        label = "xyz"[axis]
        if v is None:
            words.append(f"{label} flat")
        elif v in (-0.5, 0.0, 0.5):
            words.append(f"{label} {names[int(v * 2) + 1]}")
        elif not -0.5 <= v <= 0.5:
            words.append(f"{label} outside the box")
        else:
            words.append(f"{label} {_g((v + 0.5) * 100)}% from the min face")
    return f"({', '.join(words)})"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "-"


def _row(label: str, text: str) -> str:
    return f"{label:<8}{text}"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _report_apply(r: ApplyResult) -> list[str]:
    before, after = r.before.size, r.after_hi - r.after_lo
    scale = r.fit.scale.tolist()
    kind = "uniform" if r.fit.is_uniform else "per axis"
    lines = [
        _row("input", f"{r.input} ({r.before.format or '?'}; {_counts(r.before.counts)})"),
        _row("size", f"{_size(before.tolist())}  ->  {_size(after.tolist())}"),
        _row("min", f"{_vec(r.before.lo.tolist())}  ->  {_vec(r.after_lo.tolist())}"),
        _row("max", f"{_vec(r.before.hi.tolist())}  ->  {_vec(r.after_hi.tolist())}"),
        _row(
            "pivot",
            f"{_vec(r.options.pivot_point)} {_pivot_words(r.options.pivot_point)}: "
            f"input point {_vec((r.fit.pivot / r.fit.scale).tolist())} moved to the origin",
        ),
        _row("scale", f"{_vec(scale, ' x ')} ({kind})"),
        _row("mode", f"{r.mode}" + (f": {r.reason}" if r.reason else "")),
    ]
    for i, f in enumerate(r.files):
        lines.append(_row("wrote" if i == 0 else "", f))
    lines += [_row("note", n) for n in r.before.notes + r.notes]
    return lines


def _report_verify(r: VerifyResult) -> list[str]:
    m = r.measurement
    lines = [
        _row("file", f"{r.path} ({m.format or '?'})"),
        _row("size", _size(m.size.tolist())),
        _row("min", _vec(m.lo.tolist())),
        _row("max", _vec(m.hi.tolist())),
    ]
    lines += [_row("check", c.describe()) for c in r.checks]
    failed = r.failures
    if failed:
        names = ", ".join(c.name for c in failed)
        lines.append(f"verification failed: {len(failed)} of {len(r.checks)} checks ({names})")
    else:
        lines.append(f"verified: all {len(r.checks)} checks hold")
    return lines


def _report_inspect(r: InspectResult) -> list[str]:
    m = r.measurement
    pivot = r.pivot_point
    lines = [
        _row("file", f"{r.path} ({m.format or '?'})"),
        _row("size", _size(m.size.tolist())),
        _row("min", _vec(m.lo.tolist())),
        _row("max", _vec(m.hi.tolist())),
        _row("centre", _vec(((m.lo + m.hi) / 2).tolist())),
        _row("origin", f"pivot_point {_vec(pivot)} {_pivot_words(pivot)}"),
        _row("counts", _counts(m.counts)),
    ]
    lines += [_row("note", n) for n in m.notes]
    return lines


# ----------------------------------------------------------------------- commands


def _cmd_apply(args: argparse.Namespace) -> int:
    from .api import apply_file

    options = _options(args, mode=args.mode, dequantize=args.dequantize)
    if args.preview and args.in_place:
        raise SpecError("--preview draws the input beside the output, so it cannot be used with --in-place")
    result = apply_file(args.input, args.output, options, in_place=args.in_place)
    if args.json:
        _print_json(result.to_dict())
    elif not args.quiet:
        print("\n".join(_report_apply(result)))
    if args.preview:
        from .preview import preview_before_after

        png = preview_before_after(args.input, args.output, args.preview, options)
        if not args.quiet and not args.json:
            print(_row("preview", str(png)))
    return EXIT_OK


def _cmd_preview(args: argparse.Namespace) -> int:
    from .preview import preview_file

    given = args.settings is not None or any(
        v is not None for v in (args.scaled_bbox, args.pivot, args.preserve_aspect_ratio)
    )
    png = preview_file(args.input, args.output, _options(args) if given else None)
    print(_row("wrote", str(png)))
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    if not _single_file(args):
        return _cmd_batch(args, "verify")
    from .api import verify_file
    from .errors import InputError

    options = _options(args, rtol=args.rtol, atol=args.atol)
    path = args.paths[0]
    try:
        result = verify_file(path, options)
    except InputError:
        if args.junit is not None:  # CI still gets a report that names the file
            from .batch import check_one, write_junit

            write_junit([check_one(path, options.to_dict())], args.junit)
        raise
    if args.junit is not None:
        from .batch import verify_record, write_junit

        write_junit([verify_record(result)], args.junit)
    if args.json:
        _print_json(result.to_dict())
    else:
        print("\n".join(_report_verify(result)))
    return EXIT_OK if result.passed else EXIT_VERIFY_FAILED


def _cmd_inspect(args: argparse.Namespace) -> int:
    if not _single_file(args):
        return _cmd_batch(args, "inspect")
    from .api import inspect_file

    result = inspect_file(args.paths[0])
    if args.json:
        _print_json(result.to_dict())
    else:
        print("\n".join(_report_inspect(result)))
    return EXIT_OK


# -------------------------------------------------------------------- many files

_GLOB_MAGIC = re.compile(r"[*?[]")


def _single_file(args: argparse.Namespace) -> bool:
    """One plain file argument (not a folder, a pattern or a manifest): the one-file report."""
    if getattr(args, "manifest", None) is not None:
        return False
    if not args.paths:
        _usage_error("the following arguments are required: PATH", args.command)
    if len(args.paths) != 1:
        return False
    path = args.paths[0]
    if os.path.isdir(path):
        return os.path.splitext(path.rstrip("/\\"))[1].lower() in KNOWN_EXTENSIONS  # 'x.obj/' is no folder to search
    return os.path.exists(path) or not _GLOB_MAGIC.search(path)


def _request_for(
    args: argparse.Namespace, manifest: list[tuple[Path, dict[str, Any]]] | None
) -> Callable[[Path], FitOptions]:
    """The request of each file: its --manifest row, then the flags, then --settings."""
    base = _options(args, rtol=args.rtol, atol=args.atol)  # validates flags and settings
    if not manifest:
        return lambda _path: base
    rows = {_key(p): values for p, values in manifest}
    cache: dict[str, FitOptions] = {}

    def request(path: Path) -> FitOptions:
        values = rows.get(_key(path))
        if not values:
            return base
        key = json.dumps(values, sort_keys=True)
        if key not in cache:
            cache[key] = base.updated(**values)
        return cache[key]

    return request


def _key(path: str | Path) -> str:
    return os.path.normcase(os.path.abspath(path))


class _Progress:
    """A tqdm bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, total: int, desc: str, enabled: bool) -> None:
        self._bar: Any = None
        if enabled and total > 1 and sys.stderr.isatty():
            try:
                tqdm = importlib.import_module("tqdm").tqdm  # imported here: --help stays fast
            except ImportError:
                return  # no bar without tqdm; everything else works
            self._bar = tqdm(total=total, desc=desc, unit="file", file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(self, _record: object = None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def print(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=sys.stdout)
        else:
            print(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _dask_client(address: str) -> Any:
    try:
        distributed = importlib.import_module("distributed")  # the optional extra, only on this path
    except ImportError:
        raise SpecError(
            "--dask-scheduler needs dask.distributed, which is not installed: pip install 'meshpivot[dask]'"
        ) from None
    try:
        return distributed.Client(address, timeout="10s", set_as_default=False)
    except Exception as exc:  # OSError, TimeoutError, ValueError for a bad address, ...
        raise SpecError(f"argument --dask-scheduler: cannot connect to {address!r}: {_one_line(str(exc))}") from None


def _check_text(c: dict[str, Any]) -> str:
    return (
        f"{c['name']} measured {c['measured']:.9g}, expected {c['relation']} {c['expected']:.9g} "
        f"(tolerance {c['tolerance']:.3g})"
    )


_LABEL = {"passed": "PASS", "failed": "FAIL", "unreadable": "UNREADABLE", "ok": "OK"}


def _record_line(rec: dict[str, Any]) -> str:
    head = f"{_LABEL[rec['status']]:<11} {rec['path']}"
    if rec["status"] == "unreadable":
        return f"{head}: {rec['error']}"
    if rec["status"] == "failed":
        return f"{head}: " + "; ".join(_check_text(c) for c in rec["checks"] if not c["passed"])
    if rec["status"] == "ok":
        return f"{head} ({rec['format'] or '?'})  size {_size(rec['size'])}  pivot_point {_vec(rec['pivot_point'])}"
    return head


def _summary_lines(records: list[dict[str, Any]], kind: str, options: FitOptions | None) -> list[str]:
    from .batch import summarize

    summary = summarize(records)
    names = ("passed", "failed", "unreadable") if kind == "verify" else ("ok", "unreadable")
    counts = ", ".join(f"{summary.counts.get(n, 0)} {n}" for n in names)
    noun = "file" if summary.total == 1 else "files"
    lines = [f"summary: {summary.total} {noun}: {counts}"]
    if summary.checks:
        rows = [("check", "worst deviation", "tolerance", "failed", "worst file")]
        rows += [(s.name, f"{s.deviation:.3g}", f"{s.tolerance:.3g}", str(s.failed), s.path) for s in summary.checks]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines += ["  ".join(f"{v:<{w}}" for v, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
    if options is not None:
        lines.append(
            f"tolerance of a check: atol {options.atol:g} m + rtol {options.rtol:g} x size; deviation = "
            "|measured - expected| (for an at-most check, the excess over the target)"
        )
    return lines


def _batch_exit(records: list[dict[str, Any]]) -> int:
    """The exit code of a batch: 1 if any file failed, else 3 if any was unreadable, else 0."""
    statuses = {r["status"] for r in records}
    if "failed" in statuses:
        return EXIT_VERIFY_FAILED
    if "unreadable" in statuses:
        return EXIT_INPUT
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace, kind: Literal["verify", "inspect"]) -> int:
    from . import batch

    manifest_file: str | None = getattr(args, "manifest", None)
    manifest = batch.read_manifest(manifest_file) if manifest_file is not None else None
    request = _request_for(args, manifest) if kind == "verify" else None
    if args.paths or manifest is None:
        paths = batch.expand_inputs(args.paths)
    else:
        paths = [p for p, _ in manifest]
    if not paths:
        where = ", ".join(args.paths) if args.paths else str(manifest_file)
        known = ", ".join(KNOWN_EXTENSIONS)
        raise UnreadableInputError(f"no files to {kind}: no file with a known extension ({known}) in {where}")
    client = _dask_client(args.dask_scheduler) if args.dask_scheduler else None
    progress = _Progress(len(paths), kind, enabled=not args.quiet)
    records: list[dict[str, Any]] = []
    try:
        for rec in batch.run_many(
            paths, request, args.jobs, kind=kind, client=client, timeout=args.timeout, on_done=progress.update
        ):
            records.append(rec)
            if args.json:
                progress.print(json.dumps(rec))
            elif not (args.quiet and rec["status"] in ("passed", "ok")):
                progress.print(_record_line(rec))
    finally:
        progress.close()
        if client is not None:
            client.close()
    junit = getattr(args, "junit", None)
    if junit is not None:
        batch.write_junit(records, junit)
    tolerances = _options(args, rtol=args.rtol, atol=args.atol) if kind == "verify" else None
    lines = _summary_lines(records, kind, tolerances)
    if args.json:
        if not args.quiet:
            sys.stderr.write("\n".join(lines) + "\n")
    else:
        print("\n".join(lines))
    return _batch_exit(records)


# --------------------------------------------------------------------------- main


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _print_error(message: str) -> None:
    sys.stderr.write(f"{PROG}: error: {_one_line(message)}\n")


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (tests): nothing will be flushed to a pipe


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    command: str | None = args.command
    if command in ("verify", "inspect"):
        # argparse stops filling PATH... at the first flag; later paths arrive as extras, in order.
        args.paths += [e for e in extras if not e.startswith("-") or e == "-"]
        extras = [e for e in extras if e.startswith("-") and e != "-"]
    if extras:
        _usage_error(f"unrecognized arguments: {' '.join(extras)}", command)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        _usage_error("a command is required: apply, verify or inspect", None)
    if _collector_paused:
        from . import api  # noqa: F401  (numpy and the readers, which every command needs)

        _resume_collector()
    return func(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meshpivot`` with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Never raises for bad input: every error is one line on stderr and an exit code
    from :data:`meshpivot.errors.EXIT_CODES`. With ``MESHPIVOT_DEBUG=1`` an internal
    error is re-raised with its traceback.
    """
    debug = os.environ.get(_DEBUG_ENV, "") not in ("", "0")
    try:
        with warnings.catch_warnings():
            if not debug:
                # Library warnings (numpy, trimesh) would break "one line on stderr".
                warnings.simplefilter("ignore")
            code = _run(argv)
        sys.stdout.flush()
        return code
    except _Exit as exc:
        return exc.code
    except MeshPivotError as exc:
        _print_error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if debug:
            raise
        what = type(exc).__name__ + (f": {_one_line(str(exc))}" if str(exc).strip() else "")
        sys.stderr.write(
            f"{PROG}: internal error: {what} (please report it; run with {_DEBUG_ENV}=1 for a traceback)\n"
        )
        return EXIT_INTERNAL


#: Whether :func:`console` has paused the cyclic garbage collector for the start-up.
_collector_paused = False


def _resume_collector() -> None:
    """Collect cycles again, as usual, once the start-up's imports are done.

    Importing numpy and meshpivot makes thousands of objects that live as long as the
    process; each collection the allocations trigger meanwhile walks all of them again
    to find nothing: about 4 ms of a 90 ms ``verify``. They are moved out of the
    collector's sight (``gc.freeze``), which also spares forked batch workers from
    copying the pages of those objects that later collections would touch (not of
    objects made afterwards, such as a format's reader loaded for a batch). The few
    hundred cyclic leftovers of the imports are frozen with them and never freed:
    cheaper than a collection to find them.
    """
    global _collector_paused
    _collector_paused = False
    gc.freeze()
    gc.enable()


#: Set to 1 by the ``meshpivot`` command when unset. meshpivot's arithmetic is
#: elementwise and never calls BLAS, yet OpenBLAS starts a thread per CPU when numpy is
#: imported and keeps them spinning: about 0.1 s of CPU taken from the other core at every
#: start-up (and from the second worker of ``--jobs 2``), 30-40 ms of wall time here.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def console() -> NoReturn:
    """The ``meshpivot`` command: :func:`main` with ``sys.argv``, then exit.

    Every file a command writes is closed before :func:`main` returns, so what is left
    is Python's teardown: freeing every module's objects, about 25 ms with numpy loaded
    (a fifth of a typical ``verify``) that changes nothing the command leaves behind. It
    is skipped: the standard streams are flushed and exit handlers run (``atexit``,
    pending ``weakref.finalize``), then the process ends. With another thread still
    running (a Dask client, say) the exit is the ordinary one.

    Before numpy loads, its BLAS is held to one thread unless the environment says
    otherwise (:data:`BLAS_THREAD_VARIABLES`), and the cyclic garbage collector waits
    until the imports are done (:func:`_resume_collector`).
    """
    global _collector_paused
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    if gc.isenabled():  # paused until the imports are done (_resume_collector)
        gc.disable()
        _collector_paused = True
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help and --version
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, (int, type(None))):
            sys.stderr.write(f"{exc.code}\n")
    if _collector_paused:  # ended before any import was done (a usage error, --help)
        _collector_paused = False
        gc.enable()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        code = code or EXIT_BROKEN_PIPE
    except (OSError, ValueError):
        pass  # closed or odd stdout: nothing more to deliver
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if threading.active_count() > 1:
        sys.exit(code)
    import atexit

    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    console()
