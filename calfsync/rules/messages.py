"""Title and body of an alert, as a runner reads it on a phone.

Every body says: the run (date and name), the numbers that fired the rule with units and the
window, the guide's trigger it matches, what to do next, whether the threshold rests on evidence
or is a convention, and that this is not medical advice. Bodies stay under 1,000 characters.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from . import Finding

MAX_BODY_CHARS = 1000

# Highest priority first (RULES.md): the title of a day's combined push comes from the first.
PRIORITY: tuple[tuple[str, str | None], ...] = (
    ("P1", None),
    ("RET1", "long"),
    ("S1", "large"),
    ("S1", "moderate"),
    ("H1", None),
    ("H2", None),
    ("G2", None),
    ("RET1", None),
    ("W1", None),
    ("I1", None),
    ("G1", None),
    ("S1", None),
    ("SW1", None),
    ("A1", None),
    ("WU", None),
)

CARE = (
    "If the calf is sore: cut volume while it lasts, ice 10-15 min 3-4 times a day, "
    "massage (not in the first 2 hours) or foam rolling."
)
DISCLAIMER = (
    "Not medical advice. Pain that lasts more than a week with rest: see a sports physiotherapist."
)


def priority(rule: str, severity: str | None) -> int:
    """Rank of an alert for a day's combined push: 0 is the most urgent, unknown rules last.

    H1 and H2 share one rank (RULES.md lists them as "H1/H2").
    """
    rule = "H1" if rule == "H2" else rule
    for k, (pr_rule, pr_sev) in enumerate(PRIORITY):
        if pr_rule == rule and (pr_sev is None or pr_sev == severity):
            return k
    return len(PRIORITY)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pct(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:+.0f}%"


def _km(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} km"


def _run_line(f: Finding) -> str:
    day = date.fromisoformat(f.local_date)
    label = f"{day:%a} {f.local_date}"
    if f.activity_id is None:
        return f"Day: {label}"
    name = _short(f.run_name or "untitled run", 80)
    return f"Run: {label}, {name}"


def _s1(v: dict[str, Any], sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Run {v['ratio'] * 100:.0f}% longer than your recent longest ({sev} rise)",
        f"{_km(v['distance_km'])} against your longest of {_km(v['longest_km'])} in the "
        f"{v['window_days']} days before (+{v['increase_km']:.1f} km). Fires above "
        f"{_pct(v['threshold'])} and {v['min_increase_km']:g} km more.",
        "a rapid rise in mileage",
        f"keep the next runs easy and no longer than {_km(v['longest_km'])}",
        "evidence-based: Frandsen 2025 (5,205 runners) linked rises past 10% to more injuries.",
    )


def _w1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Weekly distance up {v['ratio'] * 100:.0f}%",
        f"{_km(v['week_km'])} over {v['window_start']} to {v['window_end']} against "
        f"{_km(v['previous_week_km'])} the 7 days before (+{v['increase_km']:.1f} km). Fires "
        f"above {_pct(v['threshold'])} and {v['min_increase_km']:g} km more.",
        "a rise of more than 20% in a week",
        f"hold next week near {_km(v['previous_week_km'])} and keep the runs easy",
        "the guide's figure, a convention: evidence for a weekly limit is weak (Buist 2008, "
        "Nielsen 2014, Damsted 2019).",
    )


def _ret1(v: dict[str, Any], sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Back after {v['gap_days']} days off",
        f"{v['gap_days']} days since your previous run on {v['previous_run_date']} (fires from "
        f"{v['threshold_days']} days; long from {v['long_threshold_days']}). "
        f"Today: {_km(v['distance_km'])}.",
        "returning after a long layoff",
        "build back over 2-3 weeks: short easy runs, no hills or intervals"
        + (" - after this long, start shorter than before the break" if sev == "long" else ""),
        "convention; tendons stiffen within two weeks of rest (de Boer 2007).",
    )


def _h1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    base = f"{v['base_climb_m']} m a week on average over {v['base_start']} to {v['base_end']}"
    rule = (
        f"Fires from {v.get('low_base_trigger_m', 300):g} m when the usual week climbs under "
        f"{v.get('low_base_m', 50):g} m."
        if v.get("low_base")
        else f"Fires at {v['threshold_ratio']:g}x, {v['min_increase_m']:g} m more and "
        f"{v['min_climb_per_km']:g} m/km."
    )
    return (
        f"Much more climbing this week ({v['week_climb_m']} m)",
        f"{v['week_climb_m']} m of climb over {v['window_start']} to {v['window_end']} "
        f"({v['density_m_per_km']} m/km) against {base}. {rule}",
        "more hill running",
        f"keep next week's climb near {v['base_climb_m']} m and run the hills easy",
        "convention; uphill running loads the calf and Achilles more (Vernillo 2017).",
    )


def _h2(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Hilliest run in a month ({v['climb_m']} m)",
        f"{v['climb_m']} m of climb against your biggest of {v['biggest_climb_m']} m in the "
        f"{v['window_days']} days before. Fires above {v['threshold_ratio']:g}x and from "
        f"{v['min_climb_m']:g} m.",
        "more hill running",
        "keep the next runs flat and easy",
        "convention, by analogy with the long-run rule.",
    )


def _g1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"First run in new shoes ({v['shoe']})",
        f"{v['shoe']} had {_km(v['shoe_km_before'])} on it before this run (new means at most "
        f"{v['max_prior_km']:g} km).",
        "a change of shoes",
        "mix them in with your old pair for short easy runs for a couple of weeks",
        f"convention: the guide names new shoes; the {v['max_prior_km']:g} km line is ours.",
    )


def _g2(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    if v.get("drop_mm") is not None and v.get("reference_drop_mm") is not None:
        numbers = (
            f"{v['shoe']} has a {v['drop_mm']:g} mm drop against {v['reference_drop_mm']:g} mm "
            f"for your shoes of the last {v['window_days']} days (distance-weighted; fires at "
            f"{v['min_drop_decrease_mm']:g} mm lower)."
        )
    else:
        numbers = (
            f"{v['shoe']} is minimalist; none of your shoes of the last {v['window_days']} "
            "days was."
        )
    return (
        f"Lower-drop shoes ({v['shoe']})",
        numbers,
        "a change of shoes",
        "use them for short easy runs at first; a lower drop loads the calf more",
        "direction from Malisoux 2016 (low drop, regular runners); threshold convention.",
    )


def _i1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    if v["reason"] == "longer":
        numbers = (
            f"{v['hard_min']:g} min of hard running against at most {v['reference_hard_min']:g} "
            f"min in the {v['window_days']} days before (fires above {v['threshold_ratio']:g}x)."
        )
    else:
        mins = f" ({v['hard_min']:g} min hard)" if v.get("hard_min") else ""
        numbers = f"The first hard session in {v['quiet_days']} days{mins}."
    return (
        "Harder interval session",
        f"{numbers} Hard because: {v['hard_because']}.",
        "a harder interval session on the track",
        "make the next two days easy or rest",
        "a convention, not a research finding.",
    )


def _p1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Calf sore for {v['span_days']} days",
        f"Soreness reported from {v['first_report']} to {v['last_report']} with no pain-free "
        f"day logged between (latest level {v['level']}/10; fires after {v['threshold_days']} "
        "days).",
        "pain lasting more than a week",
        "rest from running and book a sports physiotherapist; when you run again, keep the runs "
        "easy and short",
        "the guide's advice; injury definitions also use 7 days or more (Yamato 2015).",
    )


def _sw1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Shoes past {v['retire_km']:g} km ({v['shoe']})",
        f"{v['shoe']} now has {_km(v['shoe_km'])} (retirement distance {_km(v['retire_km'])}).",
        "a change of shoes (worn pair)",
        "keep the next runs easy; plan a new pair and bring it in gradually beside this one",
        "a convention, not a research finding.",
    )


def _a1(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        f"Load spike (ACWR {v['acwr']:g})",
        f"{_km(v['week_km'])} in the last 7 days against {_km(v['chronic_week_km'])} a week "
        f"over the 3 weeks before (ratio {v['acwr']:g}, fires from {v['threshold']:g}).",
        "a period of increased training",
        f"keep the next runs easy and next week no longer than {_km(v['chronic_week_km'])}",
        "contested evidence (Impellizzeri 2020); not predictive in runners (Frandsen 2025).",
    )


def _wu(v: dict[str, Any], _sev: str) -> tuple[str, str, str, str, str]:
    return (
        "Hard start without a warm-up",
        f"First {v['warmup_minutes']:g} min at {v['opening_min_per_km']:.2f} min/km against a "
        f"hard pace of {v['hard_min_per_km']:.2f} min/km, with no warm-up lap.",
        "a missing warm-up",
        "start the next hard session with 10-15 min of easy running",
        "a convention with low confidence, not a research finding.",
    )


BUILDERS = {
    "S1": _s1,
    "W1": _w1,
    "RET1": _ret1,
    "H1": _h1,
    "H2": _h2,
    "G1": _g1,
    "G2": _g2,
    "I1": _i1,
    "P1": _p1,
    "SW1": _sw1,
    "A1": _a1,
    "WU": _wu,
}


def render(f: Finding) -> tuple[str, str]:
    """(title, body) of an alert; the body is under :data:`MAX_BODY_CHARS` characters."""
    values = dict(f.values)
    if isinstance(values.get("shoe"), str):
        values["shoe"] = _short(values["shoe"], 40)
    headline, numbers, trigger, next_step, basis = BUILDERS[f.rule](values, f.severity)
    title = f"{f.rule}: {headline}"
    body = "\n".join(
        [
            _run_line(f),
            numbers,
            f"Guide trigger: {trigger}.",
            f"Next: {next_step}; more rest if the calf hurts. {CARE}",
            f"Basis: {basis}",
            DISCLAIMER,
        ]
    )
    if len(body) >= MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 2] + "…"
    return title, body
