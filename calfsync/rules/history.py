"""The history every rule reads: runs in order, day sums, streaks, shoes and the soreness log.

Pure data built once per evaluation. Days are proleptic ordinals (``date.toordinal()``) of the
run's local date, so "t − 6 … t" is plain integer arithmetic. Sums over a range of days come
from prefix arrays, so every window costs O(1) however long the history is.

A History is the whole history (``replay``) or a window: the runs from day ``past.lo`` on and,
in :class:`Past`, the few facts the rules need about the runs before it (streak, last
reference run, per-shoe totals). Building it costs what the window holds, not what the years
hold. A read that reaches before the window (a lookback longer than declared, a re-arm check
back to an old alert, a long soreness episode) is noted in ``reached``: the caller judges again
with a longer window (:func:`calfsync.rules.engine.judge_from`), so a window never changes what
the rules decide.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any


def day_of(local_date: str) -> int:
    """The ordinal of a ``YYYY-MM-DD`` local date."""
    return date.fromisoformat(local_date[:10]).toordinal()


def date_of(day: int) -> str:
    """The ``YYYY-MM-DD`` text of an ordinal day."""
    return date.fromordinal(day).isoformat()


@dataclass(slots=True)
class Run:
    """One run as the rules see it. ``climb_m`` is None when unknown (always indoors)."""

    id: str
    start_time: str  # UTC ``YYYY-MM-DDTHH:MM:SSZ``
    local_date: str
    distance_m: float
    climb_m: float | None = None
    indoor: bool = False
    gear_id: str | None = None
    name: str | None = None
    sub_sport: str | None = None
    workout_type: int | None = None
    interval_time_s: float | None = None
    hr_histogram: dict[int, float] | None = None
    laps: list[dict[str, Any]] | None = None
    moving_time_s: float | None = None
    day: int = 0
    hr_json: str | None = None  # the stored histogram, decoded by :meth:`histogram` when read

    def __post_init__(self) -> None:
        self.day = day_of(self.local_date)
        if self.indoor:
            self.climb_m = None

    def histogram(self) -> dict[int, float] | None:
        """Seconds per bpm: ``hr_histogram``, or the stored JSON decoded the first time a rule
        reads it (a FIT file gives ~90 keys a run; most runs of a window are never read)."""
        if self.hr_histogram is None and self.hr_json:
            self.hr_histogram = {int(k): v for k, v in json.loads(self.hr_json).items()}
            self.hr_json = None
        return self.hr_histogram


@dataclass(slots=True)
class Shoe:
    """A shoe from the ``gear`` table. ``reported_m`` is the source's own total (Strava)."""

    id: str
    name: str | None = None
    drop_mm: float | None = None
    minimalist: bool = False
    retire_at_m: float | None = None
    reported_m: float | None = None


MIN_REFERENCE_M = 1000.0  # RULES.md "Plausible": a shorter run is never a reference


@dataclass(frozen=True)
class Past:
    """What the rules read of the runs before a window's first day ``lo`` (counted runs only).

    - ``any_run``: a run came before ``lo`` (so the window's first run is not the first ever).
    - ``prev_ref_day``: the day of the last run of at least ``min_reference_m`` before ``lo``
      (RET1's gap for the window's first such run); None when there is none.
    - ``streak_start``: the streak in force on ``lo − 1`` (None: no reference run yet). With
      ``streak_exact`` False it is only known to have begun on or before that day (no layoff
      was found that far back): every comparison with a day of the window comes out the same,
      and :meth:`History.in_streak` notes a read when one would not.
    - ``first_streak``: the start of the first streak (the first reference run's day).
    - ``shoe_runs`` / ``shoe_fixed``: per shoe of the window, its runs and the sum of their
      :func:`fixed` distances before ``lo`` (an exact integer: no float summation order).
    """

    lo: int
    any_run: bool = False
    prev_ref_day: int | None = None
    streak_start: int | None = None
    streak_exact: bool = True
    first_streak: int | None = None
    shoe_runs: dict[str, int] = field(default_factory=dict)
    shoe_fixed: dict[str, int] = field(default_factory=dict)


