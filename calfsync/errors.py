"""Errors a person reads. Each message names the fix."""


class CalfsyncError(Exception):
    """calfsync itself cannot work (bad config, unwritable database). CLI exit code 1."""

    exit_code = 1


class ConfigError(CalfsyncError):
    """The configuration is invalid. CLI exit code 2."""

    exit_code = 2
