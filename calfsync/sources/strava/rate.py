"""Strava's rate limits: the last rate headers seen, the windows they reset in, the read budget.

Strava counts requests per application in 15-minute windows (reset at :00, :15, :30, :45) and per
UTC day, overall (``X-RateLimit-*``) and for reads (``X-ReadRateLimit-*``), each header a
"15-minute,daily" pair. stravalib's own limiter would sleep until the window resets, up to a day;
calfsync installs none. :class:`RateInfo` keeps the figures instead, and a read that would leave
less than a safety margin raises :class:`StravaBudgetExhausted`, so the cycle ends and the next
one resumes once the window has reset. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from .errors import StravaBudgetExhausted


def next_quarter_hour(now: datetime) -> datetime:
    """The start of the next 15-minute window (Strava resets at :00, :15, :30 and :45)."""
    now = now.astimezone(UTC)
    base = now.replace(minute=(now.minute // 15) * 15, second=0, microsecond=0)
    return base + timedelta(minutes=15)


def next_utc_midnight(now: datetime) -> datetime:
    """The next UTC midnight, when Strava resets the daily limits."""
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def _pair(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        first, second = (int(v.strip()) for v in value.split(",")[:2])
    except ValueError:
        return None
    return first, second


@dataclass
class RateInfo:
    """The last rate-limit headers seen, with when they were seen (15-minute, daily)."""

    observed_at: str | None = None  # UTC ISO
    read_usage: tuple[int, int] | None = None
    read_limit: tuple[int, int] | None = None
    usage: tuple[int, int] | None = None
    limit: tuple[int, int] | None = None

    def update(self, headers: Mapping[str, str], now: datetime) -> bool:
        """Take the rate headers of a reply; False when it carried none."""
        lower = {k.lower(): v for k, v in headers.items()}
        read_usage, read_limit = (
            _pair(lower.get("x-readratelimit-usage")),
            _pair(lower.get("x-readratelimit-limit")),
        )
        usage, limit = _pair(lower.get("x-ratelimit-usage")), _pair(lower.get("x-ratelimit-limit"))
        if not (read_usage and read_limit) and not (usage and limit):
            return False
        self.observed_at = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.read_usage, self.read_limit = read_usage, read_limit
        self.usage, self.limit = usage, limit
        return True

    def _pairs(self) -> list[tuple[tuple[int, int], tuple[int, int]]]:
        out = []
        if self.read_usage and self.read_limit:
            out.append((self.read_usage, self.read_limit))
        if self.usage and self.limit:
            out.append((self.usage, self.limit))
        return out

    def current(self, now: datetime) -> RateInfo:
        """These figures carried to ``now``: a later window's usage restarts at zero."""
        if not self.observed_at:
            return RateInfo()
        seen = datetime.strptime(self.observed_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        same_quarter = now < next_quarter_hour(seen)
        same_day = now < next_utc_midnight(seen)
        if same_quarter and same_day:
            return self
        out = RateInfo(observed_at=self.observed_at, read_limit=self.read_limit, limit=self.limit)
        if same_day:  # a new 15-minute window: only the daily usage carries over
            if self.read_usage:
                out.read_usage = (0, self.read_usage[1])
            if self.usage:
                out.usage = (0, self.usage[1])
        return out

    def check_budget(self, now: datetime, reads: int = 1) -> None:
        """Raise :class:`StravaBudgetExhausted` unless ``reads`` more reads stay under every
        limit less its margin (5% of a 15-minute limit, 2% of a daily one)."""
        cur = self.current(now)
        for (short_used, day_used), (short_limit, day_limit) in cur._pairs():
            if day_used + reads > day_limit - daily_margin(day_limit):
                resume = next_utc_midnight(now)
                raise StravaBudgetExhausted(
                    f"daily Strava read limit nearly used ({day_used} of {day_limit}); "
                    f"resuming after {resume:%Y-%m-%d %H:%M} UTC",
                    resume,
                    daily=True,
                )
            if short_used + reads > short_limit - short_margin(short_limit):
                resume = next_quarter_hour(now)
                raise StravaBudgetExhausted(
                    f"15-minute Strava read limit nearly used ({short_used} of {short_limit}); "
                    f"resuming at {resume:%H:%M} UTC",
                    resume,
                    daily=False,
                )

    def daily_exhausted(self) -> bool:
        """Whether the last headers show a daily limit reached (a 429 then lasts until midnight)."""
        return any(used[1] >= lim[1] for used, lim in self._pairs())

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | None) -> RateInfo:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                observed_at=data.get("observed_at"),
                **{
                    k: tuple(data[k]) if data.get(k) else None
                    for k in ("read_usage", "read_limit", "usage", "limit")
                },
            )
        except (ValueError, TypeError, AttributeError):
            return cls()


def short_margin(limit: int) -> int:
    """Reads kept in reserve of a 15-minute limit: 5%, at least 2."""
    return max(2, math.ceil(limit * 0.05))


def daily_margin(limit: int) -> int:
    """Reads kept in reserve of a daily limit: 2%, at least 5."""
    return max(5, math.ceil(limit * 0.02))
