"""Topology of a triangle mesh: components, Euler characteristic, genus, boundary.

A geometry run may only change its mesh's topology on purpose (the visual-hull start decides the
genus); remeshing must keep it. These counts are pure numpy/scipy and cheap enough to run after
every remesh and at every metrics evaluation.

For a closed orientable surface with C components, chi = V - E + F = 2 (C - g), so the total genus
is g = C - chi / 2 (the sum over components). With b boundary loops, chi = 2 (C - g) - b.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Topology:
    """What `mesh_topology` counts; `as_dict` flattens it for metrics.csv / summary.json."""

    vertices: int  # referenced vertices only
    edges: int
    faces: int
    components: int
    euler: int  # V - E + F
    boundary_loops: int
    genus: int  # total over components (closed orientable: C - chi / 2)
    closed_manifold: bool  # every edge in exactly two faces, consistently oriented

    def as_dict(self) -> dict:
        return asdict(self)

    def same_surface_type(self, other: Topology) -> bool:
        """Same genus, components and boundary loops: what a remesh must preserve."""
        return (self.genus, self.components, self.boundary_loops) == (
            other.genus,
            other.components,
            other.boundary_loops,
        )

    def describe(self) -> str:
        return f"genus {self.genus}, {self.components} component(s), {self.boundary_loops} hole(s)"


def mesh_topology(faces: np.ndarray) -> Topology:
    """Counts of a triangle mesh given by its (m, 3) faces (unreferenced vertices ignored)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    used, compact = np.unique(faces, return_inverse=True)
    compact = compact.reshape(-1, 3)
    n = len(used)
    directed = np.concatenate([compact[:, [0, 1]], compact[:, [1, 2]], compact[:, [2, 0]]])
    undirected, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    euler = n - len(undirected) + len(compact)
    if n:
        graph = coo_matrix(
            (np.ones(len(undirected)), (undirected[:, 0], undirected[:, 1])), shape=(n, n)
        )
        components = int(connected_components(graph, directed=False)[0])
    else:
        components = 0
    boundary = undirected[counts == 1]
    loops = _boundary_loops(boundary, n)
    consistent = len(np.unique(directed, axis=0)) == len(directed)
    closed = bool(consistent and np.all(counts == 2))
    genus = (2 * components - euler - loops) // 2
    return Topology(n, len(undirected), len(compact), components, euler, loops, genus, closed)


def _boundary_loops(boundary_edges: np.ndarray, n: int) -> int:
    """Number of boundary loops: connected components of the boundary-edge graph."""
    if len(boundary_edges) == 0:
        return 0
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix(
        (np.ones(len(boundary_edges)), (boundary_edges[:, 0], boundary_edges[:, 1])), shape=(n, n)
    )
    labels = connected_components(graph, directed=False)[1]
    return len(np.unique(labels[np.unique(boundary_edges)]))


def largest_component(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The component with the most faces, its vertices re-indexed (others dropped)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    faces = np.asarray(faces, dtype=np.int64)
    n = len(vertices)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    face_labels = labels[faces[:, 0]]
    keep = faces[face_labels == np.bincount(face_labels).argmax()]
    used, inverse = np.unique(keep, return_inverse=True)
    return np.asarray(vertices)[used], inverse.reshape(-1, 3).astype(np.int32)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume (positive when the faces wind outward, counter-clockwise seen from out)."""
    tri = np.asarray(vertices, dtype=np.float64)[faces]
    return float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0)
