"""The HTML of report.html: one static page, every picture a file next to it, curves as SVG.

Sections: the asset in 3D (model-viewer, lit by the recovered sky) with the cameras; held-out
views (target | reconstruction | error with its colour bar); curves; errors against the ground
truth; the recovered sky and material maps; the config and what ``--set`` changed. Each one
says what is missing and why instead of disappearing, so an old run's page still explains
itself.
"""

from __future__ import annotations

import html
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from invrender.report import svg
from invrender.report.glb import Camera
from invrender.report.images import INFERNO, PREVIEW_ERROR_SCALE, PREVIEW_RAMP, ramp_css
from invrender.report.run_data import RunData
from invrender.run.folder import RunFolder

MIN_IMAGE_WIDTH = 256  # small renders are scaled up by a whole factor, pixels kept sharp
BASE_COLUMNS = {"iteration", "loss", "time_s", "iter_s", "skipped"}
REFRESH_S = 30


@dataclass
class Assets:
    """What build_report prepared in report_assets/ (paths relative to the run folder)."""

    viewer_js: str | None = None  # model-viewer, when there is a GLB to show
    glb_js: str | None = None
    env_js: str | None = None
    env_png: str | None = None
    env_white: float | None = None
    maps: list[tuple[str, str]] = field(default_factory=list)  # (label, png)
    preview_tiles: tuple[str, str, str] | None = None  # target, current, error
    preview_iteration: int | None = None
    preview_psnr: list[tuple[int, float]] = field(default_factory=list)
    bounds: tuple[list[float], list[float]] | None = None  # the asset's box, from the GLB


def _other_metrics(s: dict[str, Any]) -> str:
    """``; full image 24.1 dB; SSIM 0.95 (mask), 0.91 (full)``: the metrics beside the headline."""
    parts = []
    if "psnr_masked" in s and isinstance(s.get("psnr_full"), int | float):
        parts.append(f"full image {s['psnr_full']:.2f} dB")
    ssims = [
        f"{s[k]:.3f} ({what})"
        for k, what in (("ssim_masked", "object mask"), ("ssim_full", "full image"))
        if isinstance(s.get(k), int | float)
    ]
    if ssims:
        parts.append("SSIM " + ", ".join(ssims))
    return "".join(f"; {p}" for p in parts)


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value).lower()
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def _image(src: str, width: int, alt: str, cls: str = "") -> str:
    shown = width * max(1, math.ceil(MIN_IMAGE_WIDTH / max(1, width)))
    return (
        f'<img src="{esc(src)}" width="{shown}" alt="{esc(alt)}" title="{esc(alt)}" '
        f'class="px {cls}" loading="lazy">'
    )


def _colour_bar(ramp: tuple[tuple[int, int, int], ...], top: float, label: str) -> str:
    return (
        f'<div class="cbar"><div class="ramp" style="background: {ramp_css(ramp)}"></div>'
        f'<div class="ticks"><span>0</span><span>{esc(label)}</span><span>{fmt(top, 3)}</span>'
        "</div></div>"
    )


