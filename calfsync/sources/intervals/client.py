"""intervals.icu over HTTP (httpx): the three calls calfsync makes, and what each failure means.

HTTP only: nothing here touches the database. Where each shape comes from (intervals.icu's
published OpenAPI description, ``https://intervals.icu/api/v1/docs``, "Intervals.icu API
v1.0.0"; a copy is kept in the public repository VSidhArt/intervals-mcp as
``AI/api_docs/intervals.json``):

- authentication: the ``APIKey`` security scheme is HTTP Basic, "Username is API_KEY, Password
  is your API key found in /settings";
- ``GET /api/v1/athlete/{id}`` (``getAthlete``): the athlete, used by ``doctor`` to check the
  key (one request). ``{id}`` "0" is the key's own athlete (as third-party clients use it);
- ``GET /api/v1/athlete/{id}/activities?oldest=&newest=&limit=`` (``listActivities``): "List
  activities for a date range in desc date order"; ``oldest`` (required) and ``newest`` are
  "Local ISO-8601 date or date and time e.g. 2019-07-22T16:18:49"; "An empty stub object is
  returned for Strava activities" (the ``Hidden`` schema: ``id``, ``icu_athlete_id``,
  ``start_date_local``, ``source``, ``_note``);
- ``GET /api/v1/activity/{id}/file`` (``downloadActivityFile``): "Download original activity
  file, Strava activities not supported". Clients save it as ``.fit.gz``, so the bytes may be
  gzipped; they go through the same content check as inbox files. (``/fit-file`` would be a
  FIT file intervals.icu generates; the original is what the watch wrote.)

Failures, from the API's behaviour as its users report it: a Strava-sourced activity's file
answers 422 "Cannot read Strava activities via the API" (platypus45/domestique issue 2); the
limit is "10/s per IP address with a short burst multiplier" (intervals.icu's author on
forum.intervals.icu, "API access to Intervals.icu"), answered with 429: requests are spaced
``spacing_s`` apart (0.1 s), a 429 ends the step with the wait the ``Retry-After`` header asks
(a minute without one; never slept here).
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import (
    KEY_FIX,
    IntervalsAuthError,
    IntervalsMalformed,
    IntervalsRateLimited,
    IntervalsRefused,
    IntervalsUnavailable,
)

API = "/api/v1"
DEFAULT_RETRY_AFTER_S = 60.0
MAX_RETRY_AFTER_S = 6 * 3600.0
MAX_FILE_BYTES = 64 * 1024 * 1024  # as an inbox file (sources.fit.inputs.MAX_FILE_BYTES)
REQUEST_SPACING_S = 0.1  # 10 requests a second at most: intervals.icu's per-IP limit

if TYPE_CHECKING:
    import httpx


class IntervalsClient:
    """A client for one athlete; ``requests`` counts the requests sent."""

    def __init__(
        self,
        api_url: str,
        athlete_id: str,
        api_key: str,
        *,
        timeout_s: float = 30.0,
        spacing_s: float | None = None,
    ) -> None:
        self.athlete_id = athlete_id
        self.timeout_s = timeout_s
        self.spacing_s = REQUEST_SPACING_S if spacing_s is None else spacing_s
        self.requests = 0
        self._last_sent = 0.0
        import httpx  # here, not at import: the daemon and every command load this module

        self._http = httpx.Client(
            base_url=api_url.rstrip("/") + API,
            auth=httpx.BasicAuth("API_KEY", api_key),
            timeout=timeout_s,
            headers={"User-Agent": "calfsync (https://github.com/calfsync)"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> IntervalsClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- the calls
    def athlete(self) -> dict[str, Any]:
        """``GET /athlete/{id}``: the athlete (``id``, ``name``, ...)."""
        reply = self._json(f"/athlete/{self.athlete_id}", None, "the athlete")
        if not isinstance(reply, dict):
            raise IntervalsMalformed(f"intervals.icu sent {_kind(reply)} for the athlete")
        return reply

    def activities(self, oldest: str, newest: str | None = None, limit: int | None = None) -> Any:
        """``GET /athlete/{id}/activities``: the activities started between ``oldest`` and
        ``newest`` (local ISO dates or date-times), newest first, at most ``limit``."""
        params: dict[str, str | int] = {"oldest": oldest}
        if newest:
            params["newest"] = newest
        if limit:
            params["limit"] = limit
        return self._json(f"/athlete/{self.athlete_id}/activities", params, "the activity list")

    def original_file(self, activity_id: str) -> bytes:
        """``GET /activity/{id}/file``: the file as uploaded (FIT, maybe gzipped). Raises
        :class:`IntervalsRefused` when the service will not give this one."""
        path = f"/activity/{activity_id}/file"
        with self._send(path, None) as response:
            if response.status_code in (403, 404, 422):
                response.read()
                raise IntervalsRefused(_refusal(response, activity_id), response.status_code)
            self._raise_for(response, f"the file of activity {activity_id}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise IntervalsRefused(
                        f"the file of activity {activity_id} is larger than "
                        f"{MAX_FILE_BYTES // (1024 * 1024)} MiB: not a FIT activity",
                        200,
                    )
                chunks.append(chunk)
            return b"".join(chunks)

    # ---------------------------------------------------------------- plumbing
    def _json(self, path: str, params: dict[str, Any] | None, what: str) -> Any:
        with self._send(path, params) as response:
            response.read()
            if response.status_code in (403, 404):
                raise IntervalsAuthError(
                    f"intervals.icu answered {response.status_code} for athlete "
                    f"{self.athlete_id!r}: the API key cannot read this athlete; {KEY_FIX}"
                )
            self._raise_for(response, what)
            try:
                return response.json()
            except ValueError as exc:
                raise IntervalsMalformed(
                    f"intervals.icu sent {what} as something that is not JSON "
                    f"({response.headers.get('content-type') or 'no content type'}, "
                    f"{len(response.content)} bytes): is [intervals] api_url right?"
                ) from exc

    def _send(self, path: str, params: dict[str, Any] | None) -> Any:
        wait = self._last_sent + self.spacing_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_sent = time.monotonic()
        self.requests += 1
        import httpx

        try:
            request = self._http.build_request("GET", path, params=params)
            response = self._http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            raise IntervalsUnavailable(
                f"intervals.icu did not answer within {self.timeout_s:g} s "
                f"({exc.__class__.__name__}); the next poll tries again"
            ) from exc
        except httpx.HTTPError as exc:
            raise IntervalsUnavailable(
                f"cannot reach intervals.icu ({exc.__class__.__name__}: {exc}); check the "
                "network and [intervals] api_url, the next poll tries again"
            ) from exc
        return _Closing(response)

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status == 401:
            raise IntervalsAuthError(
                f"the API key is wrong (intervals.icu answered 401): {KEY_FIX}"
            )
        if status == 429:
            wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
            raise IntervalsRateLimited(
                f"intervals.icu asked calfsync to slow down (429) while reading {what}; "
                f"the next try waits {wait:g} s",
                wait,
            )
        if status >= 500:
            raise IntervalsUnavailable(
                f"intervals.icu is having trouble (HTTP {status} for {what}); the next poll "
                "tries again"
            )
        if status != 200:
            raise IntervalsMalformed(f"intervals.icu answered HTTP {status} for {what}")


class _Closing:
    """A streamed response as a context manager that closes it."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __enter__(self) -> httpx.Response:
        return self.response

    def __exit__(self, *exc: Any) -> None:
        self.response.close()


def retry_after(value: str | None, now: datetime) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), bounded to
    1 s .. 6 h; a minute when there is none or it cannot be read."""
    if not value:
        return DEFAULT_RETRY_AFTER_S
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_S
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    return min(max(seconds, 1.0), MAX_RETRY_AFTER_S)


def _refusal(response: httpx.Response, activity_id: str) -> str:
    """Why the service refused an activity's file, in words."""
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = str(body.get("error") or body.get("message") or "")
    except ValueError:
        detail = response.text[:200].strip()
    why = {
        403: "not allowed",
        404: "not found (deleted?)",
        422: "refused (Strava-sourced activities are not served by the API)",
    }[response.status_code]
    return (
        f"intervals.icu {why} for the file of activity {activity_id} "
        f"(HTTP {response.status_code}{': ' + detail if detail else ''})"
    )


def _kind(value: Any) -> str:
    return f"a {type(value).__name__}" if value is not None else "nothing"
