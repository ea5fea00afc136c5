"""The intervals.icu step's keys in the ``state`` table, its statuses, and what ``status`` shows.

No key holds a secret. ``intervals.seen.<activity id>`` remembers each listed activity once
handled: ``{"fp": listing fingerprint, "status": imported | refused | failed | strava,
"ids": [stored activity ids], "reason": "..."}``, so an activity's file is downloaded once and
read again only when intervals.icu's listing of it changes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

SEEN_PREFIX = "intervals.seen."


class Key(StrEnum):
    STATUS = "intervals.status"  # a Status
    MESSAGE = "intervals.message"  # what status shows, a sentence a person reads
    LAST_OK = "intervals.last_ok"  # when intervals.icu last answered a whole poll
    NEXT_TRY = "intervals.next_try"  # UTC time before which a poll sends nothing (a 429)
    NEWEST = "intervals.newest_start"  # local start of the newest activity listed
    BACKFILL = "intervals.backfill_before"  # the first listing goes on before this local time
    NOTICE = "intervals.notice"  # a push the step owes the runner (a wrong key)
    REQUESTS = "intervals.requests_last_poll"


class Status(StrEnum):
    OK = "ok"
    AUTH = "wrong_key"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


def seen_key(activity_id: str) -> str:
    return SEEN_PREFIX + activity_id


def parse_seen(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        seen = json.loads(value)
    except ValueError:
        return None
    return seen if isinstance(seen, dict) else None


def summary(state: Mapping[str, str | None]) -> dict[str, Any]:
    """intervals.icu's part of ``status``, from the whole ``state`` table as a mapping."""
    counts: Counter[str] = Counter()
    for key, value in state.items():
        if key.startswith(SEEN_PREFIX):
            seen = parse_seen(value)
            counts[(seen or {}).get("status", "unknown")] += 1
    return {
        "status": state.get(Key.STATUS) or "not polled yet",
        "message": state.get(Key.MESSAGE),
        "last_ok": state.get(Key.LAST_OK),
        "next_try": state.get(Key.NEXT_TRY),
        "newest_start": state.get(Key.NEWEST),
        "backfill_before": state.get(Key.BACKFILL),
        "imported": counts["imported"],
        "strava_skipped": counts["strava"],
        "refused": counts["refused"],
        "failed": counts["failed"],
    }
