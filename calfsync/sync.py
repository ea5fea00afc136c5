"""The sync cycle's steps, and the one runner that runs them.

sources -> store -> evaluate rules -> enqueue pushes (same transaction as the alerts) -> deliver.
Each step is one function of ``(db, cfg, now)`` returning a typed report: :func:`scan_fit`,
:func:`poll_strava`, :func:`read_replies`, :func:`evaluate`, :func:`digest` (the weekly digest,
when due), :func:`deliver` and :func:`nightly`.
:func:`run_steps` is the only place that runs them: it records each outcome in the ``state``
table (``cycle.<step>.last_run`` / ``last_ok`` / ``last_error``, redacted), which ``status``
reads, and logs a failure. A step that fails lets the next ones run, unless the database itself
is the problem. ``calfsync sync`` runs :data:`CYCLE` once (:func:`run_cycle`); the daemon runs
one of :data:`JOBS` at a time (:func:`run_job`).

Every step is idempotent: a cycle killed at any instant and run again loses and duplicates
nothing. Activities and the dates they dirty are written in one transaction, and alerts and
their pushes in another.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlite_utils

from . import isolated
from .config import Config
from .errors import CalfsyncError, PartlyFailed
from .evaluation import evaluate_dates as evaluate_dates
from .evaluation import evaluate_pending as evaluate_pending
from .ingest import intervals as intervals_sync
from .ingest import strava as strava_sync
from .ingest.fit import ImportSummary, scan_inboxes
from .ingest.intervals import IntervalsReport
from .ingest.strava import StravaReport
from .model import utc_iso
from .notify import digest as weekly_digest
from .notify import outbox, replies, shoe_ask
from .notify.digest import DigestReport
from .notify.outbox import DeliveryReport
from .outputs import mqtt as mqtt_output
from .outputs import report as report_page
from .secrets import redact
from .step_reports import describe, is_idle
from .store import alerts as alert_store
from .store.db import (
    database_error,
    database_path,
    is_busy,
    is_database_problem,
    open_db,
    write_tx,
)
from .store.state import set_state

log = logging.getLogger(__name__)


@dataclass
class EvaluateReport:
    """The alerts one evaluation made, by id in the order made."""

    alert_ids: list[int] = field(default_factory=list)

    def line(self) -> str:
        return f"{len(self.alert_ids)} new alert(s)"


@dataclass
class RepliesReport:
    """How many answers from the phone (soreness, shoes) one read of the reply topic recorded."""

    answers: int = 0

    def line(self) -> str:
        return f"{self.answers} answer(s) from the phone"


StepReport = (
    ImportSummary | StravaReport | EvaluateReport | RepliesReport | DigestReport | DeliveryReport
) | mqtt_output.MqttReport


@dataclass
class CycleReport:
    """What a run of steps did; ``errors`` maps a step to the message a person reads."""

    fit: ImportSummary | None = None
    strava: StravaReport | None = None
    alert_ids: list[int] = field(default_factory=list)
    delivery: DeliveryReport | None = None
    replies: RepliesReport | None = None
    digest: DigestReport | None = None
    errors: dict[str, str] = field(default_factory=dict)
    reports: dict[str, StepReport] = field(default_factory=dict)  # steps that ran, in order
    database_busy: bool = False  # another writer held the lock: nothing more was written

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def idle(self) -> bool:
        """True when no step failed and none did anything (the daemon logs that at debug)."""
        return self.ok and all(is_idle(r) for r in self.reports.values())

    @property
    def failed(self) -> dict[str, str]:
        """The errors that fail ``calfsync sync``: pushes and phone replies a step could not
        handle wait in the outbox or on the reply topic for the next cycle."""
        return {k: v for k, v in self.errors.items() if k not in ("deliver", "replies", "mqtt")}

    @property
    def pushes_all_dead(self) -> str | None:
        """Why every push this cycle tried failed for good (None when one was sent, will be
        retried, or none was tried): ``calfsync sync`` then exits 1, as nothing will ever
        reach the phone until the channel is fixed."""
        d = self.delivery
        if d is None or d.dead == 0 or d.sent or d.retrying:
            return None
        reasons = "; ".join(dict.fromkeys(d.errors)) or "see `calfsync status`"
        return (
            f"every push tried failed for good ({d.dead} dead): {reasons}. Fix the channel "
            "(`calfsync notify test` checks it), then `calfsync notify dead` lists them and "
            "`calfsync notify retry ID` queues one again."
        )

    def add(self, name: str, report: StepReport) -> None:
        """Keep the report of step ``name``."""
        self.reports[name] = report
        if isinstance(report, ImportSummary):
            self.fit = report
        elif isinstance(report, StravaReport):
            self.strava = report
        elif isinstance(report, EvaluateReport):
            self.alert_ids.extend(report.alert_ids)
        elif isinstance(report, DeliveryReport):
            self.delivery = report
        elif isinstance(report, DigestReport):
            self.digest = report
        elif isinstance(report, RepliesReport):
            self.replies = report

    def summary(self) -> str:
        """The line ``calfsync sync`` prints."""
        parts = []
        if self.fit is not None:
            parts.append(f"fit: {self.fit.line()}")
        if self.strava is not None:
            parts.append(f"strava: {self.strava.message or self.strava.state}")
        if "intervals" in self.reports:
            parts.append(f"intervals: {self.reports['intervals'].line()}")
        parts.append(f"new alerts: {len(self.alert_ids)}")
        if self.delivery is not None:
            d = self.delivery
            parts.append(
                f"pushes: {d.sent} sent, {d.retrying} retrying, {d.deferred} deferred, "
                f"{d.dead} dead"
            )
        parts.extend(f"{step} failed: {msg}" for step, msg in self.errors.items())
        return "; ".join(parts)

    def line(self) -> str:
        """A short, secret-free line for the daemon's log and ``STATUS=``: what the steps did
        (``nothing to do`` when nothing), then what failed."""
        done = [describe(r) for r in self.reports.values() if not is_idle(r)]
        failed = [f"{step}: {msg}" for step, msg in self.errors.items()]
        return "; ".join(done + failed) or "nothing to do"


# --------------------------------------------------------------------------- the steps


def scan_fit(db: sqlite_utils.Database, cfg: Config, now: datetime) -> ImportSummary:
    """Import new or changed files from the ``[fit] inbox`` folders, account exports (Strava,
    Garmin) dropped there with their names, shoes and GPX/TCX runs."""
    try:
        summary = scan_inboxes(db, cfg, now=now)
    except PartlyFailed as exc:  # an unreadable folder: the exports found are imported still
        if isinstance(exc.report, ImportSummary):
            exc.report = _import_exports(db, cfg, exc.report, now)
        raise
    return _import_exports(db, cfg, summary, now)


def _import_exports(
    db: sqlite_utils.Database, cfg: Config, found: ImportSummary, now: datetime
) -> ImportSummary:
    """``found`` with the account exports it lists imported (the daemon: in a child process,
    so their readers, fitparse and gpxpy, stay out of it)."""
    if not found.exports:
        return found
    from .ingest.exports import import_inbox_exports  # loaded only when there is one

    if cfg.children:
        return isolated.in_child(import_inbox_exports, cfg, now, found)
    return import_inbox_exports(db, cfg, now, found)


def poll_strava(db: sqlite_utils.Database, cfg: Config, now: datetime) -> StravaReport:
    """Pull new activities from Strava, and queue the push a Strava problem owes the runner
    (the daemon polls in a child process: stravalib stays out of it)."""
    if cfg.children:
        return isolated.in_child(poll_strava, cfg, now)
    report = strava_sync.run(db, cfg, now)
    with write_tx(db):
        notice = strava_sync.take_notice(db)
        if notice:
            queue_notice(db, cfg, now, "STRAVA", "Strava needs you", notice)
    return report


def poll_intervals(db: sqlite_utils.Database, cfg: Config, now: datetime) -> IntervalsReport:
    """Pull new activities from intervals.icu (the daemon: in a child process)."""
    if cfg.children:
        return isolated.in_child(poll_intervals, cfg, now)
    return intervals_sync.step(queue_notice)(db, cfg, now)


def read_replies(db: sqlite_utils.Database, cfg: Config, now: datetime) -> RepliesReport:
    """Record the phone's soreness answers from the reply topic. Each marks its own day for
    evaluation (an answer can start or end a P1 episode): the evaluate step that follows
    judges it."""
    return RepliesReport(replies.poll(db, cfg, now))


def evaluate(db: sqlite_utils.Database, cfg: Config, now: datetime) -> EvaluateReport:
    """Judge the dates whose data changed; alerts and their pushes in one transaction (the
    daemon judges a long stretch of history in a child process: :mod:`.isolated`)."""
    if cfg.children:
        return EvaluateReport(isolated.evaluate(db, cfg, now))
    return EvaluateReport(evaluate_pending(db, cfg, now))


def digest(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DigestReport:
    """Record and enqueue this week's digest once its moment has passed (a no-op otherwise)."""
    return weekly_digest.run(db, cfg, now)


