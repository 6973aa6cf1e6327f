"""Mitsuba BSDFs -> one metallic-roughness PBR material for glTF, OBJ/MTL and Blender.

Mapping (r = perceptual roughness, alpha = r^2 is the GGX/Beckmann width; Mitsuba's
``principled.roughness``, glTF's ``roughnessFactor`` and Blender's Principled ``Roughness`` are
all r):

============== ======================= ============ ============ ======================
Mitsuba        base colour             metallic     roughness    notes
============== ======================= ============ ============ ======================
diffuse        reflectance             0            1            specular off (Blender
                                                                 ``Specular IOR Level``
                                                                 0, glTF
                                                                 KHR_materials_specular
                                                                 factor 0)
principled     base_color              metallic     roughness    specular s -> IOR from
                                                                 F0 = 0.08 s; sheen,
                                                                 clearcoat, spec_trans,
                                                                 anisotropic -> Blender
                                                                 inputs of the same name
roughconductor F0 from eta, k (x        1            sqrt(alpha)  Mitsuba's default
               specular_reflectance)                              distribution is
                                                                 Beckmann; glTF and
                                                                 Blender use GGX
conductor      F0 from eta, k          1            0
roughplastic   diffuse_reflectance     0            sqrt(alpha)  IOR = eta
plastic        diffuse_reflectance     0            0            IOR = eta
twosided       (its nested BSDF)                                 glTF doubleSided
normalmap      (its nested BSDF)                                 normalmap -> glTF
                                                                 normalTexture / Blender
                                                                 Normal Map node
============== ======================= ============ ============ ======================

Mitsuba's principled BSDF is Disney's 2015 model and Blender 4's is OpenPBR-like: base colour,
metallic and roughness agree, the diffuse lobe and the dielectric Fresnel differ by a few
percent (see docs/export.md for measured differences). Anything not in the table becomes a grey
diffuse material and a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from invrender.export.mitsuba_access import (
    UnexportableError,
    children,
    plugin_name,
    repr_field,
    texture_uv_transform,
    texture_value,
)

# Texture data: (C,) for a constant, (H, W, C) for an image, linear, as Mitsuba renders it.
Texture = np.ndarray


@dataclass
class Material:
    """A metallic-roughness PBR material, the common ground of glTF, MTL and Blender."""

    name: str
    source: str
    base_color: Texture = field(default_factory=lambda: np.full(3, 0.5))
    roughness: Texture = field(default_factory=lambda: np.ones(1))
    metallic: Texture = field(default_factory=lambda: np.zeros(1))
    ior: float = 1.5
    specular: bool = True
    normal_map: Texture | None = None
    double_sided: bool = False
    emission: np.ndarray | None = None
    extra: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def is_image(texture: Texture) -> bool:
    return np.asarray(texture).ndim == 3


def as_rgb(texture: Texture) -> Texture:
    """Broadcast a 1-channel constant or image to 3 channels."""
    texture = np.asarray(texture, dtype=np.float64)
    if texture.shape[-1] == 3:
        return texture
    if texture.shape[-1] == 1:
        return np.repeat(texture, 3, axis=-1)
    return texture[..., :3]


def as_scalar(texture: Texture) -> Texture:
    """The first channel of a constant or image (roughness, metallic)."""
    texture = np.asarray(texture, dtype=np.float64)
    return texture[..., :1]


def conductor_f0(eta: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Normal-incidence reflectance of a conductor with complex IOR eta + i k."""
    return ((eta - 1.0) ** 2 + k**2) / ((eta + 1.0) ** 2 + k**2)


def ior_from_specular(specular: float) -> float:
    """Disney's ``specular`` s sets F0 = 0.08 s for a dielectric; return that F0's IOR."""
    root = np.sqrt(np.clip(0.08 * specular, 0.0, 0.999))
    return float((1.0 + root) / (1.0 - root))


def _texture(items: dict[str, Any], key: str, default: float | list[float]) -> Texture:
    if key not in items:
        return np.atleast_1d(np.asarray(default, dtype=np.float64))
    value = items[key]
    import mitsuba as mi

    if isinstance(value, mi.Object) and texture_uv_transform(value) is not None:
        raise UnexportableError(
            f"texture '{key}' has a to_uv transform; bake it into the mesh's UVs before export"
        )
    return texture_value(value)


def _scalar(items: dict[str, Any], key: str, default: float) -> float:
    texture = _texture(items, key, default)
    if is_image(texture):
        return float(np.mean(texture))
    return float(texture.reshape(-1)[0])


def material_from_bsdf(bsdf: Any, name: str) -> Material:
    """Map a live Mitsuba BSDF (with its current, optimized values) to a PBR material."""
    material = Material(name=name, source=plugin_name(bsdf))
    _fill(material, bsdf)
    return material


def _fill(material: Material, bsdf: Any) -> None:
    kind = plugin_name(bsdf)
    items = children(bsdf)
    if kind == "twosided":
        material.double_sided = True
        _fill(material, items["brdf_0"])
    elif kind in ("normalmap",):
        material.normal_map = as_rgb(_texture(items, "normalmap", [0.5, 0.5, 1.0]))
        _fill(material, items["nested_bsdf"])
    elif kind == "diffuse":
        material.source = kind
        material.base_color = as_rgb(_texture(items, "reflectance", 0.5))
        material.roughness = np.ones(1)
        material.metallic = np.zeros(1)
        material.specular = False
    elif kind == "principled":
        material.source = kind
        material.base_color = as_rgb(_texture(items, "base_color", 0.5))
        material.roughness = as_scalar(_texture(items, "roughness", 0.5))
        material.metallic = as_scalar(_texture(items, "metallic", 0.0))
        material.ior = ior_from_specular(_scalar(items, "specular", 0.5))
        for key in (
            "sheen",
            "sheen_tint",
            "clearcoat",
            "clearcoat_gloss",
            "spec_trans",
            "anisotropic",
            "spec_tint",
            "flatness",
        ):
            value = _scalar(items, key, 0.0)
            if value:
                material.extra[key] = value
    elif kind in ("roughconductor", "conductor"):
        material.source = kind
        eta = as_rgb(_texture(items, "eta", 0.0))
        k = as_rgb(_texture(items, "k", 1.0))
        tint = as_rgb(_texture(items, "specular_reflectance", 1.0))
        material.base_color = conductor_f0(eta, k) * tint
        material.metallic = np.ones(1)
        alpha = _texture(items, "alpha", 0.0) if kind == "roughconductor" else np.zeros(1)
        material.roughness = np.sqrt(np.maximum(as_scalar(alpha), 0.0))
        distribution = repr_field(bsdf, "distribution")
        if distribution and distribution != "ggx":
            material.notes.append(f"{kind}: {distribution} distribution exported as GGX")
    elif kind in ("roughplastic", "plastic"):
        material.source = kind
        material.base_color = as_rgb(_texture(items, "diffuse_reflectance", 0.5))
        material.metallic = np.zeros(1)
        alpha = _texture(items, "alpha", 0.0) if kind == "roughplastic" else np.zeros(1)
        material.roughness = np.sqrt(np.maximum(as_scalar(alpha), 0.0))
        material.ior = _scalar(items, "eta", 1.49)
    else:
        material.source = kind
        material.notes.append(f"BSDF '{kind}' has no PBR mapping; exported as grey diffuse")
        material.specular = False
