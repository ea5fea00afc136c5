"""The FIT import pipeline: find files, parse them in parallel, store them in batches.

- Every distinct content (sha256 of the FIT bytes, after gunzip) is recorded once in
  ``fit_files`` with its status and reason; a content already there is a duplicate and is not
  parsed again. The hash is taken before a file is handed to a worker, so nothing is parsed twice.
- Parsing runs in a process pool across the machine's cores with a bounded number of files in
  flight, so memory does not grow with the number of files.
- Results are written in batches, each in one transaction holding the activities, their
  ``fit_files`` rows and the ``seen_paths`` rows of finished files: an import killed at any
  instant and run again loses and duplicates nothing.
- :func:`scan_inboxes` looks only at new or changed files (size and mtime against
  ``seen_paths``). Import never pushes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from ..config import Config
from ..errors import CalfsyncError
from ..model import utc_iso
from ..sources.fit import FitResult, InputItem, find_input_files, parse_job, read_input_file
from ..store.db import is_database_problem, write_tx

log = logging.getLogger(__name__)

BATCH_FILES = 32  # results written per transaction
INFLIGHT_PER_WORKER = 2  # files handed to each worker ahead of time
# Wraps the files found in an iterable over them: the ``import`` command draws a progress bar.
Progress = Callable[[list[Path]], Iterable[Path]]


@dataclass
class ImportSummary:
    """What an import or a scan did, counted per distinct file content."""

    imported: int = 0
    skipped: int = 0
    failed: int = 0
    duplicates: int = 0
    salvaged: int = 0
    activities: int = 0
    seconds: float = 0.0
    changed_dates: set[str] = field(default_factory=set)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (label, reason) of failures

    @property
    def files(self) -> int:
        return self.imported + self.skipped + self.failed + self.duplicates

    def line(self) -> str:
        """The closing summary line."""
        salvaged = f" ({self.salvaged} salvaged)" if self.salvaged else ""
        return (
            f"imported {self.imported}{salvaged}, skipped {self.skipped}, failed {self.failed}, "
            f"duplicates {self.duplicates} in {self.seconds:.1f} s"
        )


@dataclass
class _PathState:
    """A file on disk whose items are still being parsed or written."""

    key: str
    size_bytes: int
    mtime_ns: int
    sha256: str
    pending: int = 0
    listed: bool = False  # every item of the file has been handed out
    broken: bool = False  # an item was lost (reader crash): not marked seen, read again later


@dataclass
class _Done:
    item: InputItem
    result: FitResult | None  # None: a duplicate
    path: _PathState


class _Importer:
    """Hands items to the pool, collects results and writes them in batches."""

    def __init__(
        self, db: sqlite_utils.Database, cfg: Config, now: datetime | None, auto_workers: int
    ) -> None:
        self.db = db
        self.tz_name = cfg.section("athlete")["timezone"] or "UTC"
        workers = int(cfg.section("fit").get("workers") or 0)
        self.workers = workers if workers > 0 else auto_workers
        self.now = now
        self.summary = ImportSummary()
        self._pool: ProcessPoolExecutor | None = None
        self._inflight: dict[Future, tuple[InputItem, _PathState]] = {}
        self._claimed: set[str] = set()  # sha256 handed out (or known) during this run
        self._batch: list[_Done] = []
        self._finished_paths: list[_PathState] = []

    # -- feeding -------------------------------------------------------------------------------
    def add_file(self, path: Path) -> None:
        """Read one file on disk and hand out its items (a zip holds many)."""
        key = str(path.resolve())
        try:
            stat = path.stat()
            state = _PathState(key, stat.st_size, stat.st_mtime_ns, _file_sha256(path))
            # Items are handed out as they are read: a zip's entries are inflated one by one.
            for item in read_input_file(path, key):
                self._add_item(item, state)
        except OSError as exc:
            # Unreadable (permissions, vanished): not recorded, so a later run tries again.
            self.summary.failed += 1
            self.summary.problems.append((key, f"cannot read the file: {exc.strerror or exc}"))
            log.warning("cannot read %s: %s", key, exc)
            return
        state.listed = True
        self._maybe_finish(state)

    def _add_item(self, item: InputItem, state: _PathState) -> None:
        if item.sha256 in self._claimed or self._known(item.sha256):
            self._claimed.add(item.sha256)
            self._batch.append(_Done(item, None, state))
            self._maybe_flush()
            return
        self._claimed.add(item.sha256)
        state.pending += 1
        if item.data is None:
            decided = FitResult(item.status or "failed", item.reason)
            self._complete(item, decided, state)
            return
        if self.workers <= 1:
            self._complete(item, parse_job(item.data, item.label, self.tz_name), state)
            return
        while len(self._inflight) >= self.workers * INFLIGHT_PER_WORKER:
            self._collect(block=True)
        future = self._executor().submit(parse_job, item.data, item.label, self.tz_name)
        self._inflight[future] = (item, state)

    def _known(self, sha256: str) -> bool:
        row = self.db.execute("SELECT 1 FROM fit_files WHERE sha256 = ?", [sha256]).fetchone()
        return row is not None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # fork is fastest, but forking a process that runs other threads (the daemon's
            # scheduler) can copy a held lock into the child: then use a fork server.
            method = "fork" if threading.active_count() == 1 else "forkserver"
            if method not in multiprocessing.get_all_start_methods():
                method = multiprocessing.get_start_method()
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context(method)
            )
        return self._pool

    # -- collecting ----------------------------------------------------------------------------
    def _collect(self, *, block: bool) -> None:
        if not self._inflight:
            return
        done, _ = wait(
            list(self._inflight), timeout=None if block else 0, return_when=FIRST_COMPLETED
        )
        for future in done:
            item, state = self._inflight.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                # The reader process died (out of memory?). Count it, record nothing, so a later
                # run tries again; start a fresh pool for the rest.
                self._claimed.discard(item.sha256)
                state.pending -= 1
                state.broken = True
                self.summary.failed += 1
                self.summary.problems.append((item.label, "the reader process crashed"))
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
                self._maybe_finish(state)
                continue
            self._complete(item, result, state)

    def _complete(self, item: InputItem, result: FitResult, state: _PathState) -> None:
        state.pending -= 1
        self._batch.append(_Done(item, result, state))
        self._maybe_finish(state)
        self._maybe_flush()

    def _maybe_finish(self, state: _PathState) -> None:
        if state.listed and state.pending == 0:
            self._finished_paths.append(state)

    def _maybe_flush(self) -> None:
        if len(self._batch) >= BATCH_FILES:
            self.flush()

    def finish(self) -> ImportSummary:
        """Wait for every file, write the last batch and shut the pool down."""
        try:
            while self._inflight:
                self._collect(block=True)
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        return self.summary

    # -- writing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the collected results in one transaction."""
        # A finished path has every result in this batch or an earlier one: mark it seen in the
        # same transaction, so a killed run re-reads exactly the files not fully written.
        if not self._batch and not self._finished_paths:
            return
        batch, self._batch = self._batch, []
        paths, self._finished_paths = self._finished_paths, []
        counts = ImportSummary()
        with write_tx(self.db):
            for done in batch:
                self._write_one(done, counts)
            for state in paths:
                if state.broken:
                    continue
                self.db.execute(
                    "INSERT INTO seen_paths(path, size_bytes, mtime_ns, sha256) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(path) DO UPDATE SET size_bytes = excluded.size_bytes,"
                    " mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256",
                    [state.key, state.size_bytes, state.mtime_ns, state.sha256],
                )
        s = self.summary
        s.imported += counts.imported
        s.skipped += counts.skipped
        s.failed += counts.failed
        s.duplicates += counts.duplicates
        s.salvaged += counts.salvaged
        s.activities += counts.activities
        s.changed_dates |= counts.changed_dates
        s.problems.extend(counts.problems)

    def _write_one(self, done: _Done, counts: ImportSummary) -> None:
        item, result = done.item, done.result
        if result is None or self._known(item.sha256):
            counts.duplicates += 1
            return
        status, reason, stored_ids = result.status, result.reason, []
        if result.activities:
            from ..store.activities import save_activities

            try:
                with write_tx(
                    self.db
                ):  # a savepoint: a file that cannot be stored rolls back alone
                    saved = save_activities(self.db, result.activities)
            except Exception as exc:  # noqa: BLE001 - one bad file never stops the others
                if is_database_problem(exc):
                    # Disk full, lock held, read-only: not this file's fault. Stop the batch
                    # (rolled back whole) so the file is read again next run, not marked failed.
                    raise
                log.exception("storing %s failed", item.label)
                status, reason = "failed", f"could not store its activities ({exc})"
            else:
                ids = getattr(saved, "ids", {}) or {}
                stored_ids = [ids.get(a.id, a.id) for a in result.activities]
                counts.changed_dates |= set(getattr(saved, "changed_dates", saved) or ())
                counts.activities += len(result.activities)
        self.db.execute(
            "INSERT OR IGNORE INTO fit_files(sha256, path, size_bytes, status, reason, activity_id,"
            " activity_ids, salvaged, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                item.sha256,
                item.label,
                item.size_bytes,
                status,
                reason,
                stored_ids[0] if stored_ids else None,
                json.dumps(stored_ids) if stored_ids else None,
                int(result.salvaged and status == "imported"),
                utc_iso(self.now or datetime.now(UTC)),
            ],
        )
        if status == "imported":
            counts.imported += 1
            counts.salvaged += int(result.salvaged)
        elif status == "skipped":
            counts.skipped += 1
        else:
            counts.failed += 1
            counts.problems.append((item.label, reason or "failed"))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _run(
    db: sqlite_utils.Database,
    cfg: Config,
    files: list[Path],
    *,
    progress: Progress | None,
    now: datetime | None,
    auto_workers: int,
) -> ImportSummary:
    started = time.monotonic()
    importer = _Importer(db, cfg, now, auto_workers)
    try:
        for path in progress(files) if progress else files:
            importer.add_file(path)
    finally:
        summary = importer.finish()
    summary.seconds = time.monotonic() - started
    return summary


