"""Device resolution and the GPU slot claim, with CUDA faked (no GPU needed)."""

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from noisy import device as noisy_device
from noisy.device import claim_gpu, jobs_per_gpu, resolve_device

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
    with pytest.raises(RuntimeError, match="CUDA is not available"):
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
        "import time; from pathlib import Path; from noisy.device import claim_gpu;"
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
    with pytest.raises(ValueError, match="NOISY_JOBS_PER_GPU"):
        jobs_per_gpu()
