"""``calfsync auth strava``: authorize calfsync to read an athlete's Strava data, headless.

Strava's OAuth needs a browser once. On a server without one, calfsync prints the authorization
URL; you open it on any computer, approve, and your browser is sent to
``http://localhost/exchange_token?...&code=...`` (nothing needs to listen there: the page fails
to load, which is fine). Paste that address (or just the code) back, or pass it with
``--code``. ``--listen PORT`` instead runs a one-shot callback server on 127.0.0.1:PORT (reach it
through ``ssh -L PORT:127.0.0.1:PORT``). The tokens go to a 0600 file next to the database.
"""

from __future__ import annotations

import json
import secrets as pysecrets
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click

from ...errors import CalfsyncError

CALLBACK_PATH = "/exchange_token"
LISTEN_TIMEOUT_S = 600


AUTH_STATE_KEY = "strava.auth_state"


def parse_code(text: str, expected_state: str | None = None) -> tuple[str, str | None]:
    """The authorization code and granted scope from a pasted redirect URL or a bare code.

    Raises :class:`CalfsyncError` when Strava reported a refusal, the URL has no code, or the
    ``state`` does not match the one calfsync sent.
    """
    text = text.strip()
    if not text:
        raise CalfsyncError("no code given: paste the address your browser was sent to")
    if "?" not in text and "=" not in text and "/" not in text:
        return text, None
    query = parse_qs(urlsplit(text if "?" in text else "?" + text).query)
    if query.get("error"):
        raise CalfsyncError(
            f"Strava reported '{query['error'][0]}': the authorization was not granted. Run "
            "`calfsync auth strava` again and press Authorize."
        )
    code = (query.get("code") or [""])[0]
    if not code:
        raise CalfsyncError(
            "that address has no code= in it: paste the full address of the page Strava sent "
            "your browser to (it starts with the redirect address, e.g. http://localhost/...)"
        )
    state = (query.get("state") or [None])[0]
    if expected_state and state and state != expected_state:
        raise CalfsyncError(
            "the address belongs to another authorization attempt (state mismatch): open the "
            "address printed by the latest `calfsync auth strava` and paste where it lands, or "
            "give just the code= value"
        )
    scope = (query.get("scope") or [None])[0]
    return code, scope


def check_scope(scope: str | None) -> list[str]:
    """Warnings for scopes the athlete left unticked on Strava's page."""
    if scope is None:
        return []
    granted = set(scope.split(","))
    warnings = []
    if "activity:read_all" not in granted:
        warnings.append(
            "the 'View data about your private activities' box was not ticked: private runs "
            "will be missing (run `calfsync auth strava` again to grant activity:read_all)"
        )
    if "profile:read_all" not in granted:
        warnings.append(
            "profile:read_all was not granted: calfsync cannot read your shoes' details"
        )
    return warnings


def listen_for_code(port: int, expected_state: str, timeout_s: float = LISTEN_TIMEOUT_S) -> str:
    """Serve one request on 127.0.0.1:``port`` at the callback path; return its full URL."""
    received: dict[str, str] = {}
    done = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self.send_error(404)
                return
            received["url"] = f"http://127.0.0.1:{port}{self.path}"
            query = parse_qs(parts.query)
            ok = bool(query.get("code")) and (query.get("state") or [""])[0] == expected_state
            body = (
                b"calfsync: Strava authorized. You can close this tab."
                if ok
                else b"calfsync: no authorization code received. See the terminal."
            )
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

    try:
        server = HTTPServer(("127.0.0.1", port), Callback)
    except OSError as exc:
        raise CalfsyncError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from exc
    server.timeout = 1.0
    try:
        deadline = datetime.now(UTC).timestamp() + timeout_s
        while not done.is_set():
            if datetime.now(UTC).timestamp() > deadline:
                raise CalfsyncError(
                    f"no authorization arrived on 127.0.0.1:{port} within {timeout_s:.0f} s"
                )
            server.handle_request()
    finally:
        server.server_close()
    return received["url"]


