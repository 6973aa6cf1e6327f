"""The run folder's files: resolved config, metrics.csv, summary.json, loss curve. All atomic."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError, InvrenderError
from invrender.files import atomic_path, write_text

CONFIG_NAME = "config.resolved.yaml"


def create_run_dir(path: Path, resume: bool) -> Path:
    """Create (or, when resuming, reuse) the run folder; one clear error if it cannot be written."""
    try:
        if path.exists() and not resume and _has_content(path):
            raise DataError(
                f"{path}: run folder exists and is not empty (use --resume {path} "
                "to continue it, or --output to choose another folder)"
            )
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.rglob(".*.partial*"):  # half-written files of a killed run
            stale.unlink(missing_ok=True)
        for sub in ("previews", "checkpoints"):
            (path / sub).mkdir(exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except PermissionError:
        raise DataError(
            f"{path}: output folder is not writable (choose another with --output or output.dir)"
        ) from None
    except OSError as exc:
        raise DataError(
            f"{path}: cannot create the output folder: {exc.strerror} (choose "
            "another with --output or output.dir)"
        ) from None
    return path


def _has_content(path: Path) -> bool:
    """Anything but what a run killed at its start leaves: empty previews/ and checkpoints/,
    half-written files (atomic_path's temporary names)."""
    for entry in path.iterdir():
        if entry.name.startswith(".") and ".partial" in entry.name:
            continue
        if entry.name in ("previews", "checkpoints") and entry.is_dir():
            if any(entry.iterdir()):
                return True
        else:
            return True
    return False


# The parts of a config that define what a run optimizes; --resume refuses a config that differs.
_PROBLEM_KEYS = ("targets", "scene", "geometry", "integrator")


def check_same_problem(run_dir: Path, loaded: Any) -> None:
    """Refuse ``optimize CONFIG --resume RUN`` when RUN was made for another problem.

    Iterations, learning rates, schedules and output settings may change on resume; the targets,
    scene, pipeline and optimized keys may not (the checkpoint would not fit, or mean nothing)."""
    from invrender.config.loader import load_config

    try:
        before = load_config(run_dir / CONFIG_NAME).config
    except InvrenderError as exc:
        raise DataError(
            f"{run_dir}/{CONFIG_NAME}: cannot read: {str(exc).splitlines()[0]}"
        ) from None
    now = loaded.config
    old, new = before.model_dump(mode="json"), now.model_dump(mode="json")
    differ = [k for k in _PROBLEM_KEYS if old.get(k) != new.get(k)]
    if before.optimize.pipeline != now.optimize.pipeline:
        differ.append("optimize.pipeline")
    if [p.key for p in before.optimize.params] != [p.key for p in now.optimize.params]:
        differ.append("optimize.params.*.key")
    if differ:
        raise DataError(
            f"{loaded.path}: --resume {run_dir}: that run folder was made by another config "
            f"({', '.join(differ)} differ); resume it without CONFIG, or give a new --output"
        )


def write_failure(exc: OSError, run_dir: Path, iteration: int) -> str:
    """The one line for a write that failed during a run (disk full, folder gone, read-only)."""
    from invrender.checkpoint import latest

    what = exc.strerror or type(exc).__name__
    where = exc.filename or run_dir
    last = latest(run_dir / "checkpoints")
    kept = f"the last checkpoint {last.name} is intact" if last else "no checkpoint was written yet"
    return (
        f"{where}: cannot write ({what}); the run stopped at iteration {iteration} and {kept}: "
        f"free space, then `invrender optimize --resume {run_dir}`"
    )


class MetricsLog:
    """metrics.csv, rewritten atomically from the rows in memory (a run has few thousand rows)."""

    def __init__(self, path: Path, rows: list[dict[str, Any]] | None = None) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = list(rows or [])

    @classmethod
    def resume(cls, path: Path, up_to_iteration: int) -> MetricsLog:
        """Rows of an earlier run, keeping only iterations below ``up_to_iteration``."""
        rows = []
        if path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["iteration"]) < up_to_iteration]
        return cls(path, rows)

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        fields = list(dict.fromkeys(k for r in self.rows for k in r))
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        writer.writerows(self.rows)
        write_text(self.path, buf.getvalue())

    def losses(self) -> tuple[list[int], list[float]]:
        its = [int(r["iteration"]) for r in self.rows]
        return its, [float(r["loss"]) for r in self.rows]


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    write_text(path, json.dumps(summary, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def plot_loss(path: Path, iterations: list[int], losses: list[float]) -> None:
    """loss.png: the loss curve on a log scale."""
    if not losses:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    ax.plot(iterations, losses, lw=0.8, alpha=0.4, label="per iteration")
    window = max(1, len(losses) // 20)
    if window > 1:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        ax.plot(iterations[window - 1 :], smooth, lw=1.6, label=f"mean of {window}")
        ax.legend(frameon=False)
    if min(losses) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
