"""Private working folders that a killed run leaves behind only until the next run.

A run that is killed (SIGKILL, power loss) cannot remove the folders it works in. So
each run holds an exclusive ``flock`` on every folder it makes here for as long as it
uses it; the kernel drops the lock when the process dies, however it dies. Before
making a folder, a run removes the folders of the same kind (same parent, same
prefix) whose lock nobody holds: those of dead runs. A folder held by a live run, a
folder that cannot be locked, and anything that is not a real folder of that name are
left alone. Where there is no ``flock`` (Windows) nothing is swept.

Used for the staging folder beside an output (:mod:`meshpivot.api`) and the scratch
folders of the readers that need one in the system's temporary folder (OBJ zips, FBX,
USD).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

try:
    import fcntl
except ImportError:  # Windows: no flock; folders of killed runs are then not swept
    fcntl = None  # type: ignore[assignment]

__all__ = ["STAGING_PREFIX", "lock_folder", "locked_folder", "make_locked_folder", "sweep_unlocked"]

#: The hidden folders beside an output in which it is written before it is moved into place.
STAGING_PREFIX = ".meshpivot-staging-"

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _names(prefix: str) -> re.Pattern[str]:
    """What ``mkdtemp`` names a folder with ``prefix``: a sweep touches nothing else."""
    return re.compile(re.escape(prefix) + r"[a-z0-9_]{8}")


def make_locked_folder(parent: Path, prefix: str) -> tuple[Path, int | None]:
    """A new folder in ``parent`` named ``prefix`` + 8 characters, and the descriptor that holds its lock.

    The lock (None where ``flock`` is unavailable) tells other runs that the folder is
    in use. Between ``mkdtemp`` and ``flock`` another run's sweep may find the folder
    unlocked and remove it; then a new one is made.

    Raises
    ------
    OSError
        The folder cannot be made (no such parent, no permission, disk full).
    """
    import tempfile  # only writing needs it: verify and inspect start without it

    for _ in range(100):
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        if fcntl is None:
            return path, None
        try:
            fd = os.open(path, _DIR_FLAGS)
        except FileNotFoundError:
            continue  # swept before it was locked
        except OSError:
            return path, None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits while a sweeper that took it removes it
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                return path, fd
        except FileNotFoundError:
            pass
        except OSError:  # no locks on this file system: unlocked, and so never swept
            os.close(fd)
            return path, None
        os.close(fd)
    raise FileExistsError(f"cannot create a folder named {prefix}* in {parent}: each was removed at once")


def sweep_unlocked(parent: Path, prefix: str) -> None:
    """Remove the folders ``prefix`` + 8 characters in ``parent`` that nobody holds locked.

    Best effort: errors are ignored.
    """
    if fcntl is None:
        return
    names = _names(prefix)
    try:
        entries = [e for e in os.scandir(parent) if names.fullmatch(e.name)]
    except OSError:
        return
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            fd = os.open(entry.path, _DIR_FLAGS)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(entry.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                _remove_tree(entry.path)
        except OSError:
            pass  # held by a live run, or no locks here
        finally:
            os.close(fd)


def lock_folder(folder: Path) -> int | None:
    """An exclusive ``flock`` on ``folder`` (waits for it); the descriptor to close, or None
    where locks are unavailable."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder, _DIR_FLAGS)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextmanager
def locked_folder(
    prefix: str,
    parent: Path | None = None,
    *,
    failure: str = "cannot make a working folder here",
    about: Path | None = None,
) -> Iterator[Path]:
    """A private folder for the ``with`` block, removed after it (default parent: the temporary folder).

    Folders of the same kind left by killed runs are removed first (see the module's
    docstring).

    Raises
    ------
    OutputError
        ``failure: reason``, about ``about`` (default: ``parent``), when the folder
        cannot be made (a folder that is not writable, a full disk).
    """
    import tempfile

    where = Path(tempfile.gettempdir()) if parent is None else parent
    sweep_unlocked(where, prefix)
    try:
        path, lock = make_locked_folder(where, prefix)
    except OSError as exc:
        raise OutputError(f"{failure}: {exc.strerror or exc}", about or where) from None
    try:
        yield path
    finally:
        _remove_tree(path)
        if lock is not None:
            os.close(lock)  # after the folder is gone: a sweeper never sees it unlocked


def _remove_tree(path: str | os.PathLike[str]) -> None:
    import shutil  # only cleaning needs it: verify and inspect start without it

    shutil.rmtree(path, ignore_errors=True)
