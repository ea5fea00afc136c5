"""`calfsync auth strava`: the headless OAuth flow against the stand-in."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner
from strava_support import CLIENT_ID, CLIENT_SECRET, serve

from calfsync.cli import cli
from calfsync.errors import CalfsyncError
from calfsync.sources.strava.auth import check_scope, parse_code
from calfsync.store.db import open_db
from calfsync.store.state import get_state


@pytest.fixture
def fake():
    yield from serve()


@pytest.fixture
def config_file(tmp_path: Path, fake) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[database]
path = "{tmp_path / "calfsync.db"}"
[fit]
inbox = ["{tmp_path / "inbox"}"]
[strava]
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
api_url = "{fake.api_url}"
oauth_url = "{fake.oauth_url}"
timeout_s = 5
"""
    )
    return path


def token_file(tmp_path: Path) -> Path:
    return tmp_path / "calfsync.strava-token.json"


def printed_state(config_file: Path) -> str:
    """Run `auth strava` up to its prompt (as a runner who copies the address and stops there)
    and return the state= of the address it printed."""
    first = CliRunner().invoke(cli, ["--config", str(config_file), "auth", "strava"], input="")
    printed = next(line.strip() for line in first.output.splitlines() if "state=" in line)
    return parse_qs(urlsplit(printed).query)["state"][0]


def test_auth_with_the_pasted_redirect_url(tmp_path, fake, config_file):
    fake.add_gear("g1", "Kinvara")
    state = printed_state(config_file)
    code = fake.issue_code()
    url = f"http://localhost/exchange_token?state={state}&code={code}&scope=read,activity:read_all,profile:read_all"

    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "auth", "strava", "--code", url]
    )

    assert result.exit_code == 0, result.output
    assert "Authorized as Marianne Teutenberg" in result.output
    saved = json.loads(token_file(tmp_path).read_text())
    assert saved["refresh_token"] == fake.state.refresh
    assert saved["athlete"] == {"id": fake.athlete_id, "name": "Marianne Teutenberg"}
    assert stat.S_IMODE(token_file(tmp_path).stat().st_mode) == 0o600
    for secret in (CLIENT_SECRET, saved["access_token"], saved["refresh_token"]):
        assert secret not in result.output
    db = open_db(tmp_path / "calfsync.db")
    assert get_state(db, "strava.athlete_checked_at")  # the shoe list was read once
    assert db.execute("SELECT id FROM gear").fetchall() == [("g1",)]


def test_auth_with_a_bare_code_interactively(tmp_path, fake, config_file):
    code = fake.issue_code()
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "auth", "strava"], input=code + "\n"
    )
    assert result.exit_code == 0, result.output
    assert f"{fake.oauth_url}/authorize?" in result.output
    assert "activity%3Aread_all%2Cprofile%3Aread_all" in result.output
    assert "redirect_uri=http%3A%2F%2Flocalhost%2Fexchange_token" in result.output
    assert token_file(tmp_path).exists()


def test_a_used_code_is_refused_with_the_fix(tmp_path, fake, config_file):
    code = fake.issue_code()
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["--config", str(config_file), "auth", "strava", "--code", code]
        ).exit_code
        == 0
    )
    result = runner.invoke(cli, ["--config", str(config_file), "auth", "strava", "--code", code])
    assert result.exit_code == 1
    assert "refused the authorization code" in str(result.exception)


def test_auth_without_credentials_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "c.db"}"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "auth", "strava", "--code", "abc"])
    assert result.exit_code != 0
    assert "client_id" in str(result.exception)


