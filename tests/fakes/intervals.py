"""A loopback intervals.icu stand-in speaking real HTTP, built from intervals.icu's published
OpenAPI description (``https://intervals.icu/api/v1/docs``; a copy is in the public repository
VSidhArt/intervals-mcp as ``AI/api_docs/intervals.json``).

What it serves, as that description says:

- HTTP Basic authentication, username ``API_KEY`` and the key as password (the ``APIKey``
  security scheme); anything else is 401 with Spring Boot's error body (``timestamp``,
  ``status``, ``error``, ``path``), the body intervals.icu answers errors with;
- ``GET /api/v1/athlete/{id}`` (``getAthlete``); ``{id}`` is the athlete's id or ``0`` (the
  key's own); another athlete is 403;
- ``GET /api/v1/athlete/{id}/activities`` (``listActivities``): ``oldest`` required, ``newest``
  optional (default now), both local ISO dates or date-times, inclusive; ``limit``; newest first.
  Items follow the ``Activity`` schema (``id`` "i…", ``start_date_local``, ``start_date``,
  ``type``, ``name``, ``distance``, ``moving_time``, ``elapsed_time``, ``total_elevation_gain``,
  ``gear`` {``id``, ``name``, ``distance``, ``primary``}, ``source``, ``file_type``); a
  Strava-sourced activity is the ``Hidden`` stub (``id``, ``icu_athlete_id``,
  ``start_date_local``, ``source`` STRAVA, ``_note``);
- ``GET /api/v1/activity/{id}/file`` (``downloadActivityFile``): the original bytes (gzipped when
  the activity was stored so); a Strava-sourced one is 422 "Cannot read Strava activities via the
  API" (as users of the API report it), an unknown one 404.

Faults: ``fail_next(status)`` (e.g. 500, or 429 with ``{"Retry-After": "120"}``),
``delay_next(seconds)`` (a timeout), ``malformed_next()`` (a list reply that is not a list),
``per_second`` (answer 429 past that many requests in a second, as the real 10/s limit).
"""

from __future__ import annotations

import base64
import gzip
import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from calfsync.fitwriter import SessionSpec, encode_activity
from fakes.base import FakeService, Request, json_response

ATHLETE_ID = "i12345"
API_KEY = "icu-key-0123456789abcdef"


@dataclass
class FakeActivity:
    """One activity the stand-in holds."""

    id: str
    start: datetime  # UTC
    utc_offset_s: int
    type: str = "Run"
    name: str | None = None
    distance_m: float = 10_000.0
    moving_time_s: int = 3000
    gear: dict[str, Any] | None = None
    source: str = "GARMIN_CONNECT"
    file: bytes = b""
    gzipped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def start_local(self) -> datetime:
        return (self.start + timedelta(seconds=self.utc_offset_s)).replace(tzinfo=None)

    def listed(self) -> dict[str, Any]:
        local = self.start_local.isoformat(timespec="seconds")
        if self.source == "STRAVA":
            return {
                "id": self.id,
                "icu_athlete_id": ATHLETE_ID,
                "start_date_local": local,
                "source": "STRAVA",
                "_note": "STRAVA activities are not available via the API",
            }
        return {
            "id": self.id,
            "icu_athlete_id": ATHLETE_ID,
            "start_date_local": local,
            "start_date": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "type": self.type,
            "name": self.name,
            "distance": self.distance_m,
            "moving_time": self.moving_time_s,
            "elapsed_time": self.moving_time_s + 30,
            "total_elevation_gain": 42.0,
            "gear": self.gear,
            "source": self.source,
            "file_type": "fit",
            "external_id": f"{self.id}.fit",
            **self.extra,
        }


