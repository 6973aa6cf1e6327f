"""Export a run's optimized scene: at the end of ``optimize``, or later from its run folder.

Exporting a finished run reads its config, its cameras and its last checkpoint, never its target
photos: they may be gone, and rendering them again (synthesized targets) would only cost time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invrender.config.loader import load_config
from invrender.errors import DataError
from invrender.run.folder import RunFolder
from invrender.run.session import Session, prepare_without_targets


def export_outputs(session: Session, out_dir: Path, formats: list[str] | None = None) -> dict:
    """Write ``formats`` (default: the config's ``output.export``) of the session's scene."""
    from invrender.export import expand_formats, export_scene

    formats = list(session.config.output.export if formats is None else formats)
    if not formats:
        return {}
    if not session.sensors and "cameras" in expand_formats(formats):
        raise DataError(
            f"{out_dir.parent}: the run's cameras are unknown (a run folder made before "
            f"{RunFolder.CAMERAS} whose targets are gone); export the other formats, or restore "
            "the targets and run `invrender export` again"
        )
    from invrender.texturing.export_bake import bake_grid_textures

    try:
        # 3-D grid albedos (geometry/joint runs without a texture stage) become UV maps on a copy
        scene, notes = bake_grid_textures(session.scene)
        written = export_scene(
            scene,
            out_dir,
            formats,
            sensors=session.sensors,
            integrator=dict(session.config.integrator),  # the run's: e.g. hide_emitters
            notes=notes,
        )
    except (NotImplementedError, ValueError, KeyError, RuntimeError) as exc:
        # An exporter's own failure is a bug, but still one line: the run itself is intact.
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(
            f"{out_dir}: export failed: {type(exc).__name__}: {first} (the run is intact; "
            "export other formats with --format, and please report this)"
        ) from None
    base = out_dir.parent
    return {
        fmt: [str(Path(p).resolve().relative_to(base.resolve())) for p in paths]
        for fmt, paths in written.items()
    }


def load_run(run_dir: Path, variant: str | None = None) -> Session:
    """The scene of a finished (or interrupted) run with its last checkpoint's parameters."""
    folder = RunFolder(run_dir)
    folder.require_run()
    if folder.latest_checkpoint() is None:
        raise DataError(f"{folder.checkpoints}: no checkpoint to export from")
    loaded = load_config(folder.config)
    session = prepare_without_targets(loaded, _run_cameras(folder, loaded), variant)
    state = folder.restore(session.pipeline)
    template = session.pipeline.variables()
    values = {k: type(template[k])(v) for k, v in state.variables.items() if k in template}
    session.pipeline.apply(values)
    session.params.update()
    return session


def _run_cameras(folder: RunFolder, loaded: Any) -> list:
    """The run's cameras: its cameras.json, else (older runs) the camera file of its targets."""
    cameras = folder.read_cameras()
    if cameras is not None:
        return cameras
    from invrender.data.dataset import frames_from_config, unique_names

    try:
        frames = frames_from_config(loaded.config.targets)
    except (OSError, ValueError, DataError):
        return []  # targets gone, cameras unknown: every format but "cameras" still exports
    return [
        (name, fr.camera)
        for name, fr in zip(unique_names(frames), frames, strict=True)
        if fr.camera.width > 0 and fr.camera.height > 0
    ]


def export_run(
    run_dir: Path, formats: list[str], out: Path | None = None, variant: str | None = None
) -> dict:
    session = load_run(run_dir, variant)
    return export_outputs(session, out or RunFolder(run_dir).export, formats)
