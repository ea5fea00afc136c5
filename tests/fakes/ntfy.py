"""A fake ntfy server: JSON publish at ``/``, plain publish at ``/<topic>``, polling at
``/<topic>/json?poll=1&since=``; Bearer or Basic auth; ntfy's JSON error bodies."""

from __future__ import annotations

import base64
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
    ) -> None:
        super().__init__()
        self.token = token
        self.users = users or {}
        # token -> the one topic it may publish to and nothing else (``ntfy access <user>
        # <topic> write-only`` for the user that owns the token)
        self.write_only = write_only or {}
        self.messages: list[dict[str, Any]] = []  # every stored message, in order

    def error(self, status: int, detail: str | None = None) -> tuple[int, dict[str, str], bytes]:
        code, text = ERRORS.get(status, (status * 100 + 1, "error"))
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
        self.record(req)
        fields: dict[str, Any] = {"message": req.body.decode() or "triggered"}
        if req.header("title") or req.header("x-title"):
            fields["title"] = req.header("title") or req.header("x-title")
        return json_response(200, self._store(topic, fields))

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
