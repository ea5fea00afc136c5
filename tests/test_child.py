"""The daemon's child process (calfsync.child): calls, errors and their messages, a stray print,
a child that dies, SIGTERM, the log's redaction; and the daemon's steps done through it, with
fitparse and httpx kept out of the daemon's own process."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import child_targets as targets
import pytest
from daemon_support import drop_file, fit_run, training_history
from fakes.ntfy import FakeNtfy

from calfsync.child import Child, ChildDied, ChildError, ChildUnavailable
from calfsync.errors import ConfigError, PartlyFailed
from calfsync.secrets import register
from calfsync.store.db import database_error, is_database_problem

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def child_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child imports ``child_targets`` from this folder."""
    extra = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(TESTS) + (os.pathsep + extra if extra else ""))


def test_calls_run_in_one_child_in_order_and_it_exits_on_close() -> None:
    with Child() as child:
        first = child.call(targets.echo, 1, "two", b"\x03")
        second = child.call(targets.echo, {"k": [4]})
        assert first[:3] == (1, "two", b"\x03") and second[:1] == ({"k": [4]},)
        assert first[-1] == second[-1] != os.getpid()  # the same child, not this process
        proc = child._proc
        assert proc is not None
    assert proc.returncode == 0  # stdin closed: the child ended by itself


def test_errors_come_back_as_themselves_or_as_their_text() -> None:
    with Child() as child:
        with pytest.raises(ConfigError, match="fix it"):
            child.call(targets.fails_config)
        with pytest.raises(PartlyFailed) as info:
            child.call(targets.fails_partly)
        assert info.value.report == {"imported": 3}  # the step's report survives the trip
        with pytest.raises(ChildError, match="_Unpicklable: holds a lock"):
            child.call(targets.fails_unpicklable)
        assert child.call(targets.echo, "still there")[0] == "still there"


def test_a_value_that_does_not_pickle_comes_back_as_an_error_and_the_child_goes_on(
    capfd,
) -> None:
    with Child() as child:
        pid = child.call(targets.echo)[-1]
        with pytest.raises(ChildError, match="returns_unpicklable returned what cannot go back"):
            child.call(targets.returns_unpicklable)
        assert child.call(targets.echo)[-1] == pid  # the same child: it did not crash
    assert "Traceback" not in capfd.readouterr().err


