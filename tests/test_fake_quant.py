"""Quantisation-aware training: the fake-quantised model computes as export's INT8 file does."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.files import read_images_spread  # noqa: E402
from edgeseg.train.config import config_from_dict  # noqa: E402
from edgeseg.train.model import build_model  # noqa: E402
from edgeseg.train.qat import calibrate, enable_fake_quant, fake_quant_weight, ranges  # noqa: E402
from export.__main__ import main as export_main  # noqa: E402
from export.quantize import calibration_tensors  # noqa: E402
from export.steps import read_meta  # noqa: E402
from tests.conftest import TINY, save_tiny_checkpoint  # noqa: E402



def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(TINY)
    for m in model.modules():      # BatchNorm statistics as a trained model has them, not 0 and 1
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    model.head.weight.data *= 40       # logits that vary over the image, as a trained model's do
    return model.eval()


def test_rounded_weights_take_at_most_255_levels_per_channel_and_stay_within_half_a_step():
    w = torch.randn(6, 4, 3, 3)
    q = fake_quant_weight(w)
    step = w.abs().flatten(1).amax(1) / 127
    for c in range(6):
        assert len(torch.unique(q[c])) <= 255
        assert (q[c] - w[c]).abs().max() <= step[c] / 2 + 1e-6


def test_fake_quantisation_keeps_the_state_dict_and_rounds_the_outputs():
    model = tiny_model()
    keys = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        before = model(x)
    enable_fake_quant(model)
    assert calibrate(model, [x]) > 10
    assert set(model.state_dict()) == set(keys)
    with torch.no_grad():
        after = model(x)
    diff = (after - before).abs()
    assert 0 < diff.mean() < 0.05          # rounding changes the output a little, not wholesale


def test_gradients_pass_through_the_rounding():
    model = enable_fake_quant(tiny_model())
    calibrate(model, [torch.rand(2, 3, 64, 96)])
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    model.forward_logits(torch.rand(2, 3, 64, 96)).mean().backward()
    conv = model.enc3[0].pw[0]
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert model.enc3[0].pw[1].weight.grad.abs().sum() > 0     # BatchNorm's scale trains through the fold


def test_a_copy_of_the_model_rounds_as_the_original_does():
    model = enable_fake_quant(tiny_model())
    x = torch.rand(1, 3, 64, 96)
    calibrate(model, [x])
    twin = copy.deepcopy(model)         # the weight EMA is a deep copy
    with torch.no_grad():
        assert torch.equal(model(x), twin(x))


def test_fake_quant_without_frozen_batchnorm_statistics_is_refused():
    with pytest.raises(ConfigError, match="freeze_bn_stats"):
        config_from_dict({"fake_quant": True})
    assert config_from_dict({"fake_quant": True, "freeze_bn_stats": True}).fake_quant


def int8_ranges(path) -> list[tuple[float, float]]:
    """(lo, hi) of every activation QuantizeLinear in an INT8 file (weights are stored already rounded)."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(str(path))
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out = []
    for n in model.graph.node:
        if n.op_type == "QuantizeLinear" and n.input[0] not in init:
            scale, zero = float(init[n.input[1]]), int(init[n.input[2]])
            out.append((-zero * scale, (255 - zero) * scale))
    return out


def test_the_ranges_measured_are_the_ranges_the_int8_export_rounds_over(small_pairs, tmp_path):
    model = tiny_model(seed=3)
    ckpt = save_tiny_checkpoint(model, tmp_path / "tiny.pt")
    assert export_main([str(ckpt), "--out", str(tmp_path), "--precision", "fp32,int8", "--calib", str(small_pairs),
                        "--calib-count", "8", "--no-latency"]) == 0
    meta = read_meta(tmp_path / "model.onnx")
    calib = calibration_tensors(read_images_spread(small_pairs / "images", 8, "--calib"), meta)
    enable_fake_quant(model)
    calibrate(model, [torch.from_numpy(x) for x in calib])
    ours = [(float(r.lo), float(r.hi)) for r in ranges(model)]
    theirs = int8_ranges(tmp_path / "model.int8.onnx")

    def near(a, others):
        return any(abs(a[0] - b[0]) + abs(a[1] - b[1]) <= 0.01 * (a[1] - a[0]) for b in others)
    assert all(near(r, theirs) for r in ours)               # nothing rounded that export leaves in float
    missing = [r for r in theirs if not near(r, ours)]      # and nothing export rounds that training does not,
    assert len(missing) <= 1                                # but the output probability (loss is on the logits)


def test_a_fake_quantised_run_writes_an_ordinary_checkpoint(small_pairs, tmp_path):
    from edgeseg.train.checkpoint import load_checkpoint
    from edgeseg.train.loop import train
    cfg = config_from_dict({"data": [str(small_pairs)], "epochs": 1, "batch_size": 2, "samples_per_epoch": 4,
                            "input_hw": [64, 96], "canvases": [[64, 96]], "canvas_weights": [1.0],
                            "freeze_bn_stats": True, "ema_decay": 0.9, "fake_quant": True,
                            "fake_quant_calib_batches": 1})
    train(cfg, tmp_path / "run")
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    model = build_model(state["model_config"])
    model.load_state_dict(state["model"])                   # strict: no extra keys from the rounding
    assert state["history"][0]["epoch"] == 1
