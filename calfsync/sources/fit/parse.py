"""Reading one FIT file: its bytes in, a :class:`FitResult` out (activities, status and reason).

The outcome a person reads in ``fit_files`` is decided here: ``imported`` (with a reason when
the activities were salvaged from a damaged file or rebuilt without a session summary),
``skipped`` (a FIT file that is no activity) or ``failed`` (with the reason in words). Nothing
here writes rows or reads files: :func:`parse_job` is what the import's worker processes run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from ...model import Activity
from .activity import segment_activities
from .decode import Decoded, Segment, decode, header_problem

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What one FIT file held: ``status`` imported | skipped | failed, and why."""

    status: str
    reason: str | None = None
    activities: list[Activity] = field(default_factory=list)
    salvaged: bool = False


def parse_job(data: bytes, label: str, tz_name: str) -> FitResult:
    """Process-pool entry point: :func:`parse_fit_bytes` that never raises.

    A worker process imports only this package (no CLI, no database) to run it.
    """
    try:
        return parse_fit_bytes(data, label, ZoneInfo(tz_name))
    except Exception as exc:  # noqa: BLE001 - any reader bug becomes this file's failure
        log.exception("reading %s failed", label)
        return FitResult("failed", f"could not read this file ({exc.__class__.__name__}: {exc})")


def parse_fit_bytes(data: bytes, label: str, default_tz: ZoneInfo) -> FitResult:
    """Read one FIT file's bytes into activities, one per session. Never raises for bad input.

    ``label`` names the file in reasons; ``default_tz`` gives the local time when the file
    carries no offset of its own. A truncated or part-damaged file keeps the activities
    recorded before the damage (``salvaged``).
    """
    problem = header_problem(data)
    if problem:
        return FitResult("failed", problem)
    decoded = decode(data)
    if decoded.damage == "crc":
        return FitResult("failed", f"CRC check failed: the file is damaged ({decoded.detail})")
    if decoded.damage == "header":
        return FitResult("failed", f"bad FIT header: {decoded.detail}")
    activity_segs = [s for s in decoded.segments if _is_activity(s)]
    activities, rebuilt_from = _activities(activity_segs, label, default_tz)
    if not activities:
        return _without_activities(decoded, activity_segs, len(data))
    salvaged = decoded.damage is not None or rebuilt_from is not None
    for act in activities:
        act.salvaged = salvaged
    reason = _salvage_reason(decoded, len(data), len(activities), rebuilt_from)
    return FitResult("imported", reason, activities, salvaged)


def _salvage_reason(decoded: Decoded, size: int, kept: int, rebuilt_from: str | None) -> str | None:
    """Why an imported file counts as salvaged, or None when it was read whole."""
    if decoded.damage == "truncated":
        damage = f"the file is truncated ({size} bytes; it ends inside a message)"
    elif decoded.damage is not None:
        damage = f"the file is damaged part-way ({decoded.detail})"
    elif rebuilt_from is not None:
        return (
            f"salvaged: the file has no session summary; activity rebuilt from its {rebuilt_from}"
        )
    else:
        return None
    return f"salvaged: {damage}; kept {kept} activity(ies) recorded before the damage"


def _without_activities(decoded: Decoded, activity_segs: list[Segment], size: int) -> FitResult:
    """The outcome of a file that gave no activity: skipped, or failed with the reason."""
    if not activity_segs:
        types = sorted({str(s.file_id.get("type")) for s in decoded.segments if s.file_id})
        if types:
            return FitResult("skipped", f"not an activity: FIT file type {', '.join(types)}")
    if decoded.damage == "truncated":
        return FitResult("failed", f"file is truncated ({size} bytes) before any activity data")
    if decoded.damage is not None:
        return FitResult("failed", f"cannot decode the FIT data: {decoded.detail}")
    if not activity_segs:
        return FitResult("skipped", "no activity data in this FIT file")
    if any(s.relative_records for s in activity_segs):
        return FitResult(
            "failed",
            "the activity has no calendar date: its times count from the device's power-on "
            "(the watch's clock was not set)",
        )
    return FitResult("skipped", "activity file without sessions or records")


def _activities(
    segments: list[Segment], label: str, default_tz: ZoneInfo
) -> tuple[list[Activity], str | None]:
    """Every segment's activities (ids made unique) and what was rebuilt without a session:
    "laps" when any segment was rebuilt from its laps, else "records" when any was from its
    records, else None."""
    activities: list[Activity] = []
    rebuilt_from: str | None = None
    seen_ids: set[str] = set()
    for seg in segments:
        built, source = segment_activities(seg, label, default_tz)
        if source is not None and rebuilt_from != "laps":
            rebuilt_from = source
        for act in built:
            base, n = act.id, 1
            while act.id in seen_ids:  # two sessions of one device starting the same second
                n += 1
                act.id = f"{base}-{n}"
            seen_ids.add(act.id)
        activities.extend(built)
    return activities, rebuilt_from


def _is_activity(seg: Segment) -> bool:
    if seg.file_id and seg.file_id.get("type") is not None:
        return seg.file_id.get("type") == "activity"
    return bool(seg.sessions or seg.rec_t or seg.laps)
