"""Everything a run needs, prepared and checked before anything is written to disk."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from invrender.config.loader import LoadedConfig
from invrender.data import validate
from invrender.data.cameras import Camera
from invrender.data.dataset import Dataset, View, load_dataset
from invrender.data.images import downscale
from invrender.data.synth import SynthOptions, synthesize
from invrender.errors import ConfigError, DataError
from invrender.pipelines import Pipeline, RunContext, get_pipeline
from invrender.pipelines.param_groups import resolve_groups
from invrender.run.camera_refine import CameraCorrections
from invrender.run.exposure import ViewGains
from invrender.scene.loading import load_scene
from invrender.variant import select_variant


@dataclass
class Session:
    """A validated run: scene, parameters, targets on the device, pipeline and integrator."""

    loaded: LoadedConfig
    variant: str
    dataset: Dataset
    pipeline: Pipeline
    integrator: Any
    sensors: list[Any]
    targets: list[Any]  # mi.TensorXf (H, W, 3)
    weights: list[Any | None]  # mi.TensorXf (H, W, 3) loss weights from masks, or None

    @property
    def config(self):
        return self.loaded.config

    # The pipeline may swap the scene mid-run (the texture stage), so these read its context.
    @property
    def scene(self) -> Any:
        return self.pipeline.ctx.scene

    @property
    def params(self) -> Any:
        return self.pipeline.ctx.params


def ensure_targets(loaded: LoadedConfig, progress: bool = True) -> None:
    """Render the target views from ``targets.synth`` when its transforms.json is missing."""
    t = loaded.config.targets
    if t.synth is None or t.transforms is None or Path(t.transforms).exists():
        return
    s = t.synth
    w, h = (s.resolution, s.resolution) if isinstance(s.resolution, int) else s.resolution
    opts = SynthOptions(
        views=s.views,
        width=w,
        height=h,
        spp=s.spp,
        fov=s.fov,
        radius=s.radius,
        elevations=tuple(s.elevations),
        up=s.up,
        seed=s.seed,
    )
    if progress:
        print(f"invrender: synthesizing {s.views} target views from {s.scene}")
    synthesize(s.scene, Path(t.transforms).parent, opts, progress=progress)


def prepare(loaded: LoadedConfig, variant: str | None = None, progress: bool = True) -> Session:
    """Select the variant, load targets and scene, resolve parameters; raise on any problem."""
    cfg = loaded.config
    active = select_variant(variant or cfg.variant)
    ensure_targets(loaded, progress)
    dataset = load_dataset(cfg.targets, cfg.targets.transforms or str(loaded.path))
    if cfg.optimize.exposure.per_view:  # their references are checked before any file is written
        ViewGains(cfg.optimize.exposure, dataset, str(loaded.path))
    if cfg.optimize.cameras.refine:
        CameraCorrections(
            cfg.optimize.cameras, dataset, str(loaded.path), cfg.integrator.get("type", "")
        )
        if cfg.geometry is not None and cfg.geometry.mask_weight > 0:
            raise ConfigError(
                [
                    f"{loaded.path}: optimize.cameras.refine: the silhouette term "
                    "(geometry.mask_weight) renders the cameras as given, not as refined; set "
                    "geometry.mask_weight: 0, or optimize.cameras.refine: false"
                ]
            )
    pipeline, integrator = _assemble(loaded, dataset, validate=True)
    sensors, targets, weights = device_views(dataset, cfg.optimize.spp)
    return Session(loaded, active, dataset, pipeline, integrator, sensors, targets, weights)


def prepare_without_targets(
    loaded: LoadedConfig, cameras: list[tuple[str, Camera]], variant: str | None = None
) -> Session:
    """Scene, pipeline and integrator of a run with these cameras and no photos: what export
    needs. Nothing here reads (or renders) the targets, so a run exports after they are gone."""
    import mitsuba as mi

    cfg = loaded.config
    active = select_variant(variant or cfg.variant)
    views = [View(name, cam, np.zeros((0, 0, 3), np.float32)) for name, cam in cameras]
    dataset = Dataset(views, train=list(range(len(views))))
    pipeline, integrator = _assemble(loaded, dataset, validate=False)
    # Named after their views: the exported cameras (transforms.json, the .blend) keep the names
    sensors = [
        mi.load_dict({**cam.sensor_dict(spp=cfg.optimize.spp), "id": name}) for name, cam in cameras
    ]
    return Session(loaded, active, dataset, pipeline, integrator, sensors, [], [])


def _assemble(loaded: LoadedConfig, dataset: Dataset, validate: bool) -> tuple[Pipeline, Any]:
    """The scene, its parameter groups, the pipeline and the integrator of a config."""
    import mitsuba as mi

    cfg, name = loaded.config, str(loaded.path)
    scene = load_scene(cfg.scene, loaded.path.resolve().parent, name)
    params = mi.traverse(scene)
    if validate:
        bad = run_problems(cfg, dataset, params, name) + background_problems(cfg, dataset, name)
        if bad:
            raise DataError("\n".join(bad))
    groups = resolve_groups(params, cfg.optimize.params, name)
    pipeline_cls = get_pipeline(cfg.optimize.pipeline, name)
    pipeline = pipeline_cls(RunContext(cfg, name, scene, params, dataset, groups))
    if validate:
        problems = pipeline.validate() + export_problems(cfg, scene, pipeline, name)
        if problems:
            raise ConfigError(problems)
    return pipeline, load_integrator(cfg.integrator, name)


def run_problems(cfg: Any, dataset: Dataset, params: Any, name: str) -> list[str]:
    """Bad numbers and impossible sizes (invrender/data/validate.py), for check and optimize."""
    return (
        validate.config_problems(cfg, name)
        + validate.dataset_size_problems(cfg, dataset, name)
        + validate.scene_problems(params, name)
    )


def export_problems(cfg: Any, scene: Any, pipeline: Pipeline, name: str) -> list[str]:
    """``output.export`` formats that the run's final scene could not satisfy, refused before
    iteration 0 (``check`` too): every exporter writes bitmaps and constants, and 3-D grid
    textures on meshes are baked to UV maps at export (invrender/texturing/export_bake.py);
    anything else would end a finished run in an export error."""
    from invrender.texturing.export_bake import unexportable_textures

    if not cfg.output.export:
        return []
    return [
        f"{name}: output.export: shape '{shape}' cannot be exported: {problem}; give it bitmap "
        "or constant textures (a mesh for a 3-D grid), or set output.export: []"
        for shape, problem in unexportable_textures(scene, pipeline.final_uv_shapes())
    ]


def background_problems(cfg: Any, dataset: Dataset, name: str) -> list[str]:
    """Targets with a transparent background (alpha, black colour) are compared with renders
    whose camera rays do not see the sky: set ``integrator.hide_emitters`` (it goes to
    config.resolved.yaml, the export and Blender), or refuse a config that asks to show it. The
    sky still lights the object; only its direct view, which the targets do not have, goes."""
    if not dataset.transparent:
        return []
    if cfg.integrator.get("hide_emitters", True) is False:
        return [
            f"{name}: integrator.hide_emitters: false, but the targets' background is "
            "transparent (alpha 0, black): the sky would be scored against black; remove "
            "integrator.hide_emitters"
        ]
    cfg.integrator["hide_emitters"] = True
    return []


def scaled_views(session: Session, factor: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Sensors, targets and mask weights of every view at 1/factor resolution (coarse to fine)."""
    return device_views(session.dataset, session.config.optimize.spp, factor)


