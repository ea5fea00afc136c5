"""Secrets: where a token comes from, and how it is kept out of logs, errors and ``status``.

A secret ``KEY`` of a config table is resolved, first match wins, from:

1. the value itself (``token = "tk_..."``),
2. a file named by ``KEY_file`` (``token_file = "/etc/calfsync/ntfy-token"``), trailing
   newline stripped,
3. systemd's credentials: ``$CREDENTIALS_DIRECTORY/<credential>``, where ``<credential>`` is
   ``<name>_<KEY>`` (``ntfy_token`` for a channel named ``ntfy``), as set with
   ``LoadCredential=ntfy_token:/etc/calfsync/ntfy-token`` in the unit.

Every resolved secret is registered; :func:`redact` replaces registered secrets, and
:class:`RedactingFilter` (installed on the ``httpx`` and ``calfsync`` loggers by
:func:`install_log_redaction`) does the same for log records. Telegram puts its bot token in
the URL path (``/bot<token>/sendMessage``): :func:`redact_url` hides that form even for a token
that was never registered.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

MASK = "***"
# Config keys whose values are secrets wherever they appear.
SECRET_KEYS = frozenset(
    {
        "token",
        "password",
        "secret",
        "client_secret",
        "user",
        "urls",
        "access_token",
        "refresh_token",
        "api_key",
        "reply_token",
        "headers",
    }
)
_registered: set[str] = set()
_lock = threading.Lock()
_BOT_PATH = re.compile(r"/bot[^/?#\s]+")
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_QUERY_SECRET = re.compile(
    r"(?P<key>[?&](?:token|key|secret|password|access_token|auth|user)=)[^&#\s]+", re.IGNORECASE
)


def credential_name(owner: str, key: str) -> str:
    """The systemd credential file name for ``key`` of the table named ``owner``."""
    return f"{owner}_{key}".replace("/", "_")


def resolve_secret(
    table: Mapping[str, Any],
    key: str,
    *,
    owner: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str | None:
    """Return the secret ``key`` of a config table, or None when none of the three places has it.

    ``owner`` names the table for the credentials directory (default: the table's ``name``).
    Raises :class:`ConfigError` when a ``*_file`` cannot be read: the message names the file,
    never its content.
    """
    env = os.environ if env is None else env
    value = table.get(key)
    if value not in (None, ""):
        register(str(value))
        return str(value)
    file_key = f"{key}_file"
    if table.get(file_key):
        path = Path(str(table[file_key])).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read {file_key} {path}: {exc.strerror or exc}. Check the path and that "
                "the calfsync user may read it (mode 0600 or 0640, owned by that user)."
            ) from exc
        register(text)
        return text or None
    cred_dir = env.get("CREDENTIALS_DIRECTORY")
    name = owner or table.get("name")
    if cred_dir and name:
        base = credential_name(str(name), key)
        for candidate in (base, f"calfsync_{base}"):  # the unit's folder credential prefixes
            path = Path(cred_dir) / candidate
            if path.is_file():
                text = path.read_text(encoding="utf-8").strip()
                register(text)
                return text or None
    return None


def register(secret: str | None) -> None:
    """Remember a secret so that :func:`redact` and the log filter hide it."""
    if secret and len(secret) >= 4:
        with _lock:
            _registered.add(secret)


def registered() -> frozenset[str]:
    """The secrets registered so far (handed to a child process, whose log hides them too)."""
    with _lock:
        return frozenset(_registered)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Hide registered secrets, the given ``secrets``, and secrets in URLs within ``text``."""
    if not text:
        return text
    with _lock:
        known = set(_registered)
    known.update(s for s in secrets if s and len(s) >= 4)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return redact_url(text)


def redact_url(text: str) -> str:
    """Hide the secret parts of URLs in ``text``: a Telegram ``/bot<token>`` path segment,
    ``user:password@`` userinfo and ``token=`` / ``key=`` style query parameters."""
    text = _BOT_PATH.sub("/bot" + MASK, text)
    text = _USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)
    return _QUERY_SECRET.sub(lambda m: m.group("key") + MASK, text)


def redact_mapping(table: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a config table (nested tables and lists included) fit for display."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "headers" and isinstance(value, Mapping):
            # Header names are useful to see; any value may be a credential (Authorization,
            # X-Api-Key, a cookie...), so every value is masked.
            out[key] = {name: MASK for name in value}
        elif key in SECRET_KEYS and value not in (None, ""):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = redact_mapping(value)
        elif isinstance(value, list):
            out[key] = [
                redact_mapping(v) if isinstance(v, Mapping) else _redact_any(v) for v in value
            ]
        else:
            out[key] = _redact_any(value)
    return out


def _redact_any(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message with secrets hidden (never drops the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        clean = redact(message)
        if clean != message:
            record.msg = clean
            record.args = None
        return True


_FILTER = RedactingFilter()


def install_log_redaction(names: Iterable[str] = ("httpx",)) -> None:
    """Attach the redacting filter to the named loggers and to the root logger's handlers
    (idempotent). A logger's filter sees only records logged on that very logger, so handlers
    set up later (the daemon's) should add :class:`RedactingFilter` too.

    httpx logs every request URL at INFO, and Telegram's URL holds the bot token.
    """
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
