"""Crashes, concurrency, determinism and numbers (issue 6): nothing lost, nothing half-written.

* ``apply`` SIGKILLed at random moments, normal and ``--in-place``, on a large GLB:
  the output path holds nothing, the previous output or a complete fitted output;
  the input never changes; staging folders do not accumulate.
* ``verify`` over a folder of 1000 files with corrupt ones and one whose reader
  process crashes: every other file gets its verdict, the exit code says so.
* Several ``apply`` runs writing one output path at once end with one complete output.
* Same input and request give byte-identical output (GLB, .gltf + .bin, OBJ; bake and
  wrap), in this process and across processes with different hash seeds.
* Numbers: sizes from 1e-6 to 1e7 m and assets far from the origin, fitted and then
  verified with the default tolerances; random meshes via hypothesis.

Scaling (the defaults are what CI runs and what the issue asks for):

``MESHPIVOT_ROBUST_RUNS``
    SIGKILL runs (default 200; half of them ``--in-place``).
``MESHPIVOT_ROBUST_VERTICES``
    Vertices of the large GLB (default 500,000: a 28 MB file).
``MESHPIVOT_ROBUST_FILES``
    Files in the batch (default 1000).
``MESHPIVOT_ROBUST_ROUNDS``
    Rounds of concurrent ``apply`` runs (default 6).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshpivot.api import apply_file, inspect_file, measure_file, verify_file
from meshpivot.batch import CRASH_TEST_ENV
from meshpivot.errors import InputError, NonFiniteInputError
from meshpivot.options import DEFAULT_ATOL, DEFAULT_RTOL, FitOptions

RUNS = int(os.environ.get("MESHPIVOT_ROBUST_RUNS", "200"))
BIG_VERTICES = int(os.environ.get("MESHPIVOT_ROBUST_VERTICES", "500000"))
BATCH_FILES = int(os.environ.get("MESHPIVOT_ROBUST_FILES", "1000"))
ROUNDS = int(os.environ.get("MESHPIVOT_ROBUST_ROUNDS", "6"))

STAGING = ".meshpivot-"
SPEC_ARGS = ["--scaled-bbox", "1", "2", "0.5", "--pivot", "0", "-0.5", "0"]
SPEC = FitOptions(scaled_bbox=(1, 2, 0.5), pivot_point=(0, -0.5, 0))

GLB_MAGIC, JSON_CHUNK, BIN_CHUNK = 0x46546C67, 0x4E4F534A, 0x004E4942


def meshpivot_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "meshpivot", *args]


def quiet_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHPIVOT_TEST_")}
    env.update(extra)
    return env


# ------------------------------------------------------------------ writing assets


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * ((-len(data)) % 4)


def write_gltf(
    path: Path,
    positions: np.ndarray,
    triangles: np.ndarray | None = None,
    *,
    attributes: bool = True,
    nodes: list[dict[str, Any]] | None = None,
) -> Path:
    """A GLB (``.glb``) or ``.gltf`` + ``.bin`` of one mesh (float32 positions).

    ``attributes`` adds unit normals and UVs; ``nodes`` replaces the single root node
    (every node with ``"mesh": 0`` draws the mesh; the scene's roots are the nodes
    that no node lists as a child).
    """
    pos = np.ascontiguousarray(positions, dtype=np.float32).reshape(-1, 3)
    n = len(pos)
    blobs = [pos.tobytes()]
    accessors: list[dict[str, Any]] = [
        {"bufferView": 0, "componentType": 5126, "count": n, "type": "VEC3",
         "min": pos.min(0).tolist(), "max": pos.max(0).tolist()},
    ]  # fmt: skip
    prim: dict[str, Any] = {"attributes": {"POSITION": 0}}
    if attributes:
        nrm = pos.astype(np.float64) - pos.astype(np.float64).mean(0)
        length = np.linalg.norm(nrm, axis=1, keepdims=True)
        nrm = np.where(length > 0, nrm / np.where(length > 0, length, 1), [0, 1, 0]).astype(np.float32)
        uv = (np.arange(n * 2, dtype=np.float32).reshape(n, 2) % 7) / 7
        blobs += [nrm.tobytes(), uv.tobytes()]
        accessors += [
            {"bufferView": 1, "componentType": 5126, "count": n, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5126, "count": n, "type": "VEC2"},
        ]
        prim["attributes"].update(NORMAL=1, TEXCOORD_0=2)
    if triangles is not None:
        tri = np.ascontiguousarray(triangles, dtype=np.uint32).ravel()
        prim["indices"] = len(blobs)
        accessors.append({"bufferView": len(blobs), "componentType": 5125, "count": int(tri.size), "type": "SCALAR"})
        blobs.append(tri.tobytes())
    else:
        prim["mode"] = 0  # points: every vertex is drawn
    offsets = np.cumsum([0] + [len(b) for b in blobs]).tolist()
    views = []
    for k, b in enumerate(blobs):
        view = {"buffer": 0, "byteOffset": offsets[k], "byteLength": len(b)}
        view["target"] = 34963 if "indices" in prim and k == prim["indices"] else 34962
        views.append(view)
    nodes = nodes if nodes is not None else [{"mesh": 0}]
    children = {c for node in nodes for c in node.get("children", [])}
    doc: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "meshpivot tests"},
        "scene": 0,
        "scenes": [{"nodes": [i for i in range(len(nodes)) if i not in children]}],
        "nodes": nodes,
        "meshes": [{"primitives": [prim]}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": offsets[-1]}],
    }
    binary = _pad(b"".join(blobs), b"\0")
    if path.suffix == ".gltf":
        bin_path = path.with_suffix(".bin")
        doc["buffers"][0]["uri"] = bin_path.name
        bin_path.write_bytes(binary)
        path.write_text(json.dumps(doc))
        return path
    return _write_glb(path, doc, binary)


def _write_glb(path: Path, doc: dict[str, Any], binary: bytes) -> Path:
    """``doc`` and its one buffer ``binary`` as a GLB at ``path``."""
    js, binary = _pad(json.dumps(doc).encode(), b" "), _pad(binary, b"\0")
    with path.open("wb") as f:
        f.write(struct.pack("<III", GLB_MAGIC, 2, 12 + 8 + len(js) + 8 + len(binary)))
        f.write(struct.pack("<II", len(js), JSON_CHUNK) + js)
        f.write(struct.pack("<II", len(binary), BIN_CHUNK) + binary)
    return path


def write_obj(path: Path, positions: np.ndarray, triangles: np.ndarray | None = None) -> Path:
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    lines = [f"v {x!r} {y!r} {z!r}" for x, y, z in pos.tolist()]
    if triangles is not None:
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(triangles).reshape(-1, 3).tolist()]
    else:
        lines += ["p " + " ".join(str(i + 1) for i in range(len(pos)))]
    path.write_text("\n".join(lines) + "\n")
    return path


def grid_mesh(
    side: int, size: Sequence[float] = (3, 1, 2), offset: Sequence[float] = (10, 5, -7), dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """A wavy ``side`` x ``side`` grid surface: positions (``dtype``) and triangles (uint32)."""
    u, v = np.meshgrid(np.linspace(0, 1, side, dtype=dtype), np.linspace(0, 1, side, dtype=dtype))
    u, v = u.ravel(), v.ravel()
    pos = np.stack([u * size[0], (np.sin(u * 6) * v * 0.5 + 0.5) * size[1], v * size[2]], 1)
    pos = (pos + np.asarray(offset, dtype=dtype)).astype(dtype)
    i = np.arange(side - 1)
    a = (i[:, None] * side + i[None, :]).ravel()
    tri = np.concatenate([np.stack([a, a + side, a + 1], 1), np.stack([a + 1, a + side, a + side + 1], 1)])
    return pos, tri.astype(np.uint32)


def box_corners(lo: Sequence[float], hi: Sequence[float]) -> np.ndarray:
    return np.array([(x, y, z) for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])


BOX_FACES = np.array([
    (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
    (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
])  # fmt: skip


# ------------------------------------------------------------------ checking outputs


def glb_complete(path: Path) -> str | None:
    """None when ``path`` is a structurally complete GLB, else what is wrong."""
    data = path.read_bytes()
    if len(data) < 20:
        return f"{len(data)} bytes"
    magic, version, length = struct.unpack_from("<III", data)
    if (magic, version) != (GLB_MAGIC, 2):
        return f"header {magic:#x} version {version}"
    if length != len(data):
        return f"header length {length} != file size {len(data)}"
    at, kinds = 12, []
    while at < length:
        if at + 8 > length:
            return f"chunk header cut at {at}"
        size, kind = struct.unpack_from("<II", data, at)
        at += 8 + size
        kinds.append(kind)
    if at != length or not kinds or kinds[0] != JSON_CHUNK:
        return f"chunks {kinds} end at {at} of {length}"
    json.loads(data[20 : 20 + struct.unpack_from("<I", data, 12)[0]])
    return None


def file_key(path: Path) -> tuple[int, int, int, int] | None:
    """Identity and last change of a file (ctime moves on any write, whatever the tool)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def staging_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(STAGING))


