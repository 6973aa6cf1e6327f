"""Gather a learned sky's brightest lobe into a sun: one texel's worth of solid angle.

A sky learned from photos under one sun holds that sun as a broad bright lobe (the benchmark
ring's: a peak of ~2.3 spread over 30 degrees, against a true sun of ~30 in one 64x32 texel).
Diffuse shading cannot tell the two apart (a cosine-weighted integral blurs both alike), but
highlights and shadows can, and a broad lobe can never make a sharp one: the albedo and the
roughness maps absorb the difference, and the asset relights wrong. Moving the lobe's excess
over its surroundings into the texels at its centre keeps the power the photos measured and
gives the sky a sun the optimizer can then keep, shrink or move.

The layout is Mitsuba's ``envmap`` parameter tensor ``(H, W + 2, C)``: bitmap column ``c`` is
tensor column ``c + 1`` at azimuth u = (c + 0.5) / W, columns 0 and W + 1 repeat the last and
the first (wrap-around borders); row ``r`` lies at polar angle pi * r / (H - 1). Directions are
in the sky's own frame (+Y up, u = atan2(x, -z) / 2 pi), as the envmap emitter evaluates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Half-angle of the lobe gathered into the sun (degrees). The ring's learned lobe falls to its
#: surroundings' level 20-30 degrees from its peak.
SUN_CONE_DEG = 30.0
#: Width of the ring just outside the cone whose median radiance is the lobe's floor (degrees).
RIM_DEG = 10.0
#: A lobe whose excess holds less than this share of the sky's power is no sun (overcast).
MIN_SUN_SHARE = 0.02


@dataclass(frozen=True)
class Sun:
    """What :func:`gather_sun` did: where the sun went and how much power it holds."""

    direction: tuple[float, float, float]  # in the sky's frame
    power: tuple[float, ...]  # per channel: radiance x steradians moved into the sun
    share: float  # of the sky's total power (mean over channels)
    peak: float  # the sun texel's radiance afterwards (mean over channels)


def texel_directions(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit directions (H, W, 3) and solid angles (H, W) of an envmap tensor's texels; the two
    border columns get solid angle 0 (they repeat texels that are counted once already)."""
    if height < 2 or width < 3:
        raise ValueError(f"an envmap tensor is at least 2x3 texels, got {height}x{width}")
    inner = width - 2
    theta = math.pi * np.arange(height) / (height - 1)
    phi = 2.0 * math.pi * (np.arange(width) - 0.5) / inner
    t, p = np.meshgrid(theta, phi, indexing="ij")
    dirs = np.stack([np.sin(t) * np.sin(p), np.cos(t), -np.sin(t) * np.cos(p)], axis=-1)
    # Rows are samples at theta_r: each stands for a band of pi / (H - 1) (half a band at the
    # poles), columns for 2 pi / W of azimuth.
    band = np.full(height, math.pi / (height - 1))
    band[[0, -1]] *= 0.5
    solid = (2.0 * math.pi / inner) * band[:, None] * np.sin(t)
    solid[:, [0, -1]] = 0.0
    return dirs, solid


def wrap_borders(sky: np.ndarray) -> np.ndarray:
    """Copy the wrapped columns into the two border columns (in place; returns ``sky``)."""
    sky[:, 0] = sky[:, -2]
    sky[:, -1] = sky[:, 1]
    return sky


def gather_sun(
    sky: np.ndarray,
    cone_deg: float = SUN_CONE_DEG,
    rim_deg: float = RIM_DEG,
    upper: float = math.inf,
) -> tuple[np.ndarray, Sun | None]:
    """The sky with its brightest lobe's excess moved into a sun, or the sky unchanged and None
    when there is no lobe worth the name (its excess under ``MIN_SUN_SHARE`` of the power).

    The lobe: texels within ``cone_deg`` of the brightest texel; its floor: the per-channel
    median of the texels in the ``rim_deg`` band around the cone. What lies above the floor
    inside the cone moves, power for power, into the texel at the peak, so the sky's total power
    is unchanged. A sun brighter than ``upper`` (the sky parameter's bound) is spread evenly
    over the fewest texels nearest the peak that hold it below the bound."""
    sky = np.asarray(sky, dtype=np.float64)
    if sky.ndim != 3:
        raise ValueError(f"expected an (H, W, C) envmap tensor, got shape {sky.shape}")
    h, w, _ = sky.shape
    dirs, solid = texel_directions(h, w)
    inside = solid > 0
    luminance = np.where(inside, sky.mean(axis=-1), -np.inf)
    peak = np.unravel_index(int(np.argmax(luminance)), luminance.shape)
    centre = dirs[peak]
    angle = np.degrees(np.arccos(np.clip(dirs @ centre, -1.0, 1.0)))
    cone = inside & (angle < cone_deg)
    rim = inside & (angle >= cone_deg) & (angle < cone_deg + rim_deg)
    if not rim.any():
        return sky.astype(np.float32), None
    floor = np.median(sky[rim], axis=0)
    excess = np.where(cone[..., None], np.maximum(sky - floor, 0.0), 0.0)
    power = (excess * solid[..., None]).sum(axis=(0, 1))
    total = (sky * solid[..., None]).sum(axis=(0, 1))
    share = float(np.mean(power / np.maximum(total, 1e-12)))
    if share < MIN_SUN_SHARE or solid[peak] <= 0:
        return sky.astype(np.float32), None
    out = sky - excess
    nearest = np.argsort(np.where(inside, angle, np.inf), axis=None)
    rows, cols = np.unravel_index(nearest, angle.shape)
    for count in range(1, int(cone.sum()) + 1):
        spot = (rows[:count], cols[:count])
        radiance = power / solid[spot].sum()
        if (out[spot] + radiance).max() <= upper:
            break
    out[spot] += radiance
    wrap_borders(out)
    sun = Sun(
        direction=tuple(float(x) for x in centre),  # type: ignore[arg-type]
        power=tuple(float(x) for x in power),
        share=share,
        peak=float(out[peak].mean()),
    )
    return out.astype(np.float32), sun
