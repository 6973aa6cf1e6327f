"""The run config schema: strict (unknown keys are errors), with defaults a new user can live with.

Paths stay as written here; :mod:`invrender.config.loader` resolves them against the config
file's folder after validation.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from invrender.config.geometry import GeometrySpec
from invrender.config.names import ExportFormat, Variant
from invrender.config.strict import Strict
from invrender.config.template import (
    GEOMETRY_PIPELINES,
    LightingTemplate,
    ObjectTemplate,
    template_params,
)

Vec3 = tuple[float, float, float]


class LookAt(Strict):
    origin: Vec3
    target: Vec3 = (0.0, 0.0, 0.0)
    up: Vec3 = (0.0, 1.0, 0.0)


class InlineCamera(Strict):
    """One view given inline: a look-at or a Mitsuba ``to_world`` 4x4, a field of view, an image."""

    image: str
    mask: str | None = None
    look_at: LookAt | None = None
    to_world: list[list[float]] | None = Field(
        None, description="camera-to-world 4x4 in Mitsuba axes (looks down +Z, +X to the left)"
    )
    fov: float = Field(40.0, gt=0, lt=180, description="field of view in degrees")
    fov_axis: Literal["x", "y"] = "x"

    @model_validator(mode="after")
    def _one_pose(self) -> InlineCamera:
        if (self.look_at is None) == (self.to_world is None):
            raise ValueError("give exactly one of look_at or to_world")
        if self.to_world is not None and (
            len(self.to_world) != 4 or any(len(r) != 4 for r in self.to_world)
        ):
            raise ValueError("to_world must be a 4x4 matrix (list of 4 rows of 4 numbers)")
        return self


class SynthSpec(Strict):
    """How to render the target views from a ground-truth scene when they are missing."""

    scene: str = Field(description="ground-truth Mitsuba scene (XML)")
    views: int = Field(12, ge=1)
    resolution: int | tuple[int, int] = 64
    spp: int = Field(256, ge=1)
    fov: float = Field(40.0, gt=0, lt=180)
    radius: float | None = Field(None, gt=0, description="camera distance; default from bbox")
    elevations: list[float] = Field(default_factory=lambda: [20.0, -10.0])
    up: Literal["y", "z"] = "y"
    seed: int = 0


class Targets(Strict):
    """The photos with their cameras."""

    transforms: str | None = Field(None, description="NeRF-style transforms.json")
    cameras: list[InlineCamera] | None = None
    colmap: str | None = Field(
        None, description="COLMAP sparse model folder (cameras/images .bin or .txt), undistorted"
    )
    images: str | None = Field(
        None, description="targets.colmap: image folder (default: images/ next to the model)"
    )
    synth: SynthSpec | None = None
    masks: Literal["none", "alpha", "files"] = "none"
    holdout: list[int] = Field(default_factory=list, description="view indices kept for PSNR")
    downscale: int = Field(1, ge=1, description="integer factor to shrink target images by")

    @model_validator(mode="after")
    def _one_source(self) -> Targets:
        sources = [self.transforms, self.cameras, self.colmap]
        if sum(src is not None for src in sources) != 1:
            raise ValueError(
                "give exactly one of targets.transforms, targets.colmap or targets.cameras"
            )
        if self.images is not None and self.colmap is None:
            raise ValueError("targets.images is the image folder of targets.colmap: set that too")
        if self.synth is not None and self.transforms is None:
            raise ValueError("targets.synth writes a transforms.json: set targets.transforms too")
        return self


class SceneSpec(Strict):
    """The initial scene: a Mitsuba XML file, an inline Mitsuba dict, or a template
    (``object`` + ``lighting``, see :mod:`invrender.scene.template`)."""

    file: str | None = None
    inline: dict[str, Any] | None = Field(None, alias="dict")
    xml_params: dict[str, Any] = Field(
        default_factory=dict, description="values for <default> parameters of the XML file"
    )
    object: ObjectTemplate | None = Field(None, description="template: the one object")
    lighting: LightingTemplate | None = Field(None, description="template: the environment map")

    @model_validator(mode="after")
    def _one_source(self) -> SceneSpec:
        if sum(v is not None for v in (self.file, self.inline, self.object)) != 1:
            raise ValueError("give exactly one of scene.file, scene.dict or scene.object")
        if self.lighting is not None and self.object is None:
            raise ValueError("scene.lighting belongs to the template: give scene.object too")
        if self.object is not None and self.lighting is None:
            self.lighting = LightingTemplate()
        return self


class Schedule(Strict):
    """Learning-rate schedule: a factor on the group's ``lr`` as a function of the iteration."""

    type: Literal["constant", "exponential", "cosine", "step"] = "constant"
    final_factor: float = Field(0.1, gt=0, description="exponential/cosine: factor at the end")
    milestones: list[int] = Field(default_factory=list, description="step: where lr drops")
    gamma: float = Field(0.5, gt=0, description="step: factor at each milestone")
    warmup: int = Field(0, ge=0, description="iterations of linear warm-up")


