"""Stop signals reach the daemon even when a module started a thread at import.

numpy, once importable, is imported by sqlite-utils, and OpenBLAS starts a thread at import,
before the daemon sets up its signals; that thread takes SIGTERM unless the daemon handles the
signals itself. The stand-in here is a ``sitecustomize`` on ``PYTHONPATH`` whose thread starts
before any calfsync code runs: the earliest a thread can exist.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from pathlib import Path

from daemon_support import (
    Daemon,
    HealthyNtfy,
    count,
    daemon_config,
    drop_file,
    fit_run,
    utcnow,
    wait_until,
    write_config,
)

EARLY_THREAD = '''
"""Starts a thread at import with the signal mask of a fresh interpreter (nothing blocked)."""
import threading
import time

threading.Thread(target=time.sleep, args=(3600,), name="started-at-import", daemon=True).start()
'''


def test_sigterm_with_a_thread_started_at_import_lets_the_step_finish(tmp_path: Path) -> None:
    early = tmp_path / "early"
    early.mkdir()
    (early / "sitecustomize.py").write_text(EARLY_THREAD)
    path = os.pathsep.join(p for p in (str(early), os.environ.get("PYTHONPATH")) if p)
    inbox, db = tmp_path / "inbox", tmp_path / "calfsync.db"
    now = utcnow()
    drop_file(inbox, "before-layoff.fit", fit_run(now - timedelta(days=30), 8.0))
    with HealthyNtfy() as ntfy:
        text = daemon_config(tmp_path, inbox=inbox, ntfy_url=ntfy.url)
        daemon = Daemon(
            write_config(tmp_path / "c.toml", text), tmp_path / "d.log", {"PYTHONPATH": path}
        )
        try:
            wait_until(lambda: count(db) == 1, 30, "import")
            ntfy.hold()  # the push of the next step is accepted, then answered when released
            drop_file(inbox, "comeback.fit", fit_run(now - timedelta(hours=1), 6.0))  # RET1
            assert ntfy.held.wait(30), daemon.log()
            daemon.signal(signal.SIGTERM)
            daemon.wait_log("SIGTERM: stopping after the fit step")
            assert daemon.proc.poll() is None  # still finishing the push
            ntfy.release()
            assert daemon.wait(30) == 0, daemon.log()
        finally:
            daemon.kill()
        assert len(ntfy.pushes("calves")) == 1
    assert count(db, "SELECT COUNT(*) FROM notify_outbox WHERE state != 'sent'") == 0
    assert "calfsync daemon stopped" in daemon.log()
