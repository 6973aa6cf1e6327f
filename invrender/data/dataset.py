"""The target dataset of a run: views (camera + linear image + optional mask), split for PSNR."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from invrender.config.schema import Targets
from invrender.data.cameras import Camera, look_at
from invrender.data.images import LDR_SUFFIXES, downscale, read_image, read_mask
from invrender.data.nerf_splits import read_targets_file
from invrender.data.support_plane import Plane, plane_of_targets_file
from invrender.data.transforms import Frame
from invrender.data.validate import view_problems
from invrender.errors import ConfigError, DataError


@dataclass
class View:
    name: str  # the frame's path as given, relative to the dataset (``test/r_003``)
    camera: Camera
    image: np.ndarray  # HxWx3 linear float32
    mask: np.ndarray | None = None  # HxW float32 weights in [0, 1]
    # HxW alpha of a target with a transparent background (image composited over black), else
    # None; the metrics' object mask when there is no loss mask
    coverage: np.ndarray | None = None

    @property
    def metric_mask(self) -> np.ndarray | None:
        """The pixels that are the object: the loss mask, else a transparent target's alpha."""
        return self.mask if self.mask is not None else self.coverage


@dataclass
class Dataset:
    views: list[View]
    train: list[int]
    holdout: list[int] = field(default_factory=list)
    # The targets' background is transparent (alpha, black colour): renders must not show the
    # sky to the camera (the run sets integrator.hide_emitters), or they would be scored against
    # black
    transparent: bool = False
    # The table the object stands on (transforms.json's invrender_support_plane, written by
    # `invrender cameras`): the visual-hull start stops at it
    support_plane: Plane | None = None

    @property
    def has_images(self) -> bool:
        """False for the camera-only dataset of an export (the photos were not loaded)."""
        return any(v.image.size for v in self.views)

    @property
    def eval_views(self) -> list[int]:
        """Views for PSNR: the held-out ones, or the training views when none are held out."""
        return self.holdout or self.train

    def reference_view(self, reference: int | None, where: str) -> int:
        """The training view that per-view corrections (exposure gains, camera refinement) keep
        fixed: ``reference``, or the first training view; ``where`` names the config key."""
        train = self.train
        chosen = train[0] if reference is None else reference
        if chosen not in train:
            more = " ..." if len(train) > 8 else ""
            raise ConfigError(
                [f"{where}: view {chosen} is not a training view (choose one of {train[:8]}{more})"]
            )
        return chosen


def frames_from_config(targets: Targets) -> list[Frame]:
    if targets.colmap is not None:
        from invrender.data.colmap import read_colmap_model

        return read_colmap_model(targets.colmap, targets.images)
    if targets.transforms is not None:
        return read_targets_file(Path(targets.transforms))[0]
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
    return _name_by_common_folder(frames)


def _name_by_common_folder(frames: list[Frame]) -> list[Frame]:
    """Config cameras: each view is named by its image's path below the images' common folder
    (``left/img_01``), so two ``img_01`` in different folders stay two views."""
    from invrender.data.transforms import frame_name

    if not frames:
        return frames
    paths = [str(fr.image.resolve()) for fr in frames]
    common = Path(os.path.commonpath(paths)) if len(paths) > 1 else Path(paths[0]).parent
    if len(paths) > 1 and common == Path(paths[0]):
        common = common.parent
    for fr, p in zip(frames, paths, strict=True):
        fr.name = frame_name(os.path.relpath(p, common))
    return frames


def unique_names(frames: list[Frame]) -> list[str]:
    """Each frame's name (its path as given); the rare duplicates get ``#index``."""
    names = [fr.name or fr.image.stem for fr in frames]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n if seen[n] == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def load_dataset(targets: Targets, source: str) -> Dataset:
    """Read every image and mask, check them against the cameras; one DataError lists problems.

    ``source`` names where the cameras came from (for messages): transforms.json or the config.
    """
    split_holdout: list[int] = []  # a NeRF split folder's test (else val) views
    if targets.transforms is not None:
        frames, split_holdout = read_targets_file(Path(targets.transforms))
        if split_holdout and targets.holdout:  # the config loader says so with file:line first
            raise DataError(
                f"{source}: targets.holdout: not allowed on a NeRF split folder (its test views "
                "are the held-out views); remove targets.holdout"
            )
    else:
        frames = frames_from_config(targets)
    names = unique_names(frames)
    problems: list[str] = []
    views: list[View] = []
    kinds: list[str] = []  # each view's background_kind
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
        kind = background_kind(fr.image, rgb, alpha)
        kinds.append(kind)
        if kind == TRANSPARENT and fr.image.suffix.lower() in LDR_SUFFIXES:
            assert alpha is not None
            rgb = rgb * alpha[..., None]  # PNG alpha is straight: composite over black
        rgb = downscale(rgb, targets.downscale)
        coverage = None if alpha is None else downscale(alpha, targets.downscale)
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
        views.append(View(names[i], cam.with_resolution(w, h), rgb, mask, coverage))
        aligned.append(views[-1])
    problems += view_problems(targets, source, frames, aligned)
    transparent = TRANSPARENT in kinds
    if transparent and (NO_ALPHA in kinds or SKY in kinds):
        first = kinds.index(TRANSPARENT)
        other = next(i for i, k in enumerate(kinds) if k in (NO_ALPHA, SKY))
        what = "has no alpha channel" if kinds[other] == NO_ALPHA else "shows a background"
        problems.append(
            f"{source}: frames[{other}]: image {frames[other].image} {what}, but "
            f"frames[{first}]'s background is transparent; give every view the same kind"
        )
    for view in views:
        if not transparent:
            view.coverage = None  # an alpha channel over a visible background is a mask only
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
    plane = plane_of_targets_file(Path(targets.transforms)) if targets.transforms else None
    return Dataset(views, train, holdout, transparent=transparent, support_plane=plane)


NO_ALPHA, OPAQUE, TRANSPARENT, SKY = "no alpha", "opaque", "transparent", "sky"


def background_kind(path: Path, rgb: np.ndarray, alpha: np.ndarray | None) -> str:
    """What a target's alpha channel means, measured on the image.

    ``transparent``: the background is not there (a NeRF-synthetic PNG: PNG alpha is
    transparency, its colour is black or meaningless where alpha is 0; an EXR whose colour is
    black wherever alpha is 0, i.e. premultiplied). ``sky``: alpha is a coverage mask over a
    visible background (``invrender synth``'s EXRs: the sky is in the colour channels).
    ``opaque``: alpha is 1 everywhere; ``no alpha``: no alpha channel."""
    if alpha is None:
        return NO_ALPHA
    if float(alpha.min()) >= 1.0 - 1e-3:
        return OPAQUE
    if path.suffix.lower() in LDR_SUFFIXES:
        return TRANSPARENT
    clear = alpha < 1.0 / 512
    if clear.any() and float(np.abs(rgb[clear]).max()) <= 1e-3:
        return TRANSPARENT
    return SKY


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
