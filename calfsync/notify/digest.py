"""The weekly digest: one push a week with the week's load, the findings that waited for it and
the shoes near retirement (shared/RULES.md "Delivery classes").

Most findings are worth knowing but not worth an interruption (delivery class ``digest``): they
are stored with ``pushed = 'digest'`` and wait here. Once a week, at ``[notify] digest``
("mon 07:00", local time of ``[athlete] timezone``), :func:`run` composes one message:

- the last full week (Monday to Sunday, the week before the one the digest is sent in): run
  distance and climb from the ``weekly_load`` view (suspect runs are not in it), against the
  mean of the four weeks before (only weeks calfsync knows: none before the first activity);
- the findings that waited (``pushed = 'digest'``), as many as fit, the rest counted;
- shoes in use (a run in the last five weeks, not retired) at :data:`SHOE_NEAR_SHARE` or more
  of their retirement distance;
- the not-medical-advice line.

It is recorded as an alert row (rule ``DIGEST``, delivery 'now', episode key
``DIGEST:<ISO year>-W<week>`` of the week it is sent in) and enqueued in the same transaction
that moves the listed findings to ``pushed = 'in_digest'``: from there the outbox gives it the
guarantees of any push (sent once after success, retried until then, quiet hours defer it, the
daily cap counts it). The step runs with every delivery, so a daemon that was down at the
moment sends the digest when it is back, that same week; a week with nothing to say (no run,
no finding, no worn shoe) sends nothing and is not looked at again.

Composing (:func:`compose`) and the schedule (:func:`moment`) are pure; :func:`gather` reads
the database, :func:`run` records and enqueues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..config import parse_weekly
from ..rules.messages import DISCLAIMER, pct, short
from ..store import alerts as alert_store
from ..store.db import write_tx
from ..store.state import get_state, set_state
from . import outbox, policy

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config

SHOE_NEAR_SHARE = 0.9  # a shoe at 90% of its retirement distance is named
COMPARE_WEEKS = 4
MAX_SHOES = 3
DECIDED_KEY = "digest.week"  # the last week whose digest was sent or found to have nothing
MORE = "- and {n} more: `calfsync alerts`"


@dataclass(frozen=True)
class Shoe:
    """A shoe near its retirement distance."""

    name: str
    distance_km: float
    retire_km: float


@dataclass(frozen=True)
class DigestData:
    """What a digest is made of, read from the database (:func:`gather`) or built in a test.

    ``before_km``/``before_climb_m`` hold one value per known week among the four before
    (oldest first; fewer than four early in a history). Climb is None when unknown (indoor).
    ``findings`` are alert rows (id, rule, local_date, title) waiting for the digest.
    """

    week_start: date
    runs: int = 0
    distance_km: float = 0.0
    climb_m: float | None = None
    before_km: list[float] = field(default_factory=list)
    before_climb_m: list[float | None] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    shoes: list[Shoe] = field(default_factory=list)
    suspects: int = 0


@dataclass
class DigestReport:
    """What one run of the digest step did: ``queued`` 1 when this week's digest was recorded
    and enqueued, with ``listed`` findings in it."""

    queued: int = 0
    listed: int = 0

    def line(self) -> str:
        if not self.queued:
            return "no digest due"
        return f"weekly digest queued ({self.listed} finding(s))"


# --------------------------------------------------------------------------- the schedule


def moment(now: datetime, spec: str, tz: ZoneInfo) -> datetime | None:
    """This local week's digest moment (aware) for ``spec`` ("mon 07:00"), or None when "off".

    Weeks run Monday to Sunday, as ISO weeks and the ``weekly_load`` view do."""
    parsed = parse_weekly(spec, "[notify] digest")
    if parsed is None:
        return None
    weekday, hour, minute = parsed
    today = now.astimezone(tz).date()
    day = today - timedelta(days=today.weekday()) + timedelta(days=weekday)
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def week_key(day: date) -> str:
    """The digest's episode key for the ISO week of ``day``: ``DIGEST:2026-W24``."""
    year, week, _ = day.isocalendar()
    return f"{policy.DIGEST_RULE}:{year}-W{week:02d}"


def reported_week(today: date) -> date:
    """Monday of the week a digest sent on ``today`` reports: the last full week."""
    return today - timedelta(days=today.weekday() + 7)


# --------------------------------------------------------------------------- composing


