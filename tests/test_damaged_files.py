"""A damaged workflow file stops its job with one line naming the file, what is wrong and
the fix; a damaged or planted training state is set aside with a warning, never run."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_canonical_dataset

import noisy.files
from noisy import cli, filenames
from noisy.files import DamagedFileError, remedy_for, save_npz, write_json
from noisy.method.device import use_device
from noisy.method.models import Architecture, build_model, load_checkpoint, save_model
from noisy.method.robustness import load_corruption, robustness_subset
from noisy.method.split import make_split, save_split
from noisy.method.training import TrainSettings, train

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck")


def truncated(path: Path) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def random_bytes(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(4000))


def a_text_file(path: Path) -> None:
    path.write_text("these are not the bytes you are looking for\n")


DAMAGES = {"truncated": truncated, "random bytes": random_bytes, "a text file": a_text_file}


@pytest.fixture
def results(tmp_path: Path) -> dict[str, Path]:
    """Sound files of every kind a job reads, written by the workflow's own writers."""
    root = tmp_path / "results"
    files = {"cifar10.npz": root / "data" / "cifar10.npz",
             "cifar10.json": root / "data" / "cifar10.json",
             "split.npz": root / "splits" / "s" / "split.npz",
             "split.json": root / "splits" / "s" / "split.json",
             "model.pt": root / "models" / "m" / "model.pt",
             "stage.json": root / "models" / "m" / "stage.json",
             "predictions.npz": root / "models" / "m" / "predictions.npz",
             "eval.json": root / "models" / "m" / "eval-all" / "eval.json",
             "robustness.json": root / "models" / "m" / "robustness-r" / "robustness.json",
             "candidates.npz": root / "pseudo_labels" / "p" / "candidates.npz",
             "candidates.json": root / "pseudo_labels" / "p" / "candidates.json",
             "trainset.npz": root / "trainsets" / "t" / "trainset.npz",
             "trainset.json": root / "trainsets" / "t" / "trainset.json",
             "cifar10_c": root / "robustness" / "c" / "gaussian_noise.npy",
             "cifar10_p": root / "robustness" / "p" / "translate.npy"}
    dataset = make_canonical_dataset(files["cifar10.npz"], 2, 2, CLASSES)
    write_json(files["cifar10.json"], {"source": {"kind": "synthetic"}})
    split = make_split(dataset.train_labels, 0.5, 0, "random")
    save_split(split, files["split.npz"])
    write_json(files["split.json"], split.summary())
    save_model(build_model(Architecture()), files["model.pt"], role="supervised")
    write_json(files["stage.json"], {"stage": "train", "inputs": {"split": "split.npz"}})
    files["stage.json"].with_name("benchmark.tsv").write_text("s\tcpu_time\n60.0\t120.0\n")
    save_npz(files["predictions.npz"], indices=split.unlabeled,
             probs=np.eye(10, dtype=np.float32)[dataset.train_labels[split.unlabeled]])
    assert cli.main(["select", "--data", str(files["cifar10.npz"]), "--split",
                     str(files["split.npz"]), "--predictions", str(files["predictions.npz"]),
                     "--settings", '{"threshold": 0.5, "label_type": "hard"}',
                     "--out", str(files["candidates.npz"]),
                     "--summary", str(files["candidates.json"])]) == 0
    assert cli.main(["balance", "--candidates", str(files["candidates.npz"]),
                     "--settings", '{"min_per_class": 2, "max_gap": 1}',
                     "--out", str(files["trainset.npz"]),
                     "--summary", str(files["trainset.json"])]) == 0
    write_json(files["eval.json"], {"top1": 50.0, "top5": 90.0, "params": 1})
    write_json(files["robustness.json"], {"top1": 50.0, "fgsm": {
        "epsilons": [0.0], "accuracy": [50.0], "accuracy_unchanged": [50.0], "n": 10}})
    robust = len(robustness_subset(dataset.test_labels, 1))
    for kind in ("cifar10_c", "cifar10_p"):
        files[kind].parent.mkdir(parents=True, exist_ok=True)
    np.save(files["cifar10_c"], np.zeros((5 * robust, 32, 32, 3), np.uint8))
    np.save(files["cifar10_p"], np.zeros((robust, 3, 32, 32, 3), np.uint8))
    return files


