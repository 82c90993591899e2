"""Model soups: the mean of checkpoints of one architecture (python -m edgeseg.train.soup)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from conftest import TINY, save_tiny_checkpoint  # noqa: E402
from edgeseg.errors import ConfigError, ModelError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint  # noqa: E402
from edgeseg.train.model import build_model  # noqa: E402
from edgeseg.train.soup import average_checkpoints, main  # noqa: E402


def _two(tmp_path):
    torch.manual_seed(0)
    a, b = build_model(TINY), build_model(TINY)
    return a, b, save_tiny_checkpoint(a, tmp_path / "a.pt"), save_tiny_checkpoint(b, tmp_path / "b.pt")


def test_the_soup_is_the_mean_of_the_weights_and_keeps_integer_buffers(tmp_path):
    a, b, pa, pb = _two(tmp_path)
    soup = average_checkpoints([pa, pb])
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(soup["model"][k], (v + b.state_dict()[k]) / 2, atol=1e-7), k
        else:
            assert torch.equal(soup["model"][k], v), k
    assert soup["model_config"] == TINY and soup["soup"] == [str(pa), str(pb)]


def test_the_written_soup_loads_as_a_model(tmp_path):
    _, _, pa, pb = _two(tmp_path)
    assert main([str(pa), str(pb), "--out", str(tmp_path / "soup.pt")]) == 0
    state = load_checkpoint(tmp_path / "soup.pt")
    build_model(state["model_config"]).load_state_dict(state["model"])


def test_checkpoints_of_other_architectures_do_not_mix(tmp_path):
    _, _, pa, _ = _two(tmp_path)
    other = build_model({**TINY, "widths": [w * 2 for w in TINY["widths"]]})
    from edgeseg.train.checkpoint import save_checkpoint
    po = save_checkpoint({"model": other.state_dict(), "model_config": {**TINY, "widths": [w * 2 for w in TINY["widths"]]}},
                         tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="another architecture"):
        average_checkpoints([pa, po])
    with pytest.raises(ConfigError, match="no checkpoints"):
        average_checkpoints([])
    with pytest.raises(ModelError, match="not found"):
        average_checkpoints([pa, tmp_path / "missing.pt"])
    assert main([str(pa), str(po), "--out", str(tmp_path / "x.pt")]) == 2
    assert not (tmp_path / "x.pt").exists()                       # nothing written on an error


def test_a_run_can_keep_every_epoch_and_take_its_seed_from_the_command_line(small_pairs, tmp_path):
    import subprocess
    import sys
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"data: [{small_pairs}]\nkeep_epochs: true\nwidths: {TINY['widths']}\nblocks: {TINY['blocks']}\n"
                   "input_hw: [64, 96]\ncanvases: [[64, 96]]\ncanvas_weights: [1.0]\n")
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "edgeseg", "train", "--config", str(cfg), "--out", str(run), "--epochs", "2",
                    "--batch-size", "2", "--samples-per-epoch", "4", "--seed", "3"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    kept = [load_checkpoint(run / f"epoch{n}.pt") for n in (1, 2)]
    assert [k["epoch"] for k in kept] == [0, 1] and kept[1]["train_config"]["seed"] == 3
    soup = average_checkpoints([run / "epoch1.pt", run / "epoch2.pt"])
    build_model(soup["model_config"]).load_state_dict(soup["model"])
