"""The rules ``invrender init`` sizes a run by: numbers from the dataset, not constants.

Everything here is a pure function of what ``init`` measures (views, image size, the object's
footprint in the masks and its size in scene units), so the rules can be tested and read apart
from the config text. The README ("Your own photos") and docs/benchmark.md describe them and
what they measured.

Reference points: the bundled ``configs/joint.yaml`` / ``shape.yaml`` were tuned on objects
of bounding radius ~1.3 scene units, 14-16 training views at 128 px, 5000-10000 triangles, a
256² texture, vertex learning rate 0.05 on large-steps latents.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Working size: the longest image side the optimizer renders. The cost of an iteration grows
# with the pixel count; 256-320 px photos are used as they are, larger ones are shrunk by an
# integer factor until their longest side is at most this (a 4032 px phone photo: /13 -> 310).
WORK_SIDE = 320

# Views rendered per iteration (the loop's default). Rules below count view visits.
VIEWS_PER_ITER = 2

# Reference object size the tested vertex learning rate (0.05) belongs to: the bounding radius
# of the bundled shape targets (datasets/shape, datasets/shape_genus: ~1.3 scene units).
REFERENCE_RADIUS = 1.3
REFERENCE_VERTEX_LR = 0.05

# Twice the radiance a 64x32 sky texel needs to hold a small sun (the sky learning rate below).
SUN_RADIANCE = 60.0

# How far (voxels of the hull's grid, about a working-size pixel each) the shape may leave the
# visual hull it starts from (geometry.init.keep_inside). Every point outside the hull contradicts
# a mask, but the silhouette loss barely sees a surface bulging over an opening: the capture
# benchmark's mug raised the roof over its cavity by a tenth of its height. Tighter bounds (1
# voxel, 0.5) fought the optimizer on the thin handle (folds, -1 to -2 dB); masks are not exact.
HULL_KEEP_INSIDE = 2.0

# Large-steps smoothing strength (geometry.large_steps.lambda): how far each vertex step spreads
# over its neighbours. The schema's 20 rounded the benchmark star's 90-degree edges into bevels
# a triangle row or two wide (the pixels within two of an edge held 43 % of its relit error);
# at 10 (round 10 otherwise, two runs each on the Cycles benchmark, 2026-12-06) the star scored
# 31.85-31.87 dB held out against 30.64-30.78, the vase 30.38-30.82 against 29.88-30.10, the
# ring 32.31-32.33 (31.95-32.67) and the pen 30.36-31.31 (31.06-31.30), relit +0.3 to +0.5 dB
# on the ring, the star and the vase; both capture-benchmark objects kept their shapes and
# gained 0.4-0.9 dB. A stiffer 60 had cost the star 1.3 dB and the vase 1.1 dB
# (docs/benchmark.md).
LARGE_STEPS_LAMBDA = 10.0

# The silhouette term's weight per object pixel (geometry.mask_weight, see ``plan``): as much as
# the image loss's. Measured on the Cycles benchmark's pen (round 9 otherwise, one run each):
# mask_weight 1 / 10 / 30 / 100 scored 27.56 / 29.96 / 30.45 / 30.80 dB held out inside the
# object, 23.84 / 26.00 / 26.59 / 26.69 dB relit, Chamfer 0.17 / 0.10 / 0.08 / 0.07 %; its
# object covers 1/26 of a view, so this rule gives it 26. A uniform 100 cost the star 2.3 dB
# (28.53, Chamfer 0.49 %): with the outline weighing 25x the shading, its flat faces lost shape.
# With this rule (round 10): pen 30.04, ring 32.03, vase 29.57 dB (+2.5, +0.2, +0.1 on round 9),
# star 30.24 dB (weight 4.3; -0.6 dB).
MASK_WEIGHT_PER_OBJECT_PIXEL = 1.0

# How far (in Adam steps of size lr) a texture-stage map must be able to travel (map_lr below).
MAP_TRAVEL = 7.5

# Total-variation weights of the texture-stage maps (geometry.texture.*tv_weight): Adam steps a
# texel by about its lr whatever its gradient, so texels whose gradients are mostly Monte Carlo
# noise (4 spp, a glossy lobe, a texel seen in few views) random-walk into salt and pepper. The
# benchmark vase's roughness map ended at 10-90 % 0.17-0.67 around its start 0.5 and its renders
# speckled; with these weights 0.28-0.50, +0.25 dB held out inside the object (28.11 -> 28.36)
# and +0.5 dB relit (23.09 -> 23.59), SSIM 0.86 -> 0.88. Base colour gets less: its edges (bands,
# checkers) are signal. The term is a mean over texel pairs, so the weights do not depend on
# the texture size.
BASE_COLOR_TV = 0.05
MAP_TV = 0.1

# Final triangles per object pixel of a view at working size (see ``plan``): 1 = edges of ~3 px.
TRIANGLES_PER_PIXEL = 1.0

# The fewest triangles a run gets (hull, remeshes). A mesh finer than its pixels has vertices no
# view pins, and their noisy steps wrinkle the surface: the benchmark pen (~2300 object pixels a
# view), held at a floor of 5000, ended with ripples that its metallic coat mirrored; with 2000
# (its one per pixel) it scored 26.85 dB held out inside the object and 23.97 dB relit against
# 25.4-26.1 / 22.0-22.7 dB at 5000, and 10 000 gave 25.13 / 21.49 dB (one run each).
TRIANGLES_MIN = 2000

# The visual hull's mesh and the first remesh keep this many triangles, or the final count if
# that is smaller: before the shape has moved they must hold thin parts whole. The capture
# benchmark's mug started from a 4000-triangle hull (half of its final 7000) scored 1.40 / 1.37 %
# Chamfer (auto / true cameras) against 1.36 / 1.33 % from 5000, and 14.6 against 15.6 dB.
FIRST_MESH_TRIANGLES = 5000

# Samples per pixel of the held-out renders that summary.json scores (optimize.eval_spp; the
# schema's default is 128). Monte Carlo noise only lowers a PSNR: the benchmark star's exported
# asset scored 29.95 dB at 128 spp, 30.15 at 512 and 30.20 at 2048 (the vase 27.99 / 28.13 /
# 28.18), so at 512 the score is the asset's within ~0.05 dB; the star's hull, final evaluation
# and export took 30 s of its 204 s in all.
EVAL_SPP = 512


@dataclass(frozen=True)
class Rules:
    """What init writes for a geometry/joint run (see ``plan``)."""

    downscale: int
    work_width: int
    work_height: int
    geometry_iterations: int  # the shape moves until here; then the texture stage
    texture_iterations: int  # 0 without a texture stage
    geometry_start: int  # albedo and sky settle first (geometry.stages)
    coarse_factors: list[int]
    coarse_until: list[int]
    remesh_at: list[int]
    remesh_triangles: list[int]
    hull_resolution: int
    hull_triangles: int
    texture_resolution: int
    vertex_lr: float
    sky_lr: float
    map_lr: float  # base colour and roughness maps in the texture stage; metallic 2/3 of it
    mask_weight: float  # geometry.mask_weight (written only with masks)

    @property
    def iterations(self) -> int:
        return self.geometry_iterations + self.texture_iterations

    @property
    def metallic_lr(self) -> float:
        """Two thirds of ``map_lr``, the ratio measured on the benchmark pen (0.03 / 0.02)."""
        return round(self.map_lr * 2 / 3, 3)


def working_downscale(width: int, height: int, side: int = WORK_SIDE) -> int:
    """The smallest integer factor that brings the longest side to at most ``side`` pixels."""
    return max(1, math.ceil(max(width, height) / side))


def _round_to(value: float, step: int) -> int:
    return int(step * round(value / step))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def plan(
    *,
    n_train: int,
    width: int,
    height: int,
    hull: bool,
    texture: bool,
    mask_area: float | None,
    object_radius: float,
) -> Rules:
    """The run's schedule from the dataset.

    ``mask_area``: median object pixels per view at full size (None without masks);
    ``object_radius``: the object's bounding radius in scene units (from the masks' extent, or
    the start sphere's radius without masks).
    """
    factor = working_downscale(width, height)
    w, h = width // factor, height // factor
    # Geometry iterations: every training view is rendered about E times (2 views per
    # iteration). A visual-hull start already has the silhouettes right and only needs the
    # shading to refine concavities and detail (E = 12: on the Cycles benchmark the hull alone
    # was within 0.3 % of the ring's diagonal); a sphere has to move everywhere (E = 30). At
    # least 200 (the large-steps solver needs that many to settle), at most 600.
    visits = 12 if hull else 30
    geometry = _clamp(_round_to(visits * n_train / VIEWS_PER_ITER, 50), 200, 600)
    # Texture stage: principled maps and the sky in texture space, with the mesh frozen (an
    # iteration costs a third of a shape iteration); each training view seen ~16 times,
    # 100-300 iterations (configs/joint.yaml: 150 with 14 views). On the benchmark the
    # materials and the sky, not the shape, limited the held-out PSNR.
    tex_iters = _clamp(_round_to(16 * n_train / VIEWS_PER_ITER, 50), 100, 300) if texture else 0
    # Light and albedo move alone for the first 10 % (a grey start would otherwise push the
    # shape to explain colour).
    start = _round_to(0.1 * geometry, 10)
    # Coarse to fine: 1/4 size for the first 20 % when the working side is >= 256 px, 1/2 until
    # 40 % when it is >= 128 px (small images stay at full size).
    side = max(w, h)
    factors, until = [], []
    if side >= 256:
        factors.append(4)
        until.append(_round_to(0.2 * geometry, 10))
    if side >= 128:
        factors.append(2)
        until.append(_round_to(0.4 * geometry, 10))
    # Triangles: one per object pixel of a view at working size, i.e. edges of ~3 px (a
    # convex object's surface is 4x its mean silhouette area A, a triangle of edge e covers
    # 0.43 e²: 4 A / (0.43 * 3²) = A), 2000-20000; half of it (at least 5000, or A) at the
    # first remesh and in the visual hull. Without masks A is taken as an eighth of the image.
    # Remesh at 40 % and 70 % of the geometry iterations (when coarse to fine ends, and before
    # the end). Edges of ~4 px (A / 2) rounded the benchmark star's sharp edges: held out inside
    # the object (at 512 spp) 30.15 dB, with ~3 px 30.98 dB (TRIANGLES_PER_PIXEL).
    area = (mask_area / factor**2) if mask_area else w * h / 8
    final = _clamp(_round_to(TRIANGLES_PER_PIXEL * area, 1000), TRIANGLES_MIN, 20000)
    first = max(min(FIRST_MESH_TRIANGLES, final), _round_to(final / 2, 1000))
    remesh_at = [_round_to(0.4 * geometry, 10), _round_to(0.7 * geometry, 10)]
    remesh_tris = [first, final]
    # Hull voxels: about one per 2 working pixels along the longest side, 64-256.
    hull_res = _clamp(_round_to(side / 2, 16), 64, 256)
    # Texture: one texel per object pixel. The surface covers ~4x a view's object area, and an
    # xatlas atlas fills ~70 % of its square: the side is sqrt(4 A / 0.7), rounded to a power
    # of two, 256-1024.
    texels = math.sqrt(4 * area / 0.7)
    tex_res = int(_clamp(2 ** round(math.log2(max(texels, 1))), 256, 1024))
    # Vertex learning rate: the step on large-steps latents is in scene units, so it scales
    # with the object's size (0.05 at the bundled examples' radius 1.3), within 0.01-0.1.
    lr = min(0.1, max(0.01, REFERENCE_VERTEX_LR * object_radius / REFERENCE_RADIUS))
    # Sky learning rate: Adam moves a texel by at most ~lr per iteration, so a sky that has to
    # hold a sun (radiance ~30 in a 64x32 map for the benchmark's forest HDRI at strength 0.5,
    # whose sun texels reach 700 at 1024 rows) needs lr well above 30 / iterations: the cosine
    # schedule averages ~0.6 of the start lr, and noisy gradients give smaller steps; hence
    # 60 / iterations, 0.02-0.15. The template's 0.02 capped the ring's recovered sky at 1.0
    # (its sun highlights were missing: 24.1 dB inside the object); 30 / iterations reached
    # 2.8 and 29.4 dB.
    sky_lr = min(0.15, max(0.02, SUN_RADIANCE / (geometry + tex_iters)))
    # Material maps: each texel has to be able to cross most of [0, 1] within the texture
    # stage, though it is seen in few views and its gradients are noisy, so Adam steps it by
    # much less than the lr: MAP_TRAVEL / texture iterations (0.03 at 250), 0.01-0.05, metallic
    # at 2/3 of it. The fixed 0.01 / 0.005 (roughness / metallic) left the benchmark pen's
    # metallic map at a median of 0.02 against a true 0.8 (24.7 dB inside the object); 0.03 /
    # 0.02 brought it to 0.5 and 25.8 dB.
    map_lr = min(0.05, max(0.01, MAP_TRAVEL / tex_iters)) if tex_iters else 0.01
    # Silhouette weight: the image loss is a mean over the object's pixels, the silhouette term
    # a mean over the whole image, so at a fixed weight a small object's outline barely pulls
    # (at weight 1 the benchmark's reconstructed outlines were 2.5-3x further from the photos'
    # alpha than the true meshes', and up to 82 % of the pen's held-out error sat in a 2 px
    # band along its outline). Image pixels / object pixels puts both terms on the object's
    # pixels (MASK_WEIGHT_PER_OBJECT_PIXEL), 1-100.
    mask_weight = min(100.0, max(1.0, MASK_WEIGHT_PER_OBJECT_PIXEL * w * h / area))
    return Rules(
        downscale=factor,
        work_width=w,
        work_height=h,
        geometry_iterations=geometry,
        texture_iterations=tex_iters,
        geometry_start=start,
        coarse_factors=factors,
        coarse_until=until,
        remesh_at=remesh_at,
        remesh_triangles=remesh_tris,
        hull_resolution=hull_res,
        hull_triangles=first,
        texture_resolution=tex_res,
        vertex_lr=round(lr, 4),
        sky_lr=round(sky_lr, 3),
        map_lr=round(map_lr, 3),
        mask_weight=round(mask_weight, 1),
    )