def deliver(db: sqlite_utils.Database, cfg: Config, now: datetime) -> DeliveryReport:
    """Deliver due pushes from the outbox (retries, the end of quiet hours, the next day's cap);
    the daemon does it in a child process (``[daemon] child_process``)."""
    if cfg.children:
        return isolated.deliver(db, cfg, now)
    return outbox.deliver_due(db, cfg, now)


def nightly(db: sqlite_utils.Database, cfg: Config, now: datetime) -> EvaluateReport:
    """Re-evaluate today's window rules (a week's rise can cross a threshold with no new run)."""
    return EvaluateReport(evaluate_pending(db, cfg, now, extra_dates={_today(cfg, now)}))


def _today(cfg: Config, now: datetime) -> str:
    return now.astimezone(cfg.timezone).date().isoformat()


def queue_notice(
    db: sqlite_utils.Database, cfg: Config, now: datetime, source: str, title: str, body: str
) -> int:
    """Record a notice about calfsync itself (not a training rule) as an alert and queue its
    push in the same transaction. One per source, text and local day."""
    today = now.astimezone(cfg.timezone).date().isoformat()
    with write_tx(db):
        key = f"{source}:{today}:{hash_text(body)}"
        alert_id = alert_store.insert_notice(db, source, key, today, title, body)
        if alert_id:
            outbox.enqueue(db, cfg, [alert_id], now)
        return alert_id


