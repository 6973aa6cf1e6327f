"""Joint pipeline: geometry + material + lighting in one run.

It owns no optimization logic of its own: the groups of ``optimize.params`` are split by
parameter category and handed to the geometry, material and lighting pipelines, and every hook
delegates to them. On top it adds a stage schedule, ``geometry.stages`` (the iteration at which
each category starts moving; e.g. material and lighting first, then geometry too), applied as a
zero learning rate before the start.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invrender.optim import ResolvedGroup
from invrender.pipelines import get_pipeline, register_pipeline
from invrender.pipelines.base import Pipeline, RunContext

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
        return problems

    def variables(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self.parts.values():
            out.update(part.variables())
        return out

    def make_optimizer(self) -> Any:
        part = self.parts.get("geometry")
        return part.make_optimizer() if part is not None else super().make_optimizer()

    def learning_rates(self, iteration: int) -> dict[str, float]:
        stages = self._stages()
        rates: dict[str, float] = {}
        for name, part in self.parts.items():
            started = iteration >= stages.get(name, 0)
            for key, lr in part.learning_rates(iteration).items():
                rates[key] = lr if started else 0.0
        return rates

    def _stages(self) -> dict[str, int]:
        spec = self.ctx.config.geometry
        return dict(spec.stages) if spec is not None else {}

    # -- every iteration -------------------------------------------------------------------
    def apply(self, opt: Any) -> None:
        for part in self.parts.values():
            part.apply(opt)

    def regularizer(self, opt: Any, iteration: int) -> Any | None:
        total = None
        for part in self.parts.values():
            term = part.regularizer(opt, iteration)
            if term is not None:
                total = term if total is None else total + term
        return total

    def after_step(self, opt: Any, iteration: int) -> None:
        for part in self.parts.values():
            part.after_step(opt, iteration)

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
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        return {
            f"{name}:{key}": value
            for name, part in self.parts.items()
            for key, value in part.state_dict().items()
        }

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for name, part in self.parts.items():
            prefix = f"{name}:"
            part.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
