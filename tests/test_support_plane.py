"""The table under an object (issue 26): found among SfM-like points only when it is a table
(under every camera, facing up in the photos), kept in transforms.json, read back by the dataset
with one-line errors, and the visual hull stops at it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from invrender.data.cameras import Camera, look_at
from invrender.data.support_plane import (
    KEY,
    plane_from_json,
    plane_to_json,
    support_plane,
)
from invrender.errors import DataError
from invrender.geometry.planes import fit_plane, height_above

TABLE_Y = -0.5


def orbit(count: int = 12, elevation: float = 30.0, up=(0.0, 1.0, 0.0)) -> list[np.ndarray]:
    """Mitsuba to-world matrices on a ring around the origin, looking at it."""
    mats = []
    for i in range(count):
        az = 2 * math.pi * i / count
        el = math.radians(elevation)
        origin = 3.0 * np.array(
            [math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)]
        )
        mats.append(look_at(origin, [0.0, 0.0, 0.0], up))
    return mats


def scene_points(seed: int = 0) -> np.ndarray:
    """Points on a table top (y = TABLE_Y, the majority) and on an object standing on it."""
    rng = np.random.default_rng(seed)
    xz = rng.uniform(-2.0, 2.0, (600, 2))
    table = np.stack([xz[:, 0], np.full(600, TABLE_Y), xz[:, 1]], axis=1)
    table += rng.normal(scale=0.002, size=table.shape)  # SfM's noise
    d = rng.normal(size=(300, 3))
    ball = np.array([0.0, 0.0, 0.0]) + 0.5 * d / np.linalg.norm(d, axis=1, keepdims=True)
    return np.concatenate([table, ball])


def test_the_table_is_found_under_an_upright_orbit():
    plane = support_plane(scene_points(), orbit())
    assert plane is not None
    normal, offset = plane
    assert np.degrees(np.arccos(normal @ [0.0, 1.0, 0.0])) < 0.5
    assert abs(offset - TABLE_Y) < 0.005
    heights = height_above(np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]]), plane)
    assert np.allclose(heights, [1.0 - TABLE_Y, -1.0 - TABLE_Y], atol=0.005)


def test_not_a_table_wall_cameras_below_or_too_few_points():
    points = scene_points()
    wall = points[:, [1, 0, 2]]  # the same points with the table turned into a wall x = -0.5
    assert fit_plane(wall, 0.04, np.zeros(3)) is not None  # the plane is there ...
    assert support_plane(wall, orbit()) is None  # ... but it faces sideways in the photos
    assert support_plane(points, orbit(elevation=-30.0)) is None  # cameras under the table
    assert support_plane(points[:20], orbit()) is None
    ball_only = points[600:]  # no plane holds a quarter of a sphere's points
    assert support_plane(ball_only, orbit()) is None


def test_json_round_trip_and_one_line_errors(tmp_path):
    plane = (np.array([0.0, 2.0, 0.0]) / 2.0, -0.5)
    meta = {KEY: plane_to_json(plane)}
    back = plane_from_json(json.loads(json.dumps(meta)), "t.json")
    assert back is not None and np.allclose(back[0], plane[0]) and back[1] == pytest.approx(-0.5)
    assert plane_from_json({}, "t.json") is None
    # An unnormalized normal is normalized together with its offset (the same plane).
    scaled = plane_from_json({KEY: {"normal": [0, 2, 0], "offset": -1.0}}, "t.json")
    assert scaled is not None and np.allclose(scaled[0], [0, 1, 0]) and scaled[1] == -0.5
    for bad in ({"normal": [0, 1], "offset": 0}, {"normal": [0, 0, 0], "offset": 0}, {}):
        with pytest.raises(DataError) as err:
            plane_from_json({KEY: bad}, "t.json")
        assert str(err.value).startswith(f"t.json: {KEY}") and "\n" not in str(err.value)


def test_dataset_reads_the_plane_and_the_hull_stops_at_it(tmp_path, variant):
    """A box standing on the table, seen only from above: without the plane its hull reaches far
    below the table (no view sees under it); with the plane read from transforms.json it ends on
    the table, and `invrender hull` writes the same."""
    from PIL import Image

    from invrender.config.schema import Targets
    from invrender.data.dataset import load_dataset
    from invrender.data.transforms import write_transforms
    from invrender.geometry.visual_hull import project_silhouette, visual_hull_mesh
    from invrender.run.hull import make_hull

    # A 0.6-wide cube standing on the table, its top at y = 0.1.
    corners = np.array(
        [[x, y, z] for x in (-0.3, 0.3) for y in (TABLE_Y, 0.1) for z in (-0.3, 0.3)]
    )
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    cams = [Camera(m, 40.0, 64, 48) for m in orbit(12, 35.0)]
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    images, masks = [], []
    for i, cam in enumerate(cams):
        sil = project_silhouette((corners, faces), cam, 48, 64)
        Image.fromarray((sil * 255).astype(np.uint8)).save(tmp_path / "masks" / f"{i}.png")
        Image.fromarray(np.zeros((48, 64, 3), np.uint8)).save(tmp_path / "images" / f"{i}.png")
        images.append(f"images/{i}.png")
        masks.append(f"masks/{i}.png")
    path = tmp_path / "transforms.json"
    write_transforms(path, cams, images, masks)
    data = load_dataset(Targets(transforms=str(path), masks="files"), str(path))
    assert data.support_plane is None
    free = visual_hull_mesh(data, 48, None)[0]
    assert free[:, 1].min() < TABLE_Y - 0.2  # the cone under the box

    meta = json.loads(path.read_text())
    meta[KEY] = plane_to_json((np.array([0.0, 1.0, 0.0]), TABLE_Y))
    path.write_text(json.dumps(meta))
    data = load_dataset(Targets(transforms=str(path), masks="files"), str(path))
    assert data.support_plane is not None
    vertices = visual_hull_mesh(data, 48, None)[0]
    voxel = 0.9 / 48  # the box's padded bounds over 48 voxels, about
    assert vertices[:, 1].min() > TABLE_Y - 2 * voxel
    # Above the table nothing changes (its top is the hull's, a roof over the box: every view
    # looks down on it).
    assert abs(vertices[:, 1].max() - free[:, 1].max()) < voxel

    out = tmp_path / "hull.ply"
    make_hull(path, out, "files", 48, None)
    import trimesh

    assert trimesh.load(out).vertices[:, 1].min() > TABLE_Y - 2 * voxel

    meta[KEY] = {"normal": "up", "offset": 0}
    path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=f"{KEY}: expected"):
        load_dataset(Targets(transforms=str(path), masks="files"), str(path))
