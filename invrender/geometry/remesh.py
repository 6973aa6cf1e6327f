"""Isotropic remeshing during shape optimization, so the mesh can grow detail where it is needed.

Uses Botsch–Kobbelt isotropic remeshing from gpytoolbox (`remesh_botsch`, a maintained C++
implementation with manylinux wheels): edge splits/collapses/flips and tangential relaxation are
topology code that is easy to get subtly wrong (non-manifold edges after a collapse), so we rely on
a tested library and check its result instead of writing our own.
"""

from __future__ import annotations

import numpy as np

from invrender.errors import InvrenderError


class RemeshError(InvrenderError):
    """Remeshing produced a broken mesh (reported with what to change)."""


def mean_edge_length(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Mean length of the mesh's unique edges."""
    edges = unique_edges(faces)
    return float(np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1).mean())


def unique_edges(faces: np.ndarray) -> np.ndarray:
    """(k, 2) sorted vertex pairs of each undirected edge, once."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    return np.unique(np.sort(edges, axis=1), axis=0)


def edge_length_for_triangles(vertices: np.ndarray, faces: np.ndarray, triangles: int) -> float:
    """Edge length at which an isotropic remesh of this surface has about `triangles` faces.

    An equilateral triangle of side h has area (sqrt 3 / 4) h^2.
    """
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    return float(np.sqrt(area.sum() / max(triangles, 1) * 4.0 / np.sqrt(3.0)))


def remesh_isotropic(
    vertices: np.ndarray,
    faces: np.ndarray,
    target_edge_length: float,
    iterations: int = 5,
    project: bool = True,
    check: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Botsch–Kobbelt remesh to near-uniform edges of `target_edge_length`.

    `project` pulls the new vertices back onto the input surface, so remeshing changes the
    sampling, not the shape. With `check`, a closed input must come back closed and consistently
    oriented; otherwise RemeshError (the caller can keep the old mesh).
    """
    import gpytoolbox

    if target_edge_length <= 0:
        raise RemeshError(f"remesh: target edge length must be > 0, got {target_edge_length}")
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int32)
    new_v, new_f = gpytoolbox.remesh_botsch(
        v, f, int(iterations), float(target_edge_length), project
    )
    new_v, new_f = np.asarray(new_v, dtype=np.float64), np.asarray(new_f, dtype=np.int32)
    if check and is_closed_manifold(f) and not is_closed_manifold(new_f):
        raise RemeshError(
            "remesh: result is not a closed manifold; lower geometry.remesh target or skip it"
        )
    return new_v, new_f


def is_closed_manifold(faces: np.ndarray) -> bool:
    """Every undirected edge used by exactly two faces, in opposite directions (consistent
    orientation), and no unreferenced gaps. Pure numpy, so it is cheap enough for every remesh."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    if len(np.unique(directed, axis=0)) != len(directed):
        return False  # a directed edge used twice: inconsistent orientation or > 2 faces
    undirected, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    return bool(np.all(counts == 2))
