"""Blender side of scripts/make_cycles_benchmark.py: build one scene and render it with Cycles.

Runs under the bpy interpreter (``.bpy-venv/bin/python``; bpy pins numpy < 2), never imported
by invrender:

    python cycles_bench_blender.py -- JOB.json

JOB.json (written by make_cycles_benchmark.py) names the meshes (``.npz`` with ``vertices``
(V, 3), ``faces`` (F, 3), optional ``uvs`` (F, 3, 2) per face corner and ``normals`` (V, 3)),
their materials, the World image with its strength, the render settings and a list of passes:
each pass sets one World image and renders a list of cameras (OpenGL camera-to-world in
Blender's Z-up world, as NeRF's ``transform_matrix``) to image files, with the render's samples
or the pass's own ``spp``. It writes
``timings`` (seconds per rendered view) to the JSON file named by ``log``.
"""

from __future__ import annotations

import json
import os
import sys
import time

import bpy
import numpy as np
from mathutils import Matrix

PROGRESS = "[cycles-bench] "  # make_cycles_benchmark.py shows only lines starting with this


def _clear_scene() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _load_image(path: str, colorspace: str) -> bpy.types.Image:
    image = bpy.data.images.load(path, check_existing=True)
    image.colorspace_settings.name = colorspace
    return image


def _texture_or_value(
    nodes: bpy.types.Nodes,
    links: bpy.types.NodeLinks,
    socket: bpy.types.NodeSocket,
    spec: dict | list | float,
    colorspace: str,
    location: tuple[float, float],
) -> None:
    """Link an image texture into ``socket`` ({"image": path}) or set its constant value."""
    if isinstance(spec, dict):
        tex = nodes.new("ShaderNodeTexImage")
        tex.location = location
        tex.image = _load_image(spec["image"], colorspace)
        tex.interpolation = "Linear"
        links.new(tex.outputs["Color"], socket)
    elif isinstance(spec, list):
        socket.default_value = [*spec[:3], 1.0] if len(socket.default_value) == 4 else spec
    else:
        socket.default_value = float(spec)


def _material(name: str, spec: dict) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    out.location = (400, 0)
    kind = spec["type"]
    if kind == "principled":
        bsdf = nodes.new("ShaderNodeBsdfPrincipled")
        bsdf.distribution = spec.get("distribution", "MULTI_GGX")
        _texture_or_value(
            nodes, links, bsdf.inputs["Base Color"], spec["base_color"], "sRGB", (-400, 300)
        )
        _texture_or_value(
            nodes, links, bsdf.inputs["Roughness"], spec["roughness"], "Non-Color", (-400, 0)
        )
        _texture_or_value(
            nodes, links, bsdf.inputs["Metallic"], spec["metallic"], "Non-Color", (-400, -300)
        )
        bsdf.inputs["IOR"].default_value = float(spec.get("ior", 1.5))
        bsdf.inputs["Specular IOR Level"].default_value = float(spec.get("specular", 0.5))
    elif kind == "diffuse":
        bsdf = nodes.new("ShaderNodeBsdfDiffuse")
        bsdf.inputs["Color"].default_value = [*spec["color"], 1.0]
        bsdf.inputs["Roughness"].default_value = 0.0
    elif kind == "mirror":
        bsdf = nodes.new("ShaderNodeBsdfGlossy")
        bsdf.distribution = "GGX"
        bsdf.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.0
    else:
        raise ValueError(f"unknown material type {kind!r}")
    links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat


def _mesh_object(name: str, spec: dict) -> bpy.types.Object:
    data = np.load(spec["mesh"])
    vertices, faces = data["vertices"], data["faces"]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices.tolist(), [], faces.tolist())
    if mesh.validate() or len(mesh.polygons) != len(faces):
        raise ValueError(f"{name}: Blender had to repair the mesh; fix its builder")
    if "uvs" in data:
        layer = mesh.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", data["uvs"].astype(np.float32).ravel())
    if spec.get("smooth", True):
        mesh.shade_smooth()
    else:
        mesh.shade_flat()
    if "normals" in data:
        mesh.normals_split_custom_set_from_vertices(data["normals"].tolist())
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    obj.data.materials.append(_material(name, spec["material"]))
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _world(scene: bpy.types.Scene) -> tuple[bpy.types.Node, bpy.types.Node]:
    world = bpy.data.worlds.new("World")
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    env = nodes.new("ShaderNodeTexEnvironment")
    env.interpolation = "Linear"
    env.projection = "EQUIRECTANGULAR"
    background = nodes.new("ShaderNodeBackground")
    out = nodes.new("ShaderNodeOutputWorld")
    links.new(env.outputs["Color"], background.inputs["Color"])
    links.new(background.outputs["Background"], out.inputs["Surface"])
    scene.world = world
    return env, background


