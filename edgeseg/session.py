"""The one ONNX Runtime session wrapper. It owns provider choice and says what it got."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError, MetadataError, ModelError, ProviderError, choices_error
from .install import EXPORT_COMMAND
from .meta import META_KEY, ModelMeta

log = logging.getLogger("edgeseg")

PROVIDER_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                  "tensorrt": "TensorrtExecutionProvider"}
PROVIDER_CHOICES = ("auto",) + tuple(PROVIDER_NAMES)
AUTO_ORDER = ("tensorrt", "cuda", "cpu")


def install_hint(provider: str) -> str:
    """How to get a GPU provider ('' for the CPU, which every build has)."""
    from .install import pip_install
    if provider == "cuda":
        return (f"install the GPU build: pip uninstall onnxruntime && {pip_install('gpu')} (onnxruntime-gpu needs "
                "the CUDA and cuDNN libraries of its release; `edgeseg doctor` says which are missing)")
    if provider == "tensorrt":
        return (f"install onnxruntime-gpu ({pip_install('gpu')}) and the TensorRT libraries, and put them on "
                "LD_LIBRARY_PATH (`edgeseg doctor` says which are missing)")
    return ""


MAX_THREADS = 256          # more ONNX Runtime threads than this is a typo, and creating them can hang
FLOAT_INPUTS = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
FLOAT_OUTPUTS = ("tensor(float)", "tensor(float16)", "tensor(double)")
# What a NaN, +inf or -inf in the model's output becomes: background, person, background
SANITISE = {"probability": (0.0, 1.0, 0.0), "logits": (-20.0, 20.0, -20.0)}


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output as ONNX Runtime reports it; a str in `shape` is a dynamic axis."""
    name: str
    shape: tuple
    type: str


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
                            f"{', '.join(available)}; {install_hint(requested)}".rstrip("; "))
    return [name] if requested == "cpu" else [name, "CPUExecutionProvider"]


def short_name(provider: str) -> str:
    return {v: k for k, v in PROVIDER_NAMES.items()}.get(provider, provider)


