"""The report page's four charts, as inline SVG strings drawn from :class:`ReportData`.

Each chart says in its ``aria-label`` what a glance at it tells; the page puts the numbers
behind it in a table beside it. Alert marks carry the class ``alert-mark`` and the alert's id
(``data-alert``), one per alert, so a reader (or a test) can count them against the alerts table.
"""

from __future__ import annotations

from datetime import date, timedelta

from .report_data import AlertRow, ReportData, RunPoint, ShoeRow, SoreRow, Week
from .svg import Frame, circle, esc, line, nice_ticks, polyline, rect, svg_open

WIDTH = 640.0
MARK_STEP = 13.0  # vertical spacing of stacked alert marks on one week


def km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


def alert_label(alert: AlertRow) -> str:
    """One line naming an alert: its day, rule and title (the title already starts with the
    rule for rule alerts: ``S1: Run 38% longer ...``)."""
    title = (
        alert.title if alert.title.startswith(f"{alert.rule}:") else f"{alert.rule}: {alert.title}"
    )
    return f"{alert.local_date} {title}"


def week_label(week: Week) -> str:
    if week.runs == 0:
        return f"Week of {week.start.isoformat()}: no runs"
    climb = "climb unknown" if week.ascent_m is None else f"{week.ascent_m:.0f} m climb"
    return f"Week of {week.start.isoformat()}: {km(week.distance_m)}, {climb}, {week.runs} run(s)"


def weekly_chart(data: ReportData) -> str:
    """Weekly distance (bars, left axis) and climb (line, right axis), each alert a dot above
    its week's bar."""
    weeks = data.weeks
    stacked = max((len(w.alerts) for w in weeks), default=0)
    km_ticks = nice_ticks(max(w.distance_m for w in weeks) / 1000)
    climb_ticks = nice_ticks(max((w.ascent_m or 0.0) for w in weeks))
    top = 34 + MARK_STEP * stacked
    frame = Frame(WIDTH, 300 + MARK_STEP * stacked, len(weeks), km_ticks[-1], (48, 48, top, 30))
    alerts = sum(len(w.alerts) for w in weeks)
    busiest = max(weeks, key=lambda w: w.distance_m)
    label = (
        f"Weekly distance and climb over the {len(weeks)} weeks from "
        f"{data.first_day.isoformat()} to {data.last_day.isoformat()}: "
        + (
            f"the longest week {km(busiest.distance_m)} (week of {busiest.start.isoformat()}), "
            f"this week {km(weeks[-1].distance_m)}"
            if busiest.distance_m > 0
            else "no runs"
        )
        + f"; {alerts} alert(s) marked on their weeks."
    )
    parts = [svg_open(WIDTH, frame.height, label, "weekly")]
    parts += frame.grid(km_ticks, "km")
    parts += frame.grid(climb_ticks, "m", side="right")
    bar = frame.slot * 0.7
    for k, week in enumerate(weeks):
        x = frame.x(k) + (frame.slot - bar) / 2
        y = frame.y(week.distance_m / 1000)
        css = "bar this" if k == len(weeks) - 1 else "bar"
        parts.append(rect(x, y, bar, frame.base - y, css, week_label(week)))
        for n, alert in enumerate(week.alerts):
            parts.append(
                circle(
                    frame.x(k) + frame.slot / 2,
                    top - 8 - n * MARK_STEP,
                    5,
                    f"alert-mark sev-{esc(alert.severity)}",
                    alert_label(alert),
                    f' data-alert="{alert.id}"',
                )
            )
    lines = climb_lines(weeks, frame, climb_ticks[-1])
    parts += [polyline(points, "climb") for points in lines]
    parts += [circle(x, y, 2.5, "climb-dot", "") for x, y in lines[-1][-1:]] if lines else []
    parts += frame.x_labels([w.start.strftime("%d %b") for w in weeks])
    parts.append("</svg>")
    return "".join(parts)


def climb_lines(weeks: list[Week], frame: Frame, top_m: float) -> list[list[tuple[float, float]]]:
    """The climb line's points, one line per stretch of weeks whose climb is known, from the
    first week with runs: a later week without runs climbed 0 m (the line drops to 0 rather
    than bridging it), a week whose runs carry no elevation (a treadmill) breaks the line."""
    lines: list[list[tuple[float, float]]] = [[]]
    first = next((k for k, week in enumerate(weeks) if week.runs), len(weeks))
    for k, week in enumerate(weeks[first:], start=first):
        climb = 0.0 if week.runs == 0 else week.ascent_m
        if climb is None:
            lines.append([])
            continue
        lines[-1].append((frame.x(k) + frame.slot / 2, frame.y(climb, top_m)))
    return [points for points in lines if points]


