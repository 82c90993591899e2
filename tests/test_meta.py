import json

import pytest

from edgeseg.errors import MetadataError
from edgeseg.meta import SCHEMA_VERSION, ModelMeta
from edgeseg.session import Session


def test_meta_survives_a_json_round_trip():
    meta = ModelMeta(input_hw=(160, 288), precision="int8", source_sha256="ab" * 32, val_person_iou=0.91)
    assert ModelMeta.from_json(meta.to_json()) == meta


def test_meta_written_into_onnx_is_read_back_by_the_runtime(tmp_path):
    from tests.conftest import make_redness_model
    meta = ModelMeta(input_hw=(96, 160), threshold=0.4, name="custom", colour="BGR")
    sess = Session(make_redness_model(tmp_path / "m.onnx", meta.to_json()), "cpu")
    assert sess.meta == meta


@pytest.mark.parametrize("change,words", [
    ({"schema_version": SCHEMA_VERSION + 1}, "schema"),
    ({"layout": "CHWN"}, "NCHW, NHWC"),
    ({"colour": "YUV"}, "RGB, BGR"),
    ({"surprise": 1}, "unknown"),
    ({"threshold": 1.5}, "threshold"),
])
def test_invalid_meta_is_refused_with_what_is_wrong(change, words):
    data = json.loads(ModelMeta().to_json())
    data.update(change)
    with pytest.raises(MetadataError, match=words):
        ModelMeta.from_json(json.dumps(data))


@pytest.mark.parametrize("field,value,words", [
    ("input_hw", [0, 256], r"\[1, 4096\]"),
    ("input_hw", [50000, 50000], r"\[1, 4096\]"),       # a 27.9 GiB input tensor
    ("input_hw", "144x256", "two integers"),
    ("input_hw", [144.5, 256], "two integers"),
    ("input_hw", [True, 256], "two integers"),
    ("adaptive", 1, "true or false"),
    ("multiple", True, "integer"),
    ("multiple", 0, r"\[1, 256\]"),
    ("mean", [float("nan"), 0, 0], "finite"),
    ("mean", [0, 0], "three numbers"),
    ("std", [0, 1, 1], "≥ 1e-6"),
    ("std", "1,1,1", "three numbers"),
    ("std", [float("inf"), 1, 1], "finite"),
    ("threshold", float("nan"), "finite"),
    ("threshold", True, "a number"),
    ("threshold", "0.5", "a number"),
    ("precision", "bf16", "fp32, fp16, int8"),
    ("name", 5, "string"),
    ("source_sha256", "xyz", "64"),
    ("val_person_iou", 1.5, r"\[0, 1\]"),
    ("extra", [], "JSON object"),
])
def test_each_metadata_field_is_checked_and_named(field, value, words):
    data = json.loads(ModelMeta().to_json())
    data[field] = value
    with pytest.raises(MetadataError, match=f"field '{field}'.*{words}"):
        ModelMeta.from_json(json.dumps(data))


def test_every_metadata_field_has_a_rule():
    import dataclasses
    from edgeseg.meta import FIELD_RULES
    assert set(FIELD_RULES) == {f.name for f in dataclasses.fields(ModelMeta)}


def test_a_model_with_bad_metadata_is_refused_at_load_naming_file_and_field(tmp_path):
    from tests.conftest import make_redness_model
    data = json.loads(ModelMeta().to_json())
    data["std"] = [float("nan")] * 3
    path = make_redness_model(tmp_path / "nanstd.onnx", json.dumps(data))
    with pytest.raises(MetadataError, match="nanstd.onnx.*field 'std'"):
        Session(path, "cpu")


def test_meta_that_is_not_json_is_refused():
    with pytest.raises(MetadataError, match="not valid JSON"):
        ModelMeta.from_json("{input_hw: 1")
