"""The shading horizon of a smooth-normal mesh: where its interpolated normal turns away.

Mitsuba shades with the interpolated vertex normal n_s and returns nothing (area emitters,
one-sided BSDFs) where n_s faces away from the viewer. Near the outline of a smooth-normal
mesh the geometric face still faces the camera there, so a dark band runs inside the
outline, and its inner boundary, the horizon g(x) = n_s(x) . (eye - x) = 0, is a
discontinuity inside the triangles that moves with the mesh (issue 25: on a UV sphere seen
side-on the band fills much of each pole triangle). It lies on no edge, so edge sampling
needs it as a candidate curve of its own.

On a triangle, with barycentric interpolation of positions p and (unnormalized) normals n,
g is quadratic in the barycentrics and its sign is the sign of n_s . (eye - x). Where g
changes sign between the vertices, the horizon crosses two of the triangle's edges; each
crossing is the exact root of g along that edge, and the horizon inside is replaced by the
chord between them (a straight line in barycentrics projects to a straight line on the
film). The chord's sagitta is of relative order R theta / D (curvature radius R, angle
theta between the vertex normals, viewing distance D): 2 % of a pole triangle at 64 px.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import drjit as dr
import mitsuba as mi

from invrender.integrators import silhouette as sil


def crossing(p_u: Any, p_w: Any, n_u: Any, n_w: Any, eye: Any) -> Any:
    """Parameter t in [0, 1] of the root of g along the edge u -> w (g changes sign on it).

    g(t) = (n_u + t dn) . (eye - p_u - t dp) = C + B t + A t^2; the root is taken in the
    form that stays accurate when A (the curvature term) is tiny.
    """
    dn, dp = n_w - n_u, p_w - p_u
    to_eye = eye - p_u
    a = -dr.dot(dn, dp)
    b = dr.dot(dn, to_eye) - dr.dot(n_u, dp)
    c = dr.dot(n_u, to_eye)
    root = dr.safe_sqrt(b * b - 4.0 * a * c)
    q = -0.5 * (b + dr.copysign(root, b))
    t = c / dr.select(q != 0, q, 1.0)
    other = q / dr.select(a != 0, a, 1.0)
    return dr.select((t >= 0) & (t <= 1), t, dr.clip(other, 0.0, 1.0))


@dataclass
class HorizonFaces:
    """Triangles the horizon crosses, with their vertices ordered so that the odd one out
    (the vertex on the other side of the horizon) comes first (detached)."""

    face: Any  # mi.UInt32
    odd: Any  # mi.UInt32: vertex alone on its side
    second: Any  # mi.UInt32: the next vertex of the face
    third: Any  # mi.UInt32


def _g(pos: Any, normals: Any, v: Any, eye: Any) -> Any:
    return dr.dot(sil.gather_points(normals, v), eye - sil.gather_points(pos, v))


def order_vertices(mesh: Any, face: Any, pos: Any, normals: Any, eye: Any) -> tuple[Any, Any]:
    """(crossed: Bool, HorizonFaces) for faces ``face``: which the horizon crosses."""
    tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), face)
    s0 = _g(pos, normals, tri.x, eye) > 0
    s1 = _g(pos, normals, tri.y, eye) > 0
    s2 = _g(pos, normals, tri.z, eye) > 0
    crossed = (s0 != s1) | (s0 != s2)
    # The odd vertex: x when y and z agree, y when x and z agree, else z.
    odd = dr.select(s1 == s2, tri.x, dr.select(s0 == s2, tri.y, tri.z))
    second = dr.select(s1 == s2, tri.y, dr.select(s0 == s2, tri.z, tri.x))
    third = dr.select(s1 == s2, tri.z, dr.select(s0 == s2, tri.x, tri.y))
    return crossed, HorizonFaces(face, odd, second, third)


def chord(pos: Any, normals: Any, faces: HorizonFaces, eye: Any) -> tuple[Any, Any]:
    """The horizon chord's end points (3-D) in each face; AD-attached if the buffers are."""
    p_o = sil.gather_points(pos, faces.odd)
    n_o = sil.gather_points(normals, faces.odd)
    ends = []
    for v in (faces.second, faces.third):
        p_v = sil.gather_points(pos, v)
        t = crossing(p_o, p_v, n_o, sil.gather_points(normals, v), eye)
        ends.append(dr.lerp(p_o, p_v, t))
    return ends[0], ends[1]


def horizon_faces(mesh: Any, eye: Any) -> HorizonFaces | None:
    """Front-facing triangles of a mesh with vertex normals that the horizon crosses.

    Back-facing ones are left out: on a closed mesh they are hidden (a probe pair behind
    the front surface measures no jump), and an open mesh seen from behind is not covered.
    """
    if not mesh.has_vertex_normals():
        return None
    with dr.suspend_grad():
        pos = dr.detach(mesh.vertex_positions_buffer())
        normals = dr.detach(mesh.vertex_normals_buffer())
        every = dr.arange(mi.UInt32, mesh.face_count())
        crossed, faces = order_vertices(mesh, every, pos, normals, eye)
        tri = dr.gather(mi.Vector3u, mesh.faces_buffer(), every)
        front = dr.dot(sil.face_normals(mesh, every, pos), eye - sil.gather_points(pos, tri.x)) > 0
        idx = cast("mi.UInt32", dr.compress(crossed & front))  # drjit types compress() `object`
        if dr.width(idx) == 0:
            return None
        return HorizonFaces(
            dr.gather(mi.UInt32, faces.face, idx),
            dr.gather(mi.UInt32, faces.odd, idx),
            dr.gather(mi.UInt32, faces.second, idx),
            dr.gather(mi.UInt32, faces.third, idx),
        )


def gather_faces(faces: HorizonFaces, k: Any) -> HorizonFaces:
    """Rows ``k`` of ``faces``."""
    return HorizonFaces(
        dr.gather(mi.UInt32, faces.face, k),
        dr.gather(mi.UInt32, faces.odd, k),
        dr.gather(mi.UInt32, faces.second, k),
        dr.gather(mi.UInt32, faces.third, k),
    )


def line_distance(x: Any, a: Any, b: Any) -> Any:
    """Distance on the film from ``x`` to the line through ``a`` and ``b``."""
    d = b - a
    cross = d.x * (x.y - a.y) - d.y * (x.x - a.x)
    return dr.abs(cross) * dr.rsqrt(dr.maximum(dr.squared_norm(d), 1e-20))


def distance_to_face_horizon(
    mesh: Any, camera: Any, face: Any, pos: Any, normals: Any, eye: Any, x: Any
) -> Any:
    """Film distance from ``x`` to the horizon chord's line in ``face``; inf where the
    horizon does not cross the face."""
    crossed, faces = order_vertices(mesh, face, pos, normals, eye)
    c0, c1 = chord(pos, normals, faces, eye)
    a, va = camera.project(c0)
    b, vb = camera.project(c1)
    return dr.select(crossed & va & vb, line_distance(x, a, b), dr.inf)
