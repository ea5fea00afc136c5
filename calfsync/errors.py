"""Errors a person reads. Each message names the fix."""

from __future__ import annotations


class CalfsyncError(Exception):
    """calfsync itself cannot work (bad config, unwritable database). CLI exit code 1."""

    exit_code = 1


class ConfigError(CalfsyncError):
    """The configuration is invalid. CLI exit code 2."""

    exit_code = 2


class PartlyFailed(CalfsyncError):
    """A sync step did part of its work and failed the rest (an unreadable inbox folder beside
    readable files). It carries the step's report, so the runner keeps what was done and runs
    the following steps: the runs it stored are evaluated and pushed in the same cycle, while
    the step is still recorded as failed, with this message, for ``status``."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[type[PartlyFailed], tuple[str, object]]:
        return (type(self), (str(self), self.report))  # crosses from a child process whole
