"""The workflow's files: written atomically, read so that damage is one clear error.

Writing: every output goes to a temporary file beside its target and is renamed onto it
when complete (:func:`atomic_path`), so a killed job never leaves a half-written file
under an output's name.

Reading: every job reads the files other jobs wrote through these helpers. A file that is
truncated, not of its kind, or lacks an expected array or key raises
:class:`DamagedFileError`, whose one-line message names the file, what is wrong with it
and how to get a sound one back (for a file the workflow made: delete it and rerun
Snakemake, which runs the rule that writes it again); a missing one raises
:class:`MissingFileError`. Both are :class:`noisy.errors.UserError`: one line, no
traceback. Torch files are read with ``weights_only=True``: unpickling them
never runs code, whoever wrote them.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from noisy.errors import UserError
from noisy.filenames import RULES

# --- writing ---------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    The temporary name keeps the target's suffix so writers that look at it
    (numpy, matplotlib, torch) choose the right format.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give outputs the usual permissions
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Save arrays to an ``.npz`` file atomically (uncompressed, fast to load)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


# --- reading ---------------------------------------------------------------------------

# A shape: sizes that must match exactly (ints) or agree across a file's arrays (names).
Shape = tuple[int | str, ...]


RERUN = "delete it and rerun Snakemake"


def _remedies() -> dict[str, str]:
    """How to get a sound copy of each output that one rule alone writes, by file name, as
    that rule's declaration says (:mod:`noisy.filenames`); a name several rules write
    (stage.json) is left to :data:`DEFAULT_REMEDY`."""
    found: dict[str, list[str]] = {}
    for files in RULES:
        for role, name in files.outputs.items():
            found.setdefault(name, []).append(f"{RERUN}: {files.remedy(role)}")
    return {name: remedies[0] for name, remedies in found.items() if len(remedies) == 1}


REMEDIES = _remedies()
DEFAULT_REMEDY = f"{RERUN}: the job that wrote it writes it again"
REFUSED = ("refused: it holds objects other than tensors and plain values, and loading them "
           "could run code")


class DamagedFileError(UserError):
    """A file that cannot be read as what it should be: ``path``, ``problem``, ``remedy``."""

    def __init__(self, path: str | os.PathLike, problem: str, remedy: str) -> None:
        self.path, self.problem, self.remedy = Path(path), problem, remedy
        super().__init__(f"{path}: {problem}; {remedy}")


class MissingFileError(UserError):
    """A file a job reads is not there."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: no such file")


def remedy_for(path: str | os.PathLike) -> str:
    """How to get a sound copy of a workflow file, from its name."""
    return REMEDIES.get(Path(path).name, DEFAULT_REMEDY)


@contextlib.contextmanager
def _parsing(path: str | os.PathLike, kind: str, remedy: str) -> Iterator[None]:
    """Turn any failure to parse ``path`` into a :class:`DamagedFileError`."""
    try:
        open(path, "rb").close()  # a forbidden file keeps its own error
    except FileNotFoundError:
        raise MissingFileError(path) from None
    try:
        yield
    except Exception as error:  # noqa: BLE001 - parsers raise many types on damaged bytes
        # torch's weights-only unpickler names the function or class it refused to load
        refused = isinstance(error, pickle.UnpicklingError) and " GLOBAL " in str(error)
        problem = REFUSED if refused else f"unreadable: truncated or not {kind}"
        raise DamagedFileError(path, problem, remedy) from error


def _shape_problem(name: str, shape: tuple[int, ...], expected: Shape,
                   sizes: dict[str, int]) -> str | None:
    """Why ``shape`` does not fit ``expected`` (named sizes agree with ``sizes``), or None."""
    wanted = ", ".join(f"{dim}={sizes[dim]}" if dim in sizes else str(dim) for dim in expected)
    if len(shape) == len(expected) and all(
            size == sizes.setdefault(dim, size) if isinstance(dim, str) else size == dim
            for dim, size in zip(expected, shape, strict=True)):
        return None
    return f"{name} has shape {shape}, expected ({wanted})"


def read_npz(path: str | os.PathLike, shapes: Mapping[str, Shape],
             remedy: str | None = None) -> dict[str, np.ndarray]:
    """The arrays named in ``shapes`` of an ``.npz`` file, each checked against its shape."""
    remedy = remedy or remedy_for(path)
    with _parsing(path, "an .npz file", remedy), np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in shapes if name in data.files}
        held = data.files
    sizes: dict[str, int] = {}
    for name, expected in shapes.items():
        if name not in arrays:
            raise DamagedFileError(path, f"has no array '{name}' (it holds "
                                   f"{', '.join(held) or 'none'})", remedy)
        problem = _shape_problem(f"array '{name}'", arrays[name].shape, expected, sizes)
        if problem:
            raise DamagedFileError(path, problem, remedy)
    return arrays


def read_npy(path: str | os.PathLike, shape: Shape, remedy: str | None = None) -> np.ndarray:
    """The array of an ``.npy`` file, memory-mapped read-only, checked against ``shape``."""
    remedy = remedy or remedy_for(path)
    with _parsing(path, "an .npy file", remedy):
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    problem = _shape_problem("its array", array.shape, shape, {})
    if problem:
        raise DamagedFileError(path, problem, remedy)
    return array


def _require_keys(path: str | os.PathLike, content, keys: Sequence[str], remedy: str,
                  kind: str) -> None:
    if not isinstance(content, dict):
        raise DamagedFileError(path, f"holds a {type(content).__name__}, not {kind}", remedy)
    missing = [key for key in keys if key not in content]
    if missing:
        raise DamagedFileError(path, f"lacks {', '.join(repr(key) for key in missing)}", remedy)


def read_torch(path: str | os.PathLike, keys: Sequence[str] = (),
               remedy: str | None = None) -> dict:
    """A dictionary saved by ``torch.save`` holding ``keys``, loaded on the CPU with
    ``weights_only=True`` (tensors and plain values only: loading runs no code)."""
    import torch  # here: the table, figure and report jobs read JSON and need no torch

    remedy = remedy or remedy_for(path)
    with _parsing(path, "a torch file", remedy):
        content = torch.load(path, map_location="cpu", weights_only=True)
    _require_keys(path, content, keys, remedy, "a dictionary")
    return content


def read_json(path: str | os.PathLike, keys: Sequence[str] = (),
              remedy: str | None = None) -> dict:
    """A JSON object holding ``keys``."""
    remedy = remedy or remedy_for(path)
    with _parsing(path, "a JSON file", remedy):
        content = json.loads(Path(path).read_text())
    _require_keys(path, content, keys, remedy, "a JSON object")
    return content