def test_a_child_that_cannot_start_says_so_and_names_the_fix(
    monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """The daemon's interpreter was removed under it (a venv rebuilt by an upgrade), or the
    child's Python cannot even start: not a crash of one call, a step that cannot run."""
    monkeypatch.setattr(sys, "executable", "/nonexistent/python3")
    with pytest.raises(ChildUnavailable, match=r"/nonexistent/python3.*No such file.*Restart"):
        Child().call(targets.echo)
    monkeypatch.undo()
    monkeypatch.setenv("PYTHONHOME", "/nonexistent")
    with pytest.raises(ChildUnavailable, match=r"exit code 1\) before it was ready.*Restart"):
        Child().call(targets.echo)
    assert "Fatal Python error" in capfd.readouterr().err  # the lines logged before it


def test_a_module_in_the_daemons_working_folder_does_not_replace_the_real_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m`` puts the working folder first on the path: a ``fitparse.py`` or ``csv.py``
    lying in the folder the daemon was started from ran in its child instead of the module."""
    (tmp_path / "csv.py").write_text("raise SystemExit('the csv.py of the working folder ran')\n")
    monkeypatch.chdir(tmp_path)
    with Child() as child:
        found = child.call(targets.module_file, "csv")
        assert found is not None and not found.startswith(str(tmp_path))
        assert child.call(targets.module_file, "calfsync") == sys.modules["calfsync"].__file__


def test_a_child_of_another_version_than_the_daemon_refuses_to_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``pip install -U calfsync`` under a running daemon: its children would run the new code
    (and migrate the database) beside the old daemon until it is restarted."""
    import calfsync.child

    monkeypatch.setattr(calfsync.child, "__version__", "0.0.1-running", raising=False)
    with pytest.raises(
        ChildUnavailable, match=r"installed, but the daemon still runs 0.0.1-running.*restart"
    ):
        Child().call(targets.echo)


def test_a_scan_whose_child_cannot_start_fails_and_the_next_one_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fit step fails with the reason (not "cannot read the file" for each FIT file, as
    when Popen's OSError was taken for the file's), records nothing, and the file is imported
    once the child starts again."""
    from datetime import UTC, datetime, timedelta

    from calfsync import sync
    from calfsync.config import load_config
    from calfsync.daemon import daemon_config

    drop_file(tmp_path / "inbox", "run.fit", fit_run(datetime.now(UTC) - timedelta(days=2), 8.0))
    config = tmp_path / "calfsync.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{tmp_path / "inbox"}"]\nsettle_seconds = 0\n'
        '[athlete]\ntimezone = "UTC"\n'
    )
    cfg = daemon_config(load_config(str(config)))
    assert cfg.children
    with monkeypatch.context() as patch:
        patch.setattr(sys, "executable", "/nonexistent/python3")
        report = sync.run_job(cfg, "fit", datetime.now(UTC))
    assert "cannot start a child process" in report.errors["fit"]
    db = sync.connect(cfg)
    try:
        assert db.execute("SELECT COUNT(*) FROM fit_files").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM seen_paths").fetchone()[0] == 0
        error = db.execute("SELECT value FROM state WHERE key = 'cycle.fit.last_error'")
        assert "child_process = false" in error.fetchone()[0]
    finally:
        db.close()
    again = sync.run_job(cfg, "fit", datetime.now(UTC))
    assert not again.errors and "imported 1," in again.line()


def test_a_sqlite_error_keeps_its_code_so_its_message_names_the_fix(tmp_path: Path) -> None:
    """A read-only database in the child's delivery reads as one in the daemon's log (the
    message is chosen by the error's code, which a plain pickle drops)."""
    path = tmp_path / "calfsync.db"
    with Child() as child, pytest.raises(sqlite3.OperationalError) as info:
        child.call(targets.read_only_database, str(path))
    assert info.value.sqlite_errorcode == sqlite3.SQLITE_READONLY
    assert is_database_problem(info.value)
    assert "writable by the user running calfsync" in str(database_error(info.value, path))


def test_a_library_error_comes_back_as_its_text_without_loading_the_library() -> None:
    """A requests or httpx error in a child's poll would make the daemon import that library to
    unpickle it: it comes back as a ChildError naming the type, in a fresh interpreter that
    never loads the library."""
    script = (
        "import sys, child_targets\n"
        "from calfsync.child import Child, ChildError\n"
        "try:\n"
        "    with Child() as child:\n"
        "        child.call(child_targets.fails_in_a_library)\n"
        "except ChildError as exc:\n"
        "    print(exc)\n"
        "print('email.errors' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.splitlines() == [
        "HeaderParseError: no route to www.strava.com",
        "False",
    ], done.stderr


def test_a_stray_print_goes_to_stderr_not_into_the_answers(capfd) -> None:
    with Child() as child:
        assert child.call(targets.prints_then_answers) == "answer"
    err = capfd.readouterr().err
    assert "a stray line on stdout" in err and "and another" in err


def test_what_the_interpreter_prints_at_start_is_logged_not_read_as_an_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """A site's ``sitecustomize`` that greets on stdout: the first answer was read from those
    bytes (a length of exabytes: MemoryError in the daemon, for every step)."""
    (tmp_path / "sitecustomize.py").write_text("print('welcome to this host')\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), str(TESTS)]))
    with Child() as child:
        assert child.call(targets.echo, "fine")[0] == "fine"
    assert "welcome to this host" in capfd.readouterr().err


def test_a_child_that_dies_is_reported_and_the_next_call_starts_another() -> None:
    child = Child()
    try:
        before = child.call(targets.echo)[-1]
        with pytest.raises(ChildDied, match=r"exit code 9.*dies"):
            child.call(targets.dies)
        with pytest.raises(ChildDied, match=r"killed by SIGKILL \(out of memory\?\).*killed"):
            child.call(targets.killed)
        after = child.call(targets.echo)[-1]
        assert after != before
    finally:
        child.close()


def test_the_child_ignores_sigterm_and_finishes_its_call() -> None:
    """systemd stops the daemon's whole group: the child finishes the push it is sending."""
    with Child() as child:
        pid = child.call(targets.echo)[-1]
        result: list[str] = []
        worker = threading.Thread(target=lambda: result.append(child.call(targets.sleeps, 1.0)))
        worker.start()
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGINT)
        worker.join(10)
        assert result == ["finished"]


def test_the_childs_log_hides_the_daemons_secrets(capfd) -> None:
    register("tk_child_secret_123")
    with Child("info") as child:
        child.call(targets.logs, "token tk_child_secret_123 here")
    err = capfd.readouterr().err
    assert "the child says: token" in err
    assert "tk_child_secret_123" not in err


def test_a_secret_the_child_read_is_hidden_in_the_daemon_too() -> None:
    """Strava's tokens are read (and rotated) in the child now: the daemon, which records the
    step's error, must know them as well."""
    from calfsync.secrets import redact

    with Child() as child, pytest.raises(ValueError) as info:
        child.call(targets.reads_a_token_then_fails, "tk_read_in_child_456")
    assert "tk_read_in_child_456" not in redact(str(info.value))


# --------------------------------------------------------------------------- the daemon's steps

SCRIPT = """
import json, sys
from datetime import UTC, datetime
from calfsync import sync
from calfsync.child import Child
from calfsync.config import load_config
from calfsync.daemon import daemon_config
cfg = daemon_config(load_config(sys.argv[1]))
report = sync.run_job(cfg, sys.argv[2] if len(sys.argv) > 2 else "fit", datetime.now(UTC))
db = sync.connect(cfg)
alerts = [list(r) for r in db.execute(
    "SELECT rule, local_date, pushed FROM alerts ORDER BY local_date, rule")]
print(json.dumps({
    "alerts": alerts,
    "line": report.line(),
    "children": Child.started,
    "fitparse": "fitparse" in sys.modules,
    "httpx": "httpx" in sys.modules,
    "stravalib": "stravalib" in sys.modules,
}))
"""


def _job(
    tmp_path: Path, child_process: bool, ntfy_url: str, job: str = "fit", extra: str = ""
) -> dict[str, object]:
    """One of the daemon's jobs, run once in a fresh interpreter; what it loaded."""
    config = tmp_path / "calfsync.toml"
    config.write_text(
        extra + f'[database]\npath = "{tmp_path / "calfsync.db"}"\n'
        f'[fit]\ninbox = ["{tmp_path / "inbox"}"]\nsettle_seconds = 0\n'
        '[athlete]\ntimezone = "UTC"\n'
        f"[daemon]\nchild_process = {str(child_process).lower()}\n"
        f'[[notify.channels]]\ntype = "ntfy"\nname = "phone"\nurl = "{ntfy_url}"\n'
        'topic = "calf"\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config), job],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Warning:" not in done.stderr, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_the_daemon_parses_and_pushes_in_a_child_and_loads_neither(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    (tmp_path / "inbox").mkdir()
    now = datetime.now(UTC)
    drop_file(tmp_path / "inbox", "old.fit", fit_run(now - timedelta(days=30), 8.0))
    drop_file(tmp_path / "inbox", "back.fit", fit_run(now - timedelta(hours=1), 6.0))
    with FakeNtfy() as ntfy:
        out = _job(tmp_path, True, ntfy.url)
        assert "imported 2" in str(out["line"]) and "sent 1" in str(out["line"])
        assert out["children"] == 2  # one parsed both files, one sent the push
        assert out["fitparse"] is False and out["httpx"] is False
        assert [m["title"] for m in ntfy.pushes("calf")] == ["RET1: Back after 30 days off"]
        assert ntfy.files

        # nothing new, nothing due: no child at all
        again = _job(tmp_path, True, ntfy.url)
        assert again["children"] == 0 and again["line"] == "nothing to do"
        assert len(ntfy.pushes()) == 1


def test_a_long_stretch_of_history_is_judged_in_a_child_with_the_same_alerts(
    tmp_path: Path,
) -> None:
    """A first import of years of files: the daemon judges them in a child (the memory that
    takes is given back when it exits); the alerts are the ones judged in the daemon itself."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    files = training_history(now - timedelta(days=200), weeks=10)  # 270 to 200 days ago
    files += [("long.fit", fit_run(now - timedelta(days=199), 21.0))]  # S1: a long run
    files += [("back.fit", fit_run(now - timedelta(hours=1), 6.0))]  # RET1: back after 199 days
    results = {}
    for child_process in (True, False):
        folder = tmp_path / str(child_process)
        for name, data in files:
            drop_file(folder / "inbox", name, data)
        with FakeNtfy() as ntfy:
            results[child_process] = _job(folder, child_process, ntfy.url)
            assert [m["title"] for m in ntfy.pushes("calf")] == ["RET1: Back after 199 days off"]
    assert results[True]["children"] == 3  # parsing, judging, pushing
    assert results[False]["children"] == 0
    assert results[True]["alerts"] == results[False]["alerts"]
    assert {rule for rule, _day, _pushed in results[True]["alerts"]} >= {"RET1", "S1"}


def test_child_process_false_does_the_work_in_the_daemon(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    (tmp_path / "inbox").mkdir()
    drop_file(tmp_path / "inbox", "run.fit", fit_run(datetime.now(UTC) - timedelta(days=1), 8.0))
    with FakeNtfy() as ntfy:
        out = _job(tmp_path, False, ntfy.url)
    assert "imported 1" in str(out["line"])
    assert out["children"] == 0 and out["fitparse"] is True


def test_a_child_whose_daemon_was_killed_finishes_its_call_and_exits_quietly(tmp_path) -> None:
    """The daemon is SIGKILLed while its child sends a push: the child finishes (its writes are
    in the database), finds nobody to answer, and exits 0 without a traceback."""
    script = (
        "import sys, child_targets\n"
        "from calfsync.child import Child\n"
        "child = Child()\n"
        "print(child.call(child_targets.echo)[-1], flush=True)\n"
        "child.call(child_targets.sleeps, 1.5)\n"
    )
    log = tmp_path / "stderr"
    with open(log, "wb") as err:
        parent = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=err, text=True
        )
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        time.sleep(0.3)
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                break
            time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists() or state == "Z"
    assert "Traceback" not in log.read_text()


def test_the_daemon_polls_strava_in_a_child_and_never_loads_stravalib(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from fakes.strava_server import FakeStrava
    from strava_support import CLIENT_ID, CLIENT_SECRET, authorize, mark_athlete_checked

    from calfsync.store.db import open_db

    (tmp_path / "inbox").mkdir()
    now = datetime.now(UTC)
    with FakeStrava(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake, FakeNtfy() as ntfy:
        conn = open_db(tmp_path / "calfsync.db")
        authorize(conn, fake)
        mark_athlete_checked(conn, now)
        conn.close()
        fake.add_activity(now - timedelta(days=3))
        strava = (
            f'[strava]\nclient_id = "{CLIENT_ID}"\nclient_secret = "{CLIENT_SECRET}"\n'
            f'api_url = "{fake.api_url}"\noauth_url = "{fake.oauth_url}"\n'
        )
        out = _job(tmp_path, True, ntfy.url, job="strava", extra=strava)
    assert out["stravalib"] is False and out["httpx"] is False
    assert out["children"] == 1  # the poll (no alert: nothing to push)
    conn = open_db(tmp_path / "calfsync.db")
    try:
        stored = conn.execute("SELECT COUNT(*) FROM activities WHERE strava_id IS NOT NULL")
        assert stored.fetchone()[0] == 1
        status = conn.execute("SELECT value FROM state WHERE key = 'strava.status'").fetchone()
        assert status[0] == "ok"
    finally:
        conn.close()
