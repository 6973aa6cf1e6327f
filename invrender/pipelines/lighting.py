"""Lighting pipeline: environment-map textures and emitter radiance/intensity under known
geometry and materials."""

from __future__ import annotations

from invrender.pipelines import register_pipeline
from invrender.pipelines.base import Pipeline


@register_pipeline
class LightingPipeline(Pipeline):
    name = "lighting"
    categories = ("lighting",)
