"""The target dataset of a run: views (camera + linear image + optional mask), split for PSNR."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from invrender.config.schema import Targets
from invrender.data.cameras import Camera, look_at
from invrender.data.images import downscale, read_image, read_mask
from invrender.data.transforms import Frame, read_transforms
from invrender.data.validate import view_problems
from invrender.errors import DataError


@dataclass
class View:
    name: str
    camera: Camera
    image: np.ndarray  # HxWx3 linear float32
    mask: np.ndarray | None = None  # HxW float32 weights in [0, 1]


@dataclass
class Dataset:
    views: list[View]
    train: list[int]
    holdout: list[int] = field(default_factory=list)

    @property
    def has_images(self) -> bool:
        """False for the camera-only dataset of an export (the photos were not loaded)."""
        return any(v.image.size for v in self.views)

    @property
    def eval_views(self) -> list[int]:
        """Views for PSNR: the held-out ones, or the training views when none are held out."""
        return self.holdout or self.train


def frames_from_config(targets: Targets) -> list[Frame]:
    if targets.colmap is not None:
        from invrender.data.colmap import read_colmap_model

        return read_colmap_model(targets.colmap, targets.images)
    if targets.transforms is not None and Path(targets.transforms).is_dir():
        from invrender.data.nerf_splits import read_split_folder

        return read_split_folder(Path(targets.transforms))[0]
    if targets.transforms is not None:
        return read_transforms(Path(targets.transforms))
    frames = []
    for cam in targets.cameras or []:
        if cam.look_at is not None:
            m = look_at(cam.look_at.origin, cam.look_at.target, cam.look_at.up)
        else:
            m = np.asarray(cam.to_world, dtype=np.float64)
        frames.append(
            Frame(
                Camera(m, cam.fov, 0, 0, cam.fov_axis),
                Path(cam.image),
                Path(cam.mask) if cam.mask else None,
            )
        )
    return frames


def load_dataset(targets: Targets, source: str) -> Dataset:
    """Read every image and mask, check them against the cameras; one DataError lists problems.

    ``source`` names where the cameras came from (for messages): transforms.json or the config.
    """
    split_holdout: list[int] = []  # a NeRF split folder's test views
    if targets.transforms is not None and Path(targets.transforms).is_dir():
        from invrender.data.nerf_splits import read_split_folder

        frames, split_holdout = read_split_folder(Path(targets.transforms))
    else:
        frames = frames_from_config(targets)
    problems: list[str] = []
    views: list[View] = []
    aligned: list[View | None] = []  # per frame, for the NaN/Inf checks
    for i, fr in enumerate(frames):
        key = f"{source}: frames[{i}]" if targets.transforms else f"{source}: targets.cameras.{i}"
        try:
            rgb, alpha = read_image(fr.image)
        except (OSError, ValueError, RuntimeError) as exc:
            problems.append(f"{key}: cannot read image {fr.image}: {_short(exc)}")
            aligned.append(None)
            continue
        mask = _load_mask(targets.masks, fr, alpha, key, problems)
        rgb = downscale(rgb, targets.downscale)
        if mask is not None:
            mask = downscale(mask, targets.downscale)
            if mask.shape != rgb.shape[:2]:
                problems.append(
                    f"{key}: mask {fr.mask} is {mask.shape[::-1]}, image is "
                    f"{rgb.shape[1::-1]} (masks must match their image)"
                )
        h, w = rgb.shape[:2]
        cam = fr.camera
        want = (cam.width // targets.downscale, cam.height // targets.downscale)
        if cam.width and cam.height and want != (w, h):
            problems.append(
                f"{key}: image {fr.image} is {w}x{h} but the camera says "
                f"{want[0]}x{want[1]} (fix w/h or the image)"
            )
        views.append(View(fr.image.stem, cam.with_resolution(w, h), rgb, mask))
        aligned.append(views[-1])
    problems += view_problems(targets, source, frames, aligned)
    sizes = {v.image.shape[:2] for v in views}
    if len(sizes) > 1:
        problems.append(f"{source}: images differ in size {sorted(sizes)}; give one size to all")
    n = len(frames)
    bad = [i for i in targets.holdout if not 0 <= i < n]
    if bad:
        problems.append(f"{source}: targets.holdout: indices {bad} out of range for {n} views")
    if problems:
        raise DataError("\n".join(problems))
    holdout = sorted(set(targets.holdout or split_holdout))
    train = [i for i in range(n) if i not in holdout]
    if not train:
        raise DataError(f"{source}: targets.holdout: holds out every view; keep some to train on")
    return Dataset(views, train, holdout)


def _load_mask(
    mode: str, fr: Frame, alpha: np.ndarray | None, key: str, problems: list[str]
) -> np.ndarray | None:
    if mode == "none":
        return None
    if mode == "alpha":
        if alpha is None:
            problems.append(f"{key}: targets.masks is 'alpha' but {fr.image} has no alpha channel")
        return alpha
    if fr.mask is None:
        problems.append(f"{key}: targets.masks is 'files' but no mask is given for this view")
        return None
    try:
        return read_mask(fr.mask)
    except (OSError, ValueError, RuntimeError) as exc:
        problems.append(f"{key}: cannot read mask {fr.mask}: {_short(exc)}")
        return None


def _short(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
