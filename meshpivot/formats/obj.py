"""Wavefront OBJ read and rewritten as text, losslessly except for the coordinates.

Only ``v`` lines (the first three numbers: ``x y z``) and ``vn`` lines are rewritten;
any further components of a ``v`` line (``w``, vertex colours ``r g b``), trailing
comments, whitespace, line endings and every other line stay byte for byte. The
``.mtl`` files named by ``mtllib`` and the texture files they name are copied beside
the output under the same relative names, so every reference stays valid.

Text handling: a UTF-16 file (with its byte order mark) is decoded and encoded back
as UTF-16; anything else is treated as bytes through Latin-1, which round-trips every
byte, so files in any ASCII-compatible encoding are kept exactly.

Bounds (SPEC.md section 2 as far as OBJ allows): the vertices referenced by ``f``,
``l`` and ``p`` elements; a file with no element at all is a point set and every
``v`` counts. Free-form geometry (``curv``, ``surf``) is not measured.
"""

from __future__ import annotations

import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import EmptyInputError, UnreadableInputError
from ..fit import Fit
from ..vectors import point_bounds, transform_normals, transform_points
from .base import Measurement

__all__ = ["ObjFile", "copy_sidecars", "format_float", "read_obj"]

# A token of a statement: a backslash never belongs to a number or an index, so a
# line continuation (backslash, newline) reads as whitespace.
_TOKEN = re.compile(r"[^\s\\]+")
_ELEMENTS = ("f", "l", "p")
_ELEMENT_COUNTS = {"f": "faces", "l": "lines", "p": "points"}
_FREEFORM = ("curv", "curv2", "surf")
# Controls that never appear in OBJ text; \t \n \v \f \r and \x1a (DOS end of file) may.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_TEXTURE_KEYWORDS = ("bump", "disp", "decal", "refl", "norm")


def format_float(value: float) -> str:
    """Shortest text that reads back as the same float64 (``repr``), ``-0`` as ``0``."""
    return repr(float(value) + 0.0)


def format_floats(values: NDArray[np.float64]) -> list[str]:
    """:func:`format_float` of every value, in order: the ``+ 0.0`` made once, in numpy."""
    return list(map(repr, (np.asarray(values, dtype=np.float64) + 0.0).reshape(-1).tolist()))


@dataclass
class ObjFile:
    """An OBJ file split into logical lines, with its coordinates parsed.

    Attributes
    ----------
    path : Path
        The input file.
    prefix : bytes
        Byte order mark kept verbatim (may be empty).
    codec : str
        ``latin-1`` (byte-transparent), ``utf-16-le`` or ``utf-16-be``.
    lines : list of str
        Logical lines with their endings (a line continued by a backslash holds the
        physical lines it spans); ``"".join(lines)`` is the decoded text.
    positions : (n, 3) float64
        ``x y z`` of every ``v`` line, in file order.
    v_lines : (n,) int
        Index into ``lines`` of each ``v`` line.
    normals : (m, 3) float64
        Every ``vn`` line.
    vn_lines : (m,) int
        Index into ``lines`` of each ``vn`` line.
    referenced : (n,) bool
        Vertices used by an ``f``, ``l`` or ``p`` element.
    counts : dict of str to int
    mtllibs : list of str
        The names given by ``mtllib`` statements, as written.
    notes : list of str
    """

    path: Path
    prefix: bytes
    codec: str
    lines: list[str]
    positions: NDArray[np.float64]
    v_lines: NDArray[np.intp]
    normals: NDArray[np.float64]
    vn_lines: NDArray[np.intp]
    referenced: NDArray[np.bool_]
    counts: dict[str, int]
    mtllibs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def has_elements(self) -> bool:
        """True when some ``f``, ``l`` or ``p`` element exists."""
        return self.counts.get("faces", 0) + self.counts.get("lines", 0) + self.counts.get("points", 0) > 0

    def measure(self) -> Measurement:
        """Bounds of the drawn vertices (all of them for a point-only file).

        Raises
        ------
        EmptyInputError
            No ``v`` line.
        NonFiniteInputError
            A drawn vertex has a NaN or infinite coordinate.
        """
        if len(self.positions) == 0:
            raise EmptyInputError("no vertex ('v' line), so there is no bounding box", self.path)
        points = self.positions[self.referenced] if self.has_elements else self.positions
        try:
            lo, hi = point_bounds(points, what="OBJ vertices")
        except (EmptyInputError, ValueError) as exc:
            if hasattr(exc, "with_path"):
                raise exc.with_path(self.path) from None
            raise
        notes = list(self.notes)
        unused = int(len(self.positions) - np.count_nonzero(self.referenced))
        if self.has_elements and unused:
            notes.append(f"{unused} vertices used by no element are not measured (they are still moved)")
        return Measurement(lo=lo, hi=hi, counts=dict(self.counts), format="obj", notes=notes)

    def fitted_bytes(self, fit: Fit) -> bytes:
        """The whole file with ``v`` and ``vn`` coordinates mapped by ``fit``.

        Every vertex is moved, referenced or not; normals go by the cofactor of the
        scale and are renormalised.
        """
        lines = list(self.lines)
        if len(self.positions):
            moved = np.asarray(transform_points(self.positions, fit.scale, fit.translation))
            _replace_rows(lines, self.v_lines, moved)
        if len(self.normals):
            turned = np.asarray(transform_normals(self.normals, fit.scale))
            _replace_rows(lines, self.vn_lines, turned)
        return self.prefix + "".join(lines).encode(self.codec)