@dataclass
class History:
    """Runs (sorted by local date, then start), shoes by id and soreness level by day.

    ``gap_days`` is RET1's layoff length: it defines streaks even when RET1 is disabled.
    ``soreness_log`` is every report as (day, level) in the order the reports were made; when
    given, ``soreness`` (a day's level: its latest report) is derived from it. Without it each
    day of ``soreness`` counts as one report.

    ``first_day`` is the day of the first activity held (any sport; None: the first run's):
    nothing is known before it, so a reference window reaching back past it is unknown, not
    empty (RULES.md "Known history"). ``suspect_days`` are the days of suspect runs the runner
    has not confirmed: they are not in ``runs``, and a window holding one cannot be judged.
    A run shorter than ``min_reference_m`` counts for distance but is never a reference, never
    ends a layoff and never starts a streak.

    ``past`` (None: the whole history) makes it a window of the runs, suspect days and
    soreness reports from ``past.lo`` on; ``reached`` is then the earliest day a read wanted
    before the window (None: none did, and every answer equals the whole history's).
    """

    runs: list[Run]
    shoes: dict[str, Shoe] = field(default_factory=dict)
    soreness: dict[int, int] = field(default_factory=dict)
    gap_days: int = 14
    max_heart_rate: int | None = None
    soreness_log: list[tuple[int, int]] | None = None
    first_day: int | None = None
    suspect_days: list[int] = field(default_factory=list)
    min_reference_m: float = MIN_REFERENCE_M
    past: Past | None = None

    def __post_init__(self) -> None:
        self.reached: int | None = None
        self._build_soreness()
        self.runs.sort(key=lambda r: (r.day, r.start_time, r.id))
        self.days = [r.day for r in self.runs]
        self.suspect_days = sorted(self.suspect_days)
        if self.days and (self.first_day is None or self.days[0] < self.first_day):
            self.first_day = self.days[0]
        self.by_day: dict[int, list[int]] = {}
        for i, run in enumerate(self.runs):
            self.by_day.setdefault(run.day, []).append(i)
        self._build_prefix()
        self._build_streaks()
        self._build_shoes()
        self._hard_cache: dict[int, tuple[bool, float | None]] = {}

    # -- day sums -----------------------------------------------------------------------------
    def _build_prefix(self) -> None:
        """Per-day prefix sums (as integers: :func:`fixed` metres, and counts), so a window's
        sum is exact and the same whatever day the history starts on."""
        first = self.days[0] if self.runs else 0
        size = (self.days[-1] - first + 1) if self.runs else 1
        per_day = {name: [0] * size for name in SUMS}
        for run in self.runs:
            for name, amount in zip(SUMS, _amounts(run), strict=True):
                per_day[name][run.day - first] += amount
        self._first = first
        self._size = size
        # Per run: the sums of the runs of its day that start after it, so a window can end
        # at a run rather than at the end of its day (nothing later is peeked at).
        self._tail: list[dict[str, int]] = [{} for _ in self.runs]
        for idx in self.by_day.values():
            acc = dict.fromkeys(SUMS, 0)
            for i in reversed(idx):
                self._tail[i] = dict(acc)
                for name, amount in zip(SUMS, _amounts(self.runs[i]), strict=True):
                    acc[name] += amount
        self._cum = {name: _prefix(values) for name, values in per_day.items()}

    def need(self, day: int) -> None:
        """Note that a rule reads the data of ``day`` (and later): before the window, it is
        not held, so the judgement must be made again with a longer one."""
        if self.past is not None and day < self.past.lo:
            if self.reached is None or day < self.reached:
                self.reached = day

    def _sum(self, name: str, start: int, end: int) -> int:
        if start <= end:
            self.need(start)
        lo = max(start - self._first, 0)
        hi = min(end - self._first + 1, self._size)
        if hi <= lo:
            return 0
        cum = self._cum[name]
        return cum[hi] - cum[lo]

    def total(self, name: str, start: int, end: int) -> float:
        """Sum of ``name`` (dist, climb: metres; outdoor, known: runs) over days start … end."""
        return _value(name, self._sum(name, start, end))

    def through(self, name: str, start: int, t: int, i: int | None = None) -> float:
        """Sum of ``name`` over days start … t, where day t counts only its runs up to and
        including run i (i None: the whole day)."""
        value = self._sum(name, start, t)
        if i is not None and start <= t:
            value -= self._tail[i].get(name, 0)
        return _value(name, value)

    def d7(self, t: int, i: int | None = None) -> float:
        """Run distance in metres over t − 6 … t (day t up to run i when given)."""
        return self.through("dist", t - 6, t, i)

    # -- soreness -----------------------------------------------------------------------------
    def _build_soreness(self) -> None:
        """Each day's report levels in the order they were made, and the days in order."""
        self.reports: dict[int, list[int]] = {}
        if self.soreness_log is None:
            self.reports = {d: [level] for d, level in self.soreness.items()}
        else:
            for d, level in self.soreness_log:
                self.reports.setdefault(d, []).append(level)
            self.soreness = {d: levels[-1] for d, levels in self.reports.items()}
        self.sore_days = sorted(self.reports)

    def sore_since(self, t: int, days: int) -> int:
        """The first day of the soreness episode in force on day t (P1): walk back over the
        report days while each is sore and at most ``days`` before the next."""
        k = bisect.bisect_left(self.sore_days, t)
        start = t
        while k > 0:
            prev = self.sore_days[k - 1]
            if not self.soreness[prev] or start - prev > days:
                return start
            start = prev
            k -= 1
        self.need(start - days)  # a report before the window could still join the episode
        return start

    # -- streaks and what is known --------------------------------------------------------------
    def is_reference(self, i: int) -> bool:
        """Whether run i may be a reference, end a layoff or start a streak: not a blip under
        ``min_reference_m`` (a 0.66 km blip made a RET1 "return" and an S1 "+668%")."""
        return self.runs[i].distance_m >= self.min_reference_m

    def _build_streaks(self) -> None:
        """Each run's streak start and the gap before it (None: no previous run, or a run under
        ``min_reference_m``, which is never a return). A short run belongs to the streak in
        force (before any: its own day, so no window reaches past it); ``first_streak`` is the
        start of the first streak, so a later one began with a return."""
        b = self.past
        self.streak_of: list[int] = []
        self.gap_before: list[int | None] = []
        self.first_streak: int | None = b.first_streak if b else None
        start = b.streak_start if b else None
        prev_day = b.prev_ref_day if b else None
        for i, run in enumerate(self.runs):
            if not self.is_reference(i):
                self.gap_before.append(None)
                self.streak_of.append(start if start is not None else run.day)
                continue
            gap = None if prev_day is None else run.day - prev_day
            if start is None or (gap is not None and gap >= self.gap_days):
                start = run.day
            if self.first_streak is None:
                self.first_streak = start
            self.gap_before.append(gap)
            self.streak_of.append(start)
            prev_day = run.day

    def is_first(self, i: int) -> bool:
        """Whether run i is the first run of the whole history."""
        return i == 0 and (self.past is None or not self.past.any_run)

    def in_streak(self, day: int, t: int) -> bool:
        """Whether ``day`` is on or after the start of the streak in force on day t."""
        start = self.streak_start(t)
        if start is None:
            return False
        b = self.past
        if day < start and b is not None and not b.streak_exact and start == b.streak_start:
            self.need(day)  # the streak began on or before ``start``: maybe before ``day``
        return day >= start

    def known_since(self, i: int, days: int) -> bool:
        """Whether the ``days`` days before run i are known: they start on or after the first
        activity held, or run i's streak began with a return (the layoff before it is known)."""
        first = self.first_day if self.first_day is not None else self.runs[i].day
        if self.runs[i].day - days >= first:
            return True
        return self.first_streak is not None and self.streak_of[i] > self.first_streak

    def window_clean(self, start: int, end: int) -> bool:
        """Whether no unconfirmed suspect run falls on days start … end (its load is unknown)."""
        self.need(start)
        k = bisect.bisect_left(self.suspect_days, start)
        return k == len(self.suspect_days) or self.suspect_days[k] > end

    def streak_start(self, t: int) -> int | None:
        """Streak start in force on day t (None before the first run)."""
        k = bisect.bisect_right(self.days, t) - 1
        if k >= 0:
            return self.streak_of[k]
        return self.past.streak_start if self.past is not None else None

    def run_days(self, after: int, until: int) -> Iterator[int]:
        """The days with a run strictly between ``after`` and ``until``, in order (lazily: a
        caller that stops early reads no further)."""
        if after + 1 < until:
            self.need(after + 1)
        lo = bisect.bisect_right(self.days, after)
        hi = bisect.bisect_left(self.days, until)
        seen = None
        for k in range(lo, hi):
            if self.days[k] != seen:
                seen = self.days[k]
                yield seen

    def before(self, i: int, days: int) -> range:
        """Indices of the runs in the ``days`` days before run i (same-day earlier runs too)."""
        self.need(self.runs[i].day - days)
        lo = bisect.bisect_left(self.days, self.runs[i].day - days)
        return range(lo, i)

    # -- shoes --------------------------------------------------------------------------------
    def _build_shoes(self) -> None:
        """Each run's shoe distance before it (metres), counting what the shoe did before the
        first run we know of (the source's reported total minus the runs we have). In a window,
        the runs before it come from ``past``. Sums are exact (:func:`fixed`), so a window
        gives the whole history's figures."""
        earlier = self.past.shoe_fixed if self.past is not None else {}
        total: dict[str, int] = {}
        for run in self.runs:
            if run.gear_id:
                total[run.gear_id] = total.get(run.gear_id, 0) + fixed(run.distance_m)
        self.pre_m: dict[str, float] = {}
        for gid, amount in total.items():
            shoe = self.shoes.get(gid)
            reported = shoe.reported_m if shoe else None
            ran_m = (amount + earlier.get(gid, 0)) / FIXED
            self.pre_m[gid] = max(reported - ran_m, 0.0) if reported else 0.0
        running = {gid: earlier.get(gid, 0) for gid in total}
        self.shoe_before_m: list[float | None] = []
        self.first_in_shoe: list[bool] = []
        seen = {g for g, n in self.past.shoe_runs.items() if n} if self.past is not None else set()
        for run in self.runs:
            gid = run.gear_id
            if not gid:
                self.shoe_before_m.append(None)
                self.first_in_shoe.append(False)
                continue
            self.shoe_before_m.append(self.pre_m[gid] + running[gid] / FIXED)
            self.first_in_shoe.append(gid not in seen)
            seen.add(gid)
            running[gid] += fixed(run.distance_m)

    # -- hard runs (I1, WU) -------------------------------------------------------------------
    def hard(
        self, i: int, hr_fraction: float, min_hard_minutes: float
    ) -> tuple[bool, float | None]:
        """Whether run i is hard, and its hard minutes (None when unknown)."""
        cached = self._hard_cache.get(i)
        if cached is None:
            cached = hard_minutes(self.runs[i], self.max_heart_rate, hr_fraction, min_hard_minutes)
            self._hard_cache[i] = cached
        return cached


