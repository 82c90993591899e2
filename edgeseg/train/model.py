"""EdgeUNet: a small U-Net for binary person segmentation on the edge.

Input: float32 NCHW RGB in [0, 1] (normalisation is learnt by the stem's BatchNorm).
Output: float32 N×1×H×W person probability, same H×W as the input.
H and W must be multiples of 16; the graph is fully convolutional, so any such size runs.

`upsample` (in the model config, so checkpoints say which they have) is how each UpBlock doubles
resolution before adding its skip:
- "bilinear" (the original): computed exactly (to 4e-7) as nearest ×2, an edge pad and a fixed
  [1,2,1]ᵀ[1,2,1]/16 depthwise 3×3. ONNX Runtime keeps those in its blocked NCHWc layout, where its
  bilinear Resize leaves it: the same model in 0.9× the CPU time at 176×320 (1 thread).
- "nearest": nearest ×2 alone, which the block's learnt depthwise 3×3 then smooths (0.83×); a bilinear
  model needs fine-tuning to become one.
The logits' final ×2 stays a bilinear Resize: on one channel the decomposition measured slower.
`set_bilinear_graph(model, "resize")` makes a bilinear model trace as plain Resize ops instead (same
function): export does that for the variants the conv form does not speed up (edgeseg.variants).
"""
from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from ..errors import choices_error

UPSAMPLES = ("bilinear", "nearest")


def conv_bn_act(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1,
                dilation: int = 1, act: bool = True) -> nn.Sequential:
    pad = dilation * (k // 2)
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def is_conv_bn(m: nn.Module) -> bool:
    """Whether `m` is a conv_bn_act block: a Conv2d followed by its BatchNorm (and maybe a ReLU)."""
    return (isinstance(m, nn.Sequential) and len(m) >= 2 and isinstance(m[0], nn.Conv2d)
            and isinstance(m[1], nn.BatchNorm2d))


class DownBlock(nn.Module):
    """Depthwise 3×3 stride 2 then pointwise: halves resolution, changes width."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.dw = conv_bn_act(cin, cin, 3, 2, groups=cin, act=False)
        self.pw = conv_bn_act(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(x))


class InvertedResidual(nn.Module):
    """MobileNetV2 block (expand 1×1, depthwise 3×3, project 1×1) with identity skip."""

    def __init__(self, c: int, expand: int = 2, dilation: int = 1):
        super().__init__()
        hidden = c * expand
        self.body = nn.Sequential(
            conv_bn_act(c, hidden, 1),
            conv_bn_act(hidden, hidden, 3, groups=hidden, dilation=dilation),
            conv_bn_act(hidden, c, 1, act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GlobalContext(nn.Module):
    """Squeeze-excite style gating from the whole image: cheap scene-level context."""

    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.fc(x.mean(dim=(2, 3), keepdim=True)))


def bilinear_kernel(channels: int) -> torch.Tensor:
    """The depthwise 3×3 that turns a nearest ×2 upsampling into a bilinear one (align_corners=False)."""
    k = torch.tensor([1.0, 2.0, 1.0])
    return (torch.outer(k, k) / 16).expand(channels, 1, 3, 3).contiguous()


def upsample2(x: torch.Tensor, kernel: torch.Tensor | None, size: tuple[int, int] | None = None) -> torch.Tensor:
    """×2 nearest, then (with `kernel`) edge pad and the fixed depthwise 3×3: exactly bilinear ×2.

    size: the output size, 2× the input's (the skip's shape: the exported graph then reads it from the
    skip, which onnxruntime's symbolic shape inference for quantization can follow; a scale cannot)."""
    x = F.interpolate(x, size=size or (2 * x.shape[-2], 2 * x.shape[-1]), mode="nearest")
    if kernel is None:
        return x
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=kernel.shape[0])


BILINEAR_GRAPHS = ("conv", "resize")


