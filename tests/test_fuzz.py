"""A mutational fuzzer over small corpus files (issue 6), built on hypothesis.

Seeds: self-contained glTF assets from the corpus (plain, interleaved, animated,
skinned, instanced, quantized + meshopt, sparse, Draco, data URIs), the catalogue's
base tetrahedron, and OBJ, PLY and STL files from the format samples. Mutations:

* bytes -- flips, overwrites with boundary values, insertions, deletions, truncation;
* GLB chunks -- reordered, duplicated, dropped, retyped, resized;
* JSON fields -- a value anywhere in the parsed JSON replaced by a random int, float,
  string, ``None``, huge or negative number, list or dict (or deleted, or a list
  entry duplicated), then written back as a valid GLB / glTF;
* text -- OBJ/PLY/STL lines deleted, duplicated, swapped, numbers replaced.

Each mutant is measured (:func:`meshpivot.api.measure_file`) and applied
(:func:`meshpivot.api.apply_file`) into a fresh folder. The only exceptions allowed
are :class:`~meshpivot.errors.MeshPivotError` input errors whose message is one
line; anything else fails, as does a case that takes longer than ``CASE_SECONDS``
(``SIGALRM``) or allocates past an address-space limit (``RLIMIT_AS`` raised by
``MEMORY_HEADROOM`` over the process's size while fuzzing: a blow-up surfaces as
``MemoryError``). After a failed ``apply`` the output folder must be empty.

CI runs ``MESHPIVOT_FUZZ_EXAMPLES`` examples per test (default 1000, derandomised, so
every run tries the same cases); ``make fuzz`` runs a longer campaign with fresh
randomness and prints how many cases ran.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import resource
import signal
import struct
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshpivot.api import apply_file, measure_file
from meshpivot.errors import InputError, MeshPivotError
from meshpivot.gltf.document import read_document
from meshpivot.options import FitOptions

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CORPUS = Path(os.environ.get("MESHPIVOT_CORPUS") or SHARED / "corpus")
FORMATS = Path(os.environ.get("MESHPIVOT_FORMATS") or SHARED / "formats")

#: Examples per test. CI: the default; ``make fuzz`` sets a large number.
EXAMPLES = int(os.environ.get("MESHPIVOT_FUZZ_EXAMPLES", "1000"))
#: ``make fuzz`` sets this to draw fresh random cases instead of the fixed CI ones.
RANDOM = os.environ.get("MESHPIVOT_FUZZ_RANDOM", "") not in ("", "0")
#: Wall-clock limit of one case (measure + apply).
CASE_SECONDS = 2.0
#: Address space a case may add to the process before allocation fails.
MEMORY_HEADROOM = 2 << 30

GLB_SEEDS = [
    "Box/Box.glb",
    "BoxInterleaved/BoxInterleaved.glb",
    "BoxAnimated/BoxAnimated.glb",
    "BoxMeshopt/BoxMeshopt.glb",
    "RiggedSimple/RiggedSimple.glb",
    "SimpleInstancing/SimpleInstancing.glb",
]
#: ``.gltf`` assets packed into one GLB by meshpivot before fuzzing (their buffers are external).
PACKED_SEEDS = [
    "SimpleSparseAccessor-gltf/SimpleSparseAccessor.gltf",
    "Duck-quantized/Duck.gltf",
    "Box-draco/Box.gltf",
    "SimpleMorph-gltf/SimpleMorph.gltf",
]
EMBEDDED_SEEDS = ["Box-embedded/Box.gltf", "Triangle-embedded/Triangle.gltf"]
TEXT_SEEDS = ["OBJ/box.obj", "OBJ/testpoints.obj", "PLY/cube.ply", "STL/triangle.stl"]
BINARY_SEEDS = ["PLY/cube_binary.ply"]

CASES_RUN = {"count": 0, "refused": 0, "written": 0, "known": 0}
#: Crashes already reported to the owner of a module this suite may not change:
#: (exception type, file, function) of the innermost meshpivot frame -> the report.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}  # (exception, file, function) still crashing: none
#: Where a failing mutant is saved, named by its hash, for a reproducer.
FAILURES = Path(os.environ.get("MESHPIVOT_FUZZ_FAILURES") or ROOT / "out" / "fuzz-failures")


def _load_cases() -> ModuleType:
    name = "meshpivot_tests_hostile_cases"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("hostile_cases.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


hostile = _load_cases()


class Seed:
    """A seed file: its name (with the extension that picks the reader) and bytes."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data

    def __repr__(self) -> str:
        return f"Seed({self.name!r}, {len(self.data)} bytes)"


