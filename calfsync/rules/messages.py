"""Title and body of an alert, as a runner reads it on a phone: the parts every rule shares.

Every body says: the run (date and name), the numbers that fired the rule with units and the
window, the guide's trigger it matches, what to do next, whether the threshold rests on evidence
or is a convention, and that this is not medical advice. Bodies stay under 1,000 characters.
Each rule's own words (its :class:`~calfsync.rules.Text`) come from the builder declared beside
it in its family module; :func:`calfsync.rules.registry.render` finds it by rule id.
"""

from __future__ import annotations

from datetime import date

from . import Finding, Rule

MAX_BODY_CHARS = 1000

CARE = (
    "If the calf is sore: cut volume while it lasts, ice 10-15 min 3-4 times a day, "
    "massage (not in the first 2 hours) or foam rolling."
)
DISCLAIMER = (
    "Not medical advice. Pain that lasts more than a week with rest: see a sports physiotherapist."
)


def short(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def pct(ratio: float | None) -> str:
    """A ratio as a signed percentage: 0.2 -> ``+20%``."""
    return "n/a" if ratio is None else f"{ratio * 100:+.0f}%"


def km_text(value: float | None) -> str:
    """Kilometres with one decimal and the unit: ``12.5 km``."""
    return "?" if value is None else f"{value:.1f} km"


def _run_line(f: Finding) -> str:
    day = date.fromisoformat(f.local_date)
    label = f"{day:%a} {f.local_date}"
    if f.activity_id is None:
        return f"Day: {label}"
    name = short(f.run_name or "untitled run", 80)
    return f"Run: {label}, {name}"


def render(f: Finding, rule: Rule) -> tuple[str, str]:
    """(title, body) of an alert of ``rule``; the body is under :data:`MAX_BODY_CHARS`."""
    values = dict(f.values)
    if isinstance(values.get("shoe"), str):
        values["shoe"] = short(values["shoe"], 40)
    text = rule.build(values, f.severity)
    title = f"{f.rule}: {text.headline}"
    body = "\n".join(
        [
            _run_line(f),
            text.numbers,
            f"Guide trigger: {rule.trigger}.",
            f"Next: {text.next_step}; more rest if the calf hurts. {CARE}",
            f"Basis: {text.basis}",
            DISCLAIMER,
        ]
    )
    if len(body) >= MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 2] + "…"
    return title, body
