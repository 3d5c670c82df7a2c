"""The glTF container, read and written losslessly (``.glb`` and ``.gltf``).

:class:`GltfDocument` keeps the JSON exactly as ``json.loads`` parsed it (key order,
integer ``min``/``max``, empty ``extras``, unknown keys and extensions) and edits that
dict in place; it is never round-tripped through pygltflib objects. Buffer bytes are
numpy ``uint8`` arrays: the GLB BIN chunk and external ``.bin`` files are
memory-mapped read-only, so nothing is copied until an edit touches a buffer
(copy-on-write, once per buffer).

Conventions
-----------
* Positions in error messages are JSON pointers (``/buffers/1/uri``).
* A buffer is a list of *segments*: the bytes read from the file, then one segment
  per :meth:`GltfDocument.append_bytes`. Arrays returned by
  :meth:`GltfDocument.byte_range` stay valid for the document's life; appends never
  move existing bytes.
* Appended data starts 4-byte aligned (or more, on request) and the gap is zero-filled.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import math
import mmap
import os
import struct
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import unquote, unquote_to_bytes

import numpy as np
from numpy.typing import NDArray

from ..errors import NonFiniteInputError, OutputError, UnreadableInputError, UnsupportedInputError
from ..vectors import values_checked_here

__all__ = [
    "BUFFER_MIME_TYPES",
    "CHUNK_BIN",
    "CHUNK_JSON",
    "GLB_MAGIC",
    "BufferSource",
    "Bytes",
    "Deferred",
    "GltfDocument",
    "check_structure",
    "dumps_json",
    "parse_data_uri",
    "read_document",
]

GLB_MAGIC = 0x46546C67  # b"glTF"
CHUNK_JSON = 0x4E4F534A  # b"JSON"
CHUNK_BIN = 0x004E4942  # b"BIN\0"
#: Media types glTF allows in a data URI of a buffer.
BUFFER_MIME_TYPES = ("application/octet-stream", "application/gltf-buffer")

Bytes = NDArray[np.uint8]
Format = Literal["glb", "gltf"]

_EMPTY: Bytes = np.zeros(0, dtype=np.uint8)
_EMPTY.flags.writeable = False


@dataclass
class BufferSource:
    """Where the bytes of one glTF buffer came from.

    Attributes
    ----------
    kind : {'glb', 'data', 'file', 'none', 'new'}
        The GLB BIN chunk, a ``data:`` URI, an external file, or no data at all
        (a buffer without ``uri`` outside GLB, e.g. an ``EXT_meshopt_compression``
        fallback buffer), or a buffer added by :meth:`GltfDocument.add_buffer`.
    path : Path or None
        The resolved external file (``kind == 'file'``).
    relpath : str or None
        The percent-decoded URI relative to the asset folder (``kind == 'file'``).
    mime : str or None
        The media type of a data URI.
    """

    kind: Literal["glb", "data", "file", "none", "new"]
    path: Path | None = None
    relpath: str | None = None
    mime: str | None = None


class Deferred:
    """Bytes that are computed only when they are written, chunk by chunk.

    An edit that rewrites a large range (every position of a mesh) registers one with
    :meth:`GltfDocument.defer_range` instead of holding the new bytes in memory: the
    writer streams them into the output, so peak memory does not grow with the file.
    Anything that reads the range before then gets it computed in full
    (:meth:`materialize`), which is what an immediate edit would have given.

    Parameters
    ----------
    length : int
        How many bytes ``produce`` yields in total.
    produce : callable
        Returns an iterator of ``uint8`` arrays, in order; may be called more than once
        and must give the same bytes each time. An array need only stay valid until the
        next one is asked for (a producer may refill one buffer).
    pieces : callable, optional
        Returns consecutive edits that together give the same bytes, each computable on
        its own: the writer then shares them among its threads (:meth:`split`).
    """

    def __init__(
        self,
        length: int,
        produce: Callable[[], Iterator[Bytes]],
        pieces: Callable[[], Sequence[Deferred]] | None = None,
    ) -> None:
        self.length = length
        self._produce = produce
        self._pieces = pieces

    def __len__(self) -> int:
        return self.length

    def split(self) -> Sequence[Deferred]:
        """The consecutive pieces of this edit (``[self]`` when it has none), checked to add
        up to :attr:`length`."""
        if self._pieces is None:
            return [self]
        pieces = self._pieces()
        total = sum(len(p) for p in pieces)
        if total != self.length:
            raise RuntimeError(f"a deferred edit split into {total} bytes for a range of {self.length}")
        return pieces

    def parts(self) -> Iterator[Bytes]:
        """The bytes in order, checked to add up to :attr:`length`."""
        done = 0
        for part in self._produce():
            done += len(part)
            if done > self.length:
                break
            yield part
        if done != self.length:
            raise RuntimeError(f"a deferred edit produced {done} bytes for a range of {self.length}")

    def materialize(self) -> Bytes:
        """All the bytes as one new writable array."""
        out = np.empty(self.length, dtype=np.uint8)
        pos = 0
        for part in self.parts():
            out[pos : pos + len(part)] = part
            pos += len(part)
        return out


class _Buffer:
    """The bytes of one glTF buffer as a list of ``(offset, array)`` segments.

    A segment whose offset is in :attr:`deferred` holds the bytes as read (a read-only
    view) until it is written or read; then the :class:`Deferred` edit replaces them.
    """

    def __init__(self, base: Bytes, length: int) -> None:
        self.segments: list[tuple[int, Bytes]] = [(0, base)]
        self.length = length  # logical length (byteLength)
        self.writable = [False]
        self.edited = False
        self._joined: Bytes | None = None
        self.deferred: dict[int, Deferred] = {}

    def defer(self, start: int, end: int, edit: Deferred) -> bool:
        """Register ``edit`` as the new content of bytes ``start..end``.

        Only a range inside one read-only segment with no other deferred edit in it is
        accepted (``False`` otherwise: the caller edits the bytes directly).
        """
        try:
            k = self.find(start, end, materialize=False)
        except IndexError:
            return False
        off, seg = self.segments[k]
        if self.writable[k] or off in self.deferred or end - start != len(edit) or end == start:
            return False
        a, b = start - off, end - off
        pieces = [(o, sg) for o, sg in ((off, seg[:a]), (start, seg[a:b]), (end, seg[b:])) if len(sg)]
        self.segments[k : k + 1] = pieces
        self.writable[k : k + 1] = [False] * len(pieces)
        self.deferred[start] = edit
        self._joined = None
        self.edited = True
        return True

    def materialize(self, start: int = 0, end: int | None = None) -> None:
        """Compute the deferred edits that overlap bytes ``start..end`` (default: all)."""
        if not self.deferred:
            return
        stop = self.length if end is None else end
        for k, (off, seg) in enumerate(self.segments):
            if off in self.deferred and off < stop and off + len(seg) > start:
                self.segments[k] = (off, self.deferred.pop(off).materialize())
                self.writable[k] = True
                self._joined = None

    def find(self, start: int, end: int, *, materialize: bool = True) -> int:
        if materialize:
            self.materialize(start, end)
        for k in range(len(self.segments) - 1, -1, -1):
            off, seg = self.segments[k]
            if off <= start:
                if end <= off + len(seg):
                    return k
                break
        raise IndexError(start, end)

    def make_writable(self, k: int) -> Bytes:
        off, seg = self.segments[k]
        if not self.writable[k]:
            seg = np.array(seg, dtype=np.uint8, copy=True)
            self.segments[k] = (off, seg)
            self.writable[k] = True
            self._joined = None
        self.edited = True
        return seg

    def make_range_writable(self, start: int, end: int) -> Bytes:
        """A writable view of bytes ``start..end``, copying only that range (copy-on-write).

        A read-only segment is split around the range, so the rest of a large mapped
        buffer stays a view of the file. A range that spans segments merges them into one
        writable copy (views handed out earlier for those segments then go stale).
        """
        try:
            k = self.find(start, end)
        except IndexError:
            self.materialize(start, end)
            ks = [j for j, (o, sg) in enumerate(self.segments) if o < end and o + len(sg) > start]
            first = self.segments[ks[0]][0]
            merged = np.concatenate([self.segments[j][1] for j in ks])
            self.segments[ks[0] : ks[-1] + 1] = [(first, merged)]
            self.writable[ks[0] : ks[-1] + 1] = [True]
            self._joined = None
            self.edited = True
            return merged[start - first : end - first]
        off, seg = self.segments[k]
        if not self.writable[k]:
            a, b = start - off, end - off
            pieces: list[tuple[int, Bytes, bool]] = []
            if a > 0:
                pieces.append((off, seg[:a], False))
            pieces.append((start, np.array(seg[a:b], dtype=np.uint8, copy=True), True))
            if b < len(seg):
                pieces.append((end, seg[b:], False))
            self.segments[k : k + 1] = [(o, sg) for o, sg, _ in pieces]
            self.writable[k : k + 1] = [w for _, _, w in pieces]
            self._joined = None
            k += 1 if a > 0 else 0
            off, seg = self.segments[k]
        self.edited = True
        return seg[start - off : end - off]

    def joined(self) -> Bytes:
        self.materialize()
        if len(self.segments) == 1:
            return _readonly(self.segments[0][1][: self.length])
        if self._joined is None:
            self._joined = np.concatenate([s for _, s in self.segments])[: self.length]
            self._joined.flags.writeable = False
        return self._joined

    def chunks(self) -> Iterator[Bytes]:
        """The bytes in order, without joining; deferred edits computed."""
        self.materialize()
        for part in self.parts():
            assert not isinstance(part, Deferred)
            yield part

    def parts(self) -> Iterator[Bytes | Deferred]:
        """The bytes in order for a streaming write: deferred edits stay deferred."""
        remaining = self.length
        for off, seg in self.segments:
            part: Bytes | Deferred = self.deferred.get(off, seg)
            if isinstance(part, np.ndarray):
                part = part[:remaining]
            remaining -= len(part)
            if len(part):
                yield part


def dumps_json(data: Any) -> str:
    """Serialise glTF JSON compactly: ints stay ints, floats shortest round-trip.

    Parameters
    ----------
    data : object
        Parsed JSON (dicts keep their key order).

    Returns
    -------
    str
        Compact JSON text, non-ASCII characters kept as they are.

    Examples
    --------
    >>> dumps_json({"min": [0, -1], "scale": [0.1, 1e-07], "name": "❤"})
    '{"min":[0,-1],"scale":[0.1,1e-07],"name":"❤"}'
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=True)


