"""``edge_sampling``: path replay backpropagation plus explicitly sampled visibility edges.

Interior term: Mitsuba's own ``prb`` (reused by subclassing). Boundary terms, ours:

* Primary visibility. Candidate edges are mesh edges that are silhouettes from the camera
  centre (boundary edges, and edges whose two faces face opposite ways). A point x is drawn
  uniformly over their projected length clipped to the pixels' filter support. With the line
  function alpha(x) = (b - a)^perp . (x - a) of the projected end points a, b, one edge adds
  int k_j(x) (f+ - f-) (d alpha / d theta) / |b - a| dl / K_j to pixel j, where f+/f- is the
  full path-traced radiance through x +/- eps n (two camera rays), k_j the film's filter and
  K_j its integral over the sampled film region (see film_filter.py).
* Secondary visibility (shadows of direct illumination). For a camera-visible shading point
  p, a point m is drawn uniformly over the length of mesh edges that can be silhouettes from
  some point of an emitter (conservative test on emitter bounding-box corners). With
  omega = (m - p)/r and n_e = (v0 - p) x (v1 - p), alpha(omega) = n_e . omega, and the change
  of measure from edge length to arc length on the sphere is |omega x e_hat| / r, so each
  sample adds (g+ - g-) (omega . d n_e / d theta) / |n_e| * |omega x e_hat| / r * L_total,
  where g = bsdf * cos * emitted radiance just either side of the edge.

Only triangle meshes produce boundary terms: a differentiated parameter that moves an
analytic shape (sphere, disk, rectangle, cylinder) is refused (``refusal``), never answered
with a zero boundary term. Meshes whose vertices carry no gradient are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, cast

import drjit as dr
import mitsuba as mi

from invrender.integrators import shading_horizon as horizon
from invrender.integrators import shadow_edges
from invrender.integrators import silhouette as sil
from invrender.integrators.film_filter import FilmFootprint
from invrender.integrators.plugin_props import prop_float, prop_int
from invrender.integrators.refusals import (
    CAMERA_REFUSAL,
    camera_moves,
    check_integrator,
    moving_shapes,
    shape_kind,
    shape_label,
)


def _make_class(base: type) -> type:
    """Build the integrator class on top of the current variant's ``prb`` class."""

    class EdgeSamplingIntegrator(base):
        r"""Edge-sampling differentiable path tracer (plugin name ``edge_sampling``).

        =====================  =====  =====================================================
        Parameter              Type   Meaning (default)
        =====================  =====  =====================================================
        max_depth              int    Longest path depth, -1 = infinite (6)
        rr_depth               int    Depth at which Russian roulette starts (5)
        hide_emitters          bool   Hide directly visible emitters (false)
        edge_samples           int    Primary silhouette samples per pixel; 0 = off,
                                      -1 = spp / 2 (at least 1) (-1)
        shadow_edge_samples    int    Shadow-edge samples per pixel; 0 = off,
                                      -1 = 2 spp (-1)
        edge_epsilon           float  Offset of the rays either side of an edge, px (0.05)
        shadow_epsilon         float  Angular offset either side of a shadow edge (1e-4)
        crease_weight          float  Sampling weight per unit length, relative to outlines,
                                      of visible edges between non-coplanar faces of
                                      flat-shaded meshes, where shading jumps; 0 = off (0.25)
        shadow_candidates      int    Candidate shadow edges scored per shading point, of
                                      which one is kept by resampling (64)
        =====================  =====  =====================================================

        Boundary terms cover triangle meshes only (moving analytic shapes are refused; static
        ones are fine as receivers, blockers or lights), a ``perspective`` sensor, and shadow
        boundaries of direct light from area emitters and environment maps as seen from
        camera-visible points (no shadow edges after the first bounce, none for
        point/spot/directional lights).
        """

        def __init__(self, props: mi.Properties) -> None:
            super().__init__(props)
            self.edge_samples = prop_int(props, "edge_samples", -1)
            self.shadow_edge_samples = prop_int(props, "shadow_edge_samples", -1)
            self.edge_epsilon = prop_float(props, "edge_epsilon", 0.05)
            self.shadow_epsilon = prop_float(props, "shadow_epsilon", 1e-4)
            self.crease_weight = prop_float(props, "crease_weight", 0.25)
            self.shadow_candidates = prop_int(props, "shadow_candidates", 64)

        def to_string(self) -> str:
            return (
                f"EdgeSamplingIntegrator[max_depth={self.max_depth}, rr_depth={self.rr_depth}, "
                f"edge_samples={self.edge_samples}, shadow_edge_samples={self.shadow_edge_samples}]"
            )

        def refusal(self, scene: mi.Scene, moving: list[mi.Shape]) -> str | None:
            """A moving analytic shape: its boundary terms would be silently zero.

            Edge sampling draws points on triangle-mesh edges; a sphere, disk, rectangle or
            cylinder that moves has silhouettes and shadows but no edges to draw (issue 25:
            an all-zero derivative image for a translating analytic disk emitter).
            """
            if camera_moves(scene):
                return CAMERA_REFUSAL.format(name="edge_sampling")
            for shape in moving:
                if not shape.is_mesh():
                    return (
                        f"edge_sampling: '{shape_label(shape)}' is an analytic "
                        f"{shape_kind(shape)} that moves, and edge sampling samples triangle-"
                        "mesh edges only (its visibility gradient would be zero); make it a "
                        "mesh (obj/ply) or use reparam or direct_projective"
                    )
            return None

        def render_forward(
            self, scene: mi.Scene, params: Any, sensor: Any = 0, seed: Any = 0, spp: int = 0
        ) -> mi.TensorXf:
            check_integrator(self, scene, moving_shapes(scene))
            if isinstance(sensor, int):
                sensor = scene.sensors()[sensor]
            image = super().render_forward(scene, params, sensor, seed, spp)
            terms = _boundary_terms(self, scene, sensor, seed, spp)
            return _add_boundary_tangents(image, terms, sensor)

        def render_backward(
            self,
            scene: mi.Scene,
            params: Any,
            grad_in: mi.TensorXf,
            sensor: Any = 0,
            seed: Any = 0,
            spp: int = 0,
        ) -> None:
            check_integrator(self, scene, moving_shapes(scene))
            if isinstance(sensor, int):
                sensor = scene.sensors()[sensor]
            super().render_backward(scene, params, grad_in, sensor, seed, spp)
            _backpropagate_boundary(self, scene, sensor, grad_in, seed, spp)

    return EdgeSamplingIntegrator


