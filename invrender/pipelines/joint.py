"""Joint pipeline: geometry + material + lighting in one run.

It owns no optimization logic of its own: the groups of ``optimize.params`` are split by
parameter category and handed to the geometry, material and lighting pipelines, and every hook
delegates to them. On top it adds a stage schedule, ``geometry.stages`` (the iteration at which
each category starts moving; e.g. material and lighting first, then geometry too), applied as a
zero learning rate before the start.

With ``geometry.texture`` set, the run ends in a texture stage (:mod:`invrender.texturing`):
after iteration ``texture.at`` the mesh is unwrapped with xatlas and frozen, the material is
baked into principled UV maps (base colour, roughness, metallic) on a new textured mesh, and
from then on those maps and the lighting are optimized; the geometry and material parts retire
(their optimizer variables are removed), so the scene holds only exportable bitmaps. With
``geometry.texture.sun_at`` (opt-in), after that iteration the learned sky's brightest lobe is
gathered into a sun (:mod:`invrender.scene.sun`). With ``geometry.texture.denoise_deg`` the
mesh's ripples are filtered out (:mod:`invrender.geometry.denoise`) just before it freezes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from invrender.pipelines import get_pipeline, register_pipeline
from invrender.pipelines.base import Pipeline, RunContext, StepViews
from invrender.pipelines.lighting import LightingPipeline
from invrender.pipelines.param_groups import ResolvedGroup
from invrender.texturing.stage import TexturedSurface

PART_NAMES = ("geometry", "material", "lighting")


@register_pipeline
class JointPipeline(Pipeline):
    name = "joint"
    categories = PART_NAMES

    def __init__(self, ctx: RunContext, groups: list[ResolvedGroup] | None = None) -> None:
        super().__init__(ctx, groups)
        by_category: dict[str, list[ResolvedGroup]] = {}
        self._mixed: list[ResolvedGroup] = []
        for g in self.groups:
            cats = set(g.categories.values())
            if len(cats) != 1:
                self._mixed.append(g)
                continue
            by_category.setdefault(cats.pop(), []).append(g)
        self.parts: dict[str, Pipeline] = {
            name: get_pipeline(name, ctx.config_name)(ctx, by_category[name])
            for name in PART_NAMES
            if name in by_category
        }
        self._category_of_key = {k: c for g in self.groups for k, c in g.categories.items()}
        spec = ctx.config.geometry
        self.surface: TexturedSurface | None = None
        self.sun: dict[str, Any] | None = None  # what gather_sun moved (summary.json)
        self.denoised: dict[str, Any] | None = None  # what denoise_frozen moved (summary.json)
        geo_keys = [k for k, c in self._category_of_key.items() if c == "geometry"]
        if spec is not None and spec.texture is not None and len(geo_keys) == 1:
            self.surface = TexturedSurface(spec.texture, geo_keys[0].rsplit(".", 1)[0])

    def _active(self) -> dict[str, Pipeline]:
        """The parts still optimizing: after the texture stage, lighting only."""
        if self.surface is None or not self.surface.active:
            return self.parts
        return {k: p for k, p in self.parts.items() if k not in ("geometry", "material")}

    # -- set-up ----------------------------------------------------------------------------
    def validate(self) -> list[str]:
        problems = super().validate()
        for g in self._mixed:
            problems.append(
                f"{self.ctx.config_name}: optimize.params.{g.index}.key: '{g.spec.key}' matches "
                f"parameters of several kinds ({', '.join(sorted(set(g.categories.values())))}); "
                "split it into one entry per kind"
            )
        for part in self.parts.values():
            problems.extend(part.validate())
        problems.extend(self._validate_texture())
        return problems

    def _lighting(self) -> LightingPipeline | None:
        """The lighting part, where a learned sky lives (None when no lighting is optimized)."""
        lighting = self.parts.get("lighting")
        return lighting if isinstance(lighting, LightingPipeline) else None

    def _learned_skies(self) -> list[str]:
        """Optimized envmap tensors ((H, W, C) lighting parameters): where a sun can be gathered."""
        lighting = self._lighting()
        if lighting is None:
            return []
        return [k for g in lighting.groups for k in lighting.sky_keys(g)]

    def final_uv_shapes(self) -> set[str]:
        return {self.surface.shape_id} if self.surface is not None else set()

    def _validate_texture(self) -> list[str]:
        spec = self.ctx.config.geometry
        if spec is None or spec.texture is None:
            return []
        where = f"{self.ctx.config_name}: geometry.texture"
        geo = [k for k, c in self._category_of_key.items() if c == "geometry"]
        if len(geo) != 1:
            return [f"{where}: needs exactly one optimized mesh (got {len(geo)})"]
        at, total = spec.texture.at, self.ctx.config.optimize.iterations
        problems = []
        if spec.remesh.at and at < max(spec.remesh.at):
            problems.append(
                f"{where}.at: {at} is before the last remesh ({max(spec.remesh.at)}); the atlas "
                "must come after it"
            )
        if at >= total:
            problems.append(
                f"{where}.at: {at} is not before optimize.iterations ({total}); lower it or "
                "set geometry.texture: null"
            )
        sun_at = spec.texture.sun_at
        if sun_at is not None and sun_at >= total:
            problems.append(
                f"{where}.sun_at: {sun_at} is not before optimize.iterations ({total}); lower it "
                "or remove it"
            )
        if sun_at is not None and not self._learned_skies():
            problems.append(
                f"{where}.sun_at: no sky is optimized (an envmap's data in optimize.params) to "
                "gather a sun from; remove sun_at"
            )
        prefix = self.surface.shape_id + "." if self.surface is not None else ""
        for key, cat in self._category_of_key.items():
            if cat == "material" and not key.startswith(prefix):
                problems.append(
                    f"{where}: material key '{key}' is not on the textured shape "
                    f"'{prefix[:-1]}'; the texture stage replaces that shape's material only"
                )
        return problems

    def variables(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self._active().values():
            out.update(part.variables())
        if self.surface is not None and self.surface.active:
            out.update(self.surface.variables())
        return out

    def make_optimizer(self) -> Any:
        part = self.parts.get("geometry")
        return part.make_optimizer() if part is not None else super().make_optimizer()

    def learning_rates(self, iteration: int) -> dict[str, float]:
        stages = self._stages()
        rates: dict[str, float] = {}
        for name, part in self._active().items():
            started = iteration >= stages.get(name, 0)
            for key, lr in part.learning_rates(iteration).items():
                rates[key] = lr if started else 0.0
        if self.surface is not None and self.surface.active:
            total = self.ctx.config.optimize.iterations
            rates.update(self.surface.learning_rates(iteration, total))
        return rates

    def _stages(self) -> dict[str, int]:
        spec = self.ctx.config.geometry
        return {str(part): at for part, at in spec.stages.items()} if spec is not None else {}

    # -- every iteration -------------------------------------------------------------------
    def apply(self, opt: Any) -> None:
        for part in self._active().values():
            part.apply(opt)
        if self.surface is not None and self.surface.active:
            self.surface.apply(opt, self.ctx.params)

    def regularizer(self, opt: Any, iteration: int, views: StepViews) -> Any | None:
        total = None
        for part in self._active().values():
            term = part.regularizer(opt, iteration, views)
            if term is not None:
                total = term if total is None else total + term
        if self.surface is not None and self.surface.active:
            term = self.surface.regularizer(opt)
            if term is not None:
                total = term if total is None else total + term
        return total

    def after_step(self, opt: Any, iteration: int) -> None:
        for part in self._active().values():
            part.after_step(opt, iteration)
        surface = self.surface
        if surface is not None and not surface.active and iteration + 1 == surface.spec.at:
            self.start_texture_stage(opt)
        if surface is not None and iteration + 1 == surface.spec.sun_at:
            self.gather_sun(opt, iteration)

    def gather_sun(self, opt: Any, iteration: int) -> None:
        """The learned sky's bright lobe into a sun (``geometry.texture.sun_at``): a learned sky
        holds its sun as a broad lobe, which makes no sharp highlights or shadows. Opt-in: on
        the Cycles benchmark it relit better where the lobe was in place and cost held-out
        PSNR everywhere (docs/benchmark.md, "A sun for the learned sky")."""
        lighting = self._lighting()
        if lighting is None:
            return
        moved = lighting.gather_sun(opt)
        self.sun = {"iteration": iteration + 1, "skies": moved}
        lighting.apply(opt)

    def start_texture_stage(self, opt: Any) -> None:
        """Unwrap and freeze the mesh, bake the material into UV maps, swap the variables."""
        from invrender.pipelines.geometry import GeometryPipeline, current_vertices

        assert self.surface is not None
        geometry = self.parts["geometry"]
        assert isinstance(geometry, GeometryPipeline)
        mesh = next(iter(geometry.meshes.values()))
        mesh.vertices = current_vertices(mesh)
        if self.surface.spec.denoise_deg is not None:
            self.denoise_frozen(mesh, self.surface.spec.denoise_deg)
        mesh.anchor = mesh.vertices.copy()  # frozen: a resumed run restores this shape
        # Only this pipeline's own variables retire; the run's (exposure gains, camera
        # corrections) stay in the optimizer.
        owned = {k for p in self.parts.values() for g in p.groups for k in g.keys}
        after = self._active_keys_after()
        retired = [k for k in opt.keys() if k in owned and k not in after]
        self.surface.bake(self.ctx, mesh.vertices, mesh.faces)
        for key in retired:
            del opt[key]
        for key, value in self.surface.variables().items():
            opt[key] = value
        self.apply(opt)

    def denoise_frozen(self, mesh: Any, sigma_deg: float) -> None:
        """Filter the ripples out of the shape about to freeze, and write it into the scene so
        that the shape's vertex normals (the textured mesh's shading normals) follow."""
        import mitsuba as mi

        from invrender.geometry.denoise import bilateral_denoise
        from invrender.geometry.metrics import bbox_diagonal

        before = mesh.vertices
        mesh.vertices = bilateral_denoise(before, mesh.faces, sigma_deg=sigma_deg)
        mesh.positions = mi.Float(mesh.vertices.astype(np.float32).ravel())  # what summaries read
        self.ctx.params[mesh.key] = mesh.positions
        self.ctx.params.update()
        moved = np.linalg.norm(mesh.vertices - before, axis=1) / max(bbox_diagonal(before), 1e-12)
        self.denoised = {
            "sigma_deg": sigma_deg,
            "moved_mean": float(moved.mean()),  # fractions of the bounding-box diagonal
            "moved_max": float(moved.max()),
        }

    def _active_keys_after(self) -> set[str]:
        keep = {"geometry", "material"}
        return {
            k
            for name, p in self.parts.items()
            if name not in keep
            for g in p.groups
            for k in g.keys
        }

    def resolution_factor(self, iteration: int) -> int:
        return max((p.resolution_factor(iteration) for p in self.parts.values()), default=1)

    # -- reporting and checkpoints ---------------------------------------------------------
    def metrics(self, iteration: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self.parts.values():
            out.update(part.metrics(iteration))
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self.parts.values():
            out.update(part.summary())
        if self.surface is not None:
            out.update(self.surface.summary(self.ctx.params))
        if self.sun is not None:
            out["sun"] = self.sun
        if self.denoised is not None:
            out["denoised"] = self.denoised
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        state = {
            f"{name}:{key}": value
            for name, part in self.parts.items()
            for key, value in part.state_dict().items()
        }
        if self.surface is not None:
            state.update({f"texture:{k}": v for k, v in self.surface.state_dict().items()})
        if self.sun is not None:  # a resumed run's summary still says where the sun went
            state["sun:json"] = np.array(json.dumps(self.sun))
        if self.denoised is not None:
            state["denoised:json"] = np.array(json.dumps(self.denoised))
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name, part in self.parts.items():
            prefix = f"{name}:"
            part.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
        if "sun:json" in state:
            self.sun = json.loads(str(state["sun:json"]))
        if "denoised:json" in state:
            self.denoised = json.loads(str(state["denoised:json"]))
        if self.surface is not None:
            prefix = "texture:"
            texture = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            self.surface.load_state_dict(self.ctx, texture)
