"""Training in several processes (DDP through torchrun, gloo on the CPU): shares, files, resume, parity."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from edgeseg.cli import main  # noqa: E402
from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.augment import Augmenter  # noqa: E402
from edgeseg.train.batches import EpochBatches, rank_share  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint  # noqa: E402
from edgeseg.train.config import TrainConfig, config_from_dict  # noqa: E402
from edgeseg.train.data import load_pairs  # noqa: E402
from edgeseg.train.distributed import check_world  # noqa: E402
from edgeseg.train.loop import train  # noqa: E402

# the 1- and 2-process losses of the same global batches differ only by BatchNorm's per-process
# statistics and float summation order: 0.04-0.3 % measured; a different seed moves them 11 %
LOSS_RTOL = 0.01


def tiny(small_pairs, **changes) -> dict:
    return dict({"data": [str(small_pairs)], "val_fraction": 0.2, "widths": [8, 16, 24, 32], "blocks": [1, 1, 2],
                 "input_hw": [64, 64], "canvases": [[64, 64]], "canvas_weights": [1.0], "epochs": 1,
                 "samples_per_epoch": 15, "batch_size": 5, "lr": 0.003, "seed": 1, "threads": 1, "workers": 0},
                **changes)


def write_config(tmp_path, values: dict):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def train_cmd(config, out, nproc: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "edgeseg", "train", "--config", str(config), "--out", str(out),
            "--nproc", str(nproc), *extra]


def losses(run) -> list[float]:
    return [h["loss"] for h in json.loads((run / "history.json").read_text())]


@given(batch=st.integers(1, 64), world=st.integers(1, 8))
def test_the_ranks_shares_cover_a_global_batch_once_in_near_equal_slices(batch, world):
    if world > batch:
        return
    shares = [rank_share(batch, world, r) for r in range(world)]
    assert [i for s in shares for i in s] == list(range(batch))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def _epoch(small_pairs, cfg, world, rank=0, per_sample=True, workers=0):
    pairs = load_pairs([small_pairs]).pairs
    batches = EpochBatches(Augmenter(pairs, [], []), cfg, epoch=2, rank=rank, world=world, per_sample=per_sample)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=workers)
    return [x.numpy() for x, _, _ in loader]


def test_two_processes_make_the_same_samples_as_one_between_them(small_pairs):
    cfg = TrainConfig(**tiny(small_pairs, canvases=[[64, 64], [32, 48]], canvas_weights=[0.5, 0.5],
                             samples_per_epoch=30))
    one = _epoch(small_pairs, cfg, world=1)
    first, second = _epoch(small_pairs, cfg, 2, 0), _epoch(small_pairs, cfg, 2, 1)
    assert [len(b) for b in first] == [3] * 6 and [len(b) for b in second] == [2] * 6       # 5 = 3 + 2
    for whole, a, b in zip(one, first, second, strict=True):
        np.testing.assert_array_equal(whole, np.concatenate([a, b]))
    assert len({b.shape for b in one}) == 2          # the canvases vary by step, the same on both ranks


def test_loader_workers_take_turns_without_changing_the_samples(small_pairs):
    cfg = TrainConfig(**tiny(small_pairs))
    for a, b in zip(_epoch(small_pairs, cfg, 1), _epoch(small_pairs, cfg, 1, workers=2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_per_sample_seeding_draws_other_samples_than_the_single_process_stream(small_pairs):
    cfg = TrainConfig(**tiny(small_pairs))
    stream, per_sample = _epoch(small_pairs, cfg, 1, per_sample=False), _epoch(small_pairs, cfg, 1)
    assert not np.array_equal(stream[0], per_sample[0])      # so single-process runs keep their old samples


def test_a_global_batch_smaller_than_the_processes_is_refused():
    with pytest.raises(ConfigError, match="global batch"):
        check_world(TrainConfig(batch_size=2), 3, torch.device("cpu"))


def test_sync_batchnorm_on_the_cpu_says_it_needs_gpus():
    with pytest.raises(ConfigError, match="sync_bn.*GPUs"):
        check_world(TrainConfig(sync_bn=True), 2, torch.device("cpu"))


def test_an_unknown_device_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="auto, cpu, cuda"):
        config_from_dict({"device": "tpu"})


def test_nproc_under_torchrun_is_refused_in_one_line(small_pairs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LOCAL_RANK", "0")
    config = write_config(tmp_path, tiny(small_pairs))
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run"), "--nproc", "2"]) == 2
    assert "--nproc_per_node" in capsys.readouterr().err and not (tmp_path / "run").exists()


@pytest.mark.slow
def test_bf16_autocast_trains_on_the_cpu(small_pairs, tmp_path):
    summary = train(TrainConfig(**tiny(small_pairs, bf16=True, samples_per_epoch=5)), tmp_path / "run")
    assert np.isfinite(summary["final"]["loss"])
    assert load_checkpoint(tmp_path / "run" / "last.pt")["train_config"]["bf16"] is True


@pytest.mark.slow
def test_two_processes_write_one_run_folder_with_the_losses_of_one(small_pairs, tmp_path):
    values = tiny(small_pairs, epochs=2, seed_per_sample=True)
    train(TrainConfig(**values), tmp_path / "one")                  # same samples, one process
    run = tmp_path / "two"
    done = subprocess.run(train_cmd(write_config(tmp_path, values), run, 2), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "curves.png", "history.json", "last.pt",
                                                     "samples.png", "summary.json"]
    assert done.stderr.count("epoch 1/2 loss") == 1 and done.stdout.count('"best_metric"') == 1   # rank 0 only
    assert set(load_checkpoint(run / "last.pt")) == set(load_checkpoint(tmp_path / "one" / "last.pt"))
    np.testing.assert_allclose(losses(run), losses(tmp_path / "one"), rtol=LOSS_RTOL)


@pytest.mark.slow
def test_a_killed_two_process_run_resumes_with_two_and_then_with_one(small_pairs, tmp_path):
    config = write_config(tmp_path, tiny(small_pairs, epochs=4, samples_per_epoch=10))
    run = tmp_path / "run"
    proc = subprocess.Popen(train_cmd(config, run, 2), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)              # its own group: the kill reaches every rank
    deadline = time.time() + 240
    while not (run / "last.pt").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = load_checkpoint(run / "last.pt")["epoch"] + 1          # intact despite the kill
    assert 1 <= done < 4
    subprocess.run(train_cmd(config, run, 2, "--resume"), check=True, capture_output=True, timeout=600)
    assert [h["epoch"] for h in load_checkpoint(run / "last.pt")["history"]] == [1, 2, 3, 4]
    subprocess.run(train_cmd(config, run, 1, "--resume", "--epochs", "5"), check=True, capture_output=True,
                   timeout=600)
    assert [h["epoch"] for h in load_checkpoint(run / "last.pt")["history"]] == [1, 2, 3, 4, 5]
