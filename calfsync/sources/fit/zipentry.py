"""Reading one zip entry with a bound on the bytes it inflates to, counted as they come out.

Why not ``ZipFile.read`` or ``ZipFile.open``: for bzip2 (and LZMA) entries ``zipfile`` hands a
whole compressed chunk to the decompressor with no output limit, and bzip2 turns a few hundred
bytes of zeros into 255 MB in one call: a 6.4 KB archive of 20 such entries took 5.5 GB of
memory. And the header's ``file_size`` is only a claim. Here every decompressor is asked for at
most :data:`CHUNK_BYTES` at a time, and the reader stops as soon as the bytes actually produced
pass the bound, so memory never exceeds the bound plus one chunk whatever the header says.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import Protocol

CHUNK_BYTES = 1 << 20  # most bytes a decompressor may produce in one call
_READ_BYTES = 64 * 1024  # compressed bytes read from the archive at a time
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile's structFileHeader (30 bytes)


class EntryTooLarge(Exception):
    """The entry inflated past the bound it was read with (or its header says it will)."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Stored:
    """The no-compression 'decompressor': bytes pass through as read."""

    eof = False
    needs_input = True

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return data


class _Deflate:
    """zlib's raw deflate, given the ``needs_input`` of the bz2 and lzma decompressors."""

    def __init__(self) -> None:
        self._obj = zlib.decompressobj(-15)

    @property
    def eof(self) -> bool:
        return self._obj.eof

    @property
    def needs_input(self) -> bool:
        return not self._obj.unconsumed_tail

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return self._obj.decompress(self._obj.unconsumed_tail + data, max(max_length, 0))


def _lzma(first: bytes) -> tuple[_Decompressor, bytes]:
    """zip's LZMA entries start with a version and the LZMA1 properties (APPNOTE 5.8.8)."""
    if len(first) < 4:
        raise EOFError("the LZMA entry ends inside its header")
    (props_size,) = struct.unpack("<H", first[2:4])
    props = first[4 : 4 + props_size]
    filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)]  # as zipfile does
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters), first[4 + props_size :]


def entry_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The inflated bytes of ``info``, at most :data:`CHUNK_BYTES` at a time; the CRC and the
    size are checked once the entry ends (``zipfile.BadZipFile`` when they do not match).
    Nothing else may read ``archive`` until the iterator is done."""
    if info.flag_bits & 0x1:
        raise NotImplementedError("the entry is encrypted")
    fp = archive.fp
    if fp is None:
        raise ValueError("the archive is closed")
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local file header")
    fields = _LOCAL_HEADER.unpack(header)
    fp.seek(info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1])
    left = info.compress_size

    def read() -> bytes:
        nonlocal left
        raw = fp.read(min(left, _READ_BYTES)) if left > 0 else b""
        left -= len(raw)
        return raw

    method = info.compress_type
    pending = b""
    decompressor: _Decompressor
    if method == zipfile.ZIP_STORED:
        decompressor = _Stored()
    elif method == zipfile.ZIP_DEFLATED:
        decompressor = _Deflate()
    elif method == zipfile.ZIP_BZIP2:
        decompressor = bz2.BZ2Decompressor()
    elif method == zipfile.ZIP_LZMA:
        decompressor, pending = _lzma(read() + read())
    else:
        raise NotImplementedError(f"zip compression method {method} is not supported")
    crc, total = 0, 0
    while not decompressor.eof:
        if decompressor.needs_input:
            data = pending or read()
            pending = b""
            if not data:
                break
            out = decompressor.decompress(data, CHUNK_BYTES)
        else:
            out = decompressor.decompress(b"", CHUNK_BYTES)
        if out:
            crc = zlib.crc32(out, crc)
            total += len(out)
            yield out
    if total != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"bad CRC-32 or size for {info.filename}")


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """The inflated bytes of ``info``, or :class:`EntryTooLarge` once more than ``max_bytes``
    have come out (or the header says they will): memory stays within the bound."""
    if info.file_size > max_bytes:
        raise EntryTooLarge(info.filename)
    chunks: list[bytes] = []
    total = 0
    for chunk in entry_chunks(archive, info):
        total += len(chunk)
        if total > max_bytes:
            raise EntryTooLarge(info.filename)
        chunks.append(chunk)
    return b"".join(chunks)
