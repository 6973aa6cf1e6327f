"""Small inline-SVG line plots for report.html: no JavaScript chart library, nothing to fetch,
and the page stays readable when printed or opened years later."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass
class Series:
    """One line: x and y values (NaN or None breaks the line), a legend label, a style."""

    label: str
    x: Sequence[float]
    y: Sequence[float | None]
    color: str | None = None
    width: float = 1.5
    opacity: float = 1.0
    markers: bool = False
    step: bool = False  # draw as steps (integer metrics: genus, components, triangles)


@dataclass
class Plot:
    title: str
    series: list[Series] = field(default_factory=list)
    xlabel: str = "iteration"
    ylabel: str = ""
    log_y: bool = False
    width: int = 420
    height: int = 240


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [lo, hi] (1, 2, 5 times a power of ten)."""
    if not (_finite(lo) and _finite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 5, 10)), key=lambda c: abs(math.log(c / raw)))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{v:.4g}"


def line_plot(plot: Plot) -> str:
    """The plot as an ``<svg>`` element string; an empty-data plot says so instead of failing."""
    w, h = plot.width, plot.height
    left, right, top, bottom = 56, 10, 22, 34
    legend_rows = (len(plot.series) + 1) // 2 if len(plot.series) > 1 else 0
    bottom += 14 * legend_rows
    pw, ph = w - left - right, h - top - bottom
    xs = [
        float(x)
        for s in plot.series
        for x, y in zip(s.x, s.y, strict=False)
        if y is not None and math.isfinite(y)
    ]
    ys = [float(y) for s in plot.series for y in s.y if y is not None and math.isfinite(y)]
    log_y = plot.log_y and ys and min(ys) > 0
    parts = [
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" role="img" aria-label="{html.escape(plot.title)}">',
        f'<text x="{w / 2}" y="14" text-anchor="middle" class="t">{html.escape(plot.title)}</text>',
    ]
    if not ys:
        parts.append(f'<text x="{w / 2}" y="{h / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(parts)

    def ty(v: float) -> float:
        return math.log10(v) if log_y else v

    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ty(y) for y in ys), max(ty(y) for y in ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    else:
        pad = (y1 - y0) * 0.05
        y0, y1 = y0 - pad, y1 + pad

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (ty(y) - y0) / (y1 - y0) * ph

    parts.append(
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>'
    )
    if log_y:
        lo, hi = math.floor(y0), math.ceil(y1)
        yticks = [10.0**e for e in range(lo, hi + 1) if y0 <= e <= y1]
        if len(yticks) < 3:  # a decade or two: 1, 2, 5 times each power of ten
            yticks = [
                m * 10.0**e
                for e in range(lo, hi + 1)
                for m in (1, 2, 5)
                if y0 <= math.log10(m * 10.0**e) <= y1
            ]
        if len(yticks) < 2:  # less than that: round values in between
            yticks = [t for t in nice_ticks(10**y0, 10**y1, 4) if t > 0]
    else:
        yticks = nice_ticks(y0, y1)
    for t in yticks:
        y = py(t)
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" class="g"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in nice_ticks(x0, x1):
        x = px(t)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + ph}" class="g"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{_fmt(t)}</text>')
    parts.append(
        f'<text x="{left + pw / 2}" y="{top + ph + 28}" text-anchor="middle">'
        f"{html.escape(plot.xlabel)}</text>"
    )
    if plot.ylabel:
        yl = html.escape(plot.ylabel + (" (log)" if log_y else ""))
        parts.append(
            f'<text transform="translate(12 {top + ph / 2}) rotate(-90)" text-anchor="middle">'
            f"{yl}</text>"
        )
    for i, s in enumerate(plot.series):
        color = s.color or PALETTE[i % len(PALETTE)]
        for run in _runs(s):
            pts = [(px(x), py(y)) for x, y in run]
            if s.step:
                stepped: list[tuple[float, float]] = []
                for j, (x, y) in enumerate(pts):
                    if j:
                        stepped.append((x, stepped[-1][1]))
                    stepped.append((x, y))
                pts = stepped
            d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(
                f'<polyline points="{d}" fill="none" stroke="{color}" '
                f'stroke-width="{s.width}" stroke-opacity="{s.opacity}"/>'
            )
            if s.markers or len(pts) == 1:
                parts += [
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in pts
                ]
        if legend_rows:
            lx = left + (i % 2) * pw / 2
            ly = top + ph + 44 + 14 * (i // 2)
            parts.append(
                f'<line x1="{lx}" x2="{lx + 14}" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" '
                f'stroke-width="2"/><text x="{lx + 18}" y="{ly}">{html.escape(s.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _runs(s: Series) -> list[list[tuple[float, float]]]:
    """The series split at missing values into unbroken runs of points."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(s.x, s.y, strict=False):
        if _finite(y):
            runs[-1].append((float(x), float(y)))  # type: ignore[arg-type]
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def moving_average(values: Sequence[float | None], window: int) -> list[float | None]:
    """Trailing mean over ``window`` values (None until the window is full), for noisy losses."""
    out: list[float | None] = []
    total, count = 0.0, 0
    buf: list[float] = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append(None)
            continue
        buf.append(v)
        total += v
        count += 1
        if len(buf) > window:
            total -= buf.pop(0)
            count -= 1
        out.append(total / count if len(buf) == window else None)
    return out