class _Integrator(Protocol):
    """What the boundary terms use of an ``EdgeSamplingIntegrator``."""

    edge_samples: int
    shadow_edge_samples: int
    edge_epsilon: float
    shadow_epsilon: float
    crease_weight: float
    shadow_candidates: int

    def sample(
        self,
        mode: dr.ADMode,
        scene: mi.Scene,
        sampler: mi.Sampler,
        ray: mi.Ray3f,
        depth: mi.UInt32,
        δL: mi.Spectrum | None,
        state_in: mi.Spectrum | None,
        active: mi.Bool,
    ) -> tuple[mi.Spectrum, mi.Bool, list[mi.Float], mi.Spectrum]: ...


class _Term(NamedTuple):
    """One batch of boundary samples: film positions, detached weights, AD-attached alpha."""

    pos: mi.Point2f
    weight: mi.Spectrum
    alpha: mi.Float
    active: mi.Bool


# ---------------------------------------------------------------------- AD entry points


def _add_boundary_tangents(
    image: mi.TensorXf, terms: list[_Term], sensor: mi.Sensor
) -> mi.TensorXf:
    """Forward mode: ``image`` plus each term's weight times the tangent of its alpha."""
    if terms:
        # One traversal for all terms: a second dr.forward_to would find the
        # parameters' tangents already consumed by the first.
        dr.forward_to(*[alpha for _, _, alpha, _ in terms])
        footprint = FilmFootprint.from_film(sensor.film())
        for pos, weight, alpha, active in terms:
            d_alpha = dr.grad(alpha)
            # Stubs: Spectrum * mi.Float (mi.Float is declared apart from drjit's Float).
            value = weight * d_alpha  # type: ignore[operator]
            image = image + footprint.splat(pos, value, active, channels=image.shape[2])
    return image


def _backpropagate_boundary(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    grad_in: mi.TensorXf,
    seed: Any,
    spp: int,
) -> None:
    """Reverse mode: the adjoint image, gathered at each term's samples, into alpha."""
    footprint = FilmFootprint.from_film(sensor.film())
    for pos, weight, alpha, active in _boundary_terms(integrator, scene, sensor, seed, spp):
        adjoint = footprint.gather(pos, grad_in, active)
        scale = dr.select(active, dr.sum(adjoint * weight), 0.0)
        dr.backward(dr.sum(dr.detach(scale) * alpha))


# ----------------------------------------------------------------------- boundary terms


def _per_pixel(setting: int, spp: int, sensor: mi.Sensor, div: float) -> int:
    """Samples per pixel for a boundary term: explicit, or -1 = spp / div."""
    if setting >= 0:
        return setting
    spp = spp if spp > 0 else sensor.sampler().sample_count()
    return max(1, int(spp / div))


def _boundary_terms(
    integrator: _Integrator, scene: mi.Scene, sensor: mi.Sensor, seed: Any, spp: int
) -> list[_Term]:
    """(film position, detached weight, AD-attached alpha, active) per sample batch."""
    meshes = [
        s for s in scene.shapes() if s.is_mesh() and dr.grad_enabled(s.vertex_positions_buffer())
    ]
    if not meshes:
        return []
    terms = []
    n_edge = _per_pixel(integrator.edge_samples, spp, sensor, 2)
    n_shadow = _per_pixel(integrator.shadow_edge_samples, spp, sensor, 0.5)
    if n_edge > 0:
        terms += _primary_terms(integrator, scene, sensor, meshes, seed, n_edge)
    if n_shadow > 0:
        term = _shadow_term(integrator, scene, sensor, meshes, seed, n_shadow)  # meshes: moving
        if term is not None:
            terms.append(term)
    return terms