# -- header ------------------------------------------------------------------------------------
def header(run: RunData, live: bool) -> str:
    # While the run goes, a summary.json is an earlier end's (a resumed run): not shown.
    s = {} if live else run.summary or {}
    done = int(run.metrics[-1]["iteration"]) + 1 if run.metrics else 0
    total = run.total_iterations
    if live:
        status = "running"
    elif run.summary:
        status = s.get("status", "?")
    else:
        status = "no summary (running, or stopped before the end)"
    facts = [
        ("status", status),
        ("iterations", f"{s.get('iterations', done)} / {total if total is not None else '?'}"),
        ("final loss", fmt(s.get("final_loss"))),
        (
            "PSNR",
            f"{s['psnr']:.2f} dB ({s.get('psnr_views', 'held-out')})" + _other_metrics(s)
            if isinstance(s.get("psnr"), int | float)
            else "n/a (at the end of the run)",
        ),
        ("wall time", f"{s['wall_time_s']:.1f} s" if "wall_time_s" in s else "n/a"),
        ("pipeline", s.get("pipeline") or (run.config.get("optimize") or {}).get("pipeline")),
        ("integrator", s.get("integrator") or (run.config.get("integrator") or {}).get("type")),
        ("variant", s.get("variant", "n/a")),
    ]
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in facts)
    note = (
        f'<p class="live">The run is going: this page is rewritten at every preview and reloads '
        f"every {REFRESH_S} s.</p>"
        if live
        else ""
    )
    problems = "".join(f'<p class="note">{esc(n)}</p>' for n in run.notes)
    return (
        f"<header><h1>invrender run <code>{esc(run.name)}</code></h1>{note}"
        f'<table class="facts">{rows}</table>{problems}'
        f'<p class="small">Folder <code>{esc(run.run_dir.resolve())}</code>; page written '
        f"{esc(time.strftime('%Y-%m-%d %H:%M:%S'))} by <code>invrender report</code>.</p>"
        "</header>"
    )


NAV = (
    '<nav><a href="#asset">3D asset</a> <a href="#views">held-out views</a> '
    '<a href="#curves">curves</a> <a href="#errors">errors</a> '
    '<a href="#maps">lighting and materials</a> <a href="#config">config</a> '
    '<a href="#files">files</a></nav>'
)


# -- 3D ------------------------------------------------------------------------------------------
def _orbit(camera: Camera, centre: np.ndarray) -> dict[str, str]:
    """model-viewer attributes that put its camera where ``camera`` is, looking as it does."""
    pos, fwd = camera.position, camera.forward
    target = pos + fwd * max(1e-6, float(np.dot(centre - pos, fwd)))
    offset = pos - target
    radius = float(np.linalg.norm(offset)) or 1.0
    theta = math.degrees(math.atan2(offset[0], offset[2]))
    phi = math.degrees(math.acos(max(-1.0, min(1.0, offset[1] / radius))))
    return {
        "camera-target": " ".join(f"{v:.5g}m" for v in target),
        "camera-orbit": f"{theta:.4g}deg {phi:.4g}deg {radius:.5g}m",
        "field-of-view": f"{camera.fov_y_deg:.4g}deg",
    }


