"""A batch folder's layout: batch.json, and per run its run folder, log and job state file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from invrender.errors import DataError

BATCH_FILE = "batch.json"
RESULTS_FILE = "results.csv"  # `invrender batch report`: one row per run
REPORT_FILE = "report.html"  # the batch's own page (each run has its report.html too)


def paths(batch_dir: Path, name: str) -> dict[str, Path]:
    """Where run ``name`` of the batch keeps its run folder, its log and its job state."""
    return {
        "run": batch_dir / "runs" / name,
        "log": batch_dir / "logs" / f"{name}.log",
        "state": batch_dir / "jobs" / f"{name}.json",
    }


def read_batch(batch_dir: Path) -> dict[str, Any]:
    path = batch_dir / BATCH_FILE
    if not path.is_file():
        raise DataError(f"{batch_dir}: not a batch folder (no {BATCH_FILE}); check the path")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
