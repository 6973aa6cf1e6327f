"""Export a run's optimized scene: at the end of ``optimize``, or later from its run folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from invrender.errors import DataError

FORMATS = ("mitsuba", "ply", "obj", "gltf", "blender", "cameras", "all")


def export_outputs(session: Any, out_dir: Path, formats: list[str] | None = None) -> dict:
    """Write ``formats`` (default: the config's ``output.export``) of the session's scene."""
    from invrender.export import export_scene

    formats = list(session.config.output.export if formats is None else formats)
    if not formats:
        return {}
    written = export_scene(
        session.scene,
        out_dir,
        formats,
        sensors=session.sensors,
        integrator=dict(session.config.integrator),  # the run's: e.g. hide_emitters
    )
    base = out_dir.parent
    return {
        fmt: [str(Path(p).resolve().relative_to(base.resolve())) for p in paths]
        for fmt, paths in written.items()
    }


def load_run(run_dir: Path, variant: str | None = None) -> Any:
    """The session of a finished (or interrupted) run with its last checkpoint's parameters."""
    from invrender import checkpoint
    from invrender.config.loader import load_config
    from invrender.run_folder import CONFIG_NAME
    from invrender.session import prepare

    config = run_dir / CONFIG_NAME
    if not config.is_file():
        raise DataError(f"{run_dir}: not a run folder (no {CONFIG_NAME})")
    latest = checkpoint.latest(run_dir / "checkpoints")
    if latest is None:
        raise DataError(f"{run_dir}/checkpoints: no checkpoint to export from")
    session = prepare(load_config(config), variant, progress=False)
    state, _path, warnings = checkpoint.load_latest(run_dir / "checkpoints")
    for line in warnings:
        print(f"invrender: warning: {line}", file=sys.stderr)
    session.pipeline.load_state_dict(state.pipeline)
    template = session.pipeline.variables()
    values = {k: type(template[k])(v) for k, v in state.variables.items() if k in template}
    session.pipeline.apply(values)
    session.params.update()
    return session


def export_run(
    run_dir: Path, formats: list[str], out: Path | None = None, variant: str | None = None
) -> dict:
    session = load_run(run_dir, variant)
    return export_outputs(session, out or run_dir / "export", formats)
