"""Importing account exports: read with :mod:`calfsync.sources.exports`, save with the stores.

- **Strava archive** (:func:`import_strava_archive`): every row of ``activities.csv`` is saved
  as a Strava activity (``strava:<id>``, name and shoe) through
  :func:`calfsync.store.activities.save_activities`, whose dedupe makes a run that is both in
  the archive and in the FIT inbox one row (device measures from the FIT file, name and shoe
  from Strava), whichever came first. A FIT file of the archive is also stored as the FIT
  import stores it (its ``fit_files`` row, by content hash), so the same file dropped in the
  inbox later is a duplicate. The files are read on every core (:mod:`.exports_pool`, unless
  ``[fit] workers`` says otherwise) and rows written 32 to a transaction, so memory
  does not grow with the archive and an import killed half-way is finished by the next one.
  Running it twice adds nothing: the same ids are saved with the same values.
- **Garmin export** (:func:`import_garmin_export`): the FIT files go through
  :func:`calfsync.ingest.fit.import_paths` as any zip does; then the summaries' names and the
  gear records' shoes are given to the FIT activities starting within a minute of them.

A shoe named by an export is the stored shoe of that name (case-insensitive), else a new one
(``shoes.csv`` or the gear record gives its brand and model).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from ..config import Config
from ..errors import CalfsyncError
from ..model import parse_utc, utc_iso
from ..sources.exports import STRAVA, kind_of, open_archive
from ..sources.exports.archive import Archive, MemberMissing, MemberUnreadable
from ..sources.exports.csv_dates import DateParts, DateProblem, day_first
from ..sources.exports.garmin import GarminSummary, read_garmin_export
from ..sources.exports.strava import RowActivities
from ..sources.exports.strava_csv import (
    MONTH_FIRST_LANGUAGES,
    ColumnMissing,
    read_activities_csv,
    read_shoes_csv,
)
from ..sources.fit.inputs import file_sha256
from ..store.activities import mark_dirty, save_activities, set_gear, set_name
from ..store.db import is_database_problem, write_tx
from ..store.fit_files import FitFile, is_recorded, mark_seen, save_fit_file
from ..store.gear import save_gear
from .exports_pool import read_rows
from .fit import ImportSummary, Progress, import_paths

log = logging.getLogger(__name__)

BATCH_ROWS = 32
MATCH_WINDOW_S = 60  # a Garmin summary names the FIT activity starting within a minute of it
T = TypeVar("T")
# Wraps the rows in an iterable over them, given their count: the import command's progress bar.
RowProgress = Callable[[Iterable[T], int], Iterable[T]]


@dataclass
class ExportSummary:
    """What importing one export did."""

    kind: str  # "strava" | "garmin"
    path: str
    csv_label: str = "activities.csv"  # how activities.csv is named in messages
    rows: int = 0
    by_format: dict[str, int] = field(default_factory=dict)  # fit | gpx | tcx | csv
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    named: int = 0
    shod: int = 0
    shoes_created: int = 0
    parents_skipped: int = 0
    fit: ImportSummary | None = None
    changed_dates: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        """The closing line for the runner."""
        if self.kind == "garmin":
            fit = self.fit.line() if self.fit else "no FIT files"
            return (
                f"Garmin export {self.path}: {fit}; names given {self.named}, shoes given "
                f"{self.shod} ({self.shoes_created} new shoes), multisport parents skipped "
                f"{self.parents_skipped}"
            )
        formats = ", ".join(f"{n} {k.upper()}" for k, n in sorted(self.by_format.items()))
        stored = sum(self.by_format.values())
        skipped = f", {self.rows - stored} rows skipped" if self.rows > stored else ""
        return (
            f"Strava archive {self.path}: {stored} activities ({formats or 'none'}){skipped}; "
            f"new {self.inserted}, updated {self.updated}, unchanged {self.unchanged}; "
            f"{self.shoes_created} new shoes; {len(self.problems)} problems "
            f"in {self.seconds:.1f} s"
        )


class _Shoes:
    """Shoe names to gear ids: the stored shoe of that name, else a new one."""

    def __init__(self, db: sqlite_utils.Database, details: dict[str, dict[str, Any]]) -> None:
        self.db = db
        self.details = details  # case-folded name -> {"brand", "model", ...}
        self.known: dict[str, str] = {}
        self.created = 0

    def gear_id(self, name: str, new_id: str) -> str:
        key = name.strip().casefold()
        if key in self.known:
            return self.known[key]
        found = self.db.execute(
            "SELECT id FROM gear WHERE lower(trim(name)) = lower(?) ORDER BY rowid LIMIT 1",
            [name.strip()],
        ).fetchone()
        if found:
            self.known[key] = found[0]
            return found[0]
        if self.db.execute("SELECT 1 FROM gear WHERE id = ?", [new_id]).fetchone():
            # another name made the same id ("Pegasus 40" and "pegasus-40"): keep both shoes
            new_id = f"{new_id}-{hashlib.sha256(key.encode()).hexdigest()[:6]}"
        extra = self.details.get(key, {})
        row = {"id": new_id, "name": name.strip(), "source": "export"}
        row.update({k: extra[k] for k in ("brand", "model", "retired") if extra.get(k)})
        save_gear(self.db, row)
        self.created += 1
        self.known[key] = new_id
        return new_id


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40] or "shoe"


# --------------------------------------------------------------------------- Strava archive


def import_strava_archive(
    db: sqlite_utils.Database,
    cfg: Config,
    archive: Archive,
    *,
    now: datetime | None = None,
    progress: RowProgress | None = None,
) -> ExportSummary:
    """Import a Strava archive (see the module docstring). Raises :class:`CalfsyncError` when
    ``activities.csv`` cannot be placed (a column no name finds, dates that contradict)."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    summary = ExportSummary("strava", archive.display, archive.label("activities.csv"))
    try:
        csv_file = read_activities_csv(archive.read("activities.csv"))
        counted = [0]

        def dates() -> Iterator[DateParts]:  # a first pass, holding nothing: the dates, counted
            for row in csv_file.rows():
                counted[0] += 1
                if row.date is not None:
                    yield row.date

        first = day_first(dates(), csv_file.language not in MONTH_FIRST_LANGUAGES)
        count = counted[0]
    except (ColumnMissing, DateProblem, MemberMissing, MemberUnreadable) as exc:
        raise CalfsyncError(f"{archive.label('activities.csv')}: {exc}") from exc
    shoes = _Shoes(db, _shoe_details(archive, summary))
    batch: list[RowActivities] = []
    workers = cfg.fit.workers if cfg.fit.workers > 0 else (os.cpu_count() or 1)
    rows = progress(csv_file.rows(), count) if progress else csv_file.rows()
    tz_name = cfg.athlete.timezone or "UTC"
    for item in read_rows(archive, rows, count, first, tz_name, workers):
        batch.append(item)
        if len(batch) >= BATCH_ROWS:
            _save_rows(db, batch, shoes, summary, now)
            batch = []
    _save_rows(db, batch, shoes, summary, now)
    summary.shoes_created = shoes.created
    summary.seconds = time.monotonic() - started
    return summary


