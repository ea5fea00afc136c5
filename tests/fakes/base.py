"""A loopback HTTP server in a thread, with scripted faults, that fake services build on.

Each fake speaks its service's real protocol (paths, auth headers, status codes, JSON error
bodies) on 127.0.0.1 at an OS-chosen port. Faults are queued per request:
``fail_next(500)`` answers the next request with the service's own 500 body, ``delay_next(2)``
answers after two seconds (a client timeout), ``hold()`` records the next push and then waits
until ``release()`` (to kill a client after the service accepted a push).
"""

from __future__ import annotations

import email.policy
import json
import socket
import threading
import time
from collections import deque
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class Request:
    """One request as the fake saw it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        parts = urlsplit(path)
        self.method = method
        self.path = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}

    def is_multipart(self) -> bool:
        return (self.header("content-type") or "").startswith("multipart/form-data")

    def multipart(self) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
        """A ``multipart/form-data`` body as (text fields, files as name -> (filename,
        content type, bytes)), parsed by the standard library's MIME parser."""
        head = f"Content-Type: {self.header('content-type')}\r\n\r\n".encode()
        parsed = BytesParser(policy=email.policy.HTTP).parsebytes(head + self.body)
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, str, bytes]] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                fields[str(name)] = data.decode()
            else:
                files[str(name)] = (filename, part.get_content_type(), data)
        return fields, files

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class FakeService:
    """Subclasses implement :meth:`handle` and :meth:`error` (the service's error body)."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[Request] = []
        self._faults: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.held = threading.Event()
        self._release = threading.Event()

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> FakeService:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Like real servers (Go sets TCP_NODELAY): no Nagle + delayed-ACK 40 ms stalls.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = Request(self.command, self.path, headers, body)
                status, out_headers, payload = service._dispatch(req)
                self.send_response(status)
                for key, value in out_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: clients now get "connection refused" until :meth:`start`."""
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeService:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- faults
    def fail_next(self, status: int, n: int = 1, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self._faults.extend([("status", (status, headers or {}))] * n)

    def delay_next(self, seconds: float, n: int = 1) -> None:
        with self._lock:
            self._faults.extend([("delay", seconds)] * n)

    def answer_late(self, seconds: float, n: int = 1) -> None:
        """Store the next ``n`` requests at once but answer each only after ``seconds`` (a
        server that has the push while the client times out)."""
        with self._lock:
            self._faults.extend([("late", seconds)] * n)

    def hold(self) -> None:
        """Accept the next request, record it, then wait for :meth:`release` to answer."""
        self._release.clear()
        self.held.clear()
        with self._lock:
            self._faults.append(("hold", None))

    def release(self) -> None:
        self._release.set()

    def _dispatch(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault and fault[0] == "status":
            status, extra = fault[1]
            code, headers, body = self.error(status)
            return code, {**headers, **extra}, body
        if fault and fault[0] == "delay":
            time.sleep(fault[1])
        result = self.handle(req)
        if fault and fault[0] == "late":
            time.sleep(fault[1])
        if fault and fault[0] == "hold":
            self.held.set()
            self._release.wait(30)
        return result

    # ---------------------------------------------------------------- to implement
    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def error(self, status: int) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def record(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)


def json_response(status: int, body: Any, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def closed_port() -> int:
    """A loopback port with nothing listening (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
