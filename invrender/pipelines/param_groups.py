"""Parameter groups resolved against a scene: keys, learning-rate schedules, bounds, upsampling."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from invrender.config.schema import ParamGroup, Schedule
from invrender.errors import ConfigError
from invrender.scene.loading import is_non_differentiable, key_category, select_keys, suggest_key


@dataclass
class ResolvedGroup:
    """One ``optimize.params`` entry with the scene keys it matched."""

    index: int
    spec: ParamGroup
    keys: list[str]
    categories: dict[str, str] = field(default_factory=dict)  # key -> material/lighting/...

    def lr_at(self, iteration: int, total: int) -> float:
        return self.spec.lr * schedule_factor(self.spec.schedule, iteration, total)


def schedule_factor(s: Schedule, it: int, total: int) -> float:
    """Multiplier on the base learning rate at iteration ``it`` of ``total``."""
    warm = min(1.0, (it + 1) / s.warmup) if s.warmup else 1.0
    frac = it / max(total - 1, 1)
    if s.type == "constant":
        f = 1.0
    elif s.type == "exponential":
        f = s.final_factor**frac
    elif s.type == "cosine":
        f = s.final_factor + (1 - s.final_factor) * 0.5 * (1 + math.cos(math.pi * frac))
    else:  # step
        f = s.gamma ** sum(1 for m in s.milestones if it >= m)
    return warm * f


def resolve_groups(params: Any, groups: list[ParamGroup], config_name: str) -> list[ResolvedGroup]:
    """Match each group's key/glob; report every unknown or non-differentiable key at once."""
    problems: list[str] = []
    resolved: list[ResolvedGroup] = []
    claimed: dict[str, int] = {}
    for i, g in enumerate(groups):
        where = f"{config_name}: optimize.params.{i}.key"
        keys = select_keys(params, g.key)
        if not keys:
            problems.append(
                f"{where}: no scene parameter matches '{g.key}' ({suggest_key(params, g.key)})"
            )
            continue
        frozen = [k for k in keys if is_non_differentiable(params, k)]
        if frozen:
            problems.append(
                f"{where}: '{frozen[0]}' is not differentiable in Mitsuba (8-bit textures: add "
                '<string name="format" value="variant"/> to the bitmap, or pick another key)'
            )
            continue
        for k in keys:
            if k in claimed:
                problems.append(
                    f"{where}: '{k}' is already optimized by optimize.params."
                    f"{claimed[k]}; each parameter may appear in one group"
                )
            claimed[k] = i
        resolved.append(ResolvedGroup(i, g, keys, {k: key_category(params, k) for k in keys}))
    if problems:
        raise ConfigError(problems)
    return resolved


def initial_value(current: Any, group: ParamGroup) -> Any:
    """The starting value of a parameter: the scene's, or ``init`` (at ``resolution``, if set)."""
    import mitsuba as mi

    if group.init is None and group.resolution is None:
        return current
    arr = np.array(current)
    fill = np.asarray(group.init if group.init is not None else arr.mean(axis=(0, 1)), np.float32)
    if group.resolution is not None:
        if arr.ndim != 3:
            raise ConfigError([f"optimize.params.{group.key}: resolution applies to textures only"])
        w, h = group.resolution
        arr = np.empty((h, w, arr.shape[2]), np.float32)
    out = np.broadcast_to(fill, arr.shape).astype(np.float32)
    return type(current)(out) if arr.ndim != 3 else mi.TensorXf(out)


def upsampled(value: Any, factor: int) -> Any:
    """A texture (H, W, C) tensor at ``factor`` times the resolution (bilinear)."""
    import drjit as dr

    h, w, c = value.shape
    return dr.resample(value, (h * factor, w * factor, c))


def to_optimizer(group: ResolvedGroup, value: Any) -> Any:
    """The optimizer's variable for a scene value: the value, or its logarithm (``space: log``;
    values at or below 0 start at the lower bound, else at 1e-6)."""
    import drjit as dr

    if group.spec.space != "log":
        return value
    floor = group.spec.bounds[0] if group.spec.bounds is not None else 1e-6
    return dr.log(dr.maximum(value, floor))


def to_scene(group: ResolvedGroup, value: Any) -> Any:
    """The scene value of an optimizer variable (the inverse of :func:`to_optimizer`)."""
    import drjit as dr

    return dr.exp(value) if group.spec.space == "log" else value
