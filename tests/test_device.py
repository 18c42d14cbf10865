"""Device resolution, the GPU slot claim (CUDA faked, no GPU needed), every job on the
configured device and fp32 outside the training step."""

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from noisy.errors import SettingsError, UserError
from noisy.method import device as noisy_device
from noisy.method.device import claim_gpu, jobs_per_gpu, resolve_device

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fake_gpus(monkeypatch, tmp_path):
    """Four visible CUDA devices, a private lock folder and no claim yet; returns the folder."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("NOISY_JOBS_PER_GPU", raising=False)
    monkeypatch.setenv("NOISY_GPU_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr(noisy_device, "_claim", None)
    yield tmp_path / "locks"
    if noisy_device._claim is not None:
        noisy_device._claim[1].close()


def test_cpu_stays_cpu(fake_gpus):
    assert resolve_device("cpu") == torch.device("cpu")
    assert not fake_gpus.exists()


def test_auto_without_cuda_is_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(UserError, match="CUDA is not available"):
        resolve_device("cuda")


def test_cuda_claims_a_gpu_once_per_process(fake_gpus):
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert [path.name for path in fake_gpus.iterdir()] == ["gpu0-slot0.lock"]


def test_cuda_skips_a_gpu_held_elsewhere(fake_gpus):
    held = claim_gpu(["0", "1", "2", "3"], 1, fake_gpus)
    assert resolve_device("cuda") == torch.device("cuda", 1)
    held[1].close()


def test_explicit_index_is_honoured_without_claim(fake_gpus):
    assert resolve_device("cuda:3") == torch.device("cuda", 3)
    assert not fake_gpus.exists()


def test_single_visible_gpu_is_used_without_claim(fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert not fake_gpus.exists()


def test_lock_files_name_the_visible_gpus(fake_gpus, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert resolve_device("cuda") == torch.device("cuda", 0)
    assert [path.name for path in fake_gpus.iterdir()] == ["gpu2-slot0.lock"]


def test_claims_spread_over_gpus_before_sharing(tmp_path):
    claims = [claim_gpu(["0", "1"], 2, tmp_path) for _ in range(4)]
    assert [index for index, _ in claims] == [0, 1, 0, 1]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "gpu0-slot0.lock", "gpu0-slot1.lock", "gpu1-slot0.lock", "gpu1-slot1.lock"]
    for _, handle in claims:
        handle.close()


def test_full_slots_wait_for_a_release(tmp_path):
    claims = [claim_gpu(["0", "1"], 1, tmp_path) for _ in range(2)]
    result = []
    waiter = threading.Thread(
        target=lambda: result.append(claim_gpu(["0", "1"], 1, tmp_path, poll_seconds=0.01)))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive() and not result
    claims[1][1].close()
    waiter.join(5)
    assert [index for index, _ in result] == [1]
    claims[0][1].close()
    result[0][1].close()


def test_slot_of_a_killed_process_is_freed(tmp_path):
    child_code = (
        "import time; from pathlib import Path; from noisy.method.device import claim_gpu;"
        f"held = claim_gpu(['0', '1'], 1, Path({str(tmp_path)!r})); print('claimed', flush=True);"
        "time.sleep(60)"
    )
    child = subprocess.Popen([sys.executable, "-c", child_code], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "claimed"
        index, handle = claim_gpu(["0", "1"], 1, tmp_path)
        assert index == 1
        child.kill()
        child.wait(10)
        assert claim_gpu(["0", "1"], 1, tmp_path, poll_seconds=0.01)[0] == 0
        handle.close()
    finally:
        child.kill()
        child.stdout.close()


def test_jobs_per_gpu_from_environment(monkeypatch):
    monkeypatch.delenv("NOISY_JOBS_PER_GPU", raising=False)
    assert jobs_per_gpu() == 1
    monkeypatch.setenv("NOISY_JOBS_PER_GPU", "2")
    assert jobs_per_gpu() == 2
    monkeypatch.setenv("NOISY_JOBS_PER_GPU", "0")
    with pytest.raises(SettingsError, match="NOISY_JOBS_PER_GPU"):
        jobs_per_gpu()


# ------------------------------------------------- every job on the configured device

MODEL_JOBS = ("predict", "evaluate", "evaluate-robustness", "train")


def _dry_run_commands(tmp_path: Path, device: str) -> list[str]:
    """The shell commands of a dry run for Tables 2 and 5 at the ci scale."""
    source = tmp_path / "cifar.tar.gz"
    source.touch()  # a dry run never reads it
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"),
               "--configfile", str(ROOT / "config.yaml"), "-d", str(tmp_path / "run"),
               "--cores", "1", "-n", "-p", "--config", "scale=ci", f"device={device}",
               f"data_source={source}", "tables={table5: [hard]}",
               "robustness={corruptions: [contrast], perturbations: [translate]}",
               "--", "results/table2.csv", "results/table5.csv"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    prefix = "Shell command: python -m noisy "
    return [line[len(prefix):] for line in (run.stdout + run.stderr).splitlines()
            if line.startswith(prefix)]


def test_every_model_job_runs_on_the_configured_device(tmp_path):
    commands = _dry_run_commands(tmp_path, "cpu")
    jobs = [command for command in commands if command.split()[0] in MODEL_JOBS]
    assert {command.split()[0] for command in jobs} == set(MODEL_JOBS)
    # Both kinds of training: supervised (on a split) and students (on a training set).
    assert {command.split()[3] for command in jobs if command.startswith("train ")} == {
        "--split", "--trainset"}
    for command in jobs:
        assert " --device cpu " in command, command


class _DeviceChosen(Exception):
    """Stops a job right after it chose its device."""


@pytest.mark.parametrize("argv", [
    ["train", "--data", "d", "--split", "s", "--settings", "{}", "--state", "s.pt",
     "--out", "m", "--history", "h"],
    ["predict", "--data", "d", "--split", "s", "--model", "m", "--out", "o"],
    ["evaluate", "--data", "d", "--model", "m", "--out", "o", "--settings", "{}"],
    ["evaluate-robustness", "--data", "d", "--model", "m", "--out", "o", "--settings", "{}",
     "--corruptions", "c.npy", "--perturbations", "p.npy"],
])
def test_every_model_job_takes_its_device_and_threads_the_same_way(monkeypatch, argv):
    from noisy import cli

    calls = []

    def chosen(name, threads):
        calls.append((name, threads))
        raise _DeviceChosen

    job = cli.COMMANDS[argv[0]]
    monkeypatch.setattr(f"{job}.use_device", chosen)
    with pytest.raises(_DeviceChosen):
        cli.main([*argv, "--device", "cuda:1", "--threads", "3"])
    assert calls == [("cuda:1", 3)]


# ------------------------------------------------------- fp32 outside the training step


class _Recorder(torch.nn.Module):
    """A linear classifier that records whether autocast is on when it runs."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3 * 32 * 32, 10)
        self.autocast_seen = []

    def forward(self, x):
        self.autocast_seen.append(torch.is_autocast_enabled(x.device.type))
        return self.fc(x.flatten(1))


def test_predictions_are_fp32_even_inside_an_autocast_region():
    """The teacher's probabilities never come from bf16 (on CUDA the old code autocast
    them; here an enclosing CPU bf16 region stands in for it)."""
    from noisy.method.inference import predict_probs

    torch.manual_seed(0)
    model = _Recorder()
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    cpu = torch.device("cpu")
    reference = predict_probs(model, images, cpu)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = predict_probs(model, images, cpu)
    assert model.autocast_seen == [False, False]
    np.testing.assert_array_equal(inside, reference)


def test_fgsm_runs_in_fp32_even_inside_an_autocast_region():
    from noisy.method.attacks import fgsm_accuracy

    torch.manual_seed(0)
    model = _Recorder()
    images = np.random.default_rng(1).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(6) % 10
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fgsm_accuracy(model, images, labels, [0.0, 0.03], lambda x: x)
    assert model.autocast_seen and not any(model.autocast_seen)