def parse_data_uri(uri: str, where: str) -> tuple[str, bytes]:
    """Decode a ``data:`` URI.

    Parameters
    ----------
    uri : str
        ``data:[<mediatype>][;base64],<data>``.
    where : str
        JSON pointer named in error messages.

    Returns
    -------
    mime : str
        The media type (may be empty).
    data : bytes

    Raises
    ------
    UnreadableInputError
        The URI is malformed or its base64 is corrupt.
    """
    head, sep, payload = uri[5:].partition(",")
    if not sep:
        raise UnreadableInputError(f"{where}: data URI has no ',' before its data")
    params = head.split(";")
    mime = params[0].strip().lower()
    if "base64" in (p.strip().lower() for p in params[1:]):
        try:
            return mime, base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableInputError(f"{where}: data URI has corrupt base64 ({exc})") from None
    return mime, unquote_to_bytes(payload)


def _readonly(arr: Bytes) -> Bytes:
    view: Bytes = arr.view()
    view.flags.writeable = False
    return view


def file_identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """Device, inode, size, modification and change time: what tells a file's bytes apart
    from those it had (the change time moves on every write, and cannot be set back)."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _map_file(path: Path, offset: int = 0, length: int | None = None) -> Bytes:
    """Memory-map ``length`` bytes of ``path`` from ``offset`` read-only (empty -> empty array)."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())  # the file mapped, whatever the path names by now
        if length is None:
            length = st.st_size - offset
        if length <= 0:
            return _EMPTY
        mm = np.memmap(fh, dtype=np.uint8, mode="r", offset=offset, shape=(length,))
    _MAPPED[id(mm)] = mm
    _MAP_IDS[id(mm)] = file_identity(st)
    out: Bytes = np.ndarray((length,), dtype=np.uint8, buffer=mm)
    return out


# Live read-only file maps, so that writing can hand unchanged ranges to the kernel
# (os.copy_file_range) instead of copying them through Python.
_MAPPED: weakref.WeakValueDictionary[int, np.memmap[Any, Any]] = weakref.WeakValueDictionary()
# What each mapped file was when it was mapped: a file replaced since (same path, new
# inode or contents) must not be read by path in its place.
_MAP_IDS: dict[int, tuple[int, int, int, int, int]] = {}


#: Maps smaller than this keep their pages until they are closed: a madvise call per
#: chunk costs more than the memory it would give back (a batch of small files runs
#: one document at a time, each unmapped when done).
RELEASE_MIN = 32 << 20


def release_pages(arr: NDArray[Any]) -> None:
    """Drop the resident pages of the file map that ``arr`` views (best effort, no-op otherwise).

    Read-only file pages cost no correctness to drop: touching them again re-reads the
    file. Hot loops call this after each chunk so that memory does not grow with the file.
    """
    base: Any = arr
    while base is not None and not isinstance(base, np.memmap):
        base = getattr(base, "base", None)
    if not isinstance(base, np.memmap):
        return
    raw = getattr(base, "_mmap", None)
    if raw is None or not hasattr(raw, "madvise") or arr.size == 0 or len(raw) < RELEASE_MIN:
        return
    page = mmap.PAGESIZE
    map_ptr = base.__array_interface__["data"][0] - int(base.offset) % mmap.ALLOCATIONGRANULARITY
    lo = arr.__array_interface__["data"][0] - map_ptr
    span = sum((n - 1) * abs(st) for n, st in zip(arr.shape, arr.strides, strict=True)) + arr.itemsize
    start = max(0, lo - lo % page)
    end = min(len(raw), lo + span)
    if end > start:
        try:
            raw.madvise(mmap.MADV_DONTNEED, start, end - start)
        except (OSError, ValueError):
            pass


def file_region(part: Bytes) -> tuple[str, int, tuple[int, int, int, int, int]] | None:
    """``(path, offset, identity)`` of the file bytes that ``part`` is a read-only view of, or ``None``."""
    if part.flags.writeable or not part.flags.c_contiguous or part.dtype != np.uint8:
        return None
    ptr = part.__array_interface__["data"][0]
    for mm in list(_MAPPED.values()):
        base = mm.__array_interface__["data"][0]
        ident = _MAP_IDS.get(id(mm))
        if base <= ptr and ptr + len(part) <= base + len(mm) and mm.filename is not None and ident:
            return str(mm.filename), int(mm.offset) + (ptr - base), ident
    return None


def _pad(n: int, align: int = 4) -> int:
    return (-n) % align


