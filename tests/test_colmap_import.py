"""Cameras users already have: COLMAP sparse models (text written here, with known poses) and
NeRF-synthetic split folders (train trains, test is held out)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from invrender.data.cameras import Camera, look_at
from invrender.data.colmap import read_colmap_model
from invrender.errors import DataError
from tests.helpers import tiny_example

W, H = 320, 240


def rotation_to_quaternion(r: np.ndarray) -> np.ndarray:
    """Hamilton quaternion (w, x, y, z) of a rotation matrix (trace method, w > 0 here)."""
    w = math.sqrt(max(0.0, 1 + np.trace(r))) / 2
    return np.array(
        [
            w,
            (r[2, 1] - r[1, 2]) / (4 * w),
            (r[0, 2] - r[2, 0]) / (4 * w),
            (r[1, 0] - r[0, 1]) / (4 * w),
        ]
    )


def true_poses(n: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """World-to-camera (R, t) in OpenCV axes for cameras around the origin."""
    poses = []
    for i in range(n):
        az = 0.4 + 2 * math.pi * i / n
        origin = 3.0 * np.array([math.sin(az), 0.5, math.cos(az)])
        m = look_at(origin, [0.1, 0.0, -0.2], [0.0, 1.0, 0.0])  # Mitsuba axes
        c2w_cv = m @ np.diag([-1.0, -1.0, 1.0, 1.0])
        r = c2w_cv[:3, :3].T
        poses.append((r, -r @ c2w_cv[:3, 3]))
    return poses


def write_text_model(folder: Path, model: str, params: list[float], n: int = 5) -> list:
    folder.mkdir(parents=True)
    (folder / "cameras.txt").write_text(
        f"# Camera list\n1 {model} {W} {H} {' '.join(repr(p) for p in params)}\n"
    )
    lines = ["# Image list"]
    poses = true_poses(n)
    for i, (r, t) in enumerate(poses):
        q = rotation_to_quaternion(r)
        vals = " ".join(repr(float(v)) for v in (*q, *t))
        lines += [f"{i + 1} {vals} 1 view_{i:02d}.png", ""]
    (folder / "images.txt").write_text("\n".join(lines) + "\n")
    (folder / "points3D.txt").write_text("# 3D point list\n")
    return poses


def project_mitsuba_camera(cam: Camera, pts: np.ndarray) -> np.ndarray:
    """Pixel coordinates (COLMAP's continuous convention) of world points, from the Camera's
    Mitsuba-convention fields only (to_world, fov, principal point offsets)."""
    local = (np.linalg.inv(cam.to_world) @ np.c_[pts, np.ones(len(pts))].T).T[:, :3]
    f = cam.width / (2 * math.tan(math.radians(cam.fov) / 2))
    cx = cam.width / 2 - cam.principal_point[0] * cam.width
    cy = cam.height / 2 - cam.principal_point[1] * cam.height
    # Mitsuba: +X left, +Y up, +Z forward; image x grows to the right, y downward
    return np.stack([cx - f * local[:, 0] / local[:, 2], cy - f * local[:, 1] / local[:, 2]], 1)


@pytest.mark.parametrize(
    "model,params",
    [("PINHOLE", [301.5, 301.5, 163.25, 117.5]), ("SIMPLE_PINHOLE", [288.0, 158.0, 124.0])],
)
def test_colmap_text_model_imports_to_the_true_cameras(tmp_path, model, params):
    poses = write_text_model(tmp_path / "sparse" / "0", model, params)
    (tmp_path / "images").mkdir()
    frames = read_colmap_model(tmp_path / "sparse" / "0")
    assert [f.image for f in frames] == [
        tmp_path / "images" / f"view_{i:02d}.png" for i in range(5)
    ]
    fx, fy = params[0], params[1] if model == "PINHOLE" else params[0]
    cx, cy = params[-2:]
    k = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    pts = np.random.default_rng(0).uniform(-0.8, 0.8, (200, 3))
    worst = 0.0
    for fr, (r, t) in zip(frames, poses, strict=True):
        truth = (k @ (r @ pts.T + t[:, None])).T
        truth = truth[:, :2] / truth[:, 2:]
        worst = max(worst, float(np.abs(project_mitsuba_camera(fr.camera, pts) - truth).max()))
    assert worst <= 1e-5, worst


def test_imported_camera_agrees_with_mitsuba_projection(tmp_path, variant):
    """The principal-point and axis conventions as Mitsuba itself projects a point."""
    import mitsuba as mi

    poses = write_text_model(tmp_path / "m", "PINHOLE", [301.5, 301.5, 171.0, 110.0], n=2)
    cam = read_colmap_model(tmp_path / "m", tmp_path)[1].camera
    sensor = mi.load_dict(cam.sensor_dict())
    pts = np.array([[0.3, 0.2, -0.1], [-0.4, 0.1, 0.3], [0.0, -0.3, 0.0]])
    it = dr_points = mi.Interaction3f()
    dr_points.p = mi.Point3f(pts[:, 0], pts[:, 1], pts[:, 2])
    ds, _ = sensor.sample_direction(it, mi.Point2f(0.5, 0.5))
    uv = np.stack([np.array(ds.uv.x), np.array(ds.uv.y)], 1)
    r, t = poses[1]
    k = np.array([[301.5, 0, 171.0], [0, 301.5, 110.0], [0, 0, 1]])
    truth = (k @ (r @ pts.T + t[:, None])).T
    np.testing.assert_allclose(uv, truth[:, :2] / truth[:, 2:], atol=2e-3)


def test_distorted_colmap_model_is_refused_with_a_hint(tmp_path):
    write_text_model(tmp_path / "m", "SIMPLE_RADIAL", [300.0, 160.0, 120.0, 0.01])
    with pytest.raises(DataError, match="distorted model; undistort first .*invrender cameras"):
        read_colmap_model(tmp_path / "m", tmp_path)


def test_not_a_colmap_model(tmp_path):
    with pytest.raises(DataError, match="not a COLMAP sparse model"):
        read_colmap_model(tmp_path, tmp_path)


def split_folder(tmp_path: Path, src: Path, test: list[int]) -> Path:
    """A NeRF-synthetic layout (train/, test/, transforms_{train,test}.json) from one dataset."""
    meta = json.loads((src / "transforms.json").read_text())
    out = tmp_path / "nerf"
    for split in ("train", "test"):
        (out / split).mkdir(parents=True)
        frames = []
        for i, fr in enumerate(meta["frames"]):
            if (i in test) != (split == "test"):
                continue
            name = Path(fr["file_path"]).name
            shutil.copy(src / fr["file_path"], out / split / name)
            frames.append({**fr, "file_path": f"./{split}/{Path(name).stem}"})  # no extension
        doc = {"camera_angle_x": meta["camera_angle_x"], "frames": frames}
        (out / f"transforms_{split}.json").write_text(json.dumps(doc))
    return out


def test_nerf_split_folder_trains_on_train_and_reports_psnr_on_test(tmp_path, variant):
    from invrender.data.dataset import load_dataset
    from invrender.run.launch import run_optimization

    cfg = tiny_example(tmp_path, "material_texture")
    data = yaml.safe_load(cfg.read_text())
    # Render the tiny example's targets once, then lay them out as NeRF splits.
    from invrender.data.synth import SynthOptions, synthesize

    synthesize(
        data["targets"]["synth"]["scene"],
        tmp_path / "targets",
        SynthOptions(views=4, width=32, height=32, spp=64),
        progress=False,
    )
    nerf = split_folder(tmp_path, tmp_path / "targets", test=[1, 3])
    data["targets"] = {"transforms": str(nerf), "masks": "alpha"}
    data["optimize"]["iterations"] = 4
    data["output"]["dir"] = str(tmp_path / "run")
    cfg.write_text(yaml.safe_dump(data))
    from invrender.config.loader import load_config

    ds = load_dataset(load_config(cfg).config.targets, str(nerf))
    assert ds.train == [0, 1] and ds.holdout == [2, 3]
    summary, _ = run_optimization(cfg, (), None, None, "llvm_ad_rgb", progress=False)
    assert summary["psnr_views"].startswith("held-out")
    assert summary["psnr"] > 10
