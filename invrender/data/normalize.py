"""Put a reconstruction's world where inverse rendering wants it: object at the origin, +Y up,
cameras at a chosen distance. The similarity is recorded so results can be mapped back."""

from __future__ import annotations

import numpy as np


def look_at_point(centres: np.ndarray, forwards: np.ndarray) -> np.ndarray:
    """The point closest (least squares) to every camera's optical axis.

    Cameras that all look the same way (a forward-facing capture) make this ill-conditioned: a
    small pull toward the centres' mean keeps it finite there."""
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for o, d in zip(centres, forwards, strict=True):
        d = d / np.linalg.norm(d)
        p = np.eye(3) - np.outer(d, d)
        a += p
        b += p @ o
    reg = 1e-6 * np.trace(a)
    mean = centres.mean(axis=0)
    return np.linalg.solve(a + reg * np.eye(3), b + reg * mean)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit vector ``a`` to unit vector ``b`` (Rodrigues)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -1 + 1e-12:  # opposite: turn 180 degrees about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def normalizing_similarity(c2w_opencv: list[np.ndarray], distance: float) -> np.ndarray:
    """4x4 similarity ``T`` (x_new = T x_old) for cameras given as OpenCV camera-to-world.

    Their look-at point goes to the origin, their mean up (−Y of an OpenCV camera) to +Y, and
    their mean distance to the look-at point becomes ``distance``."""
    centres = np.array([m[:3, 3] for m in c2w_opencv])
    forwards = np.array([m[:3, 2] for m in c2w_opencv])
    ups = np.array([-m[:3, 1] for m in c2w_opencv])
    target = look_at_point(centres, forwards)
    rot = rotation_between(ups.mean(axis=0), np.array([0.0, 1.0, 0.0]))
    mean_dist = float(np.mean(np.linalg.norm(centres - target, axis=1)))
    scale = distance / mean_dist if mean_dist > 0 else 1.0
    t = np.eye(4)
    t[:3, :3] = scale * rot
    t[:3, 3] = -scale * rot @ target
    return t


def apply_similarity(t: np.ndarray, c2w: np.ndarray) -> np.ndarray:
    """A camera-to-world moved by similarity ``t``: rotation turned, centre mapped, no scale."""
    scale = float(np.cbrt(np.linalg.det(t[:3, :3])))
    out = np.eye(4)
    out[:3, :3] = t[:3, :3] / scale @ c2w[:3, :3]
    out[:3, 3] = t[:3, :3] @ c2w[:3, 3] + t[:3, 3]
    return out
