"""The `reparam` integrator: path replay backpropagation with warped-area reparameterization."""

from __future__ import annotations

from typing import TYPE_CHECKING

import drjit as dr
import mitsuba as mi

if TYPE_CHECKING:
    # Mitsuba's stub mitsuba/ad.pyi is not valid Python (`integrators.common as ...`), and
    # a syntax error in it stops mypy; the sources this import resolves to type the same.
    from mitsuba.python.ad.integrators.common import ADIntegrator, RBIntegrator, mis_weight
else:
    from mitsuba.ad.integrators.common import ADIntegrator, RBIntegrator, mis_weight

from invrender.errors import InvrenderError
from invrender.integrators import reparam_border
from invrender.integrators.plugin_props import prop_float, prop_int
from invrender.integrators.refusals import (
    CAMERA_REFUSAL,
    camera_moves,
    check_integrator,
    moving_shapes,
    shape_label,
)
from invrender.integrators.reparam_outline import warp_ray_outline
from invrender.integrators.reparam_warp import (
    SITE_EMITTER,
    SITE_INCOMING,
    WarpSettings,
    seed_value,
    warp_key,
    warp_ray,
)

# Warp fields a shadow or BSDF ray can use (reparam_shadow_field, reparam_bsdf_field).
_SHADOW_FIELDS = {"outline": warp_ray_outline, "position": warp_ray}
# Which rays a warp_direction() call warps: camera rays (arrival depth 0), rays leaving a
# surface (BSDF-sampled or shadow rays), or the loop's incoming ray (camera ray at depth 0,
# BSDF ray beyond).
_KINDS = ("camera", "bsdf", "shadow", "incoming")
# What to do when a moving shape casts shadows on another (reparam_moving_shadows).
_MOVING_SHADOWS = ("refuse", "estimate")


class ReparamFilterError(InvrenderError):
    """The film's reconstruction filter cannot carry image-space motion."""


