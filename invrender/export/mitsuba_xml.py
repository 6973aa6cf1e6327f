"""A Mitsuba ``scene.xml`` with its assets, written from the live (optimized) scene.

Unlike the PBR formats, this keeps every BSDF and emitter as the plugin it is, with every
parameter ``traverse`` exposes, so ``mi.load_file(scene.xml)`` renders what the in-memory scene
renders. Meshes are written by Mitsuba itself (``Mesh.write_ply``: world space, Mitsuba's UVs),
textures and the envmap as float32 EXR (exact; no 8-bit rounding of optimized values).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from invrender.export.mitsuba_access import (
    children,
    plugin_name,
    repr_field,
    to_numpy,
    transform_matrix,
)
from invrender.export.scene_data import ExportError, safe_name
from invrender.files import atomic_path, write_exr, write_text

# Parameters whose traverse name differs from the XML name (relative IOR -> int_ior, ext_ior=1).
_RENAMED = {
    ("roughplastic", "eta"): "int_ior",
    ("plastic", "eta"): "int_ior",
    ("dielectric", "eta"): "int_ior",
    ("roughdielectric", "eta"): "int_ior",
}
_FILTERS = {
    "GaussianFilter": "gaussian",
    "BoxFilter": "box",
    "TentFilter": "tent",
    "LanczosFilter": "lanczos",
    "MitchellFilter": "mitchell",
    "CatmullRomFilter": "catmullrom",
}
_SAMPLERS = {
    "IndependentSampler": "independent",
    "StratifiedSampler": "stratified",
    "MultijitterSampler": "multijitter",
    "LowDiscrepancySampler": "ldsampler",
    "OrthogonalSampler": "orthogonal",
}
# Settings that traverse does not show but the printed form does.
_REPR_SETTINGS = {
    "roughconductor": ["distribution"],
    "roughplastic": ["distribution"],
    "roughdielectric": ["distribution"],
}


def _fmt(values: np.ndarray) -> str:
    return ", ".join(f"{float(v):.9g}" for v in np.asarray(values).reshape(-1))


def _matrix(parent: ET.Element, name: str, matrix: np.ndarray) -> None:
    transform = ET.SubElement(parent, "transform", name=name)
    ET.SubElement(transform, "matrix", value=" ".join(f"{v:.9g}" for v in matrix.reshape(-1)))


class _Writer:
    """Walks Mitsuba objects and writes their XML and asset files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Path] = []
        self.used: set[str] = set()
        self.seen: dict[int, str] = {}

    def texture(self, parent: ET.Element, name: str, obj: Any, stem: str) -> None:
        items = children(obj)
        if "data" in items:
            data = to_numpy(items["data"])
            data = data.reshape(data.shape[0], data.shape[1], -1)
            file = f"textures/{safe_name(stem + '_' + name, self.used, 'texture')}.exr"
            self.written.append(write_exr(self.root / file, data))
            element = ET.SubElement(parent, "texture", type="bitmap", name=name)
            ET.SubElement(element, "string", name="filename", value=file)
            raw = repr_field(obj, "raw")
            ET.SubElement(element, "boolean", name="raw", value="true" if raw == "1" else "false")
            if "to_uv" in items:
                uv = transform_matrix(items["to_uv"])
                if not np.allclose(uv, np.eye(3)):
                    full = np.eye(4)
                    full[:2, :2], full[:2, 3] = uv[:2, :2], uv[:2, 2]
                    _matrix(element, "to_uv", full)
        elif "value" in items:
            self.value(parent, name, to_numpy(items["value"]))
        else:
            raise ExportError(f"texture '{name}' ({plugin_name(obj)}) cannot be written to XML")

    def value(self, parent: ET.Element, name: str, values: np.ndarray) -> None:
        values = np.asarray(values).reshape(-1)
        if values.size == 1:
            ET.SubElement(parent, "float", name=name, value=f"{float(values[0]):.9g}")
        else:
            ET.SubElement(parent, "rgb", name=name, value=_fmt(values[:3]))

    def plugin(
        self, parent: ET.Element, tag: str, obj: Any, stem: str, name: str | None = None
    ) -> ET.Element:
        """Write a BSDF or emitter with all its parameters and nested objects."""
        import mitsuba as mi

        kind = plugin_name(obj)
        attributes = {"type": kind} if name is None else {"type": kind, "name": name}
        element = ET.SubElement(parent, tag, attributes)
        for setting in _REPR_SETTINGS.get(kind, []):
            value = repr_field(obj, setting)
            if value:
                ET.SubElement(element, "string", name=setting, value=value)
        items = children(obj)
        for key, value in items.items():
            xml_name = _RENAMED.get((kind, key), key)
            if isinstance(value, mi.BSDF):
                if kind == "twosided" and key == "brdf_1" and _same(value, items["brdf_0"]):
                    continue  # one nested BSDF serves both sides
                self.plugin(element, "bsdf", value, f"{stem}_{key}")
            elif isinstance(value, mi.Texture):
                self.texture(element, xml_name, value, stem)
            elif isinstance(value, mi.Object):
                continue  # e.g. nested sampling structures: rebuilt by Mitsuba from the rest
            elif key == "to_world":  # e.g. a directional or spot light's orientation
                _matrix(element, "to_world", transform_matrix(value))
            else:
                if xml_name == "int_ior":
                    ET.SubElement(element, "float", name="ext_ior", value="1")
                try:
                    self.value(element, xml_name, to_numpy(value))
                except (TypeError, ValueError):
                    continue
        return element


