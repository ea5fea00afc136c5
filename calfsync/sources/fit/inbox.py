"""Finding what may have changed in the inbox folders without looking at every file.

An inbox only grows: after 20 years it holds some 20,000 files, and the daemon looks at it every
``[daemon] scan_seconds``. Statting (and resolving) every file on every scan made one idle scan
cost 0.9 s at 20,000 files. :class:`InboxCache`, kept in memory across scans by the daemon, makes
an idle scan cost one ``stat`` per folder plus a fixed number of files:

- **Folder mtimes.** Creating, renaming or deleting a file in a folder moves the folder's mtime
  (and ctime). A folder whose ``(mtime, ctime)`` is the one it had when it was last listed is
  not listed again: its input names are the cached ones. A folder listed again yields only the
  names that were not there before. A folder is trusted only when its mtime was already
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
from dataclasses import dataclass, field
from pathlib import Path

from .inputs import display_path, is_input_name

# A folder's stamp is trusted once it is this old: coarser than any file system's time stamps.
TRUST_AFTER_S = 2.0
# Cached files re-checked per scan, in rotation (a file rewritten in place, unwatched).
VERIFY_PER_SCAN = 256


@dataclass
class _Folder:
    """One listed folder: its stamp when listed (None: list it again), its input file names in
    order, the ones among them that are symlinks, and its subfolders."""

    stamp: tuple[int, int] | None
    names: tuple[str, ...]
    links: frozenset[str]
    dirs: tuple[str, ...]


@dataclass
class Candidate:
    """A file that may be new or changed: its path, and the key it is recorded under (text, not
    :class:`Path`: hundreds are made per scan, most of them only to be ``stat``-ed)."""

    path: str
    key: str


@dataclass
class Walk:
    """What one pass over the inboxes found: candidates in order, and folders not listable."""

    candidates: list[Candidate] = field(default_factory=list)
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
        self._cursor = (0, 0)  # (folder number, file number) of the rotation
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
    def walk(self, inboxes: list[Path]) -> Walk:
        """The candidates in ``inboxes``: new names in folders that changed, pending files, the
        watcher's hints and the rotation's share of cached files (each once, in that order)."""
        with self._lock:
            hints, self._hints = self._hints, set()
            verify_all, self._verify_all = self._verify_all, False
        walk = Walk()
        found: dict[str, Candidate] = {}
        folders: dict[str, _Folder] = {}
        now_ns = time.time_ns()
        for inbox in inboxes:
            root = os.path.realpath(inbox)
            self._walk_tree(root, now_ns, folders, found, walk)
        self._folders = folders
        for key, path in list(self._pending.items()):
            found.setdefault(key, Candidate(path, key))
        for raw in sorted(hints):
            self._add_hint(raw, folders, found)
        for candidate in self._rotation(folders, everything=verify_all):
            found.setdefault(candidate.key, candidate)
        walk.candidates = list(found.values())
        return walk

    def keep_pending(self, candidate: Candidate, pending: bool) -> None:
        """Record whether ``candidate`` still waits to be read (look at it on every scan)."""
        if pending:
            self._pending[candidate.key] = candidate.path
        else:
            self._pending.pop(candidate.key, None)

    @property
    def files(self) -> int:
        """How many input files the cached folders hold."""
        return sum(len(f.names) for f in self._folders.values())

    def _walk_tree(
        self,
        root: str,
        now_ns: int,
        folders: dict[str, _Folder],
        found: dict[str, Candidate],
        walk: Walk,
    ) -> None:
        stack = [root]
        trust_ns = now_ns - int(TRUST_AFTER_S * 1e9)
        while stack:
            folder = stack.pop()
            walk.folders += 1
            try:
                info = os.stat(folder)
            except FileNotFoundError:
                continue  # removed since its parent was listed
            except OSError as exc:
                walk.unreadable.append((display_path(folder), exc.strerror or str(exc)))
                continue
            stamp = (info.st_mtime_ns, info.st_ctime_ns)
            old = self._folders.get(folder)
            if old is not None and old.stamp == stamp:
                entry = old
            else:
                try:
                    entry = _list(folder, stamp if info.st_mtime_ns < trust_ns else None)
                except OSError as exc:
                    walk.unreadable.append((display_path(folder), exc.strerror or str(exc)))
                    continue
                walk.listed += 1
                known = set(old.names) if old is not None else ()
                for name in entry.names:
                    if name not in known:
                        candidate = _candidate(folder, name, name in entry.links)
                        found.setdefault(candidate.key, candidate)
            folders[folder] = entry
            stack.extend(os.path.join(folder, d) for d in reversed(entry.dirs))

    def _add_hint(self, raw: str, folders: dict[str, _Folder], found: dict[str, Candidate]) -> None:
        folder, name = os.path.split(raw)
        entry = folders.get(folder)
        if entry is None or not is_input_name(name):
            return  # not under a listed inbox folder (or not an input): the walk decides
        candidate = _candidate(folder, name, os.path.islink(raw))
        found.setdefault(candidate.key, candidate)

    def _rotation(self, folders: dict[str, _Folder], everything: bool) -> list[Candidate]:
        """The next ``verify_per_scan`` cached files in turn (all of them with ``everything``)."""
        keys = list(folders)
        total = sum(len(f.names) for f in folders.values())
        budget = total if everything else min(self.verify_per_scan, total)
        out: list[Candidate] = []
        folder_no, file_no = self._cursor
        if folder_no >= len(keys):
            folder_no, file_no = 0, 0
        while len(out) < budget and keys:
            key = keys[folder_no]
            entry = folders[key]
            if file_no < len(entry.names):
                take = entry.names[file_no : file_no + budget - len(out)]
                out.extend(_candidate(key, n, n in entry.links) for n in take)
                file_no += len(take)
            if file_no >= len(entry.names):
                folder_no, file_no = (folder_no + 1) % len(keys), 0
        self._cursor = (folder_no, file_no)
        return out


def _list(folder: str, stamp: tuple[int, int] | None) -> _Folder:
    """List one folder the way the import always has: hidden names skipped, subfolders (not
    symlinks to folders) walked, input names kept whatever they are (a FIFO named ``x.fit`` is
    refused later, with its reason)."""
    names: list[str] = []
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
                names.append(name)
                if entry.is_symlink():
                    links.add(name)
    names.sort()
    dirs.sort()
    return _Folder(stamp, tuple(names), frozenset(links), tuple(dirs))


def _candidate(folder: str, name: str, is_link: bool) -> Candidate:
    path = os.path.join(folder, name)
    real = os.path.realpath(path) if is_link else path
    return Candidate(path, display_path(real))
