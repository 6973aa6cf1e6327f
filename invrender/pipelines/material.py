"""Material pipeline: BSDF constants and textures (diffuse reflectance, principled base colour,
roughness, metallic, ...) under known geometry and lighting."""

from __future__ import annotations

from invrender.pipelines import register_pipeline
from invrender.pipelines.base import Pipeline


@register_pipeline
class MaterialPipeline(Pipeline):
    name = "material"
    categories = ("material",)
