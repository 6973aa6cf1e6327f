"""Which meshes are convex solids, and so cannot cast a shadow on themselves.

``edge_sampling``'s shadow term spent most of its time, on a scene of one convex object,
scoring candidate edges of the object for shading points on that same object, where every
score is zero: seen from a point on (or in) a convex body, the body has no silhouette, so
its edges never move a shadow there. Knowing the mesh is convex lets those points draw
from the other casters' edges only, or skip the term when there are none
(``smooth_silhouette``, 64 px, 16 spp: 0.27 s -> 0.067 s a render, against 0.061 s with
no shadow term at all).

The test is exact up to a tolerance: the face buffer must describe one closed, consistently
oriented surface of a sphere's topology (every edge shared by exactly two faces that
traverse it in opposite directions, Euler characteristic V - E + F = 2), and every edge must
be locally convex for the current vertex positions (each face's opposite vertex on or behind
the other face's plane). A closed surface that is locally convex at every edge is the
boundary of a convex body (Hadamard); a torus or any surface of higher genus cannot pass.
A mesh whose vertices are split along UV or normal seams is open by its face buffer, so it
is (conservatively) not convex. Cost on a 1M-triangle sphere: 0.5 s once per topology
(with the edge topology), then 0.02 s per render.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from invrender.integrators import silhouette as sil

# Distance in front of a neighbour's plane still counted as convex, relative to the mesh's
# bounding-box diagonal: float32 rounding of a tessellated sphere, not real concavity.
RELATIVE_TOLERANCE = 1e-5

_TOPOLOGY_CACHE: dict[tuple, bool] = {}


def sphere_topology(faces: np.ndarray) -> bool:
    """One closed, consistently oriented genus-0 surface (see the module docstring)."""
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) < 4:
        return False
    a = faces.reshape(-1)
    b = faces[:, [1, 2, 0]].reshape(-1)
    if np.any(a == b):
        return False  # a face with a repeated vertex
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo * (int(faces.max()) + 1) + hi
    order = np.argsort(key, kind="stable")
    key = key[order]
    first, second = key[0::2], key[1::2]
    # Every undirected edge exactly twice (sorted keys pair up, no pair runs into the next):
    if len(key) % 2 or np.any(first != second) or np.any(second[:-1] == first[1:]):
        return False  # an open (one face) or non-manifold (three or more) edge
    forward = (a < b)[order]
    if np.any(forward[0::2] == forward[1::2]):
        return False  # two faces traverse an edge the same way: one of them is flipped
    vertices = int(np.count_nonzero(np.bincount(a)))
    return vertices - len(first) + len(faces) == 2


def is_convex(mesh: Any) -> bool:
    """Is ``mesh``, at its current vertex positions, the outward-facing surface of a convex
    solid? (Inward-facing winding, open or non-manifold meshes and any concave edge: no.)"""
    import drjit as dr
    import mitsuba as mi

    if not mesh.is_mesh() or not sil.per_topology(_TOPOLOGY_CACHE, mesh, sphere_topology):
        return False
    edges = sil.mesh_edges(mesh)
    with dr.suspend_grad():
        pos = dr.detach(mesh.vertex_positions_buffer())
        p0 = sil.gather_points(pos, edges.v0)
        box = mesh.bbox()
        # Opaque, not a literal: a literal that changes as the mesh moves would recompile
        # this kernel at every step of an optimization.
        tol = dr.opaque(mi.Float, RELATIVE_TOLERANCE * float(dr.norm(box.max - box.min)))
        convex = mi.Bool(True)
        for near, far, second in ((edges.f0, edges.f1, True), (edges.f1, edges.f0, False)):
            normal = sil.face_normals(mesh, near, pos)
            tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), far)
            e0, e1 = edges.ends_in(second)
            opposite = sil.gather_points(pos, tri.x + tri.y + tri.z - e0 - e1)
            # NaN (a degenerate face) compares false: not counted as convex.
            convex &= dr.dot(normal, opposite - p0) <= tol * dr.norm(normal)
        return dr.width(convex) > 0 and bool(dr.all(convex))
