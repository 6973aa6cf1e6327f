"""Read a live Mitsuba scene into plain numpy records that every writer shares.

Mitsuba bakes ``to_world`` into mesh vertices at load time, so mesh positions here are already
in Mitsuba's world space (usually Y-up). UVs keep Mitsuba's convention: v = 0 is the *top* row
of a texture image (as in glTF); Blender and OBJ put v = 0 at the bottom and flip on write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from invrender.errors import InvrenderError
from invrender.export.materials import Material, material_from_bsdf
from invrender.export.mitsuba_access import (
    children,
    plugin_name,
    repr_field,
    texture_value,
    to_numpy,
    transform_matrix,
)


class ExportError(InvrenderError):
    """The scene holds something an exporter cannot write."""


@dataclass
class MeshData:
    name: str
    positions: np.ndarray  # (N, 3) world space
    faces: np.ndarray  # (F, 3) int
    normals: np.ndarray | None  # (N, 3) or None (flat shading)
    uvs: np.ndarray | None  # (N, 2), Mitsuba convention (v = 0 at the image top)
    material: Material
    rectangle_to_world: np.ndarray | None = None  # set for Mitsuba rectangles (area lights)
    shape: Any = None  # the live Mitsuba shape, for the Mitsuba XML writer


@dataclass
class PointLightData:
    name: str
    position: np.ndarray  # (3,)
    intensity: np.ndarray  # (3,) radiant intensity, W/sr per channel


@dataclass
class SunLightData:
    name: str
    direction: np.ndarray  # (3,) unit vector the light travels along (Mitsuba world)
    irradiance: np.ndarray  # (3,) W/m^2 per channel on a surface facing the light


@dataclass
class EnvmapData:
    name: str
    image: np.ndarray  # (H, W, 3) linear, Mitsuba layout (see lighting.py)
    scale: float
    to_world: np.ndarray  # 4x4
    emitter: Any = None  # the live emitter: lighting.py evaluates it for exact resampling


@dataclass
class CameraData:
    name: str
    to_world: np.ndarray  # 4x4, Mitsuba axes (looks down +Z, +X to the image left)
    fov_x_deg: float
    width: int
    height: int
    principal_point: tuple[float, float] = (0.0, 0.0)
    near_clip: float = 0.01
    far_clip: float = 1e4
    pixel_filter: str = "gaussian"


@dataclass
class SceneData:
    meshes: list[MeshData] = field(default_factory=list)
    point_lights: list[PointLightData] = field(default_factory=list)
    sun_lights: list[SunLightData] = field(default_factory=list)
    envmap: EnvmapData | None = None
    background: np.ndarray | None = None  # constant emitter radiance
    cameras: list[CameraData] = field(default_factory=list)
    max_depth: int = -1  # the integrator's path length limit (-1: unlimited)
    hide_emitters: bool = False  # camera rays do not see emitters (object on black)
    notes: list[str] = field(default_factory=list)


def safe_name(name: str, used: set[str], fallback: str) -> str:
    """A file-name-safe, unique object name."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name or "").strip("._") or fallback
    candidate, counter = base, 1
    while candidate in used:
        counter += 1
        candidate = f"{base}_{counter}"
    used.add(candidate)
    return candidate


def _sphere_mesh(to_world: np.ndarray, rings: int = 32, segments: int = 64) -> tuple:
    """Tessellate Mitsuba's unit sphere with its own UV convention (u = phi/2pi, v = theta/pi)."""
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2.0 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    local = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1).reshape(-1, 3)
    uvs = np.stack([p / (2 * np.pi), t / np.pi], -1).reshape(-1, 2)
    positions = local @ to_world[:3, :3].T + to_world[:3, 3]
    normals = local @ np.linalg.inv(to_world[:3, :3])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    idx = np.arange((rings + 1) * (segments + 1)).reshape(rings + 1, segments + 1)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.stack([a, c, b], 1), np.stack([b, c, d], 1)])
    return positions, faces, normals, uvs


def _mesh_record(shape: Any, name: str) -> MeshData:
    kind = plugin_name(shape)
    bsdf = shape.bsdf()
    material = material_from_bsdf(bsdf, name)
    rectangle_to_world = None
    if shape.is_mesh():
        positions = to_numpy(shape.vertex_positions_buffer()).reshape(-1, 3)
        faces = np.array(shape.faces_buffer(), dtype=np.int64).reshape(-1, 3)
        normals = None
        if shape.has_vertex_normals():
            normals = to_numpy(shape.vertex_normals_buffer()).reshape(-1, 3)
        uvs = None
        if shape.has_vertex_texcoords():
            uvs = to_numpy(shape.vertex_texcoords_buffer()).reshape(-1, 2)
        if kind == "rectangle":
            rectangle_to_world = transform_matrix(children(shape)["to_world"])
    elif kind == "sphere":
        positions, faces, normals, uvs = _sphere_mesh(transform_matrix(children(shape)["to_world"]))
    else:
        raise ExportError(
            f"shape '{shape.id()}' is a '{kind}', which cannot be exported; use a mesh (ply/obj)"
        )
    emitter = shape.emitter()
    if emitter is not None:
        items = children(emitter)
        radiance = texture_value(items["radiance"]) if "radiance" in items else np.ones(3)
        if radiance.ndim != 1:
            raise ExportError(f"area emitter on '{shape.id()}' has a textured radiance")
        material.emission = np.broadcast_to(radiance, (3,)).astype(np.float64)
    return MeshData(name, positions, faces, normals, uvs, material, rectangle_to_world, shape)


