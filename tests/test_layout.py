"""The package by role: every rule runs the job named like it, imports flow one way, the
plan stays light, every job keeps one contract, and a user's mistake is one line while a
bug is a traceback."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from noisy import cli
from noisy.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "noisy"

# What each part of the package may import of the others (besides itself): the shared
# modules first, then the plan and the method beside each other, reporting on both, and the
# jobs and tools on top. The command line imports the jobs and tools by name, when asked.
SHARED = ("noisy.errors", "noisy.files", "noisy.precision")
MAY_IMPORT = {
    "noisy.errors": (),
    "noisy.files": ("noisy.errors",),
    "noisy.precision": ("noisy.errors",),
    "noisy.workflow": ("noisy.errors", "noisy.precision"),
    "noisy.corruption": ("noisy.errors", "noisy.files"),
    "noisy.method": (*SHARED, "noisy.corruption.corruptions"),
    "noisy.reporting": (*SHARED, "noisy.workflow", "noisy.method.metrics"),
    "noisy.jobs": (*SHARED, "noisy.corruption", "noisy.method", "noisy.reporting"),
    "noisy.tools": (*SHARED, "noisy.corruption", "noisy.method", "noisy.workflow"),
    "noisy.cli": ("noisy.errors",),
    "noisy.__main__": ("noisy.cli",),
    "noisy": (),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """The part of the package a module belongs to: a sub-package or a top-level module."""
    parts = module.split(".")
    return ".".join(parts[:2])


def noisy_imports(path: Path) -> set[str]:
    """Every module of noisy that ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("noisy")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("noisy"):
            if node.module == "noisy":
                found |= {f"noisy.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def test_imports_flow_one_way_and_the_method_never_reaches_a_job():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        part = part_of(module)
        for imported in sorted(noisy_imports(path)):
            allowed = (part, *MAY_IMPORT[part])
            own_job = part == "noisy.jobs" and imported.startswith("noisy.jobs.")
            if own_job or not any(imported == name or imported.startswith(name + ".")
                                  for name in allowed):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def _imported_heavy(modules: str) -> list[str]:
    code = (f"import sys; import {modules}; print(sorted(m for m in "
            "('torch', 'scipy', 'matplotlib', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.replace("'", '"'))


def test_the_plan_imports_no_torch_scipy_matplotlib_or_pandas():
    assert _imported_heavy("noisy.workflow.config, noisy.workflow.stages, "
                           "noisy.workflow.tables, noisy.workflow.outputs") == []


def test_the_command_line_imports_only_the_command_asked_for():
    assert _imported_heavy("noisy.cli, noisy.tools.where") == []
    assert "torch" not in _imported_heavy("noisy.jobs.table, noisy.jobs.report, "
                                          "noisy.jobs.figure1, noisy.jobs.seed_spread")


def rule_commands() -> dict[str, str]:
    """Each rule of rules/*.smk with the ``python -m noisy`` command its shell runs."""
    commands = {}
    for path in sorted((ROOT / "rules").glob("*.smk")):
        for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", path.read_text(),
                                     re.MULTILINE | re.DOTALL):
            commands[rule] = re.search(r"python -m noisy ([\w-]+)", body).group(1)
    return commands


def test_every_rule_runs_the_job_module_named_like_it():
    commands = rule_commands()
    jobs = {path.stem for path in (PACKAGE / "jobs").glob("*.py") if path.stem != "__init__"}
    assert set(commands) == jobs
    for rule, command in commands.items():
        assert cli.COMMANDS[command] == f"noisy.jobs.{rule}", rule


def job_options(command: str) -> dict[str, object]:
    """The options of a job's command line: flag → its argparse action."""
    parser = cli.build_parser([command])
    sub = parser._subparsers._group_actions[0].choices[command]
    return {flag: action for action in sub._actions for flag in action.option_strings}


@pytest.mark.parametrize("command", [name for name, module in cli.COMMANDS.items()
                                     if module.startswith("noisy.jobs.")])
def test_every_job_writes_its_main_output_to_out_and_takes_numbers_only_in_its_settings(
        command):
    options = job_options(command)
    assert options["--out"].required
    if "--settings" in options:
        assert options["--settings"].type is json.loads
    numbers = {flag for flag, action in options.items() if action.type in (int, float)}
    # where and how a job runs, never what it computes
    assert numbers <= {"--threads", "--checkpoint-interval-s"}


def test_a_users_mistake_is_one_line_and_a_bug_a_traceback(monkeypatch, caplog):
    def mistaken(args):
        raise UserError("config key 'x': not a number")

    def buggy(args):
        raise KeyError("a bug")

    monkeypatch.setattr("noisy.jobs.table.run", mistaken)
    with caplog.at_level("ERROR", logger="noisy"):
        assert cli.main(["table", "--name", "table1", "--rows", "[]", "--out", "t.csv"]) == 1
    assert [record.getMessage() for record in caplog.records] == [
        "UserError: config key 'x': not a number"]
    monkeypatch.setattr("noisy.jobs.table.run", buggy)
    with pytest.raises(KeyError, match="a bug"):
        cli.main(["table", "--name", "table1", "--rows", "[]", "--out", "t.csv"])


def test_a_missing_input_is_named_in_one_line(tmp_path, caplog):
    with caplog.at_level("ERROR", logger="noisy"):
        assert cli.main(["split", "--data", str(tmp_path / "nowhere.npz"), "--settings", "{}",
                         "--out", str(tmp_path / "s.npz"),
                         "--summary", str(tmp_path / "s.json")]) == 1
    assert [record.getMessage() for record in caplog.records] == [
        f"MissingFileError: {tmp_path / 'nowhere.npz'}: no such file"]