class GltfDocument:
    """A glTF asset in memory: the JSON dict plus one byte store per buffer.

    Open one with :func:`read_document`. Editors change :attr:`json` in place and
    write bytes through :meth:`byte_range` / :meth:`writable_buffer` /
    :meth:`append_bytes`; :meth:`write` saves the result as ``.glb`` or ``.gltf``.

    Attributes
    ----------
    json : dict
        The glTF JSON as parsed; edit it in place.
    path : Path or None
        The file it was read from.
    format : {'glb', 'gltf'}
        The input container.
    sources : list of BufferSource
        Where each buffer's bytes came from (parallel to ``json['buffers']``).
    extra_chunks : list of (int, Bytes)
        GLB chunks other than JSON and BIN, in file order, with their types.
    """

    def __init__(
        self,
        data: dict[str, Any],
        *,
        path: Path | None = None,
        format: Format = "gltf",
        glb_bin: Bytes | None = None,
        extra_chunks: list[tuple[int, Bytes]] | None = None,
        bin_first: bool = True,
    ) -> None:
        if not isinstance(data, dict):
            raise UnreadableInputError(f"the glTF JSON is a {type(data).__name__}; expected an object")
        self.json: dict[str, Any] = data
        self.path = path
        #: When the output replaces the input (``apply --in-place``), edited external
        #: buffers keep their own file names; otherwise they are named after the output.
        self.keep_names = False
        self.format: Format = format
        self.extra_chunks: list[tuple[int, Bytes]] = list(extra_chunks or [])
        self._bin_first = bin_first  # BIN chunk came before the extra chunks
        self._had_bin_chunk = glb_bin is not None
        self.sources: list[BufferSource] = []
        self._buffers: list[_Buffer] = []
        self._view_cache: dict[int, Bytes] = {}
        #: Per-column min and max of accessors' stored (decoded) values, by accessor, noted
        #: by whoever read them all (measuring) for whoever needs them again (baking the
        #: min/max of a per-axis map): float64 copies of the values' own extremes.
        self.stored_bounds: dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        #: What the files read were (see :func:`read_document`); empty: unknown.
        self.read_state: tuple[tuple[int, ...], ...] = ()
        folder = path.parent if path is not None else Path.cwd()
        buffers = data.get("buffers", [])
        if not isinstance(buffers, list):
            raise UnreadableInputError("/buffers is not an array")
        for i, buf in enumerate(buffers):
            src, arr = self._load_buffer(i, buf, folder, glb_bin)
            self.sources.append(src)
            self._buffers.append(_Buffer(arr, _byte_length(buf, i)))

    # ------------------------------------------------------------------ reading

    def _load_buffer(
        self, i: int, buf: Any, folder: Path, glb_bin: Bytes | None
    ) -> tuple[BufferSource, Bytes]:
        where = f"/buffers/{i}"
        if not isinstance(buf, dict):
            raise UnreadableInputError(f"{where} is not an object")
        length = _byte_length(buf, i)
        uri = buf.get("uri")
        if uri is None:
            if i == 0 and self.format == "glb" and glb_bin is not None:
                if len(glb_bin) < length:
                    raise UnreadableInputError(
                        f"GLB BIN chunk has {len(glb_bin)} bytes but {where}/byteLength is {length}"
                    )
                return BufferSource("glb"), glb_bin[:length]
            return BufferSource("none"), _EMPTY
        if not isinstance(uri, str):
            raise UnreadableInputError(f"{where}/uri is {uri!r}; expected a string")
        if uri.startswith("data:"):
            mime, raw = parse_data_uri(uri, f"{where}/uri")
            if mime and mime not in BUFFER_MIME_TYPES:
                raise UnsupportedInputError(
                    f"{where}/uri is a data URI of type {mime!r}; expected one of "
                    + ", ".join(BUFFER_MIME_TYPES)
                )
            arr = _readonly(np.frombuffer(raw, dtype=np.uint8))
            if len(arr) < length:
                raise UnreadableInputError(
                    f"{where}/uri holds {len(arr)} bytes but {where}/byteLength is {length}"
                )
            return BufferSource("data", mime=mime), arr
        rel, target = resolve_uri(uri, folder, f"{where}/uri")
        if not target.is_file():
            raise UnreadableInputError(f"{where}/uri {uri!r}: no such file {rel!r} beside the asset")
        try:
            arr = _map_file(target)
        except OSError as exc:
            raise UnreadableInputError(f"{where}/uri {uri!r}: cannot read: {exc.strerror}") from None
        if len(arr) < length:
            raise UnreadableInputError(
                f"{where}/uri {uri!r} has {len(arr)} bytes but {where}/byteLength is {length}"
            )
        return BufferSource("file", path=target, relpath=rel), arr

    # ------------------------------------------------------------------ bytes API

    @property
    def buffer_count(self) -> int:
        """Number of buffers."""
        return len(self._buffers)

    def _buffer(self, index: int) -> _Buffer:
        if not 0 <= index < len(self._buffers):
            raise UnreadableInputError(
                f"buffer index {index} is out of range; the file has {len(self._buffers)} buffers"
            )
        return self._buffers[index]

    def buffer_bytes(self, index: int) -> Bytes:
        """All bytes of buffer ``index``, read-only.

        Parameters
        ----------
        index : int

        Returns
        -------
        (byteLength,) uint8
            A view onto the file's bytes when the buffer has not been appended to;
            otherwise a joined copy (cached until the next append).

        Raises
        ------
        UnreadableInputError
            ``index`` is out of range.
        """
        return self._buffer(index).joined()

    def byte_range(self, index: int, start: int, length: int, *, writable: bool = False) -> Bytes:
        """A view of ``length`` bytes of buffer ``index`` from ``start`` (no copy).

        Parameters
        ----------
        index, start, length : int
        writable : bool
            Return a writable view; the segment holding the range is copied once
            (copy-on-write) and the buffer is marked edited.

        Returns
        -------
        (length,) uint8
            Valid for the document's life (appends never move bytes).

        Raises
        ------
        UnreadableInputError
            The range lies outside the buffer or spans two appended segments, or
            the buffer has no data.
        """
        buf = self._buffer(index)
        end = start + length
        if start < 0 or length < 0 or end > buf.length:
            raise UnreadableInputError(
                f"bytes {start}..{end} are outside /buffers/{index} (byteLength {buf.length})"
            )
        if self.sources[index].kind == "none" and length > 0 and len(buf.segments) == 1:
            raise UnreadableInputError(f"/buffers/{index} has no uri and no data to read")
        if writable:
            return buf.make_range_writable(start, end)
        try:
            k = buf.find(start, end)
        except IndexError:
            return buf.joined()[start:end]
        off, seg = buf.segments[k]
        return _readonly(seg[start - off : end - off])

    def defer_range(self, index: int, start: int, edit: Deferred) -> bool:
        """Make ``edit`` the new content of ``len(edit)`` bytes of buffer ``index`` from ``start``.

        The bytes are computed when the document is written (or when something reads
        them first), so a large rewrite costs no memory.

        Returns
        -------
        bool
            ``False`` when the range is not a part of the bytes as read that no other
            edit touches; then nothing changed and the caller edits the bytes directly
            (:meth:`byte_range` with ``writable=True``).
        """
        buf = self._buffer(index)
        end = start + len(edit)
        if start < 0 or end > buf.length:
            return False
        return buf.defer(start, end, edit)

    def writable_buffer(self, index: int) -> Bytes:
        """All bytes of buffer ``index`` as one writable array (copied once).

        Edits through the returned array are written by :meth:`write`. When the
        buffer has appended segments they are merged into one array first; arrays
        returned earlier by ``byte_range(..., writable=True)`` for this buffer then
        no longer write into the document, so prefer :meth:`byte_range` for
        targeted edits.

        Raises
        ------
        UnreadableInputError
            ``index`` is out of range.
        """
        buf = self._buffer(index)
        buf.materialize()
        if len(buf.segments) > 1:
            merged = np.concatenate([s for _, s in buf.segments])
            buf.segments = [(0, merged)]
            buf.writable = [True]
            buf._joined = None
            buf.edited = True
            return merged[: buf.length]
        return buf.make_writable(0)[: buf.length]

    def is_edited(self, index: int) -> bool:
        """True when buffer ``index`` was written to or appended to."""
        return self._buffer(index).edited

    def append_bytes(
        self, data: bytes | NDArray[Any], align: int = 4, buffer: int | None = None
    ) -> tuple[int, int]:
        """Append ``data`` to a buffer, zero-padding first so that it starts aligned.

        Parameters
        ----------
        data : bytes or array
            Raw bytes (an array is appended as its little-endian memory; pass
            explicit ``'<f4'``-style dtypes).
        align : int
            Alignment of the start offset, a multiple of 4 is kept for the end too.
        buffer : int, optional
            Target buffer. Default: buffer 0 of a GLB (the BIN chunk), else the
            last buffer that has data; a new buffer is created when there is none.

        Returns
        -------
        buffer_index, byte_offset : int
            Where the data now lives; ``/buffers/N/byteLength`` is updated.
        """
        raw = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else data.tobytes(), np.uint8)
        if buffer is None:
            buffer = self._default_append_buffer()
        buf = self._buffer(buffer)
        gap = _pad(buf.length, max(align, 1))
        offset = buf.length + gap
        tail = _pad(offset + len(raw), 4)
        seg = np.zeros(gap + len(raw) + tail, dtype=np.uint8)
        seg[gap : gap + len(raw)] = raw
        # The previous last segment may be longer than the logical length (GLB padding).
        last_off, last = buf.segments[-1]
        if last_off + len(last) > buf.length:
            buf.segments[-1] = (last_off, last[: buf.length - last_off])
        buf.segments.append((buf.length, seg))
        buf.writable.append(True)
        buf.length = offset + len(raw)
        buf.edited = True
        buf._joined = None
        self.json["buffers"][buffer]["byteLength"] = buf.length
        return buffer, offset

    def _default_append_buffer(self) -> int:
        if self.format == "glb" and self._buffers and self.sources[0].kind == "glb":
            return 0
        for i in range(len(self._buffers) - 1, -1, -1):
            if self.sources[i].kind in ("file", "data", "new"):
                return i
        return self.add_buffer()

    def add_buffer(self) -> int:
        """Add an empty buffer (written as a ``.bin`` beside a ``.gltf``); return its index."""
        buffers = self.json.setdefault("buffers", [])
        buffers.append({"byteLength": 0})
        kind: Literal["glb", "new"] = "glb" if (self.format == "glb" and len(buffers) == 1) else "new"
        self.sources.append(BufferSource(kind))
        b = _Buffer(np.zeros(0, dtype=np.uint8), 0)
        b.writable = [True]
        b.edited = True
        self._buffers.append(b)
        return len(buffers) - 1

    def add_buffer_view(
        self,
        buffer: int,
        byte_offset: int,
        byte_length: int,
        *,
        byte_stride: int | None = None,
        target: int | None = None,
        name: str | None = None,
    ) -> int:
        """Append a bufferView to the JSON and return its index.

        ``byteOffset`` is written only when non-zero, like most exporters do.
        """
        view: dict[str, Any] = {"buffer": buffer}
        if byte_offset:
            view["byteOffset"] = byte_offset
        view["byteLength"] = byte_length
        if byte_stride is not None:
            view["byteStride"] = byte_stride
        if target is not None:
            view["target"] = target
        if name is not None:
            view["name"] = name
        views = self.json.setdefault("bufferViews", [])
        views.append(view)
        return len(views) - 1

    def add_accessor(
        self,
        buffer_view: int | None,
        component_type: int,
        count: int,
        type: str,
        *,
        byte_offset: int = 0,
        normalized: bool = False,
        min: list[float] | None = None,
        max: list[float] | None = None,
        name: str | None = None,
    ) -> int:
        """Append an accessor to the JSON and return its index.

        Keys are written in the order glTF exporters use; optional ones only when set.
        """
        acc: dict[str, Any] = {}
        if buffer_view is not None:
            acc["bufferView"] = buffer_view
        if byte_offset:
            acc["byteOffset"] = byte_offset
        acc["componentType"] = component_type
        if normalized:
            acc["normalized"] = True
        acc["count"] = count
        acc["type"] = type
        if min is not None:
            acc["min"] = min
        if max is not None:
            acc["max"] = max
        if name is not None:
            acc["name"] = name
        accessors = self.json.setdefault("accessors", [])
        accessors.append(acc)
        return len(accessors) - 1

    def view_bytes(self, index: int, *, writable: bool = False) -> Bytes:
        """The bytes of ``bufferViews[index]`` (meshopt-compressed views decoded).

        Parameters
        ----------
        index : int
        writable : bool
            A writable view into the buffer (copy-on-write); refused for
            ``EXT_meshopt_compression`` views, whose decoded bytes are not stored.

        Raises
        ------
        UnreadableInputError
            The view is missing or lies outside its buffer.
        UnsupportedInputError
            ``writable`` for a compressed view.
        MissingDependencyError
            Decoding needs the ``meshoptimizer`` package.
        """
        views = self.json.get("bufferViews", [])
        if not isinstance(index, int) or not 0 <= index < len(views):
            raise UnreadableInputError(f"bufferView {index!r} does not exist (/bufferViews has {len(views)})")
        view = views[index]
        where = f"/bufferViews/{index}"
        if "EXT_meshopt_compression" in view.get("extensions", {}):
            if writable:
                raise UnsupportedInputError(f"{where} is meshopt-compressed; it cannot be edited in place")
            cached = self._view_cache.get(index)
            if cached is None:
                from .compression import decode_meshopt_view

                cached = _readonly(decode_meshopt_view(self, index))
                self._view_cache[index] = cached
            return cached
        buffer, offset, length = view_range(self.json, index)
        if not 0 <= buffer < len(self._buffers):
            raise UnreadableInputError(
                f"{where}/buffer is {buffer}; the file has {len(self._buffers)} buffers"
            )
        blen = self._buffers[buffer].length
        if offset + length > blen:
            raise UnreadableInputError(
                f"{where} (bytes {offset}..{offset + length}) goes beyond /buffers/{buffer} "
                f"(byteLength {blen})"
            )
        return self.byte_range(buffer, offset, length, writable=writable)

    # ------------------------------------------------------------------ writing

    def write(self, dest: str | Path) -> list[Path]:
        """Save as ``.glb`` or ``.gltf``, chosen by ``dest``'s extension.

        ``.glb``: JSON chunk (space-padded), BIN chunk (zero-padded) holding buffer 0
        when it came from a BIN chunk or the input was ``.gltf`` (then every buffer and
        every image becomes part of the BIN chunk), unknown chunks kept in order.
        ``.gltf``: the BIN chunk's buffer goes to ``<stem>.bin`` beside ``dest``;
        external buffers and images are written (or copied) beside it under the same
        relative names; data URIs stay data URIs (re-encoded when edited).

        Parameters
        ----------
        dest : str or Path
            The output file; sidecar files go into its folder.

        Returns
        -------
        list of Path
            Every file written, ``dest`` first.

        Raises
        ------
        OutputError
            A file cannot be written, or ``dest`` has another extension.
        UnreadableInputError
            An external image that must be copied is missing.
        """
        out = Path(dest)
        ext = out.suffix.lower()
        if ext not in (".glb", ".gltf"):
            raise OutputError(f"cannot write glTF to {out.name!r}; expected a .glb or .gltf name")
        if self.path is not None and out.exists() and os.path.samefile(out, self.path):
            # Its bytes are still read from that file while writing: write elsewhere and rename
            # (meshpivot.apply_file does, with in_place=True).
            raise OutputError(f"cannot write a document onto the file it was read from: {out}")
        try:
            if ext == ".glb":
                if self.format == "glb":
                    return self._write_glb(out)
                return self._write_glb_from_gltf(out)
            return self._write_gltf(out)
        except OSError as exc:
            raise OutputError(f"cannot write {exc.filename or out}: {exc.strerror}") from None

    def _external_files(self, folder: Path, skip_buffers: set[int]) -> tuple[list[Path], set[str]]:
        """Write edited external buffers and copy unedited ones and external images."""
        written: list[Path] = []
        names: set[str] = set()
        for i, src in enumerate(self.sources):
            if i in skip_buffers or src.kind != "file" or src.relpath is None:
                continue
            if self._buffers[i].edited:
                continue  # new bytes get a name of the output's (see _write_gltf), never the input's
            target = _safe_child(folder, src.relpath)
            names.add(src.relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.path is not None:
                _copy(src.path, target)
            written.append(target)
        for rel, srcpath, where in self._external_images():
            if rel in names:
                continue
            names.add(rel)
            target = _safe_child(folder, rel)
            if not srcpath.is_file():
                raise UnreadableInputError(f"{where} {rel!r}: no such file beside the asset")
            target.parent.mkdir(parents=True, exist_ok=True)
            _copy(srcpath, target)
            written.append(target)
        return written, names

    def _external_images(self) -> list[tuple[str, Path, str]]:
        folder = self.path.parent if self.path is not None else Path.cwd()
        out = []
        for i, img in enumerate(self.json.get("images", [])):
            uri = img.get("uri") if isinstance(img, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                rel, target = resolve_uri(uri, folder, f"/images/{i}/uri")
                out.append((rel, target, f"/images/{i}/uri"))
        return out

    def _buffer_payload(self, i: int) -> list[Bytes | Deferred]:
        return list(self._buffers[i].parts())

    def _write_glb(self, out: Path) -> list[Path]:
        glb_buffer = 0 if self._buffers and self.sources[0].kind == "glb" else None
        written, names = self._external_files(out.parent, {glb_buffer} if glb_buffer is not None else set())
        self._refresh_data_uris()
        new_names, more = self._write_side_buffers(
            out, names, lambda i, src: i != glb_buffer and (src.kind == "new" or self._edited_file(i))
        )
        data = _with_buffer_uris(self.json, new_names) if new_names else self.json
        bin_parts = self._buffer_payload(glb_buffer) if glb_buffer is not None else None
        _write_glb_file(out, data, bin_parts, self.extra_chunks, self._bin_first)
        return [out, *written, *more]

    def _edited_file(self, i: int) -> bool:
        return self.sources[i].kind == "file" and self._buffers[i].edited

    def _write_side_buffers(
        self, out: Path, names: set[str], select: Callable[[int, BufferSource], bool]
    ) -> tuple[dict[int, str], list[Path]]:
        """Write the selected buffers as files beside ``out``; return their new names.

        An edited external buffer gets a name of the output's (``<stem>.bin``), never one of
        the input's files, so writing beside the input cannot change it; only when the
        output replaces the input (``keep_names``) does it keep its own name.
        """
        taken = set(names)
        if not self.keep_names:
            taken |= {src.relpath for src in self.sources if src.kind == "file" and src.relpath}
        new_names: dict[int, str] = {}
        written: list[Path] = []
        for i, src in enumerate(self.sources):
            if not select(i, src):
                continue
            if self.keep_names and src.kind == "file" and src.relpath:
                name = src.relpath
            else:
                name = _unique_name(out.stem + ("" if i == 0 else f"_{i}") + ".bin", taken)
                new_names[i] = name
            taken.add(name)
            target = _safe_child(out.parent, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                _write_parts(fh, self._buffers[i].parts())
            written.append(target)
        return new_names, written

    def _write_glb_from_gltf(self, out: Path) -> list[Path]:
        # Pack every buffer into one BIN chunk and embed external/data images.
        doc = json.loads(dumps_json(self.json))
        folder = self.path.parent if self.path is not None else Path.cwd()
        parts: list[Bytes | Deferred] = []
        total = 0
        # Buffers with bytes go into the BIN chunk (buffer 0) at ``starts[b]``; a buffer with
        # none (an EXT_meshopt_compression fallback) stays a buffer of its own, no uri.
        starts: dict[int, int] = {}
        kept: dict[int, int] = {}
        old_buffers = doc.get("buffers", [])
        extra_buffers: list[dict[str, Any]] = []
        for b, buf in enumerate(self._buffers):
            if self.sources[b].kind == "none":
                kept[b] = 1 + len(extra_buffers)
                extra_buffers.append({k: v for k, v in old_buffers[b].items() if k != "uri"})
                continue
            starts[b] = total
            for part in buf.parts():
                parts.append(part)
                total += len(part)
            pad = _pad(total, 16)
            if pad:
                parts.append(np.zeros(pad, dtype=np.uint8))
                total += pad

        def remap(obj: dict[str, Any]) -> None:
            b = obj.get("buffer", 0)
            if not isinstance(b, int):
                return
            if b in kept:
                obj["buffer"] = kept[b]
            elif b in starts:
                shifted = starts[b] + obj.get("byteOffset", 0)
                obj["buffer"] = 0
                if shifted:
                    obj["byteOffset"] = shifted

        for view in doc.get("bufferViews", []):
            remap(view)
            for ext in view.get("extensions", {}).values():
                if isinstance(ext, dict) and isinstance(ext.get("buffer"), int):
                    remap(ext)
        for i, img in enumerate(doc.get("images", [])):
            uri = img.get("uri")
            if not isinstance(uri, str):
                continue
            if uri.startswith("data:"):
                mime, raw = parse_data_uri(uri, f"/images/{i}/uri")
            else:
                rel, target = resolve_uri(uri, folder, f"/images/{i}/uri")
                if not target.is_file():
                    raise UnreadableInputError(f"/images/{i}/uri {uri!r}: no such file beside the asset")
                raw = target.read_bytes()
                mime = _guess_image_mime(rel)
            arr = np.frombuffer(raw, dtype=np.uint8)
            offset = total
            parts.append(arr)
            total += len(arr)
            pad = _pad(total, 4)
            if pad:
                parts.append(np.zeros(pad, dtype=np.uint8))
                total += pad
            views = doc.setdefault("bufferViews", [])
            views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(arr)} if offset else
                         {"buffer": 0, "byteLength": len(arr)})
            del img["uri"]
            img["bufferView"] = len(views) - 1
            if mime:
                img["mimeType"] = mime
        if doc.get("buffers") or total:
            doc["buffers"] = [{"byteLength": total}, *extra_buffers]
        _write_glb_file(out, doc, parts if total else None, [], True)
        return [out]

    def _refresh_data_uris(self) -> None:
        for i, src in enumerate(self.sources):
            if src.kind == "data" and self._buffers[i].edited:
                raw = b"".join(p.tobytes() for p in self._buffers[i].chunks())
                mime = src.mime or "application/octet-stream"
                encoded = base64.b64encode(raw).decode("ascii")
                self.json["buffers"][i]["uri"] = f"data:{mime};base64,{encoded}"

    def _write_gltf(self, out: Path) -> list[Path]:
        written, names = self._external_files(out.parent, set())
        self._refresh_data_uris()
        # Buffers without a file of their own (a GLB's BIN chunk, new ones), and edited ones.
        new_names, more = self._write_side_buffers(
            out, names, lambda i, src: src.kind in ("glb", "new") or self._edited_file(i)
        )
        data = _with_buffer_uris(self.json, new_names) if new_names else self.json
        out.write_text(dumps_json(data), encoding="utf-8")
        return [out, *written, *more]


def _with_buffer_uris(data: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    """A shallow copy of ``data`` whose buffers ``names`` get a ``uri`` (placed first)."""
    from urllib.parse import quote

    out = dict(data)
    buffers = []
    for i, buf in enumerate(data.get("buffers", [])):
        if i in names:
            buf = {"uri": quote(names[i]), **{k: v for k, v in buf.items() if k != "uri"}}
        buffers.append(buf)
    out["buffers"] = buffers
    return out


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    k = 1
    while f"{stem}_{k}{dot}{ext}" in taken:
        k += 1
    return f"{stem}_{k}{dot}{ext}"


def _guess_image_mime(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
        "ktx2": "image/ktx2",
    }.get(ext, "application/octet-stream")


def _copy(src: Path, dst: Path) -> None:
    if src.resolve() != dst.resolve():
        import shutil  # only writing copies files: reading starts without it

        shutil.copyfile(src, dst)


def _safe_child(folder: Path, rel: str) -> Path:
    target = folder / rel
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        raise OutputError(f"refusing to write {rel!r} outside the output folder")
    return target


def _write_glb_file(
    out: Path,
    data: dict[str, Any],
    bin_parts: list[Bytes | Deferred] | None,
    extra: list[tuple[int, Bytes]],
    bin_first: bool,
) -> None:
    js = dumps_json(data).encode("utf-8")
    js += b" " * _pad(len(js))
    bin_chunk: list[tuple[int, list[Bytes | Deferred]]] = []
    if bin_parts is not None:
        bin_chunk = [(CHUNK_BIN, bin_parts)]
    extras: list[tuple[int, list[Bytes | Deferred]]] = [(t, [d]) for t, d in extra]
    chunks = [*bin_chunk, *extras] if bin_first else [*extras, *bin_chunk]
    parts: list[Bytes | Deferred] = [
        np.frombuffer(struct.pack("<III", GLB_MAGIC, 2, 0), np.uint8),  # length set below
        np.frombuffer(struct.pack("<II", len(js), CHUNK_JSON) + js, np.uint8),
    ]
    for ctype, body in chunks:
        n = sum(len(p) for p in body)
        parts.append(np.frombuffer(struct.pack("<II", n + _pad(n), ctype), np.uint8))
        parts.extend(body)
        if _pad(n):
            parts.append(np.zeros(_pad(n), np.uint8))
    total = sum(len(p) for p in parts)
    parts[0] = np.frombuffer(struct.pack("<III", GLB_MAGIC, 2, total), np.uint8)
    with open(out, "wb") as fh:
        _write_parts(fh, parts)


_KERNEL_COPY_MIN = 1 << 20  # below this, a plain write is as fast


def _write_parts(fh: BinaryIO, parts: Iterable[Bytes | Deferred]) -> int:
    """Write ``parts`` one after another at ``fh``'s position; return the bytes written.

    Every part goes straight to its own place in the file, so parts are written in
    parallel (:data:`WRITE_THREADS`): unchanged ranges of a mapped input file are
    copied by the kernel (``os.copy_file_range``) while deferred edits are computed
    (numpy releases the GIL in its loops).
    """
    fh.flush()
    fd = fh.fileno()
    start = pos = fh.tell()
    large: list[tuple[int, Bytes | Deferred]] = []
    for part in parts:
        if isinstance(part, Deferred):
            at = pos
            for piece in part.split():  # pieces: both threads can share one large edit
                large.append((at, piece))
                at += len(piece)
        elif len(part) >= _KERNEL_COPY_MIN:
            large.append((pos, part))
        else:
            _pwrite(fd, part, pos)
        pos += len(part)
    # Kernel copies are taken from the front and deferred edits from the back, so the
    # two kinds of work overlap even with a single helper thread.
    jobs = collections.deque(sorted(large, key=lambda job: isinstance(job[1], Deferred)))
    helpers = [_Helper(fd, jobs) for _ in range(min(len(jobs), WRITE_THREADS) - 1)]
    for h in helpers:
        h.start()
    try:
        _write_jobs(fd, jobs, front=False)
    except BaseException:
        jobs.clear()  # the helpers stop after their current job
        raise
    finally:
        for h in helpers:
            h.join()
    for h in helpers:
        if h.error is not None:
            raise h.error
    fh.seek(pos)
    return pos - start


#: Threads that write one output file (the calling thread included).
WRITE_THREADS = max(1, min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))


def _pwrite(fd: int, data: Bytes, at: int) -> int:
    """Write all of ``data`` at offset ``at`` of ``fd``; return its length."""
    view = np.ascontiguousarray(data).data.cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], at + done)
    return len(view)


