"""The daemon's log: plain lines on stderr with levels, secrets redacted.

Under journald (``$JOURNAL_STREAM``) each line carries a syslog priority prefix so
``journalctl -p warning`` works; elsewhere a UTC timestamp.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from .secrets import RedactingFilter, install_log_redaction

LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Third-party loggers that are chatty at INFO (httpx logs every request URL).
QUIET_LOGGERS = (
    "apscheduler",
    "httpx",
    "httpcore",
    "stravalib",
    "urllib3",
    "requests",
    "calfsync.sources.strava.client.Protocol",  # stravalib logs each request under its class
)


class _LineFormatter(logging.Formatter):
    """``LEVEL logger: message``; with a syslog priority prefix when stderr is journald's,
    so ``journalctl -p warning`` works, and a timestamp when it is not (journald adds its own).
    """

    PRIORITY = {
        logging.DEBUG: 7,
        logging.INFO: 6,
        logging.WARNING: 4,
        logging.ERROR: 3,
        logging.CRITICAL: 2,
    }

    def __init__(self, journal: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record).replace("\n", " | ")
        if self.journal:
            return f"<{self.PRIORITY.get(record.levelno, 6)}>{line}"
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {line}"


def setup_logging(level: str = "info", env: Mapping[str, str] | None = None) -> None:
    """Plain lines on stderr with levels, secrets redacted; replaces earlier handlers."""
    env = os.environ if env is None else env
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter(journal=bool(env.get("JOURNAL_STREAM"))))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS.get(level, logging.INFO))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_log_redaction()
