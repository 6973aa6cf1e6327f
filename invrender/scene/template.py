"""A first scene without Mitsuba XML: ``scene: {object: {...}, lighting: {envmap: [W, H]}}``.

The template builds the Mitsuba scene dict (one object, one environment map) and the parameters
to optimize for each pipeline, with learning rates that work on the bundled examples. Datasets
from ``invrender cameras`` put the object at the origin with the cameras at distance 4, so the
defaults (a sphere of radius 1 at the origin) are a sane start; ``invrender init`` measures the
radius from the masks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invrender.config.template import (
    GEOMETRY_PIPELINES,
    LightingTemplate,
    ObjectTemplate,
    uses_volume,
)
from invrender.scene.sky import read_sky, sky_to_world


def template_scene(obj: ObjectTemplate, light: LightingTemplate) -> dict[str, Any]:
    """The Mitsuba scene dict (with mi objects inside, ready for ``mi.load_dict``)."""
    import mitsuba as mi
    import numpy as np

    w, h = light.envmap
    sky = np.full((h, w, 3), light.radiance, dtype=np.float32)
    if uses_volume(obj):
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
        bsdf: dict[str, Any] = {"type": "diffuse", "reflectance": albedo}
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
        "env": sky_emitter(light, sky),
        "object": {**shape, "bsdf": bsdf},
    }


def sky_emitter(light: LightingTemplate, uniform: Any) -> dict[str, Any]:
    """The environment map: the known sky image placed in the world, else ``uniform`` texels."""
    import mitsuba as mi

    if light.sky is None:
        return {"type": "envmap", "bitmap": mi.Bitmap(uniform)}
    image = read_sky(Path(light.sky), asked_by="scene.lighting.sky")
    return {
        "type": "envmap",
        "bitmap": mi.Bitmap(image),
        "scale": light.sky_scale,
        "to_world": mi.ScalarTransform4f(sky_to_world(light.sky_up, light.sky_rotate)),
    }
