"""Warped-area reparameterization of one ray (Bangaru, Li, Durand 2020; Loubet et al. 2019).

:func:`warp_ray` returns a direction whose *value* is the ray's own direction and whose
*derivative* is a warp field V, plus a Jacobian determinant whose value is 1 and whose
derivative is div V. An integrand evaluated along the warped direction and multiplied by
the determinant then has a derivative whose expectation includes the boundary term of
visibility discontinuities (silhouettes, shadow edges) in the solid-angle integral.

V at the ray direction w is a weighted average of the velocities V_i of the points hit by
``n`` auxiliary rays y_i drawn from a von Mises-Fisher lobe around w:

    V(w) = sum_i a_i V_i / sum_i a_i,   a_i = K(w, y_i) / p(y_i | w),
    K(w, y) = D(w, y)^-gamma,            D(w, y) = exp(kappa (1 - w.y)) - 1 + B(y).

B(y) >= 0 is a boundary test of the hit point, in the same units as the first term: it is
kappa theta^2 / 2 with theta the apparent angle from y to the nearest edge of the surface
that y hit. Where w sits on a discontinuity, both terms of D vanish for y -> w, K is not
integrable (gamma >= 1) and the average is dominated by samples at the discontinuity, so V
equals the boundary velocity there: the condition that makes the divergence theorem
reproduce the boundary term. Away from discontinuities V is smooth and its value does not
matter in expectation.

The divergence on the sphere follows from the quotient rule, with the samples held fixed
and only K differentiated (p is the density the samples were drawn with):

    div V = (sum_i grad a_i . V_i - V . sum_i grad a_i) / sum_i a_i,
    grad_w a_i = a_i gamma kappa exp(kappa (1 - w.y_i)) / D_i * (y_i - (w.y_i) w).

Everything is an ordinary attached Dr.Jit expression (no custom op): V_i enter as
``x - detach(x)`` (value 0, derivative the velocity), so forward and reverse mode both work
and the primal values stay bit-identical to the unwarped ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import drjit as dr
import mitsuba as mi

# Smallest D used in a weight: keeps a_i finite when a sample lands on the centre and on an
# edge at once (float32 holds 1e-4^-3 comfortably).
_MIN_D = 1e-4
# Boundary test (kappa units) for auxiliary rays that escape: "no edge within a lobe width".
_B_ESCAPED = 1.0


# What the boundary test and the velocity need from an auxiliary hit (no shading frame).
AUX_FLAGS = mi.RayFlags.Minimal | mi.RayFlags.UV | mi.RayFlags.dPdUV | mi.RayFlags.FollowShape


# Auxiliary-ray streams: which ray of a path a warp belongs to.
SITE_INCOMING = 0  # camera ray (depth 0) or BSDF-sampled ray arriving at `depth`
SITE_EMITTER = 1  # shadow ray from vertex `depth - 1`


def seed_value(seed: int) -> mi.UInt32:
    """The render seed as an opaque JIT value, so a new seed does not recompile kernels."""
    return dr.opaque(mi.UInt32, (int(seed) * 0x9E3779B1) & 0xFFFFFFFF)


def warp_key(seed: mi.UInt32, depth: mi.UInt32, site: int) -> mi.UInt32:
    """Seed of the auxiliary rays of one warp site; identical in every rendering pass."""
    return seed + (depth * 2 + site) * 1024


@dataclass(frozen=True)
class WarpSettings:
    """The estimator's knobs (see the `reparam` integrator's parameter table)."""

    rays: int = 8
    kappa: float = 3e3
    exponent: float = 2.0
    antithetic: bool = True


def uniform_pair(lane: mi.UInt32, key: mi.UInt32 | int) -> mi.Point2f:
    """Two uniform numbers, a pure function of (lane, key): replays identically in every pass."""
    # Stubs: mi.UInt32 is declared apart from the drjit UInt sample_tea_32() takes (same type).
    u0, u1 = mi.sample_tea_32(lane, mi.UInt32(key), 4)  # type: ignore[call-overload]

    def to_unit(u: mi.UInt32) -> mi.Float:
        # dr.reinterpret_array() is typed `object`; it returns the type it is given.
        return cast("mi.Float", dr.reinterpret_array(mi.Float, (u >> 9) | 0x3F800000)) - 1.0

    return mi.Point2f(to_unit(u0), to_unit(u1))


def sample_vmf(xi: mi.Point2f, kappa: float) -> tuple[mi.Vector3f, mi.Float]:
    """A local direction from a vMF lobe around +z, and exp(kappa (1 - cos)) (= c / pdf).

    Inverting the CDF of 1 - cos directly keeps full precision for large kappa, where
    1 - cos is far below float32's resolution around 1.
    """
    tail = dr.exp(-2.0 * kappa)
    inv_pdf_rel = dr.rcp(dr.fma(-xi.x, 1.0 - tail, 1.0))  # exp(kappa (1 - cos))
    one_minus_cos = dr.log(inv_pdf_rel) / kappa
    sin_theta = dr.safe_sqrt(one_minus_cos * (2.0 - one_minus_cos))
    sin_phi, cos_phi = dr.sincos(dr.two_pi * xi.y)
    local = mi.Vector3f(cos_phi * sin_theta, sin_phi * sin_theta, 1.0 - one_minus_cos)
    # Stubs: xi.x is drjit's Float, declared apart from mi.Float (the same type at run time).
    return local, inv_pdf_rel  # type: ignore[return-value]


def probe_local(
    lane: mi.UInt32, key: mi.UInt32 | int, k: int, settings: WarpSettings
) -> tuple[mi.Vector3f, mi.Float]:
    """Probe ``k`` of a warp as a local direction around +z, and its exp(kappa (1 - cos)).

    With antithetic sampling, odd probes mirror the even ones (same random numbers).
    """
    pair = k // 2 if settings.antithetic else k
    xi = uniform_pair(lane, (key * 64 + pair) & 0xFFFFFFFF)
    local, inv_pdf_rel = sample_vmf(xi, settings.kappa)
    if settings.antithetic and k % 2 == 1:
        local = mi.Vector3f(-local.x, -local.y, local.z)
    return local, inv_pdf_rel


def trace_probe(
    scene: mi.Scene, origin: mi.Point3f, y: mi.Vector3f, active: mi.Bool, coherent: bool = False
) -> tuple[mi.PreliminaryIntersection3f, mi.SurfaceInteraction3f, mi.Bool, mi.Vector3f]:
    """Trace direction ``y`` from ``origin``: intersection, hit mask, and the hit's velocity.

    The velocity is ``to_hit - detach(to_hit)``: value 0, derivative the motion of the
    direction towards the hit point (through the shape's parameters and a moving origin).
    A hit at (almost) the origin is the ray's own surface and does not count.
    """
    o_detached = dr.detach(origin)
    ray = mi.Ray3f(o_detached, y)
    with dr.suspend_grad():
        # Stubs: `coherent` is typed as a drjit Bool (a Python bool converts) and mi.Bool is
        # declared apart from that drjit Bool (the same type at run time).
        pi = scene.ray_intersect_preliminary(ray, coherent=coherent, active=active)  # type: ignore[call-overload]
    si = pi.compute_surface_interaction(ray, AUX_FLAGS)
    hit = si.is_valid() & active & (si.t > 1e-4 * (1.0 + dr.max(dr.abs(o_detached))))
    to_hit = dr.select(hit, dr.normalize(si.p - origin), y)
    return pi, si, hit, to_hit - dr.detach(to_hit)


def shape_is(si: mi.SurfaceInteraction3f, kind: mi.ShapeType) -> mi.Bool:
    """Lanes whose hit shape is of Mitsuba shape type ``kind``."""
    return si.shape.shape_type() == mi.UInt32(int(kind))


def edge_distance(
    pi: mi.PreliminaryIntersection3f, si: mi.SurfaceInteraction3f, direction: mi.Vector3f
) -> mi.Float:
    """World-space distance from a hit point to the nearest edge of the hit primitive.

    Meshes: nearest triangle edge (every silhouette of a mesh lies on one). Rectangle and
    disk: their outline. Sphere: the apparent offset from the grazing circle, r cos^2 / 2.
    Other shapes fall back to the sphere rule with r = distance.
    """
    is_mesh = si.shape.is_mesh() & si.is_valid()
    mesh = mi.MeshPtr(si.shape)
    face = mesh.face_indices(si.prim_index, is_mesh)
    p0, p1, p2 = (mesh.vertex_position(face[k], is_mesh) for k in range(3))
    twice_area = dr.norm(dr.cross(p1 - p0, p2 - p0))
    b1, b2 = pi.prim_uv.x, pi.prim_uv.y
    b0 = 1.0 - b1 - b2
    d_mesh = dr.minimum(
        dr.minimum(b0 * twice_area / dr.norm(p2 - p1), b1 * twice_area / dr.norm(p0 - p2)),
        b2 * twice_area / dr.norm(p1 - p0),
    )
    u, v = si.uv.x, si.uv.y
    d_rect = dr.minimum(
        dr.minimum(u, 1.0 - u) * dr.norm(si.dp_du), dr.minimum(v, 1.0 - v) * dr.norm(si.dp_dv)
    )
    d_disk = (1.0 - u) * dr.norm(si.dp_du)
    # (Vector3f(n) only re-types the normal: the stubs lack dot(Normal3f, Vector3f).)
    cos_n = dr.abs(dr.dot(mi.Vector3f(si.n), direction))  # grazing cosine
    radius = dr.select(shape_is(si, mi.ShapeType.Sphere), dr.norm(si.dp_dv) / dr.pi, si.t)
    d_smooth = 0.5 * radius * cos_n * cos_n
    dist = dr.select(is_mesh, d_mesh, d_smooth)
    dist = dr.select(shape_is(si, mi.ShapeType.Rectangle), d_rect, dist)
    dist = dr.select(shape_is(si, mi.ShapeType.Disk), d_disk, dist)
    # Stubs: drjit's Float is declared apart from mi.Float (the same type at run time).
    return dr.maximum(dist, 0.0)  # type: ignore[return-value]


def harmonic_weight(
    inv_pdf_rel: mi.Float, exp_term: mi.Float, boundary: mi.Float, kappa: float, gamma: float
) -> tuple[mi.Float, mi.Float]:
    """Weight a = inv_pdf_rel * D^-gamma of one auxiliary sample, and da / d(w.y).

    ``exp_term`` is exp(kappa (1 - w.y)) at the direction w where the weight is wanted
    (at the lobe centre it equals ``inv_pdf_rel``, the sample's fixed 1/p up to a
    constant). The gradient on the sphere is ``da/d(w.y) * (y - (w.y) w)``.
    """
    raw = exp_term - 1.0 + boundary
    dist = dr.maximum(raw, _MIN_D)
    # dr.power() is typed `object` for arrays; it returns dist's type.
    weight = inv_pdf_rel * cast("mi.Float", dr.power(dist, -gamma))
    slope = dr.select(raw < _MIN_D, 0.0, weight * gamma * kappa * exp_term / dist)
    return weight, slope


def warp_ray(
    scene: mi.Scene,
    origin: mi.Point3f,
    direction: mi.Vector3f,
    lane: mi.UInt32,
    key: mi.UInt32 | int,
    settings: WarpSettings,
    active: mi.Bool,
) -> tuple[mi.Vector3f, mi.Float]:
    """Warped direction (value ``direction``, derivative V) and determinant (1, div V).

    ``origin`` may carry derivatives (a moving ray origin is part of V). ``lane`` and
    ``key`` seed the auxiliary rays, so the same (lane, key) gives the same warp in every
    pass. Inactive lanes get a plain detached direction and determinant 1.
    """
    active = mi.Bool(active)
    # Inactive lanes may hold garbage (escaped paths): keep it out of the AD graph.
    d_in = dr.detach(direction)
    d0 = dr.select(active, dr.normalize(d_in), mi.Vector3f(0, 0, 1))
    origin = dr.select(active, origin, mi.Point3f(0.0))
    frame = mi.Frame3f(d0)
    kappa, gamma = settings.kappa, settings.exponent
    weight_sum = mi.Float(0.0)
    weight_grad_sum = mi.Vector3f(0.0)
    v_sum = mi.Vector3f(0.0)
    div_sum = mi.Float(0.0)
    for k in range(settings.rays):
        local, inv_pdf_rel = probe_local(lane, key, k, settings)
        y = frame.to_world(local)
        pi, si, hit, velocity = trace_probe(scene, origin, y, active)
        with dr.suspend_grad():
            theta_edge = edge_distance(pi, si, y) / dr.maximum(si.t, 1e-6)
            boundary = dr.select(hit, 0.5 * kappa * theta_edge * theta_edge, _B_ESCAPED)
            weight, grad_scale = harmonic_weight(inv_pdf_rel, inv_pdf_rel, boundary, kappa, gamma)
            weight = dr.select(active, weight, 0.0)
            grad_scale = dr.select(active, grad_scale, 0.0)
            tangent = frame.to_world(mi.Vector3f(local.x, local.y, 0.0))
            # Stubs: mi.Float is declared apart from the drjit Float that Vector3f takes.
            weight_grad = grad_scale * tangent  # type: ignore[operator]
        weight_sum += weight
        weight_grad_sum += weight_grad
        v_sum += weight * velocity  # type: ignore[operator]  # as weight_grad above
        div_sum += dr.dot(weight_grad, velocity)
    inv_sum = dr.select(weight_sum > 0.0, dr.rcp(weight_sum), 0.0)
    warp = v_sum * inv_sum  # type: ignore[operator]  # as weight_grad above
    divergence = (div_sum - dr.dot(warp, weight_grad_sum)) * inv_sum
    warped = dr.select(active, dr.normalize(d0 + warp), d_in)
    det = dr.select(active, 1.0 + divergence, 1.0)
    return warped, det
