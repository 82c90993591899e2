"""Recover a trainable checkpoint from an exported ONNX model (BatchNorm folded into the convolutions).

Export folds every BatchNorm into the convolution before it. The folded weights reproduce the model
exactly in eval mode, but training needs BatchNorm back: with BatchNorm as an identity, the first
training-mode steps normalise by batch statistics that no longer match and destroy the model.

So each BatchNorm is *calibrated* on real images: its running mean and variance are the statistics
of its convolution's (bias-free) output, its weight is sqrt(var + eps) and its bias is the folded bias
plus the mean. In eval mode that is the folded function exactly; in training mode the batch
statistics of real images are close to the running ones, so training starts from the same model.

    python -m edgeseg.train.recover edgeseg/models/default.onnx --images ../shared/data/people/ccp \
        --out edgeseg/models/default.pt

Needs the export extra (onnx) and the train extra (torch).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import EdgeSegError, ModelError
from ..meta import META_KEY, ModelMeta
from .checkpoint import save_checkpoint
from .model import EdgeUNet, bilinear_kernel, build_model, is_conv_bn

log = logging.getLogger(__name__)


def _onnx_convs(path: Path) -> tuple[list[tuple[np.ndarray, np.ndarray]], ModelMeta]:
    """(weight, bias) of every Conv node in graph order, and the model's ModelMeta. The fixed, bias-free
    depthwise 3×3s of the decoder's bilinear upsampling (model.upsample2) are no weights: skipped."""
    import onnx
    from onnx import numpy_helper
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises DecodeError, OSError...
        raise ModelError(f"{path} cannot be read as ONNX ({exc}); pass an exported edgeseg .onnx file") from None
    props = {p.key: p.value for p in model.metadata_props}
    if META_KEY not in props:
        raise ModelError(f"{path} has no edgeseg metadata; only models written by edgeseg's export can be recovered")
    meta = ModelMeta.from_json(props[META_KEY])
    if meta.precision != "fp32":
        raise ModelError(f"{path} is the {meta.precision} variant; recover from the fp32 file (default.onnx)")
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    inits.update({n.output[0]: numpy_helper.to_array(a.t) for n in model.graph.node if n.op_type == "Constant"
                  for a in n.attribute if a.name == "value"})     # the fixed kernels are Constant nodes
    convs = []
    for node in model.graph.node:
        if node.op_type == "Conv":
            w = inits[node.input[1]]
            if len(node.input) == 2 and _is_upsample_kernel(w):
                continue
            b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            convs.append((w, b))
    return convs, meta


def _is_upsample_kernel(w: np.ndarray) -> bool:
    fixed = bilinear_kernel(w.shape[0]).numpy()
    return w.shape == fixed.shape and np.allclose(w, fixed)


def _conv_bn_pairs(model: EdgeUNet) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
    """Every Conv2d in forward order with the BatchNorm that follows it (None for fc and head)."""
    pairs = []
    for module in model.modules():
        if is_conv_bn(module):
            pairs.append((module[0], module[1]))
        elif isinstance(module, nn.Conv2d) and module.bias is not None:
            pairs.append((module, None))
    return pairs


@torch.no_grad()
def recover_model(onnx_path: str | Path, images: list[np.ndarray]) -> tuple[EdgeUNet, ModelMeta]:
    """An EdgeUNet with the ONNX model's function and calibrated BatchNorm statistics.

    images: real BGR uint8 photos (a few dozen are enough) for the BatchNorm statistics.

    Raises:
        ModelError: not an edgeseg fp32 ONNX file, or its convolutions do not fit its recorded architecture.
    """
    from ..preprocess import prepare
    convs, meta = _onnx_convs(Path(onnx_path))
    arch = meta.extra.get("arch")
    if not arch:
        raise ModelError(f"{onnx_path} metadata has no 'arch'; it cannot be rebuilt as a torch model")
    model = build_model(arch)
    pairs = _conv_bn_pairs(model)
    if len(pairs) != len(convs):
        raise ModelError(f"{onnx_path} has {len(convs)} convolutions, the architecture {arch} has {len(pairs)}")
    for (conv, bn), (w, b) in zip(pairs, convs):
        if tuple(conv.weight.shape) != w.shape:
            raise ModelError(f"{onnx_path}: a convolution is {w.shape}, the architecture expects {tuple(conv.weight.shape)}")
        conv.weight.copy_(torch.from_numpy(w.copy()))
        if bn is None:
            conv.bias.copy_(torch.from_numpy(b.copy()))
        else:   # identity BatchNorm plus the folded bias: the eval-mode function is the ONNX one
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b.copy()))
    model.eval()
    sums: dict[nn.Conv2d, list] = {}

    def hook(conv, _inp, out):
        s = sums.setdefault(conv, [0.0, 0.0, 0])
        y = out.double()
        s[0] = s[0] + y.sum(dim=(0, 2, 3))
        s[1] = s[1] + (y * y).sum(dim=(0, 2, 3))
        s[2] += y.shape[0] * y.shape[2] * y.shape[3]

    handles = [conv.register_forward_hook(hook) for conv, bn in pairs if bn is not None]
    for img in images:
        model(torch.from_numpy(prepare(img, meta)[0]))
    for h in handles:
        h.remove()
    for conv, bn in pairs:
        if bn is None:
            continue
        total, sq, n = sums[conv]
        mean = total / n
        var = (sq / n - mean * mean).clamp_min(0)
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
        bn.weight.copy_(torch.sqrt(var + bn.eps).float())
        bn.bias.add_(mean.float())
    return model, meta


def main(argv=None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(prog="python -m edgeseg.train.recover", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="an fp32 .onnx written by edgeseg's export")
    p.add_argument("--images", required=True, help="a folder of real photos (images/ inside is used if present)")
    p.add_argument("--count", type=int, default=64, help="photos used for the BatchNorm statistics (64)")
    p.add_argument("--out", required=True, help="the checkpoint to write (.pt)")
    args = p.parse_args(argv)
    try:
        from ..files import read_images_spread
        images = read_images_spread(args.images, args.count, "--images")
        model, meta = recover_model(args.model, images)
        state = {"model": model.state_dict(), "model_config": model.config(), "epoch": 0, "best": -1.0,
                 "history": [], "meta": json.loads(meta.to_json()), "recovered_from": str(args.model)}
        save_checkpoint(state, args.out)
    except EdgeSegError as exc:
        log.error("error: %s", exc)
        return 2
    log.info("wrote %s (%d BatchNorms calibrated on %d photos)", args.out,
             sum(bn is not None for _, bn in _conv_bn_pairs(model)), len(images))
    return 0


if __name__ == "__main__":
    sys.exit(main())
