"""glTF accessors: exact decoding, strided in-place views, and writing values back.

An accessor's stored components are reached through numpy views onto the
document's buffers (no copy): :func:`accessor_view`. :func:`read_accessor` returns
decoded values (sparse substitution applied, normalized integers mapped to floats
with the glTF formulas, meshopt views decoded). :func:`write_accessor_values`
stores values back in the accessor's component type.

Shapes: ``(count, ncomp)`` for every type but ``SCALAR``, which is ``(count,)``.
Matrix types are flattened column-major (as stored), e.g. ``MAT4`` is ``(count, 16)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import UnreadableInputError, UnsupportedInputError
from .document import GltfDocument

__all__ = [
    "COMPONENT_DTYPES",
    "MAX_IMPLICIT_BYTES",
    "TYPE_SIZES",
    "AccessorInfo",
    "accessor_info",
    "accessor_view",
    "decode_normalized",
    "encode_normalized",
    "encode_values",
    "read_accessor",
    "stored_min_max",
    "update_min_max",
    "write_accessor_values",
]

#: componentType -> little-endian dtype.
COMPONENT_DTYPES: dict[int, np.dtype[Any]] = {
    5120: np.dtype("i1"),
    5121: np.dtype("u1"),
    5122: np.dtype("<i2"),
    5123: np.dtype("<u2"),
    5125: np.dtype("<u4"),
    5126: np.dtype("<f4"),
}
#: accessor type -> number of components.
TYPE_SIZES: dict[str, int] = {
    "SCALAR": 1,
    "VEC2": 2,
    "VEC3": 3,
    "VEC4": 4,
    "MAT2": 4,
    "MAT3": 9,
    "MAT4": 16,
}
_MAT_ROWS = {"MAT2": 2, "MAT3": 3, "MAT4": 4}
#: Most bytes an accessor without a bufferView may stand for (it is all zeros but for
#: its sparse values, so no bytes of the file back it): 256 MiB.
MAX_IMPLICIT_BYTES = 1 << 28


class AccessorInfo:
    """The validated layout of one accessor.

    Attributes
    ----------
    index : int
    dtype : numpy dtype
        Little-endian component dtype.
    ncomp : int
        Components per element.
    count : int
    normalized : bool
    type : str
    buffer_view : int or None
    byte_offset : int
        The accessor's ``byteOffset`` (within its bufferView).
    stride : int
        Bytes between elements (``byteStride`` or the packed element size).
    element_size : int
        Bytes of one element, with the column padding of small matrices.
    column_stride : int or None
        Bytes between matrix columns when they are padded (``MAT2``/``MAT3`` with
        1- or 2-byte components), else ``None``.
    sparse : dict or None
    """

    def __init__(self, doc: GltfDocument, index: int) -> None:
        accessors = doc.json.get("accessors", [])
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(accessors):
            raise UnreadableInputError(f"accessor {index!r} does not exist (/accessors has {len(accessors)})")
        acc = accessors[index]
        where = f"/accessors/{index}"
        if not isinstance(acc, dict):
            raise UnreadableInputError(f"{where} is not an object")
        self.index = index
        self.where = where
        ctype = acc.get("componentType")
        if ctype not in COMPONENT_DTYPES:
            raise UnreadableInputError(
                f"{where}/componentType is {ctype!r}; expected one of 5120, 5121, 5122, 5123, 5125, 5126"
            )
        self.component_type: int = ctype
        self.dtype = COMPONENT_DTYPES[ctype]
        typ = acc.get("type")
        if typ not in TYPE_SIZES:
            raise UnreadableInputError(f"{where}/type is {typ!r}; expected one of {', '.join(TYPE_SIZES)}")
        self.type: str = typ
        self.ncomp = TYPE_SIZES[typ]
        count = acc.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UnreadableInputError(f"{where}/count is {count!r}; expected an integer >= 0")
        self.count: int = count
        self.normalized = bool(acc.get("normalized", False))
        if self.normalized and self.dtype.kind == "f":
            raise UnreadableInputError(f"{where}/normalized is true for a float accessor")
        size = self.dtype.itemsize
        rows = _MAT_ROWS.get(typ)
        self.column_stride: int | None = None
        if rows is not None and (rows * size) % 4:
            self.column_stride = rows * size + (-(rows * size)) % 4
            self.element_size = self.column_stride * rows
        else:
            self.element_size = self.ncomp * size
        offset = acc.get("byteOffset", 0)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise UnreadableInputError(f"{where}/byteOffset is {offset!r}; expected an integer >= 0")
        self.byte_offset: int = offset
        bv = acc.get("bufferView")
        self.buffer_view: int | None = None
        self.stride = self.element_size
        if bv is not None:
            views = doc.json.get("bufferViews", [])
            if not isinstance(bv, int) or isinstance(bv, bool) or not 0 <= bv < len(views):
                raise UnreadableInputError(
                    f"{where}/bufferView is {bv!r}; the file has {len(views)} bufferViews"
                )
            self.buffer_view = bv
            view = views[bv]
            stride = view.get("byteStride")
            if stride is not None:
                if not isinstance(stride, int) or isinstance(stride, bool) or not 4 <= stride <= 252:
                    raise UnreadableInputError(
                        f"/bufferViews/{bv}/byteStride is {stride!r}; expected an integer in 4..252"
                    )
                if stride < self.element_size:
                    raise UnreadableInputError(
                        f"/bufferViews/{bv}/byteStride is {stride} but {where} elements are "
                        f"{self.element_size} bytes"
                    )
                self.stride = stride
            vlen = view.get("byteLength")
            if not isinstance(vlen, int) or isinstance(vlen, bool) or vlen < 0:
                raise UnreadableInputError(f"/bufferViews/{bv}/byteLength is {vlen!r}; expected an integer")
            need = self.byte_offset + (self.stride * (count - 1) + self.element_size if count else 0)
            if need > vlen:
                raise UnreadableInputError(
                    f"{where} needs bytes {self.byte_offset}..{need} of /bufferViews/{bv}, "
                    f"which has {vlen} (count {count}, stride {self.stride})"
                )
        elif offset:
            raise UnreadableInputError(f"{where}/byteOffset is {offset} but there is no bufferView")
        elif count * self.element_size > MAX_IMPLICIT_BYTES:
            # No bytes in the file back these elements (zeros, maybe sparse): refuse before allocating.
            raise UnreadableInputError(
                f"{where}/count is {count}; without a bufferView its zeros would need "
                f"{count * self.element_size} bytes, more than the {MAX_IMPLICIT_BYTES} meshpivot allows"
            )
        sparse = acc.get("sparse")
        self.sparse: dict[str, Any] | None = sparse if isinstance(sparse, dict) else None
        if sparse is not None and not isinstance(sparse, dict):
            raise UnreadableInputError(f"{where}/sparse is not an object")


def accessor_info(doc: GltfDocument, index: int) -> AccessorInfo:
    """Validate accessor ``index`` and return its layout.

    Raises
    ------
    UnreadableInputError
        Invalid componentType/type/count/offsets, stride outside 4..252 or below the
        element size, or an accessor that runs past its bufferView.
    """
    return AccessorInfo(doc, index)


def _strided(
    raw: NDArray[np.uint8], info: AccessorInfo, offset: int, count: int, stride: int
) -> NDArray[Any]:
    """A no-copy view of ``count`` elements starting at ``raw[offset]``."""
    size = info.dtype.itemsize
    if count == 0:
        shape: tuple[int, ...] = (0, info.ncomp)
        return np.zeros(shape, dtype=info.dtype)
    if info.column_stride is not None:
        rows = _MAT_ROWS[info.type]
        mat: NDArray[Any] = np.ndarray(
            (count, rows, rows),
            dtype=info.dtype,
            buffer=raw,
            offset=offset,
            strides=(stride, info.column_stride, size),
        )
        return mat
    out: NDArray[Any] = np.ndarray(
        (count, info.ncomp), dtype=info.dtype, buffer=raw, offset=offset, strides=(stride, size)
    )
    return out


def accessor_view(doc: GltfDocument, index: int, *, writable: bool = False) -> NDArray[Any]:
    """A strided view onto accessor ``index``'s stored components (no copy).

    Parameters
    ----------
    doc : GltfDocument
    index : int
    writable : bool
        Make the underlying buffer writable (copy-on-write) and return a view
        through which edits reach the output. The view stays valid across
        :meth:`GltfDocument.append_bytes`.

    Returns
    -------
    (count, ncomp) array of the component dtype (little-endian)
        Raw stored values (not normalized); padded small matrices come as
        ``(count, cols, rows)``. ``SCALAR`` keeps a trailing axis of 1.

    Raises
    ------
    UnsupportedInputError
        The accessor is sparse, has no bufferView, or lives in a meshopt-compressed
        bufferView (with ``writable``); read those with :func:`read_accessor`.
    UnreadableInputError
        See :func:`accessor_info`.
    """
    info = AccessorInfo(doc, index)
    if info.sparse is not None or info.buffer_view is None:
        what = "sparse" if info.sparse is not None else "has no bufferView"
        raise UnsupportedInputError(f"{info.where} is {what}; it has no plain stored view")
    raw = doc.view_bytes(info.buffer_view, writable=writable)
    return _strided(raw, info, info.byte_offset, info.count, info.stride)


def decode_normalized(values: NDArray[Any]) -> NDArray[np.float64]:
    """Map normalized integers to floats with the glTF formulas.

    ``int8``: ``max(c / 127, -1)``; ``uint8``: ``c / 255``; ``int16``:
    ``max(c / 32767, -1)``; ``uint16``: ``c / 65535``; ``uint32``: ``c / 4294967295``.

    Examples
    --------
    >>> decode_normalized(np.array([-128, -127, 0, 127], dtype=np.int8)).tolist()
    [-1.0, -1.0, 0.0, 1.0]
    """
    info = np.iinfo(values.dtype)
    out = values.astype(np.float64) / float(info.max)
    if info.min < 0:
        np.maximum(out, -1.0, out=out)
    return out


def encode_normalized(values: ArrayLike, dtype: np.dtype[Any]) -> NDArray[Any]:
    """Inverse of :func:`decode_normalized`: round to the nearest integer, clamp to range."""
    info = np.iinfo(dtype)
    work = np.asarray(values, dtype=np.float64) * float(info.max)
    np.rint(work, out=work)
    np.clip(work, -float(info.max) if info.min < 0 else 0.0, float(info.max), out=work)
    return work.astype(dtype)


def _sparse_part(
    doc: GltfDocument, info: AccessorInfo, key: str, dtype: np.dtype[Any], ncomp: int, count: int
) -> NDArray[Any]:
    assert info.sparse is not None
    part = info.sparse.get(key)
    where = f"{info.where}/sparse/{key}"
    if not isinstance(part, dict):
        raise UnreadableInputError(f"{where} is missing")
    bv = part.get("bufferView")
    off = part.get("byteOffset", 0)
    if not isinstance(bv, int) or not isinstance(off, int) or off < 0:
        raise UnreadableInputError(f"{where} has bufferView {bv!r}, byteOffset {off!r}; expected integers")
    raw = doc.view_bytes(bv)
    nbytes = count * ncomp * dtype.itemsize
    if off + nbytes > len(raw):
        raise UnreadableInputError(
            f"{where} needs bytes {off}..{off + nbytes} of /bufferViews/{bv}, which has {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype, count=count * ncomp, offset=off).reshape(count, ncomp)


def _raw_values(doc: GltfDocument, info: AccessorInfo) -> NDArray[Any]:
    """Stored components with sparse substitution, as an owned ``(count, ncomp)`` array."""
    if info.buffer_view is not None:
        raw = doc.view_bytes(info.buffer_view)
        view = _strided(raw, info, info.byte_offset, info.count, info.stride)
        out = np.array(view.reshape(info.count, info.ncomp) if view.ndim == 3 else view, copy=True)
    else:
        out = np.zeros((info.count, info.ncomp), dtype=info.dtype)
    if info.sparse is not None:
        n = info.sparse.get("count")
        if not isinstance(n, int) or n < 1:
            raise UnreadableInputError(f"{info.where}/sparse/count is {n!r}; expected an integer >= 1")
        if n > info.count:
            raise UnreadableInputError(f"{info.where}/sparse/count is {n}, more than count {info.count}")
        idx_part = info.sparse.get("indices")
        ictype = idx_part.get("componentType") if isinstance(idx_part, dict) else None
        if ictype not in (5121, 5123, 5125):
            raise UnreadableInputError(
                f"{info.where}/sparse/indices/componentType is {ictype!r}; expected 5121, 5123 or 5125"
            )
        indices = _sparse_part(doc, info, "indices", COMPONENT_DTYPES[ictype], 1, n)[:, 0]
        if len(indices) and int(indices.max()) >= info.count:
            raise UnreadableInputError(
                f"{info.where}/sparse/indices reference element {int(indices.max())} of {info.count}"
            )
        steps = np.diff(indices.astype(np.int64))
        if len(steps) and int(steps.min()) <= 0:
            k = int(np.argmax(steps <= 0))
            raise UnreadableInputError(
                f"{info.where}/sparse/indices are not strictly increasing (element {k + 1} is "
                f"{int(indices[k + 1])} after {int(indices[k])}), as glTF requires"
            )
        values = _sparse_part(doc, info, "values", info.dtype, info.ncomp, n)
        out[indices.astype(np.intp)] = values
    return out


def read_accessor(doc: GltfDocument, index: int) -> NDArray[Any]:
    """Decode accessor ``index`` exactly.

    Parameters
    ----------
    doc : GltfDocument
    index : int

    Returns
    -------
    (count, ncomp) or (count,) array
        A new array. Float accessors give ``float32``; normalized integers give
        ``float64`` decoded with the glTF formulas; other integers keep their dtype
        (native byte order). ``SCALAR`` accessors give ``(count,)``.

    Raises
    ------
    UnreadableInputError
        Layout errors (see :func:`accessor_info`), sparse indices out of range.
    MissingDependencyError
        The data is meshopt-compressed and ``meshoptimizer`` is not installed.
    """
    info = AccessorInfo(doc, index)
    out: NDArray[Any] = _raw_values(doc, info)
    if info.normalized:
        out = decode_normalized(out)
    else:
        out = out.astype(out.dtype.newbyteorder("="), copy=False)
    if info.ncomp == 1:
        return out.reshape(info.count)
    return out


def encode_values(info: AccessorInfo, values: ArrayLike) -> NDArray[Any]:
    """Decoded ``(n, ncomp)`` values in the accessor's storage type, contiguous.

    Normalized integers are re-encoded with rounding, other integers rounded, floats cast
    from float64 once. Values already in the storage's float type come back as they are
    (``values`` itself when it is a contiguous array): do not change them afterwards.
    """
    src = np.asarray(values)
    src = src.reshape(len(src), info.ncomp)
    if info.normalized:
        out = encode_normalized(src, info.dtype)
    elif src.dtype == info.dtype and info.dtype.kind == "f":
        out = src  # float32 -> float64 -> float32 would give the same numbers
    elif info.dtype.kind in "iu":
        out = np.rint(np.asarray(src, dtype=np.float64)).astype(info.dtype)
    else:
        out = np.asarray(src, dtype=np.float64).astype(info.dtype)
    return np.ascontiguousarray(out)


def write_accessor_values(doc: GltfDocument, index: int, values: ArrayLike) -> None:
    """Store ``values`` into accessor ``index``'s bytes (modified in place).

    Parameters
    ----------
    doc : GltfDocument
        Its buffer holding the accessor becomes writable (copy-on-write).
    index : int
    values : (count, ncomp) or (count,) array
        Decoded values (floats for normalized accessors); cast to the component
        type: normalized integers re-encoded with rounding, other integers
        rounded, floats cast to float32.

    Raises
    ------
    UnsupportedInputError
        The accessor is sparse or has no bufferView.
    ValueError
        ``values`` has the wrong shape.
    """
    info = AccessorInfo(doc, index)
    view = accessor_view(doc, index, writable=True)
    src = np.asarray(values)
    if src.shape not in ((info.count, info.ncomp),) and not (info.ncomp == 1 and src.shape == (info.count,)):
        raise ValueError(
            f"values for {info.where} must have shape ({info.count}, {info.ncomp}), got {src.shape}"
        )
    stored = encode_values(info, src.reshape(info.count, info.ncomp))
    if view.ndim == 3:
        rows = view.shape[1]
        view[...] = stored.reshape(info.count, rows, rows)
    else:
        view[...] = stored


def stored_min_max(doc: GltfDocument, index: int) -> tuple[list[Any], list[Any]]:
    """Per-component ``min`` and ``max`` of the values as stored (sparse applied).

    As the glTF spec requires, ``normalized`` has no effect: the bounds are the raw
    stored values. Integer accessors give Python ints, float accessors Python floats
    (float32 values widened exactly). An accessor with ``count == 0`` gives empty lists.
    """
    info = AccessorInfo(doc, index)
    values = _raw_values(doc, info)
    if len(values) == 0:
        return [], []
    lo: list[Any] = []
    hi: list[Any] = []
    for i in range(values.shape[1]):
        col = np.ascontiguousarray(values[:, i])
        if values.dtype.kind in "iu":
            lo.append(int(col.min()))
            hi.append(int(col.max()))
        else:
            lo.append(float(col.min()))
            hi.append(float(col.max()))
    return lo, hi


def update_min_max(doc: GltfDocument, index: int) -> None:
    """Recompute ``min``/``max`` of accessor ``index`` from its stored values (JSON edited in place).

    The keys are replaced where they were; when absent they are added.
    """
    lo, hi = stored_min_max(doc, index)
    acc = doc.json["accessors"][index]
    acc["min"] = lo
    acc["max"] = hi
