"""Finding what may have changed in the inbox folders without looking at every file.

An inbox only grows: after 20 years it holds some 20,000 files, and the daemon looks at it every
``[daemon] scan_seconds``. Statting (and resolving) every file on every scan made one idle scan
cost 0.9 s at 20,000 files. :class:`InboxCache`, kept in memory across scans by the daemon, makes
an idle scan cost one ``stat`` per folder plus a fixed number of files:

- **Folder mtimes.** Creating, renaming or deleting a file in a folder moves the folder's mtime
  (and ctime). A folder whose ``(mtime, ctime)`` is the one it had when it was last listed is
  not listed again: its input names are the cached ones. A folder listed again yields only the
  names that were not there before, or whose inode changed (a file replaced by a rename over
  it, or deleted and written again, between two scans; the inode comes with the listing, no
  ``stat``). A folder is trusted only when its mtime was already
  :data:`TRUST_AFTER_S` old when it was listed: a file created in the same clock tick as the
  listing would not move the mtime, so a folder changed that recently is listed again next
  scan (an old mtime is moved by any later creation).
- **Pending files.** A file found but not yet recorded as read (still changing, unreadable,
  its reader crashed) is looked at again on every scan until it is, whatever its folder does.
- **Hints.** The inotify watcher (:mod:`calfsync.ingest.fit_watch`) names the files it saw
  written; they are looked at on the next scan, so a file rewritten in place (which does not
  move its folder's mtime) is read again at once where the inbox is watched.
- **Verification.** Where nothing watches (network mounts, or a missed event), a file rewritten
  in place is found by the rotation: each scan also re-checks the next
  :data:`VERIFY_PER_SCAN` cached files, in turn, so every file is re-checked once every
  ``files / VERIFY_PER_SCAN`` scans (80 scans at 20,000 files: 80 minutes at one-minute scans)
  at a cost that does not grow with the inbox. :meth:`InboxCache.verify_all` (after an inotify
  queue overflow) re-checks every file on the next scan.

The cache holds names only (no per-file stat), so its memory is that of the names. The key a
file is recorded under is the one :func:`calfsync.ingest.fit.scan_inboxes` always used (the
resolved path, shown by :func:`display_path`), computed without resolving each file: the inbox
is resolved once per scan, the walk does not follow folder symlinks, and only a file that is
itself a symlink is resolved. Nothing here reads the database: the caller compares each
candidate with ``seen_paths``.
"""

from __future__ import annotations

import os
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .inputs import display_path, is_input_name

# A folder's stamp is trusted once it is this old: coarser than any file system's time stamps.
TRUST_AFTER_S = 2.0
# Cached files re-checked per scan, in rotation (a file rewritten in place, unwatched).
VERIFY_PER_SCAN = 256
BATCH = 500  # candidates handed out at a time


@dataclass
class _Folder:
    """One listed folder: its stamp when listed (None: list it again), its input file names in
    order and their inodes, the ones among them that are symlinks, and its subfolders.

    The names are kept as one text, NUL-separated (a name cannot hold a NUL): tens of thousands
    of small strings kept for the daemon's life would pin the allocator's arenas that the first
    scan's temporary objects shared with them (measured: 10 MB of RSS at 20,000 files).
    """

    stamp: tuple[int, int] | None
    blob: str
    count: int
    inodes: array[int]  # one per name, in the same order
    links: frozenset[str]
    dirs: tuple[str, ...]

    @property
    def names(self) -> list[str]:
        return self.blob.split("\0") if self.count else []


@dataclass(slots=True)
class Candidate:
    """A file that may be new or changed: its path, and the key it is recorded under (text, not
    :class:`Path`: hundreds are made per scan, most of them only to be ``stat``-ed)."""

    path: str
    key: str


@dataclass
class Walk:
    """What one pass over the inboxes saw besides its candidates: the folders not listable."""

    unreadable: list[tuple[str, str]] = field(default_factory=list)
    folders: int = 0
    listed: int = 0  # folders actually listed (the rest came from the cache)


