"""OBJ zips as the hosted API ships them: read directly, written back member for member."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from meshpivot.api import apply_file, measure_file, verify_file
from meshpivot.errors import UnreadableInputError, UnsupportedInputError
from meshpivot.formats import objzip
from meshpivot.options import FitOptions

SPIDER = ["spider.obj", "spider.mtl", "SpiderTex.jpg", "drkwood2.jpg", "engineflare1.jpg",
          "wal67ar_small.jpg", "wal69ar_small.jpg"]  # fmt: skip
OPTIONS = FitOptions(scaled_bbox=[2.0, -1, -1], pivot_point=[0, -0.5, 0])


@pytest.fixture(scope="module")
def obj_dir(formats_dir: Path) -> Path:
    return formats_dir / "OBJ"


def make_zip(dest: Path, members: list[tuple[str, bytes, int]]) -> Path:
    with zipfile.ZipFile(dest, "w") as zf:
        for name, data, method in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 5, 6, 7, 8, 10)), data, compress_type=method)
    return dest


@pytest.fixture
def spider_zip(obj_dir: Path, tmp_path: Path) -> Path:
    members = [(n, (obj_dir / n).read_bytes(), zipfile.ZIP_DEFLATED) for n in SPIDER]
    members[3] = (members[3][0], members[3][1], zipfile.ZIP_STORED)  # a stored texture
    return make_zip(tmp_path / "spider.zip", members)


def contents(path: Path) -> list[tuple[str, int, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.compress_type, zf.read(i)) for i in zf.infolist()]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_measure_equals_the_plain_obj(spider_zip: Path, obj_dir: Path) -> None:
    zipped, plain = measure_file(spider_zip), measure_file(obj_dir / "spider.obj")
    np.testing.assert_array_equal(zipped.lo, plain.lo)
    np.testing.assert_array_equal(zipped.hi, plain.hi)
    assert zipped.counts == plain.counts
    assert zipped.format == "obj.zip"


def test_apply_keeps_members_and_fits_the_obj(spider_zip: Path, obj_dir: Path, tmp_path: Path) -> None:
    before = digest(spider_zip)
    out = tmp_path / "out.zip"
    result = apply_file(spider_zip, out, OPTIONS)
    assert result.mode == "bake" and result.files == [str(out)]
    assert verify_file(out, OPTIONS).passed
    old, new = contents(spider_zip), contents(out)
    assert [(n, m) for n, m, _ in old] == [(n, m) for n, m, _ in new]  # names, order, methods
    for (name, _, a), (_, _, b) in zip(old, new, strict=True):
        if name != "spider.obj":
            assert a == b, name
    # The OBJ member is exactly what the lossless OBJ adapter writes for the plain file.
    plain_out = tmp_path / "plain" / "spider.obj"
    plain_out.parent.mkdir()
    apply_file(obj_dir / "spider.obj", plain_out, OPTIONS)
    assert dict((n, d) for n, _, d in new)["spider.obj"] == plain_out.read_bytes()
    with zipfile.ZipFile(spider_zip) as a, zipfile.ZipFile(out) as b:
        assert [i.date_time for i in a.infolist()] == [i.date_time for i in b.infolist()]
    assert digest(spider_zip) == before


def test_obj_in_a_subfolder_with_stored_members(obj_dir: Path, tmp_path: Path) -> None:
    members = [
        ("model/", b"", zipfile.ZIP_STORED),
        ("model/cube_usemtl.obj", (obj_dir / "cube_usemtl.obj").read_bytes(), zipfile.ZIP_STORED),
        ("model/cube_usemtl.mtl", (obj_dir / "cube_usemtl.mtl").read_bytes(), zipfile.ZIP_DEFLATED),
    ]
    src = make_zip(tmp_path / "cube.zip", members)
    np.testing.assert_array_equal(measure_file(src).size, measure_file(obj_dir / "cube_usemtl.obj").size)
    out = tmp_path / "cube_out.zip"
    apply_file(src, out, FitOptions(scaled_bbox=[1, 2, 3]))
    assert verify_file(out, FitOptions(scaled_bbox=[1, 2, 3])).passed
    assert [(n, m) for n, m, _ in contents(out)] == [(n, m) for n, m, _ in contents(src)]
    assert contents(out)[2] == contents(src)[2]


def test_two_obj_members_are_measured_together(obj_dir: Path, tmp_path: Path) -> None:
    box = (obj_dir / "box.obj").read_bytes()
    cube = (obj_dir / "cube_usemtl.obj").read_bytes()
    src = make_zip(tmp_path / "two.zip", [("a.obj", box, 8), ("b.obj", cube, 8)])
    m = measure_file(src)
    a, b = measure_file(obj_dir / "box.obj"), measure_file(obj_dir / "cube_usemtl.obj")
    np.testing.assert_array_equal(m.lo, np.minimum(a.lo, b.lo))
    np.testing.assert_array_equal(m.hi, np.maximum(a.hi, b.hi))
    out = tmp_path / "two_out.zip"
    apply_file(src, out, OPTIONS)
    assert verify_file(out, OPTIONS).passed


@pytest.mark.parametrize("name", ["../evil.obj", "/etc/evil.obj", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_slip_member_is_refused(obj_dir: Path, tmp_path: Path, name: str) -> None:
    box = (obj_dir / "box.obj").read_bytes()
    src = make_zip(tmp_path / "slip.zip", [("box.obj", box, 8), (name, b"x", 8)])
    with pytest.raises(UnsupportedInputError, match=r"absolute path or '\.\.'") as info:
        measure_file(src)
    assert name in str(info.value)


def test_symlink_member_is_refused(obj_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "link.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("box.obj", (obj_dir / "box.obj").read_bytes())
        link = zipfile.ZipInfo("tex.jpg")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UnsupportedInputError, match="symbolic link"):
        measure_file(src)


def test_highly_compressible_member_is_refused_as_a_bomb(obj_dir: Path, tmp_path: Path) -> None:
    box = (obj_dir / "box.obj").read_bytes()
    src = make_zip(tmp_path / "bomb.zip", [("box.obj", box, 8), ("zeros.bin", bytes(4 << 20), 8)])
    with pytest.raises(UnsupportedInputError, match="zip bomb"):
        measure_file(src)


def test_total_size_limit(obj_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = (obj_dir / "box.obj").read_bytes()
    src = make_zip(tmp_path / "big.zip", [("box.obj", box, 8), ("tex.jpg", b"j" * 1000, 0)])
    monkeypatch.setattr(objzip, "MAX_TOTAL_BYTES", 1000)
    with pytest.raises(UnsupportedInputError, match="more than 1000 bytes"):
        measure_file(src)


def test_declared_size_is_checked_before_reading(obj_dir: Path, tmp_path: Path) -> None:
    # A central directory that claims a 3 GiB member: refused from the header alone.
    box = (obj_dir / "box.obj").read_bytes()
    src = make_zip(tmp_path / "claims.zip", [("box.obj", box, 8), ("huge.bin", b"\0" * 100, 8)])
    raw = bytearray(src.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")  # the last central directory entry: huge.bin
    raw[cd + 24 : cd + 28] = (3 << 30).to_bytes(4, "little")
    src.write_bytes(bytes(raw))
    with pytest.raises(UnsupportedInputError, match=r"zip bomb|more than"):
        measure_file(src)


def test_zip_without_obj(tmp_path: Path) -> None:
    src = make_zip(tmp_path / "none.zip", [("readme.txt", b"hello", 8), ("__MACOSX/._a.obj", b"\0\5", 8)])
    with pytest.raises(UnsupportedInputError, match=r"no \.obj"):
        measure_file(src)


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_corrupt_zip_is_unreadable(spider_zip: Path, tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.zip"
    data = spider_zip.read_bytes()
    bad.write_bytes(b"not a zip at all" * 100 if kind == "garbage" else data[: len(data) // 2])
    with pytest.raises(UnreadableInputError):
        measure_file(bad)


def test_corrupt_member_is_unreadable(obj_dir: Path, tmp_path: Path) -> None:
    src = make_zip(tmp_path / "crc.zip", [("box.obj", (obj_dir / "box.obj").read_bytes(), 0)])
    raw = bytearray(src.read_bytes())
    raw[40] ^= 0xFF  # inside the stored OBJ text: the CRC no longer matches
    src.write_bytes(bytes(raw))
    with pytest.raises(UnreadableInputError, match=r"box\.obj"):
        measure_file(src)


def test_non_zip_output_is_refused(spider_zip: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedInputError, match=r"name a \.zip output"):
        apply_file(spider_zip, tmp_path / "out.obj", OPTIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spider.zip"]
