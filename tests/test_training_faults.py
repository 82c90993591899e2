"""Training data faults and killed runs lose nothing."""
import os
import pickle
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from edgeseg.errors import DataError, ModelError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from edgeseg.train.data import load_pairs  # noqa: E402


@pytest.fixture
def messy_pairs(tmp_path, small_pairs):
    """4 good pairs, a corrupt image, an image without a mask, and a mask of another size."""
    root = tmp_path / "messy"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    good = sorted((small_pairs / "images").glob("*.jpg"))[:4]
    for img in good:
        (root / "images" / img.name).symlink_to(img.resolve())
        (root / "masks" / f"{img.stem}.png").symlink_to((small_pairs / "masks" / f"{img.stem}.png").resolve())
    (root / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (root / "masks" / "corrupt.png").symlink_to((small_pairs / "masks" / f"{good[0].stem}.png").resolve())
    cv2.imwrite(str(root / "images" / "nomask.jpg"), np.zeros((40, 30, 3), np.uint8))
    cv2.imwrite(str(root / "images" / "wrongsize.jpg"), np.zeros((40, 30, 3), np.uint8))
    cv2.imwrite(str(root / "masks" / "wrongsize.png"), np.zeros((20, 30), np.uint8))
    return root


def test_bad_pairs_are_skipped_and_counted(messy_pairs, caplog):
    result = load_pairs([messy_pairs])
    assert len(result.pairs) == 4
    assert result.skipped == {"corrupt image": 1, "missing mask": 1, "mask size mismatch": 1}
    assert "corrupt" in caplog.text and "nomask.jpg" in caplog.text


def test_an_empty_folder_is_an_error(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(DataError, match="no usable"):
        load_pairs([tmp_path])


def test_a_folder_without_the_layout_says_what_it_needs(tmp_path):
    with pytest.raises(DataError, match="images/ and masks/"):
        load_pairs([tmp_path])


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = "/tmp/edgeseg_pwned_marker"


def test_a_malicious_pickle_checkpoint_is_refused_without_running_it(tmp_path):
    if os.path.exists(MARKER):
        os.remove(MARKER)
    bad = tmp_path / "evil.pt"
    with open(bad, "wb") as f:
        pickle.dump({"format": "edgeseg-checkpoint", "model": Evil()}, f)
    with pytest.raises(ModelError, match="safely"):
        load_checkpoint(bad)
    assert not os.path.exists(MARKER)


def test_a_truncated_checkpoint_is_refused(tmp_path):
    good = save_checkpoint({"model": {"w": torch.zeros(1000)}}, tmp_path / "a.pt")
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ModelError):
        load_checkpoint(cut)


def test_checkpoints_are_replaced_atomically(tmp_path):
    path = save_checkpoint({"epoch": 1}, tmp_path / "last.pt")
    save_checkpoint({"epoch": 2}, path)
    assert load_checkpoint(path)["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]       # no temp files left behind


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_from_its_last_checkpoint(small_pairs, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "edgeseg", "train", "--data", str(small_pairs), "--out", str(run),
           "--epochs", "4", "--batch-size", "2", "--samples-per-epoch", "24"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while not (run / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(0.5)                                          # well into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = load_checkpoint(run / "last.pt")                 # intact despite the kill
    done = saved["epoch"] + 1
    assert 1 <= done < 4
    subprocess.run(cmd + ["--resume"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    history = load_checkpoint(run / "last.pt")["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
