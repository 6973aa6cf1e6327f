"""A Blender scene from the live Mitsuba scene: a ``.blend`` built by real Blender (bpy, run
in its own environment) and the Python script that builds it, for ``blender --python``.

Layout under the output folder::

    build_scene.py      self-contained bpy script with the scene description inside
    scene.blend         written by running build_scene.py (``build_blend=True``)
    meshes/NAME.npz     positions, faces, normals (Blender's Z-up world), uvs (v up)
    textures/*.exr      linear float32 colour, data and World images

Conversions (see cameras.py, lighting.py, materials.py): Y-up -> Z-up world, Mitsuba camera
axes -> OpenGL axes, envmap resampled to Blender's equirect layout, point and area light power
in watts, PBR inputs on a Principled BSDF.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from invrender.export.blender_env import run_bpy_script
from invrender.export.cameras import mitsuba_to_blender_camera, mitsuba_to_blender_points
from invrender.export.lighting import (
    blender_area_light,
    blender_point_power,
    blender_sun,
    envmap_for_blender,
)
from invrender.export.materials import Material, as_rgb, as_scalar, is_image
from invrender.export.meshes import flip_v
from invrender.export.scene_data import CameraData, EnvmapData, SceneData
from invrender.files import atomic_path, write_bytes, write_exr, write_text

TEMPLATE = Path(__file__).with_name("blender_build.py")
_CYCLES_FILTERS = {"box": ("BOX", 1.0), "gaussian": ("GAUSSIAN", 1.5)}


def _texture_spec(
    texture: np.ndarray, folder: Path, name: str, data: bool, scalar: bool = False
) -> tuple[dict | list | float, list[Path]]:
    """A constant for the Principled input, or an EXR image reference."""
    texture = as_scalar(texture) if scalar else as_rgb(texture)
    if not is_image(texture):
        values = np.asarray(texture, dtype=np.float64).reshape(-1)
        return (float(values[0]) if scalar else [float(v) for v in values[:3]]), []
    relative = f"textures/{name}.exr"
    image = np.repeat(texture, 3, axis=-1) if texture.shape[-1] == 1 else texture
    path = write_exr(folder / relative, image)
    return {"image": relative, "data": data}, [path]


def _clearcoat_roughness(gloss: float) -> float:
    """Disney's clearcoat alpha = lerp(0.1, 0.001, gloss) as a perceptual roughness."""
    return math.sqrt((1.0 - gloss) * 0.1 + gloss * 0.001)


def material_spec(material: Material, folder: Path) -> tuple[dict, list[Path]]:
    written: list[Path] = []
    spec: dict = {
        "name": material.name,
        "ior": float(material.ior),
        "specular_ior_level": 0.5 if material.specular else 0.0,
    }
    for key, data, scalar in (
        ("base_color", False, False),
        ("roughness", True, True),
        ("metallic", True, True),
    ):
        spec[key], files = _texture_spec(
            getattr(material, key), folder, f"{material.name}_{key}", data, scalar
        )
        written += files
    spec["normal_map"] = None
    if material.normal_map is not None:
        spec["normal_map"], files = _texture_spec(
            material.normal_map, folder, f"{material.name}_normal", True
        )
        written += files
    spec["emission"] = None if material.emission is None else list(map(float, material.emission))
    extra = material.extra
    inputs = {}
    if "sheen" in extra:
        inputs["Sheen Weight"] = extra["sheen"]
    if "clearcoat" in extra:
        inputs["Coat Weight"] = extra["clearcoat"]
        inputs["Coat Roughness"] = _clearcoat_roughness(extra.get("clearcoat_gloss", 0.0))
    if "spec_trans" in extra:
        inputs["Transmission Weight"] = extra["spec_trans"]
    if "anisotropic" in extra:
        inputs["Anisotropic"] = extra["anisotropic"]
    spec["inputs"] = inputs
    return spec, written


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy stubs: as np.savez
    return buffer.getvalue()