def camera_record(sensor: Any, name: str) -> CameraData:
    """A perspective sensor's pose, horizontal field of view and film size."""
    kind = plugin_name(sensor)
    if kind != "perspective":
        raise ExportError(f"sensor '{name}' is a '{kind}' camera; only 'perspective' exports")
    items = children(sensor)
    width, height = (int(v) for v in sensor.film().size())
    ppo = (
        float(to_numpy(items.get("principal_point_offset_x", 0.0))[0]),
        float(to_numpy(items.get("principal_point_offset_y", 0.0))[0]),
    )
    return CameraData(
        name=name,
        to_world=transform_matrix(items["to_world"]),
        fov_x_deg=float(to_numpy(items["x_fov"])[0]),
        width=width,
        height=height,
        principal_point=ppo,
        near_clip=float(to_numpy(items.get("near_clip", 0.01))[0]),
        far_clip=float(to_numpy(items.get("far_clip", 1e4))[0]),
        pixel_filter=sensor.film().rfilter().class_name().replace("Filter", "").lower(),
    )


#: Path depth of integrators that do not take ``max_depth`` or default it differently.
DIRECT_DEPTH = {"direct": 2, "direct_projective": 2}


def integrator_depth(spec: dict[str, Any]) -> int:
    """``max_depth`` of an integrator config dict (-1: unlimited)."""
    kind = str(spec.get("type", "path"))
    if kind == "direct":
        return 2
    return int(spec.get("max_depth", DIRECT_DEPTH.get(kind, 6 if kind != "path" else -1)))


def read_scene(
    scene: Any, sensors: list[Any] | None = None, integrator: dict[str, Any] | None = None
) -> SceneData:
    """Everything the exporters write, read from the scene's current (optimized) parameters.

    ``integrator`` (a config dict) overrides the scene's integrator for depth and visibility.
    """
    data = SceneData()
    used: set[str] = set()
    for index, shape in enumerate(scene.shapes()):
        name = safe_name(shape.id(), used, f"mesh_{index}")
        record = _mesh_record(shape, name)
        data.notes += [f"{name}: {note}" for note in record.material.notes]
        data.meshes.append(record)
    for index, emitter in enumerate(scene.emitters()):
        kind = plugin_name(emitter)
        items = children(emitter)
        if kind == "area":
            continue  # exported with its shape
        name = safe_name(emitter.id(), used, f"{kind}_{index}")
        if kind == "point":
            intensity = texture_value(items["intensity"])
            data.point_lights.append(
                PointLightData(
                    name,
                    to_numpy(items["position"]).reshape(3),
                    np.broadcast_to(intensity, (3,)).astype(np.float64),
                )
            )
        elif kind == "envmap":
            image = to_numpy(items["data"])
            # Mitsuba 3.9 pads the envmap with one wrapped column on each side.
            image = image.reshape(image.shape[0], image.shape[1], -1)[:, 1:-1, :3]
            data.envmap = EnvmapData(
                name,
                image,
                float(to_numpy(items["scale"])[0]),
                transform_matrix(items["to_world"]),
                emitter,
            )
        elif kind == "directional":
            # The light travels along its local +Z axis.
            axis = transform_matrix(items["to_world"])[:3, 2]
            irradiance = texture_value(items["irradiance"])
            data.sun_lights.append(
                SunLightData(
                    name,
                    axis / np.linalg.norm(axis),
                    np.broadcast_to(irradiance, (3,)).astype(np.float64),
                )
            )
        elif kind == "constant":
            radiance = texture_value(items["radiance"])
            data.background = np.broadcast_to(radiance, (3,)).astype(np.float64)
        else:
            data.notes.append(f"emitter '{name}' of type '{kind}' is not exported")
    if scene.integrator() is not None:
        depth = repr_field(scene.integrator(), "max_depth")
        if depth is not None and depth.lstrip("-").isdigit():
            data.max_depth = int(depth)
    if integrator is not None:
        data.max_depth = integrator_depth(integrator)
        data.hide_emitters = bool(integrator.get("hide_emitters", False))
    cams = scene.sensors() if sensors is None else list(sensors)
    for index, sensor in enumerate(cams):
        data.cameras.append(camera_record(sensor, safe_name(sensor.id(), used, f"camera_{index}")))
    return data
