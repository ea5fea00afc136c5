"""The systemd units: ``systemd-analyze verify`` and the security rating, when the machine has
systemd-analyze; and the settings the deployment relies on, always."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
CALFSYNC_BIN = Path(sys.executable).parent / "calfsync"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed on this machine"
)
SYSTEM_UNITS = ["calfsync.service", "calfsync-sync.service", "calfsync-sync.timer"]
USER_UNITS = ["calfsync.service", "calfsync-sync.service", "calfsync-sync.timer"]


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keep the case of keys
    parser.read_string(path.read_text())
    return parser


def installed_copies(tmp: Path, folder: Path, names: list[str], exec_from: str) -> list[Path]:
    """The units with ExecStart= pointing at this checkout's calfsync, which verify checks."""
    out = []
    for name in names:
        text = (folder / name).read_text().replace(exec_from, str(CALFSYNC_BIN))
        path = tmp / name
        path.write_text(text)
        out.append(path)
    return out


@needs_analyze
def test_system_units_verify(tmp_path: Path) -> None:
    units = installed_copies(tmp_path, SYSTEMD, SYSTEM_UNITS, "/opt/calfsync/bin/calfsync")
    result = subprocess.run(
        [ANALYZE, "verify", *map(str, units)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


@needs_analyze
def test_user_units_verify(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    units = installed_copies(tmp_path, SYSTEMD / "user", USER_UNITS, "%h/.local/bin/calfsync")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        [ANALYZE, "--user", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr


@needs_analyze
@pytest.mark.parametrize("name", ["calfsync.service", "calfsync-sync.service"])
def test_security_exposure_at_most_2(name: str) -> None:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(SYSTEMD / name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def test_daemon_unit_settings() -> None:
    service = unit(SYSTEMD / "calfsync.service")["Service"]
    assert service["Type"] == "notify"
    assert service["User"] == "calfsync" and "DynamicUser" not in service
    assert service["StateDirectory"] == "calfsync"
    assert service["StateDirectoryMode"] == "0750"
    assert service["UMask"] == "0027"
    assert service["ProtectSystem"] == "strict"
    assert service["WatchdogSec"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    text = (SYSTEMD / "calfsync.service").read_text()
    for credential in ("strava_client_secret", "ntfy_token", "pushover_user", "telegram_token"):
        assert f"\nLoadCredential={credential}\n" in text  # names calfsync looks up itself
    assert service["ExecStart"].endswith(" run")


def test_timer_alternative_settings() -> None:
    timer = unit(SYSTEMD / "calfsync-sync.timer")["Timer"]
    assert timer["Persistent"] == "true"
    assert timer["RandomizedDelaySec"]
    assert timer["OnCalendar"]  # Persistent= needs a calendar timer
    oneshot = unit(SYSTEMD / "calfsync-sync.service")["Service"]
    assert oneshot["Type"] == "oneshot"
    assert oneshot["ExecStart"].endswith(" sync")
    daemon = unit(SYSTEMD / "calfsync.service")["Service"]
    hardening = {
        k: v for k, v in daemon.items() if k.startswith(("Protect", "Restrict", "Private"))
    }
    for key, value in hardening.items():
        assert oneshot.get(key) == value, key  # same hardening


def test_user_unit_runs_without_root() -> None:
    service = unit(SYSTEMD / "user" / "calfsync.service")["Service"]
    assert service["Type"] == "notify"
    assert "User" not in service
    assert service["ExecStart"] == "%h/.local/bin/calfsync run"
    assert unit(SYSTEMD / "user" / "calfsync.service")["Install"]["WantedBy"] == "default.target"
