"""Image losses and regularizers as plain Dr.Jit functions (differentiable, no state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import drjit as dr


def _weighted_mean(err: Any, weight: Any | None) -> Any:
    if weight is None:
        return dr.mean(err, axis=None)
    return dr.sum(err * weight, axis=None) / dr.maximum(dr.sum(weight, axis=None), 1e-8)


def l1(image: Any, target: Any, weight: Any | None = None) -> Any:
    return _weighted_mean(dr.abs(image - target), weight)


def l2(image: Any, target: Any, weight: Any | None = None) -> Any:
    return _weighted_mean(dr.square(image - target), weight)


def relative_l2(image: Any, target: Any, weight: Any | None = None) -> Any:
    """Squared error relative to the target's brightness: bright HDR pixels dominate less."""
    denom = dr.square(dr.detach(target)) + 1e-2
    return _weighted_mean(dr.square(image - target) / denom, weight)


LOSSES: dict[str, Callable[..., Any]] = {"l1": l1, "l2": l2, "relative_l2": relative_l2}


def total_variation(texture: Any) -> Any:
    """Mean absolute difference of neighbouring texels of an (H, W, C) tensor."""
    h, w = texture.shape[0], texture.shape[1]
    terms = []
    if h > 1:
        terms.append(dr.mean(dr.abs(texture[1:, :, :] - texture[: h - 1, :, :]), axis=None))
    if w > 1:
        terms.append(dr.mean(dr.abs(texture[:, 1:, :] - texture[:, : w - 1, :]), axis=None))
    return sum(terms) if terms else 0.0


def masked_total_variation(texture: Any, pairs_y: Any, pairs_x: Any) -> Any:
    """Weighted mean absolute difference of neighbouring texels of an (H, W, C) tensor.

    ``pairs_y`` (H-1, W, C) and ``pairs_x`` (H, W-1, C) weigh the vertical and horizontal pairs
    (together summing to 1): zero where a pair is not wanted, e.g. across a UV chart's border,
    where neighbouring texels are far apart on the surface.
    """
    h, w = texture.shape[0], texture.shape[1]
    dy = dr.abs(texture[1:, :, :] - texture[: h - 1, :, :]) * pairs_y
    dx = dr.abs(texture[:, 1:, :] - texture[:, : w - 1, :]) * pairs_x
    return dr.sum(dy, axis=None) + dr.sum(dx, axis=None)


def psnr(image: Any, target: Any) -> float:
    """PSNR in dB of linear images clipped to [0, 1] (numpy arrays)."""
    import numpy as np

    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    b = np.clip(np.asarray(target, dtype=np.float64), 0, 1)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(-10.0 * np.log10(mse))


def psnr_masked(image: Any, target: Any, mask: Any) -> float | None:
    """PSNR in dB over the object: squared errors weighted by ``mask`` (HxW in [0, 1]), i.e.
    restricted to the target-mask pixels; None when the mask is empty."""
    import numpy as np

    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    b = np.clip(np.asarray(target, dtype=np.float64), 0, 1)
    w = np.clip(np.asarray(mask, dtype=np.float64), 0, 1)
    total = float(w.sum())
    if total <= 0:
        return None
    mse = float((w[..., None] * (a - b) ** 2).sum() / (total * a.shape[-1]))
    return float("inf") if mse == 0 else float(-10.0 * np.log10(mse))


def ssim(image: Any, target: Any, mask: Any | None = None) -> float | None:
    """SSIM (scikit-image, 7x7 window, linear RGB clipped to [0, 1]); with ``mask``, the SSIM
    map averaged over the mask's pixels (weighted). None for images under 3 px or empty masks."""
    import numpy as np
    from skimage.metrics import structural_similarity

    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    b = np.clip(np.asarray(target, dtype=np.float64), 0, 1)
    side = min(a.shape[0], a.shape[1])
    win = min(7, side if side % 2 else side - 1)
    if win < 3:
        return None
    kwargs = {"data_range": 1.0, "channel_axis": 2, "win_size": win}
    if mask is None:
        return float(structural_similarity(a, b, **kwargs))
    _, smap = structural_similarity(a, b, full=True, **kwargs)
    w = np.clip(np.asarray(mask, dtype=np.float64), 0, 1)
    if float(w.sum()) <= 0:
        return None
    return float((smap.mean(axis=2) * w).sum() / w.sum())
