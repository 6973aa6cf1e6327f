"""Grid textures become UV maps at export time, so a run that keeps its albedo in a 3-D grid
(the geometry and joint pipelines without a texture stage) still ends as an asset.

glTF, OBJ, Blender and the exported ``scene.xml`` carry bitmaps and constants only; a ``volume``
texture (Mitsuba's ``volumeadapter`` over a ``gridvolume``) has no counterpart there. Here each
mesh whose BSDF reads such a grid gets a UV atlas from xatlas (split along its seams), every grid
texture of that BSDF is baked into a ``resolution``² bitmap (each texel's surface point looked up
in the grid: invrender/texturing/bake.py), and a copy of the scene holds the textured mesh with
a BSDF of the same type. The run's own scene is left as it was.

:func:`unexportable_textures` says up front (``invrender check``, ``optimize`` before iteration
0) what even this cannot convert: grids on shapes that are not meshes, grids next to UV bitmaps
in one BSDF, BSDF types other than ``diffuse`` and ``principled``, and texture plugins that are
neither bitmaps, constants nor grids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invrender.errors import InvrenderError

#: Texture plugins (``plugin_name``) that every exporter writes.
EXPORTABLE = {"bitmap", "srgb", "uniform", "rgb", "d65"}
#: 3-D grid textures, baked to UV maps here.
GRIDS = {"volumeadapter", "volume"}
#: BSDFs rebuilt with baked maps.
BAKEABLE_BSDFS = {"diffuse", "principled"}
#: Default side of a baked map in texels.
BAKE_RESOLUTION = 512


class BakeError(InvrenderError):
    """A grid texture cannot be converted for export (see :func:`unexportable_textures`)."""


def _textures(bsdf: Any) -> dict[str, tuple[str, Any]]:
    """The BSDF's texture children: name -> (plugin name, texture)."""
    import mitsuba as mi

    from invrender.export.mitsuba_access import children, plugin_name

    return {
        key: (plugin_name(value), value)
        for key, value in children(bsdf).items()
        if isinstance(value, mi.Texture)
    }


def _has_constant(texture: Any) -> bool:
    from invrender.export.mitsuba_access import children

    return "value" in children(texture) or "data" in children(texture)


def shape_problems(shape: Any, final_uv_maps: bool = False) -> list[str]:
    """Why this shape's material cannot be exported even with baking (empty: it can).

    ``final_uv_maps``: the run replaces the shape's material by UV maps before it ends (the
    joint pipeline's texture stage), so its grid textures never reach the export."""
    import mitsuba as mi

    from invrender.export.mitsuba_access import plugin_name

    bsdf = shape.bsdf()
    if bsdf is None or final_uv_maps:
        return []
    kind = plugin_name(bsdf)
    textures = _textures(bsdf)
    grids = [k for k, (p, _) in textures.items() if p in GRIDS]
    odd = [
        f"{k} ({p})"
        for k, (p, t) in textures.items()
        if p not in GRIDS and p not in EXPORTABLE and not _has_constant(t)
    ]
    problems = []
    if odd:
        problems.append(f"texture {', '.join(odd)} of its '{kind}' BSDF has no export mapping")
    if grids:
        if not isinstance(shape, mi.Mesh):
            problems.append(
                f"its 3-D grid texture ({', '.join(grids)}) is baked to UV maps on meshes "
                f"only, and it is a '{plugin_name(shape)}'"
            )
        elif kind not in BAKEABLE_BSDFS:
            problems.append(
                f"its 3-D grid texture ({', '.join(grids)}) sits in a '{kind}' BSDF; export "
                f"bakes grids of {' and '.join(sorted(BAKEABLE_BSDFS))} BSDFs only"
            )
        elif any(p == "bitmap" for p, _ in textures.values()):
            problems.append(
                "its BSDF mixes a 3-D grid texture with UV bitmaps (the baked atlas would "
                "replace their UVs)"
            )
    return problems


def unexportable_textures(scene: Any, final_uv_maps: set[str] | frozenset = frozenset()) -> list:
    """(shape id, problem) for every shape whose material no export can write."""
    out = []
    for index, shape in enumerate(scene.shapes()):
        name = shape.id() or f"shape_{index}"
        for problem in shape_problems(shape, name in final_uv_maps):
            out.append((name, problem))
    return out


def needs_baking(scene: Any) -> bool:
    return any(
        shape.bsdf() is not None and any(p in GRIDS for p, _ in _textures(shape.bsdf()).values())
        for shape in scene.shapes()
    )