def import_paths(
    db: sqlite_utils.Database,
    cfg: Config,
    paths: Iterable[str | Path],
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Import files and folders (recursive): ``.fit``, ``.fit.gz`` and ``.zip`` at any depth.

    Every file is read; contents already in ``fit_files`` count as duplicates. Files are parsed
    on every core unless ``[fit] workers`` says otherwise. Raises FileNotFoundError for a path
    that does not exist. ``progress``, when given, is handed the files found and yields them
    back as they are imported. Never pushes.
    """
    paths = list(paths)
    files = list(find_input_files(paths))
    summary = _run(db, cfg, files, progress=progress, now=now, auto_workers=os.cpu_count() or 1)
    for raw in paths:
        if Path(raw).expanduser().is_dir():
            for folder, reason in unreadable_folders(Path(raw).expanduser()):
                # Not recorded in fit_files: the next import, once readable, reads it.
                summary.failed += 1
                summary.problems.append((folder, f"cannot read the folder: {reason}"))
    return summary


def scan_inboxes(
    db: sqlite_utils.Database, cfg: Config, *, now: datetime | None = None
) -> ImportSummary:
    """Import new or changed files from the ``[fit] inbox`` folders (size and mtime against
    ``seen_paths``); unchanged files are not even read. A missing inbox is logged and skipped.

    Scans run inside the daemon and ``sync``, usually on a few new files: with ``[fit] workers``
    at 0 they parse in one process (no pool), leaving the other cores to the machine.
    """
    seen = {
        row[0]: (row[1], row[2])
        for row in db.execute("SELECT path, size_bytes, mtime_ns FROM seen_paths")
    }
    files: list[Path] = []
    unreadable: list[tuple[str, str]] = []
    for inbox in cfg.inboxes:
        if not inbox.is_dir():
            log.warning("FIT inbox %s does not exist or is not a folder; skipped", inbox)
            continue
        unreadable += unreadable_folders(inbox)
        for path in find_input_files([inbox]):
            try:
                stat = path.stat()
            except OSError:
                continue
            if seen.get(str(path.resolve())) != (stat.st_size, stat.st_mtime_ns):
                files.append(path)
    summary = _run(db, cfg, files, progress=None, now=now, auto_workers=1)
    if unreadable:  # the readable files are stored; the runner must fix the rest
        listed = "; ".join(f"{folder}: {reason}" for folder, reason in unreadable[:5])
        raise CalfsyncError(
            f"cannot read the FIT inbox folder {listed} ({summary.line()} from the rest). "
            "Make it readable by the user running calfsync (for the daemon: sudo chgrp -R "
            "calfsync FOLDER && sudo chmod -R g+rX FOLDER), or change [fit] inbox."
        )
    return summary


def unreadable_folders(root: Path) -> list[tuple[str, str]]:
    """Folders under ``root`` (itself included) that cannot be listed, with the reason; the
    walk that finds input files skips them silently."""
    problems: list[tuple[str, str]] = []

    def onerror(exc: OSError) -> None:
        problems.append((str(exc.filename or root), exc.strerror or str(exc)))

    for _dirpath, dirs, _files in os.walk(root, onerror=onerror):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
    return problems


def evaluate_imported(
    db: sqlite_utils.Database, cfg: Config, summary: ImportSummary, now: datetime
) -> list[int]:
    """Evaluate the rules for the dates an import changed, recording alerts without pushing
    (``mode="import"``: an import never pushes). Returns the new alerts' ids."""
    from ..sync import evaluate_pending

    return evaluate_pending(db, cfg, now, mode="import", extra_dates=summary.changed_dates)
