"""Geometry library: shapes, metrics, remeshing (known answers, real checks)."""

from __future__ import annotations

import numpy as np
import pytest

from invrender.errors import DataError
from invrender.geometry import metrics, remesh, shapes
from scripts.fixtures.procedural import lobed_blob


def look_at(origin, target=(0.0, 0.0, 0.0), up=(0.0, 1.0, 0.0)) -> np.ndarray:
    """Mitsuba-convention camera-to-world (columns: left, up, dir, origin), numpy only."""
    origin, target, up = (np.asarray(a, dtype=np.float64) for a in (origin, target, up))
    direction = (target - origin) / np.linalg.norm(target - origin)
    left = np.cross(up, direction)
    left /= np.linalg.norm(left)
    mat = np.eye(4)
    mat[:3, 0], mat[:3, 1], mat[:3, 2], mat[:3, 3] = (
        left,
        np.cross(direction, left),
        direction,
        origin,
    )
    return mat


def test_icosphere_and_ellipsoid_radii():
    v, f = shapes.icosphere(3, center=(1, 2, 3), radius=0.5)
    assert np.allclose(np.linalg.norm(v - [1, 2, 3], axis=1), 0.5)
    assert metrics.is_watertight(v, f)
    v, _ = shapes.ellipsoid(2, radii=(1, 2, 3))
    assert np.allclose(np.ptp(v, axis=0), [2, 4, 6])


def test_cameras_converge_on_their_target_and_radius_follows_the_mask():
    target = np.array([0.3, -0.2, 0.1])
    cams = [look_at(target + 4 * np.array([np.cos(a), 0.3, np.sin(a)]), target) for a in range(5)]
    center, radius = shapes.fit_sphere_to_cameras(cams, 40.0, fill=0.5)
    assert np.allclose(center, target, atol=1e-9)
    half_width = 4 * np.sqrt(1.09) * np.tan(np.radians(20))
    assert radius == pytest.approx(0.5 * half_width)
    _, from_masks = shapes.fit_sphere_to_cameras(cams, 40.0, mask_fill=[0.25] * 5)
    assert from_masks == pytest.approx(0.25 * half_width)
    mask = np.zeros((10, 20))
    mask[2:4, 4:9] = 1
    assert shapes.mask_width_fraction(mask) == pytest.approx(5 / 20)


def test_load_mesh_round_trip_and_clear_errors(tmp_path):
    v, f = lobed_blob(2)
    path = shapes.save_mesh(tmp_path / "blob.ply", v, f)
    v2, f2 = shapes.load_mesh(path)
    assert len(f2) == len(f) and np.allclose(np.sort(v2, axis=0), np.sort(v, axis=0), atol=1e-6)
    with pytest.raises(DataError, match="not found"):
        shapes.load_mesh(tmp_path / "missing.ply")


def test_chamfer_of_concentric_spheres_is_the_radius_gap():
    inner = shapes.icosphere(5, radius=1.0)
    outer = shapes.icosphere(5, radius=1.1)
    rel, absolute, consistency = metrics.chamfer_and_normals(inner, outer, samples=100_000)
    # Sampling adds ~1e-3 of bias (nearest sample, not nearest surface point).
    assert absolute == pytest.approx(0.1, abs=0.005)
    assert rel == pytest.approx(absolute / (2.2 * np.sqrt(3)), rel=1e-9)
    assert consistency > 0.99
    same, _, _ = metrics.chamfer_and_normals(inner, inner, samples=100_000)
    assert same < 0.002


def test_watertight_and_self_intersection_checks():
    v, f = shapes.icosphere(3)
    assert metrics.is_watertight(v, f) and remesh.is_closed_manifold(f)
    assert not metrics.is_watertight(v, f[1:]) and not remesh.is_closed_manifold(f[1:])
    assert metrics.self_intersections(v, f) == 0
    assert metrics.self_intersections(*lobed_blob(4)) == 0
    # Two overlapping spheres in one mesh: their surfaces cross along a circle.
    v2 = np.concatenate([v, v + [1.0, 0, 0]])
    f2 = np.concatenate([f, f + len(v)])
    assert metrics.self_intersections(v2, f2) > 10
    # Two triangles piercing each other once; and the same pair moved apart.
    tri_v = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0.5, 0.5, -1], [0.5, 0.5, 1], [3, 3, 0.5]])
    tri_f = np.array([[0, 1, 2], [3, 4, 5]])
    assert metrics.self_intersections(tri_v, tri_f) == 1
    assert (
        metrics.self_intersections(tri_v + np.array([[0, 0, 0]] * 3 + [[0, 0, 5]] * 3), tri_f) == 0
    )


def test_compare_meshes_reports_everything():
    report = metrics.compare_meshes(shapes.icosphere(3), shapes.icosphere(4), samples=20_000)
    row = report.as_dict()
    assert set(row) == {
        "chamfer",
        "chamfer_abs",
        "normal_consistency",
        "watertight",
        "self_intersections",
    }
    assert row["watertight"] and row["self_intersections"] == 0 and row["chamfer"] < 0.01


def test_remesh_keeps_the_surface_manifold_and_close():
    import trimesh

    v, f = lobed_blob(3)
    for triangles in (500, 4000):
        h = remesh.edge_length_for_triangles(v, f, triangles)
        new_v, new_f = remesh.remesh_isotropic(v, f, h)
        mesh = trimesh.Trimesh(new_v, new_f, process=False)
        assert mesh.is_watertight and mesh.is_winding_consistent
        assert remesh.is_closed_manifold(new_f)
        assert mesh.volume > 0  # outward orientation kept
        assert 0.5 * triangles < len(new_f) < 2.0 * triangles
        assert metrics.self_intersections(new_v, new_f) == 0
        assert metrics.chamfer_and_normals((new_v, new_f), (v, f), 20_000)[0] < 0.01
        assert remesh.mean_edge_length(new_v, new_f) == pytest.approx(h, rel=0.3)


def test_remesh_rejects_bad_edge_length():
    with pytest.raises(remesh.RemeshError, match="edge length"):
        remesh.remesh_isotropic(*shapes.icosphere(1), 0.0)
