"""Bake position-based textures into a UV atlas: texel -> surface point -> texture value.

Each texel centre ((i + 0.5)/W, (j + 0.5)/H) in Mitsuba's UV convention (row 0 at v = 0, the
image top, as Mitsuba's ``bitmap`` reads it) is located in the atlas triangle that covers it;
its barycentric coordinates give the 3D surface point, where the source texture (e.g. a
``volume`` texture over a 3D grid) is evaluated by Mitsuba itself. Texels outside every chart
take the value of the nearest covered texel, so bilinear filtering and mipmaps at chart
borders do not blend in a background colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from invrender.texturing.atlas import Atlas


@dataclass
class TexelSurface:
    """Where each texel of a ``size``² map lies on the mesh."""

    covered: np.ndarray  # (H, W) bool: inside a chart
    points: np.ndarray  # (H, W, 3) surface point of each texel (nearest covered one outside)
    normals: np.ndarray  # (H, W, 3) interpolated vertex (or face) normal


def rasterize(uvs: np.ndarray, faces: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Face index (-1: none) and barycentrics (H, W, 3) of every texel centre."""
    face_of = np.full((size, size), -1, dtype=np.int64)
    bary = np.zeros((size, size, 3))
    corners = uvs[faces] * size - 0.5  # texel-centre coordinates: centre of texel i is i
    lo = np.clip(np.ceil(corners.min(axis=1)), 0, size - 1).astype(np.int64)
    hi = np.clip(np.floor(corners.max(axis=1)), 0, size - 1).astype(np.int64)
    nx, ny = np.maximum(hi[:, 0] - lo[:, 0] + 1, 0), np.maximum(hi[:, 1] - lo[:, 1] + 1, 0)
    count = nx * ny
    face = np.repeat(np.arange(len(faces)), count)
    start = np.repeat(np.cumsum(count) - count, count)
    local = np.arange(count.sum()) - start
    x = lo[face, 0] + local % nx[face]
    y = lo[face, 1] + local // nx[face]
    a, b, c = corners[face, 0], corners[face, 1], corners[face, 2]
    e1, e2, p = b - a, c - a, np.stack([x, y], -1) - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-12
    det = np.where(ok, det, 1.0)
    w1 = (p[:, 0] * e2[:, 1] - p[:, 1] * e2[:, 0]) / det
    w2 = (e1[:, 0] * p[:, 1] - e1[:, 1] * p[:, 0]) / det
    w0 = 1.0 - w1 - w2
    eps = -1e-6
    inside = ok & (w0 >= eps) & (w1 >= eps) & (w2 >= eps)
    face_of[y[inside], x[inside]] = face[inside]
    bary[y[inside], x[inside]] = np.stack([w0, w1, w2], -1)[inside]
    return face_of, bary


def texel_surface(atlas: Atlas, size: int) -> TexelSurface:
    """Surface point and normal of every texel; texels outside the charts copy the nearest."""
    from scipy.ndimage import distance_transform_edt

    face_of, bary = rasterize(atlas.uvs, atlas.faces, size)
    covered = face_of >= 0
    if not covered.any():
        raise ValueError("the UV atlas covers no texel; raise the texture resolution")
    _, (iy, ix) = distance_transform_edt(~covered, return_indices=True)
    face_of, bary = face_of[iy, ix], bary[iy, ix]
    tri = atlas.faces[face_of]  # (H, W, 3)
    points = np.einsum("hwk,hwkc->hwc", bary, atlas.vertices[tri])
    if atlas.normals is not None:
        normals = np.einsum("hwk,hwkc->hwc", bary, atlas.normals[tri])
    else:
        p = atlas.vertices[tri]
        normals = np.cross(p[..., 1, :] - p[..., 0, :], p[..., 2, :] - p[..., 0, :])
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-30)
    return TexelSurface(covered, points, normals)


def bake_texture(texture: Any, surface: TexelSurface, channels: int) -> np.ndarray:
    """Evaluate a live Mitsuba texture at every texel's surface point: (H, W, channels)."""
    import drjit as dr
    import mitsuba as mi

    h, w = surface.covered.shape
    points = surface.points.reshape(-1, 3)
    normals = surface.normals.reshape(-1, 3)
    with dr.suspend_grad():
        si = dr.zeros(mi.SurfaceInteraction3f, len(points))
        si.p = mi.Point3f(*(points[:, i].astype(np.float32) for i in range(3)))
        si.n = mi.Normal3f(*(normals[:, i].astype(np.float32) for i in range(3)))
        si.sh_frame = mi.Frame3f(mi.Vector3f(si.n))
        if channels == 1:
            values = np.array(texture.eval_1(si), dtype=np.float64)[:, None]
        else:
            values = np.array(texture.eval(si), dtype=np.float64)
            values = (
                values.T if values.shape[0] == 3 and values.shape[-1] == len(points) else values
            )
    if values.size == channels:  # a constant texture evaluates to one value, not one per texel
        values = np.broadcast_to(values.reshape(1, channels), (len(points), channels))
    return values.reshape(h, w, channels)
