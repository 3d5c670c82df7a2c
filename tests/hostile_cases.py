"""The catalogue of hostile and broken inputs, as data (issue 6).

Each :class:`Case` builds one broken file in a fresh folder from a small valid base
and says what the one-line error must contain: a message fragment and, where the
problem has a place in the glTF JSON, its JSON pointer. ``tests/test_hostile.py``
runs every case through ``meshpivot inspect``, ``verify`` and ``apply``.

Adding a case is one line: a name, a builder, a fragment, maybe a pointer. Builders
are made by the small helpers below:

* ``glb(*edits)`` -- the base GLB with JSON edits applied (``put``, ``drop``, ``edit``);
* ``glb_bytes(fn)`` -- the base GLB's bytes passed through ``fn(bytes) -> bytes``;
* ``gltf(*edits, files=...)`` -- the base as ``.gltf`` with an external ``base.bin``;
* ``text(name, data)`` -- any file with the given bytes (OBJ, PLY, STL, FBX, USD);
* ``zipped(members)`` -- an OBJ zip with the given members.

The base asset is a tetrahedron (4 float positions, 12 ``uint16`` indices) drawn by
two nodes, a root and its child; everything fits in 72 bytes of BIN.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CASES",
    "Case",
    "base_bin",
    "base_json",
    "glb",
    "glb_bytes",
    "gltf",
    "make_glb",
    "text",
    "zipped",
]

Builder = Callable[[Path], Path]
Edit = Callable[[dict[str, Any]], None]

# --- the valid base ------------------------------------------------------------------

_POSITIONS = [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)]
_INDICES = [0, 1, 2, 0, 1, 3, 0, 2, 3, 1, 2, 3]


def base_bin(positions: list[tuple[float, float, float]] | None = None) -> bytes:
    """The 72 BIN bytes of the base: 48 bytes of float32 positions, 24 of uint16 indices."""
    pos = positions if positions is not None else _POSITIONS
    return b"".join(struct.pack("<3f", *p) for p in pos) + struct.pack("<12H", *_INDICES)


def base_json() -> dict[str, Any]:
    """A fresh copy of the base glTF JSON (one buffer of 72 bytes, no ``uri``)."""
    return {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "children": [1]}, {"mesh": 0, "translation": [2.0, 0.0, 0.0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3",
             "min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 1.0]},
            {"bufferView": 1, "componentType": 5123, "count": 12, "type": "SCALAR"},
        ],
        "bufferViews": [
            {"buffer": 0, "byteLength": 48, "target": 34962},
            {"buffer": 0, "byteOffset": 48, "byteLength": 24, "target": 34963},
        ],
        "buffers": [{"byteLength": 72}],
    }  # fmt: skip


def _chunk(ctype: bytes, payload: bytes, pad: bytes) -> bytes:
    payload += pad * ((-len(payload)) % 4)
    return struct.pack("<I", len(payload)) + ctype + payload


def make_glb(data: dict[str, Any] | bytes, bin_: bytes | None = b"") -> bytes:
    """A GLB file: JSON chunk (``data`` serialised, or raw bytes), then a BIN chunk (``None``: none)."""
    js = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    body = _chunk(b"JSON", js, b" ")
    if bin_ is not None:
        body += _chunk(b"BIN\0", bin_, b"\0")
    return b"glTF" + struct.pack("<II", 2, 12 + len(body)) + body


def _base_glb() -> bytes:
    return make_glb(base_json(), base_bin())


#: Byte offsets of the structural boundaries of the base GLB.
_JSON_LEN = len(_chunk(b"JSON", json.dumps(base_json(), separators=(",", ":")).encode(), b" ")) - 8
BOUNDARIES = {
    "header": 7,  # inside the 12-byte file header
    "json_chunk_header": 12 + 4,  # inside the JSON chunk's 8-byte header
    "json_body": 20 + _JSON_LEN // 2,  # half-way through the JSON text
    "bin_chunk_header": 20 + _JSON_LEN + 4,  # inside the BIN chunk's header
    "bin_body": 20 + _JSON_LEN + 8 + 30,  # half-way through the BIN bytes
}

# --- edits of the JSON ---------------------------------------------------------------


def _walk(data: Any, pointer: str) -> tuple[Any, str | int]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
    node = data
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    return node, (int(last) if isinstance(node, list) and last != "-" else last)


def put(pointer: str, value: Any) -> Edit:
    """Set (or add) the value at a JSON pointer; ``/a/-`` appends to the array ``a``."""

    def edit(data: dict[str, Any]) -> None:
        parent, key = _walk(data, pointer)
        if key == "-":
            parent.append(value)
        else:
            parent[key] = value

    return edit


def drop(pointer: str) -> Edit:
    """Remove the value at a JSON pointer."""

    def edit(data: dict[str, Any]) -> None:
        parent, key = _walk(data, pointer)
        del parent[key]

    return edit


def glb(*edits: Edit, bin_: bytes | None = None, name: str = "case.glb") -> Builder:
    """The base GLB with ``edits`` applied to its JSON (and ``bin_`` as its BIN, if given)."""

    def build(folder: Path) -> Path:
        data = base_json()
        for e in edits:
            e(data)
        path = folder / name
        path.write_bytes(make_glb(data, base_bin() if bin_ is None else bin_))
        return path

    return build


def glb_bytes(fn: Callable[[bytes], bytes]) -> Builder:
    """The base GLB's bytes passed through ``fn``."""

    def build(folder: Path) -> Path:
        path = folder / "case.glb"
        path.write_bytes(fn(_base_glb()))
        return path

    return build


