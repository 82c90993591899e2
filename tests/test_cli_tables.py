"""The CLI reads its choices from the registries and its defaults from the options dataclasses;
`edgeseg export` and `edgeseg train` name commands that work however edgeseg was installed."""
import argparse

import pytest

from edgeseg.cli import build_parser, main
from edgeseg.meta import COLOURS
from edgeseg.pipeline import EFFECTS, PipelineOptions
from edgeseg.postprocess import FEATHER_DIRECTIONS
from edgeseg.session import PROVIDER_CHOICES, PROVIDER_NAMES
from edgeseg.subject import SUBJECT_MODES
from edgeseg.variants import VARIANTS


def actions(command: str) -> dict[str, argparse.Action]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in sub.choices[command]._actions}


@pytest.mark.parametrize("command", ["process", "live"])
def test_every_choice_list_is_its_registry(command):
    got = {dest: tuple(a.choices) for dest, a in actions(command).items() if a.choices}
    assert got == {"precision": tuple(VARIANTS), "provider": PROVIDER_CHOICES, "colour": COLOURS,
                   "codec": got["codec"], "effect": EFFECTS, "feather_direction": FEATHER_DIRECTIONS,
                   "subject": tuple(SUBJECT_MODES)}


def test_effect_defaults_are_the_pipeline_options_defaults():
    args = build_parser().parse_args(["process", "in.jpg", "-o", "out.jpg"])
    d = PipelineOptions()
    assert (args.effect, args.blur, args.feather, args.feather_direction, args.mask_every, args.subject) == \
        (d.effect, d.blur_strength, d.feather_px, d.feather_direction, d.mask_every, d.subject)


def test_bench_measures_every_variant_and_provider_by_default():
    a = actions("bench")
    assert a["precision"].default.split(",") == list(VARIANTS)
    assert a["provider"].default.split(",") == list(PROVIDER_NAMES)


def test_edgeseg_export_has_its_own_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("usage: edgeseg export")


def test_edgeseg_export_of_a_missing_checkpoint_is_one_error(tmp_path, capsys, caplog):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    assert main(["export", str(tmp_path / "none.pt"), "--out", str(tmp_path / "out")]) == 2
    assert "none.pt not found" in capsys.readouterr().err + caplog.text   # export logs its error line


def test_training_without_data_says_how_to_name_it(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    assert "no training data: pass --data DIR" in capsys.readouterr().err


def test_info_lists_every_variant_with_the_providers_it_suits(capsys):
    import json
    assert main(["info"]) == 0
    variants = json.loads(capsys.readouterr().out)["variants"]
    assert [v["name"] for v in variants] == list(VARIANTS)
    for v in variants:
        assert v["providers"] == list(VARIANTS[v["name"]].providers) and v["note"] == VARIANTS[v["name"]].note
    assert variants[0] == {**variants[0], "file": "default.onnx", "present": True}


def test_bench_asked_only_for_a_variant_the_providers_do_not_suit_says_how_to_measure_it(capsys):
    assert main(["bench", "--precision", "fp16", "--provider", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "fp16 on cpu" in err and "--unsuited" in err