def asset_section(run: RunData, assets: Assets) -> str:
    parts = ['<section id="asset"><h2>The asset in 3D</h2>']
    if run.glb is None or assets.glb_js is None or assets.viewer_js is None:
        formats = (run.config.get("output") or {}).get("export") or []
        why = (
            "the run has not ended yet (the export is written at the end)"
            if run.summary is None
            else "this run exported no glTF (output.export has no <code>gltf</code>)"
            if "gltf" not in formats
            else "export/gltf/scene.glb is missing (the export may have failed: see summary.json)"
        )
        parts.append(
            f'<p class="note" id="no-viewer">No 3D view: {why}. Add one with '
            f"<code>invrender export {esc(run.run_dir)} --format gltf</code>, then "
            f"<code>invrender report {esc(run.run_dir)}</code>.</p>"
        )
    else:
        centre = (
            (np.asarray(assets.bounds[0]) + np.asarray(assets.bounds[1])) / 2
            if assets.bounds
            else np.zeros(3)
        )
        held = [c for c in run.cameras if c.heldout] or run.cameras
        attrs = {
            "camera-controls": "",
            "tone-mapping": "none",
            "interaction-prompt": "none",
            "shadow-intensity": "0",
            "max-field-of-view": "100deg",
            "alt": f"{run.name}: the exported GLB",
        }
        far = 0.0
        if held:
            attrs.update(_orbit(held[0], centre))
            far = max(float(np.linalg.norm(c.position - centre)) for c in run.cameras)
            attrs["max-camera-orbit"] = f"auto auto {3 * far:.5g}m"
            attrs["min-camera-orbit"] = "auto auto 0.01m"
        attr_text = " ".join(f'{k}="{esc(v)}"' if v else k for k, v in attrs.items())
        scripts = "".join(
            f'<script src="{esc(src)}"></script>'
            for src in (assets.viewer_js, assets.glb_js, assets.env_js)
            if src
        )
        env_note = (
            "lit by the recovered environment map"
            if assets.env_js
            else "lit by the viewer's neutral studio light (the run recovered no environment map)"
        )
        cams = (
            f"{len(run.cameras)} cameras from <code>{esc(run.cameras_source)}</code> (tick "
            "<i>cameras</i>: grey frustums train, orange ones are held out); it opens at the first "
            "held-out camera, to compare with the held-out views below"
            if run.cameras
            else "no cameras recorded in the run folder"
        )
        parts.append(
            f'<div class="viewer-row"><div class="viewer-col">{scripts}'
            f'<model-viewer id="viewer" {attr_text}><div slot="progress-bar"></div>'
            "</model-viewer>"  # the line below says "loading" instead of a bar
            '<p class="small" id="viewer-status">loading the 3D view...</p>'
            '<p class="controls"><button type="button" id="view-heldout">held-out view</button> '
            '<button type="button" id="view-all">all cameras</button> '
            '<label><input type="checkbox" id="cams"> cameras</label> '
            '<label><input type="checkbox" id="sky"> sky as background</label></p>'
            f'<p class="small"><code>export/gltf/scene.glb</code>, {env_note} (no tone '
            f"mapping, as the renders); {cams}. Drag to orbit, scroll to zoom.</p></div>"
            f"{camera_top_view(run.cameras, assets.bounds)}</div>"
            f"<script>{_viewer_js(far)}</script>"
        )
    parts.append("</section>")
    return "".join(parts)


def _viewer_js(far: float) -> str:
    """Blob URLs for the embedded GLB and sky (browsers refuse fetch() on file:// pages, but run
    classic scripts), a DOM flag the tests poll, and the view buttons."""
    return """
(function () {
  var body = document.body, status = document.getElementById('viewer-status');
  var A = window.INVRENDER_ASSETS || {}, mv = document.getElementById('viewer');
  function say(state, text) { body.dataset.viewer = state; status.textContent = text; }
  if (!window.customElements || !customElements.get('model-viewer') || !A['scene.glb']) {
    say('error', 'the 3D viewer could not start (report_assets/ missing or incomplete)');
    return;
  }
  function url(b64, type, suffix) {
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return URL.createObjectURL(new Blob([bytes], {type: type})) + (suffix || '');
  }
  say('loading', 'loading the 3D view...');
  function cameras(show) {  // the frustums' materials: invisible unless asked for
    if (!mv.model) return Promise.resolve();
    return Promise.all(mv.model.materials.filter(function (m) {
      return m.name.indexOf('invrender_') === 0;
    }).map(function (m) {
      return m.ensureLoaded().then(function () {
        var c = m.pbrMetallicRoughness.baseColorFactor;
        m.setAlphaMode(show ? 'OPAQUE' : 'BLEND');
        m.pbrMetallicRoughness.setBaseColorFactor([c[0], c[1], c[2], show ? 1 : 0]);
      });
    }));
  }
  var camBox = document.getElementById('cams');
  camBox.onchange = function () { cameras(camBox.checked); };
  mv.addEventListener('load', function () {
    cameras(camBox.checked).then(function () { say('loaded', ''); },
                                 function (e) { say('error', '3D view failed: ' + e); });
  });
  mv.addEventListener('error', function (e) {
    say('error', '3D view failed: ' + ((e.detail && e.detail.type) || 'error'));
  });
  var sky = null;
  // model-viewer takes a .hdr by its name: the fragment names the blob and is not fetched.
  if (A['env.hdr']) { sky = url(A['env.hdr'], 'image/vnd.radiance', '#env.hdr');
                      mv.environmentImage = sky; }
  mv.src = url(A['scene.glb'], 'model/gltf-binary');
  var start = {orbit: mv.getAttribute('camera-orbit'), target: mv.getAttribute('camera-target'),
               fov: mv.getAttribute('field-of-view')};
  document.getElementById('view-heldout').onclick = function () {
    if (start.orbit) { mv.cameraOrbit = start.orbit; mv.cameraTarget = start.target;
                       mv.fieldOfView = start.fov; }
  };
  document.getElementById('view-all').onclick = function () {
    camBox.checked = true;
    cameras(true);
    var o = mv.getCameraOrbit();  // turned and raised, so the held-out camera is not in front
    mv.cameraOrbit = (o.theta + 0.7) + 'rad 0.75rad ' + (FAR > 0 ? 2.2 * FAR + 'm' : 'auto');
    mv.fieldOfView = '45deg';
  };
  var box = document.getElementById('sky');
  box.disabled = !sky;
  box.onchange = function () { mv.skyboxImage = box.checked ? sky : null; };
})();
""".replace("FAR", f"{far:.6g}")