class Mutant(bytes):
    """Mutated bytes that print briefly (a failing case is saved to ``FAILURES`` in full)."""

    def __repr__(self) -> str:
        return f"Mutant({len(self)} bytes, sha256 {hashlib.sha256(self).hexdigest()[:12]})"


def _packed(rel: str, folder: Path) -> bytes:
    out = folder / (Path(rel).stem + ".glb")
    read_document(CORPUS / rel).write(out)
    return out.read_bytes()


def _seeds() -> dict[str, list[Seed]]:
    missing = [p for p in GLB_SEEDS + PACKED_SEEDS + EMBEDDED_SEEDS if not (CORPUS / p).is_file()]
    missing += [p for p in TEXT_SEEDS + BINARY_SEEDS if not (FORMATS / p).is_file()]
    if missing:
        return {}
    glb = [Seed("base.glb", hostile.make_glb(hostile.base_json(), hostile.base_bin()))]
    glb += [Seed(Path(p).name, (CORPUS / p).read_bytes()) for p in GLB_SEEDS]
    with tempfile.TemporaryDirectory() as tmp:
        glb += [Seed(Path(p).stem + ".glb", _packed(p, Path(tmp))) for p in PACKED_SEEDS]
    gltf = [Seed(Path(p).name, (CORPUS / p).read_bytes()) for p in EMBEDDED_SEEDS]
    text = [Seed(Path(p).name, (FORMATS / p).read_bytes()) for p in TEXT_SEEDS]
    binary = [Seed(Path(p).name, (FORMATS / p).read_bytes()) for p in BINARY_SEEDS]
    binary.append(Seed("tetra.stl", hostile._binary_stl(4, 4)))
    return {"glb": glb, "gltf": gltf, "text": text, "binary": binary}


SEEDS = _seeds()


@pytest.fixture(scope="module", autouse=True)
def _campaign(request: pytest.FixtureRequest) -> Iterator[None]:
    if not SEEDS:
        from conftest import skip_or_fail  # type: ignore[import-not-found]

        skip_or_fail(f"fuzz seeds are missing from {CORPUS} or {FORMATS}")
    for seeds in SEEDS.values():  # warm up imports and caches outside the per-case clock
        for seed in seeds:
            _run_case(seed.name, seed.data, time_limit=None)
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    summary = (
        f"fuzz: {CASES_RUN['count']} cases ran ({CASES_RUN['refused']} refused with an input error, "
        f"{CASES_RUN['written']} measured and written, {CASES_RUN['known']} hit a known bug); "
        f"{EXAMPLES} examples per test"
    )
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even when output is captured
            reporter.write_line(summary)


# --- running one case --------------------------------------------------------------


