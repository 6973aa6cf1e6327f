"""The visual hull as a bound on the optimized shape (geometry.init.keep_inside) and the table
as a floor: HullField's distances and projections, the config rule, and a run that obeys them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from invrender.geometry.hull_field import HullField
from tests.helpers import runner_stopping_after

ROOT = Path(__file__).resolve().parents[1]
GENUS = ROOT / "configs" / "shape_genus.yaml"
RADIUS, VOXEL = 1.0, 0.05


def sphere_field(support=None) -> HullField:
    """A sphere of radius 1 at the origin, carved as visual_hull does: exact inside and up to 3
    voxels outside, -inf beyond (what its band leaves)."""
    axis = np.arange(-1.5, 1.5 + 1e-9, VOXEL)
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1)
    field = RADIUS - np.linalg.norm(grid, axis=-1)
    field = np.where(field > -3 * VOXEL, field, -np.inf).astype(np.float32)
    return HullField.from_carve(field, np.full(3, axis[0]), VOXEL, support)


def test_signed_distance_is_the_distance_to_the_hull_inside_out_and_beyond_the_grid():
    hull = sphere_field()
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(200, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    for radius in (0.5, 0.95, 1.1):
        got = hull.signed_distance(radius * directions)
        np.testing.assert_allclose(got, RADIUS - radius, atol=0.6 * VOXEL)
    got = hull.signed_distance(1.4 * directions)  # past the carve's band: the voxels' distance
    np.testing.assert_allclose(got, RADIUS - 1.4, atol=VOXEL)
    far = hull.signed_distance(np.array([[3.0, 0.0, 0.0]]))  # beyond the grid itself
    assert far[0] < -1.9


def test_keep_inside_moves_strays_to_the_tolerance_and_nothing_else():
    hull = sphere_field()
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(300, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = rng.uniform(0.3, 1.45, size=300)
    points = radii[:, None] * directions
    tolerance = 2 * VOXEL
    moved, count = hull.keep_inside(points, tolerance)
    strays = radii > RADIUS + tolerance
    assert count == int(strays.sum()) > 0
    np.testing.assert_array_equal(moved[~strays], points[~strays])
    after = np.linalg.norm(moved[strays], axis=1)
    np.testing.assert_allclose(after, RADIUS + tolerance, atol=0.5 * VOXEL)
    # moved back along the radius, not sideways
    cosine = np.sum(moved[strays] * points[strays], axis=1) / after / radii[strays]
    assert cosine.min() > 0.995  # within ~6 degrees (the far field is voxel distances)


def test_the_table_is_a_floor_without_tolerance_and_none_bounds_only_the_floor():
    floor = (np.array([0.0, 1.0, 0.0]), -0.5)  # y = -0.5, normal up
    hull = sphere_field(support=floor)
    points = np.array([[0.0, -0.6, 0.0], [0.3, -0.52, 0.1], [0.0, 1.3, 0.0], [0.0, 0.0, 0.0]])
    moved, count = hull.keep_inside(points, None)  # no hull bound: the floor only
    assert count == 2
    np.testing.assert_allclose(moved[:2, 1], -0.5)
    np.testing.assert_array_equal(moved[:2, [0, 2]], points[:2, [0, 2]])
    np.testing.assert_array_equal(moved[2:], points[2:])  # 1.3 is outside the sphere: kept
    moved, count = hull.keep_inside(points, 0.0)
    assert count == 3 and abs(np.linalg.norm(moved[2]) - RADIUS) < VOXEL


def test_keep_inside_needs_a_visual_hull_start():
    from invrender.config.geometry import InitialShape

    assert InitialShape(type="visual_hull", keep_inside=2).keep_inside == 2
    with pytest.raises(ValueError, match="keep_inside bounds the shape by the visual hull"):
        InitialShape(type="sphere", keep_inside=2)


def test_a_run_pushed_outward_stays_within_its_hull_and_resumes_its_count(variant, tmp_path):
    """configs/shape_genus.yaml at 32 px with a vertex learning rate 10x too large: the shape
    would overshoot the masks, but every vertex ends within keep_inside voxels of the hull it
    started from, and the summary counts the moves it undid, across a stop and a resume."""
    from invrender.geometry.shapes import load_mesh
    from invrender.geometry.visual_hull import visual_hull
    from invrender.run.launch import run_optimization
    from tests.test_hull import ring_dataset

    overrides = [
        f"targets.transforms={tmp_path}/targets/transforms.json",
        "targets.synth.views=10",
        "targets.synth.resolution=32",
        "targets.synth.spp=16",
        "targets.holdout=[3]",
        "optimize.iterations=12",
        "optimize.eval_spp=4",
        "optimize.params.0.lr=0.5",
        "geometry.init.resolution=24",
        "geometry.init.triangles=1500",
        "geometry.init.keep_inside=1",
        "geometry.remesh.at=[]",
        "geometry.remesh.triangles=[]",
        "output.preview_every=0",
        "output.checkpoint_every=1",
        "output.export=[ply]",
    ]
    part, run_dir = run_optimization(
        GENUS,
        overrides,
        output=tmp_path / "run",
        variant=variant,
        progress=False,
        runner_cls=runner_stopping_after(6),
    )
    moved_before = part["geometry"]["vertex_moves_kept_inside_hull"]
    assert part["iterations"] == 6 and moved_before > 0
    resumed, _ = run_optimization(None, resume=run_dir, variant=variant, progress=False)
    assert resumed["iterations"] == 12
    geometry = json.loads((run_dir / "summary.json").read_text())["geometry"]
    assert geometry["vertex_moves_kept_inside_hull"] > moved_before  # carried over, then more
    data = ring_dataset(tmp_path / "targets" / "transforms.json")
    data.train = [i for i in range(len(data.views)) if i != 3]
    _, report = visual_hull(data, 24, 1500)
    hull = report.hull_field()
    meshes = sorted((run_dir / "export").rglob("*.ply"))
    vertices, _ = load_mesh(meshes[0])
    assert hull.signed_distance(vertices).min() > -1.5 * hull.voxel
