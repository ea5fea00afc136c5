"""Helpers for the FIT tests: runs built in code with calfsync's own FIT writer."""

from __future__ import annotations

import gzip
import io
import math
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from calfsync.config import Config, validate
from calfsync.fitwriter import LapSpec, SessionSpec, encode_activity
from calfsync.store.db import open_db

__all__ = ["LapSpec", "SessionSpec", "encode_activity"]


def at(*parts: int) -> datetime:
    """An aware UTC datetime: ``at(2026, 3, 1, 7)``."""
    return datetime(*parts, tzinfo=UTC)


def hills(amplitude_m: float = 20.0, period_s: float = 600.0, base_m: float = 120.0) -> Any:
    """An altitude profile: rolling hills, ``amplitude_m`` above and below ``base_m``."""
    return lambda t: base_m + amplitude_m * math.sin(2 * math.pi * t / period_s)


def run(
    start: datetime,
    km: float = 10.0,
    minutes: float = 50.0,
    **kwargs: Any,
) -> SessionSpec:
    """A run session of ``km`` in ``minutes`` starting at ``start`` (UTC)."""
    kwargs.setdefault("heart_rate_bpm", 150.0)
    return SessionSpec(start=start, duration_s=minutes * 60, distance_m=km * 1000, **kwargs)


def run_file(start: datetime, km: float = 10.0, minutes: float = 50.0, **file_kw: Any) -> bytes:
    """A one-session running FIT file."""
    return encode_activity([run(start, km, minutes)], **file_kw)


def make_config(tmp_path: Path, timezone: str = "Europe/Paris", **fit: Any) -> Config:
    """A validated config with the database and inbox under ``tmp_path``."""
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    section = {"inbox": [str(inbox)], **fit}
    return validate(
        {
            "database": {"path": str(tmp_path / "calfsync.db")},
            "fit": section,
            "athlete": {"timezone": timezone},
        }
    )


def make_db(cfg: Config) -> sqlite_utils.Database:
    return open_db(cfg.db_path)


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A zip archive holding ``entries`` (name -> content)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def fit_files(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """The fit_files rows keyed by the last part of their path label."""
    out = {}
    for row in list(db.query("SELECT * FROM fit_files")):
        out[row["path"].rsplit("/", 1)[-1]] = row
    return out


def activities(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM activities ORDER BY start_time"))


def table_counts(db: sqlite_utils.Database) -> dict[str, int]:
    return {
        name: db.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
        for name in ("activities", "fit_files", "seen_paths")
    }