def blender_description(data: SceneData, folder: Path, samples: int = 64) -> tuple[dict, list]:
    """The scene description the build script reads, writing mesh and texture assets."""
    written: list[Path] = []
    description: dict = {"meshes": [], "materials": [], "lights": [], "cameras": []}
    materials_done: set[str] = set()
    for mesh in data.meshes:
        material = mesh.material
        if material.emission is not None and mesh.rectangle_to_world is not None:
            light = blender_area_light(mesh.rectangle_to_world, material.emission)
            description["lights"].append({"name": mesh.name, "type": "AREA", **light})
            continue
        if material.name not in materials_done:
            spec, files = material_spec(material, folder)
            description["materials"].append(spec)
            written += files
            materials_done.add(material.name)
        arrays = {
            "positions": mitsuba_to_blender_points(mesh.positions).astype(np.float32),
            "faces": mesh.faces.astype(np.int32),
        }
        if mesh.normals is not None:
            arrays["normals"] = mitsuba_to_blender_points(mesh.normals).astype(np.float32)
        if mesh.uvs is not None:
            arrays["uvs"] = flip_v(mesh.uvs).astype(np.float32)
        relative = f"meshes/{mesh.name}.npz"
        written.append(write_bytes(folder / relative, _npz_bytes(**arrays)))
        description["meshes"].append(
            {"name": mesh.name, "file": relative, "material": material.name}
        )
    for point in data.point_lights:
        power, colour = blender_point_power(point.intensity)
        matrix = np.eye(4)
        matrix[:3, 3] = mitsuba_to_blender_points(point.position[None])[0]
        description["lights"].append(
            {
                "name": point.name,
                "type": "POINT",
                "power": power,
                "color": colour,
                "matrix_world": matrix.tolist(),
            }
        )
    for sun in data.sun_lights:
        direction = mitsuba_to_blender_points(sun.direction[None])[0]
        description["lights"].append(
            {"name": sun.name, "type": "SUN", **blender_sun(direction, sun.irradiance)}
        )
    description["world"] = None
    if data.envmap is not None:
        relative = f"textures/{data.envmap.name}_world.exr"
        written.append(write_exr(folder / relative, envmap_for_blender(data.envmap)))
        description["world"] = {
            "image": relative,
            "data": False,
            "strength": float(data.envmap.scale),
        }
    elif data.background is not None:
        description["world"] = {"color": [float(c) for c in data.background[:3]], "strength": 1.0}
    for camera in data.cameras:
        description["cameras"].append(
            {
                "name": camera.name,
                "matrix_world": mitsuba_to_blender_camera(camera.to_world).tolist(),
                "angle_x": math.radians(camera.fov_x_deg),
                "width": camera.width,
                "height": camera.height,
                "clip_start": camera.near_clip,
                "clip_end": camera.far_clip,
            }
        )
        if any(abs(v) > 1e-9 for v in camera.principal_point):
            data.notes.append(
                f"camera {camera.name}: principal point offset not exported to "
                "Blender (shift_x/shift_y)"
            )
    first_filter = data.cameras[0].pixel_filter if data.cameras else "gaussian"
    pixel_filter, width = _CYCLES_FILTERS.get(first_filter, ("GAUSSIAN", 1.5))
    bounces = 12 if data.max_depth < 0 else max(0, data.max_depth - 2)
    description["render"] = {
        "samples": samples,
        "max_bounces": bounces,
        "pixel_filter": pixel_filter,
        "filter_width": width,
        "hide_background": bool(data.hide_emitters),
    }
    return description, written


def build_script_text(description: dict) -> str:
    json_text = json.dumps(description, indent=1)
    if '"""' in json_text:
        raise ValueError("scene description contains a triple quote")
    return TEMPLATE.read_text().replace("__SCENE_JSON__", json_text)


def write_blender_scene(
    data: SceneData, folder: Path, build_blend: bool = True, samples: int = 64
) -> list[Path]:
    """``build_scene.py`` + assets, and ``scene.blend`` built by bpy when ``build_blend``."""
    folder = Path(folder)
    description, written = blender_description(data, folder, samples)
    script = write_text(folder / "build_scene.py", build_script_text(description))
    written = [script, *written]
    if build_blend:
        blend = folder / "scene.blend"
        with atomic_path(blend) as tmp:
            run_bpy_script(script, ["--blend", str(tmp)])
        written.append(blend)
    return written


