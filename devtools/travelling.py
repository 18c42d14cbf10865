"""The repository's files that travel to a lent machine: tracked files, and untracked files
git does not ignore, as ``git ls-files`` lists them.

A copy without ``.git`` (a downloaded archive) lists the same files from its ``.gitignore``
files alone (:func:`unignored_files`), as long as no tracked file matches an ignore
pattern (``tests/test_gpu_check.py`` checks that).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


def travelling_files(root: Path) -> list[str]:
    """The paths, relative to ``root`` and sorted, of the files that travel: git's list in a
    git checkout, else (no ``.git`` or no git) :func:`unignored_files`."""
    if (root / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached",
                                   "--others", "--exclude-standard"], capture_output=True,
                                  check=True)
        except OSError:  # no git here
            pass
        else:
            return sorted(filter(None, done.stdout.decode().split("\0")))
    return unignored_files(root)


@dataclass(frozen=True)
class _Rule:
    """One line of a ``.gitignore`` in the folder ``base`` (relative to the root)."""

    base: str
    pattern: re.Pattern
    negated: bool
    folders_only: bool
    anchored: bool  # matched against the path below ``base``, else against the name alone

    def matches(self, path: str, is_folder: bool) -> bool:
        if self.folders_only and not is_folder:
            return False
        if self.base and not path.startswith(self.base + "/"):
            return False
        below = path[len(self.base) + 1:] if self.base else path
        return bool(self.pattern.match(below if self.anchored else below.rsplit("/", 1)[-1]))


def _regex(pattern: str) -> re.Pattern:
    """A gitignore glob as a regular expression: ``*`` and ``?`` stop at ``/``, ``**/`` is
    any number of folders, a trailing ``/**`` everything inside."""
    parts, index = [], 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("/**", index) and index + 3 == len(pattern):
            parts.append("/.*")
            index += 3
        elif pattern[index] == "*":
            parts.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^/]")
            index += 1
        elif pattern[index] == "[" and "]" in pattern[index + 2:]:
            end = pattern.index("]", index + 2)
            body = pattern[index + 1:end]
            parts.append("[" + ("^" + body[1:] if body[0] == "!" else body) + "]")
            index = end + 1
        else:
            if pattern[index] == "\\" and index + 1 < len(pattern):
                index += 1
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts) + r"\Z")


def _rules(gitignore: Path, base: str) -> list[_Rule]:
    rules = []
    for line in gitignore.read_text().splitlines():
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line[1:] if negated else line
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        rules.append(_Rule(base, _regex(line.lstrip("/")), negated, folders_only, anchored))
    return rules


def _ignored(path: str, is_folder: bool, rules: list[_Rule]) -> bool:
    """Whether the last rule matching ``path`` ignores it (later and deeper rules win)."""
    ignored = False
    for rule in rules:
        if rule.matches(path, is_folder):
            ignored = not rule.negated
    return ignored


def unignored_files(root: Path) -> list[str]:
    """The files below ``root`` that its ``.gitignore`` files do not ignore (``.git`` aside),
    relative and sorted; as in git, nothing inside an ignored folder is listed."""
    found, rules = [], {"": []}
    for folder, subfolders, files in os.walk(root):
        here = Path(folder).relative_to(root).as_posix()
        here = "" if here == "." else here
        inherited = rules.pop(here)
        if (Path(folder) / ".gitignore").is_file():
            inherited = inherited + _rules(Path(folder) / ".gitignore", here)
        prefix = f"{here}/" if here else ""
        kept = []
        for name in sorted(subfolders):
            path = prefix + name
            if name == ".git" or _ignored(path, True, inherited):
                continue
            if (Path(folder) / name).is_symlink():  # listed by git as a file, never entered
                found.append(path)
                continue
            kept.append(name)
            rules[path] = inherited
        subfolders[:] = kept
        found += [prefix + name for name in files
                  if not _ignored(prefix + name, False, inherited)]
    return sorted(found)