def authorize(ctx_obj: Any, code_or_url: str | None, listen: int | None) -> dict[str, Any]:
    """The whole flow; returns the athlete summary. Prints only through click."""
    from ...ingest import strava as strava_sync
    from ...store.db import get_state, set_state, write_tx
    from . import mapping as src

    cfg, db = ctx_obj.config, ctx_obj.db
    client = strava_sync.make_client(db, cfg, require_tokens=False)
    # The state of the address printed last is kept, so a later `--code URL` run can check that
    # the pasted address answers it; a bare code carries no state and is taken as it is.
    state = pysecrets.token_urlsafe(12) if code_or_url is None else get_state(db, AUTH_STATE_KEY)
    redirect = cfg.section("strava")["redirect_uri"]
    if listen is not None:
        redirect = f"http://127.0.0.1:{listen}{CALLBACK_PATH}"
    if code_or_url is None:
        with write_tx(db):
            set_state(db, AUTH_STATE_KEY, state)
        url = client.authorization_url(redirect, state=state)
        click.echo("Open this address in a browser (on any computer), log in to Strava and")
        click.echo("press Authorize:\n")
        click.echo(f"  {url}\n")
        if listen is not None:
            click.echo(f"Waiting for Strava's redirect on 127.0.0.1:{listen} (for a remote server:")
            click.echo(f"ssh -L {listen}:127.0.0.1:{listen} this-server, then open the address)...")
            code_or_url = listen_for_code(listen, state)
        else:
            click.echo("Your browser then goes to a page that does not load (that is expected).")
            code_or_url = click.prompt("Paste that page's address (or just the code)")
    code, scope = parse_code(code_or_url, expected_state=state)
    try:
        _tokens, athlete = client.exchange_code(code)
    except src.StravaError as exc:
        raise CalfsyncError(str(exc)) from exc
    for warning in check_scope(scope):
        click.echo(f"warning: {warning}", err=True)
    now = datetime.now(UTC)
    with write_tx(db):
        for key in (
            strava_sync.K_REJECTED,
            strava_sync.K_NEXT_TRY,
            strava_sync.K_LIMITED_UNTIL,
            strava_sync.K_FAILURES,
            strava_sync.K_NOTICE,
            AUTH_STATE_KEY,
        ):
            set_state(db, key, None)
        set_state(db, strava_sync.K_STATE, "ok")
        if athlete.get("id") is not None:
            name = strava_sync.athlete_name(athlete)
            set_state(db, strava_sync.K_ATHLETE, json.dumps({"id": athlete["id"], "name": name}))
        set_state(db, strava_sync.K_MESSAGE, "authorized; waiting for the first sync")
    report = strava_sync.StravaReport()
    try:
        athlete = strava_sync.sync_athlete(db, client, now, report) or athlete
    except src.StravaInactive as exc:
        click.echo(f"warning: Strava {exc}", err=True)
    except src.StravaError as exc:
        click.echo(
            f"warning: could not read your shoe list yet ({exc}); the next sync will", err=True
        )
    finally:
        set_state(db, strava_sync.K_RATE, client.rate.to_json())
    return athlete


@click.group(name="auth")
def auth_group() -> None:
    """Authorize calfsync with an online service."""


@auth_group.command(name="strava")
@click.option(
    "--code",
    "code_or_url",
    metavar="CODE_OR_URL",
    help="The code, or the whole address Strava redirected to (non-interactive).",
)
@click.option(
    "--listen",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="Run a one-shot callback server on 127.0.0.1:PORT instead of pasting.",
)
@click.pass_obj
def auth_strava(obj: Any, code_or_url: str | None, listen: int | None) -> None:
    """Authorize calfsync to read your Strava activities and shoes (works on a headless box)."""
    from ...ingest import strava as strava_sync

    athlete = authorize(obj, code_or_url, listen)
    name = strava_sync.athlete_name(athlete) or "the athlete"
    click.echo(f"Authorized as {name} (Strava athlete {athlete.get('id')}).")
    click.echo(f"Tokens saved to {strava_sync.token_path(obj.db)} (mode 0600).")
    click.echo(
        "Next: `calfsync sync` (a first sync reads your whole history, within Strava's "
        "rate limits)."
    )
