"""Camera conventions: Mitsuba <-> Blender <-> NeRF ``transforms.json``.

- Mitsuba: the camera looks down its local +Z, +Y up, +X toward the image *left*.
- Blender / OpenGL / NeRF: looks down local -Z, +Y up, +X right. The two differ by a 180 degree
  turn about Y: ``M_opengl = M_mitsuba @ diag(-1, 1, -1, 1)`` (its own inverse).
- Worlds: Mitsuba scenes are usually Y-up, Blender (and ``transforms.json``, whose world is
  Blender's) are Z-up. ``MITSUBA_TO_BLENDER`` maps (x, y, z) -> (x, -z, y), the same turn
  Blender's glTF importer makes.
- Field of view goes through angles (``camera_angle_x``, Blender's ``angle_x`` with a horizontal
  sensor fit), never through Mitsuba's 35 mm-diagonal ``focal_length``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from invrender.export.scene_data import CameraData, ExportError
from invrender.files import write_text

FLIP_X_Z = np.diag([-1.0, 1.0, -1.0, 1.0])
MITSUBA_TO_BLENDER = np.array(
    [[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
)
BLENDER_TO_MITSUBA = MITSUBA_TO_BLENDER.T


def mitsuba_to_blender_camera(to_world: np.ndarray) -> np.ndarray:
    """Blender camera ``matrix_world`` (Z-up world, OpenGL axes) of a Mitsuba camera pose."""
    return MITSUBA_TO_BLENDER @ np.asarray(to_world, dtype=np.float64) @ FLIP_X_Z


def blender_to_mitsuba_camera(matrix_world: np.ndarray) -> np.ndarray:
    """Inverse of :func:`mitsuba_to_blender_camera`."""
    return BLENDER_TO_MITSUBA @ np.asarray(matrix_world, dtype=np.float64) @ FLIP_X_Z


def mitsuba_to_blender_points(points: np.ndarray) -> np.ndarray:
    """World positions or directions (N, 3) from Mitsuba's Y-up to Blender's Z-up world."""
    return np.asarray(points, dtype=np.float64) @ MITSUBA_TO_BLENDER[:3, :3].T


def fov_y_deg(fov_x_deg: float, width: int, height: int) -> float:
    """Vertical field of view of a pinhole with square pixels."""
    return math.degrees(2.0 * math.atan(math.tan(math.radians(fov_x_deg) / 2.0) * height / width))


def transforms_json(cameras: Sequence[CameraData]) -> dict:
    """A NeRF-style ``transforms.json`` dict (camera-to-world, OpenGL axes, Blender's Z-up world).

    All frames share the intrinsics at the top level (as NeRF/instant-ngp expect); frames whose
    film size or field of view differ carry their own ``w``, ``h``, ``camera_angle_x``.
    """
    if not cameras:
        raise ExportError("no cameras to export to transforms.json")
    first = cameras[0]

    def intrinsics(camera: CameraData) -> dict:
        angle_x = math.radians(camera.fov_x_deg)
        fl_x = camera.width / (2.0 * math.tan(angle_x / 2.0))
        # Mitsuba's principal point offset is a fraction of the film, +x to the image right.
        cx = camera.width * (0.5 + camera.principal_point[0])
        cy = camera.height * (0.5 + camera.principal_point[1])
        return {
            "camera_angle_x": angle_x,
            "camera_angle_y": math.radians(
                fov_y_deg(camera.fov_x_deg, camera.width, camera.height)
            ),
            "fl_x": fl_x,
            "fl_y": fl_x,
            "cx": cx,
            "cy": cy,
            "w": camera.width,
            "h": camera.height,
        }

    shared = intrinsics(first)
    frames = []
    for camera in cameras:
        # A view named by its path (``test/r_003``) keeps it; a bare name goes under images/.
        path = camera.name if "/" in camera.name else f"images/{camera.name}"
        frame = {"file_path": path, "camera_name": camera.name}
        own = intrinsics(camera)
        if any(not math.isclose(own[k], shared[k], rel_tol=1e-9) for k in shared):
            frame.update(own)
        frame["transform_matrix"] = mitsuba_to_blender_camera(camera.to_world).tolist()
        frames.append(frame)
    return {**shared, "frames": frames}


def write_transforms_json(path: Path, cameras: Sequence[CameraData]) -> Path:
    return write_text(path, json.dumps(transforms_json(cameras), indent=2))


def cameras_from_transforms_json(path: Path) -> list[CameraData]:
    """Read a ``transforms.json`` (ours or NeRF's) back into Mitsuba camera records."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
        frames = document["frames"]
    except (OSError, ValueError, KeyError) as error:
        raise ExportError(f"{path}: not a transforms.json with 'frames' ({error})") from error
    cameras = []
    for index, frame in enumerate(frames):
        merged = {**document, **frame}
        width, height = int(merged.get("w", 0)), int(merged.get("h", 0))
        if "camera_angle_x" in merged:
            fov_x = math.degrees(float(merged["camera_angle_x"]))
        elif "fl_x" in merged and width:
            fov_x = math.degrees(2.0 * math.atan(width / (2.0 * float(merged["fl_x"]))))
        else:
            raise ExportError(f"{path}: frame {index} has neither camera_angle_x nor fl_x and w")
        ppo = (0.0, 0.0)
        if width and height and "cx" in merged:
            ppo = (float(merged["cx"]) / width - 0.5, float(merged["cy"]) / height - 0.5)
        cameras.append(
            CameraData(
                name=str(frame.get("camera_name", f"camera_{index}")),
                to_world=blender_to_mitsuba_camera(np.array(frame["transform_matrix"])),
                fov_x_deg=fov_x,
                width=width,
                height=height,
                principal_point=ppo,
            )
        )
    return cameras


def mitsuba_sensor_dict(camera: CameraData, spp: int = 16) -> dict:
    """A Mitsuba ``perspective`` sensor dict for a camera record (for ``mi.load_dict``)."""
    import mitsuba as mi

    return {
        "type": "perspective",
        "fov": camera.fov_x_deg,
        "fov_axis": "x",
        "principal_point_offset_x": camera.principal_point[0],
        "principal_point_offset_y": camera.principal_point[1],
        "near_clip": camera.near_clip,
        "far_clip": camera.far_clip,
        "to_world": mi.ScalarTransform4f(camera.to_world.tolist()),
        "film": {"type": "hdrfilm", "width": camera.width, "height": camera.height},
        "sampler": {"type": "independent", "sample_count": spp},
    }