def hard_minutes(
    run: Run, max_hr: int | None, hr_fraction: float, min_hard_minutes: float
) -> tuple[bool, float | None]:
    """(hard, hard_min) for one run, as RULES.md defines them for I1.

    Hard: laps with intensity ``interval``, sub-sport track, Strava workout_type 3, or at least
    ``min_hard_minutes`` at ≥ ``hr_fraction`` of the configured max heart rate. Hard minutes:
    time in interval laps, else time at ≥ that heart rate, else unknown.
    """
    interval_min = (run.interval_time_s or 0.0) / 60.0
    if interval_min > 0:
        return True, interval_min  # the laps say it all: the histogram is not decoded
    hr_min = None
    histogram = run.histogram() if max_hr else None
    if histogram:
        floor = hr_fraction * max_hr
        hr_min = sum(s for bpm, s in histogram.items() if bpm >= floor) / 60.0
    hard = (
        run.sub_sport == "track"
        or run.workout_type == 3
        or (hr_min is not None and hr_min >= min_hard_minutes)
    )
    if not hard:
        return False, None
    return True, hr_min if hr_min else None


SUMS = ("dist", "climb", "outdoor", "known")  # what a window sums, in this order
FIXED = 1 << 32  # metres are summed as integers of 2**-32 m (exact: no float summation order)


def fixed(metres: float) -> int:
    """``metres`` in units of 2**-32 m, truncated (as SQLite's ``CAST(x * 4294967296.0 AS
    INTEGER)``, so a sum the database makes is the same integer)."""
    return int(metres * FIXED)


def _amounts(run: Run) -> tuple[int, int, int, int]:
    """What one run adds to each of :data:`SUMS`."""
    outdoor = not run.indoor
    known = outdoor and run.climb_m is not None
    return (
        fixed(run.distance_m),
        fixed(run.climb_m) if known and run.climb_m is not None else 0,
        int(outdoor),
        int(known),
    )


def _value(name: str, amount: int) -> float:
    return amount / FIXED if name in ("dist", "climb") else float(amount)


def _prefix(values: list[int]) -> list[int]:
    out = [0] * (len(values) + 1)
    acc = 0
    for k, v in enumerate(values):
        acc += v
        out[k + 1] = acc
    return out
