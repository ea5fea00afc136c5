"""The watched inbox: inotify tells the daemon a file landed, so it is imported within seconds of
settling instead of at the next ``[daemon] scan_seconds`` tick (issue 14 item 1).

The library is inotify_simple (a ctypes wrapper of the three inotify calls, no thread of its
own), chosen over watchdog by what each costs the daemon, measured on the 2-core build machine
(Python 3.11, on top of the modules the daemon already loads, three runs each): importing it and
watching a folder takes **11-13 ms and +1.6 MB RSS** with inotify_simple 2.0.1, against
**39-47 ms, +4.8 MB and three more threads** with watchdog 7.1 (whose recursive observer and
event classes calfsync would not use: it needs one watch per folder and the event names). The
daemon's whole idle budget is 40 MB.

How a file becomes ready: every event on an input name (a write, a close, a rename into the
folder, a time stamp change) names the file to the scan's cache (:meth:`InboxCache.hint`) and
sets its deadline to the event's time plus ``[fit] settle_seconds``. A close after writing or a
rename into the folder runs the fit job at once (a FIT file exactly as long as its header says
is whole, and read at once); otherwise the job runs when the last deadline passes with no new
event: the stable-file rule (:func:`calfsync.sources.fit.inputs.has_settled`) then finds it
settled. The job is the daemon's ``fit`` job (scan, evaluate, deliver fresh pushes), run from
this thread under the daemon's step lock, so it never overlaps a scheduled job.

Where watching is not possible the periodic scan is the only way, and the reason is logged once:
an inbox on a network file system (NFS, SMB/CIFS, sshfs...: inotify sees only this machine's own
writes, not those of the machine that shares it; found from the file system type in
``/proc/self/mountinfo``), inotify missing, or its limits reached (``fs.inotify.max_user_watches``
or ``max_user_instances``). The scan stays on everywhere as the safety net: a lost event (a full
queue makes the next scan re-check every file) or a watch that went away cannot lose a file. An
inbox folder deleted or renamed away (its watch would follow it) is watched again as soon as a
folder is back under its name (looked for every :data:`RECHECK_S` meanwhile), and scanned then.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Config
from ..sources.fit.inbox import InboxCache
from ..sources.fit.inputs import display_path, is_input_name
from .fit import keep_scan_cache

log = logging.getLogger(__name__)

MOUNTINFO = Path("/proc/self/mountinfo")
# File systems whose files other machines change without this kernel seeing it: no inotify.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "ncpfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "davfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
        "fuse.gcsfuse",
        "fuse.glusterfs",
        "fuse.davfs2",
        "fuse.smbnetfs",
    }
)
# After the last event on a file, wait this much beyond settle_seconds before looking: the
# settle rule compares whole seconds of the inode's change time with the wall clock.
MARGIN_S = 0.25
# While an inbox folder is gone, look for it under its name this often (a stat).
RECHECK_S = 10.0
# inotify masks (linux/inotify.h)
IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_TO, IN_CREATE, IN_MOVE_SELF = 0x80, 0x100, 0x800
IN_Q_OVERFLOW, IN_IGNORED, IN_ISDIR = 0x4000, 0x8000, 0x40000000
IN_ONLYDIR, IN_EXCL_UNLINK = 0x01000000, 0x04000000
WATCH_MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_TO
    | IN_CREATE
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_EXCL_UNLINK
)
# add_watch errors that mean inotify's limits, not one folder's trouble: stop watching.
_LIMITS = (errno.ENOSPC, errno.EMFILE, errno.ENFILE, errno.ENOMEM)


class WatchUnavailable(OSError):
    """inotify cannot watch (no inotify, or one of its limits reached)."""


def filesystem_type(path: str, mountinfo: str) -> str | None:
    """The type of the file system ``path`` (resolved) is on, from the text of a
    ``/proc/<pid>/mountinfo``: the mount whose mount point is the longest prefix of it."""
    best, best_type = -1, None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        point = _unescape(fields[4])
        fs_type = fields[fields.index("-") + 1]
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, best_type = len(point), fs_type
    return best_type


def _unescape(field: str) -> str:
    """mountinfo writes a space, tab, newline and backslash in a path as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def network_filesystem(path: str, mountinfo: Path = MOUNTINFO) -> str | None:
    """The network file system type ``path`` is on, or None (local, or not known)."""
    try:
        text = mountinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fs_type = filesystem_type(os.path.realpath(path), text)
    return fs_type if fs_type in NETWORK_FILESYSTEMS else None


