"""``calfsync auth strava``'s flow without its prompts: authorization address, code exchange,
the state it resets, and the first read of the athlete's shoe list.

The command (:mod:`calfsync.cli.auth`) shows the address and collects the answer through
``ask_code`` and reports warnings through ``warn``; nothing here prints. The HTTP parts (the
code's parsing, the one-shot callback server) are :mod:`calfsync.sources.strava.auth`.
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import CalfsyncError
from ..sources.strava.auth import CALLBACK_PATH, check_scope, parse_code
from ..sources.strava.errors import StravaError, StravaInactive
from ..sources.strava.state import Key
from ..store.state import get_state, set_state
from .strava import StravaReport, make_client, sync_athlete
from .strava_save import save_auth_state, save_authorized


def authorize(
    ctx_obj: Any,
    code_or_url: str | None,
    listen: int | None,
    ask_code: Callable[[str, str], str],
    warn: Callable[[str], None],
) -> dict[str, Any]:
    """The whole flow; returns the athlete summary.

    Without ``code_or_url``, ``ask_code(url, state)`` shows the authorization address and returns
    what came back (pasted, or received with ``--listen``); ``warn`` gets each warning. Nothing
    here prints: the command supplies both.
    """
    cfg, db = ctx_obj.config, ctx_obj.db
    client = make_client(db, cfg, require_tokens=False)
    # The state of the address printed last is kept, so a later `--code URL` run can check that
    # the pasted address answers it; a bare code carries no state and is taken as it is.
    state = pysecrets.token_urlsafe(12) if code_or_url is None else get_state(db, Key.AUTH_STATE)
    redirect = cfg.strava.redirect_uri
    if listen is not None:
        redirect = f"http://127.0.0.1:{listen}{CALLBACK_PATH}"
    if code_or_url is None:
        save_auth_state(db, state)
        code_or_url = ask_code(client.authorization_url(redirect, state=state), state)
    code, scope = parse_code(code_or_url, expected_state=state)
    try:
        _tokens, athlete = client.exchange_code(code)
    except StravaError as exc:
        raise CalfsyncError(str(exc)) from exc
    for warning in check_scope(scope):
        warn(warning)
    save_authorized(db, athlete)
    try:
        athlete = sync_athlete(db, client, datetime.now(UTC), StravaReport()) or athlete
    except StravaInactive as exc:
        warn(f"Strava {exc}")
    except StravaError as exc:
        warn(f"could not read your shoe list yet ({exc}); the next sync will")
    finally:
        set_state(db, Key.RATE, client.rate.to_json())
    return athlete