def _same(first: Any, second: Any) -> bool:
    """Same object, or two that print identically (writing one of them is then equivalent)."""
    return first is second or repr(first) == repr(second)


def _sensor(scene_el: ET.Element, sensor: Any) -> None:
    items = children(sensor)
    element = ET.SubElement(scene_el, "sensor", type=plugin_name(sensor))
    ET.SubElement(element, "float", name="fov", value=f"{float(to_numpy(items['x_fov'])[0]):.9g}")
    ET.SubElement(element, "string", name="fov_axis", value="x")
    for key in ("principal_point_offset_x", "principal_point_offset_y", "near_clip", "far_clip"):
        if key in items:
            ET.SubElement(element, "float", name=key, value=f"{float(to_numpy(items[key])[0]):.9g}")
    _matrix(element, "to_world", transform_matrix(items["to_world"]))
    sampler = sensor.sampler()
    sampler_el = ET.SubElement(
        element, "sampler", type=_SAMPLERS.get(sampler.class_name(), "independent")
    )
    ET.SubElement(sampler_el, "integer", name="sample_count", value=str(sampler.sample_count()))
    film = sensor.film()
    film_el = ET.SubElement(element, "film", type="hdrfilm")
    width, height = (int(v) for v in film.size())
    ET.SubElement(film_el, "integer", name="width", value=str(width))
    ET.SubElement(film_el, "integer", name="height", value=str(height))
    # RGBA: alpha is the object's coverage where camera rays do not see the sky (the run's
    # hide_emitters, transparent targets), so renders composite; 1 where a sky is seen.
    ET.SubElement(film_el, "string", name="pixel_format", value="rgba")
    ET.SubElement(film_el, "rfilter", type=_FILTERS.get(film.rfilter().class_name(), "gaussian"))


def _integrator(scene_el: ET.Element, integrator: Any) -> None:
    text = repr(integrator)
    kind = {"PathIntegrator": "path", "PRBIntegrator": "prb", "DirectIntegrator": "direct"}.get(
        text.split("[", 1)[0].strip(), "path"
    )
    element = ET.SubElement(scene_el, "integrator", type=kind)
    for key in ("max_depth", "rr_depth"):
        value = repr_field(integrator, key)
        if value is not None and value.lstrip("-").isdigit():
            ET.SubElement(element, "integer", name=key, value=value)


#: Mitsuba's own integrator plugins; others (invrender's) are written as ``path``.
_BUILTIN_INTEGRATORS = {
    "path",
    "prb",
    "prb_basic",
    "direct",
    "direct_projective",
    "prb_projective",
    "volpath",
    "volpathmis",
    "prbvolpath",
    "aov",
    "depth",
    "moment",
    "ptracer",
}


#: Integrators whose film alpha is 1 for every camera ray (not the coverage): written as ``path``.
_NO_COVERAGE_ALPHA = {"direct_projective", "prb_projective"}


