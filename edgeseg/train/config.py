"""Training configuration: a YAML file (or defaults) plus command-line overrides."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, choices_error
from ..meta import ModelMeta
from .augment import AugmentConfig


DEVICES = ("auto", "cpu", "cuda")
BEST_METRICS = ("val_person_iou", "val_miou", "val_boundary_f", "val_portrait_iou", "val_portrait_boundary_f",
                "val_mean", "epoch")


@dataclass
class TrainConfig:
    data: list[str] = field(default_factory=list)   # folders with images/ and masks/ (a config or --data names them)
    soft_label_data: list[str] = field(default_factory=list)   # folders of `data` whose masks are soft labels
    data_weights: list[float] = field(default_factory=list)    # how often each `data` folder is drawn; []: by size
    coarse_edges: list[str] = field(default_factory=list)      # folders of `data` with coarse (polygon) mask edges
    ignore_boxes: str | None = None   # JSON {pair name: [[x0, y0, x1, y1], ...]} of unlabelled bystanders
    monitor: list[str] = field(default_factory=list)   # folders scored every epoch, never trained on
    max_val_per_source: int = 0       # cap each folder's validation split (0 = all)
    backgrounds: str | None = None
    cutouts: str | None = None
    val_fraction: float = 0.1
    widths: list[int] = field(default_factory=lambda: [8, 24, 48, 96])
    blocks: list[int] = field(default_factory=lambda: [1, 2, 3])
    expand: int = 2
    upsample: str = "bilinear"        # the decoder's ×2 steps: bilinear or nearest (see model.py)
    input_hw: list[int] = field(default_factory=lambda: [144, 256])   # landscape base size (H, W)
    adaptive_canvas: bool = True      # portrait frames get a portrait canvas of the same area
    canvases: list[list[int]] = field(default_factory=lambda: [[144, 256], [256, 144], [192, 192], [176, 224]])
    canvas_weights: list[float] = field(default_factory=lambda: [0.55, 0.2, 0.1, 0.15])
    epochs: int = 40
    samples_per_epoch: int = 4000
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    dice_weight: float = 1.0
    boundary_weight: float = 0.0      # extra BCE weight within a few px of the mask edge
    boundary_width: int = 5           # px (odd, at the canvas) of that band: 5 is within 2 px of the edge
    lovasz_weight: float = 0.0        # weight of a Lovász hinge term (a surrogate of 1 - IoU; losses.py)
    ohem_weight: float = 0.0          # weight of a BCE term over each image's hardest pixels (losses.hard_pixel_bce)
    ohem_fraction: float = 0.1        # the share of pixels that term averages over
    init: str | None = None           # start from this checkpoint's weights (a fine-tuning stage)
    ema_decay: float = 0.0            # > 0: validate and save an exponential moving average of the weights
    freeze_bn_stats: bool = False     # BatchNorm keeps its running statistics while training (fine-tuning)
    fake_quant: bool = False          # train through INT8 export's rounding (qat.py; needs freeze_bn_stats)
    fake_quant_calib_batches: int = 8  # training batches that measure the activation ranges (fake_quant)
    seed: int = 0
    keep_epochs: bool = False         # also write OUT/epoch{N}.pt each epoch (for `python -m edgeseg.train.soup`)
    workers: int = 1
    threads: int = 0                  # torch threads per process; 0: all cores, or cores // processes on a machine
    # several processes (torchrun, `edgeseg train --nproc N`): batch_size is the global batch, see the README
    device: str = "auto"              # "auto": one GPU per process where CUDA is available, else the CPU
    sync_bn: bool = False             # BatchNorm statistics over the global batch (SyncBatchNorm; GPUs only)
    bf16: bool = False                # bfloat16 autocast for the forward pass (fast on GPUs)
    seed_per_sample: bool = False     # seed each sample by (seed, epoch, index): the same samples for any N;
                                      # always on with several processes or loader workers
    max_val_images: int = 0           # 0 = all
    best_metric: str = "val_person_iou"   # what best.pt maximises; "epoch": the latest epoch is best
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def model_meta(self) -> ModelMeta:
        """The model's contract as trained: its base canvas and canvas rule, with ModelMeta's stride,
        colour order, layout and normalisation. Batches, validation and every checkpoint read it."""
        return ModelMeta(input_hw=tuple(self.input_hw), adaptive=self.adaptive_canvas)

    def score_keys(self) -> list[str]:
        """The validation keys an epoch reports: the first folder's, one pair per other folder and monitor set."""
        keys = list(BEST_METRICS[:5])
        keys += [f"val_{Path(d).name}_{m}" for d in self.data[1:] for m in ("iou", "boundary_f")]
        keys += [f"dev_{Path(d).name}_{m}" for d in self.monitor for m in ("iou", "boundary_f")]
        return keys + ["val_mean"]


