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


def test_meta_that_is_not_json_is_refused():
    with pytest.raises(MetadataError, match="not valid JSON"):
        ModelMeta.from_json("{input_hw: 1")