def _kernel_copy(fd: int, part: Bytes, at: int) -> int:
    """Copy the mapped input bytes ``part`` to offset ``at`` of ``fd`` by the kernel where it
    can (the file is the one that was mapped, ``copy_file_range`` works here); return how many."""
    region = file_region(part)
    if region is None:
        return 0
    path, offset, ident = region
    done = 0
    with open(path, "rb") as src:
        if file_identity(os.fstat(src.fileno())) != ident:
            return 0  # replaced or changed since it was mapped: the map holds the bytes to write
        try:
            while done < len(part):
                n = os.copy_file_range(src.fileno(), fd, len(part) - done, offset + done, at + done)
                if n == 0:
                    break
                done += n
        except (OSError, AttributeError):
            pass  # not here, or not across these file systems: the caller writes the rest
    return done


Jobs = collections.deque[tuple[int, "Bytes | Deferred"]]


def _write_jobs(fd: int, jobs: Jobs, *, front: bool) -> None:
    """Take ``(offset, part)`` jobs from one end of the shared ``jobs`` until none is left, writing each."""
    while True:
        try:
            at, part = jobs.popleft() if front else jobs.pop()
        except IndexError:
            return
        if isinstance(part, Deferred):
            for piece in part.parts():
                at += _pwrite(fd, piece, at)
            continue
        done = _kernel_copy(fd, part, at)
        if done < len(part):
            _pwrite(fd, part[done:], at + done)


