"""Configuration: lookup order, no-file defaults, ${VAR} paths, errors named by file and key,
``config validate`` / ``config show``. The example file: test_config_example.py."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from calfsync.cli import main
from calfsync.config import load_config, validate
from calfsync.config_files import SYSTEM_CONFIG, config_candidates, find_config
from calfsync.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- lookup order


def test_explicit_beats_environment_beats_xdg(tmp_path: Path) -> None:
    xdg = write(tmp_path / "xdg" / "calfsync" / "config.toml", "")
    from_env = write(tmp_path / "env.toml", "")
    explicit = write(tmp_path / "explicit.toml", "")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert find_config(str(explicit), {**env, "CALFSYNC_CONFIG": str(from_env)}) == explicit
    assert find_config(None, {**env, "CALFSYNC_CONFIG": str(from_env)}) == from_env
    if not SYSTEM_CONFIG.is_file():  # the machine's own /etc file would rightly come first
        assert find_config(None, env) == xdg


def test_system_file_comes_before_the_user_file(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert config_candidates(env) == [
        Path("/etc/calfsync/config.toml"),
        tmp_path / "xdg" / "calfsync" / "config.toml",
    ]


def test_relative_xdg_dirs_are_ignored(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "relative/dir", "XDG_STATE_HOME": "rel"}
    assert config_candidates(env)[1] == tmp_path / ".config" / "calfsync" / "config.toml"
    cfg = validate({}, None, env)
    assert cfg.db_path == tmp_path / ".local" / "state" / "calfsync" / "calfsync.db"


def test_missing_explicit_file_is_a_config_error(tmp_path: Path, capsys) -> None:
    code, _out, err = cli(capsys, "--config", str(tmp_path / "nope.toml"), "config", "validate")
    assert code == 2
    assert "nope.toml does not exist" in err


def test_environment_variable_names_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    path = write(tmp_path / "from-env.toml", "[daemon]\nscan_seconds = 17\n")
    monkeypatch.setenv("CALFSYNC_CONFIG", str(path))
    code, out, _err = cli(capsys, "config", "show", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["path"] == str(path)
    assert shown["config"]["daemon"]["scan_seconds"] == 17


# --------------------------------------------------------------------------- no file at all


def test_no_file_runs_on_defaults(tmp_path: Path, capsys) -> None:
    home = Path.home()  # conftest's private HOME
    code, out, _err = cli(capsys, "config", "validate")
    assert code == 0
    assert "built-in defaults" in out
    cfg = load_config()
    assert cfg.path is None
    assert cfg.db_path == home / ".local" / "state" / "calfsync" / "calfsync.db"
    assert cfg.inboxes == [home / "calfsync" / "inbox"]
    assert cfg.channels == [{"type": "console", "name": "console"}]


def test_systemd_state_directory_holds_the_database(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "STATE_DIRECTORY": "/var/lib/calfsync:/var/lib/other"}
    assert validate({}, None, env).db_path == Path("/var/lib/calfsync/calfsync.db")


# --------------------------------------------------------------------------- ${VAR} in paths


def test_paths_expand_variables_and_home(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"  # as systemd's LoadCredential= fills it
    credentials.mkdir()
    (credentials / "tok").write_text("tk_token\n")
    env = {
        "HOME": str(tmp_path),
        "STATE_DIRECTORY": "/var/lib/calfsync",
        "CREDENTIALS_DIRECTORY": str(credentials),
    }
    raw = {
        "database": {"path": "${STATE_DIRECTORY}/load.db"},
        "fit": {"inbox": ["~/garmin", "$STATE_DIRECTORY/inbox"]},
        "notify": {
            "channels": [
                {"type": "ntfy", "topic": "t", "token_file": "${CREDENTIALS_DIRECTORY}/tok"}
            ]
        },
    }
    cfg = validate(raw, None, env)
    assert cfg.db_path == Path("/var/lib/calfsync/load.db")
    assert cfg.inboxes == [tmp_path / "garmin", Path("/var/lib/calfsync/inbox")]
    assert cfg.channels[0]["token_file"] == str(credentials / "tok")


def test_unset_variable_is_named_with_the_fix(tmp_path: Path) -> None:
    raw = {"notify": {"channels": [{"type": "ntfy", "token_file": "${CREDENTIALS_DIRECTORY}/t"}]}}
    with pytest.raises(ConfigError, match=r"CREDENTIALS_DIRECTORY is not set.*LoadCredential="):
        validate(raw, None, {"HOME": str(tmp_path)})


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[daemon]\nscan_secs = 5\n", r"unknown key 'scan_secs' in \[daemon\]"),
        ("[deamon]\n", r"unknown section \[deamon\]"),
        ("[daemon]\nscan_seconds = '60'\n", r"\[daemon\] scan_seconds must be an integer"),
        ("[daemon]\nscan_seconds = true\n", r"scan_seconds must be an integer"),
        ("[strava]\ntimeout_s = false\n", r"timeout_s must be an integer or a number"),
        ("[daemon]\nscan_seconds = 0\n", r"scan_seconds must be at least 1"),
        ("[daemon]\nnightly_at = '25:00'\n", r"nightly_at: '25:00' is not a time"),
        ("[daemon]\nlog_level = 'loud'\n", r"log_level must be debug, info, warning or error"),
        ("[fit]\ninbox = '/srv/garmin'\n", r"\[fit\] inbox must be a list"),
        ("[athlete]\ntimezone = 'Mars/Olympus'\n", r"not a known IANA zone"),
        ("[rules.S9]\n", r"unknown rule \[rules.S9\]"),
        ("[[notify.channels]]\ntype = 'ntfy'\ntopik = 'x'\n", r"unknown key 'topik'"),
        ("[daemon\n", r"not valid TOML"),
    ],
)
def test_invalid_config_exits_2_naming_file_and_key(
    tmp_path: Path, capsys, text: str, message: str
) -> None:
    path = write(tmp_path / "bad.toml", text)
    code, _out, err = cli(capsys, "config", "validate", str(path))
    assert code == 2
    assert str(path) in err
    assert re.search(message, err), err


# --------------------------------------------------------------------------- show, example


def test_show_redacts_secrets_and_round_trips(tmp_path: Path, capsys) -> None:
    path = write(
        tmp_path / "c.toml",
        '[strava]\nclient_id = "42"\nclient_secret = "strava-secret-value"\n'
        '[[notify.channels]]\ntype = "ntfy"\ntopic = "t"\ntoken = "tk_very_secret_token"\n'
        '[[notify.channels]]\ntype = "webhook"\nurl = "https://u:hunter22@hooks.example/x"\n'
        'headers = { "X-Source" = "calfsync" }\n'
        "[rules.A1]\nenabled = true\n",
    )
    code, out, _err = cli(capsys, "--config", str(path), "config", "show")
    assert code == 0
    for secret in ("strava-secret-value", "tk_very_secret_token", "hunter22"):
        assert secret not in out
    assert "***" in out
    shown = tomllib.loads(out)
    again = validate(shown)  # the shown file is itself a valid configuration
    assert again.daemon == load_config(str(path)).daemon
    assert again.rule("A1")["enabled"] is True
    # header names shown, every value masked: any header may carry a credential (issue 11)
    assert again.channels[1]["headers"] == {"X-Source": "***"}


def test_example_config_passes_validate(capsys) -> None:
    code, out, err = cli(capsys, "config", "validate", str(EXAMPLE))
    assert code == 0, err
    assert "configuration OK" in out