def _sampler(sensor: mi.Sensor, seed: Any, count: int, salt: int) -> mi.Sampler:
    sampler = sensor.sampler().clone()
    sampler.set_sample_count(1)
    sampler.set_samples_per_wavefront(1)
    # Stubs: mi.UInt32 is declared apart from the drjit UInt that seed() takes (same type).
    sampler.seed(mi.UInt32(seed) + mi.UInt32(salt), count)  # type: ignore[arg-type]
    return sampler


def _camera_ray(
    sensor: mi.Sensor, footprint: FilmFootprint, pos: mi.Point2f
) -> tuple[mi.Ray3f, mi.Spectrum]:
    scale = dr.rcp(mi.ScalarVector2f(footprint.size))
    # Stubs: Point2f - ScalarVector2f is missing; Python floats for Float arguments too.
    sample = (pos - mi.ScalarVector2f(footprint.offset)) * scale  # type: ignore[operator]
    return sensor.sample_ray(
        time=sensor.shutter_open(),  # type: ignore[arg-type]  # float -> Float
        sample1=0.0,  # type: ignore[arg-type]  # float -> Float
        sample2=sample,
        sample3=mi.Point2f(0.5),
    )


def _radiance(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    footprint: FilmFootprint,
    pos: mi.Point2f,
    sampler: mi.Sampler,
    active: mi.Bool,
) -> mi.Spectrum:
    """Path-traced radiance (primal) through film position ``pos``, times the ray weight."""
    ray, ray_weight = _camera_ray(sensor, footprint, pos)
    radiance, _, _, _ = integrator.sample(
        mode=dr.ADMode.Primal,
        scene=scene,
        sampler=sampler,
        ray=ray,
        depth=mi.UInt32(0),
        δL=None,
        state_in=None,
        active=mi.Bool(active),
    )
    return dr.select(active, radiance * ray_weight, 0.0)


# --------------------------------------------------------------- primary visibility term


@dataclass
class _Silhouette:
    """One mesh's candidate edges and their projected lengths clipped to the film (detached)."""

    mesh: Any  # mi.Mesh
    edges: sil.MeshEdges
    idx: Any  # mi.UInt32: candidate edges
    length: Any  # mi.Float per candidate: clipped projected length times importance
    t0: Any  # mi.Float per candidate: clipped parameter range on the projected edge
    t1: Any
    total: float  # sum of ``length``
    outline: Any  # mi.Bool per edge: an outline (else a crease)


@dataclass
class _EdgePoints:
    """Points drawn on one mesh's candidate edges (detached)."""

    e: Any  # mi.UInt32: the edge
    v0: Any  # mi.UInt32: its vertices
    v1: Any
    w0: Any  # mi.UInt32 | None: their copies in the edge's second face (seams)
    w1: Any
    positions: Any  # mi.Float: the mesh's vertex positions
    a: Any  # mi.Point2f: projected end points
    b: Any
    x: Any  # mi.Point2f: the sample on the film
    inv_len: Any  # mi.Float: 1 / |b - a|
    normal: Any  # mi.Vector2f: unit normal of the projected edge


def _primary_terms(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    meshes: list,
    seed: Any,
    per_pixel: int,
) -> list[_Term]:
    """Primary visibility: one term per mesh, its share of samples by clipped edge length."""
    film = sensor.film()
    footprint = FilmFootprint.from_film(film)
    camera = sil.Pinhole.from_sensor(sensor)
    eye = mi.Point3f(sensor.world_transform() @ mi.ScalarPoint3f(0.0))
    lo, hi = footprint.support_box()
    budget = per_pixel * footprint.size[0] * footprint.size[1]

    per_mesh = []
    horizons = []
    with dr.suspend_grad():
        for mesh in meshes:
            found = _silhouette(mesh, camera, eye, lo, hi, integrator.crease_weight)
            if found is not None:
                per_mesh.append(found)
            curve = _horizon(mesh, camera, eye, lo, hi)
            if curve is not None:
                horizons.append(curve)
    grand_total = sum(item.total for item in per_mesh) + sum(h.total for h in horizons)
    terms = []
    for salt, cand in enumerate(per_mesh):
        count = max(1, round(budget * cand.total / grand_total))
        terms.append(
            _primary_term(
                integrator, scene, sensor, footprint, camera, eye, cand, seed, count, salt
            )
        )
    for salt, curve in enumerate(horizons):
        count = max(1, round(budget * curve.total / grand_total))
        terms.append(
            _horizon_term(
                integrator, scene, sensor, footprint, camera, eye, curve, seed, count, salt
            )
        )
    return terms


@dataclass
class _Horizon:
    """One mesh's shading-horizon chords and their projected lengths clipped to the film."""

    mesh: Any  # mi.Mesh
    faces: horizon.HorizonFaces
    length: Any  # mi.Float per chord
    t0: Any  # mi.Float per chord: clipped parameter range
    t1: Any
    total: float


