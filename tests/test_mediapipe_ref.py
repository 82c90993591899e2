"""The MediaPipe Selfie Segmentation reference runner (separate venv, LiteRT). Needs network the first time."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

CCP = Path(__file__).resolve().parents[1].parent / "shared/data/people/ccp"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mp_env():
    from benchmarks.mediapipe_ref.setup_env import ensure_env
    try:
        return ensure_env()
    except RuntimeError as e:
        pytest.skip(f"cannot create the MediaPipe reference env: {e}")


@pytest.fixture
def five_pairs(tmp_path) -> Path:
    """images/ + masks/ with symlinks to the first 5 ccp pairs."""
    if not (CCP / "images").is_dir() or not (CCP / "masks").is_dir():
        pytest.skip(f"shared data {CCP} not present")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for img in sorted((CCP / "images").glob("*.jpg"))[:5]:
        (tmp_path / "images" / img.name).symlink_to(img)
        (tmp_path / "masks" / f"{img.stem}.png").symlink_to(CCP / "masks" / f"{img.stem}.png")
    return tmp_path


def test_latency_both_models(mp_env):
    from benchmarks.mediapipe_ref.reference import reference_latency
    from edgeseg.results import Summary
    result = reference_latency(threads=(1,), env=mp_env, min_seconds=0.2, min_runs=10, warmup=2)
    assert set(result["models"]) == {"general", "landscape"}
    for name, model in result["models"].items():
        stats = model["threads"]["1"]
        assert stats["median"] > 0, name
        assert stats["runs"] >= 10, name
        assert set(stats) == set(Summary.__annotations__), name      # the schema of edgeseg bench's timings


def test_accuracy_on_five_pairs(mp_env, five_pairs):
    from benchmarks.mediapipe_ref.reference import reference_accuracy
    result = reference_accuracy(five_pairs / "images", five_pairs / "masks", env=mp_env)
    for name, model in result["models"].items():
        assert model["images"] == 5, name
        assert 0.0 <= model["person_iou"] <= 1.0, name


def test_the_teacher_labels_a_folder_with_soft_masks_and_scores_itself(mp_env, five_pairs, tmp_path):
    from benchmarks.mediapipe_ref.reference import reference_label_images
    out = tmp_path / "teacher"
    result = reference_label_images(five_pairs / "images", out, gt_dir=five_pairs / "masks", env=mp_env)
    assert result["written"] == 5 and result["flip"] is True
    assert [t["file"] for t in result["teachers"]] == ["selfie_segmentation.tflite",
                                                        "selfie_segmentation_landscape.tflite"]
    masks = sorted(out.glob("*.png"))
    assert [m.stem for m in masks] == sorted(p.stem for p in (five_pairs / "images").iterdir())
    soft = cv2.imread(str(masks[0]), cv2.IMREAD_GRAYSCALE)
    assert len(np.unique(soft)) > 2                   # probabilities, not a 0/255 mask
    assert result["teacher_vs_gt"]["images"] == 5 and result["teacher_vs_gt"]["person_iou"] > 0.6
