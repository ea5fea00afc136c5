"""Functions the child-process tests run in a child (``calfsync.child`` imports this
module by name: the tests put this folder on the child's ``PYTHONPATH``)."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

from calfsync.errors import ConfigError, PartlyFailed

log = logging.getLogger("calfsync.test_child")


def echo(*args: object) -> tuple[object, ...]:
    return (*args, os.getpid())


def fails_config() -> None:
    raise ConfigError("[fit] inbox is wrong; fix it")


def fails_partly() -> None:
    raise PartlyFailed("one folder could not be read", {"imported": 3})


class _Unpicklable(Exception):
    def __init__(self, text: str, lock: object) -> None:
        super().__init__(text)
        self.lock = lock


def fails_unpicklable() -> None:
    raise _Unpicklable("holds a lock", threading.Lock())


def prints_then_answers() -> str:
    print("a stray line on stdout")
    sys.stdout.write("and another\n")
    return "answer"


def logs(text: str) -> None:
    log.warning("the child says: %s", text)


def dies() -> None:
    os._exit(9)


def sleeps(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


def loaded(*names: str) -> dict[str, bool]:
    return {name: name in sys.modules for name in names}


def read_only_database(path: str) -> None:
    """A real SQLite error: a write to a database opened read-only."""
    import sqlite3

    sqlite3.connect(path).execute("CREATE TABLE IF NOT EXISTS t (x)").connection.commit()
    sqlite3.connect(f"file:{path}?mode=ro", uri=True).execute("INSERT INTO t VALUES (1)")


def returns_unpicklable() -> object:
    """A value that cannot go back to the parent (a lock)."""
    return threading.Lock()


def reads_a_token_then_fails(token: str) -> None:
    """A step that reads a secret the daemon never saw (a Strava token file) and fails with
    a message that holds it."""
    from calfsync.secrets import register

    register(token)
    raise ValueError(f"the service refused {token}")


def killed() -> None:
    """What the out-of-memory killer does to a child parsing a huge file."""
    import signal

    os.kill(os.getpid(), signal.SIGKILL)


def module_file(name: str) -> str | None:
    """Where the child imports ``name`` from."""
    import importlib

    return importlib.import_module(name).__file__


def fails_in_a_library() -> None:
    """An error of a library the daemon should not load (a Strava poll's connection error)."""
    import email.errors

    raise email.errors.HeaderParseError("no route to www.strava.com")
