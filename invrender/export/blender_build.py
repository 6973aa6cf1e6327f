"""Build (and optionally render) a Blender scene exported by invrender.

Run with Blender:            blender --background --python build_scene.py -- --blend scene.blend
or with the bpy module:      python build_scene.py --blend scene.blend
Options: --render IMAGE (.exr linear float or .png sRGB) --camera NAME --samples N --max-bounces N

This file is self-contained (bpy + Blender's bundled numpy only): invrender copies it next to
the exported assets with the scene description filled in below. Paths in the description are
relative to this file's folder.
"""

import argparse
import json
import math
import os
import sys

import bpy
import mathutils
import numpy as np

SCENE_JSON = r"""__SCENE_JSON__"""


def arguments():
    argv = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    parser = argparse.ArgumentParser(description="Build the invrender scene in Blender.")
    parser.add_argument("--blend", help="save the scene to this .blend file")
    parser.add_argument("--render", help="render one camera to this image (.exr or .png)")
    parser.add_argument("--camera", help="camera name to render (default: the first)")
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--max-bounces", type=int, default=None)
    parser.add_argument("--resolution-scale", type=float, default=1.0)
    return parser.parse_args(argv)


def asset(root, relative):
    return os.path.normpath(os.path.join(root, relative))


def clear_scene():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def load_image(root, spec):
    image = bpy.data.images.load(asset(root, spec["image"]), check_existing=True)
    image.colorspace_settings.name = "Non-Color" if spec.get("data") else "Linear Rec.709"
    return image


def set_input(nodes, links, bsdf, name, spec, root, location):
    """Set a Principled input from a constant or an image texture node."""
    socket = bsdf.inputs[name]
    if isinstance(spec, dict):
        node = nodes.new("ShaderNodeTexImage")
        node.image = load_image(root, spec)
        node.interpolation = "Linear"
        node.extension = "REPEAT"
        node.location = location
        links.new(node.outputs["Color"], socket)
        return node
    if socket.type == "RGBA":
        socket.default_value = (*spec[:3], 1.0)
    elif socket.type == "VECTOR":
        socket.default_value = spec
    else:
        socket.default_value = float(spec)
    return None


def build_material(spec, root):
    material = bpy.data.materials.new(spec["name"])
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    output = nodes.new("ShaderNodeOutputMaterial")
    output.location = (400, 0)
    bsdf = nodes.new("ShaderNodeBsdfPrincipled")
    links.new(bsdf.outputs["BSDF"], output.inputs["Surface"])
    set_input(nodes, links, bsdf, "Base Color", spec["base_color"], root, (-400, 300))
    set_input(nodes, links, bsdf, "Roughness", spec["roughness"], root, (-400, 0))
    set_input(nodes, links, bsdf, "Metallic", spec["metallic"], root, (-400, -300))
    bsdf.inputs["IOR"].default_value = spec["ior"]
    bsdf.inputs["Specular IOR Level"].default_value = spec["specular_ior_level"]
    for name, value in spec.get("inputs", {}).items():
        if name in bsdf.inputs:
            bsdf.inputs[name].default_value = value
    if spec.get("normal_map"):
        texture = nodes.new("ShaderNodeTexImage")
        texture.image = load_image(root, spec["normal_map"])
        texture.interpolation = "Linear"
        texture.location = (-700, -600)
        normal = nodes.new("ShaderNodeNormalMap")
        normal.space = "TANGENT"
        normal.uv_map = "UVMap"
        normal.location = (-300, -600)
        links.new(texture.outputs["Color"], normal.inputs["Color"])
        links.new(normal.outputs["Normal"], bsdf.inputs["Normal"])
    if spec.get("emission"):
        color = spec["emission"]
        peak = max(color)
        bsdf.inputs["Emission Color"].default_value = (*[c / peak for c in color], 1.0)
        bsdf.inputs["Emission Strength"].default_value = peak
    return material


