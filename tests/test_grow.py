"""Growing a trained model wider keeps what it computes, and refuses what it cannot do."""
import logging

import pytest

torch = pytest.importorskip("torch")

from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from edgeseg.train.config import TrainConfig  # noqa: E402
from edgeseg.train.grow import grow_state_dict  # noqa: E402
from edgeseg.train.loop import train  # noqa: E402
from edgeseg.train.model import build_model, canonical_config  # noqa: E402

NARROW = {"arch": "EdgeUNet", "widths": [8, 16, 24, 32], "blocks": [1, 1, 2], "expand": 2}
WIDE = dict(NARROW, widths=[8, 24, 32, 48])


def trained_like(cfg: dict) -> torch.nn.Module:
    """A model with non-trivial weights and BatchNorm statistics, as after training."""
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.copy_(t + 0.3 * torch.randn_like(t))
            if name.endswith("running_var"):
                t.abs_().add_(0.5)
    return model.eval()


def test_a_grown_model_gives_the_same_output_as_the_one_it_grew_from():
    narrow = trained_like(NARROW)
    wide = build_model(WIDE)
    wide.load_state_dict(grow_state_dict(narrow.state_dict(), NARROW, wide, WIDE))
    wide.eval()
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        assert torch.allclose(narrow(x), wide(x), atol=1e-6)
    assert sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in narrow.parameters())


def test_the_new_channels_can_learn():
    narrow = trained_like(NARROW)
    wide = build_model(WIDE)
    wide.load_state_dict(grow_state_dict(narrow.state_dict(), NARROW, wide, WIDE))
    wide.train()
    wide.forward_logits(torch.rand(2, 3, 64, 96)).mean().backward()
    reads_new = wide.enc3[0].pw[0].weight.grad[:, NARROW["widths"][1]:]   # weights zeroed by growing
    assert reads_new.abs().sum() > 0


@pytest.mark.parametrize("change, word", [({"widths": [8, 8, 24, 32]}, "narrower"),
                                          ({"blocks": [1, 2, 2]}, "blocks"),
                                          ({"expand": 3}, "expand")])
def test_growing_refuses_anything_but_wider(change, word):
    target = dict(NARROW, **change)
    with pytest.raises(ConfigError, match=word):
        grow_state_dict(trained_like(NARROW).state_dict(), NARROW, build_model(target), target)


def test_training_can_start_from_a_narrower_checkpoint(small_pairs, tmp_path, caplog):
    narrow = trained_like(NARROW)
    init = save_checkpoint({"model": narrow.state_dict(), "model_config": NARROW, "epoch": 0}, tmp_path / "narrow.pt")
    cfg = TrainConfig(data=[str(small_pairs)], widths=WIDE["widths"], blocks=WIDE["blocks"], init=str(init),
                      epochs=1, batch_size=2, samples_per_epoch=4, canvases=[[64, 96]], canvas_weights=[1.0],
                      input_hw=[64, 96], val_fraction=0.2)
    with caplog.at_level(logging.INFO, logger="edgeseg.train.loop"):
        train(cfg, tmp_path / "run")
    assert "grown from" in caplog.text
    assert load_checkpoint(tmp_path / "run" / "last.pt")["model_config"] == canonical_config(WIDE)