class Upsample(Strict):
    """Coarse to fine: multiply the texture resolution by ``factor`` at these iterations."""

    at: list[int]
    factor: int = Field(2, ge=2)


class ParamGroup(Strict):
    key: str = Field(description="a Mitsuba parameter key, or a glob such as '*.reflectance.data'")
    lr: float = Field(0.01, gt=0)
    bounds: tuple[float, float] | None = None
    init: float | list[float] | None = Field(None, description="start value (overrides scene)")
    resolution: tuple[int, int] | None = Field(
        None, description="texture resolution [W, H] to start from (with init)"
    )
    schedule: Schedule = Field(default_factory=Schedule)
    upsample: Upsample | None = None
    tv_weight: float = Field(0.0, ge=0, description="total-variation regularizer for textures")
    space: Literal["linear", "log"] = Field(
        "linear",
        description="log: Adam steps the logarithm (relative steps, lr in e-folds per step), "
        "for values spanning decades such as an HDR sky holding a sun 100x its mean",
    )

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and v[0] >= v[1]:
            raise ValueError("bounds must be [low, high] with low < high")
        return v

    @model_validator(mode="after")
    def _log_needs_positive_bounds(self) -> ParamGroup:
        if self.space == "log" and self.bounds is not None and self.bounds[0] <= 0:
            raise ValueError(
                f"space: log needs bounds above 0 (got low {self.bounds[0]:g}; e.g. "
                f"[0.0001, {self.bounds[1]:g}]): a logarithm never reaches 0"
            )
        return self


class Exposure(Strict):
    """Per-photo exposure and white balance: phones change both from photo to photo, and one
    albedo cannot match photos that disagree by 20 % in brightness."""

    per_view: bool = Field(
        False, description="optimize an RGB gain (in EV) per training view, one view fixed at 0"
    )
    lr: float = Field(0.01, gt=0, description="learning rate of the gains, in EV per step")
    reference: int | None = Field(
        None, description="view whose gain stays 0 EV (default: the first training view)"
    )


class CameraRefinement(Strict):
    """A small rigid correction per training view for cameras from structure from motion."""

    refine: bool = Field(
        False, description="optimize a rotation + translation per training view (one fixed)"
    )
    lr: float = Field(
        0.002,
        gt=0,
        description="learning rate of the corrections (radians; translations in units of the "
        "cameras' mean distance), falling linearly to a tenth by the end",
    )
    prior_weight: float = Field(
        0.0, ge=0, description="weight of Σ|ω|² + |t|², which keeps the corrections small"
    )
    reference: int | None = Field(
        None, description="view whose camera stays as given (default: the first training view)"
    )


