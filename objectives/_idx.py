"""The IDX file format of MNIST and Fashion-MNIST (``train-images-idx3-ubyte`` and friends).

A big-endian header (two zero bytes, a type code, the number of dimensions, then each
dimension as a uint32) followed by the array. Reading checks the header against the file's
length, so a truncated download is reported instead of being trained on.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

_UNSIGNED_BYTE = 0x08


class IdxFormatError(ValueError):
    """The file is not an IDX array of unsigned bytes, or it is truncated."""


def read_idx(path: Path) -> np.ndarray:
    """The uint8 array in an IDX file (plain, or gzip-compressed when the name ends in .gz).

    Raises:
        IdxFormatError: bad magic number, a type other than unsigned byte, or a length that
            does not match the header.
        OSError: the file cannot be read.
    """
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # cut short, or no gzip at all
            raise IdxFormatError(f"{path} is not a whole gzip file ({error}; truncated "
                                 "download?)") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise IdxFormatError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != _UNSIGNED_BYTE:
        raise IdxFormatError(f"{path} holds IDX type 0x{raw[2]:02x}; expected unsigned bytes")
    dimensions = raw[3]
    header = 4 + 4 * dimensions
    if len(raw) < header:
        raise IdxFormatError(f"{path} ends inside its header (truncated download?)")
    shape = tuple(int(size) for size in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(shape) != dimensions or len(raw) != expected:
        raise IdxFormatError(
            f"{path} is {len(raw)} bytes but its header says {expected} (truncated download?)"
        )
    # A bytearray makes the array writable, as torch.from_numpy wants, without a second copy.
    return np.frombuffer(bytearray(raw), dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UNSIGNED_BYTE, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
