"""Planes in point clouds: RANSAC fits and heights above them (the table under an object)."""

from __future__ import annotations

import numpy as np

Plane = tuple[np.ndarray, float]  # (unit normal, offset): the points x with n . x = offset


def fit_plane(
    points: np.ndarray,
    tolerance: float,
    up_hint: np.ndarray,
    iterations: int = 300,
    min_share: float = 0.25,
) -> Plane | None:
    """RANSAC plane holding at least min_share of the points, refitted on its inliers, its
    normal turned towards ``up_hint``; None when there is no such plane."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if len(points) < 30:
        return None
    rng = np.random.default_rng(0)
    best, best_count = None, 0
    for _ in range(iterations):
        a, b, c = points[rng.choice(len(points), 3, replace=False)]
        n = np.cross(b - a, c - a)
        norm = np.linalg.norm(n)
        if norm < 1e-12:
            continue
        n = n / norm
        count = int((np.abs((points - a) @ n) < tolerance).sum())
        if count > best_count:
            best, best_count = (n, float(a @ n)), count
    if best is None or best_count < min_share * len(points):
        return None
    n, d = best
    near = np.abs(points @ n - d) < tolerance
    mean = points[near].mean(axis=0)
    n = np.linalg.svd(points[near] - mean)[2][2]
    if (np.asarray(up_hint) - mean) @ n < 0:
        n = -n
    return n, float(mean @ n)


def height_above(points: np.ndarray, plane: Plane) -> np.ndarray:
    """Signed distance of ``points`` (N, 3) to ``plane``, > 0 on the cameras' side."""
    normal, offset = plane
    return np.asarray(points, dtype=np.float64) @ np.asarray(normal, dtype=np.float64) - offset
