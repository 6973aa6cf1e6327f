"""Shadow-edge candidates for ``edge_sampling``, and their importance sampling per shading point.

Drawing a shadow edge uniformly over the length of all candidate edges wastes almost every
sample on a smooth blocker: from a given shading point p only the few edges on the blocker's
silhouette *as seen from p* that also lie in the direction of an emitter move the shadow.
(On a 200-face ball under a rectangle light, under 2 % of the edge length does, which is
why the forward-mode derivative image of a moving ball's soft shadow was mostly noise.)

So each shading point draws ``K`` cheap candidates (edge, point on it) from the length
distribution, scores each with the target

    w = [silhouette from p] * [towards an emitter's bounding sphere, in front of p]
        * |omega x e_hat| / r,

(the last factor is the change of measure to the sphere of directions, so the target follows
the integrand's size) and keeps one by weighted reservoir sampling: resampled importance
sampling (Talbot et al. 2005). With q the length density, the estimate f(y) / q(y) is
multiplied by ``mean(w) / w(y)``; it stays unbiased because w > 0 wherever the boundary
integrand can be non-zero (both probe rays miss every emitter when the direction misses its
bounding sphere, and an edge that is no silhouette from p has the blocker on both sides).
No rays are traced for candidates; only the kept one gets the two probe rays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import drjit as dr
import mitsuba as mi

from invrender.integrators import convex_mesh
from invrender.integrators import silhouette as sil


@dataclass
class EdgeCandidates:
    """All candidate edges of all meshes, concatenated (detached), moving meshes first."""

    meshes: list  # mesh per index in ``mesh_index``
    p0: Any  # flat xyz mi.Float, one point per edge
    p1: Any
    n0: Any  # unnormalized face normals of the two adjacent faces
    n1: Any
    boundary: Any  # mi.Bool
    f0: Any  # mi.UInt32 face indices (own-triangle test)
    f1: Any
    v0: Any  # mi.UInt32 vertex indices within the mesh (AD-attached re-gather)
    v1: Any
    w0: Any  # mi.UInt32: their copies in face f1 (differ on seams, see MeshEdges)
    w1: Any
    mesh_index: Any  # mi.UInt32
    distr: Any  # mi.DiscreteDistribution over edge length
    total_moving: float
    grand_total: float
    n_moving: int
    # (index in ``meshes``, start, length) of each moving convex mesh's stretch of the
    # length distribution: a convex mesh casts no shadow on itself, so its own receivers
    # draw from the rest.
    convex_spans: list


def gather_candidates(meshes: list, static: list, viewpoints: list, all_edges: bool):
    """Edges that can be silhouettes from an emitter, of moving then static meshes."""
    parts = []
    n_moving = 0
    total_moving = 0.0
    with dr.suspend_grad():
        for j, mesh in enumerate(list(meshes) + list(static)):
            edges = sil.mesh_edges(mesh)
            if all_edges:
                idx = dr.arange(mi.UInt32, edges.count)
            else:
                # dr.compress() is typed `object`; it returns UInt32 indices.
                idx = cast("mi.UInt32", dr.compress(sil.silhouette_mask(mesh, edges, viewpoints)))
            if dr.width(idx) == 0:
                continue
            pos = dr.detach(mesh.vertex_positions_buffer())
            v0 = dr.gather(mi.UInt32, edges.v0, idx)
            v1 = dr.gather(mi.UInt32, edges.v1, idx)
            e0, e1 = edges.ends_in(True)
            w0 = dr.gather(mi.UInt32, e0, idx)
            w1 = dr.gather(mi.UInt32, e1, idx)
            f0 = dr.gather(mi.UInt32, edges.f0, idx)
            f1 = dr.gather(mi.UInt32, edges.f1, idx)
            p0 = sil.gather_points(pos, v0)
            p1 = sil.gather_points(pos, v1)
            length = dr.norm(p1 - p0)
            total = float(dr.sum(length)[0])
            if total <= 0.0:
                continue
            parts.append(
                dict(
                    mesh=mesh,
                    # Flat xyz buffers: dr.gather reads vectors from 1-D sources only.
                    p0=dr.ravel(p0),
                    p1=dr.ravel(p1),
                    n0=dr.ravel(sil.face_normals(mesh, f0, pos)),
                    n1=dr.ravel(sil.face_normals(mesh, f1, pos)),
                    boundary=dr.gather(mi.Bool, edges.boundary, idx),
                    f0=f0,
                    f1=f1,
                    v0=v0,
                    v1=v1,
                    w0=w0,
                    w1=w1,
                    length=length,
                    total=total,
                )
            )
            if j < len(meshes):
                n_moving += 1
                total_moving += total
    if not parts:
        return None
    cat = {k: _concat([p[k] for p in parts]) for k in parts[0] if k not in ("mesh", "total")}
    mesh_index = _concat(
        [dr.full(mi.UInt32, i, dr.width(p["length"])) for i, p in enumerate(parts)]
    )
    grand_total = float(dr.sum(cat["length"])[0])
    convex_spans, start = [], 0.0
    for i, part in enumerate(parts[:n_moving]):
        if convex_mesh.is_convex(part["mesh"]):
            convex_spans.append((i, start, part["total"]))
        start += part["total"]
    return EdgeCandidates(
        meshes=[p["mesh"] for p in parts],
        p0=cat["p0"],
        p1=cat["p1"],
        n0=cat["n0"],
        n1=cat["n1"],
        boundary=cat["boundary"],
        f0=cat["f0"],
        f1=cat["f1"],
        v0=cat["v0"],
        v1=cat["v1"],
        w0=cat["w0"],
        w1=cat["w1"],
        mesh_index=mesh_index,
        distr=mi.DiscreteDistribution(cat["length"]),
        total_moving=total_moving,
        grand_total=grand_total,
        n_moving=n_moving,
        convex_spans=convex_spans,
    )


def _concat(arrays: list) -> Any:
    """Concatenate flat Dr.Jit arrays."""
    if len(arrays) == 1:
        return arrays[0]
    first = arrays[0]
    out = dr.empty(type(first), sum(dr.width(a) for a in arrays))
    start = 0
    for a in arrays:
        n = dr.width(a)
        # Opaque offset: the parts' sizes change as meshes move (see sample()).
        dr.scatter(out, a, dr.arange(mi.UInt32, n) + dr.opaque(mi.UInt32, start))
        start += n
    return out


def emitter_spheres(scene: mi.Scene) -> tuple[list, bool]:
    """(centre, radius) bounding spheres of area emitters; and whether an envmap lights."""
    spheres = []
    infinite = False
    for emitter in scene.emitters():
        shape = emitter.get_shape()
        if shape is not None:
            box = shape.bbox()
            centre = [0.5 * (box.min[i] + box.max[i]) for i in range(3)]
            half = [0.5 * (box.max[i] - box.min[i]) for i in range(3)]
            radius = sum(h * h for h in half) ** 0.5
            spheres.append((centre, radius * 1.001 + 1e-4))
        else:
            infinite = True  # environment, or a delta light (no edges sampled for those)
    return spheres, infinite


def towards_emitters(p: Any, m: Any, spheres: list, infinite: bool) -> Any:
    """Can the ray from p through m, beyond m, reach an emitter? (conservative)"""
    if infinite:
        return mi.Bool(True)
    d = m - p
    r2 = dr.squared_norm(d)
    hit = mi.Bool(False)
    for centre, radius in spheres:
        c = mi.Point3f(centre) - p
        along = dr.dot(c, d)
        # Perpendicular distance of c from the ray, squared, times |d|^2.
        perp2 = dr.squared_norm(c) * r2 - dr.square(along)
        ahead = along + radius * dr.sqrt(r2) > r2  # the sphere reaches beyond m
        hit |= ahead & (perp2 <= radius * radius * r2)
    return hit


def sample(
    cand: EdgeCandidates,
    p: Any,
    normal: Any,
    two_sided: Any,
    lane_mesh: Any,
    lane_prim: Any,
    lane_total: Any,
    skip: tuple[Any, Any],
    spheres: list,
    infinite: bool,
    rng: Any,
    count: int,
    active: Any,
) -> tuple[Any, Any, Any]:
    """Resampled edge point per lane: (edge index, t along it, RIS factor mean(w) / w(y)).

    ``lane_total`` is the candidate length this lane draws from (the moving meshes' share,
    or all, less ``skip`` = (start, length): a stretch of it the lane leaves out); ``normal``
    the geometric normal at p and ``two_sided`` whether light can come from behind it
    (transmissive BSDFs).
    """
    skip_start, skip_length = skip
    # Per-render scalars go in as opaque variables: as literals they would change the
    # kernels' source, and so recompile them, at every step of an optimization.
    grand_inverse = dr.opaque(mi.Float, 1.0 / cand.grand_total)

    def score(k: Any, t: Any) -> Any:
        q0 = dr.gather(mi.Point3f, cand.p0, k)
        q1 = dr.gather(mi.Point3f, cand.p1, k)
        n0 = dr.gather(mi.Vector3f, cand.n0, k)
        n1 = dr.gather(mi.Vector3f, cand.n1, k)
        d = p - q0
        ok = dr.gather(mi.Bool, cand.boundary, k) | ((dr.dot(n0, d) > 0) ^ (dr.dot(n1, d) > 0))
        mesh = dr.gather(mi.UInt32, cand.mesh_index, k)
        own = (mesh == lane_mesh) & (
            (dr.gather(mi.UInt32, cand.f0, k) == lane_prim)
            | (dr.gather(mi.UInt32, cand.f1, k) == lane_prim)
        )
        m = dr.lerp(q0, q1, t)
        to_m = m - p
        ok &= ~own & (two_sided | (dr.dot(to_m, normal) > 0))
        ok &= towards_emitters(p, m, spheres, infinite)
        r2 = dr.squared_norm(to_m)
        e = q1 - q0
        # |omega x e_hat| / r = |to_m x e| / (r^2 |e|)
        w = dr.norm(dr.cross(to_m, e)) * dr.rcp(r2 * dr.norm(e))
        return dr.select(ok & (r2 > 0) & dr.isfinite(w), w, 0.0)

    def cond(i, wsum, k_sel, t_sel, w_sel, rng):
        return active & (i < count)

    def body(i, wsum, k_sel, t_sel, w_sel, rng):
        x = rng.next_float32() * lane_total
        x += dr.select(x >= skip_start, skip_length, 0.0)
        u = dr.minimum(x * grand_inverse, dr.one_minus_epsilon(mi.Float))
        k = cand.distr.sample(u)
        t = rng.next_float32()
        w = score(k, t)
        wsum = wsum + w
        take = (w > 0) & (rng.next_float32() * wsum < w)
        k_sel = dr.select(take, k, k_sel)
        t_sel = dr.select(take, t, t_sel)
        w_sel = dr.select(take, w, w_sel)
        return i + 1, wsum, k_sel, t_sel, w_sel, rng

    n = dr.width(p)
    state = (
        mi.UInt32(0),
        dr.zeros(mi.Float, n),
        dr.zeros(mi.UInt32, n),
        dr.zeros(mi.Float, n),
        dr.zeros(mi.Float, n),
        rng,
    )
    _, wsum, k_sel, t_sel, w_sel, _ = dr.while_loop(state, cond, body, label="shadow_ris")
    factor = dr.select(w_sel > 0, wsum / (count * w_sel), 0.0)
    return k_sel, t_sel, factor


def receiving_lanes(cand: EdgeCandidates, moving: list, si: Any, bsdf: Any) -> tuple:
    """Which shading points can have a shadow edge move, and what each one draws from.

    Returns (active, lane_mesh, lane_total, skip): ``lane_mesh`` is the index into
    ``cand.meshes`` of the surface hit (or 0xFFFFFFFF), ``lane_total`` the candidate length
    the lane draws from: all of it where the receiver itself moves, else only the moving
    meshes' share; in both cases less its own mesh's edges when that mesh is convex (it has
    no silhouette from a point on itself), whose (start, length) in the distribution is
    ``skip``.

    Lanes left with nothing to draw, and receivers that reflect nothing (a diffuse BSDF of
    zero reflectance, e.g. a black emitter backdrop), are dropped up front, so they cost
    neither the resampling loop nor probe rays.
    """
    import mitsuba as mi

    flags = bsdf.flags()
    active = si.is_valid() & ~mi.has_flag(flags, mi.BSDFFlags.Delta)
    active &= ~reflects_nothing(bsdf, si, active)

    lane_mesh = dr.full(mi.UInt32, 0xFFFFFFFF, dr.width(si.p))
    for j, mesh in enumerate(cand.meshes):
        lane_mesh[si.shape == mi.ShapePtr(mesh)] = j
    receiver_moves = mi.Bool(False)
    for mesh in moving:
        receiver_moves |= si.shape == mi.ShapePtr(mesh)
    lane_total = dr.select(
        receiver_moves,
        dr.opaque(mi.Float, cand.grand_total),
        dr.opaque(mi.Float, cand.total_moving),
    )
    skip_start = dr.zeros(mi.Float, dr.width(si.p))
    skip_length = dr.zeros(mi.Float, dr.width(si.p))
    for j, start, length in cand.convex_spans:
        rest = cand.grand_total - length
        if rest <= 1e-6 * cand.grand_total:
            rest = 0.0  # the only candidate mesh: nothing left
        own = receiver_moves & (lane_mesh == j)
        lane_total[own] = dr.opaque(mi.Float, rest)  # opaque: see sample()
        skip_start[own] = dr.opaque(mi.Float, start)
        skip_length[own] = dr.opaque(mi.Float, length)
    active &= lane_total > 0
    return active, lane_mesh, lane_total, (skip_start, skip_length)


def reflects_nothing(bsdf: Any, si: Any, active: Any) -> Any:
    """A purely diffuse-reflecting BSDF of zero reflectance at ``si``: black from any side.

    Conservative: any glossy, transmissive or delta lobe answers False.
    """
    import mitsuba as mi

    flags = bsdf.flags()
    only_diffuse = ~mi.has_flag(flags, mi.BSDFFlags.Glossy) & ~mi.has_flag(
        flags, mi.BSDFFlags.Transmission
    )
    return only_diffuse & dr.all(bsdf.eval_diffuse_reflectance(si, active) == 0.0)
