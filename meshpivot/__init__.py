"""meshpivot: fit 3D assets to a target bounding box and pivot, locally and losslessly.

Implements the ``scaled_bbox`` / ``pivot_point`` / ``preserve_aspect_ratio``
semantics of hosted image-to-3D APIs on your own files (see SPEC.md and the README).

>>> import meshpivot
>>> opts = meshpivot.FitOptions(scaled_bbox=[1, 2, 0.5], pivot_point=[0, -0.5, 0])
>>> fit = meshpivot.compute_fit([0, 0, 0], [2, 4, 1], opts)
>>> fit.scale.tolist()
[0.5, 0.5, 0.5]
"""

from __future__ import annotations

from typing import Any

from .api import (
    ApplyResult,
    InspectResult,
    VerifyResult,
    apply_file,
    inspect_file,
    measure_file,
    verify_file,
)
from .checks import Check, verify_box
from .errors import (
    EmptyInputError,
    FlatAxisError,
    InputError,
    MeshPivotError,
    NonFiniteInputError,
    NotBakeableError,
    OutputError,
    SpecError,
    UnreadableInputError,
    UnsupportedInputError,
)
from .fit import Fit, compute_fit, pivot_of_origin
from .options import FitOptions, load_settings

__version__ = "0.1.0"

__all__ = [
    "ApplyResult",
    "Check",
    "EmptyInputError",
    "Fit",
    "FitOptions",
    "FlatAxisError",
    "InputError",
    "InspectResult",
    "MeshPivotError",
    "NonFiniteInputError",
    "NotBakeableError",
    "OutputError",
    "SpecError",
    "UnreadableInputError",
    "UnsupportedInputError",
    "VerifyResult",
    "__version__",
    "apply_file",
    "compute_fit",
    "fit_trimesh",
    "inspect_file",
    "inspect_many",
    "load_settings",
    "measure_file",
    "measure_trimesh",
    "pivot_of_origin",
    "verify_box",
    "verify_file",
    "verify_many",
]


def __getattr__(name: str) -> Any:
    # trimesh is heavy (about 0.45 s to import): load it only when asked for.
    if name in ("fit_trimesh", "measure_trimesh"):
        from .formats import trimesh_formats

        return getattr(trimesh_formats, name)
    if name in ("verify_many", "inspect_many"):
        from . import batch

        return getattr(batch, name)
    raise AttributeError(f"module 'meshpivot' has no attribute {name!r}")