def gltf(*edits: Edit, files: dict[str, bytes] | None = None, setup: Callable[[Path], None] | None = None) -> Builder:
    """The base as ``asset/case.gltf`` with ``base.bin`` beside it, then ``edits`` and ``files``.

    The asset lives in a subfolder so that a URI escaping it has somewhere to point.
    ``setup(asset_folder)`` runs last (e.g. to make a symbolic link).
    """

    def build(folder: Path) -> Path:
        asset = folder / "asset"
        asset.mkdir()
        (asset / "base.bin").write_bytes(base_bin())
        data = base_json()
        data["buffers"][0]["uri"] = "base.bin"
        for e in edits:
            e(data)
        for rel, raw in (files or {}).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(raw)
        if setup is not None:
            setup(asset)
        path = asset / "case.gltf"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return build


def text(name: str, data: bytes | str) -> Builder:
    """A file ``name`` holding ``data``."""

    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return build


def zipped(members: dict[str, bytes], *, setup: Callable[[zipfile.ZipFile], None] | None = None) -> Builder:
    """An OBJ zip ``case.zip`` with ``members`` (name -> bytes) and an optional extra step."""

    def build(folder: Path) -> Path:
        path = folder / "case.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, raw in members.items():
                zf.writestr(name, raw)
            if setup is not None:
                setup(zf)
        return path

    return build


# --- byte-level helpers --------------------------------------------------------------


def _set_u32(offset: int, value: int) -> Callable[[bytes], bytes]:
    return lambda b: b[:offset] + struct.pack("<I", value) + b[offset + 4 :]


def _cut(offset: int, fix_length: bool = False) -> Callable[[bytes], bytes]:
    """Truncate at ``offset``; with ``fix_length`` the header's total length says so too."""

    def fn(b: bytes) -> bytes:
        out = b[:offset]
        return out[:8] + struct.pack("<I", offset) + out[12:] if fix_length and offset >= 12 else out

    return fn


def _glb_with_json_bytes(js: bytes) -> Builder:
    return text("case.glb", make_glb(js, base_bin()))


def _nested(depth: int) -> bytes:
    head = json.dumps(base_json(), separators=(",", ":"))[:-1]
    return (head + ',"extras":' + "[" * depth + "]" * depth + "}").encode()


