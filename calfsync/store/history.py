"""Read the history the rules judge: the runs that count, shoes and the soreness log.

A run counts when it is not deleted and plausible, or suspect and confirmed by the runner
(RULES.md "Plausible"). The days of the unconfirmed suspect runs are read too: a window rule
cannot judge a window holding one (its load is unknown). The first activity held (any sport,
not suspect) bounds what calfsync knows (RULES.md "Known history").

A reader: it writes nothing. The rules themselves (:mod:`calfsync.rules`) never touch the
database; this module turns rows into their :class:`~calfsync.rules.history.History`.
"""

from __future__ import annotations

import json

import sqlite_utils

from ..config import Config
from ..rules.engine import Ledger
from ..rules.history import FIXED, MIN_REFERENCE_M, History, Past, Run, Shoe, date_of, day_of
from ..rules.registry import RULES
from .alerts import load_ledger
from .views import counted

RUN_COLUMNS = (
    "id, start_time, local_date, sub_sport, distance_m, ascent_m, indoor, gear_id, name, "
    "workout_type, interval_time_s, hr_histogram, laps, moving_time_s"
)


def load_history(db: sqlite_utils.Database, cfg: Config, since: int | None = None) -> History:
    """The runs that count, shoes and the soreness log, as the rules read them.

    ``since`` (a day) reads a window: the runs, suspect days and soreness reports from that day
    on, and what the rules need of the runs before it as a few indexed queries
    (:func:`past_of`), so the cost follows the window, not the years held. A ``since`` on or
    before everything held reads the whole history. Heart-rate histograms are read only when a
    max heart rate is configured, laps only when WU is enabled: nothing else reads them.
    """
    max_hr = cfg.athlete.max_heart_rate
    params = cfg.rules
    want_laps = bool(params.get("WU", {}).get("enabled"))
    gap_days = int(params["RET1"]["gap_days"])
    if since is not None and since <= _earliest(db):
        since = None
    lo = date_of(since) if since is not None else ""
    runs = _runs(db, max_hr, want_laps, lo)
    return History(
        runs=runs,
        shoes=_shoes(db),
        soreness_log=[
            (day_of(local_date), level)
            for local_date, level in db.execute(
                "SELECT local_date, level FROM soreness WHERE local_date >= ? "
                "ORDER BY created_at, id",
                [lo],
            )
        ],
        gap_days=gap_days,
        max_heart_rate=max_hr,
        first_day=_first_day(db),
        suspect_days=[
            day_of(local_date)
            for (local_date,) in db.execute(
                "SELECT local_date FROM activities WHERE sport = 'running' AND deleted = 0 "
                "AND suspect IS NOT NULL AND suspect_confirmed = 0 AND local_date >= ?",
                [lo],
            )
        ],
        past=None if since is None else past_of(db, since, gap_days, runs),
    )


def load_window(db: sqlite_utils.Database, cfg: Config, since: int) -> tuple[History, Ledger]:
    """The history from day ``since`` on (:func:`load_history`) and the ledger of the alerts it
    can meet (:func:`window_ledger`): what :func:`calfsync.rules.engine.judge_from` loads."""
    history = load_history(db, cfg, since)
    if history.past is None or len(history.runs) > WHOLE_LEDGER_RUNS:
        return history, load_ledger(db)  # every alert: as exact, and as cheap for a long window
    return history, window_ledger(db, since, [r.id for r in history.runs])


WHOLE_LEDGER_RUNS = 2000  # a window this long reads every alert (and binds no run-id list)


def window_ledger(db: sqlite_utils.Database, since: int, run_ids: list[str]) -> Ledger:
    """The stored alerts that judging the days from ``since`` + the rules' reach can meet: those
    dated from ``since`` on (cooldowns, window and return keys), each rule's latest before it
    (re-arm), every shoe's (G1, G2, SW1 are keyed per shoe) and those of the window's runs
    (per-run keys, wherever their date). A P1 episode older than ``since`` makes the history
    read before it, so the engine loads again from earlier."""
    lo = date_of(since)
    marks = ", ".join("?" * len(run_ids))
    rows = db.execute(
        "SELECT rule, episode_key, local_date, severity FROM alerts "
        f"WHERE local_date >= ? OR rule IN ('G1', 'G2', 'SW1') OR activity_id IN ({marks})",
        [lo, *run_ids],
    ).fetchall()
    for rule in (r.id for r in RULES.values() if r.fallen_back is not None):
        rows += db.execute(
            "SELECT rule, episode_key, local_date, severity FROM alerts "
            "WHERE rule = ? AND local_date < ? ORDER BY local_date DESC LIMIT 1",
            [rule, lo],
        ).fetchall()
    ledger = Ledger()
    for rule, key, local_date, severity in rows:
        ledger.record(rule, key, day_of(local_date), severity)
    return ledger


