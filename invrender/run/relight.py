"""Relighting: a finished run's asset rendered under another environment map, and scored.

The run's scene comes from :func:`invrender.run.export.load_run` (config, ``cameras.json``, last
checkpoint; the target photos are never read). Its lights are replaced by the new sky: the
recovered environment map (``envmap`` or ``constant`` emitter) always goes, and by default so do
the run's other emitters (point, spot, directional lights and emitting shapes), which belong to
the capture, not to the asset; ``keep_lights`` keeps those. The sky is a lat-long image in
Mitsuba's layout (see :mod:`invrender.export.lighting`), placed with ``to_world`` = rotation by
``rotate`` degrees about the world's up axis after the up axis' own turn (``up='z'``: the
sky's +Y goes to world +Z, for Z-up worlds such as NeRF/Blender datasets), and scaled by
``2 ** exposure``.

Renders are Mitsuba's ``path`` integrator at the run's path depth (the depth the asset was
fitted with, which is also what the Blender export sets for Cycles), with the sky hidden from
camera rays: RGBA, alpha = coverage, RGB premultiplied (the object on transparent black, as
Cycles writes with Film > Transparent).

Scoring (``targets``): photos of the same views under that sky, a NeRF-style
``transforms.json`` + images, one frame per rendered view in the same order and with the same
cameras (checked). Views are rendered at the photos' size. With an alpha channel (RGBA PNG,
straight alpha = coverage, like ``datasets/cycles_bench``) both sides are composited on black
and the mask is target alpha >= 0.5; without one the render is composited over the new sky and
the mask is the whole image. Metrics on sRGB-encoded values (linear clipped to [0, 1], then
the sRGB curve): PSNR and SSIM over the mask and over the full image, per view and mean, plus
the masked PSNR after a per-channel least-squares gain (the albedo/light scale ambiguity that
relighting benchmarks factor out) for reference.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError
from invrender.files import linear_to_srgb, write_exr, write_png, write_text
from invrender.scene.sky import read_sky, sky_to_world

ENVIRONMENT_EMITTERS = ("envmap", "constant")
RELIGHT_JSON = "relight.json"
CONTACT_SHEET = "contact_sheet.png"
RENDERS = "renders"
MAX_SPP = 1 << 16


@dataclass
class RelightOptions:
    envmap: Path
    views: str = "test"  # test | all
    rotate: float = 0.0  # degrees about the world's up axis
    exposure: float = 0.0  # EV: the sky is scaled by 2 ** exposure
    up: str = "y"  # the run's world up axis: y | z
    spp: int = 256
    max_depth: int | None = None  # default: the run's integrator's path depth
    keep_lights: bool = False
    targets: Path | None = None
    renderer: str = "mitsuba"  # mitsuba | cycles (the run's exported .blend)
    seed: int = 0


@dataclass
class Sky:
    """A lat-long sky in Mitsuba's layout, placed in the run's world."""

    path: Path
    image: np.ndarray  # (H, W, 3) float32, linear
    to_world: np.ndarray  # 4x4
    scale: float

    def emitter_dict(self) -> dict[str, Any]:
        import mitsuba as mi

        return {
            "type": "envmap",
            "bitmap": mi.Bitmap(np.ascontiguousarray(self.image, dtype=np.float32)),
            "to_world": mi.ScalarTransform4f(np.asarray(self.to_world).tolist()),
            "scale": float(self.scale),
        }


@dataclass
class RelightView:
    index: int  # in the run's cameras
    name: str
    camera: Any  # invrender.data.cameras.Camera, at the render size
    target: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)


# -- inputs ----------------------------------------------------------------------------------


def load_sky(options: RelightOptions) -> Sky:
    if not math.isfinite(options.rotate) or not math.isfinite(options.exposure):
        raise DataError("--rotate and --exposure must be finite numbers")
    if abs(options.exposure) > 64:
        raise DataError(f"--exposure {options.exposure}: at most 64 EV either way")
    return Sky(
        Path(options.envmap),
        read_sky(options.envmap),
        sky_to_world(options.up, options.rotate),
        float(2.0**options.exposure),
    )


def held_out_views(loaded: Any, count: int, run_dir: Path) -> list[int]:
    """Indices of the run's held-out views (its config's ``targets.holdout``, else a NeRF split
    folder's test views), in the run's camera order."""
    targets = loaded.config.targets
    holdout = sorted(set(targets.holdout or []))
    if not holdout and targets.transforms is not None and Path(targets.transforms).is_dir():
        from invrender.data.nerf_splits import read_split_folder

        try:
            holdout = read_split_folder(Path(targets.transforms))[1]
        except (OSError, ValueError, DataError):
            raise DataError(
                f"{run_dir}: the run's held-out views are unknown (its split folder "
                f"{targets.transforms} is gone); use --views all"
            ) from None
    if not holdout:
        raise DataError(f"{run_dir}: the run held out no views (targets.holdout); use --views all")
    bad = [i for i in holdout if not 0 <= i < count]
    if bad:
        raise DataError(f"{run_dir}: held-out views {bad} are not among its {count} cameras")
    return holdout


def read_targets(path: Path) -> tuple[Path, list[Any]]:
    """(transforms.json, frames) of a targets folder (or the transforms.json itself)."""
    from invrender.data.transforms import read_transforms

    path = Path(path)
    transforms = path / "transforms.json" if path.is_dir() else path
    if not transforms.is_file():
        raise DataError(
            f"{path}: no transforms.json (--targets wants a folder with a NeRF-style "
            "transforms.json and its images, one frame per rendered view)"
        )
    return transforms, read_transforms(transforms)


def match_targets(views: list[RelightView], transforms: Path, frames: list[Any]) -> None:
    """Pair frames with views in order; same count, same cameras; render at the photos' size."""
    from invrender.data.images import read_image

    if len(frames) != len(views):
        raise DataError(
            f"{transforms}: {len(frames)} frames for {len(views)} rendered views (the targets "
            "must be the same views in the same order: --views test or all)"
        )
    for i, (view, frame) in enumerate(zip(views, frames, strict=True)):
        key = f"{transforms}: frames[{i}]"
        run_pos = view.camera.to_world[:3, 3]
        pos = frame.camera.to_world[:3, 3]
        tol = 1e-3 * max(1.0, float(np.linalg.norm(run_pos)))
        if float(np.linalg.norm(pos - run_pos)) > tol or not np.allclose(
            frame.camera.to_world[:3, :3], view.camera.to_world[:3, :3], atol=1e-3
        ):
            raise DataError(
                f"{key}: its camera is not the run's view {view.name} (index {view.index}); "
                "the targets must be the same views in the same order"
            )
        if not frame.image.is_file():
            raise DataError(f"{key}: image {frame.image} not found")
        try:
            rgb, _ = read_image(frame.image)
        except (OSError, ValueError, RuntimeError) as exc:
            raise DataError(f"{key}: cannot read image {frame.image}: {exc}") from None
        h, w = rgb.shape[:2]
        cam = view.camera
        if abs(w * cam.height - h * cam.width) > max(w, h):  # same aspect within a pixel
            raise DataError(
                f"{key}: image {frame.image} is {w}x{h}, the run's camera {cam.width}x"
                f"{cam.height}: not the same aspect ratio"
            )
        fov_camera = math.degrees(frame.camera.camera_angle_x)
        if abs(fov_camera - math.degrees(cam.camera_angle_x)) > 0.05:
            raise DataError(
                f"{key}: field of view {fov_camera:.3f} deg, the run's view "
                f"{math.degrees(cam.camera_angle_x):.3f} deg"
            )
        view.camera = cam.with_resolution(w, h)
        view.target = frame.image


