"""Run-folder pictures: training curves and a grid of sample predictions."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .data import Pair, portrait_crop
from .validation import predict_torch


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    if not history:
        return
    ep = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot(ep, [h["loss"] for h in history])
    a.set(xlabel="epoch", ylabel="train loss (BCE + Dice)", yscale="log")
    for key in ("val_person_iou", "val_portrait_iou", "val_boundary_f", "val_portrait_boundary_f"):
        if key in history[0]:
            b.plot(ep, [h[key] for h in history], label=key)
    b.set(xlabel="epoch", ylim=(0.5, 1.0))
    b.legend(fontsize=8)
    b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sample_grid(model, val: list[Pair], cfg, path: Path, n: int = 8, tile_h: int = 200) -> None:
    """Rows of (photo with mask overlay, head-and-shoulders crop with overlay) for n validation pairs."""
    tiles = []
    for pair in val[:: max(1, len(val) // n)][:n]:
        row = []
        for img, gt in ((pair.image, pair.mask), portrait_crop(pair)):
            prob = predict_torch(model, img, cfg.model_meta())
            over = img.copy()
            over[prob >= 0.5] = (0.5 * over[prob >= 0.5] + (0, 110, 0)).astype(np.uint8)
            contours, _ = cv2.findContours((gt > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            cv2.drawContours(over, contours, -1, (0, 0, 255), 1)
            s = tile_h / img.shape[0]
            row.append(cv2.resize(over, (max(1, int(img.shape[1] * s)), tile_h)))
        tiles.append(np.hstack(row + [np.zeros((tile_h, 8, 3), np.uint8)]))
    if not tiles:
        return
    width = max(t.shape[1] for t in tiles)
    tiles = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
    grid = np.vstack([np.hstack(tiles[i:i + 2]) if i + 1 < len(tiles) else np.hstack([tiles[i], np.zeros_like(tiles[i])])
                      for i in range(0, len(tiles), 2)])
    cv2.imwrite(str(path), grid)