class InboxCache:
    """Folder listings kept across scans, the files still pending, and the watcher's hints.

    Thread-safe for :meth:`hint` and :meth:`verify_all` (the watcher thread); :meth:`walk` and
    :meth:`keep_pending` are called by one scan at a time.
    """

    def __init__(self, verify_per_scan: int = VERIFY_PER_SCAN) -> None:
        self._folders: dict[str, _Folder] = {}
        self._pending: dict[str, str] = {}  # key -> path, not yet recorded as read
        self._hints: set[str] = set()  # paths named by the watcher
        self._verify_all = False
        self._cursor = (0, 0)  # (folder number, offset in its names) of the rotation
        self._lock = threading.Lock()
        self.verify_per_scan = verify_per_scan

    # -- the watcher's side (any thread) --------------------------------------------------------
    def hint(self, path: str) -> None:
        """Look at the file ``path`` on the next scan (the watcher saw it change)."""
        with self._lock:
            self._hints.add(path)

    def verify_all(self) -> None:
        """Re-check every cached file on the next scan (events were lost)."""
        with self._lock:
            self._verify_all = True

    # -- the scan's side -----------------------------------------------------------------------
    def walk(self, inboxes: list[Path], report: Walk) -> Iterator[list[Candidate]]:
        """The candidates in ``inboxes``, in batches of at most :data:`BATCH`: new names in
        folders that changed, then pending files and the watcher's hints, then the rotation's
        share of cached files, each file once. Batches keep a first scan of a large inbox from
        holding every file's candidate at once (its memory would stay taken: see
        :class:`_Folder`). ``report`` gets the folders that could not be listed."""
        with self._lock:
            hints, self._hints = self._hints, set()
            verify_all, self._verify_all = self._verify_all, False
        extra = dict(self._pending)  # key -> path: pending files and hints, a few
        for raw in sorted(hints):
            folder, name = os.path.split(raw)
            if folder in self._folders and is_input_name(name):  # under a listed inbox folder
                candidate = _candidate(folder, name, os.path.islink(raw))
                extra.setdefault(candidate.key, candidate.path)
        folders: dict[str, _Folder] = {}
        listed: set[str] = set()
        now_ns = time.time_ns()
        finished = False
        try:
            for inbox in inboxes:
                root = os.path.realpath(inbox)
                yield from self._walk_tree(root, now_ns, folders, listed, extra, report)
            self._folders = folders  # (a walk cut short keeps the old listings: listed again)
            items = [Candidate(path, key) for key, path in extra.items()]
            for i in range(0, len(items), BATCH):
                yield items[i : i + BATCH]
            yield from self._rotation(folders, listed, extra, everything=verify_all)
            finished = True
        finally:
            if not finished:  # the scan failed (a database error): the next one looks again
                with self._lock:
                    self._hints |= hints
                    self._verify_all |= verify_all

    def keep_pending(self, candidate: Candidate, pending: bool) -> None:
        """Record whether ``candidate`` still waits to be read (look at it on every scan)."""
        if pending:
            self._pending[candidate.key] = candidate.path
        else:
            self._pending.pop(candidate.key, None)

    @property
    def files(self) -> int:
        """How many input files the cached folders hold."""
        return sum(f.count for f in self._folders.values())

    def _walk_tree(
        self,
        root: str,
        now_ns: int,
        folders: dict[str, _Folder],
        listed: set[str],
        extra: dict[str, str],
        report: Walk,
    ) -> Iterator[list[Candidate]]:
        stack = [root]
        trust_ns = now_ns - int(TRUST_AFTER_S * 1e9)
        while stack:
            folder = stack.pop()
            if folder in folders:
                continue  # an inbox inside another one: walked once
            report.folders += 1
            try:
                info = os.stat(folder)
            except FileNotFoundError:
                continue  # removed since its parent was listed
            except OSError as exc:
                report.unreadable.append((display_path(folder), exc.strerror or str(exc)))
                continue
            stamp = (info.st_mtime_ns, info.st_ctime_ns)
            old = self._folders.get(folder)
            if old is not None and old.stamp == stamp:
                entry = old
            else:
                try:
                    entry = _list(folder, stamp if info.st_mtime_ns < trust_ns else None)
                except OSError as exc:
                    report.unreadable.append((display_path(folder), exc.strerror or str(exc)))
                    continue
                report.listed += 1
                listed.add(folder)
                known = dict(zip(old.names, old.inodes, strict=True)) if old is not None else {}
                listing = zip(entry.names, entry.inodes, strict=True)
                new = (name for name, inode in listing if known.get(name) != inode)
                yield from _batches(folder, entry, new, extra)
            folders[folder] = entry
            stack.extend(os.path.join(folder, d) for d in reversed(entry.dirs))

    def _rotation(
        self, folders: dict[str, _Folder], listed: set[str], extra: dict[str, str], everything: bool
    ) -> Iterator[list[Candidate]]:
        """The next ``verify_per_scan`` cached files in turn (all of them with ``everything``),
        leaving out the folders listed by this scan (their new names are candidates already)."""
        keys = list(folders)
        total = sum(f.count for f in folders.values())
        budget = total if everything else min(self.verify_per_scan, total)
        folder_no, offset = self._cursor
        if folder_no >= len(keys):
            folder_no, offset = 0, 0
        while budget > 0:
            key = keys[folder_no]
            entry = folders[key]
            taken: list[str] = []
            while entry.count and offset <= len(entry.blob) and len(taken) < budget:
                end = entry.blob.find("\0", offset)
                end = len(entry.blob) if end < 0 else end
                taken.append(entry.blob[offset:end])
                offset = end + 1
            budget -= len(taken)
            if key not in listed:
                yield from _batches(key, entry, iter(taken), extra)
            if not entry.count or offset > len(entry.blob):
                folder_no, offset = (folder_no + 1) % len(keys), 0
        self._cursor = (folder_no, offset)


def _batches(
    folder: str, entry: _Folder, names: Iterator[str], extra: dict[str, str]
) -> Iterator[list[Candidate]]:
    """The candidates of ``names`` in ``folder``, :data:`BATCH` at a time, leaving out those in
    ``extra`` (handed out on their own)."""
    batch: list[Candidate] = []
    for name in names:
        candidate = _candidate(folder, name, name in entry.links)
        if candidate.key in extra:
            continue
        batch.append(candidate)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _list(folder: str, stamp: tuple[int, int] | None) -> _Folder:
    """List one folder the way the import always has: hidden names skipped, subfolders (not
    symlinks to folders) walked, input names kept whatever they are (a FIFO named ``x.fit`` is
    refused later, with its reason)."""
    names: list[tuple[str, int]] = []
    links: set[str] = set()
    dirs: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    dirs.append(name)
            elif is_input_name(name):
                names.append((name, entry.inode()))
                if entry.is_symlink():
                    links.add(name)
    names.sort()
    dirs.sort()
    blob = "\0".join(name for name, _inode in names)
    inodes = array("Q", (inode for _name, inode in names))
    return _Folder(stamp, blob, len(names), inodes, frozenset(links), tuple(dirs))


def _candidate(folder: str, name: str, is_link: bool) -> Candidate:
    path = os.path.join(folder, name)
    key = display_path(os.path.realpath(path) if is_link else path)
    return Candidate(path, path if key == path else key)  # one string when they are the same