def _shoe_details(archive: Archive, summary: ExportSummary) -> dict[str, dict[str, Any]]:
    if not archive.has("shoes.csv"):
        return {}
    try:
        return read_shoes_csv(archive.read("shoes.csv"))
    except (MemberMissing, MemberUnreadable) as exc:
        summary.problems.append((archive.label("shoes.csv"), str(exc)))
        return {}


def _save_rows(
    db: sqlite_utils.Database,
    batch: list[RowActivities],
    shoes: _Shoes,
    summary: ExportSummary,
    now: datetime,
) -> None:
    """Write one batch of rows in one transaction; a problem is listed under the file it is
    about, else under activities.csv (its reason names the line)."""
    archive_label = summary.csv_label
    if not batch:
        return
    with write_tx(db):
        for item in batch:
            summary.rows += 1
            if item.problem:
                label = item.problem_label or archive_label
                summary.problems.append((label, item.problem))
            if item.strava is None:
                continue
            try:
                with write_tx(db):  # a savepoint: one row that cannot be stored stops nothing
                    _save_row(db, item, shoes, summary, now)
            except Exception as exc:  # noqa: BLE001 - one bad row never stops the others
                if is_database_problem(exc):
                    raise
                log.exception("storing line %s of activities.csv failed", item.line)
                reason = f"line {item.line}: could not store its activity ({exc})"
                summary.problems.append((archive_label, reason))


def _save_row(
    db: sqlite_utils.Database,
    item: RowActivities,
    shoes: _Shoes,
    summary: ExportSummary,
    now: datetime,
) -> None:
    act = item.strava
    assert act is not None
    if item.fit is not None:
        _save_fit(db, item, summary, now)
    if item.gear_name:
        gear_id = shoes.gear_id(item.gear_name, f"strava-export:{_slug(item.gear_name)}")
        act.gear_id = gear_id
        act.raw["gear_id"] = gear_id  # Strava's shoe for the run: wins over dates
    result = save_activities(db, [act], now)
    fmt = item.file_format or "csv"
    summary.by_format[fmt] = summary.by_format.get(fmt, 0) + 1
    summary.inserted += result.inserted
    summary.updated += result.updated
    summary.unchanged += int(not result.inserted and not result.updated)
    summary.changed_dates |= result.changed_dates


