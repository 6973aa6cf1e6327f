"""``invrender init DATASET --out my.yaml``: a commented starting config for a dataset.

It looks at the dataset (views, image size, masks), fits a start sphere to the cameras (and the
masks' extent when there are masks), holds out a few views for PSNR, and writes a config that
uses the scene template (no Mitsuba XML) and passes ``invrender check``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from invrender.config.names import PIPELINES
from invrender.data.transforms import Frame, read_transforms
from invrender.errors import DataError
from invrender.files import write_text

MAX_SIDE = 200  # the starting config downscales the photos to about this many pixels


def dataset_frames(dataset: Path) -> tuple[Frame, list[Frame], str, str]:
    """(first frame, frames, the targets key, its value) for a dataset folder or file."""
    dataset = Path(dataset)
    if dataset.is_file() and dataset.suffix == ".json":
        return (
            _first(read_transforms(dataset)),
            read_transforms(dataset),
            "transforms",
            str(dataset),
        )
    if (dataset / "transforms.json").is_file():
        path = dataset / "transforms.json"
        frames = read_transforms(path)
        return _first(frames), frames, "transforms", str(path)
    if (dataset / "transforms_train.json").is_file():
        from invrender.data.nerf_splits import read_split_folder

        frames, _ = read_split_folder(dataset)
        return _first(frames), frames, "transforms", str(dataset)
    for model in (dataset / "sparse" / "0", dataset / "sparse", dataset):
        if (model / "cameras.bin").is_file() or (model / "cameras.txt").is_file():
            from invrender.data.colmap import read_colmap_model

            frames = read_colmap_model(model)
            return _first(frames), frames, "colmap", str(model)
    raise DataError(
        f"{dataset}: no transforms.json, transforms_train.json or COLMAP model found "
        "(make one from photos with `invrender cameras PHOTOS --out DATASET`)"
    )


def _first(frames: list[Frame]) -> Frame:
    return frames[0]


def _masks(frames: list[Frame]) -> tuple[str, list[np.ndarray] | None]:
    """(targets.masks mode, each view's mask or None)."""
    from invrender.data.images import read_image, read_mask

    mask_files = [f.mask for f in frames if f.mask is not None and f.mask.is_file()]
    if len(mask_files) == len(frames):
        return "files", [read_mask(m) for m in mask_files]
    if frames[0].image.suffix.lower() in (".png", ".exr"):
        _, alpha = read_image(frames[0].image)
        if alpha is not None and float(alpha.min()) < 0.5:
            alphas = [read_image(f.image)[1] for f in frames]
            if all(a is not None for a in alphas):
                return "alpha", [a for a in alphas if a is not None]
    return "none", None


def radius_from_masks(frames: list[Frame], masks: list[np.ndarray], centre: np.ndarray) -> float:
    """The radius of the sphere at ``centre`` whose silhouette has each mask's area (median).

    A sphere of radius r at distance d subtends a cone of half-angle asin(r / d); a disc of the
    mask's area has radius sqrt(A / pi) pixels, i.e. an angle atan(r_px / f)."""
    radii = []
    for fr, mask in zip(frames, masks, strict=True):
        h, w = mask.shape[:2]
        f = w / (2 * math.tan(fr.camera.camera_angle_x / 2))
        r_px = math.sqrt(float(np.sum(mask)) / math.pi)
        d = float(np.linalg.norm(fr.camera.to_world[:3, 3] - centre))
        radii.append(d * math.sin(math.atan(r_px / f)))
    return float(np.median(radii))


def write_init_config(dataset: Path, out: Path, pipeline: str = "joint") -> str:
    """Write the starting config to ``out``; return a one-line summary."""
    if pipeline not in PIPELINES:
        raise DataError(f"--pipeline {pipeline}: use one of {', '.join(PIPELINES)}")
    out = Path(out)
    if out.exists():
        raise DataError(f"{out}: already exists (choose another --out, or delete it)")
    first, frames, key, value = dataset_frames(Path(dataset))
    from invrender.geometry.shapes import fit_sphere_to_cameras

    masks, mask_images = _masks(frames)
    width, height = _image_size(first)
    fovs = [math.degrees(f.camera.camera_angle_x) for f in frames]
    centre, radius = fit_sphere_to_cameras([f.camera.to_world for f in frames], fovs)
    if mask_images is not None:
        radius = radius_from_masks(frames, mask_images, centre)
    n = len(frames)
    holdout = list(range(3, n, 8)) if n >= 6 else []  # one view in eight
    downscale = max(1, math.ceil(max(width, height) / MAX_SIDE))
    rel = os.path.relpath(value, out.resolve().parent)
    text = TEMPLATE.format(
        dataset=dataset,
        key=key,
        value=rel,
        masks=masks,
        mask_note=MASK_NOTES[masks],
        holdout=holdout,
        downscale=downscale,
        size=f"{width}x{height}",
        small=f"{width // downscale}x{height // downscale}",
        n=n,
        centre=[round(float(c), 4) + 0.0 for c in centre],
        radius=round(radius, 4),
        radius_note="from the masks' area" if mask_images else "half of the narrowest view",
        pipeline=pipeline,
        integrator=INTEGRATORS[pipeline],
        iterations=400 if pipeline in ("geometry", "joint") else 300,
        geometry=GEOMETRY if pipeline in ("geometry", "joint") else "",
    )
    write_text(out, text)
    return (
        f"wrote {out}: {n} views ({len(holdout)} held out), masks: {masks}, pipeline: {pipeline}, "
        f"start sphere r = {radius:.3g}"
    )


def _image_size(frame: Frame) -> tuple[int, int]:
    if frame.camera.width and frame.camera.height:
        return frame.camera.width, frame.camera.height
    from PIL import Image

    try:
        with Image.open(frame.image) as im:
            return im.size
    except OSError:  # EXR and friends: read through Mitsuba
        from invrender.data.images import read_image

        h, w = read_image(frame.image)[0].shape[:2]
        return int(w), int(h)


MASK_NOTES = {
    "files": "each view's mask file weighs the loss (object only)",
    "alpha": "the images' alpha channel weighs the loss (object only)",
    "none": "no masks: every pixel counts (the background too)",
}

INTEGRATORS = {
    "material": "{type: prb, max_depth: 3}",
    "lighting": "{type: prb, max_depth: 3}",
    # Geometry needs visibility gradients: our projective integrator (sppi 0 skips shadow terms).
    "geometry": "{type: direct_projective, sppi: 0}",
    "joint": "{type: direct_projective, sppi: 0}",
}

GEOMETRY = """geometry:
  init: {{type: sphere, subdivisions: 3}}   # fitted to the cameras (and masks); or visual_hull
  large_steps: {{lambda: 20}}
  remesh: {{at: [150, 300], triangles: [5000, 10000]}}
""".replace("{{", "{").replace("}}", "}")

TEMPLATE = """# Starting config written by `invrender init {dataset}`.
# Run it:       invrender optimize THIS_FILE
# Check it:     invrender check THIS_FILE --list-params
targets:
  {key}: {value}
  masks: {masks}    # {mask_note}
  holdout: {holdout}    # views kept out of training, used for the PSNR
  downscale: {downscale}    # {size} photos -> {small} while optimizing (1: full size)
scene:                         # the template: one object under an environment map, no XML
  object:
    shape: sphere              # sphere | file (+ path: mesh.ply) | visual_hull (geometry/joint)
    center: {centre}
    radius: {radius}    # {radius_note}
    material: diffuse          # diffuse | principled (adds roughness)
    albedo: 0.5                # start colour
  lighting:
    envmap: [64, 32]           # sky resolution [W, H], optimized in lighting/joint runs
    radiance: 1.0
integrator: {integrator}
optimize:
  pipeline: {pipeline}    # material | lighting | geometry | joint
  iterations: {iterations}
  spp: 8
  views_per_iter: 2
  loss: l1
  # params: omitted -> the template's parameters with tested learning rates; list them here to
  # change them (`invrender check --list-params` shows the keys), e.g.
  #   - {{key: object.bsdf.reflectance.data, lr: 0.03, bounds: [0, 1]}}
{geometry}output:
  preview_every: 50
  checkpoint_every: 100
  export: [mitsuba]
"""
