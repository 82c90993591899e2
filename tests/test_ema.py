"""The weight average: it trails the trained weights, and training saves and resumes it."""
import pytest

torch = pytest.importorskip("torch")

from edgeseg.errors import ConfigError  # noqa: E402
from edgeseg.train.checkpoint import load_checkpoint  # noqa: E402
from edgeseg.train.config import TrainConfig, config_from_dict  # noqa: E402
from edgeseg.train.ema import WeightAverage  # noqa: E402
from edgeseg.train.loop import train  # noqa: E402
from edgeseg.train.model import build_model  # noqa: E402

SMALL = {"arch": "EdgeUNet", "widths": [8, 16, 24, 32], "blocks": [1, 1, 2], "expand": 2}


def test_the_average_moves_part_way_towards_the_trained_weights():
    model = build_model(SMALL)
    ema = WeightAverage(model, decay=0.9)
    before = model.head.weight.detach().clone()
    with torch.no_grad():
        model.head.weight.add_(1.0)
    ema.update(model)
    step = (ema.model.head.weight - before).abs()
    assert torch.all(step > 0.05) and torch.all(step < 0.95)      # neither stuck nor a plain copy


def test_the_average_of_unchanging_weights_is_those_weights():
    model = build_model(SMALL)
    ema = WeightAverage(model, decay=0.99)
    for _ in range(5):
        ema.update(model)
    for name, t in model.state_dict().items():
        assert torch.allclose(ema.model.state_dict()[name].float(), t.float()), name


def test_the_batchnorm_step_counter_is_copied_not_averaged():
    model = build_model(SMALL)
    ema = WeightAverage(model, decay=0.99)
    model.stem[1].num_batches_tracked.fill_(7)
    ema.update(model)
    assert int(ema.model.stem[1].num_batches_tracked) == 7


@pytest.mark.parametrize("decay", [1.0, -0.1])
def test_a_decay_outside_0_to_1_is_a_config_error(decay):
    with pytest.raises(ConfigError, match="ema_decay"):
        config_from_dict({"ema_decay": decay})


def _cfg(small_pairs, epochs):
    return TrainConfig(data=[str(small_pairs)], widths=SMALL["widths"], blocks=SMALL["blocks"], epochs=epochs,
                       batch_size=2, samples_per_epoch=4, canvases=[[64, 96]], canvas_weights=[1.0],
                       input_hw=[64, 96], val_fraction=0.2, ema_decay=0.9, lr=0.01)


def test_training_saves_the_average_and_resumes_with_it(small_pairs, tmp_path):
    run = tmp_path / "run"
    train(_cfg(small_pairs, 1), run)
    first = load_checkpoint(run / "last.pt")
    assert first["ema_updates"] == 2
    changed = [k for k, v in first["model"].items() if v.is_floating_point()
               and not torch.equal(v, first["train_model"][k])]
    assert changed, "the saved (averaged) weights should differ from the raw trained weights"
    train(_cfg(small_pairs, 2), run, resume=True)
    second = load_checkpoint(run / "last.pt")
    assert second["ema_updates"] == 4 and [h["epoch"] for h in second["history"]] == [1, 2]


def test_resuming_a_run_without_an_average_into_one_with_it_is_refused(small_pairs, tmp_path):
    run = tmp_path / "run"
    plain = _cfg(small_pairs, 1)
    plain.ema_decay = 0.0
    train(plain, run)
    with pytest.raises(ConfigError, match="ema_decay"):
        train(_cfg(small_pairs, 2), run, resume=True)
