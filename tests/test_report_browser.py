"""The demo's report page in a real headless browser (Debian's chromium, driven over the
DevTools protocol on loopback): no console errors, a screenshot that is not blank, every alert
of the demo history marked on the chart, a phone-width page in dark mode that does not scroll
sideways, and a run named ``<script>alert(1)</script>`` shown as text, never run.

One browser for the module (about 1 s to start) and one demo history (about 3 s).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from calfsync.cli import cli

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)
websockets_client = pytest.importorskip("websockets.sync.client")
Image = pytest.importorskip("PIL.Image")

EVIL = "<script>alert(1)</script>"
# what the browser reports as a problem: console errors and warnings, uncaught exceptions,
# CSP violations and failed loads (Log), and any dialog a script would open
PROBLEMS = ("Runtime.exceptionThrown", "Page.javascriptDialogOpening")
# Generous: on a loaded 2-core machine chromium can take many seconds to start or answer.
START_S = 60.0
ANSWER_S = 60.0


class Browser:
    """A headless chromium and one page of it, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        args = [
            CHROMIUM or "chromium",
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",  # a container's /dev/shm is often too small
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "--window-size=1000,1400",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # chromium refuses to run as root with its sandbox
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._port(profile / "DevToolsActivePort")
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=ANSWER_S).json()
        url = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        self._stack = contextlib.ExitStack()
        self.socket = self._stack.enter_context(
            websockets_client.connect(url, max_size=None, open_timeout=ANSWER_S)
        )
        self.events: list[dict[str, Any]] = []
        self._id = 0
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def _port(self, marker: Path) -> int:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            # "PORT\n/devtools/browser/ID": read only once both lines are written
            lines = marker.read_text().split() if marker.exists() else []
            if len(lines) >= 2:
                return int(lines[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError(f"chromium did not open its DevTools port within {START_S:g} s")

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._id += 1
        self.socket.send(json.dumps({"id": self._id, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.socket.recv(timeout=ANSWER_S))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event."""
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.socket.recv(timeout=ANSWER_S)))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def problems(self) -> list[dict[str, Any]]:
        """Console errors and warnings, exceptions, CSP or load failures and dialogs."""
        self.call("Runtime.evaluate", {"expression": "1"})  # let pending events arrive
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method in PROBLEMS:
                found.append(event)
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                found.append(event)
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(event)
        return found

    def screenshot(self) -> Any:
        """The page as a decoded Pillow image (RGB)."""
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def close(self) -> None:
        self._stack.close()
        self.process.terminate()
        self.process.wait(timeout=ANSWER_S)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    """The demo's history with its latest run renamed to EVIL, a shoe and a soreness note
    holding markup, and the page ``calfsync report`` writes of it; with the alert ids."""
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(folder)])
    assert result.exit_code == 0, result.output
    assert str(folder / "report" / "index.html") in result.output  # the demo says where
    db_path = folder / "calfsync-demo.db"
    with sqlite3.connect(db_path) as db:
        db.execute(
            "UPDATE activities SET name = ? WHERE id = "
            "(SELECT id FROM runs ORDER BY start_time DESC LIMIT 1)",
            [EVIL],
        )
        db.execute("UPDATE gear SET name = ? WHERE id = 'm2'", [f"Flat {EVIL}"])
        db.execute(
            "INSERT INTO soreness(local_date, level, note) VALUES (date('now'), 3, ?)",
            [EVIL],
        )
        ids = [i for (i,) in db.execute("SELECT id FROM alerts ORDER BY id")]
    out = folder / "site"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "index.html", ids


def _not_blank(image: Any) -> tuple[int, float]:
    """(distinct colours, share of pixels unlike the top-left corner's background)."""
    small = image.resize((image.width // 4, image.height // 4))
    pixels = list(getattr(small, "get_flattened_data", small.getdata)())  # Pillow 13: renamed
    background = pixels[0]
    other = sum(
        1 for p in pixels if max(abs(a - b) for a, b in zip(p, background, strict=True)) > 24
    )
    return len(set(pixels)), other / len(pixels)


def test_the_demo_page_loads_clean_marks_every_alert_and_is_not_blank(
    browser: Browser, demo_page: tuple[Path, list[int]]
) -> None:
    page, alert_ids = demo_page
    browser.call("Emulation.setDeviceMetricsOverride", _viewport(1000, 1400, mobile=False))
    browser.open(page.as_uri())
    assert browser.problems() == []
    marks = browser.evaluate(
        "[...document.querySelectorAll('svg.weekly .alert-mark')]"
        ".map(m => [Number(m.getAttribute('data-alert')), m.querySelector('title').textContent])"
    )
    assert sorted(m[0] for m in marks) == alert_ids and len(alert_ids) >= 8
    assert all(title.strip() for _id, title in marks)  # each mark's hover text: its title
    assert browser.evaluate("document.querySelectorAll('script').length") == 0
    text = browser.evaluate("document.body.innerText")
    assert EVIL in text and f"Flat {EVIL}" in text  # shown as the text it is, not run
    assert browser.evaluate("document.querySelectorAll('svg[role=img][aria-label]').length") >= 2
    colours, drawn = _not_blank(browser.screenshot())
    assert colours >= 12 and drawn >= 0.03, (colours, drawn)


def test_on_a_phone_in_dark_mode_it_fits_the_width_and_turns_dark(
    browser: Browser, demo_page: tuple[Path, list[int]]
) -> None:
    page, _ids = demo_page
    browser.call("Emulation.setDeviceMetricsOverride", _viewport(390, 844, mobile=True))
    browser.call(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    try:
        browser.open(page.as_uri())
        assert browser.problems() == []
        widths = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the page scrolls sideways on a phone: {widths}"
        shot = browser.screenshot()
        r, g, b = shot.getpixel((2, 2))
        assert r + g + b < 150, "the background should be dark"
        colours, drawn = _not_blank(shot)
        assert colours >= 8 and drawn >= 0.03, (colours, drawn)
    finally:
        browser.call("Emulation.setEmulatedMedia", {"features": []})


def test_the_harness_sees_a_script_that_slipped_through(
    browser: Browser, demo_page: tuple[Path, list[int]], tmp_path: Path
) -> None:
    """The console check can fail: the same page with the run's name left unescaped makes
    the browser report the script its policy refused."""
    page, _ids = demo_page
    bad = tmp_path / "bad.html"
    bad.write_text(page.read_text().replace("&lt;script&gt;alert(1)&lt;/script&gt;", EVIL, 1))
    browser.open(bad.as_uri())
    problems = browser.problems()
    assert problems and "Content Security Policy" in json.dumps(problems)


def _viewport(width: int, height: int, *, mobile: bool) -> dict[str, Any]:
    return {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
