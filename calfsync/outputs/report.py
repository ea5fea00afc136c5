"""The report page: one static HTML file (inline SVG and CSS, no script, no fetch).

``calfsync report`` writes it on demand; with ``[report] path`` set, the sync cycle's ``report``
step rewrites it after a cycle that stored something new (and nightly, as the weeks move on).
The page works from ``file://`` and behind any static web server: its Content-Security-Policy
forbids every fetch and every script, so a name holding ``<script>`` could not run even if it
slipped past the escaping (and the browser would say so in its console, which the tests read).

Written atomically: a temporary file in the same folder, then ``os.replace``, so a web server
never serves half a page.
"""

from __future__ import annotations

import errno
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from ..config import Config
from ..errors import CalfsyncError
from .report_charts import (
    alert_label,
    is_over,
    runs_chart,
    shoes_bars,
    soreness_chart,
    weekly_chart,
)
from .report_data import ReportData, read_report
from .report_style import CSS
from .svg import esc

if TYPE_CHECKING:
    from ..sync import CycleReport

POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"
PAGE_NAME = "index.html"


@dataclass
class ReportWritten:
    """What the ``report`` step did: the pages written (0 or 1) and where."""

    pages: int = 0
    path: str = ""

    def line(self) -> str:
        return f"report page written to {self.path}" if self.pages else "report page unchanged"


def write_report(
    db: sqlite_utils.Database, cfg: Config, now: datetime, path: Path, weeks: int | None = None
) -> Path:
    """Write the page for ``now`` to ``path`` atomically; returns ``path``. Its folder must
    exist: a missing one is an error naming the fix (a typo in ``[report] path`` must not
    create folders somewhere)."""
    html = render(read_report(db, cfg, now, weeks or cfg.report.weeks))
    folder = path.parent
    if path.is_dir():
        raise CalfsyncError(
            f"cannot write the report page {path}: it is a folder. Set [report] path to a "
            f"file name in it, such as {path / PAGE_NAME}."
        )
    if not folder.is_dir():
        raise CalfsyncError(
            f"cannot write the report page {path}: the folder {folder} does not exist. "
            "Create it (writable by the user running calfsync), or change [report] path."
        )
    try:
        atomic_write(path, html.encode("utf-8"))
    except OSError as exc:
        raise CalfsyncError(unwritable(path, exc)) from exc
    return path


def unwritable(path: Path, exc: OSError) -> str:
    """Why the page could not be written to ``path``, and the fix (README "Report page")."""
    folder = path.parent
    why = f"cannot write the report page {path}: {exc.strerror or exc}."
    if exc.errno == errno.EROFS:
        return (
            f"{why} Under the systemd unit (ProtectSystem=strict) the daemon writes only where "
            f"it is allowed: `sudo systemctl edit calfsync`, add [Service] "
            f"ReadWritePaths={folder}, and restart it; or change [report] path."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            f'{why} Make {folder} writable by the user running calfsync (README "Report page": '
            f"sudo install -d -o calfsync -g www-data -m 2750 {folder}), or change [report] path."
        )
    if exc.errno == errno.ENOSPC:
        return f"{why} The disk holding {folder} is full: free some space."
    return f"{why} Check [report] path and its folder {folder}."


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one step: a temporary file in the same folder (same
    file system), synced, then renamed over it. The file gets the process's umask like any
    new file, so a web server in the group reads it as it read the one before."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def wanted(cfg: Config) -> bool:
    """Whether the sync cycle writes the page at all: only with ``[report] path`` set."""
    return bool(cfg.report.path)


# Steps whose report says nothing about what the page shows: the digest only queues a push,
# and a flush retrying a push repeats every minute while a channel is down.
NOT_SHOWN = frozenset({"digest", "deliver", "report"})


def due(cycle: CycleReport) -> bool:
    """Whether the steps of a plan so far changed what the page shows, decided from their
    reports alone (no query): a step that stored something (the sync runner's own idle test,
    on the steps that store), a push sent or given up (its state is on the page), or the
    nightly run (the weeks move on, and a page never written yet appears within a day)."""
    storing = type(cycle)()
    for name, step_report in cycle.reports.items():
        if name not in NOT_SHOWN:
            storing.add(name, step_report)
    pushed = cycle.delivery is not None and bool(cycle.delivery.sent or cycle.delivery.dead)
    return "nightly" in cycle.reports or not storing.idle or pushed


def update(db: sqlite_utils.Database, cfg: Config, now: datetime) -> ReportWritten:
    """The sync step: rewrite ``[report] path`` (the plans run it only after a cycle that
    stored something, and nightly)."""
    if not cfg.report.path:
        return ReportWritten()
    path = write_report(db, cfg, now, Path(cfg.report.path))
    return ReportWritten(1, str(path))


# --------------------------------------------------------------------------- the page


def render(data: ReportData) -> str:
    """The whole page for ``data``; every piece of the runner's text escaped."""
    written = data.now.strftime("%Y-%m-%d %H:%M")
    span = f"{data.first_day.isoformat()} to {data.last_day.isoformat()}"
    sections = [
        _weeks_section(data),
        _runs_section(data),
        _shoes_section(data),
        _soreness_section(data),
        _alerts_section(data),
    ]
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>calfsync: your running load, {esc(span)}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<header>\n"
        "<h1>Your running load</h1>\n"
        f'<p class="muted">{len(data.weeks)} weeks, {esc(span)} ({esc(data.timezone)}). '
        f"Written by calfsync on {esc(written)}.</p>\n"
        '<nav><a href="#weeks">Weeks</a> <a href="#runs">Runs</a> <a href="#shoes">Shoes</a> '
        '<a href="#soreness">Soreness</a> <a href="#alerts">Alerts</a></nav>\n</header>\n<main>\n'
        + "\n".join(sections)
        + '\n</main>\n<footer class="muted"><p>Not medical advice. Pain that lasts more than a '
        "week with rest: see a sports physiotherapist.</p></footer>\n</body>\n</html>\n"
    )


