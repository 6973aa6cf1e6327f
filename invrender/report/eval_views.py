"""The final evaluation's pictures, saved for report.html: ``RUN/eval/``.

The run's last evaluation renders every held-out view at ``eval_spp`` to measure PSNR and used
to throw the images away; the report wants them at full size, next to their targets. Written
here (called from ``Runner.evaluate``): per view ``<index>_<name>_target.png``, ``_render.png``
(8-bit sRGB) and ``_error.png`` (a heat map of the mean absolute linear error), and
``views.json`` with the PSNRs, the heat maps' scales and every camera (so the report can draw
them without reading the dataset, which may not travel with the run folder).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from invrender.data.images import write_png
from invrender.files import write_bytes, write_text
from invrender.report.images import encode_png8, error_map
from invrender.run.folder import RunFolder

EVAL_DIR = RunFolder.EVAL
VIEWS_NAME = "views.json"
FLIP_X_Z = np.diag([-1.0, 1.0, -1.0, 1.0])  # Mitsuba camera axes <-> OpenGL camera axes


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def file_stem(index: int, name: str) -> str:
    """``0003_r_003``: the view's index (sorts in order) and a file-safe form of its name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "view"
    return f"{index:04d}_{safe[:60]}"


def fov_x_deg(fov: float, axis: str, width: int, height: int) -> float:
    """The horizontal field of view of a Mitsuba camera whose ``fov`` is along ``axis``."""
    tan = math.tan(math.radians(fov) / 2)
    if (
        axis == "y"
        or (axis == "smaller" and height < width)
        or (axis == "larger" and height > width)
    ):
        tan *= width / height
    elif axis == "diagonal":
        tan *= width / math.hypot(width, height)
    return math.degrees(2 * math.atan(tan))


def camera_records(dataset: Any) -> list[dict[str, Any]]:
    """Every view's camera as JSON: camera-to-world in OpenGL axes in the scene's world (the
    GLB's world too), horizontal field of view, image size, held out or not."""
    held = set(dataset.eval_views if dataset.holdout else [])
    out = []
    for i, view in enumerate(dataset.views):
        cam = view.camera
        c2w = np.asarray(cam.to_world, np.float64) @ FLIP_X_Z
        out.append(
            {
                "index": i,
                "name": view.name,
                "c2w": np.round(c2w, 7).tolist(),
                "fov_x_deg": fov_x_deg(cam.fov, cam.fov_axis, cam.width, cam.height),
                "width": int(cam.width),
                "height": int(cam.height),
                "heldout": i in held,
            }
        )
    return out


def write_eval_views(
    run_dir: Path,
    dataset: Any,
    renders: dict[int, np.ndarray],
    scores: dict[str, dict[str, float | None]],
) -> Path:
    """Write ``RUN/eval/``: targets, renders, error maps of the evaluated views, views.json."""
    folder = run_dir / EVAL_DIR
    views = []
    for index, render in renders.items():
        view = dataset.views[index]
        stem = file_stem(index, view.name)
        write_png(folder / f"{stem}_target.png", view.image)
        write_png(folder / f"{stem}_render.png", render)
        heat, vmax = error_map(render, view.image)
        write_bytes(folder / f"{stem}_error.png", encode_png8(heat))
        metrics = {k: _finite(v) for k, v in scores.get(view.name, {}).items()}
        psnr = metrics.get("psnr_masked", metrics.get("psnr_full"))
        views.append(
            {
                "index": index,
                "name": view.name,
                "psnr": psnr,  # the headline: over the object mask when there is one
                **metrics,
                "target": f"{stem}_target.png",
                "render": f"{stem}_render.png",
                "error": f"{stem}_error.png",
                "error_max": vmax,
                "heldout": bool(dataset.holdout),
            }
        )
    record = {
        "views": views,
        "error": "mean absolute error over RGB, linear; colour ramp inferno from 0 to error_max",
        "cameras": camera_records(dataset),
    }
    return write_text(folder / VIEWS_NAME, json.dumps(record, indent=1) + "\n")