def hash_text(text: str) -> str:
    """A short stable digest of ``text`` (12 hex digits), for episode keys."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- the runner


@dataclass(frozen=True)
class Step:
    """A step's work, and whether the configuration asks for the step at all: a step left out
    runs and records nothing."""

    name: str
    work: Callable[[sqlite_utils.Database, Config, datetime], StepReport]
    wanted: Callable[[Config], bool] = lambda _cfg: True


def _replies_wanted(cfg: Config) -> bool:
    return bool(cfg.notify.reply_topic)


def _digest_wanted(cfg: Config) -> bool:
    return cfg.notify.digest != "off"


REGISTRY: dict[str, Step] = {
    step.name: step
    for step in (
        Step("fit", scan_fit),
        Step("strava", poll_strava, strava_sync.configured),
        Step("intervals", poll_intervals, intervals_sync.configured),
        Step("evaluate", evaluate),
        Step("digest", digest, _digest_wanted),
        Step("deliver", deliver),
        Step("nightly", nightly),
        Step("replies", read_replies, _replies_wanted),
        Step("mqtt", mqtt_output.publish, mqtt_output.wanted),
        Step("ask_shoe", shoe_ask.run, shoe_ask.wanted),
        Step("report", report_page.update, report_page.wanted),
    )
}
STEPS: tuple[str, ...] = tuple(REGISTRY)  # every step that records cycle.<step>.* (status)


def _always(_report: CycleReport) -> bool:
    return True


def _made_alerts(report: CycleReport) -> bool:
    """A fresh alert goes out now, not at the deliver job's next tick."""
    return bool(report.alert_ids)


def _got_answers(report: CycleReport) -> bool:
    return bool(report.replies and report.replies.answers)


# A plan: step names in order, each with the condition (on what the steps before it did) to run.
Plan = tuple[tuple[str, Callable[[CycleReport], bool]], ...]
CYCLE: Plan = tuple(
    (name, _always)
    for name in ("fit", "strava", "intervals", "replies", "evaluate", "ask_shoe")
    + ("digest", "deliver")
)
JOBS: dict[str, Plan] = {
    "fit": (("fit", _always), ("evaluate", _always), ("deliver", _made_alerts)),
    "strava": (("strava", _always), ("evaluate", _always), ("deliver", _made_alerts)),
    "intervals": (("intervals", _always), ("evaluate", _always), ("deliver", _made_alerts)),
    "deliver": (
        ("replies", _always),
        ("evaluate", _got_answers),
        ("ask_shoe", _always),  # a fresh run without a shoe and no alert: one quiet question
        ("digest", _always),  # every flush: a daemon down at the moment sends it when back
        ("deliver", _always),
    ),
    "nightly": (("nightly", _always),),
}
CYCLE += (("mqtt", _always), ("report", report_page.due))  # outputs: HA sensors, report page
JOBS = {j: (*p, ("mqtt", mqtt_output.due), ("report", report_page.due)) for j, p in JOBS.items()}


