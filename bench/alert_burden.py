"""Alert burden on real runners' histories: how many alerts, how many pushes, how much noise.

    .venv/bin/python bench/alert_burden.py [--data DIR] [--config FILE] [--json FILE] [--md]

For each ``*.csv`` in ``--data`` (default ``../shared/realhist`` next to the repository; columns
described in its README) the bench builds a fresh database in a temporary folder, stores the
history through calfsync's own storage path (``save_activities``, so every dedupe and
plausibility check of the store applies), and runs ``calfsync --db DB replay --json`` as a
subprocess (with ``--config FILE`` when given, else an empty configuration: the defaults).
Each alert's ``delivery`` is read from the replay (``now`` when the field is absent).

Figures per runner, pooled (sums over sums) and the median over runners:

- runner-years: first to last plausible activity, over 365.25 days;
- alerts per runner-year by rule and by delivery class; immediate (``now``) alerts per
  runner-year; immediate push days per month (distinct local dates with a ``now`` alert, per
  30.44 days);
- the share of immediate alerts in each noise category, judged by this bench from the CSV
  alone, never from calfsync's own flags (weekly distances count a run recorded twice once):
  ``w1_rebound`` W1 whose week D7(t) is not above every one of D7(t-14), D7(t-21), D7(t-28) and
  D7(t-35); ``early`` any alert but RET1 in the first 28 days of the history; ``suspect`` an
  alert on a suspect run (RULES.md "Plausible"; an indoor run's climb is unknown, so it is not
  judged) or a window alert (W1, H1, A1) whose window holds one; ``tiny`` S1 or RET1 on a run
  under 1 km; ``any`` their union.

"Now" for the future-date check is the start of the CSV's last row, or the wall clock when that
is earlier (a file dated 2099 as the last row does not move "now" with it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("PYTHONPATH") is None:  # the repository's code, unless told otherwise
    sys.path.insert(0, str(ROOT))

import calfsync  # noqa: E402
from calfsync.model import Activity  # noqa: E402
from calfsync.store.activities import save_activities  # noqa: E402
from calfsync.store.db import open_db  # noqa: E402

CODE_ROOT = str(Path(calfsync.__file__).resolve().parent.parent)
DEFAULT_DATA = ROOT.parent / "shared" / "realhist"
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = 30.44
EARLY_DAYS = 28
TINY_M = 1000.0
WINDOW_RULES = {"W1": 13, "H1": 27, "A1": 27}  # days before t each window rule reads
NOISE = ("w1_rebound", "early", "suspect", "tiny")
RUN_TYPES: dict[str, str | None] = {
    "Run": None,
    "TrailRun": "trail",
    "TrackRun": "track",
    "Treadmill": "treadmill",
    "VirtualRun": "virtual_activity",
}
OTHER_SPORTS = {
    "Walk": "walking",
    "Hike": "hiking",
    "Ride": "cycling",
    "Swim": "swimming",
    "Other": "generic",
}
INDOOR = {"treadmill", "virtual_activity"}


# -- reading ------------------------------------------------------------------------------------
@dataclass
class Row:
    """One CSV row, typed."""

    index: int
    start: datetime  # aware UTC
    local: datetime  # naive wall clock
    type: str
    distance_m: float
    moving_time_s: float | None
    elevation_gain_m: float | None
    average_heartrate: float | None

    @property
    def is_run(self) -> bool:
        return self.type in RUN_TYPES

    @property
    def day(self) -> date:
        return self.local.date()


def _num(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def read_csv(path: Path) -> list[Row]:
    out = []
    with path.open(newline="", encoding="utf-8") as fh:
        for i, rec in enumerate(csv.DictReader(fh)):
            start = datetime.strptime(rec["start_date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            out.append(
                Row(
                    index=i,
                    start=start,
                    local=datetime.fromisoformat(rec["start_date_local"]).replace(tzinfo=None),
                    type=rec["type"].strip(),
                    distance_m=_num(rec["distance_m"]) or 0.0,
                    moving_time_s=_num(rec["moving_time_s"]),
                    elevation_gain_m=_num(rec["elevation_gain_m"]),
                    average_heartrate=_num(rec["average_heartrate"]),
                )
            )
    return out


def activity_id(runner: str, row: Row) -> str:
    return f"{runner}-{row.index:05d}"


def to_activity(runner: str, row: Row) -> Activity:
    """The activity calfsync would store for this row (a Strava-like, Strava-only activity)."""
    if row.is_run:
        sport, sub_sport = "running", RUN_TYPES[row.type]
    else:
        sport, sub_sport = OTHER_SPORTS.get(row.type, "generic"), None
    indoor = sub_sport in INDOOR
    offset = round((row.local - row.start.replace(tzinfo=None)).total_seconds())
    return Activity(
        id=activity_id(runner, row),
        source="strava",
        start_time=row.start,
        utc_offset_s=offset,
        sport=sport,
        sub_sport=sub_sport,
        distance_m=row.distance_m,
        moving_time_s=row.moving_time_s,
        elapsed_time_s=row.moving_time_s,
        ascent_m=None if indoor else row.elevation_gain_m,
        avg_heart_rate_bpm=row.average_heartrate,
        name=f"{row.type} {row.index}",
        strava_id=row.index + 1,
        raw={"type": row.type},
    )


# -- the bench's own judgement of the data ------------------------------------------------------
def suspect_reason(row: Row, now: datetime) -> str | None:
    """RULES.md "Plausible", judged from the CSV row alone; None for a plausible run."""
    km = row.distance_m / 1000.0
    moving = row.moving_time_s
    if not moving or moving <= 0:
        return "no moving time"
    if km >= 3 and row.distance_m / moving > 6.0:
        return "faster than 6 m/s"
    indoor = RUN_TYPES.get(row.type) in INDOOR  # indoor climb is unknown (RULES.md), not judged
    if not indoor and (row.elevation_gain_m or 0.0) > 600 * km:
        return "more than 600 m climb per km"
    if row.start > now + timedelta(days=1):
        return "in the future"
    if row.start.year < 2000:
        return "before 2000"
    if moving > 86_400 or km > 300:
        return "longer than 24 h or 300 km"
    return None


def reference_now(rows: list[Row]) -> datetime:
    wall = datetime.now(UTC)
    return min(rows[-1].start, wall) if rows else wall


@dataclass
class Judged:
    """What the bench knows of one runner's CSV, to classify alerts."""

    runner: str
    rows: list[Row]
    by_id: dict[str, Row]
    suspect: dict[str, str]
    first: date
    last: date
    suspect_days: list[date] = field(default_factory=list)
    # plausible runs: (local day, start) -> distance, for D7 up to a given run
    runs: list[tuple[date, datetime, float]] = field(default_factory=list)

    @property
    def days(self) -> int:
        return max((self.last - self.first).days, 1)

    def d7(self, t: date, upto: datetime | None = None) -> float:
        """Run distance over local dates t-6 .. t (on day t only runs starting up to ``upto``)."""
        lo = t - timedelta(days=6)
        return sum(
            m for d, s, m in self.runs if lo <= d <= t and (upto is None or d < t or s <= upto)
        )