def compose(data: DigestData, limit: int = policy.MAX_PUSH_CHARS) -> tuple[str, str] | None:
    """(title, body) of the digest, together under ``limit`` characters, or None when it has
    nothing to say (no run in the week, no finding waiting, no shoe to name)."""
    if not data.runs and not data.findings and not data.shoes:
        return None
    end = data.week_start + timedelta(days=6)
    span = f"{data.week_start:%a %d %b} - {end:%a %d %b}"
    if data.runs:
        title = f"Your week: {data.distance_km:.1f} km, {_climb(data.climb_m)}"
    else:
        title = f"Your week: {len(data.findings) + len(data.shoes)} thing(s) to know"
    head = [f"{span}: {_load_line(data)}"]
    if data.suspects:
        head.append(
            f"{data.suspects} activity(ies) of that week look wrong and are not counted: "
            "`calfsync activity list --suspect` to confirm or correct them."
        )
    tail = _shoe_lines(data.shoes) + ["", DISCLAIMER]
    room = limit - len(title) - len("\n".join(head + tail)) - 2
    body = "\n".join(head + _finding_lines(data.findings, room) + tail)
    return title, body


def _climb(climb_m: float | None) -> str:
    return "climb unknown" if climb_m is None else f"{climb_m:.0f} m of climb"


def _load_line(data: DigestData) -> str:
    """The week against the known weeks of the four before."""
    if data.runs:
        week = f"{data.distance_km:.1f} km in {data.runs} run(s), {_climb(data.climb_m)}."
    else:
        week = "no runs."
    known = len(data.before_km)
    if not known:
        return f"{week} No earlier week to compare with yet."
    mean_km = sum(data.before_km) / known
    climbs = [c for c in data.before_climb_m if c is not None]
    mean_climb = sum(climbs) / len(climbs) if climbs else None
    which = "the four weeks before" if known == COMPARE_WEEKS else f"the {known} week(s) before"
    text = f"{week} {which.capitalize()}: {mean_km:.1f} km and {_climb(mean_climb)} a week"
    changes = []
    if data.runs and mean_km > 0:
        changes.append(f"distance {pct(data.distance_km / mean_km - 1)}")
    if data.runs and data.climb_m is not None and mean_climb:
        changes.append(f"climb {pct(data.climb_m / mean_climb - 1)}")
    return f"{text}" + (f" (that week: {', '.join(changes)})." if changes else ".")


def _finding_lines(findings: list[dict[str, Any]], room: int) -> list[str]:
    """The findings, as many as fit in ``room`` characters, the rest counted."""
    if not findings:
        return []
    lines = ["", f"Findings that did not need a push at once ({len(findings)}):"]
    used = sum(len(line) + 1 for line in lines)
    for i, f in enumerate(findings):
        line = f"- {f['local_date']}: {short(f['title'], 110)}"
        left = len(findings) - i - 1
        reserve = len(MORE.format(n=left)) + 1 if left else 0
        if used + len(line) + 1 + reserve > room:
            return [*lines, MORE.format(n=len(findings) - i)]
        lines.append(line)
        used += len(line) + 1
    return lines


def _shoe_lines(shoes: list[Shoe]) -> list[str]:
    if not shoes:
        return []
    lines = ["", f"Shoes at {SHOE_NEAR_SHARE:.0%} or more of their retirement distance:"]
    for shoe in shoes[:MAX_SHOES]:
        share = shoe.distance_km / shoe.retire_km
        lines.append(
            f"- {short(shoe.name, 40)}: {shoe.distance_km:.0f} of {shoe.retire_km:.0f} km "
            f"({share:.0%})"
        )
    if len(shoes) > MAX_SHOES:
        lines.append(f"- and {len(shoes) - MAX_SHOES} more: `calfsync shoes`")
    return lines


# --------------------------------------------------------------------------- the database


