"""metrics.csv, summary.json and the loss curve of a run: each rewritten whole and atomically."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from invrender.files import atomic_path, write_text


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