def command(results: dict[str, Path], kind: str, out: Path) -> list[str]:
    """The command line of a job that reads the file of ``kind``."""
    files = {name: str(path) for name, path in results.items()}
    teacher = {"seed": 0, "role": "teacher", "experiment": "", "network": "resnet20",
               "train_images": 10, "files": {"eval": files["eval.json"]}}
    student = {**teacher, "role": "student", "experiment": "hard",
               "files": {"eval": files["eval.json"], "trainset": files["trainset.json"]}}
    yardstick = {**teacher, "role": "yardstick"}
    counts = {"keys": {"label_type": "teacher", "network": "resnet20"}, "seed": 0,
              "files": {"counts": files["candidates.json"]}}
    supervised = {"keys": {"network": "resnet20"}, "seed": 0,
                  "files": {"eval": files["eval.json"], "split": files["split.json"]}}
    device = ["--device", "cpu", "--threads", "1"]
    robustness = {"test_per_class": None, "fgsm_per_class": 1, "fgsm_epsilons": [0.0],
                  "robustness_per_class": 1, "official": False}
    trainings = [{"role": "supervised", "definition": files["stage.json"],
                  "benchmark": str(results["stage.json"].with_name("benchmark.tsv"))}]
    report = ["report", "--data-summary", files["cifar10.json"], "--tables", "[]",
              "--figures", "[]", "--confusions", "[]", "--trainings", json.dumps(trainings),
              "--out", str(out / "report.md"), "--html", str(out / "report.html")]
    evaluate_robustness = [
        "evaluate-robustness", "--data", files["cifar10.npz"], "--model", files["model.pt"],
        "--settings", json.dumps(robustness), "--corruptions", files["cifar10_c"],
        "--perturbations", files["cifar10_p"], "--out", str(out / "r.json"), *device]
    return {
        "cifar10.npz": ["split", "--data", files["cifar10.npz"], "--out", str(out / "split.npz"),
                        "--summary", str(out / "split.json"),
                        "--settings", json.dumps({"train_per_class": None, "seed": 0,
                                                  "labeled_ratio": 0.5, "mode": "random"})],
        "split.npz": ["predict", "--data", files["cifar10.npz"], "--split", files["split.npz"],
                      "--model", files["model.pt"], "--out", str(out / "p.npz"), *device],
        "model.pt": ["evaluate", "--data", files["cifar10.npz"], "--model", files["model.pt"],
                     "--settings", '{"test_per_class": null}', "--out", str(out / "e.json"),
                     *device],
        "predictions.npz": ["select", "--data", files["cifar10.npz"], "--split",
                            files["split.npz"], "--predictions", files["predictions.npz"],
                            "--settings", '{"threshold": 0.5, "label_type": "hard"}',
                            "--out", str(out / "candidates.npz"),
                            "--summary", str(out / "candidates.json")],
        "candidates.npz": ["balance", "--candidates", files["candidates.npz"], "--settings",
                           '{"min_per_class": 2, "max_gap": 1}', "--out", str(out / "t.npz"),
                           "--summary", str(out / "t.json")],
        "trainset.npz": ["train", "--data", files["cifar10.npz"], "--trainset",
                         files["trainset.npz"], "--state", str(out / "state.pt"),
                         "--out", str(out / "model.pt"), "--history", str(out / "h.csv"),
                         "--settings", '{"arch": {"network": "resnet20"}, "monitor_test_size": '
                         '4, "train": {"budget_images": 12, "batch_size": 8}}', *device[2:]],
        "cifar10_c": evaluate_robustness,
        "cifar10_p": evaluate_robustness,
        "eval.json": ["self-training-check", "--rows", json.dumps([teacher]),
                      "--out", str(out / "s.csv")],
        "trainset.json": ["self-training-check", "--rows",
                          json.dumps([teacher, student, yardstick]), "--out", str(out / "s.csv")],
        "split.json": ["table", "--name", "table1", "--rows", json.dumps([supervised]),
                       "--out", str(out / "table1.csv")],
        "candidates.json": ["table", "--name", "table4", "--rows", json.dumps([counts]),
                            "--out", str(out / "table4.csv")],
        "robustness.json": ["figure1", "--entries", json.dumps([{
            "label": "hard", "seed": 0, "path": files["robustness.json"]}]),
            "--out", str(out / "f.png"), "--csv", str(out / "f.csv")],
        "cifar10.json": report,
        "stage.json": report,
    }[kind]


def rerun(rule: str) -> str:
    return f"delete it and rerun Snakemake: rule {rule} writes it again"


