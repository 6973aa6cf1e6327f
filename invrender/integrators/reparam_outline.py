"""Outline warp field for shadow rays: V that equals the boundary velocity *on* the edges.

:func:`invrender.integrators.reparam_warp.warp_ray` (the position field) weighs each probe by
where the probe landed, so on a discontinuity V is a blend over a lobe width. Shadow rays
pay for that blend where a blocker's moving edge crosses the light's static outline: V has
to be the blocker's velocity on one and zero on the other, and the blend rounds off both
ends of every penumbra (measured bias about 0.2 of the derivative image). This field instead
lets every hit report the *outline candidates* of the primitive it hit, as segments in
direction space, and makes the weights singular at the ray direction x's angular distance to
those segments:

    V(x) = sum_i w_i V_i / (w_anchor + sum_i w_i),
    w_i = phi_i * sum_k fade_ik * K(b_ik(x)),   b = kappa dist^2 / 2,  K(b) = (b + eps)^-gamma.

- Hits: the ray's own hit (i = 0) and ``n`` probes from a von Mises-Fisher lobe around x.
  V_i is the velocity of the hit point seen from the (possibly moving) ray origin.
- Outline candidates: a mesh triangle's edges that are a boundary, a silhouette from the
  origin or a crease of a flat-shaded mesh (:mod:`mesh_neighbours`); a rectangle's sides; the
  tangent to a disk's rim, or to a sphere's silhouette circle, nearest the hit.
- K singular on the segment: V equals the velocity of whatever owns a discontinuity, seen
  from *either* side of it (the lit side of a shadow edge is pulled to the blocker's velocity
  by probes that hit the blocker), and zero on the light's own outline (by the ray's own hit).
- fade_ik = d_y^2 / (d_x^2 + d_y^2) (d_y: the probe's own distance to the segment) and the
  interior ramp phi_i (1 inside the primitive, 0 on its edges, in the primitive's own
  coordinates) vanish when a probe sits on an edge, where its data jump as it crosses: that
  keeps V continuous. The ray's own hit has neither.
- w_anchor: a constant weight on zero velocity, so V fades out away from every candidate.

The divergence is the quotient rule with the hit data held fixed, plus each hit's own
velocity divergence (a hit point's velocity is not uniform: depth, rotation, moving origin),
taken by a finite difference in the hit's tangent plane:

    div V = (sum_i grad w_i . V_i + w_i div V_i - V . sum_i grad w_i) / sum w.

Like the position field, everything is attached Dr.Jit arithmetic (V_i = p - detach(p)), so
forward and reverse mode both work and primal values are those of the unwarped ray. Shapes
other than meshes, rectangles, disks and spheres report no candidates (V = 0 there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import drjit as dr
import mitsuba as mi

from invrender.integrators.mesh_neighbours import NO_NEIGHBOUR, NeighbourTable, neighbour_table
from invrender.integrators.reparam_warp import (
    WarpSettings,
    probe_local,
    shape_is,
    trace_probe,
)

# Added to b in K(b): keeps weights finite (float32) for a ray exactly on an edge.
_MIN_B = 1e-4
# The anchor's weight is K at this b (about one lobe width from an edge): V keeps the edge's
# velocity within a lobe width of it and fades to zero beyond.
_ANCHOR_B = 0.5
# Outline candidates per hit: a triangle has 3, a rectangle 4, disk and sphere 1.
_SLOTS = 4
# Half-length of the tangent segment that stands for a circle, as a fraction of its radius.
_TANGENT_HALF = 0.5
# Angular step of the finite differences (hit velocity divergence, gradient of phi).
_DIV_STEP = 1e-4
_ANALYTIC = {
    "rectangle": mi.ShapeType.Rectangle,
    "disk": mi.ShapeType.Disk,
    "sphere": mi.ShapeType.Sphere,
}


def shape_kinds(scene: mi.Scene) -> frozenset[str]:
    """Which outline rules a scene needs ("mesh", "rectangle", "disk", "sphere").

    Rules for shapes a scene lacks stay out of the kernels: each costs arithmetic on every
    probe of every warped ray.
    """
    kinds = set()
    for shape in scene.shapes():
        if shape.is_mesh():
            kinds.add("mesh")
            continue
        for name, value in _ANALYTIC.items():
            if mi.ShapeType(shape.shape_type()) == value:
                kinds.add(name)
    return frozenset(kinds)


Segment = tuple[mi.Point3f, mi.Point3f, mi.Bool]


class _Primitive:
    """The hit primitive's shape data that the outline and the interior ramp both use.

    Derived once per hit, only for the shape kinds the scene has: which kind was hit, a
    triangle's corners, a sphere's centre and radius (radius from dp_dv = pi r, centre
    behind the hit along the normal), a rectangle's (0, 0) corner, a disk's centre.
    """

    def __init__(self, si: mi.SurfaceInteraction3f, kinds: frozenset[str]) -> None:
        self.si, self.kinds = si, kinds
        valid = si.is_valid()
        self.is_mesh = si.shape.is_mesh() & valid
        self.is_rect = shape_is(si, mi.ShapeType.Rectangle) & valid
        self.is_disk = shape_is(si, mi.ShapeType.Disk) & valid
        self.is_sphere = shape_is(si, mi.ShapeType.Sphere) & valid
        if "mesh" in kinds:
            mesh = mi.MeshPtr(si.shape)
            face = mesh.face_indices(si.prim_index, self.is_mesh)
            self.tri = [mesh.vertex_position(face[k], self.is_mesh) for k in range(3)]
        # The ignores below: the stubs lack Point3f - Vector3f / Normal3f (Dr.Jit: a Point3f).
        if "sphere" in kinds:
            self.radius = dr.norm(si.dp_dv) / dr.pi
            self.centre = si.p - self.radius * si.n  # type: ignore[operator]
        if "rectangle" in kinds:
            self.corner = si.p - si.uv.x * si.dp_du - si.uv.y * si.dp_dv  # type: ignore[operator]
        if "disk" in kinds:  # uv.x is the radial coordinate, dp_du the radius vector
            self.disk_centre = si.p - si.uv.x * si.dp_du  # type: ignore[operator]


def world_outline(
    prim: _Primitive, origin: mi.Point3f, neighbours: NeighbourTable | None
) -> list[Segment]:
    """The outline candidates of the primitive a ray from ``origin`` hit: world segments.

    Returns ``_SLOTS`` (start, end, valid) triples; unused slots are invalid.
    """
    si, kinds = prim.si, prim.kinds
    zero = mi.Point3f(0.0)
    ends: list[Segment] = [(zero, zero, mi.Bool(False)) for _ in range(_SLOTS)]

    def put(k: int, a: mi.Point3f, b: mi.Point3f, ok: mi.Bool) -> None:
        ends[k] = (dr.select(ok, a, ends[k][0]), dr.select(ok, b, ends[k][1]), ends[k][2] | ok)

    if "sphere" in kinds:
        radius, centre = prim.radius, prim.centre
        to_origin = origin - centre
        dist_o = dr.maximum(dr.norm(to_origin), 1e-12)
        axis = to_origin / dist_o
        ratio = radius / dist_o
        radial = (si.p - centre) - dr.dot(si.p - centre, axis) * axis
        radial = radial / dr.maximum(dr.norm(radial), 1e-12)
        circle_r = radius * dr.safe_sqrt(1.0 - ratio * ratio)
        touch = centre + axis * (radius * ratio) + radial * circle_r
        half = dr.cross(axis, radial) * (_TANGENT_HALF * circle_r)
        put(0, touch - half, touch + half, prim.is_sphere & (ratio < 1.0))
    if "disk" in kinds:
        # Stubs: Point3f + Vector3f is missing (Dr.Jit gives a Point3f).
        rim = si.p + (1.0 - si.uv.x) * si.dp_du  # type: ignore[operator]
        half = dr.normalize(si.dp_dv) * (_TANGENT_HALF * dr.norm(si.dp_du))
        put(0, rim - half, rim + half, prim.is_disk)
    if "rectangle" in kinds:
        c00 = prim.corner
        corners = [c00, c00 + si.dp_du, c00 + si.dp_du + si.dp_dv, c00 + si.dp_dv]
        for k in range(4):
            put(k, corners[k], corners[(k + 1) % 4], prim.is_rect)
    if "mesh" in kinds:
        if neighbours is None:
            raise ValueError("world_outline: a scene with meshes needs their NeighbourTable")
        is_mesh, tri = prim.is_mesh, prim.tri
        mesh = mi.MeshPtr(si.shape)
        normal = dr.normalize(dr.cross(tri[1] - tri[0], tri[2] - tri[0]))
        flat = ~mesh.has_vertex_normals()
        for k in range(3):
            a, b = tri[k], tri[(k + 1) % 3]
            # Stubs: mi.UInt32 and mi.Bool are declared apart from drjit's UInt and Bool,
            # which si's fields and MeshPtr's methods use (the same types at run time).
            other = neighbours.neighbour(si.shape, si.prim_index, k, is_mesh)  # type: ignore[arg-type]
            boundary = other == NO_NEIGHBOUR
            has_other = is_mesh & ~boundary
            o_face = mesh.face_indices(dr.select(boundary, 0, other), has_other)  # type: ignore[arg-type]  # as above
            o_tri = [mesh.vertex_position(o_face[j], has_other) for j in range(3)]  # type: ignore[arg-type]  # as above
            o_normal = dr.normalize(dr.cross(o_tri[1] - o_tri[0], o_tri[2] - o_tri[0]))
            # Smooth-shaded meshes change only at silhouettes; flat ones also at creases.
            silhouette = (dr.dot(normal, a - origin) > 0) ^ (dr.dot(o_normal, a - origin) > 0)
            crease = flat & (1.0 - dr.abs(dr.dot(normal, o_normal)) > 1e-6)
            put(k, a, b, is_mesh & (boundary | silhouette | crease))
    return [(mi.Point3f(a), mi.Point3f(b), mi.Bool(ok)) for a, b, ok in ends]


def segment_distance2(
    x: mi.Vector3f, e0: mi.Vector3f, e1: mi.Vector3f
) -> tuple[mi.Float, mi.Vector3f]:
    """Squared angular distance (as 2 (1 - cos)) from unit x to the arc e0-e1, and its
    gradient in x's tangent plane, in forms that stay exact for tiny distances."""
    c = dr.cross(e0, e1)
    c_norm = dr.norm(c)
    n = c / dr.maximum(c_norm, 1e-20)
    s = dr.dot(x, n)
    xp = x - s * n
    on_arc = (
        (c_norm > 1e-9)
        & (dr.dot(dr.cross(e0, xp), n) >= 0.0)
        & (dr.dot(dr.cross(xp, e1), n) >= 0.0)
    )
    cos_arc = dr.safe_sqrt(1.0 - s * s)
    d2_arc = 2.0 * s * s / (1.0 + cos_arc)
    g_arc = (2.0 * s / dr.maximum(cos_arc, 1e-6)) * (n - s * x)
    nearer = dr.select(dr.dot(x, e0) >= dr.dot(x, e1), e0, e1) - x
    d2_end = dr.squared_norm(nearer)
    g_end = -2.0 * (nearer - dr.dot(nearer, x) * x)
    # Stubs: drjit's Float is declared apart from mi.Float (the same type at run time).
    return dr.select(on_arc, d2_arc, d2_end), dr.select(on_arc, g_arc, g_end)  # type: ignore[return-value]


