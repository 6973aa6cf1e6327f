"""A first scene without Mitsuba XML: ``scene: {object: {...}, lighting: {envmap: [W, H]}}``.

The template builds the Mitsuba scene dict (one object, one environment map) and the parameters
to optimize for each pipeline, with learning rates that work on the bundled examples. Datasets
from ``invrender cameras`` put the object at the origin with the cameras at distance 4, so the
defaults (a sphere of radius 1 at the origin) are a sane start; ``invrender init`` measures the
radius from the masks.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

GEOMETRY_PIPELINES = ("geometry", "joint")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ObjectTemplate(_Strict):
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


class LightingTemplate(_Strict):
    envmap: tuple[int, int] = Field((64, 32), description="environment map [width, height]")
    radiance: float = Field(1.0, ge=0, description="initial (uniform) sky radiance")


def _uses_volume(obj: ObjectTemplate) -> bool:
    """UV textures need the analytic sphere's UVs and a fixed surface; else a 3-D colour grid."""
    return obj.shape != "sphere" or obj._pipeline in GEOMETRY_PIPELINES


def template_scene(obj: ObjectTemplate, light: LightingTemplate) -> dict[str, Any]:
    """The Mitsuba scene dict (with mi objects inside, ready for ``mi.load_dict``)."""
    import mitsuba as mi
    import numpy as np

    w, h = light.envmap
    sky = np.full((h, w, 3), light.radiance, dtype=np.float32)
    if _uses_volume(obj):
        n = obj.texture if obj.texture <= 64 else 32  # a dense 3-D grid grows as n³
        grid = mi.VolumeGrid(np.full((n, n, n, 3), obj.albedo, dtype=np.float32))
        extent = 3.2 * obj.radius  # room for the shape to grow
        lo = [c - extent / 2 for c in obj.center]
        albedo: dict[str, Any] = {
            "type": "volume",
            "volume": {
                "type": "gridvolume",
                "grid": grid,
                "to_world": mi.ScalarTransform4f().translate(lo).scale(extent),
            },
        }
    else:
        n = obj.texture
        albedo = {
            "type": "bitmap",
            "bitmap": mi.Bitmap(np.full((n, n, 3), obj.albedo, dtype=np.float32)),
        }
    if obj.material == "diffuse":
        bsdf = {"type": "diffuse", "reflectance": albedo}
    else:
        bsdf = {"type": "principled", "base_color": albedo, "roughness": 0.5}
    if obj.shape == "file":
        shape: dict[str, Any] = {"type": "ply", "filename": obj.path}
        if str(obj.path).lower().endswith(".obj"):
            shape["type"] = "obj"
    elif obj._pipeline in GEOMETRY_PIPELINES:
        # A placeholder mesh: geometry.init (sphere fitted to the views, or the visual hull)
        # replaces it before the first iteration.
        shape = {
            "type": "cube",
            "to_world": mi.ScalarTransform4f().translate(list(obj.center)).scale(obj.radius),
        }
    elif obj.shape == "visual_hull":
        raise ValueError("visual_hull needs a geometry or joint pipeline")  # schema catches it
    else:
        shape = {"type": "sphere", "center": list(obj.center), "radius": obj.radius}
    return {
        "type": "scene",
        "env": {"type": "envmap", "bitmap": mi.Bitmap(sky)},
        "object": {**shape, "bsdf": bsdf},
    }


def template_params(obj: ObjectTemplate, pipeline: str) -> list[dict[str, Any]]:
    """The ``optimize.params`` of the template for a pipeline, with tested learning rates."""
    colour = "reflectance" if obj.material == "diffuse" else "base_color"
    volume = _uses_volume(obj)
    albedo_key = f"object.bsdf.{colour}.{'volume.data' if volume else 'data'}"
    cosine = {"type": "cosine", "final_factor": 0.2}
    albedo = {"key": albedo_key, "lr": 0.03, "bounds": [0.0, 1.0], "schedule": cosine}
    sky = {"key": "env.data", "lr": 0.02, "bounds": [0.0, 100.0], "tv_weight": 0.01}
    sky["schedule"] = cosine
    shape = {"key": "object.vertex_positions", "lr": 0.05}
    shape["schedule"] = {"type": "cosine", "final_factor": 0.3}
    rough = {"key": "object.bsdf.roughness.value", "lr": 0.01, "bounds": [0.05, 1.0]}
    material = [albedo] + ([rough] if obj.material == "principled" else [])
    return {
        "material": material,
        "lighting": [sky],
        "geometry": [shape],
        "joint": [shape, *material, sky],
    }.get(pipeline, material)
