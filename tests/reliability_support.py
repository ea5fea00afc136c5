"""Helpers for the failure-mode tests: runs written as FIT files, configs, the CLI as a real
subprocess, and the CLI without root's power to ignore file modes."""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_support import CALFSYNC

from calfsync.config import validate
from calfsync.fitwriter import SessionSpec, encode_activity

NOW = datetime.now(UTC).replace(microsecond=0)


def write_runs(inbox: Path, count: int, *, first: datetime | None = None) -> None:
    """``count`` daily 5 km runs, the last one ending before ``NOW``."""
    inbox.mkdir(parents=True, exist_ok=True)
    first = first or NOW - timedelta(days=count + 1)
    for i in range(count):
        spec = SessionSpec(
            start=first + timedelta(days=i), duration_s=1650, distance_m=5000, record_step_s=5
        )
        (inbox / f"run-{i:03}.fit").write_bytes(encode_activity([spec], utc_offset_s=0))


def config(tmp_path: Path, **database):
    return validate(
        {
            "database": {"path": str(tmp_path / "c.db")} | database,
            "fit": {"inbox": [str(tmp_path / "inbox")]},
            "athlete": {"timezone": "UTC"},
        }
    )


def config_file(tmp_path: Path, db: Path, extra: str = "") -> Path:
    path = tmp_path / "c.toml"
    path.write_text(
        f'[database]\npath = "{db}"\n{extra}\n[fit]\ninbox = ["{tmp_path / "inbox"}"]\n'
        '[athlete]\ntimezone = "UTC"\n'
    )
    return path


def counts(db) -> dict[str, int]:
    return {
        t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in ("activities", "fit_files", "seen_paths", "alerts", "notify_outbox")
    }


def cli(*args: str, preexec_fn=None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CALFSYNC, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _without_dac_override() -> None:
    """In the child: drop root's power to ignore file modes (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH) from the bounding set, so exec'd root obeys chmod like anyone."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_a_plain_user(*args: str) -> subprocess.CompletedProcess:
    try:
        return cli(*args, preexec_fn=_without_dac_override)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot drop privileges here: {exc}")