def _plane_coords(o, d, p0, e1, e2):
    """Coordinates (a, b) where the ray o + t d meets the plane p0 + a e1 + b e2."""
    normal = dr.cross(e1, e2)
    t = dr.dot(p0 - o, normal) / dr.dot(d, normal)
    rel = o + t * d - p0
    inv_nn = dr.rcp(dr.maximum(dr.squared_norm(normal), 1e-30))
    return dr.dot(dr.cross(rel, e2), normal) * inv_nn, dr.dot(dr.cross(e1, rel), normal) * inv_nn


def _velocity_divergence(
    si: mi.SurfaceInteraction3f,
    origin: mi.Point3f,
    y: mi.Vector3f,
    velocity: mi.Vector3f,
    hit: mi.Bool,
) -> mi.Float:
    """div of the hit's velocity field around direction y (value 0, derivative the div).

    A neighbouring direction y + eps e meets the hit's tangent plane at fixed coordinates
    along dp_du, dp_dv; that point moves with the surface to first order, so its velocity
    minus the hit's, over eps, is the directional derivative.
    """
    frame = mi.Frame3f(y)
    o = dr.detach(origin)
    p0, du, dv = dr.detach(si.p), dr.detach(si.dp_du), dr.detach(si.dp_dv)
    div = mi.Float(0.0)
    for tangent in (frame.s, frame.t):
        alpha, beta = _plane_coords(o, y + _DIV_STEP * tangent, p0, du, dv)
        moved = dr.normalize(si.p + alpha * si.dp_du + beta * si.dp_dv - origin)
        div += dr.dot(tangent, (moved - dr.detach(moved)) - velocity)
    return dr.select(hit & dr.isfinite(div), div / _DIV_STEP, 0.0)


