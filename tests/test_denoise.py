"""Feature-preserving denoising of an optimized mesh (invrender/geometry/denoise.py): ripples go,
creases stay, curved surfaces keep their size."""

from __future__ import annotations

import numpy as np
import trimesh

from invrender.geometry.denoise import bilateral_denoise


def _normal_error_deg(vertices: np.ndarray, reference: trimesh.Trimesh) -> np.ndarray:
    faces = trimesh.Trimesh(vertices, reference.faces, process=False).face_normals
    return np.degrees(np.arccos(np.clip((faces * reference.face_normals).sum(axis=1), -1, 1)))


def test_ripples_on_a_cube_go_and_its_edges_stay_sharp():
    cube = trimesh.creation.box(extents=(1, 1, 1))
    for _ in range(4):
        cube = cube.subdivide()
    noisy = cube.vertices + np.random.default_rng(0).normal(0, 0.004, cube.vertices.shape)
    out = bilateral_denoise(noisy, cube.faces)
    before, after = _normal_error_deg(noisy, cube), _normal_error_deg(out, cube)
    assert np.median(before) > 5.0  # the noise is real
    assert np.median(after) < 0.25 * np.median(before)
    assert np.percentile(after, 95) < 5.0  # faces on the edges too: the 90-degree edges stay
    # the vertices end on the faces' planes (|x|, |y| or |z| = 0.5 for each)
    gap = np.abs(np.abs(out).max(axis=1) - 0.5)
    assert gap.mean() < 0.5 * np.abs(np.abs(noisy).max(axis=1) - 0.5).mean()
    assert gap.max() < 0.01


def test_a_sphere_keeps_its_radius_and_a_clean_mesh_stays():
    sphere = trimesh.creation.icosphere(subdivisions=4)
    rng = np.random.default_rng(1)
    noisy = sphere.vertices * (1 + rng.normal(0, 0.004, (len(sphere.vertices), 1)))
    out = bilateral_denoise(noisy, sphere.faces)
    radii = np.linalg.norm(out, axis=1)
    assert abs(radii.mean() - 1.0) < 0.002  # no shrinking, unlike a Laplacian
    assert radii.std() < 0.4 * np.linalg.norm(noisy, axis=1).std()
    clean = bilateral_denoise(sphere.vertices, sphere.faces)
    assert np.abs(np.linalg.norm(clean, axis=1) - 1).max() < 0.002
