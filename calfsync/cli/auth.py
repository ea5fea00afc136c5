"""``calfsync auth strava``: the prompts and messages of Strava's authorization; the flow itself is
:func:`calfsync.ingest.strava_auth.authorize`."""

from __future__ import annotations

from collections.abc import Callable

import click

from ..ingest.strava_auth import authorize
from ..sources.strava.auth import listen_for_code
from ..sources.strava.tokens import athlete_name, token_path
from . import Context


@click.group(name="auth")
def auth_group() -> None:
    """Authorize calfsync with an online service."""


@auth_group.command(name="strava")
@click.option(
    "--code",
    "code_or_url",
    metavar="CODE_OR_URL",
    help="The code, or the whole address Strava redirected to (non-interactive).",
)
@click.option(
    "--listen",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="Run a one-shot callback server on 127.0.0.1:PORT instead of pasting.",
)
@click.pass_obj
def auth_strava(obj: Context, code_or_url: str | None, listen: int | None) -> None:
    """Authorize calfsync to read your Strava activities and shoes (works on a headless box)."""
    athlete = authorize(obj, code_or_url, listen, _ask_code(listen), _warn)
    name = athlete_name(athlete) or "the athlete"
    click.echo(f"Authorized as {name} (Strava athlete {athlete.get('id')}).")
    click.echo(f"Tokens saved to {token_path(obj.db)} (mode 0600).")
    click.echo(
        "Next: `calfsync sync` (a first sync reads your whole history, within Strava's "
        "rate limits)."
    )


def _ask_code(listen: int | None) -> Callable[[str, str], str]:
    """Show the authorization address, then wait for the redirect (``--listen``) or a paste."""

    def ask(url: str, state: str) -> str:
        click.echo("Open this address in a browser (on any computer), log in to Strava and")
        click.echo("press Authorize:\n")
        click.echo(f"  {url}\n")
        if listen is not None:
            click.echo(f"Waiting for Strava's redirect on 127.0.0.1:{listen} (for a remote server:")
            click.echo(f"ssh -L {listen}:127.0.0.1:{listen} this-server, then open the address)...")
            return listen_for_code(listen, state)
        click.echo("Your browser then goes to a page that does not load (that is expected).")
        return click.prompt("Paste that page's address (or just the code)")

    return ask


def _warn(text: str) -> None:
    click.echo(f"warning: {text}", err=True)
