import pytest
import torch

from noisy.errors import SettingsError
from noisy.method.models import (
    Architecture,
    build_model,
    count_parameters,
    load_checkpoint,
    load_model,
    save_model,
)

PAPER_PARAMETER_COUNTS = {
    "resnet20": 269_818,
    "resnet26": 367_034,
    "resnet32": 464_250,
    "resnet38": 561_466,
}


@pytest.mark.parametrize("network", sorted(PAPER_PARAMETER_COUNTS))
def test_parameter_counts_match_the_paper(network):
    model = build_model(Architecture(network=network, final_survival=0.8, dropout=0.5))
    assert count_parameters(model) == PAPER_PARAMETER_COUNTS[network]


def test_stem_has_no_batch_norm_and_output_shape():
    model = build_model(Architecture(network="resnet20"))
    assert model.stem.bias is None
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_survival_probabilities_decay_linearly_from_one():
    model = build_model(Architecture(network="resnet26", final_survival=0.8))
    survivals = [block.survival for block in model.blocks]
    assert survivals[0] == 1.0
    assert survivals[-1] == pytest.approx(0.8)
    steps = [b - a for a, b in zip(survivals, survivals[1:], strict=False)]
    assert all(step == pytest.approx(steps[0]) for step in steps)


@pytest.mark.parametrize("mode", ["batch", "sample"])
def test_stochastic_depth_is_random_in_training_and_scaled_at_test(mode):
    torch.manual_seed(0)
    model = build_model(Architecture(network="resnet20", final_survival=0.5,
                                     stochastic_depth_mode=mode))
    x = torch.randn(8, 3, 32, 32)
    model.train()
    outputs = [model(x) for _ in range(4)]
    assert any(not torch.allclose(outputs[0], other) for other in outputs[1:])
    model.eval()
    assert torch.allclose(model(x), model(x))


def test_batch_mode_drops_a_block_for_the_whole_batch():
    torch.manual_seed(1)
    block = build_model(Architecture(network="resnet20", final_survival=0.1)).blocks[-1]
    block.train()
    x = torch.randn(16, 64, 8, 8).abs()
    kept_per_sample = set()
    for _ in range(20):
        dropped = torch.isclose(block(x), torch.relu(x)).flatten(1).all(1)
        kept_per_sample.add(tuple(dropped.tolist()))
    assert all(len(set(pattern)) == 1 for pattern in kept_per_sample)


def test_saved_model_carries_its_architecture(tmp_path):
    arch = Architecture(network="resnet32", final_survival=0.8, dropout=0.5,
                        stochastic_depth_mode="sample")
    model = build_model(arch)
    save_model(model, tmp_path / "m.pt", role="test")
    loaded, metadata = load_checkpoint(tmp_path / "m.pt")
    assert loaded.arch == arch
    assert metadata == {"role": "test"}
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), load_model(tmp_path / "m.pt")(x))


@pytest.mark.parametrize("bad", [{"network": "resnet18"}, {"final_survival": 0.0},
                                 {"dropout": 1.0}, {"stochastic_depth_mode": "layer"}])
def test_bad_architecture_is_rejected(bad):
    with pytest.raises(SettingsError):
        Architecture(**bad)
