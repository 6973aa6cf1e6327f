"""``invrender init DATASET --out my.yaml``: a commented starting config for a dataset.

It looks at the dataset (views, image size, masks), fits a start sphere to the cameras (and the
masks' extent when there are masks), holds out a few views for PSNR (none on a NeRF split
folder: the loader holds out its test views), and writes a config that uses the scene template
(no Mitsuba XML) and passes ``invrender check``. For geometry and joint runs it writes the tuned
pipeline, sized by the rules in :mod:`invrender.run.init_rules`: with masks a visual-hull start
and a silhouette loss, remeshing and coarse to fine, and (joint) the texture stage and every
export format.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from invrender.config.names import PIPELINES
from invrender.data.transforms import Frame, read_transforms
from invrender.errors import DataError
from invrender.files import write_text
from invrender.run.init_rules import (
    BASE_COLOR_TV,
    EVAL_SPP,
    HULL_KEEP_INSIDE,
    LARGE_STEPS_LAMBDA,
    MAP_TV,
    WORK_SIDE,
    Rules,
    plan,
)


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


def write_init_config(
    dataset: Path,
    out: Path,
    pipeline: str = "joint",
    sky: Path | None = None,
    sky_up: str = "y",
) -> str:
    """Write the starting config to ``out``; return a one-line summary. ``sky``: a known sky
    (lat-long EXR, its +Y turned onto world ``sky_up``), kept fixed instead of learned."""
    if pipeline not in PIPELINES:
        raise DataError(f"--pipeline {pipeline}: use one of {', '.join(PIPELINES)}")
    out = Path(out)
    if out.exists():
        raise DataError(f"{out}: already exists (choose another --out, or delete it)")
    if sky_up not in ("y", "z"):
        raise DataError(f"--sky-up {sky_up}: use y or z")
    if sky is not None:
        from invrender.scene.sky import read_sky

        read_sky(Path(sky), asked_by="--sky")
    first, frames, key, value = dataset_frames(Path(dataset))
    from invrender.geometry.shapes import fit_sphere_to_cameras, mask_width_fraction

    split = _split_views(Path(dataset), key)
    photos = _is_photo_capture(Path(value), frames)
    masks, mask_images = _masks(frames)
    width, height = _image_size(first)
    fovs = [math.degrees(f.camera.camera_angle_x) for f in frames]
    to_worlds = [f.camera.to_world for f in frames]
    centre, radius = fit_sphere_to_cameras(to_worlds, fovs)
    extent = radius
    mask_area = None
    if mask_images is not None:
        radius = radius_from_masks(frames, mask_images, centre)
        fractions = [mask_width_fraction(m) for m in mask_images]
        extent = fit_sphere_to_cameras(to_worlds, fovs, mask_fill=fractions)[1]
        mask_area = float(np.median([float(np.sum(m > 0.5)) for m in mask_images]))
    n = len(frames)
    if split is not None:
        n_train, n_held = split
        holdout_line = (
            f"# holdout: unset: the split's {n_held} test views are held out, "
            f"its {n_train} train views train"
        )
    else:
        holdout = list(range(3, n, 8)) if n >= 6 else []  # one view in eight
        n_train, n_held = n - len(holdout), len(holdout)
        holdout_line = f"holdout: {holdout}    # views kept out of training, used for the PSNR"
    geometric = pipeline in ("geometry", "joint")
    hull = geometric and mask_images is not None
    textured = pipeline == "joint"
    rules = plan(
        n_train=n_train,
        width=width,
        height=height,
        hull=hull,
        texture=textured,
        mask_area=mask_area,
        object_radius=extent if mask_images is not None else radius,
    )
    rel = os.path.relpath(value, out.resolve().parent)
    text = TEMPLATE.format(
        dataset=dataset,
        key=key,
        value=rel,
        masks=masks,
        mask_note=MASK_NOTES[masks],
        holdout_line=holdout_line,
        downscale=rules.downscale,
        size=f"{width}x{height}",
        small=f"{rules.work_width}x{rules.work_height}",
        side=WORK_SIDE,
        n=n,
        shape="visual_hull" if hull else "sphere",
        shape_note=(
            "the visual hull of the masks: any genus, silhouettes right from the start"
            if hull
            else "sphere | file (+ path: mesh.ply) | visual_hull (geometry/joint, needs masks)"
        ),
        centre=[round(float(c), 4) + 0.0 for c in centre],
        radius=round(extent if hull else radius, 4),
        radius_note=(
            "the masks' extent: the albedo grid spans 3.2x this"
            if hull
            else "from the masks' area"
            if mask_images is not None
            else "half of the narrowest view"
        ),
        pipeline=pipeline,
        integrator=_integrator(pipeline, masks != "none"),
        iterations=rules.iterations if geometric else 300,
        eval_spp=EVAL_SPP,
        iterations_note=_iterations_note(rules, n_train) if geometric else "",
        geometry=_geometry_section(rules, hull, textured, mask_images is not None, n_train)
        if geometric
        else "",
        export=_exports(pipeline),
        per_view=str(photos).lower(),
        exposure_note=(
            "an RGB gain per photo: phones change exposure and white balance"
            if photos
            else "true for photos whose exposure or white balance differ"
        ),
        lighting=_lighting(sky, sky_up, out),
        params=_params(pipeline, rules, sky is not None) if geometric else PARAMS_OMITTED,
    )
    write_text(out, text)
    start = "visual hull" if hull else f"start sphere r = {radius:.3g}"
    return (
        f"wrote {out}: {n} views ({n_held} held out), masks: {masks}, pipeline: {pipeline}, "
        f"{start}, {rules.work_width}x{rules.work_height} px"
        + (f", {rules.iterations} iterations" if geometric else "")
        + (", known sky" if sky is not None else "")
    )


def _is_photo_capture(source: Path, frames: list[Frame]) -> bool:
    """Photos (a dataset of `invrender cameras`, or JPEG files) rather than renders: their
    exposure and white balance may change from one to the next."""
    if frames and frames[0].image.suffix.lower() in (".jpg", ".jpeg"):
        return True
    if source.is_file() and source.suffix == ".json":
        try:
            return "invrender_normalization" in json.loads(source.read_text())
        except (OSError, ValueError):
            return False
    return False


def _split_views(dataset: Path, key: str) -> tuple[int, int] | None:
    """(train, held-out) view counts of a NeRF split folder, else None."""
    if key != "transforms" or not (dataset / "transforms_train.json").is_file():
        return None
    from invrender.data.nerf_splits import read_split_folder

    frames, held = read_split_folder(dataset)
    return len(frames) - len(held), len(held)


def _lighting(sky: Path | None, sky_up: str, out: Path) -> str:
    """The ``scene.lighting`` lines: a learned sky, or the known one (path relative to ``out``)."""
    if sky is None:
        return (
            "    envmap: [64, 32]           # sky resolution [W, H], optimized in lighting/joint "
            "runs\n    radiance: 1.0\n"
        )
    rel = os.path.relpath(Path(sky).resolve(), out.resolve().parent)
    return (
        f"    sky: {rel}    # known (--sky): kept fixed; it pins the albedo's scale and the sun\n"
        f"    sky_up: {sky_up}    # the world axis the sky's +Y turns onto\n"
    )


def _params(pipeline: str, rules: Rules, known_sky: bool = False) -> str:
    """The template's parameters, written out, with the vertex learning rate from the rules."""
    from invrender.config.template import ObjectTemplate, template_params

    obj = ObjectTemplate(shape="sphere")
    obj._pipeline = pipeline
    note = "the known sky stays fixed" if known_sky else "sky lr from iterations"
    lines = [f"  params:   # the template's; vertex lr from the object size, {note}"]
    for group in template_params(obj, pipeline, known_sky):
        if group["key"].endswith("vertex_positions"):
            group = {**group, "lr": rules.vertex_lr}
        if group["key"] == "env.data":
            group = {**group, "lr": rules.sky_lr}
        lines.append(f"    - {_flow(group)}")
    return "\n".join(lines) + "\n"


