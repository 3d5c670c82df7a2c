"""Build the sample chair: samples/chair.glb, samples/chair.obj + chair.mtl.

A procedurally made chair of ten boxes (four legs, a seat, two back posts, three back
slats), each face split into a 3 x 3 grid of quads with flat normals: 960 vertices,
1080 triangles, one material. It is modelled in centimetre-like numbers (46 wide,
88 high, 50 deep) and sits away from the origin, so fitting it to a box in metres with
a bottom-centre pivot visibly scales and moves it. The front faces +Z, as glTF wants.

The output is deterministic: running the script again rewrites identical bytes.

Usage: python samples/make_samples.py [OUT_DIR]   (default: the folder of this script)
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

SEGMENTS = 3  # quads per box face edge
OFFSET = (137.0, 41.5, -62.0)  # where the chair's left-bottom-back corner sits
COLOR = (0.55, 0.33, 0.16)  # linear RGB, a mid-brown wood
NAME = "chair"
MATERIAL = "wood"

# Boxes as (min corner, size), before OFFSET; x width, y height, z depth (front = +z).
W, D = 46.0, 50.0  # seat width and depth
SEAT_Y, SEAT_T = 43.0, 4.0  # top of the legs, seat thickness
LEG = 4.0  # leg cross-section
BACK_TOP = 88.0
BOXES: list[tuple[tuple[float, float, float], tuple[float, float, float]]] = [
    # legs
    ((0.0, 0.0, 0.0), (LEG, SEAT_Y, LEG)),
    ((W - LEG, 0.0, 0.0), (LEG, SEAT_Y, LEG)),
    ((0.0, 0.0, D - LEG), (LEG, SEAT_Y, LEG)),
    ((W - LEG, 0.0, D - LEG), (LEG, SEAT_Y, LEG)),
    # seat
    ((0.0, SEAT_Y, 0.0), (W, SEAT_T, D)),
    # back posts, rising from the seat at the back (-z)
    ((0.0, SEAT_Y + SEAT_T, 0.0), (LEG, BACK_TOP - SEAT_Y - SEAT_T, LEG)),
    ((W - LEG, SEAT_Y + SEAT_T, 0.0), (LEG, BACK_TOP - SEAT_Y - SEAT_T, LEG)),
    # back slats between the posts
    ((LEG, 58.0, 1.0), (W - 2 * LEG, 6.0, 2.0)),
    ((LEG, 70.0, 1.0), (W - 2 * LEG, 6.0, 2.0)),
    ((LEG, 80.0, 1.0), (W - 2 * LEG, 8.0, 2.0)),
]


def box_faces(lo: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (n, 3), normals (n, 3) and triangle indices (m, 3) of one box."""
    grid = np.linspace(0.0, 1.0, SEGMENTS + 1)
    u, v = (g.ravel() for g in np.meshgrid(grid, grid, indexing="xy"))
    positions, normals, triangles = [], [], []
    base = 0
    for axis in range(3):
        a, b = (axis + 1) % 3, (axis + 2) % 3  # (a, b, axis) is right-handed
        for side in (0.0, 1.0):
            p = np.empty((u.size, 3))
            p[:, axis] = side
            p[:, a] = u
            p[:, b] = v
            n = np.zeros(3)
            n[axis] = 1.0 if side else -1.0
            positions.append(lo + p * size)
            normals.append(np.tile(n, (u.size, 1)))
            for j in range(SEGMENTS):
                for i in range(SEGMENTS):
                    q0 = base + j * (SEGMENTS + 1) + i
                    q1, q2, q3 = q0 + 1, q0 + SEGMENTS + 1, q0 + SEGMENTS + 2
                    # counter-clockwise seen from outside: a x b points along +axis
                    quad = [(q0, q1, q3), (q0, q3, q2)] if side else [(q0, q3, q1), (q0, q2, q3)]
                    triangles.extend(quad)
            base += u.size
    return np.concatenate(positions), np.concatenate(normals), np.array(triangles)


