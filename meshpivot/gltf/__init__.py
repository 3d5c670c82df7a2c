"""The glTF engine: exact, scene-graph-aware, lossless fitting of ``.glb`` and ``.gltf``.

Modules, one topic each:

* :mod:`~meshpivot.gltf.document` -- the container, read and written losslessly;
* :mod:`~meshpivot.gltf.accessors` -- decoding accessors, strided views, writing back;
* :mod:`~meshpivot.gltf.scene` -- the node graph and world matrices;
* :mod:`~meshpivot.gltf.compression` -- Draco and meshopt decoding;
* :mod:`~meshpivot.gltf.measure` -- the box of SPEC.md section 2;
* :mod:`~meshpivot.gltf.wrap` -- the ``wrap`` representation;
* :mod:`~meshpivot.gltf.bake` -- the ``bake`` representation.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import MeshPivotError, NotBakeableError, UnsupportedInputError
from ..fit import Fit
from ..formats.base import Asset, Measurement, WriteReport
from ..options import FitOptions
from .document import GltfDocument, read_document
from .measure import measure_document

__all__ = ["GltfAsset", "GltfDocument", "measure_document", "read_document"]


class GltfAsset(Asset):
    """A ``.glb`` or ``.gltf`` input.

    Parameters
    ----------
    path : Path
        The input; read when opened, never modified.

    Raises
    ------
    UnreadableInputError, UnsupportedInputError
        See :func:`~meshpivot.gltf.document.read_document`.
    """

    writes = (".glb", ".gltf")

    def __init__(self, path: Path) -> None:
        super().__init__(Path(path))
        self._doc: GltfDocument | None = read_document(self.path)

    @property
    def document(self) -> GltfDocument:
        """The document as read (do not edit: :meth:`write_fitted` works on a fresh copy)."""
        if self._doc is None:
            self._doc = read_document(self.path)
        return self._doc

    def measure(self) -> Measurement:
        """Measure the asset (SPEC.md section 2)."""
        try:
            return measure_document(self.document)
        except MeshPivotError as exc:
            raise exc.with_path(self.path) from None

    def write_fitted(self, fit: Fit, dest: Path, options: FitOptions) -> WriteReport:
        """Write the asset mapped by ``fit`` to ``dest`` (``.glb`` or ``.gltf``).

        ``bake`` rewrites geometry, translations and what depends on them (SPEC.md 7);
        ``wrap`` adds one root node carrying the fit; ``auto`` bakes where that is
        exact and wraps otherwise, saying why. Each attempt works on a fresh copy of
        the input, so a refused bake leaves nothing behind.

        Raises
        ------
        NotBakeableError
            ``options.mode == 'bake'`` and the fit cannot be baked exactly.
        UnsupportedInputError
            ``dest`` is not ``.glb`` or ``.gltf``.
        """
        if dest.suffix.lower() not in self.writes:
            raise UnsupportedInputError(
                f"cannot write {dest.suffix or '(no extension)'!r} from a glTF input; use .glb or .gltf",
                dest.name,
            )
        from .bake import bake_fit  # the writers are imported only by commands that write
        from .wrap import wrap_document

        measured, self._doc = self._doc, None
        # What measuring noted (GltfDocument.stored_bounds), and of which files.
        state, noted = (measured.read_state, measured.stored_bounds) if measured is not None else ((), {})
        del measured  # release the measured document's mapped pages before editing a fresh copy
        if options.mode in ("bake", "auto"):
            doc = read_document(self.path)  # a fresh copy to edit
            if state and state == doc.read_state:  # the same files as measured: not read again
                doc.stored_bounds.update(noted)
            try:
                baked = bake_fit(doc, fit, dequantize=options.dequantize)
            except NotBakeableError as exc:
                if options.mode == "bake":
                    raise exc.with_path(self.path) from None
                reason = f"bake would not be exact ({exc.message}), so the fit is a wrapper node"
            else:
                doc.keep_names = self.replace_input
                files = doc.write(dest)
                return WriteReport(mode="bake", reason=baked.reason, files=files, notes=baked.notes)
        else:
            reason = "requested"
        doc = read_document(self.path)
        _, notes = wrap_document(doc.json, fit)
        doc.keep_names = self.replace_input
        files = doc.write(dest)
        return WriteReport(mode="wrap", reason=reason, files=files, notes=notes)

    def input_files(self) -> set[Path]:
        """The ``.gltf``/``.glb`` and the external buffers and images it refers to."""
        doc = self.document
        files = {self.path}
        files.update(src.path for src in doc.sources if src.kind == "file" and src.path is not None)
        files.update(path for _, path, _ in doc._external_images())
        return files

    def close(self) -> None:
        """Drop the document and its memory maps (idempotent)."""
        self._doc = None
