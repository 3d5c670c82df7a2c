"""STL, binary and ASCII, edited in place: only vertices and facet normals change.

Binary STL keeps its 80-byte header, triangle count and per-facet attribute bytes;
vertices are stored as little-endian float32, written once from float64 math. ASCII
STL keeps every line except the numbers of ``vertex`` and ``facet normal`` lines
(solid names, whitespace and line endings stay). Facet normals are mapped by the
cofactor of the scale and renormalised; zero normals stay zero.

Every STL vertex belongs to a facet, so every vertex is measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..errors import EmptyInputError, UnreadableInputError
from ..fit import Fit
from ..vectors import point_bounds, transform_normals, transform_points
from .base import Measurement
from .obj import format_float

__all__ = ["BINARY_FACET", "StlFile", "read_stl"]

#: One facet of a binary STL: normal, three vertices, attribute byte count.
BINARY_FACET = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
_HEADER = 84
_TOKEN = re.compile(r"\S+")
_ASCII_KEYWORDS = {"solid", "endsolid", "facet", "endfacet", "outer", "endloop", "vertex"}


@dataclass
class StlFile:
    """An STL file and its coordinates.

    Attributes
    ----------
    path : Path
    raw : bytes
        The file as read.
    binary : bool
    positions : (3 * n, 3) float64 or float32
        Vertices in file order (float32 for binary STL).
    normals : (n, 3)
        Facet normals in file order.
    v_lines, n_lines : (k,) int
        ASCII only: index into ``lines`` of each ``vertex`` / ``facet normal`` line.
    lines : list of str
        ASCII only: the text split into lines with their endings.
    faces : int
        Number of facets.
    solids : int
        Number of ``solid`` blocks (1 for binary STL).
    """

    path: Path
    raw: bytes
    binary: bool
    positions: NDArray[np.floating]
    normals: NDArray[np.floating]
    v_lines: NDArray[np.intp]
    n_lines: NDArray[np.intp]
    lines: list[str]
    faces: int
    solids: int = 1

    def measure(self) -> Measurement:
        """Bounds of every vertex.

        Raises
        ------
        EmptyInputError
            No facet.
        NonFiniteInputError
            A NaN or infinite coordinate.
        """
        if len(self.positions) == 0:
            raise EmptyInputError("STL has no facet, so there is no bounding box", self.path)
        try:
            lo, hi = point_bounds(self.positions, what="STL vertices")
        except EmptyInputError as exc:  # pragma: no cover - guarded above
            raise exc.with_path(self.path) from None
        except ValueError as exc:
            with_path = getattr(exc, "with_path", None)
            if with_path is not None:
                raise with_path(self.path) from None
            raise
        counts = {"vertices": len(self.positions), "faces": self.faces, "meshes": self.solids}
        return Measurement(lo=lo, hi=hi, counts=counts, format="stl")

    def fitted_bytes(self, fit: Fit) -> bytes:
        """The whole file with vertices and facet normals mapped by ``fit``."""
        if self.binary:
            facets = np.frombuffer(self.raw, dtype=BINARY_FACET, count=self.faces, offset=_HEADER).copy()
            verts = facets["vertices"].reshape(-1, 3)
            facets["vertices"] = np.asarray(
                transform_points(verts, fit.scale, fit.translation), dtype="<f4"
            ).reshape(-1, 3, 3)
            facets["normal"] = np.asarray(transform_normals(facets["normal"], fit.scale), dtype="<f4")
            return self.raw[:_HEADER] + bytes(facets.tobytes())
        lines = list(self.lines)
        moved = np.asarray(transform_points(self.positions, fit.scale, fit.translation))
        for k, row in zip(self.v_lines.tolist(), moved.tolist(), strict=True):
            lines[k] = _replace(lines[k], 1, row)
        if len(self.normals):
            turned = np.asarray(transform_normals(self.normals, fit.scale))
            for k, row in zip(self.n_lines.tolist(), turned.tolist(), strict=True):
                lines[k] = _replace(lines[k], 2, row)
        return "".join(lines).encode("latin-1")


def _replace(line: str, first: int, values: list[float]) -> str:
    spans = [m.span() for m in _TOKEN.finditer(line)][first : first + 3]
    out = line
    for (start, end), value in reversed(list(zip(spans, values, strict=False))):
        out = out[:start] + format_float(value) + out[end:]
    return out


def read_stl(path: Path) -> StlFile:
    """Read a binary or ASCII STL file.

    A file is binary when its size is exactly ``84 + 50 * count`` for the triangle
    count in its header; otherwise it must be ASCII STL (``solid ...``).

    Raises
    ------
    UnreadableInputError
        Neither a complete binary STL nor well-formed ASCII STL (truncated, garbage).
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableInputError(f"cannot read: {exc.strerror or exc}", path) from None
    empty_i = np.zeros(0, dtype=np.intp)
    if len(raw) >= _HEADER:
        count = int(np.frombuffer(raw, dtype="<u4", count=1, offset=80)[0])
        if len(raw) == _HEADER + 50 * count:
            facets = np.frombuffer(raw, dtype=BINARY_FACET, count=count, offset=_HEADER)
            return StlFile(
                path=path,
                raw=raw,
                binary=True,
                positions=facets["vertices"].reshape(-1, 3),
                normals=facets["normal"],
                v_lines=empty_i,
                n_lines=empty_i,
                lines=[],
                faces=count,
            )
    else:
        count = -1
    if raw.lstrip()[:5].lower() == b"solid" and b"\x00" not in raw:
        return _read_ascii(path, raw)
    if count >= 0:
        raise UnreadableInputError(
            f"binary STL header says {count} triangles ({_HEADER + 50 * count} bytes) but the file "
            f"has {len(raw)} bytes: truncated or corrupt; nor is it ASCII STL",
            path,
        )
    raise UnreadableInputError(
        f"file of {len(raw)} bytes is too short for binary STL (84-byte header) and is not ASCII STL",
        path,
    )


