"""The ``fit_files`` and ``seen_paths`` tables: what the FIT import recorded, file by file.

This module is their only writer. ``fit_files`` holds one row per distinct FIT content (its
sha256, after gunzip) with its status (imported | skipped | failed), the reason in words and the
ids of its activities; a content found again is a duplicate and is never stored twice.
``seen_paths`` holds each file on disk fully handled, with its size and mtime, so an inbox scan
reads only what changed. Writes join the caller's transaction, so a batch of files, their
activities and their paths are stored together or not at all.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import sqlite_utils

from ..model import Activity, utc_iso
from .activities import save_activities
from .db import is_database_problem, write_tx

log = logging.getLogger(__name__)


@dataclass
class FitFile:
    """One distinct FIT content and what reading it gave: what :func:`save_fit_file` stores.

    ``path`` is the content's label (a path, or ``archive.zip!entry`` for a zip entry);
    ``status`` imported | skipped | failed, with ``reason`` in words.
    """

    sha256: str
    path: str
    size_bytes: int
    status: str
    reason: str | None = None
    activities: list[Activity] = field(default_factory=list)
    salvaged: bool = False

    @classmethod
    def of(cls, sha256: str, path: str, size_bytes: int, result: Outcome) -> FitFile:
        """The file as one parse of it (``sources.fit.parse.FitResult``) left it."""
        return cls(
            sha256,
            path,
            size_bytes,
            result.status,
            result.reason,
            result.activities,
            result.salvaged,
        )


class Outcome(Protocol):
    """What reading a FIT content gave (``sources.fit.parse.FitResult`` has this shape)."""

    status: str
    reason: str | None
    activities: list[Activity]
    salvaged: bool


@dataclass
class SavedFile:
    """What :func:`save_fit_file` stored: the status (``failed`` when the activities could not
    be stored), the activity ids as stored, and the local dates whose load changed."""

    status: str
    reason: str | None
    salvaged: bool
    activity_ids: list[str] = field(default_factory=list)
    changed_dates: set[str] = field(default_factory=set)


def is_recorded(db: sqlite_utils.Database, sha256: str) -> bool:
    """Whether this content already has its ``fit_files`` row (then it is a duplicate)."""
    row = db.execute("SELECT 1 FROM fit_files WHERE sha256 = ?", [sha256]).fetchone()
    return row is not None


def save_fit_file(
    db: sqlite_utils.Database, file: FitFile, imported_at: datetime
) -> SavedFile | None:
    """Store a file's activities and its ``fit_files`` row; None when the content is already
    recorded (a duplicate: nothing is written).

    The activities are stored in a savepoint: when they cannot be stored (a bug, bad data) that
    rolls back alone and the file is recorded as ``failed`` with the reason, the others go on.
    A database problem (disk full, lock held, read-only) is not the file's fault: it is raised,
    so the caller's transaction rolls back whole and the file is read again next run.
    """
    if is_recorded(db, file.sha256):
        return None
    saved = SavedFile(file.status, file.reason, file.salvaged and file.status == "imported")
    if file.activities:
        try:
            with write_tx(db):
                result = save_activities(db, file.activities)
        except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
            if is_database_problem(exc):
                raise
            log.exception("storing %s failed", file.path)
            saved.status, saved.reason = "failed", f"could not store its activities ({exc})"
            saved.salvaged = False
        else:
            saved.activity_ids = [result.ids.get(a.id, a.id) for a in file.activities]
            saved.changed_dates = result.changed_dates
    ids = saved.activity_ids
    db["fit_files"].insert(
        {
            "sha256": file.sha256,
            "path": file.path,
            "size_bytes": file.size_bytes,
            "status": saved.status,
            "reason": saved.reason,
            "activity_id": ids[0] if ids else None,
            "activity_ids": json.dumps(ids) if ids else None,
            "salvaged": int(saved.salvaged),
            "imported_at": utc_iso(imported_at),
        },
        ignore=True,
    )
    return saved


def seen_paths(db: sqlite_utils.Database) -> dict[str, tuple[int, int]]:
    """Every file path already handled, with the (size in bytes, mtime in ns) it had then."""
    rows = db.execute("SELECT path, size_bytes, mtime_ns FROM seen_paths")
    return {path: (size_bytes, mtime_ns) for path, size_bytes, mtime_ns in rows}


def seen_as(db: sqlite_utils.Database, paths: list[str]) -> dict[str, tuple[int, int]]:
    """The (size in bytes, mtime in ns) each of ``paths`` had when it was handled (paths never
    handled are left out): primary-key lookups, a few hundred per query, for a scan that looks
    at some files, not the whole table."""
    seen: dict[str, tuple[int, int]] = {}
    for i in range(0, len(paths), 500):
        chunk = paths[i : i + 500]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT path, size_bytes, mtime_ns FROM seen_paths WHERE path IN ({marks})"
        seen.update((path, (size, mtime)) for path, size, mtime in db.execute(sql, chunk))
    return seen


def mark_seen(
    db: sqlite_utils.Database, path: str, size_bytes: int, mtime_ns: int, sha256: str
) -> None:
    """Record that every content of the file at ``path`` is stored, as it was on disk."""
    db["seen_paths"].upsert(
        {"path": path, "size_bytes": size_bytes, "mtime_ns": mtime_ns, "sha256": sha256},
        pk="path",
    )
