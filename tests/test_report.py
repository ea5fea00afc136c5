"""The report page (issue 13 item 1): what it shows, that it escapes the runner's text, the
``calfsync report`` command and the sync step that rewrites ``[report] path``.

Histories are built in code (rules_support) and stored through the real store; the sync-step
tests drop real FIT files into an inbox. The page in a real browser: tests/test_report_browser.py.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fit_support import run_file
from rules_support import DAY0, make_cfg, run, store, weeks
from test_architecture import MODULES, imports_of

from calfsync import sync
from calfsync.cli import cli, main
from calfsync.config import validate
from calfsync.errors import CalfsyncError
from calfsync.outputs import report as report_module
from calfsync.outputs.report import render, write_report
from calfsync.outputs.report_charts import climb_lines, weekly_chart
from calfsync.outputs.report_data import read_report
from calfsync.outputs.svg import Frame
from calfsync.store.alerts import insert_notice
from calfsync.store.db import open_db
from calfsync.store.gear import add_shoe
from calfsync.store.soreness import add_report
from calfsync.sync import evaluate_pending

EVIL = "<script>alert(1)</script>"
NOW = datetime.combine(DAY0 + timedelta(days=7 * 20), datetime.min.time(), UTC)  # week 21


def _history(tmp_path: Path):
    """Ten weeks of 28 km, a 17-day layoff, six weeks back, a 16 km long run named EVIL the
    day before NOW, a shoe and a soreness report whose names hold markup; alerts evaluated."""
    cfg = make_cfg(database={"path": str(tmp_path / "c.db")})
    db = open_db(tmp_path / "c.db")
    acts = weeks(10, 28.0) + weeks(6, 24.0, first_day=7 * 10 + 17)
    acts.append(run(7 * 20 - 1, 16.0, name=EVIL))
    store(db, acts)
    add_shoe(db, 'Trail "X" <b>bold</b> & co', acts[0].local_date, retire_km=400)
    add_report(db, acts[-1].local_date, 4, note=f"left calf {EVIL}")
    evaluate_pending(db, cfg, NOW, mode="history")
    return db, cfg


def test_the_runners_text_is_escaped_and_the_page_runs_nothing(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    page = render(read_report(db, cfg, NOW, 26))
    assert EVIL not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Trail &quot;X&quot; &lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<script" not in page.lower()  # no script of its own either
    # nothing is fetched: no external address but the SVG namespace, and a CSP forbidding it
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in page


def test_each_run_is_drawn_against_s1s_own_reference(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    data = read_report(db, cfg, NOW, 26)
    by_id = {r.id: r for r in data.runs}
    s1 = list(db.query("SELECT activity_id, \"values\" FROM alerts WHERE rule = 'S1'"))
    assert s1, "the history should raise S1"
    for alert in s1:
        values = json.loads(alert["values"])
        point = by_id[alert["activity_id"]]
        assert round(point.longest_m / 1000, 1) == values["longest_km"]
    # the first run back after the layoff has no reference: its streak starts with it
    back = next(r for r in data.runs if r.local_date >= run(7 * 10 + 17, 1).local_date)
    assert back.longest_m == 0
    # and the long run is compared with the 6 km runs of the new streak, not the old 7 km ones
    assert by_id[run(7 * 20 - 1, 16.0).id].longest_m == 6000


def test_every_alert_of_the_weeks_is_marked_once_and_explained_whole(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    page = render(read_report(db, cfg, NOW, 26))
    alerts = list(db.query("SELECT id, title, body FROM alerts ORDER BY id"))
    assert len(alerts) >= 3
    marked = re.findall(r'class="alert-mark[^"]*"[^>]*data-alert="(\d+)"', page)
    assert sorted(map(int, marked)) == [a["id"] for a in alerts]
    for alert in alerts:
        assert render_text(alert["body"]) in page  # the whole message, newlines and all
        assert f'id="alert-{alert["id"]}"' in page and f'href="#alert-{alert["id"]}"' in page
    # 8 weeks hold only the latest alerts; the others are counted and pointed to
    short = render(read_report(db, cfg, NOW, 4))
    shown = len(re.findall(r'class="alert-mark', short))
    older = int(re.search(r"(\d+) older alert\(s\)", short).group(1))
    assert shown + older == len(alerts) and older > 0


def test_the_digest_questions_and_notices_are_no_alerts_on_the_page(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    rule_alerts = [i for (i,) in db.execute("SELECT id FROM alerts ORDER BY id")]
    for n, (source, day) in enumerate(
        [("DIGEST", -1), ("SHOE", -1), ("STRAVA", -2), ("DIGEST", -150)]
    ):
        when = (NOW.date() + timedelta(days=day)).isoformat()
        insert_notice(db, source, f"{source}:{n}", when, f"{source} notice {n}", "not a finding")
    data = read_report(db, cfg, NOW, 26)
    assert [a.id for a in data.alerts] == rule_alerts  # a weekly digest is no dot on its week
    page = render(data)
    assert "notice" not in page and "not a finding" not in page
    assert data.older_alerts == 0  # the digest of 150 days ago is no older alert either


def render_text(body: str) -> str:
    from calfsync.outputs.svg import esc

    return esc(body)


def test_weeks_without_runs_are_drawn_and_the_soreness_log_listed(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    data = read_report(db, cfg, NOW, 52)
    assert len(data.weeks) == 52 and data.weeks[-1].start.weekday() == 0
    layoff = [w for w in data.weeks if w.start.isoformat() == "2025-03-24"]
    assert layoff and layoff[0].runs == 0 and layoff[0].distance_m == 0
    assert sum(w.distance_m for w in data.weeks) == sum(r.distance_m for r in data.runs)
    assert [(s.level, s.note) for s in data.soreness] == [(4, f"left calf {EVIL}")]
    (shoe,) = data.shoes
    assert shoe.retire_at_m == 400_000 and shoe.runs == len(data.runs) == 65
    assert shoe.distance_m == 440_000  # past its retirement: drawn full and in the alert colour
    assert 'class="fill worn"' in render(data)


def test_the_climb_line_drops_to_0_without_runs_and_breaks_where_unknown(tmp_path: Path) -> None:
    cfg = make_cfg(database={"path": str(tmp_path / "c.db")})
    db = open_db(tmp_path / "c.db")
    treadmill = weeks(1, 28.0, first_day=7 * 4, climb_per_run=None)  # week 4: climb unknown
    store(db, weeks(3, 28.0) + treadmill + weeks(1, 28.0, first_day=7 * 5))  # week 3: no runs
    now = datetime.combine(DAY0 + timedelta(days=7 * 6 + 2), datetime.min.time(), UTC)
    shown = read_report(db, cfg, now, 8).weeks  # weeks -1 … 6
    frame = Frame(640, 300, len(shown), 40, (48, 48, 34, 30))
    lines = climb_lines(shown, frame, 100)
    xs = [[round((x - frame.left) / frame.slot - 0.5) - 1 for x, _y in line] for line in lines]
    assert xs == [[0, 1, 2, 3], [5, 6]]  # from the first run; week 4 unknown: no bridge
    assert [y for _x, y in lines[0]] == [frame.y(80, 100)] * 3 + [frame.base]  # week 3: 0 m
    svg = weekly_chart(read_report(db, cfg, now, 8))
    assert svg.count('<polyline class="climb"') == 2
    assert f"<title>Week of {(DAY0 + timedelta(days=21)).isoformat()}: no runs</title>" in svg


def test_report_command_writes_the_page_where_asked(tmp_path: Path) -> None:
    db, _cfg = _history(tmp_path)
    db.close()
    out = tmp_path / "site"
    args = ["--db", str(tmp_path / "c.db"), "report", "--out", str(out), "--weeks", "52"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    page = out / "index.html"
    assert f"Report written to {page}" in result.output and page.as_uri() in result.output
    assert page.read_text().count("<title>Week of ") == 52
    assert [p.name for p in out.iterdir()] == ["index.html"]  # no temporary file left
    bad = CliRunner().invoke(cli, [*args[:-1], "3"])
    assert bad.exit_code == 2 and "--weeks" in bad.output


def test_a_missing_report_folder_is_an_error_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _history(tmp_path)[0].close()
    target = tmp_path / "no" / "such" / "index.html"
    config = tmp_path / "c.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "c.db"}"\n[report]\npath = "{target}"\n')
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "report"])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and f"the folder {target.parent} does not exist" in err
    assert "[report] path" in err and not (tmp_path / "no").exists()
    # the daemon's step records the same message for status; the other steps carry on
    cfg = validate({"database": {"path": str(tmp_path / "c.db")}, "report": {"path": str(target)}})
    db = open_db(cfg.db_path)
    nightly = sync.run_steps(db, cfg, NOW, sync.JOBS["nightly"])
    assert "nightly" in nightly.reports and "does not exist" in nightly.errors["report"]
    state = "SELECT value FROM state WHERE key = 'cycle.report.last_error'"
    assert "[report] path" in db.execute(state).fetchone()[0]


def test_a_report_path_that_is_a_folder_is_an_error_naming_the_fix(tmp_path: Path) -> None:
    db, cfg = _history(tmp_path)
    folder = tmp_path / "site"
    folder.mkdir()
    with pytest.raises(CalfsyncError, match=r"it is a folder\. Set \[report\] path") as err:
        write_report(db, cfg, NOW, folder)
    assert str(folder / "index.html") in str(err.value) and not list(folder.iterdir())


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.EROFS, "ReadWritePaths="),  # the systemd unit's ProtectSystem=strict
        (errno.EACCES, "writable by the user running calfsync"),
        (errno.ENOSPC, "is full"),
    ],
)
def test_a_folder_calfsync_may_not_write_is_an_error_naming_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, fix: str
) -> None:
    db, _cfg = _history(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    cfg = validate(
        {"database": {"path": str(tmp_path / "c.db")}, "report": {"path": str(site / "i.html")}}
    )

    def refuse(path: Path, _data: bytes) -> None:
        raise OSError(code, os.strerror(code), str(path.with_name(".i.html.1234.tmp")))

    monkeypatch.setattr(report_module, "atomic_write", refuse)
    nightly = sync.run_steps(db, cfg, NOW, sync.JOBS["nightly"])  # what the daemon logs
    message = nightly.errors["report"]
    assert message.startswith(f"cannot write the report page {site / 'i.html'}: ")
    assert fix in message and str(site) in message, message


def test_doctor_checks_the_report_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    site = tmp_path / "site"

    def doctor(report_path: Path) -> str:
        config.write_text(
            f'[database]\npath = "{tmp_path / "c.db"}"\n[report]\npath = "{report_path}"\n'
        )
        with pytest.raises(SystemExit):
            main(["--config", str(config), "doctor"])
        return capsys.readouterr().out

    out = doctor(site / "index.html")
    assert f"FAIL report: the folder {site} of [report] path does not exist" in out, out
    assert f"-m 2750 {site}" in out and not site.exists()
    site.mkdir()
    assert f"FAIL report: {site} is a folder" in doctor(site)
    assert f"ok   report: the daemon can write {site / 'index.html'}" in doctor(site / "index.html")


def _fit_config(tmp_path: Path, report_path: Path | None):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    raw = {
        "database": {"path": str(tmp_path / "c.db")},
        "fit": {"inbox": [str(inbox)]},
        "athlete": {"timezone": "Europe/Paris"},
    }
    if report_path is not None:
        raw["report"] = {"path": str(report_path)}
    return validate(raw), inbox


def test_the_daemon_rewrites_the_page_after_a_change_only(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    page = site / "index.html"
    cfg, inbox = _fit_config(tmp_path, page)
    db = open_db(cfg.db_path)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    (inbox / "a.fit").write_bytes(run_file(now - timedelta(days=1, hours=3), km=8.0))
    first = sync.run_steps(db, cfg, now, sync.JOBS["fit"])
    assert first.ok and "report" in first.reports, first.errors
    assert "8.0 km" in page.read_text()
    stamp = page.stat().st_mtime_ns, page.stat().st_ino
    idle = sync.run_steps(db, cfg, now + timedelta(minutes=1), sync.JOBS["fit"])
    assert "report" not in idle.reports and (page.stat().st_mtime_ns, page.stat().st_ino) == stamp
    (inbox / "b.fit").write_bytes(run_file(now - timedelta(hours=3), km=9.5))
    sync.run_steps(db, cfg, now + timedelta(minutes=2), sync.JOBS["fit"])
    assert "9.5 km" in page.read_text() and page.stat().st_ino != stamp[1]  # replaced whole
    nightly = sync.run_steps(db, cfg, now + timedelta(days=1), sync.JOBS["nightly"])
    assert "report" in nightly.reports  # the weeks move on even with nothing new
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]


def test_without_a_report_path_the_step_costs_nothing(tmp_path: Path) -> None:
    cfg, inbox = _fit_config(tmp_path, None)
    db = open_db(cfg.db_path)
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    (inbox / "a.fit").write_bytes(run_file(now - timedelta(hours=3), km=8.0))
    report = sync.run_cycle(db, cfg, now)
    assert report.ok and report.fit.imported == 1 and "report" not in report.reports
    assert (
        db.execute("SELECT COUNT(*) FROM state WHERE key LIKE 'cycle.report.%'").fetchone()[0] == 0
    )


def test_rules_and_sources_never_import_outputs() -> None:
    for module in MODULES:
        if module.startswith(("calfsync.rules", "calfsync.sources")):
            assert not {m for m in imports_of(module) if m.startswith("calfsync.outputs")}, module


def test_the_readme_report_snippet_is_a_valid_config() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## Report page", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```toml\n(.*?)```", section, re.S)
    cfg = validate(tomllib.loads(block))
    assert cfg.report.path == "/srv/calfsync-report/index.html" and cfg.report.weeks == 26


def test_a_fresh_database_gets_a_page_that_says_so(tmp_path: Path) -> None:
    cfg = make_cfg(database={"path": str(tmp_path / "c.db")})
    page = render(read_report(open_db(tmp_path / "c.db"), cfg, NOW, 26))
    assert "26 weeks from" in page and ": no runs; 0 alert(s)" in page
    assert "No runs in these weeks." in page and "No alerts in these weeks." in page
    assert "No shoes recorded." in page and "No soreness reported" in page


def test_the_page_is_read_while_the_daemon_writes_and_leaves_no_transaction(
    tmp_path: Path,
) -> None:
    db, cfg = _history(tmp_path)
    writer = sqlite3.connect(tmp_path / "c.db")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO soreness(local_date, level) VALUES ('2025-05-20', 9)")
    assert [s.level for s in read_report(db, cfg, NOW, 26).soreness] == [4]  # no wait
    assert not db.conn.in_transaction  # a later write of this connection is not held up
    writer.commit()
    assert [s.level for s in read_report(db, cfg, NOW, 26).soreness] == [9, 4]  # by date


def test_the_real_daemon_writes_the_page_when_a_run_lands(tmp_path: Path) -> None:
    from daemon_support import Daemon, daemon_config, drop_file, fit_run, wait_until, write_config

    site = tmp_path / "site"
    site.mkdir()
    page = site / "index.html"
    inbox = tmp_path / "inbox"
    extra = f'[report]\npath = "{page}"\nweeks = 8\n'
    config = write_config(tmp_path / "c.toml", daemon_config(tmp_path, inbox=inbox, extra=extra))
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("daemon started", timeout=30)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        drop_file(inbox, "run.fit", fit_run(start, 12.3))
        wait_until(lambda: page.exists() and "12.3 km" in page.read_text(), 30, "the page")
        assert page.read_text().count("<title>Week of ") == 8
    finally:
        assert daemon.stop() == 0, daemon.log()
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
