"""A walk over a FIT file's record framing, without decoding field values, and the FIT CRC.

Used to repair one thing before handing a file to the parser: a field whose size is not a
multiple of its base type's size. Some watches (COROS among them) write such fields; the FIT SDK
reads them as plain bytes, but python-fitparse 2.7 stops with an AttributeError when the field
is one its profile does not know. Rewriting the definition's base type to ``byte`` (0x0D) gives
the parser exactly what the SDK would read. The file CRC is recomputed only where it was valid,
so a damaged file stays damaged.
"""

from __future__ import annotations

BYTE_BASE_TYPE = 0x0D
# base type number -> size in bytes (FIT profile); anything else reads as single bytes
BASE_TYPE_SIZES = {
    0x00: 1,
    0x01: 1,
    0x02: 1,
    0x83: 2,
    0x84: 2,
    0x85: 4,
    0x86: 4,
    0x07: 1,
    0x88: 4,
    0x89: 8,
    0x0A: 1,
    0x8B: 2,
    0x8C: 4,
    0x0D: 1,
    0x8E: 8,
    0x8F: 8,
    0x90: 8,
}


# The FIT SDK's CRC-16 nibble table.
_CRC_TABLE = (
    0x0000,
    0xCC01,
    0xD801,
    0x1400,
    0xF001,
    0x3C00,
    0x2800,
    0xE401,
    0xA001,
    0x6C00,
    0x7800,
    0xB401,
    0x5000,
    0x9C01,
    0x8801,
    0x4400,
)


def fit_crc(data: bytes | bytearray, crc: int = 0) -> int:
    """The FIT CRC-16 of ``data`` (the SDK's nibble-table algorithm), continuing from ``crc``.

    It guards a file's header and its data; the FIT writer used by the demo and tests uses it
    too, so the encoder and the reader agree on one implementation.
    """
    table = _CRC_TABLE
    for byte in data:
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[byte & 0xF]
        tmp = table[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ table[(byte >> 4) & 0xF]
    return crc


def retype_odd_sized_fields(data: bytes) -> bytes | None:
    """``data`` with every odd-sized field typed as bytes, or None when nothing needed it (or the
    framing cannot be walked: a truncated or damaged file is left to the parser's own errors)."""
    out = bytearray(data)
    pos = 0
    changed = False
    while pos + 12 <= len(out):
        header_size = out[pos]
        if header_size < 12 or out[pos + 8 : pos + 12] != b".FIT":
            return None
        data_size = int.from_bytes(out[pos + 4 : pos + 8], "little")
        start, end = pos + header_size, pos + header_size + data_size
        if end + 2 > len(out):
            return None
        stored_crc = int.from_bytes(out[end : end + 2], "little")
        crc_was_valid = fit_crc(out[pos:end]) == stored_crc
        segment_changed = _retype_segment(out, start, end)
        if segment_changed is None:
            return None
        if segment_changed and crc_was_valid:
            out[end : end + 2] = fit_crc(out[pos:end]).to_bytes(2, "little")
        changed = changed or segment_changed
        pos = end + 2
    return bytes(out) if changed else None


def _retype_segment(out: bytearray, start: int, end: int) -> bool | None:
    """Walk the records between ``start`` and ``end``; True when a definition was rewritten,
    None when the framing does not add up."""
    message_sizes: dict[int, int] = {}  # local message number -> data message size
    changed = False
    p = start
    try:
        while p < end:
            header = out[p]
            p += 1
            if header & 0x80:  # compressed timestamp header: a data message
                p += message_sizes[(header >> 5) & 0x03]
            elif header & 0x40:  # definition message
                field_count = out[p + 4]
                q = p + 5
                size = 0
                for _ in range(field_count):
                    field_size, base_type = out[q + 1], out[q + 2]
                    if field_size % BASE_TYPE_SIZES.get(base_type, 1):
                        out[q + 2] = BYTE_BASE_TYPE
                        changed = True
                    size += field_size
                    q += 3
                if header & 0x20:  # developer fields follow
                    dev_count = out[q]
                    q += 1
                    size += sum(out[q + 3 * i + 1] for i in range(dev_count))
                    q += 3 * dev_count
                message_sizes[header & 0x0F] = size
                p = q
            else:
                p += message_sizes[header & 0x0F]
    except (KeyError, IndexError):
        return None
    return changed if p == end else None
