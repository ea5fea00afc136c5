"""Garmin's account export: the activity summaries and gear records beside the FIT files.

The FIT files themselves (``DI_CONNECT/DI-Connect-Uploaded-Files/UploadedFiles_0-_Part1.zip``
and the older names: zips inside the export's zip) are read by the FIT path as any zip is. What
the FIT files lack, the export's JSON gives:

- ``DI_CONNECT/DI-Connect-Fitness/*_summarizedActivities.json``: ``[{"summarizedActivitiesExport":
  [ {...}, ... ]}]``, one entry per activity with ``activityId``, ``name``, ``activityType``,
  ``beginTimestamp`` (ms since the epoch, UTC; ``startTimeGmt`` in older files), ``distance``
  in centimetres and ``duration`` in milliseconds. A multisport activity has a parent entry
  (``parent`` true, or ``childIds``) beside one entry per leg: the parent is skipped, its legs
  are the activities the FIT file's sessions are.
- ``DI_CONNECT/DI-Connect-Fitness/*_gear.json``: ``[{"gearDTOS": [...], "gearActivityDTOs":
  {"<gearPk>": [{"activityId": ...}, ...]}}]``: the shoes (``displayName`` or
  ``customMakeModel``, ``gearMakeName``, ``gearModelName``, ``gearStatusName``) and which
  activities each was used for.

Nothing here touches the database: :mod:`calfsync.ingest.exports` matches the summaries to the
imported FIT activities by start time and stores names and shoes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .archive import Archive, MemberMissing, MemberUnreadable

FITNESS_FOLDER = "DI-Connect-Fitness/"
MAX_JSON_BYTES = 256 * 1024 * 1024


@dataclass
class GarminSummary:
    """One activity of the export's summaries (not a multisport parent)."""

    activity_id: int
    begin: datetime  # UTC
    name: str | None
    activity_type: str | None
    distance_m: float | None
    duration_s: float | None
    gear_pk: str | None = None


@dataclass
class GarminExport:
    """The summaries and shoes of an export, and the members that could not be read."""

    summaries: list[GarminSummary] = field(default_factory=list)
    gear: dict[str, dict[str, Any]] = field(default_factory=dict)  # gearPk -> gear columns
    parents_skipped: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


def _entries(payload: Any, key: str) -> list[Any]:
    """The records under ``key`` of a ``[{key: [...]}]`` file (also ``{key: [...]}``)."""
    chunks = payload if isinstance(payload, list) else [payload]
    found: list[Any] = []
    for chunk in chunks:
        if isinstance(chunk, dict) and isinstance(chunk.get(key), list | dict):
            value = chunk[key]
            found.extend(value if isinstance(value, list) else [value])
    return found


def _read_json(archive: Archive, name: str, out: GarminExport) -> Any | None:
    try:
        return json.loads(archive.read(name, MAX_JSON_BYTES))
    except (MemberMissing, MemberUnreadable) as exc:
        out.problems.append((archive.label(name), str(exc)))
    except ValueError as exc:  # JSONDecodeError, bad UTF-8
        out.problems.append((archive.label(name), f"not readable JSON ({exc})"))
    return None


def _is_parent(entry: dict[str, Any]) -> bool:
    return (
        entry.get("parent") is True
        or bool(entry.get("childIds"))
        or entry.get("activityType") in ("multi_sport", "multisport")
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _summary(entry: dict[str, Any]) -> GarminSummary | None:
    begin_ms = _number(entry.get("beginTimestamp")) or _number(entry.get("startTimeGmt"))
    activity_id = entry.get("activityId")
    if begin_ms is None or not isinstance(activity_id, int):
        return None
    activity_type = entry.get("activityType")
    if isinstance(activity_type, dict):  # some exports nest it: {"typeKey": "running"}
        activity_type = activity_type.get("typeKey")
    distance_cm, duration_ms = _number(entry.get("distance")), _number(entry.get("duration"))
    return GarminSummary(
        activity_id=activity_id,
        begin=datetime.fromtimestamp(begin_ms / 1000.0, UTC),
        name=(entry.get("name") or None) if isinstance(entry.get("name"), str) else None,
        activity_type=activity_type if isinstance(activity_type, str) else None,
        distance_m=distance_cm / 100.0 if distance_cm is not None else None,
        duration_s=duration_ms / 1000.0 if duration_ms is not None else None,
    )


def _gear_row(dto: dict[str, Any]) -> dict[str, Any]:
    name = dto.get("displayName") or dto.get("customMakeModel") or dto.get("gearModelName")
    return {
        "name": str(name).strip() if name else f"Garmin gear {dto.get('gearPk')}",
        "brand": dto.get("gearMakeName") or None,
        "model": dto.get("gearModelName") or dto.get("customMakeModel") or None,
        "retired": int(str(dto.get("gearStatusName", "")).lower() == "retired"),
        "type": dto.get("gearTypeName"),
    }


def read_garmin_export(archive: Archive) -> GarminExport:
    """The summaries (multisport parents left out) with each activity's shoe, and the shoes.
    A member that cannot be read is listed in ``problems``; the rest is read."""
    out = GarminExport()
    names = [n for n in archive.names() if FITNESS_FOLDER in n]
    activity_gear: dict[int, str] = {}
    for name in (n for n in names if n.endswith("_gear.json")):
        payload = _read_json(archive, name, out)
        for dto in _entries(payload, "gearDTOS"):
            if isinstance(dto, dict) and dto.get("gearPk") is not None:
                out.gear[str(dto["gearPk"])] = _gear_row(dto)
        for links in _entries(payload, "gearActivityDTOs"):
            for pk, used in links.items() if isinstance(links, dict) else ():
                for link in used if isinstance(used, list) else ():
                    if isinstance(link, dict) and isinstance(link.get("activityId"), int):
                        activity_gear[link["activityId"]] = str(pk)
    for name in (n for n in names if n.endswith("summarizedActivities.json")):
        for entry in _entries(_read_json(archive, name, out), "summarizedActivitiesExport"):
            if not isinstance(entry, dict):
                continue
            if _is_parent(entry):
                out.parents_skipped += 1
                continue
            summary = _summary(entry)
            if summary is not None:
                summary.gear_pk = activity_gear.get(summary.activity_id)
                out.summaries.append(summary)
    return out
