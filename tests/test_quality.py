"""Plausibility (RULES.md "Plausible"): each reason a run is suspect, judged at the caller's now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from calfsync.model import Activity
from calfsync.quality import row_suspect_reason, suspect_reason

NOW = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 5, 1, 6, 0, tzinfo=UTC)


def act(
    distance_km: float = 10.0,
    moving_s: float | None = 3000.0,
    *,
    start: datetime = T0,
    climb_m: float | None = 80.0,
    sport: str = "running",
    sub_sport: str | None = "road",
) -> Activity:
    return Activity(
        id="fit:1",
        source="fit",
        start_time=start,
        utc_offset_s=0,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=distance_km * 1000.0,
        moving_time_s=moving_s,
        elapsed_time_s=moving_s,
        ascent_m=climb_m,
    )


def test_a_plain_run_is_plausible() -> None:
    assert suspect_reason(act(), NOW) is None


@pytest.mark.parametrize(
    ("record", "words"),
    [
        # 51.75 km at 2:40/km (issue 10): a ride saved as a run
        (act(51.75, 51.75 * 160), "average speed 6.2 m/s over 51.8 km: a ride or a drive"),
        (act(5.0, 1800, climb_m=8039), "8039 m of climb over 5.00 km, more than 600 m per km"),
        (act(start=datetime(2099, 1, 1, tzinfo=UTC)), "starts on 2099-01-01, more than a day"),
        (act(start=datetime(1999, 12, 31, tzinfo=UTC)), "before 2000"),
        (act(12.0, 25 * 3600.0), "25.0 h of moving time, more than 24 hours"),
        (act(301.0, 23 * 3600.0), "301.0 km, more than 300 km"),
        (act(5.0, 0.0), "no moving time"),
        (act(5.0, None), "no moving time"),
    ],
)
def test_each_reason_is_said_in_words(record: Activity, words: str) -> None:
    reason = suspect_reason(record, NOW)
    assert reason is not None and words in reason


def test_just_inside_every_limit_is_plausible() -> None:
    assert suspect_reason(act(3.0, 500.0), NOW) is None  # exactly 6.0 m/s: not above
    assert suspect_reason(act(2.9, 400.0), NOW) is None  # 7.3 m/s but under 3 km: a sprint
    assert suspect_reason(act(1.0, 600.0, climb_m=600.0), NOW) is None  # exactly 600 m per km
    assert suspect_reason(act(start=NOW + timedelta(hours=23)), NOW) is None  # within a day
    assert suspect_reason(act(start=datetime(2000, 1, 1, 8, tzinfo=UTC)), NOW) is None
    assert suspect_reason(act(300.0, 24 * 3600.0), NOW) is None


def test_future_is_judged_at_the_callers_now() -> None:
    record = act(start=datetime(2030, 1, 1, tzinfo=UTC))
    assert suspect_reason(record, NOW) is not None
    assert suspect_reason(record, datetime(2030, 1, 1, 12, tzinfo=UTC)) is None


def test_only_runs_are_judged_and_indoor_climb_is_never_judged() -> None:
    assert suspect_reason(act(51.75, 51.75 * 160, sport="cycling"), NOW) is None
    treadmill = act(5.0, 1800, climb_m=8039, sub_sport="treadmill")
    assert suspect_reason(treadmill, NOW) is None  # its climb is unknown (NULL), not 8039 m


def test_a_stored_row_is_judged_as_its_activity() -> None:
    for record in (act(), act(51.75, 51.75 * 160), act(5.0, 1800, climb_m=8039)):
        row = record.to_row()
        assert row_suspect_reason(row, NOW) == suspect_reason(record, NOW)