def _save_fit(
    db: sqlite_utils.Database, item: RowActivities, summary: ExportSummary, now: datetime
) -> None:
    """Store the FIT file of a row as the FIT import does (once per content)."""
    fit = item.fit
    assert fit is not None
    result = fit.result
    if is_recorded(db, fit.sha256):
        if result.activities:  # known content: the CSV's sport may still correct it
            summary.changed_dates |= save_activities(db, result.activities, now).changed_dates
        return
    file = FitFile.of(fit.sha256, fit.label, fit.size_bytes, result)
    saved = save_fit_file(db, file, now)
    if saved is not None:
        summary.changed_dates |= saved.changed_dates


# --------------------------------------------------------------------------- in the inbox


def import_inbox_exports(
    db: sqlite_utils.Database, cfg: Config, now: datetime, summary: ImportSummary
) -> ImportSummary:
    """Import the account exports an inbox scan found (``summary.exports``) as ``calfsync
    import`` does, adding what they changed to ``summary``, which is returned. Each is then
    recorded in ``seen_paths``, so the next scan reads it again only once it changed; one that
    cannot be read is counted failed with its reason and the others import."""
    for path, key in summary.exports:
        try:
            stat = os.stat(path)
            sha256 = file_sha256(Path(path))
            with open_archive(Path(path)) as archive:
                if kind_of(archive) == STRAVA:
                    done = import_strava_archive(db, cfg, archive, now=now)
                else:
                    done = import_garmin_export(db, cfg, Path(path), archive, now=now)
        except OSError as exc:  # vanished, unreadable: not recorded, the next scan tries again
            summary.fail(key, f"cannot read the file: {exc.strerror or exc}")
            continue
        except (CalfsyncError, ValueError) as exc:  # recorded: read again once it changes
            log.warning("inbox: account export %s not imported: %s", key, exc)
            summary.fail(key, str(exc))
            done = None
        with write_tx(db):
            mark_seen(db, key, stat.st_size, stat.st_mtime_ns, sha256)
        if done is None:
            continue
        log.info("inbox: %s", done.line())
        summary.changed_dates |= done.changed_dates
        summary.activities += done.inserted + done.updated
        if done.fit is not None:
            summary.add(done.fit)
        for label, reason in done.problems:  # the activity itself is imported (from the CSV)
            log.warning("inbox: %s: %s", label, reason)
    return summary


# --------------------------------------------------------------------------- Garmin export


def import_garmin_export(
    db: sqlite_utils.Database,
    cfg: Config,
    path: Path,
    archive: Archive,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ExportSummary:
    """Import a Garmin export: its FIT files as any zip, then names and shoes from its
    summaries and gear records (see the module docstring)."""
    started = time.monotonic()
    summary = ExportSummary("garmin", archive.display)
    summary.fit = import_paths(db, cfg, [path], progress=progress, now=now)
    summary.changed_dates |= summary.fit.changed_dates
    export = read_garmin_export(archive)
    summary.problems += export.problems
    summary.parents_skipped = export.parents_skipped
    shoes = _Shoes(db, {g["name"].casefold(): g for g in export.gear.values()})
    with write_tx(db):
        for item in export.summaries:
            _label_fit_activity(db, item, export.gear, shoes, summary)
        mark_dirty(db, summary.changed_dates)
    summary.shoes_created = shoes.created
    summary.rows = len(export.summaries)
    summary.seconds = time.monotonic() - started
    return summary


def _label_fit_activity(
    db: sqlite_utils.Database,
    item: GarminSummary,
    gear: dict[str, dict[str, Any]],
    shoes: _Shoes,
    summary: ExportSummary,
) -> None:
    """Give the stored activity starting within a minute of ``item`` its name and shoe, when
    it has none (a name or shoe the runner or Strava gave stays)."""
    window = timedelta(seconds=MATCH_WINDOW_S)
    rows = list(
        db.query(
            "SELECT id, name, gear_id, gear_source, local_date, start_time FROM activities "
            "WHERE deleted = 0 AND start_time BETWEEN ? AND ?",
            [utc_iso(item.begin - window), utc_iso(item.begin + window)],
        )
    )
    if not rows:
        return
    row = min(rows, key=lambda r: abs(parse_utc(r["start_time"]) - item.begin))
    if item.name and not row["name"]:
        set_name(db, row["id"], item.name)
        summary.named += 1
    shoe = gear.get(item.gear_pk) if item.gear_pk else None
    if shoe and (row["gear_id"] is None or row["gear_source"] == "date"):
        gear_id = shoes.gear_id(shoe["name"], f"garmin:{item.gear_pk}")
        set_gear(db, row["id"], gear_id, None)
        summary.shod += 1
        summary.changed_dates.add(row["local_date"])
