"""The benchmark compares the same computation, and its command prints the promised line."""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F

import devtools
from devtools import benchmark


def test_paper_and_our_step_compute_the_same_update():
    """Our step differs from the paper's only in memory layout (fp32 on CPU): one step from
    the same initial weights lands on the same weights up to float rounding."""
    generator = torch.Generator().manual_seed(3)
    inputs = torch.randn(32, 3, 32, 32, generator=generator)
    targets = F.one_hot(torch.randint(0, 10, (32,), generator=generator), 10).float()
    cpu = torch.device("cpu")
    initial = _flat_weights(benchmark.fresh_model("resnet20", cpu, torch.contiguous_format)[0])
    updated = []
    for make_step in (benchmark.paper_step, benchmark.our_step):
        step, model = make_step("resnet20", cpu)
        step(inputs, targets)
        updated.append(_flat_weights(model))
    paper, ours = updated
    assert (paper - initial).abs().max() > 1e-3
    torch.testing.assert_close(ours, paper, rtol=1e-4, atol=1e-4)


def _flat_weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_benchmark_command_ends_with_the_speedup_line(capsys):
    assert devtools.main(["benchmark", "--networks", "resnet20", "--batches", "1",
                          "--repeats", "1", "--workers", "1", "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"augment_speedup=\d+\.\d\d step_speedup=\d+\.\d\d "
                        r"bf16_step_speedup=\d+\.\d\d", lines[-1])
    assert any(line.strip().startswith("ours bf16") for line in lines)
    assert any(line.strip().startswith("paper input + our step") for line in lines)


def test_overhead_of_saving_and_monitoring_falls_with_the_new_cadence(capsys):
    assert devtools.main(["benchmark", "--networks", "resnet20", "--batches", "1",
                          "--repeats", "1", "--workers", "1", "--device", "cpu", "--overhead",
                          "--epoch-images", "64", "--monitor-images", "128"]) == 0
    out = capsys.readouterr().out
    before = re.search(r"before \(save \+ monitor every epoch\)\s+([\d.]+)%", out)
    after = re.search(r"after  \(save every 60 s, monitor 50/1000 epochs\)\s+([\d.]+)%", out)
    assert before and after, out
    # monitoring 50 of 1,000 epochs and saving once a minute cut the overhead 20x or more
    assert float(after.group(1)) <= float(before.group(1)) / 19
