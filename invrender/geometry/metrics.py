"""Geometry metrics against a ground-truth mesh: Chamfer, normal consistency, watertightness,
self-intersections.

Distances use area-uniform surface samples on both meshes and nearest neighbours through scipy's
``cKDTree`` (point-to-sampled-point, not exact point-to-triangle: with n samples the bias is about
the sample spacing, so use enough samples that spacing << the tolerance you care about; 200k
samples on a unit-scale object give ~0.3 % of the diagonal spacing and a far smaller mean bias).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class GeometryMetrics:
    """What `compare_meshes` reports; `as_dict` flattens it for metrics.csv / summary.json."""

    chamfer: float  # symmetric mean distance / GT bbox diagonal
    chamfer_abs: float  # the same in scene units
    normal_consistency: float  # mean |n_pred . n_gt| of nearest samples, both directions; 1 = best
    watertight: bool
    self_intersections: int  # count of intersecting non-adjacent triangle pairs

    def as_dict(self) -> dict:
        return asdict(self)


def sample_surface(
    vertices: np.ndarray, faces: np.ndarray, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Area-uniform random points on a triangle mesh and the unit normals of their triangles."""
    rng = np.random.default_rng(seed)
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    doubled_area = np.linalg.norm(cross, axis=1)
    normals = cross / np.maximum(doubled_area, 1e-30)[:, None]
    probabilities = doubled_area / doubled_area.sum()
    chosen = rng.choice(len(faces), size=count, p=probabilities)
    u, v = rng.random(count), rng.random(count)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[chosen]
    points = t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
    return points, normals[chosen]


def bbox_diagonal(vertices: np.ndarray) -> float:
    return float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))


def chamfer_and_normals(
    pred: tuple[np.ndarray, np.ndarray],
    gt: tuple[np.ndarray, np.ndarray],
    samples: int = 200_000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(symmetric Chamfer / GT bbox diagonal, the same unnormalized, normal consistency).

    Chamfer here is 0.5 * (mean_p d(p, GT) + mean_g d(g, pred)) with Euclidean (not squared)
    distances, so "1 %" reads as "surfaces are on average 1 % of the object size apart".
    """
    from scipy.spatial import cKDTree

    pred_points, pred_normals = sample_surface(*pred, samples, seed)
    gt_points, gt_normals = sample_surface(*gt, samples, seed + 1)
    dist_to_gt, index_gt = cKDTree(gt_points).query(pred_points, workers=-1)
    dist_to_pred, index_pred = cKDTree(pred_points).query(gt_points, workers=-1)
    chamfer = 0.5 * (dist_to_gt.mean() + dist_to_pred.mean())
    consistency = 0.5 * (
        np.abs(np.sum(pred_normals * gt_normals[index_gt], axis=1)).mean()
        + np.abs(np.sum(gt_normals * pred_normals[index_pred], axis=1)).mean()
    )
    return float(chamfer / bbox_diagonal(gt[0])), float(chamfer), float(consistency)


def is_watertight(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Closed, consistently oriented 2-manifold (every edge shared by exactly two faces)."""
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    return bool(mesh.is_watertight and mesh.is_winding_consistent)


def _segments_hit_triangles(
    seg_start: np.ndarray, seg_end: np.ndarray, tri: np.ndarray, eps: float = 1e-12
) -> np.ndarray:
    """Vectorized Möller–Trumbore: does segment k cross triangle k (strictly inside both)?"""
    direction = seg_end - seg_start
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(direction, e2)
    det = np.sum(e1 * p, axis=1)
    ok = np.abs(det) > eps
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    s = seg_start - tri[:, 0]
    u = np.sum(s * p, axis=1) * inv
    q = np.cross(s, e1)
    v = np.sum(direction * q, axis=1) * inv
    t = np.sum(e2 * q, axis=1) * inv
    return ok & (u > 0) & (v > 0) & (u + v < 1) & (t > 0) & (t < 1)


def self_intersections(vertices: np.ndarray, faces: np.ndarray, chunk: int = 200_000) -> int:
    """Number of non-adjacent triangle pairs that intersect (0 for a clean mesh).

    Candidate pairs come from a KD-tree over triangle centroids (pairs closer than the sum of
    their bounding radii); two triangles that share no vertex intersect iff an edge of one crosses
    the other. Coplanar touching and pairs sharing a vertex are not counted: the first does not
    arise in optimized meshes in practice, the second is a fold that `is_watertight`/remeshing
    catch in other ways.
    """
    from scipy.spatial import cKDTree

    tri = vertices[faces]
    centroids = tri.mean(axis=1)
    radii = np.linalg.norm(tri - centroids[:, None], axis=2).max(axis=1)
    tree = cKDTree(centroids)
    pairs = tree.query_pairs(2.0 * float(radii.max()), output_type="ndarray")
    if len(pairs) == 0:
        return 0
    gap = np.linalg.norm(centroids[pairs[:, 0]] - centroids[pairs[:, 1]], axis=1)
    pairs = pairs[gap <= radii[pairs[:, 0]] + radii[pairs[:, 1]]]
    shared = (faces[pairs[:, 0]][:, :, None] == faces[pairs[:, 1]][:, None, :]).any(axis=(1, 2))
    pairs = pairs[~shared]
    count = 0
    for start in range(0, len(pairs), chunk):
        a, b = pairs[start : start + chunk, 0], pairs[start : start + chunk, 1]
        hit = np.zeros(len(a), dtype=bool)
        for first, second in ((a, b), (b, a)):
            for i, j in ((0, 1), (1, 2), (2, 0)):
                hit |= _segments_hit_triangles(tri[first, i], tri[first, j], tri[second])
        count += int(hit.sum())
    return count


def compare_meshes(
    pred: tuple[np.ndarray, np.ndarray],
    gt: tuple[np.ndarray, np.ndarray],
    samples: int = 200_000,
) -> GeometryMetrics:
    """All geometry metrics of a reconstruction against its ground truth."""
    chamfer, chamfer_abs, consistency = chamfer_and_normals(pred, gt, samples)
    return GeometryMetrics(
        chamfer=chamfer,
        chamfer_abs=chamfer_abs,
        normal_consistency=consistency,
        watertight=is_watertight(*pred),
        self_intersections=self_intersections(*pred),
    )
