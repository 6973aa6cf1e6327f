"""A small capture for the automatic-mask tests: a warm-textured sphere on a cool-textured floor
(no ball), rendered from known cameras with its true masks, and 3-D points on object and floor
with the views that see them (what structure from motion would give)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.photo_helpers import noise_texture, photo_cameras, photo_scene, render_photos


def capture_scene() -> dict:
    """photo_scene without the ball; the object's texture warm, the floor's cool and paler, as
    an object on a newspaper or mat would be (GrabCut separates by colour)."""
    import mitsuba as mi

    scene = photo_scene()
    del scene["ball"]
    warm = noise_texture(256, 1) * np.array([1.0, 0.45, 0.25], np.float32)
    grey = noise_texture(512, 3).mean(axis=2, keepdims=True)
    cool = (0.3 + 0.6 * grey) * np.array([0.55, 0.75, 1.0], np.float32)

    def bsdf(tex: np.ndarray) -> dict:
        bmp = mi.Bitmap(np.ascontiguousarray(tex, dtype=np.float32))
        return {
            "type": "diffuse",
            "reflectance": {"type": "bitmap", "bitmap": bmp, "filter_type": "bilinear"},
        }

    scene["object"]["bsdf"] = bsdf(warm)
    scene["floor"]["bsdf"] = bsdf(cool)
    return scene


def render_capture(root: Path, views: int = 16, width: int = 256, height: int = 192):
    """(photo folder, true mask folder, cameras, scene dict)."""
    cams = photo_cameras(views, width, height)
    scene = capture_scene()
    render_photos(root / "photos", cams, spp=16, scene=scene, mask_folder=root / "true_masks")
    return root / "photos", root / "true_masks", cams, scene


def seed_points(scene: dict, cams: list, count: int = 400, seed: int = 0):
    """(points (N, 3), per camera the indices of the points it sees): points on the object's
    sphere and on the floor around it, visibility by ray casting in the scene."""
    import mitsuba as mi

    rng = np.random.default_rng(seed)
    centre = np.array(scene["object"]["center"], dtype=np.float64)
    radius = float(scene["object"]["radius"])
    d = rng.normal(size=(count, 3))
    on_object = centre + radius * d / np.linalg.norm(d, axis=1, keepdims=True)
    xz = rng.uniform(-2.4, 2.4, (2 * count, 2))
    on_floor = np.stack([xz[:, 0], np.full(len(xz), -0.45), xz[:, 1]], axis=1)
    points = np.concatenate([on_object, on_floor])
    scene_obj = mi.load_dict(scene)
    seen = []
    for cam in cams:
        origin = np.asarray(cam.to_world)[:3, 3]
        delta = points - origin
        dist = np.linalg.norm(delta, axis=1)
        dirs = delta / dist[:, None]
        ray = mi.Ray3f(mi.Point3f(*[np.full(len(points), v) for v in origin]), mi.Vector3f(dirs.T))
        si = scene_obj.ray_intersect(ray)
        t = np.array(si.t)
        from invrender.data.auto_masks import project

        xy, front = project(cam, points)
        inside = front & (xy[:, 0] >= 0) & (xy[:, 0] < cam.width)
        inside &= (xy[:, 1] >= 0) & (xy[:, 1] < cam.height)
        seen.append(np.nonzero(inside & (np.abs(t - dist) < 1e-3 * dist))[0])
    return points, seen


def read_masks(folder: Path) -> list[np.ndarray]:
    from PIL import Image

    return [np.asarray(Image.open(p).convert("L")) > 127 for p in sorted(folder.iterdir())]