def render_with_cycles(
    folder: Path,
    image: Path,
    camera: str | None = None,
    samples: int | None = None,
    resolution_scale: float = 1.0,
) -> Path:
    """Render one camera of an exported Blender scene with Cycles (denoising off)."""
    args = ["--render", str(Path(image).resolve())]
    if camera:
        args += ["--camera", camera]
    if samples:
        args += ["--samples", str(samples)]
    if resolution_scale != 1.0:
        args += ["--resolution-scale", str(resolution_scale)]
    run_bpy_script(Path(folder) / "build_scene.py", args)
    return Path(image)


INSPECT_SCRIPT = Path(__file__).with_name("blender_inspect.py")


def inspect_blend(blend: Path, summary: Path, transforms: Path | None = None) -> dict:
    """Open a .blend in bpy; return its JSON summary (and write its cameras' transforms.json)."""
    args = [str(Path(blend).resolve()), str(Path(summary).resolve())]
    if transforms is not None:
        args.append(str(Path(transforms).resolve()))
    run_bpy_script(INSPECT_SCRIPT, args)
    return json.loads(Path(summary).read_text())


RENDER_SCRIPT = Path(__file__).with_name("blender_render.py")


def render_blend(
    blend: Path,
    image: Path,
    camera: str | None = None,
    samples: int | None = None,
    width: int | None = None,
) -> Path:
    """Render one camera of a saved ``.blend`` with Cycles (denoising off) to EXR or PNG."""
    args = [
        str(Path(blend).resolve()),
        str(Path(image).resolve()),
        camera or "",
        str(samples or ""),
        str(width or ""),
    ]
    run_bpy_script(RENDER_SCRIPT, args)
    return Path(image)


RELIGHT_SCRIPT = Path(__file__).with_name("blender_relight.py")


def relight_blend(
    blend: Path,
    envmap: EnvmapData,
    cameras: list[CameraData],
    out_dir: Path,
    samples: int = 64,
    max_bounces: int | None = None,
    keep_lights: bool = False,
    transparent: bool = True,
    world_width: int | None = None,
) -> list[Path]:
    """Render ``cameras`` of a saved ``.blend`` with Cycles under a new sky, one EXR each.

    ``envmap`` is a Mitsuba envmap in the .blend's Mitsuba world (its live ``emitter`` is
    evaluated at Blender's texel centres, as the export does: :func:`envmap_for_blender`, by
    default at twice the map's width so that Cycles' bilinear lookup blurs no more than
    Mitsuba's); its ``scale`` becomes the Background strength. Without ``keep_lights`` the
    .blend's lights are removed. ``transparent``: Film > Transparent (RGBA, premultiplied,
    alpha = coverage); else camera rays see the sky. ``max_bounces`` None keeps the .blend's.
    Returns the EXR paths, ``out_dir/<camera name>.exr``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    width = world_width or 2 * envmap.image.shape[1]
    world = write_exr(out_dir / "world.exr", envmap_for_blender(envmap, width))
    views, images = [], []
    for camera in cameras:
        image = out_dir / f"{camera.name}.exr"
        images.append(image)
        views.append(
            {
                "name": camera.name,
                "matrix_world": mitsuba_to_blender_camera(camera.to_world).tolist(),
                "angle_x": math.radians(camera.fov_x_deg),
                "width": int(camera.width),
                "height": int(camera.height),
                "image": str(image.resolve()),
            }
        )
    job = {
        "blend": str(Path(blend).resolve()),
        "world_image": str(world.resolve()),
        "strength": float(envmap.scale),
        "keep_lights": keep_lights,
        "transparent": transparent,
        "samples": int(samples),
        "max_bounces": max_bounces,
        "views": views,
    }
    job_path = write_text(out_dir / "relight_job.json", json.dumps(job, indent=1))
    run_bpy_script(RELIGHT_SCRIPT, [str(job_path.resolve())])
    return images
