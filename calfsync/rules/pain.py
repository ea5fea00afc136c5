"""P1: calf pain lasting more than a week, from the soreness log."""

from __future__ import annotations

from typing import Any

from . import Basis, Finding, Rule, Severity, Text
from .history import History, date_of


def p1(h: History, t: int, p: dict[str, Any], j: int | None = None) -> Finding | None:
    """P1, pain lasting more than a week: soreness reported on days spanning more than 7 days
    with no zero report between. A day's level is its latest report. Reports further apart
    than 7 days do not join one episode (nothing says the pain lasted across the silence).

    Judged at report j of day t (in the order the reports were made; None: the day's last):
    day t counts only its reports up to and including j, earlier days their latest report.

    Evidence grade: the guide; injury definitions use ≥ 7 days (Yamato 2015).
    """
    reports = h.reports.get(t)
    if not reports:
        return None
    level = reports[-1 if j is None else j]
    if not level:
        return None
    start = h.sore_since(t, p["days"])
    span = t - start
    if span <= p["days"]:
        return None
    return Finding(
        rule="P1",
        episode_key=f"P1:{date_of(start)}",
        local_date=date_of(t),
        activity_id=None,
        severity="normal",
        values={
            "first_report": date_of(start),
            "last_report": date_of(t),
            "span_days": span,
            "level": level,
            "threshold_days": p["days"],
        },
    )


def p1_text(v: dict[str, Any], _sev: str) -> Text:
    """The words of each P1 alert, from its finding's values."""
    return Text(
        f"Calf sore for {v['span_days']} days",
        f"Soreness reported from {v['first_report']} to {v['last_report']} with no pain-free "
        f"day logged between (latest level {v['level']}/10; fires after {v['threshold_days']} "
        "days).",
        "rest from running and book a sports physiotherapist; when you run again, keep the runs "
        "easy and short",
        "the guide's advice; injury definitions also use 7 days or more (Yamato 2015).",
    )


P1 = Rule(
    id="P1",
    kind="per_episode",
    check=p1,
    params={"days": 7},
    severities=(Severity("normal", 0, "now"),),
    build=p1_text,
    trigger="pain lasting more than a week",
    summary="pain lasting more than a week",
    episode="per soreness episode",
    basis=Basis("guide", "injury definitions use ≥ 7 days (Yamato 2015)"),
)
