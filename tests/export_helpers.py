"""Small Mitsuba scenes for the export tests, built in code (no files from elsewhere)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np


def procedural_envmap(height: int = 32, width: int = 64) -> np.ndarray:
    """A smooth, clearly asymmetric sky: warm lobe toward +X, blue up, dark below, a tint
    that varies with azimuth, so a mirrored or rotated export shows up in renders."""
    theta = np.pi * np.arange(height) / (height - 1)  # Mitsuba's row placement
    phi = 2 * np.pi * (np.arange(width) + 0.5) / width - np.pi
    t, p = np.meshgrid(theta, phi, indexing="ij")
    # Mitsuba local direction of each texel: u = atan2(x, -z)/2pi -> x = sin(u 2pi) ...
    u = (np.arange(width) + 0.5) / width
    uu = np.broadcast_to(u, (height, width))
    angle = 2 * np.pi * uu
    x, y, z = np.sin(t) * np.sin(angle), np.cos(t), -np.sin(t) * np.cos(angle)
    sun = np.exp(8.0 * (x * 0.8 + y * 0.6 - 1.0))
    sky = np.stack([0.25 + 0.2 * z, 0.35 + 0.1 * x, 0.6 + 0.3 * y], -1)
    sky *= (0.4 + 0.6 * np.clip(y + 0.3, 0, 1))[..., None]
    image = sky + sun[..., None] * np.array([3.0, 2.2, 1.2])
    del p
    return np.clip(image, 0.0, None).astype(np.float32)


def checker_texture(size: int = 16) -> np.ndarray:
    """A colourful texture whose corners differ, so a flipped v or u is visible."""
    v, u = np.meshgrid(np.linspace(0, 1, size), np.linspace(0, 1, size), indexing="ij")
    checks = ((np.floor(u * 4) + np.floor(v * 4)) % 2)[..., None]
    gradient = np.stack([0.2 + 0.7 * u, 0.2 + 0.6 * v, 0.3 + 0.4 * (1 - u) * v], -1)
    return (gradient * (0.55 + 0.45 * checks)).astype(np.float32)


def bumpy_normal_texture(size: int = 32) -> np.ndarray:
    """A tangent-space normal map (raw, [0, 1]) tilting along both u and v, asymmetric in v,
    so a flipped green channel or a wrong tangent frame changes the shading."""
    v, u = np.meshgrid(
        (np.arange(size) + 0.5) / size, (np.arange(size) + 0.5) / size, indexing="ij"
    )
    normal = np.stack(
        [0.6 * np.sin(4 * np.pi * u), 0.5 * np.sin(2 * np.pi * v), np.ones_like(u)], -1
    )
    normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
    return ((normal + 1.0) / 2.0).astype(np.float32)


def make_scene(
    mi,
    width: int = 48,
    height: int = 32,
    spp: int = 64,
    max_depth: int = 4,
    principled: bool = False,
    area_light: bool = True,
    sky: bool = True,
    normal_map: bool = False,
    ground: bool = True,
):
    """A textured cube on a ground plane, under the procedural sky, with point (+area) lights."""

    def look_at(origin, target, up=(0, 1, 0)):
        return mi.ScalarTransform4f().look_at(origin=origin, target=target, up=up)

    cube_bsdf = {
        "type": "diffuse",
        "reflectance": {"type": "bitmap", "data": mi.TensorXf(checker_texture())},
    }
    if principled:
        cube_bsdf = {
            "type": "principled",
            "roughness": 0.45,
            "metallic": 0.0,
            "base_color": {"type": "bitmap", "data": mi.TensorXf(checker_texture())},
        }
    if normal_map:
        cube_bsdf = {
            "type": "normalmap",
            "bsdf": cube_bsdf,
            "normalmap": {
                "type": "bitmap",
                "raw": True,
                "data": mi.TensorXf(bumpy_normal_texture()),
            },
        }
    scene = {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": max_depth},
        "camera_front": {
            "type": "perspective",
            "fov": 42.0,
            "to_world": look_at([2.2, 1.6, 3.4], [0.0, 0.2, 0.0]),
            "film": {
                "type": "hdrfilm",
                "width": width,
                "height": height,
                "rfilter": {"type": "box"},
            },
            "sampler": {"type": "independent", "sample_count": spp},
        },
        "camera_side": {
            "type": "perspective",
            "fov": 35.0,
            "to_world": look_at([-3.0, 1.0, 1.0], [0.0, 0.3, 0.0]),
            "film": {
                "type": "hdrfilm",
                "width": width,
                "height": height,
                "rfilter": {"type": "box"},
            },
        },
        "cube": {
            "type": "cube",
            "to_world": mi.ScalarTransform4f()
            .translate([0.0, 0.5, 0.0])
            .rotate([0, 1, 0], 25.0)
            .scale(0.5),
            "bsdf": cube_bsdf,
        },
        "ground": {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90.0).scale(3.0),
            "bsdf": {
                "type": "diffuse",
                "reflectance": {"type": "rgb", "value": [0.45, 0.42, 0.38]},
            },
        },
        "sky": {"type": "envmap", "bitmap": mi.Bitmap(procedural_envmap()), "scale": 0.8},
        "bulb": {
            "type": "point",
            "position": [1.0, 2.0, 1.5],
            "intensity": {"type": "rgb", "value": [2.0, 1.6, 1.2]},
        },
    }
    if not sky:
        del scene["sky"]
    if not ground:
        del scene["ground"]
    if area_light:
        scene["panel"] = {
            "type": "rectangle",
            "to_world": look_at([-1.5, 2.5, -0.5], [0.0, 0.3, 0.0])
            @ mi.ScalarTransform4f().scale([0.4, 0.3, 1.0]),
            "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.0, 0.0, 0.0]}},
            "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [6.0, 5.0, 4.0]}},
        }
    return mi.load_dict(scene)


def require_or_skip(available: bool, what: str, setup: str) -> None:
    """Skip locally when an external tool is missing, but fail in CI, which installs it.

    CI sets ``CI`` (or ``INVRENDER_REQUIRE_EXPORT_TOOLS``); there a missing tool is a setup
    bug, not a reason to skip.
    """
    import os

    import pytest

    if available:
        return
    message = f"{what} is not installed; run `{setup}`"
    if os.environ.get("CI") or os.environ.get("INVRENDER_REQUIRE_EXPORT_TOOLS"):
        pytest.fail(message)
    pytest.skip(message)


def make_mixed_scene(mi, width: int = 48, height: int = 32):
    """An emissive cube (mesh area light), an analytic sphere (tessellated for Blender) in
    roughplastic, a GGX roughconductor cube and a constant background."""

    def translate_scale(offset, scale):
        return mi.ScalarTransform4f().translate(offset).scale(scale)

    return mi.load_dict(
        {
            "type": "scene",
            "integrator": {"type": "path", "max_depth": 4},
            "camera_front": {
                "type": "perspective",
                "fov": 50.0,
                "to_world": mi.ScalarTransform4f().look_at(
                    origin=[2.2, 1.6, 3.4], target=[0.0, 0.2, 0.0], up=[0, 1, 0]
                ),
                "film": {
                    "type": "hdrfilm",
                    "width": width,
                    "height": height,
                    "rfilter": {"type": "box"},
                },
            },
            "glow": {
                "type": "cube",
                "to_world": translate_scale([-0.8, 0.3, -0.5], 0.3),
                "bsdf": {"type": "diffuse"},
                "emitter": {"type": "area", "radiance": {"type": "rgb", "value": [3.0, 1.0, 0.5]}},
            },
            "ball": {
                "type": "sphere",
                "center": [0.6, 0.4, 0.3],
                "radius": 0.4,
                "bsdf": {
                    "type": "roughplastic",
                    "alpha": 0.2,
                    "diffuse_reflectance": {"type": "rgb", "value": [0.2, 0.5, 0.3]},
                },
            },
            "metal": {
                "type": "cube",
                "to_world": translate_scale([-0.3, 0.25, 1.0], 0.25),
                "bsdf": {"type": "roughconductor", "alpha": 0.1, "distribution": "ggx"},
            },
            "ground": {
                "type": "rectangle",
                "to_world": mi.ScalarTransform4f().rotate([1, 0, 0], -90.0).scale(3.0),
                "bsdf": {"type": "diffuse"},
            },
            "background": {
                "type": "constant",
                "radiance": {"type": "rgb", "value": [0.3, 0.35, 0.4]},
            },
        }
    )


GLTF_VALIDATOR = Path(__file__).resolve().parents[1] / "scripts" / "gltf_validator"


def gltf_validator_installed() -> bool:
    return (GLTF_VALIDATOR / "node_modules" / "gltf-validator").is_dir() and bool(
        shutil.which("node")
    )


def khronos_report(glb: Path, timeout: float = 120) -> tuple[dict, int]:
    """The Khronos glTF validator's JSON report on ``glb`` and its exit code (skips, or fails in
    CI, when the validator is not installed)."""
    require_or_skip(
        gltf_validator_installed(), "gltf-validator (npm)", "bash scripts/setup_gltf_validator.sh"
    )
    result = subprocess.run(
        ["node", str(GLTF_VALIDATOR / "validate.mjs"), str(glb)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return json.loads(result.stdout), result.returncode
