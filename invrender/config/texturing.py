"""The ``geometry.texture:`` section: when to unwrap and bake, map resolution, learning rates."""

from __future__ import annotations

from pydantic import Field

from invrender.config.strict import Strict


class MapSpec(Strict):
    """One scalar map (roughness or metallic): start value (when the material has none) and lr."""

    init: float = Field(0.5, ge=0, le=1, description="value when the source material has none")
    lr: float = Field(0.01, ge=0, description="Adam learning rate in texture space")
    tv_weight: float = Field(
        0.0, ge=0, description="total-variation weight over the map's charts (smoothness)"
    )
    offset_lr: float = Field(
        0.0,
        ge=0,
        description="learning rate of one value added to every texel (0: none): the map's "
        "level moves with the summed gradient of all texels, its detail with each texel's",
    )


class TextureStage(Strict):
    """Unwrap after iteration ``at`` (after the last remesh), bake, then optimize UV maps.

    The mesh is frozen from then on: xatlas splits vertices along chart seams, and moving the
    split copies independently would open the seams.
    """

    at: int = Field(..., ge=1, description="iteration after which to unwrap and bake")
    resolution: int = Field(256, ge=16, le=8192, description="square map size in texels")
    padding: int = Field(2, ge=0, le=16, description="texels between charts in the atlas")
    lr: float = Field(0.01, ge=0, description="base colour learning rate in texture space")
    tv_weight: float = Field(
        0.0, ge=0, description="total-variation weight on the base colour over the charts"
    )
    final_factor: float = Field(
        0.2, gt=0, le=1, description="cosine decay of the texture lrs, from `at` to the end"
    )
    roughness: MapSpec = Field(default_factory=lambda: MapSpec(init=0.5, lr=0.01))
    metallic: MapSpec = Field(default_factory=lambda: MapSpec(init=0.0, lr=0.005))
    specular: float | None = Field(
        None,
        ge=0,
        le=1,
        description="principled specular (F0 = 0.08 s); default from the material: diffuse 0",
    )
    specular_lr: float = Field(0.0, ge=0, description="optimize specular too (0: fixed)")
    bake: bool = Field(
        True,
        description="start the maps baked from the material (false: from its mean, flat)",
    )
    denoise_deg: float | None = Field(
        None,
        gt=0,
        le=60,
        description="before unwrapping, filter the frozen mesh's ripples: each face's normal "
        "averaged with its neighbours' within about this angle (creases sharper than ~3x it "
        "stay), vertices moved to fit (invrender/geometry/denoise.py); null: off",
    )
    sun_at: int | None = Field(
        None,
        ge=1,
        description="iteration after which the learned sky's brightest lobe is gathered into a "
        "sun, power kept (invrender/scene/sun.py); null: never",
    )
