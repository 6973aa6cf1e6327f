"""Lighting pipeline: environment-map textures and emitter radiance/intensity under known
geometry and materials."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from invrender.pipelines import register_pipeline
from invrender.pipelines.base import Pipeline
from invrender.pipelines.param_groups import ResolvedGroup, to_optimizer, to_scene


@register_pipeline
class LightingPipeline(Pipeline):
    name = "lighting"
    categories = ("lighting",)

    def sky_keys(self, group: ResolvedGroup) -> list[str]:
        """The group's keys that are envmap tensors ((H, W + 2, C) scene values): the skies a
        sun can be gathered in."""
        keys = []
        for k in group.keys:
            shape: tuple[int, ...] = tuple(getattr(self.ctx.params[k], "shape", ()))
            if len(shape) == 3 and shape[1] >= 3:
                keys.append(k)
        return keys

    def gather_sun(self, opt: Any) -> dict[str, dict[str, Any]]:
        """Gather each optimized sky's brightest lobe into a sun (:func:`invrender.scene.sun.
        gather_sun`); returns what moved, by key (skies without a sun-like lobe are left as
        they are and not listed). A sun brighter than the group's upper bound is spread over
        the texels around it."""
        import mitsuba as mi

        from invrender.scene.sun import gather_sun

        moved: dict[str, dict[str, Any]] = {}
        for g in self.groups:
            for key in self.sky_keys(g):
                sky = np.array(to_scene(g, opt[key]))
                upper = g.spec.bounds[1] if g.spec.bounds is not None else math.inf
                gathered, sun = gather_sun(sky, upper=upper)
                if sun is None:
                    continue
                opt[key] = self.clamp(g, to_optimizer(g, mi.TensorXf(gathered)))
                moved[key] = {
                    "direction": [round(x, 4) for x in sun.direction],
                    "power": [round(x, 4) for x in sun.power],
                    "share": round(sun.share, 4),
                    "peak": round(sun.peak, 3),
                }
        return moved
