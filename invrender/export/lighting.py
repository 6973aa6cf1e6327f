"""Lights for Blender: environment map re-layout and light power conversions.

Environment maps. Mitsuba looks up a world direction d as: local = to_world^-1 d,
u = atan2(x, -z) / 2pi (local +Z at the image centre), v = acos(y) / pi, with row j of an
H-row image at theta = pi j / (H - 1) (poles on the first and last rows) and texel-centred
columns. Blender's World equirect (Cycles) uses Blender's Z-up world: u = 0.5 - atan2(y, x) / 2pi
(+X at the centre), v = 1 - acos(z) / pi (v = 1 at the top row), texel-centred in both axes.
No pixel shuffle maps one onto the other exactly, so every Blender texel is resampled by asking
Mitsuba's own emitter for the radiance in that texel's direction: the export is exact at
texel centres whatever the envmap's ``to_world`` is, and bilinear in between.

Lights (Cycles): a point light of power P watts has radiant intensity P / (4 pi) W/sr; an area
light of power P and area A, spread 180 degrees, has radiance P / (pi A). So Mitsuba's point
``intensity`` I maps to P = 4 pi I and an area emitter's ``radiance`` L to P = pi A L. Blender
lights take one power and an RGB colour: power from the brightest channel, colour = value / peak.
"""

from __future__ import annotations

import numpy as np

from invrender.export.cameras import BLENDER_TO_MITSUBA, MITSUBA_TO_BLENDER
from invrender.export.scene_data import EnvmapData


def blender_equirect_directions(width: int, height: int) -> np.ndarray:
    """World directions (Blender Z-up) at the texel centres of a Blender equirect image.

    Row 0 is the top row of the image file (as written to EXR).
    """
    u = (np.arange(width) + 0.5) / width
    theta = np.pi * (np.arange(height) + 0.5) / height  # angle from +Z, top row first
    phi = np.pi * (1.0 - 2.0 * u)  # atan2(y, x)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)


def blender_direction_to_uv(directions: np.ndarray) -> np.ndarray:
    """Blender equirect (u, v) of world directions, v = 1 at the top (Cycles' convention)."""
    d = np.asarray(directions, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    u = 0.5 - np.arctan2(d[..., 1], d[..., 0]) / (2.0 * np.pi)
    v = 1.0 - np.arccos(np.clip(d[..., 2], -1.0, 1.0)) / np.pi
    return np.stack([u % 1.0, v], axis=-1)


def evaluate_envmap(envmap: EnvmapData, world_directions: np.ndarray) -> np.ndarray:
    """Radiance (without ``scale``) that Mitsuba's envmap emits toward us from directions."""
    import drjit as dr
    import mitsuba as mi

    flat = np.asarray(world_directions, dtype=np.float64).reshape(-1, 3)
    si = dr.zeros(mi.SurfaceInteraction3f, len(flat))
    # The envmap looks up -si.wi: the direction from the scene out to the sky.
    si.wi = mi.Vector3f(*(-flat.T.astype(np.float32)))
    # Dr.Jit's Color3f converts to numpy as (3, N): channels first.
    radiance = np.array(envmap.emitter.eval(si), dtype=np.float64).reshape(3, -1).T
    scale = envmap.scale if envmap.scale != 0.0 else 1.0
    return (radiance / scale).reshape(*np.shape(world_directions)[:-1], 3)


def envmap_for_blender(envmap: EnvmapData, width: int | None = None) -> np.ndarray:
    """The envmap as a Blender World equirect image (H, W, 3), float32, top row first.

    Default size: the Mitsuba image's own. Pair it with a Background strength of
    ``envmap.scale``.
    """
    height, src_width = envmap.image.shape[:2]
    width = width or src_width
    height = max(2, round(height * width / src_width))
    blender_dirs = blender_equirect_directions(width, height)
    mitsuba_dirs = blender_dirs @ BLENDER_TO_MITSUBA[:3, :3].T
    return evaluate_envmap(envmap, mitsuba_dirs).astype(np.float32)


def blender_point_power(intensity: np.ndarray) -> tuple[float, list[float]]:
    """(watts, colour) of a Cycles point light with Mitsuba point ``intensity`` (W/sr)."""
    peak = float(np.max(intensity))
    if peak <= 0.0:
        return 0.0, [1.0, 1.0, 1.0]
    return 4.0 * np.pi * peak, [float(c) for c in np.asarray(intensity) / peak]


def blender_area_light(to_world: np.ndarray, radiance: np.ndarray) -> dict:
    """A Cycles rectangular area light matching a Mitsuba ``rectangle`` with an area emitter.

    The rectangle spans [-1, 1]^2 of its local XY plane and emits toward local +Z; a Blender
    area light spans size_x by size_y and emits toward its local -Z, so the rotation gains a
    half turn about X. Scale moves into the light's size (Cycles would also scale the power).
    """
    to_world = np.asarray(to_world, dtype=np.float64)
    axis_x, axis_y = to_world[:3, 0], to_world[:3, 1]
    size_x, size_y = 2.0 * np.linalg.norm(axis_x), 2.0 * np.linalg.norm(axis_y)
    ex = axis_x / np.linalg.norm(axis_x)
    ey = axis_y - ex * np.dot(ex, axis_y)
    ey /= np.linalg.norm(ey)
    normal = np.cross(ex, ey)  # Mitsuba's emitting side
    rotation = np.stack([ex, -ey, -normal], axis=1)  # Blender local -Z = emitting side
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = to_world[:3, 3]
    matrix = MITSUBA_TO_BLENDER @ matrix
    peak = float(np.max(radiance))
    power = np.pi * size_x * size_y * peak
    colour = [float(c) for c in np.asarray(radiance) / peak] if peak > 0 else [1.0, 1.0, 1.0]
    return {
        "matrix_world": matrix.tolist(),
        "size_x": size_x,
        "size_y": size_y,
        "power": float(power),
        "color": colour,
    }


def blender_sun(direction: np.ndarray, irradiance: np.ndarray) -> dict:
    """A Cycles sun lamp matching a Mitsuba ``directional`` emitter.

    Both are specified by irradiance (W/m^2 on a surface facing the light), so the strength
    carries over unchanged. ``direction`` (Blender world) is where the light travels; a sun lamp
    shines along its local -Z axis, so local +Z points back toward the light.
    """
    back = -np.asarray(direction, dtype=np.float64)
    back /= np.linalg.norm(back)
    helper = np.array([0.0, 0.0, 1.0]) if abs(back[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, back)
    x /= np.linalg.norm(x)
    y = np.cross(back, x)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = x, y, back
    peak = float(np.max(irradiance))
    colour = [1.0, 1.0, 1.0] if peak <= 0 else [float(c) for c in np.asarray(irradiance) / peak]
    return {"power": max(peak, 0.0), "color": colour, "matrix_world": matrix.tolist()}
