"""scripts/fixtures/alignment.py: the similarity between recovered and true cameras (SfM scores, and
a reconstruction mapped into the true world for the capture benchmark's Chamfer)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from invrender.data.cameras import Camera, look_at
from scripts.fixtures.alignment import align_poses, pose_errors, similarity_matrix


def _cameras(count: int) -> list[Camera]:
    cams = []
    for k in range(count):
        a = 2 * math.pi * k / count
        eye = [3 * math.sin(a), 1.0 + 0.3 * (k % 2), 3 * math.cos(a)]
        cams.append(Camera(look_at(eye, [0, 0.3, 0], [0, 1, 0]), 50.0, 640, 480))
    return cams


def _moved(cams: list[Camera], sim: np.ndarray) -> list[Camera]:
    """The cameras in the world ``x' = sim x`` (rotation turned, centre mapped, no scale)."""
    scale = float(np.cbrt(np.linalg.det(sim[:3, :3])))
    out = []
    for c in cams:
        m = sim @ np.asarray(c.to_world)
        m[:3, :3] /= scale
        out.append(Camera(m, c.fov, c.width, c.height))
    return out


def _similarity() -> np.ndarray:
    angle = math.radians(30)
    rot = np.array(
        [[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]]
    )
    return similarity_matrix(0.4, rot, np.array([1.0, -2.0, 0.5]))


def test_align_poses_recovers_the_inverse_similarity_and_maps_points_back():
    truth = _cameras(12)
    sim = _similarity()
    s, r, t = align_poses(_moved(truth, sim), truth)
    back = similarity_matrix(s, r, t)
    assert back @ sim == pytest.approx(np.eye(4), abs=1e-9)
    # A point of the moved world (a reconstructed vertex) lands where it was.
    point = np.array([0.2, 0.7, -0.4, 1.0])
    assert back @ (sim @ point) == pytest.approx(point, abs=1e-9)


def test_pose_errors_ignore_a_similarity_and_see_a_turned_camera():
    truth = _cameras(12)
    moved = _moved(truth, _similarity())
    rot_err, centre_err = pose_errors(moved, truth)
    assert rot_err.max() < 1e-4 and centre_err.max() < 1e-6
    turn = np.eye(4)
    a = math.radians(2.0)
    turn[:3, :3] = [[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]]
    moved[3] = Camera(np.asarray(moved[3].to_world) @ turn, 50.0, 640, 480)
    rot_err, _ = pose_errors(moved, truth)
    assert rot_err[3] == pytest.approx(2.0, abs=0.3) and np.median(rot_err) < 0.3


def test_align_poses_needs_pairs():
    cams = _cameras(3)
    with pytest.raises(ValueError, match="two or more camera pairs"):
        align_poses(cams[:2], cams[:1])