class _InteriorRamp:
    """phi(d): 1 inside the hit primitive, falling to 0 on its edges, for directions d.

    Measured in the primitive's own coordinates (barycentrics, a rectangle's uv, a disk's
    radius, a sphere's view cosine), so thin or foreshortened triangles are not suppressed
    more than large ones.
    """

    def __init__(self, prim: _Primitive, origin: mi.Point3f) -> None:
        self.prim, self.o = prim, origin

    def __call__(self, d: mi.Vector3f) -> mi.Float:
        prim, si = self.prim, self.prim.si
        du, dv = si.dp_du, si.dp_dv
        phi = mi.Float(0.0)
        if "mesh" in prim.kinds:
            p0, p1, p2 = prim.tri
            b1, b2 = _plane_coords(self.o, d, p0, p1 - p0, p2 - p0)
            phi = dr.select(prim.is_mesh, 27.0 * b1 * b2 * (1.0 - b1 - b2), phi)
        if "rectangle" in prim.kinds:
            u, v = _plane_coords(self.o, d, prim.corner, du, dv)
            phi = dr.select(prim.is_rect, 16.0 * u * (1.0 - u) * v * (1.0 - v), phi)
        if "disk" in prim.kinds:
            a, b = _plane_coords(self.o, d, prim.disk_centre, du, dv / dr.maximum(si.uv.x, 1e-6))
            phi = dr.select(prim.is_disk, 1.0 - (a * a + b * b), phi)
        if "sphere" in prim.kinds:
            oc = self.o - prim.centre
            half_b = dr.dot(oc, d)
            disc = half_b * half_b - (dr.squared_norm(oc) - prim.radius * prim.radius)
            t = -half_b - dr.safe_sqrt(disc)
            normal = (self.o + t * d - prim.centre) / prim.radius
            cos2 = dr.select(disc > 0, dr.square(dr.dot(normal, d)), 0.0)
            phi = dr.select(prim.is_sphere, cos2, phi)
        return dr.clip(phi, 0.0, 1.0)

    def value_and_gradient(self, y: mi.Vector3f) -> tuple[mi.Float, mi.Vector3f]:
        """phi(y) and its gradient in y's tangent plane (forward differences)."""
        phi = self(y)
        frame = mi.Frame3f(y)
        grad = mi.Vector3f(0.0)
        for tangent in (frame.s, frame.t):
            step = self(dr.normalize(y + _DIV_STEP * tangent)) - phi
            # Stubs: mi.Float is declared apart from the drjit Float that Vector3f takes.
            grad += tangent * (step / _DIV_STEP)  # type: ignore[operator]
        return phi, grad


