"""Strava as a source: HTTP through stravalib, replies mapped to :class:`Activity`.

Fetch only: nothing here writes a row. :class:`StravaClient` talks to Strava through stravalib's
protocol layer with three changes calfsync needs:

- a ``requests.Session`` that sends stravalib's hard-coded ``www.strava.com`` URLs to the
  configured ``[strava] api_url`` / ``oauth_url`` and applies a timeout to every request;
- tokens refreshed here, ahead of expiry and once on a 401, and every token reply handed to
  ``on_tokens`` the moment it arrives (Strava invalidates the previous refresh token, and
  stravalib would keep the new one in memory only);
- no sleeping rate limiter: the rate headers of every reply are kept in :class:`RateInfo`, and a
  read that would pass the 15-minute or daily read limit (less a safety margin) raises
  :class:`StravaBudgetExhausted` instead of being sent.

:func:`to_activity` maps one Strava activity reply (summary or detailed) to an Activity,
following the published field meanings.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...model import Activity

log = logging.getLogger(__name__)

STRAVA_HOST_API = "https://www.strava.com/api/v3"
STRAVA_HOST_OAUTH = "https://www.strava.com/oauth"
SCOPES = ["activity:read_all", "profile:read_all"]
REFRESH_MARGIN_S = 300  # refresh an access token this long before it expires
PER_PAGE = 200

# Strava sport_type (or the older broad ``type``) -> FIT sport and sub-sport.
SPORTS: dict[str, tuple[str, str | None]] = {
    "Run": ("running", "generic"),
    "TrailRun": ("running", "trail"),
    "VirtualRun": ("running", "virtual_activity"),
    "Walk": ("walking", "generic"),
    "Hike": ("hiking", "generic"),
    "Ride": ("cycling", "generic"),
    "MountainBikeRide": ("cycling", "mountain"),
    "GravelRide": ("cycling", "gravel_cycling"),
    "EBikeRide": ("e_biking", "generic"),
    "EMountainBikeRide": ("cycling", "e_bike_mountain"),
    "VirtualRide": ("cycling", "virtual_activity"),
    "Velomobile": ("cycling", "generic"),
    "Handcycle": ("cycling", "hand_cycling"),
    "Swim": ("swimming", "generic"),
    "AlpineSki": ("alpine_skiing", "generic"),
    "BackcountrySki": ("alpine_skiing", "backcountry"),
    "NordicSki": ("cross_country_skiing", "generic"),
    "RollerSki": ("cross_country_skiing", "skate_skiing"),
    "Snowboard": ("snowboarding", "generic"),
    "Snowshoe": ("snowshoeing", "generic"),
    "IceSkate": ("ice_skating", "generic"),
    "InlineSkate": ("inline_skating", "generic"),
    "Rowing": ("rowing", "generic"),
    "VirtualRow": ("rowing", "indoor_rowing"),
    "Kayaking": ("kayaking", "generic"),
    "Canoeing": ("paddling", "generic"),
    "StandUpPaddling": ("stand_up_paddleboarding", "generic"),
    "Surfing": ("surfing", "generic"),
    "Kitesurf": ("kitesurfing", "generic"),
    "Windsurf": ("windsurfing", "generic"),
    "Sail": ("sailing", "generic"),
    "RockClimbing": ("rock_climbing", "generic"),
    "Golf": ("golf", "generic"),
    "Soccer": ("soccer", "generic"),
    "Basketball": ("basketball", "generic"),
    "Volleyball": ("volleyball", "generic"),
    "Cricket": ("cricket", "generic"),
    "Tennis": ("tennis", "generic"),
    "Badminton": ("racket", "badminton"),
    "Squash": ("racket", "squash"),
    "Racquetball": ("racket", "racquetball"),
    "TableTennis": ("racket", "table_tennis"),
    "Padel": ("racket", "padel"),
    "Pickleball": ("racket", "pickleball"),
    "Crossfit": ("training", "generic"),
    "HighIntensityIntervalTraining": ("hiit", "generic"),
    "WeightTraining": ("training", "strength_training"),
    "Workout": ("training", "generic"),
    "Yoga": ("training", "yoga"),
    "Pilates": ("training", "pilates"),
    "Elliptical": ("fitness_equipment", "elliptical"),
    "StairStepper": ("fitness_equipment", "stair_climbing"),
    "Dance": ("dance", "generic"),
    "Wheelchair": ("wheelchair_push_run", "generic"),
    "Skateboard": ("skateboarding", "generic"),
}
# ``trainer`` true (a treadmill, a turbo trainer, a rowing machine): the indoor sub-sport.
INDOOR: dict[str, str] = {
    "running": "treadmill",
    "cycling": "indoor_cycling",
    "walking": "indoor_walking",
    "rowing": "indoor_rowing",
}
ON_FOOT_SPORTS = frozenset({"running", "walking", "hiking"})


# --- mapping -----------------------------------------------------------------------------------


def sport_of(raw: Mapping[str, Any]) -> tuple[str, str | None]:
    """FIT sport and sub-sport for a Strava activity reply.

    ``sport_type`` first, then the older broad ``type`` (a sport type Strava adds later still
    lands in its family), else the sport type in snake case, which never counts as a run.
    """
    sport_type = raw.get("sport_type") or raw.get("type") or ""
    if sport_type in SPORTS:
        sport, sub = SPORTS[sport_type]
    elif raw.get("type") in SPORTS:
        sport, _ = SPORTS[raw["type"]]
        sub = "generic"
    else:
        sport = re.sub(r"(?<!^)(?=[A-Z])", "_", sport_type).lower() or "generic"
        sub = None
    if raw.get("trainer") and sport in INDOOR and sub != "virtual_activity":
        sub = INDOOR[sport]
    return sport, sub


def parse_strava_time(text: str) -> datetime:
    """Strava's ISO 8601 time (``2018-05-02T12:15:09Z``) as an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _wall_clock(text: str) -> datetime:
    """``start_date_local`` as the naive wall-clock time it is.

    Strava writes the local time with a 'Z' it does not mean; whatever suffix comes with it
    (Z, an offset, none), the digits are the local time, so the suffix is dropped, not applied.
    """
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


