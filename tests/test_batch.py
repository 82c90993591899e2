"""`edgeseg process INPUT... -o OUTDIR/`: files, folders, globs, one progress bar, a summary."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from edgeseg.cli import main
from tests.conftest import shared_or_skip


@pytest.fixture
def photos(tmp_path):
    """Four real portraits (copies), one corrupt .jpg and a text file, in one folder."""
    src = sorted(shared_or_skip("dev", "portrait", "images").glob("*.jpg"))[:4]
    d = tmp_path / "in"
    d.mkdir()
    for p in src:
        shutil.copy(p, d / p.name)
    (d / "broken.jpg").write_bytes(b"not a jpeg")
    (d / "notes.txt").write_text("hello")
    return d


@pytest.mark.slow
def test_the_60_dev_portraits_are_processed_with_one_progress_bar(tmp_path, capsys):
    folder = shared_or_skip("dev", "portrait", "images")
    out = tmp_path / "out"
    assert main(["process", str(folder), "-o", f"{out}/"]) == 0
    res = capsys.readouterr()
    assert len(list(out.glob("*.jpg"))) == 60 and "done 60, skipped 0, failed 0" in res.out
    bars = {line.split(":")[0] for line in res.err.replace("\r", "\n").splitlines() if "frame" in line and "|" in line}
    assert bars == {"60 files"}                          # one bar for the whole batch


def test_a_bad_file_is_reported_and_the_batch_goes_on_with_exit_1(photos, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["process", str(photos), str(tmp_path / "missing.jpg"), "-o", f"{out}/", "-q"]) == 1
    text = capsys.readouterr().out
    assert "done 4, skipped 1, failed 2" in text
    assert "broken.jpg: cannot read image" in text and "missing.jpg: not found" in text
    assert "notes.txt: not an image or video file" in text
    assert len(list(out.glob("*.jpg"))) == 4 and not (out / "broken.jpg").exists()


def test_globs_and_files_mix_and_a_file_given_twice_is_skipped(photos, tmp_path, capsys):
    first = sorted(photos.glob("aiseg*.jpg"))[0]
    out = tmp_path / "out"
    assert main(["process", str(photos / "aiseg*.jpg"), str(first), "-o", str(out), "-q"]) == 0
    assert "done 4, skipped 1, failed 0" in capsys.readouterr().out


def test_cutouts_are_rgba_pngs_whose_background_is_transparent(tmp_path):
    folder = shared_or_skip("dev", "portrait")
    name = "aiseg_1803191139-00000004"
    out = tmp_path / "out"
    assert main(["process", str(folder / "images" / f"{name}.jpg"), "-o", f"{out}/", "-q", "--effect", "cutout"]) == 0
    rgba = cv2.imread(str(out / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    truth = cv2.imread(str(folder / "masks" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert rgba.shape[2] == 4 and rgba.dtype == np.uint8
    far = cv2.distanceTransform((truth < 128).astype(np.uint8), cv2.DIST_L2, 3) > 20    # background, off the edge
    inside = cv2.distanceTransform((truth >= 128).astype(np.uint8), cv2.DIST_L2, 3) > 20
    assert (rgba[..., 3][far] == 0).mean() > 0.995 and (rgba[..., 3][inside] == 255).mean() > 0.95
    assert 0 < ((rgba[..., 3] > 0) & (rgba[..., 3] < 255)).sum()          # the edge stays soft


def test_batch_masks_are_single_channel_pngs(photos, tmp_path):
    out = tmp_path / "m"
    assert main(["process", str(photos / "aiseg*.jpg"), "-o", f"{out}/", "-q", "--effect", "mask"]) == 0
    masks = sorted(out.glob("*.png"))
    assert len(masks) == 4 and all(cv2.imread(str(m), cv2.IMREAD_UNCHANGED).ndim == 2 for m in masks)


def test_processing_into_the_input_folder_is_refused_before_any_work(photos, capsys):
    before = sorted(p.read_bytes() for p in photos.iterdir())
    assert main(["process", str(photos / "aiseg*.jpg"), "-o", f"{photos}/", "-q"]) == 2
    assert "would overwrite the input" in capsys.readouterr().err
    assert sorted(p.read_bytes() for p in photos.iterdir()) == before


def test_two_inputs_with_one_output_name_skip_the_second(tmp_path, capsys):
    for ext in (".png", ".bmp"):
        cv2.imwrite(str(tmp_path / f"a{ext}"), np.full((32, 32, 3), 100, np.uint8))
    assert main(["process", str(tmp_path / "a.png"), str(tmp_path / "a.bmp"), "-o", str(tmp_path / "o"),
                 "-q", "--effect", "mask"]) == 0
    assert "a.bmp: its output a.png is also the output of a.png" in capsys.readouterr().out


def test_several_inputs_need_a_folder_output(photos, tmp_path, capsys):
    assert main(["process", str(photos), "-o", str(tmp_path / "x.jpg"), "-q"]) == 2
    assert "need -o to be a folder" in capsys.readouterr().err


def test_a_missing_input_file_names_what_process_takes_and_no_camera(tmp_path, capsys):
    assert main(["process", "nope.jpg", "-o", str(tmp_path / "o.jpg")]) == 2
    err = capsys.readouterr().err
    assert "nope.jpg not found" in err and "camera" not in err and "demo" not in err and "URL" not in err