#: ``keyword x y z`` at the start of a line with no comment and no backslash: the
#: groups are the text around the three numbers, so that only the numbers change.
_THREE = re.compile(r"(\s*\S+\s+)(\S+)(\s+)(\S+)(\s+)(\S+)")


def _replace_rows(lines: list[str], where: NDArray[np.intp], values: NDArray[np.float64]) -> None:
    """Put ``values[i]`` (``x y z``) into ``lines[where[i]]`` in place of its 2nd to 4th tokens.

    The numbers are written as :func:`format_float` writes them (``repr``, ``-0`` as
    ``0``), all at once; a line with a comment or a backslash goes through
    :func:`_replace_numbers`, which finds its tokens the careful way.
    """
    numbers = values.reshape(-1).tolist()
    texts = format_floats(values)
    match = _THREE.match
    for i, k in enumerate(where.tolist()):
        line = lines[k]
        m = None if "#" in line or "\\" in line else match(line)
        if m is None:
            lines[k] = _replace_numbers(line, numbers[3 * i : 3 * i + 3])
            continue
        lines[k] = "".join(
            (m[1], texts[3 * i], m[3], texts[3 * i + 1], m[5], texts[3 * i + 2], line[m.end() :])
        )


def _replace_numbers(line: str, values: list[float]) -> str:
    """Replace the 2nd to 4th tokens of ``line`` (``v x y z ...``), keeping all else."""
    statement = line.split("#", 1)[0]
    spans = [m.span() for m in _TOKEN.finditer(statement)][1:4]
    out = line
    for (start, end), value in reversed(list(zip(spans, values, strict=False))):
        out = out[:start] + format_float(value) + out[end:]
    return out


def _decode(raw: bytes, path: Path) -> tuple[bytes, str, str]:
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        codec = "utf-16-le" if raw.startswith(b"\xff\xfe") else "utf-16-be"
        try:
            return raw[:2], codec, raw[2:].decode(codec)
        except UnicodeDecodeError as exc:
            raise UnreadableInputError(
                f"OBJ text marked as {codec.upper()} cannot be decoded (byte {exc.start + 2})", path
            ) from None
    prefix = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    body = raw[len(prefix) :]
    bad = _BINARY_BYTES.search(body)
    if bad:
        raise UnreadableInputError(
            f"binary data at byte {bad.start() + len(prefix)} (0x{body[bad.start()]:02x}); expected OBJ text",
            path,
        )
    return prefix, "latin-1", body.decode("latin-1")


def _logical_lines(text: str) -> list[str]:
    physical = text.splitlines(keepends=True)
    if "\\" not in text:
        return physical  # no line can be continued
    out: list[str] = []
    buf = ""
    for line in physical:
        buf += line
        if line.rstrip("\r\n").endswith("\\") and line != line.rstrip("\r\n"):
            continue  # continued on the next physical line
        out.append(buf)
        buf = ""
    if buf:
        out.append(buf)
    return out


