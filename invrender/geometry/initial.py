"""The initial mesh of a geometry run, from the ``geometry.init`` config and the dataset."""

from __future__ import annotations

from typing import Any

import numpy as np

from invrender.config.geometry import InitialShape
from invrender.geometry.hull_field import HullField
from invrender.geometry.shapes import (
    Mesh,
    ellipsoid,
    fit_sphere_to_cameras,
    icosphere,
    load_mesh,
    mask_width_fraction,
)


def initial_shape(
    spec: InitialShape, dataset: Any, scene_mesh: Mesh
) -> tuple[Mesh, HullField | None]:
    """(V, F) to start from: the scene's mesh, a file, a sphere/ellipsoid fitted to the views, or
    the visual hull of the training views' masks (its genus is what the masks imply); with the
    hull, also the hull as a HullField (the bound ``spec.keep_inside`` holds the shape to).

    The fit uses the training views' cameras; when every view has a mask, the radius matches the
    masks' extent, otherwise it covers ``spec.fill`` of the narrowest view.
    """
    if spec.type == "scene":
        return scene_mesh, None
    if spec.type == "file":
        assert spec.path is not None  # GeometryInit's validator requires it for type file
        return load_mesh(spec.path), None
    if spec.type == "visual_hull":
        from invrender.geometry.visual_hull import visual_hull

        mesh, report = visual_hull(dataset, spec.resolution, spec.triangles, spec.threshold)
        return mesh, report.hull_field()
    views = [dataset.views[i] for i in dataset.train]
    cams = [v.camera for v in views]
    fovs = [horizontal_fov_degrees(c) for c in cams]
    masks = [v.mask for v in views]
    fills = [mask_width_fraction(m) for m in masks] if all(m is not None for m in masks) else None
    center, radius = fit_sphere_to_cameras([c.to_world for c in cams], fovs, fills, spec.fill)
    if spec.type == "sphere":
        return icosphere(spec.subdivisions, center, radius), None
    return ellipsoid(spec.subdivisions, center, radius * np.asarray(spec.radii)), None


def horizontal_fov_degrees(camera: Any) -> float:
    """The smaller of the camera's two fields of view, in degrees (a sphere must fit both)."""
    fov_x = float(np.degrees(camera.camera_angle_x))
    if not camera.width or not camera.height:
        return fov_x
    half_y = np.tan(np.radians(fov_x) / 2) * camera.height / camera.width
    return min(fov_x, float(np.degrees(2 * np.arctan(half_y))))
