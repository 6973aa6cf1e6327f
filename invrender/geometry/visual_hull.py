"""Visual hull from masks and cameras: a start of the right topology for shape optimization.

A point belongs to the visual hull when it projects inside the object's mask in every view. We
evaluate, on a voxel grid, the smallest over the views of the *signed distance to the silhouette
outline* (pixels, from a Euclidean distance transform of each mask, scaled to scene units at the
point's depth), so the hull is the grid's zero level set and marching cubes places its surface
with sub-voxel accuracy instead of the staircase of a binary carve. The surface is then cleaned
(largest part only, consistently oriented outward) and remeshed isotropically; its genus is what
the masks imply (a ring seen through its hole stays a ring), and remeshing is checked to keep it.

Everything is vectorised numpy: each view projects all voxel centres at once (a 128^3 grid is
2 M points per view). Out-of-frame points count as outside: the object must be in every view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

import numpy as np

from invrender.errors import DataError
from invrender.geometry.hull_field import HullField
from invrender.geometry.planes import Plane, height_above
from invrender.geometry.shapes import Mesh, closest_point_to_rays

COARSE_RESOLUTION = 48  # first pass over the cameras' common view, to find the object's box
MIN_VOXELS = 8  # fewer voxels inside than this is an empty hull


@dataclass
class HullView:
    """One silhouette: a camera (invrender.data.cameras.Camera) and its (H, W) mask in [0, 1]."""

    camera: Any
    mask: np.ndarray


@dataclass
class HullReport:
    """What the carve found, for messages, `invrender hull` and benchmarks."""

    resolution: tuple[int, int, int]
    voxel_size: float
    inside_voxels: int
    marching_cubes_faces: int
    genus: int
    components_dropped: int
    seconds: dict[str, float]
    # The carved signed distance grid (scene units, > 0 inside) and where it lies, for
    # hull_field(): the bound the optimized shape is kept within (geometry.init.keep_inside)
    field: np.ndarray | None = dataclass_field(default=None, repr=False)
    origin: np.ndarray | None = dataclass_field(default=None, repr=False)
    support: Plane | None = dataclass_field(default=None, repr=False)

    def hull_field(self) -> HullField:
        """The hull as a HullField (signed distance, projection back inside)."""
        assert self.field is not None and self.origin is not None
        return HullField.from_carve(self.field, self.origin, self.voxel_size, self.support)


def views_from_dataset(dataset: Any, indices: Sequence[int] | None = None) -> list[HullView]:
    """HullViews of a Dataset's views (its training views by default); every one needs a mask."""
    indices = list(dataset.train if indices is None else indices)
    missing = [dataset.views[i].name for i in indices if dataset.views[i].mask is None]
    if missing:
        raise DataError(
            f"visual hull: view(s) {', '.join(missing[:3])} have no mask; set targets.masks to "
            "'alpha' (image alpha channel) or 'files' (mask_path per frame)"
        )
    return [HullView(dataset.views[i].camera, dataset.views[i].mask) for i in indices]


def visual_hull_mesh(
    views: Any,
    resolution: int = 128,
    triangles: int | None = 5000,
    threshold: float = 0.5,
    remesh_iterations: int = 5,
    support: Plane | None = None,
) -> Mesh:
    """(V, F) of the visual hull of ``views`` (a Dataset, or HullViews / (camera, mask) pairs).

    ``resolution`` voxels along the object's longest side; ``triangles`` the remeshed size (None:
    the raw marching-cubes surface); ``support`` a plane the hull stops at (the table under the
    object; a Dataset's own support_plane by default). Raises DataError for masks that no point
    satisfies together.
    """
    return visual_hull(views, resolution, triangles, threshold, remesh_iterations, support)[0]


