"""A fake Telegram Bot API: ``POST /bot<token>/sendMessage`` (JSON) and ``sendPhoto``
(multipart: ``chat_id``, ``photo``, ``caption`` of at most 1024 characters); ``{"ok": false,
"error_code", "description"}`` errors (401 unknown token, 404 malformed path, 400 chat not
found or caption too long, 429 with ``parameters.retry_after``)."""

from __future__ import annotations

from typing import Any

from .base import FakeService, Request, json_response

DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    429: "Too Many Requests: retry after 1",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class FakeTelegram(FakeService):
    def __init__(self, token: str, chat_ids: set[str]) -> None:
        super().__init__()
        self.token = token
        self.chat_ids = chat_ids
        self.messages: list[dict[str, Any]] = []

    def error(self, status: int, description: str = "") -> tuple[int, dict[str, str], bytes]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": status,
            "description": description or DESCRIPTIONS.get(status, "Error"),
        }
        if status == 429:
            body["parameters"] = {"retry_after": 1}
        return json_response(status, body)

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        parts = [p for p in req.path.split("/") if p]
        if len(parts) != 2 or not parts[0].startswith("bot") or ":" not in parts[0]:
            return self.error(404)
        if parts[0][3:] != self.token:
            return self.error(401)
        if parts[1] == "sendPhoto":
            return self._send_photo(req)
        if parts[1] != "sendMessage":
            return self.error(404)
        try:
            body = req.json()
        except ValueError:
            return self.error(400, "Bad Request: message text is empty")
        if str(body.get("chat_id")) not in self.chat_ids:
            return self.error(400, "Bad Request: chat not found")
        if not body.get("text"):
            return self.error(400, "Bad Request: message text is empty")
        self.record(req)
        msg = {
            "message_id": len(self.messages) + 1,
            "chat": {"id": body["chat_id"]},
            "date": 0,
            "text": body["text"],
        }
        self.messages.append(body)
        return json_response(200, {"ok": True, "result": msg})

    def _send_photo(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if not req.is_multipart():
            return self.error(400, "Bad Request: there is no photo in the request")
        fields, files = req.multipart()
        if fields.get("chat_id") not in self.chat_ids:
            return self.error(400, "Bad Request: chat not found")
        if "photo" not in files:
            return self.error(400, "Bad Request: there is no photo in the request")
        if len(fields.get("caption", "")) > 1024:
            return self.error(400, "Bad Request: message caption is too long")
        self.record(req)
        body: dict[str, Any] = {**fields, "photo": files["photo"][2]}
        self.messages.append(body)
        msg = {
            "message_id": len(self.messages),
            "chat": {"id": fields["chat_id"]},
            "date": 0,
            "photo": [{"file_id": f"photo-{len(self.messages)}", "width": 600, "height": 340}],
            "caption": fields.get("caption", ""),
        }
        return json_response(200, {"ok": True, "result": msg})
