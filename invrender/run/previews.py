"""Preview strips for people: target | current | error, as one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from invrender.data.images import to_srgb8, write_png


def error_heatmap(current: np.ndarray, target: np.ndarray, scale: float = 4.0) -> np.ndarray:
    """Absolute error (mean over channels, times ``scale``) as a black-red-yellow ramp, 8-bit."""
    err = np.clip(np.abs(current - target).mean(axis=2) * scale, 0, 1)
    rgb = np.stack([np.clip(2 * err, 0, 1), np.clip(2 * err - 1, 0, 1), np.zeros_like(err)], 2)
    return (rgb * 255 + 0.5).astype(np.uint8)


def preview_strip(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    gap = np.full((target.shape[0], 2, 3), 255, np.uint8)
    parts = [to_srgb8(target), gap, to_srgb8(current), gap, error_heatmap(current, target)]
    return np.concatenate(parts, axis=1)


def write_preview(path: Path, target: np.ndarray, current: np.ndarray) -> None:
    write_png(path, preview_strip(target, current), linear=False)