def assert_fitted(path: Path, options: FitOptions = SPEC) -> None:
    """``path`` is a complete GLB that verifies against ``options`` (default tolerances)."""
    if path.suffix == ".glb":
        problem = glb_complete(path)
        assert problem is None, f"{path}: not a complete GLB: {problem}"
    result = verify_file(path, options)
    assert result.passed, f"{path}: " + "; ".join(c.describe() for c in result.failures)


# ============================================================ 1. SIGKILL during apply


@pytest.fixture(scope="module")
def big_glb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A large GLB (positions, normals, UVs, uint32 indices), built once."""
    side = max(2, int(BIG_VERTICES**0.5))
    pos, tri = grid_mesh(side)
    path = tmp_path_factory.mktemp("big") / "big.glb"
    return write_gltf(path, pos, tri)


def _calibrate(lanes: list[_Lane], rounds: int = 3) -> tuple[float, float]:
    """Complete runs, one per lane at once as in the loop, ``rounds`` times: (seconds until
    a staging folder appears, seconds until the slower run ends), the least of each.

    The least, not one sample: a round slowed by the machine (the whole suite running, a
    noisy neighbour) made the kill moments, drawn up to 1.1 times this, land after most
    runs had ended (91 kills of 200 in one CI run, where the test wants at least half).
    """
    found = [_calibrate_once(lanes) for _ in range(rounds)]
    return min(f[0] for f in found), min(f[1] for f in found)


def _calibrate_once(lanes: list[_Lane]) -> tuple[float, float]:
    start = time.monotonic()
    procs = [subprocess.Popen(lane.command(k % 2 == 1), env=quiet_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for k, lane in enumerate(lanes)]  # fmt: skip
    staged = None
    while any(p.poll() is None for p in procs):
        if staged is None and any(staging_folders(lane.folder) for lane in lanes):
            staged = time.monotonic() - start
        time.sleep(0.001)
    total = time.monotonic() - start
    for proc in procs:
        _, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
    for lane in lanes:
        lane.out.unlink(missing_ok=True)
        lane.restore()
        lane.out_key = None
    return (staged if staged is not None else total / 2), total


class _Lane:
    """One output folder: ``out.glb`` written from the big input, ``inplace.glb`` replaced in place."""

    def __init__(self, folder: Path, big: Path, samples: Path) -> None:
        self.folder, self.big, self.samples = folder, big, samples
        folder.mkdir()
        self.out, self.inplace = folder / "out.glb", folder / "inplace.glb"
        self.restore()
        self.out_key = file_key(self.out)
        self.max_leftovers = 0
        self.outcomes = {"killed": 0, "killed_while_staged": 0, "completed": 0, "new_output": 0, "replaced_in_place": 0}
        self.seen_staging: set[str] = set()
        self.kept: list[Path] = []

    def restore(self) -> None:
        shutil.copyfile(self.big, self.inplace)
        self.inplace_key = file_key(self.inplace)

    def command(self, in_place: bool) -> list[str]:
        if in_place:
            return meshpivot_cmd("apply", str(self.inplace), str(self.inplace), "--in-place", "--quiet", *SPEC_ARGS)
        return meshpivot_cmd("apply", str(self.big), str(self.out), "--quiet", *SPEC_ARGS)

    def keep(self, path: Path, label: str) -> None:
        """Hard-link a complete output aside for the validator (os.replace never rewrites its inode)."""
        if len(self.kept) < 2:
            link = self.samples / f"{self.folder.name}-{label}.glb"
            os.link(path, link)
            self.kept.append(link)

    def check(self, run: int, in_place: bool, returncode: int, stderr: bytes) -> None:
        where = f"run {run} ({'--in-place' if in_place else 'normal'}) in {self.folder.name}"
        assert returncode in (0, -signal.SIGKILL), f"{where}: exit {returncode}: {stderr.decode()}"
        self.outcomes["completed" if returncode == 0 else "killed"] += 1
        names = {p.name for p in self.folder.iterdir()}
        leftovers = {n for n in names if n.startswith(STAGING)}
        stray = names - leftovers - {"out.glb", "inplace.glb"}
        assert not stray, f"{where}: stray files at the output folder: {sorted(stray)}"
        self.max_leftovers = max(self.max_leftovers, len(leftovers))
        self.outcomes["killed_while_staged"] += bool(leftovers - self.seen_staging)
        self.seen_staging |= leftovers
        # Normal run: nothing, the previous complete output, or a new complete output.
        key = file_key(self.out)
        assert not (self.out_key is not None and key is None), f"{where}: the previous output vanished"
        if key != self.out_key:
            assert_fitted(self.out)
            self.outcomes["new_output"] += 1
            self.keep(self.out, f"out{run}")
            self.out_key = key
        # In place: the original bytes (never written to) or a complete fitted output.
        key = file_key(self.inplace)
        assert key is not None, f"{where}: the in-place file vanished"
        if key != self.inplace_key:
            assert key[0] != self.inplace_key[0], f"{where}: the in-place file was written to, not replaced"
            assert_fitted(self.inplace)
            self.outcomes["replaced_in_place"] += 1
            self.keep(self.inplace, f"inplace{run}")
            self.restore()
        if returncode == 0:
            assert not leftovers, f"{where}: a complete run left {sorted(leftovers)}"


def test_sigkill_during_apply_leaves_no_partial_output(big_glb: Path, tmp_path: Path, validator: Any) -> None:
    """RUNS apply runs SIGKILLed at random moments, two at a time in two folders, each
    alternating between a normal run and ``--in-place`` on a copy of the input."""
    input_hash, input_key = sha256(big_glb), file_key(big_glb)
    samples = tmp_path / "samples"
    samples.mkdir()
    lanes = [_Lane(tmp_path / f"lane{k}", big_glb, samples) for k in range(2)]
    t_staged, t_total = _calibrate(lanes)
    rng = random.Random(20260601)
    started = time.monotonic()
    for step in range((RUNS + 1) // 2):
        procs, delays = [], []
        for k, lane in enumerate(lanes):
            in_place = (step + k) % 2 == 1
            # Half the moments anywhere in the run (import included), half from when it stages
            # output: that is where a kill can hurt. A few land after the end (complete runs).
            lo = 0.0 if rng.random() < 0.5 else 0.8 * t_staged
            delays.append(rng.uniform(lo, 1.1 * t_total))
            cmd = lane.command(in_place)
            procs.append((lane, in_place, subprocess.Popen(cmd, env=quiet_env(), stdout=subprocess.DEVNULL,
                                                           stderr=subprocess.PIPE)))  # fmt: skip
        t0 = time.monotonic()
        for (_, _, proc), delay in sorted(zip(procs, delays, strict=True), key=lambda x: x[1]):
            time.sleep(max(0.0, t0 + delay - time.monotonic()))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for k, (lane, in_place, proc) in enumerate(procs):
            _, err = proc.communicate()
            lane.check(2 * step + k, in_place, proc.returncode, err)
        assert file_key(big_glb) == input_key, f"step {step}: the input changed"
    loop_seconds = time.monotonic() - started
    assert sha256(big_glb) == input_hash
    leftovers_after_loop = [len(staging_folders(lane.folder)) for lane in lanes]
    # One more complete run per folder sweeps what the killed runs left.
    for lane in lanes:
        subprocess.run(lane.command(False), env=quiet_env(), check=True, capture_output=True)
        assert_fitted(lane.out)
    leftovers_final = [staging_folders(lane.folder) for lane in lanes]
    outcomes = {k: sum(lane.outcomes[k] for lane in lanes) for k in lanes[0].outcomes}
    print(
        f"\nSIGKILL: {outcomes['killed'] + outcomes['completed']} runs "
        f"of a {big_glb.stat().st_size / 1e6:.0f} MB GLB in {loop_seconds:.1f} s "
        f"(two runs at once {t_total:.2f} s, staging after {t_staged:.2f} s); {outcomes}; staging folders: "
        f"at most {max(lane.max_leftovers for lane in lanes)} per folder during the loop, "
        f"{leftovers_after_loop} after it, {[len(x) for x in leftovers_final]} after one clean run"
    )
    assert outcomes["killed"] >= RUNS // 2, outcomes
    assert outcomes["completed"] + outcomes["killed"] == 2 * ((RUNS + 1) // 2)
    assert max(lane.max_leftovers for lane in lanes) <= 1, "staging folders accumulate"
    assert leftovers_final == [[], []]
    # The validator on a few complete outputs: no issue the input did not have.
    kept = [p for lane in lanes for p in lane.kept][:4]
    assert kept, f"no run completed: {outcomes}"
    reports = validator.validate([big_glb, *kept])
    for p in kept:
        assert not validator.new_issue_codes(reports[big_glb], reports[p]), (p, reports[p])


def test_a_stale_staging_folder_is_swept_and_a_live_one_kept(tmp_path: Path) -> None:
    """A killed run cannot remove its staging folder; the next apply in that folder does,
    unless a live run holds it (its lock), and it never touches anything else."""
    fcntl = pytest.importorskip("fcntl")
    src = write_gltf(tmp_path / "in.glb", box_corners((0, 0, 0), (1, 1, 1)), BOX_FACES)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    stale = out_dir / ".meshpivot-staging-k1ll3d_x"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "half.glb").write_bytes(b"glTF")
    live = out_dir / ".meshpivot-staging-l1ve0000"
    live.mkdir()
    (live / "x.glb").write_bytes(b"glTF")
    not_ours = {
        ".meshpivot-settings": "folder",  # not a staging name
        ".meshpivot-staging-notafold": "file",
        ".meshpivot-staging-symlink1": "link",
    }
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    for name, kind in not_ours.items():
        if kind == "folder":
            (out_dir / name).mkdir()
            (out_dir / name / "keep.txt").write_text("keep")
        elif kind == "file":
            (out_dir / name).write_text("keep")
        else:
            (out_dir / name).symlink_to(elsewhere, target_is_directory=True)
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running apply holds its own
        apply_file(src, out_dir / "fit.glb", SPEC)
        assert (live / "x.glb").is_file()
    finally:
        os.close(fd)
    assert not stale.exists()
    apply_file(src, out_dir / "fit.glb", SPEC)  # the lock is gone: now it is stale
    assert not live.exists()
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([*not_ours, "fit.glb"])
    assert (out_dir / ".meshpivot-settings" / "keep.txt").is_file()
    assert (out_dir / ".meshpivot-staging-notafold").read_text() == "keep"
    assert (elsewhere / "keep.txt").read_text() == "keep"


# ========================================================= 2. a batch of 1000 files


def _small_glb(path: Path, lo: Sequence[float], hi: Sequence[float]) -> Path:
    return write_gltf(path, box_corners(lo, hi), BOX_FACES, attributes=False)


def _small_obj(path: Path, lo: Sequence[float], hi: Sequence[float]) -> Path:
    return write_obj(path, box_corners(lo, hi), BOX_FACES)


CORRUPT: dict[str, bytes] = {
    "bad_magic.glb": b"glTX" + struct.pack("<II", 2, 28) + b"\0" * 16,
    "truncated.glb": b"glTF" + struct.pack("<II", 2, 4000) + b"\0" * 20,
    "not_json.gltf": b"{ this is not json",
    "face_past_end.obj": b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n",
    "empty.obj": b"",
}


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """BATCH_FILES files: boxes that pass, corrupt files and one whose reader crashes."""
    folder = tmp_path_factory.mktemp("batch")
    expected: dict[str, str] = {}
    good_lo, good_hi = (-0.5, 0.0, -0.25), (0.5, 2.0, 0.25)
    n_good = BATCH_FILES - len(CORRUPT) - 1
    for i in range(n_good):
        writer, ext = (_small_glb, "glb") if i % 2 else (_small_obj, "obj")
        name = f"ok_{i:04d}.{ext}"
        writer(folder / name, good_lo, good_hi)
        expected[name] = "passed"
    for name, data in CORRUPT.items():
        (folder / name).write_bytes(data)
        expected[name] = "unreadable"
    _small_glb(folder / "ok_crashme.glb", good_lo, good_hi)
    expected["ok_crashme.glb"] = "crashed"
    return folder, expected


def _run_batch(folder: Path) -> tuple[int, list[dict[str, Any]], str, float]:
    start = time.monotonic()
    proc = subprocess.run(
        meshpivot_cmd("verify", str(folder), "--jobs", "2", "--json", *SPEC_ARGS),
        env=quiet_env(**{CRASH_TEST_ENV: "crashme"}), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.monotonic() - start
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, records, proc.stderr, seconds


def _check_records(records: list[dict[str, Any]], expected: dict[str, str]) -> None:
    assert sorted(Path(r["path"]).name for r in records) == sorted(expected)
    for r in records:
        want = expected[Path(r["path"]).name]
        if want == "crashed":
            assert r["status"] == "unreadable", r
            assert r["error"].startswith("reader crashed: signal"), r
        else:
            assert r["status"] == want, r
        if r["status"] == "unreadable":
            assert r["error"] and "\n" not in r["error"] and "Traceback" not in r["error"], r
            assert r["error"] == " ".join(r["error"].split()), r
        else:
            assert r["error"] is None and r["measured"] is not None, r


def test_batch_of_1000_with_corrupt_and_crashing_files(batch_dir: tuple[Path, dict[str, str]]) -> None:
    folder, expected = batch_dir
    code, records, stderr, seconds = _run_batch(folder)
    _check_records(records, expected)
    assert code == 3, stderr  # unreadable files and none failed
    assert "Traceback" not in stderr
    counts = {s: sum(r["status"] == s for r in records) for s in ("passed", "failed", "unreadable")}
    print(f"\nbatch: {len(records)} files with --jobs 2 in {seconds:.1f} s: {counts}")
    # Add files that fail their checks: the exit code becomes 1.
    lo, hi = (-0.5, 0.0, -0.25), (0.5, 2.0, 0.25)
    _small_obj(folder / "fail_size.obj", lo, (0.5, 2.01, 0.25))
    _small_glb(folder / "fail_pivot.glb", (lo[0] + 0.1, 0.0, lo[2]), (hi[0] + 0.1, 2.0, hi[2]))
    try:
        code, records, stderr, seconds = _run_batch(folder)
    finally:
        (folder / "fail_size.obj").unlink()
        (folder / "fail_pivot.glb").unlink()
    _check_records(records, {**expected, "fail_size.obj": "failed", "fail_pivot.glb": "failed"})
    assert code == 1, stderr
    print(f"batch with 2 failing files: {len(records)} files in {seconds:.1f} s, exit {code}")


# ================================================ 3. concurrent runs on one output


def _concurrent(cmds: list[list[str]]) -> list[subprocess.CompletedProcess[bytes]]:
    procs = [subprocess.Popen(c, env=quiet_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    results = []
    for c, p in zip(cmds, procs, strict=True):
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(c, p.returncode, out, err))
    return results


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_concurrent_applies_to_one_output_end_with_one_complete_output(tmp_path: Path, suffix: str) -> None:
    """Runs with different requests write one path at once, in rounds: every run exits 0
    (the last rename wins) and the output is one run's complete, verifying output."""
    pos, tri = grid_mesh(300)  # 90,000 vertices: long enough for the runs to overlap
    src = write_gltf(tmp_path / f"in{suffix}", pos, tri)
    out = tmp_path / "out" / f"fit{suffix}"
    out.parent.mkdir()
    requests = [
        (["--scaled-bbox", "1", "2", "0.5", "--pivot", "0", "-0.5", "0"], SPEC),
        (["--scaled-bbox", "3", "1", "2", "--pivot", "0.5", "0.5", "-0.5"],
         FitOptions(scaled_bbox=(3, 1, 2), pivot_point=(0.5, 0.5, -0.5))),
        (["--scaled-bbox", "2", "-1", "-1", "--pivot", "0", "0", "0", "--mode", "wrap"],
         FitOptions(scaled_bbox=(2, -1, -1))),
    ]  # fmt: skip
    winners = set()
    for _ in range(ROUNDS):
        cmds = [meshpivot_cmd("apply", str(src), str(out), "--quiet", *args) for args, _ in requests]
        for r in _concurrent(cmds):
            assert r.returncode == 0, r.stderr.decode()
        passing = [k for k, (_, options) in enumerate(requests) if verify_file(out, options).passed]
        assert len(passing) == 1, f"the output verifies against requests {passing}"
        winners.add(passing[0])
        if suffix == ".glb":
            assert glb_complete(out) is None
        else:  # the .gltf and its .bin are from the same run: byteLength and min/max agree
            doc = json.loads(out.read_text())
            assert doc["buffers"][0]["byteLength"] == (out.parent / doc["buffers"][0]["uri"]).stat().st_size
            stored = measure_file(out)
            assert stored is not None
        assert staging_folders(out.parent) == []
    print(f"\nconcurrent {suffix}: {ROUNDS} rounds of {len(requests)} runs; winning requests {sorted(winners)}")


