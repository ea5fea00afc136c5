"""Benchmark the FIT import: calfsync's import against a bare sequential fitparse parse.

    .venv/bin/python bench/ingest.py                    # 100 files for the ratio; memory 100/1000
    .venv/bin/python bench/ingest.py --files 40 --memory-files 50 200

Every file is a one-hour run with 3,600 one-second records (GPS, altitude, heart rate), written
with calfsync's own FIT writer into a temporary folder. In the same run it times:

- bare: ``fitparse.FitFile(path).get_messages()`` fully consumed, file after file, one process;
- calfsync: ``import_paths`` into a fresh database (hashing, parsing on every core, storing).

and prints their ratio (target <= 0.8 on 2 cores). Then, for each ``--memory-files`` count, it
imports that many files in a fresh child process and reports the peak RSS of the importing
process and of its largest parse worker (``ru_maxrss``): neither may grow with the file count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path


def _write_run(args: tuple[str, int]) -> None:
    from calfsync.fitwriter import SessionSpec, encode_activity

    folder, index = args
    start = datetime(2024, 1, 1, 6, tzinfo=UTC) + timedelta(days=index)
    spec = SessionSpec(
        start=start,
        duration_s=3599,
        distance_m=10_000 + index % 500,
        altitude_profile=lambda t: 120 + 25 * math.sin(t / 300) + (index % 7),
        heart_rate_bpm=lambda t: 140 + 15 * math.sin(t / 200),
    )
    Path(folder, f"run{index:05}.fit").write_bytes(encode_activity([spec]))


def make_files(folder: Path, count: int) -> list[Path]:
    """``count`` distinct one-hour runs (3,600 records each) in ``folder``, written in parallel."""
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as pool:
        list(pool.map(_write_run, [(str(folder), i) for i in range(count)], chunksize=8))
    return sorted(folder.glob("*.fit"))


def _config(db_path: Path, inbox: Path) -> object:
    from calfsync.config import validate

    return validate(
        {
            "database": {"path": str(db_path)},
            "fit": {"inbox": [str(inbox)]},
            "athlete": {"timezone": "Europe/Paris"},
        }
    )


def bare_parse(files: list[Path]) -> float:
    import fitparse

    started = time.perf_counter()
    for path in files:
        for _message in fitparse.FitFile(str(path)).get_messages():
            pass
    return time.perf_counter() - started


def calfsync_import(folder: Path, db_path: Path) -> tuple[float, str]:
    from calfsync.ingest.fit import import_paths
    from calfsync.store.db import open_db

    cfg = _config(db_path, folder)
    db = open_db(db_path)
    started = time.perf_counter()
    summary = import_paths(db, cfg, [folder])
    return time.perf_counter() - started, summary.line()


def child_import(folder: str, db_path: str) -> None:
    """Run in a fresh process: import ``folder`` and print peak memory as JSON."""
    seconds, line = calfsync_import(Path(folder), Path(db_path))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "summary": line, "main_kib": own, "worker_kib": workers}))


def memory_run(root: Path, count: int) -> dict:
    folder = root / f"mem{count}"
    make_files(folder, count)
    out = subprocess.run(
        [sys.executable, __file__, "--child-import", str(folder), str(root / f"mem{count}.db")],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="files for the timing ratio")
    parser.add_argument(
        "--memory-files",
        type=int,
        nargs="*",
        default=[100, 1000],
        help="file counts for the peak-memory runs (none to skip)",
    )
    parser.add_argument("--child-import", nargs=2, metavar=("FOLDER", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        child_import(*args.child_import)
        return
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="calfsync-bench-") as tmp:
        root = Path(tmp)
        files = make_files(root / "ratio", args.files)
        size_mb = sum(p.stat().st_size for p in files) / 1e6
        print(f"{len(files)} one-hour runs, 3,600 records each, {size_mb:.1f} MB")
        bare = bare_parse(files)
        ours, line = calfsync_import(root / "ratio", root / "ratio.db")
        per_file = 1000 / len(files)
        print(f"bare sequential fitparse parse: {bare:7.2f} s ({bare * per_file:.0f} ms/file)")
        print(f"calfsync import_paths:          {ours:7.2f} s ({ours * per_file:.0f} ms/file)")
        print(f"  {line}")
        print(f"ratio calfsync / bare: {ours / bare:.2f} (target <= 0.8 on 2 cores)")
        for count in args.memory_files:
            mem = memory_run(root, count)
            print(
                f"peak memory, {count:5} files: importer {mem['main_kib'] / 1024:6.1f} MiB, "
                f"largest parse worker {mem['worker_kib'] / 1024:6.1f} MiB "
                f"({mem['seconds']:.1f} s; {mem['summary']})"
            )


if __name__ == "__main__":
    main()
