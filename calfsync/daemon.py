"""The daemon behind ``calfsync run``: it schedules sync steps with APScheduler 3.11.

Jobs (under one lock, so they never overlap; each coalesces missed runs into one):

- ``fit``      every ``[daemon] scan_seconds``: scan the inboxes, evaluate, deliver fresh pushes;
  also run by the inbox watch's thread as soon as a file landed and settled (``[fit] watch``);
- ``strava``   every ``[strava] poll_minutes`` with jitter, when Strava is configured;
  ``intervals`` the same with ``[intervals] poll_minutes``, when intervals.icu is configured;
- ``deliver``  every ``[daemon] flush_seconds``: read phone replies, send the weekly digest once its
  moment has passed, deliver due pushes (retries, quiet hours);
- ``nightly``  at ``[daemon] nightly_at`` in the athlete's time zone: window rules for today.

What a job does is :mod:`calfsync.sync`'s (``sync.JOBS``): its steps, their reports and the
record of their outcome. This module only schedules the jobs, and handles signals, the
watchdog, reloads and the lock. One daemon per database: an exclusive ``flock`` on
``<db>.lock`` next to the database. Signals are taken by a dedicated thread (never inside a
job), whichever thread the kernel hands them to: SIGTERM and SIGINT let the current step finish
and exit 0; SIGHUP reloads the configuration. Under systemd it speaks sd_notify (READY, STATUS
with the last step's summary, WATCHDOG, STOPPING).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import fcntl
import functools
import gc
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from . import sync
from .config import Config
from .errors import CalfsyncError
from .ingest import fit_watch
from .ingest import intervals as intervals_sync
from .ingest import strava as strava_sync
from .model import parse_utc, utc_iso
from .outputs import mqtt as mqtt_output
from .sdnotify import Notifier
from .store.db import write_tx
from .store.state import get_state, set_state

log = logging.getLogger(__name__)

JOBS = tuple(sync.JOBS)  # the scheduled jobs: fit, strava, deliver, nightly
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
HANDLED_SIGNALS = STOP_SIGNALS | {signal.SIGHUP}
STOP_GRACE_S = 25.0  # a step still running after this long is abandoned at shutdown
STEP_HUNG_S = 3600.0  # a step running longer than this stops the watchdog pings
STRAVA_JITTER_FRACTION = 0.1
NEXT_RUN_KEY = "daemon.next.{job}"


# --------------------------------------------------------------------------- the lock


def lock_path(db_path: Path) -> Path:
    """The lock file that keeps a second daemon off a database: ``<db>.lock`` beside the real
    file. Symlinks (of the file or of a folder on the way) and ``..`` are resolved first: the
    same database reached through another path once got a second daemon, its own lock file
    and two writers."""
    real = Path(os.path.realpath(db_path.expanduser()))
    return real.with_name(real.name + ".lock")


def acquire_lock(db_path: Path) -> IO[str]:
    """Take the per-database daemon lock or raise :class:`CalfsyncError` naming the holder.

    The lock is an ``flock`` on an open file, so it disappears with the process, even after
    SIGKILL or a power cut: there is never a stale lock to clean up by hand.
    """
    path = lock_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    except OSError as exc:
        raise CalfsyncError(
            f"cannot create the lock file {path}: {exc.strerror}. The folder of the database "
            "must be writable by the user running calfsync."
        ) from exc
    handle = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            handle.close()
            raise
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise CalfsyncError(
            f"another calfsync daemon (pid {holder}) is already running on {db_path}. "
            "Only one daemon may write a database: stop the other one first "
            "(systemctl stop calfsync), or give this one another --db."
        ) from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def daemon_pid(db_path: Path) -> int | None:
    """The pid of the daemon holding ``db_path``'s lock, or None when no daemon runs.

    Needs only read access to the lock file, so a runner's account can ask too.
    """
    try:
        with open(lock_path(db_path), encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                text = handle.read().strip()
                return int(text) if text.isdigit() else -1
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
    except OSError:
        return None


# --------------------------------------------------------------------------- the daemon


@dataclass
class StepResult:
    """The outcome of the latest run of one job, for STATUS and the log."""

    ok: bool
    at: datetime
    summary: str


def strava_configured(cfg: Config) -> bool:
    """True when the Strava job should be scheduled (enabled, with a client id and secret)."""
    return strava_sync.configured(cfg)


def daemon_config(cfg: Config) -> Config:
    """The configuration as the daemon uses it: ``[fit] workers = 0`` (auto) becomes 1, and
    with ``[daemon] child_process`` parsing and pushes run in a child process (:mod:`.child`).

    A daemon scan sees a few new files at a time, and a process pool forked from a threaded
    daemon costs memory and risks inheriting held locks; set ``workers`` explicitly to parallelize.
    """
    fit = cfg.fit if cfg.fit.workers else cfg.fit.replace(workers=1)
    return dataclasses.replace(cfg, fit=fit, children=cfg.daemon.child_process)


def _release_memory() -> None:
    """Give memory freed by a step back to the system (a daemon sits idle between steps):
    collect cycles, then glibc's ``malloc_trim``. A no-op where libc has no malloc_trim."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def take_signals() -> int:
    """Make the stop and reload signals reach the daemon whichever thread the kernel hands them
    to; returns the read end of a pipe on which each one arrives as its number (one byte).

    A thread started before this runs (by an import: once numpy is importable, sqlite-utils
    imports it and OpenBLAS starts a thread) has the signals unblocked, and with the default
    action a SIGTERM handed to it kills the process mid-step. So each signal gets a handler: its
    C part, in whatever thread receives the signal, writes the number to the pipe
    (``signal.set_wakeup_fd``); the Python part does nothing. And the signals are blocked in the
    calling (main) thread, so every thread started later inherits the block: only the signal
    thread, which unblocks them for itself, and threads older than this call may receive them.
    Call from the main thread.
    """
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    os.set_blocking(write_fd, False)
    for signum in HANDLED_SIGNALS:
        signal.signal(signum, _noted_on_the_pipe)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    return read_fd