def visual_hull(
    views: Any,
    resolution: int = 128,
    triangles: int | None = 5000,
    threshold: float = 0.5,
    remesh_iterations: int = 5,
    support: Plane | None = None,
) -> tuple[Mesh, HullReport]:
    """`visual_hull_mesh` plus a HullReport (grid size, timings, genus)."""
    import time

    if support is None:
        support = getattr(views, "support_plane", None)
    views = _as_views(views)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    distances = [_silhouette_distance(v, threshold, i) for i, v in enumerate(views)]
    seconds["distance_transform"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    carved, origin, voxel = _coarse_to_fine(views, distances, resolution, support=support)
    seconds["carve"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    carved, dropped = _keep_largest_blob(carved)
    inside_count = int((carved > 0).sum())
    if inside_count < MIN_VOXELS:
        raise DataError(
            f"visual hull: empty ({inside_count} voxel(s) inside every mask at resolution "
            f"{resolution}); raise the resolution or check the masks cover the object"
        )
    vertices, faces = _surface(carved, origin, voxel)
    mc_faces = len(faces)
    seconds["marching_cubes"] = time.perf_counter() - t0

    from invrender.geometry.topology import mesh_topology

    hull_topology = mesh_topology(faces)
    t0 = time.perf_counter()
    if triangles is not None:
        vertices, faces = remesh_keeping_topology(
            vertices, faces, triangles, remesh_iterations, hull_topology
        )
    seconds["remesh"] = time.perf_counter() - t0
    report = HullReport(
        (int(carved.shape[0]), int(carved.shape[1]), int(carved.shape[2])),
        float(voxel),
        inside_count,
        mc_faces,
        hull_topology.genus,
        dropped,
        seconds,
        carved,
        origin,
        support,
    )
    return (vertices, faces), report


def remesh_keeping_topology(
    vertices: np.ndarray,
    faces: np.ndarray,
    triangles: int,
    iterations: int,
    expected: Any = None,
    attempts: int = 4,
) -> Mesh:
    """Isotropic remesh to about ``triangles`` faces that keeps genus and components.

    A coarse remesh can collapse a thin handle or fuse two close sheets; then we retry with twice
    the triangles (shorter edges resolve the thin part), up to ``attempts`` times, and raise
    RemeshError (the caller keeps its mesh) if none keeps the topology.
    """
    from invrender.geometry.remesh import RemeshError, edge_length_for_triangles, remesh_isotropic
    from invrender.geometry.topology import mesh_topology

    expected = expected or mesh_topology(faces)
    got = expected
    for attempt in range(attempts):
        count = triangles * 2**attempt
        length = edge_length_for_triangles(vertices, faces, count)
        new_v, new_f = remesh_isotropic(vertices, faces, length, iterations)
        got = mesh_topology(new_f)
        if got.same_surface_type(expected) and got.closed_manifold == expected.closed_manifold:
            return new_v, new_f
    raise RemeshError(
        f"remesh to {triangles}-{triangles * 2 ** (attempts - 1)} triangles changes the topology "
        f"({expected.describe()} -> {got.describe()}); raise geometry.remesh.triangles"
    )


def _coarse_to_fine(
    views: list[HullView],
    distances: list[np.ndarray],
    resolution: int,
    ignore: int = 0,
    support: Plane | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Carve a coarse grid over the views' common box, then ``resolution`` voxels over the
    object's padded bounds; nothing below the ``support`` plane. DataError when no point lies
    inside every silhouette."""
    lo, hi = _view_box(views)
    field, origin, voxel = _carve(views, distances, lo, hi, COARSE_RESOLUTION, ignore, support)
    inside = field > 0
    if inside.sum() < 1:
        raise DataError(_no_overlap_message(views, distances, lo, hi))
    idx = np.argwhere(inside)
    lo = origin + (idx.min(axis=0) - 2) * voxel
    hi = origin + (idx.max(axis=0) + 2) * voxel
    return _carve(views, distances, lo, hi, int(resolution), ignore, support)


def robust_hull_surface(
    views: Any, resolution: int = 96, ignore: int = 0, threshold: float = 0.5
) -> Mesh:
    """The raw marching-cubes surface (no remesh) of the hull that lets each voxel disregard its
    ``ignore`` most disagreeing views: for checking automatic masks against each other, where
    one bad mask must not carve the others' object away. DataError when nothing is left."""
    views = _as_views(views)
    distances = [_silhouette_distance(v, threshold, i) for i, v in enumerate(views)]
    ignore = min(int(ignore), len(views) - 1)
    field, origin, voxel = _coarse_to_fine(views, distances, resolution, ignore)
    field, _ = _keep_largest_blob(field)
    if int((field > 0).sum()) < MIN_VOXELS:
        raise DataError("visual hull: empty (the masks share no volume)")
    return _surface(field, origin, voxel)


def project_silhouette(mesh: Mesh, camera: Any, height: int, width: int) -> np.ndarray:
    """(height, width) bool image of the pixels whose centres a closed mesh covers, seen from a
    Mitsuba camera (triangles in front of it, filled with OpenCV one at a time: ``fillPoly``
    given many polygons fills by parity, so where a closed mesh's front and back overlap it
    left holes, a fifth of a fine mesh's silhouette at 1024 px)."""
    import cv2

    vertices, faces = mesh
    world_to_camera, focal, cx, cy = _projection(camera, height, width)
    cam = np.asarray(vertices) @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    front = cam[:, 2] > 1e-9
    depth = np.where(front, cam[:, 2], 1e-9)
    col = cx - focal * cam[:, 0] / depth
    row = cy - focal * cam[:, 1] / depth
    keep = front[faces].all(axis=1)
    shift = 4  # fixed point: 1/16 px
    pts = np.stack([col - 0.5, row - 0.5], axis=-1)[faces[keep]] * (1 << shift)
    out = np.zeros((height, width), np.uint8)
    for tri in np.round(pts).astype(np.int32):
        cv2.fillConvexPoly(out, tri, 1, lineType=cv2.LINE_8, shift=shift)
    return out.astype(bool)


# -- internals ----------------------------------------------------------------------------------


def _as_views(views: Any) -> list[HullView]:
    if hasattr(views, "views") and hasattr(views, "train"):
        return views_from_dataset(views)
    out = []
    for v in views:
        out.append(v if isinstance(v, HullView) else HullView(*v))
    if not out:
        raise DataError("visual hull: no views given; it needs cameras with masks")
    return out


def _silhouette_distance(view: HullView, threshold: float, index: int) -> np.ndarray:
    """Signed distance to the mask outline in pixels, > 0 inside (pixel centres, half-pixel
    offset so that the outline lies between an inside and an outside pixel)."""
    from scipy.ndimage import distance_transform_edt

    mask = np.asarray(view.mask, dtype=np.float32)
    if mask.ndim == 3:
        mask = mask[..., 0]
    inside = mask > threshold
    if not inside.any():
        raise DataError(
            f"visual hull: the mask of view {index} is empty (nothing above {threshold}); "
            "give masks that show the object in every view"
        )
    if inside.all():
        raise DataError(
            f"visual hull: the mask of view {index} covers the whole image; the object must be "
            "framed with background around it"
        )
    return np.where(
        inside, distance_transform_edt(inside) - 0.5, 0.5 - distance_transform_edt(~inside)
    ).astype(np.float32)


def _projection(camera: Any, height: int, width: int) -> tuple[np.ndarray, float, float, float]:
    """World-to-camera 4x4 and (focal_x px, principal point column, row) of a Mitsuba camera."""
    world_to_camera = np.linalg.inv(np.asarray(camera.to_world, dtype=np.float64))
    tan_x = np.tan(camera.camera_angle_x / 2)
    focal = width / (2 * tan_x)
    pp = getattr(camera, "principal_point", (0.0, 0.0))
    cx = width * (0.5 - float(pp[0]))
    cy = height * (0.5 - float(pp[1]))
    return world_to_camera, focal, cx, cy


def _view_box(views: list[HullView]) -> tuple[np.ndarray, np.ndarray]:
    """A box around where the camera axes converge, as wide as the widest view there."""
    mats = [np.asarray(v.camera.to_world, dtype=np.float64) for v in views]
    origins = np.stack([m[:3, 3] for m in mats])
    center = closest_point_to_rays(origins, np.stack([m[:3, 2] for m in mats]))
    depth = max(float(np.linalg.norm(origins - center, axis=1).max()), 1e-6)
    half = 0.0
    for v in views:
        h, w = np.asarray(v.mask).shape[:2]
        tan_x = np.tan(v.camera.camera_angle_x / 2)
        half = max(half, depth * tan_x * max(1.0, h / w))
    return center - half, center + half


def _carve(
    views: list[HullView],
    distances: list[np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    resolution: int,
    ignore: int = 0,
    support: Plane | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Smallest signed silhouette distance (scene units) over the views, on a cubic-voxel grid
    spanning [lo, hi] with ``resolution`` voxels along its longest side; with a ``support``
    plane, also no more than the height above it (no view sees under a table, so the masks
    alone would keep a cone below the object's base).

    ``ignore`` > 0 takes the (ignore + 1)-th smallest instead: each voxel then disregards its
    ``ignore`` most disagreeing views, so a few wrong masks (automatic ones) cannot carve away
    what all the others agree on."""
    from scipy.ndimage import map_coordinates

    extent = np.asarray(hi, dtype=np.float64) - np.asarray(lo, dtype=np.float64)
    voxel = float(extent.max()) / max(int(resolution), 2)
    shape = np.maximum(np.ceil(extent / voxel).astype(int) + 1, 2)
    axes = [lo[a] + voxel * np.arange(shape[a]) for a in range(3)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    field = np.full(len(points), np.inf, dtype=np.float32)
    if support is not None:
        field = height_above(points, support).astype(np.float32)
    # The ignore + 1 smallest values seen so far per point, ascending (row `ignore` is the field).
    lowest = np.full((ignore + 1, len(points)), np.inf, dtype=np.float32)
    # Once a point is farther than a few voxels outside some silhouette cone its exact value no
    # longer matters (marching cubes only interpolates across cells that straddle the surface,
    # and the field changes at most about one unit per unit of distance): later views skip it.
    band = -3.0 * voxel
    active = np.flatnonzero(field > band)
    for view, dist in zip(views, distances, strict=True):
        h, w = dist.shape
        world_to_camera, focal, cx, cy = _projection(view.camera, h, w)
        cam = points[active] @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
        depth = cam[:, 2]
        safe = np.where(depth > 1e-9, depth, 1e-9)
        # Mitsuba's camera: +X is the image's left, +Y its top.
        col = cx - focal * cam[:, 0] / safe
        row = cy - focal * cam[:, 1] / safe
        value = map_coordinates(dist, [row - 0.5, col - 0.5], order=1, mode="nearest")
        beyond = np.maximum(np.maximum(-col, col - w), np.maximum(-row, row - h))
        value = np.where(beyond > 0, np.minimum(value, -beyond), value)
        world = np.where(depth > 1e-9, value * safe / focal, -np.inf).astype(np.float32)
        if ignore == 0:
            field[active] = np.minimum(field[active], world)
        else:
            stacked = np.concatenate([lowest[:, active], world[None]], axis=0)
            lowest[:, active] = np.sort(stacked, axis=0)[: ignore + 1]
            field[active] = np.minimum(field[active], lowest[ignore, active])
        active = active[field[active] > band]
    origin = np.asarray(lo, dtype=np.float64)
    return field.reshape(tuple(shape)), origin, voxel


def _keep_largest_blob(field: np.ndarray) -> tuple[np.ndarray, int]:
    """Zero out (push outside) every connected inside region but the largest one."""
    from scipy.ndimage import label

    labels, count = label(field > 0)
    if count <= 1:
        return field, 0
    sizes = np.bincount(labels.ravel())[1:]
    keep = int(np.argmax(sizes)) + 1
    out = field.copy()
    others = (labels != keep) & (labels > 0)
    out[others] = -np.abs(out[others]) - 1e-6
    return out, count - 1


def _surface(field: np.ndarray, origin: np.ndarray, voxel: float) -> Mesh:
    """Marching cubes of the zero level set, padded so it closes, faces wound outward."""
    from skimage.measure import marching_cubes

    from invrender.geometry.topology import largest_component, signed_volume

    finite = np.where(np.isfinite(field), field, -voxel * 10).astype(np.float32)
    padded = np.pad(finite, 1, constant_values=-voxel)
    vertices, faces, _, _ = marching_cubes(padded, level=0.0, spacing=(voxel,) * 3)
    vertices = vertices + origin - voxel
    vertices, faces = largest_component(vertices.astype(np.float64), faces.astype(np.int64))
    if signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    return vertices, np.ascontiguousarray(faces, dtype=np.int32)


def _no_overlap_message(
    views: list[HullView], distances: list[np.ndarray], lo: np.ndarray, hi: np.ndarray
) -> str:
    """Why nothing survived: which view's mask carves away what all the others agree on."""
    worst, worst_left = 0, -1
    if len(views) > 1:
        for i in range(len(views)):
            others = [j for j in range(len(views)) if j != i]
            field, _, _ = _carve(
                [views[j] for j in others], [distances[j] for j in others], lo, hi, 24
            )
            left = int((field > 0).sum())
            if left > worst_left:
                worst, worst_left = i, left
    return (
        f"visual hull: the masks do not overlap (no point projects inside the masks of all "
        f"{len(views)} views; view {worst} disagrees most); check that masks and cameras belong "
        "together (same order, OpenGL transform_matrix in transforms.json)"
    )
