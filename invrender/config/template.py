"""The scene template's part of a config: ``scene.object`` and ``scene.lighting``.

What they become in Mitsuba is built by :mod:`invrender.scene.template`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from invrender.config.strict import Strict

GEOMETRY_PIPELINES = ("geometry", "joint")


class ObjectTemplate(Strict):
    """The one object of the scene: where it starts and what it is made of."""

    shape: Literal["sphere", "visual_hull", "file"] = "sphere"
    path: str | None = Field(None, description="shape: file: a mesh (PLY/OBJ/GLB/STL)")
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    radius: float = Field(1.0, gt=0, description="sphere radius (and the albedo grid's extent)")
    material: Literal["diffuse", "principled"] = "diffuse"
    albedo: float = Field(0.5, ge=0, le=1, description="initial albedo / base colour")
    texture: int = Field(
        64, ge=1, description="albedo texels per side (a UV texture on the sphere, else a grid)"
    )
    # The run's pipeline, set by RunConfig: geometry pipelines need a mesh and a volume albedo.
    _pipeline: str = PrivateAttr("material")

    @model_validator(mode="after")
    def _path_for_file(self) -> ObjectTemplate:
        if (self.shape == "file") != (self.path is not None):
            raise ValueError("give scene.object.path exactly when scene.object.shape is 'file'")
        return self


class LightingTemplate(Strict):
    """The sky: learned from a uniform start (``envmap`` texels), or known (``sky``, an HDR
    image of the capture's surroundings, e.g. from a light probe), which pins the albedo's
    scale and the sun that one set of photos cannot tell apart from the albedo."""

    envmap: tuple[int, int] = Field((64, 32), description="environment map [width, height]")
    radiance: float = Field(1.0, ge=0, description="initial (uniform) sky radiance")
    sky: str | None = Field(
        None, description="a known sky: lat-long EXR in Mitsuba's layout (replaces envmap)"
    )
    sky_up: Literal["y", "z"] = Field("y", description="the world axis the sky's +Y turns onto")
    sky_rotate: float = Field(0.0, allow_inf_nan=False, description="degrees about the up axis")
    sky_scale: float = Field(1.0, gt=0, allow_inf_nan=False, description="radiance factor")


def uses_volume(obj: ObjectTemplate) -> bool:
    """UV textures need the analytic sphere's UVs and a fixed surface; else a 3-D colour grid."""
    return obj.shape != "sphere" or obj._pipeline in GEOMETRY_PIPELINES


def template_params(
    obj: ObjectTemplate, pipeline: str, known_sky: bool = False
) -> list[dict[str, Any]]:
    """The ``optimize.params`` of the template for a pipeline, with tested learning rates.

    A known sky (``scene.lighting.sky``) stays fixed, except in the lighting pipeline, whose
    only job is the sky (it starts from the image)."""
    colour = "reflectance" if obj.material == "diffuse" else "base_color"
    volume = uses_volume(obj)
    albedo_key = f"object.bsdf.{colour}.{'volume.data' if volume else 'data'}"
    cosine = {"type": "cosine", "final_factor": 0.2}
    albedo = {"key": albedo_key, "lr": 0.03, "bounds": [0.0, 1.0], "schedule": cosine}
    sky = {"key": "env.data", "lr": 0.02, "bounds": [0.0, 100.0], "tv_weight": 0.01}
    sky["schedule"] = cosine
    shape = {"key": "object.vertex_positions", "lr": 0.05}
    shape["schedule"] = {"type": "cosine", "final_factor": 0.3}
    rough = {"key": "object.bsdf.roughness.value", "lr": 0.01, "bounds": [0.05, 1.0]}
    material = [albedo] + ([rough] if obj.material == "principled" else [])
    if known_sky:  # an HDR image's sun is far above the learned sky's bound
        sky["bounds"] = [0.0, 1.0e6]
    learned = [] if known_sky else [sky]
    return {
        "material": material,
        "lighting": [sky],
        "geometry": [shape],
        "joint": [shape, *material, *learned],
    }.get(pipeline, material)
