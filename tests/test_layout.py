"""The package by role: every rule runs the job named like it, imports flow one way, the
plan stays light, every job keeps one contract, a file's name is declared once, and a
user's mistake is one line while a bug is a traceback."""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from noisy import cli, filenames
from noisy.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "noisy"

# What each part of the package may import of the others (besides itself): the shared
# modules first, then the plan and the method beside each other, reporting on both, and the
# jobs and tools on top. The command line imports the jobs and tools by name, when asked.
SHARED = ("noisy.errors", "noisy.filenames", "noisy.files", "noisy.precision")
MAY_IMPORT = {
    "noisy.errors": (),
    "noisy.filenames": (),
    "noisy.files": ("noisy.errors", "noisy.filenames"),
    "noisy.precision": ("noisy.errors",),
    "noisy.workflow": ("noisy.errors", "noisy.filenames", "noisy.precision"),
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


def test_every_declared_file_is_written_by_a_rule_of_the_workflow():
    assert {files.rule for files in filenames.RULES} <= set(rule_commands())


def test_no_module_but_the_declarations_spells_a_files_name():
    """A declared file's name in quotes or closing a quoted path, outside
    noisy/filenames.py, is a second place that names it (docstrings and help texts may
    mention it)."""
    names = {name for files in filenames.RULES for name in files.names.values()}
    alternatives = "|".join(map(re.escape, sorted(names)))
    spelled = re.compile(rf"""["'/]({alternatives})["']""")
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "rules").glob("*.smk"), ROOT / "Snakefile"]
    found = [f"{path.relative_to(ROOT)}: {match.group(1)}" for path in files
             if path != PACKAGE / "filenames.py"
             for match in spelled.finditer(path.read_text())]
    assert found == []


class OptionsKept(argparse.ArgumentParser):
    """A parser that keeps the action of every option declared on it or on a mutually
    exclusive group of it (``add_argument`` returns the action)."""

    def __init__(self) -> None:
        super().__init__(add_help=False)
        self.options: dict[str, argparse.Action] = {}

    def add_argument(self, *args, **kwargs) -> argparse.Action:
        return self.keep(super().add_argument(*args, **kwargs))

    def add_mutually_exclusive_group(self, **kwargs):
        group = super().add_mutually_exclusive_group(**kwargs)
        add = group.add_argument
        group.add_argument = lambda *args, **options: self.keep(add(*args, **options))
        return group

    def keep(self, action: argparse.Action) -> argparse.Action:
        self.options.update(dict.fromkeys(action.option_strings, action))
        return action


def job_options(command: str) -> dict[str, argparse.Action]:
    """The options of a job's command line, as its module declares them on the parser the
    command line gives it (cli.COMMANDS names the module): flag → its argparse action."""
    parser = OptionsKept()
    importlib.import_module(cli.COMMANDS[command]).add_arguments(parser)
    # every option the usage line shows was kept (none declared another way)
    assert set(parser.options) == set(re.findall(r"--[\w-]+", parser.format_usage()))
    return parser.options


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
