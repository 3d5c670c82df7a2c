"""What every format adapter provides: measure an asset, write it fitted.

Adapters depend on the core (:mod:`meshpivot.fit`, :mod:`meshpivot.vectors`), never
the other way round. An adapter reads its file when opened, measures per SPEC.md
section 2 as far as its format allows, and writes the fitted asset into a staging
folder chosen by :mod:`meshpivot.api`, which moves the files into place atomically.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..fit import Fit
from ..options import FitOptions

__all__ = ["Asset", "Measurement", "WriteReport"]


@dataclass
class Measurement:
    """The measured box of an asset in the Y-up metre frame, and what it holds.

    Attributes
    ----------
    lo, hi : (3,) float64
        The box of SPEC.md section 2.
    counts : dict of str to int
        ``vertices``, ``triangles``, ``meshes``, ``nodes``, ... as the format knows them.
    format : str
        Short name: ``glb``, ``gltf``, ``obj``, ``ply``, ``stl``, ...
    notes : list of str
        Anything the user should know about how it was measured.
    """

    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    counts: dict[str, int] = field(default_factory=dict)
    format: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> NDArray[np.float64]:
        """(3,) float64 extents ``hi - lo``."""
        return self.hi - self.lo


@dataclass
class WriteReport:
    """What an adapter wrote.

    Attributes
    ----------
    mode : str
        ``bake`` or ``wrap``: how the transform was recorded.
    reason : str
        Why that mode (always set for ``auto``).
    files : list of Path
        Every file written in the staging folder, the main output first.
    notes : list of str
        Anything lost or changed that the user should know (``lossy: ...``).
    """

    mode: str
    reason: str
    files: list[Path]
    notes: list[str] = field(default_factory=list)


class Asset(ABC):
    """An opened input file.

    Parameters
    ----------
    path : Path
        The input; never modified.
    """

    #: File extensions (lower case, with dot) that this adapter writes.
    writes: tuple[str, ...] = ()

    def __init__(self, path: Path) -> None:
        self.path = path
        #: Set by ``apply --in-place``: the output replaces the input, so sidecar files may
        #: keep the input's names.
        self.replace_input = False

    @abstractmethod
    def measure(self) -> Measurement:
        """Measure the asset (SPEC.md section 2)."""

    @abstractmethod
    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Write the asset mapped by ``fit`` to ``dest``.

        ``dest`` lies in an empty private staging folder; sidecar files (``.bin``,
        ``.mtl``, textures) go beside it under the names the output refers to. The
        input is never modified. Raise :class:`~meshpivot.errors.NotBakeableError`
        when ``options.mode == 'bake'`` cannot be honoured exactly.
        """

    def input_files(self) -> set[Path]:
        """Every file the input consists of (the main file, buffers, ``.mtl``, textures).

        ``apply`` refuses to overwrite any of them with other bytes, unless asked to
        replace the input (``--in-place``).
        """
        return {self.path}

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release file handles and maps (idempotent)."""

    def __enter__(self) -> Asset:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
