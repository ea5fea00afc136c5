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
from ..rules.history import History, Run, Shoe, day_of
from .views import counted

RUN_COLUMNS = (
    "id, start_time, local_date, sub_sport, distance_m, ascent_m, indoor, gear_id, name, "
    "workout_type, interval_time_s, hr_histogram, laps, moving_time_s"
)


def load_history(db: sqlite_utils.Database, cfg: Config) -> History:
    """The runs that count, shoes and the soreness log, as the rules read them.

    Heart-rate histograms are read only when a max heart rate is configured, laps only when
    WU is enabled: nothing else reads them.
    """
    max_hr = cfg.athlete.max_heart_rate
    params = cfg.rules
    want_laps = bool(params.get("WU", {}).get("enabled"))
    return History(
        runs=_runs(db, max_hr, want_laps),
        shoes=_shoes(db),
        soreness_log=[
            (day_of(local_date), level)
            for local_date, level in db.execute(
                "SELECT local_date, level FROM soreness ORDER BY created_at, id"
            )
        ],
        gap_days=int(params["RET1"]["gap_days"]),
        max_heart_rate=max_hr,
        first_day=_first_day(db),
        suspect_days=[
            day_of(local_date)
            for (local_date,) in db.execute(
                "SELECT local_date FROM activities WHERE sport = 'running' AND deleted = 0 "
                "AND suspect IS NOT NULL AND suspect_confirmed = 0"
            )
        ],
    )


def _first_day(db: sqlite_utils.Database) -> int | None:
    """The day of the first activity held, of any sport, not deleted and not suspect (only
    runs are judged; a confirmed suspect run counts)."""
    (first,) = db.execute(
        "SELECT MIN(local_date) FROM activities WHERE deleted = 0 "
        "AND (suspect IS NULL OR suspect_confirmed = 1)"
    ).fetchone()
    return day_of(first) if first else None


def _runs(db: sqlite_utils.Database, max_hr: int | None, want_laps: bool) -> list[Run]:
    runs = []
    cursor = db.execute(f"SELECT {RUN_COLUMNS} FROM activities WHERE {counted()}")
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
                hr_histogram=(
                    {int(k): v for k, v in json.loads(hist).items()} if hist and max_hr else None
                ),
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
