"""Load the initial scene and pick the parameters to optimize, with helpful errors."""

from __future__ import annotations

import difflib
import fnmatch
from pathlib import Path
from typing import Any

import numpy as np

from invrender.config.loader import absolute_filenames
from invrender.config.schema import SceneSpec
from invrender.errors import DataError

MESH_SUFFIXES_VIA_TRIMESH = {".glb", ".gltf", ".stl", ".off"}
CATEGORIES = ("material", "lighting", "geometry", "camera", "other")


def load_scene(spec: SceneSpec, config_dir: Path, config_name: str = "config") -> Any:
    """An ``mi.Scene`` from ``scene.file`` (XML) or ``scene.dict`` (inline Mitsuba dict)."""
    import mitsuba as mi

    try:
        if spec.file is not None:
            return mi.load_file(spec.file, **spec.xml_params)
        if spec.object is not None:
            from invrender.scene.template import LightingTemplate, template_scene

            built = template_scene(spec.object, spec.lighting or LightingTemplate())
            return mi.load_dict(prepare_dict(built, config_dir))
        scene_dict = prepare_dict(dict(spec.inline or {}), config_dir)
        scene_dict.setdefault("type", "scene")
        return mi.load_dict(scene_dict)
    except DataError:
        raise
    except Exception as exc:
        src = f"{spec.file}" if spec.file else f"{config_name}: scene.dict"
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{src}: Mitsuba cannot load the scene: {first}") from None


def prepare_dict(node: Any, base: Path) -> Any:
    """Turn YAML-friendly values into Mitsuba ones: relative file names, transforms, meshes."""
    return _to_mitsuba_values(absolute_filenames(node, base))


def _to_mitsuba_values(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_mitsuba_values(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "to_world" and not _is_mitsuba_object(value):
            out[key] = to_transform(value)
        else:
            out[key] = _to_mitsuba_values(value)
    if out.get("type") == "mesh" or (
        out.get("type") in (None, "ply", "obj")
        and Path(str(out.get("filename", ""))).suffix.lower() in MESH_SUFFIXES_VIA_TRIMESH
    ):
        return trimesh_to_mitsuba(out)
    return out


def _is_mitsuba_object(value: Any) -> bool:
    return not isinstance(value, dict | list | tuple | int | float | str)


def to_transform(value: Any) -> Any:
    """A 4x4 list, or {translate, scale, rotate: {axis, angle}, look_at} -> ScalarTransform4f."""
    import mitsuba as mi

    if isinstance(value, list | tuple):
        return mi.ScalarTransform4f(np.asarray(value, dtype=np.float64).tolist())
    t = mi.ScalarTransform4f()
    if "look_at" in value:
        la = value["look_at"]
        t = t.look_at(la["origin"], la.get("target", [0, 0, 0]), la.get("up", [0, 1, 0]))
    if "translate" in value:
        t = t.translate(value["translate"])
    if "rotate" in value:
        t = t.rotate(value["rotate"]["axis"], value["rotate"]["angle"])
    if "scale" in value:
        s = value["scale"]
        t = t.scale([s, s, s] if isinstance(s, int | float) else s)
    return t


def trimesh_to_mitsuba(entry: dict[str, Any]) -> dict[str, Any]:
    """A mesh in any format trimesh reads (GLB, STL, ...) as a Mitsuba ``ply`` entry.

    Mitsuba reads PLY/OBJ itself; other formats go through trimesh into a temporary PLY, so the
    entry's other properties (bsdf, to_world, ...) are parsed exactly as for any Mitsuba shape.
    """
    import tempfile

    import trimesh

    filename = str(entry.get("filename"))
    try:
        tm = trimesh.load(filename, force="mesh", process=False)
    except Exception as exc:
        raise DataError(f"{filename}: cannot read mesh: {exc}") from None
    out = Path(tempfile.mkdtemp(prefix="invrender-mesh-")) / (Path(filename).stem + ".ply")
    tm.export(out)
    props = {k: v for k, v in entry.items() if k not in ("type", "filename")}
    return {"type": "ply", "filename": str(out), **props}


def select_keys(params: Any, pattern: str) -> list[str]:
    """Keys equal to ``pattern`` or matching it as a glob."""
    keys = list(params.keys())
    if pattern in keys:
        return [pattern]
    return [k for k in keys if fnmatch.fnmatchcase(k, pattern)]


def suggest_key(params: Any, pattern: str) -> str:
    keys = [k for k in params.keys() if not is_non_differentiable(params, k)]
    close = difflib.get_close_matches(pattern, keys, n=3, cutoff=0.4)
    if close:
        best = difflib.SequenceMatcher(None, pattern, close[0]).ratio()
        close = [c for c in close if difflib.SequenceMatcher(None, pattern, c).ratio() > best - 0.1]
        return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return "`invrender check --list-params CONFIG` lists the scene's differentiable parameters"


def is_non_differentiable(params: Any, key: str) -> bool:
    import mitsuba as mi

    return bool(params.flags(key) & int(mi.ParamFlags.NonDifferentiable))


def key_category(params: Any, key: str) -> str:
    """material | lighting | geometry | camera | other, from the parameter's owner chain."""
    import mitsuba as mi

    node = params.properties[key][2]
    seen = 0
    while node is not None and seen < 32:
        if isinstance(node, mi.BSDF):
            return "material"
        if isinstance(node, mi.Emitter):
            return "lighting"
        if isinstance(node, mi.Shape):
            return "geometry"
        if isinstance(node, mi.Sensor):
            return "camera"
        parent = params.hierarchy.get(node)
        node = parent[0] if parent else None
        seen += 1
    return "other"


def differentiable_keys(params: Any) -> list[str]:
    return [k for k in params.keys() if not is_non_differentiable(params, k)]


# Normals computed and loaded differ by far more than the last bits that the summation order moves.
_RECOMPUTED_NORMALS_TOLERANCE = 1e-4


def settle_load_normals(scene: Any, params: Any) -> int:
    """Recompute, on the current Dr.Jit pool, the vertex normals Mitsuba summed at load.

    Mitsuba gives a mesh that comes without normals area-weighted ones, summed with an atomic
    scatter-add on the full thread pool while the scene loads: their last bits vary from process
    to process. A run pinned to one thread (``INVRENDER_THREADS=1``) calls this to be
    bit-reproducible from the start. Normals further from the recomputation than float noise came
    from the file and are kept. Returns how many meshes took the recomputed normals."""
    settled = 0
    for shape in scene.shapes():
        key = f"{shape.id()}.vertex_normals"
        if not (shape.is_mesh() and shape.has_vertex_normals()) or key not in params:
            continue
        loaded = np.array(params[key])
        shape.recompute_vertex_normals()
        recomputed = np.array(shape.vertex_normals_buffer())
        same = recomputed.shape == loaded.shape and (
            np.abs(recomputed - loaded).max(initial=0.0) <= _RECOMPUTED_NORMALS_TOLERANCE
        )
        params[key] = type(params[key])(recomputed if same else loaded)
        settled += int(same)
    params.update()
    return settled