class _Helper(threading.Thread):
    """A second writer (:func:`_write_jobs` from the front); what it raises is kept in :attr:`error`."""

    def __init__(self, fd: int, jobs: Jobs) -> None:
        super().__init__(name="meshpivot-write", daemon=True)
        self.fd = fd
        self.jobs = jobs
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with values_checked_here():  # as in the caller (api): values are checked where read
                _write_jobs(self.fd, self.jobs, front=True)
        except BaseException as exc:
            self.error = exc


def _byte_length(buf: dict[str, Any], i: int) -> int:
    n = buf.get("byteLength")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise UnreadableInputError(f"/buffers/{i}/byteLength is {n!r}; expected an integer >= 0")
    return n


def view_range(data: dict[str, Any], index: int) -> tuple[int, int, int]:
    """``(buffer, byteOffset, byteLength)`` of ``bufferViews[index]``, validated as integers."""
    view = data["bufferViews"][index]
    where = f"/bufferViews/{index}"
    if not isinstance(view, dict):
        raise UnreadableInputError(f"{where} is not an object")
    out = []
    for key, default in (("buffer", None), ("byteOffset", 0), ("byteLength", None)):
        v = view.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UnreadableInputError(f"{where}/{key} is {v!r}; expected an integer >= 0")
        out.append(v)
    return out[0], out[1], out[2]


