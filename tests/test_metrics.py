import numpy as np

from edgeseg.metrics import boundary_f, boundary_tolerance, iou, score_mask


def square(h, w, box):
    m = np.zeros((h, w), bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = True
    return m


def test_identical_masks_score_perfectly():
    gt = square(100, 100, (20, 20, 60, 80))
    s = score_mask(gt.astype(np.float32), gt)
    assert s["person_iou"] == 1.0 and s["miou"] == 1.0 and s["boundary_f"] == 1.0


def test_iou_of_half_overlapping_squares_is_one_third():
    a, b = square(10, 20, (0, 0, 10, 10)), square(10, 20, (5, 0, 15, 10))
    assert abs(iou(a, b) - 1 / 3) < 1e-9


def test_an_empty_prediction_of_a_person_scores_zero():
    gt = square(50, 50, (10, 10, 40, 40))
    s = score_mask(np.zeros((50, 50), np.float32), gt)
    assert s["person_iou"] == 0.0 and s["boundary_f"] == 0.0


def test_boundary_f_tolerates_shifts_within_the_tolerance_only():
    gt = square(200, 200, (50, 50, 150, 150))
    tol = boundary_tolerance(gt.shape)          # ceil(0.008 * 282.8) = 3
    assert tol == 3
    assert boundary_f(square(200, 200, (53, 50, 153, 150)), gt) == 1.0
    assert boundary_f(square(200, 200, (60, 50, 160, 150)), gt) < 0.6