def test_many_concurrent_runs_in_one_folder_keep_each_others_staging(tmp_path: Path) -> None:
    """Each run sweeps stale staging folders when it starts: it must never take a live run's."""
    pos, tri = grid_mesh(200)
    src = write_gltf(tmp_path / "in.glb", pos, tri)
    cmds = [meshpivot_cmd("apply", str(src), str(tmp_path / f"out{k}.glb"), "--quiet", *SPEC_ARGS) for k in range(6)]
    for _ in range(max(1, ROUNDS // 2)):
        for r in _concurrent(cmds):
            assert r.returncode == 0, r.stderr.decode()
        for k in range(len(cmds)):
            assert_fitted(tmp_path / f"out{k}.glb")
        assert staging_folders(tmp_path) == []


def test_interleaved_publishing_never_mixes_a_gltf_with_another_runs_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs A and B publish out.gltf and its .bin at once; A is slow between its renames.
    Without a lock the output was A's .gltf beside B's .bin (min/max of one request,
    geometry of the other). Now runs take turns: one run's complete pair."""
    import threading

    pos, tri = grid_mesh(20)
    src = write_gltf(tmp_path / "in.gltf", pos, tri)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "fit.gltf"
    requests = [
        FitOptions(scaled_bbox=(1, 2, 0.5), pivot_point=(0, -0.5, 0), mode="bake"),
        FitOptions(scaled_bbox=(3, 1, 2), pivot_point=(0.5, 0.5, -0.5), mode="bake"),
    ]
    real_replace = os.replace

    def slow_for_a(a: Any, b: Any) -> None:
        real_replace(a, b)
        if threading.current_thread().name == "A":
            time.sleep(0.3)

    monkeypatch.setattr(os, "replace", slow_for_a)
    errors: list[BaseException] = []

    def run(options: FitOptions, delay: float) -> None:
        time.sleep(delay)
        try:
            apply_file(src, out, options)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(requests[0], 0.0), name="A"),
               threading.Thread(target=run, args=(requests[1], 0.1), name="B")]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.undo()
    assert not errors, errors
    passing = [k for k, options in enumerate(requests) if verify_file(out, options).passed]
    assert len(passing) == 1
    doc = json.loads(out.read_text())
    lo, hi = (-0.5, 0.0, -0.25), (0.5, 2.0, 0.25)
    if passing == [1]:
        lo, hi = (-3.0, -1.0, 0.0), (0.0, 0.0, 2.0)
    assert np.allclose(doc["accessors"][0]["min"], lo) and np.allclose(doc["accessors"][0]["max"], hi), doc


