"""BCE + soft Dice (+ an optional Lovász hinge and hard-pixel BCE), computed on logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0,
              valid: torch.Tensor | None = None) -> torch.Tensor:
    prob = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    if valid is not None:
        prob, target = prob * valid.flatten(1), target * valid.flatten(1)
    inter, mass = (prob * target).sum(1), target.sum(1)
    per_sample = 1 - (2 * inter + eps) / (prob.sum(1) + mass + eps)
    # Dice is undefined without a person: on an empty target it would push every pixel to exactly 0,
    # however confident the background already is; those samples are left to the BCE term.
    has_person = (mass > 0.5).to(per_sample.dtype)
    return (per_sample * has_person).sum() / has_person.sum().clamp_min(1.0)


def boundary_band(target: torch.Tensor, width: int = 5) -> torch.Tensor:
    """1 within about width/2 px of the target's person/background edge, else 0."""
    pad = width // 2
    dilated = F.max_pool2d(target, width, 1, pad)
    eroded = -F.max_pool2d(-target, width, 1, pad)
    return (dilated - eroded).clamp(0, 1)


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """The Lovász hinge (Berman et al., CVPR 2018): a convex surrogate of 1 − person IoU, per image.

    Each image's hinge errors 1 − logit·sign are sorted; the error at each rank is weighted by how much
    the IoU loss grows when that pixel joins the mistakes. Pixels where `valid` is 0 take no part; an
    image without a person is left to the BCE term (its IoU is undefined), as in `dice_loss`.
    """
    losses = []
    for i in range(logits.shape[0]):
        lg, gt = logits[i].flatten(), (target[i].flatten() > 0.5).to(logits.dtype)
        if valid is not None:
            keep = valid[i].flatten() > 0.5
            lg, gt = lg[keep], gt[keep]
        if gt.sum() < 0.5:
            continue
        errors = 1.0 - lg * (2.0 * gt - 1.0)
        errors, order = torch.sort(errors, descending=True)
        gt = gt[order]
        mass = gt.sum()
        jaccard = 1.0 - (mass - gt.cumsum(0)) / (mass + (1.0 - gt).cumsum(0))
        grad = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        losses.append(torch.dot(F.relu(errors), grad))
    return torch.stack(losses).mean() if losses else logits.sum() * 0.0


def hard_pixel_bce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                   fraction: float = 0.1) -> torch.Tensor:
    """Online hard example mining: the mean (weighted) BCE of the hardest `fraction` of each image's pixels.

    The plain mean is ruled by the many easy pixels, so a region the model misses with confidence (dark hair
    against dark trees) moves it little; this term averages over the worst pixels only. Pixels whose weight
    is 0 (no label) have no loss and rank last.
    """
    per_px = F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction="none").flatten(1)
    k = max(1, int(round(fraction * per_px.shape[1])))
    return per_px.topk(k, dim=1).values.mean()


def bce_dice_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float = 1.0,
                  boundary_weight: float = 0.0, valid: torch.Tensor | None = None,
                  lovasz_weight: float = 0.0, boundary_width: int = 5, ohem_weight: float = 0.0,
                  ohem_fraction: float = 0.1) -> torch.Tensor:
    """BCE (optionally weighted 1 + boundary_weight within the `boundary_band` of width
    boundary_width px) + dice_weight · soft Dice (+ lovasz_weight · `lovasz_hinge` and
    ohem_weight · `hard_pixel_bce` over the hardest ohem_fraction of pixels, each when it is not 0).

    valid: 1 where a pixel has a label, 0 where it has none (it then adds nothing to either term).
    The BCE is the weighted sum over all pixels divided by their count, so with every pixel valid
    it is the plain (weighted) mean.
    """
    weight = 1.0 + boundary_weight * boundary_band(target, boundary_width) if boundary_weight else None
    if valid is not None:
        weight = valid if weight is None else weight * valid
    bce = F.binary_cross_entropy_with_logits(logits, target, weight=weight)
    loss = bce + dice_weight * dice_loss(logits, target, valid=valid)
    if ohem_weight:
        loss = loss + ohem_weight * hard_pixel_bce(logits, target, weight, ohem_fraction)
    return loss + lovasz_weight * lovasz_hinge(logits, target, valid) if lovasz_weight else loss
