"""Export's parity check: torch fed as it was trained against ONNX Runtime fed as the file's metadata says."""
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import export.__main__ as export_cli  # noqa: E402
from edgeseg.errors import VerificationError  # noqa: E402
from edgeseg.meta import ModelMeta  # noqa: E402
from edgeseg.train.checkpoint import save_checkpoint  # noqa: E402
from edgeseg.train.model import build_model  # noqa: E402
from export.steps import export_onnx, write_meta  # noqa: E402
from export.verify import PARITY_TOLERANCE, torch_parity  # noqa: E402
from tests.conftest import TINY  # noqa: E402

TRAINED = ModelMeta(input_hw=(64, 96), adaptive=True)
WRONG = {"mean/std": {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}, "colour": {"colour": "BGR"}}


def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, hw + (3,), np.uint8) for hw in [(90, 160), (160, 90), (64, 96)]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(TINY).eval()
    return model, export_onnx(model, tmp_path_factory.mktemp("parity") / "tiny.onnx", (64, 96), True)


def test_a_file_described_as_trained_matches_torch(tiny, tmp_path):
    model, path = tiny
    path = write_meta(shutil.copy(path, tmp_path / "ok.onnx"), TRAINED)
    assert torch_parity(model, path, frames(), TRAINED) <= PARITY_TOLERANCE


@pytest.mark.parametrize("wrong", WRONG, ids=list(WRONG))
def test_a_file_prepared_differently_from_training_fails_the_check(tiny, tmp_path, wrong):
    model, path = tiny
    path = write_meta(shutil.copy(path, tmp_path / "wrong.onnx"), TRAINED.replace(**WRONG[wrong]))
    with pytest.raises(VerificationError, match="colour/mean/std"):
        torch_parity(model, path, frames(), TRAINED)


def test_export_refuses_a_file_whose_metadata_normalises_unlike_training(tiny, tmp_path, monkeypatch):
    model, _ = tiny
    ckpt = save_checkpoint({"model": model.state_dict(), "model_config": TINY, "epoch": 0,
                            "meta": json.loads(TRAINED.to_json())}, tmp_path / "tiny.pt")
    monkeypatch.setattr(export_cli, "write_meta", lambda p, meta: write_meta(p, meta.replace(**WRONG["mean/std"])))
    assert export_cli.main([str(ckpt), "--out", str(tmp_path / "out"), "--no-latency"]) == 2