class Optimize(Strict):
    pipeline: str = "material"
    iterations: int = Field(200, ge=0)
    spp: int = Field(8, ge=1)
    views_per_iter: int = Field(1, ge=1)
    loss: Literal["l1", "l2", "relative_l2"] = "l1"
    seed: int = 0
    params: list[ParamGroup] = Field(
        min_length=1, description="what to optimize (a scene.object template brings defaults)"
    )
    eval_spp: int = Field(128, ge=1, description="spp for held-out PSNR and final previews")
    beta_1: float = Field(0.9, ge=0, lt=1)
    beta_2: float = Field(0.999, ge=0, lt=1)
    max_bad_steps: int = Field(
        10, ge=1, description="stop after this many non-finite (skipped) steps in a row"
    )
    exposure: Exposure = Field(default_factory=Exposure)
    cameras: CameraRefinement = Field(default_factory=CameraRefinement)


def _default_exports() -> list[ExportFormat | Literal["all"]]:
    return ["mitsuba"]


class Output(Strict):
    dir: str | None = Field(None, description="run folder; default runs/<config name>-<time>")
    preview_every: int = Field(25, ge=0)
    checkpoint_every: int = Field(50, ge=0)
    export: list[ExportFormat | Literal["all"]] = Field(default_factory=_default_exports)


class RunConfig(Strict):
    """A whole ``invrender optimize`` config."""

    name: str | None = None
    variant: Variant = "auto"
    targets: Targets
    scene: SceneSpec
    integrator: dict[str, Any] = Field(default_factory=lambda: {"type": "prb", "max_depth": 3})
    optimize: Optimize
    geometry: GeometrySpec | None = Field(
        None, description="geometry/joint pipelines: initial shape, remeshing, regularizers"
    )
    output: Output = Field(default_factory=Output)

    @model_validator(mode="before")
    @classmethod
    def _template_params(cls, data: Any) -> Any:
        """scene.object without optimize.params: the template's parameters for the pipeline."""
        scene, opt = (
            data.get(k) if isinstance(data, dict) else None for k in ("scene", "optimize")
        )
        if not isinstance(scene, dict) or not isinstance(opt, dict) or "params" in opt:
            return data
        try:
            obj = ObjectTemplate.model_validate(scene.get("object"))
        except ValueError:
            return data  # no template, or a broken one: the schema reports it
        obj._pipeline = str(opt.get("pipeline", "material"))
        lighting = scene.get("lighting")
        known_sky = isinstance(lighting, dict) and lighting.get("sky") is not None
        params = template_params(obj, obj._pipeline, known_sky)
        return {**data, "optimize": {**opt, "params": params}}

    @model_validator(mode="after")
    def _template(self) -> RunConfig:
        """scene.object: tell it the pipeline (mesh or not, UV or grid albedo); visual_hull."""
        obj = self.scene.object
        if obj is None:
            return self
        obj._pipeline = self.optimize.pipeline
        if obj.shape == "visual_hull":
            if self.optimize.pipeline not in GEOMETRY_PIPELINES:
                raise ValueError(
                    "scene.object.shape: visual_hull starts a geometry or joint pipeline "
                    "(optimize.pipeline); for material/lighting use sphere or file"
                )
            geometry = self.geometry.model_dump(by_alias=True) if self.geometry else {}
            geometry["init"] = {**geometry.get("init", {}), "type": "visual_hull"}
            geometry["init"].pop("path", None)
            try:
                self.geometry = GeometrySpec.model_validate(geometry)
            except ValueError:
                raise ValueError(
                    "scene.object.shape: visual_hull needs geometry.init type visual_hull, "
                    "which this build lacks; use shape: sphere"
                ) from None
        return self

    @field_validator("integrator")
    @classmethod
    def _has_type(cls, v: dict[str, Any]) -> dict[str, Any]:
        if "type" not in v:
            raise ValueError("a Mitsuba integrator dict needs a 'type' (e.g. prb, edge_sampling)")
        return v