def gather(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DigestData:
    """The digest's data for a digest sent at ``now``: the week before the current local one."""
    monday = reported_week(now.astimezone(cfg.timezone).date())
    first = _first_counted_day(db)
    weeks = {
        r["week_start"]: r
        for r in db.query(
            "SELECT week_start, runs, distance_m, ascent_m FROM weekly_load "
            "WHERE week_start BETWEEN ? AND ?",
            [(monday - timedelta(weeks=COMPARE_WEEKS)).isoformat(), monday.isoformat()],
        )
    }
    before_km: list[float] = []
    before_climb: list[float | None] = []
    for back in range(COMPARE_WEEKS, 0, -1):
        start = monday - timedelta(weeks=back)
        if first is None or start + timedelta(days=6) < first:
            continue  # before the first activity: unknown, not zero
        row = weeks.get(start.isoformat())
        before_km.append((row["distance_m"] or 0.0) / 1000.0 if row else 0.0)
        before_climb.append(row["ascent_m"] if row else 0.0)
    week = weeks.get(monday.isoformat())
    return DigestData(
        week_start=monday,
        runs=week["runs"] if week else 0,
        distance_km=(week["distance_m"] or 0.0) / 1000.0 if week else 0.0,
        climb_m=week["ascent_m"] if week else None,
        before_km=before_km,
        before_climb_m=before_climb,
        findings=list(
            db.query(
                "SELECT id, rule, local_date, title FROM alerts WHERE pushed = 'digest' "
                "ORDER BY local_date, id"
            )
        ),
        shoes=_worn_shoes(db, cfg, monday),
        suspects=_suspects_in(db, monday),
    )


def _first_counted_day(db: sqlite_utils.Database) -> date | None:
    """The first activity calfsync holds (of any sport, suspect ones left out)."""
    first = db.execute(
        "SELECT MIN(local_date) FROM activities WHERE deleted = 0 "
        "AND (suspect IS NULL OR suspect_confirmed = 1)"
    ).fetchone()[0]
    return date.fromisoformat(first) if first else None


def _worn_shoes(db: sqlite_utils.Database, cfg: Config, monday: date) -> list[Shoe]:
    """Shoes in use (a run since the start of the weeks compared, not retired) at
    :data:`SHOE_NEAR_SHARE` or more of their retirement distance, most worn first."""
    default_m = float(cfg.rule("SW1")["retire_km"]) * 1000.0
    since = (monday - timedelta(weeks=COMPARE_WEEKS)).isoformat()
    shoes = []
    for r in db.query(
        "SELECT name, run_distance_m, reported_distance_m, retire_at_m FROM shoe_mileage "
        "WHERE retired = 0 AND last_run >= ?",
        [since],
    ):
        total_m = max(r["run_distance_m"] or 0.0, r["reported_distance_m"] or 0.0)
        limit_m = r["retire_at_m"] or default_m
        if total_m >= SHOE_NEAR_SHARE * limit_m:
            shoes.append(Shoe(r["name"], total_m / 1000.0, limit_m / 1000.0))
    return sorted(shoes, key=lambda s: -s.distance_km / s.retire_km)


def _suspects_in(db: sqlite_utils.Database, monday: date) -> int:
    """Unconfirmed suspect activities of the week: the runner may want to look at them."""
    row = db.execute(
        "SELECT COUNT(*) FROM activities WHERE deleted = 0 AND suspect IS NOT NULL "
        "AND suspect_confirmed = 0 AND local_date BETWEEN ? AND ?",
        [monday.isoformat(), (monday + timedelta(days=6)).isoformat()],
    ).fetchone()
    return int(row[0])


def run(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DigestReport:
    """The digest step: once this week's moment has passed and this week's digest was neither
    sent nor found empty, record it, enqueue it and move its findings to 'in_digest', all in
    one transaction. Idempotent; safe with two processes at once (the episode key is unique
    and the check runs under the write lock)."""
    due = moment(now, cfg.notify.digest, cfg.timezone)
    if due is None or now < due:
        return DigestReport()
    today = now.astimezone(cfg.timezone).date()
    key = week_key(today)
    if get_state(db, DECIDED_KEY) == key:  # cheap check first: this runs every minute
        return DigestReport()
    with write_tx(db):
        if get_state(db, DECIDED_KEY) == key:
            return DigestReport()
        set_state(db, DECIDED_KEY, key)
        data = gather(db, cfg, now)
        text = compose(data)
        if text is None:
            return DigestReport()
        listed = [f["id"] for f in data.findings]
        values = {
            "week_start": data.week_start.isoformat(),
            "distance_km": round(data.distance_km, 2),
            "climb_m": data.climb_m,
            "before_km": [round(km, 2) for km in data.before_km],
            "alert_ids": listed,
            "shoes": [s.name for s in data.shoes],
        }
        alert_id = alert_store.insert_digest(
            db, policy.DIGEST_RULE, key, today.isoformat(), *text, json.dumps(values), listed
        )
        if not alert_id:  # recorded already (a state row lost to an older version)
            return DigestReport()
        outbox.enqueue(db, cfg, [alert_id], now)
    return DigestReport(queued=1, listed=len(listed))


def preview(db: sqlite_utils.Database, cfg: Config, now: datetime) -> tuple[str, str] | None:
    """The digest a send at ``now`` would push, recorded nowhere (the demo shows it)."""
    return compose(gather(db, cfg, now))
