"""Decoding of compressed glTF geometry: Draco and meshopt.

* ``KHR_draco_mesh_compression`` (a primitive-level extension) is decoded with
  DracoPy into per-attribute arrays and an index array.
* ``EXT_meshopt_compression`` (a bufferView-level extension) is decoded with the
  ``meshoptimizer`` package into the bytes the bufferView stands for, so that
  accessors read it like any other view (see :meth:`GltfDocument.view_bytes`).

Both decoders are optional extras; a file that needs a missing one raises
:class:`~meshpivot.errors.MissingDependencyError` naming the ``pip`` command.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import MissingDependencyError, UnreadableInputError, UnsupportedInputError
from .accessors import COMPONENT_DTYPES, TYPE_SIZES, decode_normalized
from .document import GltfDocument, view_range

__all__ = [
    "DRACO",
    "MESHOPT",
    "DracoPrimitive",
    "decode_draco_primitive",
    "decode_meshopt_view",
    "draco_extension",
]

DRACO = "KHR_draco_mesh_compression"
MESHOPT = "EXT_meshopt_compression"


def _require(module: str, extra: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{what}; install the decoder with: pip install 'meshpivot[{extra}]'"
        ) from None


@dataclass
class DracoPrimitive:
    """A decoded Draco primitive.

    Attributes
    ----------
    attributes : dict of str to array
        Semantic (``POSITION``, ``NORMAL``, ...) -> ``(n, ncomp)`` values decoded as
        :func:`~meshpivot.gltf.accessors.read_accessor` would (normalized integers
        as float64, floats as float32, other integers in their accessor's dtype).
    indices : (m,) uint32 or None
        Flattened indices (``None`` for a point cloud).
    """

    attributes: dict[str, NDArray[Any]]
    indices: NDArray[np.uint32] | None


def draco_extension(primitive: dict[str, Any]) -> dict[str, Any] | None:
    """The ``KHR_draco_mesh_compression`` object of a primitive, or ``None``."""
    ext = primitive.get("extensions")
    if isinstance(ext, dict) and isinstance(ext.get(DRACO), dict):
        value: dict[str, Any] = ext[DRACO]
        return value
    return None


def decode_draco_primitive(doc: GltfDocument, mesh: int, primitive: int) -> DracoPrimitive:
    """Decode the Draco data of ``meshes[mesh].primitives[primitive]``.

    Raises
    ------
    MissingDependencyError
        DracoPy is not installed.
    UnreadableInputError
        The compressed data is corrupt, or an attribute id is missing from it.
    """
    where = f"/meshes/{mesh}/primitives/{primitive}/extensions/{DRACO}"
    prim = doc.json["meshes"][mesh]["primitives"][primitive]
    ext = draco_extension(prim)
    if ext is None:
        raise UnreadableInputError(f"{where} is missing")
    dracopy = _require("DracoPy", "draco", f"{where}: the geometry is Draco-compressed")
    raw = doc.view_bytes(ext.get("bufferView", -1))
    try:
        decoded = dracopy.decode(raw.tobytes())
    except Exception as exc:  # DracoPy raises its own and RuntimeError/ValueError
        raise UnreadableInputError(f"{where}: Draco data cannot be decoded ({exc})") from None
    attributes: dict[str, NDArray[Any]] = {}
    for name, uid in (ext.get("attributes") or {}).items():
        attr = decoded.get_attribute_by_unique_id(uid)
        if attr is None:
            raise UnreadableInputError(f"{where}/attributes/{name}: Draco attribute id {uid} is not in the data")
        values = np.asarray(attr["data"])
        acc_index = prim.get("attributes", {}).get(name)
        if isinstance(acc_index, int) and 0 <= acc_index < len(doc.json.get("accessors", [])):
            acc = doc.json["accessors"][acc_index]
            dtype = COMPONENT_DTYPES.get(acc.get("componentType", 5126), np.dtype("<f4"))
            ncomp = TYPE_SIZES.get(acc.get("type", ""), values.shape[-1] if values.ndim > 1 else 1)
            values = values.reshape(len(values), -1)[:, :ncomp].astype(dtype.newbyteorder("="))
            if acc.get("normalized") and dtype.kind in "iu":
                values = decode_normalized(values)
        attributes[name] = values
    faces = getattr(decoded, "faces", None)
    indices = None if faces is None else np.asarray(faces, dtype=np.uint32).reshape(-1)
    return DracoPrimitive(attributes=attributes, indices=indices)


_FILTERS = ("NONE", "OCTAHEDRAL", "QUATERNION", "EXPONENTIAL")
_MODES = ("ATTRIBUTES", "TRIANGLES", "INDICES")


def decode_meshopt_view(doc: GltfDocument, index: int) -> NDArray[np.uint8]:
    """Decode an ``EXT_meshopt_compression`` bufferView into its plain bytes.

    Parameters
    ----------
    doc : GltfDocument
    index : int
        A bufferView carrying the extension.

    Returns
    -------
    (count * byteStride,) uint8
        What the bufferView's bytes would be uncompressed (filters applied).

    Raises
    ------
    MissingDependencyError
        ``meshoptimizer`` is not installed.
    UnreadableInputError
        Bad extension fields, or data that does not decode.
    UnsupportedInputError
        An unknown mode or filter.
    """
    where = f"/bufferViews/{index}/extensions/{MESHOPT}"
    ext = doc.json["bufferViews"][index]["extensions"][MESHOPT]
    if not isinstance(ext, dict):
        raise UnreadableInputError(f"{where} is not an object")
    fields: dict[str, int] = {}
    for key, default in (("buffer", None), ("byteOffset", 0), ("byteLength", None), ("byteStride", None),
                         ("count", None)):
        v = ext.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UnreadableInputError(f"{where}/{key} is {v!r}; expected an integer >= 0")
        fields[key] = v
    mode = ext.get("mode")
    filt = ext.get("filter", "NONE")
    if mode not in _MODES:
        raise UnsupportedInputError(f"{where}/mode is {mode!r}; expected one of {', '.join(_MODES)}")
    if filt not in _FILTERS:
        raise UnsupportedInputError(f"{where}/filter is {filt!r}; expected one of {', '.join(_FILTERS)}")
    stride = fields["byteStride"]
    # The extension's limits: vertex strides are multiples of 4 up to 256, index strides 2 or 4.
    if (mode == "ATTRIBUTES" and not (stride % 4 == 0 and 4 <= stride <= 256)) or (
        mode != "ATTRIBUTES" and stride not in (2, 4)
    ):
        allowed = "a multiple of 4 from 4 to 256" if mode == "ATTRIBUTES" else "2 or 4"
        raise UnreadableInputError(f"{where}/byteStride is {stride}; for mode {mode} it must be {allowed}")
    mo = _require("meshoptimizer", "meshopt", f"/bufferViews/{index} is meshopt-compressed")
    src = doc.byte_range(fields["buffer"], fields["byteOffset"], fields["byteLength"])
    count, stride = fields["count"], fields["byteStride"]
    try:
        if mode == "ATTRIBUTES":
            out = np.asarray(mo.decode_vertex_buffer(count, stride, src, dtype=np.dtype(f"V{stride}")))
            flat = np.frombuffer(out.tobytes(), dtype=np.uint8)
            if filt == "OCTAHEDRAL":
                flat = np.asarray(mo.decode_filter_oct(flat, count, stride))
            elif filt == "QUATERNION":
                flat = np.asarray(mo.decode_filter_quat(flat, count, stride))
            elif filt == "EXPONENTIAL":
                flat = np.asarray(mo.decode_filter_exp(flat, count, stride))
        else:
            decode = mo.decode_index_buffer if mode == "TRIANGLES" else mo.decode_index_sequence
            idx = np.asarray(decode(count, stride, src))
            flat = np.frombuffer(idx.astype("<u2" if stride == 2 else "<u4").tobytes(), dtype=np.uint8)
    except (RuntimeError, ValueError) as exc:
        raise UnreadableInputError(f"{where}: meshopt data cannot be decoded ({exc})") from None
    result = np.frombuffer(flat.tobytes(), dtype=np.uint8)
    if len(result) != count * stride:
        raise UnreadableInputError(f"{where}: decoded {len(result)} bytes; expected {count * stride}")
    _, _, view_len = view_range(doc.json, index)
    if view_len > len(result):
        raise UnreadableInputError(
            f"/bufferViews/{index}/byteLength is {view_len} but the meshopt data decodes to {len(result)}"
        )
    return result