def _offset_s(raw: Mapping[str, Any], start: datetime, default_tz: ZoneInfo | None = None) -> int:
    """The activity's UTC offset in seconds: ``start_date_local`` − ``start_date``, else
    ``utc_offset``, else the IANA zone named in ``timezone`` ("(GMT-08:00) America/Los_Angeles")
    at the start instant, else the configured ``[athlete] timezone`` (``default_tz``), else 0."""
    if raw.get("start_date_local"):
        try:
            local = _wall_clock(str(raw["start_date_local"]))
            return int(round((local - start.replace(tzinfo=None)).total_seconds()))
        except ValueError:
            pass
    offset = _number(raw.get("utc_offset"))
    if offset is not None:
        return int(round(offset))
    zone = str(raw.get("timezone") or "").rsplit(" ", 1)[-1]
    if zone:
        try:
            delta = start.astimezone(ZoneInfo(zone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError, OSError):
            delta = None
        if delta is not None:
            return int(delta.total_seconds())
    if default_tz is not None:
        delta = start.astimezone(default_tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0
    return 0


def to_activity(raw: Mapping[str, Any], default_tz: ZoneInfo | None = None) -> Activity:
    """Map one Strava activity (``SummaryActivity`` or ``DetailedActivity``) to an Activity.

    ``default_tz`` (the ``[athlete] timezone``) gives the local time when the reply carries no
    local time, offset or zone of its own. Raises :class:`StravaMalformed` when the reply lacks
    the fields every activity has.
    """
    try:
        strava_id = int(raw["id"])
        start = parse_strava_time(str(raw["start_date"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise StravaMalformed(f"Strava activity without a usable id or start_date: {exc}") from exc
    offset_s = _offset_s(raw, start, default_tz)
    sport, sub_sport = sport_of(raw)
    indoor = bool(raw.get("trainer")) or sub_sport in ("virtual_activity", "indoor_rowing")
    ascent = _number(raw.get("total_elevation_gain"))
    if indoor or raw.get("manual"):
        ascent = None  # no device measured a climb: unknown, not zero
    workout_type = raw.get("workout_type")
    gear_id = raw.get("gear_id") or None
    return Activity(
        id=f"strava:{strava_id}",
        source="strava",
        start_time=start,
        utc_offset_s=offset_s,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=_number(raw.get("distance")) or 0.0,
        moving_time_s=_number(raw.get("moving_time")),
        elapsed_time_s=_number(raw.get("elapsed_time")),
        ascent_m=ascent,
        avg_heart_rate_bpm=_number(raw.get("average_heartrate")),
        max_heart_rate_bpm=_number(raw.get("max_heartrate")),
        workout_type=int(workout_type) if isinstance(workout_type, int | float) else None,
        gear_id=str(gear_id) if gear_id else None,
        name=raw.get("name"),
        device=raw.get("device_name"),
        altitude_source="strava" if ascent is not None else None,
        strava_id=strava_id,
        external_id=raw.get("external_id") or None,
        raw=dict(raw),
    )


def gear_row(raw: Mapping[str, Any], fetched_at: str | None) -> dict[str, Any]:
    """The ``gear`` columns Strava owns, from a ``DetailedGear`` or ``SummaryGear`` reply.

    ``fetched_at`` is given for a ``/gear/{id}`` reply only (it dates the monthly refresh).
    User-entered columns (drop, minimalist, retirement distance) are never part of it.
    """
    row: dict[str, Any] = {"id": str(raw["id"]), "source": "strava"}
    if fetched_at:
        row["fetched_at"] = fetched_at
    if raw.get("name") is not None:
        row["name"] = raw.get("name")
    elif raw.get("nickname"):
        row["name"] = raw.get("nickname")
    if "brand_name" in raw:
        row["brand"] = raw.get("brand_name")
    if "model_name" in raw:
        row["model"] = raw.get("model_name")
    if _number(raw.get("distance")) is not None:
        row["distance_m"] = _number(raw.get("distance"))
    if "retired" in raw:
        row["retired"] = int(bool(raw.get("retired")))
    if raw.get("resource_state", 0) >= 3 or "brand_name" in raw:
        row["raw"] = json.dumps(dict(raw), sort_keys=True)
    return row


# --- errors ------------------------------------------------------------------------------------


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


# --- rate limits -------------------------------------------------------------------------------


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
    return max(2, math.ceil(limit * 0.05))


def daily_margin(limit: int) -> int:
    return max(5, math.ceil(limit * 0.02))


# --- tokens ------------------------------------------------------------------------------------


@dataclass
class Tokens:
    """An OAuth token set. Never logged; ``repr`` hides the secrets."""

    access_token: str
    refresh_token: str
    expires_at: int

    def __repr__(self) -> str:
        return f"Tokens(expires_at={self.expires_at})"

    @classmethod
    def from_reply(cls, data: Mapping[str, Any]) -> Tokens | None:
        try:
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=int(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


# --- the client --------------------------------------------------------------------------------


def _make_session(
    api_url: str,
    oauth_url: str,
    timeout_s: float,
    before: Callable[[str, str], None],
    after: Callable[[str, str, Any], None],
) -> Any:
    import requests

    class RoutingSession(requests.Session):
        """Sends stravalib's www.strava.com URLs to the configured hosts, with a timeout."""

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            url = route_url(str(url), api_url, oauth_url)
            kwargs.setdefault("timeout", timeout_s)
            before(method, url)
            response = super().request(method, url, *args, **kwargs)
            after(method, url, response)
            return response

    return RoutingSession()


def route_url(url: str, api_url: str, oauth_url: str) -> str:
    """Rewrite a ``https://www.strava.com/...`` URL onto the configured API or OAuth base."""
    for default, configured in ((STRAVA_HOST_API, api_url), (STRAVA_HOST_OAUTH, oauth_url)):
        if url == default or url.startswith(default + "/") or url.startswith(default + "?"):
            return configured.rstrip("/") + url[len(default) :]
    return url


def _make_protocol(session: Any) -> Any:
    from stravalib.protocol import ApiV3

    class Protocol(ApiV3):
        """stravalib's protocol without its environment-variable credentials: calfsync refreshes
        tokens itself (ahead of expiry, persisted at once), so stravalib's own refresh stays off."""

        def _check_credentials(self) -> None:
            self.client_id = None
            self.client_secret = None

    return Protocol(requests_session=session)


class StravaClient:
    """Strava over stravalib, with calfsync's token, host and rate-limit handling.

    ``on_tokens(tokens, reply)`` is called with every token reply the moment it is received,
    before anything else happens; it must persist them. ``reads`` counts API requests sent.
    """

    def __init__(
        self,
        *,
        api_url: str,
        oauth_url: str,
        client_id: int | str,
        client_secret: str,
        tokens: Tokens | None,
        on_tokens: Callable[[Tokens, dict[str, Any]], None],
        timeout_s: float = 30,
        rate: RateInfo | None = None,
        stored_tokens: Callable[[], Tokens | None] | None = None,
        refresh_lock: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.oauth_url = oauth_url.rstrip("/")
        self.client_id = int(client_id)
        self._secret = client_secret
        self.tokens = tokens
        self._on_tokens = on_tokens
        self._stored_tokens = stored_tokens
        self._refresh_lock = refresh_lock or nullcontext
        self.rate = rate or RateInfo()
        self.reads = 0
        self.now = datetime.now(UTC)
        self.session = _make_session(
            self.api_url, self.oauth_url, timeout_s, self._before, self._after
        )
        self.api = _make_protocol(self.session)
        if tokens:
            self._install(tokens)

    def __repr__(self) -> str:
        return f"StravaClient(api_url={self.api_url!r}, client_id={self.client_id})"

    # hooks called by the session for every request
    def _before(self, method: str, url: str) -> None:
        if url.startswith(self.api_url):
            self.reads += 1

    def _after(self, method: str, url: str, response: Any) -> None:
        if url.startswith(self.oauth_url):
            if response.status_code == 200 and url.split("?")[0].endswith("/token"):
                try:
                    data = response.json()
                except ValueError:
                    return  # stravalib raises on it; nothing to keep
                tokens = Tokens.from_reply(data) if isinstance(data, dict) else None
                if tokens:
                    self._on_tokens(tokens, data)
                    self.tokens = tokens
            return
        self.rate.update(response.headers, self.now)

    def _install(self, tokens: Tokens) -> None:
        self.api.access_token = tokens.access_token
        self.api.refresh_token = tokens.refresh_token
        self.api.token_expires = tokens.expires_at

    # OAuth
    def authorization_url(self, redirect_uri: str, state: str | None = None) -> str:
        """The page where the athlete grants calfsync read access (on the configured host)."""
        url = self.api.authorization_url(
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            approval_prompt="auto",
            scope=SCOPES,
            state=state,
        )
        return route_url(url, self.api_url, self.oauth_url)

    def exchange_code(self, code: str) -> tuple[Tokens, dict[str, Any]]:
        """Trade an authorization code for tokens; returns them and the athlete summary."""
        from stravalib import exc

        try:
            _info, athlete = self.api.exchange_code_for_token(
                client_id=self.client_id,
                client_secret=self._secret,
                code=code,
                return_athlete=True,
            )
        except exc.Fault as err:
            status = getattr(err.response, "status_code", 0)
            if status in (400, 401, 403):
                raise StravaAuthError(
                    f"Strava refused the authorization code ({_reason(err)}). Codes are single "
                    "use and expire quickly: run `calfsync auth strava` again and paste the new "
                    "URL; check [strava] client_id and client_secret."
                ) from err
            raise StravaUnavailable(f"Strava's token endpoint failed: {_reason(err)}") from err
        except Exception as err:
            raise _transport_error(err) from err
        if not self.tokens:
            raise StravaMalformed("Strava's token reply lacked access_token/refresh_token")
        self._install(self.tokens)
        return self.tokens, dict(athlete or {})

    def ensure_fresh(self, now: datetime, force: bool = False) -> None:
        """Refresh the access token when it expires within :data:`REFRESH_MARGIN_S` (``force``:
        now, after a 401). Refreshes are serialized by ``refresh_lock``; a token another process
        refreshed meanwhile (``stored_tokens``) is taken instead of refreshing again, since
        Strava has already invalidated the refresh token this client holds."""
        if not self.tokens:
            raise StravaAuthError("Strava is not authorized yet: run `calfsync auth strava`")
        if not force and self.tokens.expires_at - now.timestamp() > REFRESH_MARGIN_S:
            return
        with self._refresh_lock():
            latest = self._stored_tokens() if self._stored_tokens else None
            if latest and latest.refresh_token != self.tokens.refresh_token:
                self.tokens = latest
                self._install(latest)
                if latest.expires_at - now.timestamp() > REFRESH_MARGIN_S:
                    return
            self._refresh()

    def _refresh(self) -> None:
        assert self.tokens is not None
        from stravalib import exc

        log.info("refreshing the Strava access token")
        try:
            self.api.refresh_access_token(
                client_id=self.client_id,
                client_secret=self._secret,
                refresh_token=self.tokens.refresh_token,
            )
        except exc.Fault as err:
            status = getattr(err.response, "status_code", 0)
            if status in (400, 401):
                raise StravaAuthError(f"Strava rejected the refresh token: {_reason(err)}") from err
            if isinstance(err, exc.ApplicationInactive):
                raise StravaInactive(INACTIVE_MESSAGE) from err
            raise StravaUnavailable(f"Strava's token endpoint failed: {_reason(err)}") from err
        except Exception as err:
            raise _transport_error(err) from err
        self._install(self.tokens)

    # API reads
    def get_json(self, path: str, now: datetime, **params: Any) -> Any:
        """One API read: budget check, fresh token, one retry after a refresh on a 401."""
        from stravalib import exc

        self.now = now
        self.rate.check_budget(now)
        self.ensure_fresh(now)
        for attempt in (1, 2):
            try:
                return self.api.get(path, **params)
            except exc.AccessUnauthorized as err:
                if attempt == 1:
                    log.info("Strava answered 401; refreshing the token once")
                    self.ensure_fresh(now, force=True)
                    self.rate.check_budget(now)
                    continue
                raise StravaAuthError(
                    f"Strava refused a freshly refreshed token ({_reason(err)}); grant the "
                    "activity:read_all and profile:read_all scopes"
                ) from err
            except exc.ApplicationInactive as err:
                raise StravaInactive(INACTIVE_MESSAGE) from err
            except exc.ObjectNotFound as err:
                raise StravaNotFound(_reason(err)) from err
            except exc.Fault as err:
                raise self._fault(err, now) from err
            except Exception as err:
                raise _transport_error(err) from err
        raise AssertionError("unreachable")

    def _fault(self, err: Any, now: datetime) -> StravaError:
        status = getattr(err.response, "status_code", 0)
        if status == 429:
            daily = self.rate.daily_exhausted()
            resume = next_utc_midnight(now) if daily else next_quarter_hour(now)
            which = "daily" if daily else "15-minute"
            return StravaRateLimited(
                f"Strava's {which} rate limit is reached (429); next try at "
                f"{resume:%Y-%m-%d %H:%M} UTC",
                resume,
                daily,
            )
        if status == 403:
            return StravaAuthError(
                f"Strava refused access (403: {_reason(err)}): run `calfsync auth strava` and "
                "grant the activity:read_all and profile:read_all scopes"
            )
        return StravaUnavailable(f"Strava answered {status}: {_reason(err)}")

    def list_activities(
        self, now: datetime, *, after: int | None, before: int | None, page: int
    ) -> list[dict[str, Any]]:
        """One page of ``/athlete/activities`` (200 a page) between two epoch times."""
        data = self.get_json(
            "/athlete/activities", now, after=after, before=before, page=page, per_page=PER_PAGE
        )
        if not isinstance(data, list) or not all(isinstance(a, dict) and "id" in a for a in data):
            raise StravaMalformed("Strava's activity list was not a list of activities")
        return data

    def get_activity(self, now: datetime, activity_id: int) -> dict[str, Any] | None:
        """``/activities/{id}``; None when Strava says it does not exist (deleted)."""
        try:
            data = self.get_json("/activities/{id}", now, id=activity_id)
        except StravaNotFound:
            return None
        if not isinstance(data, dict) or "id" not in data:
            raise StravaMalformed("Strava's activity reply was not an activity")
        return data

    def get_gear(self, now: datetime, gear_id: str) -> dict[str, Any] | None:
        """``/gear/{id}``; None when the gear no longer exists."""
        try:
            data = self.get_json("/gear/{id}", now, id=gear_id)
        except StravaNotFound:
            return None
        if not isinstance(data, dict) or "id" not in data:
            raise StravaMalformed("Strava's gear reply was not gear")
        return data

    def get_athlete(self, now: datetime) -> dict[str, Any]:
        """``/athlete``: the authenticated athlete with their shoes."""
        data = self.get_json("/athlete", now)
        if not isinstance(data, dict) or "id" not in data:
            raise StravaMalformed("Strava's athlete reply was not an athlete")
        return data


INACTIVE_MESSAGE = (
    "inactive: the Strava app needs a paid developer subscription (Strava answers 403 "
    "Application/Status/Inactive). Subscribe with the account that owns the app, reactivate it "
    "at https://www.strava.com/settings/api; calfsync re-checks daily and FIT import continues"
)


def _reason(err: Any) -> str:
    """A short reason from a stravalib fault: status and Strava's error list, no secrets."""
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    try:
        body = response.json() if response is not None else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors") or []
        parts = [
            "/".join(str(e.get(k, "")) for k in ("resource", "field", "code"))
            for e in errors
            if isinstance(e, dict)
        ]
        text = body.get("message") or ""
        if parts:
            text = f"{text} {', '.join(parts)}".strip()
        return f"{status} {text}".strip()
    return f"{status}" if status else err.__class__.__name__


def _transport_error(err: BaseException) -> StravaError:
    """Map requests' and json's exceptions to a retryable :class:`StravaUnavailable`."""
    if isinstance(err, StravaError):
        return err
    import requests

    if isinstance(err, requests.exceptions.JSONDecodeError | ValueError):
        return StravaMalformed("Strava sent a reply that is not valid JSON")
    if isinstance(err, requests.exceptions.Timeout):
        return StravaUnavailable("Strava did not answer in time (timeout)")
    if isinstance(err, requests.exceptions.ConnectionError):
        return StravaUnavailable("cannot reach Strava (network error)")
    if isinstance(err, requests.exceptions.RequestException):
        return StravaUnavailable(f"request to Strava failed ({err.__class__.__name__})")
    if isinstance(err, KeyError):
        return StravaMalformed("Strava's reply lacked an expected field")
    raise err