def set_bilinear_graph(model: nn.Module, form: str) -> nn.Module:
    """How a bilinear model's UpBlocks compute (and so export) their ×2: "conv" (upsample2) or "resize".

    Raises:
        ConfigError: an unknown form (lists the valid ones).
    """
    if form not in BILINEAR_GRAPHS:
        raise choices_error("bilinear graph", form, BILINEAR_GRAPHS)
    for m in model.modules():
        if isinstance(m, UpBlock):
            m.graph = form
    return model


class UpBlock(nn.Module):
    """Project to the skip's width, upsample ×2, add the skip, refine with a depthwise-separable conv."""

    def __init__(self, cin: int, cskip: int, upsample: str = "bilinear"):
        super().__init__()
        self.graph = "conv"                # set_bilinear_graph; read only when up_kernel is set (bilinear)
        # not in the state dict: checkpoints stay the same whichever way the model upsamples
        self.register_buffer("up_kernel", bilinear_kernel(cskip) if upsample == "bilinear" else None, persistent=False)
        self.proj = conv_bn_act(cin, cskip, 1)
        self.refine = nn.Sequential(
            conv_bn_act(cskip, cskip, 3, groups=cskip, act=False),
            conv_bn_act(cskip, cskip, 1),
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        if self.up_kernel is not None and self.graph == "resize":
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        else:
            x = upsample2(x, self.up_kernel, skip.shape[-2:])
        return self.refine(x + skip)


class EdgeUNet(nn.Module):
    """Encoder at strides 2/4/8/16 with skips; decoder back to stride 2; logits upsampled ×2.

    Raises:
        ConfigError: an unknown upsample (lists the valid ones).
    """

    def __init__(self, widths: tuple[int, int, int, int] = (16, 24, 48, 64),
                 blocks: tuple[int, int, int] = (1, 2, 3), expand: int = 2,
                 upsample: str = "bilinear"):
        super().__init__()
        if upsample not in UPSAMPLES:
            raise choices_error("upsample", upsample, UPSAMPLES)
        c1, c2, c3, c4 = widths
        self.widths, self.blocks, self.expand = tuple(widths), tuple(blocks), expand
        self.upsample = upsample
        self.stem = conv_bn_act(3, c1, 3, 2)                       # /2
        self.enc2 = nn.Sequential(DownBlock(c1, c2), *[InvertedResidual(c2, expand) for _ in range(blocks[0])])  # /4
        self.enc3 = nn.Sequential(DownBlock(c2, c3), *[InvertedResidual(c3, expand) for _ in range(blocks[1])])  # /8
        self.enc4 = nn.Sequential(DownBlock(c3, c4),
                                  *[InvertedResidual(c4, expand, dilation=d) for d in (1, 2, 4, 1)[: blocks[2]]],
                                  GlobalContext(c4))                                                             # /16
        self.up3 = UpBlock(c4, c3, upsample)
        self.up2 = UpBlock(c3, c2, upsample)
        self.up1 = UpBlock(c2, c1, upsample)
        self.head = nn.Conv2d(c1, 1, 1)

    def config(self) -> dict:
        return {"arch": "EdgeUNet", "widths": list(self.widths), "blocks": list(self.blocks), "expand": self.expand,
                "upsample": self.upsample}

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.stem(x)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        s4 = self.enc4(s3)
        d = self.up1(self.up2(self.up3(s4, s3), s2), s1)
        return F.interpolate(self.head(d), size=x.shape[-2:], mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward_logits(x))


def canonical_config(config: dict) -> dict:
    """A model config with every default filled in (checkpoints from before `upsample` lack it)."""
    return build_model(config).config()


def build_model(config: dict | None = None) -> EdgeUNet:
    """Build an EdgeUNet from a config dict (as stored in checkpoints).

    Raises:
        ConfigError: an unknown upsample.
    """
    cfg = dict(config or {})
    cfg.pop("arch", None)
    return EdgeUNet(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