def test_parse_code_handles_urls_codes_refusals_and_state():
    assert parse_code("abc123") == ("abc123", None)
    assert parse_code(
        "http://localhost/exchange_token?state=s&code=xyz&scope=read,activity:read_all",
        expected_state="s",
    ) == (
        "xyz",
        "read,activity:read_all",
    )
    with pytest.raises(CalfsyncError, match="not granted"):
        parse_code("http://localhost/exchange_token?state=&error=access_denied")
    with pytest.raises(CalfsyncError, match="state mismatch"):
        parse_code("http://localhost/exchange_token?state=other&code=x", expected_state="mine")
    with pytest.raises(CalfsyncError, match="no code"):
        parse_code("http://localhost/exchange_token?state=x")
    # an address must carry the state calfsync sent: missing, empty or unverifiable is refused
    with pytest.raises(CalfsyncError, match="no state="):
        parse_code("http://localhost/exchange_token?code=x", expected_state="mine")
    with pytest.raises(CalfsyncError, match="no state="):
        parse_code("http://localhost/exchange_token?state=&code=x", expected_state="mine")
    with pytest.raises(CalfsyncError, match="no authorization is in progress"):
        parse_code("http://localhost/exchange_token?state=s&code=x")
    assert parse_code("abc123", expected_state="mine") == ("abc123", None)
    assert check_scope("read,activity:read") and not check_scope(
        "read,activity:read_all,profile:read_all"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_listening(config_file: Path, port: int) -> subprocess.Popen[str]:
    """``calfsync auth strava --listen PORT`` as a runner starts it, its output unbuffered."""
    return subprocess.Popen(
        [sys.executable, "-m", "calfsync", "--config", str(config_file), "auth", "strava",
         "--listen", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )  # fmt: skip


def authorize_url(proc: subprocess.Popen[str], oauth_url: str) -> str:
    """The authorize address the command prints, read up to its "Waiting for Strava" line."""
    url = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith(oauth_url):
            url = line.strip()
        if "Waiting for Strava" in line:
            break
    return url


def test_listen_runs_a_one_shot_callback_server(tmp_path, fake, config_file):
    port = free_port()
    proc = start_listening(config_file, port)
    try:
        url = authorize_url(proc, fake.oauth_url)
        assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fexchange_token" in url
        # the browser: Strava's page approves and redirects to the callback server
        for _ in range(50):
            try:
                page = requests.get(url, timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert page.status_code == 200 and "authorized" in page.text
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Authorized as" in out
    assert json.loads(token_file(tmp_path).read_text())["refresh_token"] == fake.state.refresh


def test_printed_address_then_code_url_in_a_later_run(tmp_path, fake, config_file):
    # first run: the runner copies the printed address and stops at the prompt
    first = CliRunner().invoke(cli, ["--config", str(config_file), "auth", "strava"], input="")
    assert first.exit_code != 0
    printed = next(line.strip() for line in first.output.splitlines() if "state=" in line)
    state = parse_qs(urlsplit(printed).query)["state"][0]
    code = fake.issue_code()
    base = (
        f"http://localhost/exchange_token?code={code}&scope=read,activity:read_all,profile:read_all"
    )

    wrong = CliRunner().invoke(
        cli, ["--config", str(config_file), "auth", "strava", "--code", base + "&state=other"]
    )
    assert isinstance(wrong.exception, CalfsyncError) and "state mismatch" in str(wrong.exception)

    right = CliRunner().invoke(
        cli, ["--config", str(config_file), "auth", "strava", "--code", f"{base}&state={state}"]
    )
    assert right.exit_code == 0, right.output
    assert "Authorized as" in right.output


def test_code_address_without_its_state_is_refused_and_nothing_saved(tmp_path, fake, config_file):
    """Login CSRF: an address someone else made (their code, no or another state) is refused."""
    printed_state(config_file)
    code = fake.issue_code()
    for url in (
        f"http://localhost/exchange_token?code={code}&scope=read,activity:read_all",
        f"http://localhost/exchange_token?state=&code={code}",
        f"http://localhost/exchange_token?state=forged&code={code}",
    ):
        result = CliRunner().invoke(
            cli, ["--config", str(config_file), "auth", "strava", "--code", url]
        )
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, CalfsyncError)
        assert "state" in str(result.exception) and "code= value" in str(result.exception)
        assert "Authorized" not in result.output
        assert not token_file(tmp_path).exists()
    # the bare code is the runner's own typing: still accepted
    bare = CliRunner().invoke(cli, ["--config", str(config_file), "auth", "strava", "--code", code])
    assert bare.exit_code == 0, bare.output
    assert token_file(tmp_path).exists()


def test_listen_refuses_a_callback_without_the_state_and_waits_for_the_real_one(
    tmp_path, fake, config_file
):
    port = free_port()
    proc = start_listening(config_file, port)
    try:
        url = authorize_url(proc, fake.oauth_url)
        forged_code = fake.issue_code()
        callback = f"http://127.0.0.1:{port}/exchange_token"
        for _ in range(50):
            try:
                forged = requests.get(f"{callback}?code={forged_code}", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert forged.status_code == 403 and "state=" in forged.text and "not used" in forged.text
        wrong = requests.get(f"{callback}?state=forged&code={forged_code}", timeout=5)
        assert wrong.status_code == 403
        time.sleep(0.3)
        assert proc.poll() is None  # still waiting for the real redirect
        assert not token_file(tmp_path).exists()
        page = requests.get(url, timeout=5)  # the runner's own browser
        assert page.status_code == 200 and "authorized" in page.text
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Authorized as" in out
    assert json.loads(token_file(tmp_path).read_text())["refresh_token"] == fake.state.refresh