def _horizon(
    mesh: Any,
    camera: sil.Pinhole,
    eye: mi.Point3f,
    lo: tuple[float, float],
    hi: tuple[float, float],
) -> _Horizon | None:
    """Chords of the shading horizon of a smooth-normal mesh (see shading_horizon.py)."""
    faces = horizon.horizon_faces(mesh, eye)
    if faces is None:
        return None
    pos = dr.detach(mesh.vertex_positions_buffer())
    c0, c1 = horizon.chord(pos, dr.detach(mesh.vertex_normals_buffer()), faces, eye)
    a, va = camera.project(c0)
    b, vb = camera.project(c1)
    t0, t1 = sil.clip_segment(a, b, lo, hi)
    length = dr.select(va & vb & (t1 > t0), (t1 - t0) * dr.norm(b - a), 0.0)
    total = float(dr.sum(length)[0]) if dr.width(length) else 0.0
    if not total > 0.0:
        return None
    return _Horizon(mesh, faces, length, t0, t1, total)


def _horizon_term(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    footprint: FilmFootprint,
    camera: sil.Pinhole,
    eye: mi.Point3f,
    curve: _Horizon,
    seed: Any,
    count: int,
    salt: int,
) -> _Term:
    """``count`` samples on one mesh's horizon chords, stratified over their length."""
    sampler = _sampler(sensor, seed, count, 0x4A5B + 17 * salt)
    mesh = curve.mesh
    with dr.suspend_grad():
        distr = mi.DiscreteDistribution(curve.length)
        strata = dr.arange(mi.Float, count)
        u_strat = (strata + sampler.next_1d()) * dr.opaque(mi.Float, 1.0 / count)
        k, u = distr.sample_reuse(dr.minimum(u_strat, dr.one_minus_epsilon(mi.Float)))
        faces = horizon.gather_faces(curve.faces, k)
        pos = dr.detach(mesh.vertex_positions_buffer())
        c0, c1 = horizon.chord(pos, dr.detach(mesh.vertex_normals_buffer()), faces, eye)
        a, _ = camera.project(c0)
        b, _ = camera.project(c1)
        x = dr.lerp(
            a, b, dr.lerp(dr.gather(mi.Float, curve.t0, k), dr.gather(mi.Float, curve.t1, k), u)
        )
        d = b - a
        inv_len = dr.rcp(dr.norm(d))
        normal = mi.Vector2f(-d.y, d.x) * inv_len
        # Probes stay inside the triangle: a quarter of x's distance to its edge lines.
        tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), faces.face)
        corners = [camera.project(sil.gather_points(pos, v))[0] for v in (tri.x, tri.y, tri.z)]
        dist = dr.minimum(
            horizon.line_distance(x, corners[0], corners[1]),
            dr.minimum(
                horizon.line_distance(x, corners[1], corners[2]),
                horizon.line_distance(x, corners[2], corners[0]),
            ),
        )
        eps = dr.clip(0.25 * dist, 1e-4, integrator.edge_epsilon)
        active = mi.Bool(True)
        sampler_minus = sampler.clone()
        f_plus = _radiance(integrator, scene, sensor, footprint, x + eps * normal, sampler, active)
        f_minus = _radiance(
            integrator, scene, sensor, footprint, x - eps * normal, sampler_minus, active
        )
        # Stubs: Spectrum * mi.Float (mi.Float is declared apart from drjit's Float).
        weight = (f_plus - f_minus) * dr.opaque(mi.Float, curve.total / count)  # type: ignore[operator]
        active = dr.any(weight != 0.0)
    # AD-attached: the chord follows the vertices (and normals, if they derive from them).
    c0, c1 = horizon.chord(mesh.vertex_positions_buffer(), mesh.vertex_normals_buffer(), faces, eye)
    a_att, _ = camera.project(c0)
    b_att, _ = camera.project(c1)
    d_att = b_att - a_att
    rel = dr.detach(x) - a_att
    alpha = (d_att.x * rel.y - d_att.y * rel.x) * dr.detach(inv_len)
    return _Term(x, weight, alpha, active)


def _silhouette(
    mesh: Any,
    camera: sil.Pinhole,
    eye: mi.Point3f,
    lo: tuple[float, float],
    hi: tuple[float, float],
    crease_weight: float,
) -> _Silhouette | None:
    """The mesh's outline (and crease) edges from ``eye``; None when none reaches the film."""
    edges = sil.mesh_edges(mesh)
    outline = sil.silhouette_mask(mesh, edges, [eye])
    crease = mi.Bool(False)
    if crease_weight > 0:
        crease = sil.crease_mask(mesh, edges, eye) & ~outline
    idx = cast("mi.UInt32", dr.compress(outline | crease))  # drjit types compress() `object`
    if dr.width(idx) == 0:
        return None
    pos = dr.detach(mesh.vertex_positions_buffer())
    a, va = camera.project(sil.gather_points(pos, dr.gather(mi.UInt32, edges.v0, idx)))
    b, vb = camera.project(sil.gather_points(pos, dr.gather(mi.UInt32, edges.v1, idx)))
    t0, t1 = sil.clip_segment(a, b, lo, hi)
    length = dr.select(va & vb & (t1 > t0), (t1 - t0) * dr.norm(b - a), 0.0)
    # Importance per unit length: 1 on outlines, crease_weight on creases.
    importance = dr.select(dr.gather(mi.Bool, outline, idx), 1.0, crease_weight)
    length = length * importance
    total = float(dr.sum(length)[0]) if dr.width(length) else 0.0
    if not total > 0.0:
        return None
    return _Silhouette(mesh, edges, idx, length, t0, t1, total, outline)


