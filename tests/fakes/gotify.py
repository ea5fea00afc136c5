"""A fake Gotify server: ``POST /message`` with an application token (``X-Gotify-Key``,
``?token=`` or ``Authorization: Bearer``); Gotify's JSON error bodies."""

from __future__ import annotations

from typing import Any

from .base import FakeService, Request, json_response

TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class FakeGotify(FakeService):
    def __init__(self, app_token: str) -> None:
        super().__init__()
        self.app_token = app_token
        self.messages: list[dict[str, Any]] = []

    def error(self, status: int, detail: str = "") -> tuple[int, dict[str, str], bytes]:
        body = {
            "error": TEXT.get(status, "Error"),
            "errorCode": status,
            "errorDescription": detail or TEXT.get(status, "error"),
        }
        return json_response(status, body)

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.path != "/message" or req.method != "POST":
            return self.error(404, "page not found")
        auth = req.header("authorization") or ""
        token = (
            req.header("x-gotify-key")
            or req.query.get("token")
            or (auth[7:] if auth.startswith("Bearer ") else None)
        )
        if token != self.app_token:
            return self.error(
                401,
                "you need to provide a valid access token or user credentials to access this api",
            )
        try:
            body = req.json()
        except ValueError:
            return self.error(400, "invalid JSON")
        if not isinstance(body, dict) or not body.get("message"):
            return self.error(400, "Field 'message' is required")
        if not isinstance(body.get("priority", 0), int):
            return self.error(400, "Field 'priority' must be an integer")
        self.record(req)
        msg = {"id": len(self.messages) + 1, "appid": 1, "date": "2026-01-01T00:00:00Z", **body}
        self.messages.append(msg)
        return json_response(200, msg)
