"""Initial meshes for shape optimization: spheres/ellipsoids fitted to the cameras, or a file.

Everything here is plain numpy (``V``: float64 (n, 3), ``F``: int32 (m, 3)) so it can run before a
Mitsuba variant is chosen and be reused by tests, generators and pipelines alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from invrender.errors import DataError

Mesh = tuple[np.ndarray, np.ndarray]


def icosphere(subdivisions: int = 3, center=(0.0, 0.0, 0.0), radius: float = 1.0) -> Mesh:
    """A uniform triangle sphere (no poles, unlike a UV sphere, so remeshing starts isotropic)."""
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=int(subdivisions), radius=1.0)
    vertices = np.asarray(mesh.vertices, dtype=np.float64) * float(radius)
    return vertices + np.asarray(center, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int32)


def ellipsoid(subdivisions: int = 3, center=(0.0, 0.0, 0.0), radii=(1.0, 1.0, 1.0)) -> Mesh:
    """An axis-aligned ellipsoid: an ico-sphere scaled per axis."""
    vertices, faces = icosphere(subdivisions)
    vertices = vertices * np.asarray(radii, dtype=np.float64)
    return vertices + np.asarray(center, dtype=np.float64), faces


def closest_point_to_rays(origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Least-squares point nearest to all camera axes: where the views converge.

    Minimizes sum_i |(I - d_i d_i^T)(p - o_i)|^2, a 3x3 linear system. Falls back to the mean origin
    shifted along the mean direction when all axes are parallel (the system is singular).
    """
    origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
    dirs = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    dirs = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    projectors = np.eye(3)[None] - dirs[:, :, None] * dirs[:, None, :]
    lhs = projectors.sum(axis=0)
    rhs = np.einsum("nij,nj->i", projectors, origins)
    if np.linalg.cond(lhs) > 1e8:
        return origins.mean(axis=0) + dirs.mean(axis=0)
    return np.linalg.solve(lhs, rhs)


def fit_sphere_to_cameras(
    to_worlds: Sequence[np.ndarray],
    fov_x_degrees: float | Sequence[float],
    mask_fill: Sequence[float] | None = None,
    fill: float = 0.5,
) -> tuple[np.ndarray, float]:
    """Center and radius of a sphere that the cameras see, to start shape optimization from.

    ``to_worlds`` are Mitsuba camera-to-world 4x4 matrices (camera looks down its +Z column). The
    center is where the camera axes converge. The radius makes the sphere cover ``fill`` of the
    narrowest view's half-width; with ``mask_fill`` (for each view, the fraction of the image
    width spanned by the target mask) it instead matches the mask extent, averaged over views.
    """
    mats = [np.asarray(m, dtype=np.float64).reshape(4, 4) for m in to_worlds]
    if not mats:
        raise DataError("fit_sphere_to_cameras: no cameras given; add views to the dataset")
    origins = np.stack([m[:3, 3] for m in mats])
    directions = np.stack([m[:3, 2] for m in mats])
    center = closest_point_to_rays(origins, directions)
    fovs = np.broadcast_to(np.asarray(fov_x_degrees, dtype=np.float64), (len(mats),))
    distances = np.linalg.norm(origins - center, axis=1)
    half_widths = distances * np.tan(np.radians(fovs) / 2)
    if mask_fill is not None:
        fractions = np.clip(np.asarray(mask_fill, dtype=np.float64), 1e-3, 1.0)
        radius = float(np.mean(half_widths * fractions))
    else:
        radius = float(fill * half_widths.min())
    return center, radius


def mask_width_fraction(mask: np.ndarray, threshold: float = 0.5) -> float:
    """Fraction of the image width/height (the larger) spanned by a foreground mask."""
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask[..., 0]
    rows = np.nonzero((mask > threshold).any(axis=1))[0]
    cols = np.nonzero((mask > threshold).any(axis=0))[0]
    if rows.size == 0:
        return 0.0
    return max((cols[-1] - cols[0] + 1) / mask.shape[1], (rows[-1] - rows[0] + 1) / mask.shape[0])


def load_mesh(path: str | Path) -> Mesh:
    """Load a triangle mesh file (PLY/OBJ/STL/GLB...) via trimesh, merged into one mesh."""
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: mesh file not found; check the initial-shape path in the config")
    try:
        loaded: trimesh.Trimesh = trimesh.load(path, force="mesh", process=True)  # type: ignore[assignment]  # force="mesh" returns a Trimesh
    except Exception as exc:  # trimesh raises many types for malformed files
        raise DataError(f"{path}: cannot read mesh ({exc}); export it as PLY or OBJ") from exc
    if len(loaded.faces) == 0:
        raise DataError(f"{path}: mesh has no triangles; give a surface mesh, not a point cloud")
    return np.asarray(loaded.vertices, dtype=np.float64), np.asarray(loaded.faces, dtype=np.int32)


def save_mesh(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a mesh (PLY/OBJ by suffix) without trimesh reordering or merging anything."""
    import trimesh

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.Trimesh(vertices, faces, process=False).export(path)
    return path


def make_mesh(
    name: str,
    vertices: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray | None = None,
    bsdf: dict | None = None,
    emitter: dict | None = None,
    smooth: bool = False,
) -> Any:
    """An in-memory ``mi.Mesh`` with optional vertex normals, BSDF and area emitter.

    ``smooth`` without ``normals``: Mitsuba computes smooth vertex normals; else flat shading."""
    import mitsuba as mi

    props = mi.Properties()
    if bsdf is not None:
        props["bsdf"] = mi.load_dict(bsdf)
    if emitter is not None:
        props["emitter"] = mi.load_dict(emitter)
    with_normals = normals is not None or smooth
    mesh = mi.Mesh(name, len(vertices), len(faces), props=props, has_vertex_normals=with_normals)
    params = mi.traverse(mesh)
    params["vertex_positions"] = mi.Float(np.ravel(vertices).astype(np.float32))
    params["faces"] = mi.UInt32(np.ravel(faces).astype(np.uint32))
    if normals is not None:
        params["vertex_normals"] = mi.Float(np.ravel(normals).astype(np.float32))
    params.update()
    return mesh
