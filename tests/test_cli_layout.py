"""The CLI package is the only place that talks to the terminal, and ``calfsync --help`` stays
light: checked on the source and on a fresh interpreter.

- No module outside ``calfsync/cli/`` imports click, calls ``print`` or writes to the standard
  streams itself. The console push channel is the one exception: it writes pushes to standard
  output by design (a channel, like a phone, not the CLI's output).
- ``calfsync --help`` lists each command with what click makes of its docstring, without
  importing the command's module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from calfsync.cli import LAZY_COMMANDS, _function_node, cli, listed_help

PACKAGE = Path(__file__).resolve().parents[1] / "calfsync"
CLI_PACKAGE = PACKAGE / "cli"
STREAM_WRITERS = {
    PACKAGE / "notify" / "console.py",  # the console push channel
    PACKAGE / "child.py",  # the child process's entry: points its stdout at stderr
}
BELOW_CLI = sorted(p for p in PACKAGE.rglob("*.py") if CLI_PACKAGE not in p.parents)
HEAVY = ("sqlite_utils", "httpx", "apscheduler", "fitparse", "stravalib", "pydantic")


def terminal_output(tree: ast.AST, may_use_streams: bool) -> list[str]:
    """What in a module's syntax tree reaches the terminal, as ``line: what``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _is_click(a.name)]
        elif isinstance(node, ast.ImportFrom) and not node.level and _is_click(node.module):
            found.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "print":
                found.append(f"{node.lineno}: print(...)")
        elif isinstance(node, ast.Attribute) and not may_use_streams:
            if node.attr in ("stdout", "__stdout__") and _is_name(node.value, "sys"):
                found.append(f"{node.lineno}: sys.{node.attr}")
            elif node.attr in ("write", "writelines") and _is_std_stream(node.value):
                found.append(f"{node.lineno}: {ast.unparse(node)}(...)")
    return found


def _is_click(module: str | None) -> bool:
    return (module or "").split(".")[0] == "click"


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_std_stream(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in ("stdout", "stderr", "__stdout__", "__stderr__")
        and _is_name(node.value, "sys")
    )


def test_the_scan_sees_each_kind_of_output() -> None:
    source = (
        "import click\nfrom click.testing import CliRunner\nimport sys\n"
        "def f():\n    print('x')\n    sys.stderr.write('y')\n    out = sys.stdout\n"
    )
    found = terminal_output(ast.parse(source), may_use_streams=False)
    assert sorted(int(line.split(":")[0]) for line in found) == [1, 2, 5, 6, 7], found
    assert (
        terminal_output(
            ast.parse("import logging, sys\nh = logging.StreamHandler(sys.stderr)"), False
        )
        == []
    )


@pytest.mark.parametrize("path", BELOW_CLI, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_nothing_below_the_cli_prints(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = terminal_output(tree, may_use_streams=path in STREAM_WRITERS)
    assert not found, f"{path.relative_to(PACKAGE.parent)} writes to the terminal: {found}"


def test_the_console_channel_is_the_exception_for_a_reason() -> None:
    for path in STREAM_WRITERS:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assert terminal_output(tree, may_use_streams=False), f"{path} no longer needs it"


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
@pytest.mark.parametrize("limit", [45, 66, 200])
def test_listed_help_is_what_click_makes_of_the_docstring(name: str, limit: int) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert listed_help(name, limit) == command.get_short_help_str(limit)
    assert command.help and command.help.strip(), f"{name} has no docstring"


@pytest.mark.parametrize(
    "source",
    [
        'def a():\n    return 1\n\n\ndef b():\n    """B."""\n',
        '"""M."""\n\n\ndef b(x=\'"""\'):\n    """B."""\n\n\ndef a():\n    pass\n',
        "def b():\n    '''B.'''\n\n\ndef a():\n    return 1\n",
    ],
    ids=["a without docstring", "quotes in a default", "other quotes"],
)
def test_function_node_finds_the_docstring_or_its_absence(source: str) -> None:
    assert ast.get_docstring(_function_node(source, "a")) is None
    assert ast.get_docstring(_function_node(source, "b")) == "B."


def test_help_lists_every_command_in_full_at_80_columns() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listing = result.output.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listing] == sorted(LAZY_COMMANDS)
    cut = [line for line in listing if line.endswith("...")]
    assert not cut, f"shorten the first sentence of these docstrings: {cut}"


def test_help_imports_no_command_module() -> None:
    script = (
        "import json, sys\n"
        "from calfsync.cli import cli\n"
        "try:\n"
        "    cli.main(['--help'], prog_name='calfsync')\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    modules = json.loads(done.stderr)
    assert "sync" in done.stdout and "Commands:" in done.stdout
    assert not [m for m in modules if m.split(".")[0] in HEAVY]
    assert [m for m in modules if m.startswith("calfsync")] == [
        "calfsync",
        "calfsync.cli",
        "calfsync.errors",
    ]


def test_every_command_module_lives_in_the_cli_package() -> None:
    for ref in LAZY_COMMANDS.values():
        module, _function = ref.split(":")
        assert (CLI_PACKAGE / f"{module}.py").is_file(), ref
