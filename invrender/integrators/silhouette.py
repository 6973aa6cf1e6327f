"""Edge topology of triangle meshes, silhouette candidates, and the pinhole projection.

The topology (unique edges and their one or two adjacent faces) depends only on the face
buffer, so it is built once per mesh topology with vectorized numpy and cached; everything
that depends on vertex positions (face normals, silhouette tests, projected lengths) is
recomputed per render in Dr.Jit, so it runs on the GPU in ``cuda_*`` variants and scales to
meshes with millions of triangles (no Python loop over edges).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np


def edge_topology_arrays(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges (E,2) and their adjacent faces (E,2), second = -1 if boundary.

    Non-manifold edges (three or more faces) are reported with second face -1, so they are
    always treated as potential silhouettes.
    """
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    n_faces = len(faces)
    a = faces.reshape(-1)
    b = faces[:, [1, 2, 0]].reshape(-1)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    face_of = np.repeat(np.arange(n_faces, dtype=np.int64), 3)
    key = lo * (int(faces.max(initial=0)) + 1) + hi
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    first = np.ones(len(key_sorted), dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    starts = np.nonzero(first)[0]
    counts = np.diff(np.append(starts, len(key_sorted)))
    edges = np.stack([lo[order[starts]], hi[order[starts]]], axis=1)
    f0 = face_of[order[starts]]
    second = np.minimum(starts + 1, len(order) - 1)
    f1 = np.where(counts == 2, face_of[order[second]], -1)
    return edges, np.stack([f0, f1], axis=1)


@dataclass
class MeshEdges:
    """Dr.Jit copies of one mesh's edge topology, with vertices welded by position.

    A mesh loaded from an OBJ file with texture coordinates (Mitsuba's ``sphere.obj``) has
    separate vertex copies at the same position along its UV seams; unwelded, every seam
    edge would be two boundary edges, drawn as outlines wherever they are (issue 25: a
    seed-independent bias of 0.39 on a smooth sphere whose seam runs along its outline).
    Each edge keeps the vertex indices it has in either face (``v0, v1`` in ``f0``;
    ``w0, w1`` in ``f1``, the same unless the edge lies on a seam).
    """

    v0: Any  # mi.UInt32, first vertex of each edge (its index in face f0)
    v1: Any  # mi.UInt32
    f0: Any  # mi.UInt32, first adjacent face
    f1: Any  # mi.UInt32, second adjacent face (== f0 where boundary)
    boundary: Any  # mi.Bool
    count: int
    w0: Any = None  # mi.UInt32: v0's copy in face f1 (None: no seams, use v0)
    w1: Any = None
    # Vertices welded to another (original index, index it was welded to): the weld holds
    # while those keep the same positions, checked once per position buffer.
    welded: tuple[Any, Any] | None = None
    checked: int = -1

    @property
    def seam(self) -> Any:
        """mi.Bool per edge: the two faces hold different copies of its vertices."""
        import drjit as dr
        import mitsuba as mi

        if self.w0 is None:
            return dr.zeros(mi.Bool, self.count)
        return (self.w0 != self.v0) | (self.w1 != self.v1)

    def ends_in(self, second_face: bool) -> tuple[Any, Any]:
        """The edge's vertex indices as face f1 (``second_face``) or f0 holds them."""
        if second_face and self.w0 is not None:
            return self.w0, self.w1
        return self.v0, self.v1


_TOPOLOGY_CACHE: dict[tuple, MeshEdges] = {}


def per_topology(cache: dict, mesh: Any, build: Callable[[np.ndarray], Any]) -> Any:
    """``build(faces)`` for ``mesh``'s face buffer, cached in ``cache`` on (mesh, face
    buffer variable, counts): what depends on the topology only is built once per mesh."""
    import drjit as dr

    faces_buf = mesh.faces_buffer()
    key = (id(mesh), mesh.id(), faces_buf.index, mesh.face_count(), mesh.vertex_count())
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = build(np.array(dr.detach(faces_buf), dtype=np.int64))
    return cache[key]


def mesh_edges(mesh: Any) -> MeshEdges:
    """Edge topology of ``mesh`` with coincident vertices welded (cached per topology; the
    weld is checked again, and the topology rebuilt, when the positions change)."""
    import drjit as dr

    def build(faces: np.ndarray) -> MeshEdges:
        pos = np.array(dr.detach(mesh.vertex_positions_buffer()), dtype=np.float32)
        return _build_mesh_edges(faces, pos.reshape(-1, 3))

    edges = per_topology(_TOPOLOGY_CACHE, mesh, build)
    if edges.welded is None:
        return edges
    buf = mesh.vertex_positions_buffer()
    if edges.checked == buf.index:
        return edges
    with dr.suspend_grad():
        pos = dr.detach(buf)
        a, b = edges.welded
        same = dr.all(gather_points(pos, a) == gather_points(pos, b), axis=None)
    if not bool(same):  # the copies came apart: weld again at the new positions
        faces = np.array(dr.detach(mesh.faces_buffer()), dtype=np.int64)
        rebuilt = _build_mesh_edges(faces, np.array(pos, dtype=np.float32).reshape(-1, 3))
        for key, value in _TOPOLOGY_CACHE.items():
            if value is edges:
                _TOPOLOGY_CACHE[key] = rebuilt
        edges = rebuilt
    edges.checked = buf.index
    return edges


def weld_map(positions: np.ndarray) -> np.ndarray:
    """For each vertex, the lowest index of a vertex at exactly the same position."""
    positions = np.ascontiguousarray(np.asarray(positions, dtype=np.float32).reshape(-1, 3))
    if len(positions) == 0:
        return np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(positions, axis=0, return_index=True, return_inverse=True)
    return first[np.ravel(inverse)].astype(np.int64)


def _ends_in_faces(
    faces: np.ndarray, rep: np.ndarray, face: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """The original indices, in faces ``face``, of the vertices welded to ``ends``."""
    tri = faces[face]  # (E, 3)
    match = rep[tri] == ends[:, None]
    return tri[np.arange(len(face)), np.argmax(match, axis=1)]


def _build_mesh_edges(faces: np.ndarray, positions: np.ndarray | None = None) -> MeshEdges:
    import mitsuba as mi

    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    rep = weld_map(positions) if positions is not None else np.arange(faces.max(initial=-1) + 1)
    welded_faces = rep[faces]
    edges, adj = edge_topology_arrays(welded_faces)
    boundary = adj[:, 1] < 0
    f1 = np.where(boundary, adj[:, 0], adj[:, 1])
    v0 = _ends_in_faces(faces, rep, adj[:, 0], edges[:, 0])
    v1 = _ends_in_faces(faces, rep, adj[:, 0], edges[:, 1])
    w0 = _ends_in_faces(faces, rep, f1, edges[:, 0])
    w1 = _ends_in_faces(faces, rep, f1, edges[:, 1])

    def u32(a: np.ndarray) -> Any:
        return mi.UInt32(a.astype(np.uint32))

    moved = np.nonzero(rep != np.arange(len(rep)))[0]
    seams = bool(np.any(w0 != v0) or np.any(w1 != v1))
    return MeshEdges(
        v0=u32(v0),
        v1=u32(v1),
        f0=u32(adj[:, 0]),
        f1=u32(f1),
        boundary=mi.Bool(boundary),
        count=len(edges),
        w0=u32(w0) if seams else None,
        w1=u32(w1) if seams else None,
        welded=(u32(moved), u32(rep[moved])) if len(moved) else None,
    )


def gather_points(buffer: Any, index: Any, active: Any = True) -> Any:
    """Point3f rows ``index`` of a flat xyz vertex buffer (keeps AD attachment)."""
    import drjit as dr
    import mitsuba as mi

    return dr.gather(mi.Point3f, buffer, index, active)


def face_normals(mesh: Any, faces: Any, positions: Any, active: Any = True) -> Any:
    """Unnormalized geometric normals of faces ``faces`` (winding order)."""
    import drjit as dr
    import mitsuba as mi

    idx = dr.gather(mi.Vector3u, mesh.faces_buffer(), faces, active)
    p0 = gather_points(positions, idx.x, active)
    p1 = gather_points(positions, idx.y, active)
    p2 = gather_points(positions, idx.z, active)
    return dr.cross(p1 - p0, p2 - p0)


def silhouette_mask(
    mesh: Any, edges: MeshEdges, viewpoints: list[Any], creases: bool = False
) -> Any:
    """Edges that may be silhouettes as seen from somewhere in the hull of ``viewpoints``.

    With one viewpoint this is exact: boundary edges, and edges whose two faces face
    opposite ways from it (plus, with ``creases``, edges between two visible non-coplanar
    faces of a flat-shaded mesh, where the shading jumps). With several viewpoints (the
    corners of an emitter's bounding box) it is conservative: a face plane that separates
    the corners is treated as a possible flip.
    """
    import drjit as dr
    import mitsuba as mi

    with dr.suspend_grad():
        pos = dr.detach(mesh.vertex_positions_buffer())
        p0 = gather_points(pos, edges.v0)
        n0 = face_normals(mesh, edges.f0, pos)
        n1 = face_normals(mesh, edges.f1, pos)
        any_pos0, any_neg0 = mi.Bool(False), mi.Bool(False)
        any_pos1, any_neg1 = mi.Bool(False), mi.Bool(False)
        differ = mi.Bool(False)
        for vp in viewpoints:
            d = mi.Point3f(vp) - p0
            s0, s1 = dr.dot(n0, d) > 0, dr.dot(n1, d) > 0
            any_pos0 |= s0
            any_neg0 |= ~s0
            any_pos1 |= s1
            any_neg1 |= ~s1
            differ |= s0 ^ s1
        mask = edges.boundary | differ
        if creases and not mesh.has_vertex_normals():
            mask |= _crease(n0, n1) & any_pos0 & any_pos1
        if len(viewpoints) > 1:
            mask |= (any_pos0 & any_neg0) | (any_pos1 & any_neg1)
    return mask


def _crease(n0: Any, n1: Any) -> Any:
    import drjit as dr

    cos = dr.dot(n0, n1) * dr.rsqrt(dr.squared_norm(n0) * dr.squared_norm(n1))
    return cos < 1.0 - 1e-5


def crease_mask(mesh: Any, edges: MeshEdges, eye: Any) -> Any:
    """Edges between two front-facing faces where the shading jumps.

    On a flat-shaded mesh: every edge between non-coplanar faces. On a mesh with vertex
    normals: seam edges whose vertex copies carry different normals (split normals, or
    Mitsuba's own normals recomputed for each side of a UV seam).
    """
    import drjit as dr
    import mitsuba as mi

    with dr.suspend_grad():
        pos = dr.detach(mesh.vertex_positions_buffer())
        d = mi.Point3f(eye) - gather_points(pos, edges.v0)
        n0 = face_normals(mesh, edges.f0, pos)
        n1 = face_normals(mesh, edges.f1, pos)
        front = (dr.dot(n0, d) > 0) & (dr.dot(n1, d) > 0) & ~edges.boundary
        if not mesh.has_vertex_normals():
            return front & _crease(n0, n1)
        if edges.w0 is None:
            return dr.zeros(mi.Bool, edges.count)
        normals = dr.detach(mesh.vertex_normals_buffer())
        jump = mi.Bool(False)
        for a, b in ((edges.v0, edges.w0), (edges.v1, edges.w1)):
            na, nb = gather_points(normals, a), gather_points(normals, b)
            jump |= dr.dot(na, nb) < (1.0 - 1e-5) * dr.norm(na) * dr.norm(nb)
        return front & edges.seam & jump


def is_silhouette_from(mesh: Any, edge_f0: Any, edge_f1: Any, boundary: Any, p0: Any, eye: Any):
    """Per-sample exact test: is the edge a silhouette as seen from the points ``eye``?"""
    import drjit as dr

    pos = dr.detach(mesh.vertex_positions_buffer())
    n0 = face_normals(mesh, edge_f0, pos)
    n1 = face_normals(mesh, edge_f1, pos)
    d = eye - p0
    return boundary | ((dr.dot(n0, d) > 0) ^ (dr.dot(n1, d) > 0))


@dataclass
class Pinhole:
    """World -> full-film pixel coordinates for Mitsuba's ``perspective`` sensor.

    Matches ``sensor.sample_direction(...).uv`` (checked in the tests) but also works for
    points outside the frame, which edges crossing the image border need.
    """

    world_to_camera: Any  # mi.Transform4f
    focal: float  # pixels per unit of tan(angle), along x
    size: tuple[int, int]
    near: float
    pp_offset: tuple[float, float]

    @staticmethod
    def from_sensor(sensor: Any) -> Pinhole:
        import drjit as dr
        import mitsuba as mi

        params = mi.traverse(sensor)
        if "x_fov" not in params:
            from invrender.errors import InvrenderError

            raise InvrenderError(
                f"edge_sampling needs a 'perspective' sensor, got {sensor.class_name()}; "
                "use the prb/reparam integrators for other sensors"
            )

        def first(key: str) -> float:
            # dr.ravel() is typed `object`; a perspective sensor's parameters are mi.Float.
            return float(cast("mi.Float", dr.ravel(params[key]))[0])

        size = sensor.film().size()
        x_fov = first("x_fov")
        focal = 0.5 * size[0] / np.tan(np.radians(x_fov) * 0.5)
        to_world = mi.Transform4f(sensor.world_transform())
        pp = (first("principal_point_offset_x"), first("principal_point_offset_y"))
        return Pinhole(
            to_world.inverse(), float(focal), (int(size[0]), int(size[1])), sensor.near_clip(), pp
        )

    def project(self, p: Any) -> tuple[Any, Any]:
        """(pixel position Point2f, valid Bool: in front of the near plane)."""
        import drjit as dr
        import mitsuba as mi

        q = self.world_to_camera @ mi.Point3f(p)
        valid = q.z > self.near
        inv_z = dr.rcp(dr.select(valid, q.z, 1.0))
        w, h = self.size
        u = 0.5 * w - self.focal * q.x * inv_z + self.pp_offset[0] * w
        v = 0.5 * h - self.focal * q.y * inv_z + self.pp_offset[1] * h
        return mi.Point2f(u, v), valid


def clip_segment(a: Any, b: Any, lo: tuple[float, float], hi: tuple[float, float]):
    """Liang-Barsky: parameter range [t0, t1] of segment a->b inside the box [lo, hi]."""
    import drjit as dr
    import mitsuba as mi

    t0, t1 = mi.Float(0.0), mi.Float(1.0)
    d = b - a
    for axis in range(2):
        da, db = d[axis], a[axis]
        small = dr.abs(da) < 1e-12
        inv = dr.rcp(dr.select(small, 1.0, da))
        ta = (lo[axis] - db) * inv
        tb = (hi[axis] - db) * inv
        tmin, tmax = dr.minimum(ta, tb), dr.maximum(ta, tb)
        inside = (db >= lo[axis]) & (db <= hi[axis])
        t0 = dr.select(small, dr.select(inside, t0, 1.0), dr.maximum(t0, tmin))
        t1 = dr.select(small, dr.select(inside, t1, 0.0), dr.minimum(t1, tmax))
    return t0, t1
