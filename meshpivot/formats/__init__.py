"""Format adapters, chosen by file extension and imported only when needed.

Heavy libraries (trimesh, decoders) are imported by the adapter module that needs
them, so ``meshpivot --help`` and the glTF path stay fast.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UnreadableInputError, UnsupportedInputError

if TYPE_CHECKING:
    from .base import Asset, Measurement, WriteReport

__all__ = ["KNOWN_EXTENSIONS", "Asset", "Measurement", "WriteReport", "adapter_for", "open_asset"]

# extension -> (module, class). The glTF engine owns .glb/.gltf.
_ADAPTERS: dict[str, tuple[str, str]] = {
    ".glb": ("meshpivot.gltf", "GltfAsset"),
    ".gltf": ("meshpivot.gltf", "GltfAsset"),
    ".obj": ("meshpivot.formats.trimesh_formats", "TrimeshAsset"),
    ".ply": ("meshpivot.formats.trimesh_formats", "TrimeshAsset"),
    ".stl": ("meshpivot.formats.trimesh_formats", "TrimeshAsset"),
    ".usd": ("meshpivot.formats.usd", "UsdAsset"),
    ".usda": ("meshpivot.formats.usd", "UsdAsset"),
    ".usdc": ("meshpivot.formats.usd", "UsdAsset"),
    ".usdz": ("meshpivot.formats.usd", "UsdAsset"),
    ".fbx": ("meshpivot.formats.fbx", "FbxAsset"),
    ".zip": ("meshpivot.formats.objzip", "ObjZipAsset"),
}

#: Extensions meshpivot reads, lower case with the dot.
KNOWN_EXTENSIONS: tuple[str, ...] = tuple(_ADAPTERS)


def adapter_for(path: str | Path) -> type[Asset]:
    """The adapter class for ``path``'s extension.

    Raises
    ------
    UnsupportedInputError
        The extension is not one meshpivot reads.
    """
    p = Path(path)
    ext = p.suffix.lower()
    if ext not in _ADAPTERS:
        known = ", ".join(KNOWN_EXTENSIONS)
        raise UnsupportedInputError(
            f"unsupported file type {ext or '(no extension)'!r}; expected one of {known}", p
        )
    module, name = _ADAPTERS[ext]
    cls: type[Asset] = getattr(importlib.import_module(module), name)
    return cls


def open_asset(path: str | Path) -> Asset:
    """Open ``path`` with the adapter for its extension.

    Raises
    ------
    UnreadableInputError
        The file does not exist or is not a regular file.
    UnsupportedInputError
        Unknown extension.
    """
    p = Path(path)
    cls = adapter_for(p)
    if not p.exists():
        raise UnreadableInputError("no such file", p)
    if not p.is_file():
        raise UnreadableInputError("not a regular file", p)
    return cls(p)


def __getattr__(name: str) -> Any:
    # The base classes need numpy; the extension table (all the CLI needs to parse its
    # arguments) does not, so they are imported on first use.
    if name in ("Asset", "Measurement", "WriteReport"):
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module 'meshpivot.formats' has no attribute {name!r}")