def judge_csv(runner: str, rows: list[Row]) -> Judged:
    now = reference_now(rows)
    by_id = {activity_id(runner, r): r for r in rows}
    suspect = {}
    for aid, r in by_id.items():
        if r.is_run:
            reason = suspect_reason(r, now)
            if reason:
                suspect[aid] = reason
    dated = [
        r.day for r in rows if 2000 <= r.start.year and r.start <= now + timedelta(days=1)
    ] or [r.day for r in rows]
    j = Judged(runner, rows, by_id, suspect, min(dated), max(dated))
    j.suspect_days = sorted(by_id[a].day for a in suspect)
    plausible = [r for aid, r in by_id.items() if r.is_run and aid not in suspect]
    j.runs = [(r.day, r.start, r.distance_m) for r in drop_recorded_twice(plausible)]
    return j


def drop_recorded_twice(runs: list[Row]) -> list[Row]:
    """One run per recording pair: runs whose times overlap by more than half of the shorter
    are one run recorded twice (RULES.md); the fuller one (more distance) is kept."""
    kept: list[Row] = []
    for r in sorted(runs, key=lambda x: x.start):
        end = r.start + timedelta(seconds=r.moving_time_s or 0.0)
        twin = None
        for k in kept[-3:]:
            k_end = k.start + timedelta(seconds=k.moving_time_s or 0.0)
            overlap = (min(end, k_end) - max(r.start, k.start)).total_seconds()
            shorter = min(r.moving_time_s or 0.0, k.moving_time_s or 0.0)
            if shorter > 0 and overlap > shorter / 2:
                twin = k
                break
        if twin is None:
            kept.append(r)
        elif (r.distance_m, r.moving_time_s or 0.0) > (twin.distance_m, twin.moving_time_s or 0.0):
            kept[kept.index(twin)] = r
    return kept


def noise_of(a: dict[str, Any], j: Judged) -> set[str]:
    """The noise categories alert ``a`` falls in (empty: a plausible warning)."""
    cats: set[str] = set()
    rule = a["rule"]
    t = date.fromisoformat(a["local_date"])
    row = j.by_id.get(a.get("activity_id") or "")
    if rule == "W1":
        upto = row.start if row is not None and row.day == t else None
        now = j.d7(t, upto)
        before = [j.d7(t - timedelta(days=k)) for k in (14, 21, 28, 35)]
        if not all(now > b for b in before):
            cats.add("w1_rebound")
    if rule != "RET1" and (t - j.first).days < EARLY_DAYS:
        cats.add("early")
    if a.get("activity_id") in j.suspect:
        cats.add("suspect")
    elif rule in WINDOW_RULES:
        lo = t - timedelta(days=WINDOW_RULES[rule])
        if any(lo <= d <= t for d in j.suspect_days):
            cats.add("suspect")
    if rule in ("S1", "RET1") and row is not None and row.distance_m < TINY_M:
        cats.add("tiny")
    return cats