def resolve_uri(uri: str, folder: Path, where: str) -> tuple[str, Path]:
    """Resolve a relative URI safely inside ``folder``.

    Parameters
    ----------
    uri : str
        As written in the JSON (percent-encoded).
    folder : Path
        The asset's folder.
    where : str
        JSON pointer for messages.

    Returns
    -------
    relpath : str
        The percent-decoded relative path.
    path : Path
        The file inside ``folder``.

    Raises
    ------
    UnsupportedInputError
        A scheme other than ``data:``, an absolute path, or a path that resolves
        outside ``folder`` (``..``, symlinks).
    """
    head = uri.split("/", 1)[0]
    if ":" in head:
        scheme = head.split(":", 1)[0]
        raise UnsupportedInputError(
            f"{where} {uri!r} uses the {scheme!r} scheme; only relative paths and data: URIs are read"
        )
    rel = unquote(uri)
    if rel.startswith(("/", "\\")) or os.path.isabs(rel) or (len(rel) > 1 and rel[1] == ":"):
        raise UnsupportedInputError(f"{where} {uri!r} is an absolute path; only relative paths are read")
    base = folder.resolve()
    target = (folder / rel).resolve()
    if target != base and base not in target.parents:
        raise UnsupportedInputError(f"{where} {uri!r} points outside the asset's folder; refusing to read it")
    return rel, target


#: Top-level arrays of objects and what their entries are called in messages.
_ARRAYS = (
    "accessors", "animations", "bufferViews", "buffers", "cameras", "images", "materials",
    "meshes", "nodes", "samplers", "scenes", "skins", "textures",
)  # fmt: skip