class DaemonInboxes:
    """The daemon's inboxes: created when missing, their scan cache kept across scans (see
    :func:`calfsync.ingest.fit.keep_scan_cache`), and their watch (re)started when the settings
    it depends on change (start-up, SIGHUP)."""

    def __init__(self) -> None:
        self.cache = InboxCache()
        self.watcher: InboxWatcher | None = None
        self._settings: tuple[Any, ...] | None = None

    def apply(self, cfg: Config, run_fit: Callable[[], None]) -> None:
        """Make the inboxes of ``cfg`` ready; ``run_fit`` runs the daemon's fit job."""
        ensure_inboxes(cfg.inboxes)
        keep_scan_cache(self.cache)
        settings = (tuple(cfg.inboxes), cfg.fit.watch, cfg.fit.settle_seconds)
        if settings == self._settings:
            return
        self._settings = settings
        self._stop_watching()
        if not cfg.fit.watch:
            log.info("[fit] watch = false: the inboxes are scanned every [daemon] scan_seconds")
            return
        watcher = InboxWatcher(cfg.inboxes, self.cache, cfg.fit.settle_seconds, run_fit)
        if watcher.start():
            self.watcher = watcher

    def close(self) -> None:
        """Stop watching and forget the cache (the daemon stops)."""
        self._stop_watching()
        keep_scan_cache(None)

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None


def ensure_inboxes(inboxes: list[Path]) -> None:
    """Create missing inbox folders (the default ``~/calfsync/inbox`` above all)."""
    for inbox in inboxes:
        if inbox.is_dir():
            continue
        try:
            inbox.mkdir(parents=True, exist_ok=True)
            log.info("created the inbox folder %s", inbox)
        except OSError as exc:
            log.warning("inbox %s does not exist and cannot be created: %s", inbox, exc)


