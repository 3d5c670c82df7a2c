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

import importlib
from typing import TYPE_CHECKING, Any

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
from .options import FitOptions, load_settings

if TYPE_CHECKING:
    from .api import (
        ApplyResult,
        InspectResult,
        VerifyResult,
        apply_file,
        inspect_file,
        measure_file,
        verify_file,
    )
    from .batch import inspect_many, verify_many
    from .checks import Check, verify_box
    from .fit import Fit, compute_fit, pivot_of_origin
    from .formats.trimesh_formats import fit_trimesh, measure_trimesh

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


#: Where the names that need numpy (or trimesh) live. They are imported on first use,
#: so that ``import meshpivot`` and the ``meshpivot`` command's own start-up stay light:
#: the command sets up the process (see :func:`meshpivot.cli.console`) before numpy loads.
_LAZY = {
    "ApplyResult": "api",
    "InspectResult": "api",
    "VerifyResult": "api",
    "apply_file": "api",
    "inspect_file": "api",
    "measure_file": "api",
    "verify_file": "api",
    "Check": "checks",
    "verify_box": "checks",
    "Fit": "fit",
    "compute_fit": "fit",
    "pivot_of_origin": "fit",
    "verify_many": "batch",
    "inspect_many": "batch",
    "fit_trimesh": "formats.trimesh_formats",  # trimesh takes about 0.45 s to import
    "measure_trimesh": "formats.trimesh_formats",
}


#: Submodules, reachable as attributes (``meshpivot.api``) as an eager import made them.
_SUBMODULES = frozenset(
    ("api", "batch", "checks", "cli", "fit", "formats", "geometry", "gltf", "preview", "scratch", "vectors")
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshpivot' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups do not come here again
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
