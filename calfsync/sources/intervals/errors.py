"""What can stop the intervals.icu part of a cycle, as classes a caller can tell apart.

``str()`` of each is a sentence a person reads (never the API key). What calfsync does about each:
a wrong key or athlete id waits for the runner (one push says so), a rate limit waits the time
the service asked, the service down or a malformed reply fails the step and the next poll tries
again, a refused activity is skipped with its reason.
"""

from __future__ import annotations

KEY_FIX = (
    "copy the key from intervals.icu (Settings, Developer Settings, API key) into "
    "[intervals] api_key_file (or api_key), and check [intervals] athlete_id (the i12345 in "
    'the address of your intervals.icu pages, or "0" for the key\'s own athlete)'
)


class IntervalsError(Exception):
    """Something stopped the intervals.icu part of a cycle."""


class IntervalsUnavailable(IntervalsError):
    """No answer, a timeout, a 5xx: the step fails and the next poll tries again."""


class IntervalsMalformed(IntervalsUnavailable):
    """A reply that is not what the published API description says it is."""


class IntervalsAuthError(IntervalsError):
    """401 (wrong key), or 403/404 on the athlete (an athlete id the key cannot read)."""


class IntervalsRateLimited(IntervalsError):
    """429: wait ``retry_after_s`` (the Retry-After header, or a minute) before the next try."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class IntervalsRefused(IntervalsError):
    """One activity's file was refused (403, 404, 422: Strava-sourced, deleted, too large):
    that activity is skipped with this reason, the others go on."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