def _earliest(db: sqlite_utils.Database) -> int:
    """The first day of anything a window could leave out: activities and soreness reports."""
    found = [
        d
        for (d,) in db.execute(
            "SELECT MIN(local_date) FROM activities UNION ALL SELECT MIN(local_date) FROM soreness"
        )
        if d
    ]
    return day_of(min(found)) if found else 0


STREAK_SCAN_DAYS = 120  # how far before a window a layoff is looked for (else: "earlier")


def past_of(db: sqlite_utils.Database, since: int, gap_days: int, runs: list[Run]) -> Past:
    """What the rules need of the runs before day ``since`` (:class:`Past`), by queries the
    ``local_date`` index serves: whether any run came before, the last reference run and the
    streak in force (a layoff of ``gap_days`` looked for over :data:`STREAK_SCAN_DAYS`), the
    first reference run, and each window shoe's runs and metres before."""
    lo = date_of(since)
    ref = f"{counted()} AND distance_m >= {MIN_REFERENCE_M!r} AND local_date < ?"
    any_run = db.execute(
        f"SELECT 1 FROM activities WHERE {counted()} AND local_date < ? LIMIT 1", [lo]
    ).fetchone()
    prev_ref = later = None
    exact = True
    days = db.execute(  # distinct days: the loop stops by the 121st, past the scan
        f"SELECT DISTINCT local_date FROM activities WHERE {ref} "
        f"ORDER BY local_date DESC LIMIT {STREAK_SCAN_DAYS + 2}",
        [lo],
    ).fetchall()
    for (text,) in days:
        d = day_of(text)
        if later is None:
            prev_ref = d
        elif later - d >= gap_days:
            break  # the streak in force began on ``later``, after this layoff
        later = d
        if d < since - STREAK_SCAN_DAYS:
            exact = False  # no layoff that far back: the streak began on ``later`` or before
            break
    first = db.execute(
        f"SELECT local_date FROM activities WHERE {ref} ORDER BY local_date LIMIT 1", [lo]
    ).fetchone()
    if first and day_of(first[0]) == later:
        exact = True  # the streak in force is the first one
    shoes = sorted({r.gear_id for r in runs if r.gear_id})
    totals = db.execute(
        f"SELECT gear_id, COUNT(*), SUM(CAST(distance_m * {float(FIXED)!r} AS INTEGER)) "
        "FROM activities "
        f"WHERE {counted()} AND local_date < ? AND gear_id IN ({', '.join('?' * len(shoes))}) "
        "GROUP BY gear_id",
        [lo, *shoes],
    ).fetchall()
    return Past(
        lo=since,
        any_run=any_run is not None,
        prev_ref_day=prev_ref,
        streak_start=later,
        streak_exact=exact,
        first_streak=day_of(first[0]) if first else None,
        shoe_runs={gid: n for gid, n, _m in totals},
        shoe_fixed={gid: m or 0 for gid, _n, m in totals},
    )


def _first_day(db: sqlite_utils.Database) -> int | None:
    """The day of the first activity held, of any sport, not deleted and not suspect (only
    runs are judged; a confirmed suspect run counts)."""
    first = db.execute(
        "SELECT local_date FROM activities WHERE deleted = 0 "
        "AND (suspect IS NULL OR suspect_confirmed = 1) ORDER BY local_date LIMIT 1"
    ).fetchone()
    return day_of(first[0]) if first else None


def _runs(db: sqlite_utils.Database, max_hr: int | None, want_laps: bool, lo: str) -> list[Run]:
    runs = []
    cursor = db.execute(
        f"SELECT {RUN_COLUMNS} FROM activities WHERE {counted()} AND local_date >= ?", [lo]
    )
    for (
        aid, start, local_date, sub_sport, dist, ascent, indoor, gear_id, name,
        workout_type, interval_s, hist, laps, moving_s,
    ) in cursor:  # fmt: skip
        runs.append(
            Run(
                id=aid,
                start_time=start,
                local_date=local_date,
                distance_m=dist or 0.0,
                climb_m=ascent,
                indoor=bool(indoor),
                gear_id=gear_id,
                name=name,
                sub_sport=sub_sport,
                workout_type=workout_type,
                interval_time_s=interval_s,
                hr_json=hist if max_hr else None,
                laps=json.loads(laps) if laps and want_laps else None,
                moving_time_s=moving_s,
            )
        )
    return runs


def _shoes(db: sqlite_utils.Database) -> dict[str, Shoe]:
    return {
        r["id"]: Shoe(
            id=r["id"],
            name=r["name"],
            drop_mm=r["drop_mm"],
            minimalist=bool(r["minimalist"]),
            retire_at_m=r["retire_at_m"],
            reported_m=r["distance_m"],
        )
        for r in db.query("SELECT id, name, drop_mm, minimalist, retire_at_m, distance_m FROM gear")
    }
