"""Bad numbers stopped at the door: NaN/Inf in cameras, images, masks, initial values and scene
parameters, and render sizes that would exhaust memory, found before anything renders.

One NaN in a camera pose or a target pixel turns every gradient into NaN a few iterations later,
far from its cause; here it is one line naming the file, the frame and the key.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# One render pass holds every sample of an image at once (Dr.Jit's wavefront); a few hundred
# bytes each, so 2^27 samples is ~30-60 GB already. Beyond that: refuse, with the fix.
MAX_SAMPLES_PER_PASS = 2**27
MAX_SIDE = 16384  # pixels per side of one image


def _finite(value: Any) -> bool:
    arr = np.asarray(value, dtype=np.float64)
    return bool(np.isfinite(arr).all())


def view_problems(targets: Any, source: str, frames: list[Any], views: list[Any]) -> list[str]:
    """NaN/Inf in each view's pose, intrinsics, image and mask (``views`` aligned to frames)."""
    problems: list[str] = []
    for i, (frame, view) in enumerate(zip(frames, views, strict=False)):
        if targets.transforms:
            key, pose = f"{source}: frames[{i}]", "transform_matrix"
        else:
            key = f"{source}: targets.cameras.{i}"
            pose = "to_world" if targets.cameras[i].to_world is not None else "look_at"
        cam = frame.camera
        if not _finite(cam.to_world):
            problems.append(f"{key}.{pose}: not finite (NaN or Inf); give real numbers")
        if not (math.isfinite(cam.fov) and 0 < cam.fov < 180):
            problems.append(f"{key}: field of view {cam.fov} is not a number in (0, 180) degrees")
        if not _finite(cam.principal_point):
            problems.append(f"{key}: principal point (cx, cy) is not finite")
        if view is not None and not _finite(view.image):
            bad = int((~np.isfinite(view.image)).any(axis=2).sum())
            problems.append(f"{key}: image {frame.image} has {bad} pixel(s) of NaN or Inf")
        if view is not None and view.mask is not None and not _finite(view.mask):
            problems.append(f"{key}: mask {frame.mask or frame.image} has NaN or Inf values")
    return problems


def config_problems(cfg: Any, name: str) -> list[str]:
    """NaN/Inf in the config's initial values and learning rates; render sizes too large."""
    problems: list[str] = []
    for i, group in enumerate(cfg.optimize.params):
        key = f"{name}: optimize.params.{i}"
        for field in ("init", "lr", "bounds"):
            value = getattr(group, field)
            if value is not None and not _finite(value):
                problems.append(f"{key}.{field}: not finite (NaN or Inf); give real numbers")
    return problems


def size_problems(where: str, width: int, height: int, spp_values: dict[str, int]) -> list[str]:
    """Refuse a render whose one pass would not fit in memory (never an out-of-memory crash)."""
    if width <= 0 or height <= 0:
        return [f"{where}: resolution {width}x{height}: must be positive"]
    if max(width, height) > MAX_SIDE:
        return [f"{where}: resolution {width}x{height}: at most {MAX_SIDE} pixels per side"]
    problems = []
    for key, spp in spp_values.items():
        if width * height * spp > MAX_SAMPLES_PER_PASS:
            problems.append(
                f"{where}: {key} {spp} at {width}x{height} is {width * height * spp:.3g} samples "
                f"per pass, more than {MAX_SAMPLES_PER_PASS:.3g} fit in memory (lower {key})"
            )
    return problems


def dataset_size_problems(cfg: Any, dataset: Any, name: str) -> list[str]:
    if not dataset.views:
        return []
    h, w = dataset.views[0].image.shape[:2]
    opt = cfg.optimize
    spp = {"optimize.spp": opt.spp, "optimize.eval_spp": opt.eval_spp}
    return size_problems(f"{name}: targets", w, h, spp)


def scene_problems(params: Any, name: str) -> list[str]:
    """NaN/Inf in any floating-point scene parameter (XML values, textures, vertex data)."""
    problems = []
    for key in params.keys():
        try:
            value = params[key]
        except Exception:  # noqa: BLE001 (some entries cannot be read on their own)
            continue
        if not hasattr(value, "__len__") and not isinstance(value, float):
            continue
        try:
            arr = np.asarray(value)
        except Exception:  # noqa: BLE001 (objects, not numbers)
            continue
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            problems.append(
                f"{name}: scene parameter '{key}' holds NaN or Inf (fix the scene file)"
            )
    return problems
