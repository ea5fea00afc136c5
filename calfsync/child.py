"""Short-lived child processes for the daemon's rare, heavy work.

The daemon idles for days between runs. Parsing a FIT file loads fitparse; a push loads httpx,
builds its TLS context and may draw a chart with Pillow. A module, once loaded, stays for the
life of a process, so a daemon that had parsed one file and sent one push held about 6 MiB more
for good (docs/performance.md). With ``[daemon] child_process = true`` (the default) the daemon
hands that work to a fresh interpreter that lives for one step and then exits: the daemon keeps
only what it needs to watch, judge and schedule. ``calfsync sync`` ends anyway, so it works in
its own process.

Protocol: the parent writes calls to the child's stdin and reads answers from a pipe of their
own (the child's stdout is the daemon's stderr, so a stray ``print``, even one at the
interpreter's start, is logged and cannot break the stream). Each message is a pickle behind
its 8-byte length. A call names a function of this package by module and name; the answer
is ``("ok", value, secrets)`` or ``("error", exception, secrets)``, ``secrets`` being those
the call registered (a Strava token read or rotated in the child): the daemon hides them too
in what it logs and records of the answer.
The child acknowledges the first message (its setup) once calfsync imported in it: a child that
cannot start, or that would run another version of calfsync than the daemon's (upgraded on disk
before a restart), fails the step with :class:`ChildUnavailable`, not each call as a crash.
Both ends are this package: nothing from outside is unpickled. The child ignores SIGINT and
SIGTERM (the daemon finishes its step, then stops, and the child's stdin closes with it) and
logs to the same stderr in the daemon's format, with the same secrets redacted.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

from . import __version__
from .errors import CalfsyncError

T = TypeVar("T")
_LENGTH = struct.Struct(">Q")
STOP_TIMEOUT_S = 30.0
# The child's first lines. ``-P``: the working directory is not put first on ``sys.path`` (as
# ``python -m`` would), so a ``csv.py`` or ``fitparse.py`` in the folder the daemon was started
# from is not run instead of the real module; calfsync comes from where the daemon's came from.
_BOOT = (
    "import sys\n"
    "from importlib.util import find_spec\n"
    "spec = find_spec('calfsync')\n"
    "if spec is None or spec.origin != sys.argv[1]:\n"
    "    sys.path.insert(0, sys.argv[2])\n"
    "from calfsync.child import main\n"
    "main(int(sys.argv[3]))\n"
)


class ChildDied(CalfsyncError):
    """The child process ended before it answered (killed, out of memory, a crash)."""


class ChildError(CalfsyncError):
    """An error raised in the child that could not be carried back as itself."""


class ChildUnavailable(CalfsyncError):
    """No child process could be started (its interpreter is gone, calfsync does not import in
    it): every call would fail alike, so the step fails with this rather than each file."""


def _dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def _write(stream: IO[bytes], obj: Any, data: bytes | None = None) -> None:
    """Send ``obj`` (or ``data``, ``obj`` already pickled) behind its length."""
    data = _dumps(obj) if data is None else data
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - written by this package's own child


class Child:
    """One child interpreter, started on the first :meth:`call` and stopped by :meth:`close`
    (or when used as a context manager). Calls run one at a time, in order."""

    started = 0  # children started by this process (what the tests and benchmarks count)

    def __init__(self, log_level: str = "info") -> None:
        self.log_level = log_level
        self._proc: subprocess.Popen[bytes] | None = None
        self._answers: IO[bytes] | None = None  # the pipe the child answers on

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` in the child and return its value, or raise its exception.

        ``func`` must be a module-level function of this package; arguments and value must
        pickle. Raises :class:`ChildDied` when the child ended without an answer (the next
        call starts a new one)."""
        requests, answers = self._start()
        try:
            _write(requests, ("call", func.__module__, func.__qualname__, args))
            status, value, secrets = _read(answers)
        except (BrokenPipeError, EOFError):
            code = self._reap()
            raise ChildDied(
                f"the child process {_ended(code)} before it finished "
                f"{func.__qualname__}; see the lines logged before this one"
            ) from None
        if secrets:
            from .secrets import register

            for secret in secrets:
                register(secret)
        if status == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def close(self) -> None:
        """Let the child finish and exit (it exits when its stdin closes)."""
        if self._proc is not None:
            self._reap()

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start(self) -> tuple[IO[bytes], IO[bytes]]:
        """The running child's request and answer streams (started first when none runs)."""
        if self._proc is None:
            from .secrets import registered

            Child.started += 1
            package = sys.modules[__package__]
            assert package.__file__ is not None
            read_fd, write_fd = os.pipe()
            command = [sys.executable, "-P", "-c", _BOOT, package.__file__]
            command += [os.path.dirname(os.path.dirname(package.__file__)), str(write_fd)]
            try:
                # its stdout is the daemon's stderr: what a sitecustomize or a stray print
                # writes there is logged, never taken for an answer
                self._proc = subprocess.Popen(
                    command, stdin=subprocess.PIPE, stdout=2, pass_fds=(write_fd,)
                )
            except OSError as exc:
                os.close(read_fd)
                raise ChildUnavailable(_unavailable(command, exc.strerror or str(exc))) from None
            finally:
                os.close(write_fd)
            self._answers = os.fdopen(read_fd, "rb")
            assert self._proc.stdin is not None
            try:  # the child acknowledges its setup once calfsync imported in it
                setup = ("setup", self.log_level, sorted(registered()), __version__)
                _write(self._proc.stdin, setup)
                status, refusal, _secrets = _read(self._answers)
            except (BrokenPipeError, EOFError):
                code = self._reap()
                raise ChildUnavailable(
                    _unavailable(
                        command,
                        f"it {_ended(code)} before it was ready; see the lines logged "
                        "before this one",
                    )
                ) from None
            if status == "error":  # another version of calfsync is installed now
                self._reap()
                raise refusal
        assert self._proc.stdin is not None and self._answers is not None
        return self._proc.stdin, self._answers

    def _reap(self) -> int | None:
        proc, self._proc = self._proc, None
        answers, self._answers = self._answers, None
        if proc is None:
            return None
        for stream in (proc.stdin, answers):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            return proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def _ended(code: int | None) -> str:
    """How the child ended, in words: a SIGKILL is what the kernel's out-of-memory killer sends."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if code == -signal.SIGKILL else ""
        return f"was killed by {name}{hint}"
    return f"ended (exit code {code})"


def _unavailable(command: list[str], reason: str) -> str:
    return (
        f"cannot start a child process ({command[0]}, calfsync.child): {reason}. The daemon's "
        "Python or its calfsync install changed under it? Restart the daemon (systemctl "
        "restart calfsync), or set [daemon] child_process = false."
    )


# Exceptions carried back as themselves: the daemon's step runner reads their type (a SQLite
# error names its fix, a CalfsyncError its message). Any other library's exception would make the
# daemon import that library to unpickle it (requests, httpx, stravalib: what the child is for).
_CARRIED_MODULES = ("builtins", "sqlite3", "calfsync")


def _carry(exc: BaseException) -> BaseException:
    """``exc`` if it is of this package, SQLite or Python itself and survives a pickle round
    trip, else a :class:`ChildError` with its text."""
    module = type(exc).__module__
    if module.split(".")[0] in _CARRIED_MODULES:
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
            return exc
        except Exception:  # noqa: BLE001 - any failure to pickle: carry the text
            pass
    return ChildError(f"{type(exc).__name__}: {exc}")


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    while True:
        try:
            message = _read(requests)
        except EOFError:
            return
        if message[0] == "setup":
            from .logs import setup_logging
            from .secrets import register

            setup_logging(message[1])
            for secret in message[2]:
                register(secret)
            if message[3] != __version__:  # upgraded on disk under a running daemon
                refusal = ChildUnavailable(
                    f"calfsync {__version__} is installed, but the daemon still runs "
                    f"{message[3]}: restart it (systemctl restart calfsync) to run the new version"
                )
                _write(answers, ("error", refusal, ()))
                return
            answer = _dumps(("ok", os.getpid(), ()))
        else:
            answer = _answer(message)
        try:
            _write(answers, None, answer)
        except BrokenPipeError:  # the daemon was killed: what the call wrote to the database stays
            return


def _answer(message: tuple[str, str, str, tuple[Any, ...]]) -> bytes:
    """Run the call ``message`` names; its answer, pickled (a value that does not pickle comes
    back as a :class:`ChildError`: the child carries on)."""
    import importlib

    from .secrets import registered

    _kind, module, name, args = message
    known = registered()
    try:
        func: Any = importlib.import_module(module)
        for part in name.split("."):
            func = getattr(func, part)
        value = func(*args)
    except Exception as exc:  # noqa: BLE001 - every error goes back to the parent
        # a SQLite error keeps its code (its __dict__)
        return _dumps(("error", _carry(exc), sorted(registered() - known)))
    secrets = sorted(registered() - known)
    try:
        return _dumps(("ok", value, secrets))
    except Exception as exc:  # noqa: BLE001 - the value cannot go back: say so, not crash
        error = ChildError(f"{name} returned what cannot go back: {exc}")
        return _dumps(("error", error, secrets))


def main(answer_fd: int | None = None) -> None:
    """The child's entry point: answers on ``answer_fd`` (by hand, ``python -m calfsync.child``:
    on stdout, a stray print sent to stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if answer_fd is None:
        answer_fd = os.dup(1)
        os.dup2(2, 1)  # a stray print goes to the log, not into the answers
        sys.stdout = sys.stderr
    os.set_inheritable(answer_fd, False)  # not passed on to a program it runs (exec)
    answers = os.fdopen(answer_fd, "wb")
    try:
        _serve(sys.stdin.buffer, answers)
    finally:
        try:
            answers.close()
        except BrokenPipeError:  # the answer nobody reads any more (the daemon was killed)
            pass


if __name__ == "__main__":
    # run as calfsync.child, not __main__, so ChildError pickles under its importable name
    from calfsync.child import main as child_main

    child_main()
