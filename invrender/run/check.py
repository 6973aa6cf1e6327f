"""``invrender check``: everything ``optimize`` validates, without rendering or writing."""

from __future__ import annotations

from pathlib import Path

from invrender.config.loader import load_config


def check_config(path: Path, overrides: tuple[str, ...] = (), variant: str | None = None) -> str:
    """Validate one config fully; return a one-line description, raise InvrenderError if bad."""
    from invrender.errors import ConfigError, InvrenderError
    from invrender.pipelines import RunContext, get_pipeline
    from invrender.pipelines.param_groups import resolve_groups
    from invrender.run.session import load_integrator
    from invrender.scene.loading import load_scene
    from invrender.variant import select_variant

    loaded = load_config(path, overrides)
    cfg, name = loaded.config, str(path)
    select_variant(variant or cfg.variant)
    import mitsuba as mi

    from invrender.data.dataset import Dataset, load_dataset

    targets_note = ""
    transforms = cfg.targets.transforms
    if cfg.targets.synth is not None and not (transforms and Path(transforms).exists()):
        dataset = Dataset([], [0])
        targets_note = f"{cfg.targets.synth.views} views to synthesize"
    else:
        dataset = load_dataset(cfg.targets, cfg.targets.transforms or name)
        targets_note = f"{len(dataset.views)} views"
        if dataset.holdout:
            targets_note += f" ({len(dataset.holdout)} held out)"
        if dataset.transparent:
            targets_note += ", transparent background (the camera does not see the sky)"
    scene = load_scene(cfg.scene, path.resolve().parent, name)
    params = mi.traverse(scene)
    from invrender.run.session import background_problems, export_problems, run_problems

    bad = run_problems(cfg, dataset, params, name) + background_problems(cfg, dataset, name)
    if bad:
        raise ConfigError(bad)
    groups = resolve_groups(params, cfg.optimize.params, name)
    pipeline = get_pipeline(cfg.optimize.pipeline, name)(
        RunContext(cfg, name, scene, params, dataset, groups)
    )
    problems = pipeline.validate() + export_problems(cfg, scene, pipeline, name)
    if problems:
        raise ConfigError(problems)
    integrator = load_integrator(cfg.integrator, name)
    from invrender.integrators.refusals import check_integrator, shapes_moved_by

    keys = [key for g in groups for key in g.keys]
    try:
        check_integrator(integrator, scene, shapes_moved_by(params, keys))
    except InvrenderError as exc:
        raise ConfigError([f"{name}: integrator: {exc}"]) from None
    n_keys = sum(len(g.keys) for g in groups)
    return (
        f"{cfg.optimize.pipeline} pipeline, {n_keys} parameter(s), {targets_note}, "
        f"integrator {cfg.integrator['type']}"
    )


def describe_parameters(
    path: Path, overrides: tuple[str, ...] = (), variant: str | None = None
) -> list[str]:
    """One line per differentiable scene parameter: key, category, shape (for picking keys)."""
    from invrender.scene.loading import differentiable_keys, key_category, load_scene
    from invrender.variant import select_variant

    loaded = load_config(path, overrides)
    select_variant(variant or loaded.config.variant)
    import mitsuba as mi

    params = mi.traverse(load_scene(loaded.config.scene, path.resolve().parent, str(path)))
    lines = []
    for key in differentiable_keys(params):
        value = params[key]
        shape = tuple(getattr(value, "shape", ()))
        lines.append(f"{key}  [{key_category(params, key)}] {shape}")
    return lines
