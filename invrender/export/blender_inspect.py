"""Summarize a .blend as JSON and write its cameras as a NeRF transforms.json.

Run with the bpy interpreter (invrender does it through blender_env.run_bpy_script):
    python blender_inspect.py -- SCENE.blend SUMMARY.json [TRANSFORMS.json]
Self-contained (bpy only). The summary lists objects, Principled BSDF inputs (values or the
node linked in), World nodes, lights and cameras; transforms.json takes each camera's
matrix_world (OpenGL axes, Z-up world) and horizontal angle straight from Blender.
"""

import json
import math
import sys

import bpy


def socket_summary(socket):
    if socket.is_linked:
        node = socket.links[0].from_node
        summary = {"linked": node.bl_idname}
        if getattr(node, "image", None) is not None:
            summary["image"] = bpy.path.abspath(node.image.filepath)
            summary["colorspace"] = node.image.colorspace_settings.name
        return summary
    value = socket.default_value
    return list(value) if hasattr(value, "__len__") else value


def material_summary(material):
    nodes = material.node_tree.nodes
    principled = [n for n in nodes if n.bl_idname == "ShaderNodeBsdfPrincipled"]
    inputs = {}
    if principled:
        for name in (
            "Base Color",
            "Roughness",
            "Metallic",
            "IOR",
            "Specular IOR Level",
            "Normal",
            "Emission Color",
            "Emission Strength",
        ):
            inputs[name] = socket_summary(principled[0].inputs[name])
    return {"principled": bool(principled), "inputs": inputs}


def main():
    argv = sys.argv[sys.argv.index("--") + 1 :]
    blend, summary_path = argv[0], argv[1]
    bpy.ops.wm.open_mainfile(filepath=blend)
    scene = bpy.context.scene
    summary = {
        "objects": {},
        "materials": {},
        "world": None,
        "render": {
            "engine": scene.render.engine,
            "samples": scene.cycles.samples,
            "denoising": scene.cycles.use_denoising,
            "resolution": [scene.render.resolution_x, scene.render.resolution_y],
        },
    }
    frames = []
    for obj in scene.objects:
        entry = {"type": obj.type, "matrix_world": [list(r) for r in obj.matrix_world]}
        if obj.type == "MESH":
            entry["vertices"] = len(obj.data.vertices)
            entry["polygons"] = len(obj.data.polygons)
            entry["uv_layers"] = [layer.name for layer in obj.data.uv_layers]
            entry["materials"] = [m.name for m in obj.data.materials]
        elif obj.type == "LIGHT":
            entry.update(
                light_type=obj.data.type, energy=obj.data.energy, color=list(obj.data.color)
            )
            if obj.data.type == "AREA":
                entry.update(size=obj.data.size, size_y=obj.data.size_y)
        elif obj.type == "CAMERA":
            entry.update(
                angle_x=obj.data.angle_x,
                sensor_fit=obj.data.sensor_fit,
                resolution=list(obj.get("invrender_resolution", [])),
            )
            width, height = entry["resolution"] or summary["render"]["resolution"]
            frames.append(
                {
                    "file_path": f"images/{obj.name}",
                    "camera_name": obj.name,
                    "camera_angle_x": obj.data.angle_x,
                    "w": width,
                    "h": height,
                    "fl_x": width / (2 * math.tan(obj.data.angle_x / 2)),
                    "transform_matrix": [list(r) for r in obj.matrix_world],
                }
            )
        summary["objects"][obj.name] = entry
    for material in bpy.data.materials:
        summary["materials"][material.name] = material_summary(material)
    world = scene.world
    if world is not None and world.use_nodes:
        summary["world"] = {
            "nodes": sorted(n.bl_idname for n in world.node_tree.nodes),
            "links": sorted(
                f"{link.from_node.bl_idname}->{link.to_node.bl_idname}"
                for link in world.node_tree.links
            ),
        }
        for node in world.node_tree.nodes:
            if node.bl_idname == "ShaderNodeBackground":
                strength = node.inputs["Strength"].default_value  # the lit one, not a black one
                summary["world"]["strength"] = max(summary["world"].get("strength", 0.0), strength)
            if node.bl_idname == "ShaderNodeTexEnvironment" and node.image:
                summary["world"]["image"] = bpy.path.abspath(node.image.filepath)
                summary["world"]["image_size"] = list(node.image.size)
    with open(summary_path, "w") as handle:
        json.dump(summary, handle, indent=1)
    if len(argv) > 2:
        with open(argv[2], "w") as handle:
            json.dump({"frames": frames}, handle, indent=1)


if __name__ == "__main__":
    main()