def select_views(
    loaded: Any, cameras: list[tuple[str, Any]], which: str, run_dir: Path
) -> list[RelightView]:
    if not cameras:
        raise DataError(f"{run_dir}: the run's cameras are unknown (no cameras.json)")
    if which == "all":
        indices = list(range(len(cameras)))
    elif which == "test":
        indices = held_out_views(loaded, len(cameras), run_dir)
    else:
        raise DataError(f"--views {which}: expected test or all")
    return [RelightView(i, cameras[i][0], cameras[i][1]) for i in indices]


# -- the scene -------------------------------------------------------------------------------


def relit_scene(scene: Any, sky: Sky, keep_lights: bool = False) -> Any:
    """A new Mitsuba scene: the run's shapes (emitting ones only with ``keep_lights``), its
    non-environment emitters with ``keep_lights``, and the sky."""
    import mitsuba as mi

    from invrender.export.mitsuba_access import plugin_name

    spec: dict[str, Any] = {"type": "scene", "relight_sky": sky.emitter_dict()}
    for i, shape in enumerate(scene.shapes()):
        if shape.emitter() is not None and not keep_lights:
            continue
        spec[f"shape_{i}"] = shape
    if keep_lights:
        for i, emitter in enumerate(scene.emitters()):
            kind = plugin_name(emitter)
            if kind in ENVIRONMENT_EMITTERS or kind == "area":
                continue  # area emitters come with their shapes
            spec[f"emitter_{i}"] = emitter
    return mi.load_dict(spec)