def _primary_term(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    footprint: FilmFootprint,
    camera: sil.Pinhole,
    eye: mi.Point3f,
    cand: _Silhouette,
    seed: Any,
    count: int,
    salt: int,
) -> _Term:
    """``count`` samples on one mesh's candidate edges."""
    sampler = _sampler(sensor, seed, count, 0x9E37 + 17 * salt)
    with dr.suspend_grad():
        pts = _edge_points(cand, camera, sampler, count)
        active = mi.Bool(True)
        sampler_minus = sampler.clone()
        eps = _probe_offset(
            camera,
            cand.mesh,
            pts.positions,
            cand.edges,
            pts.e,
            pts.a,
            pts.b,
            pts.x,
            eye,
            pts.inv_len,
            integrator.edge_epsilon,
        )
        f_plus = _radiance(
            integrator, scene, sensor, footprint, pts.x + eps * pts.normal, sampler, active
        )
        f_minus = _radiance(
            integrator, scene, sensor, footprint, pts.x - eps * pts.normal, sampler_minus, active
        )
        importance = dr.select(
            dr.gather(mi.Bool, cand.outline, pts.e),
            1.0,
            integrator.crease_weight,
        )
        # Stubs: Spectrum * mi.Float (mi.Float is declared apart from drjit's Float).
        weight = (f_plus - f_minus) * dr.opaque(mi.Float, cand.total / count) / importance  # type: ignore[operator]
        active = dr.any(weight != 0.0)
    return _Term(pts.x, weight, _edge_alpha(cand.mesh, camera, pts), active)


def _edge_points(
    cand: _Silhouette, camera: sil.Pinhole, sampler: mi.Sampler, count: int
) -> _EdgePoints:
    """``count`` points stratified over the candidates' clipped length (call detached)."""
    distr = mi.DiscreteDistribution(cand.length)
    # Stratified over the length CDF: every edge gets its share of samples.
    strata = dr.arange(mi.Float, count)
    # Per-render scalars as opaque variables, not literals that would
    # recompile the kernels at every step of an optimization.
    u_strat = (strata + sampler.next_1d()) * dr.opaque(mi.Float, 1.0 / count)
    k, u = distr.sample_reuse(dr.minimum(u_strat, dr.one_minus_epsilon(mi.Float)))
    e = dr.gather(mi.UInt32, cand.idx, k)
    v0 = dr.gather(mi.UInt32, cand.edges.v0, e)
    v1 = dr.gather(mi.UInt32, cand.edges.v1, e)
    w0 = w1 = None
    if cand.edges.w0 is not None:
        w0 = dr.gather(mi.UInt32, cand.edges.w0, e)
        w1 = dr.gather(mi.UInt32, cand.edges.w1, e)
    pos = dr.detach(cand.mesh.vertex_positions_buffer())
    a, _ = camera.project(sil.gather_points(pos, v0))
    b, _ = camera.project(sil.gather_points(pos, v1))
    t = dr.lerp(dr.gather(mi.Float, cand.t0, k), dr.gather(mi.Float, cand.t1, k), u)
    x = dr.lerp(a, b, t)
    d = b - a
    inv_len = dr.rcp(dr.norm(d))
    normal = mi.Vector2f(-d.y, d.x) * inv_len
    return _EdgePoints(e, v0, v1, w0, w1, pos, a, b, x, inv_len, normal)


def _edge_alpha(mesh: Any, camera: sil.Pinhole, pts: _EdgePoints) -> mi.Float:
    """The only AD-attached part: alpha at the (fixed) sample point.

    A seam edge's end points are the mean of their copies in both faces (the same points):
    reverse mode then shares the gradient between the copies instead of giving one all.
    """
    buf = mesh.vertex_positions_buffer()
    a_att, _ = camera.project(_edge_end(buf, pts.v0, pts.w0))
    b_att, _ = camera.project(_edge_end(buf, pts.v1, pts.w1))
    d_att = b_att - a_att
    alpha = dr.detach(pts.x) - a_att
    return (d_att.x * alpha.y - d_att.y * alpha.x) * dr.detach(pts.inv_len)


def _edge_end(buf: Any, v: Any, w: Any) -> mi.Point3f:
    """AD-attached end point of an edge: vertex ``v`` (face f0), averaged with its copy
    ``w`` in face f1 on a seam."""
    p = sil.gather_points(buf, v)
    if w is None:
        return p
    return 0.5 * (p + sil.gather_points(buf, w))


