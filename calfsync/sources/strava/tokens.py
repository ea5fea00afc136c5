"""Strava credentials and tokens: the app's client id and secret, the athlete's token file.

The token file (``<db stem>.strava-token.json`` next to the database, mode 0600) holds
``access_token``, ``refresh_token``, ``expires_at`` (epoch seconds), ``athlete`` (id and name)
and ``updated_at``. Strava rotates the refresh token on every refresh and invalidates the old
one, so each token reply is written at once (temporary file, fsync, rename) and refreshes take
an exclusive lock shared by every calfsync process. Tokens never reach the database or a log:
each one is registered with calfsync's log redaction as soon as it is read or received.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from ...config import Config
from ...errors import ConfigError
from ...model import utc_iso
from ...secrets import register, resolve_secret

log = logging.getLogger(__name__)


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
        """The tokens of a token reply or of the token file; None when a field is missing."""
        try:
            return cls(
                access_token=str(data["access_token"]),
                refresh_token=str(data["refresh_token"]),
                expires_at=int(data["expires_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


# --- the app's credentials ---------------------------------------------------------------------


def credentials(cfg: Config, env: Mapping[str, str] | None = None) -> tuple[int, str] | None:
    """``(client_id, client_secret)`` from ``[strava]``, ``client_secret_file`` or
    ``$CREDENTIALS_DIRECTORY/strava_client_secret``; None when either is missing.

    Raises :class:`ConfigError` for a client id that is not a number or an unreadable file.
    """
    section = cfg.strava.as_dict()
    client_id = cfg.strava.client_id
    if client_id in (None, ""):
        return None
    try:
        cid = int(str(client_id).strip())
    except ValueError as exc:
        raise ConfigError(
            f"[strava] client_id must be the numeric Client ID shown at "
            f"https://www.strava.com/settings/api (got {client_id!r})"
        ) from exc
    secret = resolve_secret(section, "client_secret", owner="strava", env=env)
    if not secret:
        # LoadCredential=calfsync:/etc/calfsync/credentials names files calfsync_<file>
        secret = resolve_secret({}, "client_secret", owner="calfsync_strava", env=env)
    if not secret:
        return None
    return cid, secret


def configured(cfg: Config, env: Mapping[str, str] | None = None) -> bool:
    """Whether Strava is enabled and has a client id and secret (a secret file that cannot be
    read still counts: the cycle then reports the error)."""
    if not cfg.strava.enabled:
        return False
    try:
        return credentials(cfg, env) is not None
    except ConfigError:
        return True


# --- the token file ----------------------------------------------------------------------------


def db_file(db: sqlite_utils.Database) -> Path:
    """The file behind ``db`` (its ``main`` database)."""
    for _seq, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return Path(path)
    raise ConfigError("Strava needs a database file (an in-memory database cannot hold tokens)")


def token_path(db: sqlite_utils.Database) -> Path:
    """The 0600 token file next to the database.

    ``calfsync.db`` -> ``calfsync.strava-token.json``.
    """
    path = db_file(db)
    return path.with_name(path.stem + ".strava-token.json")


def load_tokens(path: Path) -> dict[str, Any] | None:
    """The token file's content, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cannot read the Strava token file %s: %s", path, exc.__class__.__name__)
        return None
    return data if isinstance(data, dict) else None


def stored_tokens(path: Path) -> Tokens | None:
    """The tokens in the file at ``path``, registered for log redaction; None when none."""
    tokens = Tokens.from_reply(load_tokens(path) or {})
    if tokens is not None:
        register(tokens.access_token)
        register(tokens.refresh_token)
    return tokens


def save_tokens(path: Path, data: Mapping[str, Any]) -> None:
    """Write the token file atomically with mode 0600 (temp file, fsync, rename, fsync dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".strava-token.", dir=str(path.parent))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(dict(data), fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; a file system that refuses is left as it is."""
    try:
        dir_fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_token_reply(path: Path, new: Tokens, reply: Mapping[str, Any], now: datetime) -> None:
    """Merge a token reply into the token file at once (Strava has already invalidated the
    previous refresh token); the athlete of a code exchange is kept as id and name."""
    register(new.access_token)
    register(new.refresh_token)
    data = dict(load_tokens(path) or {})
    data.update(
        access_token=new.access_token,
        refresh_token=new.refresh_token,
        expires_at=new.expires_at,
        updated_at=utc_iso(now),
    )
    athlete = reply.get("athlete")
    if isinstance(athlete, dict) and athlete.get("id") is not None:
        data["athlete"] = {"id": athlete["id"], "name": athlete_name(athlete)}
    save_tokens(path, data)


@contextmanager
def token_lock(path: Path) -> Iterator[None]:
    """An exclusive lock around a token refresh, shared by every calfsync process (the daemon,
    `calfsync sync`, `auth strava`), so two never spend the same refresh token."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(str(lock_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def fingerprint(token: str) -> str:
    """A SHA-256 prefix that recognizes a token again without storing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def athlete_name(athlete: Mapping[str, Any]) -> str:
    """The first and last name of a Strava athlete reply ("" when it has neither)."""
    return " ".join(str(athlete.get(k) or "") for k in ("firstname", "lastname")).strip()