def build_mesh(spec, material, root):
    data = np.load(asset(root, spec["file"]))
    positions, faces = data["positions"], data["faces"].astype(np.int32)
    mesh = bpy.data.meshes.new(spec["name"])
    mesh.vertices.add(len(positions))
    mesh.vertices.foreach_set("co", positions.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update()
    if "uvs" in data:
        layer = mesh.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", data["uvs"][faces].astype(np.float32).ravel())
    if "normals" in data:
        mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
        mesh.normals_split_custom_set_from_vertices(data["normals"].astype(np.float32))
    mesh.validate()
    mesh.materials.append(material)
    obj = bpy.data.objects.new(spec["name"], mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def build_world(spec, root, hide_background=False):
    world = bpy.data.worlds.new("World")
    bpy.context.scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    output = nodes.new("ShaderNodeOutputWorld")
    output.location = (300, 0)
    background = nodes.new("ShaderNodeBackground")
    if hide_background:
        # Mitsuba's hide_emitters: camera rays see black, every other ray sees the World.
        path = nodes.new("ShaderNodeLightPath")
        black = nodes.new("ShaderNodeBackground")
        black.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        black.inputs["Strength"].default_value = 0.0
        mix = nodes.new("ShaderNodeMixShader")
        links.new(path.outputs["Is Camera Ray"], mix.inputs["Fac"])
        links.new(background.outputs["Background"], mix.inputs[1])
        links.new(black.outputs["Background"], mix.inputs[2])
        links.new(mix.outputs["Shader"], output.inputs["Surface"])
    else:
        links.new(background.outputs["Background"], output.inputs["Surface"])
    if spec is None:
        background.inputs["Color"].default_value = (0.0, 0.0, 0.0, 1.0)
        return
    background.inputs["Strength"].default_value = spec.get("strength", 1.0)
    if "image" in spec:
        texture = nodes.new("ShaderNodeTexEnvironment")
        texture.image = load_image(root, spec)
        texture.interpolation = "Linear"
        texture.projection = "EQUIRECTANGULAR"
        texture.location = (-400, 0)
        links.new(texture.outputs["Color"], background.inputs["Color"])
    else:
        background.inputs["Color"].default_value = (*spec["color"], 1.0)


def build_light(spec):
    light = bpy.data.lights.new(spec["name"], spec["type"])
    light.energy = spec["power"]
    light.color = spec["color"]
    if spec["type"] == "POINT":
        light.shadow_soft_size = 0.0
        if hasattr(light, "use_soft_falloff"):
            light.use_soft_falloff = False
    elif spec["type"] == "SUN":
        light.angle = 0.0  # Mitsuba's directional light is a delta light: hard shadows
    else:
        light.shape = "RECTANGLE"
        light.size = spec["size_x"]
        light.size_y = spec["size_y"]
        light.spread = math.pi
    obj = bpy.data.objects.new(spec["name"], light)
    obj.matrix_world = mathutils.Matrix(spec["matrix_world"])
    bpy.context.scene.collection.objects.link(obj)


def build_camera(spec):
    camera = bpy.data.cameras.new(spec["name"])
    camera.sensor_fit = "HORIZONTAL"
    camera.angle_x = spec["angle_x"]
    camera.clip_start = spec["clip_start"]
    camera.clip_end = spec["clip_end"]
    obj = bpy.data.objects.new(spec["name"], camera)
    obj.matrix_world = mathutils.Matrix(spec["matrix_world"])
    obj["invrender_resolution"] = [spec["width"], spec["height"]]
    bpy.context.scene.collection.objects.link(obj)
    return obj


def configure_render(scene, settings, args):
    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = args.samples or settings["samples"]
    cycles.use_denoising = False
    cycles.use_adaptive_sampling = False
    bounces = settings["max_bounces"] if args.max_bounces is None else args.max_bounces
    cycles.max_bounces = bounces
    for name in ("diffuse_bounces", "glossy_bounces", "transmission_bounces"):
        setattr(cycles, name, bounces)
    cycles.caustics_reflective = cycles.caustics_refractive = True
    cycles.blur_glossy = 0.0
    cycles.sample_clamp_direct = cycles.sample_clamp_indirect = 0.0
    cycles.light_sampling_threshold = 0.0
    cycles.seed = 0
    cycles.pixel_filter_type = settings["pixel_filter"]
    cycles.filter_width = settings["filter_width"]
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.render.film_transparent = False


def main():
    args = arguments()
    root = os.path.dirname(os.path.abspath(__file__))
    description = json.loads(SCENE_JSON)
    clear_scene()
    scene = bpy.context.scene
    materials = {spec["name"]: build_material(spec, root) for spec in description["materials"]}
    for spec in description["meshes"]:
        build_mesh(spec, materials[spec["material"]], root)
    build_world(description.get("world"), root, description["render"].get("hide_background", False))
    for spec in description["lights"]:
        build_light(spec)
    cameras = [build_camera(spec) for spec in description["cameras"]]
    configure_render(scene, description["render"], args)
    if cameras:
        chosen = next((c for c in cameras if c.name == args.camera), cameras[0])
        if args.camera and chosen.name != args.camera:
            sys.exit(f"no camera named {args.camera!r}; have {[c.name for c in cameras]}")
        scene.camera = chosen
        width, height = chosen["invrender_resolution"]
        scene.render.resolution_x = max(1, round(width * args.resolution_scale))
        scene.render.resolution_y = max(1, round(height * args.resolution_scale))
        scene.render.resolution_percentage = 100
    if args.blend:
        bpy.context.preferences.filepaths.save_version = 0  # no .blend1 backup next to it
        bpy.ops.wm.save_as_mainfile(filepath=os.path.abspath(args.blend), compress=True)
    if args.render:
        settings = scene.render.image_settings
        if args.render.lower().endswith(".exr"):
            settings.file_format = "OPEN_EXR"
            settings.color_depth = "32"
            settings.color_mode = "RGB"
        else:
            settings.file_format = "PNG"
            settings.color_mode = "RGB"
            settings.color_depth = "8"
        scene.render.filepath = os.path.abspath(args.render)
        bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    main()
