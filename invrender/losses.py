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


def psnr(image: Any, target: Any) -> float:
    """PSNR in dB of linear images clipped to [0, 1] (numpy arrays)."""
    import numpy as np

    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    b = np.clip(np.asarray(target, dtype=np.float64), 0, 1)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(-10.0 * np.log10(mse))
