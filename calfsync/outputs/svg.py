"""Small inline-SVG drawing helpers for the report page: no library, no script, no fetch.

Every chart is an ``<svg role="img">`` with an ``aria-label`` that says what it shows; colours
come from CSS classes (the page's stylesheet switches them for dark mode), so nothing here
names a colour. Every piece of text goes through :func:`esc`: activity and shoe names are the
runner's own data and may hold anything, ``<script>`` included.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable


def esc(text: object) -> str:
    """``text`` safe inside HTML or SVG text and inside a quoted attribute."""
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate with at most one decimal (short markup, no exponent)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about ``count`` steps of 1, 2 or 5 x 10^n)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    steps = math.ceil(top / step - 1e-9)
    return [k * step for k in range(steps + 1)]


def svg_open(width: float, height: float, label: str, css_class: str) -> str:
    """The opening tag of a chart that scales to its container's width."""
    return (
        f'<svg class="chart {css_class}" viewBox="0 0 {num(width)} {num(height)}" '
        f'role="img" aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">'
    )


def rect(x: float, y: float, w: float, h: float, css_class: str, title: str | None = None) -> str:
    """A rectangle, with a hover text (an SVG ``<title>``) when ``title`` is given."""
    attrs = f'x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" height="{num(max(h, 0))}"'
    if title is None:
        return f'<rect class="{css_class}" {attrs}/>'
    return f'<rect class="{css_class}" {attrs}><title>{esc(title)}</title></rect>'


def line(x1: float, y1: float, x2: float, y2: float, css_class: str) -> str:
    return (
        f'<line class="{css_class}" x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"/>'
    )


def text(x: float, y: float, words: str, css_class: str = "label", anchor: str = "middle") -> str:
    return (
        f'<text class="{css_class}" x="{num(x)}" y="{num(y)}" '
        f'text-anchor="{anchor}">{esc(words)}</text>'
    )


def polyline(points: Iterable[tuple[float, float]], css_class: str) -> str:
    coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    return f'<polyline class="{css_class}" points="{coords}"/>' if coords else ""


def circle(x: float, y: float, r: float, css_class: str, title: str, extra: str = "") -> str:
    """A dot with a hover text; ``extra`` adds attributes (already escaped by the caller)."""
    return (
        f'<circle class="{css_class}" cx="{num(x)}" cy="{num(y)}" r="{num(r)}"{extra}>'
        f"<title>{esc(title)}</title></circle>"
    )


class Frame:
    """A plot area inside a chart: maps a value to a y and a slot index to an x.

    ``left``/``right``/``top``/``bottom`` are the margins; ``slots`` the number of equal columns
    (weeks, runs, days) along x; ``top_value`` the value drawn at the top of the plot area.
    """

    def __init__(
        self,
        width: float,
        height: float,
        slots: int,
        top_value: float,
        margins: tuple[float, float, float, float] = (48, 48, 16, 30),
    ) -> None:
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = margins
        self.slots = max(slots, 1)
        self.top_value = top_value if top_value > 0 else 1.0

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def base(self) -> float:
        """The y of the value 0."""
        return self.height - self.bottom

    @property
    def slot(self) -> float:
        return self.plot_width / self.slots

    def x(self, index: float) -> float:
        """The left edge of slot ``index``."""
        return self.left + index * self.slot

    def y(self, value: float, top_value: float | None = None) -> float:
        scale = top_value if top_value else self.top_value
        return self.base - (self.base - self.top) * value / scale

    def grid(self, ticks: list[float], unit: str, side: str = "left") -> list[str]:
        """Horizontal grid lines at ``ticks`` (values in display units) with their labels, and
        ``unit`` one line above the top one (``dy`` in em: a phone draws the text larger)."""
        top_value = ticks[-1] if side == "right" else None
        x = self.left - 6 if side == "left" else self.width - self.right + 6
        anchor = "end" if side == "left" else "start"
        out = []
        for tick in ticks:
            y = self.y(tick, top_value)
            if side == "left":
                out.append(line(self.left, y, self.width - self.right, y, "grid"))
            out.append(text(x, y + 4, f"{tick:g}", "axis", anchor))
        if unit:
            y = self.y(ticks[-1], top_value) + 4
            out.append(text(x, y, unit, "axis", anchor).replace("<text ", '<text dy="-1.2em" ', 1))
        return out

    def x_labels(self, labels: list[str], most: int = 5) -> list[str]:
        """Every k-th given (non-empty) label under the plot, at most ``most`` of them (a
        phone is narrow)."""
        labelled = [(k, label) for k, label in enumerate(labels) if label]
        every = max(1, math.ceil(len(labelled) / most))
        return [
            text(self.x(k) + self.slot / 2, self.base + 18, label, "axis")
            for n, (k, label) in enumerate(labelled)
            if n % every == 0
        ]