def test_apply_beside_a_gltf_input_leaves_the_input_unchanged(tmp_path: Path) -> None:
    """``apply in.gltf fit.gltf`` in the input's folder: the fitted buffer once took the
    input's buffer name and overwrote it; it is now named after the output (``fit.bin``)."""
    pos, tri = grid_mesh(20)
    src = write_gltf(tmp_path / "in.gltf", pos, tri)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    apply_file(src, tmp_path / "fit.gltf", FitOptions(scaled_bbox=(1, 2, 0.5), mode="bake"))
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert verify_file(tmp_path / "fit.gltf", FitOptions(scaled_bbox=(1, 2, 0.5))).passed


def test_an_output_named_like_an_input_buffer_takes_another_name(tmp_path: Path) -> None:
    """``in.gltf`` refers to ``mesh.bin``; the output ``mesh.gltf`` would name its new buffer
    ``mesh.bin`` beside the input: it takes ``mesh_1.bin`` and the input stays unchanged."""
    pos, tri = grid_mesh(20)
    src = write_gltf(tmp_path / "in.gltf", pos, tri)
    data = json.loads(src.read_text())
    (tmp_path / data["buffers"][0]["uri"]).rename(tmp_path / "mesh.bin")
    data["buffers"][0]["uri"] = "mesh.bin"
    src.write_text(json.dumps(data))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    out = tmp_path / "mesh.gltf"
    opts = FitOptions(scaled_bbox=(1, 2, 0.5), mode="bake")
    result = apply_file(src, out, opts)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert json.loads(out.read_text())["buffers"][0]["uri"] == "mesh_1.bin"
    assert result.files == [str(out), str(tmp_path / "mesh_1.bin")]
    assert verify_file(out, opts).passed


