"""Account exports dropped in the FIT inbox (issue 12): the scan of `calfsync sync` and the
daemon reads a Strava archive's zip or a Garmin export's zip as `calfsync import` does (names,
shoes, GPX and TCX runs, manual entries), once; one whose activities.csv cannot be placed is
counted failed with the reason and the other files import."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from exports_support import ENGLISH, garmin_export, gpx_file, ms, strava_archive, strava_row
from fit_support import at, gz, make_config, make_db, run

from calfsync.child import Child
from calfsync.cli import main
from calfsync.fitwriter import encode_activity
from calfsync.sync import scan_fit

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def fit_run(start: datetime, km: float = 10.0, serial: int = 3_900_000_001) -> bytes:
    return encode_activity([run(start, km, km * 5, record_step_s=10)], serial_number=serial)


def settled(path: Path, content: bytes) -> None:
    """A file copied in whole (the configs read inbox files at once: settle_seconds = 0)."""
    path.write_bytes(content)


def names(db: Any) -> dict[str, tuple[str | None, str | None]]:
    rows = db.query("SELECT local_date, name, gear_id FROM activities ORDER BY start_time")
    return {r["local_date"]: (r["name"], r["gear_id"]) for r in rows}


@pytest.mark.parametrize("children", [False, True], ids=["in-process", "daemon-child"])
def test_a_strava_and_a_garmin_export_in_the_inbox_give_names_shoes_and_gpx_runs(
    tmp_path: Path, children: bool
) -> None:
    """The same in ``calfsync sync`` and in the daemon, which reads them in a child process."""
    cfg = replace(make_config(tmp_path, workers=1, settle_seconds=0), children=children)
    started = Child.started
    db = make_db(cfg)
    inbox = tmp_path / "inbox"
    rows = [
        strava_row(501, "May 1, 2026, 6:00:00 AM", "Archive FIT", file="activities/501.fit.gz",
                   gear="Pegasus 40"),
        strava_row(502, "May 2, 2026, 6:00:00 AM", "Archive GPX", file="activities/502.gpx"),
        strava_row(503, "May 3, 2026, 6:00:00 AM", "Typed in", km=8.0, minutes=40),
    ]  # fmt: skip
    files = {
        "activities/501.fit.gz": gz(fit_run(at(2026, 5, 1, 6))),
        "activities/502.gpx": gpx_file(at(2026, 5, 2, 6)),
    }
    settled(inbox / "export_1234.zip", strava_archive(rows, files))
    summary = {"activityId": 7, "name": "Garmin long run", "beginTimestamp": ms(at(2026, 5, 4, 6))}
    gear = {
        "gearDTOS": [{"gearPk": 9, "displayName": "Vaporfly", "gearStatusName": "active"}],
        "gearActivityDTOs": {"9": [{"activityId": 7}]},
    }
    garmin = garmin_export({"g.fit": fit_run(at(2026, 5, 4, 6), 20, serial=5)}, [summary], gear)
    settled(inbox / "garmin.zip", garmin)
    settled(inbox / "plain.fit", fit_run(at(2026, 5, 5, 6), serial=6))

    done = scan_fit(db, cfg, NOW)

    assert names(db) == {
        "2026-05-01": ("Archive FIT", "strava-export:pegasus-40"),
        "2026-05-02": ("Archive GPX", None),  # the GPX file read: not dropped as "no FIT file"
        "2026-05-03": ("Typed in", None),
        "2026-05-04": ("Garmin long run", "garmin:9"),
        "2026-05-05": (None, None),
    }
    gpx_run = db.execute("SELECT ascent_m FROM activities WHERE strava_id = 502").fetchone()
    assert gpx_run[0] > 0
    assert {"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04"} <= done.changed_dates
    assert "account exports 2" in done.line()
    seen = {r[0].rsplit("/", 1)[-1] for r in db.execute("SELECT path FROM seen_paths")}
    assert {"export_1234.zip", "garmin.zip", "plain.fit"} <= seen
    assert Child.started - started == (2 if children else 0)  # plain.fit's, then the exports'

    again = scan_fit(db, cfg, NOW)  # read once: the next scans pass them by
    assert again.exports == [] and again.changed_dates == set()
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 5


@pytest.mark.parametrize("children", [False, True], ids=["in-process", "daemon-child"])
def test_an_export_that_cannot_be_read_is_failed_with_its_reason_and_stops_nothing(
    tmp_path: Path, children: bool
) -> None:
    cfg = replace(make_config(tmp_path, workers=1, settle_seconds=0), children=children)
    db = make_db(cfg)
    inbox = tmp_path / "inbox"
    header = ["Fichier" if name == "Filename" else name for name in ENGLISH]
    row = strava_row(601, "May 1, 2026, 6:00:00 AM", "x")
    settled(inbox / "export_9.zip", strava_archive([row], {}, header=header))
    settled(inbox / "plain.fit", fit_run(at(2026, 5, 5, 6), serial=6))

    done = scan_fit(db, cfg, NOW)

    assert done.imported == 1 and done.failed == 1
    [(label, reason)] = done.problems
    assert label.endswith("export_9.zip")
    assert "no column for the activity filename" in reason
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1
    again = scan_fit(db, cfg, NOW)  # not read again until the file changes
    assert again.failed == 0 and again.exports == []


def test_calfsync_import_of_a_folder_holding_an_export_zip(tmp_path: Path, capsys: Any) -> None:
    """`calfsync import ~/Downloads`: the archive in it is read as an export, the loose FIT
    file beside it as any FIT file."""
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    rows = [strava_row(701, "May 2, 2026, 6:00:00 AM", "GPX run", file="activities/701.gpx")]
    files = {"activities/701.gpx": gpx_file(at(2026, 5, 2, 6))}
    (downloads / "export_5.zip").write_bytes(strava_archive(rows, files))
    (downloads / "loose.fit").write_bytes(fit_run(at(2026, 5, 5, 6), serial=6))
    cfg = make_config(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{cfg.db_path}"\n[athlete]\ntimezone = "UTC"\n')

    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "import", str(downloads)])

    out = capsys.readouterr().out
    assert exit_info.value.code in (0, None)
    assert "Strava archive" in out and "1 activities (1 GPX)" in out
    assert names(make_db(cfg)) == {"2026-05-02": ("GPX run", None), "2026-05-05": (None, None)}
