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

Only triangle meshes produce boundary terms; other shapes (analytic spheres, ...) still get
the interior (prb) gradients. Meshes whose vertices carry no gradient are skipped.
"""

from __future__ import annotations

from typing import Any

import drjit as dr
import mitsuba as mi

from invrender.integrators import shadow_edges
from invrender.integrators import silhouette as sil
from invrender.integrators.film_filter import FilmFootprint


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

        Boundary terms cover triangle meshes only (other shapes, e.g. analytic spheres, get
        interior-term gradients only), a ``perspective`` sensor, and shadow boundaries of
        direct light from area emitters and environment maps as seen from camera-visible
        points (no shadow edges after the first bounce, none for point/spot/directional
        lights).
        """

        def __init__(self, props: mi.Properties) -> None:
            super().__init__(props)
            self.edge_samples = int(props.get("edge_samples", -1))
            self.shadow_edge_samples = int(props.get("shadow_edge_samples", -1))
            self.edge_epsilon = float(props.get("edge_epsilon", 0.05))
            self.shadow_epsilon = float(props.get("shadow_epsilon", 1e-4))
            self.crease_weight = float(props.get("crease_weight", 0.25))
            self.shadow_candidates = int(props.get("shadow_candidates", 64))

        def to_string(self) -> str:
            return (
                f"EdgeSamplingIntegrator[max_depth={self.max_depth}, rr_depth={self.rr_depth}, "
                f"edge_samples={self.edge_samples}, shadow_edge_samples={self.shadow_edge_samples}]"
            )

        # ------------------------------------------------------------------ AD entry points

        def render_forward(
            self, scene: mi.Scene, params: Any, sensor: Any = 0, seed: Any = 0, spp: int = 0
        ) -> mi.TensorXf:
            if isinstance(sensor, int):
                sensor = scene.sensors()[sensor]
            image = super().render_forward(scene, params, sensor, seed, spp)
            terms = self._boundary_terms(scene, sensor, seed, spp)
            if terms:
                # One traversal for all terms: a second dr.forward_to would find the
                # parameters' tangents already consumed by the first.
                dr.forward_to(*[alpha for _, _, alpha, _ in terms])
                footprint = FilmFootprint.from_film(sensor.film())
                for pos, weight, alpha, active in terms:
                    d_alpha = dr.grad(alpha)
                    image = image + footprint.splat(
                        pos, weight * d_alpha, active, channels=image.shape[2]
                    )
            return image

        def render_backward(
            self,
            scene: mi.Scene,
            params: Any,
            grad_in: mi.TensorXf,
            sensor: Any = 0,
            seed: Any = 0,
            spp: int = 0,
        ) -> None:
            if isinstance(sensor, int):
                sensor = scene.sensors()[sensor]
            super().render_backward(scene, params, grad_in, sensor, seed, spp)
            footprint = FilmFootprint.from_film(sensor.film())
            for pos, weight, alpha, active in self._boundary_terms(scene, sensor, seed, spp):
                adjoint = footprint.gather(pos, grad_in, active)
                scale = dr.select(active, dr.sum(adjoint * weight), 0.0)
                dr.backward(dr.sum(dr.detach(scale) * alpha))

        # ------------------------------------------------------------------ boundary terms

        def _per_pixel(self, setting: int, spp: int, sensor: mi.Sensor, div: float) -> int:
            """Samples per pixel for a boundary term: explicit, or -1 = spp / div."""
            if setting >= 0:
                return setting
            spp = spp if spp > 0 else sensor.sampler().sample_count()
            return max(1, int(spp / div))

        def _boundary_terms(self, scene: mi.Scene, sensor: mi.Sensor, seed: Any, spp: int) -> list:
            """(film position, detached weight, AD-attached alpha, active) per sample batch."""
            meshes = [
                s
                for s in scene.shapes()
                if s.is_mesh() and dr.grad_enabled(s.vertex_positions_buffer())
            ]
            if not meshes:
                return []
            terms = []
            n_edge = self._per_pixel(self.edge_samples, spp, sensor, 2)
            n_shadow = self._per_pixel(self.shadow_edge_samples, spp, sensor, 0.5)
            if n_edge > 0:
                terms += self._primary_terms(scene, sensor, meshes, seed, n_edge)
            if n_shadow > 0:
                term = self._shadow_term(scene, sensor, meshes, seed, n_shadow)  # meshes: moving
                if term is not None:
                    terms.append(term)
            return terms

        def _sampler(self, sensor: mi.Sensor, seed: Any, count: int, salt: int) -> mi.Sampler:
            sampler = sensor.sampler().clone()
            sampler.set_sample_count(1)
            sampler.set_samples_per_wavefront(1)
            sampler.seed(mi.UInt32(seed) + mi.UInt32(salt), count)
            return sampler

        def _camera_ray(self, sensor: mi.Sensor, footprint: FilmFootprint, pos: mi.Point2f):
            scale = dr.rcp(mi.ScalarVector2f(footprint.size))
            sample = (pos - mi.ScalarVector2f(footprint.offset)) * scale
            return sensor.sample_ray(
                time=sensor.shutter_open(),
                sample1=0.0,
                sample2=sample,
                sample3=mi.Point2f(0.5),
            )

        def _radiance(self, scene, sensor, footprint, pos, sampler, active) -> mi.Spectrum:
            ray, ray_weight = self._camera_ray(sensor, footprint, pos)
            radiance, _, _, _ = self.sample(
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

        def _primary_terms(self, scene, sensor, meshes, seed, per_pixel) -> list:
            film = sensor.film()
            footprint = FilmFootprint.from_film(film)
            camera = sil.Pinhole.from_sensor(sensor)
            eye = mi.Point3f(sensor.world_transform() @ mi.ScalarPoint3f(0.0))
            lo, hi = footprint.support_box()
            budget = per_pixel * footprint.size[0] * footprint.size[1]

            # Candidates and their clipped projected lengths, per mesh (detached).
            per_mesh = []
            with dr.suspend_grad():
                for mesh in meshes:
                    edges = sil.mesh_edges(mesh)
                    outline = sil.silhouette_mask(mesh, edges, [eye])
                    crease = mi.Bool(False)
                    if self.crease_weight > 0:
                        crease = sil.crease_mask(mesh, edges, eye) & ~outline
                    idx = dr.compress(outline | crease)
                    if dr.width(idx) == 0:
                        continue
                    pos = dr.detach(mesh.vertex_positions_buffer())
                    a, va = camera.project(
                        sil.gather_points(pos, dr.gather(mi.UInt32, edges.v0, idx))
                    )
                    b, vb = camera.project(
                        sil.gather_points(pos, dr.gather(mi.UInt32, edges.v1, idx))
                    )
                    t0, t1 = sil.clip_segment(a, b, lo, hi)
                    length = dr.select(va & vb & (t1 > t0), (t1 - t0) * dr.norm(b - a), 0.0)
                    # Importance per unit length: 1 on outlines, crease_weight on creases.
                    importance = dr.select(
                        dr.gather(mi.Bool, outline, idx), 1.0, self.crease_weight
                    )
                    length = length * importance
                    total = float(dr.sum(length)[0]) if dr.width(length) else 0.0
                    if total > 0.0:
                        per_mesh.append((mesh, edges, idx, length, t0, t1, total, outline))
            grand_total = sum(item[6] for item in per_mesh)
            terms = []
            for salt, (mesh, edges, idx, length, t0, t1, total, outline) in enumerate(per_mesh):
                count = max(1, round(budget * total / grand_total))
                sampler = self._sampler(sensor, seed, count, 0x9E37 + 17 * salt)
                with dr.suspend_grad():
                    distr = mi.DiscreteDistribution(length)
                    # Stratified over the length CDF: every edge gets its share of samples.
                    strata = dr.arange(mi.Float, count)
                    # Per-render scalars as opaque variables, not literals that would
                    # recompile the kernels at every step of an optimization.
                    u_strat = (strata + sampler.next_1d()) * dr.opaque(mi.Float, 1.0 / count)
                    k, u = distr.sample_reuse(dr.minimum(u_strat, dr.one_minus_epsilon(mi.Float)))
                    e = dr.gather(mi.UInt32, idx, k)
                    v0 = dr.gather(mi.UInt32, edges.v0, e)
                    v1 = dr.gather(mi.UInt32, edges.v1, e)
                    pos = dr.detach(mesh.vertex_positions_buffer())
                    a, _ = camera.project(sil.gather_points(pos, v0))
                    b, _ = camera.project(sil.gather_points(pos, v1))
                    t = dr.lerp(dr.gather(mi.Float, t0, k), dr.gather(mi.Float, t1, k), u)
                    x = dr.lerp(a, b, t)
                    d = b - a
                    inv_len = dr.rcp(dr.norm(d))
                    normal = mi.Vector2f(-d.y, d.x) * inv_len
                    active = mi.Bool(True)
                    sampler_minus = sampler.clone()
                    eps = _probe_offset(
                        camera, mesh, pos, edges, e, v0, v1, a, b, inv_len, self.edge_epsilon
                    )
                    f_plus = self._radiance(
                        scene, sensor, footprint, x + eps * normal, sampler, active
                    )
                    f_minus = self._radiance(
                        scene, sensor, footprint, x - eps * normal, sampler_minus, active
                    )
                    importance = dr.select(
                        dr.gather(mi.Bool, outline, e),
                        1.0,
                        self.crease_weight,
                    )
                    weight = (f_plus - f_minus) * dr.opaque(mi.Float, total / count) / importance
                    active = dr.any(weight != 0.0)
                # The only AD-attached part: alpha at the (fixed) sample point.
                buf = mesh.vertex_positions_buffer()
                a_att, _ = camera.project(sil.gather_points(buf, v0))
                b_att, _ = camera.project(sil.gather_points(buf, v1))
                d_att = b_att - a_att
                alpha = dr.detach(x) - a_att
                alpha = (d_att.x * alpha.y - d_att.y * alpha.x) * dr.detach(inv_len)
                terms.append((x, weight, alpha, active))
            return terms

        def _shadow_term(self, scene, sensor, meshes, seed, per_pixel):
            film = sensor.film()
            footprint = FilmFootprint.from_film(film)
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
                s
                for s in scene.shapes()
                if s.is_mesh() and id(s) not in moving_ids and not s.is_emitter()
            ]
            cand = shadow_edges.gather_candidates(casters, static, viewpoints, all_edges)
            if cand is None:
                return None
            spheres, infinite = shadow_edges.emitter_spheres(scene)

            spp = per_pixel
            lo, hi = footprint.region_lo_hi_int()
            width, height = hi[0] - lo[0], hi[1] - lo[1]
            count = width * height * spp
            sampler = self._sampler(sensor, seed, count, 0x51ED)
            with dr.suspend_grad():
                idx = dr.arange(mi.UInt32, count) // spp
                pixel = mi.Vector2f(mi.Float(idx % width), mi.Float(idx // width))
                pos = pixel + mi.ScalarVector2f(lo) + sampler.next_2d()
                ray, _ = self._camera_ray(sensor, footprint, pos)
                si = scene.ray_intersect(ray)
                keep, *_ = shadow_edges.receiving_lanes(cand, meshes, si, si.bsdf(ray))
                # Only the lanes that can receive a moving shadow go on (a compact wavefront:
                # on a convex object before a black backdrop that is none of them).
                kept = dr.compress(keep)
                count = dr.width(kept)
                if count == 0:
                    return None
                pos = dr.gather(mi.Point2f, pos, kept)
                sampler = self._sampler(sensor, seed, count, 0x51EE)
                ray, ray_weight = self._camera_ray(sensor, footprint, pos)
                si = scene.ray_intersect(ray)
                bsdf = si.bsdf(ray)
                active, lane_mesh, lane_total, skip = shadow_edges.receiving_lanes(
                    cand, meshes, si, bsdf
                )
                rng = mi.PCG32(count, mi.UInt64(dr.reinterpret_array(mi.UInt32, sampler.next_1d())))
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
                    self.shadow_candidates,
                    active,
                )
                active &= ris > 0
                v0p = dr.gather(mi.Point3f, cand.p0, k, active)
                v1p = dr.gather(mi.Point3f, cand.p1, k, active)
                edge_mesh = dr.gather(mi.UInt32, cand.mesh_index, k, active)
                edge_shape = dr.zeros(mi.ShapePtr, count)
                chosen = []
                for j, mesh in enumerate(cand.meshes):
                    mine = active & (edge_mesh == j)
                    edge_shape[mine] = mi.ShapePtr(mesh)
                    v0 = dr.gather(mi.UInt32, cand.v0, k, mine)
                    v1 = dr.gather(mi.UInt32, cand.v1, k, mine)
                    chosen.append((mesh, v0, v1, mine))

                m = dr.lerp(v0p, v1p, t)
                to_m = m - si.p
                r = dr.norm(to_m)
                omega = to_m / r
                n_e = dr.cross(v0p - si.p, v1p - si.p)
                n_len = dr.norm(n_e)
                active &= (n_len > 0) & (r > 0)
                n_hat = n_e / dr.select(active, n_len, 1.0)
                edge_dir = dr.normalize(v1p - v0p)
                measure = dr.norm(dr.cross(omega, edge_dir)) / r

                ctx = mi.BSDFContext()
                g = []
                inv_dist = mi.Float(0.0)  # 1 / distance to the area emitter seen (0: envmap)
                for sign in (-1.0, 1.0):
                    w = dr.normalize(omega + sign * self.shadow_epsilon * n_hat)
                    si_l = scene.ray_intersect(si.spawn_ray(w), active)
                    # A moving emitter's own outline: emitter sampling integrates over its
                    # (moving) surface, where the outline is no discontinuity; the
                    # BSDF-sampled share of that jump is not estimated (see docs).
                    active &= ~((si_l.shape == edge_shape) & si_l.shape.is_emitter())
                    emitter = si_l.emitter(scene, active)
                    le = emitter.eval(si_l, active & (emitter != None))  # noqa: E711
                    f = bsdf.eval(ctx, si, si.to_local(w), active)
                    g.append(dr.select(active, f * le, 0.0))
                    on_area = si_l.is_valid() & (emitter != None) & dr.any(le != 0)  # noqa: E711
                    inv_dist = dr.select(on_area, dr.rcp(si_l.t), inv_dist)
                weight = (g[1] - g[0]) * measure * ris * lane_total * ray_weight / spp
                active &= dr.any(weight != 0.0)

            # AD-attached alpha = n_e(theta) . omega / |n_e| at fixed omega. prb's interior
            # holds the point y on an area emitter fixed instead (omega follows the shading
            # point p), which adds - n_e . dp/dtheta / |y - p| (0 for environment maps).
            alpha = mi.Float(0.0)
            # The shading point follows its (possibly moving) surface, as in prb's interior.
            p = scene.ray_intersect(dr.detach(ray), active).p
            alpha -= dr.dot(dr.detach(n_e), p) * dr.detach(inv_dist)
            for mesh, v0, v1, mine in chosen:
                buf = mesh.vertex_positions_buffer()
                q0 = sil.gather_points(buf, v0, mine)
                q1 = sil.gather_points(buf, v1, mine)
                n_att = dr.cross(q0 - p, q1 - p)
                alpha += dr.select(mine, dr.dot(n_att, dr.detach(omega)), 0.0)
            alpha = alpha / dr.detach(dr.select(active, n_len, 1.0))
            return pos, weight, alpha, active

    return EdgeSamplingIntegrator


def _probe_offset(camera, mesh, pos, edges, e, v0, v1, a, b, inv_len, max_offset) -> mi.Float:
    """Screen offset of the two probe rays: at most a quarter of the projected height of
    the edge's adjacent faces, so a probe never jumps over a thin (grazing) neighbour face
    onto another discontinuity (e.g. from a crease next to the outline across the outline).
    """
    height = mi.Float(max_offset * 4.0)
    for faces in (edges.f0, edges.f1):
        f = dr.gather(mi.UInt32, faces, e)
        tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), f)
        third = tri.x + tri.y + tri.z - v0 - v1
        c, valid = camera.project(sil.gather_points(pos, third))
        h = dr.abs((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)) * inv_len
        height = dr.minimum(height, dr.select(valid, h, height))
    return dr.clip(0.25 * height, 1e-4, max_offset)


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
    PRBIntegrator = mi.ad.integrators.prb.PRBIntegrator
    key = mi.variant()
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