def _probe_offset(camera, mesh, pos, edges, e, a, b, x, eye, inv_len, max_offset) -> mi.Float:
    """Screen offset of the two probe rays: at most a quarter of the projected height of
    the edge's adjacent faces, so a probe never jumps over a thin (grazing) neighbour face
    onto another discontinuity (e.g. from a crease next to the outline across the outline).
    """
    height = mi.Float(max_offset * 4.0)
    for second, faces in ((False, edges.f0), (True, edges.f1)):
        f = dr.gather(mi.UInt32, faces, e)
        tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), f)
        ends = edges.ends_in(second)
        third = (
            tri.x
            + tri.y
            + tri.z
            - dr.gather(mi.UInt32, ends[0], e)
            - dr.gather(mi.UInt32, ends[1], e)
        )
        c, valid = camera.project(sil.gather_points(pos, third))
        h = dr.abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)) * inv_len
        height = dr.minimum(height, dr.select(valid, h, height))
        if mesh.has_vertex_normals():
            # Nor over the dark band inside a smooth-normal outline (shading_horizon.py).
            normals = dr.detach(mesh.vertex_normals_buffer())
            gap = horizon.distance_to_face_horizon(mesh, camera, f, pos, normals, eye, x)
            height = dr.minimum(height, gap)
    return dr.clip(0.25 * height, 1e-4, max_offset)


# --------------------------------------------------------------- shadow boundary term


@dataclass
class _ShadowLanes:
    """The kept samples' camera rays and shading points, and the edge point drawn for each."""

    count: int
    ray: mi.Ray3f
    ray_weight: mi.Spectrum
    si: mi.SurfaceInteraction3f
    bsdf: mi.BSDFPtr
    active: mi.Bool  # narrowed in place as the term is built
    lane_total: Any  # mi.Float: candidate length the lane draws from
    k: Any  # mi.UInt32: the candidate edge drawn
    t: Any  # mi.Float: the point on it
    ris: Any  # mi.Float: resampling weight


@dataclass
class _ShadowEdges:
    """Each lane's edge: detached end points and shape; per mesh, vertex indices to re-gather."""

    v0p: mi.Point3f
    v1p: mi.Point3f
    shape: mi.ShapePtr
    chosen: list  # (mesh, v0, v1, w0, w1, mine: lanes whose edge is on the mesh)


@dataclass
class _ShadowGeometry:
    """Direction to the edge point and the edge's plane through the shading point.

    The vectors are Point3f: Dr.Jit arithmetic on points gives points.
    """

    omega: mi.Point3f  # (m - p) / r
    n_e: mi.Point3f  # (v0 - p) x (v1 - p)
    n_len: mi.Float  # |n_e|
    n_hat: mi.Point3f
    measure: mi.Float  # |omega x e_hat| / r: edge length to arc length on the sphere


def _shadow_term(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    meshes: list,
    seed: Any,
    per_pixel: int,
) -> _Term | None:
    """Shadow boundaries of direct light, seen from camera-visible shading points."""
    film = sensor.film()
    footprint = FilmFootprint.from_film(film)
    found = _shadow_candidates(scene, meshes)
    if found is None:
        return None
    cand, spheres, infinite = found
    pos = _shadow_receivers(scene, sensor, footprint, cand, meshes, seed, per_pixel)
    if pos is None:
        return None
    with dr.suspend_grad():
        lanes = _shadow_lanes(
            integrator, scene, sensor, footprint, cand, meshes, seed, pos, spheres, infinite
        )
        edges = _chosen_edges(cand, lanes)
        geometry = _shadow_geometry(lanes, edges)
        weight, inv_dist = _shadow_weight(integrator, scene, lanes, edges, geometry, per_pixel)
    alpha = _shadow_alpha(scene, lanes, edges, geometry, inv_dist)
    return _Term(pos, weight, alpha, lanes.active)


def _shadow_candidates(
    scene: mi.Scene, meshes: list
) -> tuple[shadow_edges.EdgeCandidates, list, bool] | None:
    """Candidate shadow edges, emitter spheres, whether an emitter is infinite; None: none."""
    viewpoints, all_edges = _emitter_viewpoints(scene)
    if not viewpoints and not all_edges:
        return None

    # Moving meshes' edges first; static meshes' edges matter only for shading points
    # on a moving surface (the receiver moves relative to them). An emitter mesh's
    # edges are left out: the probes either side of one meet the emitter itself, a
    # case the weight below leaves to the interior term (it is 0 for every sample).
    moving_ids = {id(m) for m in meshes}
    casters = [m for m in meshes if not m.is_emitter()]
    static = [
        s for s in scene.shapes() if s.is_mesh() and id(s) not in moving_ids and not s.is_emitter()
    ]
    cand = shadow_edges.gather_candidates(casters, static, viewpoints, all_edges)
    if cand is None:
        return None
    spheres, infinite = shadow_edges.emitter_spheres(scene)
    return cand, spheres, infinite


