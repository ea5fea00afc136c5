"""The weekly chart in the push (issue 13 item 2): drawn with Pillow, decoded here, and received
by the loopback ntfy, Pushover, Telegram and Apprise stand-ins; a server refusing attachments
still gets the text; Gotify, webhooks and ``charts = false`` stay text."""

from __future__ import annotations

import base64
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.base import FakeService
from fakes.ntfy import FakeNtfy
from fakes.pushover import FakePushover
from fakes.telegram import FakeTelegram
from notify_support import NOW, add_weeks, alert_and_enqueue, make_config
from PIL import Image

from calfsync.notify import attachments, ntfy, outbox
from calfsync.outputs.chart import HIGHLIGHT, MAX_BYTES, REFERENCE, WeekBars, draw_png
from calfsync.store.db import open_db

TG_TOKEN = "123456:ABC-telegram-chart-token"
WEEKS_KM = [30.0] * 9  # nine weeks of 30 km before the week the alert is about


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = open_db(tmp_path / "calfsync.db")
    add_weeks(database, NOW, WEEKS_KM)
    return database


@pytest.fixture(autouse=True)
def _forget_refusals() -> None:
    ntfy._refused_at.clear()


def decoded(data: bytes, blank_ok: bool = False) -> Image.Image:
    """The PNG, checked: a real image of the chart's size, small, not blank."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < MAX_BYTES
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.size == (600, 340) and image.mode == "P"
    colours = image.convert("RGB").getcolors(maxcolors=256) or []
    drawn = sum(n for n, rgb in colours if rgb != (255, 255, 255))
    assert len(colours) >= 4 and (blank_ok or drawn > 600 * 340 * 0.05)  # bars, lines, words
    return image


def near(rgb: tuple[int, int, int], want: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(rgb, want, strict=True))


def test_the_last_week_is_the_highlighted_bar_and_both_lines_are_drawn() -> None:
    starts = [date(2026, 4, 6) + timedelta(weeks=i) for i in range(10)]
    chart = WeekBars("Running km", starts, [30.0] * 9 + [45.0], 30.0, "before", 36.0, "W1")
    image = decoded(draw_png(chart)).convert("RGB")
    orange_x = {
        x for x in range(600) for y in range(100, 300, 8) if near(image.getpixel((x, y)), HIGHLIGHT)
    }
    assert orange_x and min(orange_x) > 525  # only the last of ten bars (x 529-586)
    empty = decoded(draw_png(WeekBars("Running km", starts, [0.0] * 10)), blank_ok=True)
    assert empty.size == (600, 340)  # no run and no line is still a chart
    with pytest.raises(ValueError, match="one distance per week"):
        draw_png(WeekBars("x", starts, [1.0]))


def test_a_line_never_runs_through_a_bars_number() -> None:
    """Weeks of 30 km against a reference of 32: the dashed line crosses each bar's "30"; the
    digits keep a halo of background, so the line stops short of them."""
    starts = [date(2026, 4, 6) + timedelta(weeks=i) for i in range(10)]
    chart = WeekBars("t", starts, [30.0] * 10, 32.0, "before")
    image = decoded(draw_png(chart)).convert("RGB")
    line = [
        y
        for y in range(80, 300)  # below the legend
        if sum(near(image.getpixel((x, y)), REFERENCE) for x in range(100, 590)) > 100
    ]
    assert line  # the reference line is there, at the height of the numbers
    first_number = range(30, 56)  # the first bar's "30", centred at x = 42.6
    assert not [
        (x, y) for y in line for x in first_number if near(image.getpixel((x, y)), REFERENCE)
    ]


def test_bars_are_seven_day_totals_with_w1_reference_and_threshold(db: Any) -> None:
    cfg = make_config([])
    bars = attachments.week_bars(db, cfg, NOW.date() - timedelta(days=1), "t")
    assert bars.km == [0.0] + [30.0] * 9  # ten windows, the oldest before the history
    assert bars.starts[-1] == NOW.date() - timedelta(days=7)
    assert bars.reference_km == 30.0
    assert bars.threshold_km == 36.0  # max(30 x 1.2, 30 + 5): W1's default threshold
    # named as what it is: a week past it may still not fire W1 (a new high over the weeks
    # before, no unconfirmed suspect run), so the chart must not say "W1 fires above"
    assert (bars.reference_label, bars.threshold_label) == ("7 days before", "W1 threshold")


def ntfy_config(fake: FakeNtfy, **notify: Any) -> Any:
    chan = {"type": "ntfy", "name": "phone", "url": fake.url, "topic": "calf", "token": "tk_1"}
    return make_config([chan], **notify)


def test_ntfy_gets_the_png_with_every_field_of_the_text_push(db: Any) -> None:
    with FakeNtfy(token="tk_1") as fake:
        cfg = ntfy_config(fake, reply_topic="calf-replies")
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large", title="Run 110% longer …")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        (req,) = fake.requests
        assert req.method == "PUT" and req.path == "/calf" and req.header("filename")
        (push,) = fake.pushes("calf")
        decoded(fake.files[push["id"]])
        assert push["attachment"]["type"] == "image/png"
        assert push["title"] == "Run 110% longer …"  # non-ASCII through RFC 2047
        assert push["message"].startswith("S1 fired on 2026-06-10") and "\n" not in push["title"]
        assert push["priority"] == 4 and "S1" in push["tags"]
        assert push["sequence_id"] == ntfy.sequence_id("S1:r1")
        assert [a["label"] for a in push["actions"]] == ["Calf sore", "Calf fine"]


def test_multiline_and_unicode_text_survives_the_headers(db: Any) -> None:
    with FakeNtfy() as fake:
        cfg = ntfy_config(fake, daily_cap=0)
        for key, body in (("S1:r1", "a ≥ b\n\nnext"), ("S1:r2", "plain\nASCII")):
            alert_and_enqueue(db, cfg, "S1", key, severity="large")
            db.execute("UPDATE alerts SET body = ? WHERE episode_key = ?", [body, key])
        outbox.deliver_due(db, cfg, NOW)
        assert [p["message"] for p in fake.pushes("calf")] == ["a ≥ b\n\nnext", "plain\nASCII"]
        assert fake.requests[0].header("x-message").startswith("=?UTF-8?B?")  # RFC 2047
        assert fake.requests[1].header("x-message") == "plain\\nASCII"  # ntfy's line break


@pytest.mark.parametrize("refusal", ["not allowed", "too large"])
def test_a_server_refusing_attachments_still_gets_the_text_once(db: Any, refusal: str) -> None:
    kw = {"attachments": False} if refusal == "not allowed" else {"attachment_limit": 1000}
    with FakeNtfy(**kw) as fake:
        cfg = ntfy_config(fake, daily_cap=0)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large")
        report = outbox.deliver_due(db, cfg, NOW)
        assert report.sent == 1 and report.dead == 0
        (push,) = fake.pushes("calf")  # one push, as text
        assert "attachment" not in push and push["title"].startswith("S1 large")
        alert_and_enqueue(db, cfg, "S1", "S1:r2", severity="large")
        outbox.deliver_due(db, cfg, NOW)
        assert len(fake.refused) == 1  # the second push is not offered the image again
        assert [r.method for r in fake.requests] == ["POST", "POST"]


def test_pushover_gets_the_png_as_its_attachment_part(db: Any) -> None:
    with FakePushover("apptoken1", "userkey1") as fake:
        chan = {"type": "pushover", "name": "p", "url": fake.url}
        cfg = make_config([{**chan, "token": "apptoken1", "user": "userkey1"}])
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        (msg,) = fake.messages
        filename, kind, data = msg["attachment"]
        assert kind == "image/png" and filename.endswith(".png") and msg["priority"] == "1"
        decoded(data)


def telegram_config(fake: FakeTelegram) -> Any:
    chan = {"type": "telegram", "name": "t", "token": TG_TOKEN, "chat_id": "77", "url": fake.url}
    return make_config([chan])


def test_telegram_sends_a_photo_with_the_text_as_caption(db: Any) -> None:
    with FakeTelegram(TG_TOKEN, {"77"}) as fake:
        cfg = telegram_config(fake)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        assert fake.requests[0].path.endswith("/sendPhoto")
        (msg,) = fake.messages
        assert msg["caption"].startswith("S1 large") and msg["disable_notification"] == "false"
        decoded(msg["photo"])


def test_telegram_text_too_long_for_a_caption_goes_as_one_message(db: Any) -> None:
    with FakeTelegram(TG_TOKEN, {"77"}) as fake:
        cfg = telegram_config(fake)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large", strava_id=42)
        db.execute("UPDATE alerts SET body = ? WHERE episode_key = 'S1:r1'", ["x" * 990])
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        assert [r.path.rsplit("/", 1)[1] for r in fake.requests] == ["sendMessage"]
        text = fake.messages[0]["text"]
        assert len(text) > 1024 and "x" * 900 in text  # the whole text, no photo


class _JsonReceiver(FakeService):
    """Where Apprise's ``json://`` plugin posts (attachments inline, in base64)."""

    def handle(self, req: Any) -> tuple[int, dict[str, str], bytes]:
        self.record(req)
        return 200, {"Content-Type": "application/json"}, b"{}"

    def error(self, status: int) -> tuple[int, dict[str, str], bytes]:
        return status, {}, b""


