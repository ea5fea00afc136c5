"""The ``calfsync`` command line: one module per command group, the only place that prints.

Each command lives in a module of this package, imported only when it runs: ``calfsync --help``
lists the commands from their docstrings, read from the source without importing anything
heavy, so it starts fast on a Raspberry Pi. Exit codes: 0 ok, 1 failure, 2 usage or
configuration error.
"""

from __future__ import annotations

import ast
import errno
import importlib
import re
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import CalfsyncError

if TYPE_CHECKING:
    import sqlite_utils

    from ..config import Config

# command name -> "module:function" of a click command or group, the module in this package
LAZY_COMMANDS: dict[str, str] = {
    "import": "imports:import_cmd",
    "sync": "sync:sync_cmd",
    "status": "status:status_cmd",
    "demo": "demo:demo_cmd",
    "config": "config:config_group",
    "notify": "notify:notify_group",
    "run": "run:run_cmd",
    "doctor": "doctor:doctor_cmd",
    "replay": "alerts:replay_cmd",
    "alerts": "alerts:alerts_cmd",
    "shoes": "shoes:shoes_group",
    "sore": "sore:sore_cmd",
    "auth": "auth:auth_group",
    "activity": "activity:activity_group",
    "report": "report:report_cmd",
}


def listed_help(name: str, limit: int = 45) -> str:
    """The line ``calfsync --help`` shows for a command: what click makes of its docstring,
    taken from the module's source without importing it (the module imports the stages it
    drives: sqlite-utils, httpx, APScheduler...)."""
    module, function = LAZY_COMMANDS[name].split(":")
    source = (Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8")
    docstring = ast.get_docstring(_function_node(source, function), clean=False)
    return click.Command(name, help=docstring).get_short_help_str(limit)


def _function_node(source: str, function: str) -> ast.FunctionDef:
    """The top-level ``def function`` of a module's ``source``.

    Parsing every command module took 10-15 ms of ``--help``; parsing from the ``def`` to the end
    of the first triple-quoted string after it (its docstring) is enough and takes under 1 ms.
    When that fragment does not parse, or holds another function, the whole module is parsed.
    """
    head = re.search(rf"^def {function}\(", source, re.MULTILINE)
    opening = source.find('"""', head.start()) if head else -1
    closing = source.find('"""', opening + 3) if opening >= 0 else -1
    if head and closing >= 0:
        try:
            node = ast.parse(source[head.start() : closing + 3]).body[0]
        except SyntaxError:
            node = None
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return node
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return node
    raise LookupError(f"no top-level function {function} in that module")


def iso_date(value: str) -> str:
    """``value`` as a date like 2026-03-01, or a usage error (exit 2) saying so."""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise click.BadParameter(f"'{value}' is not a date like 2026-03-01") from exc


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, function = LAZY_COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(f"{__name__}.{module}"), function)
            command.name = cmd_name
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, without importing the commands (see :func:`listed_help`)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, listed_help(name, limit)) for name in names])


class Context:
    """Per-invocation state: the global options, the config and the database, opened lazily."""

    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self.config_path = config_path
        self.db_path = db_path
        self._config: Config | None = None
        self._db: sqlite_utils.Database | None = None

    @property
    def config(self) -> Config:
        """The configuration, loaded on first use."""
        if self._config is None:
            from ..config import load_config  # about 50 ms: not for `--help`

            self._config = load_config(self.config_path, db_override=self.db_path)
        return self._config

    @property
    def db(self) -> sqlite_utils.Database:
        """The database, opened (and migrated) on first use."""
        if self._db is None:
            from ..store.db import open_db  # sqlite-utils, about 120 ms: not for `--help`

            self._db = open_db(
                self.config.db_path,
                busy_timeout_s=self.config.busy_timeout_s,
                create_folder=self.db_path is None,  # an explicit --db: its folder must exist
            )
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
        from ..store.db import database_error  # sqlite-utils: only on this path (start-up)

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
