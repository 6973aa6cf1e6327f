"""``invrender batch report``: results.csv (one row per run) and report.html (previews and loss
curves side by side), so a sweep is compared at a glance."""

from __future__ import annotations

import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from invrender.batch.layout import REPORT_FILE, RESULTS_FILE, paths, read_batch
from invrender.batch.status import batch_states
from invrender.files import write_text
from invrender.report.batch import STYLE as GRID_STYLE
from invrender.report.batch import heldout_grid, refresh_run_reports, report_cell
from invrender.run.folder import RunFolder

FIXED = ["run", "config", "state"]
METRICS = [
    "iterations",
    "final_loss",
    "psnr",
    "psnr_views",
    "psnr_masked",
    "psnr_full",
    "ssim_masked",
    "ssim_full",
    "wall_time_s",
]


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out[prefix] = value


def result_rows(batch_dir: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """The rows of results.csv: swept values, state, final metrics from summary.json."""
    batch = read_batch(batch_dir)
    states = {s.name: s for s in batch_states(batch_dir)}
    swept_keys = list(dict.fromkeys(k for r in batch["runs"] for k in r.get("swept", {})))
    rows, extra = [], []
    for entry in batch["runs"]:
        name = entry["name"]
        row: dict[str, Any] = {"run": name, "config": Path(entry["config"]).name}
        row["state"] = states[name].state if name in states else "unknown"
        for k in swept_keys:
            v = entry.get("swept", {}).get(k)
            row[k] = v if isinstance(v, str | int | float) or v is None else json.dumps(v)
        summary = _summary(paths(batch_dir, name)["run"])
        for k in METRICS:
            row[k] = summary.get(k)
        more: dict[str, Any] = {}
        for k in ("parameter_error", "psnr_per_view", "geometry"):
            _flatten(k, summary.get(k), more)
        row.update(more)
        extra += [k for k in more if k not in extra]
        row["job_id"] = entry.get("job_id")
        rows.append(row)
    return [*FIXED, *swept_keys, *METRICS, *extra, "job_id"], rows


def _summary(run_dir: Path) -> dict[str, Any]:
    return RunFolder(run_dir).read_summary() or {}


def write_report(batch_dir: Path) -> tuple[Path, Path]:
    fields, rows = result_rows(batch_dir)
    refresh_run_reports([paths(batch_dir, r["run"])["run"] for r in rows])  # rows link to them
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    csv_path = write_text(batch_dir / RESULTS_FILE, buf.getvalue())
    html_path = write_text(batch_dir / REPORT_FILE, _html(batch_dir, fields, rows))
    return csv_path, html_path


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def _html(batch_dir: Path, fields: list[str], rows: list[dict[str, Any]]) -> str:
    name = html.escape(read_batch(batch_dir).get("name", batch_dir.name))
    head = "".join(f"<th>{html.escape(f)}</th>" for f in fields) + "<th>report</th>"
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_fmt(r.get(f)))}</td>" for f in fields)
        + report_cell(batch_dir, paths(batch_dir, r["run"])["run"])  # the run's report.html
        + "</tr>"
        for r in rows
    )
    grid = heldout_grid(batch_dir, [(r["run"], paths(batch_dir, r["run"])["run"]) for r in rows])
    cards = []
    for r in rows:
        run = RunFolder(paths(batch_dir, r["run"])["run"])
        preview = run.latest_preview()
        imgs = []
        if preview is not None:
            rel = preview.relative_to(batch_dir).as_posix()
            imgs.append(f'<img src="{html.escape(rel)}" alt="target | current | error">')
        if run.loss_plot.is_file():
            rel = run.loss_plot.relative_to(batch_dir).as_posix()
            imgs.append(f'<img src="{html.escape(rel)}" alt="loss curve">')
        caption = ", ".join(
            f"{k} = {_fmt(r.get(k))}"
            for k in ("state", "final_loss", "psnr")
            if r.get(k) is not None
        )
        cards.append(
            f'<div class="run"><h3>{html.escape(r["run"])}</h3><p>{html.escape(caption)}</p>'
            f"{''.join(imgs) or '<p>no previews yet</p>'}</div>"
        )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>batch {name}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 2px 6px; }}
.grid {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.run {{ border: 1px solid #ddd; padding: 0.5em; }}
.run img {{ height: 160px; margin-right: 4px; image-rendering: pixelated; }}
{GRID_STYLE}
</style></head><body>
<h1>batch {name}</h1>
<p>Each preview: target | current | error; then the loss curve.</p>
<table><tr>{head}</tr>{body}</table>
{grid}
<h2>Runs</h2><div class="grid">{"".join(cards)}</div>
</body></html>
"""
