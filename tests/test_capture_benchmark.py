"""scripts/make_capture_benchmark.py and scripts/bench_capture.py: the phone-like capture
benchmark (issue 26) and its scorer."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _script("make_capture_benchmark")


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return _script("bench_capture")


def test_handheld_orbit_is_uneven_tilted_above_the_table_and_frames_the_object(bench):
    from invrender.data.auto_masks import project
    from invrender.data.cameras import Camera, opengl_to_mitsuba

    rng = np.random.default_rng(0)
    height, fov = 1.2, math.radians(60)
    c2ws = bench.handheld_orbit(30, height, fov, 4 / 3, rng)
    eyes = np.array([c[:3, 3] for c in c2ws])
    azimuth = np.unwrap(np.arctan2(eyes[:, 1], eyes[:, 0]))
    steps = np.diff(azimuth)
    assert (steps > 0).all() and azimuth[-1] - azimuth[0] > 1.8 * math.pi  # one lap, in order
    assert steps.std() / steps.mean() > 0.1  # uneven, as by hand
    assert eyes[:, 2].min() > 0.2 * height  # above the table top
    elevation = np.degrees(np.arcsin((eyes[:, 2] - 0.45 * height) / np.linalg.norm(eyes, axis=1)))
    assert elevation.max() - elevation.min() > 10
    # Roll: the camera's right axis leaves the horizontal plane by a few degrees in some views.
    roll = np.degrees(np.arcsin(np.abs([c[2, 0] for c in c2ws])))
    assert roll.max() > 2 and roll.max() <= 8.5
    # The object's bounding box is inside every frame.
    box = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (0, height)])
    for c2w in c2ws:
        cam = Camera(opengl_to_mitsuba(c2w), math.degrees(fov), 1024, 768)
        xy, front = project(cam, box)
        assert front.all()
        assert (xy[:, 0] > 0).all() and (xy[:, 0] < 1024).all()
        assert (xy[:, 1] > 0).all() and (xy[:, 1] < 768).all()


def test_photo_settings_and_the_phone_jpeg(bench, tmp_path):
    ev, wb = bench.photo_settings(200, np.random.default_rng(1))
    assert np.abs(ev).max() <= 0.3 and ev.std() > 0.1
    assert np.abs(wb - 1).max() <= 0.05 and (np.abs(wb[:, 0] - wb[:, 2]) > 0.02).any()
    grey = np.full((16, 16, 3), 0.18, np.float32)
    bench.phone_jpeg(grey, 2.0**0.3, np.array([1.05, 1.0, 0.95]), tmp_path / "a.jpg")
    rgb = np.asarray(Image.open(tmp_path / "a.jpg")).reshape(-1, 3).mean(0)
    from invrender.files import linear_to_srgb

    expected = 255 * linear_to_srgb(0.18 * 2**0.3 * np.array([1.05, 1.0, 0.95]))
    assert np.abs(rgb - expected).max() < 2.0  # JPEG of a flat image: within rounding


def test_scene_meshes(bench):
    from invrender.geometry.topology import mesh_topology

    table = bench.table_mesh(3.0, 2.0, 0.1)
    assert table.vertices[:, 2].max() == 0.0
    v = table.vertices[table.faces]
    volume = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6
    assert volume == pytest.approx(3.0 * 2.0 * 0.1)  # closed and outward
    for name in bench.CAPTURES:
        obj = bench.make_capture(name)
        assert obj.mesh.vertices[:, 2].min() == pytest.approx(0.0, abs=1e-9)  # on the table
        topo = mesh_topology(obj.mesh.faces)
        assert topo.closed_manifold, (name, topo)
        texture = obj.albedo(64)
        assert texture.min() >= 0 and texture.max() <= 1 and texture.std() > 0.05
    wood = bench.wood_albedo(128)
    assert wood.shape == (128, 128, 3) and 0 <= wood.min() and wood.max() <= 1
    assert wood.std(axis=(0, 1)).min() > 0.02  # texture for SIFT


def _cameras(count: int) -> list:
    from invrender.data.cameras import Camera, look_at

    cams = []
    for k in range(count):
        a = 2 * math.pi * k / count
        eye = [3 * math.sin(a), 1.0 + 0.3 * (k % 2), 3 * math.cos(a)]
        cams.append(Camera(look_at(eye, [0, 0.3, 0], [0, 1, 0]), 50.0, 640, 480))
    return cams


def test_pose_errors_ignore_a_similarity_and_see_a_turned_camera(scorer):
    from invrender.data.cameras import Camera

    truth = _cameras(12)
    angle = math.radians(30)
    rot = np.array(
        [[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]]
    )
    sim = np.eye(4)
    sim[:3, :3], sim[:3, 3] = 0.4 * rot, [1.0, -2.0, 0.5]
    moved = []
    for c in truth:
        m = sim @ np.asarray(c.to_world)
        m[:3, :3] /= 0.4  # a rotation again
        moved.append(Camera(m, c.fov, c.width, c.height))
    rot_err, centre_err = scorer.pose_errors(moved, truth)
    assert rot_err.max() < 1e-4 and centre_err.max() < 1e-6
    turn = np.eye(4)
    a = math.radians(2.0)
    turn[:3, :3] = [[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]]
    moved[3] = Camera(np.asarray(moved[3].to_world) @ turn, 50.0, 640, 480)
    rot_err, _ = scorer.pose_errors(moved, truth)
    assert rot_err[3] == pytest.approx(2.0, abs=0.3) and np.median(rot_err) < 0.3


def test_mask_iou_and_a_failed_run(scorer, tmp_path):
    a = np.zeros((20, 30), np.uint8)
    a[5:15, 5:15] = 255
    b = np.zeros((20, 30), np.uint8)
    b[5:15, 10:20] = 255
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(tmp_path / "c.png")
    assert scorer.mask_iou(tmp_path / "a.png", tmp_path / "b.png") == pytest.approx(50 / 150)
    assert scorer.mask_iou(tmp_path / "a.png", tmp_path / "c.png") is None  # other images
    # Photos SfM cannot register: the scorer says so in one line instead of scoring nothing.
    capture = tmp_path / "cap"
    (capture / "photos").mkdir(parents=True)
    (capture / "truth").mkdir()
    frames = []
    for k in range(3):
        Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(capture / "photos" / f"p{k}.jpg")
        frames.append({"file_path": f"../photos/p{k}.jpg", "transform_matrix": np.eye(4).tolist()})
    (capture / "truth" / "transforms.json").write_text(
        json.dumps({"camera_angle_x": 1.0, "w": 64, "h": 64, "frames": frames})
    )
    result = scorer.score(capture, tmp_path / "work", [])
    assert result["registered"] == 0 and "error" in result
    assert "fail" in scorer.line(result)
