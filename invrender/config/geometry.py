"""The ``geometry:`` section of a run config (used by the geometry and joint pipelines).

Kept here, next to the code that reads it, so the spine's schema only adds one optional field.
Strict like the rest of the schema: unknown keys are errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from invrender.config.strict import Strict
from invrender.config.texturing import TextureStage


class InitialShape(Strict):
    """Where the optimized mesh starts: the scene's own mesh, a fitted sphere/ellipsoid, a file,
    or the visual hull of the target masks (any genus)."""

    type: Literal["scene", "sphere", "ellipsoid", "file", "visual_hull"] = "sphere"
    path: str | None = Field(None, description="mesh file for type: file (PLY/OBJ/GLB/STL)")
    subdivisions: int = Field(3, ge=0, le=7, description="ico-sphere level (3: 1280 triangles)")
    fill: float = Field(
        0.5, gt=0, le=1, description="sphere radius as a fraction of the view (when no masks)"
    )
    radii: tuple[float, float, float] = Field(
        (1.0, 1.0, 1.0), description="ellipsoid: relative radii along x, y, z (times the radius)"
    )
    resolution: int = Field(
        128, ge=16, le=512, description="visual_hull: voxels along the object's longest side"
    )
    triangles: int = Field(5000, ge=100, description="visual_hull: triangles after remeshing")
    threshold: float = Field(
        0.5, gt=0, lt=1, description="visual_hull: mask value above which a pixel is the object"
    )
    keep_inside: float | None = Field(
        None,
        ge=0,
        description="visual_hull: while optimized, the shape may leave the hull by at most this "
        "many voxels (every point outside it contradicts a mask); null lets it go anywhere",
    )

    @model_validator(mode="after")
    def _path_for_file(self) -> InitialShape:
        if (self.type == "file") != (self.path is not None):
            raise ValueError("give init.path exactly when init.type is 'file'")
        if self.keep_inside is not None and self.type != "visual_hull":
            raise ValueError(
                "init.keep_inside bounds the shape by the visual hull; it needs init.type: "
                "visual_hull (or remove keep_inside)"
            )
        return self


class LargeSteps(Strict):
    """Large-steps parameterization (Nicolet et al. 2021); off means Adam on raw positions."""

    enabled: bool = True
    lambda_: float = Field(20.0, gt=0, alias="lambda", description="smoothing strength λ")
    uniform_adam: bool = Field(True, description="UniformAdam normalization for vertex latents")


class Remesh(Strict):
    """Isotropic remeshing at given iterations, each to a target triangle count."""

    at: list[int] = Field(default_factory=list, description="iterations after which to remesh")
    triangles: list[int] = Field(default_factory=list, description="target triangle counts")
    iterations: int = Field(5, ge=1, description="Botsch–Kobbelt passes per remesh")

    @model_validator(mode="after")
    def _same_length(self) -> Remesh:
        if len(self.at) != len(self.triangles):
            raise ValueError("remesh.at and remesh.triangles need the same number of entries")
        return self


class Regularizers(Strict):
    """Weights of mesh regularizers added to the loss (0 = off)."""

    laplacian: float = Field(0.0, ge=0)
    edge_length: float = Field(0.0, ge=0)
    normal_consistency: float = Field(0.0, ge=0)


class CoarseToFine(Strict):
    """Render and compare at 1/``factor`` of the target resolution until iteration ``until``."""

    factors: list[int] = Field(default_factory=list, description="downscale factors, e.g. [4, 2]")
    until: list[int] = Field(default_factory=list, description="last iteration of each factor")

    @model_validator(mode="after")
    def _same_length(self) -> CoarseToFine:
        if len(self.factors) != len(self.until):
            raise ValueError("coarse_to_fine.factors and .until need the same number of entries")
        if any(f < 1 for f in self.factors):
            raise ValueError("coarse_to_fine.factors must be >= 1")
        return self

    def factor_at(self, iteration: int) -> int:
        for factor, until in sorted(zip(self.factors, self.until, strict=True), key=lambda p: p[1]):
            if iteration < until:
                return factor
        return 1


class GeometrySpec(Strict):
    init: InitialShape = Field(default_factory=InitialShape)
    large_steps: LargeSteps = Field(default_factory=LargeSteps)
    remesh: Remesh = Field(default_factory=Remesh)
    regularizers: Regularizers = Field(default_factory=Regularizers)
    coarse_to_fine: CoarseToFine = Field(default_factory=CoarseToFine)
    mask_weight: float = Field(
        0.0, ge=0, description="silhouette loss against the target masks (needs targets.masks)"
    )
    reference: str | None = Field(
        None, description="ground-truth mesh: Chamfer/normal consistency in metrics and summary"
    )
    eval_every: int = Field(0, ge=0, description="Chamfer in metrics.csv every N iterations")
    eval_samples: int = Field(200_000, ge=1000, description="surface samples for Chamfer")
    stages: dict[Literal["geometry", "material", "lighting"], int] = Field(
        default_factory=dict,
        description="joint pipeline: iteration at which each kind of parameter starts moving",
    )
    texture: TextureStage | None = Field(
        None, description="joint pipeline: UV atlas + principled UV maps after the last remesh"
    )