# ==================================================================== 4. determinism


def _scene(tmp_path: Path, suffix: str) -> Path:
    """A mesh drawn twice under a static rotation, a scale and a translation."""
    pos, tri = grid_mesh(40, size=(1.3, 0.7, 2.1), offset=(0.2, -0.1, 3.0))
    nodes = [
        {"name": "root", "translation": [1, 2, 3], "children": [1, 2], "extras": {"keep": []}},
        {"name": "a", "mesh": 0, "rotation": [0, 0.3826834, 0, 0.9238795], "scale": [1, 2, 1]},
        {"name": "b", "mesh": 0, "translation": [-4, 0, 0.5]},
    ]
    return write_gltf(tmp_path / f"scene{suffix}", pos, tri, nodes=nodes)


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


DETERMINISM = [(".glb", "bake"), (".glb", "wrap"), (".gltf", "bake"), (".gltf", "wrap"), (".obj", "bake")]


@pytest.mark.parametrize(("suffix", "mode"), DETERMINISM)
def test_same_input_and_request_give_identical_bytes(tmp_path: Path, suffix: str, mode: str) -> None:
    """Three runs in this process and three CLI runs with different PYTHONHASHSEED: the
    same bytes in every file written (OBJ has no scene graph to wrap)."""
    if suffix == ".obj":
        pos, tri = grid_mesh(40)
        src = write_obj(tmp_path / "scene.obj", pos, tri)
    else:
        src = _scene(tmp_path, suffix)
    args = ["--scaled-bbox", "1", "2", "0.5", "--pivot", "0", "-0.5", "0", "--mode", mode]
    options = FitOptions(scaled_bbox=(1, 2, 0.5), pivot_point=(0, -0.5, 0), mode=mode)  # type: ignore[arg-type]
    seen: list[dict[str, bytes]] = []
    for k in range(3):  # in this process
        folder = tmp_path / f"api{k}"
        folder.mkdir()
        apply_file(src, folder / f"fit{suffix}", options)
        seen.append(_outputs(folder))
    for seed in ("0", "1", "12345"):  # separate processes, different hash seeds
        folder = tmp_path / f"cli{seed}"
        folder.mkdir()
        subprocess.run(meshpivot_cmd("apply", str(src), str(folder / f"fit{suffix}"), "--quiet", *args),
                       env=quiet_env(PYTHONHASHSEED=seed), check=True, capture_output=True)  # fmt: skip
        seen.append(_outputs(folder))
    assert seen[0] and all(s == seen[0] for s in seen[1:]), [sorted(s) for s in seen]
    assert_fitted(tmp_path / "api0" / f"fit{suffix}", options)