@dataclass
class _Hit:
    """One hit's share of the field: weight, its gradient in x, velocity and its div."""

    weight: mi.Float
    weight_grad: mi.Vector3f
    velocity: mi.Vector3f
    velocity_div: mi.Float


def _outline_kernel(x, y, segments, origin, settings: WarpSettings, fade: bool):
    """sum_k fade_k K(b_k(x)) over the valid segments, and its gradient in x."""
    kappa, gamma = settings.kappa, settings.exponent
    k_sum, k_grad = mi.Float(0.0), mi.Vector3f(0.0)
    for a, b, ok in segments:
        e0, e1 = dr.normalize(a - origin), dr.normalize(b - origin)
        d2x, gx = segment_distance2(x, e0, e1)
        bx = 0.5 * kappa * d2x + _MIN_B
        kx = cast("mi.Float", dr.power(bx, -gamma))  # dr.power() is typed `object` for arrays
        # Stubs: mi.Float is declared apart from the drjit Float that Vector3f takes.
        kx_grad = (-gamma * 0.5 * kappa) * kx / bx * gx  # type: ignore[operator]
        if fade:  # 0 where the probe y itself meets the segment
            d2y, gy = segment_distance2(y, e0, e1)
            total = dr.maximum(d2x + d2y, 1e-20)
            ramp = d2y / total
            kx_grad = kx_grad * ramp + kx * (d2x * gy - d2y * gx) / (total * total)  # type: ignore[operator]  # as above
            kx = kx * ramp
        k_sum += dr.select(ok, kx, 0.0)
        k_grad += dr.select(ok, kx_grad, 0.0)
    return k_sum, k_grad


