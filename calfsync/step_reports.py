"""What a sync step's report says: a few words (:func:`describe`) and whether it did anything
(:func:`is_idle`: the daemon logs an idle step at debug only, and outputs such as the report
page are rewritten only after a step that was not idle).

Kept apart from :mod:`calfsync.sync` (the steps and their runner), which re-exports both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .notify.outbox_report import DeliveryReport


def describe(report: Any) -> str:
    """What a step did, in a few words."""
    if isinstance(report, DeliveryReport):
        counts = dataclasses.asdict(report)
        return "pushes: " + (
            ", ".join(f"{k} {v}" for k, v in counts.items() if _is_count(v) and v) or "done"
        )
    return report.line()


# Counts that say what is waiting, not what a step did: a backlog alone (pushes waiting for a
# retry) is the same on every flush and would log a line at INFO every minute. ``requests``: the
# intervals.icu poll's one listing request when nothing is new.
GAUGES = frozenset({"pending", "requests"})


def is_idle(report: Any) -> bool:
    """True for a report whose counts are all zero and lists empty (logged at debug only);
    :data:`GAUGES` do not count."""
    if getattr(report, "state", "ok") != "ok":
        return False
    values = [getattr(report, f.name) for f in dataclasses.fields(report) if f.name not in GAUGES]
    counts = [v for v in values if _is_count(v)]
    lists = [v for v in values if isinstance(v, list | dict | set)]
    return not any(counts) and not any(lists)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
