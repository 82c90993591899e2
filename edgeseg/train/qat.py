"""Quantisation-aware fine-tuning: train through the rounding that export's INT8 file will apply.

Export makes the INT8 variant with onnxruntime's static QDQ quantiser (export/quantize.py): the
BatchNorm-folded weights of every convolution but the first and the last are rounded to int8 per output
channel (symmetric, scale max|w| / 127), and the activations between them to uint8 per tensor (the
range seen on calibration images, always including 0). `enable_fake_quant` makes an EdgeUNet compute
the same way in training: each Conv+BatchNorm runs as one convolution with its folded, rounded weights,
and every tensor the INT8 graph quantises (the outputs of the convolutions, residual and skip adds, the
context gate's mean, gate and product, the decoder's upsampling and the logits) is rounded to 256 levels
over a range measured once on training batches (`calibrate`). Rounding passes gradients
straight through (torch's fake-quantize ops), so the weights learn to sit where rounding costs little.

The module tree and the state dict stay as they were: checkpoints, EMA, export and `init:` see an
ordinary EdgeUNet. Folding uses BatchNorm's running statistics, so fake quantisation needs
`freeze_bn_stats` (checked by the config). The range buffers are not saved: a resumed run measures them
again from its weights.
"""
from __future__ import annotations

import types
from typing import Iterable

import torch
from torch import nn
import torch.nn.functional as F

from .model import EdgeUNet, GlobalContext, InvertedResidual, UpBlock, is_conv_bn, upsample2

WEIGHT_LEVELS = 127        # symmetric int8: q in [-127, 127]
ACT_LEVELS = 255           # uint8: q in [0, 255]


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel symmetric int8 rounding (onnxruntime's QInt8 per-channel weights)."""
    scale = (w.detach().abs().flatten(1).amax(1) / WEIGHT_LEVELS).clamp_min(1e-12)
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale.float(), zero, 0, -WEIGHT_LEVELS, WEIGHT_LEVELS)


class ActRange(nn.Module):
    """An activation's uint8 rounding over [lo, hi] (lo ≤ 0 ≤ hi); while `observing`, widens the range
    to what passes through instead (onnxruntime's MinMax calibration) and returns its input unchanged."""

    def __init__(self):
        super().__init__()
        self.register_buffer("lo", torch.zeros(()), persistent=False)
        self.register_buffer("hi", torch.zeros(()), persistent=False)
        self.observing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observing:
            self.lo.copy_(torch.minimum(self.lo, x.detach().min().float()))
            self.hi.copy_(torch.maximum(self.hi, x.detach().max().float()))
            return x
        span = float(self.hi - self.lo)
        if span <= 0.0:
            return x
        scale = span / ACT_LEVELS
        zero = int(round(-float(self.lo) / scale))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, ACT_LEVELS)


def _rounded(w: torch.Tensor, out_range: ActRange) -> torch.Tensor:
    """The weights rounded; float while the ranges are measured (onnxruntime calibrates the float model)."""
    return w if out_range.observing else fake_quant_weight(w)


def _conv_bn_forward(self: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """conv_bn_act as one convolution with BatchNorm folded in (running statistics) and int8 weights."""
    conv, bn = self[0], self[1]
    inv = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = _rounded(conv.weight * inv.reshape(-1, 1, 1, 1), self.act_range)
    b = bn.bias - bn.running_mean * inv
    y = F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation, conv.groups)
    if len(self) > 2:
        y = self[2](y)
    return self.act_range(y)


def _conv_forward(self: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A plain convolution (the context gate's) with int8 weights."""
    y = F.conv2d(x, _rounded(self.weight, self.act_range), self.bias, self.stride, self.padding, self.dilation, self.groups)
    return self.act_range(y)


def _context_forward(self: GlobalContext, x: torch.Tensor) -> torch.Tensor:
    """The context gate with its mean, its gate and its product rounded (the fc conv rounds its own)."""
    gate = self.gate_range(torch.sigmoid(self.fc(self.mean_range(x.mean(dim=(2, 3), keepdim=True)))))
    return self.act_range(x * gate)


def _up_forward(self: UpBlock, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """UpBlock with the upsampled tensor and the skip Add rounded (export's graph form, "conv")."""
    x = self.up_range(upsample2(self.proj(x), self.up_kernel, skip.shape[-2:]))
    return self.refine(self.act_range(x + skip))


def _round_output(module: nn.Module, _inputs, output: torch.Tensor) -> torch.Tensor:
    return module.act_range(output)


def enable_fake_quant(model: EdgeUNet) -> EdgeUNet:
    """Make `model` (in place) compute as its INT8 export does; the first conv (stem) keeps float
    weights but rounds its output, the head stays float. Returns the model."""
    device = next(model.parameters()).device

    def attach(m: nn.Module, name: str = "act_range") -> None:
        setattr(m, name, ActRange().to(device))

    for name, m in model.named_modules():
        if is_conv_bn(m):
            attach(m)
            if name == "stem":      # float weights, as export keeps them; its output is rounded
                m.register_forward_hook(_round_output)
            else:
                m.forward = types.MethodType(_conv_bn_forward, m)
        elif isinstance(m, GlobalContext):
            attach(m.fc)
            m.fc.forward = types.MethodType(_conv_forward, m.fc)
            for r in ("act_range", "mean_range", "gate_range"):
                attach(m, r)
            m.forward = types.MethodType(_context_forward, m)
        elif isinstance(m, InvertedResidual):
            attach(m)
            m.register_forward_hook(_round_output)      # the residual Add
        elif isinstance(m, UpBlock):
            if m.up_kernel is None or m.graph != "conv":
                raise ValueError("fake quantisation follows the bilinear model's exported conv form")
            attach(m)
            attach(m, "up_range")
            m.forward = types.MethodType(_up_forward, m)
    attach(model.head)                                  # float weights; its logits are rounded
    model.head.register_forward_hook(_round_output)
    return model


def ranges(model: nn.Module) -> Iterable[ActRange]:
    return (m for m in model.modules() if isinstance(m, ActRange))


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Measure every activation range on `batches` (the model's inputs), from zero; returns how many
    ranges there are. The model is left in eval mode."""
    model.eval()
    for r in ranges(model):
        r.lo.zero_()
        r.hi.zero_()
        r.observing = True
    try:
        for x in batches:
            model(x)
    finally:
        for r in ranges(model):
            r.observing = False
    return sum(1 for _ in ranges(model))