def sky_only_scene(sky: Sky) -> Any:
    import mitsuba as mi

    return mi.load_dict({"type": "scene", "relight_sky": sky.emitter_dict()})


def rgba_sensor(camera: Any, spp: int) -> Any:
    import mitsuba as mi

    spec = camera.sensor_dict(spp=spp)
    spec["film"]["pixel_format"] = "rgba"
    return mi.load_dict(spec)


def render_rgba(scene: Any, camera: Any, spp: int, max_depth: int, seed: int = 0) -> np.ndarray:
    """(H, W, 4) float32: premultiplied linear RGB of the object, alpha = coverage."""
    import mitsuba as mi

    integrator = mi.load_dict({"type": "path", "max_depth": max_depth, "hide_emitters": True})
    sensor = rgba_sensor(camera, spp)
    image = mi.render(scene, sensor=sensor, integrator=integrator, seed=seed)  # type: ignore[arg-type]  # mitsuba stubs: seed takes an int
    return np.array(image, dtype=np.float32)


def render_sky(sky_scene: Any, camera: Any, spp: int = 16) -> np.ndarray:
    """(H, W, 3) the sky as the camera sees it (the background behind the object)."""
    import mitsuba as mi

    integrator = mi.load_dict({"type": "path", "max_depth": 2})
    image = mi.render(sky_scene, sensor=rgba_sensor(camera, spp), integrator=integrator)
    return np.array(image, dtype=np.float32)[..., :3]