def camera_top_view(cameras: list[Camera], bounds: Any, size: int = 300) -> str:
    """An SVG seen from above (+Y): the asset's box and every camera with its viewing ray."""
    if not cameras:
        return ""
    pts = np.array([c.position for c in cameras])
    xs, zs = list(pts[:, 0]), list(pts[:, 2])
    if bounds:
        xs += [bounds[0][0], bounds[1][0]]
        zs += [bounds[0][2], bounds[1][2]]
    lo_x, hi_x, lo_z, hi_z = min(xs), max(xs), min(zs), max(zs)
    span = max(hi_x - lo_x, hi_z - lo_z, 1e-6) * 1.15
    cx, cz = (lo_x + hi_x) / 2, (lo_z + hi_z) / 2

    def p(x: float, z: float) -> tuple[float, float]:
        return size / 2 + (x - cx) / span * size, size / 2 + (z - cz) / span * size

    out = [
        f'<svg class="topview" width="{size}" height="{size + 18}" '
        f'viewBox="0 0 {size} {size + 18}" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{size}" height="{size}" fill="#fafafa" stroke="#ccc"/>'
    ]
    if bounds:
        (x0, z0), (x1, z1) = p(bounds[0][0], bounds[0][2]), p(bounds[1][0], bounds[1][2])
        out.append(
            f'<rect x="{x0:.1f}" y="{z0:.1f}" width="{x1 - x0:.1f}" height="{z1 - z0:.1f}" '
            'fill="#ddd" stroke="#888"/>'
        )
    ray = span * 0.08
    for c in sorted(cameras, key=lambda c: c.heldout):
        x, z = p(c.position[0], c.position[2])
        f = c.forward
        norm = math.hypot(f[0], f[2]) or 1.0
        x2, z2 = p(c.position[0] + f[0] / norm * ray, c.position[2] + f[2] / norm * ray)
        colour = "#f27200" if c.heldout else "#7a8599"
        out.append(
            f'<line x1="{x:.1f}" y1="{z:.1f}" x2="{x2:.1f}" y2="{z2:.1f}" stroke="{colour}" '
            f'stroke-width="2"/><circle cx="{x:.1f}" cy="{z:.1f}" r="4" fill="{colour}">'
            f"<title>{esc(c.name)}{' (held out)' if c.heldout else ''}</title></circle>"
        )
        if c.heldout:
            right = x > size * 0.7  # keep the label inside the picture
            out.append(
                f'<text x="{x - 6 if right else x + 6:.1f}" y="{z - 6:.1f}" '
                f'text-anchor="{"end" if right else "start"}">{esc(c.name)}</text>'
            )
    out.append(
        f'<text x="4" y="{size + 14}">cameras from above (x right, z down); '
        "orange: held out</text></svg>"
    )
    return "".join(out)


