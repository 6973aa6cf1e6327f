"""Differentiable mesh regularizers on vertex positions (Dr.Jit expressions).

Each takes the flat `vertex_positions` buffer (mi.Float, xyz interleaved, as Mitsuba meshes store
it) plus a `MeshTopology` precomputed once per mesh (rebuild after remeshing), and returns a
scalar mi.Float whose gradient flows back into the positions. They work in any `*_ad_*` variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MeshTopology:
    """Index arrays the regularizers gather through (numpy, uploaded lazily per variant)."""

    vertex_count: int
    edges: np.ndarray  # (k, 2) unique undirected edges
    faces: np.ndarray  # (m, 3)
    face_pairs: np.ndarray  # (p, 2) faces sharing an edge
    degree: np.ndarray  # (n,) number of edges at each vertex

    @classmethod
    def from_faces(cls, faces: np.ndarray, vertex_count: int) -> MeshTopology:
        faces = np.asarray(faces, dtype=np.int64)
        half = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        face_of_half = np.tile(np.arange(len(faces)), 3)
        key = np.sort(half, axis=1)
        edges, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        # Pair the two faces of each manifold edge (edges with other counts are skipped).
        order = np.argsort(inverse, kind="stable")
        sorted_edge = inverse[order]
        starts = np.searchsorted(sorted_edge, np.arange(len(edges)))
        manifold = np.nonzero(counts == 2)[0]
        face_pairs = np.stack(
            [face_of_half[order[starts[manifold]]], face_of_half[order[starts[manifold] + 1]]], 1
        )
        degree = np.bincount(edges.ravel(), minlength=vertex_count)
        return cls(vertex_count, edges, faces, face_pairs, degree)


def _points(mi, dr, positions):
    return dr.unravel(mi.Point3f, positions)


def laplacian_smoothness(positions, topology: MeshTopology):
    """Mean squared uniform-Laplacian vector |v_i - mean of neighbours|^2 (0 for a flat grid's
    interior, large for noise): penalizes high-frequency bumps, not overall curvature scale."""
    import drjit as dr
    import mitsuba as mi

    points = _points(mi, dr, positions)
    i = mi.UInt(topology.edges[:, 0].astype(np.uint32))
    j = mi.UInt(topology.edges[:, 1].astype(np.uint32))
    pi, pj = dr.gather(mi.Point3f, points, i), dr.gather(mi.Point3f, points, j)
    neighbour_sum = dr.zeros(mi.Point3f, topology.vertex_count)
    dr.scatter_reduce(dr.ReduceOp.Add, neighbour_sum, pj, i)
    dr.scatter_reduce(dr.ReduceOp.Add, neighbour_sum, pi, j)
    degree = mi.Float(np.maximum(topology.degree, 1).astype(np.float32))
    delta = points - neighbour_sum / mi.Point3f(degree, degree, degree)
    return dr.mean(dr.squared_norm(delta))


def edge_lengths(positions, topology: MeshTopology):
    import drjit as dr
    import mitsuba as mi

    points = _points(mi, dr, positions)
    a = dr.gather(mi.Point3f, points, mi.UInt(topology.edges[:, 0].astype(np.uint32)))
    b = dr.gather(mi.Point3f, points, mi.UInt(topology.edges[:, 1].astype(np.uint32)))
    return dr.norm(a - b)


def edge_length_uniformity(positions, topology: MeshTopology, target: float | None = None):
    """Relative squared deviation of edge lengths from `target` (default: their current mean,
    detached), which keeps triangles evenly sized between remeshes."""
    import drjit as dr

    lengths = edge_lengths(positions, topology)
    reference = dr.detach(dr.mean(lengths)) if target is None else target
    return dr.mean(dr.square(lengths / reference - 1.0))


def face_normals(positions, faces: np.ndarray):
    """Unit normals of each face (mi.Vector3f)."""
    import drjit as dr
    import mitsuba as mi

    points = _points(mi, dr, positions)
    corners = [
        dr.gather(mi.Point3f, points, mi.UInt(faces[:, k].astype(np.uint32))) for k in range(3)
    ]
    return dr.normalize(dr.cross(corners[1] - corners[0], corners[2] - corners[0]))


def normal_consistency(positions, topology: MeshTopology):
    """Mean (1 - cos) of the angle between neighbouring faces' normals: 0 on a plane."""
    import drjit as dr
    import mitsuba as mi

    normals = face_normals(positions, topology.faces)
    a = dr.gather(type(normals), normals, mi.UInt(topology.face_pairs[:, 0].astype(np.uint32)))
    b = dr.gather(type(normals), normals, mi.UInt(topology.face_pairs[:, 1].astype(np.uint32)))
    return dr.mean(1.0 - dr.dot(a, b))
