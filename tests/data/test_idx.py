"""IDX files: round trips, the exact bytes of the format, and every kind of bad file."""

from __future__ import annotations

import gzip
import os
import struct
import tracemalloc

import numpy as np
import pytest

from scratchnn.data import read_idx, write_idx
from scratchnn.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(7,), (3, 4), (2, 3, 4), (1, 2, 1, 3), (0, 5)]


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, rng, dtype, shape, suffix):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / f"array-idx{len(shape)}{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert back.shape == shape and back.flags.writeable
    np.testing.assert_array_equal(back, array)
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind


def test_written_bytes_follow_the_format(tmp_path):
    write_idx(tmp_path / "a", np.array([[1, -2, 3]], dtype=np.int16))
    assert (tmp_path / "a").read_bytes() == (
        b"\x00\x00\x0b\x02" + b"\x00\x00\x00\x01" + b"\x00\x00\x00\x03"  # int16, dims (1, 3)
        + b"\x00\x01" + b"\xff\xfe" + b"\x00\x03")                       # big-endian values


def test_reads_a_file_built_by_hand(tmp_path):
    values = [0.5, -1.25, 3.0, 1e-3]
    header = struct.pack(">BBBBII", 0, 0, 0x0D, 2, 2, 2)  # float32, dims (2, 2)
    (tmp_path / "floats").write_bytes(header + struct.pack(">4f", *values))
    np.testing.assert_array_equal(read_idx(tmp_path / "floats"),
                                  np.array(values, np.float32).reshape(2, 2))


def test_gzip_is_detected_by_content_not_by_name(tmp_path, rng):
    array = rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    os.rename(tmp_path / "a.gz", tmp_path / "compressed-without-suffix")
    write_idx(tmp_path / "raw", array)
    os.rename(tmp_path / "raw", tmp_path / "raw-with-suffix.gz")
    np.testing.assert_array_equal(read_idx(tmp_path / "compressed-without-suffix"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "raw-with-suffix.gz"), array)


def _header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


GOOD = _header(0x08, 10, 28, 28) + bytes(7840)
CORRUPT_GZ = bytearray(_gz(GOOD))
CORRUPT_GZ[20:40] = b"\xff" * 20
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40)

BAD_FILES = {
    "truncated": (_header(0x08, 10, 28, 28) + bytes(1000),
                  "truncated: header says 7840 bytes of data, file has 1000"),
    "truncated-gz": (_gz(_header(0x08, 10, 28, 28) + bytes(1000)),
                     "truncated: header says 7840 bytes of data, file has 1000"),
    "trailing": (GOOD + b"\x00\x01\x02", "3 trailing bytes"),
    "bad-magic": (b"\x01\x02" + GOOD[2:], "not an IDX file (starts with 01 02 08 03"),
    "type-code": (_header(0x07, 4) + bytes(4), "unknown IDX type code 07"),
    "zero-dims": (_header(0x08), "0 dimensions"),
    "short-header": (_header(0x08, 10, 28, 28)[:9], "truncated header: 3 dimensions need 16"),
    "corrupt-gz": (bytes(CORRUPT_GZ), "corrupt gzip data"),
    "cut-gz": (_gz(GOOD)[:30], "corrupt gzip data"),
    "gz-crc": (_gz(GOOD)[:-8] + b"\x00\x00\x00\x00" + _gz(GOOD)[-4:], "corrupt gzip data"),
    "empty": (b"", "empty file"),
    "png": (PNG, "not an IDX file (starts with 89 50 4e 47"),
    "text": (b"hello", "not an IDX file"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_a_one_line_data_error_naming_the_file(tmp_path, kind):
    content, expected = BAD_FILES[kind]
    path = tmp_path / f"train-images-idx3-ubyte-{kind}.gz"
    path.write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_idx(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_unreadable_path_is_a_data_error(tmp_path, make):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    if make == "directory":
        path.mkdir()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: cannot read"):
        read_idx(path)


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool), np.array(5, np.uint8),
                                   np.zeros(2, np.complex64)])
def test_write_rejects_what_idx_cannot_store(tmp_path, array):
    with pytest.raises(DataError, match="IDX cannot store"):
        write_idx(tmp_path / "x", array)
    assert os.listdir(tmp_path) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(5, dtype=np.uint8))

    def fail(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="disk full"):
        patch.setattr(os, "replace", fail)
        write_idx(path, np.arange(9, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.arange(5))  # the old file is untouched
    assert os.listdir(tmp_path) == ["labels.gz"]                  # and the temporary file gone


def test_a_gzip_bomb_is_refused_without_inflating_it_into_memory(tmp_path):
    """A 10-byte array followed by 256 MiB of zeros compresses to about 261 KB. The reader must
    stop decompressing soon after the declared data instead of inflating the whole stream."""
    path = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"\x00\x00\x08\x01" + struct.pack(">I", 10) + bytes(10))
        for _ in range(256):
            f.write(bytes(1 << 20))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="more than 16777216 trailing bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20          # a few 1 MiB chunks, not 256 MiB


def test_big_endian_data_is_read_without_a_second_copy(tmp_path):
    array = np.arange(1 << 22, dtype=np.float32)          # 16 MiB
    write_idx(tmp_path / "floats.gz", array)
    tracemalloc.start()
    try:
        back = read_idx(tmp_path / "floats.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(back, array)
    assert peak < array.nbytes + (4 << 20)   # the array and a chunk or two of decompressed data
