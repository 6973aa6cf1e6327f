"""NeRF-style ``transforms.json``: read and write cameras with their image paths.

``transform_matrix`` is camera-to-world in OpenGL axes; the field of view comes from
``camera_angle_x`` (radians, horizontal) or from ``fl_x`` and ``w`` (instant-ngp/nerfstudio style).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invrender.data.cameras import Camera, mitsuba_to_opengl, opengl_to_mitsuba
from invrender.errors import DataError
from invrender.files import write_text

IMAGE_SUFFIXES = (".png", ".exr", ".jpg", ".jpeg")


@dataclass
class Frame:
    """One entry of transforms.json: its camera (size may be unknown yet) and files."""

    camera: Camera
    image: Path
    mask: Path | None
    name: str = ""  # the frame's path as given (``test/r_003``): its identity in results


def frame_name(file_path: str) -> str:
    """``./test/r_003.png`` -> ``test/r_003``: the path as given, without ``./`` or suffix."""
    text = str(file_path).replace("\\", "/")
    while text.startswith("./"):
        text = text[2:]
    path = Path(text)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        path = path.with_suffix("")
    return path.as_posix() or str(file_path)


def read_transforms(path: Path) -> list[Frame]:
    """Parse transforms.json; raise DataError naming the file and key on any problem."""
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        hint = "run `invrender synth` or fix targets.transforms"
        raise DataError(f"{path}: file not found ({hint})") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(frames, list) or not frames:
        raise DataError(f"{path}: frames: expected a non-empty list of frames")
    out = []
    for i, fr in enumerate(frames):
        key = f"{path}: frames[{i}]"
        if not isinstance(fr, dict) or "file_path" not in fr or "transform_matrix" not in fr:
            raise DataError(f"{key}: needs 'file_path' and 'transform_matrix'")
        c2w = np.asarray(fr["transform_matrix"], dtype=np.float64)
        if c2w.shape != (4, 4):
            raise DataError(f"{key}.transform_matrix: expected a 4x4 matrix, got {c2w.shape}")
        w = int(fr.get("w", meta.get("w", 0)))
        h = int(fr.get("h", meta.get("h", 0)))
        fov = _fov_x_degrees(fr, meta, w)
        if fov is None:
            raise DataError(f"{key}: no field of view (add camera_angle_x, or fl_x with w)")
        pp = (0.0, 0.0)
        cx, cy = fr.get("cx", meta.get("cx")), fr.get("cy", meta.get("cy"))
        if cx is not None and cy is not None and w and h:
            pp = ((w / 2 - float(cx)) / w, (h / 2 - float(cy)) / h)
        cam = Camera(opengl_to_mitsuba(c2w), fov, w, h, "x", pp)
        image = _find_image(path.parent, str(fr["file_path"]))
        mask_rel = fr.get("mask_path")
        mask = (path.parent / mask_rel) if mask_rel else None
        out.append(Frame(cam, image, mask, frame_name(str(fr["file_path"]))))
    return out


def _fov_x_degrees(frame: dict, meta: dict, width: int) -> float | None:
    angle = frame.get("camera_angle_x", meta.get("camera_angle_x"))
    if angle is not None:
        return math.degrees(float(angle))
    fl_x = frame.get("fl_x", meta.get("fl_x"))
    if fl_x is not None and width:
        return math.degrees(2 * math.atan(width / (2 * float(fl_x))))
    return None


def _find_image(base: Path, rel: str) -> Path:
    """NeRF datasets often omit the extension in ``file_path``."""
    p = base / rel
    if p.suffix.lower() in IMAGE_SUFFIXES or p.exists():
        return p
    for suffix in IMAGE_SUFFIXES:
        if p.with_suffix(suffix).exists():
            return p.with_suffix(suffix)
    return p


def write_transforms(
    path: Path, cameras: list[Camera], images: list[str], masks: list[str] | None = None
) -> None:
    """Write transforms.json (OpenGL camera-to-world, ``camera_angle_x``) atomically."""
    frames = []
    for i, (cam, img) in enumerate(zip(cameras, images, strict=True)):
        fr = {
            "file_path": img,
            "camera_angle_x": cam.camera_angle_x,
            "w": cam.width,
            "h": cam.height,
            "transform_matrix": mitsuba_to_opengl(cam.to_world).tolist(),
        }
        if masks:
            fr["mask_path"] = masks[i]
        frames.append(fr)
    meta = {"camera_angle_x": cameras[0].camera_angle_x, "frames": frames}
    write_text(path, json.dumps(meta, indent=2))