def bake_grid_textures(
    scene: Any, resolution: int = BAKE_RESOLUTION, padding: int = 2
) -> tuple[Any, list[str]]:
    """(a copy of ``scene`` whose grid textures are UV maps, one note per converted shape).

    The scene itself is returned when nothing needs baking. Raises :class:`BakeError` (one
    line, with the fix) for what cannot be converted."""
    from invrender.export.mitsuba_access import plugin_name
    from invrender.texturing.atlas import unwrap
    from invrender.texturing.bake import texel_surface

    if not needs_baking(scene):
        return scene, []
    replaced: dict[str, Any] = {}
    notes = []
    for index, shape in enumerate(scene.shapes()):
        bsdf = shape.bsdf()
        if bsdf is None or not any(p in GRIDS for p, _ in _textures(bsdf).values()):
            continue
        name = shape.id() or f"shape_{index}"
        problems = shape_problems(shape)
        if problems:
            raise BakeError(f"export: shape '{name}': {problems[0]}")
        if shape.emitter() is not None:
            raise BakeError(f"export: shape '{name}': an emitter with a 3-D grid texture")
        vertices = np.array(shape.vertex_positions_buffer(), np.float64).reshape(-1, 3)
        faces = np.array(shape.faces_buffer(), np.int64).reshape(-1, 3)
        normals = None
        if shape.has_vertex_normals():
            normals = np.array(shape.vertex_normals_buffer(), np.float64).reshape(-1, 3)
        atlas = unwrap(vertices, faces, resolution, padding, normals)
        surface = texel_surface(atlas, resolution)
        new_bsdf = _baked_bsdf(bsdf, surface)
        replaced[name] = textured_mesh(name, atlas, new_bsdf)
        notes.append(
            f"{name}: its 3-D grid {plugin_name(bsdf)} texture was baked into "
            f"{resolution}x{resolution} UV maps on an xatlas atlas ({len(atlas.vertices)} "
            "vertices after splitting the seams)"
        )
    return scene_replacing(scene, replaced), notes


def _baked_bsdf(bsdf: Any, surface: Any) -> Any:
    """A BSDF of the same type whose grid textures are bitmaps baked on ``surface``."""
    import mitsuba as mi

    from invrender.export.mitsuba_access import children, plugin_name, to_numpy
    from invrender.texturing.bake import bake_texture

    kind = plugin_name(bsdf)
    spec: dict[str, Any] = {"type": kind}
    for key, value in children(bsdf).items():
        if isinstance(value, mi.Texture):
            name = plugin_name(value)
            if name in GRIDS:
                channels = 1 if key in ("roughness", "metallic", "specular") else 3
                baked = np.clip(bake_texture(value, surface, channels), 0.0, 1.0)
                spec[key] = {"type": "bitmap", "data": mi.TensorXf(baked.astype(np.float32))}
                spec[key]["raw"] = True
            else:
                data = to_numpy(children(value)["value"]).reshape(-1)
                spec[key] = (
                    float(data[0])
                    if data.size == 1
                    else {"type": "rgb", "value": [float(v) for v in data[:3]]}
                )
        elif isinstance(value, mi.Object):
            continue
        else:
            try:
                data = to_numpy(value).reshape(-1)
            except (TypeError, ValueError):
                continue
            if data.size == 1:
                spec[key] = float(data[0])
    try:
        return mi.load_dict(spec)
    except Exception as exc:  # Mitsuba's own message, first line
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise BakeError(
            f"export: cannot rebuild the '{kind}' BSDF with baked maps: {first}"
        ) from None


def textured_mesh(name: str, atlas: Any, bsdf: Any) -> Any:
    """A Mitsuba mesh with the atlas's split vertices, UVs (and normals) and ``bsdf``."""
    import mitsuba as mi

    props = mi.Properties()
    props["bsdf"] = bsdf
    mesh = mi.Mesh(
        name, len(atlas.vertices), len(atlas.faces), props, atlas.normals is not None, True
    )
    buffers = mi.traverse(mesh)
    buffers["vertex_positions"] = mi.Float(atlas.vertices.astype(np.float32).ravel())
    buffers["faces"] = mi.UInt(atlas.faces.astype(np.uint32).ravel())
    buffers["vertex_texcoords"] = mi.Float(atlas.uvs.astype(np.float32).ravel())
    if atlas.normals is not None:
        buffers["vertex_normals"] = mi.Float(atlas.normals.astype(np.float32).ravel())
    buffers.update()
    return mesh


def scene_replacing(old: Any, replaced: dict[str, Any]) -> Any:
    """A new scene with the shapes of ``replaced`` (by id) swapped in; every other shape,
    emitter, sensor and the integrator are handed over as the same live objects."""
    import mitsuba as mi

    from invrender.export.mitsuba_access import plugin_name

    objects: dict[str, Any] = {}
    for index, shape in enumerate(old.shapes()):
        name = shape.id() or f"shape_{index}"
        objects[name] = replaced.get(name, shape)
    for index, emitter in enumerate(old.emitters()):
        if plugin_name(emitter) != "area":  # area lights travel with their shapes
            objects[emitter.id() or f"emitter_{index}"] = emitter
    for index, sensor in enumerate(old.sensors()):
        objects[sensor.id() or f"sensor_{index}"] = sensor
    if old.integrator() is not None:
        objects["integrator"] = old.integrator()
    return mi.load_dict({"type": "scene", **objects})