def _trace_hit(
    scene: mi.Scene,
    origin: mi.Point3f,
    x: mi.Vector3f,
    y: mi.Vector3f,
    own: bool,
    settings: WarpSettings,
    kinds: frozenset[str],
    neighbours: NeighbourTable | None,
    active: mi.Bool,
) -> _Hit:
    """Trace direction ``y`` from ``origin`` and weigh what it hit for the field at ``x``."""
    o_detached = dr.detach(origin)
    _, si, hit, velocity = trace_probe(scene, origin, y, active, coherent=own)
    velocity_div = _velocity_divergence(si, origin, y, velocity, hit)
    with dr.suspend_grad():
        prim = _Primitive(dr.detach(si), kinds)
        segments = world_outline(prim, o_detached, neighbours)
        if "rectangle" not in kinds:
            segments = segments[:3]
        weight, weight_grad = _outline_kernel(x, y, segments, o_detached, settings, not own)
        if not own:
            phi, phi_grad = _InteriorRamp(prim, o_detached).value_and_gradient(y)
            weight, weight_grad = phi * weight, phi * weight_grad + weight * phi_grad
        weight = dr.select(hit, weight, 0.0)
        weight_grad = dr.select(hit, weight_grad, 0.0)
    return _Hit(weight, weight_grad, velocity, velocity_div)


def warp_ray_outline(
    scene: mi.Scene,
    origin: mi.Point3f,
    direction: mi.Vector3f,
    lane: mi.UInt32,
    key: mi.UInt32 | int,
    settings: WarpSettings,
    active: mi.Bool,
) -> tuple[mi.Vector3f, mi.Float]:
    """Warped direction (value ``direction``, derivative V) and determinant (1, div V).

    Same contract as :func:`invrender.integrators.reparam_warp.warp_ray`: ``origin`` may carry
    derivatives, (lane, key) seed the probes so every pass replays the same warp, inactive
    lanes get the detached direction and determinant 1.
    """
    active = mi.Bool(active)
    d_in = dr.detach(direction)
    x = dr.select(active, dr.normalize(d_in), mi.Vector3f(0, 0, 1))
    origin = dr.select(active, origin, mi.Point3f(0.0))
    frame = mi.Frame3f(x)
    kinds = shape_kinds(scene)
    neighbours = neighbour_table(scene) if "mesh" in kinds else None

    def trace(y: mi.Vector3f, own: bool) -> _Hit:
        return _trace_hit(scene, origin, x, y, own, settings, kinds, neighbours, active)

    hits = [trace(x, True)]
    for k in range(settings.rays):
        local, _ = probe_local(lane, key, k, settings)
        hits.append(trace(frame.to_world(local), False))
    weight_sum = mi.Float((_ANCHOR_B + _MIN_B) ** -settings.exponent)
    weight_grad_sum = mi.Vector3f(0.0)
    v_sum = mi.Vector3f(0.0)
    div_sum = mi.Float(0.0)
    for h in hits:
        weight_sum += h.weight
        weight_grad_sum += h.weight_grad
        # Stubs: mi.Float is declared apart from the drjit Float that Vector3f takes.
        v_sum += h.weight * h.velocity  # type: ignore[operator]
        div_sum += dr.dot(h.weight_grad, h.velocity) + h.weight * h.velocity_div
    warp = v_sum / weight_sum  # type: ignore[operator]  # as v_sum above
    divergence = (div_sum - dr.dot(warp, weight_grad_sum)) / weight_sum
    warped = dr.select(active, dr.normalize(x + warp), d_in)
    det = dr.select(active, 1.0 + divergence, 1.0)
    return warped, det
