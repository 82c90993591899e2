"""The decoder's upsampling is a model choice that checkpoints carry and training can switch."""
import logging

import pytest

torch = pytest.importorskip("torch")

from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from edgeseg.train.config import TrainConfig  # noqa: E402
from edgeseg.train.loop import train  # noqa: E402
from edgeseg.train.model import bilinear_kernel, build_model, canonical_config, upsample2  # noqa: E402

OLD = {"arch": "EdgeUNet", "widths": [8, 16, 24, 32], "blocks": [1, 1, 2], "expand": 2}   # before `upsample`


def test_a_checkpoint_config_from_before_upsample_means_bilinear():
    assert canonical_config(OLD) == dict(OLD, upsample="bilinear")


@pytest.mark.parametrize("hw", [(6, 10), (11, 20), (1, 1)])
def test_the_bilinear_decomposition_is_exactly_bilinear(hw):
    x = torch.randn(2, 5, *hw)
    want = torch.nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    assert torch.allclose(upsample2(x, bilinear_kernel(5)), want, atol=1e-6)


def test_the_fixed_upsampling_kernel_is_not_a_weight():
    model = build_model(OLD)
    assert not any("up_kernel" in k for k in model.state_dict())
    assert not any(p.shape[-2:] == (3, 3) and not p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("upsample", ["bilinear", "nearest"])
def test_either_upsampling_gives_a_mask_the_size_of_the_input(upsample):
    model = build_model(dict(OLD, upsample=upsample)).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 3, 64, 96))
    assert out.shape == (1, 1, 64, 96) and float(out.min()) >= 0 and float(out.max()) <= 1


def test_nearest_and_bilinear_share_weights_but_compute_differently():
    torch.manual_seed(0)
    a = build_model(OLD).eval()
    with torch.no_grad():
        for p in a.parameters():
            p.add_(0.3 * torch.randn_like(p))
    b = build_model(dict(OLD, upsample="nearest")).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        assert not torch.allclose(a(x), b(x), atol=1e-4)


def test_an_unknown_upsampling_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="bilinear, nearest"):
        build_model(dict(OLD, upsample="bicubic"))


def test_training_a_nearest_model_can_start_from_a_bilinear_checkpoint(small_pairs, tmp_path, caplog):
    init = save_checkpoint({"model": build_model(OLD).state_dict(), "model_config": OLD, "epoch": 0}, tmp_path / "old.pt")
    cfg = TrainConfig(data=[str(small_pairs)], widths=OLD["widths"], blocks=OLD["blocks"], upsample="nearest",
                      init=str(init), epochs=1, batch_size=2, samples_per_epoch=4, canvases=[[64, 96]],
                      canvas_weights=[1.0], input_hw=[64, 96], val_fraction=0.2)
    with caplog.at_level(logging.INFO, logger="edgeseg.train.loop"):
        train(cfg, tmp_path / "run")
    assert "this one nearest" in caplog.text
    assert load_checkpoint(tmp_path / "run" / "last.pt")["model_config"]["upsample"] == "nearest"
