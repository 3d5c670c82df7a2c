"""One error tree for meshpivot.

Every error that meshpivot raises on purpose derives from :class:`MeshPivotError`.
Each class carries the process exit code that the command line uses for it, so the
mapping from failure to exit code lives in one place (:data:`EXIT_CODES`).

==========================  =====  ==============================================
class                       exit   meaning
==========================  =====  ==============================================
(success)                   0      every check held / the output was written
(verification failed)       1      ``verify`` measured something other than asked
:class:`SpecError`          2      a bad argument or option value (usage error)
:class:`InputError`         3      input that cannot be read or used
:class:`InternalError`      4      a bug in meshpivot: please report it
==========================  =====  ==============================================
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EXIT_CODES",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_VERIFY_FAILED",
    "EmptyInputError",
    "FlatAxisError",
    "InputError",
    "InternalError",
    "MeshPivotError",
    "MissingDependencyError",
    "NonFiniteInputError",
    "NotBakeableError",
    "OutputError",
    "SpecError",
    "UnreadableInputError",
    "UnsupportedInputError",
]

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERNAL = 4

#: Exit codes of the command line, documented in ``meshpivot --help`` and the README.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success: the output was written, or every check held",
    EXIT_VERIFY_FAILED: "verification failed: a measured size or pivot is off",
    EXIT_USAGE: "usage error: bad flags, option values or settings",
    EXIT_INPUT: "input that cannot be read or used (missing, corrupt, unsupported, "
    "empty, non-finite, a flat axis asked to stretch, not bakeable exactly)",
    EXIT_INTERNAL: "internal error in meshpivot (a bug: please report it)",
}


class MeshPivotError(Exception):
    """Root of every error meshpivot raises on purpose.

    Parameters
    ----------
    message : str
        What went wrong, where, what was found and what was expected.
    path : str or Path, optional
        The file the error is about, shown before the message.
    """

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def with_path(self, path: str | Path) -> MeshPivotError:
        """Set the file the error is about, unless one is set already; return self."""
        if self.path is None:
            self.path = str(path)
        return self


class SpecError(MeshPivotError, ValueError):
    """A request value is invalid (``scaled_bbox``, ``pivot_point``, a flag, ...)."""

    exit_code = EXIT_USAGE


class InputError(MeshPivotError):
    """The input cannot be read or used."""

    exit_code = EXIT_INPUT


class UnreadableInputError(InputError):
    """The input is missing, unreadable, truncated or corrupt."""


class UnsupportedInputError(InputError):
    """The input uses a format or feature that meshpivot does not handle."""


class MissingDependencyError(UnsupportedInputError):
    """Handling the input needs an optional extra that is not installed."""


class EmptyInputError(InputError, ValueError):
    """The input has no drawable vertex, so it has no bounding box."""


class NonFiniteInputError(InputError, ValueError):
    """A vertex coordinate is NaN or infinite."""


class FlatAxisError(InputError, ValueError):
    """An axis with zero extent was asked to stretch to a target size."""


class NotBakeableError(InputError):
    """``mode='bake'`` was asked for an asset that cannot be baked exactly."""


class OutputError(MeshPivotError):
    """The output cannot be written (refused path, permissions, disk full)."""

    exit_code = EXIT_INPUT


class InternalError(MeshPivotError):
    """Something meshpivot did not expect: a bug."""

    exit_code = EXIT_INTERNAL
