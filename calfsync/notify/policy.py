"""Push policy from shared/RULES.md, as pure functions (no database, no clock reads).

- Which alert titles a bundle: P1 > RET1 long > S1 large > S1 moderate > H1/H2 > G2 > RET1 >
  W1 > I1 > G1 > S1 small > SW1 > A1 > WU.
- Severity to priority on ntfy's 1–5 scale (each channel maps it to its own).
- Quiet hours ("22:00-07:00") defer a push to their end; the daily cap defers to the next day.
- Composing one push (under 1,000 characters) from the alerts it carries.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..rules.registry import priority
from . import Message

MAX_PUSH_CHARS = 1000
DIGEST_RULE = "DIGEST"  # the weekly digest's alert rows (calfsync.notify.digest)
HIGH_SEVERITIES = {"large", "long", "moderate", "high", "severe", "critical", "urgent"}
LOW_SEVERITIES = {"info", "low", "minor", "note"}


def rank(rule: str, severity: str | None) -> int:
    """Sort key of an alert for bundling: lower is more important; unknown rules come last.

    The rules' own priorities, as each rule declares them (:mod:`calfsync.rules.registry`)."""
    return priority(rule, severity)


def level(rule: str, severity: str | None) -> int:
    """Priority on ntfy's scale: 4 (high) for pain (P1) and large, long or moderate severities;
    2 (low) for informational ones; 3 (default) for everything else, unknown values included.
    Never 5: urgent pushes break through do-not-disturb."""
    sev = (severity or "").strip().lower()
    if rule == "P1" or sev in HIGH_SEVERITIES:
        return 4
    if sev in LOW_SEVERITIES:
        return 2
    return 3


def parse_quiet_hours(spec: str | None) -> tuple[time, time] | None:
    """``"22:00-07:00"`` -> (start, end); ``"off"``, empty or equal ends -> None."""
    if not spec or spec.strip().lower() == "off":
        return None
    start_text, end_text = (part.strip() for part in spec.split("-"))
    start, end = (time(int(t.split(":")[0]), int(t.split(":")[1])) for t in (start_text, end_text))
    return None if start == end else (start, end)


def quiet_until(now: datetime, spec: str | None, tz: ZoneInfo) -> datetime | None:
    """The end of the quiet window (aware, UTC) if ``now`` falls inside it, else None."""
    window = parse_quiet_hours(spec)
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # wraps past midnight
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return _local_moment(end_day, end, tz)


def next_local_day(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight starting the local day after ``now``, as an aware datetime."""
    return _local_moment(now.astimezone(tz).date() + timedelta(days=1), time(0, 0), tz)


def local_day(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).date().isoformat()


def _local_moment(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def click_url(channel: dict[str, Any], alert: dict[str, Any]) -> str | None:
    """The URL opened by tapping the push: the channel's ``click_url`` template
    (``{activity_id}``, ``{strava_id}``, ``{local_date}``), else the Strava page of the run."""
    template = channel.get("click_url")
    fields = {
        "activity_id": alert.get("activity_id") or "",
        "strava_id": alert.get("strava_id") or "",
        "local_date": alert.get("local_date") or "",
    }
    if template:
        if "{strava_id}" in template and not fields["strava_id"]:
            return None
        if "{activity_id}" in template and not fields["activity_id"]:
            return None
        return str(template).format(**fields)
    if fields["strava_id"]:
        return f"https://www.strava.com/activities/{fields['strava_id']}"
    return None


def compose(
    alerts: list[dict[str, Any]],
    channel: dict[str, Any],
    *,
    dedupe_key: str,
    created_at: datetime,
    reply_topic: str | None = None,
) -> Message:
    """One push carrying ``alerts`` (dicts with rule, severity, title, body, episode_key,
    local_date, activity_id, strava_id, values): titled by the most important one, its body in
    full, the others listed by title, cut to :data:`MAX_PUSH_CHARS`."""
    ordered = sorted(alerts, key=lambda a: (rank(a["rule"], a["severity"]), a["local_date"]))
    top = ordered[0]
    title = top["title"] if len(ordered) == 1 else f"{top['title']} (+{len(ordered) - 1} more)"
    body = _with_others(top["body"], ordered[1:], MAX_PUSH_CHARS - len(title))
    if len(title) + len(body) > MAX_PUSH_CHARS:
        room = max(0, MAX_PUSH_CHARS - len(title) - 1)
        body = body[: room - 1].rstrip() + "…"
    top_level = max(level(a["rule"], a["severity"]) for a in ordered)
    tags = ["warning" if top_level >= 4 else "athletic_shoe"]
    tags += sorted({a["rule"] for a in ordered})
    return Message(
        title=title,
        body=body,
        level=top_level,
        tags=tags,
        click_url=click_url(channel, top),
        dedupe_key=dedupe_key,
        created_at=created_at,
        alerts=[_summary(a) for a in ordered],
        reply_topic=reply_topic,
    )


def _with_others(body: str, others: list[dict[str, Any]], limit: int) -> str:
    """``body`` (kept whole, advice and disclaimer included) and the other alerts' titles, as
    many as fit in ``limit`` characters; the rest are counted and pointed to."""
    if not others:
        return body
    lines = [f"- {a['rule']} {a['local_date']}: {a['title']}" for a in others]
    text = f"{body}\n\nAlso:"
    for i, line in enumerate(lines):
        left = len(lines) - i - 1
        more = f"\n- and {left} more: `calfsync alerts`" if left else ""
        if len(text) + 1 + len(line) + len(more) > limit:
            return f"{text}\n- and {len(lines) - i} more: `calfsync alerts`"
        text = f"{text}\n{line}"
    return text


def _summary(alert: dict[str, Any]) -> dict[str, Any]:
    values = alert.get("values")
    if isinstance(values, str):
        try:
            values = json.loads(values)
        except ValueError:
            pass
    return {
        "episode_key": alert["episode_key"],
        "rule": alert["rule"],
        "severity": alert["severity"],
        "local_date": alert["local_date"],
        "activity_id": alert.get("activity_id"),
        "title": alert["title"],
        "values": values,
    }