# ======================================================================== 5. numbers


def _fit_and_verify(src: Path, out: Path, options: FitOptions) -> tuple[Any, Any]:
    result = apply_file(src, out, options)
    check = verify_file(out, options)
    return result, check


def _worst(check: Any) -> float:
    """The largest |measured - expected| / tolerance over the checks (1 = at the limit)."""
    worst = 0.0
    for c in check.checks:
        dev = max(0.0, c.measured - c.expected) if c.relation == "<=" else abs(c.measured - c.expected)
        worst = max(worst, dev / c.tolerance)
    return worst


SIZES = [1e-6, 1e-3, 1.0, 1e3, 1e7]


@pytest.mark.parametrize("fmt", ["glb-bake", "glb-wrap", "obj"])
@pytest.mark.parametrize("size_in", SIZES)
@pytest.mark.parametrize("size_out", SIZES)
def test_sizes_from_a_micrometre_to_10000_km(tmp_path: Path, fmt: str, size_in: float, size_out: float) -> None:
    """Input and target sizes across 13 decades, at the origin: every output verifies
    with the default tolerances, and a bottom pivot puts the lowest vertex on y = 0."""
    pos, tri = grid_mesh(12, size=(size_in, size_in * 0.5, size_in * 2), offset=(-size_in / 3, size_in / 7, 0))
    ext, mode = (".obj", "auto") if fmt == "obj" else (".glb", fmt.split("-")[1])
    src = (write_obj if ext == ".obj" else write_gltf)(tmp_path / f"in{ext}", pos, tri)
    for target, pivot, par in [
        ((size_out, size_out * 2, size_out / 2), (0.0, -0.5, 0.0), False),
        ((size_out, -1.0, -1.0), (0.5, -0.5, -0.5), False),
        ((size_out, size_out, size_out), (-0.5, -0.5, 0.25), True),
    ]:
        options = FitOptions(scaled_bbox=target, pivot_point=pivot, preserve_aspect_ratio=par, mode=mode)  # type: ignore[arg-type]
        result, check = _fit_and_verify(src, tmp_path / f"out{ext}", options)
        assert check.passed, f"{result.mode}: " + "; ".join(c.describe() for c in check.failures)
        if result.mode == "bake":
            assert check.measurement.lo[1] == 0.0, "SPEC 4: a bottom pivot puts the lowest vertex on y = 0 exactly"


def _offset_case(tmp_path: Path, fmt: str, size: float, offset: float) -> tuple[Any, Any]:
    dtype = np.float64 if fmt == "obj" else np.float32  # OBJ is text: read and written in float64
    pos, tri = grid_mesh(12, size=(size, size * 0.5, size * 2), offset=(offset, -offset / 2, offset / 3), dtype=dtype)
    ext, mode = (".obj", "auto") if fmt == "obj" else (".glb", fmt.split("-")[1])
    src = (write_obj if ext == ".obj" else write_gltf)(tmp_path / f"in{ext}", pos, tri)
    options = FitOptions(scaled_bbox=(1, 2, 0.5), pivot_point=(0, -0.5, 0), mode=mode)  # type: ignore[arg-type]
    return _fit_and_verify(src, tmp_path / f"out{ext}", options)


# Far from the origin. In float32 a coordinate near 1e6 m has a spacing of 0.0625 m (1 m
# near 1e7 m), so the smallest asset that keeps a shape there is about 1 m: in GLB, sizes
# 1..1e3 m at offsets up to 1e6 m and 1e3..1e6 m at 1e7 m. A 1 mm asset at 1e6 m is flat
# in float32 (and refused as such). OBJ is text, read in float64: 1e-6 m at 1e6 m works.
FAR = [(1.0, 1e4), (1.0, 1e5), (1.0, 1e6), (10.0, 1e6), (1e3, 1e6), (1e3, 1e7), (1e5, 1e7), (1e6, 1e7)]
FAR_OBJ = [(1e-6, 1e6), (1e-3, 1e6), (1e-3, 1e7)]
FAR_CASES = [(f, s, o) for f in ("glb-bake", "glb-wrap", "obj") for s, o in FAR] + [("obj", s, o) for s, o in FAR_OBJ]