# -- running calfsync ---------------------------------------------------------------------------
def replay(runner: str, rows: list[Row], config: Path | None) -> tuple[list[dict[str, Any]], float]:
    """Store the history in a fresh database and replay the rules over it; (alerts, seconds)."""
    with tempfile.TemporaryDirectory(prefix=f"calfsync-burden-{runner}-") as tmp:
        db_path = Path(tmp) / "calfsync.db"
        if config is None:
            config = Path(tmp) / "config.toml"
            config.write_text("", encoding="utf-8")
        db = open_db(db_path)
        try:
            save_activities(db, [to_activity(runner, r) for r in rows])
        finally:
            db.close()
        env = dict(os.environ)
        env["XDG_CONFIG_HOME"] = env["XDG_STATE_HOME"] = tmp
        env["PYTHONPATH"] = os.pathsep.join(  # the same calfsync this process imported
            [CODE_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        began = time.perf_counter()
        cmd = [sys.executable, "-m", "calfsync", "--config", str(config), "--db", str(db_path)]
        proc = subprocess.run(
            [*cmd, "replay", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp,
            check=False,
        )
        seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{runner}: calfsync replay failed:\n{proc.stderr.strip()}")
    alerts = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    for a in alerts:
        a.setdefault("delivery", "now")
        if a["delivery"] is None:
            a["delivery"] = "now"
    return alerts, seconds


def measure_runner(path: Path, config: Path | None) -> dict[str, Any]:
    runner = path.stem
    rows = read_csv(path)
    j = judge_csv(runner, rows)
    alerts, seconds = replay(runner, rows, config)
    years = j.days / DAYS_PER_YEAR
    now_alerts = [a for a in alerts if a["delivery"] == "now"]
    noise = Counter()
    for a in now_alerts:
        cats = noise_of(a, j)
        noise.update(cats)
        if cats:
            noise["any"] += 1
    push_days = len({a["local_date"] for a in now_alerts})
    return {
        "runner": runner,
        "runs": sum(r.is_run for r in rows),
        "suspect_runs": len(j.suspect),
        "first": j.first.isoformat(),
        "last": j.last.isoformat(),
        "runner_years": years,
        "alerts": len(alerts),
        "by_rule": dict(sorted(Counter(a["rule"] for a in alerts).items())),
        "by_delivery": dict(sorted(Counter(a["delivery"] for a in alerts).items())),
        "now_by_rule": dict(sorted(Counter(a["rule"] for a in now_alerts).items())),
        "now": len(now_alerts),
        "push_days": push_days,
        "noise": {k: noise.get(k, 0) for k in (*NOISE, "any")},
        "alerts_per_year": len(alerts) / years,
        "now_per_year": len(now_alerts) / years,
        "push_days_per_month": push_days / (j.days / DAYS_PER_MONTH),
        "noise_share": {k: _share(noise.get(k, 0), len(now_alerts)) for k in (*NOISE, "any")},
        "replay_s": round(seconds, 2),
    }


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def pool(results: list[dict[str, Any]]) -> dict[str, Any]:
    years = sum(r["runner_years"] for r in results)
    days = sum(r["runner_years"] * DAYS_PER_YEAR for r in results)
    now = sum(r["now"] for r in results)
    rules: Counter[str] = Counter()
    now_rules: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    noise: Counter[str] = Counter()
    for r in results:
        rules.update(r["by_rule"])
        now_rules.update(r["now_by_rule"])
        classes.update(r["by_delivery"])
        noise.update(r["noise"])

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results) if results else 0.0

    return {
        "runners": len(results),
        "runner_years": years,
        "runs": sum(r["runs"] for r in results),
        "suspect_runs": sum(r["suspect_runs"] for r in results),
        "alerts": sum(r["alerts"] for r in results),
        "now": now,
        "alerts_per_year": sum(r["alerts"] for r in results) / years if years else 0.0,
        "alerts_per_year_median": med("alerts_per_year"),
        "now_per_year": now / years if years else 0.0,
        "now_per_year_median": med("now_per_year"),
        "push_days_per_month": (
            sum(r["push_days"] for r in results) / (days / DAYS_PER_MONTH) if days else 0.0
        ),
        "push_days_per_month_median": med("push_days_per_month"),
        "by_rule_per_year": {k: v / years for k, v in sorted(rules.items())},
        "now_by_rule_per_year": {k: v / years for k, v in sorted(now_rules.items())},
        "by_delivery_per_year": {k: v / years for k, v in sorted(classes.items())},
        "noise": {k: noise.get(k, 0) for k in (*NOISE, "any")},
        "noise_share": {k: _share(noise.get(k, 0), now) for k in (*NOISE, "any")},
        "noise_share_median": {
            k: statistics.median(r["noise_share"][k] for r in results) if results else 0.0
            for k in (*NOISE, "any")
        },
    }


# -- output -------------------------------------------------------------------------------------
def _rules_cell(per_year: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.1f}" for k, v in sorted(per_year.items(), key=lambda kv: -kv[1]))


def table(results: list[dict[str, Any]], pooled: dict[str, Any], md: bool) -> str:
    head = [
        "runner", "years", "runs", "susp", "alerts/y", "now/y", "push d/mo",
        "W1reb", "early", "susp%", "tiny", "noise", "alerts/y by rule",
    ]  # fmt: skip
    body = []
    for r in results:
        y = r["runner_years"]
        share = r["noise_share"]
        body.append(
            [
                r["runner"],
                f"{y:.1f}",
                str(r["runs"]),
                str(r["suspect_runs"]),
                f"{r['alerts_per_year']:.1f}",
                f"{r['now_per_year']:.1f}",
                f"{r['push_days_per_month']:.2f}",
                *(f"{100 * share[k]:.0f}%" for k in (*NOISE, "any")),
                _rules_cell({k: v / y for k, v in r["by_rule"].items()}),
            ]
        )
    p = pooled
    ps = p["noise_share"]
    body.append(
        [
            "pooled",
            f"{p['runner_years']:.1f}",
            str(p["runs"]),
            str(p["suspect_runs"]),
            f"{p['alerts_per_year']:.1f}",
            f"{p['now_per_year']:.1f}",
            f"{p['push_days_per_month']:.2f}",
            *(f"{100 * ps[k]:.0f}%" for k in (*NOISE, "any")),
            _rules_cell(p["by_rule_per_year"]),
        ]
    )
    ms = p["noise_share_median"]
    body.append(
        [
            "median",
            "",
            "",
            "",
            f"{p['alerts_per_year_median']:.1f}",
            f"{p['now_per_year_median']:.1f}",
            f"{p['push_days_per_month_median']:.2f}",
            *(f"{100 * ms[k]:.0f}%" for k in (*NOISE, "any")),
            "",
        ]
    )
    if md:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
    else:
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        lines = [fmt.format(*head).rstrip()] + [fmt.format(*row).rstrip() for row in body]
    return "\n".join(lines)


def summary(p: dict[str, Any]) -> str:
    share = p["noise_share"]
    return "\n".join(
        [
            f"{p['runners']} runners, {p['runner_years']:.1f} runner-years, {p['runs']} runs "
            f"({p['suspect_runs']} suspect by the bench)",
            f"alerts per runner-year: median {p['alerts_per_year_median']:.1f}, "
            f"pooled {p['alerts_per_year']:.1f}; by class "
            + ", ".join(f"{k} {v:.1f}" for k, v in p["by_delivery_per_year"].items()),
            f"immediate (now) per runner-year: median {p['now_per_year_median']:.1f}, "
            f"pooled {p['now_per_year']:.1f}",
            f"immediate push days per month: median {p['push_days_per_month_median']:.2f}, "
            f"pooled {p['push_days_per_month']:.2f}",
            "noise share of immediate alerts (pooled): "
            + ", ".join(f"{k} {100 * share[k]:.1f}%" for k in (*NOISE, "any")),
            "immediate alerts per runner-year by rule (pooled): "
            + _rules_cell(p["now_by_rule_per_year"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of runner CSVs")
    ap.add_argument("--config", type=Path, default=None, help="calfsync config for the replay")
    ap.add_argument("--json", dest="json_out", type=Path, default=None, help="write all figures")
    ap.add_argument("--md", action="store_true", help="print markdown tables")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runners in parallel")
    args = ap.parse_args(argv)
    paths = sorted(args.data.glob("*.csv"))
    if not paths:
        print(f"no CSV files in {args.data}", file=sys.stderr)
        return 2
    config = args.config.resolve() if args.config else None
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(paths)))) as pool_ex:
        results = list(pool_ex.map(measure_runner, paths, [config] * len(paths)))
    pooled = pool(results)
    elapsed = time.perf_counter() - began
    print(table(results, pooled, args.md))
    print()
    print(summary(pooled))
    print(f"({elapsed:.1f} s, calfsync from {CODE_ROOT})")
    if args.json_out:
        payload = {"data": str(args.data), "runners": results, "pooled": pooled}
        args.json_out.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