# What each kind of file's message tells the user to do.
REMEDIES = {
    "cifar10.npz": "delete it and rerun Snakemake: rule prepare_data makes it again from the "
                   "data source",
    "split.npz": rerun("split"),
    "split.json": rerun("split"),
    "model.pt": "delete it and rerun Snakemake: the training's kept final state (state.pt "
                "beside it) rewrites the model without training",
    "predictions.npz": rerun("predict"),
    "candidates.npz": rerun("select_pseudo_labels"),
    "trainset.npz": rerun("balance_classes"),
    "cifar10_c": rerun("generate_corruption"),
    "cifar10_p": rerun("generate_perturbation"),
    "eval.json": rerun("evaluate"),
    "trainset.json": rerun("balance_classes"),
    "candidates.json": rerun("select_pseudo_labels"),
    "robustness.json": rerun("evaluate_robustness"),
    "cifar10.json": rerun("prepare_data"),
    "stage.json": "delete it and rerun Snakemake: the job that wrote it writes it again",
}


def run_job(results: dict[str, Path], kind: str, tmp_path: Path, caplog) -> str:
    """Run the job that reads ``kind``; it must fail with one logged line; return that."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    caplog.clear()
    with caplog.at_level("ERROR", logger="noisy"):
        assert cli.main(command(results, kind, out)) == 1
    (line,) = [record.getMessage() for record in caplog.records]
    assert "\n" not in line
    return line


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("kind", REMEDIES)
def test_a_damaged_file_stops_its_job_with_one_line_naming_the_file_and_the_fix(
        results, kind, damage, tmp_path, caplog):
    DAMAGES[damage](results[kind])
    line = run_job(results, kind, tmp_path, caplog)
    assert line.startswith(f"DamagedFileError: {results[kind]}: unreadable: truncated or not ")
    assert line.endswith(REMEDIES[kind])


def test_the_sound_files_pass_every_job(results, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for kind in REMEDIES:
        assert cli.main(command(results, kind, out)) == 0, kind


def test_the_remedies_are_built_from_the_declared_files():
    """Every output one rule alone writes (noisy.filenames) has a remedy of its own, the one
    above where a job reads it; a name several rules write (stage.json) the default."""
    writers = Counter(name for files in filenames.RULES for name in files.outputs.values())
    assert set(noisy.files.REMEDIES) == {name for name, count in writers.items() if count == 1}
    assert writers[filenames.DEFINITION] > 1
    for name, remedy in REMEDIES.items():
        if name in writers:
            assert remedy_for(f"results/x/{name}") == remedy, name


def test_a_file_without_an_expected_array_or_key_names_what_it_lacks(results, tmp_path,
                                                                      caplog):
    candidates = np.load(results["trainset.npz"])
    save_npz(results["trainset.npz"], indices=candidates["indices"],
             targets=candidates["targets"], is_labeled=candidates["is_labeled"])
    assert run_job(results, "trainset.npz", tmp_path, caplog) == (
        f"DamagedFileError: {results['trainset.npz']}: has no array 'teacher_confidence' (it "
        "holds indices, targets, is_labeled); delete it and rerun Snakemake: rule "
        "balance_classes writes it again")
    results["eval.json"].write_text('{"top1": 50.0}')
    assert run_job(results, "eval.json", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['eval.json']}: lacks 'top5'; ")
    results["eval.json"].write_text("[50.0, 90.0]")
    assert run_job(results, "eval.json", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['eval.json']}: holds a list, not a JSON object; ")


def test_arrays_of_the_wrong_shape_are_named_with_the_shape_expected(results, tmp_path, caplog):
    save_npz(results["predictions.npz"], indices=np.arange(5), probs=np.ones((4, 10)))
    assert run_job(results, "predictions.npz", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['predictions.npz']}: array 'probs' has shape (4, 10), "
        "expected (n=5, k); ")
    np.save(results["cifar10_c"], np.zeros((7, 32, 32, 3), np.uint8))
    assert run_job(results, "cifar10_c", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['cifar10_c']}: holds 7 images, expected 5 severities of "
        "10 test images; ")


def test_an_official_cifar10_c_file_too_short_asks_for_a_sound_copy(tmp_path):
    path = tmp_path / "fog.npy"
    np.save(path, np.zeros((5 * 8, 32, 32, 3), np.uint8))
    with pytest.raises(DamagedFileError, match="holds 40 images, expected 5 severities of at "
                       "least 10 test images; replace it with a sound copy of the official "
                       "CIFAR-10-C file"):
        load_corruption(path, np.arange(10), official=True)


def test_a_model_whose_weights_do_not_fit_its_architecture_is_named(results, tmp_path, caplog):
    payload = torch.load(results["model.pt"], weights_only=True)
    payload["arch"]["network"] = "resnet26"
    torch.save(payload, results["model.pt"])
    assert run_job(results, "model.pt", tmp_path, caplog) == (
        f"DamagedFileError: {results['model.pt']}: its weights do not fit its architecture; "
        + REMEDIES["model.pt"])
    torch.save(torch.zeros(3), results["model.pt"])
    assert run_job(results, "model.pt", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['model.pt']}: holds a Tensor, not a dictionary; ")


class RunsCode:
    """Unpickled, it runs a shell command: what a planted file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_a_model_that_would_run_code_is_refused_unread(results, tmp_path, caplog):
    marker = tmp_path / "code-ran"
    torch.save({"arch": {}, "state_dict": {}, "metadata": RunsCode(marker)}, results["model.pt"])
    assert run_job(results, "model.pt", tmp_path, caplog).startswith(
        f"DamagedFileError: {results['model.pt']}: refused: it holds objects other than tensors "
        "and plain values, and loading them could run code; ")
    assert not marker.exists()
    with pytest.raises(DamagedFileError, match="refused"):
        load_checkpoint(results["model.pt"])
    assert not marker.exists()