def run_steps(db: sqlite_utils.Database, cfg: Config, now: datetime, plan: Plan) -> CycleReport:
    """Run ``plan``'s steps in order, each recorded in ``state`` and its failure logged. A step
    that fails lets the next ones run, unless the database itself is the problem; a step that
    partly failed (:class:`PartlyFailed`) is recorded as failed and its report kept, so what it
    did (a fresh run imported) is evaluated and delivered by the next steps of the same plan."""
    report = CycleReport()
    for name, condition in plan:
        step = REGISTRY[name]
        if not step.wanted(cfg) or not condition(report):
            continue
        try:
            set_state(db, f"cycle.{name}.last_run", utc_iso(now))
            result = step.work(db, cfg, now)
            set_state(db, f"cycle.{name}.last_ok", utc_iso(now))
            set_state(db, f"cycle.{name}.last_error", None)
        except Exception as exc:  # noqa: BLE001 - one step's failure must not stop the rest
            report.errors[name] = _record_failure(db, name, exc, database_path(db))
            if isinstance(exc, PartlyFailed):
                report.add(name, exc.report)
            if is_database_problem(exc):
                # A full disk, a held lock or a read-only file stops every later step too;
                # each step committed what it finished, so the next run carries on.
                report.database_busy = is_busy(exc)
                break
            continue
        report.add(name, result)
        log.debug("%s step: %s", name, describe(result))
    return report


def _record_failure(
    db: sqlite_utils.Database | None, name: str, exc: Exception, path: Path | None
) -> str:
    """Log a failed step; record its message, secrets redacted, as ``cycle.<name>.last_error``."""
    message = redact(failure_message(exc, path))
    log.error("%s step failed: %s", name, message)
    if not isinstance(exc, CalfsyncError | sqlite3.Error):
        log.debug("%s step traceback", name, exc_info=exc)
    if db is not None and not is_busy(exc):  # with another writer's lock, it would wait again
        _try_set_state(db, f"cycle.{name}.last_error", message)
    return message


def failure_message(exc: Exception, path: Path | None) -> str:
    """The message a person reads for a failed step: SQLite errors name their fix."""
    if isinstance(exc, sqlite3.Error):
        return str(database_error(exc, path))
    return str(exc) or exc.__class__.__name__


def _try_set_state(db: sqlite_utils.Database, key: str, value: str | None) -> None:
    """Record state when the database lets us; a full disk or a lock must not hide the error
    that caused it."""
    try:
        set_state(db, key, value)
    except sqlite3.Error as exc:
        log.warning("cannot record %s in the database: %s", key, exc)


def run_cycle(
    db: sqlite_utils.Database, cfg: Config, now: datetime, *, deliver_pushes: bool = True
) -> CycleReport:
    """One whole cycle (``calfsync sync``): pull every source, read the phone's replies, store,
    evaluate, enqueue and deliver. ``cycle.last_run`` and ``cycle.last_ok`` record it."""
    plan = (
        CYCLE if deliver_pushes else tuple(s for s in CYCLE if s[0] not in ("replies", "deliver"))
    )
    report = run_steps(db, cfg, now, plan)
    if report.database_busy:
        return report
    _try_set_state(db, "cycle.last_run", utc_iso(now))
    if report.ok:
        _try_set_state(db, "cycle.last_ok", utc_iso(now))
    return report


def connect(cfg: Config) -> sqlite_utils.Database:
    """A fresh connection to the configured database, migrated, with its busy timeout."""
    return open_db(cfg.db_path, busy_timeout_s=cfg.busy_timeout_s)


def run_job(
    cfg: Config,
    name: str,
    now: datetime,
    *,
    then: Callable[[sqlite_utils.Database], None] | None = None,
) -> CycleReport:
    """Run the daemon's job ``name`` (see :data:`JOBS`) on a connection of its own, opened and
    closed here so the daemon holds none while idle. ``then`` runs on that connection after the
    steps, unless another writer holds the lock (it would only wait again)."""
    try:
        db = connect(cfg)
    except (CalfsyncError, sqlite3.Error) as exc:  # no database: the job's steps cannot run
        report = CycleReport()
        report.errors[name] = _record_failure(None, name, exc, cfg.db_path)
        return report
    try:
        report = run_steps(db, cfg, now, JOBS[name])
        if then is not None and not report.database_busy:
            then(db)
        return report
    finally:
        db.close()