def _read_ascii(path: Path, raw: bytes) -> StlFile:
    lines = raw.decode("latin-1").splitlines(keepends=True)
    positions: list[list[float]] = []
    normals: list[list[float]] = []
    v_lines: list[int] = []
    n_lines: list[int] = []
    solids = 0
    for k, line in enumerate(lines):
        tokens = line.split()
        if not tokens:
            continue
        keyword = tokens[0].lower()
        if keyword.startswith("endsolid"):
            solids += keyword[len("endsolid") :].startswith("solid")
            continue  # "endsolidsolid name": two solids glued without a newline
        if keyword not in _ASCII_KEYWORDS:
            raise UnreadableInputError(
                f"line {k + 1}: unexpected {tokens[0][:20]!r}; expected an ASCII STL keyword "
                "(solid, facet, outer loop, vertex, endloop, endfacet, endsolid)",
                path,
            )
        if keyword == "solid":
            solids += 1
        elif keyword == "vertex":
            positions.append(_numbers(tokens, 1, k, path, "vertex x y z"))
            v_lines.append(k)
        elif keyword == "facet":
            if len(tokens) >= 2 and tokens[1].lower() == "normal":
                normals.append(_numbers(tokens, 2, k, path, "facet normal i j k"))
                n_lines.append(k)
            else:
                normals.append([0.0, 0.0, 0.0])
                n_lines.append(-1)
    keep = np.array(n_lines, dtype=np.intp)
    normals_arr = np.array(normals, dtype=np.float64).reshape(-1, 3)
    has_line = keep >= 0
    return StlFile(
        path=path,
        raw=raw,
        binary=False,
        positions=np.array(positions, dtype=np.float64).reshape(-1, 3),
        normals=normals_arr[has_line],
        v_lines=np.array(v_lines, dtype=np.intp),
        n_lines=keep[has_line],
        lines=lines,
        faces=len(normals),
        solids=max(solids, 1),
    )


def _numbers(tokens: list[str], first: int, k: int, path: Path, what: str) -> list[float]:
    try:
        if len(tokens) < first + 3:
            raise ValueError
        return [float(t) for t in tokens[first : first + 3]]
    except ValueError:
        got = " ".join(tokens)[:60]
        raise UnreadableInputError(f"line {k + 1}: expected {what!r}, got {got!r}", path) from None