@pytest.mark.parametrize(("fmt", "size", "offset"), FAR_CASES, ids=[f"{f}-{s:g}m-at-{o:g}m" for f, s, o in FAR_CASES])
def test_assets_far_from_the_origin(tmp_path: Path, fmt: str, size: float, offset: float) -> None:
    """Fitted and moved to the origin (the pivot is in the box), they verify with the
    default tolerances; the bottom pivot is exact."""
    result, check = _offset_case(tmp_path, fmt, size, offset)
    assert check.passed, f"{result.mode}: worst {_worst(check):.3g} x tol: " + "; ".join(
        c.describe() for c in check.failures
    )
    if result.mode == "bake":
        assert check.measurement.lo[1] == 0.0


def test_a_millimetre_at_a_thousand_km_is_flat_in_float32(tmp_path: Path) -> None:
    """The documented limit: float32 cannot hold it, so it is refused, not mis-fitted."""
    with pytest.raises(InputError, match="flat"):
        _offset_case(tmp_path, "glb-bake", 1e-3, 1e6)


def test_atol_dominates_below_a_tenth_of_a_millimetre(tmp_path: Path) -> None:
    """The documented limit of the default tolerance: atol = 1e-6 m is the whole size of a
    1e-6 m target, so verify cannot tell such an asset from one 90 % too big; --atol 0
    (rtol alone) can, and still accepts every output apply writes at that size."""
    t = 1e-6
    wrong = write_obj(
        tmp_path / "wrong.obj", box_corners((-0.95 * t, 0, -0.95 * t), (0.95 * t, 1.9 * t, 0.95 * t)), BOX_FACES
    )
    options = FitOptions(scaled_bbox=(t, 2 * t, 2 * t), pivot_point=(0, -0.5, 0))
    assert verify_file(wrong, options).passed
    strict = FitOptions(scaled_bbox=(t, 2 * t, 2 * t), pivot_point=(0, -0.5, 0), atol=0.0)
    assert not verify_file(wrong, strict).passed
    pos, tri = grid_mesh(12)
    for ext in (".glb", ".obj"):
        src = (write_obj if ext == ".obj" else write_gltf)(tmp_path / f"in{ext}", pos, tri)
        _, check = _fit_and_verify(src, tmp_path / f"out{ext}", strict)
        assert check.passed, "; ".join(c.describe() for c in check.failures)


finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


@st.composite
def meshes_and_requests(draw: st.DrawFn) -> tuple[np.ndarray, FitOptions, str]:
    n = draw(st.integers(2, 40))
    unit = np.array(draw(st.lists(st.tuples(finite, finite, finite), min_size=n, max_size=n)), dtype=np.float64)
    scale = 10.0 ** draw(st.integers(-5, 6))
    offset = np.array(draw(st.tuples(finite, finite, finite))) * 10.0 ** draw(st.integers(-6, 5))
    pos = (unit * scale + offset).astype(np.float32)
    axis = st.one_of(st.just(-1.0), st.sampled_from([1e-6, 1e-3, 0.5, 1.0, 2.0, 1e3, 1e6]))
    bbox = draw(st.tuples(axis, axis, axis))
    pivot = draw(st.tuples(*[st.sampled_from([-0.5, -0.25, 0.0, 0.3, 0.5])] * 3))
    par = draw(st.booleans())
    fmt = draw(st.sampled_from(["glb-bake", "glb-wrap", "obj"]))
    mode = "auto" if fmt == "obj" else fmt.split("-")[1]
    return pos, FitOptions(scaled_bbox=bbox, pivot_point=pivot, preserve_aspect_ratio=par, mode=mode), fmt  # type: ignore[arg-type]


@settings(max_examples=int(os.environ.get("MESHPIVOT_ROBUST_EXAMPLES", "150")), deadline=None,
          derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=meshes_and_requests())
def test_random_meshes_verify_with_default_tolerances(tmp_path: Path, case: tuple[np.ndarray, FitOptions, str]) -> None:
    pos, options, fmt = case
    ext = ".obj" if fmt == "obj" else ".glb"
    src = (write_obj if ext == ".obj" else write_gltf)(tmp_path / f"in{ext}", pos, None)
    out = tmp_path / f"out{ext}"
    ext_in = pos.astype(np.float64).max(0) - pos.astype(np.float64).min(0)
    flat = [i for i in range(3) if ext_in[i] == 0]
    try:
        result = apply_file(src, out, options)
    except InputError as exc:
        # Only a flat axis with a target may refuse (SPEC 3), or a box that is empty.
        targeted = set(options.target_axes)
        assert flat and (targeted & set(flat)), f"unexpected refusal: {exc}"
        return
    check = verify_file(out, options)
    assert check.passed, f"{result.mode}: " + "; ".join(c.describe() for c in check.failures)
    if result.mode == "bake" and options.pivot_point[1] == -0.5:
        assert check.measurement.lo[1] == 0.0


def test_default_tolerances_are_documented_values() -> None:
    """The README quotes these; change both together."""
    assert (DEFAULT_RTOL, DEFAULT_ATOL) == (1e-5, 1e-6)


# --------------------------------------------------------------------------- corrupt floats

#: A signalling NaN as float32. Widening or scaling it raises the CPU's "invalid" flag, on
#: which numpy warns ("invalid value encountered in cast"), unlike a quiet NaN.
SIGNALLING_NAN = struct.pack("<I", 0x7F800001)


