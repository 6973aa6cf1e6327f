"""Similarities between two reconstructions of one scene.

Structure from motion recovers cameras up to a similarity (scale, rotation, translation): its
world is not the true one. To score recovered cameras, or to put a mesh reconstructed from them
into the true world, one estimates that similarity from the cameras themselves. The SfM tests,
``scripts/bench_capture.py`` and the capture benchmark's Chamfer scores share these functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from invrender.data.cameras import Camera


def align_poses(
    recovered: Sequence[Camera], truth: Sequence[Camera]
) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) taking recovered cameras onto true ones: R is the chordal mean of the
    per-camera rotation offsets (all orientations at once, so a ring of nearly coplanar centres
    cannot flip it), then s and t fit the centres."""
    if len(recovered) != len(truth) or len(recovered) < 2:
        raise ValueError(
            f"align_poses: needs two or more camera pairs, got {len(recovered)} and {len(truth)}"
        )
    u, _, vt = np.linalg.svd(
        sum(
            g.to_world[:3, :3] @ c.to_world[:3, :3].T for c, g in zip(recovered, truth, strict=True)
        )
    )
    r = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    src = np.array([c.to_world[:3, 3] for c in recovered])
    dst = np.array([c.to_world[:3, 3] for c in truth])
    a, b = (src - src.mean(0)) @ r.T, dst - dst.mean(0)
    s = float((a * b).sum() / (a * a).sum())
    return s, r, dst.mean(0) - s * r @ src.mean(0)


def similarity_matrix(s: float, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The 4x4 matrix of x -> s R x + t."""
    out = np.eye(4)
    out[:3, :3] = s * np.asarray(r, dtype=np.float64)
    out[:3, 3] = np.asarray(t, dtype=np.float64)
    return out


def pose_errors(
    recovered: Sequence[Camera], truth: Sequence[Camera]
) -> tuple[np.ndarray, np.ndarray]:
    """Per camera: rotation error (deg) and centre error (fraction of the true cameras' mean
    distance from their centroid), after the similarity that best aligns recovered to truth."""
    s, r, t = align_poses(recovered, truth)
    dst = np.array([c.to_world[:3, 3] for c in truth])
    dist = float(np.mean(np.linalg.norm(dst - dst.mean(0), axis=1)))
    rot, centre = [], []
    for c, g in zip(recovered, truth, strict=True):
        m = (r @ c.to_world[:3, :3]).T @ g.to_world[:3, :3]
        rot.append(math.degrees(math.acos(np.clip((np.trace(m) - 1) / 2, -1, 1))))
        centre.append(float(np.linalg.norm(s * r @ c.to_world[:3, 3] + t - g.to_world[:3, 3])))
    return np.array(rot), np.array(centre) / dist
