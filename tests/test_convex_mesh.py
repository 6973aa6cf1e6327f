"""Convex-mesh detection, and the shadow-term lanes it lets edge_sampling skip."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from invrender.integrators import convex_mesh, shadow_edges
from scripts.fixtures import scenes


def _shape(vertices: np.ndarray, faces: np.ndarray):
    import mitsuba as mi

    mesh = scenes.make_mesh(
        "m",
        np.asarray(vertices, np.float32),
        np.ascontiguousarray(faces, dtype=np.uint32),
        None,
        bsdf={"type": "diffuse"},
    )
    return mi.load_dict({"type": "scene", "m": mesh}).shapes()[0]


def test_sphere_topology_of_closed_open_flipped_and_torus_meshes():
    box = trimesh.creation.box()
    assert convex_mesh.sphere_topology(box.faces)
    assert convex_mesh.sphere_topology(box.faces[:, ::-1])  # inward winding: same topology
    assert not convex_mesh.sphere_topology(box.faces[1:])  # one face missing: open
    flipped = box.faces.copy()
    flipped[0] = flipped[0, ::-1]
    assert not convex_mesh.sphere_topology(flipped)  # one face against its neighbours
    assert not convex_mesh.sphere_topology(trimesh.creation.torus(1.0, 0.3).faces)  # genus 1
    two = np.concatenate([box.faces, box.faces + len(box.vertices)])
    assert not convex_mesh.sphere_topology(two)  # two spheres: Euler characteristic 4


def test_is_convex_follows_the_vertex_positions(variant):
    ball = trimesh.creation.icosphere(subdivisions=2)
    assert convex_mesh.is_convex(_shape(ball.vertices, ball.faces))
    assert not convex_mesh.is_convex(_shape(ball.vertices, ball.faces[:, ::-1]))  # inside out
    dented = ball.vertices.copy()
    dented[0] *= 0.9
    assert not convex_mesh.is_convex(_shape(dented, ball.faces))
    capsule = trimesh.creation.capsule()  # flat-ish rings along the cylinder
    assert convex_mesh.is_convex(_shape(capsule.vertices, capsule.faces))


@pytest.mark.parametrize("name", ["smooth_silhouette", "glossy_scaling"])
def test_skipped_shadow_lanes_carried_nothing(variant, monkeypatch, name):
    """The lanes edge_sampling's shadow term skips (the convex object's own surface, the
    black backdrop) add nothing when they are not skipped: the derivative images agree."""
    from scripts.fixtures import fd

    spec = scenes.build(name, res=24)
    loaded = fd.load(spec)
    integrator = fd.make_integrator({"type": "edge_sampling", "max_depth": spec.max_depth})
    (obj,) = [s for s in loaded.scene.shapes() if s.id() == "object"]
    assert convex_mesh.is_convex(obj)  # so the pruned run does skip the object's lanes
    pruned = fd.forward_derivative(loaded, integrator, spp=8, seed=3)
    monkeypatch.setattr(convex_mesh, "is_convex", lambda mesh: False)
    monkeypatch.setattr(shadow_edges, "reflects_nothing", lambda bsdf, si, active: active & False)
    unpruned = fd.forward_derivative(loaded, integrator, spp=8, seed=3)
    difference = np.linalg.norm(unpruned - pruned)
    assert difference <= 1e-3 * np.linalg.norm(pruned), difference


def _ball_under_a_blocker(res: int):
    """A moving diffuse ball lit by a rectangle light, part of which a small static ball
    hides: the moving ball's own (convex) edges are left out of its shadow candidates, the
    static ball's are not."""
    import mitsuba as mi

    from scripts.fixtures.scenes import Perturbation, ReferenceScene

    v, f, n = scenes.uv_sphere_arrays(scenes._OBJ_CENTER, 0.45, n_lat=12, n_lon=24)
    bv, bf, bn = scenes.uv_sphere_arrays((0.12, 0.55, 1.15), 0.15, n_lat=8, n_lon=16)
    light = mi.ScalarTransform4f().look_at(origin=[0.0, 1.1, 2.3], target=[0, 0, 0], up=[0, 0, 1])
    scene = {
        "type": "scene",
        "sensor": scenes._sensor(**scenes._CAM, res=res, rfilter="box", sample_border=False),
        "object": scenes.make_mesh("object", v, f, n, bsdf={"type": "diffuse"}),
        "blocker": scenes.make_mesh("blocker", bv, bf, bn, bsdf={"type": "diffuse"}),
        "light": {
            "type": "rectangle",
            "to_world": light.scale([0.3, 0.3, 1.0]),
            "emitter": {"type": "area", "radiance": scenes._rgb(20.0)},
        },
    }
    return ReferenceScene(
        name="ball_under_a_blocker",
        scene=scene,
        key="object.vertex_positions",
        perturbation=Perturbation("translate", ("object.vertex_positions",), axis=(1, 0, 0)),
        description="moving ball, static ball shading part of it from a rectangle light",
        max_depth=2,
    )


def test_own_convex_edges_left_out_beside_other_casters_keeps_the_mean(variant, monkeypatch):
    """With another caster in the scene, the moving convex ball's receivers draw only from
    the other caster's edges: a different estimator of the same shadow term, so its mean
    over seeds must agree with drawing from all edges (4 standard errors)."""
    from scripts.fixtures import fd

    loaded = fd.load(_ball_under_a_blocker(res=32))
    weights = fd.loss_weights((32, 32, 3))

    def loss_derivatives(**options) -> np.ndarray:
        integrator = fd.make_integrator({"type": "edge_sampling", "max_depth": 2, **options})
        return np.array(
            [
                np.sum(weights * fd.forward_derivative(loaded, integrator, spp=8, seed=s))
                for s in range(24)
            ]
        )

    def mean_and_error(x: np.ndarray) -> tuple[float, float]:
        return float(np.mean(x)), float(np.std(x, ddof=1) / np.sqrt(len(x)))

    without_shadows = loss_derivatives(shadow_edge_samples=0)
    skipping = loss_derivatives()
    monkeypatch.setattr(convex_mesh, "is_convex", lambda mesh: False)
    drawing_all = loss_derivatives()
    # The shadow term matters here (else agreeing would show nothing) ...
    shadow, shadow_error = mean_and_error(skipping - without_shadows)
    assert abs(shadow) > 6 * shadow_error, (shadow, shadow_error)
    # ... and both ways of drawing its edges estimate the same value.
    difference, error = mean_and_error(skipping - drawing_all)
    assert abs(difference) < 4 * error, (difference, error)