def _nan_positions() -> bytes:
    return base_bin([(0.0, 0.0, 0.0), (float("nan"), 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])


def _inf_positions() -> bytes:
    return base_bin([(0.0, 0.0, 0.0), (1.0, float("inf"), 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])


def _huge_positions() -> bytes:
    return base_bin([(0.0, 0.0, 0.0), (3e38, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)])


def _sparse(indices: list[int], count: int = 4) -> list[Edit]:
    """Make accessor 0 sparse, with ``indices`` (uint16) in a third bufferView and values beside them."""
    n = len(indices)
    return [
        put("/bufferViews/-", {"buffer": 1, "byteLength": 2 * n}),
        put("/bufferViews/-", {"buffer": 1, "byteOffset": 2 * n + (-2 * n) % 4, "byteLength": 12 * n}),
        put("/accessors/0/sparse", {"count": n, "indices": {"bufferView": 2, "componentType": 5123},
                                    "values": {"bufferView": 3}}),
        put("/accessors/0/count", count),
        put("/buffers/-", {"byteLength": 2 * n + (-2 * n) % 4 + 12 * n, "uri": _sparse_uri(indices)}),
    ]  # fmt: skip


def _sparse_uri(indices: list[int]) -> str:
    import base64

    n = len(indices)
    raw = struct.pack(f"<{n}H", *indices) + b"\0" * ((-2 * n) % 4) + b"\0" * (12 * n)
    return "data:application/octet-stream;base64," + base64.b64encode(raw).decode()


def _symlink_out(asset: Path) -> None:
    (asset.parent / "outside.bin").write_bytes(base_bin())
    os.symlink(asset.parent / "outside.bin", asset / "link.bin")


def _huge_zip_member(zf: zipfile.ZipFile) -> None:
    # 64 MB of zeros deflates to about 64 kB: more than 200 times, a likely bomb.
    zf.writestr("bomb.obj", b"\0" * (64 << 20))


def _binary_ply(count: int, faces: int = 1, face_index: int = 2, cut: int = 0) -> bytes:
    head = (
        f"ply\nformat binary_little_endian 1.0\nelement vertex {count}\n"
        "property float x\nproperty float y\nproperty float z\n"
        f"element face {faces}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()
    body = b"".join(struct.pack("<3f", *p) for p in _POSITIONS[:3])
    body += struct.pack("<B3i", 3, 0, 1, face_index)
    raw = head + body
    return raw[: len(raw) - cut] if cut else raw


def _ascii_ply(count: int, face: str = "3 0 1 2") -> str:
    return (
        f"ply\nformat ascii 1.0\nelement vertex {count}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face 1\nproperty list uchar int vertex_indices\nend_header\n"
        f"0 0 0\n1 0 0\n0 1 0\n{face}\n"
    )


def _binary_stl(declared: int, actual: int) -> bytes:
    facet = struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    return b"\0" * 80 + struct.pack("<I", declared) + facet * actual


_OBJ = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\n"


# --- the catalogue ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One kind of broken input.

    Attributes
    ----------
    name : str
        Identifier (the test id).
    build : callable
        ``build(folder) -> path``: writes the broken file (and anything beside it)
        into an empty ``folder`` and returns the path to give meshpivot.
    fragment : str
        Text the one-line error must contain.
    pointer : str or None
        The JSON pointer the error must name, where the problem has one.
    """

    name: str
    build: Builder
    fragment: str
    pointer: str | None = None


_BIN_AT = BOUNDARIES["bin_chunk_header"] - 4  # start of the BIN chunk header

CASES: list[Case] = [
    # --- GLB container -----------------------------------------------------------------
    Case("glb_bad_magic", glb_bytes(lambda b: b"glXF" + b[4:]), "not a GLB file: magic"),
    Case("glb_version_1", glb_bytes(_set_u32(4, 1)), "GLB version is 1; expected 2"),
    Case("glb_length_too_big", glb_bytes(lambda b: _set_u32(8, len(b) + 100)(b)), "GLB header says"),
    Case("glb_length_too_small", glb_bytes(_set_u32(8, 30)), "claims"),
    Case("glb_json_chunk_length_too_big", glb_bytes(_set_u32(12, 1 << 30)), "claims 1073741824 bytes"),
    Case("glb_bin_chunk_length_too_big", glb_bytes(_set_u32(_BIN_AT, 10_000)), "claims 10000 bytes"),
    Case("glb_first_chunk_not_json", glb_bytes(lambda b: b[:16] + b"BIN\0" + b[20:]), "no JSON chunk first"),
    Case("glb_second_json_chunk", glb_bytes(lambda b: b[: _BIN_AT + 4] + b"JSON" + b[_BIN_AT + 8 :]),
         "second JSON chunk"),
    *[Case(f"glb_truncated_in_{where}", glb_bytes(_cut(at)), "truncated" if where == "header" else "GLB header says")
      for where, at in BOUNDARIES.items()],
    *[Case(f"glb_truncated_in_{where}_length_fixed", glb_bytes(_cut(at, fix_length=True)), fragment)
      for where, at, fragment in [
          ("json_chunk_header", BOUNDARIES["json_chunk_header"], "chunk header at byte 12 is truncated"),
          ("json_body", BOUNDARIES["json_body"], "claims"),
          ("bin_chunk_header", BOUNDARIES["bin_chunk_header"], "is truncated"),
          ("bin_body", BOUNDARIES["bin_body"], "claims"),
      ]],
    Case("glb_no_chunks", glb_bytes(lambda b: _set_u32(8, 12)(b[:12])), "no JSON chunk first"),
    Case("glb_json_not_utf8", _glb_with_json_bytes(b'{"asset":{"version":"2.0\xff\xfe"}}'), "not UTF-8"),
    Case("glb_json_not_json", _glb_with_json_bytes(b"{this is not json"), "not valid JSON"),
    Case("glb_json_not_object", _glb_with_json_bytes(b"[1, 2, 3]"), "expected an object"),
    Case("glb_bin_shorter_than_buffer", glb(put("/buffers/0/byteLength", 4096)), "GLB BIN chunk has 72 bytes",
         "/buffers/0/byteLength"),
    Case("glb_no_bin_chunk", text("case.glb", make_glb(base_json(), None)), "no uri and no data", "/buffers/0"),
    Case("glb_json_deeply_nested", _glb_with_json_bytes(_nested(100_000)), "nested too deeply"),
    # --- accessors and bufferViews -------------------------------------------------
    Case("accessor_beyond_buffer_view", glb(put("/accessors/0/byteOffset", 40)), "needs bytes 40..",
         "/accessors/0"),
    Case("accessor_count_beyond_view", glb(put("/accessors/0/count", 5)), "needs bytes", "/accessors/0"),
    Case("accessor_count_huge", glb(put("/accessors/0/count", 10**12)), "needs bytes", "/accessors/0"),
    Case("index_accessor_count_huge", glb(put("/accessors/1/count", 10**12)), "needs bytes", "/accessors/1"),
    Case("accessor_count_negative", glb(put("/accessors/0/count", -1)), "expected an integer >= 0",
         "/accessors/0/count"),
    Case("accessor_count_not_integer", glb(put("/accessors/0/count", 4.5)), "expected an integer >= 0",
         "/accessors/0/count"),
    Case("accessor_without_view_huge", glb(drop("/accessors/0/bufferView"), put("/accessors/0/count", 10**11)),
         "would need", "/accessors/0/count"),
    Case("accessor_component_type_invalid", glb(put("/accessors/0/componentType", 5124)), "5124",
         "/accessors/0/componentType"),
    Case("accessor_type_invalid", glb(put("/accessors/0/type", "VEC5")), "'VEC5'", "/accessors/0/type"),
    Case("accessor_position_not_vec3", glb(put("/accessors/0/type", "VEC4"), put("/accessors/0/count", 3)),
         "expected VEC3", "/meshes/0/primitives/0/attributes/POSITION"),
    Case("buffer_view_beyond_buffer", glb(put("/bufferViews/0/byteLength", 4000)), "goes beyond /buffers/0",
         "/bufferViews/0"),
    Case("buffer_view_offset_huge", glb(put("/bufferViews/1/byteOffset", 2**62)), "goes beyond /buffers/0",
         "/bufferViews/1"),
    Case("buffer_view_buffer_dangling", glb(put("/bufferViews/0/buffer", 7)), "the file has 1 buffers",
         "/bufferViews/0/buffer"),
    Case("byte_stride_below_element", glb(put("/bufferViews/0/byteStride", 8)), "elements are 12 bytes",
         "/bufferViews/0/byteStride"),
    Case("byte_stride_above_252", glb(put("/bufferViews/0/byteStride", 256)), "expected an integer in 4..252",
         "/bufferViews/0/byteStride"),
    Case("buffer_byte_length_huge", glb(put("/buffers/0/byteLength", 10**12)), "GLB BIN chunk has 72 bytes",
         "/buffers/0/byteLength"),
    Case("index_beyond_vertex_count", glb(bin_=base_bin()[:48] + struct.pack("<12H", *([0, 1, 9] * 4))),
         "reference vertex 9", "/meshes/0/primitives/0/indices"),
    Case("sparse_index_out_of_range", gltf(*_sparse([1, 7])), "reference element 7",
         "/accessors/0/sparse/indices"),
    Case("sparse_indices_unsorted", gltf(*_sparse([2, 1])), "strictly increasing", "/accessors/0/sparse/indices"),
    Case("sparse_indices_repeated", gltf(*_sparse([1, 1])), "strictly increasing", "/accessors/0/sparse/indices"),
    Case("sparse_count_above_count", gltf(*_sparse([0, 1, 2, 3, 4], count=4)), "more than count",
         "/accessors/0/sparse/count"),
    Case("sparse_only_count_huge", gltf(*_sparse([1]), drop("/accessors/0/bufferView"),
                                        put("/accessors/0/count", 10**10)), "would need", "/accessors/0/count"),
    # --- node graph and references -------------------------------------------------
    Case("node_cycle", glb(put("/nodes/1/children", [0])), "cycle"),
    Case("node_self_parent", glb(put("/nodes/0/children", [0])), "cycle"),
    Case("node_two_parents", glb(put("/nodes/-", {"children": [1]}), put("/scenes/0/nodes", [0, 2])),
         "two parents", "/nodes/1"),
    Case("node_child_dangling", glb(put("/nodes/0/children", [1, 9])), "the file has 2 nodes",
         "/nodes/0/children/1"),
    Case("scene_names_missing_node", glb(put("/scenes/0/nodes", [0, 5])), "the file has 2 nodes",
         "/scenes/0/nodes/1"),
    Case("scene_index_dangling", glb(put("/scene", 3)), "the file has 1 scenes", "/scene"),
    Case("mesh_dangling", glb(put("/nodes/1/mesh", 4)), "the file has 1 meshes", "/nodes/1/mesh"),
    Case("skin_dangling", glb(put("/nodes/1/skin", 2)), "the file has 0 skins", "/nodes/1/skin"),
    Case("position_accessor_dangling", glb(put("/meshes/0/primitives/0/attributes/POSITION", 9)),
         "the file has 2 accessors", "/meshes/0/primitives/0/attributes/POSITION"),
    Case("indices_accessor_dangling", glb(put("/meshes/0/primitives/0/indices", -1)),
         "the file has 2 accessors", "/meshes/0/primitives/0/indices"),
    Case("primitive_without_position", glb(put("/meshes/0/primitives/0/attributes", {})), "no POSITION",
         "/meshes/0/primitives/0/attributes"),
    Case("primitives_not_array", glb(put("/meshes/0/primitives", {"0": 1})), "not an array",
         "/meshes/0/primitives"),
    Case("nodes_not_array", glb(put("/nodes", {"mesh": 0})), "not an array", "/nodes"),
    Case("node_matrix_malformed", glb(put("/nodes/1/matrix", [1, 0, 0])), "expected 16 numbers", "/nodes/1"),
    Case("node_translation_string", glb(put("/nodes/1/translation", "far")), "expected 3 numbers", "/nodes/1"),
    Case("no_scene", glb(drop("/scenes"), drop("/scene")), "no scene"),
    Case("nan_position", glb(bin_=_nan_positions()), "NaN"),
    Case("inf_position", glb(bin_=_inf_positions()), "infinite"),
    Case("nan_node_translation", glb(put("/nodes/1/translation", [float("nan"), 0, 0])), "NaN"),
    Case("huge_node_scale_int", glb(put("/nodes/1/scale", [10**400, 1, 1])), "finite number", "/nodes/1/scale/0"),
    Case("world_matrix_overflows", glb(put("/nodes/0/scale", [1e300, 1, 1]), put("/nodes/1/scale", [1e300, 1, 1])),
         "world matrix overflows", "/nodes/1"),
    Case("box_overflows_float64", glb(put("/nodes/1/scale", [1e300, 1, 1]), bin_=_huge_positions()),
         "world box overflows", "/scenes/0"),
    # --- URIs and external files -----------------------------------------------------
    Case("data_uri_bad_base64", gltf(put("/buffers/0/uri", "data:application/octet-stream;base64,AAAAA")),
         "corrupt base64", "/buffers/0/uri"),
    Case("data_uri_no_comma", gltf(put("/buffers/0/uri", "data:application/octet-stream;base64")),
         "no ','", "/buffers/0/uri"),
    Case("data_uri_too_short", gltf(put("/buffers/0/uri", "data:application/octet-stream;base64,AAAA")),
         "holds 3 bytes", "/buffers/0/uri"),
    Case("missing_external_bin", gltf(put("/buffers/0/uri", "missing.bin")), "no such file", "/buffers/0/uri"),
    Case("external_bin_too_short", gltf(put("/buffers/0/uri", "short.bin"), files={"asset/short.bin": b"\0" * 8}),
         "has 8 bytes", "/buffers/0/uri"),
    Case("missing_image", gltf(put("/images", [{"uri": "missing.png"}])), "no such file", "/images/0/uri"),
    Case("uri_parent_folder", gltf(put("/buffers/0/uri", "../outside.bin"), files={"outside.bin": base_bin()}),
         "outside the asset's folder", "/buffers/0/uri"),
    Case("uri_parent_percent_encoded", gltf(put("/buffers/0/uri", "%2E%2E/outside.bin"),
                                            files={"outside.bin": base_bin()}),
         "outside the asset's folder", "/buffers/0/uri"),
    Case("uri_absolute_path", gltf(put("/buffers/0/uri", "/etc/passwd")), "absolute path", "/buffers/0/uri"),
    Case("uri_file_scheme", gltf(put("/buffers/0/uri", "file:///etc/passwd")), "'file' scheme", "/buffers/0/uri"),
    Case("uri_http_scheme", gltf(put("/buffers/0/uri", "http://example.com/x.bin")), "'http' scheme",
         "/buffers/0/uri"),
    Case("uri_symlink_outside", gltf(put("/buffers/0/uri", "link.bin"), setup=_symlink_out),
         "outside the asset's folder", "/buffers/0/uri"),
    Case("image_uri_parent_folder", gltf(put("/images", [{"uri": "../secret.png"}]), files={"secret.png": b"x"}),
         "outside the asset's folder", "/images/0/uri"),
    Case("gltf_not_json", text("case.gltf", "{ nope"), "not valid JSON"),
    Case("gltf_deeply_nested", text("case.gltf", _nested(100_000)), "nested too deeply"),
    Case("buffers_not_array", gltf(put("/buffers", {"byteLength": 72})), "not an array", "/buffers"),
    # --- OBJ ---------------------------------------------------------------------------
    Case("obj_face_past_vertices", text("case.obj", _OBJ + "f 1 2 9\n"), "refers to vertex 9"),
    Case("obj_negative_face_past_start", text("case.obj", _OBJ + "f -1 -2 -9\n"), "refers to vertex -9"),
    Case("obj_face_index_zero", text("case.obj", _OBJ + "f 0 1 2\n"), "vertex 0"),
    Case("obj_face_index_garbage", text("case.obj", _OBJ + "f 1 two 3\n"), "expected a vertex index"),
    Case("obj_vertex_garbage", text("case.obj", "v 0 0 zero\n" + _OBJ), "needs three numbers"),
    Case("obj_binary_garbage", text("case.obj", b"v 0 0 0\n\x00\x01\x02\xff" * 10), "binary data"),
    Case("obj_nan_vertex", text("case.obj", _OBJ.replace("v 1 0 0", "v nan 0 0")), "NaN"),
    Case("obj_no_vertex", text("case.obj", "# nothing here\n"), "no vertex"),
    # --- PLY ---------------------------------------------------------------------------
    Case("ply_not_ply", text("case.ply", "PLX\nformat ascii 1.0\nend_header\n"), "not a PLY file"),
    Case("ply_no_end_header", text("case.ply", "ply\nformat ascii 1.0\nelement vertex 3\n"), "no 'end_header'"),
    Case("ply_bad_property_type", text("case.ply", _ascii_ply(3).replace("property float z", "property flt z")),
         "unknown type"),
    Case("ply_bad_format", text("case.ply", _ascii_ply(3).replace("format ascii", "format ebcdic")),
         "PLY format is 'ebcdic'"),
    Case("ply_binary_truncated", text("case.ply", _binary_ply(3, cut=10)), "truncated"),
    Case("ply_binary_count_huge", text("case.ply", _binary_ply(10**12)), "truncated"),
    Case("ply_binary_face_past_vertices", text("case.ply", _binary_ply(3, face_index=99)), "vertex 99"),
    Case("ply_ascii_face_past_vertices", text("case.ply", _ascii_ply(3, "3 0 1 7")), "vertex 7"),
    Case("ply_ascii_count_huge", text("case.ply", _ascii_ply(10**12)), "truncated"),
    # --- STL ---------------------------------------------------------------------------
    Case("stl_binary_truncated", text("case.stl", _binary_stl(4, 4)[:-20]), "truncated"),
    Case("stl_binary_count_mismatch", text("case.stl", _binary_stl(2**31, 1)), "truncated"),
    Case("stl_too_short", text("case.stl", b"\0" * 40), "too short"),
    Case("stl_ascii_garbage", text("case.stl", "solid x\n  facet normal 0 0 1\n  oops 1 2 3\nendsolid\n"),
         "unexpected 'oops'"),
    Case("stl_ascii_bad_vertex", text("case.stl", "solid x\nfacet normal 0 0 1\nouter loop\nvertex 1 2\n"),
         "vertex x y z"),
    # --- OBJ zip -----------------------------------------------------------------------
    Case("zip_member_parent_folder", zipped({"../evil.obj": _OBJ.encode()}), "'..'"),
    Case("zip_member_absolute", zipped({"/tmp/evil.obj": _OBJ.encode()}), "absolute path"),
    Case("zip_bomb", zipped({"model.obj": _OBJ.encode()}, setup=_huge_zip_member), "zip bomb"),
    Case("zip_not_a_zip", text("case.zip", b"PK\x03\x04 this is not really a zip"), "not a zip file"),
    Case("zip_without_obj", zipped({"readme.txt": b"hello"}), "no .obj member"),
    Case("zip_obj_face_past_vertices", zipped({"m.obj": (_OBJ + "f 1 2 9\n").encode()}), "refers to vertex 9"),
    # --- USD and FBX -------------------------------------------------------------------
    Case("fbx_garbage", text("case.fbx", b"Kaydara FBX Binary  \x00\x1a\x00" + b"\xff" * 64), "FBX"),
    Case("fbx_truncated", text("case.fbx", b"Kaydara FBX Binary  \x00\x1a\x00\xe8\x1c\x00\x00"), "FBX"),
    Case("usda_garbage", text("case.usda", "#usda 1.0\n( this is { not usd\n"), "USD"),
]
