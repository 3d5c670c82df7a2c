"""OBJ as the hosted API ships it: a zip holding the ``.obj``, its ``.mtl`` and textures.

The zip is read directly. Every ``.obj`` member (outside ``__MACOSX/``) is parsed by
the lossless OBJ code of :mod:`meshpivot.formats.obj`; with several, they are
measured and fitted together as one asset (the hosted API ships one). The fitted zip
has the same members in the same order, with the same names, timestamps,
permissions and compression methods; the ``.obj`` members hold the fitted text
(only ``v``/``vn`` coordinates change) and every other member is byte-identical
once decompressed. The zip's comment is kept.

Safety: the archive is checked before anything is read. A member whose name is
absolute or climbs out with ``..`` (zip slip), a symbolic link, an encrypted member,
a total declared size above :data:`MAX_TOTAL_BYTES`, or a member that claims to
expand more than :data:`MAX_RATIO` times (zip bomb) is refused with
:class:`~meshpivot.errors.UnsupportedInputError`. Python's :mod:`zipfile` never
yields more bytes than a member declares, so the declared sizes bound the work.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import MeshPivotError, UnreadableInputError, UnsupportedInputError
from ..fit import Fit
from ..options import FitOptions
from ..scratch import locked_folder
from ..vectors import merge_bounds
from .base import Asset, Measurement, WriteReport
from .obj import ObjFile, read_obj

__all__ = ["MAX_RATIO", "MAX_TOTAL_BYTES", "ObjZipAsset", "check_members"]

#: Largest total uncompressed size (declared) of all members, in bytes: 2 GiB.
MAX_TOTAL_BYTES = 2 << 30
#: Largest expansion (uncompressed / compressed size) of a member above :data:`RATIO_FLOOR`.
MAX_RATIO = 200
#: Members smaller than this (uncompressed bytes) are not checked for their ratio.
RATIO_FLOOR = 1 << 20

_BAKE_REASON = "OBJ has no scene graph: geometry baked"
_DRIVE = re.compile(r"^[A-Za-z]:")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def check_members(infos: list[zipfile.ZipInfo], path: Path | None = None) -> None:
    """Refuse archives that are unsafe to read (see the module docstring).

    Parameters
    ----------
    infos : list of ZipInfo
        The archive's members, as ``ZipFile.infolist()`` gives them.
    path : Path, optional
        Named in errors.

    Raises
    ------
    UnsupportedInputError
        A zip-slip name, a symbolic link, an encrypted member, or a zip bomb.
    """
    total = 0
    for info in infos:
        name = info.filename
        posix = name.replace("\\", "/")
        if posix.startswith("/") or _DRIVE.match(posix) or ".." in PurePosixPath(posix).parts:
            raise UnsupportedInputError(
                f"zip member {name!r} has an absolute path or '..'; refused (it would land outside the folder)",
                path,
            )
        if _is_symlink(info):
            raise UnsupportedInputError(f"zip member {name!r} is a symbolic link; refused", path)
        if info.flag_bits & 0x1:
            raise UnsupportedInputError(f"zip member {name!r} is encrypted; expected a plain zip", path)
        if info.file_size >= RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise UnsupportedInputError(
                f"zip member {name!r} expands {info.compress_size} bytes to {info.file_size} "
                f"(more than {MAX_RATIO} times); refused as a likely zip bomb",
                path,
            )
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise UnsupportedInputError(
                f"the zip's members add up to more than {MAX_TOTAL_BYTES} bytes uncompressed; refused", path
            )


def _without_zip64(extra: bytes) -> bytes:
    """The extra field without its ZIP64 record, which :mod:`zipfile` writes itself when needed."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag = int.from_bytes(extra[i : i + 2], "little")
        size = int.from_bytes(extra[i + 2 : i + 4], "little")
        if tag != 0x0001:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return out