_COMPONENT_TYPES = (5120, 5121, 5122, 5123, 5125, 5126)
_ACCESSOR_TYPES = ("SCALAR", "VEC2", "VEC3", "VEC4", "MAT2", "MAT3", "MAT4")
# The accessor types glTF requires for what meshpivot reads or transforms (JOINTS_n and
# WEIGHTS_n are looked up without their number).
_ATTRIBUTE_TYPES = {"POSITION": "VEC3", "NORMAL": "VEC3", "TANGENT": "VEC4", "JOINTS": "VEC4", "WEIGHTS": "VEC4"}
_TARGET_TYPES = {"POSITION": "VEC3", "NORMAL": "VEC3", "TANGENT": "VEC3"}
_INSTANCE_TYPES = {"TRANSLATION": "VEC3", "ROTATION": "VEC4", "SCALE": "VEC3"}
_CHANNEL_TYPES = {"translation": "VEC3", "rotation": "VEC4", "scale": "VEC3", "weights": "SCALAR"}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Checker:
    """Walks the glTF JSON once: types of the containers meshpivot reads, and every index."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.sizes: dict[str, int] = {}
        for key in _ARRAYS:
            arr = data.get(key, [])
            if not isinstance(arr, list):
                raise UnreadableInputError(f"/{key} is not an array")
            for i, item in enumerate(arr):
                if not isinstance(item, dict):
                    raise UnreadableInputError(f"/{key}/{i} is not an object")
                self.extensions(item, f"/{key}/{i}")
            self.sizes[key] = len(arr)

    def index(self, value: Any, kind: str, where: str) -> None:
        n = self.sizes[kind]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < n:
            raise UnreadableInputError(f"{where} is {_short(value)}; the file has {n} {kind}")

    def opt(self, obj: dict[str, Any], key: str, kind: str, where: str) -> None:
        if key in obj:
            self.index(obj[key], kind, f"{where}/{key}")

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise UnreadableInputError(f"{where} is {_short(value)}; expected an object")
        return value

    def arr(self, obj: dict[str, Any], key: str, where: str) -> list[Any]:
        value = obj.get(key, [])
        if not isinstance(value, list):
            raise UnreadableInputError(f"{where}/{key} is not an array")
        return value

    def numbers(self, obj: dict[str, Any], key: str, where: str) -> None:
        for k, v in enumerate(self.arr(obj, key, where)):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise UnreadableInputError(f"{where}/{key}/{k} is {_short(v)}; expected a number")
            try:
                finite = math.isfinite(v)
            except OverflowError:  # an integer beyond float64
                finite = False
            if not finite:
                raise NonFiniteInputError(
                    f"{where}/{key}/{k} is {_short(v)}; expected a finite number (not NaN or infinity)"
                )

    def extensions(self, obj: dict[str, Any], where: str) -> dict[str, Any]:
        ext = obj.get("extensions", {})
        if not isinstance(ext, dict):
            raise UnreadableInputError(f"{where}/extensions is {_short(ext)}; expected an object")
        return ext

    def accessor_map(self, value: Any, where: str, types: dict[str, str] | None = None) -> None:
        for name, acc in self.obj(value, where).items():
            self.index(acc, "accessors", f"{where}/{name}")
            expected = (types or {}).get(name.split("_")[0] if name[-1:].isdigit() else name)
            if expected is not None:
                self.typed(acc, expected, f"{where}/{name}")

    def component(self, acc: int, allowed: tuple[int, ...], where: str) -> None:
        """The accessor named at ``where`` has a ``componentType`` that glTF allows there."""
        got = self.data["accessors"][acc].get("componentType")
        if got not in allowed:
            raise UnreadableInputError(
                f"{where} is accessor {acc} of componentType {_short(got)}; expected one of "
                + ", ".join(map(str, allowed))
            )

    def typed(self, acc: int, expected: str, where: str) -> None:
        """The accessor named at ``where`` has the ``type`` that glTF requires there."""
        got = self.data["accessors"][acc].get("type")
        if got != expected:
            raise UnreadableInputError(f"{where} is accessor {acc} of type {_short(got)}; expected {expected}")

    def run(self) -> None:
        d = self.data
        for i, acc in enumerate(d.get("accessors", [])):
            where = f"/accessors/{i}"
            self.opt(acc, "bufferView", "bufferViews", where)
            self.choice(acc, "componentType", _COMPONENT_TYPES, where)
            self.choice(acc, "type", _ACCESSOR_TYPES, where)
            self.count(acc, "count", where)
            self.count(acc, "byteOffset", where, required=False)
            if not isinstance(acc.get("normalized", False), bool):
                raise UnreadableInputError(f"{where}/normalized is {_short(acc['normalized'])}; expected true or false")
            if "sparse" in acc:
                sw = f"{where}/sparse"
                sparse = self.obj(acc["sparse"], sw)
                self.count(sparse, "count", sw)
                for part in ("indices", "values"):
                    pw = f"{sw}/{part}"
                    self.index(self.obj(sparse.get(part), pw).get("bufferView"), "bufferViews", f"{pw}/bufferView")
                    self.count(sparse[part], "byteOffset", pw, required=False)
                self.choice(sparse["indices"], "componentType", (5121, 5123, 5125), f"{sw}/indices")
        for i, view in enumerate(d.get("bufferViews", [])):
            where = f"/bufferViews/{i}"
            self.index(view.get("buffer"), "buffers", f"{where}/buffer")
            self.count(view, "byteOffset", where, required=False)
            self.count(view, "byteLength", where)
            stride = view.get("byteStride", 4)
            if not isinstance(stride, int) or isinstance(stride, bool) or not 4 <= stride <= 252:
                raise UnreadableInputError(f"{where}/byteStride is {_short(stride)}; expected an integer in 4..252")
            meshopt = self.extensions(view, f"/bufferViews/{i}").get("EXT_meshopt_compression")
            if meshopt is not None:
                mw = f"/bufferViews/{i}/extensions/EXT_meshopt_compression"
                self.index(self.obj(meshopt, mw).get("buffer"), "buffers", f"{mw}/buffer")
        if "scene" in d:
            self.index(d["scene"], "scenes", "/scene")
        for i, scene in enumerate(d.get("scenes", [])):
            for k, n in enumerate(self.arr(scene, "nodes", f"/scenes/{i}")):
                self.index(n, "nodes", f"/scenes/{i}/nodes/{k}")
        for i, node in enumerate(d.get("nodes", [])):
            where = f"/nodes/{i}"
            for k, c in enumerate(self.arr(node, "children", where)):
                self.index(c, "nodes", f"{where}/children/{k}")
            for key, kind in (("mesh", "meshes"), ("skin", "skins"), ("camera", "cameras")):
                self.opt(node, key, kind, where)
            self.numbers(node, "weights", where)
            self.transform(node, where)
            inst = self.extensions(node, where).get("EXT_mesh_gpu_instancing")
            if inst is not None:
                iw = f"{where}/extensions/EXT_mesh_gpu_instancing"
                self.accessor_map(self.obj(inst, iw).get("attributes", {}), f"{iw}/attributes", _INSTANCE_TYPES)
        for i, mesh in enumerate(d.get("meshes", [])):
            self.numbers(mesh, "weights", f"/meshes/{i}")
            for p, prim in enumerate(self.arr(mesh, "primitives", f"/meshes/{i}")):
                where = f"/meshes/{i}/primitives/{p}"
                self.obj(prim, where)
                self.accessor_map(prim.get("attributes", {}), f"{where}/attributes", _ATTRIBUTE_TYPES)
                self.opt(prim, "indices", "accessors", where)
                if "indices" in prim:
                    self.typed(prim["indices"], "SCALAR", f"{where}/indices")
                    self.component(prim["indices"], (5121, 5123, 5125), f"{where}/indices")
                self.opt(prim, "material", "materials", where)
                for t, target in enumerate(self.arr(prim, "targets", where)):
                    self.accessor_map(target, f"{where}/targets/{t}", _TARGET_TYPES)
                draco = self.extensions(prim, where).get("KHR_draco_mesh_compression")
                if draco is not None:
                    dw = f"{where}/extensions/KHR_draco_mesh_compression"
                    self.index(self.obj(draco, dw).get("bufferView"), "bufferViews", f"{dw}/bufferView")
                    self.obj(draco.get("attributes", {}), f"{dw}/attributes")
        for i, skin in enumerate(d.get("skins", [])):
            for k, j in enumerate(self.arr(skin, "joints", f"/skins/{i}")):
                self.index(j, "nodes", f"/skins/{i}/joints/{k}")
            self.opt(skin, "inverseBindMatrices", "accessors", f"/skins/{i}")
            if "inverseBindMatrices" in skin:
                self.typed(skin["inverseBindMatrices"], "MAT4", f"/skins/{i}/inverseBindMatrices")
            self.opt(skin, "skeleton", "nodes", f"/skins/{i}")
        for i, img in enumerate(d.get("images", [])):
            self.opt(img, "bufferView", "bufferViews", f"/images/{i}")
        for i, tex in enumerate(d.get("textures", [])):
            self.opt(tex, "source", "images", f"/textures/{i}")
            self.opt(tex, "sampler", "samplers", f"/textures/{i}")
        for a, anim in enumerate(d.get("animations", [])):
            where = f"/animations/{a}"
            samplers = self.arr(anim, "samplers", where)
            for s, sampler in enumerate(samplers):
                sw = f"{where}/samplers/{s}"
                self.index(self.obj(sampler, sw).get("input"), "accessors", f"{sw}/input")
                self.index(sampler.get("output"), "accessors", f"{sw}/output")
            for c, ch in enumerate(self.arr(anim, "channels", where)):
                cw = f"{where}/channels/{c}"
                si = self.obj(ch, cw).get("sampler")
                if not isinstance(si, int) or isinstance(si, bool) or not 0 <= si < len(samplers):
                    raise UnreadableInputError(f"{cw}/sampler is {_short(si)}; {where} has {len(samplers)} samplers")
                target = self.obj(ch.get("target"), f"{cw}/target")
                self.opt(target, "node", "nodes", f"{cw}/target")
                expected = _CHANNEL_TYPES.get(str(target.get("path")))
                if expected is not None:
                    self.typed(samplers[si]["output"], expected, f"{where}/samplers/{si}/output")
        for key in ("extensionsUsed", "extensionsRequired"):
            for k, name in enumerate(self.arr(d, key, "")):
                if not isinstance(name, str):
                    raise UnreadableInputError(f"/{key}/{k} is {_short(name)}; expected a string")
        lights = self.extensions(d, "").get("KHR_lights_punctual")
        if lights is not None:
            lw = "/extensions/KHR_lights_punctual"
            for k, light in enumerate(self.arr(self.obj(lights, lw), "lights", lw)):
                self.obj(light, f"{lw}/lights/{k}")

    def choice(self, obj: dict[str, Any], key: str, allowed: tuple[Any, ...], where: str) -> None:
        value = obj.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value not in allowed:
            raise UnreadableInputError(
                f"{where}/{key} is {_short(value)}; expected one of {', '.join(map(str, allowed))}"
            )

    def count(self, obj: dict[str, Any], key: str, where: str, *, required: bool = True) -> None:
        if key not in obj and not required:
            return
        value = obj.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise UnreadableInputError(f"{where}/{key} is {_short(value)}; expected an integer >= 0")

    def transform(self, node: dict[str, Any], where: str) -> None:
        for key, n in (("matrix", 16), ("translation", 3), ("rotation", 4), ("scale", 3)):
            if key in node:
                value = node[key]
                if not isinstance(value, list) or len(value) != n:
                    raise UnreadableInputError(f"{where}/{key} is {_short(value)}; expected {n} numbers")
                self.numbers(node, key, where)


def check_structure(data: dict[str, Any]) -> None:
    """Check the glTF JSON's containers and indices before anything reads them.

    Every top-level array (``nodes``, ``meshes``, ...) must be an array of objects;
    every index meshpivot follows (scene roots, children, mesh, skin, accessors of
    attributes, indices, targets, skins and animations, bufferViews of accessors and
    images, buffers of bufferViews, Draco and meshopt references, instancing
    attributes) must name an existing object; ``extensions`` must be objects and
    morph ``weights`` finite numbers. The glTF validator reports each of these as an
    error too.

    Raises
    ------
    UnreadableInputError
        The first problem, with its JSON pointer.
    """
    checker = _Checker(data)
    checker.run()


def read_document(path: str | Path) -> GltfDocument:
    """Open a ``.glb`` or ``.gltf`` file (chosen by its first bytes, then its name).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    GltfDocument

    Raises
    ------
    UnreadableInputError
        Missing file, corrupt GLB header or chunks, JSON that is not UTF-8 or not
        JSON, a buffer shorter than its ``byteLength``, a missing external file.
    UnsupportedInputError
        A URI that is absolute, has a scheme other than ``data:``, or leaves the
        asset's folder.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(12)
            before = file_identity(os.fstat(fh.fileno()))
        size = before[2]
    except OSError as exc:
        raise UnreadableInputError(f"cannot read: {(exc.strerror or str(exc)).lower()}", p) from None
    try:
        if head[:4] == b"glTF":
            doc = _read_glb(p, head, size)
        elif p.suffix.lower() == ".glb":
            raise UnreadableInputError(f"not a GLB file: magic is {head[:4]!r}; expected b'glTF'")
        else:
            doc = _read_gltf(p)
    except (UnreadableInputError, UnsupportedInputError) as exc:
        raise exc.with_path(p) from None
    doc.read_state = _read_state(doc, p, before)
    return doc


