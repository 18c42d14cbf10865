import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import noisy.method.resume as resume
import noisy.method.training as training
from noisy import cli
from noisy.errors import SettingsError, UserError
from noisy.files import read_json
from noisy.method.augment import TrainAugment
from noisy.method.balancing import balance
from noisy.method.data import load
from noisy.method.device import HostSyncError, no_host_sync, use_device
from noisy.method.models import Architecture, build_model, load_checkpoint, load_model
from noisy.method.progress import Stopwatch
from noisy.method.pseudo_labels import select
from noisy.method.resume import JobLockedError, exclusive_lock
from noisy.method.split import make_split, save_split
from noisy.method.training import (
    TrainSettings,
    epochs_for_budget,
    lr_milestone_steps,
    monitored_epochs,
    train,
    train_step,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("budget,size,epochs", [(5_000_000, 5_000, 1000),
                                                (15_000_000, 43_626, 344),
                                                (10_000_000, 50_000, 200),
                                                (1, 10, 1), (11, 10, 2)])
def test_epochs_are_the_budget_over_the_set_size_rounded_up(budget, size, epochs):
    assert epochs_for_budget(budget, size) == epochs


def test_budget_and_size_must_be_positive():
    with pytest.raises(SettingsError):
        epochs_for_budget(0, 10)
    with pytest.raises(UserError):
        epochs_for_budget(10, 0)


def test_learning_rate_drops_at_half_and_three_quarters():
    assert lr_milestone_steps(10000, (0.5, 0.75)) == [5000, 7500]
    assert lr_milestone_steps(30, (0.5, 0.75)) == [15, 22]


@pytest.mark.parametrize("epochs,count,expected", [(4, 50, {1, 2, 3, 4}),
                                                   (1000, 50, set(range(20, 1001, 20))),
                                                   (10, 3, {4, 7, 10}), (7, 1, {7})])
def test_monitored_epochs_are_evenly_spaced_and_include_the_last(epochs, count, expected):
    assert monitored_epochs(epochs, count) == expected


def tiny_problem(n=48, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    images[..., 0] = (labels * 25)[:, None, None]  # a learnable signal
    targets = np.eye(10, dtype=np.float32)[labels]
    return images, targets, images[:16], labels[:16]


SETTINGS = dict(budget_images=48 * 4, batch_size=16, seed=3, checkpoint_interval_s=0)
ARCH = Architecture(network="resnet20", final_survival=0.8, dropout=0.5)


def run_training(tmp_path: Path, name: str, **overrides):
    images, targets, test_x, test_y = tiny_problem()
    settings = TrainSettings(**{**SETTINGS, **overrides})
    out = tmp_path / name
    summary = train(ARCH, settings, images, targets, test_x, test_y, out / "model.pt",
                    out / "history.csv", out / "state.pt", device=use_device("cpu", 1))
    return out, summary


def weights(path: Path) -> dict:
    return load_model(path).state_dict()


def test_training_writes_model_history_and_keeps_its_final_state(tmp_path):
    out, summary = run_training(tmp_path, "run")
    assert summary["epochs"] == 4
    assert (out / "model.pt").exists()
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",") == list(training.HISTORY_COLUMNS)
    assert len(history) == 5
    state = torch.load(out / "state.pt", weights_only=True)  # plain values: no code runs
    assert state["finished"] and state["epoch"] == 4


def test_a_finished_job_whose_outputs_were_deleted_rewrites_them_without_training(
        tmp_path, monkeypatch, caplog):
    """SLURM may record a job that finished just after its time limit as TIMEOUT, and
    Snakemake then deletes its outputs: the retry must not train again."""
    out, _ = run_training(tmp_path, "run", mixup_alpha=1.0)
    model_bytes = weights(out / "model.pt")
    history = (out / "history.csv").read_text()
    (out / "model.pt").unlink()
    (out / "history.csv").unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished job trained again")

    monkeypatch.setattr(training, "sgd_step", no_training)
    with caplog.at_level("INFO", logger="noisy.method.training"):
        _, summary = run_training(tmp_path, "run", mixup_alpha=1.0)
    assert "training already finished" in caplog.text and "no epoch trained" in caplog.text
    assert summary["epochs"] == 4
    assert (out / "history.csv").read_text() == history
    for key, value in weights(out / "model.pt").items():
        assert torch.equal(value, model_bytes[key]), key


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_same_config_and_seed_give_the_same_weights(tmp_path, precision):
    first, _ = run_training(tmp_path, "a", precision=precision)
    second, _ = run_training(tmp_path, "b", precision=precision)
    for key, value in weights(first / "model.pt").items():
        assert torch.equal(value, weights(second / "model.pt")[key]), key


def test_bf16_trains_its_forward_pass_in_bf16_and_keeps_fp32_weights(tmp_path):
    fp32, _ = run_training(tmp_path, "fp32")
    bf16, _ = run_training(tmp_path, "bf16", precision="bf16")
    fp32_weights, bf16_weights = weights(fp32 / "model.pt"), weights(bf16 / "model.pt")
    assert all(value.dtype == fp32_weights[key].dtype for key, value in bf16_weights.items())
    assert not torch.equal(fp32_weights["fc.weight"], bf16_weights["fc.weight"])
    model = training.build_model(ARCH)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    inputs, targets = torch.randn(4, 3, 32, 32), torch.eye(10)[:4]
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        loss, logits = training.sgd_step(model, optimizer, inputs, targets,
                                         torch.device("cpu"), precision)
        assert logits.dtype == dtype and loss.dtype == torch.float32


def test_a_training_settings_precision_is_resolved_before_it_reaches_the_job():
    with pytest.raises(SettingsError, match="auto is resolved by the plan"):
        TrainSettings(budget_images=10, precision="auto")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_interrupted_training_resumes_to_identical_weights(tmp_path, monkeypatch, precision):
    reference, _ = run_training(tmp_path, "reference", mixup_alpha=1.0, precision=precision)
    saved = []
    real_save_state = resume.save_state

    def save_then_crash(path, state):
        real_save_state(path, state)
        saved.append(state["epoch"])
        if state["epoch"] == 2:
            raise KeyboardInterrupt  # like Ctrl-C right after epoch 2 was saved

    monkeypatch.setattr(resume, "save_state", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        run_training(tmp_path, "resumed", mixup_alpha=1.0, precision=precision)
    assert (tmp_path / "resumed" / "state.pt").exists()
    assert not (tmp_path / "resumed" / "model.pt").exists()
    monkeypatch.setattr(resume, "save_state", real_save_state)
    _, summary = run_training(tmp_path, "resumed", mixup_alpha=1.0, precision=precision)
    assert summary["epochs"] == 4
    for key, value in weights(reference / "model.pt").items():
        assert torch.equal(value, weights(tmp_path / "resumed" / "model.pt")[key]), key
    history = (tmp_path / "resumed" / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2", "3", "4"]


def test_a_changed_budget_never_resumes_a_stale_state(tmp_path, monkeypatch):
    original = resume.save_state

    def crash_after_first_epoch(path, state):
        original(path, state)
        raise KeyboardInterrupt

    monkeypatch.setattr(resume, "save_state", crash_after_first_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_training(tmp_path, "run")
    monkeypatch.setattr(resume, "save_state", original)
    _, summary = run_training(tmp_path, "run", budget_images=48 * 2)
    assert summary["epochs"] == 2
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    assert len(history) == 3
    assert (tmp_path / "run" / "state.pt.stale").exists()


def test_a_second_copy_of_a_running_job_fails_clearly(tmp_path):
    with exclusive_lock(tmp_path / "state.pt"):
        with pytest.raises(JobLockedError, match="another copy of this training job"):
            run_training(tmp_path, ".", budget_images=48)


KILLABLE_RUN = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from tests.test_training import ARCH, tiny_problem
from noisy.method.augment import TrainAugment
from noisy.method.device import HostSyncError, no_host_sync, use_device
from noisy.method.training import TrainSettings, train
images, targets, test_x, test_y = tiny_problem()
settings = TrainSettings(budget_images=48 * {epochs}, batch_size=16, seed=3,
                         checkpoint_interval_s=0)
out = {out!r}
train(ARCH, settings, images, targets, test_x, test_y, out + "/model.pt",
      out + "/history.csv", out + "/state.pt", device=use_device("cpu", 1))
"""


def test_kill_minus_nine_then_rerun_gives_identical_weights(tmp_path):
    epochs = 12
    script = KILLABLE_RUN.format(root=str(ROOT), epochs=epochs, out=str(tmp_path / "killed"))
    (tmp_path / "killed").mkdir()
    process = subprocess.Popen([sys.executable, "-c", script])
    state = tmp_path / "killed" / "state.pt"
    deadline = time.time() + 120
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert state.exists() and not (tmp_path / "killed" / "model.pt").exists()
    subprocess.run([sys.executable, "-c", script], check=True)
    reference, _ = run_training(tmp_path, "reference", budget_images=48 * epochs)
    for key, value in weights(reference / "model.pt").items():
        assert torch.equal(value, weights(tmp_path / "killed" / "model.pt")[key]), key


def test_the_paper_pil_input_pipeline_trains_and_is_repeatable(tmp_path):
    first, summary = run_training(tmp_path, "pil_a", input_pipeline="pil", budget_images=48)
    second, _ = run_training(tmp_path, "pil_b", input_pipeline="pil", budget_images=48)
    assert summary["epochs"] == 1
    for key, value in weights(first / "model.pt").items():
        assert torch.equal(value, weights(second / "model.pt")[key]), key


SIGTERM_RUN = """
import logging
import sys
import time
sys.path.insert(0, {root!r})
import noisy.method.training as training
from noisy.method.augment import TrainAugment
from noisy.method.device import HostSyncError, no_host_sync, use_device
from tests.test_training import ARCH, tiny_problem
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
real_step = training.sgd_step
steps = []


def slow_step(*args):
    result = real_step(*args)
    steps.append(1)
    print("step", len(steps), flush=True)
    time.sleep(0.3)  # leaves the parent time to send SIGTERM mid-epoch
    return result


training.sgd_step = slow_step
images, targets, test_x, test_y = tiny_problem()
settings = training.TrainSettings(budget_images=48 * 2, batch_size=4, seed=3,
                                  mixup_alpha=1.0, checkpoint_interval_s=3600)
out = {out!r}
training.train(ARCH, settings, images, targets, test_x, test_y, out + "/model.pt",
               out + "/history.csv", out + "/state.pt", device=use_device("cpu", 1))
"""


def test_sigterm_saves_at_the_next_step_and_the_rerun_resumes_mid_epoch(tmp_path):
    out = tmp_path / "terminated"
    out.mkdir()
    script = SIGTERM_RUN.format(root=str(ROOT), out=str(out))
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for line in process.stdout:
        if line.strip() == "step 3":  # of 12 steps per epoch, 2 epochs
            process.send_signal(signal.SIGTERM)
            break
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "saved the training state at epoch 1, step 3/12" in stderr, stderr
    assert (out / "state.pt").exists() and not (out / "model.pt").exists()

    rerun = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True)
    assert "mid-epoch at epoch 1/2, step 3/12" in rerun.stderr, rerun.stderr
    assert rerun.stdout.split()[-1] == "21"  # the 9 + 12 steps left, none redone
    reference, _ = run_training(tmp_path, "reference", budget_images=48 * 2, batch_size=4,
                                mixup_alpha=1.0)
    for key, value in weights(reference / "model.pt").items():
        assert torch.equal(value, weights(out / "model.pt")[key]), key
    timing = slice(0, 6)  # the history without images/s and wall time
    ours = [line.split(",")[timing] for line in (out / "history.csv").read_text().splitlines()]
    expected = [line.split(",")[timing]
                for line in (reference / "history.csv").read_text().splitlines()]
    assert ours == expected


STAGE_SETTINGS = ('{"arch": {"network": "resnet20"}, "monitor_test_size": 4, "train": '
                  '{"budget_images": 12, "batch_size": 8, "seed": 1}}')


def _train_command(tmp_path: Path, data: Path, source: list[str], name: str) -> list[str]:
    out = tmp_path / name
    return ["train", "--data", str(data), *source, "--settings", STAGE_SETTINGS,
            "--definition", str(out / "stage.json"),
            "--state", str(out / "state.pt"), "--device", "cpu", "--threads", "1",
            "--checkpoint-interval-s", "0",
            "--out", str(out / "model.pt"), "--history", str(out / "history.csv")]


def test_the_train_job_trains_on_a_splits_labeled_part_or_a_students_set(tmp_path,
                                                                           tiny_data):
    dataset = load(tiny_data)
    split = make_split(dataset.train_labels, 0.5, 0, "random")
    save_split(split, tmp_path / "split.npz")
    probs = np.eye(3, dtype=np.float32)[dataset.train_labels[split.unlabeled]]
    candidates = select(probs, split.unlabeled, split.labeled,
                        dataset.train_labels[split.labeled], 0.5, "hard")
    balance(candidates, 3, 6, 2).save(tmp_path / "trainset.npz")

    assert cli.main(_train_command(tmp_path, tiny_data, ["--split", str(tmp_path / "split.npz")],
                                   "supervised")) == 0
    _, metadata = load_checkpoint(tmp_path / "supervised" / "model.pt")
    assert metadata == {"role": "supervised", "seed": 1}
    assert cli.main(_train_command(tmp_path, tiny_data,
                                   ["--trainset", str(tmp_path / "trainset.npz")],
                                   "student")) == 0
    _, metadata = load_checkpoint(tmp_path / "student" / "model.pt")
    assert metadata == {"role": "student", "seed": 1}
    # Where it ran is recorded beside its definition, for the report's compute accounting.
    ran_on = read_json(tmp_path / "student" / "stage.json")["ran_on"]
    assert ran_on["device"] == "cpu" and ran_on["torch"] == torch.__version__


def test_the_train_job_takes_exactly_one_training_set(tmp_path, tiny_data, capsys):
    for source in ([], ["--split", "s.npz", "--trainset", "t.npz"]):
        with pytest.raises(SystemExit):
            cli.main(_train_command(tmp_path, tiny_data, source, "run"))
    assert "one of the arguments --split --trainset is required" in capsys.readouterr().err


@pytest.mark.parametrize("mixup_alpha", [0.0, 0.4])
def test_a_training_step_never_waits_for_the_device(mixup_alpha):
    """The step a training job runs (batched augmentation, mixup, SGD in bf16 autocast)
    makes no call that synchronises on a GPU; the GPU check runs it under CUDA's own
    sync debug mode too."""
    images, targets, _, _ = tiny_problem()
    cpu = torch.device("cpu")
    images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    targets = torch.from_numpy(targets)
    settings = TrainSettings(budget_images=16, batch_size=16, mixup_alpha=mixup_alpha,
                             precision="bf16")
    model = build_model(ARCH)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    augment = TrainAugment(2, 27, grouped=False)
    generator = torch.Generator().manual_seed(0)
    batch = torch.arange(16)
    train_step(model, optimizer, augment, images, targets, batch, generator, settings, cpu)
    with no_host_sync(cpu):
        loss_sum, correct = train_step(model, optimizer, augment, images, targets, batch,
                                       generator, settings, cpu)
    assert loss_sum.item() > 0 and 0 <= correct.item() <= 16
    with pytest.raises(HostSyncError, match="item"), no_host_sync(cpu):
        loss_sum.item()


def test_the_stopwatch_counts_only_its_stretches():
    clock = Stopwatch(torch.device("cpu"), seconds=1.0)
    clock.start()
    time.sleep(0.05)
    clock.stop()
    time.sleep(0.2)  # not timed: between stretches
    clock.start()
    clock.stop()
    assert 1.04 < clock.total() < 1.2
    assert clock.total() == clock.total()  # read once, kept
