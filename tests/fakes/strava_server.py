"""A loopback Strava stand-in speaking real HTTP, built from Strava's published swagger examples.

Every reply starts from the example of its endpoint in ``shared/strava/swagger.json``
(``SummaryActivity``, ``DetailedActivity``, ``DetailedAthlete``, ``DetailedGear``) with the fields
a test sets laid over it. What it does like Strava:

- OAuth: ``/oauth/authorize`` redirects to ``redirect_uri`` with a one-time code (the athlete
  "approves"); ``/oauth/token`` trades a code or a refresh token for a token set, rotating the
  refresh token every time and rejecting every older one (400 ``RefreshToken/refresh_token/
  invalid``); API calls need a current, unexpired bearer token (else 401).
- ``/athlete``, ``/athlete/activities`` (``after``/``before`` epoch filters, ``page``,
  ``per_page`` up to 200, newest first), ``/activities/{id}`` (404 once deleted), ``/gear/{id}``.
- ``X-RateLimit-Limit/Usage`` and ``X-ReadRateLimit-Limit/Usage`` on every API reply; over a
  limit: 429 with those headers and Strava's error body. ``new_window()`` / ``new_day()`` reset.
- Faults to inject: ``401``, ``403_inactive`` (Strava's ``Application/Status/Inactive`` body),
  ``429``, ``429_daily``, ``500``, ``timeout``, ``malformed`` (truncated JSON), ``wrong_shape``
  (JSON, not activities), ``drop`` (connection closed with no reply).
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

REPO = Path(__file__).resolve().parents[2]
SWAGGER_CANDIDATES = [
    Path(os.environ["CALFSYNC_STRAVA_SWAGGER"])
    if os.environ.get("CALFSYNC_STRAVA_SWAGGER")
    else None,
    REPO.parent / "shared" / "strava" / "swagger.json",
    REPO / "shared" / "strava" / "swagger.json",
]


def swagger_path() -> Path:
    for path in SWAGGER_CANDIDATES:
        if path is not None and path.is_file():
            return path
    raise FileNotFoundError(
        "shared/strava/swagger.json not found next to the repository; set "
        "CALFSYNC_STRAVA_SWAGGER to its path"
    )


EXAMPLES_FILE = Path(__file__).with_name("strava_examples.json")


def swagger_examples(spec: dict[str, Any]) -> dict[str, Any]:
    """The example replies of the endpoints the stand-in serves, taken from swagger.json."""

    def example(path: str) -> Any:
        return spec["paths"][path]["get"]["responses"]["200"]["examples"]["application/json"]

    return {
        "summary_activity": example("/athlete/activities")[0],
        "detailed_activity": example("/activities/{id}"),
        "athlete": example("/athlete"),
        "gear": example("/gear/{id}"),
    }


def load_examples() -> dict[str, Any]:
    """The stand-in's example replies: from shared/strava/swagger.json when it is beside the
    repository, else from the extract committed next to this file (a clean clone has no
    shared/); tests/test_strava_examples.py checks that the two agree."""
    try:
        spec = json.loads(swagger_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
        data.pop("_about", None)
        return data
    return swagger_examples(spec)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Seen:
    """One request the stand-in answered."""

    method: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class Fault:
    kind: str
    path: str | None  # a path prefix the fault applies to; None: any API path
    times: int = 1
    query: dict[str, str] | None = None  # only requests with these query parameters


@dataclass
class _State:
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    gear: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # code -> scope
    access: dict[str, float] = field(default_factory=dict)  # access token -> expires_at
    refresh: str | None = None
    retired_refresh: set[str] = field(default_factory=set)
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)


class FakeStrava:
    """The stand-in. Use as a context manager; ``api_url`` and ``oauth_url`` go in the config."""

    def __init__(
        self,
        *,
        client_id: str = "4242",
        client_secret: str = "app-secret-0123456789",
        read_limits: tuple[int, int] = (100, 1000),
        overall_limits: tuple[int, int] = (200, 2000),
        access_ttl_s: int = 6 * 3600,
        timeout_sleep_s: float = 3.0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.read_limits = read_limits
        self.overall_limits = overall_limits
        self.access_ttl_s = access_ttl_s
        self.timeout_sleep_s = timeout_sleep_s
        self.ascending_after = False  # True: with ``after``, oldest first (order is not documented)
        self.ignore_page = False  # True: a broken proxy that always answers page 1
        self.examples = load_examples()
        self.athlete_id = 134815
        self.firstname, self.lastname = "Marianne", "Teutenberg"
        self.read_usage = [0, 0]
        self.usage = [0, 0]
        self.state = _State()
        self.lock = threading.RLock()
        self._next_id = 9_100_000_000
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # lifecycle
    def __enter__(self) -> FakeStrava:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/v3"

    @property
    def oauth_url(self) -> str:
        return self.url + "/oauth"

    # data
    def add_activity(
        self,
        start: datetime,
        *,
        distance_m: float = 10_000.0,
        sport_type: str = "Run",
        offset_s: int = 3600,
        **fields: Any,
    ) -> dict[str, Any]:
        """Add an activity built on the swagger ``SummaryActivity`` example."""
        with self.lock:
            self._next_id += 1
            act = copy.deepcopy(self.examples["summary_activity"])
            moving = fields.pop("moving_time", int(distance_m / 2.8))
            broad = {
                "TrailRun": "Run",
                "VirtualRun": "Run",
                "MountainBikeRide": "Ride",
                "GravelRide": "Ride",
                "VirtualRide": "VirtualRide",
            }.get(sport_type, sport_type)
            act.update(
                id=fields.pop("id", self._next_id),
                upload_id=self._next_id * 10,
                athlete={"id": self.athlete_id, "resource_state": 1},
                name=fields.pop("name", f"{sport_type} {start:%Y-%m-%d}"),
                distance=distance_m,
                moving_time=moving,
                elapsed_time=fields.pop("elapsed_time", moving + 60),
                total_elevation_gain=fields.pop("total_elevation_gain", 42.0),
                type=broad,
                sport_type=sport_type,
                workout_type=fields.pop("workout_type", 0 if broad == "Run" else None),
                start_date=iso(start),
                start_date_local=iso(start + timedelta(seconds=offset_s)).replace("+00:00", "Z"),
                timezone="(GMT+01:00) Europe/Paris",
                utc_offset=offset_s,
                trainer=fields.pop("trainer", False),
                manual=fields.pop("manual", False),
                gear_id=fields.pop("gear_id", None),
                external_id=fields.pop("external_id", f"garmin_ping_{self._next_id}"),
                device_name=fields.pop("device_name", "Garmin Forerunner 265"),
                average_speed=round(distance_m / max(moving, 1), 3),
            )
            act.update(fields)
            self.state.activities[act["id"]] = act
            return act

    def delete_activity(self, activity_id: int) -> None:
        with self.lock:
            self.state.activities.pop(activity_id, None)
            self.state.deleted.add(activity_id)

    def edit_activity(self, activity_id: int, **fields: Any) -> None:
        with self.lock:
            self.state.activities[activity_id].update(fields)

    def add_gear(
        self,
        gear_id: str,
        name: str,
        *,
        brand: str = "Saucony",
        model: str = "Kinvara 14",
        distance_m: float = 120_000.0,
        retired: bool = False,
    ) -> dict[str, Any]:
        """Add a shoe built on the swagger ``DetailedGear`` example."""
        with self.lock:
            gear = copy.deepcopy(self.examples["gear"])
            gear.pop("frame_type", None)
            gear.update(
                id=gear_id,
                name=name,
                brand_name=brand,
                model_name=model,
                distance=distance_m,
                retired=retired,
                description=None,
            )
            self.state.gear[gear_id] = gear
            return gear

    # auth
    def issue_code(self, scope: str = "read,activity:read_all,profile:read_all") -> str:
        code = secrets.token_hex(20)
        with self.lock:
            self.state.codes[code] = scope
        return code

    def grant(self, expires_in: int | None = None) -> dict[str, Any]:
        """A token set as if the athlete had just authorized (for tests' setup)."""
        with self.lock:
            return self._new_tokens(expires_in)

    def _new_tokens(self, expires_in: int | None = None) -> dict[str, Any]:
        ttl = self.access_ttl_s if expires_in is None else expires_in
        access, refresh = secrets.token_hex(20), secrets.token_hex(20)
        expires_at = int(datetime.now(UTC).timestamp()) + ttl
        if self.state.refresh:
            self.state.retired_refresh.add(self.state.refresh)
        self.state.access[access] = expires_at
        self.state.refresh = refresh
        return {
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_at": expires_at,
            "expires_in": ttl,
        }

    def expire_access_tokens(self) -> None:
        """Every access token given so far stops working (Strava answers 401)."""
        with self.lock:
            self.state.access = {k: 0 for k in self.state.access}

    # faults, limits, log
    def fail(
        self,
        kind: str,
        path: str | None = None,
        times: int = 1,
        query: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with fault ``kind``."""
        with self.lock:
            self.state.faults.append(Fault(kind, path, times, query))

    def new_window(self) -> None:
        with self.lock:
            self.read_usage[0] = self.usage[0] = 0

    def new_day(self) -> None:
        with self.lock:
            self.read_usage = [0, 0]
            self.usage = [0, 0]

    @property
    def seen(self) -> list[Seen]:
        with self.lock:
            return list(self.state.seen)

    def api_reads(self) -> int:
        return sum(1 for s in self.seen if s.path.startswith("/api/v3"))

    def clear_log(self) -> None:
        with self.lock:
            self.state.seen.clear()

    # serving
    def _take_fault(self, path: str, query: dict[str, str]) -> str | None:
        with self.lock:
            for fault in self.state.faults:
                if fault.path is None and not path.startswith("/api/"):
                    continue
                if fault.path is not None and not path.startswith(fault.path):
                    continue
                if fault.query and any(query.get(k) != v for k, v in fault.query.items()):
                    continue
                fault.times -= 1
                if fault.times <= 0:
                    self.state.faults.remove(fault)
                return fault.kind
        return None

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": f"{self.overall_limits[0]},{self.overall_limits[1]}",
            "X-RateLimit-Usage": f"{self.usage[0]},{self.usage[1]}",
            "X-ReadRateLimit-Limit": f"{self.read_limits[0]},{self.read_limits[1]}",
            "X-ReadRateLimit-Usage": f"{self.read_usage[0]},{self.read_usage[1]}",
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self, "POST")

        return Handler

    def _serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = b""
        if method == "POST":
            length = int(req.headers.get("Content-Length") or 0)
            body = req.rfile.read(length)
        status, payload, headers = self._route(method, parts.path, query, body, req)
        with self.lock:
            self.state.seen.append(Seen(method, parts.path, query, status))
        if status == 0:  # "drop": close with no reply
            req.close_connection = True
            return
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json; charset=utf-8")
            req.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                req.send_header(key, value)
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _route(
        self, method: str, path: str, query: dict[str, str], body: bytes, req: Any
    ) -> tuple[int, Any, dict[str, str]]:
        fault = self._take_fault(path, query)
        if path.startswith("/oauth/"):
            if fault:
                return self._fault(fault, rate=False)
            if path == "/oauth/authorize" and method == "GET":
                return self._authorize(query)
            if path == "/oauth/token" and method == "POST":
                form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
                return self._token(form)
            return 404, _error("Record Not Found", "Path", "path", "invalid"), {}
        if not path.startswith("/api/v3/"):
            return 404, _error("Record Not Found", "Path", "path", "invalid"), {}
        with self.lock:
            over = (
                self.read_usage[0] >= self.read_limits[0]
                or self.read_usage[1] >= self.read_limits[1]
                or self.usage[0] >= self.overall_limits[0]
                or self.usage[1] >= self.overall_limits[1]
            )
            self.read_usage[0] += 1
            self.read_usage[1] += 1
            self.usage[0] += 1
            self.usage[1] += 1
            headers = self._rate_headers()
        if over:
            return (
                429,
                _error("Rate Limit Exceeded", "Application", "rate limit", "exceeded"),
                headers,
            )
        if fault:
            return self._fault(fault, rate=True)
        token = (req.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self.lock:
            expires_at = self.state.access.get(token)
        if expires_at is None or expires_at <= datetime.now(UTC).timestamp():
            return 401, _error("Authorization Error", "Athlete", "access_token", "invalid"), headers
        status, payload = self._api(path, query)
        return status, payload, headers

    def _fault(self, kind: str, rate: bool) -> tuple[int, Any, dict[str, str]]:
        headers = self._rate_headers() if rate else {}
        if kind == "401":
            return 401, _error("Authorization Error", "Athlete", "access_token", "invalid"), headers
        if kind == "403_inactive":
            return 403, _error("Forbidden", "Application", "Status", "Inactive"), headers
        if kind in ("429", "429_daily"):
            with self.lock:
                self.read_usage[0] = max(self.read_usage[0], self.read_limits[0])
                if kind == "429_daily":
                    self.read_usage[1] = max(self.read_usage[1], self.read_limits[1])
                headers = self._rate_headers() if rate else {}
            return (
                429,
                _error("Rate Limit Exceeded", "Application", "rate limit", "exceeded"),
                headers,
            )
        if kind == "500":
            return 500, {"message": "error", "errors": []}, headers
        if kind == "timeout":
            self._stop.wait(self.timeout_sleep_s)
            return 504, {"message": "late"}, headers
        if kind == "malformed":
            return 200, b'[{"id": 1, "start_date": "2026-', headers
        if kind == "wrong_shape":
            return 200, [{"name": "an object without an id"}], headers
        if kind == "drop":
            return 0, b"", headers
        raise ValueError(f"unknown fault {kind}")

    def _authorize(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if query.get("client_id") != self.client_id:
            return 400, _error("Bad Request", "Application", "client_id", "invalid"), {}
        code = self.issue_code("read," + query.get("scope", ""))
        params = {"state": query.get("state", ""), "code": code, "scope": query.get("scope", "")}
        location = f"{query['redirect_uri']}?{urlencode(params)}"
        return 302, b"", {"Location": location}

    def _token(self, form: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if form.get("client_id") != self.client_id:
            return 400, _error("Bad Request", "Application", "client_id", "invalid"), {}
        if form.get("client_secret") != self.client_secret:
            return 401, _error("Authorization Error", "Application", "client_secret", "invalid"), {}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                if self.state.codes.pop(form.get("code", ""), None) is None:
                    return 400, _error("Bad Request", "AuthorizationCode", "code", "invalid"), {}
                reply = self._new_tokens()
                reply["athlete"] = self._athlete_summary()
                return 200, reply, {}
            if grant == "refresh_token":
                if form.get("refresh_token") != self.state.refresh:
                    return (
                        400,
                        _error("Bad Request", "RefreshToken", "refresh_token", "invalid"),
                        {},
                    )
                return 200, self._new_tokens(), {}
        return 400, _error("Bad Request", "GrantType", "grant_type", "invalid"), {}

    def _athlete_summary(self) -> dict[str, Any]:
        athlete = copy.deepcopy(self.examples["athlete"])
        athlete.update(id=self.athlete_id, firstname=self.firstname, lastname=self.lastname)
        for key in ("bikes", "shoes", "clubs", "ftp", "weight"):
            athlete.pop(key, None)
        athlete["resource_state"] = 2
        return athlete

    def _api(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        rest = path.removeprefix("/api/v3")
        with self.lock:
            if rest == "/athlete":
                return 200, self._athlete()
            if rest == "/athlete/activities":
                return self._list(query)
            if rest.startswith("/activities/"):
                ident = rest.split("/")[2]
                act = self.state.activities.get(int(ident)) if ident.isdigit() else None
                if act is None:
                    return 404, _error("Record Not Found", "Activity", "id", "invalid")
                detailed = copy.deepcopy(self.examples["detailed_activity"])
                for key in ("segment_efforts", "splits_metric", "laps", "photos", "best_efforts"):
                    detailed.pop(key, None)
                detailed.update(copy.deepcopy(act))
                detailed["resource_state"] = 3
                detailed["gear"] = self.state.gear.get(act.get("gear_id") or "")
                return 200, detailed
            if rest.startswith("/gear/"):
                gear = self.state.gear.get(rest.split("/")[2])
                if gear is None:
                    return 404, _error("Record Not Found", "Gear", "id", "invalid")
                return 200, copy.deepcopy(gear)
        return 404, _error("Record Not Found", "Path", "path", "invalid")

    def _athlete(self) -> dict[str, Any]:
        athlete = copy.deepcopy(self.examples["athlete"])
        athlete.update(id=self.athlete_id, firstname=self.firstname, lastname=self.lastname)
        athlete["bikes"] = []
        athlete["shoes"] = [
            {
                "id": g["id"],
                "primary": i == 0,
                "name": g["name"],
                "resource_state": 2,
                "distance": g["distance"],
                "retired": g.get("retired", False),
            }
            for i, g in enumerate(self.state.gear.values())
        ]
        return athlete

    def _list(self, query: dict[str, str]) -> tuple[int, Any]:
        try:
            after = int(query["after"]) if "after" in query else None
            before = int(query["before"]) if "before" in query else None
            page = int(query.get("page", 1))
            per_page = min(int(query.get("per_page", 30)), 200)
        except ValueError:
            return 400, _error("Bad Request", "Params", "after", "invalid")
        acts = []
        for act in self.state.activities.values():
            if not isinstance(act.get("start_date"), str):  # a broken record: listed anyway
                acts.append((0, act))
                continue
            epoch = int(
                datetime.fromisoformat(act["start_date"].replace("Z", "+00:00")).timestamp()
            )
            if after is not None and epoch <= after:
                continue
            if before is not None and epoch >= before:
                continue
            acts.append((epoch, act))
        acts.sort(key=lambda pair: (-pair[0], -pair[1]["id"]))  # newest first
        if after is not None and self.ascending_after:
            acts.reverse()
        start = 0 if self.ignore_page else (max(page, 1) - 1) * per_page
        return 200, [copy.deepcopy(a) for _, a in acts[start : start + per_page]]


def _error(message: str, resource: str, field_name: str, code: str) -> dict[str, Any]:
    """Strava's fault body: ``{"message": ..., "errors": [{"resource", "field", "code"}]}``."""
    return {
        "message": message,
        "errors": [{"resource": resource, "field": field_name, "code": code}],
    }