# -- held-out views ------------------------------------------------------------------------------
def views_section(run: RunData, assets: Assets) -> str:
    parts = ['<section id="views"><h2>Held-out views</h2>']
    spp = (run.config.get("optimize") or {}).get("eval_spp")
    if run.eval_views:
        held = any(v.get("heldout", True) for v in run.eval_views)
        parts.append(
            f"<p>The end of the run rendered each {'held-out' if held else 'training'} view "
            f"at {esc(spp)} spp (<code>eval/</code>): target | reconstruction | error, the "
            "mean absolute error over RGB in linear units.</p>"
        )
        for v in run.eval_views:
            width = _png_width(RunFolder(run.run_dir).eval_dir / v["render"])
            psnr = v.get("psnr")
            label = f"{v['name']} (view {v['index']})" + (
                f", PSNR {psnr:.2f} dB" if isinstance(psnr, int | float) else ""
            )
            error = (
                _image(f"eval/{v['error']}", width, f"{v['name']}: error")
                + _colour_bar(INFERNO, float(v.get("error_max", 0.01)), "abs. error")
                if v.get("error")
                else ""
            )
            parts.append(
                f'<figure class="view"><figcaption>{esc(label)}</figcaption><div class="trio">'
                f'<div><div class="lbl">target</div>'
                f"{_image('eval/' + v['target'], width, v['name'] + ': target')}</div>"
                f'<div><div class="lbl">reconstruction</div>'
                f"{_image('eval/' + v['render'], width, v['name'] + ': reconstruction')}</div>"
                f'<div><div class="lbl">error</div>{error}</div></div></figure>'
            )
    elif assets.preview_tiles:
        name = next(iter((run.summary or {}).get("psnr_per_view", {}) or {}), None)
        psnr_now = assets.preview_psnr[-1][1] if assets.preview_psnr else None
        label = (
            f"{name or 'the first held-out view'}, preview of iteration "
            f"{assets.preview_iteration}"
            + (f", PSNR {psnr_now:.2f} dB (from the 8-bit preview)" if psnr_now else "")
        )
        width = _png_width(run.run_dir / assets.preview_tiles[0])
        t, c, e = assets.preview_tiles
        parts.append(
            '<p class="note">No full evaluation renders in <code>eval/</code> (the run has not '
            "ended, or was made before runs saved them): the latest preview instead, rendered "
            "at the training spp.</p>"
            f'<figure class="view"><figcaption>{esc(label)}</figcaption><div class="trio">'
            f'<div><div class="lbl">target</div>{_image(t, width, "target")}</div>'
            f'<div><div class="lbl">current</div>{_image(c, width, "current")}</div>'
            f'<div><div class="lbl">error</div>{_image(e, width, "error")}'
            f"{_colour_bar(PREVIEW_RAMP, 1.0 / PREVIEW_ERROR_SCALE, 'abs. error')}</div>"
            "</div></figure>"
        )
    else:
        parts.append(
            '<p class="note">No evaluation renders (<code>eval/</code>) and no previews in the run '
            "folder (the run has not reached <code>output.preview_every</code>, or was made "
            "before runs saved <code>eval/</code>; <code>invrender export</code> does not "
            "render them).</p>"
        )
    parts.append("</section>")
    return "".join(parts)


