"""What ``calfsync status`` reports: is calfsync working, and does it need the runner?

Reads the database read-only (``?mode=ro``), so a runner's own account in the ``calfsync`` group
can ask while the daemon writes. What it reads from the ``state`` table:

- ``cycle.<step>.last_ok`` / ``last_run`` / ``last_error`` for each step of
  :data:`calfsync.sync.STEPS` (written by :mod:`calfsync.sync`);
- ``daemon.next.<job>``: the daemon's next scheduled run of each job (:mod:`calfsync.daemon`);
- ``strava.status`` (``ok`` | ``needs_reauth`` | ``inactive`` | ``rate_limited`` | ``error``),
  ``strava.message`` and ``strava.rate_limited_until`` when the Strava source keeps them.
- ``intervals.*`` (:mod:`calfsync.sources.intervals.state`): the intervals.icu poll's status and
  its counts (imported, Strava-sourced skipped, refused, unreadable).

It also lists the suspect activities (``activities.suspect``: a ride saved as a run, an
altimeter fault...) that no rule counts until the runner confirms or corrects them with
``calfsync activity``. They are not problems: a bad file left as it is harms nothing.

The report is not ``ok`` (and ``status`` exits 1) when the last successful scan, delivery,
Strava or intervals.icu poll is older than three intervals, or something needs the runner (a
failing step, Strava needing re-authorization or a subscription, pushes that died recently).
Secrets are never shown: :func:`config_secrets` lists them so the command can scrub its output.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .config import Config
from .daemon import daemon_pid, strava_configured
from .errors import CalfsyncError
from .ingest import intervals as intervals_sync
from .model import parse_utc
from .secrets import SECRET_KEYS, redact
from .sources.intervals.state import Key as IntervalsKey
from .sources.intervals.state import summary as intervals_summary
from .sync import STEPS

STALE_INTERVALS = 3
SUSPECTS_SHOWN = 20
DEAD_RECENT = timedelta(days=7)
STRAVA_FIXES = {
    "needs_reauth": "run `calfsync auth strava` to authorize calfsync again",
    "needs_auth": "run `calfsync auth strava` to connect your Strava account",
    "inactive": "the Strava API now needs a paid developer subscription for the app; subscribe, "
    "or set [strava] enabled = false (FIT import keeps working)",
}


def open_readonly(path: Path) -> sqlite3.Connection:
    """Open the database read-only; raise :class:`CalfsyncError` with the fix if impossible."""
    try:
        path.stat()
    except PermissionError as exc:
        raise CalfsyncError(
            f"cannot read the database {path}: permission denied. Join the calfsync group "
            "(sudo usermod -aG calfsync $USER, then log in again) or run as the calfsync user."
        ) from exc
    except FileNotFoundError:
        raise CalfsyncError(
            f"no database at {path} yet: start the daemon (calfsync run, or systemctl start "
            "calfsync) or run `calfsync sync` once."
        ) from None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
        conn.execute("PRAGMA busy_timeout = 15000")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise CalfsyncError(
            f"cannot read the database {path}: {exc}. A runner's account needs to be in the "
            "calfsync group; while the daemon is stopped a read-only reader also needs write "
            "access to the folder (or open it with ?immutable=1)."
        ) from exc
    return conn


def _one(conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> Any:
    try:
        row = conn.execute(sql, params).fetchone()
    except sqlite3.OperationalError:  # table not there yet (older schema)
        return None
    return row[0] if row else None


def _state(conn: sqlite3.Connection) -> dict[str, str | None]:
    try:
        return dict(conn.execute("SELECT key, value FROM state").fetchall())
    except sqlite3.OperationalError:
        return {}


def parse_time(value: str | None) -> datetime | None:
    """A stored UTC time, or None when it is absent or unreadable."""
    try:
        return parse_utc(value) if value else None
    except ValueError:
        return None


def _last_ok(state: dict[str, str | None], step: str) -> str | None:
    """The step's last success. For Strava that is when Strava last answered
    (``strava.last_ok``): the step itself succeeds even when Strava refuses."""
    if step == "strava":
        return state.get("strava.last_ok") or None
    return state.get(f"cycle.{step}.last_ok")


def _strava_waiting(state: dict[str, str | None], now: datetime) -> bool:
    until = parse_time(state.get("strava.rate_limited_until") or state.get("strava.next_try"))
    return until is not None and until > now


def step_intervals(cfg: Config) -> dict[str, float]:
    """Seconds between two runs of each step that has a fixed interval."""
    out = {
        "fit": float(cfg.daemon.scan_seconds),
        "deliver": float(cfg.daemon.flush_seconds),
        "nightly": 86400.0,
    }
    if strava_configured(cfg):
        out["strava"] = cfg.strava.poll_minutes * 60.0
    if intervals_sync.configured(cfg):
        out["intervals"] = cfg.intervals.poll_minutes * 60.0
    return out


def collect(conn: sqlite3.Connection, cfg: Config, now: datetime) -> dict[str, Any]:
    """Everything ``status`` shows, as a JSON-ready dict with a ``problems`` list."""
    state = _state(conn)
    intervals = step_intervals(cfg)
    problems: list[str] = []
    steps: dict[str, dict[str, Any]] = {}
    for step in STEPS:
        info = {
            "last_ok": _last_ok(state, step),
            "last_run": state.get(f"cycle.{step}.last_run"),
            "last_error": state.get(f"cycle.{step}.last_error"),
            "next": state.get(f"daemon.next.{step}"),
            "interval_s": intervals.get(step),
        }
        steps[step] = info
        if info["last_error"]:
            problems.append(f"{step}: the last attempt failed: {info['last_error']}")
        if step == "strava" and _strava_waiting(state, now):
            continue  # paused on purpose (rate limit, back-off): not stale
        if step in ("fit", "deliver", "strava", "intervals") and step in intervals:
            last = parse_time(info["last_ok"])
            limit = timedelta(seconds=STALE_INTERVALS * intervals[step])
            if last is None:
                problems.append(
                    f"{step}: no successful run yet: start the daemon "
                    "(systemctl start calfsync) or run `calfsync sync`"
                )
            elif now - last > limit:
                problems.append(
                    f"{step}: last success {info['last_ok']} is older than {STALE_INTERVALS} "
                    f"intervals ({ago(limit)}): is the daemon running? "
                    "(systemctl status calfsync; journalctl -u calfsync)"
                )
    pid = daemon_pid(cfg.db_path)
    if pid is None:
        for info in steps.values():
            info["next"] = None  # nobody will run it: the daemon is not running

    pushes = _pushes(conn, now)
    if pushes["dead_recent"]:
        problems.append(
            f"pushes: {pushes['dead_recent']} push(es) failed for good in the last 7 days "
            f"({pushes['last_error'] or 'see `calfsync notify dead`'}); fix the channel, "
            "then `calfsync doctor`"
        )

    strava: dict[str, Any] | None = None
    strava_keys = {k[len("strava.") :]: v for k, v in state.items() if k.startswith("strava.")}
    if strava_configured(cfg) or strava_keys.get("status"):
        strava = {
            "configured": strava_configured(cfg),
            "status": strava_keys.get("status") or ("not polled yet"),
            "message": strava_keys.get("message"),
            "rate_limited_until": strava_keys.get("rate_limited_until"),
            "next_try": strava_keys.get("next_try"),
            "last_ok": strava_keys.get("last_ok"),
            "token_expires_at": strava_keys.get("token_expires_at"),
        }
        fix = STRAVA_FIXES.get(strava["status"] or "")
        if fix and strava["configured"]:
            problems.append(f"strava: {strava['status']}: {fix}")

    icu = state.get(IntervalsKey.STATUS) or intervals_sync.configured(cfg)
    size = sum(p.stat().st_size for p in _db_files(cfg.db_path))
    return {
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "database": {
            "path": str(cfg.db_path),
            "size_bytes": size,
            "schema_version": _one(conn, "PRAGMA user_version"),
        },
        "daemon": {"running": pid is not None, "pid": pid if pid and pid > 0 else None},
        "steps": steps,
        "activities": {
            "count": _one(conn, "SELECT COUNT(*) FROM activities WHERE deleted = 0") or 0,
            "runs": _one(conn, "SELECT COUNT(*) FROM runs") or 0,
            "first_date": _one(conn, "SELECT MIN(local_date) FROM activities WHERE deleted = 0"),
            "last_date": _one(conn, "SELECT MAX(local_date) FROM activities WHERE deleted = 0"),
        },
        "fit_files": {
            "imported": _one(conn, "SELECT COUNT(*) FROM fit_files WHERE status = 'imported'") or 0,
            "failed": _one(conn, "SELECT COUNT(*) FROM fit_files WHERE status = 'failed'") or 0,
            "last_import": _one(conn, "SELECT MAX(imported_at) FROM fit_files"),
        },
        "alerts": {
            "count": _one(conn, "SELECT COUNT(*) FROM alerts") or 0,
            "last_7_days": _one(
                conn,
                "SELECT COUNT(*) FROM alerts WHERE local_date >= ?",
                ((now - timedelta(days=7)).date().isoformat(),),
            )
            or 0,
        },
        "pushes": pushes,
        "suspects": suspect_activities(conn, SUSPECTS_SHOWN),
        "strava": strava,
        "intervals": intervals_summary(state) if icu else None,
        "problems": problems,
        "ok": not problems,
    }


def suspect_activities(conn: sqlite3.Connection, limit: int | None = None) -> list[dict[str, Any]]:
    """Unconfirmed suspect activities, newest first: id, date, sport, distance and the reason.
    Empty on a database older than the suspect column."""
    sql = (
        "SELECT id, local_date, sport, distance_m, suspect FROM activities "
        "WHERE suspect IS NOT NULL AND suspect_confirmed = 0 AND deleted = 0 "
        "ORDER BY local_date DESC, start_time DESC" + (f" LIMIT {int(limit)}" if limit else "")
    )
    try:
        rows = conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # an older schema, opened read-only before its upgrade
        return []
    return [
        {
            "id": r[0],
            "local_date": r[1],
            "sport": r[2],
            "distance_km": round((r[3] or 0.0) / 1000.0, 2),
            "reason": r[4],
        }
        for r in rows
    ]


def config_secrets(cfg: Config) -> list[str]:
    """Every secret value the configuration holds or points to (files that cannot be read,
    say from a runner's account, are skipped), so output can be scrubbed of them."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SECRET_KEYS and isinstance(value, str):
                    found.append(value)
                elif key in SECRET_KEYS and isinstance(value, list):
                    found.extend(v for v in value if isinstance(v, str))
                elif key.endswith("_file") and key[: -len("_file")] in SECRET_KEYS and value:
                    try:
                        found.append(Path(str(value)).expanduser().read_text().strip())
                    except OSError:
                        pass
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(cfg.as_dict())
    return [s for s in found if s]


def _pushes(conn: sqlite3.Connection, now: datetime) -> dict[str, Any]:
    counts = dict.fromkeys(("pending", "sending", "sent", "dead"), 0)
    try:
        for state, count in conn.execute("SELECT state, COUNT(*) FROM notify_outbox GROUP BY 1"):
            counts[state] = count
    except sqlite3.OperationalError:
        pass
    since = (now - DEAD_RECENT).strftime("%Y-%m-%dT%H:%M:%SZ")
    last_error = _one(
        conn,
        "SELECT channel || ': ' || last_error FROM notify_outbox WHERE state = 'dead' "
        "AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    if last_error:
        last_error = redact(last_error)
    return {
        "pending": counts["pending"] + counts["sending"],
        "sent": counts["sent"],
        "dead": counts["dead"],
        "dead_recent": _one(
            conn,
            "SELECT COUNT(*) FROM notify_outbox WHERE state = 'dead' AND created_at >= ?",
            (since,),
        )
        or 0,
        "next_attempt_at": _one(
            conn, "SELECT MIN(next_attempt_at) FROM notify_outbox WHERE state = 'pending'"
        ),
        "last_error": last_error,
    }


def _db_files(path: Path) -> list[Path]:
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return [p for p in files if p.exists()]


def ago(delta: timedelta) -> str:
    """A duration as a person says it: 90 s, 12 min, 5 h, 3 days."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def read_report(cfg: Config, now: datetime) -> dict[str, Any]:
    """Open the database read-only, :func:`collect` the report and close it again."""
    conn = open_readonly(cfg.db_path)
    try:
        return collect(conn, cfg, now)
    finally:
        conn.close()
