"""The pixel-border term that lets ``reparam`` differentiate box-filtered films.

With a box filter, pixel j is the mean of f over its square P_j. Warping the camera samples
by x = T(u) (T = identity at theta = 0, velocity V) turns it into an integral over the moving
domain T^-1(P_j); the derivative is the interior divergence term plus a flux through the
pixel's border, which a smooth filter would carry through its own gradient but a box filter
(piecewise constant) cannot:

    dI_j = int_P (d f + f div V) dx  -  oint_{dP_j} f V . n dl

Mitsuba's film divides by the sum of sample weights (here the warp determinants), which
subtracts I_j int_P div V = I_j oint V . n from the first part; the border term that
matches that normalization is therefore -oint (f - I_j) V . n dl. It is estimated here by
stratified points on every pixel border line: one camera ray each (full path-traced f), the
camera warp V there (the same field as the camera samples), and (f - I) on each of the two
pixels the line separates. Only the projected warped position is AD-attached, as in
``edge_sampling``'s boundary terms, so forward and reverse mode share one code path.
"""

from __future__ import annotations

from typing import Any

import drjit as dr
import mitsuba as mi

from invrender.integrators.reparam_warp import SITE_INCOMING, seed_value, warp_key


def border_samples(sensor: mi.Sensor, per_unit: int, seed: int):
    """Points on all pixel border lines of the crop window (full-film pixel coordinates).

    Returns (pos, vertical, count): ``vertical`` marks samples on lines x = const.
    """
    film = sensor.film()
    w, h = (int(v) for v in film.crop_size())
    ox, oy = (int(v) for v in film.crop_offset())
    n_v = (w + 1) * h * per_unit
    n_h = (h + 1) * w * per_unit
    count = n_v + n_h
    sampler = sensor.sampler().clone()
    sampler.set_sample_count(1)
    sampler.set_samples_per_wavefront(1)
    # Stubs: mi.UInt32 is declared apart from the drjit UInt that seed() takes (same type).
    sampler.seed(mi.UInt32(seed) + 0xB0D3, count)  # type: ignore[arg-type]
    idx = dr.arange(mi.UInt32, count)
    vertical = idx < n_v
    k = dr.select(vertical, idx, idx - n_v)
    along_len = dr.select(vertical, h * per_unit, w * per_unit)
    line = k // along_len
    along = mi.Float(k % along_len) + sampler.next_1d()
    along = along * (1.0 / per_unit)
    x = dr.select(vertical, mi.Float(line), along) + ox
    y = dr.select(vertical, along, mi.Float(line)) + oy
    return mi.Point2f(x, y), vertical, count, sampler


def border_term(
    integrator: Any, scene: mi.Scene, sensor: mi.Sensor, image: Any, seed: int, per_unit: int
):
    """(alpha, detached per-sample weights for the two pixels, their flat indices, masks).

    ``alpha`` is the AD-attached border-normal coordinate of the warped sample position;
    the second pixel (right / below the line) gets ``+(f - I) d alpha / per_unit``, the first
    (left / above) ``-(f - I) d alpha / per_unit``. ``image`` is the primal (H, W, C) image.
    """
    film = sensor.film()
    w, h = (int(v) for v in film.crop_size())
    ox, oy = (int(v) for v in film.crop_offset())
    channels = image.shape[2]
    with dr.suspend_grad():
        pos, vertical, count, sampler = border_samples(sensor, per_unit, seed)
        sample2 = (pos - mi.ScalarVector2f(ox, oy)) * dr.rcp(mi.ScalarVector2f(w, h))
        # Stubs: Python floats for the Float arguments time and sample1 (they convert).
        ray, ray_weight = sensor.sample_ray(
            time=sensor.shutter_open(),  # type: ignore[arg-type]  # float -> Float
            sample1=0.0,  # type: ignore[arg-type]  # float -> Float
            sample2=sample2,
            sample3=mi.Point2f(0.5),
        )
        lane = dr.arange(mi.UInt32, count) + mi.UInt32(0x5BD1E995)
        f, _, _, _ = integrator.sample(
            mode=dr.ADMode.Primal,
            scene=scene,
            sampler=sampler,
            ray=ray,
            δL=None,
            state_in=None,
            active=mi.Bool(True),
            lane=lane,
            seed=seed,
        )
        f = f * ray_weight
        col = mi.Int32(dr.floor(pos.x)) - ox
        row = mi.Int32(dr.floor(pos.y)) - oy
        # The pixel on the far side of the line is (row, col); the near one is one step back.
        col_a = dr.select(vertical, col - 1, col)
        row_a = dr.select(vertical, row, row - 1)
        col_b, row_b = col, row
        flat = dr.detach(image.array)
        sides = []
        for c, r, sign in ((col_a, row_a, -1.0), (col_b, row_b, 1.0)):
            ok = (c >= 0) & (c < w) & (r >= 0) & (r < h)
            pix = mi.UInt32(dr.select(ok, r * w + c, 0))
            i_pix = mi.Color3f(
                *[dr.gather(mi.Float, flat, pix * channels + ch, ok) for ch in range(3)]
            )
            sides.append((pix, sign * (f - i_pix) * (1.0 / per_unit), ok))
    with dr.resume_grad():
        direction, _ = integrator.warp_direction(
            scene,
            dr.detach(ray.o),
            dr.detach(ray.d),
            lane,
            warp_key(seed_value(seed), mi.UInt32(0), SITE_INCOMING),
            mi.UInt32(0),
            mi.Bool(True),
        )
        it = dr.zeros(mi.Interaction3f)
        it.p = dr.detach(ray.o) + direction
        it.time = ray.time
        ds, _ = sensor.sample_direction(it, mi.Point2f(0.5))
        # Stubs: Point2f + Vector2f is missing (Dr.Jit gives a Point2f).
        warped = ds.uv + mi.Vector2f(film.crop_offset())  # type: ignore[operator]
        alpha = dr.select(vertical, warped.x, warped.y)
    return alpha, sides


def splat(sides: list, d_alpha: Any, shape: tuple) -> mi.TensorXf:
    """Forward mode: the border term's derivative image from d alpha / d theta."""
    h, w, channels = shape
    out = dr.zeros(mi.Float, h * w * channels)
    for pix, weight, ok in sides:
        value = dr.detach(weight) * d_alpha
        for c in range(3):
            dr.scatter_add(out, value[c], pix * channels + c, ok)
    return mi.TensorXf(out, (h, w, channels))


def adjoint_scale(sides: list, grad_in: Any) -> Any:
    """Reverse mode: per sample, sum over its two pixels of grad_in . weight (detached)."""
    channels = grad_in.shape[2]
    flat = dr.detach(grad_in.array)
    total = mi.Float(0.0)
    for pix, weight, ok in sides:
        for c in range(3):
            total += dr.gather(mi.Float, flat, pix * channels + c, ok) * weight[c]
    return dr.select(dr.isfinite(total), total, 0.0)
