"""Splat boundary samples into a derivative image with the film's own reconstruction filter.

A pixel of Mitsuba's film is the filter-weighted mean of the radiance samples that land in
the sampled region R (the crop window, grown by the filter's border when ``sample_border``
is on): I_j = sum_s k_j(x_s) f(x_s) / sum_s k_j(x_s). Its expectation is
int_R k_j f dx / K_j with K_j = int_R k_j dx. A boundary term therefore adds
int_Gamma k_j(x) (...) dl / K_j, independent of how densely R is sampled. (Dividing by an
assumed "spp per pixel area" instead is what over-estimates silhouette gradients by
(W+2b)(H+2b)/(WH) with ``sample_border`` and a non-box filter.)

Positions are in full-film pixel coordinates (the same as ``sensor.sample_direction().uv``);
pixel j of the crop window has its centre at crop_offset + j + 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_QUADRATURE_POINTS = 512


@dataclass
class FilmFootprint:
    """Filter taps and per-pixel normalization for one film configuration."""

    rfilter: Any
    radius: float
    offset: tuple[int, int]  # crop offset
    size: tuple[int, int]  # crop size (W, H)
    region_lo: tuple[float, float]  # sampled region R, full-film coordinates
    region_hi: tuple[float, float]
    kx: Any  # mi.Float (W,): K_j factor along x
    ky: Any  # mi.Float (H,)
    taps: int

    @staticmethod
    def from_film(film: Any) -> FilmFootprint:
        import mitsuba as mi

        rfilter = film.rfilter()
        radius = float(rfilter.radius())
        ox, oy = (int(v) for v in film.crop_offset())
        w, h = (int(v) for v in film.crop_size())
        border = int(rfilter.border_size()) if film.sample_border() else 0
        lo = (float(ox - border), float(oy - border))
        hi = (float(ox + w + border), float(oy + h + border))
        kx = _axis_normalization(rfilter, radius, ox, w, lo[0], hi[0])
        ky = _axis_normalization(rfilter, radius, oy, h, lo[1], hi[1])
        taps = max(1, math.ceil(2.0 * radius))
        return FilmFootprint(
            rfilter, radius, (ox, oy), (w, h), lo, hi, mi.Float(kx), mi.Float(ky), taps
        )

    def support_box(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """Positions that can reach a pixel of the crop window *and* are sampled by the film.

        The filter's support alone reaches beyond the crop window, but without
        ``sample_border`` the film draws no samples there, so an edge moving out there
        changes no pixel (I_j integrates over the sampled region R only).
        """
        ox, oy = self.offset
        w, h = self.size
        r = self.radius
        lo = (max(ox + 0.5 - r, self.region_lo[0]), max(oy + 0.5 - r, self.region_lo[1]))
        hi = (min(ox + w - 0.5 + r, self.region_hi[0]), min(oy + h - 0.5 + r, self.region_hi[1]))
        return lo, hi

    def region_lo_hi_int(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The sampled region R as integer pixel bounds (full-film coordinates)."""
        lo = (int(self.region_lo[0]), int(self.region_lo[1]))
        hi = (int(self.region_hi[0]), int(self.region_hi[1]))
        return lo, hi

    def _taps(self, pos: Any):
        """Yield (flat pixel index, weight / K_j, valid) for every filter tap of ``pos``."""
        import drjit as dr
        import mitsuba as mi

        w, h = self.size
        px = pos.x - self.offset[0]
        py = pos.y - self.offset[1]
        jx0 = mi.Int32(dr.floor(px - 0.5 - self.radius)) + 1
        jy0 = mi.Int32(dr.floor(py - 0.5 - self.radius)) + 1
        wx, wy = [], []
        for i in range(self.taps):
            jx, jy = jx0 + i, jy0 + i
            vx = (jx >= 0) & (jx < w)
            vy = (jy >= 0) & (jy < h)
            kx = dr.gather(mi.Float, self.kx, mi.UInt32(dr.clip(jx, 0, w - 1)), vx)
            ky = dr.gather(mi.Float, self.ky, mi.UInt32(dr.clip(jy, 0, h - 1)), vy)
            fx = self.rfilter.eval(px - (mi.Float(jx) + 0.5)) / dr.select(vx, kx, 1.0)
            fy = self.rfilter.eval(py - (mi.Float(jy) + 0.5)) / dr.select(vy, ky, 1.0)
            wx.append((jx, fx, vx))
            wy.append((jy, fy, vy))
        for jy, fy, vy in wy:
            for jx, fx, vx in wx:
                valid = vx & vy
                yield mi.UInt32(dr.select(valid, jy * w + jx, 0)), fx * fy, valid

    def splat(self, pos: Any, value: Any, active: Any, channels: int = 3) -> Any:
        """sum over samples of k_j(pos) value / K_j, as an (H, W, channels) tensor."""
        import drjit as dr
        import mitsuba as mi

        w, h = self.size
        out = dr.zeros(mi.Float, w * h * channels)
        value = dr.detach(value)
        for index, weight, valid in self._taps(pos):
            ok = valid & active & (weight != 0)
            for c in range(3):
                dr.scatter_add(out, value[c] * weight, index * channels + c, ok)
        return mi.TensorXf(out, (h, w, channels))

    def gather(self, pos: Any, image: Any, active: Any) -> Any:
        """Adjoint of :meth:`splat`: sum_j image_j k_j(pos) / K_j as a Color3f per sample."""
        import drjit as dr
        import mitsuba as mi

        channels = image.shape[2]
        flat = dr.detach(image.array)
        acc = dr.zeros(mi.Color3f, dr.width(pos))
        for index, weight, valid in self._taps(pos):
            ok = valid & active & (weight != 0)
            for c in range(3):
                acc[c] += weight * dr.gather(mi.Float, flat, index * channels + c, ok)
        return acc


def _axis_normalization(
    rfilter: Any, radius: float, offset: int, count: int, lo: float, hi: float
) -> np.ndarray:
    """K along one axis: integral over [lo, hi] of k(x - centre_j), midpoint rule."""
    import mitsuba as mi

    n = _QUADRATURE_POINTS
    t = (np.arange(n) + 0.5) / n * (2.0 * radius) - radius  # offsets from the centre
    k = np.array(rfilter.eval(mi.Float(t.astype(np.float32))), dtype=np.float64)
    centres = offset + np.arange(count) + 0.5
    x = centres[:, None] + t[None, :]
    inside = (x >= lo) & (x <= hi)
    return (k[None, :] * inside).sum(axis=1) * (2.0 * radius / n)