class InboxWatcher:
    """Watches the inbox folders (recursively, one inotify watch per folder) in a thread, and
    calls ``on_ready`` (the daemon's fit job) when a file landed or its settle time passed."""

    def __init__(
        self,
        inboxes: list[Path],
        cache: InboxCache,
        settle_s: float,
        on_ready: Callable[[], None],
        mountinfo: Path = MOUNTINFO,
    ) -> None:
        self.inboxes = list(inboxes)
        self.cache = cache
        self.settle_s = settle_s
        self.on_ready = on_ready
        self.mountinfo = mountinfo
        self.watched: list[Path] = []  # the inboxes watched (the others are scanned only)
        self._roots: dict[str, Path] = {}  # resolved folder -> inbox, of the watched inboxes
        self._lost: dict[str, Path] = {}  # the same, while the folder is gone
        self._recheck_at = 0.0
        self._inotify: Any = None
        self._folders: dict[int, str] = {}  # watch descriptor -> folder
        self._deadlines: dict[str, float] = {}  # file -> monotonic time to look at it
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Set the watches up and start the thread; False (logged once, with why) when no inbox
        can be watched: the periodic scan then finds new files alone."""
        try:
            from inotify_simple import INotify  # imported here: only the daemon watches

            self._inotify = INotify()
        except (ImportError, OSError) as exc:
            log.warning(
                "cannot watch the FIT inboxes (%s): new files are found by the scan every "
                "[daemon] scan_seconds",
                _why(exc),
            )
            return False
        for inbox in self.inboxes:
            root = os.path.realpath(inbox)
            fs_type = network_filesystem(root, self.mountinfo)
            if fs_type:
                log.info(
                    "FIT inbox %s is on a network file system (%s): not watched (inotify misses "
                    "what other machines write), scanned every [daemon] scan_seconds",
                    display_path(inbox),
                    fs_type,
                )
                continue
            try:
                self._watch_tree(root)
            except OSError as exc:
                log.warning(
                    "cannot watch the FIT inbox %s (%s): it is scanned every [daemon] "
                    "scan_seconds instead",
                    display_path(inbox),
                    _why(exc),
                )
                self._forget(root)
                continue
            self.watched.append(inbox)
            self._roots[root] = inbox
        if not self.watched:
            self.close()
            return False
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._loop, name="inbox-watch", daemon=True)
        self._thread.start()
        log.info("watching the FIT inbox(es) %s", ", ".join(map(display_path, self.watched)))
        return True

    def close(self) -> None:
        """Stop the thread (after the job it may be running) and drop every watch."""
        if self._wake_w >= 0:
            os.write(self._wake_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self._wake_r = self._wake_w = -1

    # -- watches --------------------------------------------------------------------------------
    def _watch_tree(self, root: str) -> None:
        """Watch ``root`` and every folder under it (hidden ones and folder symlinks skipped,
        as the scan does). A subfolder that cannot be watched is left to the scan."""
        self._add(root)
        for folder, dirs, _files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in dirs:
                try:
                    self._add(os.path.join(folder, name))
                except OSError as exc:
                    if exc.errno in _LIMITS:
                        raise
                    log.debug("not watching %s: %s", display_path(folder), exc)

    def _add(self, folder: str) -> None:
        try:
            wd = self._inotify.add_watch(folder, WATCH_MASK)
        except OSError as exc:
            raise WatchUnavailable(exc.errno, exc.strerror, folder) from exc
        self._folders[wd] = folder

    def _forget(self, root: str) -> None:
        for wd, folder in list(self._folders.items()):
            if folder == root or folder.startswith(root + os.sep):
                self._folders.pop(wd)
                try:
                    self._inotify.rm_watch(wd)
                except OSError:
                    pass

    # -- the thread -----------------------------------------------------------------------------
    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._inotify.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            ready_fds = {fd for fd, _ in poller.poll(self._timeout_ms())}
            if self._wake_r in ready_fds:
                return
            try:
                events = self._inotify.read(timeout=0)
            except OSError as exc:
                log.warning("the inbox watch failed (%s): scanning only from now on", exc)
                return
            now = time.monotonic()
            ready = False
            for event in events:
                ready = self._handle(event, now) or ready
            for path, when in list(self._deadlines.items()):
                if when <= now:
                    del self._deadlines[path]
                    self.cache.hint(path)
                    ready = True
            if self._lost and now >= self._recheck_at:
                ready = self._watch_again() or ready
            if ready:
                try:
                    self.on_ready()
                except Exception:  # noqa: BLE001 - the scheduled scans go on; keep watching
                    log.exception("the fit job run by the inbox watch failed")

    def _timeout_ms(self) -> int:
        wakes = list(self._deadlines.values()) + ([self._recheck_at] if self._lost else [])
        if not wakes:
            return -1  # nothing to wait for: sleep until an event
        left = min(wakes) - time.monotonic()
        return max(0, int(left * 1000) + 1)

    def _lose(self, root: str) -> None:
        """The inbox folder ``root`` was deleted or renamed away: drop its watches, and look
        for a folder under its name every :data:`RECHECK_S`."""
        inbox = self._roots.get(root)
        if inbox is None or root in self._lost:
            return
        self._forget(root)
        self._lost[root] = inbox
        self._recheck_at = time.monotonic() + RECHECK_S
        log.warning(
            "the FIT inbox %s was deleted or moved away: scanned every [daemon] scan_seconds, "
            "and watched again once it is back",
            display_path(inbox),
        )

    def _watch_again(self) -> bool:
        """Watch the lost inboxes whose folder is back; True when one is (scan it: files may
        have landed before its watch)."""
        back = False
        for root, inbox in list(self._lost.items()):
            if not os.path.isdir(root):
                continue
            try:
                self._watch_tree(root)
            except OSError as exc:
                self._forget(root)
                log.debug("cannot watch %s yet: %s", display_path(inbox), exc)
                continue
            del self._lost[root]
            log.info("watching the FIT inbox %s again", display_path(inbox))
            back = True
        self._recheck_at = time.monotonic() + RECHECK_S
        return back

    def _handle(self, event: Any, now: float) -> bool:
        """Note one event; True when the fit job should run now."""
        mask, name = event.mask, event.name
        if mask & IN_Q_OVERFLOW:
            log.info("inotify queue overflowed: the next scan re-checks every inbox file")
            self.cache.verify_all()
            return True
        if mask & IN_IGNORED:
            folder = self._folders.pop(event.wd, None)
            if folder in self._roots:
                self._lose(folder)
            return False
        folder = self._folders.get(event.wd)
        if mask & IN_MOVE_SELF:  # a subfolder renamed inside the inbox is re-mapped by MOVED_TO
            if folder in self._roots:
                self._lose(folder)
            return False
        if folder is None or not name or name.startswith("."):
            return False
        path = os.path.join(folder, name)
        if mask & IN_ISDIR:
            if mask & (IN_CREATE | IN_MOVED_TO):
                try:
                    self._watch_tree(path)
                except OSError as exc:
                    log.warning(
                        "cannot watch the new folder %s (%s): it is scanned every [daemon] "
                        "scan_seconds instead",
                        display_path(path),
                        _why(exc),
                    )
                return True  # the scan lists it (what landed before its watch, too)
            return False
        if not is_input_name(name):
            return False
        self.cache.hint(path)
        self._deadlines[path] = now + self.settle_s + MARGIN_S
        return bool(mask & (IN_CLOSE_WRITE | IN_MOVED_TO))


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "the inotify watch limit is reached: raise fs.inotify.max_user_watches"
    if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
        return "too many inotify instances or open files: raise fs.inotify.max_user_instances"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