def _known(cls, values: dict, where: str) -> dict:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}; valid keys: {', '.join(sorted(names))}")
    return values


def config_from_dict(values: dict) -> TrainConfig:
    """Build a TrainConfig, refusing unknown keys (listing the valid ones)."""
    values = dict(_known(TrainConfig, values or {}, "training config"))
    aug = values.pop("augment", None) or {}
    cfg = TrainConfig(**values, augment=AugmentConfig(**_known(AugmentConfig, aug, "augment")))
    stray = [d for d in cfg.soft_label_data if d not in cfg.data]
    if stray:
        raise ConfigError(f"soft_label_data {stray} must also be listed in data ({cfg.data})")
    if cfg.best_metric not in cfg.score_keys() + ["epoch"]:
        raise ConfigError(f"best_metric {cfg.best_metric!r} is not one of {', '.join(cfg.score_keys() + ['epoch'])}")
    if cfg.data_weights and len(cfg.data_weights) != len(cfg.data):
        raise ConfigError(f"data_weights has {len(cfg.data_weights)} values for {len(cfg.data)} data folders; "
                          "give one weight per folder, or leave it out to draw by folder size")
    if any(w < 0 for w in cfg.data_weights) or (cfg.data_weights and sum(cfg.data_weights) <= 0):
        raise ConfigError(f"data_weights {cfg.data_weights} must be ≥ 0 with a positive sum")
    stray = [d for d in cfg.coarse_edges if d not in cfg.data]
    if stray:
        raise ConfigError(f"coarse_edges {stray} must also be listed in data ({cfg.data})")
    if len(cfg.canvases) != len(cfg.canvas_weights):
        raise ConfigError("canvases and canvas_weights must have the same length")
    stride = ModelMeta().multiple
    for h, w in cfg.canvases + [cfg.input_hw]:
        if h % stride or w % stride:
            raise ConfigError(f"canvas {h}x{w}: height and width must be multiples of {stride} "
                              "(the model's stride)")
    if cfg.device not in DEVICES:
        raise choices_error("device", cfg.device, DEVICES)
    if not 0.0 <= cfg.ema_decay < 1.0:
        raise ConfigError(f"ema_decay {cfg.ema_decay} must be in [0, 1) (0 turns the weight average off; 0.998 is typical)")
    if cfg.boundary_width < 1 or cfg.boundary_width % 2 == 0:
        raise ConfigError(f"boundary_width {cfg.boundary_width} must be an odd number of px ≥ 1 (5 is within 2 px "
                          "of the edge)")
    if not 0.0 < cfg.ohem_fraction <= 1.0:
        raise ConfigError(f"ohem_fraction {cfg.ohem_fraction} must be in (0, 1]: the share of each image's pixels "
                          "that the hard-pixel term averages over (0.1 is typical)")
    if cfg.fake_quant and not cfg.freeze_bn_stats:
        raise ConfigError("fake_quant folds BatchNorm's running statistics into the convolutions; "
                          "set freeze_bn_stats: true as well (fake_quant is for fine-tuning)")
    if cfg.fake_quant and cfg.fake_quant_calib_batches < 1:
        raise ConfigError(f"fake_quant_calib_batches {cfg.fake_quant_calib_batches} must be ≥ 1")
    if cfg.epochs < 1 or cfg.batch_size < 1 or cfg.samples_per_epoch < cfg.batch_size:
        raise ConfigError("epochs and batch_size must be ≥ 1 and samples_per_epoch ≥ batch_size")
    return cfg


def _read_yaml(path: Path) -> dict:
    import yaml
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; see configs/default.yaml for an example")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys to values")
    return values


def load_config(path: str | Path | None) -> TrainConfig:
    """Read a YAML training config; None gives the defaults.

    `extends: OTHER.yaml` (relative to this file) starts from that config's values, so a stage
    config lists only what it changes (each top-level key it gives replaces the base's).

    Raises:
        ConfigError: a file is missing or is not YAML, `extends` loops, or a key is unknown.
    """
    if path is None:
        return TrainConfig()
    chain, path = [], Path(path)
    while True:
        if path.resolve() in (p.resolve() for p, _ in chain):
            raise ConfigError(f"config {path} extends itself (through {' → '.join(str(p) for p, _ in chain)}); "
                              "remove the loop in the `extends:` keys")
        values = _read_yaml(path)
        chain.append((path, values))
        base = values.pop("extends", None)
        if base is None:
            break
        path = path.parent / str(base)
    merged: dict = {}
    for _, values in reversed(chain):
        merged.update(values)
    return config_from_dict(merged)
