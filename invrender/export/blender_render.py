"""Render one camera of a saved .blend with Cycles (denoising off), headless.

Run with the bpy interpreter:
    python blender_render.py -- SCENE.blend IMAGE(.exr|.png) [CAMERA] [SAMPLES] [WIDTH]
A .exr image holds linear float32 radiance; a .png is sRGB ('Standard' view transform).
WIDTH rescales the resolution keeping the camera's aspect ratio.
"""

import os
import sys

import bpy


def main():
    argv = sys.argv[sys.argv.index("--") + 1 :]
    blend, image = argv[0], os.path.abspath(argv[1])
    camera = argv[2] if len(argv) > 2 and argv[2] else None
    samples = int(argv[3]) if len(argv) > 3 and argv[3] else None
    width = int(argv[4]) if len(argv) > 4 and argv[4] else None
    bpy.ops.wm.open_mainfile(filepath=blend)
    scene = bpy.context.scene
    if camera:
        if camera not in bpy.data.objects:
            sys.exit(f"no camera named {camera!r} in {blend}")
        scene.camera = bpy.data.objects[camera]
    resolution = scene.camera.get("invrender_resolution")
    if resolution:
        scene.render.resolution_x, scene.render.resolution_y = resolution
    if width:
        height = round(width * scene.render.resolution_y / scene.render.resolution_x)
        scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    if samples:
        scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    settings = scene.render.image_settings
    if image.lower().endswith(".exr"):
        settings.file_format, settings.color_depth = "OPEN_EXR", "32"
    else:
        settings.file_format, settings.color_depth = "PNG", "8"
    settings.color_mode = "RGB"
    scene.render.filepath = image
    bpy.ops.render.render(write_still=True)


if __name__ == "__main__":
    main()
