"""A webhook receiver that verifies Standard Webhooks signatures and dedupes on webhook-id,
as the docs tell a receiver to do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from .base import FakeService, Request, json_response

TOLERANCE_S = 300


class FakeWebhook(FakeService):
    def __init__(self, secret: str | None = None) -> None:
        super().__init__()
        self.secret = secret
        self.seen_ids: list[str] = []  # every accepted webhook-id, duplicates included
        self.events: dict[str, Any] = {}  # webhook-id -> body, deduped

    def error(self, status: int, detail: str = "") -> tuple[int, dict[str, str], bytes]:
        return json_response(status, {"error": detail or f"HTTP {status}"})

    def _key(self) -> bytes:
        assert self.secret
        if self.secret.startswith("whsec_"):
            return base64.b64decode(self.secret[6:])
        return self.secret.encode()

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        msg_id = req.header("webhook-id")
        stamp = req.header("webhook-timestamp")
        if not msg_id or not stamp:
            return self.error(400, "missing webhook-id or webhook-timestamp")
        if abs(time.time() - int(stamp)) > TOLERANCE_S:
            return self.error(400, "timestamp outside tolerance")
        if self.secret:
            signed = f"{msg_id}.{stamp}.".encode() + req.body
            expected = base64.b64encode(hmac.new(self._key(), signed, hashlib.sha256).digest())
            given = [
                s.split(",", 1)[1].encode()
                for s in (req.header("webhook-signature") or "").split()
                if s.startswith("v1,")
            ]
            if not any(hmac.compare_digest(expected, g) for g in given):
                return self.error(401, "invalid signature")
        self.record(req)
        self.seen_ids.append(msg_id)
        self.events.setdefault(msg_id, req.json())
        return 204, {}, b""