class CaseTimeout(BaseException):
    """A case ran past ``CASE_SECONDS`` (a BaseException, so no reader can swallow it)."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseTimeout(f"case took longer than {CASE_SECONDS} s")


class _Limits:
    """SIGALRM per case, and an address-space limit while the campaign runs."""

    def __init__(self, time_limit: float | None) -> None:
        self.time_limit = time_limit
        self.old_as: tuple[int, int] | None = None

    def __enter__(self) -> _Limits:
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            with open("/proc/self/statm") as fh:
                size = int(fh.read().split()[0]) * resource.getpagesize()
            limit = size + MEMORY_HEADROOM
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
                self.old_as = (soft, hard)
        except (OSError, ValueError):
            self.old_as = None  # no /proc or no permission: rely on the time limit
        if self.time_limit is not None:
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, self.time_limit)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.time_limit is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self.old_as is not None:
            resource.setrlimit(resource.RLIMIT_AS, self.old_as)


def _run_case(name: str, data: bytes, time_limit: float | None = CASE_SECONDS) -> None:
    """Measure and apply one mutant; fail on anything but a one-line input error.

    A failing mutant is saved to ``FAILURES`` first, so that
    ``meshpivot apply out/fuzz-failures/<hash>-<name> x.glb`` reproduces it.
    """
    try:
        _check_case(name, data, time_limit)
    except BaseException:
        FAILURES.mkdir(parents=True, exist_ok=True)
        (FAILURES / f"{hashlib.sha256(data).hexdigest()[:12]}-{name}").write_bytes(data)
        raise


def _attempt(src: Path, out: Path, time_limit: float | None) -> Exception | None:
    """Measure ``src``, then fit it into ``out``: what either raised, or ``None``."""
    try:
        with _Limits(time_limit):
            measure_file(src)
            apply_file(src, out, FitOptions())
    except Exception as exc:
        return exc
    return None


def _check_case(name: str, data: bytes, time_limit: float | None) -> None:
    with tempfile.TemporaryDirectory(prefix="meshpivot-fuzz-") as tmp:
        src = Path(tmp) / name
        src.write_bytes(data)
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        CASES_RUN["count"] += 1
        # numpy's floating-point warnings on corrupt values would reach library callers
        # (the command line silences warnings): meshpivot checks the values itself.
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always", RuntimeWarning)
            failure = _attempt(src, out_dir / ("fitted" + src.suffix), time_limit)
        numeric = [f"{w.filename}:{w.lineno}: {w.message}" for w in warned if w.category is RuntimeWarning]
        assert not numeric, numeric
        if failure is None:
            leftovers = [p.name for p in out_dir.iterdir() if p.name.startswith(".meshpivot-")]
            assert not leftovers, f"staging folders left behind: {leftovers}"
            CASES_RUN["written"] += 1
        elif not isinstance(failure, MeshPivotError):
            if not _known_bug(failure):
                raise failure
            CASES_RUN["known"] += 1
            return
        else:
            message = str(failure)
            assert isinstance(failure, InputError), f"{type(failure).__name__} is not an input error: {message}"
            assert "\n" not in message and "\r" not in message, f"message is not one line: {message!r}"
            assert message.startswith(str(src)), f"message does not name the file: {message!r}"
            assert list(out_dir.iterdir()) == [], "a failed apply left files behind"
            CASES_RUN["refused"] += 1
        assert src.read_bytes() == data, "the input changed"


def _known_bug(exc: BaseException) -> bool:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/meshpivot/" in f.filename.replace("\\", "/")]
    if not frames:
        return False
    last = frames[-1]
    return (type(exc).__name__, Path(last.filename).name, last.name) in KNOWN_BUGS


def _settings(examples: int = EXAMPLES) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples,
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


# --- mutations ------------------------------------------------------------------------

BOUNDARY_U32 = [0, 1, 2, 3, 4, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def byte_mutant(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few flips, boundary-value overwrites, insertions, deletions, or a cut."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if not buf:
            break
        op = draw(st.sampled_from(["flip", "u32", "insert", "delete", "truncate"]))
        # Headers live at the start: aim there half the time.
        limit = len(buf) - 1 if draw(st.booleans()) else min(len(buf) - 1, 96)
        pos = draw(st.integers(0, limit))
        if op == "flip":
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "u32":
            buf[pos : pos + 4] = struct.pack("<I", draw(st.sampled_from(BOUNDARY_U32)))
        elif op == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del buf[pos : pos + draw(st.integers(1, 16))]
        else:
            del buf[pos:]
    return Mutant(buf)


def _split_glb(data: bytes) -> tuple[dict[str, Any], list[tuple[int, bytes]]]:
    pos, chunks = 12, []
    while pos + 8 <= len(data):
        n, t = struct.unpack_from("<II", data, pos)
        chunks.append((t, data[pos + 8 : pos + 8 + n]))
        pos += 8 + n
    return json.loads(chunks[0][1]), chunks[1:]


def _join_glb(chunks: list[tuple[int, bytes]]) -> bytes:
    body = b""
    for t, payload in chunks:
        payload += (b" " if t == 0x4E4F534A else b"\0") * ((-len(payload)) % 4)
        body += struct.pack("<II", len(payload), t) + payload
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


@st.composite
def chunk_mutant(draw: st.DrawFn, data: bytes) -> bytes:
    """Reorder, duplicate, drop, retype or resize GLB chunks; the header stays consistent."""
    pos, chunks = 12, []
    while pos + 8 <= len(data):
        n, t = struct.unpack_from("<II", data, pos)
        chunks.append((t, data[pos + 8 : pos + 8 + n]))
        pos += 8 + n
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["permute", "duplicate", "drop", "retype", "resize", "extra"]))
        k = draw(st.integers(0, len(chunks) - 1)) if chunks else 0
        if op == "permute":
            chunks = draw(st.permutations(chunks))
        elif op == "duplicate" and chunks:
            chunks.insert(draw(st.integers(0, len(chunks))), chunks[k])
        elif op == "drop" and chunks:
            del chunks[k]
        elif op == "retype" and chunks:
            chunks[k] = (draw(st.sampled_from([0x4E4F534A, 0x004E4942, 0, 0xFFFFFFFF])), chunks[k][1])
        elif op == "resize" and chunks:
            t, payload = chunks[k]
            cut = draw(st.integers(0, len(payload)))
            chunks[k] = (t, payload[:cut] if draw(st.booleans()) else payload + b"\0" * cut)
        else:
            chunks.append((draw(st.integers(0, 2**32 - 1)), draw(st.binary(max_size=16))))
    return Mutant(_join_glb(chunks))


def _pointers(value: Any, prefix: str = "") -> Iterator[str]:
    """JSON pointers of every value inside ``value`` (not the root itself)."""
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        pointer = f"{prefix}/{key}"
        yield pointer
        if not (isinstance(child, str) and child.startswith("data:")):
            yield from _pointers(child, pointer)


HUGE = [2**31, 2**32, 2**53 + 1, 10**12, 10**30, 10**400, -1, -(2**31), 1e308, -1e-308]
glb_values = st.one_of(
    st.integers(-4, 300),
    st.sampled_from(HUGE),
    st.sampled_from([5120, 5121, 5122, 5123, 5124, 5125, 5126, 34962, 34963]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["SCALAR", "VEC2", "VEC3", "VEC4", "MAT4", "CUBICSPLINE", "../x.bin", "file:///etc/passwd"]),
    st.none(),
    st.booleans(),
    st.lists(st.integers(-2, 8), max_size=17),
    st.lists(st.floats(allow_nan=True), max_size=17),
    st.dictionaries(st.sampled_from(["POSITION", "count", "bufferView", "nodes", "mesh"]), st.integers(-1, 9),
                    max_size=3),
)  # fmt: skip


def _mutate_json(draw: st.DrawFn, doc: dict[str, Any]) -> None:
    for _ in range(draw(st.integers(1, 3))):
        pointers = list(_pointers(doc))
        if not pointers:
            return
        parent, key = hostile._walk(doc, draw(st.sampled_from(pointers)))
        op = draw(st.sampled_from(["replace", "replace", "replace", "delete", "duplicate"]))
        if op == "replace":
            parent[key] = draw(glb_values)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(int(key), parent[int(key)])


@st.composite
def json_mutant(draw: st.DrawFn, data: bytes) -> bytes:
    """A valid GLB whose JSON has had a few values replaced, deleted or duplicated."""
    doc, rest = _split_glb(data)
    _mutate_json(draw, doc)
    js = json.dumps(doc, separators=(",", ":")).encode()
    return Mutant(_join_glb([(0x4E4F534A, js), *rest]))


@st.composite
def gltf_json_mutant(draw: st.DrawFn, data: bytes) -> bytes:
    """A ``.gltf`` (data URIs only) with a few JSON values mutated."""
    doc = json.loads(data)
    _mutate_json(draw, doc)
    return Mutant(json.dumps(doc).encode())


text_numbers = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "0", "-1", "99999999999", "4294967296", "x", ""]),
    st.integers(-5, 20).map(str),
)


@st.composite
def text_mutant(draw: st.DrawFn, data: bytes) -> bytes:
    """OBJ/PLY/STL text with lines deleted, duplicated or swapped, or tokens replaced."""
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        k = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["token", "token", "delete", "duplicate", "swap", "truncate"]))
        if op == "token":
            tokens = lines[k].split(b" ")
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[j] = draw(text_numbers).encode()
            lines[k] = b" ".join(tokens)
        elif op == "delete":
            del lines[k]
        elif op == "duplicate":
            lines.insert(k, lines[k])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[k], lines[j] = lines[j], lines[k]
        else:
            lines[k] = lines[k][: draw(st.integers(0, len(lines[k])))]
    return Mutant(b"\n".join(lines))


# --- the tests ------------------------------------------------------------------------


def _seed(kind: str) -> st.SearchStrategy[Seed]:
    return st.sampled_from(SEEDS.get(kind) or [Seed("none.glb", b"")])


@_settings()
@given(data=st.data())
def test_byte_mutations_of_glb_are_refused_cleanly(data: st.DataObject) -> None:
    seed = data.draw(_seed("glb"))
    _run_case(seed.name, data.draw(byte_mutant(seed.data)))


@_settings()
@given(data=st.data())
def test_glb_chunk_mutations_are_refused_cleanly(data: st.DataObject) -> None:
    seed = data.draw(_seed("glb"))
    _run_case(seed.name, data.draw(chunk_mutant(seed.data)))


@_settings(2 * EXAMPLES)
@given(data=st.data())
def test_json_field_mutations_are_refused_cleanly(data: st.DataObject) -> None:
    seed = data.draw(_seed("glb"))
    _run_case(seed.name, data.draw(json_mutant(seed.data)))


@_settings(EXAMPLES // 4)
@given(data=st.data())
def test_embedded_gltf_mutations_are_refused_cleanly(data: st.DataObject) -> None:
    seed = data.draw(_seed("gltf"))
    mutant = data.draw(st.one_of(gltf_json_mutant(seed.data), byte_mutant(seed.data)))
    _run_case(seed.name, mutant)


@_settings()
@given(data=st.data())
def test_obj_ply_stl_mutations_are_refused_cleanly(data: st.DataObject) -> None:
    seed = data.draw(st.one_of(_seed("text"), _seed("binary")))
    mutant = data.draw(st.one_of(text_mutant(seed.data), byte_mutant(seed.data)))
    _run_case(seed.name, mutant)