def _noted_on_the_pipe(_signum: int, _frame: Any) -> None:
    """The Python part of the handler: nothing, the signal thread reads the pipe."""


class Daemon:
    """Owns the scheduler, the signal thread and the watchdog thread of one ``calfsync run``."""

    def __init__(
        self,
        cfg: Config,
        reload: Callable[[], Config],
        notifier: Notifier | None = None,
    ) -> None:
        self.cfg = daemon_config(cfg)
        self._reload = reload
        self.notifier = notifier or Notifier()
        self.stopping = threading.Event()
        self._step_lock = threading.Lock()
        self._current: tuple[str, float] | None = None
        self.results: dict[str, StepResult] = {}
        self.results_seen: set[str] = set()
        self.scheduler: Any = None
        self._lock_handle: IO[str] | None = None
        self._keeper: Any = None
        self._inboxes = fit_watch.DaemonInboxes()

    # ---- lifecycle

    def run(self) -> int:
        """Run until SIGTERM/SIGINT. Returns the exit code (0 after an orderly stop).

        Call from the main thread: it takes the signals (:func:`take_signals`).
        """
        # APScheduler is imported here, not at the top: it takes about 0.13 s (measured with
        # -X importtime), which ``status`` and ``doctor``, importing this module for the lock,
        # would pay for nothing.
        from apscheduler.events import EVENT_SCHEDULER_STARTED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        signals = take_signals()
        self._lock_handle = acquire_lock(self.cfg.db_path)
        try:
            self._check_database()
            mqtt_output.start_link(self.cfg, self._keeper)  # [mqtt] host set: Home Assistant
            self._ensure_inboxes(self.cfg)
            self.scheduler = BlockingScheduler(
                executors={"default": ThreadPoolExecutor(1, {"thread_name_prefix": "step"})},
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
                timezone=UTC,
            )
            self._schedule(self.cfg, first=True)
            self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
            signal_thread = functools.partial(self._signal_loop, signals)
            threading.Thread(target=signal_thread, name="signals", daemon=True).start()
            if self.notifier.watchdog_interval_s:
                threading.Thread(target=self._watchdog_loop, name="watchdog", daemon=True).start()
            log.info(
                "calfsync daemon started (pid %d): database %s, inboxes %s",
                os.getpid(),
                self.cfg.db_path,
                ", ".join(str(p) for p in self.cfg.inboxes),
            )
            self.scheduler.start()  # blocks until shutdown
            return self._finish()
        finally:
            mqtt_output.stop_link()  # "offline", then a clean disconnect
            self._inboxes.close()
            if self._keeper is not None:
                self._keeper.close()
                self._keeper = None
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None

    def _on_started(self, _event: Any) -> None:
        if self.stopping.is_set():  # a stop signal arrived while the scheduler was starting
            self.scheduler.shutdown(wait=False)
            return
        self.notifier.ready("started; first scan running")

    def _finish(self) -> int:
        """Wait for the step in progress, then report. Called after the scheduler stopped."""
        if not self._step_lock.acquire(timeout=STOP_GRACE_S):
            name = self._current[0] if self._current else "?"
            log.error("step %s did not finish within %.0f s; exiting anyway", name, STOP_GRACE_S)
            self.notifier.stopping(f"abandoned step {name}")
            logging.shutdown()
            os._exit(1)  # the worker thread cannot be joined; SQLite rolls the step back
        self._step_lock.release()
        log.info("calfsync daemon stopped")
        self.notifier.close()
        return 0

    def request_stop(self, reason: str) -> None:
        """Stop after the current step (idempotent, callable from any thread)."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        running = self._current[0] if self._current else None
        log.info("%s: stopping%s", reason, f" after the {running} step" if running else "")
        self.notifier.stopping("stopping")
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    # ---- signals and watchdog

    def _signal_loop(self, signals: int) -> None:
        """Act on each signal number that :func:`take_signals`' pipe delivers."""
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)  # the one thread taking them
        while True:
            signum = os.read(signals, 1)[0]
            if signum == signal.SIGHUP:
                self.reload()
                continue
            if self.stopping.is_set():
                log.warning("second %s: exiting now", signal.Signals(signum).name)
                logging.shutdown()
                os._exit(1)
            self.request_stop(signal.Signals(signum).name)

    def _watchdog_loop(self) -> None:
        interval = self.notifier.watchdog_interval_s or 10.0
        while not self.stopping.wait(interval):
            current = self._current
            if current is not None and time.monotonic() - current[1] > STEP_HUNG_S:
                log.error(
                    "step %s has run for over %.0f s; no watchdog ping", current[0], STEP_HUNG_S
                )
                continue
            self.notifier.watchdog()

    # ---- configuration

    def reload(self) -> bool:
        """Re-read the configuration (SIGHUP). An invalid file keeps the running one."""
        self.notifier.reloading()
        try:
            new = daemon_config(self._reload())
        except CalfsyncError as exc:
            log.error("SIGHUP: configuration not reloaded, keeping the running one: %s", exc)
            self.notifier.ready("reload failed; running with the previous configuration")
            return False
        if new.db_path != self.cfg.db_path:
            log.warning(
                "SIGHUP: the database path changed to %s; that takes a restart "
                "(systemctl restart calfsync). Still using %s.",
                new.db_path,
                self.cfg.db_path,
            )
            new = new.with_db_path(self.cfg.db_path)
        old, self.cfg = self.cfg, new
        self._ensure_inboxes(new)
        if self.scheduler is not None:
            self._schedule(new, first=False, old=old)
        log.info("SIGHUP: configuration reloaded from %s", new.path or "built-in defaults")
        self.notifier.ready("configuration reloaded")
        return True

    def _triggers(self, cfg: Config) -> dict[str, Any]:
        # imported here for the cost measured in run()
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        daemon = cfg.daemon
        hour, minute = (int(x) for x in daemon.nightly_at.split(":"))
        triggers: dict[str, Any] = {
            "fit": IntervalTrigger(seconds=daemon.scan_seconds, timezone=UTC),
            "deliver": IntervalTrigger(seconds=daemon.flush_seconds, timezone=UTC),
            "nightly": CronTrigger(hour=hour, minute=minute, timezone=cfg.timezone),
        }
        if strava_configured(cfg):
            poll_s = cfg.strava.poll_minutes * 60
            triggers["strava"] = IntervalTrigger(
                seconds=poll_s, jitter=int(poll_s * STRAVA_JITTER_FRACTION) or None, timezone=UTC
            )
        if intervals_sync.configured(cfg):
            poll_s = cfg.intervals.poll_minutes * 60
            jitter = int(poll_s * STRAVA_JITTER_FRACTION) or None
            triggers["intervals"] = IntervalTrigger(seconds=poll_s, jitter=jitter, timezone=UTC)
        return triggers

    @staticmethod
    def _trigger_key(cfg: Config, job: str) -> Any:
        """What a job's schedule depends on, to reschedule only jobs whose settings changed."""
        daemon = cfg.daemon
        return {
            "fit": daemon.scan_seconds,
            "deliver": daemon.flush_seconds,
            "nightly": (daemon.nightly_at, cfg.athlete.timezone),
            "strava": (strava_configured(cfg), cfg.strava.poll_minutes),
            "intervals": (intervals_sync.configured(cfg), cfg.intervals.poll_minutes),
        }[job]

    def _schedule(self, cfg: Config, *, first: bool, old: Config | None = None) -> None:
        triggers = self._triggers(cfg)
        now = datetime.now(UTC)
        for job in JOBS:
            trigger = triggers.get(job)
            existing = None if first else self.scheduler.get_job(job)
            if trigger is None:
                if existing is not None:
                    self.scheduler.remove_job(job)
                    log.info("%s polling stopped (no longer configured)", job)
                continue
            if existing is not None:
                if old is not None and self._trigger_key(old, job) == self._trigger_key(cfg, job):
                    continue
                rescheduled = self.scheduler.reschedule_job(job, trigger=trigger)
                log.info("%s job rescheduled: next run %s", job, utc_iso(rescheduled.next_run_time))
                continue
            first_run = self._first_run(job, now, cfg)
            self.scheduler.add_job(
                self._run_job, trigger, args=[job], id=job, name=job, next_run_time=first_run
            )

    def _first_run(self, job: str, now: datetime, cfg: Config) -> datetime | None:
        if job in ("fit", "deliver"):
            return now
        if job in ("strava", "intervals"):
            return now + timedelta(seconds=random.uniform(1, 5))
        # nightly: catch up at start when the last one is more than a day old
        last = self._state_time("cycle.nightly.last_ok", cfg)
        if last is None or now - last > timedelta(hours=24, minutes=5):
            return now + timedelta(seconds=5)
        return None  # None lets the trigger pick the next nightly_at

    # ---- steps

    def _run_job(self, job: str) -> None:
        """One scheduled job, in the single worker thread: :func:`calfsync.sync.run_job` runs
        its steps and records their outcome; this keeps the latest for STATUS and the log."""
        if self.stopping.is_set():
            return
        with self._step_lock:
            if self.stopping.is_set():
                return
            self._current = (job, time.monotonic())
            now = datetime.now(UTC)
            try:
                report = sync.run_job(self.cfg, job, now, then=self._write_next_runs)
            finally:
                self._current = None
            line = report.line()
            self.results[job] = StepResult(report.ok, now, line)
            if report.ok:
                log.log(logging.DEBUG if report.idle else logging.INFO, "%s: %s", job, line)
            # Idle steps allocate next to nothing; start-up and real work do.
            if not report.idle or job not in self.results_seen:
                self.results_seen.add(job)
                _release_memory()
        self.notifier.status(self.status_line())

    def _write_next_runs(self, db: Any) -> None:
        """Publish each job's next run in ``state`` (``daemon.next.<job>``) for ``status``."""
        try:
            with write_tx(db):
                for job in JOBS:
                    scheduled = self.scheduler.get_job(job) if self.scheduler else None
                    when = scheduled.next_run_time if scheduled is not None else None
                    set_state(db, NEXT_RUN_KEY.format(job=job), utc_iso(when) if when else None)
        except Exception as exc:  # noqa: BLE001 - informational only
            log.debug("cannot record next run times: %s", exc)

    def status_line(self) -> str:
        """One line for ``systemctl status``: the latest outcome of each job."""
        parts = []
        for job in JOBS:
            result = self.results.get(job)
            if result is None:
                continue
            mark = "ok" if result.ok else "FAILED"
            parts.append(f"{job} {mark} {result.at:%H:%M:%S}Z: {result.summary}")
        return " | ".join(parts)[:400] or "running"

    # ---- database and inboxes

    def _check_database(self) -> None:
        """Create and migrate the database (or raise with the fix), and keep this connection
        open while the daemon runs: with a connection open the ``-wal`` and ``-shm`` files stay,
        which a runner's read-only reader (``?mode=ro``, no write access to the folder) needs."""
        self._keeper = sync.connect(self.cfg)

    @staticmethod
    def _state_time(key: str, cfg: Config) -> datetime | None:
        db = sync.connect(cfg)
        try:
            value = get_state(db, key)
        finally:
            db.close()
        try:
            return parse_utc(value) if value else None
        except ValueError:
            return None

    def _ensure_inboxes(self, cfg: Config) -> None:
        """Create missing inbox folders, keep their scan cache, and (re)start their watch: a
        file landing runs the fit job from the watch's thread (:mod:`.ingest.fit_watch`)."""
        self._inboxes.apply(cfg, functools.partial(self._run_job, "fit"))
