"""Accessors: strides, component types, normalized integers, sparse, views, writing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from meshpivot.errors import UnreadableInputError, UnsupportedInputError
from meshpivot.gltf.accessors import (
    accessor_view,
    decode_normalized,
    encode_normalized,
    read_accessor,
    stored_min_max,
    update_min_max,
    write_accessor_values,
)
from meshpivot.gltf.document import GltfDocument


def doc_with(bin_bytes: bytes, views: list[dict[str, Any]], accessors: list[dict[str, Any]]) -> GltfDocument:
    data = {
        "asset": {"version": "2.0"},
        "buffers": [{"byteLength": len(bin_bytes)}],
        "bufferViews": views,
        "accessors": accessors,
    }
    raw = np.frombuffer(bin_bytes, dtype=np.uint8)
    return GltfDocument(data, format="glb", glb_bin=raw)


def test_interleaved_stride_and_offsets() -> None:
    # Two vertices of [pos f32x3 | pad 4 | uv u16x2] = 20 bytes.
    rec = np.zeros(2, dtype=[("p", "<f4", 3), ("pad", "<u4"), ("uv", "<u2", 2)])
    rec["p"] = [[1, 2, 3], [4, 5, 6]]
    rec["uv"] = [[0, 65535], [32768, 1]]
    raw = b"\xee" * 8 + rec.tobytes()
    doc = doc_with(
        raw,
        [{"buffer": 0, "byteOffset": 8, "byteLength": 40, "byteStride": 20}],
        [
            {"bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3"},
            {"bufferView": 0, "byteOffset": 16, "componentType": 5123, "normalized": True, "count": 2,
             "type": "VEC2"},
        ],
    )
    np.testing.assert_array_equal(read_accessor(doc, 0), [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(read_accessor(doc, 1), [[0, 1], [32768 / 65535, 1 / 65535]])
    view = accessor_view(doc, 0)
    assert view.strides == (20, 4) and view.dtype == np.dtype("<f4")
    assert not view.flags.writeable


@pytest.mark.parametrize(
    ("dtype", "stored", "expected"),
    [
        ("i1", [-128, -127, 0, 64, 127], [-1, -1, 0, 64 / 127, 1]),
        ("u1", [0, 255, 51], [0, 1, 0.2]),
        ("<i2", [-32768, -32767, 32767], [-1, -1, 1]),
        ("<u2", [0, 65535], [0, 1]),
    ],
)
def test_normalized_integers_decode_with_the_gltf_formulas(
    dtype: str, stored: list[int], expected: list[float]
) -> None:
    values = np.array(stored, dtype=dtype)
    np.testing.assert_allclose(decode_normalized(values), expected, rtol=0, atol=1e-15)
    back = encode_normalized(decode_normalized(values), np.dtype(dtype))
    kept = decode_normalized(values) > -1 if values.dtype.kind == "i" else slice(None)
    np.testing.assert_array_equal(back[kept], values[kept])


def test_quantized_int16_positions_not_normalized_keep_integers() -> None:
    raw = np.array([[1, -2, 3, 0], [-4, 5, -6, 0]], dtype="<i2").tobytes()
    doc = doc_with(raw, [{"buffer": 0, "byteLength": 16, "byteStride": 8}],
                  [{"bufferView": 0, "componentType": 5122, "count": 2, "type": "VEC3"}])
    out = read_accessor(doc, 0)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, [[1, -2, 3], [-4, 5, -6]])
    assert stored_min_max(doc, 0) == ([-4, -2, -6], [1, 5, 3])


def test_sparse_without_buffer_view_starts_from_zeros() -> None:
    idx = np.array([1, 3], dtype="<u2").tobytes()
    vals = np.array([[1, 2, 3], [4, 5, 6]], dtype="<f4").tobytes()
    doc = doc_with(
        idx + vals,
        [{"buffer": 0, "byteLength": 4}, {"buffer": 0, "byteOffset": 4, "byteLength": 24}],
        [{"componentType": 5126, "count": 4, "type": "VEC3",
          "sparse": {"count": 2, "indices": {"bufferView": 0, "componentType": 5123},
                     "values": {"bufferView": 1}}}],
    )
    np.testing.assert_array_equal(read_accessor(doc, 0), [[0, 0, 0], [1, 2, 3], [0, 0, 0], [4, 5, 6]])
    with pytest.raises(UnsupportedInputError, match="sparse"):
        accessor_view(doc, 0)


def test_sparse_substitutes_into_the_base() -> None:
    base = np.arange(9, dtype="<f4").reshape(3, 3).tobytes()
    idx = np.array([2], dtype="u1").tobytes() + b"\0\0\0"
    vals = np.array([[-1, -1, -1]], dtype="<f4").tobytes()
    doc = doc_with(
        base + idx + vals,
        [{"buffer": 0, "byteLength": 36}, {"buffer": 0, "byteOffset": 36, "byteLength": 1},
         {"buffer": 0, "byteOffset": 40, "byteLength": 12}],
        [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
          "sparse": {"count": 1, "indices": {"bufferView": 1, "componentType": 5121},
                     "values": {"bufferView": 2}}}],
    )
    np.testing.assert_array_equal(read_accessor(doc, 0), [[0, 1, 2], [3, 4, 5], [-1, -1, -1]])
    # The base is not changed by reading.
    np.testing.assert_array_equal(doc.buffer_bytes(0)[:36].view("<f4")[6:], [6, 7, 8])


def test_padded_mat3_of_bytes_reads_column_major() -> None:
    # MAT3 of int8: each 3-byte column padded to 4 bytes; element 12 bytes.
    cols = np.zeros((1, 3, 4), dtype="i1")
    cols[0, :, :3] = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    doc = doc_with(cols.tobytes(), [{"buffer": 0, "byteLength": 12}],
                  [{"bufferView": 0, "componentType": 5120, "count": 1, "type": "MAT3"}])
    np.testing.assert_array_equal(read_accessor(doc, 0), [[1, 2, 3, 4, 5, 6, 7, 8, 9]])


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"componentType": 5124}, "/accessors/0/componentType"),
        ({"type": "VEC5"}, "/accessors/0/type"),
        ({"count": 5}, "/accessors/0 needs bytes"),
        ({"byteOffset": 4}, "/accessors/0 needs bytes"),
        ({"bufferView": 7}, "/accessors/0/bufferView"),
    ],
)
def test_bad_accessors_name_the_json_place(change: dict[str, Any], words: str) -> None:
    acc = {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", **change}
    doc = doc_with(bytes(36), [{"buffer": 0, "byteLength": 36}], [acc])
    with pytest.raises(UnreadableInputError, match=words):
        read_accessor(doc, 0)


@pytest.mark.parametrize("stride", [8, 256])
def test_bad_stride_is_an_error(stride: int) -> None:
    doc = doc_with(bytes(600), [{"buffer": 0, "byteLength": 600, "byteStride": stride}],
                  [{"bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3"}])
    with pytest.raises(UnreadableInputError, match="byteStride"):
        read_accessor(doc, 0)


def test_view_beyond_buffer_is_an_error() -> None:
    doc = doc_with(bytes(36), [{"buffer": 0, "byteOffset": 12, "byteLength": 36}],
                  [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}])
    with pytest.raises(UnreadableInputError, match="/bufferViews/0"):
        read_accessor(doc, 0)


def test_write_values_through_a_strided_view_touches_only_the_accessor() -> None:
    rec = np.zeros(3, dtype=[("p", "<f4", 3), ("n", "<i1", 4)])
    rec["p"] = np.arange(9).reshape(3, 3)
    rec["n"] = [[127, 0, 0, 0], [0, 127, 0, 0], [0, 0, 127, 0]]
    doc = doc_with(
        rec.tobytes(),
        [{"buffer": 0, "byteLength": 48, "byteStride": 16}],
        [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3", "min": [0, 1, 2], "max": [6, 7, 8]},
         {"bufferView": 0, "byteOffset": 12, "componentType": 5120, "normalized": True, "count": 3,
          "type": "VEC3"}],
    )
    before = doc.buffer_bytes(0).copy()
    write_accessor_values(doc, 0, read_accessor(doc, 0) * 2 - 1)
    write_accessor_values(doc, 1, -read_accessor(doc, 1))
    update_min_max(doc, 0)
    assert doc.json["accessors"][0]["min"] == [-1.0, 1.0, 3.0]
    assert doc.json["accessors"][0]["max"] == [11.0, 13.0, 15.0]
    after = doc.buffer_bytes(0)
    np.testing.assert_array_equal(after.view(rec.dtype)["n"][:, 3], [0, 0, 0])
    np.testing.assert_array_equal(read_accessor(doc, 1) * 127, -np.eye(3) * 127)
    assert not np.array_equal(before, after)


def test_accessor_view_writable_edits_reach_the_document() -> None:
    raw = np.arange(6, dtype="<f4").tobytes()
    doc = doc_with(raw, [{"buffer": 0, "byteLength": 24}],
                  [{"bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3"}])
    view = accessor_view(doc, 0, writable=True)
    view[:, 1] += 10
    np.testing.assert_array_equal(read_accessor(doc, 0), [[0, 11, 2], [3, 14, 5]])
