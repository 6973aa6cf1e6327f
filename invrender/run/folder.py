"""The run folder: the one place that knows its file names, creates it, and restores a run.

Every other module asks a :class:`RunFolder` for its paths, so a name is written down once and
resume, export and the batch tools agree on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from invrender.data.cameras import Camera
from invrender.errors import DataError, InvrenderError
from invrender.files import write_text
from invrender.run import checkpoint

if TYPE_CHECKING:
    from invrender.config.loader import LoadedConfig
    from invrender.pipelines.base import Pipeline

CONFIG_NAME = "config.resolved.yaml"

# The parts of a config that define what a run optimizes; --resume refuses a config that differs.
_PROBLEM_KEYS = ("targets", "scene", "geometry", "integrator")


class RunFolder:
    """Paths of one run folder (``run_dir``) and the operations that need more than one of them."""

    CONFIG = CONFIG_NAME
    METRICS = "metrics.csv"
    SUMMARY = "summary.json"
    LOSS_PLOT = "loss.png"
    CAMERAS = "cameras.json"  # the run's cameras, so that export needs no target photos
    PREVIEWS = "previews"
    CHECKPOINTS = "checkpoints"
    EXPORT = "export"
    BLEND = "blender/scene.blend"  # under EXPORT: what the blender format writes
    EVAL = "eval"  # the final evaluation's renders of the held-out views, for the report
    OVERRIDES = "overrides.json"  # what --set changed, for the report
    REPORT = "report.html"
    REPORT_ASSETS = "report_assets"  # the viewer and the page's data, so the folder can move

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    # -- paths -----------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def summary(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def loss_plot(self) -> Path:
        return self.path / self.LOSS_PLOT

    @property
    def cameras(self) -> Path:
        return self.path / self.CAMERAS

    @property
    def previews(self) -> Path:
        return self.path / self.PREVIEWS

    @property
    def checkpoints(self) -> Path:
        return self.path / self.CHECKPOINTS

    @property
    def export(self) -> Path:
        return self.path / self.EXPORT

    @property
    def exported_blend(self) -> Path:
        """The Blender export's scene (``invrender export --format blender``)."""
        return self.export / self.BLEND

    @property
    def eval_dir(self) -> Path:
        return self.path / self.EVAL

    @property
    def overrides(self) -> Path:
        return self.path / self.OVERRIDES

    @property
    def report(self) -> Path:
        return self.path / self.REPORT

    @property
    def report_assets(self) -> Path:
        return self.path / self.REPORT_ASSETS

    def preview(self, iteration: int) -> Path:
        return self.previews / f"iter_{iteration:06d}.png"

    def latest_preview(self) -> Path | None:
        found = sorted(self.previews.glob("iter_*.png"))
        return found[-1] if found else None

    def latest_checkpoint(self) -> Path | None:
        return checkpoint.latest(self.checkpoints)

    def has_checkpoint(self) -> bool:
        return self.config.is_file() and self.latest_checkpoint() is not None

    def read_summary(self) -> dict[str, Any] | None:
        """summary.json, or None while the run has not finished (or it cannot be read)."""
        try:
            data = json.loads(self.summary.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def require_run(self, flag: str = "RUN_DIR") -> None:
        """One line when this is not a run folder at all."""
        if not self.config.is_file():
            raise DataError(f"{self.path}: not a run folder (no {self.CONFIG}); check {flag}")

    # -- life cycle ------------------------------------------------------------------------
    def create(self, resume: bool) -> RunFolder:
        """Create (or, when resuming, reuse) the folder; one clear error if it cannot be written."""
        path = self.path
        try:
            if path.exists() and not resume and self._has_content():
                raise DataError(
                    f"{path}: run folder exists and is not empty (use --resume {path} "
                    "to continue it, or --output to choose another folder)"
                )
            path.mkdir(parents=True, exist_ok=True)
            for stale in path.rglob(".*.partial*"):  # half-written files of a killed run
                stale.unlink(missing_ok=True)
            for sub in (self.previews, self.checkpoints):
                sub.mkdir(exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("")
            probe.unlink()
        except PermissionError:
            raise DataError(
                f"{path}: output folder is not writable (choose another with --output or "
                "output.dir)"
            ) from None
        except OSError as exc:
            raise DataError(
                f"{path}: cannot create the output folder: {exc.strerror} (choose "
                "another with --output or output.dir)"
            ) from None
        return self

    def _has_content(self) -> bool:
        """Anything but what a run killed at its start leaves: empty previews/ and checkpoints/,
        half-written files (atomic_path's temporary names)."""
        for entry in self.path.iterdir():
            if entry.name.startswith(".") and ".partial" in entry.name:
                continue
            if entry.name in (self.PREVIEWS, self.CHECKPOINTS) and entry.is_dir():
                if any(entry.iterdir()):
                    return True
            else:
                return True
        return False

    def check_same_problem(self, loaded: LoadedConfig) -> None:
        """Refuse ``optimize CONFIG --resume RUN`` when RUN was made for another problem.

        Iterations, learning rates, schedules and output settings may change on resume; the
        targets, scene, pipeline and optimized keys may not (the checkpoint would not fit)."""
        from invrender.config.loader import load_config

        try:
            before = load_config(self.config).config
        except InvrenderError as exc:
            raise DataError(f"{self.config}: cannot read: {str(exc).splitlines()[0]}") from None
        now = loaded.config
        old, new = before.model_dump(mode="json"), now.model_dump(mode="json")
        if "hide_emitters" not in new.get("integrator", {}):  # the run adds it (transparent
            old.get("integrator", {}).pop("hide_emitters", None)  # targets): not a change
        differ = [k for k in _PROBLEM_KEYS if old.get(k) != new.get(k)]
        if before.optimize.pipeline != now.optimize.pipeline:
            differ.append("optimize.pipeline")
        if [p.key for p in before.optimize.params] != [p.key for p in now.optimize.params]:
            differ.append("optimize.params.*.key")
        if differ:
            raise DataError(
                f"{loaded.path}: --resume {self.path}: that run folder was made by another config "
                f"({', '.join(differ)} differ); resume it without CONFIG, or give a new --output"
            )

    def restore(self, pipeline: Pipeline) -> checkpoint.Checkpoint:
        """Load the newest readable checkpoint into ``pipeline``'s state and return it.

        The one restore path of resume (which then loads the optimizer) and export (which applies
        the variables to the scene). Skipped damaged checkpoints are warned about on stderr."""
        state, _path, warnings = checkpoint.load_latest(self.checkpoints)
        for line in warnings:
            print(f"invrender: warning: {line}", file=sys.stderr)
        pipeline.load_state_dict(state.pipeline)
        return state

    def write_failure(self, exc: OSError, iteration: int) -> str:
        """The one line for a write that failed during a run (disk full, folder gone, read-only)."""
        what = exc.strerror or type(exc).__name__
        where = exc.filename or self.path
        last = self.latest_checkpoint()
        kept = (
            f"the last checkpoint {last.name} is intact"
            if last
            else "no checkpoint was written yet"
        )
        return (
            f"{where}: cannot write ({what}); the run stopped at iteration {iteration} and {kept}: "
            f"free space, then `invrender optimize --resume {self.path}`"
        )

    # -- cameras ---------------------------------------------------------------------------
    def write_cameras(self, names: list[str], cameras: list[Camera]) -> Path:
        """cameras.json: every view's camera (Mitsuba axes), for exports that need no photos."""
        views = [
            {
                "name": name,
                "to_world": np.asarray(cam.to_world, dtype=float).tolist(),
                "fov": float(cam.fov),
                "fov_axis": cam.fov_axis,
                "width": int(cam.width),
                "height": int(cam.height),
                "principal_point": [float(x) for x in cam.principal_point],
            }
            for name, cam in zip(names, cameras, strict=True)
        ]
        return write_text(self.cameras, json.dumps({"views": views}, indent=1) + "\n")

    def read_cameras(self) -> list[tuple[str, Camera]] | None:
        """The cameras written by :meth:`write_cameras`; None for runs made before them."""
        try:
            views = json.loads(self.cameras.read_text())["views"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return [
            (
                v["name"],
                Camera(
                    np.asarray(v["to_world"], dtype=np.float64),
                    float(v["fov"]),
                    int(v["width"]),
                    int(v["height"]),
                    v.get("fov_axis", "x"),
                    (float(v["principal_point"][0]), float(v["principal_point"][1])),
                ),
            )
            for v in views
        ]
