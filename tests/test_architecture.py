"""The layout rules of docs/architecture.md, checked on the source itself.

- No import cycles between calfsync's modules, counting imports inside functions.
- No module over 500 lines (the FIT encoder used by the demo and tests excepted).
- Rules never touch the database or the clock; sources never write rows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "calfsync"
MAX_LINES = 500
LONG_ALLOWED = {"fitwriter.py"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str) -> set[str]:
    """Every calfsync module that ``module`` imports, at top level or inside a function.

    ``from package import name`` counts as importing ``package.name`` when that is a module, else
    ``package`` itself. Imports only for type checking (``if TYPE_CHECKING:``) do not count.
    """
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for b in node.body for n in ast.walk(b))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "calfsync")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = _resolve(module, path.name == "__init__.py", node.level, node.module)
            else:
                target = node.module or ""
            if target.split(".")[0] != "calfsync":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    found.discard(module)
    return {m for m in found if m in MODULES}


def _parents(module: str) -> set[str]:
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a.b/__init__`` first."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))} & set(MODULES)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_find_cycle_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    graph = {m: imports_of(m) - _parents(m) for m in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_short(module: str) -> None:
    path = MODULES[module]
    if path.name in LONG_ALLOWED:
        return
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines"


def _imports_anything(module: str, prefixes: tuple[str, ...]) -> set[str]:
    return {m for m in imports_of(module) if m.startswith(prefixes)}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("calfsync.rules")))
def test_rules_touch_no_database_or_io(module: str) -> None:
    assert not _imports_anything(module, ("calfsync.store", "calfsync.notify", "calfsync.sync"))
    text = MODULES[module].read_text(encoding="utf-8")
    for banned in ("sqlite", "datetime.now", "time.time(", "open("):
        assert banned not in text, f"{module} uses {banned}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("calfsync.sources")))
def test_sources_never_write_rows(module: str) -> None:
    assert not _imports_anything(module, ("calfsync.store", "calfsync.sync", "calfsync.notify"))
