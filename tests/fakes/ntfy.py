"""A fake ntfy server: JSON publish at ``/``, plain publish at ``/<topic>`` (the message's
fields as headers, as ntfy reads them: aliases, RFC 2047-encoded values, ``\\n`` in the
message), attachments (a PUT body with ``Filename``, or one that is not UTF-8; refused with
ntfy's 40014 when ``attachments=False``, as a server without ``attachment-cache-dir`` does, and
413 past ``attachment_limit``), polling at ``/<topic>/json?poll=1&since=``; Bearer or Basic
auth; ntfy's JSON error bodies."""

from __future__ import annotations

import base64
import email.header
import json
import re
import secrets
import time
from typing import Any

from .base import FakeService, Request, json_response

TOPIC = re.compile(r"^[-_A-Za-z0-9]{1,64}$")  # ntfy's rule for topic names

ERRORS = {
    400: (40007, "invalid request"),
    401: (40101, "unauthorized"),
    403: (40301, "forbidden"),
    404: (40401, "page not found"),
    413: (41301, "attachment too large, or bandwidth limit reached"),
    429: (42901, "limit reached: too many requests"),
    500: (50001, "internal server error"),
    502: (50201, "bad gateway"),
    503: (50301, "service unavailable"),
}


class FakeNtfy(FakeService):
    """``token`` or ``users`` make every topic need auth (like ``auth-default-access:
    deny-all``); without them the server is open."""

    def __init__(
        self,
        token: str | None = None,
        users: dict[str, str] | None = None,
        write_only: dict[str, str] | None = None,
        attachments: bool = True,
        attachment_limit: int = 15 * 1024 * 1024,
    ) -> None:
        super().__init__()
        self.attachments = attachments  # False: a server without attachment-cache-dir
        self.attachment_limit = attachment_limit
        self.files: dict[str, bytes] = {}  # message id -> the attached file
        self.refused: list[Request] = []  # publishes refused for their attachment
        self.token = token
        self.users = users or {}
        # token -> the one topic it may publish to and nothing else (``ntfy access <user>
        # <topic> write-only`` for the user that owns the token)
        self.write_only = write_only or {}
        self.messages: list[dict[str, Any]] = []  # every stored message, in order

    def error(
        self, status: int, detail: str | None = None, code: int | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        known, text = ERRORS.get(status, (status * 100 + 1, "error"))
        code = code or known
        body = {
            "code": code,
            "http": status,
            "error": detail or text,
            "link": "https://ntfy.sh/docs/",
        }
        return json_response(status, body)

    def pushes(self, topic: str | None = None) -> list[dict[str, Any]]:
        """Messages published to ``topic`` (all topics when None)."""
        return [m for m in self.messages if topic is None or m["topic"] == topic]

    def notifications(self, topic: str | None = None) -> list[dict[str, Any]]:
        """What a phone shows (ntfy 2.16+): messages with the same sequence id are one
        notification, updated in place; the latest of each is returned."""
        shown: dict[str, dict[str, Any]] = {}
        for msg in self.pushes(topic):
            shown[msg.get("sequence_id") or msg["id"]] = msg
        return list(shown.values())

    def _auth_error(self, req: Request) -> tuple[int, dict[str, str], bytes] | None:
        if not self.token and not self.users:
            return None
        auth = req.header("authorization")
        if not auth:
            return self.error(403)
        if auth.startswith("Bearer ") and auth[7:] in self.write_only:
            parts = [p for p in req.path.split("/") if p]
            allowed = req.method in ("POST", "PUT") and parts == [self.write_only[auth[7:]]]
            return None if allowed else self.error(403)
        if auth.startswith("Bearer "):
            return None if auth[7:] == self.token else self.error(401)
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            return None if self.users.get(user) == password else self.error(401)
        return self.error(401)

    def _store(self, topic: str, fields: dict[str, Any]) -> dict[str, Any]:
        msg = {
            "id": secrets.token_hex(6),
            "time": int(time.time()),
            "expires": int(time.time()) + 43200,
            "event": "message",
            "topic": topic,
            **fields,
        }
        self.messages.append(msg)
        return msg

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        denied = self._auth_error(req)
        if denied:
            return denied
        parts = [p for p in req.path.split("/") if p]
        if req.method == "GET" and len(parts) == 2 and parts[1] == "json":
            return self._poll(parts[0], req)
        if req.method in ("POST", "PUT") and not parts:
            return self._publish_json(req)
        if req.method in ("POST", "PUT") and len(parts) == 1:
            return self._publish_plain(parts[0], req)
        return self.error(404)

    def _publish_json(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        try:
            body = req.json()
        except ValueError:
            return self.error(400, "invalid request: request body must be message JSON")
        if not isinstance(body, dict) or not TOPIC.match(str(body.get("topic", ""))):
            return self.error(400, "invalid request: topic invalid")
        priority = body.get("priority", 3)
        if not isinstance(priority, int) or not 1 <= priority <= 5:
            return self.error(400, "invalid request: priority invalid")
        for action in body.get("actions") or []:
            if action.get("action") not in ("view", "http", "broadcast") or not action.get("label"):
                return self.error(400, "invalid request: action invalid")
        self.record(req)
        fields = {k: v for k, v in body.items() if k != "topic"}
        if req.header("x-sequence-id") and "sequence_id" not in fields:
            fields["sequence_id"] = req.header("x-sequence-id")
        return json_response(200, self._store(body["topic"], fields))

    def _publish_plain(self, topic: str, req: Request) -> tuple[int, dict[str, str], bytes]:
        filename = _param(req, "x-filename", "filename", "file", "f")
        is_file = bool(filename) or not _is_utf8(req.body) or len(req.body) > 4096
        fields: dict[str, Any] = {}
        for key, names in (
            ("title", ("x-title", "title", "ti", "t")),
            ("click", ("x-click", "click")),
            ("sequence_id", ("x-sequence-id", "sequence-id", "sid")),
        ):
            value = _param(req, *names)
            if value:
                fields[key] = _decoded(value)
        message = _param(req, "x-message", "message", "m").replace("\\n", "\n")
        tags = _param(req, "x-tags", "tags", "tag", "ta")
        if tags:
            fields["tags"] = [_decoded(t.strip()) for t in tags.split(",") if t.strip()]
        priority = _param(req, "x-priority", "priority", "prio", "p") or "3"
        if priority not in PRIORITIES:
            return self.error(400, "invalid request: priority invalid", code=40007)
        fields["priority"] = PRIORITIES[priority]
        actions = _param(req, "x-actions", "actions", "action")
        if actions:
            if not actions.startswith("["):
                return self.error(400, "this fake reads only JSON actions")
            fields["actions"] = json.loads(actions)
            if len(fields["actions"]) > 3 or any(
                a.get("action") not in ("view", "http", "broadcast") or not a.get("label")
                for a in fields["actions"]
            ):
                return self.error(400, "invalid request: actions invalid", code=40018)
        if is_file:
            if not self.attachments or len(req.body) > self.attachment_limit:
                self.refused.append(req)
            if not self.attachments:
                return self.error(400, "invalid request: attachments not allowed", code=40014)
            if len(req.body) > self.attachment_limit:
                return self.error(413)
            name = filename or "attachment"
            fields["attachment"] = {
                "name": name,
                "type": "image/png" if req.body.startswith(b"\x89PNG") else "",
                "size": len(req.body),
            }
            fields["message"] = _decoded(message) or f"You received a file: {name}"
        else:
            fields["message"] = _decoded(message) or req.body.decode() or "triggered"
        self.record(req)
        stored = self._store(topic, fields)
        if is_file:
            self.files[stored["id"]] = req.body
            stored["attachment"]["url"] = f"{self.url}/file/{stored['id']}.png"
        return json_response(200, stored)

    def _poll(self, topic: str, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.query.get("poll") not in ("1", "true", "yes"):
            return self.error(400, "this fake serves only poll=1")
        since = req.query.get("since", "all")
        found = [m for m in self.messages if m["topic"] == topic]
        if since not in ("all", ""):
            ids = [m["id"] for m in found]
            if since in ids:
                found = found[ids.index(since) + 1 :]
            elif since.isdigit():
                found = [m for m in found if m["time"] >= int(since)]
            else:
                return self.error(400, "invalid request: since invalid")
        lines = "".join(json.dumps(m) + "\n" for m in found)
        return 200, {"Content-Type": "application/x-ndjson; charset=utf-8"}, lines.encode()

    def tap(self, action_index: int, message: dict[str, Any]) -> None:
        """What the phone does when a button is tapped: the action's HTTP request."""
        import httpx

        action = message["actions"][action_index]
        httpx.request(
            action.get("method", "POST"),
            action["url"],
            content=action.get("body", ""),
            headers=action.get("headers") or {},
        )


PRIORITIES = {
    **{str(n): n for n in range(1, 6)},
    "min": 1,
    "low": 2,
    "default": 3,
    "high": 4,
    "max": 5,
    "urgent": 5,
}


def _param(req: Request, *names: str) -> str:
    """The first of ``names`` given as a header, else as a query parameter (ntfy's readParam)."""
    for name in names:
        if req.header(name):
            return str(req.header(name)).strip()
    for name in names:
        if req.query.get(name):
            return str(req.query[name]).strip()
    return ""


def _decoded(value: str) -> str:
    """A header value as ntfy reads it: RFC 2047 encoded words (``=?UTF-8?B?…?=``) decoded."""
    if "=?" not in value:
        return value
    return str(email.header.make_header(email.header.decode_header(value)))


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
