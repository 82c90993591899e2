"""File-kind helpers shared by the runtime, training, export and benchmarks (no heavy imports)."""
from __future__ import annotations

from pathlib import Path

from .errors import DataError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


def list_images(folder: str | Path) -> list[Path]:
    """The image files of a folder (or of its images/ subfolder, when it has one), sorted by name.

    Raises:
        DataError: the folder does not exist.
    """
    d = Path(folder)
    if (d / "images").is_dir():
        d = d / "images"
    if not d.is_dir():
        raise DataError(f"folder {folder} does not exist; pass a folder of images (or one with images/ inside)")
    return sorted(p for p in d.iterdir() if is_image(p))


def read_images_spread(folder: str | Path, count: int, what: str) -> list:
    """Up to `count` readable images spread evenly over a folder's sorted list (BGR uint8).

    what: how the caller names the folder in errors (its flag, e.g. "--calib").

    Raises:
        DataError: the folder is missing or holds no readable image.
    """
    import cv2
    d = Path(folder)
    if not d.is_dir():
        raise DataError(f"{what} {folder} is not a folder of images")
    files = list_images(d)
    images = [cv2.imread(str(p)) for p in files[:: max(1, len(files) // max(1, count))][:count]]
    images = [i for i in images if i is not None]
    if not images:
        raise DataError(f"{what} {folder} holds no readable images")
    return images
