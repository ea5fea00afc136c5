"""The SQLite load history: opening it, write transactions, and errors that name the fix.

Opening migrates the file (:mod:`.migrations`) and recreates the views (:mod:`.views`). Each
table has one writer module beside this one (docs/schema.md lists them).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import CalfsyncError
from .migrations import MIGRATIONS, ORDER, migrate, schema_version, unknown_migrations
from .views import ensure_views

BUSY_TIMEOUT_MS = 15_000


def open_db(
    path: str | Path, *, busy_timeout_s: float | None = None, create_folder: bool = True
) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path``, migrate it and refresh the views.

    ``busy_timeout_s`` is how long a write waits for another writer (``[database]
    busy_timeout_s``; default :data:`BUSY_TIMEOUT_MS`). Raises :class:`CalfsyncError` with the
    fix when the file cannot be created or written, is not a database, or was written by a newer
    calfsync; such a file is left as it was. ``path`` must be a regular file or a new name in a
    writable folder (:func:`check_database_path`); a missing folder is created unless
    ``create_folder`` is False (an explicit ``--db``: a typo there should not grow folders).
    """
    path = Path(path).expanduser()
    timeout_ms = BUSY_TIMEOUT_MS if busy_timeout_s is None else int(busy_timeout_s * 1000)
    check_database_path(path, create_folder=create_folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=timeout_ms / 1000, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise CalfsyncError(
            f"cannot open the database {path}: {getattr(exc, 'strerror', None) or exc}. Check "
            "that the folder exists and is writable by this user, or choose another file with "
            "--db or [database] path."
        ) from exc
    db = sqlite_utils.Database(conn)
    db.calfsync_path = path  # type: ignore[attr-defined] - read by database_error()
    try:
        db.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # not a database: fails here
        _refuse_newer_schema(db, path)
        db.execute("PRAGMA foreign_keys = ON")
        with _schema_lock(path):
            # Checked again under the lock: another process may have migrated meanwhile.
            _refuse_newer_schema(db, path)
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.enable_wal()
            migrate(db)
            ensure_views(db)
    except sqlite3.Error as exc:
        conn.close()
        raise database_error(exc, path) from exc
    except BaseException:
        conn.close()
        raise
    return db


def check_database_path(path: Path, *, create_folder: bool = True) -> None:
    """Raise :class:`CalfsyncError` (before anything is created) unless ``path`` is a regular
    file, or a new name in a folder this user may write (or, with ``create_folder``, one that
    can be made). ``--db /dev/null`` once opened an empty database on the device and created
    ``/dev/null-journal``; a folder or a pipe would fail later with a vaguer error."""
    fix = "Give --db or [database] path a database file, or a new file's name in a writable folder."
    try:
        mode = path.stat().st_mode  # follows a symlink: a link to a database file is fine
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise CalfsyncError(
            f"cannot use {path} as the database: {exc.strerror or exc}. {fix}"
        ) from exc
    if mode is not None:
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a device, pipe or socket"
            raise CalfsyncError(f"{path} is {kind}, not a database file. {fix}")
        return
    folder = path.parent
    try:  # one look: another process may be creating the folder at this very moment
        folder_mode: int | None = folder.stat().st_mode
    except FileNotFoundError:
        folder_mode = None
    if folder_mode is not None and not stat.S_ISDIR(folder_mode):
        raise CalfsyncError(f"cannot create the database {path}: {folder} is not a folder. {fix}")
    if folder_mode is None:
        if not create_folder:
            raise CalfsyncError(
                f"cannot create the database {path}: the folder {folder} does not exist. "
                f"Create it (mkdir -p {folder}) or correct the path. {fix}"
            )
        return  # made by open_db, or its error names the fix
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CalfsyncError(
            f"cannot create the database {path}: the folder {folder} is not writable by this "
            f"user. Make it writable by the user running calfsync, or choose another file. {fix}"
        )


@contextmanager
def _schema_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the database's folder while its schema is checked and set
    up.

    Commands started together on a new file each found the migrations pending and ran them at
    once ("table activities already exists", "duplicate column name"): the check and the apply
    are separate statements, so SQLite's own locking cannot make them one step. The folder is
    locked, not the file: closing any descriptor of the database file would drop the POSIX
    locks SQLite holds on it through this process's other connections ("disk I/O error").
    Taking the real folder (symlinks resolved) makes every path to the file meet the same
    lock; ``flock`` creates no file, needs only read access and vanishes with the process. It
    is held for the few milliseconds of an up-to-date open, and while a migration runs.
    """
    try:
        fd = os.open(os.path.realpath(path).rpartition("/")[0] or "/", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        yield  # an unreadable folder: SQLite's own error on the next statement names the fix
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the flock


def _refuse_newer_schema(db: sqlite_utils.Database, path: Path) -> None:
    """Raise when the file holds migrations this calfsync does not know (a downgrade):
    migrating or recreating views there could break the newer schema."""
    known = len(ORDER)
    applied = len(MIGRATIONS.applied(db))
    unknown = unknown_migrations(db)
    version = schema_version(db)
    if unknown or version > known:
        raise CalfsyncError(
            f"the database {path} was written by a newer calfsync (schema version "
            f"{max(version, applied)}, this calfsync knows {known}"
            + (f"; unknown migrations: {', '.join(unknown)}" if unknown else "")
            + "). Upgrade calfsync (pipx upgrade calfsync, or pip install -U calfsync in its "
            "venv), or restore a backup made before the upgrade. The file was left untouched."
        )


def database_path(db: sqlite_utils.Database) -> Path | None:
    """The file behind ``db`` (as :func:`open_db` opened it), or None."""
    path = getattr(db, "calfsync_path", None)
    if path is not None:
        return Path(path)
    try:
        for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
            if name == "main" and file:
                return Path(file)
    except sqlite3.Error:
        pass
    return None


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked": another writer held the lock past busy_timeout."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc)


def is_database_problem(exc: BaseException) -> bool:
    """True for SQLite errors that come from the file or the machine (full disk, lock held,
    read-only, damaged), not from one bad input: they stop a cycle instead of failing a file."""
    return isinstance(exc, sqlite3.OperationalError) or (
        isinstance(exc, sqlite3.DatabaseError)
        and not isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError)
    )


def database_error(exc: sqlite3.Error, path: str | Path | None) -> CalfsyncError:
    """A :class:`CalfsyncError` naming the fix for a SQLite error on the database at ``path``."""
    where = Path(path) if path is not None else None
    name = f"the database {where}" if where else "the database"
    folder = str(where.parent) if where else "the database's folder"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    text = str(exc)
    if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
        return CalfsyncError(
            f"cannot write {name}: the disk is full ({text}). Free disk space at {folder}, "
            "then run again: nothing was half-written, the next run carries on where this one "
            "stopped."
        )
    if is_busy(exc):
        return CalfsyncError(
            f"{name} stayed locked by another process longer than the busy timeout ({text}). "
            "Close the other writer (an open sqlite3 session with a write transaction, a "
            "script), or raise [database] busy_timeout_s; the next run tries again."
        )
    if primary in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return CalfsyncError(
            f"{name} is not a calfsync database or is damaged ({text}). Point --db or "
            "[database] path at the right file, or restore it from a backup (or move it "
            "aside and a new one is created on the next run). The file was left untouched."
        )
    if primary in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return CalfsyncError(
            f"cannot write {name} ({text}). Make the file, its -wal and -shm files and the "
            f"folder {folder} writable by the user running calfsync (the daemon's user: "
            "sudo chown calfsync: ...), or choose another file with --db or [database] path."
        )
    if primary == sqlite3.SQLITE_IOERR:
        return CalfsyncError(
            f"input/output error on {name} ({text}). Check the disk (free space at {folder}, "
            "dmesg for hardware errors), then run again."
        )
    return CalfsyncError(f"database error on {name}: {text}")


class write_tx:  # noqa: N801 - used as a context manager: ``with write_tx(db):``
    """A write transaction taken with ``BEGIN IMMEDIATE``.

    Immediate mode takes the write lock up front, so a concurrent writer makes us wait up to
    ``busy_timeout`` instead of failing half-way with SQLITE_BUSY. Nested use falls back to a
    savepoint.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self._inner: Any = None

    def __enter__(self) -> sqlite_utils.Database:
        if self.db.conn.in_transaction:
            self._inner = self.db.atomic()
            return self._inner.__enter__()
        self.db.conn.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._inner is not None:
            self._inner.__exit__(exc_type, exc, tb)
            return
        if exc_type is None:
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, lock held) can leave the transaction open: roll it
                # back so nothing is half-written and later statements do not join it.
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
        elif self.db.conn.in_transaction:
            self.db.conn.execute("ROLLBACK")