def device_views(
    dataset: Dataset, spp: int, factor: int = 1
) -> tuple[list[Any], list[Any], list[Any]]:
    """Mitsuba sensors, target tensors and mask weights of every view, at 1/factor resolution."""
    import mitsuba as mi

    sensors, targets, weights = [], [], []
    for v in dataset.views:
        image = downscale(v.image, factor)
        h, w = image.shape[:2]
        sensor = {**v.camera.with_resolution(w, h).sensor_dict(spp=spp), "id": v.name}
        sensors.append(mi.load_dict(sensor))
        targets.append(mi.TensorXf(image))
        mask = None if v.mask is None else downscale(v.mask, factor)
        weights.append(None if mask is None else mi.TensorXf(_rgb_weights(mask)))
    return sensors, targets, weights


def _rgb_weights(mask: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(mask, np.float32)[..., None], 3, axis=2)


def load_integrator(spec: dict[str, Any], config_name: str) -> Any:
    import mitsuba as mi

    try:
        return mi.load_dict(dict(spec))
    except Exception as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{config_name}: integrator: Mitsuba cannot create '{spec.get('type')}': {first}"
        ) from None


def default_run_dir(loaded: LoadedConfig) -> Path:
    if loaded.config.output.dir:
        return Path(loaded.config.output.dir)
    return Path("runs") / f"{loaded.name}-{time.strftime('%Y%m%d-%H%M%S')}"
