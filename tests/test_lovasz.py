"""The Lovász hinge: a surrogate of 1 − IoU that the training loss can add (lovasz_weight)."""
from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from edgeseg.train.losses import bce_dice_loss, lovasz_hinge  # noqa: E402


def _square(n: int = 2) -> torch.Tensor:
    t = torch.zeros(n, 1, 8, 8)
    t[:, :, 2:6, 2:6] = 1
    return t


def test_a_confident_correct_mask_costs_nothing_and_a_confident_wrong_one_costs_a_lot():
    t = _square()
    assert lovasz_hinge(5 * (2 * t - 1), t).item() == 0.0
    assert lovasz_hinge(-5 * (2 * t - 1), t).item() > 5.0


def test_on_hard_predictions_it_is_the_hinge_weighted_iou_loss():
    """With logits ±1 (hinge errors 0 or 2), the loss is 2 × (1 − IoU) of the predicted mask."""
    t = _square(1)
    for flips in ([(0, 0)], [(2, 2), (3, 3)], [(2, 2), (0, 1), (7, 7)]):
        pred = t.clone()
        for y, x in flips:
            pred[0, 0, y, x] = 1 - pred[0, 0, y, x]
        inter = (pred * t).sum()
        union = ((pred + t) > 0).float().sum()
        expected = 2 * (1 - inter / union)
        assert lovasz_hinge(2 * pred - 1, t).item() == pytest.approx(expected.item(), abs=1e-6)


def test_pixels_without_a_label_and_frames_without_a_person_add_nothing():
    t = _square(1)
    logits = 3 * (2 * t - 1)
    logits[0, 0, 0, :4] = 9.0                     # wrong, but unlabelled
    valid = torch.ones_like(t)
    valid[0, 0, 0, :4] = 0
    assert lovasz_hinge(logits, t, valid).item() == 0.0
    empty = torch.zeros(1, 1, 8, 8)
    assert lovasz_hinge(torch.full((1, 1, 8, 8), 4.0), empty).item() == 0.0


def test_the_weight_adds_the_term_to_the_training_loss_and_its_gradient_lowers_it():
    t = _square()
    logits = torch.zeros_like(t, requires_grad=True)
    base = bce_dice_loss(logits, t)
    with_term = bce_dice_loss(logits, t, lovasz_weight=0.5)
    assert with_term.item() == pytest.approx(base.item() + 0.5 * lovasz_hinge(logits, t).item())
    opt = torch.optim.SGD([logits], lr=20.0)   # its gradient is spread over the pixels: about 1/N each
    start = lovasz_hinge(logits, t).item()
    for _ in itertools.repeat(None, 20):
        opt.zero_grad()
        lovasz_hinge(logits, t).backward()
        opt.step()
    assert lovasz_hinge(logits, t).item() < 0.5 * start


def test_a_wider_boundary_band_weights_errors_further_from_the_edge():
    target = torch.zeros(1, 1, 32, 32)
    target[:, :, 8:24, 8:24] = 1
    logits = torch.where(target > 0.5, 4.0, -4.0)
    logits[:, :, 8:24, 4:6] = 4.0                    # wrongly person 2-3 px outside the left edge
    kw = dict(dice_weight=0.0, boundary_weight=3.0)
    narrow = bce_dice_loss(logits, target, boundary_width=5, **kw)
    wide = bce_dice_loss(logits, target, boundary_width=9, **kw)
    assert torch.equal(bce_dice_loss(logits, target, **kw), narrow)      # 5 stays the default
    assert wide > 2.5 * narrow                      # the band now reaches the error: weight 4 instead of 1
