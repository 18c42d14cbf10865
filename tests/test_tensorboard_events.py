"""TensorBoard event files of a training's history (config `tensorboard`, optional)."""

import csv

import pytest

from noisy.errors import UserError
from noisy.method import tensorboard_events
from noisy.method.tensorboard_events import TAGS, TensorBoardHistory

event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """Every scalar TensorBoard shows for ``folder``, as (step, value) by tag."""
    accumulator = event_accumulator.EventAccumulator(str(folder))
    accumulator.Reload()
    return {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
            for tag in accumulator.Tags()["scalars"]}


def test_a_trainings_event_files_hold_its_history(tmp_path):
    from test_training import ARCH, SETTINGS, tiny_problem

    from noisy.method.device import use_device
    from noisy.method.training import TrainSettings, train

    images, targets, test_x, test_y = tiny_problem()
    with TensorBoardHistory(tmp_path / "events") as watcher:
        train(ARCH, TrainSettings(**SETTINGS), images, targets, test_x, test_y,
              tmp_path / "model.pt", tmp_path / "history.csv", tmp_path / "state.pt",
              device=use_device("cpu", 1), on_history_row=watcher)
    with open(tmp_path / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    shown = scalars(tmp_path / "events")
    assert set(shown) == set(TAGS)
    for tag, column in TAGS.items():
        assert [step for step, _ in shown[tag]] == [int(row["epoch"]) for row in history]
        assert [value for _, value in shown[tag]] == pytest.approx(
            [float(row[column]) for row in history], rel=1e-6)


def row(epoch: int, value: float) -> dict:
    return {column: value for column in TAGS.values()} | {"epoch": epoch}


def test_a_resumed_training_hides_what_its_killed_attempt_logged_after_its_state(tmp_path):
    with TensorBoardHistory(tmp_path) as killed:
        for epoch in (1, 2, 3):
            killed(row(epoch, 1.0))
    with TensorBoardHistory(tmp_path) as resumed:  # its saved state was at epoch 1
        for epoch in (2, 3, 4):
            resumed(row(epoch, 2.0))
    assert scalars(tmp_path)["test/accuracy"] == [(1, 1.0), (2, 2.0), (3, 2.0), (4, 2.0)]


def test_without_the_package_it_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(tensorboard_events.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"pip install -e '\.\[tensorboard\]'"):
        TensorBoardHistory(tmp_path)


def test_the_train_job_writes_events_beside_its_model_only_when_asked(tmp_path, monkeypatch):
    from noisy.jobs import train as train_job

    monkeypatch.delenv(tensorboard_events.ENVIRONMENT_VARIABLE, raising=False)
    assert not isinstance(train_job._history_watcher(str(tmp_path / "model.pt")),
                          TensorBoardHistory)
    monkeypatch.setenv(tensorboard_events.ENVIRONMENT_VARIABLE, "1")
    watcher = train_job._history_watcher(str(tmp_path / "model.pt"))
    assert isinstance(watcher, TensorBoardHistory) and watcher.folder == f"{tmp_path}/events"