def over(rgba: np.ndarray, background: np.ndarray) -> np.ndarray:
    """A premultiplied RGBA image over an RGB background."""
    return rgba[..., :3] + (1.0 - rgba[..., 3:4]) * background


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[..., 3:4]
    rgb = np.where(alpha > 1e-6, rgba[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    return np.concatenate([rgb, alpha], axis=-1)


def cycles_bounces(max_depth: int) -> int:
    """Cycles' max bounces for a Mitsuba path depth (as the Blender export sets it)."""
    return 12 if max_depth < 0 else max(0, max_depth - 2)


def render_cycles(
    blend: Path,
    sky: Sky,
    views: list[RelightView],
    spp: int,
    max_bounces: int | None,
    keep_lights: bool,
) -> list[np.ndarray]:
    """The views rendered by Cycles from the run's exported .blend under the sky (RGBA)."""
    import tempfile

    import mitsuba as mi

    from invrender.export.blender import relight_blend
    from invrender.export.scene_data import CameraData, EnvmapData
    from invrender.files import read_exr

    envmap = EnvmapData(
        "relight_sky", sky.image, sky.scale, sky.to_world, mi.load_dict(sky.emitter_dict())
    )
    cameras = [
        CameraData(
            f"view_{k:03d}",
            np.asarray(v.camera.to_world, dtype=np.float64),
            math.degrees(v.camera.camera_angle_x),
            int(v.camera.width),
            int(v.camera.height),
        )
        for k, v in enumerate(views)
    ]
    with tempfile.TemporaryDirectory(prefix="invrender-relight-") as folder:
        images = relight_blend(
            blend, envmap, cameras, Path(folder), spp, max_bounces, keep_lights, transparent=True
        )
        return [read_exr(image)[..., :4] for image in images]


# -- metrics ---------------------------------------------------------------------------------


def _psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    if not mask.any():
        return float("nan")
    mse = float(np.mean((a[mask] - b[mask]) ** 2))
    return float("inf") if mse == 0 else float(-10.0 * math.log10(mse))


def _ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    from skimage.metrics import structural_similarity

    if min(a.shape[:2]) < 11:  # the Gaussian window (sigma 1.5) is 11 px wide
        return None
    _, full = structural_similarity(
        a,
        b,
        channel_axis=2,
        data_range=1.0,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        full=True,
    )
    return np.asarray(full).mean(axis=2)


def score(render: np.ndarray, target: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM of two linear RGB images after sRGB encoding, over ``mask`` and over the
    full image, and the masked PSNR after a per-channel least-squares gain on the render."""
    a, b = linear_to_srgb(render), linear_to_srgb(target)
    full = np.ones(mask.shape, dtype=bool)
    ssim = _ssim_map(a, b)
    lin_a, lin_b = np.clip(render, 0, None)[mask], np.clip(target, 0, None)[mask]
    gain = np.where(
        (lin_a**2).sum(0) > 0, (lin_a * lin_b).sum(0) / np.maximum((lin_a**2).sum(0), 1e-12), 1.0
    )
    scaled = linear_to_srgb(render * gain)
    return {
        "psnr_mask": _psnr(a, b, mask),
        "ssim_mask": float("nan") if ssim is None or not mask.any() else float(ssim[mask].mean()),
        "psnr_full": _psnr(a, b, full),
        "ssim_full": float("nan") if ssim is None else float(ssim.mean()),
        "psnr_mask_scaled": _psnr(scaled, b, mask),
        "mask_fraction": float(mask.mean()),
    }


def score_view(
    render: np.ndarray, background: np.ndarray, target_path: Path
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """(metrics, the render as compared (linear RGB), the target as premultiplied RGBA)."""
    from invrender.data.images import read_image

    rgb, alpha = read_image(target_path)
    if rgb.shape[:2] != render.shape[:2]:
        raise DataError(f"{target_path}: size changed while rendering")
    if alpha is not None:
        target = np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1)
        return score(render[..., :3], target[..., :3], alpha >= 0.5), render[..., :3], target
    target = np.concatenate([rgb, np.ones_like(rgb[..., :1])], axis=-1)
    composite = over(render, background)
    return score(composite, rgb, np.ones(rgb.shape[:2], dtype=bool)), composite, target


def mean_metrics(views: list[RelightView]) -> dict[str, float]:
    keys = views[0].metrics.keys() if views else []
    out = {}
    for key in keys:
        values = [v.metrics[key] for v in views if math.isfinite(v.metrics[key])]
        out[key] = float(np.mean(values)) if values else float("nan")
    return out


# -- outputs ---------------------------------------------------------------------------------


def view_stem(view: RelightView) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", view.name).strip("._") or "view"
    return f"{view.index:03d}_{safe}"


def contact_sheet(rows: list[list[np.ndarray]]) -> np.ndarray:
    """Views side by side (at most 8 to a row of the sheet); each view a column of tiles
    (sRGB float in [0, 1]); tiles of one sheet share a size."""
    columns = [np.concatenate(tiles, axis=0) for tiles in rows]
    h, w = columns[0].shape[:2]
    per_row = min(8, len(columns))
    n_rows = math.ceil(len(columns) / per_row)
    pad = 2
    sheet = np.ones((n_rows * (h + pad) + pad, per_row * (w + pad) + pad, 3), np.float32)
    for k, column in enumerate(columns):
        r, c = divmod(k, per_row)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = column[..., :3]
    return sheet


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    channels = [
        np.asarray(
            Image.fromarray(image[..., c].astype(np.float32), mode="F").resize(
                (width, height), Image.Resampling.BILINEAR
            )
        )
        for c in range(image.shape[2])
    ]
    return np.stack(channels, axis=-1)


def relight_run(run_dir: Path, options: RelightOptions, out: Path, variant: str | None = None):
    """Render (and score) a run under a new sky; write into ``out``; return relight.json's data.

    Every input is checked before anything is written."""
    import time

    from invrender.export.scene_data import integrator_depth
    from invrender.run.export import load_run
    from invrender.run.folder import RunFolder

    started = time.perf_counter()
    if not 1 <= options.spp <= MAX_SPP:
        raise DataError(f"--spp {options.spp}: expected 1 to {MAX_SPP}")
    if options.renderer not in ("mitsuba", "cycles"):
        raise DataError(f"--renderer {options.renderer}: expected mitsuba or cycles")
    if options.max_depth is not None and options.max_depth == 0:
        raise DataError("--max-depth 0 renders nothing; use -1 (unlimited) or >= 1")
    sky = load_sky(options)
    targets = None
    if options.targets is not None:
        targets = read_targets(options.targets)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out}: exists and is not empty (choose another --out)")
    session = load_run(Path(run_dir), variant)
    cameras = [(v.name, v.camera) for v in session.dataset.views]
    views = select_views(session.loaded, cameras, options.views, Path(run_dir))
    if targets is not None:
        match_targets(views, *targets)
    depth = integrator_depth(dict(session.config.integrator))
    if options.max_depth is not None:
        depth = options.max_depth
    sky_scene = sky_only_scene(sky)
    if options.renderer == "cycles":
        blend = RunFolder(run_dir).exported_blend
        if not blend.is_file():
            raise DataError(
                f"{blend}: no exported .blend for --renderer cycles (run `invrender export "
                f"{run_dir} --format blender`)"
            )
        bounces = None if options.max_depth is None else cycles_bounces(options.max_depth)
        renders: Iterable[np.ndarray] = render_cycles(
            blend, sky, views, options.spp, bounces, options.keep_lights
        )
    else:
        scene = relit_scene(session.scene, sky, options.keep_lights)
        renders = (
            render_rgba(scene, view.camera, options.spp, depth, options.seed + view.index)
            for view in views
        )

    renders_dir = out / RENDERS
    columns: list[list[np.ndarray]] = []
    records = []
    for view, rgba in zip(views, renders, strict=True):
        background = render_sky(sky_scene, view.camera)
        stem = view_stem(view)
        exr = write_exr(renders_dir / f"{stem}.exr", rgba)
        straight = unpremultiply(rgba)  # PNG: straight alpha, sRGB colour, linear alpha
        encoded = np.concatenate([linear_to_srgb(straight[..., :3]), straight[..., 3:]], -1)
        png = write_png(renders_dir / f"{stem}.png", encoded, srgb=False)
        tiles = [linear_to_srgb(over(rgba, background))]
        record: dict[str, Any] = {
            "index": view.index,
            "name": view.name,
            "size": [int(view.camera.width), int(view.camera.height)],
            "exr": str(exr.relative_to(out)),
            "png": str(png.relative_to(out)),
        }
        if view.target is not None:
            view.metrics, compared, target = score_view(rgba, background, view.target)
            record["target"] = str(view.target)
            record.update(view.metrics)
            tiles.append(linear_to_srgb(over(target, background)))
            error = np.abs(linear_to_srgb(compared) - linear_to_srgb(target[..., :3]))
            tiles.append(np.repeat(np.clip(4.0 * error.mean(axis=2, keepdims=True), 0, 1), 3, 2))
        columns.append(tiles)
        records.append(record)
    h, w = columns[0][0].shape[:2]
    columns = [[_resize(t, h, w) for t in tiles] for tiles in columns]
    sheet = write_png(out / CONTACT_SHEET, contact_sheet(columns), srgb=False)
    result: dict[str, Any] = {
        "run": str(Path(run_dir).resolve()),
        "envmap": str(sky.path.resolve()),
        "envmap_size": [int(sky.image.shape[1]), int(sky.image.shape[0])],
        "up": options.up,
        "rotate_deg": options.rotate,
        "exposure_ev": options.exposure,
        "sky_to_world": sky.to_world.tolist(),
        "sky_scale": sky.scale,
        "views": options.views,
        "spp": options.spp,
        "max_depth": depth,
        "keep_lights": options.keep_lights,
        "renderer": options.renderer,
        "contact_sheet": str(sheet.relative_to(out)),
        "per_view": records,
    }
    if targets is not None:
        result["targets"] = str(targets[0].resolve())
        result["metrics"] = mean_metrics(views)
        result["metrics_note"] = (
            "sRGB-encoded (linear clipped to [0, 1]); _mask: over target alpha >= 0.5 (the whole "
            "image when the targets have no alpha), _full: every pixel; psnr_mask_scaled: after a "
            "per-channel least-squares gain on the render (linear, over the mask)"
        )
    result["seconds"] = round(time.perf_counter() - started, 2)
    write_text(out / RELIGHT_JSON, json.dumps(_finite(result), indent=1) + "\n")
    return result


def _finite(value: Any) -> Any:
    """JSON without NaN/Infinity literals: non-finite numbers become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
