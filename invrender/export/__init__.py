"""Export a reconstruction for Blender, glTF, mesh tools and Mitsuba (see docs/export.md).

Entry point: :func:`export_scene`. It reads the live Mitsuba scene (current, optimized
parameter values) and writes one sub-folder per format::

    OUT/mitsuba/   scene.xml, meshes/*.ply, textures/*.exr     (mi.load_file re-renders it)
    OUT/ply/       NAME.ply per mesh (binary, normals, UVs as s/t with v up)
    OUT/obj/       NAME.obj + NAME.mtl + textures/*.png (PBR MTL keys Pr/Pm/map_Pr/...)
    OUT/gltf/      scene.glb (PBR metallic-roughness, textures, tangents)
    OUT/blender/   scene.blend, build_scene.py, meshes/*.npz, textures/*.exr
    OUT/cameras/   transforms.json (NeRF: camera-to-world, OpenGL axes, Blender's Z-up world)

Importing this package does not import Mitsuba; the scene's variant must already be set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invrender.config.names import EXPORT_FORMATS as FORMATS


def expand_formats(formats: Sequence[str]) -> list[str]:
    """Validate format names; ``"all"`` means every format, in FORMATS order."""
    from invrender.export.scene_data import ExportError

    requested = [f.strip().lower() for f in formats]
    if "all" in requested:
        return list(FORMATS)
    unknown = [f for f in requested if f not in FORMATS]
    if unknown:
        raise ExportError(
            f"unknown export format(s) {', '.join(unknown)}; choose from "
            f"{', '.join(FORMATS)} or all"
        )
    return [f for f in FORMATS if f in requested]


def export_scene(
    scene: Any,
    out_dir: Path,
    formats: Sequence[str],
    sensors: Sequence[Any] | None = None,
    *,
    build_blend: bool = True,
    blender_samples: int = 64,
    integrator: dict[str, Any] | None = None,
    notes: Sequence[str] = (),
) -> dict[str, list[Path]]:
    """Write the scene in each format under ``out_dir/<format>/``; return the files per format.

    ``sensors`` default to ``scene.sensors()``. ``build_blend=False`` writes the Blender
    script and assets without running bpy (no ``.bpy-venv`` needed). ``integrator`` (a run
    config's ``integrator:`` dict) replaces the scene's own: its path depth and
    ``hide_emitters`` go to ``scene.xml`` and to Cycles. ``notes`` (e.g. what was baked) go
    to ``export_notes.txt`` with the exporters' own.
    """
    from invrender.export.blender import write_blender_scene
    from invrender.export.cameras import write_transforms_json
    from invrender.export.meshes import write_glb, write_obj, write_ply
    from invrender.export.mitsuba_xml import write_mitsuba_scene
    from invrender.export.scene_data import read_scene

    out_dir = Path(out_dir)
    chosen = expand_formats(formats)
    sensor_list = None if sensors is None else list(sensors)
    data = read_scene(scene, sensor_list, integrator)
    data.notes[:0] = list(notes)
    written: dict[str, list[Path]] = {}
    for fmt in chosen:
        folder = out_dir / fmt
        if fmt == "mitsuba":
            written[fmt] = write_mitsuba_scene(scene, folder, sensor_list, integrator)
        elif fmt == "ply":
            written[fmt] = [write_ply(folder / f"{m.name}.ply", m) for m in data.meshes]
        elif fmt == "obj":
            written[fmt] = [p for m in data.meshes for p in write_obj(folder, m)]
        elif fmt == "gltf":
            written[fmt] = [write_glb(folder / "scene.glb", data.meshes)]
        elif fmt == "blender":
            written[fmt] = write_blender_scene(
                data, folder, build_blend=build_blend, samples=blender_samples
            )
        elif fmt == "cameras":
            written[fmt] = [write_transforms_json(folder / "transforms.json", data.cameras)]
    if data.notes:
        from invrender.files import write_text

        notes_file = write_text(out_dir / "export_notes.txt", "\n".join(data.notes) + "\n")
        written.setdefault("notes", []).append(notes_file)
    return written


__all__ = ["FORMATS", "expand_formats", "export_scene"]
