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
