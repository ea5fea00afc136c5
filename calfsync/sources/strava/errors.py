"""What can stop the Strava part of a cycle, as exception classes a caller can tell apart.

Each class names what calfsync does about it (retry, re-authorize, wait, pause); ``str()`` of
every one is a sentence a person reads, and never holds a token.
"""

from __future__ import annotations

from datetime import datetime

INACTIVE_MESSAGE = (
    "inactive: the Strava app needs a paid developer subscription (Strava answers 403 "
    "Application/Status/Inactive). Subscribe with the account that owns the app, reactivate it "
    "at https://www.strava.com/settings/api; calfsync re-checks daily and FIT import continues"
)


class StravaError(Exception):
    """Something stopped the Strava part of a cycle. ``str()`` is a message a person reads."""


class StravaUnavailable(StravaError):
    """Network error, timeout, 5xx or an unreadable reply: back off and retry next cycle."""


class StravaMalformed(StravaUnavailable):
    """A reply that is not the JSON the API describes."""


class StravaAuthError(StravaError):
    """The refresh token is invalid or the token lacks a scope: run ``calfsync auth strava``."""


class StravaInactive(StravaError):
    """403 ``Application/Status/Inactive``: the app's owner has no paid developer subscription."""


class StravaNotFound(StravaError):
    """404: the object does not exist (a deleted activity)."""


class StravaRateLimited(StravaError):
    """429: a rate limit is exceeded. ``daily`` when it is the daily one."""

    def __init__(self, message: str, resume_at: datetime, daily: bool) -> None:
        super().__init__(message)
        self.resume_at = resume_at
        self.daily = daily


class StravaBudgetExhausted(StravaRateLimited):
    """The next read would pass a read limit less its safety margin: stop before Strava says 429."""
