"""Relight a saved .blend with Cycles under a new World image and render cameras, headless.

Run with the bpy interpreter:  python blender_relight.py -- JOB.json
JOB.json: {"blend", "world_image" (a Blender equirect EXR), "strength", "keep_lights",
"transparent", "samples", "max_bounces" (or null: the .blend's), "views": [{"name",
"matrix_world", "angle_x", "width", "height", "image" (.exr)}]}.

The World is rebuilt as one Environment Texture -> Background (strength) -> World Output, so
camera rays see the sky (``transparent`` false) or nothing (Film > Transparent, RGBA with
premultiplied colour and alpha = coverage). Without ``keep_lights`` every light object goes: the
new sky alone lights the asset. Each view gets a camera of its own (OpenGL axes, horizontal
sensor fit), so the .blend's own cameras and their names do not matter. Denoising is off.
"""

import json
import os
import sys

import bpy
import mathutils


def main():
    job_path = sys.argv[sys.argv.index("--") + 1]
    with open(job_path) as f:
        job = json.load(f)
    bpy.ops.wm.open_mainfile(filepath=job["blend"])
    scene = bpy.context.scene
    if not job.get("keep_lights"):
        for obj in [o for o in bpy.data.objects if o.type == "LIGHT"]:
            bpy.data.objects.remove(obj, do_unlink=True)
    world = bpy.data.worlds.new("Relight")
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    output = nodes.new("ShaderNodeOutputWorld")
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = float(job["strength"])
    texture = nodes.new("ShaderNodeTexEnvironment")
    image = bpy.data.images.load(os.path.abspath(job["world_image"]))
    image.colorspace_settings.name = "Linear Rec.709"
    texture.image = image
    texture.interpolation = "Linear"
    texture.projection = "EQUIRECTANGULAR"
    links.new(texture.outputs["Color"], background.inputs["Color"])
    links.new(background.outputs["Background"], output.inputs["Surface"])

    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = int(job["samples"])
    cycles.use_denoising = False
    cycles.use_adaptive_sampling = False
    cycles.seed = 0
    if job.get("max_bounces") is not None:
        bounces = int(job["max_bounces"])
        cycles.max_bounces = bounces
        for name in ("diffuse_bounces", "glossy_bounces", "transmission_bounces"):
            setattr(cycles, name, bounces)
    scene.render.film_transparent = bool(job.get("transparent"))
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    settings = scene.render.image_settings
    settings.file_format, settings.color_depth = "OPEN_EXR", "32"
    settings.color_mode = "RGBA"
    scene.render.resolution_percentage = 100
    for view in job["views"]:
        data = bpy.data.cameras.new("relight_" + view["name"])
        data.sensor_fit = "HORIZONTAL"
        data.angle_x = view["angle_x"]
        data.clip_start, data.clip_end = 0.01, 1e4
        camera = bpy.data.objects.new(data.name, data)
        camera.matrix_world = mathutils.Matrix(view["matrix_world"])
        scene.collection.objects.link(camera)
        scene.camera = camera
        scene.render.resolution_x, scene.render.resolution_y = view["width"], view["height"]
        scene.render.filepath = os.path.abspath(view["image"])
        bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    main()
