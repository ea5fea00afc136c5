"""A fake Pushover API: ``POST /1/messages.json`` (form, JSON, or multipart with an image in
its ``attachment`` part, at most 5 MB) with ``token`` and ``user``; Pushover answers bad
credentials with 400 and ``{"status": 0, "errors": [...]}``."""

from __future__ import annotations

import json
import uuid
from typing import Any

from .base import FakeService, Request, json_response

MAX_ATTACHMENT = 5 * 1024 * 1024


class FakePushover(FakeService):
    def __init__(self, app_token: str, user_key: str) -> None:
        super().__init__()
        self.app_token = app_token
        self.user_key = user_key
        self.messages: list[dict[str, Any]] = []

    def error(
        self, status: int, errors: list[str] | None = None, **fields: str
    ) -> tuple[int, dict[str, str], bytes]:
        body = {
            **fields,
            "errors": errors or [f"HTTP {status}"],
            "status": 0,
            "request": str(uuid.uuid4()),
        }
        return json_response(status, body)

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.path != "/1/messages.json" or req.method != "POST":
            return self.error(404, ["not found"])
        files: dict[str, tuple[str, str, bytes]] = {}
        if (req.header("content-type") or "").startswith("application/json"):
            form: dict[str, Any] = {k: str(v) for k, v in json.loads(req.body).items()}
        elif req.is_multipart():
            form, files = req.multipart()
        else:
            form = req.form()
        if "attachment" in files and len(files["attachment"][2]) > MAX_ATTACHMENT:
            return self.error(400, ["attachment size cannot exceed 5242880 bytes"])
        if form.get("token") != self.app_token:
            return self.error(400, ["application token is invalid"], token="invalid")
        if form.get("user") != self.user_key:
            return self.error(
                400,
                [
                    "user identifier is not a valid user, group, or subscribed "
                    "user to a delivery group"
                ],
                user="invalid",
            )
        if not form.get("message"):
            return self.error(400, ["message cannot be blank"], message="cannot be blank")
        if form.get("priority") not in (None, "-2", "-1", "0", "1", "2"):
            return self.error(400, ["priority is invalid"], priority="invalid")
        self.record(req)
        if "attachment" in files:
            form = {**form, "attachment": files["attachment"]}  # (filename, type, bytes)
        self.messages.append(form)
        return json_response(200, {"status": 1, "request": str(uuid.uuid4())})
