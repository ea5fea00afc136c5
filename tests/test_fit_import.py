"""The import pipeline end to end: real files on disk, a real SQLite database."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fit_support import (
    activities,
    at,
    fit_files,
    gz,
    hills,
    make_config,
    make_db,
    run,
    run_file,
    table_counts,
    zip_bytes,
)

from calfsync.cli import cli, main
from calfsync.config import validate
from calfsync.fitwriter import encode_activity, encode_file
from calfsync.ingest.fit import import_paths, scan_inboxes
from calfsync.sources.fit.inputs import iter_inputs
from calfsync.store.db import open_db


@pytest.fixture(params=[1, 2], ids=["inline", "pool"])
def workers(request: pytest.FixtureRequest) -> int:
    return request.param


def test_folder_of_good_and_bad_files(tmp_path: Path, workers: int) -> None:
    cfg = make_config(tmp_path, workers=workers)
    db = make_db(cfg)
    folder = tmp_path / "in" / "deep" / "er"
    folder.mkdir(parents=True)
    for day in range(1, 6):
        (folder / f"run{day}.fit").write_bytes(run_file(at(2026, 3, day, 7), km=8 + day))
    (folder / "UPPER.FIT").write_bytes(run_file(at(2026, 3, 9, 7)))
    (folder / "empty.fit").write_bytes(b"")
    (folder / "random.fit").write_bytes(os.urandom(2048))
    (folder / "settings.fit").write_bytes(encode_file("settings"))
    (folder / "notes.txt").write_text("not looked at")
    summary = import_paths(db, cfg, [tmp_path / "in"])
    assert (summary.imported, summary.skipped, summary.failed, summary.duplicates) == (6, 1, 2, 0)
    assert summary.line().startswith("imported 6, skipped 1, failed 2, duplicates 0 in ")
    files = fit_files(db)
    assert "notes.txt" not in files
    assert files["empty.fit"]["status"] == "failed"
    assert files["empty.fit"]["reason"] == "empty file (0 bytes): not a FIT file"
    assert files["random.fit"]["reason"].startswith("not a FIT file")
    assert files["settings.fit"]["status"] == "skipped"
    assert files["run3.fit"]["activity_id"] == "fit:3900000001:20260303T070000Z"
    assert json.loads(files["run3.fit"]["activity_ids"]) == ["fit:3900000001:20260303T070000Z"]
    acts = activities(db)
    assert [a["distance_m"] for a in acts] == [9000, 10000, 11000, 12000, 13000, 10000]
    assert summary.changed_dates == {f"2026-03-0{d}" for d in (1, 2, 3, 4, 5, 9)}
    assert acts[0]["local_date"] == "2026-03-01"
    assert json.loads(acts[0]["fit_raw"])["sport"] == "running"


def test_zip_with_nested_folders_zips_and_non_fit_entries(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    inner = zip_bytes({"b/2.fit": run_file(at(2026, 4, 2, 6)), "photo.jpg": os.urandom(500)})
    export = zip_bytes(
        {
            "activities/2026/1.fit": run_file(at(2026, 4, 1, 6)),
            "activities/2026/3.fit.gz": gz(run_file(at(2026, 4, 3, 6))),
            "activities/old/archive.zip": inner,
            "activities.csv": b"id,name\n1,Morning Run\n",
            "profile.json": b"{}",
            "activities/settings.fit": encode_file("settings"),
            "activities/broken.fit.gz": b"\x1f\x8b\x08\x00garbage",
        }
    )
    (tmp_path / "export.zip").write_bytes(export)
    summary = import_paths(db, cfg, [tmp_path / "export.zip"])
    assert (summary.imported, summary.skipped, summary.failed) == (3, 4, 1)
    labels = {r["path"].split("export.zip", 1)[1]: r for r in db.query("SELECT * FROM fit_files")}
    assert labels["!activities/old/archive.zip!b/2.fit"]["status"] == "imported"
    assert labels["!activities/2026/3.fit.gz"]["status"] == "imported"
    assert labels["!activities.csv"]["reason"] == "zip entry is not a FIT file"
    assert labels["!activities/old/archive.zip!photo.jpg"]["status"] == "skipped"
    assert labels["!activities/broken.fit.gz"]["reason"].startswith("gzip data is damaged")
    assert [a["local_date"] for a in activities(db)] == ["2026-04-01", "2026-04-02", "2026-04-03"]


def test_corrupt_zip_is_recorded_as_failed_and_the_rest_goes_on(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    good = zip_bytes({"a.fit": run_file(at(2026, 4, 1, 6))})
    (tmp_path / "a_cut.zip").write_bytes(good[: len(good) // 2])
    (tmp_path / "b_junk.zip").write_bytes(b"PK\x03\x04" + os.urandom(300))
    (tmp_path / "c.fit").write_bytes(run_file(at(2026, 4, 5, 6)))
    summary = import_paths(db, cfg, [tmp_path])
    assert (summary.imported, summary.failed) == (1, 2)
    files = fit_files(db)
    for name in ("a_cut.zip", "b_junk.zip"):
        assert files[name]["status"] == "failed"
        assert files[name]["reason"].startswith("not a readable zip archive")
    assert [label for label, _ in summary.problems] == [
        str((tmp_path / "a_cut.zip").resolve()),
        str((tmp_path / "b_junk.zip").resolve()),
    ]


def test_the_same_run_in_three_copies_is_stored_once(tmp_path: Path, workers: int) -> None:
    cfg = make_config(tmp_path, workers=workers)
    db = make_db(cfg)
    data = run_file(at(2026, 5, 1, 6, 15), km=12)
    (tmp_path / "run.fit").write_bytes(data)
    (tmp_path / "run.fit.gz").write_bytes(gz(data))
    (tmp_path / "export.zip").write_bytes(zip_bytes({"activities/99.fit": data}))
    summary = import_paths(db, cfg, [tmp_path])
    assert (summary.imported, summary.duplicates) == (1, 2)
    assert len(activities(db)) == 1
    assert table_counts(db)["fit_files"] == 1


def test_the_same_session_in_different_bytes_is_stored_once(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    spec = run(at(2026, 5, 1, 6, 15), km=12)
    (tmp_path / "watch.fit").write_bytes(encode_activity([spec]))
    (tmp_path / "export.fit").write_bytes(encode_activity([spec], compressed_timestamps=True))
    summary = import_paths(db, cfg, [tmp_path])
    assert summary.imported == 2  # two distinct contents, recorded as such
    assert len(activities(db)) == 1
    ids = {r["activity_id"] for r in list(db.query("SELECT activity_id FROM fit_files"))}
    assert ids == {"fit:3900000001:20260501T061500Z"}


def test_reimporting_a_folder_changes_nothing(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    for day in range(1, 4):
        (tmp_path / f"{day}.fit").write_bytes(run_file(at(2026, 3, day, 7)))
    (tmp_path / "bad.fit").write_bytes(b"nonsense")
    first = import_paths(db, cfg, [tmp_path])
    before = list(db.query("SELECT * FROM activities ORDER BY id"))
    before_files = list(db.query("SELECT * FROM fit_files ORDER BY sha256"))
    again = import_paths(db, cfg, [tmp_path])
    assert (first.imported, first.failed) == (3, 1)
    assert (again.imported, again.failed, again.duplicates) == (0, 0, 4)
    assert again.changed_dates == set()
    assert list(db.query("SELECT * FROM activities ORDER BY id")) == before
    assert list(db.query("SELECT * FROM fit_files ORDER BY sha256")) == before_files


def test_special_encodings_import(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    climb = dict(altitude_profile=hills(), include_total_ascent=False)
    (tmp_path / "compressed.fit").write_bytes(
        encode_activity([run(at(2026, 3, 1, 7), **climb)], compressed_timestamps=True)
    )
    (tmp_path / "devfields.fit").write_bytes(
        encode_activity([run(at(2026, 3, 2, 7))], developer_field=True)
    )
    (tmp_path / "enhanced.fit").write_bytes(
        encode_activity([run(at(2026, 3, 3, 7), **climb)], altitude_fields="enhanced")
    )
    summary = import_paths(db, cfg, [tmp_path])
    assert (summary.imported, summary.failed) == (3, 0)
    by_date = {a["local_date"]: a for a in activities(db)}
    assert by_date["2026-03-01"]["ascent_m"] == by_date["2026-03-03"]["ascent_m"] > 0
    assert by_date["2026-03-01"]["altitude_source"] == "barometric"


def test_salvaged_file_is_marked(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    full = encode_activity([run(at(2026, 3, 1, 7), altitude_profile=hills())])
    (tmp_path / "battery.fit").write_bytes(full[: len(full) // 2])
    summary = import_paths(db, cfg, [tmp_path])
    assert (summary.imported, summary.salvaged) == (1, 1)
    assert "(1 salvaged)" in summary.line()
    row = fit_files(db)["battery.fit"]
    assert (row["status"], row["salvaged"]) == ("imported", 1)
    assert row["reason"].startswith("salvaged")
    (act,) = activities(db)
    assert act["salvaged"] == 1
    # The whole file arriving later replaces the salvaged copy.
    (tmp_path / "battery.fit").write_bytes(full)
    import_paths(db, cfg, [tmp_path])
    (act,) = activities(db)
    assert act["salvaged"] == 0
    assert act["distance_m"] == pytest.approx(10_000)


def test_scan_inboxes_reads_only_new_or_changed_files(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    db = make_db(cfg)
    inbox = cfg.inboxes[0]
    (inbox / "a.fit").write_bytes(run_file(at(2026, 3, 1, 7)))
    (inbox / "b.fit").write_bytes(run_file(at(2026, 3, 2, 7)))
    first = scan_inboxes(db, cfg)
    assert first.imported == 2
    assert table_counts(db)["seen_paths"] == 2
    # Unchanged files are not read at all: replacing one's content behind an unchanged size and
    # mtime goes unnoticed, which is how we know it was not read.
    stat = (inbox / "a.fit").stat()
    (inbox / "a.fit").write_bytes(b"X" * stat.st_size)
    os.utime(inbox / "a.fit", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert scan_inboxes(db, cfg).files == 0
    # A new file and a changed file are read.
    (inbox / "c.fit").write_bytes(run_file(at(2026, 3, 3, 7)))
    (inbox / "b.fit").write_bytes(run_file(at(2026, 3, 2, 7), km=11))
    third = scan_inboxes(db, cfg)
    assert (third.imported, third.files) == (2, 2)
    assert scan_inboxes(db, cfg).files == 0
    seen = {Path(r["path"]).name: r for r in list(db.query("SELECT * FROM seen_paths"))}
    assert seen["c.fit"]["size_bytes"] == (inbox / "c.fit").stat().st_size


def test_scan_skips_a_missing_inbox(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, inbox=[str(tmp_path / "inbox"), str(tmp_path / "nowhere")])
    db = make_db(cfg)
    (cfg.inboxes[0] / "a.fit").write_bytes(run_file(at(2026, 3, 1, 7)))
    assert scan_inboxes(db, cfg).imported == 1


def _import_in_child(db_path: str, tz: str, folder: str) -> None:
    cfg = validate(
        {
            "database": {"path": db_path},
            "fit": {"inbox": [folder], "workers": 1},
            "athlete": {"timezone": tz},
        }
    )
    import_paths(open_db(db_path), cfg, [folder])


def test_a_killed_import_recovers_on_the_next_run(tmp_path: Path) -> None:
    cfg = make_config(tmp_path)
    folder = tmp_path / "many"
    folder.mkdir()
    count = 160
    for i in range(count):
        spec = run(at(2026, 1, 1, 6) + (i * (at(2026, 1, 2) - at(2026, 1, 1))), km=5, minutes=10)
        (folder / f"{i:03}.fit").write_bytes(encode_activity([spec]))
    db = make_db(cfg)
    child = multiprocessing.get_context("spawn").Process(
        target=_import_in_child, args=(str(cfg.db_path), "Europe/Paris", str(folder))
    )
    child.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.is_alive():
        if db.execute("SELECT COUNT(*) FROM fit_files").fetchone()[0] > 0:
            break
        time.sleep(0.01)
    if child.is_alive():
        os.kill(child.pid, signal.SIGKILL)
    child.join()
    partial = table_counts(db)
    assert partial["activities"] == partial["fit_files"]  # written together, never apart
    summary = import_paths(db, cfg, [folder])
    assert summary.imported + summary.duplicates == count
    assert summary.imported == count - partial["fit_files"]
    assert table_counts(db)["activities"] == count
    assert table_counts(db)["fit_files"] == count


def test_import_command_exit_codes_and_summary(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "ok.fit").write_bytes(run_file(at(2026, 3, 1, 7)))
    (folder / "bad.fit").write_bytes(b"\x00" * 40)
    db_path = tmp_path / "cli.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["--db", str(db_path), "import", str(folder)])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("imported 1, skipped 0, failed 1, duplicates 0 in ")
    assert "bad.fit: not a FIT file" in result.stderr
    again = runner.invoke(cli, ["--db", str(db_path), "import", str(folder)])
    assert again.exit_code == 0
    assert "imported 0, skipped 0, failed 0, duplicates 2" in again.stdout
    missing = runner.invoke(cli, ["--db", str(db_path), "import", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_import_command_fails_when_the_database_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "ok.fit").write_bytes(run_file(at(2026, 3, 1, 7)))
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(blocker / "sub" / "x.db"), "import", str(tmp_path / "ok.fit")])
    assert exc.value.code == 1


def test_import_beside_other_threads_uses_a_fork_server(tmp_path: Path) -> None:
    # The daemon imports while its scheduler threads run; parsing must work there too.
    cfg = make_config(tmp_path, workers=2)
    db = make_db(cfg)
    for day in range(1, 4):
        (tmp_path / f"{day}.fit").write_bytes(run_file(at(2026, 3, day, 7), km=5, minutes=20))
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        summary = import_paths(db, cfg, [tmp_path])
    finally:
        stop.set()
        other.join()
    assert (summary.imported, summary.failed) == (3, 0)


def test_iter_inputs_labels_every_item(tmp_path: Path) -> None:
    data = run_file(at(2026, 3, 1, 7), km=1, minutes=5)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.fit.gz").write_bytes(gz(data))
    (tmp_path / "export.zip").write_bytes(
        zip_bytes({"activities/1.fit": data, "inner.zip": zip_bytes({"x/2.FIT": data})})
    )
    (tmp_path / ".hidden.fit").write_bytes(data)
    items = list(iter_inputs([tmp_path]))
    root = str(tmp_path.resolve())
    assert [i.label for i in items] == [
        f"{root}/export.zip!activities/1.fit",
        f"{root}/export.zip!inner.zip!x/2.FIT",
        f"{root}/sub/a.fit.gz",
    ]
    assert {i.sha256 for i in items} == {items[0].sha256}  # one content, three places
    assert all(i.data == data for i in items)