class FakeIntervals(FakeService):
    """The stand-in. ``add_run`` builds a FIT file with calfsync's own writer."""

    def __init__(self, api_key: str = API_KEY, per_second: int | None = None) -> None:
        super().__init__()
        self.api_key = api_key
        self.per_second = per_second
        self.activities: dict[str, FakeActivity] = {}
        self._ids = itertools.count(1_000_001)
        self._recent: deque[float] = deque()
        self._malformed = 0
        self.refuse: dict[str, int] = {}  # activity id -> the status its file answers

    # ---------------------------------------------------------------- content
    def add_run(
        self,
        start: datetime,
        *,
        km: float = 10.0,
        minutes: float = 50.0,
        name: str | None = "Morning Run",
        shoe: str | None = None,
        shoe_id: str | None = None,
        utc_offset_s: int = 3600,
        gzipped: bool = False,
        source: str = "GARMIN_CONNECT",
        file: bytes | None = None,
        record_step_s: int = 10,
    ) -> FakeActivity:
        """A run recorded by a watch (its FIT file), or a Strava-sourced stub."""
        if file is None and source != "STRAVA":
            spec = SessionSpec(
                start=start,
                duration_s=minutes * 60,
                distance_m=km * 1000,
                heart_rate_bpm=150.0,
                record_step_s=record_step_s,
            )
            file = encode_activity([spec], utc_offset_s=utc_offset_s)
        gear = None
        if shoe:
            gear = {"id": shoe_id or f"g{sum(map(ord, shoe))}", "name": shoe}
            gear.update({"distance": 123456.0, "primary": False})
        activity = FakeActivity(
            id=f"i{next(self._ids)}",
            start=start,
            utc_offset_s=utc_offset_s,
            name=name,
            distance_m=km * 1000,
            moving_time_s=int(minutes * 60),
            gear=gear,
            source=source,
            file=file or b"",
            gzipped=gzipped,
        )
        with self._lock:
            self.activities[activity.id] = activity
        return activity

    def malformed_next(self) -> None:
        with self._lock:
            self._malformed += 1

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]

    def downloads(self) -> list[str]:
        return [p for p in self.paths() if p.endswith("/file")]

    # ---------------------------------------------------------------- protocol
    def error(self, status: int, path: str = "", message: str | None = None) -> Any:
        reason = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            422: "Unprocessable Entity",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(status, "Error")
        body = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "status": status,
            "error": message or reason,
            "path": path,
        }
        return json_response(status, body)

    def handle(self, req: Request) -> Any:
        self.record(req)
        if req.method != "GET":
            return self.error(405, req.path, "Method Not Allowed")
        if not self._authorized(req):
            return self.error(401, req.path)
        if self.per_second is not None and self._too_fast():
            code, headers, body = self.error(429, req.path)
            return code, {**headers, "Retry-After": "1"}, body
        parts = req.path.strip("/").split("/")
        if parts[:2] != ["api", "v1"]:
            return self.error(404, req.path)
        parts = parts[2:]
        if len(parts) in (2, 3) and parts[0] == "athlete":
            if parts[1] not in (ATHLETE_ID, "0"):
                return self.error(403, req.path, "Access denied")
            if len(parts) == 2:
                return json_response(200, {"id": ATHLETE_ID, "name": "Marianne Teutenberg"})
            if parts[2] == "activities":
                return self._list(req)
        if len(parts) == 3 and parts[0] == "activity" and parts[2] == "file":
            return self._file(req, parts[1])
        return self.error(404, req.path)

    def _authorized(self, req: Request) -> bool:
        header = req.header("authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == "API_KEY" and password == self.api_key

    def _too_fast(self) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._recent and self._recent[0] < now - 1.0:
                self._recent.popleft()
            self._recent.append(now)
            return len(self._recent) > (self.per_second or 0)

    def _list(self, req: Request) -> Any:
        oldest = req.query.get("oldest")
        if not oldest:
            return self.error(400, req.path, "Required parameter 'oldest' is not present.")
        with self._lock:
            if self._malformed:
                self._malformed -= 1
                return json_response(200, {"activities": "not a list"})
            held = list(self.activities.values())
        low = _bound(oldest, end=False)
        high = _bound(req.query["newest"], end=True) if req.query.get("newest") else None
        chosen = [
            a for a in held if a.start_local >= low and (high is None or a.start_local <= high)
        ]
        chosen.sort(key=lambda a: a.start_local, reverse=True)
        if req.query.get("limit"):
            chosen = chosen[: int(req.query["limit"])]
        return json_response(200, [a.listed() for a in chosen])

    def _file(self, req: Request, activity_id: str) -> Any:
        with self._lock:
            activity = self.activities.get(activity_id)
        if activity is None:
            return self.error(404, req.path, "Activity not found")
        if activity_id in self.refuse:
            return self.error(self.refuse[activity_id], req.path)
        if activity.source == "STRAVA":
            return self.error(422, req.path, "Cannot read Strava activities via the API")
        data = gzip.compress(activity.file) if activity.gzipped else activity.file
        return 200, {"Content-Type": "application/octet-stream"}, data


def _bound(text: str, *, end: bool) -> datetime:
    """A local ISO date (the whole day, inclusive) or date-time as a naive datetime."""
    moment = datetime.fromisoformat(text)
    if len(text) == 10 and end:
        moment += timedelta(days=1, microseconds=-1)
    return moment
