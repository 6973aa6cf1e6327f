"""Render a photo set of a richly textured object on a textured ground, for the SfM tests.

The textures are band-limited noise generated here (no download), so SIFT finds many features.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from invrender.data.cameras import Camera, look_at
from scripts.fixtures.alignment import align_poses


def noise_texture(size: int, seed: int) -> np.ndarray:
    """A high-contrast RGB texture: random octaves (bicubic), equalized, with random dark and
    light discs on top, so SIFT finds blobs at many scales and no two places look alike."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = np.zeros((size, size, 3))
    for cells in (8, 16, 32, 64):
        coarse = (rng.random((cells, cells, 3)) * 255).astype(np.uint8)
        up = Image.fromarray(coarse).resize((size, size), Image.Resampling.BICUBIC)
        out += np.asarray(up, dtype=np.float64)
    for c in range(3):  # equalize: every channel spans the full range
        ranks = out[..., c].ravel().argsort().argsort()
        out[..., c] = (ranks / ranks.size).reshape(size, size)
    img = Image.fromarray((out * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(size * size // 300):
        x, y = rng.random(2) * size
        r = size / 512 * rng.uniform(2, 9)
        shade = (
            tuple(int(v) for v in rng.integers(0, 256, 3))
            if rng.random() < 0.5
            else ((0, 0, 0) if rng.random() < 0.5 else (255, 255, 255))
        )
        draw.ellipse([x - r, y - r, x + r, y + r], fill=shade)
    return (np.asarray(img, dtype=np.float32) / 255 * 0.9 + 0.03).astype(np.float32)


def photo_scene(seed: int = 0) -> dict:
    """Two textured spheres on a textured floor, under a constant sky and a sun.

    Spheres and the floor have one-to-one UV maps, so no two places look alike (a cube's six
    faces share one texture image, which misleads matching)."""
    import mitsuba as mi

    def textured(tex_seed: int, size: int = 512) -> dict:
        bmp = mi.Bitmap(noise_texture(size, tex_seed))
        return {
            "type": "diffuse",
            "reflectance": {"type": "bitmap", "bitmap": bmp, "filter_type": "bilinear"},
        }

    return {
        "type": "scene",
        "integrator": {"type": "path", "max_depth": 3},
        "sky": {"type": "constant", "radiance": {"type": "rgb", "value": 0.6}},
        "sun": {"type": "directional", "direction": [-0.4, -1.0, -0.3], "irradiance": 2.0},
        "object": {
            "type": "sphere",
            "center": [0.0, 0.1, 0.0],
            "radius": 0.55,
            "bsdf": textured(seed + 1),
        },
        "ball": {
            "type": "sphere",
            "center": [0.75, -0.2, 0.45],
            "radius": 0.25,
            "bsdf": textured(seed + 2, 256),
        },
        "floor": {
            "type": "rectangle",
            "to_world": mi.ScalarTransform4f()
            .translate([0.0, -0.45, 0.0])
            .rotate([1, 0, 0], -90)
            .scale(2.5),
            "bsdf": textured(seed + 3, 1024),
        },
    }


def photo_cameras(
    views: int, width: int, height: int, fov: float = 50.0, radius: float = 3.0
) -> list[Camera]:
    """Cameras on two rings above the floor, looking slightly below the object's centre."""
    cams = []
    for i in range(views):
        az = 2 * math.pi * i / views
        el = math.radians(35.0 if i % 2 else 20.0)
        origin = radius * np.array(
            [math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)]
        )
        m = look_at(origin, [0.0, 0.1, 0.0], [0.0, 1.0, 0.0])
        cams.append(Camera(m, fov, width, height))
    return cams


def mask_scene(scene: dict) -> dict:
    """The same geometry with the object glowing white and everything else black and unlit:
    its render is the object's anti-aliased visibility mask (occlusions included)."""
    black = {"type": "diffuse", "reflectance": {"type": "rgb", "value": 0.0}}
    out = {"type": "scene", "integrator": {"type": "direct"}}
    for key, node in scene.items():
        if isinstance(node, dict) and "bsdf" in node:
            out[key] = {**node, "bsdf": black}
    out["object"] = {**scene["object"], "emitter": {"type": "area", "radiance": 1.0}}
    return out


def render_photos(
    folder: Path,
    cams: list[Camera],
    spp: int = 32,
    scene: dict | None = None,
    mask_folder: Path | None = None,
) -> list[Path]:
    """Render each camera to an 8-bit sRGB PNG in ``folder`` (and the object's mask as a
    grey PNG in ``mask_folder``); return the photo paths."""
    import mitsuba as mi

    from invrender.files import write_png

    scene = scene or photo_scene()
    scene_obj = mi.load_dict(scene)
    masks = mi.load_dict(mask_scene(scene)) if mask_folder else None
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, cam in enumerate(cams):
        sensor = mi.load_dict(cam.sensor_dict(spp=spp))
        rgb = np.array(mi.render(scene_obj, sensor=sensor, seed=i))[..., :3]
        path = folder / f"photo_{i:03d}.png"
        write_png(path, rgb, srgb=True)
        paths.append(path)
        if masks is not None:
            mask_folder.mkdir(parents=True, exist_ok=True)
            m = np.array(mi.render(masks, sensor=sensor, seed=i))[..., 0]
            write_png(mask_folder / f"photo_{i:03d}.png", m, srgb=False)
    return paths


def camera_errors(recovered: list[Camera], truth: list[Camera]) -> dict[str, float]:
    """Worst rotation error (deg) and centre error (fraction of camera distance) after aligning
    the recovered cameras to the truth by a similarity, and the worst relative focal error."""
    s, r, t = align_poses(recovered, truth)
    src = np.array([c.to_world[:3, 3] for c in recovered])
    dst = np.array([c.to_world[:3, 3] for c in truth])
    dist = float(np.mean(np.linalg.norm(dst - dst.mean(0), axis=1)))
    centre = max(np.linalg.norm(s * r @ a + t - b) for a, b in zip(src, dst, strict=True)) / dist
    rot = 0.0
    for c, g in zip(recovered, truth, strict=True):
        m = (r @ c.to_world[:3, :3]).T @ g.to_world[:3, :3]
        rot = max(rot, math.degrees(math.acos(np.clip((np.trace(m) - 1) / 2, -1, 1))))

    def focal(c: Camera) -> float:
        return c.width / (2 * math.tan(math.radians(c.fov) / 2))

    f_err = max(abs(focal(c) / focal(g) - 1) for c, g in zip(recovered, truth, strict=True))
    return {"rotation_deg": rot, "centre_frac": float(centre), "focal_rel": float(f_err)}


def photo_scene_files(folder: Path, seed: int = 0) -> dict:
    """:func:`photo_scene` as a YAML-friendly ``scene.dict``: textures as linear EXR files in
    ``folder`` (exact float32), transforms as {translate, rotate, scale}."""
    from invrender.files import write_exr

    folder.mkdir(parents=True, exist_ok=True)
    scene = photo_scene(seed)

    def to_file(node: dict, name: str, size: int, tex_seed: int) -> dict:
        path = folder / f"{name}.exr"
        write_exr(path, noise_texture(size, tex_seed))
        refl = {"type": "bitmap", "filename": str(path), "filter_type": "bilinear"}
        return {**node, "bsdf": {"type": "diffuse", "reflectance": refl}}

    out = {k: v for k, v in scene.items() if k not in ("type", "object", "ball", "floor")}
    out["object"] = to_file(scene["object"], "object", 512, seed + 1)
    out["ball"] = to_file(scene["ball"], "ball", 256, seed + 2)
    floor = {k: v for k, v in scene["floor"].items() if k != "to_world"}
    floor["to_world"] = {
        "translate": [0.0, -0.45, 0.0],
        "rotate": {"axis": [1, 0, 0], "angle": -90},
    }
    floor["to_world"]["scale"] = 2.5
    out["floor"] = to_file(floor, "floor", 1024, seed + 3)
    return out
