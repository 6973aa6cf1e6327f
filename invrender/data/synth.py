"""Render a target dataset (images + masks + transforms.json) from a ground-truth scene."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invrender.data.cameras import Camera, ring_cameras
from invrender.data.transforms import write_transforms
from invrender.errors import DataError
from invrender.files import write_exr


@dataclass
class SynthOptions:
    views: int = 12
    width: int = 64
    height: int = 64
    spp: int = 256
    fov: float = 40.0
    radius: float | None = None
    elevations: tuple[float, ...] = (20.0, -10.0)
    up: str = "y"
    seed: int = 0


def check_options(opts: SynthOptions) -> None:
    """Refuse views/fov/spp/sizes that cannot render (or would not fit in memory) up front."""
    from invrender.data.validate import size_problems
    from invrender.errors import ConfigError

    problems = size_problems("synth", opts.width, opts.height, {"spp": opts.spp})
    if opts.views < 1:
        problems.append(f"synth: views {opts.views}: need at least 1")
    if opts.spp < 1:
        problems.append(f"synth: spp {opts.spp}: need at least 1")
    if not (0 < opts.fov < 180):  # also false for NaN
        problems.append(f"synth: fov {opts.fov}: give degrees in (0, 180)")
    if opts.radius is not None and not (0 < opts.radius < float("inf")):
        problems.append(f"synth: radius {opts.radius}: must be a positive number")
    if problems:
        raise ConfigError(problems)


def coverage_integrator() -> Any:
    """An integrator whose image is 1 where a primary ray hits a shape: a filtered object mask.

    (The film's alpha channel cannot serve: Mitsuba sets alpha = 1 where an envmap is seen.)
    """
    import drjit as dr
    import mitsuba as mi

    class Coverage(mi.SamplingIntegrator):
        def sample(self, scene, sampler, ray, medium=None, active=True):
            hit = scene.ray_intersect(ray, active).is_valid()
            return mi.Spectrum(dr.select(hit, 1.0, 0.0)), mi.Bool(True), []

    return Coverage(mi.Properties())


def default_cameras(scene: Any, opts: SynthOptions) -> list[Camera]:
    """A ring of cameras that frames the scene's bounding sphere."""
    bbox = scene.bbox()
    lo, hi = np.array(bbox.min), np.array(bbox.max)
    if not np.all(np.isfinite(lo)) or not np.all(np.isfinite(hi)):
        raise DataError("the scene has no finite shapes to frame; give camera radius explicitly")
    center = (lo + hi) / 2
    radius_obj = float(np.linalg.norm(hi - lo) / 2)
    dist = opts.radius or 1.15 * radius_obj / math.sin(math.radians(opts.fov) / 2)
    return ring_cameras(
        center, dist, opts.views, list(opts.elevations), opts.fov, opts.width, opts.height, opts.up
    )


def synthesize(
    scene_path: str | Path, out_dir: str | Path, opts: SynthOptions, progress: bool = True
) -> Path:
    """Render ``opts.views`` RGBA EXR images (alpha = coverage mask) and their transforms.json."""
    import mitsuba as mi
    from tqdm import tqdm

    scene_path, out_dir = Path(scene_path), Path(out_dir)
    check_options(opts)
    try:
        scene = mi.load_file(str(scene_path))
    except Exception as exc:
        raise DataError(f"{scene_path}: Mitsuba cannot load the scene: {exc}") from None
    cams = default_cameras(scene, opts)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    integrator = scene.integrator() or mi.load_dict({"type": "path"})
    coverage = coverage_integrator()
    names = []
    # disable=None: no bar when stderr is not a terminal (a log keeps every redraw).
    bar = tqdm(cams, desc="synth", unit="view", disable=None if progress else True)
    for i, cam in enumerate(bar):
        sensor = mi.load_dict(cam.sensor_dict(spp=opts.spp))
        rgb = np.array(mi.render(scene, sensor=sensor, integrator=integrator, seed=opts.seed + i))  # type: ignore[arg-type]  # mitsuba stubs: seed takes an int
        mask = np.array(mi.render(scene, sensor=sensor, integrator=coverage, spp=16))[..., :1]
        name = f"images/r_{i:03d}.exr"
        write_exr(out_dir / name, np.concatenate([rgb[..., :3], mask], axis=2))
        names.append(name)
    path = out_dir / "transforms.json"
    write_transforms(path, cams, names)
    return path
