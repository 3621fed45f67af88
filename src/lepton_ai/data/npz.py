"""Read ``.npz`` archives safely: no unpickling, and no allocation an array's header merely claims.

``np.load`` allocates the array a member's header describes before reading its bytes, so a
300-byte file claiming shape ``(10**9,)`` would reserve 8 GB. Each member's header is therefore
read first (``numpy.lib.format``) and checked against the size the zip directory records for it,
which in turn may exceed the compressed size by at most what deflate can achieve. Memory is
bounded by about :data:`MAX_COMPRESSION_RATIO` times the file's size on disk.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError

__all__ = ["read_npz", "MAX_COMPRESSION_RATIO"]

# Deflate cannot shrink data more than ~1032:1; numpy writes members stored or deflated.
MAX_COMPRESSION_RATIO = 1100


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read a ``.npz`` archive without ever unpickling object arrays or trusting claimed shapes."""
    # np.load takes any non-zip file for a pickle and says so, which would blame object arrays.
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path}: cannot be read as a .npz archive (not a zip file); use numpy.savez.")
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _check_member(path, archive, info)
        with np.load(path, allow_pickle=False) as npz:
            return {key: np.asarray(npz[key]) for key in npz.files}
    except DataError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, a bad CRC, an unsupported compression...
        raise DataError(f"{path}: cannot be read as a .npz archive ({type(exc).__name__}: {exc}).") from exc


def _check_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse a member whose header lies about its size, or that holds object arrays."""
    if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise DataError(f"{path}: member {info.filename!r} claims {info.file_size:,} bytes from "
                        f"{info.compress_size:,} compressed; refused as a zip bomb.")
    if not info.filename.endswith(".npy"):
        return
    key = info.filename.removesuffix(".npy")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(member)
        except (ValueError, SyntaxError, TypeError, OverflowError) as exc:
            raise DataError(f"{path}: member {info.filename!r} is not a NumPy array ({exc}).") from exc
        header_bytes = member.tell()
    if dtype.hasobject:
        raise DataError(
            f"{path}: holds object arrays ({key!r}), which lepton-ai does not unpickle; "
            "store numeric arrays or strings of fixed width."
        )
    claimed = math.prod(shape) * dtype.itemsize
    held = info.file_size - header_bytes
    if claimed != held:
        raise DataError(f"{path}: array {key!r} claims shape {shape} of {dtype} ({claimed:,} bytes) but holds "
                        f"{held:,} bytes; the file is truncated or corrupt.")