def check_threads(threads: object) -> int:
    """Raises ConfigError unless threads is an integer in [0, MAX_THREADS] (0: ONNX Runtime's default)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= MAX_THREADS:
        raise ConfigError(f"threads must be an integer from 0 to {MAX_THREADS} (0: the default), got {threads!r}")
    return threads


def folder_error(path: Path) -> ModelError:
    """The ModelError for a model path that is a folder: names the .onnx files inside it."""
    inside = sorted(p.name for p in path.glob("*.onnx"))
    holds = f"it holds {', '.join(inside[:6])}" if inside else "it holds no .onnx file"
    example = path / (inside[0] if inside else "MODEL.onnx")
    return ModelError(f"model path {path} is a folder, not a model file ({holds}); pass the file: --model {example}")


def read_meta(sess, path: Path, override: ModelMeta | None) -> ModelMeta:
    if override is not None:
        return override
    text = sess.get_modelmeta().custom_metadata_map.get(META_KEY)
    if text is None:
        raise MetadataError(f"{path} has no edgeseg metadata ('{META_KEY}' in metadata_props). Export it with "
                            f"`{EXPORT_COMMAND}`, or describe it yourself: --input-size HxW [--mean/--std/--colour]")
    try:
        return ModelMeta.from_json(text)
    except MetadataError as exc:
        raise MetadataError(f"{path.name}: {exc}") from None


class Session:
    """An ONNX Runtime session for one segmentation model.

    The constructor checks the model's inputs and outputs against its metadata and runs it once on a
    black frame, so a model that cannot run fails here, not on the first frame.

    Raises (from the constructor):
        ModelError: the file is missing, a folder, corrupt or truncated; its input is not one 1×3×H×W (or
            1×H×W×3) float image laid out as its metadata says; its output is not one float mask at the
            input's size; or it fails or gives NaN on a black frame.
        MetadataError: no or invalid ModelMeta, and no override given.
        ProviderError: an explicit provider is missing, or ORT silently fell back from it.
        ConfigError: threads out of range.
    """

    def __init__(self, path: str | Path, provider: str = "auto", threads: int = 0, spinning: bool = False,
                 meta: ModelMeta | None = None, trt_cache_dir: str | Path | None = None):
        import onnxruntime as ort
        self.path = Path(path).expanduser()
        if self.path.is_dir():
            raise folder_error(self.path)
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} not found; pass --model PATH to an .onnx file "
                             "(or leave --model out to use the bundled default)")
        self.requested = provider
        check_threads(threads)
        self.nonfinite_runs = 0
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
                raise ProviderError(f"provider {provider!r} failed to start: {msg}; {install_hint(provider)}") from None
            raise ModelError(f"cannot load {self.path}: it is not a valid ONNX model (corrupt or truncated?). "
                             f"ONNX Runtime said: {msg}. Re-export it or re-download it") from None
        self.providers = list(self._sess.get_providers())
        self._check_fallback(providers)
        self.meta = read_meta(self._sess, self.path, meta)
        self._check_io()
        self._check_run()
        log.info("model %s (%s) on %s", self.path.name, self.meta.precision,
                 ", ".join(short_name(p) for p in self.providers))

    def _provider_options(self, name: str, trt_cache_dir, meta: ModelMeta | None) -> dict:
        if name != "TensorrtExecutionProvider":
            return {}
        import hashlib
        from .trt import engine_cache_dir, trt_profile_shapes
        probe = Session(self.path, "cpu", meta=meta)   # the cache key needs the input size, the profile its name
        meta = probe.meta
        sha = hashlib.sha256(self.path.read_bytes()).hexdigest()
        cache = engine_cache_dir(trt_cache_dir, sha, meta.input_hw)
        log.info("TensorRT engine cache: %s", cache)
        opts = {"trt_engine_cache_enable": "True", "trt_engine_cache_path": str(cache),
                "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(cache), "trt_fp16_enable": "True"}
        if meta.adaptive:
            opts.update(trt_profile_shapes(meta, probe.input.name))
        return opts

    def _check_fallback(self, asked: list[str]) -> None:
        got = self.providers[0] if self.providers else "none"
        if got == asked[0]:
            return
        if self.requested != "auto":
            raise ProviderError(f"provider {self.requested!r} was requested but ONNX Runtime fell back to "
                                f"{short_name(got)} (its libraries failed to load); "
                                f"{install_hint(self.requested)}")
        log.warning("FALLBACK: asked ONNX Runtime for %s, it gave %s. Inference runs on %s; see the log above "
                    "for the missing library, or pass --provider cpu to silence this",
                    short_name(asked[0]), short_name(got), short_name(got))

    def _check_io(self) -> None:
        ins, outs = self._sess.get_inputs(), self._sess.get_outputs()
        name, layout = self.path.name, self.meta.layout
        if len(ins) != 1:
            raise ModelError(f"{name} has {len(ins)} inputs; a segmentation model needs exactly one image input")
        self.input = TensorSpec(ins[0].name, tuple(ins[0].shape), ins[0].type)
        self.output = TensorSpec(outs[0].name, tuple(outs[0].shape), outs[0].type)
        shape = self.input.shape
        if len(shape) != 4:
            raise ModelError(f"{name} input {self.input.name!r} has shape {list(shape)}; expected a 4-D image tensor "
                             "(1×3×H×W, or 1×H×W×3 with layout NHWC in its metadata)")
        if self.input.type not in FLOAT_INPUTS:
            raise ModelError(f"{name} input {self.input.name!r} is {self.input.type}; edgeseg feeds float32 (or "
                             "float16) images with values in [0, 1]: re-export the model with a float input")
        if isinstance(shape[0], int) and shape[0] != 1:
            raise ModelError(f"{name} input {self.input.name!r} has batch size {shape[0]}; edgeseg feeds one frame "
                             "at a time: re-export it with batch size 1 (or a dynamic batch axis)")
        channels, other = (shape[1], shape[3]) if layout == "NCHW" else (shape[3], shape[1])
        if channels != 3 and other == 3:
            raise ModelError(f"{name} input {self.input.name!r} has shape {list(shape)}, which is "
                             f"{'NHWC' if layout == 'NCHW' else 'NCHW'}, but its metadata says layout {layout}; "
                             "fix the layout in its metadata or re-export the model")
        if isinstance(channels, int) and channels != 3:
            raise ModelError(f"{name} input {self.input.name!r} has {channels} channel(s) (shape {list(shape)}); "
                             "edgeseg feeds 3-channel colour images: re-export the model with a 3-channel input")
        out = self.output.shape
        channels_ok = len(out) == 3 or (len(out) == 4 and (not isinstance(out[1], int) or out[1] == 1
                                                              or out[-1] == 1))
        if len(out) not in (3, 4) or not channels_ok:
            raise ModelError(f"{name} output {self.output.name!r} has shape {list(out)}; expected N×1×H×W "
                             "(or N×H×W) person probability")
        if self.output.type not in FLOAT_OUTPUTS:
            raise ModelError(f"{name} output {self.output.name!r} is {self.output.type}; expected a float "
                             "person probability (or logits) mask")
        self.input_name, self.output_name = self.input.name, self.output.name
        self.input_dtype = FLOAT_INPUTS[self.input.type]
        static = shape[2:] if layout == "NCHW" else shape[1:3]
        self.static_hw = tuple(static) if all(isinstance(d, int) for d in static) else None

    def _check_run(self) -> None:
        """Run the model once on a black frame at its base size: it must give a finite mask of that size."""
        h, w = self.static_hw or self.meta.input_hw
        x = np.zeros((1, 3, h, w) if self.meta.layout == "NCHW" else (1, h, w, 3), self.input_dtype)
        y = self._run(x)
        if not np.isfinite(y).all():
            raise ModelError(f"{self.path.name} outputs NaN or infinity for a black {h}x{w} frame: its weights "
                             "are broken. Re-export it from a good checkpoint")

    def _run(self, x: np.ndarray) -> np.ndarray:
        try:
            y = self._sess.run([self.output_name], {self.input_name: x})[0]
        except Exception as exc:  # ORT raises its own Fail/InvalidArgument/RuntimeException types
            msg = str(exc).splitlines()[0][:300]
            raise ModelError(f"ONNX Runtime failed running {self.path.name} on a {'x'.join(map(str, x.shape))} "
                             f"{x.dtype} input: {msg}. Check that the model takes this input size, or re-export "
                             "it") from None
        shape = y.shape
        if y.ndim == 4:
            y = y[0, 0] if y.shape[1] == 1 else (y[0, :, :, 0] if y.shape[3] == 1 else None)
        elif y.ndim == 3:
            y = y[0]
        if y is None or y.ndim != 2:
            raise ModelError(f"{self.path.name} returned shape {list(shape)}; expected one mask channel")
        hw = x.shape[2:] if self.meta.layout == "NCHW" else x.shape[1:3]
        if y.shape != hw:
            raise ModelError(f"{self.path.name} returned a {y.shape[0]}x{y.shape[1]} mask for a {hw[0]}x{hw[1]} "
                             "input; edgeseg needs the mask at the input's size (upsample it inside the model)")
        return y if y.dtype == np.float32 else y.astype(np.float32)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the model; returns the H×W output plane (float32), always finite.

        NaN and infinity in the output (an fp16 overflow, say) become background (+inf: person), with
        a warning on the first such run and every 100th after (`nonfinite_runs` counts them).

        Raises:
            ModelError: ONNX Runtime failed, or the output is not one channel at the input's size.
        """
        y = self._run(x)
        if not np.isfinite(y).all():
            self._sanitise(y)
        return y

    def _sanitise(self, y: np.ndarray) -> None:
        nan, pos, neg = SANITISE[self.meta.output]
        bad = int(np.count_nonzero(~np.isfinite(y)))
        np.nan_to_num(y, copy=False, nan=nan, posinf=pos, neginf=neg)
        self.nonfinite_runs += 1
        if self.nonfinite_runs == 1 or self.nonfinite_runs % 100 == 0:
            log.warning("%s gave NaN or infinity in %d of %d mask pixels (run %d with such output); they were "
                        "set to background. Try --precision fp32 if this is an fp16 model", self.path.name, bad,
                        y.size, self.nonfinite_runs)

    @property
    def provider(self) -> str:
        return short_name(self.providers[0])
