"""The table an object stands on: a plane found in the SfM points and kept in transforms.json.

Photos of an object on a table all look down at it, so no view sees below its base, and a visual
hull keeps a cone under the object that no mask can carve: 11-14 % of the reconstructed surface
lay below the table top in the capture benchmark, and it stays in the exported asset. ``invrender
cameras`` finds the table among the SfM points (the automatic masks use it too) and writes it
under ``invrender_support_plane``; the visual-hull start stops at it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError
from invrender.geometry.planes import Plane, fit_plane

KEY = "invrender_support_plane"
# The table's normal lies within this of the cameras' mean up direction: photos are taken upright,
# so a wall or the object's own flat side (found when a capture shows no table) is not taken.
MAX_TILT_DEGREES = 30.0
TOLERANCE = 0.01  # inlier distance, as a fraction of the mean camera distance


def support_plane(points: np.ndarray, cameras_to_world: list[np.ndarray]) -> Plane | None:
    """The table under the object from SfM ``points`` and the cameras' 4x4 Mitsuba to-world
    matrices (+Y up in the image): a plane of many points that every camera is above and whose
    normal is within MAX_TILT_DEGREES of the cameras' mean up direction; None otherwise."""
    from invrender.geometry.shapes import closest_point_to_rays

    mats = [np.asarray(m, dtype=np.float64) for m in cameras_to_world]
    if len(mats) < 2:
        return None
    origins = np.stack([m[:3, 3] for m in mats])
    forwards = np.stack([m[:3, 2] / np.linalg.norm(m[:3, 2]) for m in mats])
    centre = closest_point_to_rays(origins, forwards)
    distance = float(np.linalg.norm(origins - centre, axis=1).mean())
    plane = fit_plane(points, TOLERANCE * distance, origins.mean(axis=0))
    if plane is None:
        return None
    normal, offset = plane
    up = np.stack([m[:3, 1] / np.linalg.norm(m[:3, 1]) for m in mats]).mean(axis=0)
    if np.linalg.norm(up) < 1e-9:
        return None
    tilt = math.degrees(math.acos(np.clip(normal @ up / np.linalg.norm(up), -1.0, 1.0)))
    if tilt > MAX_TILT_DEGREES:
        return None
    if (origins @ normal - offset).min() <= 0 or centre @ normal - offset <= 0:
        return None  # a camera below it, or the point they look at: not a table under it
    return plane


def plane_to_json(plane: Plane) -> dict[str, Any]:
    normal, offset = plane
    return {
        "note": "the table the object stands on (n . x = offset, n towards the cameras), found "
        "in the SfM points by invrender cameras; the visual-hull start stops at it",
        "normal": [float(v) for v in normal],
        "offset": float(offset),
    }


def plane_from_json(meta: dict[str, Any], where: str) -> Plane | None:
    """The plane written by ``plane_to_json`` in a transforms.json's ``meta``, None without one;
    DataError naming ``where`` (the file) and the key for a malformed one."""
    entry = meta.get(KEY)
    if entry is None:
        return None
    try:
        normal = np.asarray(entry["normal"], dtype=np.float64).reshape(3)
        offset = float(entry["offset"])
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"{where}: {KEY}: expected {{normal: [x, y, z], offset: number}}; fix it or remove "
            "the key (the visual hull then keeps what lies under the object)"
        ) from None
    norm = float(np.linalg.norm(normal))
    if not math.isfinite(norm) or norm < 1e-9 or not math.isfinite(offset):
        raise DataError(
            f"{where}: {KEY}: the normal must be a finite non-zero vector and the offset finite"
        )
    return normal / norm, offset / norm


def plane_of_targets_file(path: Path) -> Plane | None:
    """The support plane in the transforms.json that ``targets.transforms`` names (a file, or a
    folder holding one); None for anything else (a NeRF split folder, a COLMAP model)."""
    import json

    path = Path(path)
    if path.is_dir():
        path = path / "transforms.json"
    if not path.is_file() or path.suffix.lower() != ".json":
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # reading the frames reports an unreadable file with its own message
    return plane_from_json(meta, str(path)) if isinstance(meta, dict) else None
