"""The hard-pixel BCE term (online hard example mining) that the training loss can add (ohem_weight)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from edgeseg.train.losses import bce_dice_loss, hard_pixel_bce  # noqa: E402


def _half_wrong():
    """An 8×8 target of one person square; logits right and confident except on 4 missed person pixels."""
    target = torch.zeros(1, 1, 8, 8)
    target[:, :, 2:6, 2:6] = 1
    logits = 6 * (2 * target - 1)
    logits[0, 0, 2, 2:6] = -2.0
    return logits, target


def test_the_term_is_the_mean_loss_of_the_hardest_pixels_only():
    logits, target = _half_wrong()
    missed = F.binary_cross_entropy_with_logits(torch.tensor(-2.0), torch.tensor(1.0))
    assert hard_pixel_bce(logits, target, fraction=4 / 64).item() == pytest.approx(missed.item(), rel=1e-6)
    plain = F.binary_cross_entropy_with_logits(logits, target)
    assert hard_pixel_bce(logits, target, fraction=0.5).item() > plain.item()       # the easy pixels count less
    assert hard_pixel_bce(logits, target, fraction=1.0).item() == pytest.approx(plain.item(), rel=1e-6)


def test_unlabelled_pixels_take_no_part():
    logits, target = _half_wrong()
    valid = torch.ones_like(target)
    valid[0, 0, 2, 2:6] = 0                              # the missed pixels carry no label
    assert hard_pixel_bce(logits, target, valid, fraction=4 / 64).item() < 0.01


def test_the_loss_adds_the_term_only_when_weighted():
    logits, target = _half_wrong()
    base = bce_dice_loss(logits, target)
    assert bce_dice_loss(logits, target, ohem_weight=0.0).item() == base.item()
    with_term = bce_dice_loss(logits, target, ohem_weight=0.3, ohem_fraction=0.1)
    assert with_term.item() == pytest.approx(base.item() + 0.3 * hard_pixel_bce(logits, target, fraction=0.1).item())
