"""Open an uploaded ZIP and read its members within the import's byte budget.

Every bound is checked from the central directory BEFORE anything is inflated (the declared
size, the compression ratio, encryption, the compression method), then members are inflated
in chunks that stop at the declared size, so a zip bomb or a lying header costs no memory.
Every failure, a damaged archive (bad CRC) included, is a DatasetError naming the member.
"""
from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Union

from studio.config.data_bounds import COMPRESSION_RATIO_FLOOR_BYTES, ImportLimits, size_text

from .errors import DatasetError

CHUNK_BYTES = 1024 * 1024
READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
                    zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}
ENCRYPTED_FLAG = 0x1
# What zipfile, zlib, bz2 and lzma raise on a damaged or unusual archive.
ARCHIVE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
                  RuntimeError, NotImplementedError, ValueError, struct.error, OverflowError, KeyError)


def open_archive(source: Union[Path, bytes], filename: str, limits: ImportLimits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except ARCHIVE_ERRORS as exc:
        raise DatasetError(f"{filename}: expected a ZIP archive, but it cannot be opened ({exc})") from None
    if len(archive.infolist()) > limits.max_zip_members:
        archive.close()
        raise DatasetError(f"{filename}: the zip lists {len(archive.infolist())} entries, more than the "
                           f"{limits.max_zip_members} allowed")
    return archive


class MemberReader:
    """Reads members of one archive, each at most once, charging every use to one byte budget."""

    def __init__(self, archive: zipfile.ZipFile, filename: str, limits: ImportLimits):
        self.archive, self.filename, self.limits = archive, filename, limits
        self.budget = limits.max_inflated_bytes
        self._read: dict[str, bytes] = {}

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The member's bytes; each call (one per row that uses it) counts against the budget."""
        label = f"{self.filename}/{info.filename}"
        self._check(info, label)
        if info.file_size > self.budget:
            raise DatasetError(f"{label}: the import would hold more than {size_text(self.limits.max_inflated_bytes)} "
                               f"once inflated; split the archive into smaller datasets")
        self.budget -= info.file_size
        if info.filename not in self._read:
            self._read[info.filename] = self._inflate(info, label)
        return self._read[info.filename]

    def _check(self, info: zipfile.ZipInfo, label: str) -> None:
        if info.flag_bits & ENCRYPTED_FLAG:
            raise DatasetError(f"{label}: the member is encrypted (password-protected); zip it again without a password")
        if info.compress_type not in READABLE_METHODS:
            raise DatasetError(f"{label}: compression method {info.compress_type} is not supported; zip it again with "
                               f"one of {', '.join(READABLE_METHODS.values())} (deflate is the usual one)")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > COMPRESSION_RATIO_FLOOR_BYTES and ratio > self.limits.max_compression_ratio:
            raise DatasetError(f"{label}: {size_text(info.compress_size)} inflating to {size_text(info.file_size)} "
                               f"({ratio:.0f}:1, more than {self.limits.max_compression_ratio}:1) looks like a zip bomb; "
                               "it was not inflated")

    def _inflate(self, info: zipfile.ZipInfo, label: str) -> bytes:
        chunks, total = [], 0
        try:
            with self.archive.open(info) as member:
                while chunk := member.read(CHUNK_BYTES):
                    total += len(chunk)
                    if total > info.file_size:  # zipfile stops at the declared size; never trust it alone
                        raise DatasetError(f"{label}: inflates past its declared {size_text(info.file_size)}; "
                                           "the archive is damaged")
                    chunks.append(chunk)
        except ARCHIVE_ERRORS as exc:
            raise DatasetError(f"{label}: cannot be read from the archive, it may be damaged ({exc})") from None
        return b"".join(chunks)