def _settings(scene: bpy.types.Scene, job: dict) -> None:
    render = job["render"]
    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = int(render["spp"])
    cycles.use_adaptive_sampling = False
    cycles.use_denoising = False
    cycles.max_bounces = int(render.get("max_bounces", 12))
    cycles.sample_clamp_direct = 0.0
    cycles.sample_clamp_indirect = 0.0  # Cycles' default 10 would bias bright indirect paths
    cycles.blur_glossy = 0.0  # no "filter glossy" either: an unbiased reference
    cycles.pixel_filter_type = render.get("filter", "BLACKMAN_HARRIS")
    cycles.filter_width = float(render.get("filter_width", 1.5))
    if render.get("threads"):
        scene.render.threads_mode = "FIXED"
        scene.render.threads = int(render["threads"])
    scene.render.resolution_x = int(render["width"])
    scene.render.resolution_y = int(render["height"])
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = bool(render.get("transparent", True))
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.display_settings.display_device = "sRGB"
    settings = scene.render.image_settings
    if render.get("format", "PNG") == "EXR":
        settings.file_format, settings.color_depth, settings.color_mode = "OPEN_EXR", "32", "RGBA"
    else:
        settings.file_format, settings.color_depth, settings.color_mode = "PNG", "8", "RGBA"
        settings.compression = 90


def _camera(scene: bpy.types.Scene, fov_x: float) -> bpy.types.Object:
    cam = bpy.data.cameras.new("camera")
    cam.sensor_fit = "HORIZONTAL"
    cam.lens_unit = "FOV"
    cam.angle_x = fov_x
    cam.clip_start, cam.clip_end = 0.01, 1000.0
    obj = bpy.data.objects.new("camera", cam)
    scene.collection.objects.link(obj)
    scene.camera = obj
    return obj


def main() -> None:
    job_path = sys.argv[sys.argv.index("--") + 1]
    with open(job_path) as f:
        job = json.load(f)
    _clear_scene()
    scene = bpy.context.scene
    _settings(scene, job)
    for name, spec in job["objects"].items():
        _mesh_object(name, spec)
    env, background = _world(scene)
    camera = _camera(scene, float(job["camera_angle_x"]))
    timings: dict[str, list[float]] = {}
    seed = int(job.get("seed", 0))
    for render_pass in job["passes"]:
        world = render_pass["world"]
        env.image = _load_image(world["image"], "Linear Rec.709")
        background.inputs["Strength"].default_value = float(world["strength"])
        scene.cycles.samples = int(render_pass.get("spp", job["render"]["spp"]))
        times = timings.setdefault(render_pass["name"], [])
        for view in render_pass["views"]:
            camera.matrix_world = Matrix(view["matrix"])  # rows, as in transforms.json
            scene.cycles.seed = seed
            seed += 1
            scene.render.filepath = view["path"]
            start = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            times.append(time.perf_counter() - start)
            name = f"{render_pass['name']}/{os.path.basename(view['path'])}"
            print(f"{PROGRESS}  {name}: {times[-1]:.1f} s", flush=True)
    if job.get("blend"):  # the .blend keeps the first pass's World
        first = job["passes"][0]["world"]
        scene.cycles.samples = int(job["render"]["spp"])
        env.image = _load_image(first["image"], "Linear Rec.709")
        background.inputs["Strength"].default_value = float(first["strength"])
        bpy.ops.wm.save_as_mainfile(filepath=job["blend"], compress=True)
    if job.get("log"):
        with open(job["log"], "w") as f:
            json.dump({"timings": timings, "blender": bpy.app.version_string}, f, indent=1)


if __name__ == "__main__":
    main()