def _png_width(path: Path) -> int:
    """A PNG's width from its header (no decoding)."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
        return int.from_bytes(head[16:20], "big") if head[:8] == b"\x89PNG\r\n\x1a\n" else 64
    except OSError:
        return 64


# -- curves --------------------------------------------------------------------------------------
def _column(rows: list[dict[str, str]], key: str) -> tuple[list[float], list[float | None]]:
    xs, ys = [], []
    for r in rows:
        raw = (r.get(key) or "").strip()
        if raw == "":
            continue
        if raw in ("True", "False", "true", "false"):
            value: float | None = 1.0 if raw.lower() == "true" else 0.0
        else:
            try:
                value = float(raw)
            except ValueError:
                continue
        xs.append(float(r["iteration"]))
        ys.append(value if value is not None and math.isfinite(value) else None)
    return xs, ys


def _param_names(run: RunData) -> dict[str, str]:
    params = (run.config.get("optimize") or {}).get("params") or []
    return {
        f"lr_{i}": str(p.get("key", f"group {i}"))
        for i, p in enumerate(params)
        if isinstance(p, dict)
    }


def curves_section(run: RunData, assets: Assets) -> str:
    rows = run.metrics
    parts = ['<section id="curves"><h2>Curves</h2>']
    if not rows:
        parts.append('<p class="note">No metrics.csv yet.</p></section>')
        return "".join(parts)
    plots: list[str] = []
    xs, loss = _column(rows, "loss")
    window = max(1, len(loss) // 20)
    series = [svg.Series("per iteration", xs, loss, color="#9bbbd9", width=1.0)]
    if window > 1:
        series.append(
            svg.Series(f"mean of {window}", xs, svg.moving_average(loss, window), "#1f4e8c", 2)
        )
    plots.append(svg.line_plot(svg.Plot("loss", series, ylabel="loss", log_y=True)))
    psnr_series = []
    if assets.preview_psnr:
        its, values = zip(*assets.preview_psnr, strict=True)
        psnr_series.append(svg.Series("previews (training spp)", its, values, markers=True))
    per_view = (run.summary or {}).get("psnr_per_view") or {}
    final = next(iter(per_view.values()), None)  # the previews show the first evaluated view
    per_view_metrics: dict[str, Any] = (run.summary or {}).get("metrics_per_view") or {}
    first_metrics: Any = next(iter(per_view_metrics.values()), {})
    if isinstance(first_metrics, dict) and "psnr_full" in first_metrics:
        final = first_metrics["psnr_full"]  # the previews' PSNR is over the full image too
    if isinstance(final, int | float) and math.isfinite(final):
        last = float(rows[-1]["iteration"]) + 1
        psnr_series.append(svg.Series("final (eval spp)", [last], [final], "#d62728", markers=True))
    plots.append(
        svg.line_plot(svg.Plot("PSNR, first held-out view (dB)", psnr_series, ylabel="dB"))
    )
    names = _param_names(run)
    lr_keys = [k for k in rows[0] if k.startswith("lr_")]
    lr_series = [svg.Series(names.get(k, k), *_column(rows, k)) for k in lr_keys]
    if lr_series:
        plots.append(svg.line_plot(svg.Plot("learning rates", lr_series, ylabel="lr", log_y=True)))
    if "iter_s" in rows[0]:
        plots.append(
            svg.line_plot(
                svg.Plot(
                    "time per iteration",
                    [svg.Series("s/it", *_column(rows, "iter_s"), width=1.0)],
                    ylabel="s",
                    log_y=True,
                )
            )
        )
    parts.append(f'<div class="plots">{"".join(plots)}</div>')
    extra = [k for k in rows[0] if k not in BASE_COLUMNS and not k.startswith("lr_")]
    extra_plots = []
    for key in extra:
        x, y = _column(rows, key)
        if sum(v is not None for v in y) < 1:
            continue
        integer = all(v is None or float(v).is_integer() for v in y)
        extra_plots.append(
            svg.line_plot(
                svg.Plot(
                    key.replace("_", " "),
                    [svg.Series(key, x, y, markers=len(x) < 40, step=integer)],
                    width=300,
                    height=200,
                )
            )
        )
    if extra_plots:
        parts.append(
            "<h3>Metrics over iterations</h3><p>Columns of <code>metrics.csv</code> beyond the "
            "loss (geometry runs: Chamfer distance as a fraction of the bounding-box diagonal, "
            "normal consistency, genus, components, watertight = 1, self-intersections).</p>"
            f'<div class="plots">{"".join(extra_plots)}</div>'
        )
    parts.append("</section>")
    return "".join(parts)


# -- errors --------------------------------------------------------------------------------------
def errors_section(run: RunData) -> str:
    s = run.summary or {}
    parts = ['<section id="errors"><h2>Errors against the ground truth</h2>']
    errors = s.get("parameter_error") or {}
    if errors:
        head = "<tr><th>parameter</th><th>RMSE</th><th>MAE</th></tr>"
        body = "".join(
            f"<tr><td><code>{esc(k)}</code></td><td>{fmt(v.get('rmse'))}</td>"
            f"<td>{fmt(v.get('mae'))}</td></tr>"
            for k, v in errors.items()
            if isinstance(v, dict)
        )
        parts.append(
            "<p>At the end of the run (a run logs these only at its end, not per iteration).</p>"
            f"<table>{head}{body}</table>"
        )
    else:
        parts.append(
            '<p class="note">No per-parameter errors (no ground truth known, no optimized '
            "value left in the scene, or the run has not ended).</p>"
        )
    for key, title in (("geometry", "Geometry"), ("texture", "Texture stage")):
        block = s.get(key)
        if isinstance(block, dict) and block:
            body = "".join(
                f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>" for k, v in block.items()
            )
            parts.append(f"<h3>{title}</h3><table>{body}</table>")
    per_view = s.get("psnr_per_view") or {}
    if per_view:
        body = "".join(
            f"<tr><th>{esc(k)}</th><td>{fmt(v)} dB</td></tr>" for k, v in per_view.items()
        )
        parts.append(f"<h3>PSNR per view</h3><table>{body}</table>")
    parts.append("</section>")
    return "".join(parts)


# -- maps ----------------------------------------------------------------------------------------
def maps_section(run: RunData, assets: Assets) -> str:
    parts = ['<section id="maps"><h2>Lighting and materials</h2><div class="maps">']
    if assets.env_png:
        parts.append(
            f'<figure><img src="{esc(assets.env_png)}" class="env" alt="environment map">'
            f"<figcaption>recovered environment map (Mitsuba's layout, +Z at the centre; "
            f"shown scaled by 1/{fmt(assets.env_white, 3)} so its 99th percentile is white)"
            "</figcaption></figure>"
        )
    for label, png in assets.maps:
        parts.append(
            f'<figure><img src="{esc(png)}" class="map px" alt="{esc(label)}">'
            f"<figcaption>{esc(label)}</figcaption></figure>"
        )
    parts.append("</div>")
    if not assets.env_png and not assets.maps:
        parts.append(
            '<p class="note">No environment map or material textures in the export (they come '
            "from <code>export/mitsuba/</code> or the GLB, written at the end of a run with "
            "<code>output.export</code> mitsuba or gltf).</p>"
        )
    if run.scalars:
        rows = "".join(
            f"<tr><th>{esc(shape)}</th><td>"
            + ", ".join(f"{esc(k)} = {esc(v)}" for k, v in values.items())
            + "</td></tr>"
            for shape, values in run.scalars.items()
        )
        parts.append(f"<h3>Material constants (export/mitsuba/scene.xml)</h3><table>{rows}</table>")
    parts.append("</section>")
    return "".join(parts)


# -- config --------------------------------------------------------------------------------------
def config_section(run: RunData) -> str:
    parts = ['<section id="config"><h2>Config</h2>']
    if run.overrides is None:
        parts.append(
            '<p class="note">This run did not record its command-line overrides (made before '
            "invrender wrote <code>overrides.json</code>).</p>"
        )
    else:
        items = []
        for entry in run.overrides:
            what = "resumed" if entry.get("resume") else "started"
            sets = entry.get("set") or []
            text = (
                " ".join(f"<code>--set {esc(s)}</code>" for s in sets)
                if sets
                else "no <code>--set</code>"
            )
            items.append(
                f"<li>{esc(entry.get('time', ''))}: {what} from "
                f"<code>{esc(entry.get('config'))}</code> with {text}</li>"
            )
        parts.append(f"<p>What the command line changed:</p><ul>{''.join(items)}</ul>")
    if run.config_text is not None:
        parts.append(
            "<details open><summary><code>config.resolved.yaml</code> (defaults filled in, "
            f"overrides applied)</summary><pre>{esc(run.config_text)}</pre></details>"
        )
    else:
        parts.append('<p class="note">No config.resolved.yaml.</p>')
    parts.append("</section>")
    return "".join(parts)


def files_section(run: RunData) -> str:
    f = RunFolder
    names = [
        f.SUMMARY,
        f.METRICS,
        f.CONFIG,
        f.OVERRIDES,
        f.LOSS_PLOT,
        f"{f.EVAL}/views.json",
        f"{f.EXPORT}/gltf/scene.glb",
        f"{f.EXPORT}/mitsuba/scene.xml",
        f"{f.EXPORT}/obj",
        f"{f.EXPORT}/blender/scene.blend",
        f"{f.EXPORT}/cameras/transforms.json",
        f.PREVIEWS,
        f.CHECKPOINTS,
    ]
    items = "".join(
        f'<li><a href="{esc(n)}">{esc(n)}</a></li>' for n in names if (run.run_dir / n).exists()
    )
    return f'<section id="files"><h2>Files</h2><ul class="files">{items}</ul></section>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1em;
       color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ddd; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.4em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: left; vertical-align: top; }
table.facts th { background: #f4f4f4; }
nav a { margin-right: 1em; }
.note { color: #8a5a00; background: #fff8e5; padding: 4px 8px; border-left: 3px solid #e0a800; }
.live { color: #064; background: #e8fff2; padding: 4px 8px; }
.small { font-size: 0.85em; color: #555; }
img.px { image-rendering: pixelated; image-rendering: crisp-edges; display: block; }
.trio { display: flex; gap: 10px; flex-wrap: wrap; align-items: flex-start; }
.lbl { font-size: 0.85em; color: #555; }
figure.view { margin: 0.5em 0 1.2em 0; }
figure.view figcaption { font-weight: 600; margin-bottom: 4px; }
.cbar { width: 100%; min-width: 200px; margin-top: 3px; }
.cbar .ramp { height: 10px; border: 1px solid #999; }
.cbar .ticks { display: flex; justify-content: space-between; font-size: 0.75em; color: #444; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
svg.plot { background: #fff; border: 1px solid #eee; font-size: 10px; }
svg.plot .t { font-size: 12px; font-weight: 600; }
svg.plot .g { stroke: #eee; }
svg.topview { font-size: 10px; }
.viewer-row { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.viewer-col { flex: 0 0 640px; }
model-viewer { width: 640px; height: 480px; background: #3a3d42; display: block; }
.maps { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; }
.maps img.env { width: 512px; }
.maps img.map { width: 256px; }
.maps figure { margin: 0; } .maps figcaption { font-size: 0.85em; }
pre { background: #f7f7f7; padding: 8px; overflow: auto; max-height: 40em; font-size: 0.85em; }
"""


def render_page(run: RunData, assets: Assets, live: bool) -> str:
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_S}">' if live else ""
    body = "".join(
        [
            header(run, live),
            NAV,
            asset_section(run, assets),
            views_section(run, assets),
            curves_section(run, assets),
            errors_section(run),
            maps_section(run, assets),
            config_section(run),
            files_section(run),
        ]
    )
    meta = json.dumps({"run": run.name, "live": live})
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"{refresh}<title>invrender: {esc(run.name)}</title>"
        f"<style>{STYLE}</style></head>"
        f"<body data-viewer=\"none\" data-report='{esc(meta)}'>{body}</body></html>\n"
    )