def _table(head: list[str], rows: list[list[str]], caption: str) -> str:
    """A table of already-escaped cells inside a scrolling box (wide tables on a phone)."""
    th = "".join(f'<th scope="col">{h}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (
        f'<div class="scroll"><table><caption>{caption}</caption><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _details(summary: str, inner: str) -> str:
    return f"<details><summary>{summary}</summary>{inner}</details>"


def _weeks_section(data: ReportData) -> str:
    marked = [
        f'<li><a href="#alert-{a.id}">{esc(alert_label(a))}</a> '
        f'<span class="muted">(week of {w.start.isoformat()})</span></li>'
        for w in data.weeks
        for a in w.alerts
    ]
    older = (
        f'<p class="muted">{data.older_alerts} older alert(s) before these weeks: '
        "<code>calfsync alerts</code> lists them.</p>"
        if data.older_alerts
        else ""
    )
    rows = [
        [
            w.start.isoformat(),
            str(w.runs),
            f"{w.distance_m / 1000:.1f}",
            "" if w.ascent_m is None else f"{w.ascent_m:.0f}",
            esc(", ".join(a.rule for a in w.alerts)),
        ]
        for w in reversed(data.weeks)
    ]
    return (
        '<section id="weeks"><h2>Weekly distance and climb</h2>\n'
        '<p class="legend"><span class="key bar"></span> distance (km, left) '
        '<span class="key climb"></span> climb (m, right) '
        '<span class="key alert"></span> an alert (hover or tap for its title)</p>\n'
        + weekly_chart(data)
        + "\n<h3>Alerts marked on the chart</h3>\n"
        + (
            f'<ul class="marked">{"".join(marked)}</ul>'
            if marked
            else "<p>None in these weeks.</p>"
        )
        + older
        + _details(
            "The weeks as a table",
            _table(
                ["week of", "runs", "km", "climb m", "alerts"],
                rows,
                "Weekly distance and climb, newest first",
            ),
        )
        + "</section>"
    )


def _runs_section(data: ReportData) -> str:
    intro = (
        f"<p>Each bar is a run; the tick across it is the longest run of the {data.lookback_days} "
        "days before it (runs of 1 km or more in the same streak: what rule S1 compares with). "
        f'<span class="key over"></span> a run more than {data.threshold * 100:.0f}% past it.</p>'
    )
    if not data.runs:
        return (
            '<section id="runs"><h2>Runs against their recent longest</h2>'
            f"{intro}<p>No runs in these weeks.</p></section>"
        )
    rows = [
        [
            r.local_date,
            esc(r.name or ""),
            f"{r.distance_m / 1000:.1f}",
            f"{r.longest_m / 1000:.1f}" if r.longest_m > 0 else "",
            (f"{(r.distance_m / r.longest_m - 1) * 100:+.0f}%" if r.longest_m > 0 else "")
            + (" past" if is_over(r, data.threshold) else ""),
        ]
        for r in reversed(data.runs)
    ]
    return (
        f'<section id="runs"><h2>Runs against their recent longest</h2>\n{intro}\n'
        + runs_chart(data)
        + _details(
            "The runs as a table",
            _table(
                ["date", "name", "km", f"longest of {data.lookback_days} days before, km", "rise"],
                rows,
                "Each run against its recent longest, newest first",
            ),
        )
        + "</section>"
    )


def _shoes_section(data: ReportData) -> str:
    if not data.shoes:
        inner = (
            "<p>No shoes recorded. <code>calfsync shoes add NAME --from YYYY-MM-DD</code> "
            "adds one.</p>"
        )
    else:
        inner = shoes_bars(data.shoes)
    return (
        f'<section id="shoes"><h2>Shoes against their retirement distance</h2>\n{inner}</section>'
    )


def _soreness_section(data: ReportData) -> str:
    if not data.soreness:
        return (
            '<section id="soreness"><h2>Soreness log</h2>\n<p>No soreness reported in these '
            "weeks. <code>calfsync sore LEVEL</code> (0 none to 10) records one, or answer the "
            "push on your phone.</p></section>"
        )
    rows = [
        [s.local_date, str(s.level), esc(s.note or ""), esc(s.source)]
        for s in reversed(data.soreness)
    ]
    return (
        '<section id="soreness"><h2>Soreness log</h2>\n'
        + soreness_chart(data)
        + _table(["date", "level (0-10)", "note", "from"], rows, "Soreness reports, newest first")
        + "</section>"
    )


def _alerts_section(data: ReportData) -> str:
    if not data.alerts:
        return '<section id="alerts"><h2>Alerts</h2>\n<p>No alerts in these weeks.</p></section>'
    articles = [
        f'<article class="alert" id="alert-{a.id}"><h3>{esc(alert_label(a))}</h3>'
        f'<p class="muted">Rule {esc(a.rule)}, {esc(a.severity)}; push: {esc(a.pushed)}</p>'
        f'<p class="body">{esc(a.body)}</p></article>'
        for a in reversed(data.alerts)
    ]
    return (
        f'<section id="alerts"><h2>Alerts ({len(data.alerts)})</h2>\n'
        "<p>Newest first, each with the whole message calfsync pushed or kept.</p>\n"
        + "\n".join(articles)
        + "</section>"
    )
