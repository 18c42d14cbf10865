"""A model is defined by its arithmetic (precision, compile), never by the device's name."""

from pathlib import Path

import pytest

import noisy.precision as precision
from noisy.errors import SettingsError
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
    """Set what the machine has: native bf16 on the CPU or not."""
    def setup(native_bf16: bool) -> None:
        monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
    return setup


@pytest.mark.parametrize("native_bf16", [True, False])
def test_auto_precision_is_fp32_until_bf16_is_measured_free(machine, native_bf16):
    """bf16 is measured to cost accuracy on a CPU (the small scale) and unmeasured on GPUs:
    auto must not pick it, whatever the machine offers."""
    machine(native_bf16)
    assert resolve_precision("auto") == "fp32"
    assert Plan(load(ROOT / "config.yaml", ["scale=demo", "device=cuda"])).precision == "fp32"


@pytest.mark.parametrize("chosen", ["fp32", "bf16"])
def test_an_explicit_precision_is_kept(chosen):
    assert resolve_precision(chosen) == chosen
    with pytest.raises(SettingsError, match="precision must be one of"):
        resolve_precision("fp16")


def model_folders(*overrides: str) -> set[str]:
    plan = Plan(load(ROOT / "config.yaml", ["scale=demo", *overrides]))
    return {model.dir for model in plan.stages(Model)}


@pytest.mark.parametrize("chosen", ["auto", "bf16"])
def test_the_device_name_never_moves_a_model_folder(machine, chosen):
    machine(native_bf16=True)
    folders = model_folders("device=auto", f"precision={chosen}")
    for device in ("cpu", "cuda", "cuda:1"):
        assert model_folders(f"device={device}", f"precision={chosen}") == folders, device
    machine(native_bf16=False)
    assert model_folders("device=cuda:1", f"precision={chosen}") == folders


def test_precision_and_compile_define_the_model_folder():
    bf16 = model_folders("precision=bf16")
    fp32 = model_folders("precision=fp32")
    compiled = model_folders("precision=bf16", "compile=true")
    assert bf16.isdisjoint(fp32) and bf16.isdisjoint(compiled) and fp32.isdisjoint(compiled)
    assert all("-bf16-" in folder for folder in bf16)
    assert all("-fp32-" in folder for folder in fp32)
    assert all("-bf16-compiled-" in folder for folder in compiled)
    assert model_folders("device=cpu") == model_folders("precision=auto") == fp32


def test_the_plan_and_the_resume_fingerprint_share_one_definition():
    plan = Plan(load(ROOT / "config.yaml", ["scale=demo"]))
    for model in plan.stages(Model):
        planned = model.settings["train"]
        job = TrainSettings(**planned, checkpoint_interval_s=7)
        assert job.definition() == training_definition(planned) == planned
        assert set(planned) >= {"precision", "compile"} and "device" not in planned
