"""Stage configs extend their base and list only what they change."""
from pathlib import Path

import pytest

from edgeseg.errors import ConfigError
from edgeseg.train.config import config_from_dict, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


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


def test_the_default_model_stages_chain_as_documented():
    polish = load_config(CONFIGS / "polish.yaml")
    assert polish.init == "runs/wide/best.pt" and polish.boundary_weight == 3.0
    assert polish.widths == [8, 32, 64, 112]                      # from wide.yaml
    assert polish.data == ["../shared/data/people/ccp", "runs/pseudo"]   # from finetune.yaml
    assert polish.canvases == load_config(CONFIGS / "default.yaml").canvases
    multiscale = load_config(CONFIGS / "multiscale.yaml")
    assert multiscale.init == "runs/polish/best.pt" and multiscale.ema_decay > 0
    assert multiscale.boundary_weight == 3.0 and multiscale.widths == polish.widths   # from polish.yaml
    assert [160, 288] in multiscale.canvases and multiscale.input_hw == [144, 256]


def test_the_distillation_stage_reads_the_teacher_crops_as_soft_labels():
    distill = load_config(CONFIGS / "distill.yaml")
    assert distill.init == "runs/multiscale/best.pt" and distill.ema_decay > 0   # from multiscale.yaml
    assert distill.soft_label_data == ["runs/teacher_crops"]
    assert distill.data[0] == "../shared/data/people/ccp"      # validation scores the hand-made masks
    assert "runs/teacher_crops" in distill.data and "runs/pseudo" in distill.data


def test_the_small_people_stage_changes_only_the_small_person_rate():
    small, multiscale = load_config(CONFIGS / "smallpeople.yaml"), load_config(CONFIGS / "multiscale.yaml")
    assert small.init == "runs/multiscale/best.pt" and small.augment.p_small_person == 0.15
    assert multiscale.augment.p_small_person == 0.0                 # earlier stages reproduce as before
    assert small.augment.p_cutout == multiscale.augment.p_cutout and small.data == multiscale.data


def test_the_high_resolution_stage_changes_the_input_size_and_keeps_everything_else():
    hires, small = load_config(CONFIGS / "hires.yaml"), load_config(CONFIGS / "smallpeople.yaml")
    assert hires.init == "runs/smallpeople/best.pt" and hires.input_hw == [176, 320]
    assert hires.input_hw in hires.canvases and len(hires.canvases) == len(hires.canvas_weights)
    pixels = 176 * 320
    assert all(0.8 * pixels <= h * w <= 1.15 * pixels for h, w in hires.canvases)   # one scale, many framings
    assert [320, 176] in hires.canvases and [272, 208] in hires.canvases           # portrait 9:16 and 3:4
    assert (hires.augment, hires.widths, hires.data, hires.best_metric) == (small.augment, small.widths,
                                                                            small.data, small.best_metric)


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
