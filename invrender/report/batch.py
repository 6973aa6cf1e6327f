"""The parts of ``invrender batch report`` that come from the runs' own reports: a link from each
row to its run's report.html, and a grid of every run's final held-out view, so a sweep is
compared on the pictures, not only on numbers."""

from __future__ import annotations

import hashlib
import html
import json
from pathlib import Path
from typing import Any

from invrender.report import REPORT_NAME, update_report
from invrender.report.eval_views import EVAL_DIR, VIEWS_NAME
from invrender.report.images import INFERNO, ramp_css
from invrender.run.folder import RunFolder

THUMB = 160  # px: the grid's image height


def refresh_run_reports(run_dirs: list[Path]) -> None:
    """Build the runs' report.html where missing or older than the run's summary (runs made
    before reports existed, or whose last write was interrupted)."""
    for run_dir in run_dirs:
        page, summary = RunFolder(run_dir).report, RunFolder(run_dir).summary
        if not RunFolder(run_dir).config.is_file():
            continue  # not started yet
        stale = not page.is_file() or (
            summary.is_file() and summary.stat().st_mtime_ns > page.stat().st_mtime_ns
        )
        if stale:
            update_report(run_dir)


def report_cell(batch_dir: Path, run_dir: Path) -> str:
    """A table cell linking to the run's report.html (or saying there is none yet)."""
    page = run_dir / REPORT_NAME
    if not page.is_file():
        return "<td>none yet</td>"
    rel = html.escape(page.relative_to(batch_dir).as_posix())
    return f'<td><a href="{rel}">report</a></td>'


def final_view(run_dir: Path) -> dict[str, Any] | None:
    """The run's first evaluated view at the end (eval/), else its latest preview strip."""
    try:
        views = json.loads((run_dir / EVAL_DIR / VIEWS_NAME).read_text()).get("views", [])
    except (OSError, ValueError, AttributeError):
        views = []
    for view in views:
        paths = {k: run_dir / EVAL_DIR / view.get(k, "") for k in ("target", "render", "error")}
        if paths["target"].is_file() and paths["render"].is_file():
            return {**view, **paths}
    previews = sorted(RunFolder(run_dir).previews.glob("iter_*.png"))
    if previews:
        return {"name": "latest preview", "strip": previews[-1], "psnr": None}
    return None


def heldout_grid(batch_dir: Path, runs: list[tuple[str, Path]]) -> str:
    """Every run's final held-out view (reconstruction | error), the distinct targets first."""
    targets: dict[str, tuple[Path, str]] = {}
    cells = []
    for name, run_dir in runs:
        view = final_view(run_dir)
        if view is None:
            cells.append(
                f'<figure class="cell"><div class="missing">no picture yet</div>'
                f"<figcaption>{html.escape(name)}</figcaption></figure>"
            )
            continue
        link = run_dir / REPORT_NAME
        href = html.escape(link.relative_to(batch_dir).as_posix()) if link.is_file() else None
        psnr = view.get("psnr")
        caption = html.escape(name) + (
            f"<br>{html.escape(str(view['name']))}, {psnr:.2f} dB"
            if isinstance(psnr, int | float)
            else f"<br>{html.escape(str(view['name']))}"
        )
        if href:
            caption = f'<a href="{href}">{caption}</a>'
        if "strip" in view:
            imgs = _img(batch_dir, view["strip"], f"{name}: target | current | error")
        else:
            digest = hashlib.sha1(view["target"].read_bytes()).hexdigest()
            targets.setdefault(digest, (view["target"], f"target: {view['name']}"))
            imgs = f"<div>{_img(batch_dir, view['render'], f'{name}: reconstruction')}</div>"
            if view["error"].is_file():
                top = float(view.get("error_max") or 0)
                imgs += (
                    f"<div>{_img(batch_dir, view['error'], f'{name}: error')}"
                    f'<div class="gbar" style="background: {ramp_css(INFERNO)}" '
                    f'title="error 0 to {top:.3g}"></div>'
                    f'<div class="gticks"><span>0</span><span>{top:.3g}</span></div></div>'
                )
            imgs = f'<div class="pair">{imgs}</div>'
        cells.append(f'<figure class="cell">{imgs}<figcaption>{caption}</figcaption></figure>')
    firsts = [
        f'<figure class="cell">{_img(batch_dir, path, label)}'
        f"<figcaption>{html.escape(label)}</figcaption></figure>"
        for path, label in targets.values()
    ]
    return (
        "<h2>Final held-out views</h2><p>Each run's first held-out view at the end of the run "
        "(reconstruction | error, mean absolute error in linear units on its colour bar); the "
        "targets first. A run's picture links to its report.</p>"
        f'<div class="ggrid">{"".join(firsts + cells)}</div>'
    )


def _img(batch_dir: Path, path: Path, alt: str) -> str:
    rel = html.escape(path.relative_to(batch_dir).as_posix())
    return f'<img src="{rel}" alt="{html.escape(alt)}" title="{html.escape(alt)}">'


STYLE = f"""
.ggrid {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.ggrid figure.cell {{ margin: 0; border: 1px solid #ddd; padding: 4px; }}
.ggrid img {{ height: {THUMB}px; image-rendering: pixelated; display: block; }}
.ggrid .pair {{ display: flex; gap: 4px; align-items: flex-start; }}
.ggrid figcaption {{ font-size: 0.8em; }}
.ggrid .gbar {{ height: 6px; margin-top: 2px; }}
.ggrid .gticks {{ display: flex; justify-content: space-between; font-size: 0.7em; }}
.ggrid .missing {{ height: {THUMB}px; width: {THUMB}px; background: #eee; }}
"""