def test_apprise_hands_the_png_to_services_that_take_files(db: Any) -> None:
    with _JsonReceiver() as fake:
        cfg = make_config([{"type": "apprise", "name": "a", "urls": [f"json://{fake.url[7:]}/in"]}])
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large")
        assert outbox.deliver_due(db, cfg, NOW).sent == 1
        (attached,) = fake.requests[0].json()["attachments"]
        assert attached["mimetype"] == "image/png"
        decoded(base64.b64decode(attached["base64"]))


def test_charts_off_and_text_channels_send_no_image(db: Any) -> None:
    with FakeNtfy() as fake:
        cfg = ntfy_config(fake, charts=False)
        alert_and_enqueue(db, cfg, "S1", "S1:r1", severity="large")
        outbox.deliver_due(db, cfg, NOW)
        assert fake.requests[0].method == "POST" and "attachment" not in fake.pushes()[0]
    message = attachments.dress(
        db,
        make_config([]),
        {"type": "gotify"},
        [{"rule": "S1", "local_date": "2026-06-10"}],
        outbox.policy.compose([_alert_row()], {"type": "gotify"}, dedupe_key="k", created_at=NOW),
        NOW,
    )
    assert message.attachment is None


def _alert_row(**kw: Any) -> dict[str, Any]:
    return {
        "rule": "S1",
        "severity": "large",
        "title": "t",
        "body": "b",
        "episode_key": "S1:x",
        "local_date": "2026-06-10",
        "values": "{}",
        **kw,
    }


def test_the_digest_chart_ends_on_the_sunday_of_the_week_it_reports(db: Any) -> None:
    digest = _alert_row(rule="DIGEST", values='{"week_start": "2026-06-01"}')
    message = outbox.policy.compose([digest], {}, dedupe_key="k", created_at=NOW)
    cfg = make_config([])
    attached = attachments.chart_for(db, cfg, [digest], message)
    assert attached is not None and attached.filename.endswith(".png")
    bars = attachments.week_bars(db, cfg, date(2026, 6, 7), "")
    assert bars.starts[-1] == date(2026, 6, 1)  # the calendar week, Monday to Sunday
    notice = _alert_row(rule="STRAVA")
    assert attachments.chart_for(db, cfg, [notice], message) is None  # notices: no chart
