import cv2
import numpy as np

from edgeseg.compose import Compositor, cover_resize


def person_scene():
    """A red 'person' on a green background, with its alpha."""
    frame = np.zeros((360, 640, 3), np.uint8)
    frame[:] = (0, 160, 0)
    alpha = np.zeros((360, 640), np.float32)
    alpha[60:360, 240:400] = 1.0
    frame[alpha > 0] = (0, 0, 255)
    return frame, alpha


def test_the_blurred_background_has_no_halo_of_the_person():
    frame, alpha = person_scene()
    small = cv2.resize(frame, (160, 90), interpolation=cv2.INTER_AREA)
    alpha_small = cv2.resize(alpha, (160, 90), interpolation=cv2.INTER_AREA)
    bg = Compositor().blurred_background(small, alpha_small, 20 / 4, (360, 640))
    ring = bg[100:360, 215:235]                           # background just left of the person
    assert ring[..., 2].max() < 40, "the person's red bled into the blurred background"
    naive = cv2.GaussianBlur(frame, (0, 0), 20)[100:360, 215:235]
    assert naive[..., 2].max() > 60                      # a plain blur does bleed


def test_blend_takes_the_frame_where_alpha_is_255_and_the_background_where_0():
    frame = np.full((4, 4, 3), 200, np.uint8)
    bg = np.full((4, 4, 3), 10, np.uint8)
    alpha = np.array([[0, 255, 128, 255]] * 4, np.uint8)
    out = Compositor().blend(frame, bg, alpha)
    assert out[0, 0, 0] == 10 and out[0, 1, 0] == 200 and 100 <= out[0, 2, 0] <= 110
    assert (bg == 10).all() and (frame == 200).all()          # the caller's arrays are left alone


def test_cover_resize_fills_the_frame_without_distortion():
    img = np.zeros((100, 400, 3), np.uint8)
    img[:, 150:250] = 255                                 # a centred square
    out = cover_resize(img, (360, 640))
    assert out.shape == (360, 640, 3)
    cols = np.where(out[180, :, 0] > 127)[0]
    assert abs((cols[-1] - cols[0] + 1) - 360) <= 4       # the square stays square (360 px wide)


def test_tiny_column_shaped_images_composite_without_error():
    # OpenCV reads a Python scalar as an array when the other operand is N×1 (N ≤ 4)
    frame = np.random.default_rng(0).integers(0, 256, (16, 4, 3), np.uint8)
    alpha = np.random.default_rng(1).random((16, 4)).astype(np.float32)
    small, alpha_small = cv2.resize(frame, (1, 4)), cv2.resize(alpha, (1, 4))
    bg = Compositor().blurred_background(small, alpha_small, 1.0, (16, 4))
    assert bg.shape == (16, 4, 3)
