"""Verify and inspect many files: in parallel processes, crash-isolated, or on Dask.

The unit of work is a plain top-level function of one file, :func:`check_one`
(verify) or :func:`inspect_one`, which takes a path and a plain options dict and
returns a plain, picklable, JSON-ready dict. It never raises for bad input: a file
that cannot be read becomes a record with ``status = "unreadable"`` and a one-line
``error``. Everything else is plumbing around that function:

* :func:`expand_inputs` turns files, folders and glob patterns into a file list;
* :func:`run_many` runs the function over the list serially, in a local process
  pool, or on a ``dask.distributed`` client, and yields the records in **input
  order** whatever the order of completion, so a parallel run prints exactly what a
  serial run prints;
* :func:`verify_many` / :func:`inspect_many` are the Python API built on both;
* :func:`read_manifest`, :func:`summarize` and :func:`junit_xml` serve the command
  line (``meshpivot verify PATH...``).

Records
-------
``check_one`` returns::

    {"path": str, "status": "passed" | "failed" | "unreadable",
     "format": str | None, "request": {...FitOptions.to_dict()...},
     "measured": {"min": [3 floats], "max": [...], "size": [...]} | None,
     "checks": [{"name", "measured", "expected", "tolerance", "relation", "passed"}, ...],
     "error": str | None}

``inspect_one`` returns ``{"path", "status": "ok" | "unreadable", "format", "min",
"max", "size", "center", "pivot_point", "counts", "notes", "error"}`` (the fields of
``meshpivot inspect --json``; ``None`` when unreadable).

Crash isolation
---------------
Native readers (FBX, USD, Draco) can kill the interpreter. Each worker process holds
one file at a time, so when one dies the file it held is re-run in a process of its
own, to learn whether it crashes again and how (``"reader crashed: signal 11
(SIGSEGV)"``); a fresh worker takes the dead one's place and the other files get
their verdicts as usual. No result is lost. With a ``timeout``, a file that takes
longer (counted from when a worker starts it) gets its worker killed and is reported
as timed out. A serial run (``jobs=1`` without a timeout) runs in-process and has no
such protection.

Worker processes are forked on Linux, from a parent that has already imported numpy
and the glTF engine: a spawned worker re-imports them (about 0.3 s), which costs more
than a whole batch of small files takes, while a forked one starts in a millisecond
with everything loaded. The forked workers take task numbers from a pipe and send
each record back on a pipe of their own (:func:`_run_forked`), which costs the parent
far less than an executor's queues and threads. Elsewhere the workers are spawned
into a :class:`~concurrent.futures.ProcessPoolExecutor`, which a dead worker breaks:
the files it held are re-run one process each and the rest continue in a fresh pool;
there a script that calls :func:`verify_many` with ``jobs > 1`` needs the usual
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
import re
import signal
import struct
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from .errors import InternalError, MeshPivotError, SpecError, UnreadableInputError
from .formats import KNOWN_EXTENSIONS
from .options import FitOptions, settings_from_mapping

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor
    from xml.etree import ElementTree as ET

    from .api import VerifyResult

__all__ = [
    "CRASH_TEST_ENV",
    "HANG_TEST_ENV",
    "BatchSummary",
    "CheckStat",
    "Kind",
    "check_one",
    "default_jobs",
    "expand_inputs",
    "inspect_many",
    "inspect_one",
    "junit_xml",
    "read_manifest",
    "run_many",
    "summarize",
    "verify_many",
    "verify_record",
    "write_junit",
]

Kind = Literal["verify", "inspect"]
Record = dict[str, Any]
OptionsSource = FitOptions | Mapping[str, Any] | Callable[[Path], FitOptions] | None

#: **Test-only.** When set, a worker *process* (never the main process) that is
#: asked for a file whose name contains this text kills itself with SIGSEGV, as a
#: crashing native reader would. The test suite uses it to prove crash isolation.
CRASH_TEST_ENV = "MESHPIVOT_TEST_CRASH_ON"
#: **Test-only.** Like :data:`CRASH_TEST_ENV`, but the worker hangs (to test timeouts).
HANG_TEST_ENV = "MESHPIVOT_TEST_HANG_ON"

_DEBUG_ENV = "MESHPIVOT_DEBUG"
_GLOB_MAGIC = re.compile(r"[*?[]")


# ------------------------------------------------------------------ unit of work


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error_text(exc: BaseException, path: str) -> str:
    """The one-line message of ``exc``, without ``path`` when the record carries it."""
    if isinstance(exc, MeshPivotError):
        if exc.path is None or exc.path == path:
            return _one_line(exc.message)
        return _one_line(str(exc))  # about another file (a sidecar): keep its name
    what = type(exc).__name__ + (f": {_one_line(str(exc))}" if str(exc).strip() else "")
    return f"internal error: {what} (please report it)"


def _options(options_dict: Mapping[str, Any] | None) -> FitOptions:
    return FitOptions(**options_dict) if options_dict else FitOptions()


_NO_MATCH = "no file matches this pattern"


def _unmatched_pattern(path: str) -> bool:
    """A glob pattern that :func:`expand_inputs` kept because nothing matched it."""
    return _GLOB_MAGIC.search(path) is not None and not os.path.exists(path)


def _in_worker_process() -> bool:
    """Whether this is a worker process: one of ours, or any child of :mod:`multiprocessing`."""
    if _in_worker:
        return True
    import multiprocessing  # only with a test variable set: the batch path does not load it

    return multiprocessing.parent_process() is not None


def _test_crash_hook(path: str) -> None:
    """Simulate a native reader crash or hang (test-only, see :data:`CRASH_TEST_ENV`)."""
    hang, needle = os.environ.get(HANG_TEST_ENV), os.environ.get(CRASH_TEST_ENV)
    if not (hang or needle) or not _in_worker_process():
        return  # never in the main process: a serial run must survive a stray variable
    name = os.path.basename(path)
    if hang and hang in name:
        time.sleep(3600)
    if not needle or needle not in name:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file for a test
    except (ImportError, ValueError, OSError):
        pass
    if hasattr(signal, "SIGSEGV") and os.name == "posix":
        os.kill(os.getpid(), signal.SIGSEGV)
    os.abort()


def _unreadable_verify(path: str, request: Mapping[str, Any], error: str) -> Record:
    return {
        "path": path,
        "status": "unreadable",
        "format": None,
        "request": dict(request),
        "measured": None,
        "checks": [],
        "error": error,
    }


_INSPECT_FIELDS = ("format", "min", "max", "size", "center", "pivot_point", "counts", "notes")


def _unreadable_inspect(path: str, error: str) -> Record:
    return {"path": path, "status": "unreadable", **dict.fromkeys(_INSPECT_FIELDS), "error": error}


def check_one(path: str, options_dict: Mapping[str, Any] | None = None) -> Record:
    """Verify one file against a request and return a plain record (SPEC.md 8).

    Safe to ship to another process or a Dask worker: the arguments and the
    result are plain values, and nothing is raised for a file that cannot be read.

    Parameters
    ----------
    path : str
        The file to check.
    options_dict : dict, optional
        Keyword arguments of :class:`~meshpivot.options.FitOptions`, e.g. from
        ``FitOptions.to_dict()``. Default: the default request (centre pivot only).

    Returns
    -------
    dict
        ``path``, ``status`` (``passed``, ``failed`` or ``unreadable``), ``format``,
        ``request``, ``measured`` (``min``, ``max``, ``size``; ``None`` when
        unreadable), ``checks`` (name, measured, expected, tolerance, relation,
        passed) and ``error`` (one line, or ``None``).

    Raises
    ------
    SpecError
        ``options_dict`` itself is invalid (a bad request, not a bad file).
    """
    _test_crash_hook(path)
    options = _options(options_dict)
    from .api import verify_file  # numpy and the adapters load in the worker, not at import

    if _unmatched_pattern(path):
        return _unreadable_verify(path, options.to_dict(), _NO_MATCH)
    try:
        result = verify_file(path, options)
    except Exception as exc:  # a record, never a raise: one bad file must not stop a batch
        return _unreadable_verify(path, options.to_dict(), _error_text(exc, path))
    return verify_record(result)


def verify_record(result: VerifyResult) -> Record:
    """The :func:`check_one` record of a :class:`~meshpivot.api.VerifyResult`."""
    data = result.to_dict()
    return {
        "path": result.path,
        "status": "passed" if result.passed else "failed",
        "format": result.measurement.format or None,
        "request": data["request"],
        "measured": data["measured"],
        "checks": data["checks"],
        "error": None,
    }


def inspect_one(path: str, options_dict: Mapping[str, Any] | None = None) -> Record:
    """Inspect one file and return a plain record; never raises for bad input.

    Parameters
    ----------
    path : str
        The file to inspect.
    options_dict : dict, optional
        Ignored (inspect takes no request); accepted so that :func:`check_one`
        and this function have one signature.

    Returns
    -------
    dict
        ``path``, ``status`` (``ok`` or ``unreadable``), the fields of
        ``meshpivot inspect --json`` (``format``, ``min``, ``max``, ``size``,
        ``center``, ``pivot_point``, ``counts``, ``notes``; ``None`` when
        unreadable) and ``error``.
    """
    _test_crash_hook(path)
    from .api import inspect_file

    if _unmatched_pattern(path):
        return _unreadable_inspect(path, _NO_MATCH)
    try:
        data = inspect_file(path).to_dict()
    except Exception as exc:
        return _unreadable_inspect(path, _error_text(exc, path))
    data.pop("path")
    return {"path": path, "status": "ok", **{k: data[k] for k in _INSPECT_FIELDS}, "error": None}


_WORKERS: dict[str, Callable[[str, Mapping[str, Any] | None], Record]] = {
    "verify": check_one,
    "inspect": inspect_one,
}


def _crash_record(kind: Kind, path: str, options_dict: Mapping[str, Any] | None, error: str) -> Record:
    if kind == "inspect":
        return _unreadable_inspect(path, error)
    return _unreadable_verify(path, _options(options_dict).to_dict(), error)


# ----------------------------------------------------------------------- inputs


def _has_magic(item: str) -> bool:
    return _GLOB_MAGIC.search(item) is not None


def _known(path: str | Path) -> bool:
    return os.path.splitext(path)[1].lower() in KNOWN_EXTENSIONS


def _walk(folder: Path) -> list[Path]:
    """Files with a known extension under ``folder``, sorted; hidden entries skipped."""
    found: list[tuple[tuple[str, ...], str]] = []  # (parts under folder, path): sorted by parts
    top = os.fspath(folder)
    for root, dirs, files in os.walk(top):
        # Hidden folders hold VCS data or meshpivot's own staging folders (.meshpivot-*).
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        under = os.path.relpath(root, top)
        parts = () if under == os.curdir else tuple(under.split(os.sep))
        found += [
            ((*parts, f), os.path.join(root, f))
            for f in files
            if not f.startswith(".") and _known(f)
        ]
    found.sort()
    return [Path(path) for _, path in found]


def expand_inputs(items: Iterable[str | Path]) -> list[Path]:
    """Turn files, folders and glob patterns into the list of files to process.

    * an existing file is taken as given, whatever its extension (an unsupported one
      is then reported per file, not dropped);
    * a folder is searched recursively for files with a known extension
      (:data:`~meshpivot.formats.KNOWN_EXTENSIONS`), skipping hidden files and
      folders, in sorted order; a folder that is itself named like a model
      (``x.glb/``) is taken as given and reported as not a regular file;
    * a pattern with ``*``, ``?`` or ``[`` is expanded with :func:`glob.glob`
      (``**`` matches any depth); matching folders are searched as above, and
      matching files need a known extension;
    * anything else (a missing file, a pattern that matches nothing) is kept as
      given, so that it is reported as unreadable rather than silently skipped.

    The result is deterministic; a file reached twice is listed once, where first seen.

    Parameters
    ----------
    items : iterable of str or Path

    Returns
    -------
    list of Path
    """
    out: list[Path] = []
    seen: set[str] = set()

    def add(path: Path) -> None:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            out.append(path)

    for item in items:
        text = os.fspath(item)
        path = Path(text)
        if path.is_dir() and not _known(path):
            for f in _walk(path):
                add(f)
        elif path.exists() or not _has_magic(text):
            add(path)
        else:
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                add(path)
            for m in matches:
                mp = Path(m)
                if mp.is_dir() and not _known(mp):
                    for f in _walk(mp):
                        add(f)
                elif mp.is_file() and _known(mp):
                    add(mp)
    return out


# --------------------------------------------------------------------- manifest

_MANIFEST_KEYS = ("scaled_bbox", "pivot_point", "preserve_aspect_ratio")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def _csv_triple(text: str) -> list[float | str]:
    """``"1 2 0.5"``, ``"1,2,0.5"`` or ``"[1, 2, 0.5]"`` as a list (numbers where they parse)."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip().strip("[]()").strip()) if p]
    values: list[float | str] = []
    for p in parts:
        try:
            values.append(float(p))
        except ValueError:
            values.append(p)  # FitOptions names the bad item
    return values


def _csv_bool(text: str) -> bool | str:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return text


def _read_csv_manifest(path: Path, text: str) -> list[tuple[Path, dict[str, Any], int]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))  # quoted cells may hold newlines
    fields = [f.strip() for f in reader.fieldnames or []]
    if "path" not in fields:
        raise SpecError(f"the manifest has no 'path' column (columns: {', '.join(fields) or 'none'})", path)
    rows = []
    for row in reader:
        clean = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        if not any(clean.values()):
            continue  # a blank line
        values: dict[str, Any] = {}
        for key in ("scaled_bbox", "pivot_point"):
            if clean.get(key):
                values[key] = _csv_triple(clean[key])
        if clean.get("preserve_aspect_ratio"):
            values["preserve_aspect_ratio"] = _csv_bool(clean["preserve_aspect_ratio"])
        rows.append((Path(clean.get("path", "")), values, reader.line_num))
    return rows


