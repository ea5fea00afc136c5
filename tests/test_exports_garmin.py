"""Garmin account exports (issue 12 item 2): the FIT files in zips inside the export's zip
import as any zip does; the summaries (centimetres, milliseconds) and gear records name and
shoe the FIT activities starting within a minute; multisport parents are skipped."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from exports_support import garmin_export, ms
from fit_support import at, make_config, make_db, run

from calfsync.cli import main
from calfsync.fitwriter import SessionSpec, encode_activity
from calfsync.ingest.exports import ExportSummary, import_garmin_export
from calfsync.sources.exports import detect, open_archive

RUN_A = at(2026, 6, 1, 6)
RUN_B = at(2026, 6, 2, 6)
BRICK = at(2026, 6, 3, 8)
LEG_2 = BRICK + timedelta(minutes=31)


def fit(*sessions: SessionSpec, serial: int = 3_900_000_001) -> bytes:
    return encode_activity(list(sessions), serial_number=serial)


def uploaded() -> dict[str, bytes]:
    return {
        "runner_1001.fit": fit(run(RUN_A, 10, 50, record_step_s=10)),
        "runner_1002.fit": fit(run(RUN_B, 21, 110, record_step_s=10)),
        "runner_1003.fit": fit(
            run(BRICK, 5, 30, record_step_s=10),
            SessionSpec(LEG_2, 1800, 15_000, sport="cycling", record_step_s=10),
        ),
    }


SUMMARIES = [
    {  # listed first: named like this, the brick's first leg would get the parent's name
        "activityId": 900, "name": "Brick (parent)", "activityType": "multi_sport",
        "parent": True, "childIds": [901, 902], "beginTimestamp": ms(BRICK),
        "distance": 2_000_000.0, "duration": 3_660_000.0,
    },
    {
        "activityId": 101, "name": "Tempo Tuesday", "activityType": "running",
        "beginTimestamp": ms(RUN_A + timedelta(seconds=20)), "distance": 1_000_000.0,
        "duration": 3_000_000.0,
    },
    {
        "activityId": 102, "name": "Long run", "activityType": "running",
        "beginTimestamp": ms(RUN_B - timedelta(seconds=30)), "distance": 2_100_000.0,
        "duration": 6_600_000.0,
    },
    {
        "activityId": 103, "name": "Too far from any file", "activityType": "running",
        "beginTimestamp": ms(RUN_B + timedelta(minutes=10)), "distance": 500_000.0,
        "duration": 1_500_000.0,
    },
    {
        "activityId": 901, "name": "Brick run", "activityType": "running", "parentId": 900,
        "beginTimestamp": ms(BRICK + timedelta(seconds=5)), "distance": 500_000.0,
        "duration": 1_800_000.0,
    },
    {
        "activityId": 902, "name": "Brick ride", "activityType": "cycling", "parentId": 900,
        "beginTimestamp": ms(LEG_2), "distance": 1_500_000.0, "duration": 1_800_000.0,
    },
]  # fmt: skip
GEAR = {
    "gearDTOS": [
        {
            "gearPk": 555, "uuid": "8d2f0c", "displayName": "Vaporfly 3",
            "customMakeModel": "Nike Vaporfly 3", "gearMakeName": "Nike",
            "gearModelName": "Vaporfly 3", "gearTypeName": "Shoes", "gearStatusName": "active",
        },
        {
            "gearPk": 556, "displayName": "Old Ghost", "gearMakeName": "Brooks",
            "gearModelName": "Ghost 14", "gearTypeName": "Shoes", "gearStatusName": "retired",
        },
    ],
    "gearActivityDTOs": {
        "555": [{"activityId": 102, "gearPk": 555}],
        "556": [{"activityId": 101, "gearPk": 556}, {"activityId": 103, "gearPk": 556}],
    },
}  # fmt: skip


def names(db: Any) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (r["local_date"], r["sport"], r["name"], r["gear_id"])
        for r in db.query("SELECT * FROM activities ORDER BY start_time")
    ]


def import_export(db: Any, cfg: Any, path: Path) -> ExportSummary:
    with open_archive(path) as archive:
        return import_garmin_export(db, cfg, path, archive)


@pytest.mark.parametrize(
    "part_name",
    [
        "DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip",
        "DI_CONNECT/DI-Connect-Fitness-Uploaded-Files/UploadedFiles_0-_Part1.zip",  # older
    ],
)
def test_a_garmin_export_names_and_shoes_its_fit_activities(tmp_path: Path, part_name: str) -> None:
    cfg = make_config(tmp_path, workers=1)
    db = make_db(cfg)
    path = tmp_path / "garmin.zip"
    path.write_bytes(garmin_export(uploaded(), SUMMARIES, GEAR, part_name=part_name))
    assert detect(path) == "garmin"

    summary = import_export(db, cfg, path)

    assert summary.fit is not None and (summary.fit.imported, summary.fit.failed) == (3, 0)
    assert summary.parents_skipped == 1 and summary.problems == []
    assert names(db) == [
        ("2026-06-01", "running", "Tempo Tuesday", "garmin:556"),
        ("2026-06-02", "running", "Long run", "garmin:555"),
        ("2026-06-03", "running", "Brick run", None),
        ("2026-06-03", "cycling", "Brick ride", None),
    ]
    gear = {r["id"]: r for r in db.query("SELECT * FROM gear")}
    assert (gear["garmin:555"]["name"], gear["garmin:555"]["brand"]) == ("Vaporfly 3", "Nike")
    assert (gear["garmin:556"]["model"], gear["garmin:556"]["retired"]) == ("Ghost 14", 1)

    again = import_export(db, cfg, path)  # idempotent
    assert (again.named, again.shod, again.shoes_created) == (0, 0, 0)
    assert again.fit is not None and again.fit.duplicates == 6  # 3 FIT files, 3 JSON
    assert db.execute("SELECT COUNT(*) FROM activities").fetchone()[0] == 4


def test_names_from_the_runner_or_strava_are_kept(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, workers=1)
    db = make_db(cfg)
    path = tmp_path / "garmin.zip"
    path.write_bytes(garmin_export(uploaded(), SUMMARIES[1:2], GEAR))
    import_export(db, cfg, path)
    db.execute("UPDATE activities SET name = 'My own name', gear_id = 'm1', gear_source = NULL")
    db.conn.commit()
    summary = import_export(db, cfg, path)
    assert (summary.named, summary.shod) == (0, 0)
    assert names(db)[0][2:] == ("My own name", "m1")


def test_an_unreadable_summary_file_is_listed_and_the_fit_files_import(
    tmp_path: Path, capsys: Any
) -> None:
    cfg_path = tmp_path / "calfsync.toml"
    (tmp_path / "inbox").mkdir()
    cfg_path.write_text(
        f'[database]\npath = "{tmp_path / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{tmp_path / "inbox"}"]\nworkers = 1\n'
    )
    export = garmin_export(uploaded(), SUMMARIES, GEAR)
    path = tmp_path / "garmin.zip"
    with zipfile.ZipFile(path, "w") as out, zipfile.ZipFile(io.BytesIO(export)) as z:
        for info in z.infolist():
            data = z.read(info)
            if info.filename.endswith("summarizedActivities.json"):
                data = data[: len(data) // 2]  # cut: not readable JSON
            out.writestr(info, data)
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(cfg_path), "import", str(path)])
    out, err = capsys.readouterr()
    assert exit_info.value.code in (0, None)
    assert "summarizedActivities.json: not readable JSON" in err
    assert "Garmin export" in out and "imported 3" in out and "shoes given 0" in out
    db = make_db(make_config(tmp_path))
    assert [n[2] for n in names(db)] == [None, None, None, None]
