"""The README's example queries and the views' usual queries read a few rows however many
years the database holds: their plans scan no big table (tests/views_support.py parses the
queries out of README.md, so this follows the README), and the work SQLite does for them is
the same at 1 and at 3 years of history (counted in virtual-machine steps, not timed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from views_support import VIEW_QUERIES, build_db, readme_queries

# Tables that grow with the runs, the files or the alerts. The totals per week and per shoe
# hold a row per week or per shoe: reading them in order under a LIMIT is the point.
BIG_TABLES = {
    "activities",
    "alerts",
    "daily_totals",
    "fit_files",
    "seen_paths",
    "notify_outbox",
    "soreness",
    "dirty_dates",
    "gear_assignments",
}


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    folder = tmp_path_factory.mktemp("views")
    return {years: build_db(Path(folder) / f"{years}y.db", years) for years in (1, 3)}


def plan(db: Any, sql: str) -> list[str]:
    return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]


def full_scans(sql: str, details: list[str], big: set[str] = BIG_TABLES) -> list[str]:
    """Plan lines that read a big table whole. A scan in an index's order is not one when the
    query stops after LIMIT rows and nothing is sorted first (no temporary B-tree)."""
    limited = re.search(r"\blimit\s+\d+", sql, flags=re.I) is not None
    sorted_first = any("TEMP B-TREE" in d for d in details)
    bad = []
    for d in details:
        if "AUTOMATIC" in d:  # an index built for every query: a full scan in disguise
            bad.append(d)
        m = re.match(r"SCAN (\w+)( USING (?:COVERING )?INDEX)?", d)
        if m and m.group(1) in big and not (m.group(2) and limited and not sorted_first):
            bad.append(d)
    return bad


def vm_steps(db: Any, sql: str) -> int:
    """How many virtual-machine instructions SQLite runs to answer ``sql`` in full."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    db.conn.set_progress_handler(count, 1)
    try:
        db.execute(sql).fetchall()
    finally:
        db.conn.set_progress_handler(None, 1)
    return steps


def test_the_readme_has_its_example_queries():
    queries = readme_queries()
    assert any("from weekly_load" in q for q in queries), queries
    assert any("from alerts" in q for q in queries), queries


def test_readme_query_parser_reads_continued_sqlite3_lines():
    text = (
        "## Querying the database\n```sh\nsqlite3 -readonly db \\\n"
        '  "select 1 from runs"\nls\n'
        "sqlite3 'file:db?mode=ro' 'select 2 from runs'\n```\n"
        '## Other\n```sh\nsqlite3 db "select path from fit_files"\n```\n'
    )
    assert readme_queries(text) == ["select 1 from runs", "select 2 from runs"]


@pytest.mark.parametrize("sql", readme_queries())
def test_readme_query_plan_scans_no_big_table(dbs: dict[int, Any], sql: str):
    details = plan(dbs[3], sql)
    assert full_scans(sql, details) == [], details


@pytest.mark.parametrize("sql", readme_queries())
def test_readme_query_costs_the_same_at_1_and_3_years(dbs: dict[int, Any], sql: str):
    one, three = vm_steps(dbs[1], sql), vm_steps(dbs[3], sql)
    assert three <= one * 1.05 + 20, (one, three)


@pytest.mark.parametrize("name", list(VIEW_QUERIES))
def test_view_query_plan_scans_no_big_table(dbs: dict[int, Any], name: str):
    sql, flat = VIEW_QUERIES[name]
    details = plan(dbs[3], sql)
    # "every day" is a row per day: it reads its totals whole, never the activities
    big = BIG_TABLES if flat else BIG_TABLES - {"daily_totals"}
    assert full_scans(sql, details, big) == [], details
    if flat:
        one, three = vm_steps(dbs[1], sql), vm_steps(dbs[3], sql)
        assert three <= one * 1.05 + 20, (one, three)


def test_the_check_finds_the_scans_it_is_for():
    """The old weekly_load (every activity grouped) and an unindexed sort are caught."""
    assert full_scans("select * from v limit 8", ["SCAN activities", "USE TEMP B-TREE"])
    assert full_scans(
        "select * from alerts order by local_date desc limit 5",
        ["SCAN alerts", "USE TEMP B-TREE FOR ORDER BY"],
    )
    assert full_scans("select * from daily_load", ["SCAN daily_totals USING INDEX x"])
    assert not full_scans("select 1 limit 5", ["SCAN alerts USING INDEX idx_alerts_local_date"])


SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


def documented_plans(text: str) -> dict[str, list[str]]:
    """docs/schema.md's section "The README's queries: plans": each query (its ```sql block,
    without the closing semicolon) and the plan lines of the block after it."""
    section = re.search(
        r"^### The README's queries: plans\n(.*?)(?=^#{2,3} |\Z)", text, re.S | re.M
    )
    body = section.group(1) if section else ""
    pairs = re.findall(r"```sql\n(.*?);?\n```\n```\n(.*?)```", body, flags=re.S)
    return {sql.strip(): plan_text.strip().splitlines() for sql, plan_text in pairs}


@pytest.mark.parametrize("sql", readme_queries())
def test_schema_doc_shows_each_readme_query_with_its_plan(dbs: dict[int, Any], sql: str):
    """docs/schema.md promises the README queries' plans: every query there, plan as SQLite
    gives it (a README query changed or added without its plan in the doc fails here)."""
    shown = documented_plans(SCHEMA_DOC.read_text())
    assert sql in shown, f"docs/schema.md shows no plan for the README query {sql!r}"
    assert shown[sql] == plan(dbs[3], sql)


def test_documented_plans_reads_the_doc_layout():
    text = (
        "### The README's queries: plans\nwords\n```sql\nselect 1;\n```\n```\nSCAN x\n```\n\n"
        "## Next\n```sql\nselect 2;\n```\n```\nSCAN y\n```\n"
    )
    assert documented_plans(text) == {"select 1": ["SCAN x"]}