def _read_jsonl_manifest(path: Path, text: str) -> list[tuple[Path, dict[str, Any], int]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UnreadableInputError(f"line {number} is not valid JSON ({exc.msg})", path) from None
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            raise SpecError(f"line {number}: expected an object with a 'path' string", path)
        rest = {k: v for k, v in data.items() if k != "path"}
        try:
            values = settings_from_mapping(rest)
        except SpecError:
            values = {}  # only a path: the file uses the flags / --settings request
        rows.append((Path(data["path"]), values, number))
    return rows


def read_manifest(path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Read a manifest that maps files to their own request.

    CSV (``.csv``): a header with ``path`` and any of ``scaled_bbox``,
    ``pivot_point`` (three numbers: ``1 2 0.5``, ``1,2,0.5`` or ``[1, 2, 0.5]``) and
    ``preserve_aspect_ratio`` (``true``/``false``); an empty cell leaves the value
    to the flags. Other columns are ignored. JSON Lines (any other extension): one
    object per line with ``path`` and the settings at the top level, under
    ``settings`` or under ``input.settings``. Relative paths are relative to the
    manifest's folder.

    Returns
    -------
    list of (Path, dict)
        Each file, in manifest order, with the settings its row sets (validated).

    Raises
    ------
    UnreadableInputError
        The manifest cannot be read or parsed.
    SpecError
        A row lacks a path or holds an invalid value; the message names the line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UnreadableInputError(f"cannot read the manifest: {reason}", p) from None
    try:
        rows = _read_csv_manifest(p, text) if p.suffix.lower() == ".csv" else _read_jsonl_manifest(p, text)
    except csv.Error as exc:
        raise UnreadableInputError(f"the manifest is not valid CSV: {exc}", p) from None
    out = []
    for file, values, line in rows:
        if not str(file) or str(file) == ".":
            raise SpecError(f"line {line}: the path is empty", p)
        try:
            FitOptions(**values)  # validate once, here, with the line number
        except SpecError as exc:
            raise SpecError(f"line {line}: {exc.message}", p) from None
        out.append((file if file.is_absolute() else p.parent / file, values))
    return out


# ---------------------------------------------------------------------- running


def default_jobs() -> int:
    """The number of CPUs this process may use (the default of ``jobs``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# In a pool worker: where the worker reports (task index, time.monotonic()) when it
# starts a task, so that a timeout counts from then, not from the pool's start-up.
_started: Any = None
# True in a worker process of ours (the test hooks act only there).
_in_worker = False


def _worker_init(started: Any = None) -> None:
    """In each worker: Ctrl-C is the parent's to handle; library warnings stay quiet."""
    global _started, _in_worker
    _started = started
    _in_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.environ.get(_DEBUG_ENV, "") in ("", "0"):
        warnings.simplefilter("ignore")


def _preload(path: str) -> bool:
    """Import the adapter for ``path`` (trimesh, a native reader) so that a timeout does not
    count it; ``False`` if that failed."""
    from .formats import adapter_for

    try:
        adapter_for(path)
    except Exception:
        return False  # the worker function reports it, with the file's name
    return True


def _pool_task(kind: Kind, index: int, path: str, options_dict: Mapping[str, Any] | None) -> Record:
    """One task in a pool worker: say when it starts, then run the worker function."""
    if _started is not None:
        _preload(path)
        _started.put((index, time.monotonic()))  # CLOCK_MONOTONIC: one clock for every process
    return _WORKERS[kind](path, options_dict)


def _pool_chunk(kind: Kind, items: Sequence[tuple[int, str, Mapping[str, Any] | None]]) -> list[tuple[int, Record]]:
    """Several files in one task: small files take less time than a task's round trip."""
    return [(index, _pool_task(kind, index, path, options_dict)) for index, path, options_dict in items]


def _isolated_main(conn: Any, kind: Kind, path: str, options_dict: Mapping[str, Any] | None) -> None:
    """Entry point of a one-file process: say when it starts, run the worker, send the record."""
    _worker_init()
    _preload(path)
    conn.send(time.monotonic())
    conn.send(_WORKERS[kind](path, options_dict))
    conn.close()


def _end_text(exitcode: int | None) -> str:
    """How a worker process ended: ``signal 11 (SIGSEGV)`` or ``the worker process exited with code 1``."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = ""
        return f"signal {-exitcode}" + (f" ({name})" if name else "")
    return f"the worker process exited with code {exitcode}"


def _exit_text(exitcode: int | None) -> str:
    return f"reader crashed: {_end_text(exitcode)}"


def _timeout_text(timeout: float) -> str:
    return f"timed out after {timeout:g} s (the reader was stopped)"


Task = tuple[str, Mapping[str, Any] | None]


#: Tasks in flight per worker: enough that a worker never waits for the round trip of
#: its next task (small files take about as long as that trip), few enough that a crash
#: leaves only a handful of suspects to re-run one by one.
_QUEUED_PER_WORKER = 4

#: How worker processes start: fork where it is the platform's cheap default (Linux).
_START_METHOD = "fork" if sys.platform.startswith("linux") else "spawn"


def _run_isolated(
    kind: Kind, tasks: Sequence[Task], indices: Sequence[int], timeout: float | None
) -> Iterator[tuple[int, Record, bool]]:
    """Run each task in a process of its own, all at once; yield (index, record, died)."""
    import multiprocessing

    ctx: Any = multiprocessing.get_context(_START_METHOD)  # a fork or spawn context; both have Process
    started = []
    try:
        for i in indices:
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_isolated_main, args=(send, kind, *tasks[i]), daemon=True)
            proc.start()
            send.close()  # the child holds the only write end: EOF when it dies
            started.append((i, proc, recv))
        for i, proc, recv in started:
            record: Record | None = None
            error = ""
            try:
                t0 = recv.recv()  # sent when the child is up: start-up does not count
                if recv.poll(None if timeout is None else max(0.0, t0 + timeout - time.monotonic())):
                    record = recv.recv()
                else:
                    proc.kill()
                    error = _timeout_text(timeout or 0.0)
            except (EOFError, OSError):
                pass  # it died before sending its record
            proc.join()
            if record is None:
                path, options_dict = tasks[i]
                yield i, _crash_record(kind, path, options_dict, error or _exit_text(proc.exitcode)), True
            else:
                yield i, record, False
    finally:
        for _, proc, recv in started:
            recv.close()
            if proc.is_alive():
                proc.kill()
                proc.join()


def _flat(running: Mapping[Any, list[int]]) -> list[int]:
    """The file indices of the tasks in flight."""
    return [i for batch in running.values() for i in batch]


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    """Stop the pool's workers now, busy or not (the pool is broken afterwards)."""
    kill = getattr(executor, "kill_workers", None)  # Python 3.14+
    if callable(kill):
        kill()
        return
    # Before 3.14 there is no public way to stop a busy worker; _processes has held
    # the pool's processes (pid -> Process) since Python 3.2.
    processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
    for proc in list(processes.values()):
        proc.kill()


def _drain(started: Any, starts: dict[int, float]) -> None:
    """Move the workers' (index, start time) reports into ``starts``."""
    import queue

    while True:
        try:
            i, t0 = started.get_nowait()
        except queue.Empty:
            return
        starts[i] = t0


#: Extensions whose reader is imported before the workers are forked: numpy and the glTF
#: engine, plain Python and numpy (whose BLAS may start threads, but re-creates them after
#: a fork should a worker need them; the command line holds it to one). Each worker then
#: starts ready instead of importing them again, next to the other (about 60 ms of CPU
#: each); other readers (trimesh, usd-core, ufbx) load in the worker that needs them.
_FORK_READY = (".glb", ".gltf")


def _load_before_fork(tasks: Sequence[Task]) -> None:
    """Import what the workers of a forked pool will need for ``tasks`` (see :data:`_FORK_READY`)."""
    if any(path.lower().endswith(_FORK_READY) for path, _ in tasks):
        from . import api, gltf  # noqa: F401  (imported for the forked workers)


def _chunk_size(pending: int, jobs: int) -> int:
    """Files in the next task, shrinking as the queue empties (guided scheduling).

    Several small files per task spare the round trip of a task per file; sizing the
    task by what is left means the last ones hold a file or two, so no worker is still
    busy with a large last task while the others idle.

    >>> [_chunk_size(n, 2) for n in (200, 100, 40, 15, 1)]
    [12, 6, 2, 1, 1]
    """
    return max(1, min(16, pending // (jobs * 2 * _QUEUED_PER_WORKER), pending))


def _run_pool(kind: Kind, tasks: Sequence[Task], jobs: int, timeout: float | None) -> Iterator[tuple[int, Record]]:
    """Run ``tasks`` on a process pool; yield (index, record) in completion order.

    At most ``4 * jobs`` tasks are in flight, so when a worker dies only those few are
    suspects: they are re-run one process each (:func:`_run_isolated`) and the rest
    continue in a fresh pool. A task that runs longer than ``timeout`` seconds
    (counted from when a worker starts it) gets the workers killed; it is reported
    as timed out and the other tasks in flight are re-run.
    """
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context(_START_METHOD)
    pending = deque(range(len(tasks)))
    while pending:
        suspects: list[int] = []
        completed = 0
        killed = False
        started = ctx.Queue() if timeout is not None else None  # one per pool: a killed worker may break it
        starts: dict[int, float] = {}
        executor = ProcessPoolExecutor(
            max_workers=min(jobs, len(pending)), mp_context=ctx, initializer=_worker_init, initargs=(started,)
        )
        running: dict[Future[list[tuple[int, Record]]], list[int]] = {}
        try:
            while pending or running:
                while pending and len(running) < jobs * _QUEUED_PER_WORKER:
                    chunk = 1 if timeout is not None else _chunk_size(len(pending), jobs)
                    batch = [pending.popleft() for _ in range(chunk)]
                    try:
                        running[executor.submit(_pool_chunk, kind, [(i, *tasks[i]) for i in batch])] = batch
                    except BrokenProcessPool:
                        pending.extendleft(reversed(batch))
                        break
                if not running:
                    break  # broken before anything could be submitted
                wait_for = None
                if timeout is not None:
                    _drain(started, starts)
                    begun = [starts[i] for i in _flat(running) if i in starts]
                    # Poll for start reports while a task has not begun; else sleep to the first deadline.
                    wait_for = 0.2 if len(begun) < len(running) else None
                    if begun:
                        due = max(0.0, min(begun) + timeout - time.monotonic())
                        wait_for = due if wait_for is None else min(wait_for, due)
                done, _ = wait(running, timeout=wait_for, return_when=FIRST_COMPLETED)
                broken = False
                for fut in sorted(done, key=lambda f: running[f][0]):
                    batch = running.pop(fut)
                    exc = fut.exception()
                    if isinstance(exc, BrokenProcessPool):
                        suspects += batch
                        broken = True
                    elif exc is not None:  # e.g. a result that cannot be pickled: a bug, kept per file
                        for i in batch:
                            completed += 1
                            path, options_dict = tasks[i]
                            yield i, _crash_record(kind, path, options_dict, _error_text(exc, path))
                    else:
                        for i, record in fut.result():
                            completed += 1
                            yield i, record
                if broken:
                    suspects += _flat(running)  # they fail with BrokenProcessPool too
                    running.clear()
                    break
                if timeout is not None and running:
                    _drain(started, starts)
                    now = time.monotonic()
                    late = sorted(i for i in _flat(running) if i in starts and now - starts[i] >= timeout)
                    if late:
                        _kill_workers(executor)  # the only way to stop a reader that hangs
                        killed = True
                        for i in late:
                            path, options_dict = tasks[i]
                            yield i, _crash_record(kind, path, options_dict, _timeout_text(timeout))
                        suspects += [i for i in _flat(running) if i not in late]
                        completed += len(late)  # the pool did start
                        running.clear()
                        break
        finally:
            if running:  # interrupted (Ctrl-C) or the caller stopped early: do not wait for readers
                _kill_workers(executor)
                killed = True
            executor.shutdown(wait=not (suspects or killed), cancel_futures=True)
            if started is not None:
                started.close()
                started.cancel_join_thread()
        if suspects:
            exited = 0  # suspects whose process died without a signal: it may not start at all
            for i, record, died in _run_isolated(kind, tasks, sorted(suspects), timeout):
                if died and str(record["error"]).startswith("reader crashed: the worker process exited"):
                    exited += 1
                yield i, record
            if completed == 0 and exited == len(suspects):
                raise InternalError(
                    "worker processes fail to start; a script that runs meshpivot with jobs > 1 "
                    "needs an `if __name__ == '__main__':` guard"
                )
        elif completed == 0:
            raise InternalError("the process pool broke before it ran anything")


# -------------------------------------------------------------- forked workers
#
# On Linux the pool is a handful of forked processes that take files one at a time
# from a pipe of task numbers and send each record back on a pipe of their own. No
# executor, no queue threads, no pickled tasks: a worker needs only a task's number,
# for it was forked with the task list. What a worker is doing sits in a shared
# slot (task number, start time), written without a system call and read by the
# parent only to time a task out or to learn what a dead worker was doing.

#: A worker's slot: the task it took and when it started reading it. The time is 0.0
#: before the reader starts and -1.0 once the record is being sent (neither counts
#: against a timeout). The task is _NOTHING_YET until the first one is taken, and
#: _FINISHED once the task pipe has ended: any other dead worker died abnormally.
_SLOT = struct.Struct("<qd")
_NOTHING_YET = -2
_FINISHED = -1
#: A record's header on a worker's pipe: task number, byte length of the pickle.
_RECORD = struct.Struct("<II")
#: Task numbers on the task pipe. Writes of at most PIPE_BUF (4096) bytes are atomic, so a
#: 4-byte read never sees half a number, whichever worker reads.
_NUMBER = struct.Struct("<I")
_FEED_BYTES = 4096
#: While files wait in the task pipe, the parent lets records gather this long between
#: two looks at the pipes. Woken for each record, it took about 60 microseconds of CPU
#: per file (on a virtual machine each wake-up crosses CPUs), time the workers need when
#: there are as many of them as cores: 13.5 -> 6.8 ms of parent CPU per 200 small files.
#: Workers take their next file from the task pipe themselves, so none waits for that.
#: A record larger than a pipe holds (64 KiB) would wait, its worker blocked writing:
#: while part of one is read, the parent does not pause. A dead or late worker is seen
#: at most this much later, and the last files of a batch (fewer waiting than workers)
#: at once. Near the end a pause is shorter (:func:`_gather_pause`).
_GATHER_SECONDS = 0.004
#: Workers (per job) that may die in a row before taking a file, each replaced, before a
#: batch gives up on starting more: they die of something other than a file.
_FUTILE_STARTS = 8

# The pipe ends that running batches hold. A worker forked for one batch closes those of
# the others (batches may run at once in several threads): else it would keep their
# pipes open, and their ends of input and deaths unseen. Forks and the opening and
# closing of these ends take turns.
_FORK_LOCK = threading.Lock()
_BATCH_FDS: set[int] = set()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # closed, or a broken pipe: nothing to keep


def _forked_worker(kind: Kind, tasks: Sequence[Task], slot: Any, offset: int, numbers: int, out: int) -> NoReturn:
    """A forked worker's life: take task numbers until the pipe ends, send each record."""
    import pickle

    code = 0
    loaded: set[str] = set()  # extensions whose reader this worker has imported
    try:
        _worker_init()
        while len(raw := os.read(numbers, _NUMBER.size)) == _NUMBER.size:
            (i,) = _NUMBER.unpack(raw)
            path, options_dict = tasks[i]
            if (ext := os.path.splitext(path)[1].lower()) not in loaded:
                _SLOT.pack_into(slot, offset, i, 0.0)
                if _preload(path):
                    loaded.add(ext)
            _SLOT.pack_into(slot, offset, i, time.monotonic())  # CLOCK_MONOTONIC: one clock for all
            try:
                record = _WORKERS[kind](path, options_dict)
                data = pickle.dumps(record, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # a bug, kept per file as the executor pool does
                data = pickle.dumps(_crash_record(kind, path, options_dict, _error_text(exc, path)))
            _SLOT.pack_into(slot, offset, i, -1.0)  # read: a parent slow to take the record is not the reader
            _write_all(out, _RECORD.pack(i, len(data)) + data)
        _SLOT.pack_into(slot, offset, _FINISHED, 0.0)
        _flush_std_streams()
    except BaseException:
        code = 1
    finally:
        os._exit(code)  # never back into the parent's code, no atexit handlers


@dataclass
class _Forked:
    """The parent's view of one forked worker."""

    pid: int
    out: int  # read end of the worker's record pipe
    offset: int  # of its slot in the shared map
    buffer: bytearray = field(default_factory=bytearray)
    late: int = -1  # the task it was killed for, when it ran out of time


#: Workers that had nothing left to do when their batch ended, left to exit on their own
#: (a batch does not wait for them); the next batch reaps them, as does this process's end.
_unreaped: set[int] = set()


def _reap() -> None:
    """Collect the exit status of the workers in :data:`_unreaped` that have ended."""
    for pid in list(_unreaped):
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue  # still running
        except ChildProcessError:
            pass  # reaped elsewhere (another thread, or SIGCHLD ignored)
        _unreaped.discard(pid)


def _wait_status(pid: int) -> int | None:
    """The wait status of the ended worker ``pid``; ``None`` when the system reaped it (SIGCHLD ignored)."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def _gather_pause(waiting: int, taken: int, elapsed: float) -> float:
    """Seconds for the parent to let records gather while ``waiting`` files are left in the
    task pipe, the workers having taken ``taken`` files in the last ``elapsed`` seconds.

    At most :data:`_GATHER_SECONDS`, and at most half the time the workers should take to
    empty the pipe at that pace: a full pause near the end of a batch would keep the last
    records waiting after the workers are done.
    """
    if taken <= 0:
        return _GATHER_SECONDS  # no pace known: the workers are starting, or files are slow
    return min(_GATHER_SECONDS, 0.5 * waiting * elapsed / taken)


def _ready(poller: Any, timeout: float | None) -> list[int]:
    """The descriptors of ``poller`` that are ready (readable, writable, ended) within ``timeout`` seconds."""
    return [fd for fd, _ in poller.poll(None if timeout is None else timeout * 1000.0)]


def _close_batch_fd(fd: int) -> None:
    with _FORK_LOCK:
        _BATCH_FDS.discard(fd)
        os.close(fd)


def _run_forked(kind: Kind, tasks: Sequence[Task], jobs: int, timeout: float | None) -> Iterator[tuple[int, Record]]:
    """Run ``tasks`` in ``jobs`` forked workers; yield (index, record) in completion order.

    A worker holds one task at a time. When one dies, the file it held is re-run alone
    (:func:`_run_isolated`) to name the crash, and a new worker takes its place while
    files remain. A file that is read for longer than ``timeout`` seconds (counted once
    its reader is imported) gets its worker killed and is reported as timed out; the
    others are not disturbed. At the end the parent does not wait for idle workers to
    exit: a later batch, or the end of the process, collects them.
    """
    import mmap
    import pickle
    import select

    _reap()
    _load_before_fork(tasks)
    jobs = min(jobs, len(tasks))
    slots = mmap.mmap(-1, _SLOT.size * jobs)  # anonymous and shared with the forked children
    feed = memoryview(b"".join(_NUMBER.pack(i) for i in range(len(tasks))))
    poller = select.poll()  # no descriptor of its own, unlike epoll, for other batches' workers to close
    with _FORK_LOCK:
        numbers, feed_end = os.pipe()
        _BATCH_FDS.update((numbers, feed_end))
    os.set_blocking(feed_end, False)
    poller.register(feed_end, select.POLLOUT)  # looked at only once the workers run
    workers: dict[int, _Forked] = {}  # by the read end of its pipe
    done = bytearray(len(tasks))
    suspects: list[int] = []
    unfinished = len(tasks)  # neither recorded nor suspected
    completed = 0
    lost = 0  # workers that died holding no task: each may have taken one unseen
    futile = 0  # such deaths since the last record: when workers keep dying at start, stop
    ending = ""  # how the last of them ended

    def fill() -> None:
        nonlocal feed, feed_end
        while feed:
            try:
                feed = feed[os.write(feed_end, feed[:_FEED_BYTES]) :]
            except BlockingIOError:
                return
        if feed_end >= 0:
            poller.unregister(feed_end)
            _close_batch_fd(feed_end)  # the end of the pipe: idle workers exit
            feed_end = -1

    def start(offset: int) -> None:
        _SLOT.pack_into(slots, offset, _NOTHING_YET, 0.0)
        _flush_std_streams()  # else the worker would hold a copy of what is waiting to be written
        with _FORK_LOCK:
            out, into = os.pipe()
            try:
                pid = os.fork()
            except OSError:
                os.close(out)
                os.close(into)
                raise
            if pid == 0:  # the worker: keep the task pipe's read end and its own write end only
                for fd in _BATCH_FDS | {out}:
                    if fd not in (numbers, into):
                        os.close(fd)
                _forked_worker(kind, tasks, slots, offset, numbers, into)
            workers[out] = _Forked(pid, out, offset)  # first: a Ctrl-C from here on stops it too
            os.close(into)  # the worker holds the only write end: EOF when it ends
            _BATCH_FDS.add(out)
        poller.register(out, select.POLLIN)

    def held(w: _Forked) -> tuple[int, float]:
        i, t0 = _SLOT.unpack_from(slots, w.offset)
        return (i, t0) if i >= 0 and not done[i] else (-1, 0.0)

    def busy() -> int:
        return sum(held(o)[0] >= 0 for o in workers.values())

    def waiting() -> int:
        """Files no worker has taken yet: the numbers left in the task pipe and those not written to it."""
        import fcntl
        import termios  # imported once the workers run, not on the way to the fork

        try:
            unread = fcntl.ioctl(numbers, termios.FIONREAD, b"\0\0\0\0")  # a pipe's unread bytes
        except OSError:
            return 0  # unknown: look at the pipes without pausing
        return (int.from_bytes(unread, sys.byteorder) + len(feed)) // _NUMBER.size

    try:
        fill()
        for k in range(jobs):
            try:
                start(k * _SLOT.size)
            except OSError:
                if not workers:
                    raise  # not even one process: the caller says so
                break  # fewer workers than asked for
        look = (time.monotonic(), len(tasks))  # the last pause's start, and the files waiting then
        while workers and unfinished:
            if (left := waiting()) >= len(workers) and not any(w.buffer for w in workers.values()):
                # Each worker has a file to take next, and no record is half read.
                now = time.monotonic()
                pause = _gather_pause(left, look[1] - left, now - look[0])
                look = (now, left)
                time.sleep(pause)
            wait_for = None
            if timeout is not None:
                begun = [t0 for w in workers.values() if w.late < 0 and (t0 := held(w)[1]) > 0.0]
                wait_for = max(0.0, min(begun) + timeout - time.monotonic()) if begun else 0.1
            for fd in _ready(poller, wait_for):
                if fd == feed_end:
                    fill()
                    continue
                w = workers[fd]
                chunk = os.read(w.out, 1 << 16)
                w.buffer += chunk
                while len(w.buffer) >= _RECORD.size:
                    i, size = _RECORD.unpack_from(w.buffer)
                    end = _RECORD.size + size
                    if len(w.buffer) < end:
                        break
                    record = pickle.loads(w.buffer[_RECORD.size : end])
                    del w.buffer[:end]
                    done[i] = 1
                    unfinished -= 1
                    completed += 1
                    futile = 0
                    yield i, record
                if chunk:
                    continue
                # The worker has ended: all it sent has been read.
                poller.unregister(w.out)
                _close_batch_fd(w.out)
                del workers[w.out]
                status = _wait_status(w.pid)
                i, _ = held(w)
                if i >= 0:  # it died reading file i
                    unfinished -= 1
                    futile = 0
                    if i == w.late:
                        path, options_dict = tasks[i]
                        done[i] = 1
                        yield i, _crash_record(kind, path, options_dict, _timeout_text(timeout or 0.0))
                    else:
                        suspects.append(i)
                elif _SLOT.unpack_from(slots, w.offset)[0] == _FINISHED:
                    continue  # the task pipe ended: nothing left to take
                else:  # it died between two files, perhaps holding a number it had not noted yet
                    lost += 1
                    futile += 1
                    ending = "status unknown" if status is None else _end_text(os.waitstatus_to_exitcode(status))
                if unfinished > busy() and futile <= _FUTILE_STARTS * jobs:
                    try:
                        start(w.offset)  # files are left: a fresh worker takes the dead one's place
                    except OSError:
                        pass  # the others carry on
            if timeout is not None:
                now = time.monotonic()
                for w in workers.values():
                    i, t0 = held(w)
                    # Read twice: a slot read while its worker rewrites it could pair two tasks.
                    if w.late < 0 and t0 > 0.0 and now - t0 >= timeout and held(w) == (i, t0):
                        os.kill(w.pid, signal.SIGKILL)  # the only way to stop a reader that hangs
                        w.late = i
    finally:
        for w in workers.values():
            _close_batch_fd(w.out)
            if unfinished:  # interrupted (Ctrl-C) or the caller stopped early
                os.kill(w.pid, signal.SIGKILL)
                _wait_status(w.pid)
            else:  # idle, or exiting: not worth waiting for
                _unreaped.add(w.pid)
        for fd in (feed_end, numbers):
            if fd >= 0:
                _close_batch_fd(fd)
        slots.close()
    if unfinished:  # files that no worker noted before it died, or that none could take
        if unfinished > lost or not (completed or suspects):
            raise InternalError(f"the worker processes ended before the batch did ({ending or 'no worker left'})")
        suspects += [i for i in range(len(tasks)) if not done[i] and i not in suspects]
    if suspects:
        yield from ((i, record) for i, record, _ in _run_isolated(kind, tasks, sorted(suspects), timeout))


def _run_dask(kind: Kind, tasks: Sequence[Task], client: Any) -> Iterator[tuple[int, Record]]:
    """Map the worker function over ``tasks`` on a dask.distributed client."""
    import importlib

    distributed = importlib.import_module("distributed")  # optional: imported only on this path
    fn = _WORKERS[kind]
    futures = client.map(fn, [t[0] for t in tasks], [t[1] for t in tasks], pure=False)
    index = {f.key: i for i, f in enumerate(futures)}
    try:
        for fut in distributed.as_completed(futures):
            i = index[fut.key]
            if fut.status == "finished":
                yield i, fut.result()
            else:
                path, options_dict = tasks[i]
                exc = fut.exception()
                what = type(exc).__name__ + (f": {_one_line(str(exc))}" if str(exc).strip() else "")
                yield i, _crash_record(kind, path, options_dict, f"dask task failed: {what}")
    finally:
        client.cancel(futures)


def _as_options(options: OptionsSource) -> Callable[[Path], FitOptions]:
    if options is None:
        return lambda _p: FitOptions()
    if isinstance(options, FitOptions):
        return lambda _p: options
    if isinstance(options, Mapping):
        fixed = FitOptions.from_settings(options)
        return lambda _p: fixed
    return options


def run_many(
    paths: Sequence[str | Path],
    options_for_path: OptionsSource = None,
    jobs: int | None = None,
    *,
    kind: Kind = "verify",
    client: Any = None,
    timeout: float | None = None,
    on_done: Callable[[Record], None] | None = None,
) -> Iterator[Record]:
    """Run :func:`check_one` (or :func:`inspect_one`) over ``paths``; yield records in input order.

    Parameters
    ----------
    paths : sequence of str or Path
        The files, already expanded (see :func:`expand_inputs`).
    options_for_path : FitOptions, settings mapping or callable, optional
        The request: one for every file, or ``f(path) -> FitOptions`` per file.
        Ignored for ``kind="inspect"``.
    jobs : int, optional
        Worker processes (default :func:`default_jobs`); ``1`` runs serially in this
        process, with no crash isolation.
    kind : {'verify', 'inspect'}
    client : dask.distributed.Client, optional
        Run on this client instead (``jobs`` and ``timeout`` are then ignored).
    timeout : float, optional
        Seconds a file may take in a worker process before the reader is stopped
        and the file reported as unreadable (``"timed out after ..."``); starting
        the process and importing the file's format adapter do not count. With
        ``jobs=1`` the files then run in one worker process instead of in-process.
    on_done : callable, optional
        Called with each record as soon as it is done (completion order), e.g. to
        advance a progress bar.

    Yields
    ------
    dict
        One record per path, in the order of ``paths``; the same records, in the
        same order, whatever ``jobs`` or ``client``.

    Raises
    ------
    SpecError
        ``jobs < 1`` or an invalid request.
    """
    if jobs is not None and jobs < 1:
        raise SpecError(f"jobs is {jobs!r}; expected a whole number >= 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise SpecError(f"timeout is {timeout!r}; expected a number of seconds > 0")
    get = _as_options(options_for_path)
    tasks: list[Task] = [(os.fspath(p), None if kind == "inspect" else get(Path(p)).to_dict()) for p in paths]
    if not tasks:
        return
    workers = default_jobs() if jobs is None else jobs
    results: Iterator[tuple[int, Record]]
    if client is not None:
        results = _run_dask(kind, tasks, client)
    elif workers == 1 and timeout is None:
        fn = _WORKERS[kind]
        results = ((i, fn(*t)) for i, t in enumerate(tasks))
    elif _START_METHOD == "fork":
        results = _run_forked(kind, tasks, workers, timeout)
    else:
        results = _run_pool(kind, tasks, workers, timeout)
    ready: dict[int, Record] = {}
    nxt = 0
    for i, record in results:
        if on_done is not None:
            on_done(record)
        ready[i] = record
        while nxt in ready:
            yield ready.pop(nxt)
            nxt += 1


def verify_many(
    paths: Iterable[str | Path],
    options: OptionsSource = None,
    *,
    jobs: int | None = None,
    client: Any = None,
    timeout: float | None = None,
) -> list[Record]:
    """Verify many files; return one :func:`check_one` record per file, in input order.

    Parameters
    ----------
    paths : iterable of str or Path
        Files, folders and glob patterns (see :func:`expand_inputs`).
    options : FitOptions, settings mapping or callable, optional
        The request for every file (a mapping is read like a hosted-API request
        body), or ``f(path) -> FitOptions`` for a request per file.
    jobs : int, optional
        Worker processes (default: the CPU count); ``1`` runs in this process.
    client : dask.distributed.Client, optional
        Run ``check_one`` on this Dask client (``client.map``) instead.
    timeout : float, optional
        Seconds per file in a worker process (see :func:`run_many`).

    Returns
    -------
    list of dict
        ``status`` is ``passed``, ``failed`` or ``unreadable``.

    Examples
    --------
    >>> from meshpivot.batch import verify_many
    >>> verify_many([], FitOptions(scaled_bbox=[1, -1, -1]), jobs=1)
    []
    """
    return list(run_many(expand_inputs(paths), options, jobs, kind="verify", client=client, timeout=timeout))


def inspect_many(
    paths: Iterable[str | Path], *, jobs: int | None = None, client: Any = None, timeout: float | None = None
) -> list[Record]:
    """Inspect many files; return one :func:`inspect_one` record per file, in input order.

    Parameters are those of :func:`verify_many` without a request.
    """
    return list(run_many(expand_inputs(paths), None, jobs, kind="inspect", client=client, timeout=timeout))


# ---------------------------------------------------------------------- reports


@dataclass
class CheckStat:
    """The worst deviation of one check across a batch.

    Attributes
    ----------
    name : str
        ``size_x``, ``pivot_y``, ...
    deviation : float
        ``|measured - expected|`` for ``==`` checks; for ``<=`` checks the excess
        ``max(0, measured - expected)``.
    tolerance : float
        The tolerance of that worst instance.
    path : str
        The file where it occurred (the first one on a tie).
    failed : int
        How many files failed this check.
    """

    name: str
    deviation: float
    tolerance: float
    path: str
    failed: int = 0


@dataclass
class BatchSummary:
    """Counts by status and the worst deviation per check."""

    counts: dict[str, int] = field(default_factory=dict)
    checks: list[CheckStat] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of files."""
        return sum(self.counts.values())


def _deviation(check: Mapping[str, Any]) -> float:
    diff = float(check["measured"]) - float(check["expected"])
    return max(0.0, diff) if check.get("relation") == "<=" else abs(diff)


def summarize(records: Iterable[Mapping[str, Any]]) -> BatchSummary:
    """Count records by status; for verify records, the worst deviation per check name."""
    summary = BatchSummary()
    stats: dict[str, CheckStat] = {}
    for rec in records:
        summary.counts[rec["status"]] = summary.counts.get(rec["status"], 0) + 1
        for c in rec.get("checks") or []:
            dev = _deviation(c)
            stat = stats.get(c["name"])
            if stat is None:
                stat = stats[c["name"]] = CheckStat(c["name"], dev, float(c["tolerance"]), rec["path"])
            elif dev > stat.deviation or (math.isnan(stat.deviation) and not math.isnan(dev)):
                stat.deviation, stat.tolerance, stat.path = dev, float(c["tolerance"]), rec["path"]
            stat.failed += not c["passed"]
    summary.checks = list(stats.values())
    return summary


def junit_xml(records: Iterable[Mapping[str, Any]], *, name: str = "meshpivot verify") -> ET.ElementTree:
    """A JUnit XML report of verify records: one test case per file and check.

    Test cases have ``classname`` = the file path, ``name`` = the check name and
    ``file`` = the path; a failed check holds a ``<failure>`` with measured,
    expected and tolerance, an unreadable file one test case ``read`` with an
    ``<error>``. One ``<testsuite>`` inside ``<testsuites>``.
    """
    from xml.etree import ElementTree as ET  # only reports need it

    suite = ET.Element("testsuite", name=name)
    tests = failures = errors = 0
    for rec in records:
        path = str(rec["path"])
        if rec["status"] == "unreadable":
            tests += 1
            errors += 1
            case = ET.SubElement(suite, "testcase", classname=path, name="read", file=path)
            err = ET.SubElement(case, "error", message=str(rec["error"]), type="unreadable")
            err.text = f"{path}: {rec['error']}"
            continue
        for c in rec["checks"]:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=path, name=c["name"], file=path)
            if not c["passed"]:
                failures += 1
                text = (
                    f"{c['name']}: measured {c['measured']:.9g}, expected {c['relation']} "
                    f"{c['expected']:.9g} (tolerance {c['tolerance']:.3g})"
                )
                fail = ET.SubElement(case, "failure", message=text, type="check")
                fail.text = (
                    f"measured={c['measured']!r}\nexpected={c['expected']!r}\n"
                    f"relation={c['relation']}\ntolerance={c['tolerance']!r}"
                )
    counts = {"tests": str(tests), "failures": str(failures), "errors": str(errors), "skipped": "0"}
    suite.attrib.update(counts)
    root = ET.Element("testsuites", {"name": name, **counts})
    root.append(suite)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(records: Iterable[Mapping[str, Any]], path: str | Path, *, name: str = "meshpivot verify") -> None:
    """Write :func:`junit_xml` to ``path`` (UTF-8, with an XML declaration).

    Raises
    ------
    OutputError
        The file cannot be written.
    """
    from .errors import OutputError

    try:
        junit_xml(records, name=name).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise OutputError(f"cannot write the JUnit report: {exc.strerror or exc}", path) from None
