"""The weekly-distance chart a push carries: a small PNG drawn with Pillow.

Ten 7-day totals as bars, the newest (the week the push is about) highlighted, with two
labelled lines: the **reference** a rule compares the week against and the **threshold** past
which it fires. Drawn for a phone: 600 x 340 pixels, large type, few colours, saved as an
optimized palette PNG (about 10 KB; :data:`MAX_BYTES` is the promise).

Pure: data in (:class:`WeekBars`), bytes out. What the bars hold is read from the database by
:mod:`calfsync.notify.attachments`. Pillow is imported only when a chart is drawn (about 7 ms
to import ``PIL.Image``, ``ImageDraw`` and ``ImageFont`` on a laptop, 30 ms cold), so the daemon
and the CLI start without it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 600, 340
MAX_BYTES = 50 * 1024
PALETTE_COLOURS = 16
BACKGROUND = (255, 255, 255)
BAR = (148, 163, 184)  # slate: the weeks before
HIGHLIGHT = (234, 88, 12)  # orange: the week the push is about
REFERENCE = (37, 99, 235)  # blue
THRESHOLD = (220, 38, 38)  # red
INK = (30, 41, 59)
FAINT = (100, 116, 139)
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 14, 14, 56, 34


@dataclass(frozen=True)
class WeekBars:
    """What one chart shows. ``starts`` holds the first day of each 7-day window, oldest
    first, ``km`` its running distance; the last window is highlighted. A line is left out
    when its value is None."""

    title: str
    starts: list[date]
    km: list[float]
    reference_km: float | None = None
    reference_label: str = "reference"
    threshold_km: float | None = None
    threshold_label: str = "threshold"


def draw_png(chart: WeekBars) -> bytes:
    """The chart as PNG bytes (palette mode, optimized, under :data:`MAX_BYTES`)."""
    from PIL import Image, ImageDraw  # about 7 ms warm: only when a chart is drawn

    if not chart.km or len(chart.km) != len(chart.starts):
        raise ValueError("a chart needs one distance per week")
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small, large = _font(19), _font(23)
    draw.text((MARGIN_L, 10), chart.title, fill=INK, font=large)
    top, bottom = MARGIN_T + 40, HEIGHT - MARGIN_B
    lines = [v for v in (chart.reference_km, chart.threshold_km) if v is not None]
    scale_km = max([10.0, *chart.km, *lines]) * 1.12

    def y_of(km: float) -> float:
        return bottom - (bottom - top) * km / scale_km

    slot = (WIDTH - MARGIN_L - MARGIN_R) / len(chart.km)
    last = len(chart.km) - 1
    numbers = []  # drawn after the lines, so a line never runs through a bar's number
    for i, (start, km) in enumerate(zip(chart.starts, chart.km, strict=True)):
        x0 = MARGIN_L + i * slot + slot * 0.14
        x1 = MARGIN_L + (i + 1) * slot - slot * 0.14
        colour = HIGHLIGHT if i == last else BAR
        if km > 0:
            draw.rectangle((x0, y_of(km), x1, bottom), fill=colour)
        numbers.append(((x0 + x1) / 2, y_of(km) - 22, f"{km:.0f}"))
        if (last - i) % 2 == 0:
            _centred(draw, (x0 + x1) / 2, bottom + 6, f"{start.day} {start:%b}", small, FAINT)
    draw.line((MARGIN_L, bottom, WIDTH - MARGIN_R, bottom), fill=FAINT, width=2)
    x = float(MARGIN_L)
    for km, label, colour in (
        (chart.reference_km, chart.reference_label, REFERENCE),
        (chart.threshold_km, chart.threshold_label, THRESHOLD),
    ):
        if km is None:
            continue
        _dashed(draw, MARGIN_L, WIDTH - MARGIN_R, y_of(km), colour)
        # The legend, under the title: a dash of the line's colour, then its words.
        _dashed(draw, x, x + 24, MARGIN_T - 2, colour)
        text = f"{label} {km:.0f} km"
        draw.text((x + 30, MARGIN_T - 13), text, fill=colour, font=small)
        x += 30 + draw.textlength(text, font=small) + 22
    for x_mid, y, number in numbers:  # a halo of background around each digit
        _centred(draw, x_mid, y, number, small, INK, halo=3)
    return _png(image)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's own scalable font (bundled since 10.1, needs no font files on the system)."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _centred(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    text: str,
    font: object,
    fill: tuple,
    halo: int = 0,
) -> None:
    width = draw.textlength(text, font=font)  # type: ignore[arg-type]
    draw.text(
        (x - width / 2, y),
        text,
        fill=fill,
        font=font,  # type: ignore[arg-type]
        stroke_width=halo,
        stroke_fill=BACKGROUND,
    )


def _dashed(draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, colour: tuple) -> None:
    x = x0
    while x < x1:
        draw.line((x, y, min(x + 12, x1), y), fill=colour, width=3)
        x += 20


def _png(image: object) -> bytes:
    """Few colours (flat bars, anti-aliased text), so a 16-colour palette keeps it crisp and
    the file small."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    paletted = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    paletted.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_BYTES:  # cannot happen at this size and palette; never send a big one
        raise ValueError(f"chart PNG is {len(data)} bytes, over {MAX_BYTES}")
    return data
