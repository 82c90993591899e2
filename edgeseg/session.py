"""The one ONNX Runtime session wrapper. It owns provider choice and says what it got."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import MetadataError, ModelError, ProviderError, choices_error
from .meta import META_KEY, ModelMeta

log = logging.getLogger("edgeseg")

PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "tensorrt": "TensorrtExecutionProvider"}
PROVIDER_CHOICES = ("auto",) + tuple(PROVIDER_NAMES)
AUTO_ORDER = ("tensorrt", "cuda", "cpu")
INSTALL_HINT = {
    "cuda": "install the GPU build: pip uninstall onnxruntime && pip install 'edgeseg[gpu]' "
            "(onnxruntime-gpu needs the CUDA and cuDNN libraries of its release)",
    "tensorrt": "install onnxruntime-gpu ('edgeseg[gpu]') and the TensorRT libraries, and put them on LD_LIBRARY_PATH",
}


def available_providers() -> list[str]:
    import onnxruntime as ort
    return list(ort.get_available_providers())


def resolve_providers(requested: str, available: list[str]) -> list[str]:
    """The ordered provider names to ask ORT for.

    'auto' takes TensorRT, then CUDA, then CPU, as far as this onnxruntime has them.
    An explicit request gets that provider (with CPU behind it only for nodes it cannot run).

    Raises:
        ConfigError: an unknown name (lists the valid ones).
        ProviderError: an explicit provider that this onnxruntime does not have (says how to get it).
    """
    if requested not in PROVIDER_CHOICES:
        raise choices_error("provider", requested, PROVIDER_CHOICES)
    if requested == "auto":
        chosen = [PROVIDER_NAMES[p] for p in AUTO_ORDER if PROVIDER_NAMES[p] in available]
        return chosen or ["CPUExecutionProvider"]
    name = PROVIDER_NAMES[requested]
    if name not in available:
        raise ProviderError(f"provider {requested!r} was requested but this onnxruntime has only "
                            f"{', '.join(available)}; {INSTALL_HINT.get(requested, '')}".rstrip("; "))
    return [name] if requested == "cpu" else [name, "CPUExecutionProvider"]


def short_name(provider: str) -> str:
    return {v: k for k, v in PROVIDER_NAMES.items()}.get(provider, provider)


def read_meta(sess, path: Path, override: ModelMeta | None) -> ModelMeta:
    text = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    if text is None:
        if override is not None:
            return override
        raise MetadataError(f"{path} has no edgeseg metadata ('{META_KEY}' in metadata_props). Export it with "
                            "`python -m export`, or describe it yourself: --input-size HxW [--mean/--std/--colour]")
    meta = ModelMeta.from_json(text)
    return override if override is not None else meta


class Session:
    """An ONNX Runtime session for one segmentation model.

    Raises (from the constructor):
        ModelError: the file is missing, corrupt, truncated or has the wrong inputs/outputs.
        MetadataError: no or invalid ModelMeta, and no override given.
        ProviderError: an explicit provider is missing, or ORT silently fell back from it.
    """

    def __init__(self, path: str | Path, provider: str = "auto", threads: int = 0, spinning: bool = False,
                 meta: ModelMeta | None = None, trt_cache_dir: str | Path | None = None):
        import onnxruntime as ort
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} not found; pass --model PATH to an .onnx file "
                             "(or leave --model out to use the bundled default)")
        self.requested = provider
        providers = resolve_providers(provider, available_providers())
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        so.add_session_config_entry("session.force_spinning_stop", "1")   # never spin once Run() returns
        so.log_severity_level = 3
        options = [self._provider_options(p, trt_cache_dir, meta) for p in providers]
        try:
            self._sess = ort.InferenceSession(str(self.path), so, providers=providers, provider_options=options)
        except Exception as exc:  # ORT raises its own Fail/InvalidProtobuf/InvalidGraph types
            msg = str(exc).splitlines()[0][:300]
            if "provider" in msg.lower() and provider != "auto":
                raise ProviderError(f"provider {provider!r} failed to start: {msg}; {INSTALL_HINT.get(provider, '')}") from None
            raise ModelError(f"cannot load {self.path}: it is not a valid ONNX model (corrupt or truncated?). "
                             f"ONNX Runtime said: {msg}. Re-export it or re-download it") from None
        self.providers = list(self._sess.get_providers())
        self._check_fallback(providers)
        self.meta = read_meta(self._sess, self.path, meta)
        self._check_io()
        log.info("model %s (%s) on %s", self.path.name, self.meta.precision,
                 ", ".join(short_name(p) for p in self.providers))

    def _provider_options(self, name: str, trt_cache_dir, meta: ModelMeta | None) -> dict:
        if name != "TensorrtExecutionProvider":
            return {}
        import hashlib
        from .trt import engine_cache_dir, trt_profile_shapes
        if meta is None:   # read the model's own metadata first: the cache key needs its input size
            meta = Session(self.path, "cpu").meta
        sha = hashlib.sha256(self.path.read_bytes()).hexdigest()
        cache = engine_cache_dir(trt_cache_dir, sha, meta.input_hw)
        log.info("TensorRT engine cache: %s", cache)
        opts = {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache),
                "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(cache), "trt_fp16_enable": "True"}
        if meta.adaptive:
            opts.update(trt_profile_shapes(meta))
        return opts

    def _check_fallback(self, asked: list[str]) -> None:
        got = self.providers[0] if self.providers else "none"
        if got == asked[0]:
            return
        if self.requested != "auto":
            raise ProviderError(f"provider {self.requested!r} was requested but ONNX Runtime fell back to "
                                f"{short_name(got)} (its libraries failed to load); "
                                f"{INSTALL_HINT.get(self.requested, '')}")
        log.warning("FALLBACK: asked ONNX Runtime for %s, it gave %s. Inference runs on %s; see the log above "
                    "for the missing library, or pass --provider cpu to silence this",
                    short_name(asked[0]), short_name(got), short_name(got))

    def _check_io(self) -> None:
        ins, outs = self._sess.get_inputs(), self._sess.get_outputs()
        if len(ins) != 1:
            raise ModelError(f"{self.path.name} has {len(ins)} inputs; a segmentation model needs exactly one image input")
        if len(ins[0].shape) != 4:
            raise ModelError(f"{self.path.name} input {ins[0].name!r} has shape {ins[0].shape}; expected a 4-D image tensor")
        shape = outs[0].shape
        channels_ok = len(shape) == 4 and (shape[1] in (1, None) or isinstance(shape[1], str) or shape[-1] == 1)
        if len(shape) not in (3, 4) or (len(shape) == 4 and not channels_ok):
            raise ModelError(f"{self.path.name} output {outs[0].name!r} has shape {shape}; expected N×1×H×W "
                             "(or N×H×W) person probability")
        self.input_name, self.output_name = ins[0].name, outs[0].name
        self.input_dtype = np.float16 if "float16" in ins[0].type else np.float32
        static = ins[0].shape[2:] if self.meta.layout == "NCHW" else ins[0].shape[1:3]
        self.static_hw = tuple(static) if all(isinstance(d, int) for d in static) else None

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the model; returns the H×W output plane (float32).

        Raises:
            ModelError: the output does not have one channel at the input's size.
        """
        y = self._sess.run([self.output_name], {self.input_name: x})[0]
        if y.ndim == 4:
            y = y[0, 0] if y.shape[1] == 1 else (y[0, :, :, 0] if y.shape[3] == 1 else None)
        elif y.ndim == 3:
            y = y[0]
        if y is None or y.ndim != 2:
            raise ModelError(f"{self.path.name} returned shape {y.shape if y is not None else None}; "
                             "expected one mask channel")
        return y if y.dtype == np.float32 else y.astype(np.float32)

    @property
    def provider(self) -> str:
        return short_name(self.providers[0])
