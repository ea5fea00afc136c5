"""``calfsync run``: start the daemon of :mod:`calfsync.daemon` with the command's configuration."""

from __future__ import annotations

import click

from ..config import Config, load_config
from ..daemon import Daemon
from ..logs import setup_logging
from . import Context


@click.command("run")
@click.pass_obj
def run_cmd(obj: Context) -> None:
    """Run the daemon: scan, poll Strava, deliver pushes, nightly rules.

    It scans the inboxes, polls Strava, delivers pushes and runs the nightly rules. Stops after
    the current step on SIGTERM or SIGINT (exit 0); SIGHUP reloads the configuration. One daemon
    per database.
    """
    cfg = obj.config
    setup_logging(cfg.daemon.log_level)

    def reload() -> Config:
        new = load_config(obj.config_path, db_override=obj.db_path)
        setup_logging(new.daemon.log_level)
        return new

    raise SystemExit(Daemon(cfg, reload).run())
