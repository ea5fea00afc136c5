"""``calfsync auth strava``'s HTTP side: the pasted code, the granted scopes, the callback server.

Strava's OAuth needs a browser once. On a server without one, calfsync prints the authorization
URL; you open it on any computer, approve, and your browser is sent to
``http://localhost/exchange_token?...&code=...`` (nothing needs to listen there: the page fails
to load, which is fine). Paste that address (or just the code) back, or pass it with
``--code``. ``--listen PORT`` instead runs a one-shot callback server on 127.0.0.1:PORT (reach it
through ``ssh -L PORT:127.0.0.1:PORT``). The tokens go to a 0600 file next to the database.

Nothing here writes a row or prints: the flow that exchanges the code and resets the Strava
state is :mod:`calfsync.ingest.strava_auth`, the prompts are :mod:`calfsync.cli.auth`.
"""

from __future__ import annotations

import hmac
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ...errors import CalfsyncError

CALLBACK_PATH = "/exchange_token"
LISTEN_TIMEOUT_S = 600


def parse_code(text: str, expected_state: str | None = None) -> tuple[str, str | None]:
    """The authorization code and granted scope from a pasted redirect URL or a bare code.

    Raises :class:`CalfsyncError` when Strava reported a refusal, the URL has no code, or the
    ``state`` is missing or does not match the one calfsync sent: an address carries a state so
    that a link someone else made (login CSRF: their code, your token file) is refused. A bare
    code carries none and is taken as it is: the runner typed it themselves.
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
    state = (query.get("state") or [""])[0]
    if not expected_state:
        raise CalfsyncError(
            "no authorization is in progress to check that address against (its state= "
            "cannot be verified): run `calfsync auth strava` and paste where the printed "
            "address lands, or give just the code= value"
        )
    if not state:
        raise CalfsyncError(
            "that address has no state= in it, so it cannot be told from a forged one: paste "
            "the full address the printed authorization address led to, or give just the "
            "code= value"
        )
    if not hmac.compare_digest(state, expected_state):
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
    """Serve 127.0.0.1:``port`` until the callback path is requested with ``expected_state``;
    return that request's full URL.

    A request whose state is missing or wrong is answered 403 and ignored (the server goes on
    waiting): anything that can reach the port could otherwise slip its own code in.
    """
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
            query = parse_qs(parts.query)
            state = (query.get("state") or [""])[0]
            if not state or not hmac.compare_digest(state, expected_state):
                # Not the redirect of the address calfsync printed (a forged or stale link):
                # nothing is exchanged, and the server keeps waiting for the real one.
                self._answer(
                    403,
                    "calfsync: refused: this request's state= is missing or does not match the "
                    "authorization address calfsync printed, so its code was not used. Open "
                    "the address shown in the terminal.",
                )
                return
            received["url"] = f"http://127.0.0.1:{port}{self.path}"
            if query.get("code"):
                self._answer(200, "calfsync: Strava authorized. You can close this tab.")
            else:
                self._answer(400, "calfsync: no authorization code received. See the terminal.")
            done.set()

        def _answer(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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