def _is_obj(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    return not info.is_dir() and name.lower().endswith(".obj") and not name.startswith("__MACOSX/")


class ObjZipAsset(Asset):
    """A zip holding one OBJ (or several, treated as one asset) with its materials and textures.

    Parameters
    ----------
    path : Path
        The input; read on first use, never modified.
    """

    writes = (".zip",)

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path))
        self._objs: dict[str, ObjFile] | None = None

    def _zip(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise UnreadableInputError(f"not a zip file or a corrupt one ({exc})", self.path) from None
        except OSError as exc:
            raise UnreadableInputError(f"cannot read: {exc.strerror or exc}", self.path) from None

    def _read_member(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        try:
            return zf.read(info)
        except NotImplementedError as exc:
            raise UnsupportedInputError(f"zip member {info.filename!r}: {exc}", self.path) from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise UnreadableInputError(
                f"zip member {info.filename!r} is corrupt or truncated ({exc})", self.path
            ) from None

    def obj_members(self) -> dict[str, ObjFile]:
        """The parsed ``.obj`` members by member name, in archive order (read once).

        Raises
        ------
        UnreadableInputError
            The zip or an OBJ member is corrupt.
        UnsupportedInputError
            The zip is unsafe (see :func:`check_members`) or holds no ``.obj``.
        """
        if self._objs is not None:
            return self._objs
        with self._zip() as zf:
            infos = zf.infolist()
            check_members(infos, self.path)
            objs = [info for info in infos if _is_obj(info)]
            if not objs:
                raise UnsupportedInputError("zip holds no .obj member; expected an OBJ zip", self.path)
            parsed: dict[str, ObjFile] = {}
            with locked_folder("meshpivot-locked-objzip-") as tmp:
                for k, info in enumerate(objs):
                    # read_obj reads a path: each member goes to a private file whose
                    # name we choose, so the member's name never becomes a path.
                    scratch = Path(tmp) / f"member{k}.obj"
                    scratch.write_bytes(self._read_member(zf, info))
                    try:
                        parsed[info.filename] = read_obj(scratch)
                    except MeshPivotError as exc:
                        exc.message = f"zip member {info.filename!r}: {exc.message}"
                        exc.path = str(self.path)
                        raise exc from None
        self._objs = parsed
        return parsed

    def measure(self) -> Measurement:
        """Bounds of the drawn vertices of every ``.obj`` member, together.

        Raises
        ------
        UnreadableInputError, UnsupportedInputError, EmptyInputError, NonFiniteInputError
        """
        boxes = []
        counts: dict[str, int] = {}
        notes: list[str] = []
        for name, obj in self.obj_members().items():
            try:
                m = obj.measure()
            except MeshPivotError as exc:
                exc.message = f"zip member {name!r}: {exc.message}"
                exc.path = str(self.path)
                raise exc from None
            boxes.append((m.lo, m.hi))
            for key, value in m.counts.items():
                counts[key] = counts.get(key, 0) + value
            notes.extend(f"{name}: {note}" for note in m.notes)
        if len(boxes) > 1:
            notes.append(f"{len(boxes)} .obj members measured together as one asset")
        lo, hi = merge_bounds(boxes)
        return Measurement(lo=lo, hi=hi, counts=counts, format="obj.zip", notes=notes)

    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Write the zip again with its ``.obj`` members fitted and all else unchanged.

        Raises
        ------
        UnsupportedInputError
            ``dest`` is not a ``.zip``, or ``mode='wrap'`` (OBJ has no scene graph).
        UnreadableInputError
            A member cannot be decompressed.
        """
        dest = Path(dest)
        if dest.suffix.lower() != ".zip":
            raise UnsupportedInputError(
                f"an OBJ zip is written as a zip; name a .zip output, not {dest.suffix or '(no extension)'!r}",
                self.path,
            )
        if options.mode == "wrap":
            raise UnsupportedInputError("mode 'wrap' needs a scene graph; OBJ has none: use bake or auto", self.path)
        objs = self.obj_members()
        with self._zip() as zin, zipfile.ZipFile(dest, "w") as zout:
            zout.comment = zin.comment
            for info in zin.infolist():
                if info.filename in objs:
                    data = objs[info.filename].fitted_bytes(fit)
                else:
                    data = self._read_member(zin, info)
                out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                out.compress_type = info.compress_type
                out.external_attr = info.external_attr
                out.create_system = info.create_system
                out.comment = info.comment
                out.extra = _without_zip64(info.extra)
                try:
                    zout.writestr(out, data)
                except (NotImplementedError, RuntimeError) as exc:
                    raise UnsupportedInputError(
                        f"zip member {info.filename!r} cannot be written again: {exc}", self.path
                    ) from None
        return WriteReport(mode="bake", reason=_BAKE_REASON, files=[dest], notes=[])
