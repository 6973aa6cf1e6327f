"""The pipeline interface: what is optimized and how it maps into the scene.

A pipeline owns its parameter groups (which optimizer variables exist, how they are written into
the scene, their regularizers and per-iteration hooks). The run's
:class:`~invrender.run.runner.Runner` owns the loop (views, rendering, loss, Adam, logging,
checkpoints), shared by every pipeline.

To add a pipeline: subclass :class:`Pipeline`, set ``name`` and ``categories``, decorate it with
:func:`invrender.pipelines.register_pipeline`, and list its module in
``invrender.pipelines._BUILTIN`` (or import it before running).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from invrender.config.schema import RunConfig
from invrender.data.dataset import Dataset
from invrender.pipelines.param_groups import (
    ResolvedGroup,
    initial_value,
    to_optimizer,
    to_scene,
    upsampled,
)


@dataclass(frozen=True)
class StepViews:
    """The training views one iteration renders and each one's render seed, as the runner chose
    them; pipelines with loss terms of their own (silhouettes) use the same views and seeds."""

    indices: list[int]
    seeds: list[int]


@dataclass
class RunContext:
    """Everything a pipeline may read. ``config_name`` prefixes error messages (the file)."""

    config: RunConfig
    config_name: str
    scene: Any  # mi.Scene
    params: Any  # mi.SceneParameters
    dataset: Dataset
    groups: list[ResolvedGroup]


class Pipeline:
    """Identity mapping: optimizer variable ``key`` is scene parameter ``key``, within bounds."""

    name: ClassVar[str] = "base"
    #: Parameter categories (:func:`invrender.scene.loading.key_category`) this pipeline optimizes.
    categories: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: RunContext, groups: list[ResolvedGroup] | None = None) -> None:
        self.ctx = ctx
        self.groups = list(ctx.groups if groups is None else groups)

    # -- set-up ----------------------------------------------------------------------------
    def final_uv_shapes(self) -> set[str]:
        """Ids of the shapes whose material the run replaces by UV maps before it ends."""
        return set()

    def validate(self) -> list[str]:
        """Problems with the groups given to this pipeline, one message per line."""
        problems = []
        for g in self.groups:
            for key, cat in g.categories.items():
                if cat not in self.categories:
                    problems.append(
                        f"{self.ctx.config_name}: optimize.params.{g.index}.key: '{key}' is a "
                        f"{cat} parameter; the {self.name} pipeline optimizes "
                        f"{'/'.join(self.categories)} parameters (use pipeline: joint, or "
                        "choose another key)"
                    )
                    break
        return problems

    def variables(self) -> dict[str, Any]:
        """Initial values of the optimizer variables, by name."""
        out = {}
        for g in self.groups:
            for key in g.keys:
                out[key] = self.clamp(
                    g, to_optimizer(g, initial_value(self.ctx.params[key], g.spec))
                )
        return out

    def make_optimizer(self) -> Any:
        """The optimizer of the run (the geometry pipeline uses UniformAdam for vertex latents)."""
        import mitsuba as mi

        cfg = self.ctx.config.optimize
        return mi.ad.Adam(lr=0.01, beta_1=cfg.beta_1, beta_2=cfg.beta_2)

    def learning_rates(self, iteration: int) -> dict[str, float]:
        total = self.ctx.config.optimize.iterations
        return {k: g.lr_at(iteration, total) for g in self.groups for k in g.keys}

    # -- every iteration -------------------------------------------------------------------
    def apply(self, opt: Any) -> None:
        """Clamp the optimizer's variables to their bounds and write them into the scene params.

        The caller runs ``params.update()`` once after every pipeline has applied.
        """
        for g in self.groups:
            for key in g.keys:
                if g.spec.bounds is not None:
                    opt[key] = self.clamp(g, opt[key])
                self.ctx.params[key] = to_scene(g, opt[key])

    def regularizer(self, opt: Any, iteration: int, views: StepViews) -> Any | None:
        """Extra loss terms (a Dr.Jit scalar) or None; ``views`` are the iteration's own."""
        import drjit as dr

        from invrender.losses import total_variation

        total = None
        for g in self.groups:
            if g.spec.tv_weight <= 0:
                continue
            for key in g.keys:
                value = opt[key]
                if isinstance(value, dr.ArrayBase) and len(getattr(value, "shape", ())) == 3:
                    term = g.spec.tv_weight * total_variation(value)
                    total = term if total is None else total + term
        return total

    def after_step(self, opt: Any, iteration: int) -> None:
        """Hooks after the optimizer step (before the next iteration): texture upsampling."""
        for g in self.groups:
            up = g.spec.upsample
            if up is None or (iteration + 1) not in up.at:
                continue
            for key in g.keys:
                value = opt[key]
                if len(getattr(value, "shape", ())) == 3:
                    opt[key] = upsampled(value, up.factor)
                    self.ctx.params[key] = to_scene(g, opt[key])

    def resolution_factor(self, iteration: int) -> int:
        """Render and compare at 1/factor of the target resolution (coarse to fine); 1 = full."""
        return 1

    # -- reporting -------------------------------------------------------------------------
    def metrics(self, iteration: int) -> dict[str, Any]:
        """Extra metrics.csv columns for this iteration (e.g. Chamfer every N iterations)."""
        return {}

    def summary(self) -> dict[str, Any]:
        """Extra summary.json entries at the end of the run (e.g. mesh quality)."""
        return {}

    # -- checkpoints -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Extra state beyond the optimizer's (e.g. mesh topology after remeshing)."""
        return {}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore :meth:`state_dict`; called before the optimizer variables are restored."""

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def clamp(group: ResolvedGroup, value: Any) -> Any:
        """``value`` (in the optimizer's space) within the group's bounds."""
        import drjit as dr

        if group.spec.bounds is None:
            return value
        lo, hi = group.spec.bounds
        if group.spec.space == "log":
            lo, hi = math.log(lo), math.log(hi)
        return dr.clip(value, lo, hi)