def run_label(run: RunPoint, lookback_days: int) -> str:
    name = f" {run.name}" if run.name else ""
    if run.longest_m <= 0:
        return (
            f"{run.local_date}{name}: {km(run.distance_m)}; no run of 1 km or more in the "
            f"{lookback_days} days before"
        )
    rise = run.distance_m / run.longest_m - 1
    note = "" if run.judged else " (history before it unknown: S1 did not judge it)"
    return (
        f"{run.local_date}{name}: {km(run.distance_m)} against the longest of the "
        f"{lookback_days} days before, {km(run.longest_m)} ({rise * 100:+.0f}%){note}"
    )


def runs_chart(data: ReportData) -> str:
    """Each run (a bar) against the longest run of the days before it (a tick), the bar
    highlighted when it passes S1's threshold."""
    runs = data.runs
    if not runs:
        return ""
    ticks = nice_ticks(
        max(max(r.distance_m, r.longest_m * (1 + data.threshold)) for r in runs) / 1000
    )
    frame = Frame(WIDTH, 280, len(runs), ticks[-1], (64, 16, 36, 30))
    over = [r for r in runs if is_over(r, data.threshold)]
    label = (
        f"Each of the {len(runs)} runs of these weeks against the longest run of the "
        f"{data.lookback_days} days before it: {len(over)} went more than "
        f"{data.threshold * 100:.0f}% past it."
    )
    parts = [svg_open(WIDTH, frame.height, label, "runs")]
    parts += frame.grid(ticks, "km")
    bar = max(frame.slot * 0.7, 0.6)
    for k, run in enumerate(runs):
        x = frame.x(k) + (frame.slot - bar) / 2
        y = frame.y(run.distance_m / 1000)
        css = "bar over" if run in over else "bar"
        parts.append(rect(x, y, bar, frame.base - y, css, run_label(run, data.lookback_days)))
        if run.longest_m > 0:
            ref = frame.y(run.longest_m / 1000)
            parts.append(line(frame.x(k), ref, frame.x(k + 1), ref, "ref"))
    parts += frame.x_labels([_short(r.local_date) for r in runs])
    parts.append("</svg>")
    return "".join(parts)


def is_over(run: RunPoint, threshold: float) -> bool:
    """Past S1's threshold over its reference (S1 also needs 1 km more and known history)."""
    return run.longest_m > 0 and run.distance_m > run.longest_m * (1 + threshold)


def _short(local_date: str) -> str:
    return date.fromisoformat(local_date).strftime("%d %b")


def shoes_bars(shoes: list[ShoeRow]) -> str:
    """Each shoe's distance as a bar in a track as long as its retirement distance: HTML and
    CSS rather than SVG, so the names wrap and stay legible on a phone; the words beside each
    bar are its text alternative."""
    rows = []
    for shoe in shoes:
        share = shoe.distance_m / shoe.retire_at_m if shoe.retire_at_m > 0 else 1.0
        state = " (retired)" if shoe.retired else ""
        past = shoe.distance_m - shoe.retire_at_m
        words = (
            f"{km(shoe.distance_m)} of {shoe.retire_at_m / 1000:.0f} km, {share * 100:.0f}%"
            + (f": {km(past)} past its retirement distance" if past >= 0 else "")
            + f"; {shoe.runs} run(s)"
            + (f", last {shoe.last_run}" if shoe.last_run else "")
        )
        css = "fill worn" if past >= 0 else "fill"
        if shoe.retired:
            css += " retired"
        rows.append(
            f'<div class="shoe"><div><strong>{esc(shoe.name)}</strong>{state}: {esc(words)}'
            f'</div><div class="track" aria-hidden="true"><div class="{css}" '
            f'style="width:{min(share, 1.0) * 100:.1f}%"></div></div></div>'
        )
    return "".join(rows)


def soreness_chart(data: ReportData) -> str:
    """Each soreness report as a dot at its day and level (0-10), over the shown weeks."""
    if not data.soreness:
        return ""
    days = (data.last_day - data.first_day).days + 1
    frame = Frame(WIDTH, 150, days, 10, (40, 16, 14, 30))
    worst = max(data.soreness, key=lambda s: s.level)
    label = (
        f"{len(data.soreness)} soreness report(s) over these weeks (0 none to 10); the worst "
        f"{worst.level} on {worst.local_date}."
    )
    parts = [svg_open(WIDTH, frame.height, label, "soreness")]
    parts += frame.grid([0, 5, 10], "")
    for report in data.soreness:
        k = (date.fromisoformat(report.local_date) - data.first_day).days
        parts.append(
            circle(
                frame.x(k) + frame.slot / 2,
                frame.y(report.level),
                6,
                _sore_class(report),
                f"{report.local_date}: {report.level}/10",
            )
        )
    labels = [
        (data.first_day + timedelta(days=k)).strftime("%d %b") if k % 7 == 0 else ""
        for k in range(days)
    ]
    parts += frame.x_labels(labels)
    parts.append("</svg>")
    return "".join(parts)


def _sore_class(report: SoreRow) -> str:
    return "sore high" if report.level >= 4 else "sore"
