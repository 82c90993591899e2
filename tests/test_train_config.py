"""Training configs: `extends:`, the default recipe and its checks."""
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint  # noqa: E402
from edgeseg.train.config import config_from_dict, load_config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def test_a_stage_config_takes_its_base_values_and_its_own_changes(tmp_path):
    (tmp_path / "base.yaml").write_text("epochs: 10\nlr: 0.003\nseed: 0\n")
    (tmp_path / "stage.yaml").write_text("extends: base.yaml\nlr: 0.001\n")
    cfg = load_config(tmp_path / "stage.yaml")
    assert (cfg.epochs, cfg.lr, cfg.seed) == (10, 0.001, 0)


def test_an_extends_loop_is_an_error_that_names_it(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="extends itself"):
        load_config(tmp_path / "a.yaml")


def test_a_missing_base_is_an_error(tmp_path):
    (tmp_path / "stage.yaml").write_text("extends: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="nowhere.yaml not found"):
        load_config(tmp_path / "stage.yaml")


def test_the_default_recipe_trains_on_every_source_from_the_shipped_init():
    cfg = load_config(CONFIGS / "default.yaml")
    assert [Path(d).name for d in cfg.data] == ["ccp", "coco", "viton"]
    assert len(cfg.data_weights) == 3 and cfg.data_weights[0] >= max(cfg.data_weights)   # hand-drawn edges first
    assert {Path(d).name for d in cfg.coarse_edges} == {"coco", "viton"}
    assert all(Path(d).parent.name == "dev" for d in cfg.monitor) and cfg.best_metric == "val_mean"
    assert cfg.freeze_bn_stats and cfg.ema_decay > 0
    assert cfg.keep_epochs                          # the default is a soup of each run's epoch{N}.pt
    state = load_checkpoint(REPO / cfg.init)        # the documented init is in the repository
    assert state["model_config"]["widths"] == cfg.widths and "meta" in state
    boxes = json.loads((REPO / cfg.ignore_boxes).read_text())
    assert boxes and all(name.startswith("ccp/") for name in boxes)


def test_the_fine_tune_recipe_starts_from_the_bundled_weights_and_takes_any_folders():
    cfg = load_config(CONFIGS / "finetune.yaml")
    assert cfg.init == "edgeseg/models/default.pt" and cfg.data_weights == [] and cfg.monitor == []
    assert not cfg.keep_epochs                      # a user's fine-tune writes best.pt and last.pt only
    mine = config_from_dict({**cfg.to_dict(), "data": ["a", "b"]})      # what `--data a --data b` does
    assert mine.data == ["a", "b"] and mine.best_metric in mine.score_keys()


def test_data_weights_need_one_value_per_folder():
    with pytest.raises(ConfigError, match="one weight per folder"):
        config_from_dict({"data": ["a", "b"], "data_weights": [1.0]})


@pytest.mark.parametrize("width", [0, 4])
def test_the_boundary_band_width_must_be_odd_and_positive(width):
    with pytest.raises(ConfigError, match="odd number"):
        config_from_dict({"data": ["a"], "boundary_width": width})


@pytest.mark.parametrize("fraction", [0.0, 1.5])
def test_the_hard_pixel_share_must_be_a_fraction_of_the_pixels(fraction):
    with pytest.raises(ConfigError, match="ohem_fraction"):
        config_from_dict({"data": ["a"], "ohem_weight": 0.3, "ohem_fraction": fraction})


def test_coarse_edge_folders_must_be_data_folders():
    with pytest.raises(ConfigError, match="coarse_edges"):
        config_from_dict({"data": ["a"], "coarse_edges": ["b"]})


def test_each_other_folder_and_monitor_set_gets_its_own_validation_keys():
    cfg = config_from_dict({"data": ["x/ccp", "x/coco"], "monitor": ["y/dev/portrait"], "best_metric": "dev_portrait_iou"})
    assert {"val_coco_iou", "val_coco_boundary_f", "dev_portrait_iou", "dev_portrait_boundary_f", "val_mean"} <= set(cfg.score_keys())


def test_an_unknown_best_metric_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="val_person_iou, .*epoch"):
        config_from_dict({"best_metric": "loss"})


def test_best_metric_epoch_keeps_the_latest_epoch_as_best(small_pairs, tmp_path):
    pytest.importorskip("torch")
    from edgeseg.train.checkpoint import load_checkpoint
    from edgeseg.train.loop import train
    cfg = config_from_dict({"data": [str(small_pairs)], "val_fraction": 0.5, "widths": [8, 16, 16, 16],
                            "epochs": 3, "batch_size": 2, "samples_per_epoch": 4, "threads": 1, "workers": 0,
                            "best_metric": "epoch"})
    summary = train(cfg, tmp_path / "run")
    assert load_checkpoint(tmp_path / "run" / "best.pt")["epoch"] == 2
    assert summary["best_metric"] == "epoch" and summary["best"] == 3.0     # epochs count from 1, as in history.json