# --------------------------------------------------------------------- the training state

def tiny_problem(n: int = 32) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return images, np.eye(10, dtype=np.float32)[labels], images[:8], labels[:8]


SETTINGS = TrainSettings(budget_images=64, batch_size=16, seed=1, checkpoint_interval_s=0)


def run_training(folder: Path) -> dict:
    images, targets, test_x, test_y = tiny_problem()
    return train(Architecture(), SETTINGS, images, targets, test_x, test_y,
                 folder / "model.pt", folder / "history.csv", folder / "state.pt",
                 device=use_device("cpu", 1))


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory) -> Path:
    """A finished training: its model, history and final state."""
    folder = tmp_path_factory.mktemp("undisturbed")
    run_training(folder)
    return folder


def plant_state(undisturbed: Path, folder: Path, damage) -> Path:
    """The undisturbed run's final state, damaged, as ``folder``'s state."""
    state = folder / "state.pt"
    folder.mkdir()
    shutil.copy(undisturbed / "state.pt", state)
    damage(state)
    return state


def assert_trained_from_zero(undisturbed: Path, folder: Path, caplog) -> None:
    assert "resuming" not in caplog.text and "already finished" not in caplog.text
    history = (folder / "history.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in history] == ["1", "2"]
    expected = load_checkpoint(undisturbed / "model.pt")[0].state_dict()
    for key, value in load_checkpoint(folder / "model.pt")[0].state_dict().items():
        assert torch.equal(value, expected[key]), key


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_state_is_set_aside_with_a_warning_and_training_starts_from_zero(
        undisturbed, damage, tmp_path, caplog):
    folder = tmp_path / "run"
    state = plant_state(undisturbed, folder, DAMAGES[damage])
    damaged = state.read_bytes()
    with caplog.at_level("INFO", logger="noisy"):
        run_training(folder)
    assert (f"training state {state} set aside as state.pt.stale, training starts from zero: "
            "unreadable: truncated or not a torch file") in caplog.text
    assert (folder / "state.pt.stale").read_bytes() == damaged
    assert_trained_from_zero(undisturbed, folder, caplog)


def test_a_state_of_other_settings_is_set_aside_with_its_fingerprint_named(
        undisturbed, tmp_path, caplog):
    folder = tmp_path / "run"
    state = plant_state(undisturbed, folder, lambda path: torch.save(
        {**torch.load(path, weights_only=True), "fingerprint": "0" * 64}, path))
    with caplog.at_level("INFO", logger="noisy"):
        run_training(folder)
    assert (f"training state {state} set aside as state.pt.stale, training starts from zero: "
            "its settings or data differ from this job's (fingerprint 000000000000, this "
            "job's ") in caplog.text
    assert_trained_from_zero(undisturbed, folder, caplog)


def test_a_planted_state_that_would_run_code_is_refused_and_never_run(undisturbed, tmp_path,
                                                                      caplog):
    marker = tmp_path / "code-ran"
    folder = tmp_path / "run"
    real = torch.load(undisturbed / "state.pt", weights_only=True)
    state = plant_state(undisturbed, folder, lambda path: torch.save(
        {**real, "history": RunsCode(marker)}, path))
    with caplog.at_level("INFO", logger="noisy"):
        run_training(folder)
    assert not marker.exists()
    assert (f"training state {state} set aside as state.pt.stale, training starts from zero: "
            "refused: it holds objects other than tensors and plain values, and loading them "
            "could run code") in caplog.text
    assert_trained_from_zero(undisturbed, folder, caplog)
    # The planted file does run code when unpickled without weights_only: the threat is real.
    torch.load(folder / "state.pt.stale", weights_only=False)
    assert marker.exists()
