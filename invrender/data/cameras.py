"""Pinhole cameras and their conventions (Mitsuba, OpenGL/NeRF), with no Mitsuba import.

Mitsuba's camera looks down +Z with +Y up and +X to the image *left*; OpenGL/Blender/NeRF cameras
look down -Z with +X right. The two differ by a 180-degree turn about the camera's Y axis:
``to_world_mitsuba = c2w_opengl @ diag(-1, 1, -1, 1)`` (the matrix is its own inverse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

OPENGL_TO_MITSUBA = np.diag([-1.0, 1.0, -1.0, 1.0])


@dataclass
class Camera:
    """A pinhole camera: Mitsuba camera-to-world, field of view (degrees) and image size."""

    to_world: np.ndarray  # 4x4, Mitsuba axes
    fov: float
    width: int
    height: int
    fov_axis: str = "x"
    principal_point: tuple[float, float] = (0.0, 0.0)  # Mitsuba's offsets, fractions of W, H

    def sensor_dict(self, rfilter: str = "gaussian", spp: int = 16) -> dict:
        """The Mitsuba sensor dict (perspective camera + hdrfilm) of this camera."""
        import mitsuba as mi

        return {
            "type": "perspective",
            "fov": float(self.fov),
            "fov_axis": self.fov_axis,
            "principal_point_offset_x": float(self.principal_point[0]),
            "principal_point_offset_y": float(self.principal_point[1]),
            "to_world": mi.ScalarTransform4f(self.to_world.tolist()),
            "sampler": {"type": "independent", "sample_count": spp},
            "film": {
                "type": "hdrfilm",
                "width": int(self.width),
                "height": int(self.height),
                "rfilter": {"type": rfilter},
                "pixel_format": "rgb",
            },
        }

    @property
    def camera_angle_x(self) -> float:
        """Horizontal field of view in radians (NeRF's ``camera_angle_x``)."""
        if self.fov_axis == "x":
            return math.radians(self.fov)
        half = math.tan(math.radians(self.fov) / 2) * self.width / self.height
        return 2 * math.atan(half)

    def with_resolution(self, width: int, height: int) -> Camera:
        return Camera(self.to_world, self.fov, width, height, self.fov_axis, self.principal_point)


def look_at(origin, target, up) -> np.ndarray:
    """Mitsuba camera-to-world for a camera at ``origin`` looking at ``target``."""
    o, t, u = (np.asarray(v, dtype=np.float64) for v in (origin, target, up))
    d = t - o
    d /= np.linalg.norm(d)
    left = np.cross(u, d)
    if np.linalg.norm(left) < 1e-9:
        raise ValueError("look_at: 'up' is parallel to the viewing direction")
    left /= np.linalg.norm(left)
    new_up = np.cross(d, left)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = left, new_up, d, o
    return m


def opengl_to_mitsuba(c2w: np.ndarray) -> np.ndarray:
    # Quiet on Inf (Inf * 0 in the product): data/validate.py reports a non-finite pose
    # with its file and key, and numpy's warning line would only come before that error.
    with np.errstate(invalid="ignore"):
        return np.asarray(c2w, dtype=np.float64) @ OPENGL_TO_MITSUBA


def mitsuba_to_opengl(to_world: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.asarray(to_world, dtype=np.float64) @ OPENGL_TO_MITSUBA


def ring_cameras(
    center: np.ndarray,
    radius: float,
    count: int,
    elevations: list[float],
    fov: float,
    width: int,
    height: int,
    up: str = "y",
) -> list[Camera]:
    """``count`` cameras evenly around ``center``, cycling through ``elevations`` (degrees)."""
    up_vec = np.array([0.0, 1.0, 0.0]) if up == "y" else np.array([0.0, 0.0, 1.0])
    cams = []
    for i in range(count):
        az = 2 * math.pi * (i + 0.5) / count
        el = math.radians(elevations[i % len(elevations)]) if elevations else 0.0
        horiz = (math.cos(el) * math.sin(az), math.cos(el) * math.cos(az))
        if up == "y":
            offset = np.array([horiz[0], math.sin(el), horiz[1]])
        else:
            offset = np.array([horiz[0], horiz[1], math.sin(el)])
        origin = np.asarray(center) + radius * offset
        cams.append(Camera(look_at(origin, center, up_vec), fov, width, height))
    return cams