class ReparamIntegrator(RBIntegrator):
    r"""Reparameterized path replay backpropagation (``reparam``).

    Differentiates visibility (silhouettes, shadows, glossy reflections of moving objects)
    with the warped-area reparameterization of Bangaru, Li and Durand (2020): every ray
    whose visibility may change is replaced by a direction whose derivative is a warp
    field V (a weighted average of the velocities of points hit by auxiliary rays) and is
    multiplied by a Jacobian determinant whose derivative is div V. Camera and BSDF rays
    use the position field (weights from where the auxiliary rays land,
    ``reparam_warp.py``); shadow rays use the outline field (weights singular on the edges
    the auxiliary rays report, ``reparam_outline.py``), which keeps V right where a
    blocker's edge crosses the light's outline. The interior term is Mitsuba's path replay
    backpropagation with next-event estimation and MIS.

    Parameters

    ====================  =======  =====================================================
    name                  default  meaning
    ====================  =======  =====================================================
    max_depth             6        longest path (-1: unbounded); 2 = direct lighting
    rr_depth              5        depth at which Russian roulette starts
    reparam_max_depth     2        rays arriving at path depth < this are warped:
                                   1 = camera rays only (silhouettes), 2 = also shadow
                                   rays and BSDF rays from the first hit (shadows,
                                   objects seen in reflections); 0 disables (= `prb`)
    reparam_rays          8        auxiliary rays per warped camera or BSDF ray (even
                                   when antithetic)
    reparam_kappa         3e3      vMF concentration of the auxiliary lobe; its angular
                                   width is about 1/sqrt(kappa) radians. Make it cover
                                   about a pixel for camera rays (3e3 ~ 0.6 px at 16 px,
                                   30 deg fov); larger = less smoothing, more bias from
                                   lobes that miss the edge, smaller = more blur
    reparam_exp           2.0      exponent gamma of the harmonic weights
                                   D^-gamma; >= 1 makes V equal the boundary velocity
                                   on the discontinuity, larger = sharper, noisier
    reparam_antithetic    true     pair each auxiliary ray with its mirror image
    reparam_shadow_field  outline  warp field of shadow rays: ``outline`` (singular on
                                   the edges the auxiliary rays report) or ``position``
                                   (the camera rays' field, biased at penumbra ends)
    reparam_bsdf_field    outline  warp field of BSDF-sampled rays: ``outline`` (the
                                   shadow rays' field and settings) or ``position`` (the
                                   camera rays' field and settings: biased where a moving
                                   surface fills the lobe, see warp_direction())
    reparam_shadow_rays   8        auxiliary rays per shadow ray
    reparam_shadow_kappa  1e3      vMF concentration for shadow rays
    reparam_shadow_exp    0.75     exponent of the outline weights; any value > 0 makes
                                   V exact on an edge, smaller = smoother, less noise
    reparam_moving_       refuse   a differentiated parameter moves a non-emissive shape
    shadows                        and another non-emissive shape can receive its shadow
                                   (or cast one on it): ``refuse`` raises (the shadow
                                   term is far too noisy to trust, issue 25: forward
                                   cosine 0.1-0.9 at 16-64 spp), ``estimate`` computes it
                                   anyway (benchmarks, research)
    ====================  =======  =====================================================

    Any film filter: camera-ray warps move samples in the image, which a smooth filter
    (gaussian, tent) follows through its gradient; a box filter gets the flux of the warp
    through the pixel borders instead (``reparam_border_samples`` points per unit length
    of border, -1 = spp / 4; see reparam_border.py).
    Limits: rays beyond ``reparam_max_depth`` are plain detached PRB rays (no visibility
    derivatives, and no derivatives of moving path vertices); the camera itself is not
    differentiated; perfectly specular chains are not warped through.
    """

    def __init__(self, props: mi.Properties) -> None:
        super().__init__(props)
        self.reparam_max_depth = prop_int(props, "reparam_max_depth", 2)
        antithetic = bool(props.get("reparam_antithetic", True))
        self.warp = WarpSettings(
            rays=prop_int(props, "reparam_rays", 8),
            kappa=prop_float(props, "reparam_kappa", 3e3),
            exponent=prop_float(props, "reparam_exp", 2.0),
            antithetic=antithetic,
        )
        self.shadow_warp = WarpSettings(
            rays=prop_int(props, "reparam_shadow_rays", 8),
            kappa=prop_float(props, "reparam_shadow_kappa", 1e3),
            exponent=prop_float(props, "reparam_shadow_exp", 0.75),
            antithetic=antithetic,
        )
        self.shadow_field = str(props.get("reparam_shadow_field", "outline"))
        self.bsdf_field = str(props.get("reparam_bsdf_field", "outline"))
        self.border_samples = prop_int(props, "reparam_border_samples", -1)
        self.moving_shadows = str(props.get("reparam_moving_shadows", "refuse"))
        if self.moving_shadows not in _MOVING_SHADOWS:
            raise InvrenderError(
                f"reparam: reparam_moving_shadows is {self.moving_shadows!r}; "
                f"use one of {', '.join(_MOVING_SHADOWS)}"
            )
        for key, field in (
            ("reparam_shadow_field", self.shadow_field),
            ("reparam_bsdf_field", self.bsdf_field),
        ):
            if field not in _SHADOW_FIELDS:
                raise InvrenderError(
                    f"reparam: {key} is {field!r}; use one of {', '.join(_SHADOW_FIELDS)}"
                )
        for key, settings in (
            ("reparam_rays", self.warp),
            ("reparam_shadow_rays", self.shadow_warp),
        ):
            if settings.rays < 1 or (antithetic and settings.rays % 2):
                raise InvrenderError(
                    f"reparam: {key} must be >= 1 (and even with reparam_antithetic)"
                )

    def to_string(self) -> str:
        return (
            f"ReparamIntegrator[max_depth={self.max_depth}, "
            f"reparam_max_depth={self.reparam_max_depth}, {self.warp}, "
            f"shadow={self.shadow_field} {self.shadow_warp}, bsdf={self.bsdf_field}]"
        )

    def refusal(self, scene: mi.Scene, moving: list[mi.Shape]) -> str | None:
        """Why this scene's derivative would be untrustworthy (None: it is not).

        Shadows of moving geometry: the outline field's shadow term is unbiased but so
        heavy-tailed that 16-64 spp give forward-mode cosines of 0.1-0.9 against finite
        differences on every shadow scene measured (issue 25, docs/reparam.md), where
        edge_sampling gives 0.96-0.99. Refused unless ``reparam_moving_shadows`` is
        ``estimate``, or shadow rays are not warped (``reparam_max_depth`` < 2).
        """
        if camera_moves(scene):
            return CAMERA_REFUSAL.format(name="reparam")
        shadows_warped = self.reparam_max_depth >= 2 and (self.max_depth < 0 or self.max_depth >= 2)
        if not shadows_warped or self.moving_shadows == "estimate":
            return None
        casters = [s for s in moving if not s.is_emitter()]
        if not casters:
            return None
        for caster in casters:
            others = [s for s in scene.shapes() if s is not caster and not s.is_emitter()]
            if others:
                return (
                    f"reparam: '{shape_label(caster)}' moves and shadows between it and "
                    f"'{shape_label(others[0])}' move with it; reparam's gradients of moving "
                    "shadows are too noisy to trust (issue 25); use edge_sampling or "
                    "direct_projective (or set reparam_moving_shadows: estimate)"
                )
        return None

    # ------------------------------------------------------------------ warps

    def warp_direction(
        self,
        scene: mi.Scene,
        origin: mi.Point3f,
        direction: mi.Vector3f,
        lane: mi.UInt32,
        key: mi.UInt32,
        arrival_depth: mi.UInt32,
        active: mi.Bool,
        kind: str = "camera",
    ) -> tuple[mi.Vector3f, mi.Float]:
        """The warp of a ray that arrives at depth < reparam_max_depth; identity otherwise.

        ``kind`` is one of :data:`_KINDS`. BSDF rays get the outline field by default: the
        position field's divergence is biased where a moving surface fills the probe lobe
        (probes far from every edge get weights that barely change across the lobe, so the
        realized V is nearly constant there and its divergence misses that of the hit
        velocities). Measured toward the translating floor emitter of the peer suite's
        textured-emitter scene: E[div V] -0.389 against -0.884 for the divergence of E[V]
        (the outline field: 0.0264 and 0.0264); that scene's derivative image has mean 0.0266
        with BSDF rays on the position field, 0.0222 on the outline field (FD 0.0223).
        """
        if kind not in _KINDS:
            raise ValueError(f"warp kind {kind!r}; use one of {', '.join(_KINDS)}")
        active = mi.Bool(active) & (arrival_depth < self.reparam_max_depth)
        if kind == "shadow":
            field = _SHADOW_FIELDS[self.shadow_field]
            return field(scene, origin, direction, lane, key, self.shadow_warp, active)
        if kind == "camera" or self.bsdf_field == "position":
            return warp_ray(scene, origin, direction, lane, key, self.warp, active)
        outline = _SHADOW_FIELDS[self.bsdf_field]
        if kind == "bsdf":
            return outline(scene, origin, direction, lane, key, self.shadow_warp, active)
        bounce = active & (arrival_depth > 0)
        d_cam, det_cam = warp_ray(scene, origin, direction, lane, key, self.warp, active & ~bounce)
        d_bsdf, det_bsdf = outline(scene, origin, direction, lane, key, self.shadow_warp, bounce)
        return dr.select(bounce, d_bsdf, d_cam), dr.select(bounce, det_bsdf, det_cam)

    def _warp_from_vertex(
        self,
        scene: mi.Scene,
        pi: mi.PreliminaryIntersection3f,
        ray: mi.Ray3f,
        direction: mi.Vector3f,
        lane: mi.UInt32,
        key: mi.UInt32,
        arrival_depth: mi.UInt32,
        active: mi.Bool,
        kind: str = "bsdf",
    ) -> tuple[mi.Vector3f, mi.Float]:
        """:meth:`warp_direction` of a ray leaving vertex ``pi`` (re-attached, so it moves).

        Ray origins that follow the shape need its position and geometric normal only
        (``Minimal``). With ``All``, the shading frame interpolated the differentiated
        vertex normals in these interactions and forward mode crashed in Dr.Jit
        ("ad_traverse(): tried to forward-propagate derivatives across edge ... outside of
        the current dr.isolate_grad() scope", at the loop's dr.forward_to) on Mitsuba's
        rotating shading normals; any one of the three follow-shape interactions with
        ``All`` reproduces it (issue 25).
        """
        here = pi.compute_surface_interaction(ray, mi.RayFlags.Minimal | mi.RayFlags.FollowShape)
        origin = here.spawn_ray(direction).o
        return self.warp_direction(scene, origin, direction, lane, key, arrival_depth, active, kind)

    @staticmethod
    def _emitter_along(
        scene: mi.Scene, origin: mi.Point3f, direction: mi.Vector3f, active: mi.Bool
    ) -> mi.Spectrum:
        """Emitted radiance where the warped shadow ray hits, the hit attached to the shapes.

        The emitter sample is detached: its point, uv and normal do not follow a moving
        emitter. The warp makes that right only where V equals the emitter's velocity, and the
        outline field fades to V = 0 inside an emitter, away from every edge: there the fixed
        direction sees another point of the moving emitter (a textured emitter's radiance
        changes) and the derivative was lost (issue 25: the textured emitter lighting a
        plane, image mean 0.012 against 0.022 without warps). The detached ray finds what
        the sample sees (an occluder emits nothing, as in the primal value).
        """
        probe = mi.Ray3f(dr.detach(origin), dr.detach(direction))
        # Stubs: as for ray_intersect_preliminary() in sample().
        pi_em = scene.ray_intersect_preliminary(probe, coherent=False, active=active)  # type: ignore[call-overload]
        si_em = pi_em.compute_surface_interaction(
            mi.Ray3f(origin, direction), mi.RayFlags.All, active
        )
        return si_em.emitter(scene, active).eval(si_em, active)

    def _check_film(self, film: mi.Film) -> None:
        """Box filters get the pixel-border term (reparam_border.py); others need none."""

    def _border(self, film: mi.Film, spp: int) -> int:
        """Border samples per unit length of pixel border, 0 when the filter is smooth."""
        if self.reparam_max_depth < 1 or not film.rfilter().is_box_filter():
            return 0
        if self.border_samples >= 0:
            return self.border_samples
        return max(1, spp // 4)

    # ----------------------------------------------------------- path replay

    # Mitsuba's AD integrators replace SamplingIntegrator.sample() by this (mode, δL,
    # state_in, ...) interface, which ADIntegrator declares with other parameters than prb
    # (Mitsuba's own subclass) and this class implement; the callers pass keywords.
    @dr.syntax
    def sample(  # type: ignore[override]
        self,
        mode: dr.ADMode,
        scene: mi.Scene,
        sampler: mi.Sampler,
        ray: mi.Ray3f,
        δL: mi.Spectrum | None,
        state_in: mi.Spectrum | None,
        active: mi.Bool,
        lane: mi.UInt32 | None = None,
        seed: int = 0,
        **kwargs,
    ) -> tuple[mi.Spectrum, mi.Bool, list, mi.Spectrum]:
        """One path per lane; see ``ADIntegrator.sample()`` for the interface.

        ``lane`` (a per-sample index) and ``seed`` select the auxiliary rays so that the
        differential pass replays exactly the warps of the camera term.
        """
        primal = mode == dr.ADMode.Primal
        ctx = mi.BSDFContext()
        ray = mi.Ray3f(dr.detach(ray))
        if lane is None:
            lane = dr.arange(mi.UInt32, dr.width(ray))
        lane = mi.UInt32(lane)
        seed_u32 = seed_value(seed)
        depth = mi.UInt32(0)
        L = mi.Spectrum(0 if primal else state_in)
        δL = mi.Spectrum(δL if δL is not None else 0)
        β = mi.Spectrum(1)
        η = mi.Float(1)
        active = mi.Bool(active)
        # Stubs: `coherent` is typed as a drjit Bool (a Python bool converts), and mi.Bool is
        # declared apart from drjit's Bool (the same type at run time).
        pi = scene.ray_intersect_preliminary(ray, coherent=True, active=active)  # type: ignore[call-overload]

        ray_prev = dr.zeros(mi.Ray3f)
        pi_prev = dr.zeros(mi.PreliminaryIntersection3f)
        si_prev = dr.zeros(mi.SurfaceInteraction3f)
        bsdf_pdf_prev = mi.Float(1.0)
        bsdf_delta_prev = mi.Bool(True)

        while dr.hint(active, max_iterations=self.max_depth, label=f"reparam ({mode.name})"):
            active_next = mi.Bool(active)

            # Current vertex, seen along the warped incoming ray (differential phase).
            ray_in = mi.Ray3f(ray)
            if dr.hint(not primal, mode="scalar"):
                with dr.resume_grad():
                    prev_follow = pi_prev.compute_surface_interaction(
                        ray_prev, mi.RayFlags.Minimal | mi.RayFlags.FollowShape
                    )
                    origin = dr.select(depth == 0, ray.o, prev_follow.spawn_ray(ray.d).o)
                    ray_in.o = origin
                    ray_in.d, _ = self.warp_direction(
                        scene,
                        origin,
                        ray.d,
                        lane,
                        warp_key(seed_u32, depth, SITE_INCOMING),
                        depth,
                        active,
                        kind="incoming",
                    )
            with dr.resume_grad(when=not primal):
                si = pi.compute_surface_interaction(ray_in, ray_flags=mi.RayFlags.All)
            bsdf = si.bsdf(ray)

            # Emission hit by the previous BSDF sample (MIS against emitter sampling).
            ds = mi.DirectionSample3f(scene, si=si, ref=si_prev)
            # Stubs: mi.Bool is declared apart from the drjit Bool these methods take (same type).
            pdf_em = scene.pdf_emitter_direction(si_prev, ds, ~bsdf_delta_prev)  # type: ignore[arg-type]
            mis = mis_weight(bsdf_pdf_prev, pdf_em)
            with dr.resume_grad(when=not primal):
                Le = β * mis * ds.emitter.eval(si, active_next)  # type: ignore[arg-type]  # as above

            # Emitter sampling (next-event estimation), warped shadow ray.
            active_next &= (depth + 1 < self.max_depth) & si.is_valid()
            active_em = active_next & mi.has_flag(bsdf.flags(), mi.BSDFFlags.Smooth)
            ds, em_weight = scene.sample_emitter_direction(si, sampler.next_2d(), True, active_em)
            active_em &= ds.pdf != 0.0
            em_det = mi.Float(1.0)
            with dr.resume_grad(when=not primal):
                if dr.hint(not primal, mode="scalar"):
                    here = pi.compute_surface_interaction(
                        ray, mi.RayFlags.Minimal | mi.RayFlags.FollowShape
                    )
                    em_origin = here.spawn_ray(ds.d).o
                    em_dir, em_det = self.warp_direction(
                        scene,
                        em_origin,
                        ds.d,
                        lane,
                        warp_key(seed_u32, depth + 1, SITE_EMITTER),
                        depth + 1,
                        active_em,
                        kind="shadow",
                    )
                    ds.d = em_dir
                    em_value = dr.select(
                        ds.delta,
                        scene.eval_emitter_direction(si, ds, active_em),
                        self._emitter_along(scene, em_origin, em_dir, active_em),
                    )
                    inv_pdf = dr.select(ds.pdf != 0, dr.rcp(dr.detach(ds.pdf)), 0)
                    # Stubs: dr.replace_grad() is typed as returning None; it returns its
                    # first argument's type.
                    em_weight = dr.replace_grad(em_weight, em_value * inv_pdf)  # type: ignore[func-returns-value, assignment]
                wo_em = si.to_local(ds.d)
                bsdf_em, bsdf_pdf_em = bsdf.eval_pdf(ctx, si, wo_em, active_em)
                mis_em = dr.select(ds.delta, 1, mis_weight(ds.pdf, bsdf_pdf_em))
                Lr_dir = β * mis_em * bsdf_em * em_weight * em_det

            # Detached BSDF sampling.
            bsdf_sample, bsdf_weight = bsdf.sample(
                ctx, si, sampler.next_1d(), sampler.next_2d(), active_next
            )
            L = (L + Le + Lr_dir) if primal else (L - Le - Lr_dir)
            ray_next = si.spawn_ray(si.to_world(bsdf_sample.wo))
            η *= bsdf_sample.eta
            β *= bsdf_weight
            si_prev = dr.detach(si, True)
            bsdf_pdf_prev = bsdf_sample.pdf
            bsdf_delta_prev = mi.has_flag(bsdf_sample.sampled_type, mi.BSDFFlags.Delta)

            β_max = dr.max(mi.unpolarized_spectrum(β))
            active_next &= β_max != 0
            rr_prob = dr.minimum(β_max * η**2, 0.95)
            rr_active = depth >= self.rr_depth
            # Stubs: mi.Float is declared apart from the drjit Float that Spectrum takes.
            β[rr_active] *= dr.rcp(rr_prob)  # type: ignore[arg-type]
            rr_continue = sampler.next_1d() < rr_prob
            active_next &= ~rr_active | rr_continue

            # Stubs: as for the first ray_intersect_preliminary() above.
            pi_next = scene.ray_intersect_preliminary(ray_next, coherent=False, active=active_next)  # type: ignore[call-overload]

            # Differential phase: emission + NEE here, and the reflected radiance L that
            # the rest of the path delivers through the warped next direction.
            if dr.hint(not primal, mode="scalar"):
                with dr.resume_grad():
                    next_dir, next_det = self._warp_from_vertex(
                        scene,
                        pi,
                        ray,
                        ray_next.d,
                        lane,
                        warp_key(seed_u32, depth + 1, SITE_INCOMING),
                        depth + 1,
                        active_next,
                    )
                    bsdf_val = bsdf.eval(ctx, si, si.to_local(next_dir), active_next)
                    Lr_ind = L * dr.relative_grad(bsdf_val) * next_det
                    Lo = Le + Lr_dir + Lr_ind
                    if dr.hint(mode == dr.ADMode.Backward, mode="scalar"):
                        dr.backward_from(δL * Lo)
                    else:
                        δL += dr.forward_to(Lo)

            depth[si.is_valid()] += 1
            active = active_next
            pi_prev = pi
            ray_prev = ray
            pi = pi_next
            ray = ray_next

        return (L if primal else δL, depth != 0, [], L)

    # ------------------------------------------------------ camera term

    def _camera_image(
        self,
        scene: mi.Scene,
        sensor: mi.Sensor,
        ray: mi.Ray3f,
        weight: mi.Spectrum,
        L: mi.Spectrum,
        valid: mi.Bool,
        lane: mi.UInt32,
        seed: int,
        spp: int,
    ) -> mi.TensorXf:
        """The image splatted at warped positions, times the camera warp's determinant.

        Its value is the primal image; its derivative (detached radiance) is the part of
        the image derivative that comes from moving the camera samples: the filter
        gradient along V plus the divergence term. Call under ``dr.resume_grad()``.
        """
        film = sensor.film()
        origin = dr.detach(ray.o)
        direction, det = self.warp_direction(
            scene,
            origin,
            dr.detach(ray.d),
            lane,
            warp_key(seed_value(seed), mi.UInt32(0), SITE_INCOMING),
            mi.UInt32(0),
            mi.Bool(True),
        )
        it = dr.zeros(mi.Interaction3f)
        # Stubs: Point3f + Vector3f and Point2f + Vector2f are missing (Dr.Jit gives points),
        # and mi.Float is declared apart from the drjit Float that Spectrum takes.
        it.p = origin + direction  # type: ignore[operator]
        it.time = ray.time
        ds, _ = sensor.sample_direction(it, mi.Point2f(0.5))
        pos = ds.uv + mi.Vector2f(film.crop_offset())  # type: ignore[operator]  # Point2f + Vector2f
        value = dr.detach(L) * dr.detach(weight) * det  # type: ignore[operator]  # Spectrum * mi.Float
        alpha = dr.select(valid, det, 0.0)
        return self._splat_image(film, pos, value, det, alpha, ray.wavelengths, spp)

    @staticmethod
    def _splat_image(film, pos, value, weight, alpha, wavelengths, spp: int) -> mi.TensorXf:
        """Clear ``film``, splat one value per sample at ``pos`` and develop it."""
        film.clear()
        block = film.create_block()
        block.set_coalesce(block.coalesce() and spp >= 4)
        ADIntegrator._splat_to_block(
            block,
            film,
            pos,
            value=value,
            weight=weight,
            alpha=alpha,
            aovs=[],
            wavelengths=wavelengths,
        )
        film.put_block(block)
        return film.develop()

    def _primal_and_lanes(
        self, scene: mi.Scene, sensor: int | mi.Sensor, seed: int, spp: int
    ) -> tuple[mi.Sensor, mi.Film, tuple]:
        """Sensor and film (checked), and the primal pass both render modes start from."""
        if isinstance(sensor, int):
            sensors: list[mi.Sensor] = scene.sensors()  # typed a bare `list` in the stubs
            sensor = sensors[sensor]
        film = sensor.film()
        self._check_film(film)
        # Mitsuba annotates prepare()'s seed as mi.UInt32 (default 0); sampler.seed() takes ints.
        sampler, spp = self.prepare(sensor, seed, spp, self.aov_names())  # type: ignore[arg-type]
        ray, weight, pos = self.sample_rays(scene, sensor, sampler)
        ray = mi.Ray3f(ray)
        lane = dr.arange(mi.UInt32, dr.width(ray))
        L, valid, _, state = self.sample(
            mode=dr.ADMode.Primal,
            scene=scene,
            sampler=sampler.clone(),
            ray=ray,
            δL=None,
            state_in=None,
            active=mi.Bool(True),
            lane=lane,
            seed=seed,
        )
        return sensor, film, (sampler, spp, ray, weight, pos, lane, L, valid, state)

    # Overrides: SamplingIntegrator's stub declares render_forward/backward as C++ overloads
    # with drjit's UInt and TensorXf (Mitsuba's ADIntegrator does not match them either), and
    # Mitsuba types `seed` as mi.UInt32; this integrator takes the Python int mi.render()
    # passes on (seed_value() turns it into the opaque seed of the warps).
    def render_forward(  # type: ignore[override]
        self,
        scene: mi.Scene,
        params: object,
        sensor: int | mi.Sensor = 0,
        seed: int = 0,  # type: ignore[override]  # see above
        spp: int = 0,
    ) -> mi.TensorXf:
        """Forward-mode derivative image: path term (splatted) + camera-warp term."""
        check_integrator(self, scene, moving_shapes(scene))
        seed = int(seed)
        with dr.suspend_grad():
            sensor, film, primal = self._primal_and_lanes(scene, sensor, seed, spp)
            sampler, spp, ray, weight, pos, lane, L, valid, state = primal
            δL, valid_2, _, _ = self.sample(
                mode=dr.ADMode.Forward,
                scene=scene,
                sampler=sampler,
                ray=ray,
                δL=None,
                state_in=state,
                active=mi.Bool(True),
                lane=lane,
                seed=seed,
            )
            alpha = dr.select(valid_2, mi.Float(1), mi.Float(0))
            grad_paths = self._splat_image(film, pos, δL * weight, 1.0, alpha, ray.wavelengths, spp)
            dr.eval(grad_paths)
            if self.reparam_max_depth < 1:
                return grad_paths
            per_unit = self._border(film, spp)
            with dr.resume_grad():
                image = self._camera_image(scene, sensor, ray, weight, L, valid, lane, seed, spp)
                # Without moving geometry (a material or light run) the camera warp is
                # constant: no camera term and no border term (skips the border rays).
                if not per_unit or not dr.grad_enabled(image):
                    grad_camera = dr.forward_to(
                        image, flags=dr.ADFlag.ClearEdges | dr.ADFlag.AllowNoGrad
                    )
                    return grad_paths + grad_camera
                primal_image = dr.detach(image)
                dr.eval(primal_image)
                alpha, sides = reparam_border.border_term(
                    self, scene, sensor, primal_image, seed, per_unit
                )
                # One traversal for both: a second would find the tangents consumed.
                grad_camera, d_alpha = dr.forward_to(
                    image, alpha, flags=dr.ADFlag.ClearEdges | dr.ADFlag.AllowNoGrad
                )
            grad_border = reparam_border.splat(sides, d_alpha, primal_image.shape)
            return grad_paths + grad_camera + grad_border

    # Overrides: as for render_forward().
    def render_backward(  # type: ignore[override]
        self,
        scene: mi.Scene,
        params: object,
        grad_in: mi.TensorXf,
        sensor: int | mi.Sensor = 0,
        seed: int = 0,  # type: ignore[override]  # see above
        spp: int = 0,
    ) -> None:
        """Reverse mode: adjoint radiance through the path replay, then the camera term."""
        check_integrator(self, scene, moving_shapes(scene))
        seed = int(seed)
        with dr.suspend_grad():
            sensor, film, primal = self._primal_and_lanes(scene, sensor, seed, spp)
            sampler, spp, ray, weight, pos, lane, L, valid, state = primal
            # Adjoint radiance per sample: backpropagate grad_in through the splatting.
            with dr.resume_grad():
                ones = dr.full(mi.Spectrum, 1.0, dr.width(ray))
                dr.enable_grad(ones)
                image = self._splat_image(film, pos, ones * weight, 1.0, 1.0, ray.wavelengths, spp)
                dr.set_grad(image, grad_in)
                dr.enqueue(dr.ADMode.Backward, image)
                dr.traverse(dr.ADMode.Backward)
                δL = dr.grad(ones)
            self.sample(
                mode=dr.ADMode.Backward,
                scene=scene,
                sampler=sampler,
                ray=ray,
                δL=δL,
                state_in=state,
                active=mi.Bool(True),
                lane=lane,
                seed=seed,
            )
            if self.reparam_max_depth >= 1:
                with dr.resume_grad():
                    image = self._camera_image(
                        scene, sensor, ray, weight, L, valid, lane, seed, spp
                    )
                    # Nothing that moves carries a gradient (a material or light run): the
                    # camera warp, and with it the border term, is constant; dr.backward()
                    # would raise. (Asked here: under suspend_grad every answer is False.)
                    moves = dr.grad_enabled(image)
                    dr.set_grad(image, grad_in)
                    dr.enqueue(dr.ADMode.Backward, image)
                    dr.traverse(dr.ADMode.Backward)
                per_unit = self._border(film, spp)
                if per_unit and moves:
                    primal_image = dr.detach(image)
                    alpha, sides = reparam_border.border_term(
                        self, scene, sensor, primal_image, seed, per_unit
                    )
                    scale = reparam_border.adjoint_scale(sides, grad_in)
                    with dr.resume_grad():
                        dr.backward(
                            dr.sum(dr.detach(scale) * alpha),
                            flags=dr.ADFlag.Default | dr.ADFlag.AllowNoGrad,
                        )
            dr.eval()


def register() -> None:
    """Register ``reparam`` for the current Mitsuba variant."""
    mi.register_integrator("reparam", lambda props: ReparamIntegrator(props))
