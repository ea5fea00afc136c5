"""What ``calfsync doctor`` checks: everything calfsync depends on, and the fix for each problem.

Checks, in order: the configuration; the database (present or creatable, writable, schema
current); each inbox (a readable folder); each enabled push channel (ntfy: ``GET /v1/health``;
the others: any HTTP answer from the service's base URL; console: nothing to reach); Strava
(client credentials, token present, not needing re-authorization); the folder of ``[report]
path`` when set (exists, writable); the MQTT broker when ``[mqtt] host`` is set (a connect and
disconnect). Nothing is written and no push is sent. Each check returns a :class:`Check`; the
command prints them.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlite_utils

from .config import Config
from .daemon import strava_configured
from .errors import CalfsyncError
from .ingest import intervals as intervals_sync
from .model import parse_utc
from .notify.outbox import resolve_channel
from .outputs import mqtt as mqtt_output
from .secrets import redact, redact_url, resolve_secret
from .sources.intervals.errors import IntervalsError
from .store.migrations import MIGRATIONS

DEFAULT_URLS = {
    "ntfy": "https://ntfy.sh",
    "pushover": "https://api.pushover.net",
    "telegram": "https://api.telegram.org",
}
HTTP_TIMEOUT_S = 5.0


@dataclass
class Check:
    """One line of the report: ``ok`` / ``warn`` / ``FAIL``, what was checked, the fix."""

    name: str
    level: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str | None = None


def check_config(obj: Any) -> tuple[Config | None, Check]:
    try:
        cfg = obj.config
    except CalfsyncError as exc:
        return None, Check(
            "config",
            "fail",
            str(exc),
            "edit the file named above; `calfsync config validate` checks it again",
        )
    where = str(cfg.path) if cfg.path else "no config file (built-in defaults)"
    return cfg, Check("config", "ok", where)


def check_database(cfg: Config) -> Check:
    """Present (or creatable), writable by this user, schema current. Never writes."""
    path = cfg.db_path
    folder = path.parent
    try:
        path.stat()
        exists = True
    except PermissionError:
        return Check(
            "database",
            "fail",
            f"{path}: permission denied",
            "run doctor as the daemon's user (sudo -u calfsync calfsync doctor); to read the "
            "database from your account, join the calfsync group",
        )
    except OSError:
        exists = False
    if not exists:
        existing = next((p for p in [folder, *folder.parents] if p.exists()), folder)
        if os.access(existing, os.W_OK | os.X_OK):
            return Check("database", "ok", f"{path} does not exist yet; the first run creates it")
        return Check(
            "database",
            "fail",
            f"{path} does not exist and {existing} is not writable by this user",
            f"create {folder} for the calfsync user (systemd's StateDirectory= does it) or set "
            "[database] path to a writable place",
        )
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK | os.X_OK):
        return Check(
            "database",
            "fail",
            f"{path} (or its folder, for the -wal/-shm and lock files) is not writable by "
            "this user",
            "run doctor as the daemon's user (sudo -u calfsync calfsync doctor), or give that "
            f"user ownership: chown -R calfsync:calfsync {folder}",
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
        try:
            db = sqlite_utils.Database(conn)
            pending = [m.name for m in MIGRATIONS.pending(db)]
            journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
            integrity = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check(
            "database",
            "fail",
            f"{path}: {exc}",
            "if the file is damaged, restore a backup; `sqlite3 FILE .recover` can salvage rows",
        )
    if integrity != "ok":
        return Check(
            "database",
            "fail",
            f"{path}: integrity check says {integrity}",
            "stop the daemon, back the file up, then `sqlite3 FILE .recover`",
        )
    size = path.stat().st_size / 1e6
    if pending:
        return Check(
            "database",
            "warn",
            f"{path}: {len(pending)} migration(s) pending ({', '.join(pending)})",
            "they run automatically at the next start (systemctl restart calfsync)",
        )
    return Check("database", "ok", f"{path} ({size:.1f} MB, journal {journal}, schema current)")


def check_inboxes(cfg: Config) -> list[Check]:
    checks = []
    for inbox in cfg.inboxes:
        parent = next((p for p in inbox.parents if p.exists()), inbox.parent)
        if not inbox.exists() and os.access(parent, os.W_OK | os.X_OK):
            checks.append(
                Check(
                    "inbox",
                    "warn",
                    f"{inbox} does not exist yet",
                    "the daemon creates it at start (or: mkdir -p the folder)",
                )
            )
        elif not inbox.exists():
            checks.append(
                Check(
                    "inbox",
                    "fail",
                    f"{inbox} does not exist",
                    f"create it (mkdir -p {inbox}) or fix [fit] inbox; the daemon creates missing "
                    "inboxes when it may",
                )
            )
        elif not inbox.is_dir():
            checks.append(
                Check(
                    "inbox",
                    "fail",
                    f"{inbox} is not a folder",
                    "[fit] inbox lists folders, not files",
                )
            )
        elif not os.access(inbox, os.R_OK | os.X_OK):
            checks.append(
                Check(
                    "inbox",
                    "fail",
                    f"{inbox} is not readable by this user",
                    "give the calfsync user read access (e.g. chgrp -R calfsync the folder and "
                    "chmod g+rX); it must not be under InaccessiblePaths= in the unit",
                )
            )
        else:
            files = sum(1 for _ in _limited(inbox.iterdir(), 100_000))
            checks.append(Check("inbox", "ok", f"{inbox} ({files} entries)"))
    return checks


def _limited(iterator: Any, limit: int) -> Any:
    for i, item in enumerate(iterator):
        if i >= limit:
            return
        yield item


def check_channel(chan: dict[str, Any]) -> Check:
    """Reachability only: nothing is published."""
    kind, name = chan["type"], f"push {chan['name']}"
    if not chan.get("enabled", True):
        return Check(name, "ok", f"{kind}: disabled")
    if kind == "console":
        return Check(name, "ok", "console: prints to the daemon's log, nothing to reach")
    if kind == "apprise":
        return Check(
            name,
            "warn",
            "apprise: services not checked",
            "send a test push with `calfsync notify test`",
        )
    try:
        resolve_channel(chan)
    except CalfsyncError as exc:
        return Check(name, "fail", redact(str(exc)), "fix the *_file path or its permissions")
    base = str(chan.get("url") or DEFAULT_URLS.get(kind, "")).rstrip("/")
    if not base:
        return Check(name, "fail", f"{kind}: no url", f"set url in the {kind} channel table")
    shown = redact_url(base if kind != "webhook" else _origin(base))
    timeout = float(chan.get("timeout_s") or HTTP_TIMEOUT_S)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as client:
            if kind == "ntfy":
                response = client.get(f"{base}/v1/health")
                healthy = response.status_code == 200 and _json(response).get("healthy") is True
                if not healthy:
                    return Check(
                        name,
                        "fail",
                        f"ntfy {shown}/v1/health answered {response.status_code}",
                        "check the ntfy url (the server, without the topic) and that the "
                        "server is up",
                    )
                return Check(name, "ok", f"ntfy {shown} healthy")
            response = client.get(base if kind != "webhook" else _origin(base))
    except httpx.HTTPError as exc:
        return Check(
            name,
            "fail",
            f"{kind} {shown} unreachable: {redact(str(exc)) or type(exc).__name__}",
            "check the url, DNS and the network (a firewall, a proxy; with systemd, "
            "RestrictAddressFamilies= and IPAddressDeny= in the unit)",
        )
    return Check(name, "ok", f"{kind} {shown} reachable (HTTP {response.status_code})")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _json(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_strava(cfg: Config, now: datetime) -> list[Check]:
    """Credentials in the config and the token state the Strava source keeps in ``state``."""
    if not strava_configured(cfg):
        return [Check("strava", "ok", "not configured (FIT files only)")]
    checks = []
    try:
        secret = resolve_secret(cfg.strava.as_dict(), "client_secret", owner="strava")
    except CalfsyncError as exc:
        return [Check("strava", "fail", str(exc), "fix [strava] client_secret_file")]
    if not secret:
        checks.append(
            Check(
                "strava",
                "fail",
                "no client secret",
                "set [strava] client_secret_file, or LoadCredential=strava_client_secret:FILE "
                "in the unit",
            )
        )
    state = _strava_state(cfg.db_path)
    status = state.get("strava.status")
    expires = state.get("strava.token_expires_at")
    if status in ("needs_reauth", "needs_auth") or (not expires and status != "inactive"):
        checks.append(
            Check(
                "strava token",
                "fail",
                "no usable token" if not expires else "Strava refused the token",
                "run `calfsync auth strava` and follow the link",
            )
        )
    elif status == "inactive":
        checks.append(
            Check(
                "strava",
                "fail",
                "the Strava app is Inactive (403)",
                "the Strava API now needs a paid developer subscription; subscribe, or set "
                "[strava] enabled = false (FIT import keeps working)",
            )
        )
    else:
        try:
            expired = parse_utc(expires) <= now if expires else False
        except ValueError:
            expired = False
        if expired:
            checks.append(
                Check(
                    "strava token",
                    "ok",
                    f"access token expired {expires}; refreshed at the next poll",
                )
            )
        else:
            checks.append(Check("strava token", "ok", f"present, valid until {expires}"))
    return checks


def check_intervals(cfg: Config) -> Check:
    """One GET of the athlete with the configured key: a wrong key or athlete id names the fix."""
    if not intervals_sync.configured(cfg):
        return Check("intervals", "ok", "not configured")
    try:
        with intervals_sync.make_client(cfg) as client:
            athlete = client.athlete()
    except (CalfsyncError, IntervalsError) as exc:
        return Check("intervals", "fail", redact(str(exc)))  # each message names its fix
    name = athlete.get("name") or "(no name)"
    return Check("intervals", "ok", f"the API key reads athlete {athlete.get('id')} ({name})")


def check_mqtt(cfg: Config) -> list[Check]:
    """The MQTT broker, when ``[mqtt] host`` is set: connect as calfsync and disconnect."""
    if not cfg.mqtt.host:
        return []
    try:
        where = mqtt_output.probe(cfg)
    except CalfsyncError as exc:
        return [Check("mqtt", "fail", str(exc), "fix what the message names in [mqtt]")]
    return [Check("mqtt", "ok", f"broker {where} accepts calfsync")]


def check_report(cfg: Config) -> list[Check]:
    """``[report] path``, when set: a file name in a folder that exists and calfsync's user may
    write (the daemon would otherwise fail its report step after every change)."""
    if not cfg.report.path:
        return []
    page = Path(cfg.report.path)
    folder = page.parent
    if page.is_dir():
        return [
            Check(
                "report", "fail", f"{page} is a folder", f"set [report] path to {page}/index.html"
            )
        ]
    if not folder.is_dir():
        return [
            Check(
                "report",
                "fail",
                f"the folder {folder} of [report] path does not exist",
                f'create it (README "Report page": sudo install -d -o calfsync -g www-data '
                f"-m 2750 {folder}) or fix [report] path",
            )
        ]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            Check(
                "report",
                "fail",
                f"{folder} is not writable by this user",
                f"make it writable by the user running calfsync (chown calfsync {folder})",
            )
        ]
    return [Check("report", "ok", f"the daemon can write {page}")]


def _strava_state(db_path: Path) -> dict[str, str]:
    if not db_path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=15)
        try:
            return dict(
                conn.execute(
                    "SELECT key, value FROM state WHERE key LIKE 'strava.%' AND value IS NOT NULL"
                ).fetchall()
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return {}


def run_checks(obj: Any, now: datetime) -> list[Check]:
    """Every check, in order; stops after the configuration when that fails."""
    cfg, first = check_config(obj)
    checks = [first]
    if cfg is None:
        return checks
    checks.append(check_database(cfg))
    checks.extend(check_inboxes(cfg))
    checks.extend(check_channel(c) for c in cfg.channels)
    checks.extend(check_strava(cfg, now))
    checks.extend(check_report(cfg))
    checks.extend(check_mqtt(cfg))
    checks.append(check_intervals(cfg))
    return checks