def _three(tokens: list[str], lineno: int, keyword: str, what: str, path: Path) -> list[float]:
    try:
        if len(tokens) < 4:
            raise ValueError
        return [float(tokens[1]), float(tokens[2]), float(tokens[3])]
    except ValueError:
        got = " ".join(tokens)
        if len(got) > 60:
            got = got[:57] + "..."
        raise UnreadableInputError(
            f"line {lineno}: {keyword!r} needs three numbers {what}, got {got!r}", path
        ) from None


@dataclass
class _Scan:
    """What a pass over the logical lines finds (:func:`_careful_scan`, :func:`_bulk_scan`)."""

    positions: NDArray[np.float64]
    v_lines: NDArray[np.intp]
    normals: NDArray[np.float64]
    vn_lines: NDArray[np.intp]
    used: NDArray[np.intp]  # 1-based vertex numbers of element corners, negative ones resolved
    max_positive: int  # the largest positive number written (0: none)
    counts: dict[str, int]  # faces, lines, points: element statements
    objects: int
    freeform: int
    mtllibs: list[str]


def read_obj(path: Path) -> ObjFile:
    """Read and parse an OBJ file.

    Parameters
    ----------
    path : Path

    Returns
    -------
    ObjFile

    Raises
    ------
    UnreadableInputError
        The file cannot be read, is binary, or a ``v``/``vn`` line or an element
        index is malformed or out of range.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableInputError(f"cannot read: {exc.strerror or exc}", path) from None
    prefix, codec, text = _decode(raw, path)
    lines = _logical_lines(text)
    scan = (_bulk_scan(raw, lines, len(prefix)) if codec == "latin-1" else None) or _careful_scan(lines, path)

    n = len(scan.positions)
    _check_references(scan.max_positive, n, path)
    referenced = np.zeros(n, dtype=bool)
    referenced[scan.used - 1] = True  # ``used`` holds 1-based indices
    notes = []
    if scan.freeform:
        notes.append(
            f"{scan.freeform} free-form curves/surfaces are not measured (their control points are moved)"
        )
    counts = scan.counts
    out_counts = {
        "vertices": n,
        "faces": counts["faces"],
        "meshes": max(scan.objects, 1) if (n and (any(counts.values()))) else (1 if n else 0),
    }
    if counts["lines"]:
        out_counts["lines"] = counts["lines"]
    if counts["points"]:
        out_counts["points"] = counts["points"]
    if len(scan.normals):
        out_counts["normals"] = len(scan.normals)
    return ObjFile(
        path=path,
        prefix=prefix,
        codec=codec,
        lines=lines,
        positions=scan.positions,
        v_lines=scan.v_lines,
        normals=scan.normals,
        vn_lines=scan.vn_lines,
        referenced=referenced,
        counts=out_counts,
        mtllibs=scan.mtllibs,
        notes=notes,
    )


def _check_references(max_positive: int, n: int, path: Path) -> None:
    if max_positive > n:
        raise UnreadableInputError(f"an element refers to vertex {max_positive}, but the file defines only {n}", path)


def _careful_scan(lines: list[str], path: Path) -> _Scan:
    """Every logical line in turn, with the messages (and line numbers) of malformed ones."""
    positions: list[list[float]] = []
    v_lines: list[int] = []
    normals: list[list[float]] = []
    vn_lines: list[int] = []
    used: list[int] = []
    max_positive = 0
    counts = {"faces": 0, "lines": 0, "points": 0}
    objects = 0
    freeform = 0
    mtllibs: list[str] = []
    lineno = 1
    for k, line in enumerate(lines):
        this_line = lineno
        lineno += line.count("\n") or (1 if line.endswith("\r") else 0)
        if "#" in line or "\\" in line:
            statement = line.split("#", 1)[0]
            tokens = _TOKEN.findall(statement)
        else:  # the same tokens: without a backslash, _TOKEN is str.split's whitespace split
            statement = line
            tokens = line.split()
        if not tokens:
            continue
        keyword = tokens[0]
        if keyword == "v":
            positions.append(_three(tokens, this_line, "v", "x y z", path))
            v_lines.append(k)
        elif keyword == "vn":
            normals.append(_three(tokens, this_line, "vn", "i j k", path))
            vn_lines.append(k)
        elif keyword in _ELEMENTS:
            n = len(positions)
            counts[_ELEMENT_COUNTS[keyword]] += 1
            try:  # the common case: every index a positive number
                ids = [int(token.partition("/")[0]) for token in tokens[1:]]
            except ValueError:
                ids = []
            if ids and len(ids) == len(tokens) - 1 and min(ids) > 0:
                used.extend(ids)
                max_positive = max(max_positive, max(ids))
                continue
            for token in tokens[1:]:
                head = token.split("/", 1)[0]
                try:
                    index = int(head)
                except ValueError:
                    raise UnreadableInputError(
                        f"line {this_line}: {keyword!r} has {token!r}; expected a vertex index", path
                    ) from None
                if index < 0:
                    if -index > n:
                        raise UnreadableInputError(
                            f"line {this_line}: {keyword!r} refers to vertex {index}, "
                            f"but only {n} are defined before it",
                            path,
                        )
                    used.append(n + index + 1)
                elif index == 0:
                    raise UnreadableInputError(
                        f"line {this_line}: {keyword!r} refers to vertex 0; OBJ indices start at 1", path
                    )
                else:
                    used.append(index)
                    max_positive = max(max_positive, index)
        elif keyword == "o":
            objects += 1
        elif keyword in _FREEFORM:
            freeform += 1
        elif keyword == "mtllib":
            rest = statement.strip()[len("mtllib") :].strip()
            if rest:
                mtllibs.append(rest)
    _check_references(max_positive, len(positions), path)  # before numbers too large for an array
    return _Scan(
        positions=np.array(positions, dtype=np.float64).reshape(-1, 3),
        v_lines=np.array(v_lines, dtype=np.intp),
        normals=np.array(normals, dtype=np.float64).reshape(-1, 3),
        vn_lines=np.array(vn_lines, dtype=np.intp),
        used=np.asarray(used, dtype=np.intp),
        max_positive=max_positive,
        counts=counts,
        objects=objects,
        freeform=freeform,
        mtllibs=mtllibs,
    )


def _byte_table(chars: bytes) -> NDArray[np.bool_]:
    table = np.zeros(256, dtype=bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


_BLANK = _byte_table(b" \t\r\n")
# Whitespace of str.split() and line breaks of str.splitlines() other than those, and the
# backslash of a continued line: where one is, the bulk scan does not go.
_ODD = tuple(bytes((c,)) for c in b"\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\\")
_DECIMAL = _byte_table(b"0123456789eE+-. \t\r\n")  # no letter: no nan, inf or hexadecimal
_C_M_S = _byte_table(b"cms")  # first bytes of curv, curv2, surf and mtllib
_SPACE = ord(" ")
_MAX_DIGITS = 18  # a vertex number int64 holds


def _bulk_scan(raw: bytes, lines: list[str], offset: int = 0) -> _Scan | None:
    """:func:`_careful_scan` of plain text in bulk, or ``None`` where it could differ.

    Plain: comments only on lines of their own, no backslash, no statement after a blank
    at the start of a line, no whitespace or line break but space, tab, CR and LF, every
    ``v``/``vn`` line with at least three numbers written in digits (no ``nan``), every
    element corner a plain positive number (no relative ``-1``). ``raw[offset:]`` holds
    the bytes of the lines, one per character. Lines are sorted by their first bytes, and
    the bytes of each kind gathered and read at once (numbers by ``numpy.fromstring``,
    correctly rounded as ``float`` is): no statement costs a turn of a Python loop.
    ``None`` sends the file to the careful scan, which also words any error.
    """
    if not lines or any(raw.find(odd, offset) >= 0 for odd in _ODD):  # memchr, not a pass in numpy
        return None
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    size = np.fromiter(map(len, lines), dtype=np.intp, count=len(lines))
    start = np.cumsum(size) - size
    padded = np.concatenate([data, np.frombuffer(b"\n\n\n", dtype=np.uint8)])
    heads = (padded[start], padded[start + 1], padded[start + 2])
    commented = np.searchsorted(start, np.flatnonzero(data == ord("#")), side="right") - 1
    commented = commented[np.r_[True, commented[1:] != commented[:-1]]] if len(commented) else commented
    indented = commented[heads[0][commented] != ord("#")]  # a line that opens with "#" is a comment
    if not all(lines[k].lstrip(" \t").startswith("#") for k in indented):
        return None  # a comment after a statement: the careful scan cuts it off

    def after(keyword: bytes) -> NDArray[np.intp]:
        """The lines whose first token is ``keyword``."""
        mask = _BLANK[heads[len(keyword)]]
        for k, byte in enumerate(keyword):
            mask &= heads[k] == byte
        return np.flatnonzero(mask)

    leading = np.flatnonzero(_BLANK[heads[0]])
    if any(lines[k].strip() and not lines[k].lstrip(" \t").startswith("#") for k in leading):
        return None  # a statement after a blank: the careful scan reads it
    v_at, vn_at = after(b"v"), after(b"vn")
    element_at = {name: after(keyword.encode()) for keyword, name in _ELEMENT_COUNTS.items()}
    kind = np.zeros(len(lines), dtype=np.uint8)  # 1: v, 2: vn, 3: an element
    kind[v_at], kind[vn_at] = 1, 2
    for at in element_at.values():
        kind[at] = 3
    per_byte = np.repeat(kind, size)
    used = _bulk_corners(data, per_byte == 3, size[np.flatnonzero(kind == 3)])
    if used is None:
        return None  # first: relative indices are the likeliest reason to leave
    positions = _bulk_three(data, per_byte == 1, size[v_at], 1)
    normals = _bulk_three(data, per_byte == 2, size[vn_at], 2)
    if positions is None or normals is None:
        return None
    freeform = 0
    mtllibs: list[str] = []
    for k in np.flatnonzero(_C_M_S[heads[0]]):
        keyword = lines[k].split(None, 1)[0]
        if keyword in _FREEFORM:
            freeform += 1
        elif keyword == "mtllib":
            rest = lines[k].strip()[len("mtllib") :].strip()
            if rest:
                mtllibs.append(rest)
    return _Scan(
        positions=positions,
        v_lines=v_at.astype(np.intp),
        normals=normals,
        vn_lines=vn_at.astype(np.intp),
        used=used,
        max_positive=int(used.max()) if len(used) else 0,
        counts={name: len(at) for name, at in element_at.items()},
        objects=len(after(b"o")),
        freeform=freeform,
        mtllibs=mtllibs,
    )


def _gather(data: NDArray[np.uint8], mask: NDArray[np.bool_], sizes: NDArray[np.intp], skip: int) -> tuple[
    NDArray[np.uint8], NDArray[np.intp], NDArray[np.bool_]
]:
    """The bytes of the lines ``mask`` marks (of ``sizes``), their keywords (``skip``
    bytes) blanked; where each line starts in them; where each token starts."""
    out = data[mask]
    starts = np.cumsum(sizes) - sizes
    for k in range(skip):
        out[starts + k] = _SPACE
    blank = _BLANK[out]
    token = ~blank
    token[1:] &= blank[:-1]
    return out, starts, token


def _fromstring(raw: NDArray[np.uint8], dtype: type[np.generic], count: int) -> NDArray[Any] | None:
    """The ``count`` numbers of the blank-separated ``raw`` text; ``None`` unless there are
    exactly that many (one per token: ``1-2`` reads as two, ``1e`` not at all)."""
    with warnings.catch_warnings():
        # numpy before 2.3 stops at a token it cannot read and only warns: an error here too.
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(raw.tobytes(), dtype=dtype, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    return values if len(values) == count else None


def _bulk_three(
    data: NDArray[np.uint8], mask: NDArray[np.bool_], sizes: NDArray[np.intp], skip: int
) -> NDArray[np.float64] | None:
    """The first three numbers after the keyword (``skip`` bytes) of each line ``mask``
    marks (``None``: a line has fewer, or one is not a plain decimal number)."""
    if len(sizes) == 0:
        return np.zeros((0, 3))
    raw, starts, token = _gather(data, mask, sizes, skip)
    if not _DECIMAL[raw].all():
        return None
    per_line = np.add.reduceat(token, starts, dtype=np.intp)
    if per_line.min() < 3:
        return None
    values = _fromstring(raw, np.float64, int(per_line.sum()))
    if values is None:
        return None
    first = np.cumsum(per_line) - per_line
    return values[first[:, None] + np.arange(3)]


def _bulk_corners(data: NDArray[np.uint8], mask: NDArray[np.bool_], sizes: NDArray[np.intp]) -> NDArray[np.intp] | None:
    """The vertex number of every corner of the element lines ``mask`` marks: the digits
    that open the corner, up to a blank or a slash (``None``: a corner opens otherwise,
    with a sign say, or its number is 0 or longer than 18 digits)."""
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.intp)
    raw, _, token = _gather(data, mask, sizes, 1)
    at = np.flatnonzero(token)
    text = np.concatenate([raw, np.full(_MAX_DIGITS + 1, _SPACE, dtype=np.uint8)])
    value = np.zeros(len(at), dtype=np.int64)
    digits = np.zeros(len(at), dtype=np.intp)
    going = np.ones(len(at), dtype=bool)
    for d in range(_MAX_DIGITS + 1):  # digit by digit, every corner at once
        c = text[at + d]
        going &= (c >= ord("0")) & (c <= ord("9"))
        if not going.any():
            break
        if d == _MAX_DIGITS:
            return None
        value[going] = value[going] * 10 + (c[going] - ord("0"))
        digits += going
    end = text[at + digits]
    if len(at) and (digits.min() == 0 or not (_BLANK[end] | (end == ord("/"))).all() or value.min() < 1):
        return None
    return value.astype(np.intp, copy=False)


# --- sidecar files -----------------------------------------------------------------


def _inside(root: Path, name: str, base: Path) -> Path | None:
    """``name`` (as written in a file) resolved against ``base``, if it stays in ``root``."""
    text = name.strip().strip('"').replace("\\", "/")
    if not text or PurePosixPath(text).is_absolute() or re.match(r"^[A-Za-z]:", text):
        return None
    candidate = (base / text).resolve()
    try:
        candidate.relative_to(root)
    except ValueError:
        return None
    return candidate


def _find(root: Path, names: list[str], bases: list[Path]) -> Path | None:
    for name in names:
        for base in bases:
            found = _inside(root, name, base)
            if found is not None and found.is_file():
                return found
    return None


def _texture_names(mtl: Path) -> list[tuple[str, list[str]]]:
    """``(statement, candidate file names)`` for every texture statement of ``mtl``."""
    try:
        text = mtl.read_bytes().decode("latin-1")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        tokens = stripped.split()
        if len(tokens) < 2:
            continue
        keyword = tokens[0].lower()
        if not (keyword.startswith("map_") or keyword in _TEXTURE_KEYWORDS):
            continue
        rest = stripped[len(tokens[0]) :].strip()
        # Options (-s 1 1 1, -bm 0.5, ...) come first; the file name is last, and may
        # hold spaces: try the whole remainder, then the last token.
        out.append((stripped, [rest, tokens[-1]] if rest != tokens[-1] else [rest]))
    return out


def copy_sidecars(obj: ObjFile, dest_dir: Path) -> tuple[list[Path], list[str]]:
    """Copy the ``.mtl`` files and their textures beside the output.

    Each file is copied byte for byte to ``dest_dir`` under its path relative to the
    input's folder, so the names in the OBJ and the ``.mtl`` keep pointing at it. Only
    relative names that stay inside the input's folder are followed.

    Parameters
    ----------
    obj : ObjFile
    dest_dir : Path
        The staging folder (the output's folder).

    Returns
    -------
    files : list of Path
        Every file written.
    notes : list of str
        References that were not copied, and why.
    """
    root = obj.path.parent.resolve()
    files: list[Path] = []
    notes: list[str] = []
    done: set[Path] = set()

    def copy(src: Path) -> None:
        if src in done:
            return
        done.add(src)
        target = dest_dir / src.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        files.append(target)

    for statement in obj.mtllibs:
        # One statement may name several libraries; a single name may hold spaces.
        names = [statement] if _find(root, [statement], [root]) else statement.split()
        for name in names:
            mtl = _find(root, [name], [root])
            if mtl is None:
                notes.append(
                    f"material library {name!r} not found inside the input's folder; "
                    "reference kept, file not copied"
                )
                continue
            copy(mtl)
            for line, tex_names in _texture_names(mtl):
                tex = _find(root, tex_names, [mtl.parent, root])
                if tex is None:
                    notes.append(
                        f"texture of {line!r} in {mtl.name} not found inside the input's folder; "
                        "reference kept, file not copied"
                    )
                else:
                    copy(tex)
    return files, notes
