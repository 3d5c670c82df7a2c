"""PLY edited in place: only the vertex ``x y z`` (and ``nx ny nz``) values change.

The header, every other element (faces, edges, custom elements), every other vertex
property (colours, texture coordinates, custom ones) and the encoding stay exactly as
they were. Binary PLY is edited through a structured view with the file's own byte
order and property types; ASCII PLY has the numbers of each vertex record replaced,
written with the shortest text that reads back as the stored type.

This needs the vertex element to have no list property and, in a binary file, every
element before it to have none either (the usual layout, vertex first). Other layouts
raise :class:`PlyLayoutError`, and the caller falls back to trimesh (lossy).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import UnreadableInputError
from ..fit import Fit
from ..vectors import transform_normals, transform_points
from .obj import format_float

__all__ = ["PlyElement", "PlyHeader", "PlyLayoutError", "fitted_ply_bytes", "read_ply_header"]

_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip
_TOKEN = re.compile(r"\S+")


class PlyLayoutError(Exception):
    """The PLY layout is valid but not one this module edits in place."""


@dataclass
class PlyElement:
    """One ``element`` of a PLY header.

    Attributes
    ----------
    name : str
    count : int
    properties : list of (str, str or None)
        ``(name, numpy type code)``; the type is ``None`` for a list property.
    """

    name: str
    count: int
    properties: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def fixed(self) -> bool:
        """True when no property is a list, so every record has the same size."""
        return all(t is not None for _, t in self.properties)

    def dtype(self, order: str) -> np.dtype[np.void]:
        """Structured dtype of one record (fixed elements only)."""
        return np.dtype([(name, order + str(t)) for name, t in self.properties])


@dataclass
class PlyHeader:
    """A parsed PLY header.

    Attributes
    ----------
    encoding : {'ascii', 'binary_little_endian', 'binary_big_endian'}
    elements : list of PlyElement
    data_start : int
        Byte offset of the first record.
    """

    encoding: str
    elements: list[PlyElement]
    data_start: int

    def element(self, name: str) -> PlyElement | None:
        """The element called ``name``, if any."""
        return next((e for e in self.elements if e.name == name), None)


def read_ply_header(raw: bytes, path: Path) -> PlyHeader:
    """Parse the header of a PLY file.

    Raises
    ------
    UnreadableInputError
        Not a PLY file, or a malformed header.
    """
    if not raw.startswith(b"ply"):
        raise UnreadableInputError("not a PLY file: it does not start with 'ply'", path)
    end = raw.find(b"end_header")
    if end < 0:
        raise UnreadableInputError("PLY header has no 'end_header' line", path)
    newline = raw.find(b"\n", end)
    data_start = len(raw) if newline < 0 else newline + 1
    try:
        text = raw[:end].decode("ascii")
    except UnicodeDecodeError:
        raise UnreadableInputError("PLY header is not ASCII text", path) from None
    encoding = ""
    elements: list[PlyElement] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0] in ("ply", "comment", "obj_info"):
            continue
        try:
            if tokens[0] == "format":
                encoding = tokens[1]
            elif tokens[0] == "element":
                elements.append(PlyElement(tokens[1], int(tokens[2])))
            elif tokens[0] == "property":
                if not elements:
                    raise ValueError("property before any element")
                name = tokens[4] if tokens[1] == "list" else tokens[2]
                if any(name == known for known, _ in elements[-1].properties):
                    raise ValueError(f"property {name!r} appears twice in element {elements[-1].name!r}")
                if tokens[1] == "list":
                    for code in tokens[2:4]:
                        _TYPES[code]  # validates the count and item types (KeyError)
                    elements[-1].properties.append((name, None))
                else:
                    elements[-1].properties.append((name, _TYPES[tokens[1]]))
            else:
                raise ValueError(f"unknown keyword {tokens[0]!r}")
        except (IndexError, KeyError, ValueError) as exc:
            reason = f"unknown type {exc}" if isinstance(exc, KeyError) else str(exc) or "incomplete"
            raise UnreadableInputError(f"PLY header line {lineno} {line.strip()!r}: {reason}", path) from None
    if encoding not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise UnreadableInputError(
            f"PLY format is {encoding!r}; expected ascii, binary_little_endian or binary_big_endian", path
        )
    header = PlyHeader(encoding=encoding, elements=elements, data_start=data_start)
    _check_room(header, len(raw) - data_start, path)
    return header


def _check_room(header: PlyHeader, available: int, path: Path) -> None:
    """Refuse element counts the data cannot hold, before any reader allocates for them.

    A binary record takes at least its fixed properties plus the count of each list
    property; an ASCII record at least one token per property, each a character and
    a separator.
    """
    need = 0
    for element in header.elements:
        if element.count < 0:
            raise UnreadableInputError(f"PLY element {element.name!r} has count {element.count}", path)
        if header.encoding == "ascii":
            size = 2 * max(len(element.properties), 1)
        else:
            size = sum(np.dtype(t).itemsize if t is not None else 1 for _, t in element.properties)
        need += element.count * size
        if need > available + (1 if header.encoding == "ascii" else 0):
            raise UnreadableInputError(
                f"PLY header promises {element.count} {element.name!r} records, but the {available} bytes "
                f"of data cannot hold them: truncated or corrupt",
                path,
            )


def _text(value: float, code: str) -> str:
    if code == "f4":
        return str(np.float32(value + 0.0))
    if code == "f8":
        return format_float(value)
    return str(int(np.rint(value)))


def _mapped(columns: NDArray[np.float64], fit: Fit, normals: bool) -> NDArray[np.float64]:
    if normals:
        return np.asarray(transform_normals(columns, fit.scale), dtype=np.float64)
    return np.asarray(transform_points(columns, fit.scale, fit.translation), dtype=np.float64)


_GROUPS = ((("x", "y", "z"), False), (("nx", "ny", "nz"), True))


def fitted_ply_bytes(raw: bytes, header: PlyHeader, fit: Fit, path: Path) -> bytes:
    """The PLY file ``raw`` with vertex positions and normals mapped by ``fit``.

    Parameters
    ----------
    raw : bytes
        The whole input file.
    header : PlyHeader
        Its parsed header.
    fit : Fit
    path : Path
        Named in errors.

    Raises
    ------
    PlyLayoutError
        A layout this module does not edit in place.
    UnreadableInputError
        The data is shorter than the header promises.
    """
    vertex = header.element("vertex")
    if vertex is None:
        raise PlyLayoutError("no 'vertex' element")
    names = [n for n, _ in vertex.properties]
    if not all(a in names for a in ("x", "y", "z")):
        raise PlyLayoutError("vertex element lacks x, y or z")
    if not vertex.fixed:
        raise PlyLayoutError("vertex element has a list property")
    types = dict(vertex.properties)
    groups = [(axes, normal) for axes, normal in _GROUPS if all(a in names for a in axes)]

    if header.encoding != "ascii":
        order = "<" if header.encoding == "binary_little_endian" else ">"
        offset = header.data_start
        for element in header.elements:
            if element is vertex:
                break
            if not element.fixed:
                raise PlyLayoutError(f"element {element.name!r} before the vertices has a list property")
            offset += element.dtype(order).itemsize * element.count
        dtype = vertex.dtype(order)
        size = dtype.itemsize * vertex.count
        if len(raw) < offset + size:
            raise UnreadableInputError(
                f"PLY data ends at byte {len(raw)}, before the {vertex.count} vertices "
                f"(bytes {offset} to {offset + size}): truncated",
                path,
            )
        records = np.frombuffer(raw, dtype=dtype, count=vertex.count, offset=offset).copy()
        for axes, normal in groups:
            columns = np.stack([records[a].astype(np.float64) for a in axes], axis=1)
            moved = _mapped(columns, fit, normal)
            for i, a in enumerate(axes):
                column = moved[:, i]
                if records.dtype[a].kind in "iu":
                    column = np.rint(column)
                records[a] = column
        return raw[:offset] + bytes(records.tobytes()) + raw[offset + size :]

    text = raw[header.data_start :].decode("latin-1")
    lines = text.splitlines(keepends=True)
    skip = 0
    for element in header.elements:
        if element is vertex:
            break
        skip += element.count
    # One record per line, blank lines ignored (what PLY writers produce).
    record_lines: list[int] = []
    seen = 0
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        if seen >= skip:
            record_lines.append(k)
            if len(record_lines) == vertex.count:
                break
        seen += 1
    if len(record_lines) < vertex.count:
        raise UnreadableInputError(
            f"PLY data has {len(record_lines)} vertex records; the header promises {vertex.count}", path
        )
    values = np.empty((vertex.count, len(names)), dtype=np.float64)
    spans: list[list[tuple[int, int]]] = []
    for row, k in enumerate(record_lines):
        found = list(_TOKEN.finditer(lines[k]))
        if len(found) != len(names):
            raise PlyLayoutError(f"vertex record on data line {k + 1} is not one record per line")
        try:
            values[row] = [float(m.group()) for m in found]
        except ValueError:
            raise UnreadableInputError(
                f"PLY vertex record {row}: {lines[k].strip()[:60]!r} is not numbers", path
            ) from None
        spans.append([m.span() for m in found])
    replacements: dict[int, NDArray[np.float64]] = {}
    for axes, normal in groups:
        idx = [names.index(a) for a in axes]
        moved = _mapped(values[:, idx], fit, normal)
        for i, col in enumerate(idx):
            replacements[col] = moved[:, i]
    for row, k in enumerate(record_lines):
        line = lines[k]
        for col in sorted(replacements, reverse=True):
            start, end = spans[row][col]
            line = line[:start] + _text(float(replacements[col][row]), str(types[names[col]])) + line[end:]
        lines[k] = line
    return raw[: header.data_start] + "".join(lines).encode("latin-1")
