"""COLMAP sparse models (``cameras``/``images`` ``.bin`` or ``.txt``) as invrender cameras.

COLMAP stores world-to-camera poses in OpenCV axes (x right, y down, looking down +z):
``X_c = R X_w + t``, so ``c2w = [[Rᵀ, −Rᵀt], [0, 1]]`` and Mitsuba's ``to_world = c2w ·
diag(−1, −1, 1, 1)``. Only undistorted models map onto Mitsuba's pinhole camera.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from invrender.data.cameras import Camera
from invrender.data.transforms import Frame, frame_name
from invrender.errors import DataError

OPENCV_TO_MITSUBA = np.diag([-1.0, -1.0, 1.0, 1.0])
PINHOLE_MODELS = ("SIMPLE_PINHOLE", "PINHOLE")
SQUARE_PIXEL_TOLERANCE = 1e-3


def intrinsics(cam: Any, where: str) -> tuple[float, float, float, float]:
    """(fx, fy, cx, cy) of a pinhole pycolmap camera; DataError for distorted models."""
    model = cam.model_name if hasattr(cam, "model_name") else str(cam.model).split(".")[-1]
    p = [float(v) for v in cam.params]
    if model == "SIMPLE_PINHOLE":
        return p[0], p[0], p[1], p[2]
    if model == "PINHOLE":
        return p[0], p[1], p[2], p[3]
    raise DataError(
        f"{where}: camera {cam.camera_id} is {model}, a distorted model; undistort first "
        "(`invrender cameras PHOTOS --out DATASET` does it, or `colmap image_undistorter`)"
    )


def camera_from_colmap(cam: Any, cam_from_world: np.ndarray, where: str) -> Camera:
    """A Mitsuba-convention Camera from a pycolmap camera and a 3x4 world-to-camera matrix."""
    fx, fy, cx, cy = intrinsics(cam, where)
    if abs(fx - fy) > SQUARE_PIXEL_TOLERANCE * fx:
        raise DataError(
            f"{where}: camera {cam.camera_id} has fx={fx:.6g} != fy={fy:.6g}; Mitsuba's camera "
            "has square pixels (resample the images, or refine with one focal length)"
        )
    w, h = int(cam.width), int(cam.height)
    return Camera(
        to_world=opencv_c2w(cam_from_world) @ OPENCV_TO_MITSUBA,
        fov=math.degrees(2 * math.atan(w / (2 * fx))),
        width=w,
        height=h,
        fov_axis="x",
        principal_point=((w / 2 - cx) / w, (h / 2 - cy) / h),
    )


def opencv_c2w(cam_from_world: np.ndarray) -> np.ndarray:
    """Camera-to-world (OpenCV axes) from a 3x4 world-to-camera matrix."""
    r, t = np.asarray(cam_from_world)[:3, :3], np.asarray(cam_from_world)[:3, 3]
    m = np.eye(4)
    m[:3, :3] = r.T
    m[:3, 3] = -r.T @ t
    return m


def cam_from_world_matrix(image: Any) -> np.ndarray:
    pose = image.cam_from_world
    pose = pose() if callable(pose) else pose
    return np.asarray(pose.matrix(), dtype=np.float64)


def load_reconstruction(model_dir: Path) -> Any:
    """A pycolmap Reconstruction from a folder with cameras/images(.bin|.txt); DataError if not."""
    import pycolmap

    model_dir = Path(model_dir)
    have = {p.name for p in model_dir.iterdir()} if model_dir.is_dir() else set()
    if not any({f"cameras{s}", f"images{s}"} <= have for s in (".bin", ".txt")):
        raise DataError(
            f"{model_dir}: not a COLMAP sparse model (needs cameras.bin + images.bin, or "
            "cameras.txt + images.txt; point targets.colmap at e.g. sparse/0)"
        )
    try:
        return pycolmap.Reconstruction(str(model_dir))
    except Exception as exc:  # pycolmap raises plain RuntimeError/ValueError
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{model_dir}: cannot read the COLMAP model: {first}") from None


def default_image_dir(model_dir: Path) -> Path:
    """COLMAP layouts keep images/ next to sparse/ (model at sparse/ or sparse/0)."""
    for up in (model_dir, model_dir.parent, model_dir.parent.parent):
        if (up / "images").is_dir():
            return up / "images"
    return model_dir.parent / "images"


def read_colmap_model(model_dir: str | Path, images_dir: str | Path | None = None) -> list[Frame]:
    """The registered images of a sparse model as frames, sorted by image name."""
    model_dir = Path(model_dir)
    rec = load_reconstruction(model_dir)
    img_dir = Path(images_dir) if images_dir else default_image_dir(model_dir)
    frames = []
    images = sorted(rec.images.values(), key=lambda im: im.name)
    for image in images:
        if hasattr(image, "has_pose") and not image.has_pose:
            continue
        cam = rec.cameras[image.camera_id]
        where = f"{model_dir}: image {image.name}"
        camera = camera_from_colmap(cam, cam_from_world_matrix(image), where)
        frames.append(Frame(camera, img_dir / image.name, None, frame_name(str(image.name))))
    if not frames:
        raise DataError(f"{model_dir}: the COLMAP model has no registered images")
    return frames
