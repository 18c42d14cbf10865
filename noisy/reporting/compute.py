"""What the trainings behind a report cost, and where they ran.

Each entry names one training (:func:`noisy.workflow.outputs.report_trainings`): its
``role`` (supervised or student), its Snakemake ``benchmark`` file (CPU seconds in
``cpu_time``, wall seconds in ``s``) and its ``definition`` (the stage.json in which the
train job records what it ran on: ``ran_on``, the device, its name and torch's version).
Nothing else is read: not the machine the report runs on, not another run's trainings.
"""

from __future__ import annotations

import pandas as pd

from noisy.files import read_json

COMPUTE_GROUPS = {"supervised": "supervised", "student": "students"}


def hours(benchmark: str) -> tuple[float, float]:
    """CPU hours and wall hours of one Snakemake benchmark file."""
    frame = pd.read_csv(benchmark, sep="\t")
    return (pd.to_numeric(frame["cpu_time"], errors="coerce").sum() / 3600,
            pd.to_numeric(frame["s"], errors="coerce").sum() / 3600)


def compute_summary(trainings: list[dict]) -> dict:
    """Jobs, CPU hours and wall hours of the trainings, for supervised models and for
    students (``role``)."""
    groups: dict[str, dict] = {}
    for entry in sorted(trainings, key=lambda entry: list(COMPUTE_GROUPS).index(entry["role"])):
        cpu, wall = hours(entry["benchmark"])
        totals = groups.setdefault(COMPUTE_GROUPS[entry["role"]],
                                   {"jobs": 0, "cpu_hours": 0.0, "wall_hours": 0.0})
        totals["jobs"] += 1
        totals["cpu_hours"] += cpu
        totals["wall_hours"] += wall
    return groups


def ran_on(entry: dict) -> dict | None:
    """What a training ran on (its stage.json's ``ran_on``); None for a training that
    predates the record."""
    return read_json(entry["definition"]).get("ran_on")


def _device_text(where: dict) -> str:
    return f"{where['device']} ({where['name']}), torch {where['torch']}"


def devices(trainings: list[dict]) -> dict[str | None, int]:
    """Trainings per device they ran on (device, name and torch version as text; None for
    the trainings that predate the record)."""
    counted: dict[str | None, int] = {}
    for entry in trainings:
        where = ran_on(entry)
        text = None if where is None else _device_text(where)
        counted[text] = counted.get(text, 0) + 1
    return counted


def gpu_hours(trainings: list[dict]) -> float | None:
    """Wall hours of the trainings that ran on a GPU (each held one); None if none did."""
    on_gpu = [entry for entry in trainings
              if (ran_on(entry) or {}).get("device", "").startswith("cuda")]
    return sum(hours(entry["benchmark"])[1] for entry in on_gpu) if on_gpu else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def compute_lines(trainings: list[dict]) -> list[str]:
    """The report's sentences on the trainings' hours: in all, per role, on GPUs."""
    groups = compute_summary(trainings)
    if not groups:
        return ["No training job is behind the reported tables."]
    cpu = sum(g["cpu_hours"] for g in groups.values())
    wall = sum(g["wall_hours"] for g in groups.values())
    jobs = sum(g["jobs"] for g in groups.values())
    lines = [f"{_plural(jobs, 'benchmarked training job')}: **{cpu:.2f} CPU hours**, "
             f"**{wall:.2f} wall hours** ("
             + "; ".join(f"{name}: {g['jobs']} jobs, {g['cpu_hours']:.2f} CPU h, "
                         f"{g['wall_hours']:.2f} wall h" for name, g in groups.items()) + ")."]
    gpu = gpu_hours(trainings)
    if gpu is not None:
        lines.append(f"GPU hours ≈ wall hours of the trainings that ran on a GPU, each of "
                     f"which held one: **{gpu:.2f} GPU hours**.")
    return lines


def device_line(trainings: list[dict]) -> str:
    """Where the trainings ran, as their stage.json files record it."""
    counted = devices(trainings)
    if not counted:
        return "no training"
    unrecorded = counted.pop(None, 0)
    parts = [f"{where}: {_plural(count, 'training')}" for where, count in counted.items()]
    if unrecorded:
        parts.append(f"{_plural(unrecorded, 'training')} not recorded (trained before the train "
                     "job wrote `ran_on` into its stage.json)")
    return "; ".join(parts)
