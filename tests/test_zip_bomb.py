"""A zip bomb in the inbox costs bounded memory, is refused with a reason, and the other files
import (issue 11 item 3: a 6.4 KB zip of 20 bzip2 entries of 255 MB of zeros took 5.5 GB).

The bomb is built here for real: 255 MB of zeros are bzip2-compressed once, streamed (about
200 bytes come out), and that one payload is written as 20 entries of a hand-assembled zip:
sixteen whose headers say 255 MB (refused on the header's claim) and four whose headers lie (1 KB),
which only counting the inflated bytes catches. The import runs in a subprocess under a 1 GiB
address-space limit (so a regression fails with MemoryError instead of taking the machine),
and reports its peak resident memory (VmHWM: the high-water mark of this process's own memory;
``ru_maxrss`` would carry over the parent's from before ``exec``).
"""

from __future__ import annotations

import bz2
import json
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from fit_support import at, make_config, make_db, run_file

from calfsync.ingest import fit as ingest_fit
from calfsync.sources.fit.inputs import MAX_ENTRY_MIB

ENTRY_BYTES = 255 * 1000 * 1000  # each entry inflates to 255 MB of zeros
ENTRIES = 20
PEAK_LIMIT_MB = 200

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from calfsync.config import validate
from calfsync.ingest.fit import import_paths
from calfsync.store.db import open_db
db_path, inbox = sys.argv[1], sys.argv[2]
cfg = validate({"database": {"path": db_path}, "fit": {"inbox": [inbox], "workers": 1}})
summary = import_paths(open_db(db_path), cfg, [inbox])
hwm_kb = next(
    int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
)
print(json.dumps({"imported": summary.imported, "skipped": summary.skipped,
                  "failed": summary.failed, "peak_mb": hwm_kb / 1024}))
"""


def _zeros_bzip2(size: int) -> tuple[bytes, int]:
    """``size`` zero bytes compressed with bzip2, streamed a megabyte at a time, and their CRC."""
    compressor = bz2.BZ2Compressor(9)
    chunk = bytes(1 << 20)
    out, crc, left = [], 0, size
    while left:
        part = chunk[: min(left, len(chunk))]
        out.append(compressor.compress(part))
        crc = zlib.crc32(part, crc)
        left -= len(part)
    out.append(compressor.flush())
    return b"".join(out), crc


def _bomb_zip(payload: bytes, crc: int, honest: list[bool]) -> bytes:
    """A zip (APPNOTE 4.3) of bzip2 entries all holding ``payload``; an entry whose ``honest``
    flag is False claims 1 KB once inflated."""
    body, central = bytearray(), bytearray()
    for i, is_honest in enumerate(honest):
        name = f"bomb-{i:02}.fit".encode()
        size = ENTRY_BYTES if is_honest else 1000
        offset = len(body)
        local = struct.pack(
            "<4s2B4HL2L2H", b"PK\x03\x04", 46, 0, 0, 12, 0, 0x21, crc, len(payload), size,
            len(name), 0,
        )  # fmt: skip
        body += local + name + payload
        central += struct.pack(
            "<4s4B4HL2L5H2L", b"PK\x01\x02", 46, 3, 46, 0, 0, 12, 0, 0x21, crc, len(payload),
            size, len(name), 0, 0, 0, 0, 0, offset,
        ) + name  # fmt: skip
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(honest), len(honest), len(central), len(body), 0
    )
    return bytes(body + central + end)


def test_a_zip_bomb_is_refused_in_bounded_memory_and_the_rest_imports(tmp_path: Path) -> None:
    payload, crc = _zeros_bzip2(ENTRY_BYTES)
    bomb = _bomb_zip(payload, crc, [i % 5 != 0 for i in range(ENTRIES)])
    assert len(bomb) < 8000  # a few KB on disk
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "bomb.zip").write_bytes(bomb)
    (inbox / "run.fit").write_bytes(run_file(at(2026, 3, 1, 7)))
    db_path = tmp_path / "calfsync.db"
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db_path), str(inbox)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["peak_mb"] < PEAK_LIMIT_MB, report
    assert (report["imported"], report["skipped"], report["failed"]) == (1, ENTRIES, 0)

    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT path, status, reason FROM fit_files ORDER BY path").fetchall()
        activities = conn.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
    assert activities == 1
    bombs = [r for r in rows if "bomb.zip!" in r[0]]
    assert len(bombs) == ENTRIES
    for path, status, reason in bombs:
        entry = path.rsplit("!", 1)[1]
        assert status == "skipped"
        assert reason == (
            f"zip entry {entry} inflates past {MAX_ENTRY_MIB} MiB: not a FIT activity; skipped"
        )


def test_a_write_batch_is_bounded_by_bytes_and_keeps_no_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is written once it holds BATCH_BYTES of parsed content, not only 32 files, and
    the results it holds keep no FIT bytes (up to 64 MiB each) alive."""
    cfg = make_config(tmp_path, workers=1)
    for day in range(1, 6):
        (cfg.inboxes[0] / f"run-{day}.fit").write_bytes(run_file(at(2026, 3, day, 7)))
    one_file = (cfg.inboxes[0] / "run-1.fit").stat().st_size
    monkeypatch.setattr(ingest_fit, "BATCH_BYTES", 2 * one_file)
    batches: list[tuple[int, bool]] = []
    real_flush = ingest_fit._Importer.flush

    def flush(self: ingest_fit._Importer) -> None:
        if self._batch:
            batches.append((len(self._batch), any(d.item.data for d in self._batch)))
        real_flush(self)

    monkeypatch.setattr(ingest_fit._Importer, "flush", flush)
    summary = ingest_fit.import_paths(make_db(cfg), cfg, [cfg.inboxes[0]])
    assert summary.imported == 5
    assert batches == [(2, False), (2, False), (1, False)]
