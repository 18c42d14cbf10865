"""A model is defined by its arithmetic (precision, compile), never by the device's name."""

from pathlib import Path

import pytest

import noisy.precision as precision
from noisy.method.training import TrainSettings
from noisy.precision import cpu_has_native_bf16, resolve_precision, training_definition
from noisy.workflow.config import load
from noisy.workflow.stages import Model, Plan

ROOT = Path(__file__).resolve().parents[1]
X86 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f {extra} rdpid\n\nprocessor\t: 1\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd {extra} sve\n"


@pytest.mark.parametrize("cpuinfo,native", [
    (X86.format(extra="avx512_bf16"), True),
    (X86.format(extra="amx_bf16 amx_tile"), True),
    (X86.format(extra="avx512_vnni"), False),
    (ARM.format(extra="bf16 i8mm"), True),
    (ARM.format(extra="i8mm"), False),
])
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, cpuinfo, native):
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    assert cpu_has_native_bf16(tmp_path / "cpuinfo") is native


def test_a_machine_without_cpuinfo_has_no_native_bf16(tmp_path):
    assert cpu_has_native_bf16(tmp_path / "absent") is False


@pytest.fixture
def machine(monkeypatch):
    """Set what the machine has: native bf16 on the CPU, an NVIDIA GPU."""
    def setup(native_bf16: bool, gpu: bool = False) -> None:
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
        monkeypatch.setattr(precision, "nvidia_gpu_listed", lambda: gpu)
    return setup


@pytest.mark.parametrize("native_bf16,gpu,device,expected", [
    (True, False, "auto", "bf16"), (True, False, "cpu", "bf16"),
    (False, False, "auto", "fp32"), (False, False, "cpu", "fp32"),
    (False, False, "cuda", "bf16"), (False, False, "cuda:1", "bf16"),
    (False, True, "auto", "bf16"), (False, True, "cpu", "fp32"),
])
def test_auto_precision_is_bf16_on_cuda_and_on_native_bf16_cpus(machine, native_bf16, gpu,
                                                                 device, expected):
    machine(native_bf16, gpu)
    assert resolve_precision("auto", device) == expected


@pytest.mark.parametrize("chosen", ["fp32", "bf16"])
def test_an_explicit_precision_is_kept_on_every_device(machine, chosen):
    machine(native_bf16=False)
    assert {resolve_precision(chosen, device) for device in ("auto", "cpu", "cuda")} == {chosen}


def model_folders(*overrides: str) -> set[str]:
    plan = Plan(load(ROOT / "config.yaml", ["scale=demo", *overrides]))
    return {model.dir for model in plan.stages(Model)}


def test_the_device_name_never_moves_a_model_folder(machine):
    machine(native_bf16=True)
    folders = model_folders("device=auto")
    for device in ("cpu", "cuda", "cuda:1"):
        assert model_folders(f"device={device}") == folders, device
    machine(native_bf16=False)
    assert model_folders("device=cuda") == model_folders("device=cuda:1") == folders


def test_precision_and_compile_define_the_model_folder(machine):
    machine(native_bf16=True)
    bf16 = model_folders()
    fp32 = model_folders("precision=fp32")
    compiled = model_folders("compile=true")
    assert bf16.isdisjoint(fp32) and bf16.isdisjoint(compiled) and fp32.isdisjoint(compiled)
    assert all("-bf16-" in folder for folder in bf16)
    assert all("-fp32-" in folder for folder in fp32)
    assert all("-bf16-compiled-" in folder for folder in compiled)
    machine(native_bf16=False)
    assert model_folders("device=cpu") == fp32


def test_the_plan_and_the_resume_fingerprint_share_one_definition(machine):
    machine(native_bf16=True)
    plan = Plan(load(ROOT / "config.yaml", ["scale=demo"]))
    for model in plan.stages(Model):
        planned = model.settings["train"]
        job = TrainSettings(**planned, checkpoint_interval_s=7)
        assert job.definition() == training_definition(planned) == planned
        assert set(planned) >= {"precision", "compile"} and "device" not in planned
