"""benchmarks.errors: where mask errors are and what each kind costs in boundary F."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from benchmarks.errors import ZONES, breakdown, main, mean_breakdown, zone_map


def _person() -> np.ndarray:
    gt = np.zeros((200, 160), bool)
    gt[60:, 40:120] = True                                      # a torso that leaves the frame at the bottom
    return gt


def test_a_right_mask_has_no_error_anywhere():
    gt = _person()
    r = breakdown(gt.copy(), gt)
    assert r["person_iou"] == r["boundary_f"] == r["boundary_f_far_fixed"] == r["boundary_f_near_fixed"] == 1.0
    assert not any(r["missed"].values()) and not any(r["false"].values())


def test_a_blob_apart_from_the_person_is_false_inside_and_costs_boundary_f_that_fixing_far_errors_restores():
    gt = _person()
    pred = gt.copy()
    pred[20:45, 130:150] = True                                 # a pole beside the head, far from the true edge
    r = breakdown(pred, gt)
    assert r["false"]["inside"] == pytest.approx(100 * 25 * 20 / gt.size)
    assert sum(r["missed"].values()) == 0 and r["false"]["sides"] == r["false"]["top"] == 0
    assert r["boundary_f"] < 0.95
    assert r["boundary_f_far_fixed"] == 1.0 and r["boundary_f_near_fixed"] == r["boundary_f"]


def test_a_shoulder_missed_at_the_frame_side_counts_as_missed_at_the_sides():
    gt = _person()
    gt[150:, :40] = True                                        # the shoulder reaches the left edge
    pred = _person()
    r = breakdown(pred, gt)
    assert r["missed"]["sides"] > 0 and r["missed"]["bottom"] > 0
    assert r["missed"]["top"] == 0 and sum(r["false"].values()) == 0


def test_a_filled_gap_narrower_than_two_tolerances_costs_boundary_f_that_only_the_near_pixels_fix():
    gt = _person()
    gt[100:180, 78:82] = False                                  # a 4 px gap between arm and body (tolerance 3 px)
    pred = _person()                                            # filled
    r = breakdown(pred, gt)
    assert sum(r["missed"].values()) == sum(r["false"].values()) == 0     # no error beyond the tolerance
    assert r["boundary_f"] < 1.0 and r["boundary_f_far_fixed"] == r["boundary_f"]
    assert r["boundary_f_near_fixed"] == 1.0


def test_zones_are_strips_at_the_frame_edges_with_top_and_bottom_over_the_sides():
    z = zone_map((200, 100))                                    # 10 px deep: 5 % of 200
    assert z[100, 50] == ZONES.index("inside") and z[100, 3] == z[100, 96] == ZONES.index("sides")
    assert z[195, 3] == ZONES.index("bottom") and z[2, 98] == ZONES.index("top")


def test_the_mean_of_rows_averages_each_figure_and_counts_the_images():
    gt = _person()
    rows = [breakdown(gt, gt), breakdown(np.zeros_like(gt), gt)]
    m = mean_breakdown(rows)
    assert m["images"] == 2 and m["person_iou"] == 0.5
    assert m["missed"]["inside"] == pytest.approx(rows[1]["missed"]["inside"] / 2)


def test_the_command_writes_json_and_markdown_for_each_model_and_set(tmp_path):
    data = tmp_path / "data" / "dev" / "tiny"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir()
    for i in range(2):
        img = np.full((96, 128, 3), 40 + 60 * i, np.uint8)
        cv2.imwrite(str(data / "images" / f"p{i}.jpg"), img)
        cv2.imwrite(str(data / "masks" / f"p{i}.png"), (_person()[:96, :128] * 255).astype(np.uint8))
    out = tmp_path / "errors"
    assert main(["--data", str(tmp_path / "data"), "--sets", "tiny", "--no-mediapipe", "--out", str(out)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    row = result["rows"]["edgeseg default"]["dev tiny"]
    assert row["images"] == 2 and set(row["missed"]) == set(ZONES)
    assert "| edgeseg default | dev tiny |" in out.with_suffix(".md").read_text()


def test_a_training_checkpoint_is_exported_once_and_scored_like_any_model(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from benchmarks.quality import parse_models
    from edgeseg.train.model import build_model
    from tests.conftest import TINY, save_tiny_checkpoint
    torch.manual_seed(0)
    ckpt = save_tiny_checkpoint(build_model(TINY), tmp_path / "epoch3.pt")
    models = parse_models([f"ep 3={ckpt}"], tmp_path / "work")
    onnx_path = models["ep 3"]
    assert onnx_path == tmp_path / "work" / "models" / "ep_3" / "model.onnx" and onnx_path.exists()
    assert models["edgeseg default"].suffix == ".onnx"
    written = onnx_path.stat().st_mtime_ns
    assert parse_models([f"ep 3={ckpt}"], tmp_path / "work")["ep 3"].stat().st_mtime_ns == written   # reused
    gt = _person()[:64, :96]
    folder = tmp_path / "dev" / "tiny"
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    cv2.imwrite(str(folder / "images" / "a.jpg"), np.full((64, 96, 3), 90, np.uint8))
    cv2.imwrite(str(folder / "masks" / "a.png"), (gt * 255).astype(np.uint8))
    out = tmp_path / "errors"
    assert main(["--data", str(tmp_path), "--sets", "tiny", "--no-mediapipe", "--work", str(tmp_path / "work"),
                 "--model", f"ep 3={ckpt}", "--out", str(out)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["rows"]["ep 3"]["dev tiny"]["images"] == 1


def test_a_file_that_is_no_checkpoint_gives_an_error_that_says_so(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    bad = tmp_path / "bad.pt"
    bad.write_text("not a checkpoint")
    assert main(["--sets", "portrait", "--no-mediapipe", "--work", str(tmp_path), "--model", f"x={bad}",
                 "--out", str(tmp_path / "errors")]) == 2
    assert "is a checkpoint written by `edgeseg train`" in capsys.readouterr().err
    assert not (tmp_path / "errors.json").exists()