def _glb_with_a_signalling_nan(path: Path, where: str) -> Path:
    """A tetrahedron's GLB with one float replaced by a signalling NaN: in a drawn vertex
    (``position``), in a fifth vertex that no index uses (``unused``), or in the translation
    of its one EXT_mesh_gpu_instancing instance (``instance``)."""
    corners = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
    positions = b"".join(struct.pack("<3f", *c) for c in corners)
    if where == "position":
        positions = positions[:4] + SIGNALLING_NAN + positions[8:]
    if where == "unused":
        positions += struct.pack("<f", 0.0) + SIGNALLING_NAN + struct.pack("<f", 0.0)
    indices = struct.pack("<12I", 0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3)
    blobs = [positions, indices]
    node: dict[str, Any] = {"mesh": 0}
    accessors: list[dict[str, Any]] = [
        {"bufferView": 0, "componentType": 5126, "count": len(positions) // 12, "type": "VEC3"},
        {"bufferView": 1, "componentType": 5125, "count": 12, "type": "SCALAR"},
    ]
    doc: dict[str, Any] = {"asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [node]}
    if where == "instance":
        blobs.append(struct.pack("<f", 5.0) + SIGNALLING_NAN + struct.pack("<f", 0.0))
        accessors.append({"bufferView": 2, "componentType": 5126, "count": 1, "type": "VEC3"})
        node["extensions"] = {"EXT_mesh_gpu_instancing": {"attributes": {"TRANSLATION": 2}}}
        doc["extensionsUsed"] = ["EXT_mesh_gpu_instancing"]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).tolist()
    doc["meshes"] = [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}]
    doc["accessors"] = accessors
    doc["bufferViews"] = [{"buffer": 0, "byteOffset": offsets[k], "byteLength": len(b)} for k, b in enumerate(blobs)]
    doc["buffers"] = [{"byteLength": offsets[-1]}]
    return _write_glb(path, doc, b"".join(blobs))


@pytest.mark.parametrize(
    ("where", "error"),
    [
        ("position", r"/meshes/0/primitives/0 \(node 0\): a vertex coordinate is NaN or infinite"),
        ("instance", r"/nodes/0/extensions/EXT_mesh_gpu_instancing/attributes/TRANSLATION holds NaN or infinity"),
        ("unused", None),  # not drawn: measured and fitted without it
    ],
)
@pytest.mark.parametrize("numpy_errors", ["warn", "raise"])
def test_a_signalling_nan_is_checked_by_meshpivot_not_by_numpy(
    tmp_path: Path, where: str, error: str | None, numpy_errors: str
) -> None:
    # Neither a numpy warning (what library callers would see) nor, when the caller has set
    # numpy to raise, a FloatingPointError: the input error that names the place, or the fit.
    src = _glb_with_a_signalling_nan(tmp_path / f"{where}.glb", where)
    out = tmp_path / "out.glb"
    with warnings.catch_warnings(record=True) as warned, np.errstate(all=numpy_errors):  # type: ignore[arg-type]
        warnings.simplefilter("always")
        for run in (lambda: measure_file(src), lambda: apply_file(src, out, SPEC)):
            if error is None:
                run()
            else:
                with pytest.raises(NonFiniteInputError, match=error):
                    run()
    assert [str(w.message) for w in warned] == []
    assert out.exists() == (error is None)  # a NaN kept as read: invalid glTF, as the input was


TETRAHEDRON = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
TETRA_FACES = np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]])


def test_a_box_whose_size_overflows_is_an_input_error_everywhere(tmp_path: Path) -> None:
    # float32 positions of +-3.4e38 under a node scale of 4e269: a finite box (+-1.36e308)
    # whose size does not fit in float64. It was 'size inf' for inspect, and an internal
    # error (math domain) or a collapsed output for apply.
    corners = np.array([[-3.4e38] * 3, [3.4e38, 0, 0], [0, 3.4e38, 0], [0, 0, 3.4e38]], dtype=np.float32)
    node = {"mesh": 0, "scale": [4e269] * 3}
    src = write_gltf(tmp_path / "huge.glb", corners, TETRA_FACES, attributes=False, nodes=[node])
    message = r"the bounding box is too large: .* its size overflows 1\.8e308"
    calls = {
        "measure": lambda: measure_file(src),
        "verify": lambda: verify_file(src, SPEC),
        "apply": lambda: apply_file(src, tmp_path / "out.glb", SPEC),
        "apply, preserving the aspect ratio": lambda: apply_file(
            src, tmp_path / "out.glb", FitOptions(scaled_bbox=(1, 1, 1), preserve_aspect_ratio=True)
        ),
    }
    for what, call in calls.items():
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            with pytest.raises(NonFiniteInputError, match=message):
                call()
        assert not (tmp_path / "out.glb").exists(), what


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("1e39", "would reach 5e[+]38 m from the origin, beyond 3.4e[+]38, the largest float32"),
        ("1e-300", "shrink the x extent from 1 m to 1e-300 m"),
    ],
)
def test_a_fit_beyond_float32_is_refused_before_anything_is_written(tmp_path: Path, bbox: str, message: str) -> None:
    # It was written: float32 infinities (or zeros) in the output, exit 0, and verify of
    # that output then failed.
    src = write_gltf(tmp_path / "tetra.glb", TETRAHEDRON, TETRA_FACES, attributes=False)
    for out in ("out.glb", "out.obj", "out.stl"):
        r = subprocess.run(
            meshpivot_cmd("apply", str(src), str(tmp_path / out), "--scaled-bbox", bbox, "-1", "-1"),
            env=quiet_env(),
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2, (out, r.returncode, r.stderr)  # the request's fault: a usage error
        assert r.stderr.count("\n") == 1 and re.search(message, r.stderr), r.stderr
        assert not (tmp_path / out).exists()


def test_the_centre_of_a_box_far_out_does_not_overflow(tmp_path: Path) -> None:
    # lo and hi near 1.5e308: (lo + hi) / 2 overflowed to inf in inspect's centre.
    node = {"mesh": 0, "translation": [1.5e308, 0, 0]}
    src = write_gltf(tmp_path / "far.glb", TETRAHEDRON, TETRA_FACES, attributes=False, nodes=[node])
    info = inspect_file(src).to_dict()
    assert info["center"][0] == 1.5e308 and info["size"][0] == 0.0  # 1 m is below 1.5e308's spacing


@pytest.mark.parametrize("where", ["position", "instance"])
def test_a_preview_of_a_signalling_nan_is_an_input_error_without_numpy_noise(tmp_path: Path, where: str) -> None:
    pytest.importorskip("PIL")
    from meshpivot.preview import preview_file

    src = _glb_with_a_signalling_nan(tmp_path / f"{where}.glb", where)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteInputError, match="NaN or infinit"):
            preview_file(src, tmp_path / "picture.png")
    assert not (tmp_path / "picture.png").exists()