def _read_state(doc: GltfDocument, path: Path, before: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """The identities (:func:`file_identity`) of the file and the mapped buffers ``doc`` was
    read from; empty when the file changed while it was read (nothing then vouches for it)."""
    try:
        after = file_identity(os.stat(path))
    except OSError:
        return ()
    if after != before:
        return ()
    regions = (file_region(part) for b in doc._buffers for _, part in b.segments)
    return (before, *(region[2] for region in regions if region is not None))


def _parse_json(raw: bytes, what: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableInputError(f"{what} is not UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInputError(
            f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:  # the decoder recurses once per nested array or object
        raise UnreadableInputError(f"{what} is nested too deeply to read (arrays or objects in arrays ...)") from None
    if not isinstance(data, dict):
        raise UnreadableInputError(f"{what} is a JSON {type(data).__name__}; expected an object")
    return data


def _check_images(doc: GltfDocument) -> None:
    """URI safety and presence of external images, checked up front (``apply`` copies them)."""
    for rel, target, where in doc._external_images():
        if not target.is_file():
            raise UnreadableInputError(f"{where} {rel!r}: no such file beside the asset")


def _read_gltf(p: Path) -> GltfDocument:
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise UnreadableInputError(f"cannot read: {(exc.strerror or str(exc)).lower()}") from None
    data = _parse_json(raw, "the glTF JSON")
    check_structure(data)
    doc = GltfDocument(data, path=p, format="gltf")
    _check_images(doc)
    return doc


def _read_glb(p: Path, head: bytes, size: int) -> GltfDocument:
    if len(head) < 12:
        raise UnreadableInputError(f"GLB header is truncated ({len(head)} of 12 bytes)")
    _, version, length = struct.unpack("<III", head)
    if version != 2:
        raise UnreadableInputError(f"GLB version is {version}; expected 2")
    if length != size:
        if length > size:
            raise UnreadableInputError(f"GLB header says {length} bytes but the file has {size}")
        # Trailing bytes after the declared length are ignored (as loaders do).
    data = _map_file(p, 0, length)
    pos = 12
    chunks: list[tuple[int, Bytes]] = []
    while pos < length:
        if pos + 8 > length:
            raise UnreadableInputError(f"GLB chunk header at byte {pos} is truncated")
        clen, ctype = struct.unpack("<II", data[pos : pos + 8].tobytes())
        if pos + 8 + clen > length:
            raise UnreadableInputError(
                f"GLB chunk {len(chunks)} at byte {pos} claims {clen} bytes but only "
                f"{length - pos - 8} remain"
            )
        chunks.append((ctype, _readonly(data[pos + 8 : pos + 8 + clen])))
        pos += 8 + clen
    if not chunks or chunks[0][0] != CHUNK_JSON:
        raise UnreadableInputError("GLB has no JSON chunk first")
    js = _parse_json(chunks[0][1].tobytes(), "the GLB JSON chunk")
    glb_bin: Bytes | None = None
    extra: list[tuple[int, Bytes]] = []
    bin_first = True
    for k, (ctype, payload) in enumerate(chunks[1:], start=1):
        if ctype == CHUNK_BIN and glb_bin is None:
            glb_bin = payload
            bin_first = not extra
        elif ctype == CHUNK_JSON:
            raise UnreadableInputError(f"GLB has a second JSON chunk (chunk {k})")
        else:
            extra.append((ctype, payload))
    check_structure(js)
    doc = GltfDocument(js, path=p, format="glb", glb_bin=glb_bin, extra_chunks=extra, bin_first=bin_first)
    _check_images(doc)
    return doc
