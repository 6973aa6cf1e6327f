"""Blender side of scripts/make_capture_benchmark.py: an object on a table top, rendered with
Cycles as photos (the World visible behind) and as true object masks.

Runs under the bpy interpreter (``.bpy-venv/bin/python``), never imported by invrender:

    python capture_bench_blender.py -- JOB.json

The scene building is cycles_bench_blender.py's (meshes, Principled materials, World, camera).
What differs: the film is opaque (the HDRI is the photo's background), Blender's
OpenImageDenoise cleans a few samples per pixel, and a second pass renders every view again with
the table as a holdout on a transparent film: its alpha is the object's coverage, occlusion by
nothing else (the true mask). JOB.json: as cycles_bench_blender.py's, plus ``holdout`` (the
object names hidden from the mask pass), ``denoise`` and ``mask_spp`` in ``render``, and a
``mask_path`` per view of the photo pass.
"""

from __future__ import annotations

import json
import sys
import time

import bpy
from cycles_bench_blender import PROGRESS, _camera, _load_image, _mesh_object, _settings, _world
from mathutils import Matrix


def _holdout_material() -> bpy.types.Material:
    mat = bpy.data.materials.new("holdout")
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    links.new(nodes.new("ShaderNodeHoldout").outputs["Holdout"], out.inputs["Surface"])
    return mat


def _render(scene: bpy.types.Scene, path: str) -> float:
    scene.render.filepath = path
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    return time.perf_counter() - start


def main() -> None:
    with open(sys.argv[sys.argv.index("--") + 1]) as f:
        job = json.load(f)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    _settings(scene, job)
    scene.render.use_persistent_data = True  # the BVH once, not once per view
    if job["render"].get("denoise", True):
        scene.cycles.use_denoising = True
        scene.cycles.denoiser = "OPENIMAGEDENOISE"
        # The guides as rendered (not denoised themselves) and the balanced network: on two
        # busy cores the accurate, high-quality denoiser cost more than the path tracing.
        scene.cycles.denoising_prefilter = "FAST"
        scene.cycles.denoising_quality = "BALANCED"
    objects = {name: _mesh_object(name, spec) for name, spec in job["objects"].items()}
    env, background = _world(scene)
    world = job["world"]
    env.image = _load_image(world["image"], "Linear Rec.709")
    background.inputs["Strength"].default_value = float(world["strength"])
    camera = _camera(scene, float(job["camera_angle_x"]))
    seed = int(job.get("seed", 0))

    photo_times = []
    for k, view in enumerate(job["views"]):
        camera.matrix_world = Matrix(view["matrix"])  # rows, OpenGL camera-to-world
        scene.cycles.seed = seed + k
        photo_times.append(_render(scene, view["path"]))
        print(f"{PROGRESS}  photo {k + 1}/{len(job['views'])}: {photo_times[-1]:.1f} s", flush=True)

    # Masks: the object alone on a transparent film; the table cuts it where it hides it.
    holdout = _holdout_material()
    for name in job["holdout"]:
        objects[name].data.materials[0] = holdout
    scene.render.film_transparent = True
    scene.cycles.use_denoising = False
    scene.cycles.samples = int(job["render"].get("mask_spp", 16))
    scene.cycles.max_bounces = 0
    settings = scene.render.image_settings
    settings.file_format, settings.color_depth, settings.color_mode = "PNG", "8", "RGBA"
    mask_times = []
    for view in job["views"]:
        camera.matrix_world = Matrix(view["matrix"])
        mask_times.append(_render(scene, view["mask_path"]))
    print(f"{PROGRESS}  {len(mask_times)} masks: {sum(mask_times):.1f} s", flush=True)
    if job.get("log"):
        with open(job["log"], "w") as f:
            json.dump(
                {
                    "timings": {"photos": photo_times, "masks": mask_times},
                    "blender": bpy.app.version_string,
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
