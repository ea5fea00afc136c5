"""Benchmark the Strava archive import: a 2,000-activity archive (FIT, GPX and TCX mixed)
against the same runs as FIT files only, and peak memory at 500 and 2,000 activities.

    .venv/bin/python bench/exports.py                       # 2,000 runs; memory at 500 and 2,000
    .venv/bin/python bench/exports.py --runs 300 --memory-runs 100 300

Every run is 45 minutes with a record every 5 seconds (540 points: position, altitude over
rolling hills, heart rate). Run ``i`` is written three ways: a FIT file (calfsync's writer), a
GPX file and a TCX file (with Strava's leading whitespace) holding the same points. The archive
(``export_bench.zip``: activities.csv in English, shoes.csv, ``activities/``) takes them in
turn: FIT (as ``.fit.gz``), GPX (every other one ``.gpx.gz``), TCX (every other one
``.tcx.gz``), plus one manual entry in 50. The comparison imports the FIT file of every run from
a folder with ``import_paths``. Each import runs in a fresh child process into a fresh database
and reports its time and ``ru_maxrss`` (its own, and its largest worker's).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

STEP_S = 5
MINUTES = 45
START = datetime(2020, 1, 1, 6, tzinfo=UTC)


def _start(index: int) -> datetime:
    return START + timedelta(days=index, minutes=index % 60)


def _km(index: int) -> float:
    return 8.0 + (index % 9) * 0.5


def _points(index: int) -> list[tuple[datetime, float, float, float, float, int]]:
    """(time, lat, lon, altitude, distance, heart rate) every STEP_S seconds."""
    start, km = _start(index), _km(index)
    total_s = MINUTES * 60
    out = []
    for t in range(0, total_s + 1, STEP_S):
        frac = t / total_s
        alt = 150 + 18 * math.sin(2 * math.pi * t / 700) + index % 5
        hr = int(135 + 20 * math.sin(t / 400))
        out.append(
            (start + timedelta(seconds=t), 45 + frac * km / 111.2, 6.0, alt, frac * km * 1000, hr)
        )
    return out


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fit_bytes(index: int) -> bytes:
    from calfsync.fitwriter import SessionSpec, encode_activity

    spec = SessionSpec(
        start=_start(index),
        duration_s=MINUTES * 60,
        distance_m=_km(index) * 1000,
        altitude_profile=lambda t: 150 + 18 * math.sin(2 * math.pi * t / 700) + index % 5,
        heart_rate_bpm=lambda t: 135 + 20 * math.sin(t / 400),
        record_step_s=STEP_S,
    )
    return encode_activity([spec], serial_number=3_900_000_000 + index)


def gpx_bytes(index: int) -> bytes:
    pts = "".join(
        f'<trkpt lat="{lat:.6f}" lon="{lon:.6f}"><ele>{alt:.1f}</ele><time>{_z(t)}</time>'
        "<extensions><gpxtpx:TrackPointExtension>"
        f"<gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>"
        for t, lat, lon, alt, _d, hr in _points(index)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><gpx creator="StravaGPX" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"><trk>'
        f"<type>running</type><trkseg>{pts}</trkseg></trk></gpx>"
    ).encode()


def tcx_bytes(index: int) -> bytes:
    pts = "".join(
        f"<Trackpoint><Time>{_z(t)}</Time><Position><LatitudeDegrees>{lat:.6f}"
        f"</LatitudeDegrees><LongitudeDegrees>{lon:.6f}</LongitudeDegrees></Position>"
        f"<AltitudeMeters>{alt:.1f}</AltitudeMeters><DistanceMeters>{d:.1f}</DistanceMeters>"
        f"<HeartRateBpm><Value>{hr}</Value></HeartRateBpm></Trackpoint>"
        for t, lat, lon, alt, d, hr in _points(index)
    )
    start = _z(_start(index))
    return (
        '            \n<?xml version="1.0" encoding="UTF-8"?><TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
        f'<Activity Sport="Running"><Id>{start}</Id><Lap StartTime="{start}">'
        f"<TotalTimeSeconds>{MINUTES * 60}</TotalTimeSeconds>"
        f"<DistanceMeters>{_km(index) * 1000:.1f}</DistanceMeters><Track>{pts}</Track></Lap>"
        "</Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def _member(index: int) -> tuple[str, bytes] | None:
    """The archive member of run ``index`` (None: a manual entry)."""
    if index % 50 == 49:
        return None
    kind, gz = index % 3, (index // 3) % 2 == 1
    if kind == 0:
        return f"activities/{index}.fit.gz", gzip.compress(fit_bytes(index), mtime=0)
    data = gpx_bytes(index) if kind == 1 else tcx_bytes(index)
    name = f"activities/{index}.{'gpx' if kind == 1 else 'tcx'}"
    return (name + ".gz", gzip.compress(data, mtime=0)) if gz else (name, data)


def _write_fit(args: tuple[str, int]) -> None:
    folder, index = args
    Path(folder, f"run{index:05}.fit").write_bytes(fit_bytes(index))


def make_fit_folder(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor() as pool:
        list(pool.map(_write_fit, [(str(folder), i) for i in range(count)], chunksize=16))


def make_archive(path: Path, count: int) -> None:
    """The Strava archive of ``count`` runs, its members made on every core."""
    header = ["Activity ID", "Activity Date", "Activity Name", "Activity Type",
              "Activity Description", "Elapsed Time", "Distance", "Max Heart Rate",
              "Relative Effort", "Commute", "Activity Private Note", "Activity Gear", "Filename",
              "Athlete Weight", "Bike Weight", "Elapsed Time", "Moving Time",
              "Distance"]  # fmt: skip
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, ProcessPoolExecutor() as pool:
        for index, member in enumerate(pool.map(_member, range(count), chunksize=16)):
            name = ""
            if member is not None:
                name = member[0]
                archive.writestr(*member)
            when = _start(index).strftime("%b %-d, %Y, %-I:%M:%S %p")
            km = _km(index)
            writer.writerow([1000 + index, when, f"Run {index}", "Run", "", MINUTES * 60,
                             f"{km:.2f}", "", "", "false", "", f"Shoe {index // 400}", name,
                             "", "", f"{MINUTES * 60:.1f}", f"{MINUTES * 60:.1f}",
                             f"{km * 1000:.1f}"])  # fmt: skip
        archive.writestr("activities.csv", text.getvalue())
        archive.writestr("shoes.csv", "Shoe Name,Shoe Brand,Shoe Model\nShoe 0,Nike,Pegasus\n")


def _config(db_path: Path, inbox: Path) -> object:
    from calfsync.config import validate

    return validate(
        {
            "database": {"path": str(db_path)},
            "fit": {"inbox": [str(inbox)]},
            "athlete": {"timezone": "Europe/Paris"},
        }
    )


def child(kind: str, source: str, db_path: str) -> None:
    """Run in a fresh process: import ``source`` (archive or FIT folder), print JSON."""
    from calfsync.store.db import open_db

    cfg = _config(Path(db_path), Path(source).parent)
    db = open_db(Path(db_path))
    started = time.perf_counter()
    if kind == "archive":
        from calfsync.ingest.exports import import_strava_archive
        from calfsync.sources.exports import open_archive

        with open_archive(Path(source)) as archive:
            summary = import_strava_archive(db, cfg, archive)
        line, problems = summary.line(), len(summary.problems)
    else:
        from calfsync.ingest.fit import import_paths

        result = import_paths(db, cfg, [source])
        line, problems = result.line(), len(result.problems)
    seconds = time.perf_counter() - started
    rows = db.execute("SELECT COUNT(*) FROM activities").fetchone()[0]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "line": line,
                "problems": problems,
                "rows": rows,
                "main_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "worker_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            }
        )
    )


def run_child(kind: str, source: Path, db_path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source), str(db_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs for the timing comparison")
    parser.add_argument("--memory-runs", type=int, nargs="*", default=[500, 2000])
    parser.add_argument(
        "--fit-memory", action="store_true", help="also import the FIT files at every count"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"cores: {os.cpu_count()}  python: {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="calfsync-bench-exports-") as tmp:
        root = Path(tmp)
        counts = sorted({args.runs, *args.memory_runs})
        results: dict[int, dict] = {}
        for count in counts:
            made = time.perf_counter()
            archive = root / f"export_{count}.zip"
            make_archive(archive, count)
            print(
                f"{count} runs: archive {archive.stat().st_size / 1e6:.1f} MB "
                f"(made in {time.perf_counter() - made:.0f} s)"
            )
            results[count] = run_child("archive", archive, root / f"archive_{count}.db")
            r = results[count]
            print(
                f"  archive import: {r['seconds']:7.1f} s "
                f"({r['seconds'] * 1000 / count:.0f} ms/run), "
                f"peak RSS {r['main_kib'] / 1024:.1f} MiB (largest worker "
                f"{r['worker_kib'] / 1024:.1f} MiB), {r['rows']} rows; {r['line']}"
            )
            if count == args.runs or args.fit_memory:
                folder = root / f"fit_{count}"
                make_fit_folder(folder, count)
                f = run_child("fit", folder, root / f"fit_{count}.db")
                print(
                    f"  FIT files only: {f['seconds']:7.1f} s "
                    f"({f['seconds'] * 1000 / count:.0f} ms/run), "
                    f"peak RSS {f['main_kib'] / 1024:.1f} MiB (largest worker "
                    f"{f['worker_kib'] / 1024:.1f} MiB), {f['rows']} rows; {f['line']}"
                )
                print(f"  ratio archive / FIT only: {r['seconds'] / f['seconds']:.2f}")
                shutil.rmtree(folder)


if __name__ == "__main__":
    main()
