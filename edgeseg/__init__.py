"""edgeseg: on-device portrait segmentation with ONNX Runtime.

    from edgeseg import Segmenter
    with Segmenter.from_path() as seg:          # the bundled default model
        mask = seg.segment(frame_bgr).mask      # float32 H×W in [0, 1]

The runtime needs numpy, opencv and onnxruntime only; torch and onnx are never imported here.
"""
__version__ = "0.1.0"

from .errors import (ConfigError, DataError, EdgeSegError, FrameError, MetadataError, ModelError, OutputError,
                     ProviderError, SourceError, VerificationError)
from .meta import ModelMeta
from .pipeline import Pipeline, PipelineOptions
from .segmenter import SegmentationResult, Segmenter, SegmenterOptions
from .variants import VARIANTS, get_variant

__all__ = ["Segmenter", "SegmenterOptions", "SegmentationResult", "Pipeline", "PipelineOptions", "ModelMeta",
           "VARIANTS", "get_variant", "EdgeSegError", "ModelError", "MetadataError", "ProviderError", "FrameError",
           "SourceError", "OutputError", "DataError", "ConfigError", "VerificationError", "__version__"]
