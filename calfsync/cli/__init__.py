"""The ``calfsync`` command line. Nothing below this module prints.

Commands live in the module of the stage they drive and are imported only when run, so
``calfsync --help`` starts fast on a Raspberry Pi. Exit codes: 0 ok, 1 failure, 2 usage or
configuration error.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
from typing import Any

import click

# command name -> "module:attribute" of a click command or group
LAZY_COMMANDS: dict[str, str] = {
    "import": "calfsync.ingest.fit:import_cmd",
    "sync": "calfsync.cli.sync:sync_cmd",
    "status": "calfsync.status:status_cmd",
    "demo": "calfsync.demo:demo_cmd",
    "config": "calfsync.cli.config:config_group",
    "notify": "calfsync.cli.notify:notify_group",
    "run": "calfsync.daemon:run_cmd",
    "doctor": "calfsync.doctor:doctor_cmd",
    "replay": "calfsync.cli.alerts:replay_cmd",
    "alerts": "calfsync.cli.alerts:alerts_cmd",
    "shoes": "calfsync.shoes:shoes_group",
    "sore": "calfsync.soreness:sore_cmd",
    "auth": "calfsync.sources.strava.auth:auth_group",
}

HELP_LINES: dict[str, str] = {
    "import": "Import FIT files, folders, .fit.gz and .zip exports (never pushes).",
    "sync": "Run one sync cycle over the configured sources and exit.",
    "status": "Show counts, date range, sources and pushes.",
    "demo": "Generate a demo training history and show what calfsync does.",
    "config": "Validate or show the configuration.",
    "notify": "Test push channels, flush the outbox, list and retry dead letters.",
    "run": "Run the daemon: scan inboxes, poll Strava, deliver pushes, nightly rules.",
    "doctor": "Check configuration, database, inboxes, push channels and Strava; print fixes.",
    "replay": "Show what the rules would have fired over all history.",
    "alerts": "List stored alerts, newest first.",
    "shoes": "List, add and set shoes; assign a run to a shoe.",
    "sore": "Log calf soreness (0-10), or list the log.",
    "auth": "Authorize Strava access: `auth strava` (works on a headless server).",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module_name, attr = LAZY_COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            command.name = cmd_name
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        with formatter.section("Commands"):
            formatter.write_dl([(n, HELP_LINES.get(n, "")) for n in names])


class Context:
    """Per-invocation state: the global options, the config and the database, opened lazily."""

    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path
        self._config: Any = None
        self._db: Any = None

    @property
    def config(self) -> Any:
        if self._config is None:
            from ..config import load_config

            self._config = load_config(self.config_path, db_override=self.db_path)
        return self._config

    @property
    def db(self) -> Any:
        if self._db is None:
            from ..store.db import open_db

            self._db = open_db(self.config.db_path, busy_timeout_s=self.config.busy_timeout_s)
        return self._db


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="FILE", help="Configuration file (TOML).")
@click.option("--db", "db_path", metavar="FILE", help="Database file (overrides [database] path).")
@click.version_option(package_name="calfsync")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db_path: str | None) -> None:
    """calfsync: sync runs from FIT files and Strava into SQLite and warn before the calf hurts."""
    global _context
    ctx.obj = _context = Context(config_path, db_path)


_context: Context | None = None  # the running invocation's, for main()'s error messages


def _database_path() -> Any:
    """The database the running command uses, when it is known without raising."""
    if _context is None:
        return None
    try:
        return _context.config.db_path
    except Exception:  # noqa: BLE001 - only for a message
        return _context.db_path


def _os_error_message(exc: OSError) -> str:
    """An OSError from an expected condition (permissions, full disk) as a sentence with a fix."""
    import errno

    what = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = (
            "Make it readable (and writable where calfsync writes) by the user running "
            "calfsync, or run calfsync as that user."
        )
    elif exc.errno == errno.ENOSPC:
        fix = "Free disk space there, then run again."
    else:
        fix = "Check the path and run again."
    return f"cannot access{what}: {reason}. {fix}"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning calfsync's own errors into a message and an exit code."""
    from ..errors import CalfsyncError

    try:
        result = cli.main(args=argv, prog_name="calfsync", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CalfsyncError as exc:
        click.echo(f"calfsync: {exc}", err=True)
        sys.exit(exc.exit_code)
    except sqlite3.Error as exc:  # disk full, lock held, read-only or damaged file
        from ..store.db import database_error

        click.echo(f"calfsync: {database_error(exc, _database_path())}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"calfsync: {_os_error_message(exc)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
