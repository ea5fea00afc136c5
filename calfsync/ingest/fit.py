"""The FIT import: read files with :mod:`calfsync.sources.fit`, store them with
:mod:`calfsync.store.fit_files`, in batches.

- Every distinct content (sha256 of the FIT bytes, after gunzip) is recorded once in
  ``fit_files`` with its status and reason; a content already there is a duplicate and is not
  parsed again. The hash is taken before a file is handed to a worker, so nothing is parsed twice.
- Parsing runs in a process pool across the machine's cores with a bounded number of files in
  flight (:mod:`.fit_pool`), so memory does not grow with the number of files.
- Results are written in batches, each in one transaction holding the activities, their
  ``fit_files`` rows and the ``seen_paths`` rows of finished files: an import killed at any
  instant and run again loses and duplicates nothing.
- :func:`scan_inboxes` looks only at new or changed files (size and mtime against
  ``seen_paths``). Import never pushes: the caller evaluates the changed dates
  (``ImportSummary.changed_dates``) with ``mode="import"``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from ..config import Config
from ..errors import PartlyFailed
from ..sources.fit.inbox import Candidate, InboxCache, Walk
from ..sources.fit.inputs import (
    InputItem,
    RefusedInput,
    display_path,
    file_sha256,
    find_input_files,
    has_settled,
    read_input_file,
    refused_item,
    unreadable_folders,
)
from ..sources.fit.parse import FitResult
from ..store.db import write_tx
from ..store.fit_files import FitFile, SavedFile, is_recorded, mark_seen, save_fit_file, seen_as
from ..store.state import delete_state, get_state, set_state
from .fit_pool import ParsePool

log = logging.getLogger(__name__)

BATCH_FILES = 32  # results written per transaction, at most
# ... and at most about this many bytes of parsed content per transaction: a batch holds each
# result's activities (built from up to 64 MiB of FIT data each) until it is written.
BATCH_BYTES = 64 * 1024 * 1024
MAX_READER_CRASHES = 3  # a content that killed its reader this often is recorded as failed
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
    waiting: int = 0  # inbox files still changing: not read, left to a later scan
    # Strava or Garmin account exports (zips) a scan found in the inbox, not read here: (path,
    # key) for :func:`calfsync.ingest.exports.import_inbox_exports`, which gives their names,
    # shoes and GPX/TCX runs.
    exports: list[tuple[str, str]] = field(default_factory=list)

    @property
    def files(self) -> int:
        return self.imported + self.skipped + self.failed + self.duplicates

    def line(self) -> str:
        """The closing summary line."""
        salvaged = f" ({self.salvaged} salvaged)" if self.salvaged else ""
        waiting = f", {self.waiting} still changing (read once settled)" if self.waiting else ""
        exports = f", account exports {len(self.exports)}" if self.exports else ""
        return (
            f"imported {self.imported}{salvaged}, skipped {self.skipped}, failed {self.failed}, "
            f"duplicates {self.duplicates}{waiting}{exports} in {self.seconds:.1f} s"
        )

    def count(self, label: str, saved: SavedFile | None) -> None:
        """Count one content as stored (None: a duplicate, nothing stored)."""
        if saved is None:
            self.duplicates += 1
            return
        self.activities += len(saved.activity_ids)
        self.changed_dates |= saved.changed_dates
        if saved.status == "imported":
            self.imported += 1
            self.salvaged += int(saved.salvaged)
        elif saved.status == "skipped":
            self.skipped += 1
        else:
            self.fail(label, saved.reason or "failed")

    def fail(self, label: str, reason: str) -> None:
        """Count a failure that is listed to the runner."""
        self.failed += 1
        self.problems.append((label, reason))

    def add(self, other: ImportSummary) -> None:
        """Add the counts of ``other`` (a batch once written) to these."""
        self.imported += other.imported
        self.skipped += other.skipped
        self.failed += other.failed
        self.duplicates += other.duplicates
        self.salvaged += other.salvaged
        self.activities += other.activities
        self.changed_dates |= other.changed_dates
        self.problems.extend(other.problems)


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
    """Reads files into items, has them parsed, and writes the results in batches."""

    def __init__(
        self, db: sqlite_utils.Database, cfg: Config, now: datetime | None, auto_workers: int
    ) -> None:
        self.db = db
        workers = cfg.fit.workers if cfg.fit.workers > 0 else auto_workers
        tz_name = cfg.athlete.timezone or "UTC"
        self.pool = ParsePool[_PathState](
            workers, tz_name, self._parsed, in_child=cfg.children, log_level=cfg.daemon.log_level
        )
        self.now = now
        self.summary = ImportSummary()
        self._claimed: set[str] = set()  # sha256 handed out and not yet written
        self._batch: list[_Done] = []
        self._batch_bytes = 0  # FIT bytes behind the results in the batch
        self._finished_paths: list[_PathState] = []

    # -- reading -------------------------------------------------------------------------------
    def add_file(self, path: Path, key: str | None = None) -> None:
        """Read one file on disk and hand out its items (a zip holds many).

        ``key`` is the path as stored and printed (:func:`display_path`: a name that is not
        UTF-8 shows its bytes escaped), given by a scan that knows it. A path that is no regular
        file, or too large, is not read: it is recorded as failed with the reason, and read
        again once it changes.
        """
        key = key or display_path(path.resolve())
        try:
            stat = path.stat()
            try:
                state = _PathState(key, stat.st_size, stat.st_mtime_ns, file_sha256(path))
                # Items are handed out as they are read: a zip's entries inflated one by one.
                for item in read_input_file(path, key):
                    self._add_item(item, state)
            except RefusedInput as exc:
                found = display_path(path.absolute())  # a symlink's own name, not its target
                reason = str(exc) if found == key else f"{found}: {exc}"
                refused = refused_item(key, reason)
                state = _PathState(key, stat.st_size, stat.st_mtime_ns, refused.sha256)
                self._add_item(refused, state)
        except OSError as exc:
            # Unreadable (permissions, vanished): not recorded, so a later run tries again.
            self.summary.fail(key, f"cannot read the file: {exc.strerror or exc}")
            log.warning("cannot read %s: %s", key, exc)
            return
        state.listed = True
        self._maybe_finish(state)

    def _add_item(self, item: InputItem, state: _PathState) -> None:
        if item.sha256 in self._claimed or is_recorded(self.db, item.sha256):
            item.data = None  # a batch keeps no content: only its hash, label and size
            self._batch.append(_Done(item, None, state))
            self._maybe_flush()
            return
        self._claimed.add(item.sha256)
        state.pending += 1
        if item.data is None:
            self._parsed(item, state, FitResult(item.status or "failed", item.reason))
        else:
            self.pool.submit(item, state)

    def _parsed(self, item: InputItem, state: _PathState, result: FitResult | None) -> None:
        """One item's result is in (None: its reader process crashed)."""
        state.pending -= 1
        item.data = None  # parsed: the batch keeps the result, not the bytes
        if (
            result is None
            and self.pool.crash_is_the_items
            and _reader_crashed(self.db, item.sha256) >= MAX_READER_CRASHES
        ):
            # The same content killed its reader each time (too big for this machine's memory?):
            # recorded as failed, so the scans stop retrying it until it changes.
            result = FitResult(
                "failed",
                f"the reader process crashed on this file {MAX_READER_CRASHES} times (out of "
                "memory?); it is read again once the file changes",
            )
        if result is None:
            # Count it, record nothing, so a later run tries again.
            self._claimed.discard(item.sha256)
            state.broken = True
            self.summary.fail(item.label, "the reader process crashed")
        else:
            self._batch.append(_Done(item, result, state))
            self._batch_bytes += item.size_bytes
        self._maybe_finish(state)
        self._maybe_flush()

    def _maybe_finish(self, state: _PathState) -> None:
        if state.listed and state.pending == 0:
            self._finished_paths.append(state)

    def _maybe_flush(self) -> None:
        if len(self._batch) >= BATCH_FILES or self._batch_bytes >= BATCH_BYTES:
            self.flush()

    def finish(self) -> ImportSummary:
        """Wait for every file, write the last batch and shut the pool down."""
        try:
            self.pool.drain()
            self.flush()
        finally:
            self.pool.close()
        return self.summary

    # -- writing -------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the collected results in one transaction."""
        # A finished path has every result in this batch or an earlier one: mark it seen in the
        # same transaction, so a killed run re-reads exactly the files not fully written.
        if not self._batch and not self._finished_paths:
            return
        batch, self._batch = self._batch, []
        self._batch_bytes = 0
        paths, self._finished_paths = self._finished_paths, []
        counts = ImportSummary()
        with write_tx(self.db):
            for done in batch:
                counts.count(done.item.label, self._save(done))
            for state in paths:
                if not state.broken:
                    mark_seen(self.db, state.key, state.size_bytes, state.mtime_ns, state.sha256)
        self.summary.add(counts)
        # Written contents are found by is_recorded from now on: the set of claimed hashes
        # keeps only those in flight, so an import's memory does not grow with its files.
        self._claimed.difference_update(d.item.sha256 for d in batch if d.result is not None)

    def _save(self, done: _Done) -> SavedFile | None:
        item, result = done.item, done.result
        if result is None:
            return None
        file = FitFile.of(item.sha256, item.label, item.size_bytes, result)
        return save_fit_file(self.db, file, self.now or datetime.now(UTC))


