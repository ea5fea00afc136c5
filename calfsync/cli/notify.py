"""``calfsync notify``: test channels, flush the outbox, inspect and retry dead letters."""

from __future__ import annotations

import json

import click

from ..errors import CalfsyncError
from ..notify import ChannelError, Message, sender_for
from ..notify.outbox import (
    _client,
    dead_letters,
    deliver_due,
    enabled_channels,
    resolve_channel,
    retry,
    utcnow,
)
from ..secrets import install_log_redaction, redact
from . import Context


@click.group("notify")
def notify_group() -> None:
    """Push notifications: test channels, flush the outbox, dead letters."""


@notify_group.command("test")
@click.option("--channel", "channel_name", metavar="NAME", help="Only this channel (its name).")
@click.pass_obj
def test_cmd(ctx: Context, channel_name: str | None) -> None:
    """Send a test push on each channel and show the result for each (exit 1 if one fails)."""
    install_log_redaction()
    cfg = ctx.config
    channels = enabled_channels(cfg)
    if channel_name:
        channels = [c for c in channels if c["name"] == channel_name]
        if not channels:
            names = ", ".join(c["name"] for c in enabled_channels(cfg)) or "none"
            raise CalfsyncError(f"no enabled channel named '{channel_name}' (channels: {names})")
    now = utcnow()
    failed = 0
    for chan in channels:
        message = Message(
            title="calfsync test push",
            body="If you can read this, calfsync can reach you on this channel.",
            level=3,
            tags=["white_check_mark"],
            dedupe_key=f"test-{now.strftime('%Y%m%dT%H%M%S')}",
            created_at=now,
            reply_topic=cfg.notify.reply_topic if chan["type"] == "ntfy" else None,
        )
        client = _client(chan)
        try:
            sender_for(chan["type"])(client, resolve_channel(chan), message)
        except ChannelError as exc:
            failed += 1
            kind = "retryable" if exc.retryable else "permanent"
            click.echo(f"{chan['name']} ({chan['type']}): FAILED ({kind}): {redact(str(exc))}")
        except CalfsyncError as exc:
            failed += 1
            click.echo(f"{chan['name']} ({chan['type']}): FAILED: {redact(str(exc))}")
        else:
            click.echo(f"{chan['name']} ({chan['type']}): ok")
        finally:
            client.close()
    if failed:
        raise SystemExit(1)


@notify_group.command("flush")
@click.option("--now", "force", is_flag=True, help="Try every pending push, ignoring back-off.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def flush_cmd(ctx: Context, force: bool, as_json: bool) -> None:
    """Deliver due pushes. Exit 1 while any push stays pending."""
    install_log_redaction()
    report = deliver_due(ctx.db, ctx.config, utcnow(), force=force)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(
            f"sent {report.sent} push(es), {report.retrying} retrying, {report.dead} dead, "
            f"{report.deferred} deferred; {report.pending} queued (alert, channel) row(s) left"
        )
        for error in report.errors:
            click.echo(f"  {error}", err=True)
    if report.pending:
        raise SystemExit(1)


@notify_group.command("dead")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def dead_cmd(ctx: Context, as_json: bool) -> None:
    """List dead letters: pushes that failed permanently, with the reason."""
    letters = dead_letters(ctx.db)
    if as_json:
        for letter in letters:
            click.echo(json.dumps(letter))
        return
    if not letters:
        click.echo("no dead letters")
        return
    for d in letters:
        click.echo(
            f"#{d['id']} {d['channel']} {d['rule']} {d['local_date']} after {d['attempts']} "
            f"attempt(s): {d['last_error']}"
        )
    click.echo("retry one with: calfsync notify retry ID")


@notify_group.command("retry")
@click.argument("outbox_id", metavar="ID", type=int)
@click.pass_obj
def retry_cmd(ctx: Context, outbox_id: int) -> None:
    """Queue dead letter ID again (see `calfsync notify dead`); the next flush sends it."""
    if not retry(ctx.db, outbox_id, utcnow()):
        raise CalfsyncError(f"no dead letter #{outbox_id}; list them with `calfsync notify dead`")
    click.echo(f"#{outbox_id} queued again; `calfsync notify flush` sends it now")