def _shadow_receivers(
    scene: mi.Scene,
    sensor: mi.Sensor,
    footprint: FilmFootprint,
    cand: shadow_edges.EdgeCandidates,
    meshes: list,
    seed: Any,
    spp: int,
) -> mi.Point2f | None:
    """Film positions (``spp`` per pixel) whose shading point can receive a moving shadow."""
    lo, hi = footprint.region_lo_hi_int()
    width, height = hi[0] - lo[0], hi[1] - lo[1]
    count = width * height * spp
    sampler = _sampler(sensor, seed, count, 0x51ED)
    with dr.suspend_grad():
        idx = dr.arange(mi.UInt32, count) // spp
        pixel = mi.Vector2f(mi.Float(idx % width), mi.Float(idx // width))
        # Stubs: Vector2f + ScalarVector2f is missing.
        pos = pixel + mi.ScalarVector2f(lo) + sampler.next_2d()  # type: ignore[operator]
        ray, _ = _camera_ray(sensor, footprint, pos)
        si = scene.ray_intersect(ray)
        bsdf = si.bsdf(ray)  # type: ignore[call-overload]  # stubs: Ray3f -> RayDifferential3f
        keep, *_ = shadow_edges.receiving_lanes(cand, meshes, si, bsdf)
        # Only the lanes that can receive a moving shadow go on (a compact wavefront:
        # on a convex object before a black backdrop that is none of them).
        kept = cast("mi.UInt32", dr.compress(keep))  # drjit types compress() `object`
        if dr.width(kept) == 0:
            return None
        return dr.gather(mi.Point2f, pos, kept)


def _shadow_lanes(
    integrator: _Integrator,
    scene: mi.Scene,
    sensor: mi.Sensor,
    footprint: FilmFootprint,
    cand: shadow_edges.EdgeCandidates,
    meshes: list,
    seed: Any,
    pos: mi.Point2f,
    spheres: list,
    infinite: bool,
) -> _ShadowLanes:
    """Trace the kept samples again and draw one candidate edge point per lane (detached)."""
    count = dr.width(pos)
    sampler = _sampler(sensor, seed, count, 0x51EE)
    ray, ray_weight = _camera_ray(sensor, footprint, pos)
    si = scene.ray_intersect(ray)
    bsdf = si.bsdf(ray)  # type: ignore[call-overload]  # stubs: Ray3f -> RayDifferential3f
    active, lane_mesh, lane_total, skip = shadow_edges.receiving_lanes(cand, meshes, si, bsdf)
    # Stubs: mitsuba's stubs lack mi.PCG32 (Dr.Jit's PCG32 of the variant).
    rng = mi.PCG32(count, mi.UInt64(dr.reinterpret_array(mi.UInt32, sampler.next_1d())))  # type: ignore[operator]
    two_sided = mi.has_flag(bsdf.flags(), mi.BSDFFlags.Transmission)
    k, t, ris = shadow_edges.sample(
        cand,
        si.p,
        si.n,
        two_sided,
        lane_mesh,
        si.prim_index,
        lane_total,
        skip,
        spheres,
        infinite,
        rng,
        integrator.shadow_candidates,
        active,
    )
    active &= ris > 0
    return _ShadowLanes(count, ray, ray_weight, si, bsdf, active, lane_total, k, t, ris)


def _chosen_edges(cand: shadow_edges.EdgeCandidates, lanes: _ShadowLanes) -> _ShadowEdges:
    """The drawn edges' end points and shapes (detached)."""
    active, k = lanes.active, lanes.k
    v0p = dr.gather(mi.Point3f, cand.p0, k, active)
    v1p = dr.gather(mi.Point3f, cand.p1, k, active)
    edge_mesh = dr.gather(mi.UInt32, cand.mesh_index, k, active)
    edge_shape = dr.zeros(mi.ShapePtr, lanes.count)
    chosen = []
    for j, mesh in enumerate(cand.meshes):
        mine = active & (edge_mesh == j)
        edge_shape[mine] = mi.ShapePtr(mesh)
        v0 = dr.gather(mi.UInt32, cand.v0, k, mine)
        v1 = dr.gather(mi.UInt32, cand.v1, k, mine)
        w0 = dr.gather(mi.UInt32, cand.w0, k, mine)
        w1 = dr.gather(mi.UInt32, cand.w1, k, mine)
        chosen.append((mesh, v0, v1, w0, w1, mine))
    return _ShadowEdges(v0p, v1p, edge_shape, chosen)


def _shadow_geometry(lanes: _ShadowLanes, edges: _ShadowEdges) -> _ShadowGeometry:
    """omega, n_e and the change of measure; drops degenerate lanes from ``lanes.active``."""
    si = lanes.si
    m = dr.lerp(edges.v0p, edges.v1p, lanes.t)
    to_m = m - si.p
    r = dr.norm(to_m)
    omega = to_m / r
    n_e = dr.cross(edges.v0p - si.p, edges.v1p - si.p)
    n_len = dr.norm(n_e)
    lanes.active &= (n_len > 0) & (r > 0)
    n_hat = n_e / dr.select(lanes.active, n_len, 1.0)
    edge_dir = dr.normalize(edges.v1p - edges.v0p)
    measure = dr.norm(dr.cross(omega, edge_dir)) / r
    # Stubs: dr.norm() returns drjit's Float, declared apart from mi.Float (the same type).
    return _ShadowGeometry(omega, n_e, n_len, n_hat, measure)  # type: ignore[arg-type]


def _shadow_weight(
    integrator: _Integrator,
    scene: mi.Scene,
    lanes: _ShadowLanes,
    edges: _ShadowEdges,
    geometry: _ShadowGeometry,
    spp: int,
) -> tuple[mi.Spectrum, mi.Float]:
    """(g+ - g-) times the sampling weights, and 1 / distance to the area emitter seen
    (0: envmap). Narrows ``lanes.active`` to the lanes with a non-zero weight."""
    si, bsdf = lanes.si, lanes.bsdf
    ctx = mi.BSDFContext()
    g = []
    inv_dist = mi.Float(0.0)
    for sign in (-1.0, 1.0):
        w = dr.normalize(geometry.omega + sign * integrator.shadow_epsilon * geometry.n_hat)
        # Stubs: w is a Point3f (Dr.Jit point arithmetic), which converts to Vector3f.
        ray_l = si.spawn_ray(w)  # type: ignore[arg-type]
        # Stubs: mi.Bool is declared apart from the drjit Bool these methods take (same type).
        si_l = scene.ray_intersect(ray_l, lanes.active)  # type: ignore[call-overload]
        # A moving emitter's own outline: emitter sampling integrates over its
        # (moving) surface, where the outline is no discontinuity; the
        # BSDF-sampled share of that jump is not estimated (see docs).
        lanes.active &= ~((si_l.shape == edges.shape) & si_l.shape.is_emitter())
        emitter = si_l.emitter(scene, lanes.active)
        le = emitter.eval(si_l, lanes.active & (emitter != None))  # noqa: E711
        f = bsdf.eval(ctx, si, si.to_local(w), lanes.active)  # type: ignore[arg-type]  # mi.Bool
        g.append(dr.select(lanes.active, f * le, 0.0))
        on_area = si_l.is_valid() & (emitter != None) & dr.any(le != 0)  # noqa: E711
        inv_dist = dr.select(on_area, dr.rcp(si_l.t), inv_dist)
    weight = (
        (g[1] - g[0]) * geometry.measure * lanes.ris * lanes.lane_total * lanes.ray_weight / spp
    )
    lanes.active &= dr.any(weight != 0.0)
    return weight, inv_dist


def _shadow_alpha(
    scene: mi.Scene,
    lanes: _ShadowLanes,
    edges: _ShadowEdges,
    geometry: _ShadowGeometry,
    inv_dist: mi.Float,
) -> mi.Float:
    """AD-attached alpha = n_e(theta) . omega / |n_e| at fixed omega.

    prb's interior holds the point y on an area emitter fixed instead (omega follows the
    shading point p), which adds - n_e . dp/dtheta / |y - p| (0 for environment maps).
    """
    alpha = mi.Float(0.0)
    # The shading point follows its (possibly moving) surface, as in prb's interior.
    # Stubs: mi.Bool is declared apart from the drjit Bool ray_intersect() takes (same type).
    p = scene.ray_intersect(dr.detach(lanes.ray), lanes.active).p  # type: ignore[call-overload]
    alpha -= dr.dot(dr.detach(geometry.n_e), p) * dr.detach(inv_dist)
    for mesh, v0, v1, w0, w1, mine in edges.chosen:
        buf = mesh.vertex_positions_buffer()
        # Seam copies averaged, as for primary edges (_edge_end).
        q0 = 0.5 * (sil.gather_points(buf, v0, mine) + sil.gather_points(buf, w0, mine))
        q1 = 0.5 * (sil.gather_points(buf, v1, mine) + sil.gather_points(buf, w1, mine))
        n_att = dr.cross(q0 - p, q1 - p)
        alpha += dr.select(mine, dr.dot(n_att, dr.detach(geometry.omega)), 0.0)
    return alpha / dr.detach(dr.select(lanes.active, geometry.n_len, 1.0))


def _emitter_viewpoints(scene: mi.Scene) -> tuple[list, bool]:
    """Bounding-box corners of area emitters, and whether any light needs all edges."""
    corners: list = []
    all_edges = False
    for emitter in scene.emitters():
        shape = emitter.get_shape()
        if shape is not None:
            box = shape.bbox()
            for i in range(8):
                corners.append(
                    [
                        (box.max if i & 1 else box.min)[0],
                        (box.max if i & 2 else box.min)[1],
                        (box.max if i & 4 else box.min)[2],
                    ]
                )
        elif emitter.is_environment():
            all_edges = True
    return corners, all_edges


_CLASSES: dict[str, type] = {}


def integrator_class() -> type:
    """The ``edge_sampling`` class for the current Mitsuba variant (built once per variant)."""
    # mitsuba.ad.integrators imports its submodules at run time, once a variant is set.
    PRBIntegrator = mi.ad.integrators.prb.PRBIntegrator  # type: ignore[attr-defined]
    key = mi.variant()
    if key is None:  # not reached: prb above exists only once a variant is set
        raise RuntimeError("edge_sampling: no Mitsuba variant is set")
    cls = _CLASSES.get(key)
    if cls is None or not issubclass(cls, PRBIntegrator):
        cls = _CLASSES[key] = _make_class(PRBIntegrator)
    return cls


def register() -> None:
    """Register ``edge_sampling`` for the current Mitsuba variant (AD variants only)."""
    if "_ad_" not in (mi.variant() or ""):
        return  # prb, our base class, exists only in differentiable variants
    cls = integrator_class()
    mi.register_integrator("edge_sampling", lambda props: cls(props))


def __getattr__(name: str) -> Any:
    if name == "EdgeSamplingIntegrator":
        return integrator_class()
    raise AttributeError(name)
