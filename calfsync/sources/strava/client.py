"""Strava over HTTP: stravalib's protocol layer with calfsync's hosts, tokens and rate headers.

HTTP only: nothing here touches the database. :class:`StravaClient` talks to Strava through
stravalib's ``ApiV3`` with three changes a daemon needs:

- a ``requests.Session`` that sends stravalib's hard-coded ``www.strava.com`` URLs to the
  configured ``[strava] api_url`` / ``oauth_url`` and applies a timeout to every request;
- tokens refreshed here, ahead of expiry and once on a 401, and every token reply handed to
  ``on_tokens`` the moment it arrives (Strava invalidates the previous refresh token, and
  stravalib would keep the new one in memory only);
- no sleeping rate limiter: the rate headers of every reply go to a :class:`RateInfo`, and a read
  that would pass a read limit less its margin raises :class:`StravaBudgetExhausted` unsent.

Every failure leaves as one of the :mod:`.errors` classes (:func:`classify_fault`,
:func:`transport_error`), so the cycle knows whether to retry, wait or ask for authorization.

requests and stravalib are imported where first used: ``import stravalib.protocol`` takes 1.2 s
and ``import requests`` 0.27 s on the development machine (``python -X importtime``), a cost the
daemon and every command would otherwise pay with Strava not even configured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

from .errors import (
    INACTIVE_MESSAGE,
    StravaAuthError,
    StravaError,
    StravaInactive,
    StravaMalformed,
    StravaNotFound,
    StravaRateLimited,
    StravaUnavailable,
)
from .rate import RateInfo, next_quarter_hour, next_utc_midnight
from .tokens import Tokens

log = logging.getLogger(__name__)

STRAVA_HOST_API = "https://www.strava.com/api/v3"
STRAVA_HOST_OAUTH = "https://www.strava.com/oauth"
SCOPES = ["activity:read_all", "profile:read_all"]
REFRESH_MARGIN_S = 300  # refresh an access token this long before it expires


def _make_session(
    api_url: str,
    oauth_url: str,
    timeout_s: float,
    before: Callable[[str, str], None],
    after: Callable[[str, str, Any], None],
) -> Any:
    import requests  # imported when first used: see the module docstring

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
    from stravalib.protocol import ApiV3  # imported when first used: see the module docstring

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
        from stravalib import exc  # imported when first used: see the module docstring

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
            raise transport_error(err) from err
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
        from stravalib import exc  # imported when first used: see the module docstring

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
            raise transport_error(err) from err
        self._install(self.tokens)

    # API reads
    def get_json(self, path: str, now: datetime, **params: Any) -> Any:
        """One API read: budget check, fresh token, one retry after a refresh on a 401."""
        from stravalib import exc  # imported when first used: see the module docstring

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
                raise classify_fault(err, self.rate, now) from err
            except Exception as err:
                raise transport_error(err) from err
        raise AssertionError("unreachable")


def classify_fault(err: Any, rate: RateInfo, now: datetime) -> StravaError:
    """The calfsync error for a stravalib fault that is not a 401, 403 Inactive or 404: a 429
    waits for the window (the day when ``rate`` shows a daily limit used up), another 403 means
    a missing scope, anything else is retried."""
    status = getattr(err.response, "status_code", 0)
    if status == 429:
        daily = rate.daily_exhausted()
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


def transport_error(err: BaseException) -> StravaError:
    """Map requests' and json's exceptions to a retryable :class:`StravaUnavailable`."""
    if isinstance(err, StravaError):
        return err
    import requests  # imported when first used: see the module docstring

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
