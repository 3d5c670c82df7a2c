"""Working folders of killed runs are removed by the next run (meshpivot.scratch)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from meshpivot.errors import OutputError
from meshpivot.scratch import locked_folder, make_locked_folder, sweep_unlocked

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no flock: nothing is swept on Windows")

PREFIX = "meshpivot-test-"
OBJ = b"v 0 0 0\nv 1 0 0\nv 0 2 0\nf 1 2 3\n"


def _ours(folder: Path, prefix: str = PREFIX) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(prefix))


def test_sweep_removes_only_unlocked_folders_of_its_kind(tmp_path: Path) -> None:
    dead = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path))  # made, never locked: a dead run's
    (dead / "partial.bin").write_bytes(b"x" * 100)
    live, fd = make_locked_folder(tmp_path, PREFIX)
    assert fd is not None
    elsewhere = Path(tempfile.mkdtemp(prefix=PREFIX, dir=tmp_path / ".."))
    try:
        (tmp_path / f"{PREFIX}afile123").write_text("a file of that name is not ours")
        (tmp_path / f"{PREFIX}alink123").symlink_to(elsewhere)
        (tmp_path / f"{PREFIX}toolongname").mkdir()  # not a name mkdtemp gives
        other = Path(tempfile.mkdtemp(prefix="meshpivot-other-", dir=tmp_path))
        sweep_unlocked(tmp_path, PREFIX)
        assert not dead.exists()
        assert live.is_dir() and other.is_dir() and elsewhere.is_dir()
        assert _ours(tmp_path) == sorted([live.name, f"{PREFIX}afile123", f"{PREFIX}alink123", f"{PREFIX}toolongname"])
    finally:
        os.close(fd)
        elsewhere.rmdir()
    sweep_unlocked(tmp_path, PREFIX)  # its run is over now
    assert not live.exists()


def test_a_locked_folder_is_removed_after_its_block_even_on_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside"), locked_folder(PREFIX, tmp_path) as work:
        (work / "f").write_text("x")
        raise ValueError("inside")
    assert _ours(tmp_path) == []


def test_an_unwritable_parent_is_one_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(OutputError, match="cannot make a working folder") as info, locked_folder(PREFIX, missing):
        pass
    assert info.value.path == str(missing)


def test_a_killed_reader_leaves_its_folder_only_until_the_next_run(tmp_path: Path) -> None:
    # A reader killed inside its scratch folder (here: held open in a child process)
    # leaves the folder; the next run that needs one removes it.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    code = (
        "import time\n"
        "from meshpivot.scratch import locked_folder\n"
        "with locked_folder('meshpivot-locked-objzip-') as d:\n"
        "    print(d, flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    held = Path(child.stdout.readline().strip())
    assert held.parent == scratch and held.is_dir()
    # While its run lives, another run leaves it alone.
    src = tmp_path / "model.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("model.obj", OBJ)
    inspect = [sys.executable, "-m", "meshpivot", "inspect", str(src)]
    done = subprocess.run(inspect, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert _ours(scratch, "meshpivot-locked-objzip-") == [held.name]
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert held.is_dir()  # a killed run cannot clean up
    deadline = time.monotonic() + 5
    while True:  # the kernel drops the lock with the process
        done = subprocess.run(inspect, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        if not held.exists() or time.monotonic() > deadline:
            break
    assert _ours(scratch, "meshpivot-locked-objzip-") == []


def test_folders_of_older_versions_are_not_taken_for_dead_ones(tmp_path: Path) -> None:
    # Releases before the locks made unlocked meshpivot-objzip-* folders; one may be in use.
    old = Path(tempfile.mkdtemp(prefix="meshpivot-objzip-", dir=tmp_path))
    with locked_folder("meshpivot-locked-objzip-", tmp_path):
        pass
    assert old.is_dir()


def test_a_preview_is_staged_and_sweeps_the_folders_of_killed_runs(tmp_path: Path) -> None:
    from meshpivot import cli
    from meshpivot.scratch import STAGING_PREFIX

    src = tmp_path / "in.obj"
    src.write_bytes(OBJ)
    dead = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=tmp_path))  # a killed run's, unlocked
    (dead / "in.png").write_bytes(b"half a picture")
    png = tmp_path / "in.png"
    assert cli.main(["preview", str(src), "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert _ours(tmp_path, STAGING_PREFIX) == []