def _integrator_spec(scene_el: ET.Element, spec: dict[str, Any]) -> None:
    """An ``<integrator>`` from a config dict, so ``scene.xml`` renders like the run."""
    from invrender.export.scene_data import integrator_depth

    kind = str(spec.get("type", "path"))
    if kind in _BUILTIN_INTEGRATORS and kind not in _NO_COVERAGE_ALPHA:
        element = ET.SubElement(scene_el, "integrator", type=kind)
        items = {k: v for k, v in spec.items() if k != "type"}
    else:  # our Python integrators (and the projective ones) render the same primal image as
        # Mitsuba's path tracer of their depth, whose alpha is the coverage
        element = ET.SubElement(scene_el, "integrator", type="path")
        items = {"max_depth": integrator_depth(spec)}
        if "hide_emitters" in spec:
            items["hide_emitters"] = spec["hide_emitters"]
    for key, value in items.items():
        if isinstance(value, bool):
            ET.SubElement(element, "boolean", name=key, value="true" if value else "false")
        elif isinstance(value, int):
            ET.SubElement(element, "integer", name=key, value=str(value))
        elif isinstance(value, float):
            ET.SubElement(element, "float", name=key, value=f"{value:.9g}")
        elif isinstance(value, str):
            ET.SubElement(element, "string", name=key, value=value)


def write_mitsuba_scene(
    scene: Any,
    folder: Path,
    sensors: list[Any] | None = None,
    integrator: dict[str, Any] | None = None,
) -> list[Path]:
    """``folder/scene.xml`` + ``meshes/*.ply`` + ``textures/*.exr``; returns the files written.

    ``integrator`` (a run config's dict) is written instead of the scene's own integrator.
    """
    folder = Path(folder)
    writer = _Writer(folder)
    scene_el = ET.Element("scene", version="3.0.0")
    if integrator is not None:
        _integrator_spec(scene_el, integrator)
    elif scene.integrator() is not None:
        _integrator(scene_el, scene.integrator())
    for sensor in scene.sensors() if sensors is None else sensors:
        _sensor(scene_el, sensor)
    for index, emitter in enumerate(scene.emitters()):
        kind = plugin_name(emitter)
        if kind == "area":
            continue
        stem = safe_name(emitter.id(), writer.used, f"emitter_{index}")
        items = children(emitter)
        if kind == "envmap":
            data = to_numpy(items["data"])
            data = data.reshape(data.shape[0], data.shape[1], -1)[:, 1:-1]  # drop wrap columns
            file = f"textures/{stem}.exr"
            writer.written.append(write_exr(folder / file, data))
            element = ET.SubElement(scene_el, "emitter", type="envmap")
            ET.SubElement(element, "string", name="filename", value=file)
            ET.SubElement(
                element, "float", name="scale", value=f"{float(to_numpy(items['scale'])[0]):.9g}"
            )
            _matrix(element, "to_world", transform_matrix(items["to_world"]))
        elif kind == "point":
            element = ET.SubElement(scene_el, "emitter", type="point")
            ET.SubElement(
                element, "point", name="position", value=_fmt(to_numpy(items["position"]))
            )
            writer.texture(element, "intensity", items["intensity"], stem)
        else:
            writer.plugin(scene_el, "emitter", emitter, stem)
    for index, shape in enumerate(scene.shapes()):
        stem = safe_name(shape.id(), writer.used, f"shape_{index}")
        kind = plugin_name(shape)
        if kind == "rectangle":
            # Kept as a rectangle: it samples emitted light differently from a triangle mesh.
            element = ET.SubElement(scene_el, "shape", type="rectangle", id=stem)
            _matrix(element, "to_world", transform_matrix(children(shape)["to_world"]))
        elif shape.is_mesh():
            file = f"meshes/{stem}.ply"
            target = folder / file
            with atomic_path(target) as tmp:
                shape.write_ply(str(tmp))
            writer.written.append(target)
            element = ET.SubElement(scene_el, "shape", type="ply", id=stem)
            ET.SubElement(element, "string", name="filename", value=file)
            if not shape.has_vertex_normals():
                ET.SubElement(element, "boolean", name="face_normals", value="true")
        elif kind == "sphere":
            element = ET.SubElement(scene_el, "shape", type="sphere", id=stem)
            _matrix(element, "to_world", transform_matrix(children(shape)["to_world"]))
        else:
            raise ExportError(f"shape '{shape.id()}' ({kind}) cannot be written to scene.xml")
        writer.plugin(element, "bsdf", shape.bsdf(), stem)
        if shape.emitter() is not None:
            writer.plugin(element, "emitter", shape.emitter(), stem)
    ET.indent(scene_el)
    xml = ET.tostring(scene_el, encoding="unicode")
    path = write_text(folder / "scene.xml", xml + "\n")
    return [path, *writer.written]