def build_chair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 positions (n, 3), float32 normals (n, 3), uint16 indices (m, 3)."""
    positions, normals, triangles = [], [], []
    count = 0
    offset = np.array(OFFSET)
    for lo, size in BOXES:
        p, n, t = box_faces(np.array(lo) + offset, np.array(size))
        positions.append(p)
        normals.append(n)
        triangles.append(t + count)
        count += len(p)
    return (
        np.concatenate(positions).astype("<f4"),
        np.concatenate(normals).astype("<f4"),
        np.concatenate(triangles).astype("<u2"),
    )


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def glb_bytes(positions: np.ndarray, normals: np.ndarray, indices: np.ndarray) -> bytes:
    """A GLB with one node, one mesh, one primitive and one material."""
    blobs = [positions.tobytes(), normals.tobytes(), indices.tobytes()]
    views, offset = [], 0
    for blob, target in zip(blobs, (34962, 34962, 34963), strict=True):
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(blob), "target": target})
        offset += len(_pad(blob, b"\0"))
    binary = b"".join(_pad(blob, b"\0") for blob in blobs)
    gltf = {
        "asset": {"version": "2.0", "generator": "meshpivot samples/make_samples.py"},
        "scene": 0,
        "scenes": [{"name": "Scene", "nodes": [0]}],
        "nodes": [{"name": NAME, "mesh": 0}],
        "meshes": [
            {
                "name": NAME,
                "primitives": [
                    {
                        "attributes": {"POSITION": 0, "NORMAL": 1},
                        "indices": 2,
                        "material": 0,
                        "mode": 4,
                    }
                ],
            }
        ],
        "materials": [
            {
                "name": MATERIAL,
                "pbrMetallicRoughness": {
                    "baseColorFactor": [*COLOR, 1.0],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.7,
                },
            }
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": len(positions),
                "type": "VEC3",
                "min": [float(v) for v in positions.min(axis=0)],
                "max": [float(v) for v in positions.max(axis=0)],
            },
            {"bufferView": 1, "componentType": 5126, "count": len(normals), "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": indices.size, "type": "SCALAR"},
        ],
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    text = _pad(json.dumps(gltf, separators=(",", ":")).encode("utf-8"), b" ")
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            struct.pack("<4sII", b"glTF", 2, total),
            struct.pack("<I4s", len(text), b"JSON"),
            text,
            struct.pack("<I4s", len(binary), b"BIN\0"),
            binary,
        ]
    )


def _num(value: np.float32) -> str:
    """The shortest text that reads back as the same float32."""
    return np.format_float_positional(value, unique=True, trim="-")


def obj_text(positions: np.ndarray, normals: np.ndarray, indices: np.ndarray) -> str:
    lines = ["# meshpivot sample chair (samples/make_samples.py)", f"mtllib {NAME}.mtl", f"o {NAME}"]
    lines += [f"v {_num(x)} {_num(y)} {_num(z)}" for x, y, z in positions]
    lines += [f"vn {_num(x)} {_num(y)} {_num(z)}" for x, y, z in normals]
    lines.append(f"usemtl {MATERIAL}")
    lines += ["f " + " ".join(f"{i + 1}//{i + 1}" for i in tri) for tri in indices.reshape(-1, 3).tolist()]
    return "\n".join(lines) + "\n"


def mtl_text() -> str:
    r, g, b = COLOR
    return (
        "\n".join(
            [
                "# meshpivot sample chair material",
                f"newmtl {MATERIAL}",
                "Ka 0 0 0",
                f"Kd {r:g} {g:g} {b:g}",
                "Ks 0.1 0.1 0.1",
                "Ns 20",
                "d 1",
                "illum 2",
            ]
        )
        + "\n"
    )


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    positions, normals, indices = build_chair()
    (out / f"{NAME}.glb").write_bytes(glb_bytes(positions, normals, indices))
    (out / f"{NAME}.obj").write_text(obj_text(positions, normals, indices), encoding="utf-8", newline="\n")
    (out / f"{NAME}.mtl").write_text(mtl_text(), encoding="utf-8", newline="\n")
    lo, hi = positions.min(axis=0), positions.max(axis=0)
    print(
        f"wrote {NAME}.glb, {NAME}.obj, {NAME}.mtl to {out}: {len(positions)} vertices, "
        f"{len(indices)} triangles, box {lo.tolist()} .. {hi.tolist()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