def _flow(value: object) -> str:
    """A YAML flow mapping/list on one line (keys in insertion order)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return str(value)


def _integrator(pipeline: str, masks: bool) -> str:
    spec = INTEGRATORS[pipeline]
    if masks and pipeline in ("geometry", "joint", "material"):
        # The targets are the object on a transparent (black) background: hide the sky from
        # the camera so renders, previews and full-image metrics show the same.
        spec = spec[:-1] + ", hide_emitters: true}"
    return spec


def _exports(pipeline: str) -> str:
    if pipeline == "joint":
        return "[mitsuba, gltf, obj, blender]   # textured mesh with principled maps, sky, cameras"
    if pipeline == "geometry":
        return "[mitsuba, ply]   # the mesh (its material stays the template's grey)"
    return "[mitsuba, gltf, obj, blender]"


def _iterations_note(rules: Rules, n_train: int) -> str:
    tex = f" + {rules.texture_iterations} texture" if rules.texture_iterations else ""
    return f"    # {rules.geometry_iterations} shape{tex}: scaled from {n_train} training views"


def _geometry_section(rules: Rules, hull: bool, textured: bool, masks: bool, n_train: int) -> str:
    lines = ["geometry:"]
    if hull:
        lines.append(
            f"  init: {{type: visual_hull, resolution: {rules.hull_resolution}, "
            f"triangles: {rules.hull_triangles}, keep_inside: {HULL_KEEP_INSIDE:g}}}"
            f"   # carved from the masks; the shape stays within {HULL_KEEP_INSIDE:g} voxels of it"
        )
    else:
        lines.append("  init: {type: sphere, subdivisions: 3}   # fitted to the cameras (masks)")
    lines.append(
        f"  large_steps: {{lambda: {LARGE_STEPS_LAMBDA:g}}}   # smoothing of each vertex step; "
        "sharp edges stay sharp"
    )
    lines.append(
        f"  remesh: {{at: {rules.remesh_at}, triangles: {rules.remesh_triangles}}}"
        "   # edges of ~3 px"
    )
    if rules.coarse_factors:
        lines.append(
            f"  coarse_to_fine: {{factors: {rules.coarse_factors}, until: {rules.coarse_until}}}"
        )
    if masks:
        lines.append(
            f"  mask_weight: {rules.mask_weight:g}   # silhouette loss (image / object pixels): "
            "the masked image loss alone cannot shrink an overflowing shape"
        )
    lines.append(
        f"  stages: {{geometry: {rules.geometry_start}}}   # sky and albedo first, then shape too"
    )
    if textured:
        lines.append(
            "  # After the shape: xatlas UV atlas, mesh frozen, albedo grid baked into principled "
            "UV maps,"
        )
        lines.append(
            f"  # then base colour, roughness, metallic and specular optimized for "
            f"{rules.texture_iterations} iterations (map lrs from that length),"
        )
        lines.append(
            "  # smoothed inside the UV charts (tv_weight) so that Monte Carlo noise cannot "
            "speckle them;"
        )
        lines.append(
            "  # roughness and metallic also move as a whole (offset_lr: their level gets the sum "
            "of all texels' gradients)."
        )
        lines.append(
            f"  texture: {{at: {rules.geometry_iterations}, resolution: "
            f"{rules.texture_resolution}, lr: {rules.map_lr}, tv_weight: {BASE_COLOR_TV}, "
            f"roughness: {{init: 0.5, lr: {rules.map_lr}, tv_weight: {MAP_TV}, offset_lr: "
            f"{rules.map_lr}}}, metallic: {{init: 0.0, lr: {rules.metallic_lr}, tv_weight: "
            f"{MAP_TV}, offset_lr: {rules.metallic_lr}}}, specular: 0.5, specular_lr: 0.01}}"
        )
    lines.append("  eval_every: 50   # genus, watertightness in metrics.csv")
    return "\n".join(lines) + "\n"


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
    # Geometry needs visibility gradients: our edge sampling, direct light only (max_depth 2,
    # as direct_projective), shadow-edge terms off (as direct_projective's sppi 0). Measured on
    # the Cycles ring at 256 px, 10k triangles, 2 views + 2 silhouettes per iteration (load
    # ~10 on 2 cores): 4.8 s/it against direct_projective's 9-10 s/it, with a lower loss after
    # 10 iterations; shadow edges on doubled the cost (10 s/it) for the same loss. Over the
    # full default run on the ring, direct_projective ended at Chamfer 1.70 % and 24.1 dB
    # inside the object, edge_sampling at 0.16 % and 29.7 dB (docs/benchmark.md).
    "geometry": "{type: edge_sampling, max_depth: 2, shadow_edge_samples: 0}",
    "joint": "{type: edge_sampling, max_depth: 2, shadow_edge_samples: 0}",
}

TEMPLATE = """# Starting config written by `invrender init {dataset}`.
# Run it:       invrender optimize THIS_FILE
# Check it:     invrender check THIS_FILE --list-params
# The numbers below follow init's rules (README, "Your own photos"): iterations from the number
# of training views, working size from the image size, triangles and texture size from the
# object's pixels in the masks, the vertex learning rate from the object's size, the sky's from
# the number of iterations (invrender/run/init_rules.py explains each).
targets:
  {key}: {value}
  masks: {masks}    # {mask_note}
  {holdout_line}
  downscale: {downscale}    # {size} photos -> {small} while optimizing (longest side <= {side})
scene:                         # the template: one object under an environment map, no XML
  object:
    shape: {shape}    # {shape_note}
    center: {centre}
    radius: {radius}    # {radius_note}
    material: diffuse          # diffuse | principled (adds roughness)
    albedo: 0.5                # start colour
  lighting:
{lighting}integrator: {integrator}
optimize:
  pipeline: {pipeline}    # material | lighting | geometry | joint
  iterations: {iterations}{iterations_note}
  spp: 4
  eval_spp: {eval_spp}    # held-out renders for summary.json: noise only lowers a PSNR
  views_per_iter: 2
  loss: l1
  exposure: {{per_view: {per_view}}}    # {exposure_note}
{params}{geometry}output:
  preview_every: 50
  checkpoint_every: 100
  export: {export}
"""

PARAMS_OMITTED = """  # params: omitted -> the template's parameters with tested learning rates;
  # list them here to change them (`invrender check --list-params` shows the keys), e.g.
  #   - {key: object.bsdf.reflectance.data, lr: 0.03, bounds: [0, 1]}
"""
