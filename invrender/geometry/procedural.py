"""Procedural ground-truth shapes for synthesized geometry examples and tests (no downloads)."""

from __future__ import annotations

import numpy as np

from invrender.geometry.shapes import Mesh, icosphere


def lobed_blob_radius(directions: np.ndarray) -> np.ndarray:
    """Radius of the lobed blob along unit ``directions`` (n, 3).

    Three lobes around the vertical axis leave concave valleys between them that show in the
    silhouettes; a dimple on top and a bump on the bottom add concavity that only shading reveals.
    The radius stays within [0.55, 1.45], so the surface is star-shaped: watertight, genus 0 and
    free of self-intersections by construction.
    """
    x, y, z = directions[:, 0], directions[:, 1], directions[:, 2]
    azimuth = np.arctan2(z, x)
    equator = 1.0 - y**2
    lobes = 0.32 * np.cos(3.0 * azimuth) * equator**1.5
    dimple = -0.30 * np.exp(-((1.0 - y) / 0.12))
    bump = 0.18 * np.exp(-((1.0 + y) / 0.25))
    ripples = 0.05 * np.sin(4.0 * x + 1.0) * np.sin(4.0 * y) * np.sin(4.0 * z + 0.5)
    return 1.0 + lobes + dimple + bump + ripples


def lobed_blob(subdivisions: int = 5, scale: float = 1.0) -> Mesh:
    """A non-convex, genus-0 test shape ("+Y up"): an ico-sphere displaced by lobed_blob_radius."""
    vertices, faces = icosphere(subdivisions)
    directions = vertices / np.linalg.norm(vertices, axis=1, keepdims=True)
    return directions * lobed_blob_radius(directions)[:, None] * scale, faces


def signet_ring(
    segments: int = 192, tube_segments: int = 64, radius: float = 1.0, scale: float = 1.0
) -> Mesh:
    """A genus-1 test shape ("+Y up", hole along Y): a torus whose tube thickens towards +X
    (a signet ring's head) and is slightly flattened along the axis.

    Built as a wrapped (u, v) grid, so V - E + F = 0 and every edge has two faces: watertight,
    genus 1, and free of self-intersections while the tube radius (<= 0.42) stays below the ring
    radius minus the tube radius, which it does (the hole keeps a radius >= 0.58).
    """
    u = 2 * np.pi * np.arange(segments) / segments
    v = 2 * np.pi * np.arange(tube_segments) / tube_segments
    uu, vv = np.meshgrid(u, v, indexing="ij")
    tube = 0.28 + 0.14 * (0.5 + 0.5 * np.cos(uu)) ** 3
    ring = radius + tube * np.cos(vv)
    x = ring * np.cos(uu)
    z = ring * np.sin(uu)
    y = 0.85 * tube * np.sin(vv)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3) * scale
    i, j = np.meshgrid(np.arange(segments), np.arange(tube_segments), indexing="ij")
    a = i * tube_segments + j
    b = ((i + 1) % segments) * tube_segments + j
    c = ((i + 1) % segments) * tube_segments + (j + 1) % tube_segments
    d = i * tube_segments + (j + 1) % tube_segments
    faces = np.concatenate([np.stack([a, d, c], -1), np.stack([a, c, b], -1)]).reshape(-1, 3)
    from invrender.geometry.topology import signed_volume

    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return vertices.astype(np.float64), np.ascontiguousarray(faces, dtype=np.int32)