def _reader_crashed(db: sqlite_utils.Database, sha256: str) -> int:
    """Count one more reader crash on the content ``sha256``; how many so far (kept in
    ``state`` until the content is recorded)."""
    key = f"fit.reader_crashes.{sha256}"
    with write_tx(db):
        crashes = int(get_state(db, key) or 0) + 1
        if crashes >= MAX_READER_CRASHES:
            delete_state(db, key)  # the content is recorded as failed in the same job
        else:
            set_state(db, key, str(crashes))
    return crashes


def _run(
    db: sqlite_utils.Database,
    cfg: Config,
    files: list[Path] | list[Candidate],
    *,
    progress: Progress | None,
    now: datetime | None,
    auto_workers: int,
) -> ImportSummary:
    started = time.monotonic()
    importer = _Importer(db, cfg, now, auto_workers)
    try:
        for file in progress(files) if progress else files:  # type: ignore[arg-type]
            if isinstance(file, Candidate):
                importer.add_file(Path(file.path), file.key)
            else:
                importer.add_file(file)
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
                summary.fail(folder, f"cannot read the folder: {reason}")
    return summary


def scan_inboxes(
    db: sqlite_utils.Database,
    cfg: Config,
    *,
    now: datetime | None = None,
    wall_clock_s: float | None = None,
    cache: InboxCache | None = None,
) -> ImportSummary:
    """Import new or changed files from the ``[fit] inbox`` folders (size and mtime against
    ``seen_paths``); unchanged files are not even read. A missing inbox is logged and skipped.
    A folder that cannot be listed raises :class:`PartlyFailed` after the rest is stored, with
    the summary, so the cycle still evaluates and pushes what was imported.

    Which files are looked at is :class:`InboxCache`'s decision: ``cache`` (the daemon keeps one
    across scans, see :func:`keep_scan_cache`) lists only folders whose mtime moved, and re-checks
    pending files, the watcher's hints and a fixed share of the rest; without one, every file is
    looked at (``calfsync sync``). Each file looked at costs a ``stat`` and a ``seen_paths``
    lookup (a few hundred a query): the table is never loaded whole.

    A file still changing (see :func:`has_settled`: ``[fit] settle_seconds`` against
    ``wall_clock_s``, default the system clock) is not read at all, leaving no ``fit_files`` or
    ``seen_paths`` row: a copy in progress would be salvaged as a short run and alert as one. A
    later scan reads it whole. Temporary names of sync tools are never listed.

    A zip that is a Strava or Garmin account export is not read here: it is listed in the
    summary's ``exports`` for :func:`calfsync.ingest.exports.import_inbox_exports`.

    Scans run inside the daemon and ``sync``, usually on a few new files: with ``[fit] workers``
    at 0 they parse in one process (no pool), leaving the other cores to the machine.
    """
    cache = cache or _kept_cache or InboxCache()
    clock_s = time.time() if wall_clock_s is None else wall_clock_s
    inboxes = []
    for inbox in cfg.inboxes:
        if inbox.is_dir():
            inboxes.append(inbox)
        else:
            log.warning("FIT inbox %s does not exist or is not a folder; skipped", inbox)
    walk = Walk()
    waiting = 0
    files: list[Candidate] = []
    for batch in cache.walk(inboxes, walk):
        seen = seen_as(db, [c.key for c in batch])
        for candidate in batch:
            try:
                stat = os.stat(candidate.path)
            except OSError:
                cache.keep_pending(candidate, False)  # gone (or a dangling link): nothing to read
                continue
            if seen.get(candidate.key) == (stat.st_size, stat.st_mtime_ns):
                cache.keep_pending(candidate, False)
                continue
            # Pending until a later scan finds it recorded: read now, or still changing.
            cache.keep_pending(candidate, True)
            if has_settled(Path(candidate.path), stat, clock_s, cfg.fit.settle_seconds):
                files.append(candidate)
            else:
                waiting += 1
    exports = []
    if any(c.key.lower().endswith(".zip") for c in files):
        from ..sources.exports import detect  # loaded only when a zip may be an export

        exports = [c for c in files if c.key.lower().endswith(".zip") and detect(Path(c.path))]
        files = [c for c in files if c not in exports]
    summary = _run(db, cfg, files, progress=None, now=now, auto_workers=1)
    summary.waiting = waiting
    summary.exports = [(c.path, c.key) for c in exports]
    if walk.unreadable:  # the readable files are stored; the runner must fix the rest
        listed = "; ".join(f"{folder}: {reason}" for folder, reason in walk.unreadable[:5])
        raise PartlyFailed(
            f"cannot read the FIT inbox folder {listed} ({summary.line()} from the rest). "
            "Make it readable by the user running calfsync (for the daemon: sudo chgrp -R "
            "calfsync FOLDER && sudo chmod -R g+rX FOLDER), or change [fit] inbox.",
            summary,
        )
    return summary


# The daemon's cache, kept across its scans (see keep_scan_cache); None outside the daemon.
_kept_cache: InboxCache | None = None


def keep_scan_cache(cache: InboxCache | None) -> None:
    """Make every :func:`scan_inboxes` of this process use ``cache`` (the daemon's, so that an
    idle scan lists no unchanged folder); None forgets it."""
    global _kept_cache
    _kept_cache = cache
