"""Strava archives (issue 12 item 1): activities.csv in English and German with its repeated
columns, the FIT, GPX and TCX files it names (gzipped too, TCX with Strava's leading
whitespace), manual entries, shoes, the same run in the archive and the FIT inbox, and bad
input: a column no name places, a corrupt file, a missing file, a bad row."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from exports_support import (
    ENGLISH,
    GERMAN,
    SHOES_CSV,
    gpx_file,
    strava_archive,
    strava_row,
    tcx_file,
)
from fit_support import at, gz, make_config, make_db, run

from calfsync.cli import main
from calfsync.errors import CalfsyncError
from calfsync.fitwriter import SessionSpec, encode_activity
from calfsync.ingest.exports import ExportSummary, import_strava_archive
from calfsync.ingest.fit import import_paths
from calfsync.sources.exports import detect, open_archive
from calfsync.sources.exports.csv_dates import day_first, split_date

Row = dict[str, Any]


def fit_run(
    start: Any, km: float = 10.0, minutes: float = 50.0, serial: int = 3_900_000_001
) -> bytes:
    """A running FIT file with a record every 10 s (quick to write and to read)."""
    return encode_activity([run(start, km, minutes, record_step_s=10)], serial_number=serial)


def by_strava_id(db: Any) -> dict[int, Row]:
    rows = db.query("SELECT * FROM activities WHERE strava_id IS NOT NULL")
    return {r["strava_id"]: r for r in rows}


def import_archive(db: Any, cfg: Any, path: Path) -> ExportSummary:
    with open_archive(path) as archive:
        return import_strava_archive(db, cfg, archive)


def test_an_english_archive_gives_names_shoes_and_every_file_format(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    hilly = SessionSpec(
        start=at(2026, 4, 1, 6),
        duration_s=3000,
        distance_m=10_000,
        altitude_profile=lambda t: 200 + 15 * (t // 600 % 2),
        include_total_ascent=False,
        heart_rate_bpm=150.0,
        record_step_s=10,
    )
    rows = [
        strava_row(101, "Apr 1, 2026, 6:00:00 AM", "Morning FIT", file="activities/101.fit.gz",
                   gear="Pegasus 40", max_hr=171),
        strava_row(102, "Apr 2, 2026, 6:00:00 AM", "GPX run", file="activities/102.gpx"),
        strava_row(103, "Apr 3, 2026, 6:00:00 AM", "GPX gz run", file="activities/103.gpx.gz",
                   gear="pegasus 40"),
        strava_row(104, "Apr 4, 2026, 6:00:00 AM", "TCX ride", kind="Ride", km=30, minutes=60,
                   file="activities/104.tcx"),
        strava_row(105, "Apr 5, 2026, 6:00:00 AM", "TCX gz run", kind="Trail Run", km=12,
                   minutes=70, file="activities/105.tcx.gz", gear="Old Trail Shoe"),
        strava_row(106, "Apr 6, 2026, 6:30:00 PM", "Treadmill, typed in", km=8.25, minutes=45),
    ]  # fmt: skip
    files = {
        "activities/101.fit.gz": gz(encode_activity([hilly], utc_offset_s=7200)),
        "activities/102.gpx": gpx_file(at(2026, 4, 2, 6)),
        "activities/103.gpx.gz": gz(gpx_file(at(2026, 4, 3, 6), km=8, minutes=40)),
        "activities/104.tcx": tcx_file(at(2026, 4, 4, 6)),
        "activities/105.tcx.gz": gz(tcx_file(at(2026, 4, 5, 6), 12, 70, sport="Running")),
    }
    (tmp_path / "export_1.zip").write_bytes(strava_archive(rows, files))
    assert detect(tmp_path / "export_1.zip") == "strava"

    summary = import_archive(db, cfg, tmp_path / "export_1.zip")

    assert summary.problems == []
    assert summary.by_format == {"fit": 1, "gpx": 2, "tcx": 2, "csv": 1}
    acts = by_strava_id(db)
    assert {k: v["name"] for k, v in acts.items()} == {r["id"] and int(r["id"]): r["name"]
                                                        for r in rows}  # fmt: skip
    fit_run = acts[101]  # the FIT file's row (device measures) carries Strava's name and shoe
    assert fit_run["id"].startswith("fit:") and fit_run["strava_raw"] and fit_run["fit_raw"]
    assert fit_run["utc_offset_s"] == 7200 and fit_run["local_date"] == "2026-04-01"
    assert fit_run["ascent_m"] == pytest.approx(30.0, abs=1)  # climb of the records: 2 x 15 m
    assert db.execute("SELECT status FROM fit_files").fetchall() == [("imported",)]
    gpx_run = acts[102]
    assert gpx_run["distance_m"] == pytest.approx(10_000, rel=0.01)
    assert gpx_run["elapsed_time_s"] == 3000 and gpx_run["altitude_source"] == "gps"
    assert gpx_run["ascent_m"] == pytest.approx(200, abs=10)  # 5 hills of 40 m, 10 m hysteresis
    assert sum(json.loads(gpx_run["hr_histogram"]).values()) == 3000  # 140-159 bpm
    assert acts[103]["distance_m"] == pytest.approx(8_000, rel=0.01)
    ride = acts[104]
    assert (ride["sport"], ride["distance_m"], ride["elapsed_time_s"]) == ("cycling", 30_000, 3600)
    assert (acts[105]["sport"], acts[105]["sub_sport"]) == ("running", "trail")
    assert acts[105]["max_heart_rate_bpm"] == 154  # from the TCX trackpoints
    manual = acts[106]  # no file: the CSV's second Distance (metres), climb unknown
    assert (manual["distance_m"], manual["elapsed_time_s"], manual["ascent_m"]) == (
        8250,
        2700,
        None,
    )
    assert manual["start_time"] == "2026-04-06T18:30:00Z"
    # One shoe per name (case-insensitive), brand and model from shoes.csv; a shoe not listed
    # there is created with its name alone.
    gear = {r["name"]: r for r in db.query("SELECT * FROM gear")}
    assert set(gear) == {"Pegasus 40", "Old Trail Shoe"}
    assert (gear["Pegasus 40"]["brand"], gear["Pegasus 40"]["model"]) == ("Nike", "Pegasus 40")
    assert acts[101]["gear_id"] == acts[103]["gear_id"] == gear["Pegasus 40"]["id"]
    assert acts[105]["gear_id"] == gear["Old Trail Shoe"]["id"]

    again = import_archive(db, cfg, tmp_path / "export_1.zip")  # idempotent
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 6
    assert db.execute("SELECT COUNT(*) FROM gear").fetchone()[0] == 2


def test_a_shoe_already_stored_is_matched_by_name(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    db["gear"].insert({"id": "g42", "name": "Pegasus 40", "source": "strava"})
    rows = [strava_row(1, "Apr 1, 2026, 6:00:00 AM", "Run", gear="PEGASUS 40")]
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, {}, shoes=None))
    import_archive(db, cfg, tmp_path / "e.zip")
    assert by_strava_id(db)[1]["gear_id"] == "g42"
    assert db.execute("SELECT COUNT(*) FROM gear").fetchone()[0] == 1
    # Two names that make the same id stay two shoes.
    rows = [
        strava_row(2, "Apr 2, 2026, 6:00:00 AM", "Run", gear="Ghost 15"),
        strava_row(3, "Apr 3, 2026, 6:00:00 AM", "Run", gear="ghost-15"),
    ]
    (tmp_path / "f.zip").write_bytes(strava_archive(rows, {}, shoes=None))
    import_archive(db, cfg, tmp_path / "f.zip")
    acts = by_strava_id(db)
    names = dict(db.execute("SELECT id, name FROM gear").fetchall())
    assert (names[acts[2]["gear_id"]], names[acts[3]["gear_id"]]) == ("Ghost 15", "ghost-15")


def test_a_german_archive_reads_day_first_dates_and_repeated_columns(tmp_path: Path) -> None:
    """German headers repeat Distanz and Verstrichene Zeit too; 03.04. is the 3rd of April
    because another row (13.04.) can only be day first."""
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    rows = [
        strava_row(201, "03.04.2026, 07:15:00", "Lauf am Morgen", kind="Lauf", km=10.5),
        strava_row(202, "13.04.2026, 18:00:00", "Abendlauf", kind="Lauf", km=7.25,
                   file="activities/202.gpx"),
        strava_row(203, "04.04.2026, 09:00:00", "Radfahrt", kind="Radfahrt", km=40),
    ]  # fmt: skip
    files = {"activities/202.gpx": gpx_file(at(2026, 4, 13, 18), km=7.25, minutes=40)}
    (tmp_path / "export_de").mkdir()
    archive = strava_archive(rows, files, header=GERMAN)
    folder = tmp_path / "export_de"  # the unzipped folder imports the same as the zip
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        z.extractall(folder)
    assert detect(folder) == "strava"

    summary = import_archive(db, cfg, folder)

    assert summary.problems == []
    acts = by_strava_id(db)
    assert acts[201]["start_time"] == "2026-04-03T07:15:00Z"
    assert (acts[201]["sport"], acts[201]["distance_m"]) == ("running", 10_500)
    assert acts[202]["distance_m"] == pytest.approx(7_250, rel=0.01)
    assert acts[203]["sport"] == "cycling"


@pytest.mark.parametrize(
    ("texts", "language_day_first", "expected"),
    [
        (["03/04/2026, 07:00:00", "12/25/2025, 07:00:00"], True, "2026-03-04"),  # 25: month 1st
        (["03/04/2026 07:00", "25/12/2025 07:00"], False, "2026-04-03"),  # 25: day first
        (["03/04/2026, 7:00:00 AM"], False, "2026-03-04"),  # English default: month first
        (["03.04.2026, 07:00:00"], True, "2026-04-03"),  # German default: day first
        (["3 avr. 2026, 07:00:00"], True, "2026-04-03"),  # a month name decides alone
        (["Apr 3, 2026, 7:00:00 AM"], True, "2026-04-03"),
        (["3. März 2026, 07:00:00"], True, "2026-03-03"),
        (["2026-04-03 07:00:00"], False, "2026-04-03"),  # archives before mid-2019
    ],
)
def test_dates_are_read_day_or_month_first_per_file(
    texts: list[str], language_day_first: bool, expected: str
) -> None:
    parts = [split_date(t) for t in texts]
    first = day_first(parts, language_day_first)
    assert parts[0].to_datetime(first).date().isoformat() == expected


def test_12_hour_times(tmp_path: Path) -> None:
    assert split_date("Sep 12, 2018, 3:02:23 PM").to_datetime(False).hour == 15
    assert split_date("Sep 12, 2018, 12:10:00 AM").to_datetime(False).hour == 0


def test_a_column_no_name_places_fails_naming_it(tmp_path: Path, capsys: Any) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    header = [h if h != "Filename" else "Datei" for h in ENGLISH]
    rows = [strava_row(1, "Apr 1, 2026, 6:00:00 AM", "Run")]
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, {}, header=header))
    with pytest.raises(CalfsyncError) as failure:
        import_archive(db, cfg, tmp_path / "e.zip")
    assert "no column for the activity filename" in str(failure.value)
    assert "'Filename'" in str(failure.value) and "Datei" in str(failure.value)
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 0
    # Through the CLI: exit 1 and the same reason; a FIT file given beside it is imported.
    (tmp_path / "loose.fit").write_bytes(fit_run(at(2026, 4, 2, 6)))
    config = _write_config(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "import", str(tmp_path / "e.zip"),
              str(tmp_path / "loose.fit")])  # fmt: skip
    assert exit_info.value.code == 1
    assert "no column for the activity filename" in capsys.readouterr().err
    assert make_db(cfg).execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 1


def _write_config(tmp_path: Path) -> Path:
    path = tmp_path / "calfsync.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{tmp_path / "inbox"}"]\n[athlete]\ntimezone = "Europe/Paris"\n'
    )
    return path


def test_bad_files_and_rows_get_a_reason_and_stop_nothing_else(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    rows = [
        strava_row(301, "Apr 1, 2026, 6:00:00 AM", "Corrupt GPX", km=9,
                   file="activities/301.gpx"),
        strava_row(302, "Apr 2, 2026, 6:00:00 AM", "Missing file", km=7,
                   file="activities/302.fit.gz"),
        strava_row(303, "Apr 3, 2026, 6:00:00 AM", "Corrupt FIT", km=6,
                   file="activities/303.fit.gz"),
        strava_row(304, "not a date", "Bad row"),
        strava_row(305, "Apr 5, 2026, 6:00:00 AM", "Good run", file="activities/305.gpx"),
        {**strava_row(306, "Apr 6, 2026, 6:00:00 AM", "Bad id"), "id": "abc"},
    ]  # fmt: skip
    files = {
        "activities/301.gpx": b"<gpx><trk><trkseg><trkpt lat='1' lon='2'>",
        "activities/303.fit.gz": gz(fit_run(at(2026, 4, 3, 6))[:40]),
        "activities/305.gpx": gpx_file(at(2026, 4, 5, 6)),
    }
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, files))

    summary = import_archive(db, cfg, tmp_path / "e.zip")

    reasons = [(label.rsplit("!", 1)[1], reason) for label, reason in summary.problems]
    assert len(reasons) == 5
    assert reasons[0][0] == "activities/301.gpx"
    assert reasons[0][1].startswith("not a readable GPX file")
    assert reasons[0][1].endswith("the activity of line 2 is imported from activities.csv alone "
                                  "(no climb, no heart rate)")  # fmt: skip
    assert reasons[1] == (
        "activities/302.fit.gz",
        "named in the export, but not in the archive; the activity of line 3 is imported "
        "from activities.csv alone (no climb, no heart rate)",
    )
    assert reasons[2][0] == "activities/303.fit.gz" and "line 4 is imported" in reasons[2][1]
    assert reasons[3] == ("activities.csv", "line 5: no time of day in the date 'not a date'")
    assert reasons[4] == ("activities.csv", "line 7: the activity id 'abc' is no number")
    acts = by_strava_id(db)
    # The runs whose file failed still count, from the CSV alone; the good run has its file.
    assert {k: v["distance_m"] for k, v in acts.items() if k != 305} == {
        301: 9000,
        302: 7000,
        303: 6000,
    }
    assert acts[305]["altitude_source"] == "gps"
    failed = db.execute("SELECT path, status FROM fit_files").fetchall()
    assert [(p.rsplit("!", 1)[1], s) for p, s in failed] == [("activities/303.fit.gz", "failed")]
    # The line the runner reads counts the activities stored, not the rows read.
    assert ": 4 activities (3 CSV, 1 GPX), 2 rows skipped; new 4," in summary.line()


def test_the_same_run_in_the_archive_and_the_inbox_is_one_row(tmp_path: Path) -> None:
    """Inbox first, then the archive with the same FIT file (a duplicate content) and a GPX
    of another run also recorded by the watch; then an archive run whose watch file arrives
    in the inbox afterwards. Each run is one row: the watch's measures, Strava's name."""
    cfg = make_config(tmp_path, workers=1)
    db = make_db(cfg)
    inbox = tmp_path / "inbox"
    (inbox / "a.fit").write_bytes(fit_run(at(2026, 5, 1, 6), km=10, minutes=50))
    other_device = fit_run(at(2026, 5, 2, 6), 12, 60, serial=77)
    (inbox / "b.fit").write_bytes(other_device)
    import_paths(db, cfg, [inbox])
    rows = [
        strava_row(401, "May 1, 2026, 6:00:00 AM", "Same file", file="activities/401.fit.gz"),
        strava_row(402, "May 2, 2026, 6:00:05 AM", "Phone GPX", km=12, minutes=60,
                   file="activities/402.gpx"),
        strava_row(403, "May 3, 2026, 6:00:00 AM", "Archive first", km=8, minutes=40,
                   file="activities/403.gpx"),
    ]  # fmt: skip
    files = {
        "activities/401.fit.gz": gz(fit_run(at(2026, 5, 1, 6), km=10, minutes=50)),
        "activities/402.gpx": gpx_file(at(2026, 5, 2, 6, 0), km=12, minutes=60),
        "activities/403.gpx": gpx_file(at(2026, 5, 3, 6), km=8, minutes=40),
    }
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, files))
    import_archive(db, cfg, tmp_path / "e.zip")
    (inbox / "c.fit").write_bytes(fit_run(at(2026, 5, 3, 6, 0), km=8.1, minutes=40))
    import_paths(db, cfg, [inbox])

    found = list(db.query("SELECT * FROM activities ORDER BY start_time"))
    assert [(r["local_date"], r["name"], r["strava_id"]) for r in found] == [
        ("2026-05-01", "Same file", 401),
        ("2026-05-02", "Phone GPX", 402),
        ("2026-05-03", "Archive first", 403),
    ]
    assert all(r["fit_raw"] and r["strava_raw"] for r in found)
    assert found[1]["distance_m"] == 12_000  # the watch's file wins over the phone's GPX
    assert found[2]["distance_m"] == 8_100
    import_archive(db, cfg, tmp_path / "e.zip")
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 3


def test_a_ride_saved_as_a_run_stays_a_run_and_is_suspect(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    ride = SessionSpec(start=at(2026, 4, 1, 6), duration_s=3600, distance_m=32_000,
                       sport="cycling", record_step_s=10)  # fmt: skip
    rows = [strava_row(501, "Apr 1, 2026, 6:00:00 AM", "Commute", km=32, minutes=60,
                       file="activities/501.fit.gz")]  # fmt: skip
    files = {"activities/501.fit.gz": gz(encode_activity([ride]))}
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, files))
    import_archive(db, cfg, tmp_path / "e.zip")
    (row,) = db.query("SELECT * FROM activities")
    assert row["sport"] == "running" and row["name"] == "Commute"
    assert "saved as a run" in row["suspect"]


def test_the_cli_routes_an_archive_and_plain_fit_files(tmp_path: Path, capsys: Any) -> None:
    rows = [strava_row(601, "Apr 1, 2026, 6:00:00 AM", "Archive run", km=5, minutes=30)]
    (tmp_path / "export_7.zip").write_bytes(strava_archive(rows, {}, shoes=SHOES_CSV))
    (tmp_path / "loose.fit").write_bytes(fit_run(at(2026, 4, 2, 6)))
    config = _write_config(tmp_path)
    (tmp_path / "inbox").mkdir(exist_ok=True)
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "import", str(tmp_path / "export_7.zip"),
              str(tmp_path / "loose.fit")])  # fmt: skip
    out = capsys.readouterr().out
    assert exit_info.value.code in (0, None)
    assert "Strava archive" in out and "1 activities (1 CSV)" in out
    assert "imported 1" in out and "(import never pushes)" in out
    db = make_db(make_config(tmp_path))
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 2


def test_an_archive_of_2019_with_one_distance_column(tmp_path: Path) -> None:
    """The header and row as a 2019 archive has them (hugovk/strava-tools#2): one Distance
    column, in km, and no metres column to prefer."""
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    csv_text = (
        "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,"
        "Elapsed Time,Distance,Commute,Activity Gear,Filename\n"
        '1836776031,"Sep 12, 2018, 3:02:23 PM",Evening Ride,Ride,,783,3.68,true,Merida,\n'
    )
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "activities.csv").write_text(csv_text)
    import_archive(db, cfg, tmp_path / "old")
    (row,) = db.query("SELECT * FROM activities")
    assert (row["distance_m"], row["elapsed_time_s"]) == (3680, 783)
    assert (row["sport"], row["start_time"]) == ("cycling", "2018-09-12T15:02:23Z")
    assert db.execute("SELECT name FROM gear").fetchall() == [("Merida",)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_larger_archive_is_read_by_worker_processes_in_csv_order(
    tmp_path: Path, workers: int
) -> None:
    """30 rows (more than a pool is started for): the same rows whether read in the importing
    process or by two workers, stored in CSV order."""
    cfg = make_config(tmp_path, workers=workers)
    db = make_db(cfg)
    rows, files = [], {}
    for i in range(30):
        start = at(2026, 1, 1, 6) + timedelta(days=i)
        rows.append(strava_row(700 + i, start.strftime("%b %-d, %Y, %-I:%M:%S %p"), f"Run {i}",
                               km=2, minutes=10, file=f"activities/{i}.gpx"))  # fmt: skip
        files[f"activities/{i}.gpx"] = gpx_file(start, km=2, minutes=10)
    (tmp_path / "e.zip").write_bytes(strava_archive(rows, files))
    summary = import_archive(db, cfg, tmp_path / "e.zip")
    assert (summary.inserted, summary.problems, summary.by_format) == (30, [], {"gpx": 30})
    acts = by_strava_id(db)
    assert [acts[700 + i]["name"] for i in range(30)] == [f"Run {i}" for i in range(30)]
    assert all(a["distance_m"] == pytest.approx(2000, rel=0.01) for a in acts.values())


def test_fit_only_work_loads_no_export_reader(tmp_path: Path) -> None:
    """The daemon and a FIT import never load gpxpy or the archive readers (issue 12: they
    are needed by `calfsync import` of an export only)."""
    (tmp_path / "inbox").mkdir(exist_ok=True)
    (tmp_path / "a.fit").write_bytes(fit_run(at(2026, 4, 2, 6)))
    script = (
        "import sys\n"
        "import calfsync.daemon\n"
        "from calfsync.cli import main\n"
        "try:\n"
        f"    main(['--config', {str(_write_config(tmp_path))!r}, 'import', "
        f"{str(tmp_path / 'a.fit')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('gpxpy', 'calfsync.sources.exports',"
        " 'calfsync.ingest.exports'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert "imported 1" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_a_french_archive(tmp_path: Path) -> None:
    """The French header as a real archive has it (its first 21 columns), a French date and
    a French activity type."""
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    header = (
        "ID de l'activité,Date de l'activité,Nom de l'activité,Type d'activité,"
        "Description de l'activité,Temps écoulé,Distance,Fréquence cardiaque max.,Effort relatif,"
        "Déplacement-transport,Note privée sur les activités,Matériel utilisé pour l'activité,"
        "Nom du fichier,Poids de l'athlète,Poids du vélo,Temps écoulé,Durée de déplacement,"
        "Distance,Vitesse max.,Vitesse moyenne,Dénivelé positif"
    )
    row = (
        '42,"12 sept. 2018, 15:02:23",Sortie du soir,Course à pied,,3000,"10,20",,,false,,'
        "Kiprun KS900,,,,3000.0,2950.0,10200.0,,,45.0"
    )
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "activities.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")
    summary = import_archive(db, cfg, tmp_path / "fr")
    assert summary.problems == []
    (act,) = db.query("SELECT * FROM activities")
    assert (act["start_time"], act["sport"], act["distance_m"]) == (
        "2018-09-12T15:02:23Z",
        "running",
        10_200,
    )
    assert (act["elapsed_time_s"], act["moving_time_s"]) == (3000, 2950)
    assert db.execute("SELECT name FROM gear").fetchall() == [("Kiprun KS900",)]
